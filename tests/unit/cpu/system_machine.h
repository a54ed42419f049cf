#pragma once
// A vCPU over 4 MiB of RAM with a hand-built GDT, IDT, TSS and (for long
// mode) identity-mapping page tables, for the system and far-transfer
// handler tests. Instructions are hand-built Instruction records run
// through the handlers their families register.

#include <cstring>
#include <initializer_list>

#include "cpu/ops/far_transfer.h"
#include "cpu/ops/handlers.h"
#include "vcpu_machine.h"

namespace sable::cpu::test {

constexpr uint64_t kGdt = 0x1000;
constexpr uint16_t kGdtLimit = 0x7ff;
constexpr uint64_t kIdt = 0x2000;
constexpr uint64_t kTss = 0x3000;
constexpr uint64_t kPml4 = 0x10000;

// GDT layout used by every test.
enum Selector : uint16_t {
  SEL_CODE0 = 0x08,    // 32-bit code, DPL 0
  SEL_DATA0 = 0x10,    // 32-bit data, DPL 0
  SEL_CODE3 = 0x18,    // 32-bit code, DPL 3
  SEL_DATA3 = 0x20,    // 32-bit data, DPL 3
  SEL_CODE64 = 0x28,   // 64-bit code, DPL 0
  SEL_CODE64_3 = 0x30, // 64-bit code, DPL 3
  SEL_TSS = 0x38,      // 32-bit TSS (16 bytes in long mode)
  SEL_NOT_PRESENT = 0x48,
  SEL_DATA0_RO = 0x50, // read-only data, DPL 0
  SEL_CONFORMING = 0x58,
  SEL_GATE = 0x60, // call gate set up by each test (16 bytes in long mode)
};

enum DescriptorAccess : uint8_t {
  ACC_PRESENT = 0x80,
  ACC_CODE_DATA = 0x10,
  ACC_CODE_READ = 0x0a,
  ACC_CODE_CONFORMING = 0x0e,
  ACC_DATA_WRITE = 0x02,
  ACC_DATA_READ = 0x00,
};
enum DescriptorFlags : uint8_t {
  FLAG_GRANULAR = 8,
  FLAG_BIG = 4,
  FLAG_LONG = 2,
};

inline uint64_t segment_descriptor(uint32_t base, uint32_t limit,
                                   uint8_t access, uint8_t flags) {
  return (limit & 0xffff) | (uint64_t{base & 0xffffff} << 16) |
         (uint64_t{access} << 40) | (uint64_t{(limit >> 16) & 0xf} << 48) |
         (uint64_t{flags & 0xfu} << 52) | (uint64_t{base >> 24} << 56);
}

inline uint64_t flat(uint8_t type, unsigned dpl, uint8_t flags) {
  return segment_descriptor(0, 0xfffff,
                            ACC_PRESENT | ACC_CODE_DATA | (dpl << 5) | type,
                            flags | FLAG_GRANULAR);
}

inline uint64_t gate_descriptor(uint16_t selector, uint32_t offset,
                                unsigned dpl, unsigned type,
                                unsigned parameters) {
  return (offset & 0xffff) | (uint64_t{selector} << 16) |
         (uint64_t{parameters} << 32) |
         (uint64_t{0x80u | (dpl << 5) | type} << 40) |
         (uint64_t{offset >> 16} << 48);
}

struct SystemMachine : VcpuMachine {
  HandlerTable table;

  SystemMachine() : VcpuMachine(4 << 20) {
    register_system_ops(table);
    register_far_ops(table);
    set_gdt(SEL_CODE0, flat(ACC_CODE_READ, 0, FLAG_BIG));
    set_gdt(SEL_DATA0, flat(ACC_DATA_WRITE, 0, FLAG_BIG));
    set_gdt(SEL_CODE3, flat(ACC_CODE_READ, 3, FLAG_BIG));
    set_gdt(SEL_DATA3, flat(ACC_DATA_WRITE, 3, FLAG_BIG));
    set_gdt(SEL_CODE64, flat(ACC_CODE_READ, 0, FLAG_LONG));
    set_gdt(SEL_CODE64_3, flat(ACC_CODE_READ, 3, FLAG_LONG));
    set_gdt(SEL_TSS, segment_descriptor(kTss, 0x67, 0x89, 0));
    set_gdt(SEL_NOT_PRESENT,
            flat(ACC_CODE_READ, 0, FLAG_BIG) & ~(uint64_t{ACC_PRESENT} << 40));
    set_gdt(SEL_DATA0_RO, flat(ACC_DATA_READ, 0, FLAG_BIG));
    set_gdt(SEL_CONFORMING, flat(ACC_CODE_CONFORMING, 0, FLAG_BIG));
  }

