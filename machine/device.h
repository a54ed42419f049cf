#pragma once
// The contract every port-I/O or MMIO device implements. Offsets are
// relative to the base the machine mapped the device at; sizes are 1, 2, 4
// or 8 bytes. A device never knows which engine runs the CPU.

#include <cstdint>
#include <string_view>

namespace sable {

class StateWriter;
class StateReader;

class Device {
public:
  virtual ~Device() = default;
  virtual std::string_view name() const = 0;
  virtual uint64_t read(uint64_t offset, unsigned size) = 0;
  virtual void write(uint64_t offset, unsigned size, uint64_t value) = 0;
  virtual void reset() = 0;
  virtual void save(StateWriter &out) const = 0;
  virtual void load(StateReader &in) = 0;
};

} // namespace sable
