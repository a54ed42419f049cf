// System instructions: descriptor-table registers, LDTR/TR, the machine
// status word, segment probes (LAR/LSL/VERR/VERW/ARPL), control and debug
// registers, MSRs, CPUID, time-stamp and performance counters, HLT, cache
// and TLB maintenance, FS/GS base access, RDRAND/RDSEED, XCR0, BOUND and
// the instructions this CPU does not offer (#UD). Intel SDM vol. 2 and 3
// are the spec.

#include <atomic>
#include <sys/random.h>

#include "cpu/cpu.h"
#include "cpu/cpuid.h"
#include "cpu/msr.h"
#include "cpu/ops/chain.h"
#include "cpu/ops/far_transfer.h"
#include "cpu/ops/handlers.h"

namespace sable::cpu {
namespace {

uint64_t address_mask(unsigned size) {
  return size >= 8 ? ~uint64_t{0} : (uint64_t{1} << (size * 8)) - 1;
}

bool in_64bit_mode(const CpuState &s) {
  return s.code_size() == CodeSize::Bits64;
}

bool require_cpl0(Cpu &cpu) {
  return cpu.state.cpl() == 0 || cpu.fault(EXC_GP, 0);
}

// Instructions that exist only in protected mode outside V86.
bool require_protected_mode(Cpu &cpu) {
  const CpuState &s = cpu.state;
  return (s.protected_mode() && !s.v86()) || cpu.fault(EXC_UD);
}

bool require_memory_operand(Cpu &cpu, const Instruction &insn, unsigned index) {
  return insn.operands[index].kind == OperandKind::Mem || cpu.fault(EXC_UD);
}

// UMIP hides the descriptor-table and machine-status registers from
// CPL > 0.
bool umip_allows(Cpu &cpu) {
  const CpuState &s = cpu.state;
  return !(s.cr4 & CR4_UMIP) || s.cpl() == 0 || cpu.fault(EXC_GP, 0);
}

void set_zf(Cpu &cpu, bool value) {
  cpu.set_rflags((cpu.rflags() & ~uint64_t{ZF}) | (value ? uint64_t{ZF} : 0));
}

enum CpuidReg : unsigned { EAX_REG, EBX_REG, ECX_REG, EDX_REG };

CpuidResult cpuid_leaf(const Cpu &cpu, uint32_t leaf, uint32_t subleaf) {
  return cpuid(cpu.state, cpu.env.index, leaf, subleaf, cpu.env.vcpu_count);
}

bool cpuid_bit(const Cpu &cpu, uint32_t leaf, CpuidReg reg, unsigned bit) {
  CpuidResult r = cpuid_leaf(cpu, leaf, 0);
  uint32_t regs[4] = {r.eax, r.ebx, r.ecx, r.edx};
  return (regs[reg] >> bit) & 1;
}

uint64_t edx_eax(const Cpu &cpu) {
  return (cpu.reg(RDX, 4) << 32) | cpu.reg(RAX, 4);
}

void set_edx_eax(Cpu &cpu, uint64_t value) {
  cpu.set_reg(RAX, 4, value & 0xffffffff);
  cpu.set_reg(RDX, 4, value >> 32);
}

// ---- descriptor-table registers

bool load_table_register(Cpu &cpu, const Instruction &insn,
                         TableRegister &target) {
  if (!require_memory_operand(cpu, insn, 0) || !require_cpl0(cpu))
    return false;
  bool mode64 = in_64bit_mode(cpu.state);
  uint64_t address = cpu.effective_address(insn);
  uint64_t base_address = (address + 2) & address_mask(insn.addrsize);
  uint64_t limit = 0, base = 0;
  if (!cpu.read_value(insn.seg, address, 2, limit) ||
      !cpu.read_value(insn.seg, base_address, mode64 ? 8 : 4, base))
    return false;
  if (!mode64 && insn.opsize == 2)
    base &= 0xffffff;
  target.limit = static_cast<uint16_t>(limit);
  target.base = base;
  return true;
}

bool store_table_register(Cpu &cpu, const Instruction &insn,
                          const TableRegister &source) {
  if (!require_memory_operand(cpu, insn, 0) || !umip_allows(cpu))
    return false;
  bool mode64 = in_64bit_mode(cpu.state);
  uint64_t address = cpu.effective_address(insn);
  uint64_t base_address = (address + 2) & address_mask(insn.addrsize);
  return cpu.write_value(insn.seg, address, 2, source.limit) &&
         cpu.write_value(insn.seg, base_address, mode64 ? 8 : 4,
                         mode64 ? source.base : source.base & 0xffffffff);
}

bool op_lgdt(Cpu &cpu, const Instruction &insn) {
  return load_table_register(cpu, insn, cpu.state.gdtr);
}
bool op_lidt(Cpu &cpu, const Instruction &insn) {
  return load_table_register(cpu, insn, cpu.state.idtr);
}
bool op_sgdt(Cpu &cpu, const Instruction &insn) {
  return store_table_register(cpu, insn, cpu.state.gdtr);
}
bool op_sidt(Cpu &cpu, const Instruction &insn) {
  return store_table_register(cpu, insn, cpu.state.idtr);
}

// ---- LDTR and TR

bool read_selector_operand(Cpu &cpu, const Instruction &insn, unsigned index,
                           uint16_t &selector) {
  uint64_t value = 0;
  if (!cpu.read_operand(insn, index, value))
    return false;
  selector = static_cast<uint16_t>(value);
  return true;
}

// The LDT and TSS descriptors LLDT and LTR load: in the GDT, 16 bytes in
// long mode with a canonical base.
bool read_system_descriptor(Cpu &cpu, uint16_t selector, Descriptor &d) {
  uint16_t error = selector & 0xfffc;
  if (selector & 4)
    return cpu.fault(EXC_GP, error);
  bool wide = cpu.state.long_mode_active();
  if (!read_descriptor(cpu, selector, wide, d, EXC_GP))
    return false;
  if (wide && (((d.upper_reserved >> 8) & 0x1f) || !is_canonical(d.base(true))))
    return cpu.fault(EXC_GP, error);
  return true;
}

bool op_lldt(Cpu &cpu, const Instruction &insn) {
  uint16_t selector = 0;
  if (!require_protected_mode(cpu) || !require_cpl0(cpu) ||
      !read_selector_operand(cpu, insn, 0, selector))
    return false;
  if (is_null_selector(selector)) {
    cpu.state.ldtr = Segment{selector, 0, 0, 0};
    return true;
  }
  Descriptor d;
  if (!read_system_descriptor(cpu, selector, d))
    return false;
  if (!d.system() || d.type() != SYS_LDT)
    return cpu.fault(EXC_GP, selector & 0xfffc);
  if (!d.present())
    return cpu.fault(EXC_NP, selector & 0xfffc);
  cpu.state.ldtr = segment_from(selector, d, cpu.state.long_mode_active());
  return true;
}

bool op_ltr(Cpu &cpu, const Instruction &insn) {
  uint16_t selector = 0;
  if (!require_protected_mode(cpu) || !require_cpl0(cpu) ||
      !read_selector_operand(cpu, insn, 0, selector))
    return false;
  if (is_null_selector(selector))
    return cpu.fault(EXC_GP, 0);
  Descriptor d;
  if (!read_system_descriptor(cpu, selector, d))
    return false;
  bool long_mode = cpu.state.long_mode_active();
  bool available_tss =
      d.system() && (d.type() == SYS_TSS32_AVAILABLE ||
                     (!long_mode && d.type() == SYS_TSS16_AVAILABLE));
  if (!available_tss)
    return cpu.fault(EXC_GP, selector & 0xfffc);
  if (!d.present())
    return cpu.fault(EXC_NP, selector & 0xfffc);
  if (!mark_tss_busy(cpu, selector, d))
    return false;
  cpu.state.tr = segment_from(selector, d, long_mode);
  return true;
}

bool op_sldt(Cpu &cpu, const Instruction &insn) {
  return require_protected_mode(cpu) && umip_allows(cpu) &&
         cpu.write_operand(insn, 0, cpu.state.ldtr.selector);
}

bool op_str(Cpu &cpu, const Instruction &insn) {
  return require_protected_mode(cpu) && umip_allows(cpu) &&
         cpu.write_operand(insn, 0, cpu.state.tr.selector);
}

// ---- machine status word

bool op_lmsw(Cpu &cpu, const Instruction &insn) {
  uint64_t source = 0;
  if (!require_cpl0(cpu) || !cpu.read_operand(insn, 0, source))
    return false;
  constexpr uint64_t kMswBits = CR0_PE | CR0_MP | CR0_EM | CR0_TS;
  uint64_t cr0 = cpu.state.cr0;
  uint64_t value = (cr0 & ~kMswBits) | (source & kMswBits) | (cr0 & CR0_PE);
  return cpu.write_cr(0, value);
}

bool op_smsw(Cpu &cpu, const Instruction &insn) {
  return umip_allows(cpu) && cpu.write_operand(insn, 0, cpu.state.cr0);
}

bool op_clts(Cpu &cpu, const Instruction &) {
  return require_cpl0(cpu) &&
         cpu.write_cr(0, cpu.state.cr0 & ~uint64_t{CR0_TS});
}

// ---- segment probes: ZF reports the answer, bad selectors never fault

// The descriptor a probe examines, when it exists and the current CPL and
// the selector's RPL may see it.
bool probe_descriptor(Cpu &cpu, uint16_t selector, Descriptor &d,
                      bool &visible) {
  visible = false;
  if (is_null_selector(selector))
    return true;
  switch (fetch_descriptor(cpu, selector, false, d)) {
  case Fetch::Faulted:
    return false;
  case Fetch::Outside:
    return true;
  case Fetch::Ok:
    break;
  }
  unsigned cpl = cpu.state.cpl();
  visible = d.conforming() || (d.dpl() >= cpl && d.dpl() >= (selector & 3u));
  return true;
}

bool system_type_in(unsigned type, std::initializer_list<unsigned> types) {
  for (unsigned t : types)
    if (t == type)
      return true;
  return false;
}

bool lar_accepts(const CpuState &s, const Descriptor &d) {
  if (!d.system())
    return true;
  if (s.long_mode_active())
    return system_type_in(d.type(), {SYS_LDT, SYS_TSS32_AVAILABLE,
                                     SYS_TSS32_BUSY, SYS_CALL_GATE32});
  return system_type_in(d.type(),
                        {SYS_TSS16_AVAILABLE, SYS_LDT, SYS_TSS16_BUSY,
                         SYS_CALL_GATE16, SYS_TASK_GATE, SYS_TSS32_AVAILABLE,
                         SYS_TSS32_BUSY, SYS_CALL_GATE32});
}

bool lsl_accepts(const CpuState &s, const Descriptor &d) {
  if (!d.system())
    return true;
  if (s.long_mode_active())
    return system_type_in(d.type(),
                          {SYS_LDT, SYS_TSS32_AVAILABLE, SYS_TSS32_BUSY});
  return system_type_in(d.type(), {SYS_TSS16_AVAILABLE, SYS_LDT, SYS_TSS16_BUSY,
                                   SYS_TSS32_AVAILABLE, SYS_TSS32_BUSY});
}

bool op_lar(Cpu &cpu, const Instruction &insn) {
  uint16_t selector = 0;
  Descriptor d;
  bool visible = false;
  if (!require_protected_mode(cpu) ||
      !read_selector_operand(cpu, insn, 1, selector) ||
      !probe_descriptor(cpu, selector, d, visible))
    return false;
  bool ok = visible && lar_accepts(cpu.state, d);
  if (ok) {
    uint64_t rights = d.high & (insn.opsize == 2 ? 0xff00u : 0x00f0ff00u);
    if (!cpu.write_operand(insn, 0, rights))
      return false;
  }
  set_zf(cpu, ok);
  return true;
}

bool op_lsl(Cpu &cpu, const Instruction &insn) {
  uint16_t selector = 0;
  Descriptor d;
  bool visible = false;
  if (!require_protected_mode(cpu) ||
      !read_selector_operand(cpu, insn, 1, selector) ||
      !probe_descriptor(cpu, selector, d, visible))
    return false;
  bool ok = visible && lsl_accepts(cpu.state, d);
  if (ok && !cpu.write_operand(insn, 0, d.limit()))
    return false;
  set_zf(cpu, ok);
  return true;
}

bool verify_segment(Cpu &cpu, const Instruction &insn, bool for_write) {
  uint16_t selector = 0;
  Descriptor d;
  bool visible = false;
  if (!require_protected_mode(cpu) ||
      !read_selector_operand(cpu, insn, 0, selector) ||
      !probe_descriptor(cpu, selector, d, visible))
    return false;
  bool ok =
      visible && !d.system() && (for_write ? d.writable_data() : d.readable());
  set_zf(cpu, ok);
  return true;
}

bool op_verr(Cpu &cpu, const Instruction &insn) {
  return verify_segment(cpu, insn, false);
}
bool op_verw(Cpu &cpu, const Instruction &insn) {
  return verify_segment(cpu, insn, true);
}

bool op_arpl(Cpu &cpu, const Instruction &insn) {
  uint64_t destination = 0, source = 0;
  if (!require_protected_mode(cpu) || !cpu.read_operand(insn, 0, destination) ||
      !cpu.read_operand(insn, 1, source))
    return false;
  bool adjust = (destination & 3) < (source & 3);
  if (adjust &&
      !cpu.write_operand(insn, 0, (destination & ~uint64_t{3}) | (source & 3)))
    return false;
  set_zf(cpu, adjust);
  return true;
}

// ---- control and debug registers

// MOV to or from CRn/DRn: one operand is the register, the other a GPR of
// the mode's width. aux 0 reads the special register, 1 writes it.
struct SpecialMove {
  unsigned special = 0;
  unsigned gpr = 0;
  unsigned size = 4;
  bool write = false;
};

SpecialMove special_move(const Cpu &cpu, const Instruction &insn,
                         OperandKind kind) {
  SpecialMove move;
  move.write = insn.aux == 1;
  for (unsigned i = 0; i < 2; ++i) {
    const Operand &op = insn.operands[i];
    if (op.kind == kind)
      move.special = op.reg;
    else if (op.kind == OperandKind::Reg)
      move.gpr = op.reg;
  }
  move.size = in_64bit_mode(cpu.state) ? 8 : 4;
  return move;
}

bool op_mov_cr(Cpu &cpu, const Instruction &insn) {
  SpecialMove move = special_move(cpu, insn, OperandKind::Cr);
  CpuState &s = cpu.state;
  uint64_t *registers[9] = {&s.cr0,  nullptr, &s.cr2,  &s.cr3, &s.cr4,
                            nullptr, nullptr, nullptr, &s.cr8};
  if (move.special > 8 || !registers[move.special])
    return cpu.fault(EXC_UD);
  if (!require_cpl0(cpu))
    return false;
  if (move.write)
    return cpu.write_cr(move.special, cpu.reg(move.gpr, move.size));
  cpu.set_reg(move.gpr, move.size, *registers[move.special]);
  return true;
}

constexpr uint64_t kDr6Fixed = 0xffff0ff0;
constexpr uint64_t kDr6Writable = 0xe00f;
constexpr uint64_t kDr7Fixed = 0x400;
constexpr uint64_t kDr7Writable = 0xffff23ff;
constexpr uint64_t kDr7GeneralDetect = 1u << 13;
constexpr uint64_t kDr6BreakpointDetect = 1u << 13;

bool op_mov_dr(Cpu &cpu, const Instruction &insn) {
  SpecialMove move = special_move(cpu, insn, OperandKind::Dr);
  CpuState &s = cpu.state;
  unsigned dr = move.special;
  if (dr == 4 || dr == 5) {
    if (s.cr4 & CR4_DE)
      return cpu.fault(EXC_UD);
    dr += 2;
  }
  if (dr > 7)
    return cpu.fault(EXC_UD);
  if (!require_cpl0(cpu))
    return false;
  if (s.dr[7] & kDr7GeneralDetect) {
    s.dr[6] |= kDr6BreakpointDetect;
    s.dr[7] &= ~kDr7GeneralDetect;
    return cpu.fault(EXC_DB);
  }
  if (!move.write) {
    cpu.set_reg(move.gpr, move.size, s.dr[dr]);
    return true;
  }
  uint64_t value = cpu.reg(move.gpr, move.size);
  if (dr >= 6 && (value >> 32))
    return cpu.fault(EXC_GP, 0);
  if (dr == 6)
    value = (value & kDr6Writable) | kDr6Fixed;
  else if (dr == 7)
    value = (value & kDr7Writable) | kDr7Fixed;
  s.dr[dr] = value;
  return true;
}

// ---- MSRs, CPUID, counters

bool op_rdmsr(Cpu &cpu, const Instruction &) {
  uint64_t value = 0;
  if (!require_cpl0(cpu) ||
      !cpu.read_msr(static_cast<uint32_t>(cpu.reg(RCX, 4)), value))
    return false;
  set_edx_eax(cpu, value);
  return true;
}

bool op_wrmsr(Cpu &cpu, const Instruction &) {
  return require_cpl0(cpu) &&
         cpu.write_msr(static_cast<uint32_t>(cpu.reg(RCX, 4)), edx_eax(cpu));
}

bool op_cpuid(Cpu &cpu, const Instruction &) {
  CpuidResult r = cpuid_leaf(cpu, static_cast<uint32_t>(cpu.reg(RAX, 4)),
                             static_cast<uint32_t>(cpu.reg(RCX, 4)));
  cpu.set_reg(RAX, 4, r.eax);
  cpu.set_reg(RBX, 4, r.ebx);
  cpu.set_reg(RCX, 4, r.ecx);
  cpu.set_reg(RDX, 4, r.edx);
  return true;
}

bool tsc_readable(Cpu &cpu) {
  const CpuState &s = cpu.state;
  return !(s.cr4 & CR4_TSD) || s.cpl() == 0 || cpu.fault(EXC_GP, 0);
}

bool op_rdtsc(Cpu &cpu, const Instruction &) {
  if (!tsc_readable(cpu))
    return false;
  set_edx_eax(cpu, guest_tsc(cpu.state));
  return true;
}

bool op_rdtscp(Cpu &cpu, const Instruction &) {
  constexpr unsigned kRdtscpBit = 27;
  if (!cpuid_bit(cpu, 0x80000001, EDX_REG, kRdtscpBit))
    return cpu.fault(EXC_UD);
  if (!tsc_readable(cpu))
    return false;
  set_edx_eax(cpu, guest_tsc(cpu.state));
  cpu.set_reg(RCX, 4, cpu.state.msr.tsc_aux & 0xffffffff);
  return true;
}

// No performance counters are modelled: permitted reads return 0.
bool op_rdpmc(Cpu &cpu, const Instruction &) {
  const CpuState &s = cpu.state;
  if (s.cpl() != 0 && !(s.cr4 & CR4_PCE))
    return cpu.fault(EXC_GP, 0);
  set_edx_eax(cpu, 0);
  return true;
}

// ---- execution control, caches and TLB

// PREFETCHh: an interpreter caches nothing.
bool op_no_effect(Cpu &, const Instruction &) {
  return true;
}

// LFENCE, SFENCE, MFENCE: guest loads and stores are acquire loads and
// release stores, so only MFENCE's store-load ordering needs the host's
// full fence; one handler serves all three.
bool op_fence(Cpu &, const Instruction &) {
  std::atomic_thread_fence(std::memory_order_seq_cst);
  return true;
}

bool op_hlt(Cpu &cpu, const Instruction &) {
  if (!require_cpl0(cpu))
    return false;
  cpu.state.halted = true;
  return true;
}

bool op_cache_flush(Cpu &cpu, const Instruction &) {
  return require_cpl0(cpu);
}

uint64_t linear_address(const Cpu &cpu, const Instruction &insn) {
  uint64_t linear =
      segment_base(cpu.state, insn.seg) + cpu.effective_address(insn);
  return in_64bit_mode(cpu.state) ? linear : linear & 0xffffffff;
}

// The TLB caches large pages as 4 KiB fragments without their size, so
// invalidating one page drops every fragment of the largest page that may
// contain it: 1 GiB in long mode, 4 MiB otherwise.
void invalidate_page(Cpu &cpu, uint64_t linear) {
  uint64_t largest_page =
      cpu.state.long_mode_active() ? uint64_t{1} << 30 : uint64_t{4} << 20;
  uint64_t region = linear & ~(largest_page - 1);
  for (unsigned i = 0; i < Tlb::kEntries; ++i) {
    TlbEntry &entry = cpu.tlb.slot(uint64_t{i} * kPageSize);
    if (entry.linear_page != TlbEntry::kInvalid &&
        (entry.linear_page & ~(largest_page - 1)) == region)
      entry = TlbEntry{};
  }
}

bool op_invlpg(Cpu &cpu, const Instruction &insn) {
  if (!require_memory_operand(cpu, insn, 0) || !require_cpl0(cpu))
    return false;
  invalidate_page(cpu, linear_address(cpu, insn));
  return true;
}

enum InvpcidType : uint64_t {
  INVPCID_ADDRESS = 0,
  INVPCID_CONTEXT = 1,
  INVPCID_ALL_WITH_GLOBAL = 2,
  INVPCID_ALL = 3,
};

bool op_invpcid(Cpu &cpu, const Instruction &insn) {
  constexpr unsigned kInvpcidBit = 10;
  CpuState &s = cpu.state;
  if (!cpuid_bit(cpu, 7, EBX_REG, kInvpcidBit) || s.v86())
    return cpu.fault(EXC_UD);
  if (!require_memory_operand(cpu, insn, 1) || !require_cpl0(cpu))
    return false;
  uint64_t type = cpu.reg(insn.operands[0].reg, in_64bit_mode(s) ? 8 : 4);
  uint64_t descriptor[2] = {};
  if (!cpu.read(insn.seg, cpu.effective_address(insn), descriptor, 16))
    return false;
  uint64_t pcid = descriptor[0] & 0xfff;
  uint64_t address = descriptor[1];
  if (type > INVPCID_ALL || (descriptor[0] >> 12))
    return cpu.fault(EXC_GP, 0);
  bool names_context = type == INVPCID_ADDRESS || type == INVPCID_CONTEXT;
  if (names_context && pcid != 0 && !(s.cr4 & CR4_PCIDE))
    return cpu.fault(EXC_GP, 0);
  if (type == INVPCID_ADDRESS && !is_canonical(address))
    return cpu.fault(EXC_GP, 0);
  // The TLB does not tag entries with PCIDs, so a context flush drops
  // every non-global translation.
  if (type == INVPCID_ADDRESS)
    invalidate_page(cpu, address);
  else
    cpu.flush_tlb(type == INVPCID_ALL_WITH_GLOBAL);
  return true;
}

bool op_clflush(Cpu &cpu, const Instruction &insn) {
  uint8_t byte = 0;
  return require_memory_operand(cpu, insn, 0) &&
         cpu.read(insn.seg, cpu.effective_address(insn), &byte, 1);
}

// ---- FS/GS base

bool fsgsbase_usable(Cpu &cpu) {
  const CpuState &s = cpu.state;
  return (in_64bit_mode(s) && (s.cr4 & CR4_FSGSBASE)) || cpu.fault(EXC_UD);
}

// aux selects the register: 0 = FS, 1 = GS.
Segment &fsgs_segment(Cpu &cpu, const Instruction &insn) {
  return cpu.state.seg[insn.aux ? GS : FS];
}

bool op_rdfsbase(Cpu &cpu, const Instruction &insn) {
  return fsgsbase_usable(cpu) &&
         cpu.write_operand(insn, 0, fsgs_segment(cpu, insn).base);
}

bool op_wrfsbase(Cpu &cpu, const Instruction &insn) {
  uint64_t value = 0;
  if (!fsgsbase_usable(cpu) || !cpu.read_operand(insn, 0, value))
    return false;
  if (!is_canonical(value))
    return cpu.fault(EXC_GP, 0);
  fsgs_segment(cpu, insn).base = value;
  return true;
}

// ---- random numbers

bool random_value(Cpu &cpu, const Instruction &insn, bool advertised) {
  if (!advertised)
    return cpu.fault(EXC_UD);
  uint64_t value = 0;
  bool ok = getrandom(&value, sizeof(value), GRND_NONBLOCK) ==
            static_cast<ssize_t>(sizeof(value));
  if (!cpu.write_operand(insn, 0, ok ? value : 0))
    return false;
  cpu.set_rflags((cpu.rflags() & ~kArithFlags) | (ok ? uint64_t{CF} : 0));
  return true;
}

bool op_rdrand(Cpu &cpu, const Instruction &insn) {
  constexpr unsigned kRdrandBit = 30;
  return random_value(cpu, insn, cpuid_bit(cpu, 1, ECX_REG, kRdrandBit));
}

bool op_rdseed(Cpu &cpu, const Instruction &insn) {
  constexpr unsigned kRdseedBit = 18;
  return random_value(cpu, insn, cpuid_bit(cpu, 7, EBX_REG, kRdseedBit));
}

// ---- XCR0

constexpr uint64_t kXcr0X87 = 1;
constexpr uint64_t kXcr0Sse = 2;
constexpr uint64_t kXcr0Avx = 4;

bool op_xgetbv(Cpu &cpu, const Instruction &) {
  if (!(cpu.state.cr4 & CR4_OSXSAVE))
    return cpu.fault(EXC_UD);
  if (cpu.reg(RCX, 4) != 0)
    return cpu.fault(EXC_GP, 0);
  set_edx_eax(cpu, cpu.state.xcr0);
  return true;
}

bool op_xsetbv(Cpu &cpu, const Instruction &) {
  if (!(cpu.state.cr4 & CR4_OSXSAVE))
    return cpu.fault(EXC_UD);
  if (!require_cpl0(cpu))
    return false;
  CpuidResult leaf = cpuid_leaf(cpu, 0xd, 0);
  uint64_t supported = (uint64_t{leaf.edx} << 32) | leaf.eax;
  uint64_t value = edx_eax(cpu);
  bool valid = cpu.reg(RCX, 4) == 0 && (value & kXcr0X87) &&
               !(value & ~supported) &&
               (!(value & kXcr0Avx) || (value & kXcr0Sse));
  if (!valid)
    return cpu.fault(EXC_GP, 0);
  cpu.state.xcr0 = value;
  return true;
}

// ---- exceptions raised by instructions

bool op_undefined(Cpu &cpu, const Instruction &) {
  return cpu.fault(EXC_UD);
}

bool op_bound(Cpu &cpu, const Instruction &insn) {
  if (!require_memory_operand(cpu, insn, 1))
    return false;
  unsigned size = insn.opsize;
  uint64_t index = 0, lower = 0, upper = 0;
  uint64_t address = cpu.effective_address(insn);
  uint64_t upper_address = (address + size) & address_mask(insn.addrsize);
  if (!cpu.read_operand(insn, 0, index) ||
      !cpu.read_value(insn.seg, address, size, lower) ||
      !cpu.read_value(insn.seg, upper_address, size, upper))
    return false;
  auto as_signed = [size](uint64_t v) {
    return size == 2 ? int64_t{static_cast<int16_t>(v)}
                     : int64_t{static_cast<int32_t>(v)};
  };
  if (as_signed(index) < as_signed(lower) ||
      as_signed(index) > as_signed(upper))
    return cpu.fault(EXC_BR);
  return true;
}

} // namespace

void register_system_ops(HandlerTable &table) {
  table.set(Op::HLT, threaded<op_hlt>);
  table.set(Op::CPUID, threaded<op_cpuid>);
  table.set(Op::RDTSC, threaded<op_rdtsc>);
  table.set(Op::RDTSCP, threaded<op_rdtscp>);
  table.set(Op::RDPMC, threaded<op_rdpmc>);
  table.set(Op::RDMSR, threaded<op_rdmsr>);
  table.set(Op::WRMSR, threaded<op_wrmsr>);
  table.set(Op::LGDT, threaded<op_lgdt>);
  table.set(Op::LIDT, threaded<op_lidt>);
  table.set(Op::SGDT, threaded<op_sgdt>);
  table.set(Op::SIDT, threaded<op_sidt>);
  table.set(Op::LLDT, threaded<op_lldt>);
  table.set(Op::SLDT, threaded<op_sldt>);
  table.set(Op::LTR, threaded<op_ltr>);
  table.set(Op::STR, threaded<op_str>);
  table.set(Op::LMSW, threaded<op_lmsw>);
  table.set(Op::SMSW, threaded<op_smsw>);
  table.set(Op::VERR, threaded<op_verr>);
  table.set(Op::VERW, threaded<op_verw>);
  table.set(Op::LAR, threaded<op_lar>);
  table.set(Op::LSL, threaded<op_lsl>);
  table.set(Op::ARPL, threaded<op_arpl>);
  table.set(Op::CLTS, threaded<op_clts>);
  table.set(Op::INVD, threaded<op_cache_flush>);
  table.set(Op::WBINVD, threaded<op_cache_flush>);
  table.set(Op::INVLPG, threaded<op_invlpg>);
  table.set(Op::INVPCID, threaded<op_invpcid>);
  table.set(Op::MOV_CR, threaded<op_mov_cr>);
  table.set(Op::MOV_DR, threaded<op_mov_dr>);
  table.set(Op::RDFSBASE, threaded<op_rdfsbase>);
  table.set(Op::WRFSBASE, threaded<op_wrfsbase>);
  table.set(Op::CLFLUSH, threaded<op_clflush>);
  table.set(Op::PREFETCH, threaded<op_no_effect>);
  table.set(Op::FENCE, threaded<op_fence>);
  table.set(Op::RDRAND, threaded<op_rdrand>);
  table.set(Op::RDSEED, threaded<op_rdseed>);
  table.set(Op::XGETBV, threaded<op_xgetbv>);
  table.set(Op::XSETBV, threaded<op_xsetbv>);
  table.set(Op::MONITOR, threaded<op_undefined>);
  table.set(Op::MWAIT, threaded<op_undefined>);
  table.set(Op::RSM, threaded<op_undefined>);
  table.set(Op::BOUND, threaded<op_bound>);
}

} // namespace sable::cpu
