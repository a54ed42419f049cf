#pragma once
// A byte stream between a guest-facing device (the UART) and the host
// (stdio, a file, a TCP socket). Backends live in ui/; devices only see this.

#include <cstddef>
#include <cstdint>

namespace sable {

class CharFrontend {
public:
  virtual ~CharFrontend() = default;
  // How many bytes the device can take now (its receive FIFO space).
  virtual size_t can_receive() = 0;
  virtual void receive(const uint8_t *data, size_t size) = 0;
};

class CharBackend {
public:
  virtual ~CharBackend() = default;
  virtual void write(const uint8_t *data, size_t size) = 0;
  void set_frontend(CharFrontend *frontend) { frontend_ = frontend; }
  // The frontend calls this when FIFO space frees, so a backend holding
  // input back can offer it again.
  virtual void frontend_ready() {}

protected:
  CharFrontend *frontend_ = nullptr;
};

} // namespace sable
