#pragma once
// Host input waiting for room in the guest device's receive FIFO: backends
// read what the host sends and feed the frontend as it accepts bytes.

#include <cstdint>
#include <deque>

#include "machine/char_backend.h"

namespace sable {

class InputQueue {
public:
  void push(const uint8_t *data, size_t size) {
    queue_.insert(queue_.end(), data, data + size);
  }
  // Hands the frontend as much as it takes now.
  void drain(CharFrontend *frontend);
  bool empty() const { return queue_.empty(); }
  // Stops reading the host side while this much is already waiting.
  static constexpr size_t kHighWater = 4096;
  size_t size() const { return queue_.size(); }

private:
  std::deque<uint8_t> queue_;
};

} // namespace sable
