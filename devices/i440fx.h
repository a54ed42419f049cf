#pragma once
// The i440FX host bridge (PMC) at 00:00.0: identification, and the PAM
// registers that switch each segment of 0xC0000-0xFFFFF between the BIOS ROM
// and shadow RAM.
//
// Memory model: the bridge adds the 256 KiB ROM image as region "pam-rom" at
// 0xC0000 over the machine's RAM, so with PAM disabled (the reset state)
// reads see the ROM and writes are dropped. A segment set to read/write adds
// an alias of the RAM beneath ("pam-<base>", kind Ram); read-only adds the
// same alias as kind Rom (reads RAM, drops writes). GuestMemory cannot send
// reads and writes of one address to different backings, so write-only is
// modelled as read/write after copying the ROM segment into the RAM: the
// usual shadowing loop (read ROM, write RAM, then switch to read-only) gives
// the right result; a guest that reads back a written byte while write-only
// sees RAM instead of ROM.

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "devices/pci_bus.h"

namespace sable {

class GuestMemory;

class I440fx : public PciDevice {
public:
  static constexpr uint64_t kShadowBase = 0xc0000;
  static constexpr uint64_t kShadowSize = 0x40000;

  // Registers the bridge at 00:00.0. `ram_region` names a RAM region of
  // `memory` that starts at guest address 0 and covers the first MiB; `rom`
  // is the content of 0xC0000-0xFFFFF (option ROMs, then the low BIOS alias),
  // at most kShadowSize bytes.
  I440fx(PciBus &bus, GuestMemory &memory, std::string ram_region,
         const std::vector<uint8_t> &rom);

  std::string_view name() const override { return "i440fx"; }

private:
  enum class Access : uint8_t { Rom, ReadOnly, ReadWrite, WriteOnly };
  struct Segment {
    uint64_t base;
    uint64_t size;
    unsigned reg;
    unsigned shift;
  };
  static const std::array<Segment, 13> kSegments;

  void config_written(unsigned offset, unsigned size) override;
  void config_restored() override { apply_pam(); }
  void apply_pam();
  void set_access(unsigned index, Access access);

  GuestMemory &memory_;
  std::string ram_region_;
  uint8_t *rom_;
  std::array<Access, 13> access_{};
};

} // namespace sable
