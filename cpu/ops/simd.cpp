// Op::SIMD: one dispatch table indexed by opcode map, opcode byte and
// mandatory prefix, filled by the family files; the architectural checks
// every form shares (CR0.EM/TS, CR4.OSFXSR, pending x87 exceptions, the
// MMX register aliasing) run here before the handler.

#include "cpu/ops/simd.h"

#include <atomic>

#include "cpu/cpu.h"
#include "cpu/ops/chain.h"
#include "machine/log.h"

namespace sable::cpu {

namespace simd {

namespace {

constexpr unsigned kMaps = 3;
constexpr uint16_t kFswTopMask = 7u << 11;
constexpr uint16_t kFswErrorSummary = 1u << 7;

struct Entry {
  Handler handler = nullptr;
  Checks checks = Checks::Operands;
};

unsigned prefix_index(uint8_t mandatory_prefix) {
  switch (mandatory_prefix) {
  case 0x66:
    return 1;
  case 0xf3:
    return 2;
  case 0xf2:
    return 3;
  default:
    return 0;
  }
}

class Table final : public Registry {
public:
  Table() {
    register_moves(*this);
    register_integer(*this);
    register_shuffles(*this);
    register_floats(*this);
    register_converts(*this);
    register_strings(*this);
    register_aes(*this);
    register_state(*this);
  }

  void add(MapIndex map, uint8_t opcode, uint8_t prefixes, Handler handler,
           Checks checks) override {
    for (unsigned p = 0; p < 4; p++)
      if (prefixes & (1u << p))
        entries[map][opcode][p] = {handler, checks};
  }

