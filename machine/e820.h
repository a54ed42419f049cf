#pragma once
// The PC physical memory map as firmware reports it (BIOS INT 15h E820,
// Linux boot_params, multiboot mmap, fw_cfg "etc/e820"), built from the RAM
// size. The machine places its RAM regions with split_ram() so the map and
// the memory layout agree.

#include <cstddef>
#include <cstdint>
#include <vector>

namespace sable {

enum E820Type : uint32_t {
  E820_RAM = 1,
  E820_RESERVED = 2,
  E820_ACPI = 3,
  E820_NVS = 4,
  E820_UNUSABLE = 5,
};

struct E820Entry {
  uint64_t address;
  uint64_t length;
  uint32_t type;

  uint64_t end() const { return address + length; }
  bool operator==(const E820Entry &) const = default;
};

// Conventional memory ends where the extended BIOS data area begins.
constexpr uint64_t kEbdaStart = 0x9fc00;
constexpr uint64_t kEbdaEnd = 0xa0000;
constexpr uint64_t kBiosAreaStart = 0xf0000;
constexpr uint64_t kHighMemoryStart = 0x100000;
// RAM below 4 GiB stops here; the PCI hole (MMIO windows, IOAPIC, LAPIC,
// the BIOS flash) takes the rest up to 4 GiB.
constexpr uint64_t kPciHoleStart = 0xc0000000;
constexpr uint64_t k4GiB = uint64_t{1} << 32;

struct RamSplit {
  uint64_t below_4g; // mapped at 0
  uint64_t above_4g; // mapped at 4 GiB
};
RamSplit split_ram(uint64_t ram_size);

// RAM below 640 KiB minus the EBDA, the EBDA and the BIOS area reserved,
// RAM from 1 MiB to the PCI hole, and the rest above 4 GiB.
std::vector<E820Entry> build_e820(uint64_t ram_size);

// The map firmware gets through fw_cfg: RAM ranges only, [0, below_4g) and
// [4 GiB, 4 GiB + above_4g), as QEMU gives them. SeaBIOS makes its own
// low-memory reservations and drops RAM entries it already knows from CMOS.
std::vector<E820Entry> build_firmware_e820(uint64_t ram_size);

// QEMU's "etc/e820" fw_cfg file: packed little-endian entries of
// { u64 address, u64 length, u32 type }.
constexpr size_t kE820FileEntrySize = 20;
std::vector<uint8_t> e820_fw_cfg_file(const std::vector<E820Entry> &map);

} // namespace sable
