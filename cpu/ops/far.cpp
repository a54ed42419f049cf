// Far control transfers: far JMP/CALL (direct, to code segments and through
// call gates), RETF, IRET, INT n/INT3/INT1/INTO, SYSCALL/SYSRET,
// SYSENTER/SYSEXIT and SWAPGS. Intel SDM vol. 2 (the instructions'
// pseudo-code) and vol. 3 chapter 5 (privilege checks) are the spec.
//
// Every handler reads and checks everything (stack contents, descriptors,
// new stacks) before it changes a register, so a fault leaves the vCPU as
// it was before the instruction. Only memory (pushes to a stack, accessed
// and busy bits) may already have been written, as on hardware.

#include "cpu/cpu.h"
#include "cpu/ops/chain.h"
#include "cpu/ops/far_transfer.h"
#include "cpu/ops/handlers.h"
#include "machine/log.h"

namespace sable::cpu {
namespace {

enum class FarKind : uint8_t { Jump, Call };

uint64_t operand_mask(unsigned size) {
  return size >= 8 ? ~uint64_t{0} : (uint64_t{1} << (size * 8)) - 1;
}

bool in_64bit_mode(const CpuState &s) {
  return s.code_size() == CodeSize::Bits64;
}

bool real_or_v86(const CpuState &s) {
  return !s.protected_mode() || s.v86();
}

unsigned iopl(uint64_t rflags) {
  return (rflags >> 12) & 3;
}

StackFrame current_stack(Cpu &cpu) {
  bool mode64 = in_64bit_mode(cpu.state);
  const Segment &ss = cpu.state.seg[SS];
  return StackFrame(cpu, ss, cpu.state.gpr[RSP], stack_width(ss, mode64),
                    mode64, 0, false);
}

// CS as a real-mode or virtual-8086 far transfer loads it: only the
// selector and base change in real mode; V86 segments are always 64 KiB,
// DPL 3 read/write.
Segment real_mode_code_segment(const CpuState &s, uint16_t selector) {
  Segment cs = s.seg[CS];
  cs.selector = selector;
  cs.base = uint64_t{selector} << 4;
  if (s.v86()) {
    cs.limit = 0xffff;
    cs.attributes = 0xf3;
  }
  return cs;
}

// The new rIP must lie within the target segment, or be canonical when
// the target is 64-bit code.
bool check_target_offset(Cpu &cpu, const Segment &cs, uint64_t rip) {
  bool target64 = cpu.state.long_mode_active() && cs.long_mode();
  if (target64 ? !is_canonical(rip) : rip > cs.limit)
    return cpu.fault(EXC_GP, 0);
  return true;
}

// A code segment descriptor may not be both 64-bit and 32-bit.
bool check_long_mode_code(Cpu &cpu, uint16_t selector, const Descriptor &d) {
  if (cpu.state.long_mode_active() && d.long_code() && d.big())
    return cpu.fault(EXC_GP, selector & 0xfffc);
  return true;
}

void commit_code(Cpu &cpu, const Segment &cs, uint64_t rip) {
  cpu.state.seg[CS] = cs;
  cpu.next_rip = rip;
}

bool real_mode_far_transfer(Cpu &cpu, const Instruction &insn,
                            uint16_t selector, uint64_t offset, FarKind kind) {
  Segment cs = real_mode_code_segment(cpu.state, selector);
  offset &= operand_mask(insn.opsize);
  if (offset > cs.limit)
    return cpu.fault(EXC_GP, 0);
  StackFrame stack = current_stack(cpu);
  if (kind == FarKind::Call &&
      (!stack.push(cpu.state.seg[CS].selector, insn.opsize) ||
       !stack.push(cpu.next_rip, insn.opsize)))
    return false;
  cpu.state.gpr[RSP] = stack.rsp();
  commit_code(cpu, cs, offset);
  return true;
}

bool to_code_segment(Cpu &cpu, const Instruction &insn, uint16_t selector,
                     Descriptor &d, uint64_t offset, FarKind kind) {
  unsigned cpl = cpu.state.cpl();
  uint16_t error = selector & 0xfffc;
  if (d.conforming() ? d.dpl() > cpl : ((selector & 3) > cpl || d.dpl() != cpl))
    return cpu.fault(EXC_GP, error);
  if (!d.present())
    return cpu.fault(EXC_NP, error);
  if (!check_long_mode_code(cpu, selector, d))
    return false;
  Segment cs = segment_from(error | cpl, d, false);
  if (!(cpu.state.long_mode_active() && d.long_code()))
    offset &= operand_mask(insn.opsize);
  if (!check_target_offset(cpu, cs, offset))
    return false;
  StackFrame stack = current_stack(cpu);
  if (kind == FarKind::Call &&
      (!stack.push(cpu.state.seg[CS].selector, insn.opsize) ||
       !stack.push(cpu.next_rip, insn.opsize)))
    return false;
  if (!mark_accessed(cpu, selector, d))
    return false;
  cpu.state.gpr[RSP] = stack.rsp();
  commit_code(cpu, cs, offset);
  return true;
}

// Loads the SS of a privilege change from a non-null selector;
// `selector_vector` as for check_new_stack_segment.
bool load_new_stack_segment(Cpu &cpu, uint16_t selector, unsigned cpl,
                            uint8_t selector_vector, Segment &ss) {
  Descriptor d;
  if (!read_descriptor(cpu, selector, false, d, selector_vector) ||
      !check_new_stack_segment(cpu, selector, cpl, d, selector_vector) ||
      !mark_accessed(cpu, selector, d))
    return false;
  ss = segment_from(selector, d, false);
  return true;
}

// The new stack of a CALL through a gate to an inner level: SS:rSP from the
// TSS, checked against the new CPL. In long mode SS becomes a null selector
// carrying the new CPL.
bool inner_stack(Cpu &cpu, unsigned new_cpl, Segment &ss, uint64_t &rsp) {
  uint16_t selector = 0;
  if (!tss_stack_pointer(cpu, new_cpl, selector, rsp))
    return false;
  if (cpu.state.long_mode_active()) {
    ss = null_stack_segment(static_cast<uint16_t>(new_cpl));
    return true;
  }
  if (is_null_selector(selector))
    return cpu.fault(EXC_TS, 0);
  return load_new_stack_segment(cpu, selector, new_cpl, EXC_TS, ss);
}

bool call_to_inner_level(Cpu &cpu, const Descriptor &gate, unsigned gate_size,
                         const Segment &cs, uint64_t rip) {
  CpuState &s = cpu.state;
  unsigned new_cpl = cs.selector & 3;
  Segment new_ss;
  uint64_t new_rsp = 0;
  if (!inner_stack(cpu, new_cpl, new_ss, new_rsp))
    return false;

  uint64_t parameters[32] = {};
  unsigned parameter_count =
      s.long_mode_active() ? 0 : gate.gate_parameter_count();
  StackFrame old_stack = current_stack(cpu);
  for (unsigned i = 0; i < parameter_count; ++i)
    if (!old_stack.pop(parameters[i], gate_size))
      return false;

  bool mode64 = s.long_mode_active();
  uint16_t stack_fault = mode64 ? 0 : new_ss.selector & 0xfffc;
  StackFrame stack(cpu, new_ss, new_rsp, stack_width(new_ss, mode64), mode64,
                   stack_fault, true);
  if (!stack.push(s.seg[SS].selector, gate_size) ||
      !stack.push(s.gpr[RSP], gate_size))
    return false;
  for (unsigned i = parameter_count; i-- > 0;)
    if (!stack.push(parameters[i], gate_size))
      return false;
  if (!stack.push(s.seg[CS].selector, gate_size) ||
      !stack.push(cpu.next_rip, gate_size))
    return false;

  s.seg[SS] = new_ss;
  s.gpr[RSP] = stack.rsp();
  commit_code(cpu, cs, rip);
  return true;
}

bool through_call_gate(Cpu &cpu, uint16_t gate_selector, Descriptor &gate,
                       FarKind kind) {
  CpuState &s = cpu.state;
  unsigned cpl = s.cpl();
  bool long_mode = s.long_mode_active();
  uint16_t gate_error = gate_selector & 0xfffc;
  if (long_mode) {
    if (!read_descriptor(cpu, gate_selector, true, gate, EXC_GP))
      return false;
    if ((gate.upper_reserved >> 8) & 0x1f)
      return cpu.fault(EXC_GP, gate_error);
  }
  if (gate.dpl() < cpl || (gate_selector & 3) > gate.dpl())
    return cpu.fault(EXC_GP, gate_error);
  if (!gate.present())
    return cpu.fault(EXC_NP, gate_error);

  uint16_t target = gate.gate_selector();
  uint16_t target_error = target & 0xfffc;
  if (is_null_selector(target))
    return cpu.fault(EXC_GP, 0);
  Descriptor code;
  if (!read_descriptor(cpu, target, false, code, EXC_GP))
    return false;
  if (!code.code())
    return cpu.fault(EXC_GP, target_error);
  bool privilege_ok = kind == FarKind::Call || code.conforming()
                          ? code.dpl() <= cpl
                          : code.dpl() == cpl;
  if (!privilege_ok)
    return cpu.fault(EXC_GP, target_error);
  if (!code.present())
    return cpu.fault(EXC_NP, target_error);
  if (long_mode && (!code.long_code() || code.big()))
    return cpu.fault(EXC_GP, target_error);

  unsigned gate_size = long_mode ? 8 : (gate.type() == SYS_CALL_GATE32 ? 4 : 2);
  uint64_t rip = gate.gate_offset(long_mode) & operand_mask(gate_size);
  bool inner = kind == FarKind::Call && !code.conforming() && code.dpl() < cpl;
  unsigned new_cpl = inner ? code.dpl() : cpl;
  Segment cs = segment_from(target_error | new_cpl, code, false);
  if (!check_target_offset(cpu, cs, rip) || !mark_accessed(cpu, target, code))
    return false;
  if (inner)
    return call_to_inner_level(cpu, gate, gate_size, cs, rip);

  StackFrame stack = current_stack(cpu);
  if (kind == FarKind::Call && (!stack.push(s.seg[CS].selector, gate_size) ||
                                !stack.push(cpu.next_rip, gate_size)))
    return false;
  s.gpr[RSP] = stack.rsp();
  commit_code(cpu, cs, rip);
  return true;
}

bool far_transfer(Cpu &cpu, const Instruction &insn, uint16_t selector,
                  uint64_t offset, FarKind kind) {
  if (real_or_v86(cpu.state))
    return real_mode_far_transfer(cpu, insn, selector, offset, kind);
  if (is_null_selector(selector))
    return cpu.fault(EXC_GP, 0);
  Descriptor d;
  if (!read_descriptor(cpu, selector, false, d, EXC_GP))
    return false;
  if (!d.system()) {
    if (!d.code())
      return cpu.fault(EXC_GP, selector & 0xfffc);
    return to_code_segment(cpu, insn, selector, d, offset, kind);
  }
  bool long_mode = cpu.state.long_mode_active();
  switch (d.type()) {
  case SYS_CALL_GATE32:
    return through_call_gate(cpu, selector, d, kind);
  case SYS_CALL_GATE16:
    if (!long_mode)
      return through_call_gate(cpu, selector, d, kind);
    break;
  case SYS_TASK_GATE:
  case SYS_TSS16_AVAILABLE:
  case SYS_TSS32_AVAILABLE:
    if (!long_mode)
      SABLE_LOG_ONCE(LOG_UNIMP, "cpu: far %s to a task is not implemented\n",
                     kind == FarKind::Call ? "CALL" : "JMP");
    break;
  default:
    break;
  }
  return cpu.fault(EXC_GP, selector & 0xfffc);
}

// m16:16, m16:32 or m16:64: the offset comes first.
bool read_far_pointer(Cpu &cpu, const Instruction &insn, uint16_t &selector,
                      uint64_t &offset) {
  if (insn.operands[0].kind != OperandKind::Mem)
    return cpu.fault(EXC_UD);
  uint64_t address = cpu.effective_address(insn);
  uint64_t selector_address =
      (address + insn.opsize) & operand_mask(insn.addrsize);
  uint64_t value = 0;
  if (!cpu.read_value(insn.seg, address, insn.opsize, offset) ||
      !cpu.read_value(insn.seg, selector_address, 2, value))
    return false;
  selector = static_cast<uint16_t>(value);
  return true;
}

bool op_jmp_far(Cpu &cpu, const Instruction &insn) {
  return far_transfer(cpu, insn, static_cast<uint16_t>(insn.imm2), insn.imm,
                      FarKind::Jump);
}

bool op_call_far(Cpu &cpu, const Instruction &insn) {
  return far_transfer(cpu, insn, static_cast<uint16_t>(insn.imm2), insn.imm,
                      FarKind::Call);
}

bool op_jmp_far_indirect(Cpu &cpu, const Instruction &insn) {
  uint16_t selector = 0;
  uint64_t offset = 0;
  return read_far_pointer(cpu, insn, selector, offset) &&
         far_transfer(cpu, insn, selector, offset, FarKind::Jump);
}

bool op_call_far_indirect(Cpu &cpu, const Instruction &insn) {
  uint16_t selector = 0;
  uint64_t offset = 0;
  return read_far_pointer(cpu, insn, selector, offset) &&
         far_transfer(cpu, insn, selector, offset, FarKind::Call);
}

// The checks RETF and IRET apply to the code segment they return to.
bool check_return_code_segment(Cpu &cpu, uint16_t selector, Descriptor &d) {
  if (is_null_selector(selector))
    return cpu.fault(EXC_GP, 0);
  uint16_t error = selector & 0xfffc;
  if (!read_descriptor(cpu, selector, false, d, EXC_GP))
    return false;
  unsigned rpl = selector & 3;
  if (!d.code() || rpl < cpu.state.cpl())
    return cpu.fault(EXC_GP, error);
  if (d.conforming() ? d.dpl() > rpl : d.dpl() != rpl)
    return cpu.fault(EXC_GP, error);
  if (!d.present())
    return cpu.fault(EXC_NP, error);
  return check_long_mode_code(cpu, selector, d) &&
         mark_accessed(cpu, selector, d);
}

// SS popped by a return that switches stacks. A null SS is allowed only
// when returning to 64-bit code at a level other than 3.
bool popped_stack_segment(Cpu &cpu, uint16_t selector, unsigned rpl,
                          bool target64, Segment &ss) {
  if (is_null_selector(selector)) {
    if (!target64 || rpl == 3)
      return cpu.fault(EXC_GP, 0);
    ss = null_stack_segment(selector);
    return true;
  }
  return load_new_stack_segment(cpu, selector, rpl, EXC_GP, ss);
}

// rSP popped by a return that switches stacks. Outside 64-bit mode a
// 16-bit stack segment takes only SP; the upper half of ESP stays.
uint64_t outer_stack_pointer(const CpuState &s, const Segment &ss,
                             uint64_t popped) {
  if (in_64bit_mode(s))
    return popped;
  return merge_stack_pointer(s.gpr[RSP], popped, stack_width(ss, false));
}

bool op_retf(Cpu &cpu, const Instruction &insn) {
  CpuState &s = cpu.state;
  unsigned size = insn.opsize;
  StackFrame stack = current_stack(cpu);
  uint64_t rip = 0, cs_value = 0;
  if (!stack.pop(rip, size) || !stack.pop(cs_value, size))
    return false;
  uint16_t selector = static_cast<uint16_t>(cs_value);

  if (real_or_v86(s)) {
    Segment cs = real_mode_code_segment(s, selector);
    if (rip > cs.limit)
      return cpu.fault(EXC_GP, 0);
    stack.release(insn.imm);
    s.gpr[RSP] = stack.rsp();
    commit_code(cpu, cs, rip);
    return true;
  }

  Descriptor d;
  if (!check_return_code_segment(cpu, selector, d))
    return false;
  unsigned rpl = selector & 3;
  bool target64 = s.long_mode_active() && d.long_code();
  Segment cs = segment_from(selector, d, false);
  if (!check_target_offset(cpu, cs, rip))
    return false;
  stack.release(insn.imm);

  if (rpl == s.cpl()) {
    s.gpr[RSP] = stack.rsp();
    commit_code(cpu, cs, rip);
    return true;
  }

  uint64_t new_rsp = 0, ss_value = 0;
  if (!stack.pop(new_rsp, size) || !stack.pop(ss_value, size))
    return false;
  Segment ss;
  if (!popped_stack_segment(cpu, static_cast<uint16_t>(ss_value), rpl, target64,
                            ss))
    return false;
  s.gpr[RSP] = outer_stack_pointer(s, ss, new_rsp + insn.imm);
  s.seg[SS] = ss;
  commit_code(cpu, cs, rip);
  null_privileged_data_segments(s);
  return true;
}

// Flags an IRET in protected mode may change: IF only when CPL <= IOPL,
// IOPL, VIF and VIP only at CPL 0; VM is never set here.
uint64_t protected_iret_flags(Cpu &cpu, uint64_t popped, unsigned size,
                              unsigned cpl) {
  uint64_t current = cpu.rflags();
  uint64_t changeable = CF | PF | AF | ZF | SF | TF | DF | OF | NT;
  if (size >= 4)
    changeable |= RF | AC | ID;
  if (cpl <= iopl(current))
    changeable |= IF;
  if (cpl == 0) {
    changeable |= IOPL;
    if (size >= 4)
      changeable |= VIF | VIP;
  }
  return (current & ~changeable) | (popped & changeable) | 2;
}

constexpr uint64_t kReal16FlagsMask = 0x7fd5;
constexpr uint64_t kReal32FlagsMask = 0x257fd5;

bool real_mode_iret(Cpu &cpu, const Instruction &insn) {
  CpuState &s = cpu.state;
  unsigned size = insn.opsize;
  if (s.v86() && iopl(cpu.rflags()) < 3) {
    if (s.cr4 & CR4_VME)
      SABLE_LOG_ONCE(LOG_UNIMP, "cpu: IRET with CR4.VME is not implemented\n");
    return cpu.fault(EXC_GP, 0);
  }
  StackFrame stack = current_stack(cpu);
  uint64_t rip = 0, cs_value = 0, flags = 0;
  if (!stack.pop(rip, size) || !stack.pop(cs_value, size) ||
      !stack.pop(flags, size))
    return false;
  Segment cs = real_mode_code_segment(s, static_cast<uint16_t>(cs_value));
  if (rip > cs.limit)
    return cpu.fault(EXC_GP, 0);

  uint64_t changeable = size == 2 ? kReal16FlagsMask : kReal32FlagsMask;
  if (s.v86())
    changeable &= ~(IOPL | VM | VIF | VIP);
  uint64_t current = cpu.rflags();
  cpu.set_rflags((current & ~changeable) | (flags & changeable) | 2);
  s.gpr[RSP] = stack.rsp();
  commit_code(cpu, cs, rip);
  s.nmi_blocked = false;
  return true;
}

bool op_iret(Cpu &cpu, const Instruction &insn) {
  CpuState &s = cpu.state;
  if (real_or_v86(s))
    return real_mode_iret(cpu, insn);
  if (cpu.flag(NT)) {
    if (!s.long_mode_active())
      SABLE_LOG_ONCE(LOG_UNIMP,
                     "cpu: IRET task return (NT=1) is not implemented\n");
    return cpu.fault(EXC_GP, 0);
  }

  unsigned size = insn.opsize;
  unsigned cpl = s.cpl();
  StackFrame stack = current_stack(cpu);
  uint64_t rip = 0, cs_value = 0, flags = 0;
  if (!stack.pop(rip, size) || !stack.pop(cs_value, size) ||
      !stack.pop(flags, size))
    return false;
  uint16_t selector = static_cast<uint16_t>(cs_value);
  if (!s.long_mode_active() && (flags & VM) && cpl == 0) {
    SABLE_LOG_ONCE(LOG_UNIMP,
                   "cpu: IRET to virtual-8086 mode is not implemented\n");
    return cpu.fault(EXC_GP, 0);
  }

  Descriptor d;
  if (!check_return_code_segment(cpu, selector, d))
    return false;
  unsigned rpl = selector & 3;
  bool target64 = s.long_mode_active() && d.long_code();
  Segment cs = segment_from(selector, d, false);
  bool switch_stack = rpl != cpl || in_64bit_mode(s);
  Segment ss = s.seg[SS];
  uint64_t new_rsp = stack.rsp();
  if (switch_stack) {
    uint64_t rsp_value = 0, ss_value = 0;
    if (!stack.pop(rsp_value, size) || !stack.pop(ss_value, size) ||
        !popped_stack_segment(cpu, static_cast<uint16_t>(ss_value), rpl,
                              target64, ss))
      return false;
    new_rsp = outer_stack_pointer(s, ss, rsp_value);
  }
  if (!check_target_offset(cpu, cs, rip))
    return false;

  cpu.set_rflags(protected_iret_flags(cpu, flags, size, cpl));
  s.seg[SS] = ss;
  s.gpr[RSP] = new_rsp;
  commit_code(cpu, cs, rip);
  if (rpl > cpl)
    null_privileged_data_segments(s);
  s.nmi_blocked = false;
  return true;
}

bool op_int(Cpu &cpu, const Instruction &insn) {
  if (cpu.state.v86() && iopl(cpu.rflags()) < 3) {
    if (cpu.state.cr4 & CR4_VME)
      SABLE_LOG_ONCE(LOG_UNIMP, "cpu: INT n redirection with CR4.VME is not "
                                "implemented\n");
    return cpu.fault(EXC_GP, 0);
  }
  return cpu.software_interrupt(static_cast<uint8_t>(insn.imm));
}

bool op_int3(Cpu &cpu, const Instruction &) {
  return cpu.software_interrupt(EXC_BP);
}

// INT1 (ICEBP) raises #DB as a trap: like a hardware exception it ignores
// the gate's DPL, but it returns past the instruction. The instruction is
// complete once RIP moves on, so the fault is delivered from there.
bool op_int1(Cpu &cpu, const Instruction &) {
  cpu.state.rip = cpu.next_rip;
  return cpu.fault(EXC_DB);
}

bool op_into(Cpu &cpu, const Instruction &) {
  if (!cpu.flag(OF))
    return true;
  return cpu.software_interrupt(EXC_OF);
}

// SYSCALL/SYSRET as Intel defines them: 64-bit mode only (the decoder
// already rejects them elsewhere), so CSTAR and STAR[31:0] are unused.
bool fast_system_call_usable(const CpuState &s) {
  return (s.efer & EFER_SCE) && in_64bit_mode(s);
}

bool op_syscall(Cpu &cpu, const Instruction &) {
  CpuState &s = cpu.state;
  if (!fast_system_call_usable(s))
    return cpu.fault(EXC_UD);
  uint16_t selector = static_cast<uint16_t>(s.msr.star >> 32);
  uint64_t flags = cpu.rflags();
  s.gpr[RCX] = cpu.next_rip;
  s.gpr[R11] = flags & ~uint64_t{RF};
  cpu.set_rflags(flags & ~(s.msr.sfmask | RF));
  s.seg[CS] = flat_code_segment(selector & 0xfffc, 0, true);
  s.seg[SS] = flat_stack_segment(static_cast<uint16_t>(selector + 8), 0);
  cpu.next_rip = s.msr.lstar;
  return true;
}

bool op_sysret(Cpu &cpu, const Instruction &insn) {
  CpuState &s = cpu.state;
  if (!fast_system_call_usable(s))
    return cpu.fault(EXC_UD);
  if (s.cpl() != 0)
    return cpu.fault(EXC_GP, 0);
  bool to64 = insn.opsize == 8;
  if (to64 && !is_canonical(s.gpr[RCX]))
    return cpu.fault(EXC_GP, 0);
  uint16_t base = static_cast<uint16_t>(s.msr.star >> 48);
  uint16_t cs_selector = static_cast<uint16_t>((to64 ? base + 16 : base) | 3);
  uint16_t ss_selector = static_cast<uint16_t>((base + 8) | 3);
  constexpr uint64_t kSysretFlagsMask = 0x3c7fd7;
  cpu.set_rflags(s.gpr[R11] & kSysretFlagsMask);
  s.seg[CS] = flat_code_segment(cs_selector, 3, to64);
  s.seg[SS] = flat_stack_segment(ss_selector, 3);
  cpu.next_rip = to64 ? s.gpr[RCX] : s.gpr[RCX] & 0xffffffff;
  return true;
}

bool op_sysenter(Cpu &cpu, const Instruction &) {
  CpuState &s = cpu.state;
  uint16_t selector = static_cast<uint16_t>(s.msr.sysenter_cs) & 0xfffc;
  if (!s.protected_mode() || selector == 0)
    return cpu.fault(EXC_GP, 0);
  bool long_mode = s.long_mode_active();
  cpu.set_rflags(cpu.rflags() & ~uint64_t{VM | IF | RF});
  s.seg[CS] = flat_code_segment(selector, 0, long_mode);
  s.seg[SS] = flat_stack_segment(selector + 8, 0);
  uint64_t mask = long_mode ? ~uint64_t{0} : 0xffffffff;
  s.gpr[RSP] = s.msr.sysenter_esp & mask;
  cpu.next_rip = s.msr.sysenter_eip & mask;
  return true;
}

bool op_sysexit(Cpu &cpu, const Instruction &insn) {
  CpuState &s = cpu.state;
  uint16_t base = static_cast<uint16_t>(s.msr.sysenter_cs);
  if (!s.protected_mode() || (base & 0xfffc) == 0 || s.cpl() != 0)
    return cpu.fault(EXC_GP, 0);
  bool to64 = insn.opsize == 8;
  if (to64 && (!is_canonical(s.gpr[RDX]) || !is_canonical(s.gpr[RCX])))
    return cpu.fault(EXC_GP, 0);
  uint16_t cs_selector = static_cast<uint16_t>((base + (to64 ? 32 : 16)) | 3);
  uint16_t ss_selector = static_cast<uint16_t>((base + (to64 ? 40 : 24)) | 3);
  uint64_t mask = to64 ? ~uint64_t{0} : 0xffffffff;
  s.seg[CS] = flat_code_segment(cs_selector, 3, to64);
  s.seg[SS] = flat_stack_segment(ss_selector, 3);
  s.gpr[RSP] = s.gpr[RCX] & mask;
  cpu.next_rip = s.gpr[RDX] & mask;
  return true;
}

bool op_swapgs(Cpu &cpu, const Instruction &) {
  CpuState &s = cpu.state;
  if (!in_64bit_mode(s))
    return cpu.fault(EXC_UD);
  if (s.cpl() != 0)
    return cpu.fault(EXC_GP, 0);
  std::swap(s.seg[GS].base, s.msr.kernel_gs_base);
  return true;
}

} // namespace

void register_far_ops(HandlerTable &table) {
  table.set(Op::JMP_FAR, threaded<op_jmp_far>);
  table.set(Op::JMP_FAR_INDIRECT, threaded<op_jmp_far_indirect>);
  table.set(Op::CALL_FAR, threaded<op_call_far>);
  table.set(Op::CALL_FAR_INDIRECT, threaded<op_call_far_indirect>);
  table.set(Op::RETF, threaded<op_retf>);
  table.set(Op::IRET, threaded<op_iret>);
  table.set(Op::INT, threaded<op_int>);
  table.set(Op::INT3, threaded<op_int3>);
  table.set(Op::INT1, threaded<op_int1>);
  table.set(Op::INTO, threaded<op_into>);
  table.set(Op::SYSCALL, threaded<op_syscall>);
  table.set(Op::SYSRET, threaded<op_sysret>);
  table.set(Op::SYSENTER, threaded<op_sysenter>);
  table.set(Op::SYSEXIT, threaded<op_sysexit>);
  table.set(Op::SWAPGS, threaded<op_swapgs>);
}

} // namespace sable::cpu
