#pragma once
// -serial tcp:HOST:PORT,server[,nowait]: one client at a time; with `wait`
// the constructor blocks until the first client connects, as QEMU does.

#include <string>

#include "machine/char_backend.h"
#include "ui/input_queue.h"

namespace sable {

class EventLoop;

class TcpServerBackend : public CharBackend {
public:
  // Throws std::runtime_error with a one-line reason.
  TcpServerBackend(EventLoop &loop, const std::string &host, uint16_t port,
                   bool wait);
  ~TcpServerBackend() override;

  void write(const uint8_t *data, size_t size) override;
  void frontend_ready() override { input_.drain(frontend_); }
  uint16_t port() const { return port_; }

private:
  void accept_client();
  void on_client_readable();
  void drop_client();

  EventLoop &loop_;
  int listen_fd_ = -1;
  int client_fd_ = -1;
  uint16_t port_;
  InputQueue input_;
};

} // namespace sable
