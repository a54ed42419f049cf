// PUSH POP (registers, memory, immediates, segment registers), PUSHA POPA,
// ENTER LEAVE. A fault part way through restores rSP, so the instruction
// restarts from its original state (memory already written below the
// stack pointer is dead data).

#include "cpu/cpu.h"
#include "cpu/flags.h"
#include "cpu/ops/chain.h"
#include "cpu/ops/forms.h"
#include "cpu/ops/handlers.h"

namespace sable::cpu {

namespace {

// Segment registers are pushed zero-extended to the operand size.
bool push(Cpu &cpu, const Instruction &insn) {
  uint64_t value;
  if (insn.operands[0].kind == OperandKind::Seg)
    value = cpu.state.seg[insn.operands[0].reg].selector;
  else if (!cpu.read_operand(insn, 0, value))
    return false;
  return cpu.push(value & size_mask(insn.opsize), insn.opsize);
}

// POP to memory computes an rSP-based address with the incremented rSP.
bool pop(Cpu &cpu, const Instruction &insn) {
  const uint64_t rsp = cpu.reg(RSP, 8);
  uint64_t value;
  if (!cpu.pop(value, insn.opsize))
    return false;
  const Operand &dst = insn.operands[0];
  bool done;
  if (dst.kind == OperandKind::Seg) {
    done = cpu.load_segment(dst.reg, static_cast<uint16_t>(value));
    if (done && dst.reg == SS)
      cpu.state.interrupt_shadow = true;
  } else {
    done = cpu.write_operand(insn, 0, value);
  }
  if (!done)
    cpu.set_reg(RSP, 8, rsp);
  return done;
}

// Register order of PUSHA; POPA pops in reverse and skips the saved rSP.
constexpr Gpr kPushaOrder[8] = {RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI};

bool pusha(Cpu &cpu, const Instruction &insn) {
  const unsigned size = insn.opsize;
  const uint64_t rsp = cpu.reg(RSP, 8);
  uint64_t values[8];
  for (unsigned i = 0; i < 8; i++)
    values[i] = cpu.reg(kPushaOrder[i], size);
  for (uint64_t value : values) {
    if (!cpu.push(value, size)) {
      cpu.set_reg(RSP, 8, rsp);
      return false;
    }
  }
  return true;
}

bool popa(Cpu &cpu, const Instruction &insn) {
  const unsigned size = insn.opsize;
  const uint64_t rsp = cpu.reg(RSP, 8);
  uint64_t values[8];
  for (int i = 7; i >= 0; i--) {
    if (!cpu.pop(values[i], size)) {
      cpu.set_reg(RSP, 8, rsp);
      return false;
    }
  }
  for (unsigned i = 0; i < 8; i++)
    if (kPushaOrder[i] != RSP)
      cpu.set_reg(kPushaOrder[i], size, values[i]);
  return true;
}

// ENTER size, level: push rBP, copy level-1 outer frame pointers from the
// old frame, push the new frame pointer, then allocate `size` bytes.
bool enter(Cpu &cpu, const Instruction &insn) {
  const unsigned size = insn.opsize;
  const unsigned stack = cpu.stack_size();
  const uint64_t stack_mask = size_mask(stack);
  const uint64_t allocation = insn.imm & 0xffff;
  const unsigned level = insn.imm2 & 31;
  const uint64_t rsp = cpu.reg(RSP, 8);
  auto undo = [&] {
    cpu.set_reg(RSP, 8, rsp);
    return false;
  };
  if (!cpu.push(cpu.reg(RBP, size), size))
    return undo();
  const uint64_t frame = cpu.reg(RSP, stack);
  if (level > 0) {
    uint64_t outer = cpu.reg(RBP, stack);
    for (unsigned i = 1; i < level; i++) {
      outer = (outer - size) & stack_mask;
      uint64_t value;
      if (!cpu.read_value(SS, outer, size, value) || !cpu.push(value, size))
        return undo();
    }
    if (!cpu.push(frame & size_mask(size), size))
      return undo();
  }
  cpu.set_reg(RBP, stack, frame);
  cpu.set_reg(RSP, stack, (cpu.reg(RSP, stack) - allocation) & stack_mask);
  return true;
}

// LEAVE: rSP = rBP (stack width), then pop rBP (operand size).
bool leave(Cpu &cpu, const Instruction &insn) {
  const unsigned stack = cpu.stack_size();
  const uint64_t rsp = cpu.reg(RSP, 8);
  cpu.set_reg(RSP, stack, cpu.reg(RBP, stack));
  uint64_t value;
  if (!cpu.pop(value, insn.opsize)) {
    cpu.set_reg(RSP, 8, rsp);
    return false;
  }
  cpu.set_reg(RBP, insn.opsize, value);
  return true;
}

} // namespace

// PUSH/POP of a 64-bit register: an 8-byte operand exists only in 64-bit
// mode, where the stack pointer is RSP whole and SS flat. POP RSP leaves
// the value popped, as the increment comes first.
template <Path P = Path::Full>
bool push_register64(Cpu &cpu, const Instruction &insn) {
  const uint64_t rsp = cpu.state.gpr[RSP] - 8;
  if (!store_at<8, P>(cpu, SS, rsp, cpu.state.gpr[insn.operands[0].reg]))
    return false;
  cpu.state.gpr[RSP] = rsp;
  return true;
}

template <Path P = Path::Full>
bool pop_register64(Cpu &cpu, const Instruction &insn) {
  const uint64_t rsp = cpu.state.gpr[RSP];
  uint64_t value;
  if (!load_at<8, P>(cpu, SS, rsp, value))
    return false;
  cpu.state.gpr[RSP] = rsp + 8;
  cpu.state.gpr[insn.operands[0].reg] = value;
  return true;
}

HandlerPair register64_form(const Instruction &insn, HandlerPair handler) {
  const Operand &op = insn.operands[0];
  return op.kind == OperandKind::Reg && op.size == 8 && insn.opsize == 8
             ? handler
             : HandlerPair{};
}

void register_stack_ops(HandlerTable &table) {
  table.set(Op::PUSH, threaded<push>);
  table.set(Op::POP, threaded<pop>);
  table.set(Op::PUSHA, threaded<pusha>);
  table.set(Op::POPA, threaded<popa>);
  table.set(Op::ENTER, threaded<enter>);
  table.set(Op::LEAVE, threaded<leave>);
  table.specialize(Op::PUSH, [](const Instruction &insn) {
    return register64_form(
        insn,
        threaded_sequential<push_register64<>, push_register64<Path::Flat>>);
  });
  table.specialize(Op::POP, [](const Instruction &insn) {
    return register64_form(
        insn,
        threaded_sequential<pop_register64<>, pop_register64<Path::Flat>>);
  });
}

} // namespace sable::cpu