  void set_gdt(uint16_t selector, uint64_t descriptor) {
    memory.write(kGdt + (selector & 0xfff8), &descriptor, 8);
  }
  uint64_t gdt(uint16_t selector) {
    uint64_t descriptor = 0;
    memory.read(kGdt + (selector & 0xfff8), &descriptor, 8);
    return descriptor;
  }
  Segment cache(uint16_t selector) {
    Descriptor d;
    uint64_t raw = gdt(selector);
    d.low = static_cast<uint32_t>(raw);
    d.high = static_cast<uint32_t>(raw >> 32);
    return segment_from(selector, d, false);
  }

  // Protected mode (no paging) with flat segments at privilege `cpl`.
  void enter_protected_mode(unsigned cpl) {
    CpuState &s = state();
    s.cr0 |= CR0_PE;
    s.gdtr = {kGdt, kGdtLimit};
    s.idtr = {kIdt, 0x7ff};
    uint16_t code = static_cast<uint16_t>(cpl ? SEL_CODE3 | 3 : SEL_CODE0);
    uint16_t data = static_cast<uint16_t>(cpl ? SEL_DATA3 | 3 : SEL_DATA0);
    s.seg[CS] = cache(code);
    for (unsigned seg : {ES, SS, DS, FS, GS})
      s.seg[seg] = cache(data);
    s.tr = cache(SEL_TSS);
    s.tr.attributes |= 0x2; // busy
  }

  // Long mode with identity-mapped 2 MiB pages over the first 4 MiB.
  void enter_long_mode(unsigned cpl) {
    enter_protected_mode(cpl);
    set_gdt(SEL_TSS, segment_descriptor(kTss, 0x67, 0x89, 0));
    set_gdt(SEL_TSS + 8, 0);
    enable_long_mode_paging(kPml4, 2);
    CpuState &s = state();
    s.seg[CS] = cache(cpl ? SEL_CODE64_3 | 3 : SEL_CODE64);
    cpu->flush_tlb(true);
  }

  // Runs one instruction through the system and far-transfer handlers.
  bool run(const Instruction &insn) {
    return execute_with(table.get(insn.op), insn);
  }

  bool faulted(uint8_t vector, uint32_t error_code) const {
    return cpu->pending.valid && cpu->pending.vector == vector &&
           cpu->pending.error_code == error_code;
  }
};

inline Instruction make(Op op, unsigned opsize = 4, unsigned length = 2) {
  Instruction insn;
  insn.op = op;
  insn.opsize = static_cast<uint8_t>(opsize);
  insn.addrsize = 4;
  insn.length = static_cast<uint8_t>(length);
  return insn;
}

// An instruction whose operand `index` is memory at DS:`address`.
inline Instruction with_memory(Instruction insn, unsigned index,
                               uint64_t address, unsigned size) {
  insn.operands[index] = {OperandKind::Mem, static_cast<uint8_t>(size), 0};
  insn.operand_count = static_cast<uint8_t>(
      insn.operand_count > index ? insn.operand_count : index + 1);
  insn.seg = DS;
  insn.disp = static_cast<int64_t>(address);
  return insn;
}

inline Instruction with_register(Instruction insn, unsigned index, unsigned gpr,
                                 unsigned size) {
  insn.operands[index] = {OperandKind::Reg, static_cast<uint8_t>(size),
                          static_cast<uint8_t>(gpr)};
  insn.operand_count = static_cast<uint8_t>(
      insn.operand_count > index ? insn.operand_count : index + 1);
  return insn;
}

// The decoder's record for `bytes`, so tests also pin the operand
// conventions the handlers rely on.
inline Instruction decoded(std::initializer_list<uint8_t> bytes,
                           CodeSize mode) {
  Instruction insn;
  uint8_t buffer[15] = {};
  std::memcpy(buffer, bytes.begin(), bytes.size());
  if (decode(buffer, static_cast<unsigned>(bytes.size()), mode, insn) !=
      DecodeStatus::Ok)
    insn.op = Op::Count;
  return insn;
}

} // namespace sable::cpu::test
