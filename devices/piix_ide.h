#pragma once
// The PIIX3 IDE function (8086:7010) at 00:01.1: configuration space only.
// Both channels run in compatibility mode (the legacy ports and IRQs 14/15,
// owned by the IDE controller model); BAR4 decodes the 16 bus-master DMA
// registers to the device the controller provides.

#include <cstdint>

#include "devices/pci_bus.h"

namespace sable {

class PiixIde : public PciDevice {
public:
  static constexpr unsigned kBusMasterBar = 4;
  static constexpr uint64_t kBusMasterSize = 16;

  // Registers the function at 00:01.1.
  PiixIde(PciBus &bus, Device &bus_master_registers);

  std::string_view name() const override { return "piix3-ide"; }

  // IDETIM bit 15: whether the channel's legacy ports decode (0 = primary).
  bool channel_enabled(unsigned channel) const;
};

} // namespace sable
