#include "ui/tcp_backend.h"

#include <arpa/inet.h>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdexcept>
#include <sys/socket.h>
#include <unistd.h>

#include "machine/event_loop.h"

namespace sable {

TcpServerBackend::TcpServerBackend(EventLoop &loop, const std::string &host,
                                   uint16_t port, bool wait)
    : loop_(loop), port_(port) {
  std::string where = "tcp:" + host + ":" + std::to_string(port);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  std::string bind_host = host.empty() ? "127.0.0.1" : host;
  if (bind_host == "localhost")
    bind_host = "127.0.0.1";
  if (inet_pton(AF_INET, bind_host.c_str(), &address.sin_addr) != 1)
    throw std::runtime_error("-serial " + where +
                             ": host must be an IPv4 address");
  listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(listen_fd_, reinterpret_cast<sockaddr *>(&address),
           sizeof address) != 0 ||
      listen(listen_fd_, 1) != 0) {
    std::string reason = std::strerror(errno);
    close(listen_fd_);
    throw std::runtime_error("-serial " + where + ": " + reason);
  }
  socklen_t length = sizeof address;
  getsockname(listen_fd_, reinterpret_cast<sockaddr *>(&address), &length);
  port_ = ntohs(address.sin_port);
  if (wait) {
    std::fprintf(stderr, "sable: waiting for a connection on tcp:%s:%u\n",
                 bind_host.c_str(), port_);
    accept_client();
  }
  loop_.watch(listen_fd_, [this] { accept_client(); });
}

TcpServerBackend::~TcpServerBackend() {
  loop_.unwatch(listen_fd_);
  drop_client();
  close(listen_fd_);
}

void TcpServerBackend::accept_client() {
  int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
  if (fd < 0)
    return;
  if (client_fd_ >= 0) {
    close(fd); // one client at a time
    return;
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  client_fd_ = fd;
  loop_.watch(client_fd_, [this] { on_client_readable(); });
}

void TcpServerBackend::on_client_readable() {
  uint8_t buffer[256];
  ssize_t n = ::read(client_fd_, buffer, sizeof buffer);
  if (n < 0 && (errno == EINTR || errno == EAGAIN))
    return;
  if (n <= 0) {
    drop_client();
    return;
  }
  input_.push(buffer, static_cast<size_t>(n));
  input_.drain(frontend_);
}

void TcpServerBackend::drop_client() {
  if (client_fd_ < 0)
    return;
  loop_.unwatch(client_fd_);
  close(client_fd_);
  client_fd_ = -1;
}

void TcpServerBackend::write(const uint8_t *data, size_t size) {
  while (client_fd_ >= 0 && size > 0) {
    ssize_t n = send(client_fd_, data, size, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      drop_client();
      return;
    }
    data += n;
    size -= static_cast<size_t>(n);
  }
}

} // namespace sable
