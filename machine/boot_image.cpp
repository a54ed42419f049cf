#include "machine/boot_image.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>

#include "machine/memory.h"

namespace sable {

void boot_fail(std::string_view loader, std::string_view file,
               const std::string &problem) {
  throw BootError(std::string(loader) + ": " + std::string(file) + ": " +
                  problem);
}

std::string hex(uint64_t value) {
  char text[20];
  std::snprintf(text, sizeof text, "0x%llx",
                static_cast<unsigned long long>(value));
  return text;
}

std::vector<uint8_t> read_boot_file(std::string_view loader,
                                    const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    boot_fail(loader, path, std::strerror(errno));
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                             std::istreambuf_iterator<char>());
  if (in.bad())
    boot_fail(loader, path, "read error");
  return bytes;
}

uint64_t ram_end_from(const GuestMemory &memory, uint64_t gpa) {
  uint64_t end = gpa;
  for (const GuestMemory::Segment &s : memory.segments()) {
    if (s.base > end)
      break;
    if (s.kind == GuestMemory::Kind::Ram && s.base <= end &&
        s.base + s.length > end)
      end = s.base + s.length;
  }
  return end;
}

bool is_ram(const GuestMemory &memory, uint64_t gpa, uint64_t size) {
  uint64_t end = ram_end_from(memory, gpa);
  return end > gpa && end - gpa >= size;
}

void put_le16(uint8_t *at, uint16_t value) {
  at[0] = uint8_t(value);
  at[1] = uint8_t(value >> 8);
}

void put_le32(uint8_t *at, uint32_t value) {
  put_le16(at, uint16_t(value));
  put_le16(at + 2, uint16_t(value >> 16));
}

void put_le64(uint8_t *at, uint64_t value) {
  put_le32(at, uint32_t(value));
  put_le32(at + 4, uint32_t(value >> 32));
}

uint16_t get_le16(const uint8_t *at) {
  return uint16_t(at[0] | at[1] << 8);
}

uint32_t get_le32(const uint8_t *at) {
  return get_le16(at) | uint32_t{get_le16(at + 2)} << 16;
}

uint64_t get_le64(const uint8_t *at) {
  return get_le32(at) | uint64_t{get_le32(at + 4)} << 32;
}

uint64_t encode_descriptor(const cpu::Segment &segment) {
  bool granular = segment.attributes & 0x8000;
  uint64_t limit = granular ? segment.limit >> 12 : segment.limit;
  uint64_t base = segment.base;
  return (limit & 0xffff) | (base & 0xffffff) << 16 |
         uint64_t{segment.attributes & 0xffu} << 40 |
         ((limit >> 16) & 0xf) << 48 |
         uint64_t{(segment.attributes >> 12) & 0xfu} << 52 |
         ((base >> 24) & 0xff) << 56;
}

cpu::CpuState flat_entry_state(GuestMemory &memory, EntryMode mode) {
  cpu::CpuState state;
  cpu::Segment code{kBootCodeSelector, 0, 0xffffffff,
                    mode == EntryMode::Long64 ? kFlatCode64Attributes
                                              : kFlatCode32Attributes};
  cpu::Segment data{kBootDataSelector, 0, 0xffffffff, kFlatDataAttributes};
  for (cpu::Segment &segment : state.seg)
    segment = data;
  state.seg[cpu::CS] = code;
  // The TSS is never used before the kernel loads its own; VM entry only
  // needs TR to hold a present, busy TSS.
  state.tr = {kBootTssSelector, 0, 0x67, kBusyTssAttributes};
  state.ldtr = {0, 0, 0xffff, 0x0082};
  state.gdtr = {kBootGdtAddress, kBootGdtLimit};
  state.idtr = {0, 0};
  state.rflags = 0x2;
  state.cr0 = cpu::CR0_PE | cpu::CR0_ET;
  state.a20_mask = ~uint64_t{0};

  uint8_t gdt[kBootGdtLimit + 1] = {};
  put_le64(gdt + kBootCodeSelector, encode_descriptor(code));
  put_le64(gdt + kBootDataSelector, encode_descriptor(data));
  put_le64(gdt + kBootTssSelector, encode_descriptor(state.tr));
  memory.write(kBootGdtAddress, gdt, sizeof gdt);
  return state;
}

} // namespace sable
