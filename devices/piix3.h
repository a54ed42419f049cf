#pragma once
// The PIIX3 PCI-to-ISA bridge at 00:01.0: PIRQA-D route registers, which steer
// the PCI interrupt lines to ISA IRQs for the PCI bus, and the reset control
// register at port 0xCF9 (reached through the PCI bus's 0xCF8-0xCFF range).

#include <array>
#include <cstdint>
#include <functional>

#include "devices/pci_bus.h"

namespace sable {

class Piix3 : public PciDevice, public PirqRouter {
public:
  static constexpr unsigned kPirqRouteBase = 0x60;
  // The FADT's RESET_REG: writing this value to this port is a hard reset.
  static constexpr uint16_t kResetControlPort = 0xcf9;
  static constexpr uint8_t kResetValue = 0x06;

  // Registers the bridge at 00:01.0 as the bus's PIRQ router and reset
  // control. `system_reset` runs when the guest requests a reset via 0xCF9.
  Piix3(PciBus &bus, std::function<void()> system_reset);

  std::string_view name() const override { return "piix3"; }
  int isa_irq_for_pirq(unsigned pirq) const override;

private:
  uint64_t read_reset_control() const { return reset_control_; }
  void write_reset_control(uint8_t value);

  void config_written(unsigned offset, unsigned size) override;
  void reset_state() override { reset_control_ = 0; }
  void save_state(StateWriter &out) const override;
  void load_state(StateReader &in) override;

  std::function<void()> system_reset_;
  PciRegion reset_control_port_;
  uint8_t reset_control_ = 0;
};

} // namespace sable
