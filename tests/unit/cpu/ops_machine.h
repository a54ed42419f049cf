#pragma once
// A vCPU over 4 MiB of RAM for the integer handler tests: real mode, flat
// 32-bit protected mode (segment caches set directly) or 64-bit mode
// (identity-mapped with 2 MiB pages). `run` decodes one instruction from
// bytes and executes it through the handler table, as the interpreter
// would: next_rip is the fall-through address, committed on success.

#include <cstring>
#include <initializer_list>
#include <vector>

#include "cpu/flags.h"
#include "cpu/ops/handlers.h"
#include "vcpu_machine.h"

namespace sable::cpu::test {

constexpr uint64_t kCodeAddress = 0x1000;
constexpr uint64_t kPml4 = 0x10000;
constexpr uint16_t kFlatCode32 = 0xc09b; // P S DPL0 code read/accessed, D G
constexpr uint16_t kFlatData32 = 0xc093; // P S DPL0 data write/accessed, B G
constexpr uint16_t kCode64 = 0xa09b;     // L G
constexpr uint16_t kRealCode = 0x009b;
constexpr uint16_t kRealData = 0x0093;

struct OpsMachine : VcpuMachine {
  CodeSize mode;
  Instruction last;

  explicit OpsMachine(CodeSize code_size = CodeSize::Bits32)
      : VcpuMachine(4 << 20), mode(code_size) {
    CpuState &s = cpu->state;
    s.rip = kCodeAddress;
    s.rflags = 0x2;
    s.lazy.op = LAZY_NONE;
    if (mode == CodeSize::Bits16) {
      s.seg[CS] = {0, 0, 0xffff, kRealCode};
      for (unsigned seg : {ES, SS, DS, FS, GS})
        s.seg[seg] = {0, 0, 0xffff, kRealData};
      s.gpr[RSP] = 0x8000;
      return;
    }
    s.cr0 |= CR0_PE;
    s.cr0 &= ~uint64_t{CR0_CD | CR0_NW};
    s.seg[CS] = {0x08, 0, 0xffffffff, kFlatCode32};
    for (unsigned seg : {ES, SS, DS, FS, GS})
      s.seg[seg] = {0x10, 0, 0xffffffff, kFlatData32};
    s.gpr[RSP] = 0x80000;
    if (mode == CodeSize::Bits64) {
      enable_long_mode_paging(kPml4, 2);
      s.seg[CS].attributes = kCode64;
      cpu->flush_tlb(true);
    }
  }

  uint64_t &gpr(unsigned index) { return cpu->state.gpr[index]; }

  // Decodes and executes one instruction; false when it faulted (the fault
  // is in cpu->pending and RIP is unchanged).
  bool run(std::initializer_list<uint8_t> bytes) {
    std::vector<uint8_t> code(bytes);
    Instruction insn;
    if (decode(code.data(), static_cast<unsigned>(code.size()), mode, insn) !=
        DecodeStatus::Ok)
      return false;
    return execute(insn);
  }

  // Executes an instruction record built by hand (forms the decoder
  // rejects before any handler sees them).
  bool execute(const Instruction &insn) {
    last = insn;
    return execute_with(handler_table().get(last.op), last);
  }

  // Runs a REP instruction to completion, as the interpreter resumes it.
  bool run_to_completion(std::initializer_list<uint8_t> bytes) {
    const uint64_t start = cpu->state.rip;
    for (;;) {
      if (!run(bytes))
        return false;
      if (cpu->state.rip != start)
        return true;
    }
  }

  uint8_t fault_vector() const { return cpu->pending.vector; }
  bool faulted_with(uint8_t vector) const {
    return cpu->pending.valid && cpu->pending.vector == vector;
  }

  uint64_t arith() { return cpu->rflags() & kArithFlags; }
  void set_arith(uint64_t flags) {
    cpu->set_rflags((cpu->rflags() & ~kArithFlags) | flags);
  }
};

} // namespace sable::cpu::test
