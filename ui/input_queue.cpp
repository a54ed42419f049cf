#include "ui/input_queue.h"

#include <algorithm>
#include <vector>

namespace sable {

void InputQueue::drain(CharFrontend *frontend) {
  if (!frontend)
    return;
  while (!queue_.empty()) {
    size_t room = std::min(frontend->can_receive(), queue_.size());
    if (room == 0)
      return;
    std::vector<uint8_t> chunk(queue_.begin(), queue_.begin() + room);
    queue_.erase(queue_.begin(), queue_.begin() + room);
    frontend->receive(chunk.data(), chunk.size());
  }
}

} // namespace sable
