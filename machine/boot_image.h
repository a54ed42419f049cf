#pragma once
// What the direct-boot loaders (Linux, multiboot) share: their error type,
// reading image files, checked copies into guest RAM, and the flat-segment
// entry state together with a GDT in guest memory that matches it.

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "cpu/state.h"

namespace sable {

class GuestMemory;

// A boot image the user gave cannot be loaded; what() is one line,
// "<loader>: <file>: <problem>".
class BootError : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

[[noreturn]] void boot_fail(std::string_view loader, std::string_view file,
                            const std::string &problem);

// "0x1f00" for error messages.
std::string hex(uint64_t value);

std::vector<uint8_t> read_boot_file(std::string_view loader,
                                    const std::string &path);

// Whether [gpa, gpa + size) is guest RAM from end to end.
bool is_ram(const GuestMemory &memory, uint64_t gpa, uint64_t size);
// The end of the RAM that contains gpa, continuing across adjacent RAM
// segments; gpa itself when gpa is not RAM.
uint64_t ram_end_from(const GuestMemory &memory, uint64_t gpa);

// Little-endian stores into a byte buffer the loaders assemble.
void put_le16(uint8_t *at, uint16_t value);
void put_le32(uint8_t *at, uint32_t value);
void put_le64(uint8_t *at, uint64_t value);
uint16_t get_le16(const uint8_t *at);
uint32_t get_le32(const uint8_t *at);
uint64_t get_le64(const uint8_t *at);

// The boot GDT: null, null, flat code, flat data, and a TSS descriptor for
// TR (16 bytes, as long mode requires). Linux's boot protocol fixes the
// code and data selectors at 0x10 and 0x18.
constexpr uint64_t kBootGdtAddress = 0x500; // just above the BIOS data area
constexpr uint16_t kBootCodeSelector = 0x10;
constexpr uint16_t kBootDataSelector = 0x18;
constexpr uint16_t kBootTssSelector = 0x20;
constexpr uint16_t kBootGdtLimit = 6 * 8 - 1;

enum class EntryMode { Protected32, Long64 };

// VMX-layout attributes of the flat boot segments.
constexpr uint16_t kFlatCode32Attributes = 0xc09b; // G D P S type 11
constexpr uint16_t kFlatCode64Attributes = 0xa09b; // G L P S type 11
constexpr uint16_t kFlatDataAttributes = 0xc093;   // G B P S type 3
constexpr uint16_t kBusyTssAttributes = 0x008b;    // P, busy TSS

// The 8-byte GDT descriptor for a segment's cached state.
uint64_t encode_descriptor(const cpu::Segment &segment);

// A CPU state entering flat 4 GiB protected mode (or 64-bit code in long
// mode) with interrupts off and the A20 gate open, whose GDT is written to
// kBootGdtAddress. Control registers for paging are the caller's.
cpu::CpuState flat_entry_state(GuestMemory &memory, EntryMode mode);

} // namespace sable
