#pragma once
// The serial console on this terminal: -serial stdio, and mon:stdio, where
// Ctrl-A starts a command as in QEMU (Ctrl-A x quits, Ctrl-A h lists them,
// Ctrl-A Ctrl-A sends a literal Ctrl-A).

#include <functional>

#include "machine/char_backend.h"
#include "ui/input_queue.h"

namespace sable {

class EventLoop;

class StdioBackend : public CharBackend {
public:
  StdioBackend(EventLoop &loop, bool multiplexed, std::function<void()> quit,
               int in_fd = 0, int out_fd = 1);
  ~StdioBackend() override;

  void write(const uint8_t *data, size_t size) override;
  void frontend_ready() override;

  // Runs bytes as if typed (the event loop's reads call this too).
  void typed(const uint8_t *data, size_t size);

private:
  void on_readable();
  void command(uint8_t key);

  EventLoop &loop_;
  bool multiplexed_;
  std::function<void()> quit_;
  int in_fd_, out_fd_;
  bool watching_ = false;
  bool escape_ = false;
  InputQueue input_;
};

} // namespace sable
