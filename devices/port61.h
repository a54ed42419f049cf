#pragma once
// PC/AT system control port B (0x61): drives the PIT counter 2 gate and the
// speaker enable, and reports counter 2's OUT and the DRAM refresh toggle,
// which BIOSes and Linux use for short delays and timer calibration.

#include <cstdint>

#include "devices/pit8254.h"
#include "machine/clock.h"
#include "machine/device.h"

namespace sable {

class Port61 : public Device {
public:
  Port61(Clock &clock, Pit8254 &pit);

  std::string_view name() const override { return "port61"; }
  uint64_t read(uint64_t offset, unsigned size) override;
  void write(uint64_t offset, unsigned size, uint64_t value) override;
  void reset() override;
  void save(StateWriter &out) const override;
  void load(StateReader &in) override;

  bool speaker_enabled() const { return control_ & 0x02; }

private:
  Clock &clock_;
  Pit8254 &pit_;
  uint8_t control_ = 0; // bits 0-3 as the guest wrote them
};

} // namespace sable
