// MOVS CMPS STOS LODS SCAS INS OUTS, with REP/REPE/REPNE.
//
// The source is seg:rSI (DS unless overridden, already in
// Instruction::seg), the destination always ES:rDI; rSI, rDI and the REP
// count rCX are used at the address size. A repeated instruction runs one
// element at a time and commits rSI/rDI/rCX after each, so a fault leaves
// the registers describing the remaining work and the restart continues.
// After kElementsPerRun elements it stops with next_rip = its own address:
// string instructions end their block, so pending interrupts are taken
// before the next block lookup resumes the instruction.

#include "cpu/cpu.h"
#include "cpu/flags.h"
#include "cpu/ops/chain.h"
#include "cpu/ops/handlers.h"
#include "cpu/ops/port_io.h"

namespace sable::cpu {

namespace {

constexpr unsigned kElementsPerRun = 4096;

enum class StringKind { Movs, Cmps, Stos, Lods, Scas, Ins, Outs };

struct Element {
  unsigned size;  // bytes per element
  unsigned width; // address size
  int64_t step;   // +size or -size by DF
};

void advance(Cpu &cpu, const Element &e, Gpr index) {
  cpu.set_reg(index, e.width,
              (cpu.reg(index, e.width) + e.step) & size_mask(e.width));
}

template <StringKind Kind>
bool one_element(Cpu &cpu, const Instruction &insn, const Element &e) {
  const uint64_t si = cpu.reg(RSI, e.width);
  const uint64_t di = cpu.reg(RDI, e.width);
  const uint16_t port = static_cast<uint16_t>(cpu.reg(RDX, 2));
  uint64_t value, other;
  if constexpr (Kind == StringKind::Movs) {
    if (!cpu.read_value(insn.seg, si, e.size, value) ||
        !cpu.write_value(ES, di, e.size, value))
      return false;
    advance(cpu, e, RSI);
    advance(cpu, e, RDI);
  } else if constexpr (Kind == StringKind::Cmps) {
    if (!cpu.read_value(insn.seg, si, e.size, value) ||
        !cpu.read_value(ES, di, e.size, other))
      return false;
    alu_sub(cpu.state, e.size, value, other);
    advance(cpu, e, RSI);
    advance(cpu, e, RDI);
  } else if constexpr (Kind == StringKind::Stos) {
    if (!cpu.write_value(ES, di, e.size, cpu.reg(RAX, e.size)))
      return false;
    advance(cpu, e, RDI);
  } else if constexpr (Kind == StringKind::Lods) {
    if (!cpu.read_value(insn.seg, si, e.size, value))
      return false;
    cpu.set_reg(RAX, e.size, value);
    advance(cpu, e, RSI);
  } else if constexpr (Kind == StringKind::Scas) {
    if (!cpu.read_value(ES, di, e.size, value))
      return false;
    alu_sub(cpu.state, e.size, cpu.reg(RAX, e.size), value);
    advance(cpu, e, RDI);
  } else if constexpr (Kind == StringKind::Ins) {
    // The port read has side effects: make sure the store cannot fault
    // before consuming the data (rewriting the old value changes nothing).
    if (!cpu.check_io(port, e.size) || !cpu.read_value(ES, di, e.size, other) ||
        !cpu.write_value(ES, di, e.size, other))
      return false;
    if (!cpu.write_value(ES, di, e.size, port_read(cpu, port, e.size)))
      return false;
    advance(cpu, e, RDI);
  } else {
    if (!cpu.check_io(port, e.size) ||
        !cpu.read_value(insn.seg, si, e.size, value))
      return false;
    port_write(cpu, port, e.size, static_cast<uint32_t>(value));
    advance(cpu, e, RSI);
  }
  return true;
}

template <StringKind Kind> bool string_op(Cpu &cpu, const Instruction &insn) {
  const Element e{insn.opsize, insn.addrsize,
                  (cpu.state.rflags & DF) ? -int64_t{insn.opsize}
                                          : int64_t{insn.opsize}};
  if (insn.rep == REP_NONE)
    return one_element<Kind>(cpu, insn, e);
  constexpr bool compares =
      Kind == StringKind::Cmps || Kind == StringKind::Scas;
  const uint64_t count_mask = size_mask(e.width);
  for (unsigned done = 0; done < kElementsPerRun; done++) {
    const uint64_t count = cpu.reg(RCX, e.width);
    if (count == 0)
      return true;
    if (!one_element<Kind>(cpu, insn, e))
      return false;
    cpu.set_reg(RCX, e.width, (count - 1) & count_mask);
    if constexpr (compares) {
      const bool zero = arith_flags(cpu.state) & ZF;
      if ((insn.rep == REP_Z && !zero) || (insn.rep == REP_NZ && zero))
        return true;
    }
  }
  if (cpu.reg(RCX, e.width) != 0)
    cpu.next_rip = cpu.state.rip;
  return true;
}

} // namespace

void register_string_ops(HandlerTable &table) {
  table.set(Op::MOVS, threaded<string_op<StringKind::Movs>>);
  table.set(Op::CMPS, threaded<string_op<StringKind::Cmps>>);
  table.set(Op::STOS, threaded<string_op<StringKind::Stos>>);
  table.set(Op::LODS, threaded<string_op<StringKind::Lods>>);
  table.set(Op::SCAS, threaded<string_op<StringKind::Scas>>);
  table.set(Op::INS, threaded<string_op<StringKind::Ins>>);
  table.set(Op::OUTS, threaded<string_op<StringKind::Outs>>);
}

} // namespace sable::cpu
