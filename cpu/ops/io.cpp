// IN and OUT: the port is an 8-bit immediate or DX, the data AL/AX/EAX.

#include "cpu/cpu.h"
#include "cpu/ops/chain.h"
#include "cpu/ops/handlers.h"
#include "cpu/ops/port_io.h"

namespace sable::cpu {

namespace {

uint16_t port_of(const Cpu &cpu, const Instruction &insn) {
  for (unsigned i = 0; i < insn.operand_count; i++)
    if (insn.operands[i].kind == OperandKind::Imm)
      return static_cast<uint16_t>(insn.imm & 0xff);
  return static_cast<uint16_t>(cpu.reg(RDX, 2));
}

bool in(Cpu &cpu, const Instruction &insn) {
  const uint16_t port = port_of(cpu, insn);
  if (!cpu.check_io(port, insn.opsize))
    return false;
  cpu.set_reg(RAX, insn.opsize, port_read(cpu, port, insn.opsize));
  return true;
}

bool out(Cpu &cpu, const Instruction &insn) {
  const uint16_t port = port_of(cpu, insn);
  if (!cpu.check_io(port, insn.opsize))
    return false;
  port_write(cpu, port, insn.opsize,
             static_cast<uint32_t>(cpu.reg(RAX, insn.opsize)));
  return true;
}

} // namespace

void register_io_ops(HandlerTable &table) {
  table.set(Op::IN, threaded<in>);
  table.set(Op::OUT, threaded<out>);
}

} // namespace sable::cpu
