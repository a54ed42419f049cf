#include "machine/event_loop.h"

#include <algorithm>
#include <cerrno>
#include <poll.h>
#include <stdexcept>
#include <sys/eventfd.h>
#include <unistd.h>

namespace sable {

EventLoop::EventLoop(Clock &clock, std::recursive_mutex &machine_lock)
    : clock_(clock), machine_lock_(machine_lock),
      wake_fd_(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
  if (wake_fd_ < 0)
    throw std::runtime_error("cannot create eventfd");
  clock_.set_wakeup([this] { wake(); });
}

EventLoop::~EventLoop() {
  stop();
  clock_.set_wakeup(nullptr);
  close(wake_fd_);
}

void EventLoop::watch(int fd, std::function<void()> on_readable) {
  {
    std::lock_guard guard(watches_lock_);
    watches_.push_back({fd, std::move(on_readable)});
  }
  wake();
}

void EventLoop::unwatch(int fd) {
  {
    std::lock_guard guard(watches_lock_);
    std::erase_if(watches_, [fd](const Watch &w) { return w.fd == fd; });
  }
  wake();
}

void EventLoop::wake() {
  uint64_t one = 1;
  [[maybe_unused]] ssize_t n = ::write(wake_fd_, &one, sizeof one);
}

void EventLoop::start() {
  if (running_)
    return;
  running_ = true;
  thread_ = std::thread([this] { loop(); });
}

void EventLoop::stop() {
  if (!running_)
    return;
  running_ = false;
  wake();
  thread_.join();
}

void EventLoop::loop() {
  std::vector<pollfd> fds;
  std::vector<Watch> ready;
  while (running_) {
    fds.clear();
    fds.push_back({wake_fd_, POLLIN, 0});
    {
      std::lock_guard guard(watches_lock_);
      for (const Watch &w : watches_)
        fds.push_back({w.fd, POLLIN, 0});
    }
    uint64_t deadline = clock_.next_deadline();
    uint64_t now = clock_.now_ns();
    timespec timeout{};
    timespec *timeout_ptr = nullptr;
    if (deadline != UINT64_MAX) {
      uint64_t wait = deadline > now ? deadline - now : 0;
      timeout.tv_sec = static_cast<time_t>(wait / 1000000000);
      timeout.tv_nsec = static_cast<long>(wait % 1000000000);
      timeout_ptr = &timeout;
    }
    int n = ppoll(fds.data(), fds.size(), timeout_ptr, nullptr);
    if (n < 0 && errno != EINTR)
      throw std::runtime_error("event loop: poll failed");
    if (fds[0].revents & POLLIN) {
      uint64_t count;
      [[maybe_unused]] ssize_t r = ::read(wake_fd_, &count, sizeof count);
    }
    ready.clear();
    {
      std::lock_guard guard(watches_lock_);
      for (size_t i = 1; i < fds.size(); ++i) {
        if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
          continue;
        auto w =
            std::find_if(watches_.begin(), watches_.end(),
                         [&](const Watch &x) { return x.fd == fds[i].fd; });
        if (w != watches_.end())
          ready.push_back(*w);
      }
    }
    std::lock_guard machine(machine_lock_);
    clock_.run_due_timers();
    for (Watch &w : ready)
      w.on_readable();
  }
}

} // namespace sable
