#include "devices/ps2_queue.h"

#include <string>
#include <vector>

#include "machine/state.h"

namespace sable {

uint8_t Ps2OutputQueue::pop() {
  if (bytes_.empty())
    return 0;
  uint8_t value = bytes_.front();
  bytes_.pop_front();
  return value;
}

void Ps2OutputQueue::save(StateWriter &out) const {
  std::vector<uint8_t> queued(bytes_.begin(), bytes_.end());
  out.u64(queued.size());
  out.bytes(queued.data(), queued.size());
}

void Ps2OutputQueue::load(StateReader &in, std::string_view owner) {
  uint64_t size = in.u64();
  if (size > capacity_)
    throw StateError(std::string(owner) + ": output buffer too large");
  std::vector<uint8_t> queued(size);
  in.bytes(queued.data(), size);
  bytes_.assign(queued.begin(), queued.end());
}

} // namespace sable
