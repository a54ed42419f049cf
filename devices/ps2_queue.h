#pragma once
// The bytes a PS/2 device has queued for the host, oldest first, up to the
// device's buffer size. Keyboard and mouse differ only in what they do when
// it is full, so that stays with them.

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string_view>

namespace sable {

class StateWriter;
class StateReader;

class Ps2OutputQueue {
public:
  explicit Ps2OutputQueue(size_t capacity) : capacity_(capacity) {}

  bool empty() const { return bytes_.empty(); }
  size_t room() const { return capacity_ - bytes_.size(); }
  bool full() const { return bytes_.size() >= capacity_; }
  void clear() { bytes_.clear(); }
  // Callers check full() first.
  void push(uint8_t value) { bytes_.push_back(value); }
  void replace_last(uint8_t value) { bytes_.back() = value; }
  // The oldest byte, or zero when there is none.
  uint8_t pop();

  // Written inside the owner's section; `owner` names it in load errors.
  void save(StateWriter &out) const;
  void load(StateReader &in, std::string_view owner);

private:
  size_t capacity_;
  std::deque<uint8_t> bytes_;
};

} // namespace sable
