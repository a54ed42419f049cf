// The handler table: every op family registers its handlers; an Op nobody
// registered raises #UD and is logged once.

#include <atomic>

#include "cpu/cpu.h"
#include "cpu/ops/chain.h"
#include "cpu/ops/handlers.h"
#include "machine/log.h"

namespace sable::cpu {

namespace {

constexpr size_t kOpCount = static_cast<size_t>(Op::Count);

bool unimplemented(Cpu &cpu, const Instruction &insn) {
  static std::atomic<bool> logged[kOpCount];
  const size_t index = static_cast<size_t>(insn.op);
  if (log_enabled(LOG_UNIMP) && !logged[index].exchange(true))
    log_write("cpu: %s is not implemented, raising #UD\n", op_name(insn.op));
  return cpu.fault(EXC_UD);
}

// Op::UD is the decoder's verdict, not a gap in the emulator.
bool invalid_opcode(Cpu &cpu, const Instruction &) {
  return cpu.fault(EXC_UD);
}

HandlerTable build_table() {
  HandlerTable table;
  table.set(Op::UD, threaded<invalid_opcode>);
  register_alu_ops(table);
  register_shift_ops(table);
  register_muldiv_ops(table);
  register_bcd_ops(table);
  register_bit_ops(table);
  register_data_ops(table);
  register_stack_ops(table);
  register_branch_ops(table);
  register_string_ops(table);
  register_io_ops(table);
  register_flag_ops(table);
  register_system_ops(table);
  register_far_ops(table);
  register_simd_ops(table);
  register_x87_ops(table);
  for (size_t op = 0; op < kOpCount; op++)
    if (!table.handlers[op])
      table.handlers[op] = threaded<unimplemented>;
  return table;
}

} // namespace

const HandlerTable &handler_table() {
  static const HandlerTable table = build_table();
  return table;
}

} // namespace sable::cpu