  Entry entries[kMaps][256][4];
};

const Table &table() {
  static const Table instance;
  return instance;
}

bool unimplemented(Cpu &cpu, const Instruction &insn, unsigned map) {
  static std::atomic<bool> logged[kMaps][256][4];
  const unsigned opcode = insn.opcode & 0xff;
  const unsigned prefix = prefix_index(insn.mandatory_prefix);
  if (log_enabled(LOG_UNIMP) && !logged[map][opcode][prefix].exchange(true))
    log_write("cpu: SIMD opcode %#x (prefix %#x) is not implemented, "
              "raising #UD\n",
              insn.opcode, insn.mandatory_prefix);
  return cpu.fault(EXC_UD);
}

// MMX instructions make TOP 0 and every register valid (SDM Vol. 1,
// 9.5.1). FpuState::st is in stack order, so clearing TOP rotates it.
void enter_mmx_mode(CpuState &s) {
  const unsigned top = (s.fpu.fsw & kFswTopMask) >> 11;
  if (top != 0) {
    uint8_t rotated[8][16];
    for (unsigned i = 0; i < 8; i++)
      std::memcpy(rotated[i], s.fpu.st[(i - top) & 7], 16);
    std::memcpy(s.fpu.st, rotated, sizeof(rotated));
    s.fpu.fsw &= static_cast<uint16_t>(~kFswTopMask);
  }
  s.fpu.ftw = 0xff;
}

bool mmx_checks(Cpu &cpu) {
  CpuState &s = cpu.state;
  if (s.cr0 & CR0_EM)
    return cpu.fault(EXC_UD);
  if (s.cr0 & CR0_TS)
    return cpu.fault(EXC_NM);
  if ((s.fpu.fsw & kFswErrorSummary) && (s.cr0 & CR0_NE))
    return cpu.fault(EXC_MF);
  return true;
}

bool sse_checks(Cpu &cpu) {
  const CpuState &s = cpu.state;
  if ((s.cr0 & CR0_EM) || !(s.cr4 & CR4_OSFXSR))
    return cpu.fault(EXC_UD);
  if (s.cr0 & CR0_TS)
    return cpu.fault(EXC_NM);
  return true;
}

bool operand_checks(Cpu &cpu, const Instruction &insn) {
  bool mmx = false, xmm = false;
  for (unsigned i = 0; i < insn.operand_count; i++) {
    mmx |= insn.operands[i].kind == OperandKind::Mmx;
    xmm |= insn.operands[i].kind == OperandKind::Xmm;
  }
  if (xmm && !sse_checks(cpu))
    return false;
  if (mmx) {
    if (!mmx_checks(cpu))
      return false;
    enter_mmx_mode(cpu.state);
  }
  if (!mmx && !xmm)
    return sse_checks(cpu);
  return true;
}

bool op_simd(Cpu &cpu, const Instruction &insn) {
  const unsigned high = insn.opcode >> 8;
  const unsigned map = high == 0x0f ? M0F : high == 0x0f38 ? M38 : M3A;
  const Entry &entry = table().entries[map][insn.opcode & 0xff]
                                      [prefix_index(insn.mandatory_prefix)];
  if (!entry.handler)
    return unimplemented(cpu, insn, map);
  switch (entry.checks) {
  case Checks::Operands:
    if (!operand_checks(cpu, insn))
      return false;
    break;
  case Checks::Mmx:
    if (!mmx_checks(cpu))
      return false;
    break;
  case Checks::Own:
    break;
  }
  return entry.handler(cpu, insn);
}

} // namespace

Vec get_xmm(const Cpu &cpu, unsigned reg) {
  Vec v;
  std::memcpy(v.b, cpu.state.fpu.xmm[reg & 15], 16);
  return v;
}

void set_xmm(Cpu &cpu, unsigned reg, const Vec &value) {
  std::memcpy(cpu.state.fpu.xmm[reg & 15], value.b, 16);
}

uint64_t get_mmx(const Cpu &cpu, unsigned reg) {
  uint64_t value;
  std::memcpy(&value, cpu.state.fpu.st[reg & 7], 8);
  return value;
}

// Writing an MMX register sets the exponent of the aliased x87 register
// to all ones (SDM Vol. 1, 9.5.1).
void set_mmx(Cpu &cpu, unsigned reg, uint64_t value) {
  uint8_t *slot = cpu.state.fpu.st[reg & 7];
  std::memcpy(slot, &value, 8);
  slot[8] = 0xff;
  slot[9] = 0xff;
}

unsigned vector_width(const Instruction &insn, unsigned index) {
  return insn.operands[index].kind == OperandKind::Mmx ? 8 : 16;
}

uint64_t memory_linear(const Cpu &cpu, const Instruction &insn) {
  const uint64_t offset = cpu.effective_address(insn);
  const bool flat = cpu.state.code_size() == CodeSize::Bits64 &&
                    insn.seg != FS && insn.seg != GS;
  return flat ? offset : cpu.state.seg[insn.seg].base + offset;
}

bool read_vec(Cpu &cpu, const Instruction &insn, unsigned index,
              unsigned mem_size, bool aligned, Vec &out) {
  const Operand &op = insn.operands[index];
  out = Vec{};
  switch (op.kind) {
  case OperandKind::Xmm:
    out = get_xmm(cpu, op.reg);
    return true;
  case OperandKind::Mmx:
    out.set<uint64_t>(0, get_mmx(cpu, op.reg));
    return true;
  case OperandKind::Reg:
    out.set<uint64_t>(0, cpu.reg(op.reg, op.size));
    return true;
  case OperandKind::Mem:
    if (aligned && (memory_linear(cpu, insn) & 15))
      return cpu.fault(EXC_GP, 0);
    return cpu.read(insn.seg, cpu.effective_address(insn), out.b, mem_size);
  default:
    return cpu.fault(EXC_UD);
  }
}

bool write_vec(Cpu &cpu, const Instruction &insn, unsigned index,
               unsigned mem_size, bool aligned, const Vec &value) {
  const Operand &op = insn.operands[index];
  switch (op.kind) {
  case OperandKind::Xmm:
    set_xmm(cpu, op.reg, value);
    return true;
  case OperandKind::Mmx:
    set_mmx(cpu, op.reg, value.get<uint64_t>(0));
    return true;
  case OperandKind::Reg:
    cpu.set_reg(op.reg, op.size, value.get<uint64_t>(0));
    return true;
  case OperandKind::Mem:
    if (aligned && (memory_linear(cpu, insn) & 15))
      return cpu.fault(EXC_GP, 0);
    return cpu.write(insn.seg, cpu.effective_address(insn), value.b, mem_size);
  default:
    return cpu.fault(EXC_UD);
  }
}

uint32_t host_mxcsr(const Cpu &cpu) {
  return (cpu.state.fpu.mxcsr & (MXCSR_RC | MXCSR_DAZ | MXCSR_FTZ)) |
         MXCSR_MASKS;
}

// When an unmasked exception is detected before computing (invalid,
// denormal operand, divide by zero) the results' overflow, underflow and
// precision conditions never arise, so only the pre-computation flags are
// recorded (SDM Vol. 1, 11.5.2).
uint32_t reported_flags(uint32_t raised, uint32_t mxcsr) {
  raised &= kMxcsrFlags;
  const uint32_t unmasked = raised & ~(mxcsr >> 7) & kMxcsrFlags;
  constexpr uint32_t kPreComputation = MXCSR_IE | MXCSR_DE | MXCSR_ZE;
  return unmasked & kPreComputation ? raised & kPreComputation : raised;
}

bool commit_reported_mxcsr(Cpu &cpu, uint32_t reported) {
  uint32_t &mxcsr = cpu.state.fpu.mxcsr;
  const uint32_t unmasked = reported & ~(mxcsr >> 7) & kMxcsrFlags;
  mxcsr |= reported & kMxcsrFlags;
  if (!unmasked)
    return true;
  return cpu.fault((cpu.state.cr4 & CR4_OSXMMEXCPT) ? EXC_XM : EXC_UD);
}

bool commit_mxcsr(Cpu &cpu, uint32_t raised) {
  return commit_reported_mxcsr(cpu,
                               reported_flags(raised, cpu.state.fpu.mxcsr));
}

} // namespace simd

void register_simd_ops(HandlerTable &table) {
  table.set(Op::SIMD, threaded<simd::op_simd>);
}

} // namespace sable::cpu
