#pragma once
// Instruction handlers: one function per Op, grouped by family in
// cpu/ops/*.cpp. Each family file registers its handlers in the table;
// an Op nobody registered raises #UD and is logged once.
//
// A handler returns true when the instruction completed (the interpreter
// then commits cpu.next_rip) and false when it recorded a fault in
// cpu.pending (RIP stays at the instruction).
//
// Each handler is stored in two shapes (HandlerPair): alone, and chained to
// the instructions after it in its block as threaded code
// (cpu/ops/chain.h). Families register `threaded<handler>`, which holds
// both.
//
// A family may also register a specializer for an op: given a decoded
// instruction it returns the handlers compiled for that instruction's
// operand form (see cpu/ops/forms.h), or an empty pair to keep the
// generic ones.

#include <cstddef>

#include "cpu/instruction.h"

namespace sable::cpu {

class Cpu;
using Handler = bool (*)(Cpu &, const Instruction &);

struct HandlerPair {
  Handler run = nullptr;   // executes the instruction alone
  Handler chain = nullptr; // executes it and the rest of its block
  explicit operator bool() const { return run != nullptr; }
};

using Specializer = HandlerPair (*)(const Instruction &);

struct HandlerTable {
  HandlerPair handlers[static_cast<size_t>(Op::Count)] = {};
  Specializer specializers[static_cast<size_t>(Op::Count)] = {};
  void set(Op op, HandlerPair handler) {
    handlers[static_cast<size_t>(op)] = handler;
  }
  void specialize(Op op, Specializer specializer) {
    specializers[static_cast<size_t>(op)] = specializer;
  }
  Handler get(Op op) const { return handlers[static_cast<size_t>(op)].run; }
  // The handlers to run `insn` with: its form's, else the op's.
  HandlerPair select(const Instruction &insn) const {
    const size_t index = static_cast<size_t>(insn.op);
    if (specializers[index])
      if (HandlerPair handler = specializers[index](insn))
        return handler;
    return handlers[index];
  }
};

// Built once, on first use, from the family registrations below.
const HandlerTable &handler_table();

void register_alu_ops(
    HandlerTable &table); // alu.cpp: ADD..CMP, TEST, INC, DEC, NEG, NOT
void register_shift_ops(HandlerTable &table); // shift.cpp: ROL..SAR, SHLD, SHRD
void register_muldiv_ops(
    HandlerTable &table);                   // muldiv.cpp: MUL, IMUL*, DIV, IDIV
void register_bcd_ops(HandlerTable &table); // bcd.cpp
void register_bit_ops(
    HandlerTable &table); // bits.cpp: BT*, BSF/BSR, POPCNT, LZCNT, TZCNT, BSWAP
void register_data_ops(HandlerTable &table); // data.cpp: MOV*, LEA, XCHG, XADD,
                                             // CMPXCHG*, CMOVcc, SETcc, ...
void register_stack_ops(
    HandlerTable &table); // stack.cpp: PUSH, POP, PUSHA, POPA, ENTER, LEAVE
void register_branch_ops(
    HandlerTable &table); // branch.cpp: near JMP/CALL/RET, Jcc, LOOP*, JCXZ
void register_string_ops(
    HandlerTable &table);                  // string.cpp: MOVS..OUTS with REP
void register_io_ops(HandlerTable &table); // io.cpp: IN, OUT
void register_flag_ops(
    HandlerTable &table); // flags.cpp in ops/: CLC..STD, LAHF, SAHF, PUSHF,
                          // POPF, CLI, STI
void register_system_ops(
    HandlerTable &table); // system.cpp: descriptor tables, CR/DR, MSR, CPUID,
                          // RDTSC, HLT, ...
void register_far_ops(
    HandlerTable &table); // far.cpp: far JMP/CALL/RET, IRET, INT*,
                          // SYSCALL/SYSRET, SYSENTER/SYSEXIT, SWAPGS
void register_simd_ops(HandlerTable &table); // simd*.cpp: MMX, SSE..SSE4.2,
                                             // FXSAVE/XSAVE, LDMXCSR/STMXCSR
void register_x87_ops(
    HandlerTable &table); // x87.cpp: the D8..DF escapes and FWAIT

} // namespace sable::cpu
