#pragma once
// PS/2 System Control Port A (0x92): bit 1 gates A20 ("fast A20"), a 0 to 1
// transition of bit 0 resets the CPU. Other bits are stored and read back.
// How this A20 gate combines with the i8042's is the machine's decision.

#include <cstdint>
#include <functional>

#include "machine/device.h"

namespace sable {

class Port92 : public Device {
public:
  Port92(std::function<void(bool)> a20, std::function<void()> reset);

  std::string_view name() const override { return "port92"; }
  uint64_t read(uint64_t offset, unsigned size) override;
  void write(uint64_t offset, unsigned size, uint64_t value) override;
  // Callbacks are not invoked: the machine owns the A20 and reset lines.
  void reset() override { value_ = 0; }
  void save(StateWriter &out) const override;
  void load(StateReader &in) override;

private:
  std::function<void(bool)> a20_;
  std::function<void()> reset_;
  uint8_t value_ = 0;
};

} // namespace sable
