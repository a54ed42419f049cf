// Registers, flags, operands and the stack of the software vCPU.

#include "cpu/cpu.h"
#include "machine/irq.h"

#include "cpu/block_cache.h"
#include "cpu/cpuid.h"
#include "cpu/flags.h"
#include "cpu/msr.h"
#include "machine/log.h"
#include "machine/memory.h"

namespace sable::cpu {

namespace {

constexpr uint64_t kDefinedFlags = CF | PF | AF | ZF | SF | TF | IF | DF | OF |
                                   IOPL | NT | RF | VM | AC | VIF | VIP | ID;
constexpr uint64_t kFixedFlags = 0x2;

// Power-on segment caches (SDM vol. 3, table 10-1).
constexpr uint16_t kResetCodeAttributes = 0x9b; // present code, read, accessed
constexpr uint16_t kResetDataAttributes = 0x93; // present data, write, accessed
constexpr uint16_t kResetLdtAttributes = 0x82;  // present LDT
constexpr uint16_t kResetTaskAttributes = 0x8b; // present busy 32-bit TSS
constexpr uint64_t kApicBaseDefault = 0xfee00000;
constexpr uint64_t kApicEnable = 1u << 11;
constexpr uint64_t kApicBootstrap = 1u << 8;

// The debug register a MOV to or from DRn reaches: DR4 and DR5 alias DR6
// and DR7 unless CR4.DE is set. -1 where the access is #UD.
int debug_register(unsigned n, uint64_t cr4) {
  if (n == 4 || n == 5) {
    if (cr4 & CR4_DE)
      return -1;
    n += 2;
  }
  return n < 8 ? int(n) : -1;
}

} // namespace

Cpu::Cpu(const CpuEnvironment &environment)
    : env(environment), blocks_(std::make_unique<BlockCache>(env.memory)) {
  if (env.memory)
    code_write_handler_ = env.memory->add_code_write_handler(
        [this](uint64_t gpa) { invalidate_code(gpa); });
  reset();
}

Cpu::~Cpu() {
  if (env.memory)
    env.memory->remove_code_write_handler(code_write_handler_);
}

void Cpu::reset() {
  const uint64_t a20_mask = state.a20_mask;
  state = CpuState{};
  state.a20_mask = a20_mask;
  state.seg[CS] = {0xf000, 0xffff0000, 0xffff, kResetCodeAttributes};
  for (unsigned seg : {ES, SS, DS, FS, GS})
    state.seg[seg] = {0, 0, 0xffff, kResetDataAttributes};
  state.ldtr = {0, 0, 0xffff, kResetLdtAttributes};
  state.tr = {0, 0, 0xffff, kResetTaskAttributes};
  state.gpr[RDX] = cpuid_signature();
  state.msr.apic_base =
      kApicBaseDefault | kApicEnable | (env.index == 0 ? kApicBootstrap : 0);
  set_guest_tsc(state, 0);
  pending = {};
  watch_triggered = false;
  next_rip = state.rip;
  tlb.pdptes_loaded = false;
  flush_tlb(true);
}

uint64_t Cpu::rflags() {
  if (state.lazy.op != LAZY_NONE) {
    state.rflags = (state.rflags & ~kArithFlags) | lazy_arith_flags(state.lazy);
    state.lazy.op = LAZY_NONE;
  }
  return state.rflags;
}

void Cpu::set_rflags(uint64_t v) {
  state.rflags = (v & kDefinedFlags) | kFixedFlags;
  state.lazy.op = LAZY_NONE;
}

bool Cpu::prepare_fast_segment(unsigned seg) {
  const CpuState &s = state;
  if (!fast_.enabled || debug || (s.rflags & AC))
    return false;
  const bool bits64 = s.code_size() == CodeSize::Bits64;
  if (!fast_.ready) {
    const Privilege privilege =
        s.cpl() == 3 ? Privilege::User : Privilege::Supervisor;
    fast_.read_permission =
        tlb_direct_permission(static_cast<unsigned>(Access::Read), privilege);
    fast_.write_permission =
        tlb_direct_permission(static_cast<unsigned>(Access::Write), privilege);
    fast_.address_mask = bits64 ? ~uint64_t{0} : 0xffffffffull;
    fast_.flat = bits64;
  }
  FastSegment &fast = fast_.segments[seg];
  const Segment &segment = s.seg[seg];
  if (bits64) {
    fast.base = seg >= FS ? segment.base : 0;
    fast.read_end = fast.write_end = ~uint64_t{0};
  } else {
    // The accesses plain_segment() refuses take the full path, which
    // raises the fault.
    const uint64_t end = uint64_t{segment.limit} + 1;
    const bool checked = s.protected_mode() && !s.v86();
    fast.base = segment.base;
    fast.read_end = !checked || plain_segment(segment, Access::Read) ? end : 0;
    fast.write_end =
        !checked || plain_segment(segment, Access::Write) ? end : 0;
  }
  fast_.ready |= 1u << seg;
  return true;
}

bool Cpu::flag(uint64_t mask) {
  if (!(mask & kArithFlags))
    return state.rflags & mask;
  return rflags() & mask;
}

bool Cpu::read_other_operand(const Instruction &insn, unsigned index,
                             uint64_t &value) {
  const Operand &op = insn.operands[index];
  switch (op.kind) {
  case OperandKind::RegHigh8:
    value = (state.gpr[op.reg] >> 8) & 0xff;
    return true;
  case OperandKind::Seg:
    value = state.seg[op.reg].selector;
    return true;
  case OperandKind::Cr:
    switch (op.reg) {
    case 0:
      value = state.cr0;
      return true;
    case 2:
      value = state.cr2;
      return true;
    case 3:
      value = state.cr3;
      return true;
    case 4:
      value = state.cr4;
      return true;
    case 8:
      value = env.apic ? env.apic->cr8() : state.cr8;
      return true;
    default:
      return fault(EXC_UD);
    }
  case OperandKind::Dr: {
    const int n = debug_register(op.reg, state.cr4);
    if (n < 0)
      return fault(EXC_UD);
    value = state.dr[n];
    return true;
  }
  default:
    break;
  }
  SABLE_LOG_ONCE(LOG_UNIMP, "cpu: operand kind %u of %s not supported\n",
                 static_cast<unsigned>(op.kind), op_name(insn.op));
  return fault(EXC_UD);
}

bool Cpu::write_other_operand(const Instruction &insn, unsigned index,
                              uint64_t value) {
  const Operand &op = insn.operands[index];
  switch (op.kind) {
  case OperandKind::RegHigh8:
    state.gpr[op.reg] =
        (state.gpr[op.reg] & ~uint64_t{0xff00}) | ((value & 0xff) << 8);
    return true;
  case OperandKind::Seg:
    return load_segment(op.reg, static_cast<uint16_t>(value));
  case OperandKind::Cr:
    return write_cr(op.reg, value);
  case OperandKind::Dr: {
    const int n = debug_register(op.reg, state.cr4);
    if (n < 0)
      return fault(EXC_UD);
    if (n >= 6 && (value >> 32))
      return fault(EXC_GP, 0);
    // DR6 and DR7 read their reserved bits as fixed values.
    if (n == 6)
      value |= 0xffff0ff0;
    else if (n == 7)
      value = (value | 0x400) & ~uint64_t{0xd000};
    state.dr[n] = value;
    return true;
  }
  default:
    break;
  }
  SABLE_LOG_ONCE(LOG_UNIMP, "cpu: cannot write operand kind %u of %s\n",
                 static_cast<unsigned>(op.kind), op_name(insn.op));
  return fault(EXC_UD);
}

unsigned Cpu::stack_size() const {
  if (state.code_size() == CodeSize::Bits64)
    return 8;
  return state.seg[SS].big() ? 4 : 2;
}

namespace {
uint64_t with_stack_pointer(uint64_t rsp, uint64_t sp, unsigned width) {
  return (rsp & ~size_mask(width)) | (sp & size_mask(width));
}
} // namespace

bool Cpu::push(uint64_t value, unsigned size) {
  const unsigned width = stack_size();
  const uint64_t sp = (state.gpr[RSP] - size) & size_mask(width);
  if (!write_value(SS, sp, size, value))
    return false;
  // A 32-bit stack pointer write zeroes the upper half, as any 32-bit
  // register write.
  state.gpr[RSP] =
      width == 4 ? sp : with_stack_pointer(state.gpr[RSP], sp, width);
  return true;
}

bool Cpu::pop(uint64_t &value, unsigned size) {
  const unsigned width = stack_size();
  const uint64_t sp = state.gpr[RSP] & size_mask(width);
  if (!read_value(SS, sp, size, value))
    return false;
  const uint64_t next = (sp + size) & size_mask(width);
  state.gpr[RSP] =
      width == 4 ? next : with_stack_pointer(state.gpr[RSP], next, width);
  return true;
}

bool Cpu::fault(uint8_t vector) {
  pending = {true, vector, false, 0};
  return false;
}

bool Cpu::fault(uint8_t vector, uint32_t error_code) {
  pending = {true, vector, true, error_code};
  return false;
}

} // namespace sable::cpu
