#include "ui/stdio_backend.h"

#include <cerrno>
#include <cstring>
#include <unistd.h>

#include "machine/event_loop.h"
#include "ui/terminal.h"

namespace sable {

namespace {
constexpr uint8_t kEscape = 0x01; // Ctrl-A

void write_all(int fd, const uint8_t *data, size_t size) {
  while (size > 0) {
    ssize_t n = ::write(fd, data, size);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return; // a closed stdout must not stop the guest
    data += n;
    size -= static_cast<size_t>(n);
  }
}

void write_text(int fd, const char *text) {
  write_all(fd, reinterpret_cast<const uint8_t *>(text), std::strlen(text));
}

const char kHelp[] = "\r\nC-a h    print this help\r\n"
                     "C-a x    exit sable\r\n"
                     "C-a C-a  send C-a to the guest\r\n";
} // namespace

StdioBackend::StdioBackend(EventLoop &loop, bool multiplexed,
                           std::function<void()> quit, int in_fd, int out_fd)
    : loop_(loop), multiplexed_(multiplexed), quit_(std::move(quit)),
      in_fd_(in_fd), out_fd_(out_fd) {
  if (in_fd_ == STDIN_FILENO)
    terminal_enter_raw(!multiplexed);
  loop_.watch(in_fd_, [this] { on_readable(); });
  watching_ = true;
}

StdioBackend::~StdioBackend() {
  if (watching_)
    loop_.unwatch(in_fd_);
  if (in_fd_ == STDIN_FILENO)
    terminal_restore();
}

void StdioBackend::write(const uint8_t *data, size_t size) {
  write_all(out_fd_, data, size);
}

void StdioBackend::frontend_ready() {
  input_.drain(frontend_);
  if (!watching_ && input_.size() < InputQueue::kHighWater && in_fd_ >= 0) {
    loop_.watch(in_fd_, [this] { on_readable(); });
    watching_ = true;
  }
}

void StdioBackend::on_readable() {
  uint8_t buffer[256];
  ssize_t n = ::read(in_fd_, buffer, sizeof buffer);
  if (n < 0 && (errno == EINTR || errno == EAGAIN))
    return;
  if (n <= 0) {
    // End of input (a closed pipe in scripts): the guest keeps running.
    loop_.unwatch(in_fd_);
    watching_ = false;
    in_fd_ = -1;
    return;
  }
  typed(buffer, static_cast<size_t>(n));
  if (input_.size() >= InputQueue::kHighWater) {
    loop_.unwatch(in_fd_);
    watching_ = false;
  }
}

void StdioBackend::typed(const uint8_t *data, size_t size) {
  for (size_t i = 0; i < size; ++i) {
    uint8_t byte = data[i];
    if (multiplexed_ && escape_) {
      escape_ = false;
      command(byte);
    } else if (multiplexed_ && byte == kEscape) {
      escape_ = true;
    } else {
      input_.push(&byte, 1);
    }
  }
  input_.drain(frontend_);
}

void StdioBackend::command(uint8_t key) {
  switch (key) {
  case 'x':
    write_text(out_fd_, "\r\nsable: terminated\r\n");
    if (quit_)
      quit_();
    break;
  case 'h':
  case '?':
    write_text(out_fd_, kHelp);
    break;
  case kEscape:
    input_.push(&key, 1);
    break;
  default:
    break;
  }
}

} // namespace sable
