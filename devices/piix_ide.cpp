#include "devices/piix_ide.h"

namespace sable {

namespace {
constexpr unsigned kPrimaryTiming = 0x40; // IDETIM, one word per channel
constexpr unsigned kSlaveTiming = 0x44;   // SIDETIM
constexpr uint16_t kDecodeEnable = 1u << 15;
// Mass storage, IDE; programming interface: bus master, both channels fixed
// in compatibility mode.
constexpr uint32_t kClassIdeBusMaster = 0x010180;
} // namespace

PiixIde::PiixIde(PciBus &bus, Device &bus_master_registers)
    : PciDevice(0x8086, 0x7010, kClassIdeBusMaster, 0x00) {
  define_bar(kBusMasterBar, BarKind::Io, kBusMasterSize, &bus_master_registers);
  set_writable(kPrimaryTiming, 4, 0xffffffff);
  set_writable(kSlaveTiming, 1, 0xff);
  bus.add(this, 1, 1);
}

bool PiixIde::channel_enabled(unsigned channel) const {
  return config_word(kPrimaryTiming + 2 * channel) & kDecodeEnable;
}

} // namespace sable
