// DAA DAS AAA AAS AAM AAD, following the SDM's Operation sections. The
// decoder rejects them in 64-bit mode. Flags the SDM leaves undefined: OF
// is cleared; after AAA/AAS, SF ZF PF follow AL as for the others; after
// AAM/AAD, CF and AF are cleared.

#include "cpu/cpu.h"
#include "cpu/flags.h"
#include "cpu/ops/chain.h"
#include "cpu/ops/handlers.h"

namespace sable::cpu {

namespace {

bool adjust_flag(Cpu &cpu) {
  return arith_flags(cpu.state) & AF;
}

bool daa(Cpu &cpu, const Instruction &) {
  const uint8_t old_al = static_cast<uint8_t>(cpu.reg(RAX, 1));
  const bool old_carry = carry_flag(cpu.state);
  uint8_t al = old_al;
  bool carry = false;
  bool adjust = false;
  if ((al & 0xf) > 9 || adjust_flag(cpu)) {
    carry = old_carry || al > 0xff - 6;
    al = static_cast<uint8_t>(al + 6);
    adjust = true;
  }
  if (old_al > 0x99 || old_carry) {
    al = static_cast<uint8_t>(al + 0x60);
    carry = true;
  } else {
    carry = false;
  }
  cpu.set_reg(RAX, 1, al);
  set_bcd_flags(cpu.state, al, carry, adjust);
  return true;
}

bool das(Cpu &cpu, const Instruction &) {
  const uint8_t old_al = static_cast<uint8_t>(cpu.reg(RAX, 1));
  const bool old_carry = carry_flag(cpu.state);
  uint8_t al = old_al;
  bool carry = false;
  bool adjust = false;
  if ((al & 0xf) > 9 || adjust_flag(cpu)) {
    carry = old_carry || al < 6;
    al = static_cast<uint8_t>(al - 6);
    adjust = true;
  }
  if (old_al > 0x99 || old_carry) {
    al = static_cast<uint8_t>(al - 0x60);
    carry = true;
  }
  cpu.set_reg(RAX, 1, al);
  set_bcd_flags(cpu.state, al, carry, adjust);
  return true;
}

// AAA and AAS: unpacked BCD, the digit in AL's low nibble, the carry into
// AH.
bool aaa(Cpu &cpu, const Instruction &) {
  uint16_t ax = static_cast<uint16_t>(cpu.reg(RAX, 2));
  const bool adjust = (ax & 0xf) > 9 || adjust_flag(cpu);
  if (adjust)
    ax = static_cast<uint16_t>(ax + 0x106);
  ax &= 0xff0f;
  cpu.set_reg(RAX, 2, ax);
  set_bcd_flags(cpu.state, static_cast<uint8_t>(ax), adjust, adjust);
  return true;
}

bool aas(Cpu &cpu, const Instruction &) {
  uint16_t ax = static_cast<uint16_t>(cpu.reg(RAX, 2));
  const bool adjust = (ax & 0xf) > 9 || adjust_flag(cpu);
  if (adjust)
    ax = static_cast<uint16_t>(ax - 6 - 0x100);
  ax &= 0xff0f;
  cpu.set_reg(RAX, 2, ax);
  set_bcd_flags(cpu.state, static_cast<uint8_t>(ax), adjust, adjust);
  return true;
}

bool aam(Cpu &cpu, const Instruction &insn) {
  const uint8_t base = static_cast<uint8_t>(insn.imm);
  if (base == 0)
    return cpu.fault(EXC_DE);
  const uint8_t al = static_cast<uint8_t>(cpu.reg(RAX, 1));
  const uint8_t digit = al % base;
  cpu.set_reg(RAX, 2, ((al / base) << 8) | digit);
  set_bcd_flags(cpu.state, digit, false, false);
  return true;
}

bool aad(Cpu &cpu, const Instruction &insn) {
  const uint8_t base = static_cast<uint8_t>(insn.imm);
  const uint16_t ax = static_cast<uint16_t>(cpu.reg(RAX, 2));
  const uint8_t al = static_cast<uint8_t>((ax & 0xff) + (ax >> 8) * base);
  cpu.set_reg(RAX, 2, al);
  set_bcd_flags(cpu.state, al, false, false);
  return true;
}

} // namespace

void register_bcd_ops(HandlerTable &table) {
  table.set(Op::DAA, threaded<daa>);
  table.set(Op::DAS, threaded<das>);
  table.set(Op::AAA, threaded<aaa>);
  table.set(Op::AAS, threaded<aas>);
  table.set(Op::AAM, threaded<aam>);
  table.set(Op::AAD, threaded<aad>);
}

} // namespace sable::cpu
