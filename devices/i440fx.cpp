#include "devices/i440fx.h"

#include <cinttypes>
#include <cstring>
#include <stdexcept>

#include "machine/log.h"
#include "machine/memory.h"

namespace sable {

namespace {
constexpr unsigned kPam0 = 0x59;
constexpr unsigned kPamCount = 7;
constexpr unsigned kSmram = 0x72;
constexpr uint8_t kPamReadEnable = 0x1;
constexpr uint8_t kPamWriteEnable = 0x2;
// C_BASE_SEG reads 010: SMRAM would live at 0xA0000.
constexpr uint8_t kSmramDefault = 0x02;
constexpr uint8_t kSmramWritable = 0x78;

std::string alias_name(uint64_t base) {
  char name[16];
  std::snprintf(name, sizeof name, "pam-%" PRIx64, base);
  return name;
}
} // namespace

// PAM0 bits 5:4 cover the 64 KiB BIOS segment; PAM1-6 have two 16 KiB
// segments each, low nibble first.
const std::array<I440fx::Segment, 13> I440fx::kSegments = {{
    {0xf0000, 0x10000, kPam0, 4},
    {0xc0000, 0x4000, 0x5a, 0},
    {0xc4000, 0x4000, 0x5a, 4},
    {0xc8000, 0x4000, 0x5b, 0},
    {0xcc000, 0x4000, 0x5b, 4},
    {0xd0000, 0x4000, 0x5c, 0},
    {0xd4000, 0x4000, 0x5c, 4},
    {0xd8000, 0x4000, 0x5d, 0},
    {0xdc000, 0x4000, 0x5d, 4},
    {0xe0000, 0x4000, 0x5e, 0},
    {0xe4000, 0x4000, 0x5e, 4},
    {0xe8000, 0x4000, 0x5f, 0},
    {0xec000, 0x4000, 0x5f, 4},
}};

I440fx::I440fx(PciBus &bus, GuestMemory &memory, std::string ram_region,
               const std::vector<uint8_t> &rom)
    : PciDevice(0x8086, 0x1237, 0x060000, 0x02), memory_(memory),
      ram_region_(std::move(ram_region)) {
  if (rom.size() > kShadowSize)
    throw std::logic_error("i440fx: ROM image larger than 256 KiB");
  std::vector<uint8_t> image(kShadowSize, 0xff);
  std::memcpy(image.data(), rom.data(), rom.size());
  rom_ = memory_.add_rom("pam-rom", kShadowBase, image);
  // Fails now, at machine setup, if the RAM region cannot back the shadow
  // segments, rather than later on a guest's PAM write.
  memory_.add_alias("pam-check", kShadowBase, kShadowSize, ram_region_,
                    kShadowBase, GuestMemory::Kind::Ram);
  memory_.remove_region("pam-check");
  set_writable(kPam0, 1, 0x30);
  for (unsigned reg = kPam0 + 1; reg < kPam0 + kPamCount; ++reg)
    set_writable(reg, 1, 0x33);
  set_config_byte(kSmram, kSmramDefault);
  set_writable(kSmram, 1, kSmramWritable);
  bus.add(this, 0, 0);
}

void I440fx::config_written(unsigned offset, unsigned size) {
  if (offset < kPam0 + kPamCount && kPam0 < offset + size)
    apply_pam();
}

void I440fx::apply_pam() {
  for (unsigned i = 0; i < kSegments.size(); ++i) {
    uint8_t bits = (config_byte(kSegments[i].reg) >> kSegments[i].shift) & 3;
    Access access = bits == (kPamReadEnable | kPamWriteEnable)
                        ? Access::ReadWrite
                    : bits == kPamReadEnable  ? Access::ReadOnly
                    : bits == kPamWriteEnable ? Access::WriteOnly
                                              : Access::Rom;
    if (access != access_[i])
      set_access(i, access);
  }
}

void I440fx::set_access(unsigned index, Access access) {
  const Segment &segment = kSegments[index];
  std::string name = alias_name(segment.base);
  memory_.remove_region(name);
  access_[index] = access;
  if (access == Access::Rom)
    return;
  auto kind = access == Access::ReadOnly ? GuestMemory::Kind::Rom
                                         : GuestMemory::Kind::Ram;
  memory_.add_alias(name, segment.base, segment.size, ram_region_, segment.base,
                    kind);
  if (access == Access::WriteOnly) {
    SABLE_LOG_ONCE(LOG_UNIMP,
                   "i440fx: PAM write-only shadows the ROM copy read/write\n");
    memory_.write(segment.base, rom_ + (segment.base - kShadowBase),
                  segment.size);
  }
}

} // namespace sable
