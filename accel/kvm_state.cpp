#include "accel/kvm_state.h"

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <sys/ioctl.h>

#include "accel/kvm_system.h"
#include "machine/log.h"
#include "machine/state.h"

namespace sable::kvm {

namespace {

// VMX access-rights bits of cpu::Segment::attributes.
constexpr uint32_t kMaxSavedMsrs = 4096;

constexpr uint16_t kAttrType = 0xf;
constexpr unsigned kAttrS = 4, kAttrDpl = 5, kAttrP = 7, kAttrAvl = 12,
                   kAttrL = 13, kAttrDb = 14, kAttrG = 15;

constexpr uint16_t kRealCode = 0x9b; // present, code, readable, accessed
constexpr uint16_t kRealData = 0x93; // present, data, writable, accessed
constexpr uint16_t kLdt = 0x82;      // present, LDT
constexpr uint16_t kBusyTss32 = 0x8b;

constexpr uint64_t kApicBaseDefault = 0xfee00000;
constexpr uint64_t kApicEnable = 1u << 11;
constexpr uint64_t kApicBsp = 1u << 8;

constexpr uint32_t MSR_IA32_FEATURE_CONTROL = 0x3a;
constexpr uint32_t MSR_IA32_SYSENTER_CS = 0x174;
constexpr uint32_t MSR_IA32_SYSENTER_ESP = 0x175;
constexpr uint32_t MSR_IA32_SYSENTER_EIP = 0x176;
constexpr uint32_t MSR_IA32_MISC_ENABLE = 0x1a0;
constexpr uint32_t MSR_MTRR_PHYS_BASE0 = 0x200;
constexpr uint32_t MSR_MTRR_FIX64K_00000 = 0x250;
constexpr uint32_t MSR_MTRR_FIX16K_80000 = 0x258;
constexpr uint32_t MSR_MTRR_FIX16K_A0000 = 0x259;
constexpr uint32_t MSR_MTRR_FIX4K_C0000 = 0x268;
constexpr uint32_t MSR_IA32_PAT = 0x277;
constexpr uint32_t MSR_MTRR_DEF_TYPE = 0x2ff;
constexpr uint32_t MSR_STAR = 0xc0000081;
constexpr uint32_t MSR_LSTAR = 0xc0000082;
constexpr uint32_t MSR_CSTAR = 0xc0000083;
constexpr uint32_t MSR_SFMASK = 0xc0000084;
constexpr uint32_t MSR_KERNEL_GS_BASE = 0xc0000102;
constexpr uint32_t MSR_TSC_AUX = 0xc0000103;

bool is_mtrr(uint32_t index) {
  return index == MSR_MTRR_DEF_TYPE ||
         (index >= MSR_MTRR_PHYS_BASE0 && index < MSR_MTRR_PHYS_BASE0 + 16) ||
         index == MSR_MTRR_FIX64K_00000 || index == MSR_MTRR_FIX16K_80000 ||
         index == MSR_MTRR_FIX16K_A0000 ||
         (index >= MSR_MTRR_FIX4K_C0000 && index < MSR_MTRR_FIX4K_C0000 + 8);
}

// Each MSR CpuState holds, with where it lives; one table for both ways.
template <typename State, typename Visit>
void for_each_msr(State &state, Visit &&visit) {
  auto &m = state.msr;
  visit(MSR_STAR, m.star);
  visit(MSR_LSTAR, m.lstar);
  visit(MSR_CSTAR, m.cstar);
  visit(MSR_SFMASK, m.sfmask);
  visit(MSR_KERNEL_GS_BASE, m.kernel_gs_base);
  visit(MSR_IA32_SYSENTER_CS, m.sysenter_cs);
  visit(MSR_IA32_SYSENTER_ESP, m.sysenter_esp);
  visit(MSR_IA32_SYSENTER_EIP, m.sysenter_eip);
  visit(MSR_IA32_PAT, m.pat);
  visit(MSR_TSC_AUX, m.tsc_aux);
  visit(MSR_IA32_MISC_ENABLE, m.misc_enable);
  visit(MSR_IA32_FEATURE_CONTROL, m.feature_control);
  visit(MSR_MTRR_DEF_TYPE, m.mtrr_def_type);
  visit(MSR_MTRR_FIX64K_00000, m.mtrr_fixed[0]);
  visit(MSR_MTRR_FIX16K_80000, m.mtrr_fixed[1]);
  visit(MSR_MTRR_FIX16K_A0000, m.mtrr_fixed[2]);
  for (uint32_t i = 0; i < 8; ++i)
    visit(MSR_MTRR_FIX4K_C0000 + i, m.mtrr_fixed[3 + i]);
  for (uint32_t i = 0; i < 16; ++i)
    visit(MSR_MTRR_PHYS_BASE0 + i, m.mtrr_var[i]);
}

// Each register kvm_regs holds, with where CpuState keeps it; one table for
// both ways.
template <typename State, typename Regs, typename Visit>
void for_each_register(State &state, Regs &regs, Visit &&visit) {
  auto &g = state.gpr;
  visit(g[cpu::RAX], regs.rax);
  visit(g[cpu::RBX], regs.rbx);
  visit(g[cpu::RCX], regs.rcx);
  visit(g[cpu::RDX], regs.rdx);
  visit(g[cpu::RSI], regs.rsi);
  visit(g[cpu::RDI], regs.rdi);
  visit(g[cpu::RSP], regs.rsp);
  visit(g[cpu::RBP], regs.rbp);
  visit(g[cpu::R8], regs.r8);
  visit(g[cpu::R9], regs.r9);
  visit(g[cpu::R10], regs.r10);
  visit(g[cpu::R11], regs.r11);
  visit(g[cpu::R12], regs.r12);
  visit(g[cpu::R13], regs.r13);
  visit(g[cpu::R14], regs.r14);
  visit(g[cpu::R15], regs.r15);
  visit(state.rip, regs.rip);
  visit(state.rflags, regs.rflags);
}

// The same for the kvm_fpu fields other than the register files.
template <typename Fpu, typename KvmFpu, typename Visit>
void for_each_fpu_field(Fpu &fpu, KvmFpu &kvm, Visit &&visit) {
  visit(fpu.fcw, kvm.fcw);
  visit(fpu.fsw, kvm.fsw);
  visit(fpu.ftw, kvm.ftwx);
  visit(fpu.fop, kvm.last_opcode);
  visit(fpu.fip, kvm.last_ip);
  visit(fpu.fdp, kvm.last_dp);
  visit(fpu.mxcsr, kvm.mxcsr);
}

constexpr auto copy_to_kvm = [](const auto &ours, auto &theirs) {
  theirs = ours;
};
constexpr auto copy_from_kvm = [](auto &ours, const auto &theirs) {
  ours = theirs;
};

// KVM structures carry their size, so a snapshot from a host whose KVM
// has other sizes is refused instead of misread.
void put_blob(StateWriter &out, const void *data, size_t size) {
  out.u64(size);
  out.bytes(data, size);
}
template <typename T> void put(StateWriter &out, const T &value) {
  put_blob(out, &value, sizeof value);
}
void get_blob(StateReader &in, void *data, size_t size) {
  uint64_t length = in.u64();
  if (length != size)
    throw StateError("kvm: a saved KVM structure has " +
                     std::to_string(length) + " bytes, this host's " +
                     std::to_string(size));
  in.bytes(data, size);
}
template <typename T> void get(StateReader &in, T &value) {
  get_blob(in, &value, sizeof value);
}

} // namespace

cpu::CpuState power_on_state(bool bootstrap, uint32_t cpuid_signature) {
  cpu::CpuState state;
  state.gpr[cpu::RDX] = cpuid_signature;
  state.rip = 0xfff0;
  state.rflags = 0x2;
  for (cpu::Segment &segment : state.seg)
    segment = {0, 0, 0xffff, kRealData};
  state.seg[cpu::CS] = {0xf000, 0xffff0000, 0xffff, kRealCode};
  state.ldtr = {0, 0, 0xffff, kLdt};
  state.tr = {0, 0, 0xffff, kBusyTss32};
  state.gdtr = {0, 0xffff};
  state.idtr = {0, 0xffff};
  state.cr0 = cpu::CR0_ET | cpu::CR0_CD | cpu::CR0_NW;
  state.msr.apic_base =
      kApicBaseDefault | kApicEnable | (bootstrap ? kApicBsp : 0);
  return state;
}

kvm_segment to_kvm(const cpu::Segment &segment) {
  uint16_t a = segment.attributes;
  kvm_segment out{};
  out.base = segment.base;
  out.limit = segment.limit;
  out.selector = segment.selector;
  out.type = a & kAttrType;
  out.s = (a >> kAttrS) & 1;
  out.dpl = (a >> kAttrDpl) & 3;
  out.present = (a >> kAttrP) & 1;
  out.avl = (a >> kAttrAvl) & 1;
  out.l = (a >> kAttrL) & 1;
  out.db = (a >> kAttrDb) & 1;
  out.g = (a >> kAttrG) & 1;
  out.unusable = !out.present;
  return out;
}

cpu::Segment from_kvm(const kvm_segment &segment) {
  bool present = segment.present && !segment.unusable;
  uint16_t a = static_cast<uint16_t>(
      (segment.type & kAttrType) | (segment.s & 1) << kAttrS |
      (segment.dpl & 3) << kAttrDpl | uint16_t{present} << kAttrP |
      (segment.avl & 1) << kAttrAvl | (segment.l & 1) << kAttrL |
      (segment.db & 1) << kAttrDb | (segment.g & 1) << kAttrG);
  return {segment.selector, segment.base, segment.limit, a};
}

void to_kvm(const cpu::CpuState &state, kvm_regs &regs) {
  regs = {};
  for_each_register(state, regs, copy_to_kvm);
}

void from_kvm(const kvm_regs &regs, cpu::CpuState &state) {
  for_each_register(state, regs, copy_from_kvm);
  state.lazy = {};
}

void to_kvm(const cpu::CpuState &state, kvm_sregs &sregs) {
  sregs = {};
  sregs.es = to_kvm(state.seg[cpu::ES]);
  sregs.cs = to_kvm(state.seg[cpu::CS]);
  sregs.ss = to_kvm(state.seg[cpu::SS]);
  sregs.ds = to_kvm(state.seg[cpu::DS]);
  sregs.fs = to_kvm(state.seg[cpu::FS]);
  sregs.gs = to_kvm(state.seg[cpu::GS]);
  sregs.ldt = to_kvm(state.ldtr);
  sregs.tr = to_kvm(state.tr);
  sregs.gdt = {state.gdtr.base, state.gdtr.limit, {}};
  sregs.idt = {state.idtr.base, state.idtr.limit, {}};
  sregs.cr0 = state.cr0;
  sregs.cr2 = state.cr2;
  sregs.cr3 = state.cr3;
  sregs.cr4 = state.cr4;
  sregs.cr8 = state.cr8;
  sregs.efer = state.efer;
  sregs.apic_base = state.msr.apic_base;
}

void from_kvm(const kvm_sregs &sregs, cpu::CpuState &state) {
  state.seg[cpu::ES] = from_kvm(sregs.es);
  state.seg[cpu::CS] = from_kvm(sregs.cs);
  state.seg[cpu::SS] = from_kvm(sregs.ss);
  state.seg[cpu::DS] = from_kvm(sregs.ds);
  state.seg[cpu::FS] = from_kvm(sregs.fs);
  state.seg[cpu::GS] = from_kvm(sregs.gs);
  state.ldtr = from_kvm(sregs.ldt);
  state.tr = from_kvm(sregs.tr);
  state.gdtr = {sregs.gdt.base, sregs.gdt.limit};
  state.idtr = {sregs.idt.base, sregs.idt.limit};
  state.cr0 = sregs.cr0;
  state.cr2 = sregs.cr2;
  state.cr3 = sregs.cr3;
  state.cr4 = sregs.cr4;
  state.cr8 = sregs.cr8;
  state.efer = sregs.efer;
  state.msr.apic_base = sregs.apic_base;
}

void to_kvm(const cpu::FpuState &fpu, kvm_fpu &out) {
  out = {};
  std::memcpy(out.fpr, fpu.st, sizeof out.fpr);
  std::memcpy(out.xmm, fpu.xmm, sizeof out.xmm);
  for_each_fpu_field(fpu, out, copy_to_kvm);
}

void from_kvm(const kvm_fpu &in, cpu::FpuState &fpu) {
  std::memcpy(fpu.st, in.fpr, sizeof fpu.st);
  std::memcpy(fpu.xmm, in.xmm, sizeof fpu.xmm);
  for_each_fpu_field(fpu, in, copy_from_kvm);
}

std::vector<kvm_msr_entry> msrs_of(const cpu::CpuState &state) {
  std::vector<kvm_msr_entry> entries;
  for_each_msr(state, [&](uint32_t index, const uint64_t &value) {
    kvm_msr_entry entry{};
    entry.index = index;
    entry.data = value;
    entries.push_back(entry);
  });
  return entries;
}

void apply_msrs(const std::vector<kvm_msr_entry> &entries,
                cpu::CpuState &state) {
  for_each_msr(state, [&](uint32_t index, uint64_t &value) {
    for (const kvm_msr_entry &entry : entries)
      if (entry.index == index)
        value = entry.data;
  });
}

bool msr_supported(uint32_t index, const std::vector<uint32_t> &kvm_indices) {
  return is_mtrr(index) || std::find(kvm_indices.begin(), kvm_indices.end(),
                                     index) != kvm_indices.end();
}

std::vector<kvm_msr_entry> read_msrs(int vcpu_fd,
                                     const std::vector<uint32_t> &indices) {
  std::vector<kvm_msr_entry> result;
  size_t next = 0;
  while (next < indices.size()) {
    size_t count = indices.size() - next;
    FlexArray<kvm_msr_entry> msrs(c_abi::kMsrsHeader, count);
    for (size_t i = 0; i < count; ++i)
      msrs.entries()[i] = {indices[next + i], 0, 0};
    size_t done = static_cast<size_t>(
        checked_ioctl(vcpu_fd, c_abi::GET_MSRS, msrs.data(), "KVM_GET_MSRS"));
    result.insert(result.end(), msrs.entries(), msrs.entries() + done);
    if (done < count)
      SABLE_LOG(LOG_UNIMP, "KVM cannot read MSR 0x%x\n", indices[next + done]);
    next += done + 1;
  }
  return result;
}

void write_msrs(int vcpu_fd, const std::vector<kvm_msr_entry> &entries) {
  size_t next = 0;
  while (next < entries.size()) {
    size_t count = entries.size() - next;
    FlexArray<kvm_msr_entry> msrs(c_abi::kMsrsHeader, count);
    std::copy(entries.begin() + next, entries.end(), msrs.entries());
    size_t done = static_cast<size_t>(
        checked_ioctl(vcpu_fd, c_abi::SET_MSRS, msrs.data(), "KVM_SET_MSRS"));
    if (done < count)
      SABLE_LOG(LOG_UNIMP, "KVM refused MSR 0x%x = 0x%" PRIx64 "\n",
                entries[next + done].index,
                static_cast<uint64_t>(entries[next + done].data));
    next += done + 1;
  }
}

void VcpuSnapshot::capture(int fd, const SnapshotFeatures &features) {
  checked_ioctl(fd, KVM_GET_REGS, &regs, "KVM_GET_REGS");
  checked_ioctl(fd, KVM_GET_SREGS, &sregs, "KVM_GET_SREGS");
  if (features.xsave_size > 0) {
    xsave.assign(features.xsave_size, 0);
    unsigned long request = features.xsave_size > c_abi::kXsaveRegion
                                ? c_abi::GET_XSAVE2
                                : c_abi::GET_XSAVE;
    checked_ioctl(fd, request, xsave.data(), "KVM_GET_XSAVE");
  } else {
    checked_ioctl(fd, KVM_GET_FPU, &fpu, "KVM_GET_FPU");
  }
  if (features.xcrs)
    checked_ioctl(fd, KVM_GET_XCRS, &xcrs, "KVM_GET_XCRS");
  msrs = read_msrs(fd, features.msr_indices);
  if (features.irqchip) {
    checked_ioctl(fd, KVM_GET_LAPIC, &lapic, "KVM_GET_LAPIC");
    checked_ioctl(fd, KVM_GET_MP_STATE, &mp_state, "KVM_GET_MP_STATE");
  }
  checked_ioctl(fd, KVM_GET_VCPU_EVENTS, &events, "KVM_GET_VCPU_EVENTS");
  checked_ioctl(fd, KVM_GET_DEBUGREGS, &debugregs, "KVM_GET_DEBUGREGS");
}

void VcpuSnapshot::restore(int fd, const SnapshotFeatures &features) const {
  // Order matters to KVM: the APIC base (in sregs and MSRs) before the
  // LAPIC registers, the LAPIC before pending events.
  checked_ioctl(fd, KVM_SET_REGS, const_cast<kvm_regs *>(&regs),
                "KVM_SET_REGS");
  if (features.xsave_size > 0)
    checked_ioctl(fd, c_abi::SET_XSAVE, const_cast<uint8_t *>(xsave.data()),
                  "KVM_SET_XSAVE");
  else
    checked_ioctl(fd, KVM_SET_FPU, const_cast<kvm_fpu *>(&fpu), "KVM_SET_FPU");
  if (features.xcrs)
    checked_ioctl(fd, KVM_SET_XCRS, const_cast<kvm_xcrs *>(&xcrs),
                  "KVM_SET_XCRS");
  checked_ioctl(fd, KVM_SET_SREGS, const_cast<kvm_sregs *>(&sregs),
                "KVM_SET_SREGS");
  write_msrs(fd, msrs);
  if (features.irqchip) {
    checked_ioctl(fd, KVM_SET_MP_STATE, const_cast<kvm_mp_state *>(&mp_state),
                  "KVM_SET_MP_STATE");
    checked_ioctl(fd, KVM_SET_LAPIC, const_cast<kvm_lapic_state *>(&lapic),
                  "KVM_SET_LAPIC");
  }
  kvm_vcpu_events pending = events;
  pending.flags |= KVM_VCPUEVENT_VALID_NMI_PENDING |
                   KVM_VCPUEVENT_VALID_SIPI_VECTOR | KVM_VCPUEVENT_VALID_SHADOW;
  checked_ioctl(fd, KVM_SET_VCPU_EVENTS, &pending, "KVM_SET_VCPU_EVENTS");
  checked_ioctl(fd, KVM_SET_DEBUGREGS, const_cast<kvm_debugregs *>(&debugregs),
                "KVM_SET_DEBUGREGS");
}

void VcpuSnapshot::write(StateWriter &out,
                         const SnapshotFeatures &features) const {
  out.begin_section("kvm-vcpu", 1);
  put(out, regs);
  put(out, sregs);
  if (features.xsave_size > 0)
    put_blob(out, xsave.data(), xsave.size());
  else
    put(out, fpu);
  put(out, xcrs);
  out.u32(static_cast<uint32_t>(msrs.size()));
  for (const kvm_msr_entry &entry : msrs) {
    out.u32(entry.index);
    out.u64(entry.data);
  }
  put(out, lapic);
  put(out, events);
  put(out, mp_state);
  put(out, debugregs);
  out.end_section();
}

void VcpuSnapshot::read(StateReader &in, const SnapshotFeatures &features) {
  in.begin_section("kvm-vcpu", 1);
  get(in, regs);
  get(in, sregs);
  if (features.xsave_size > 0) {
    xsave.assign(features.xsave_size, 0);
    get_blob(in, xsave.data(), xsave.size());
  } else {
    get(in, fpu);
  }
  get(in, xcrs);
  uint32_t msr_count = in.u32();
  if (msr_count > kMaxSavedMsrs)
    throw StateError("kvm-vcpu: " + std::to_string(msr_count) +
                     " saved MSRs is more than any KVM reports");
  msrs.resize(msr_count);
  for (kvm_msr_entry &entry : msrs) {
    entry = {};
    entry.index = in.u32();
    entry.data = in.u64();
  }
  get(in, lapic);
  get(in, events);
  get(in, mp_state);
  get(in, debugregs);
  in.end_section();
}

void VmSnapshot::capture(int fd, bool irqchip) {
  if (irqchip) {
    pic_master.chip_id = KVM_IRQCHIP_PIC_MASTER;
    pic_slave.chip_id = KVM_IRQCHIP_PIC_SLAVE;
    ioapic.chip_id = KVM_IRQCHIP_IOAPIC;
    checked_ioctl(fd, KVM_GET_IRQCHIP, &pic_master, "KVM_GET_IRQCHIP");
    checked_ioctl(fd, KVM_GET_IRQCHIP, &pic_slave, "KVM_GET_IRQCHIP");
    checked_ioctl(fd, KVM_GET_IRQCHIP, &ioapic, "KVM_GET_IRQCHIP");
    checked_ioctl(fd, KVM_GET_PIT2, &pit, "KVM_GET_PIT2");
  }
  checked_ioctl(fd, KVM_GET_CLOCK, &clock, "KVM_GET_CLOCK");
}

void VmSnapshot::restore(int fd, bool irqchip) const {
  if (irqchip)
    restore_devices(fd);
  // Only the clock value is restored; the host-time flags KVM_GET_CLOCK
  // reports are not accepted back.
  kvm_clock_data value{};
  value.clock = clock.clock;
  checked_ioctl(fd, KVM_SET_CLOCK, &value, "KVM_SET_CLOCK");
}

void VmSnapshot::restore_devices(int fd) const {
  checked_ioctl(fd, KVM_SET_IRQCHIP, const_cast<kvm_irqchip *>(&pic_master),
                "KVM_SET_IRQCHIP");
  checked_ioctl(fd, KVM_SET_IRQCHIP, const_cast<kvm_irqchip *>(&pic_slave),
                "KVM_SET_IRQCHIP");
  checked_ioctl(fd, KVM_SET_IRQCHIP, const_cast<kvm_irqchip *>(&ioapic),
                "KVM_SET_IRQCHIP");
  checked_ioctl(fd, KVM_SET_PIT2, const_cast<kvm_pit_state2 *>(&pit),
                "KVM_SET_PIT2");
}

void VmSnapshot::write(StateWriter &out, bool irqchip) const {
  out.begin_section("kvm-vm", 1);
  out.boolean(irqchip);
  if (irqchip) {
    put(out, pic_master);
    put(out, pic_slave);
    put(out, ioapic);
    put(out, pit);
  }
  out.u64(clock.clock);
  out.end_section();
}

void VmSnapshot::read(StateReader &in, bool irqchip) {
  in.begin_section("kvm-vm", 1);
  if (in.boolean() != irqchip)
    throw StateError("kvm-vm: the snapshot and this VM differ in whether the "
                     "irqchip is in the kernel");
  if (irqchip) {
    get(in, pic_master);
    get(in, pic_slave);
    get(in, ioapic);
    get(in, pit);
  }
  clock = {};
  clock.clock = in.u64();
  in.end_section();
}

} // namespace sable::kvm
