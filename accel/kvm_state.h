#pragma once
// Conversion between the shared cpu::CpuState and KVM's register
// structures, and the complete KVM-side state of a vCPU and of the VM for
// save/restore. Conversions are pure; the capture/restore functions issue
// the ioctls on the fd they are given.

#include <cstdint>
#include <string>
#include <vector>

#include <linux/kvm.h>

#include "cpu/state.h"

namespace sable {
class StateWriter;
class StateReader;
} // namespace sable

namespace sable::kvm {

// The architectural state after RESET (Intel SDM Vol. 3 "Processor State
// After Reset"): real mode at F000:FFF0, EDX = the CPUID signature.
cpu::CpuState power_on_state(bool bootstrap, uint32_t cpuid_signature);

kvm_segment to_kvm(const cpu::Segment &segment);
cpu::Segment from_kvm(const kvm_segment &segment);

// RFLAGS is taken as it is: callers hand in states whose lazy flags are
// already folded in (lazy.op == 0), as every engine's get_state returns.
void to_kvm(const cpu::CpuState &state, kvm_regs &regs);
void from_kvm(const kvm_regs &regs, cpu::CpuState &state);
// Fills every field of `sregs` that CpuState describes; interrupt_bitmap
// is cleared (no external interrupt pending injection).
void to_kvm(const cpu::CpuState &state, kvm_sregs &sregs);
void from_kvm(const kvm_sregs &sregs, cpu::CpuState &state);
void to_kvm(const cpu::FpuState &fpu, kvm_fpu &out);
void from_kvm(const kvm_fpu &in, cpu::FpuState &fpu);

// The MSRs CpuState::msr holds (APIC base travels in sregs; the TSC offset
// is the software engine's own and is not an MSR).
std::vector<kvm_msr_entry> msrs_of(const cpu::CpuState &state);
// Stores each entry whose index CpuState::msr holds; ignores the rest.
void apply_msrs(const std::vector<kvm_msr_entry> &entries,
                cpu::CpuState &state);
// Whether KVM handles `index` for this vCPU: in its saved-MSR list, or an
// MTRR (emulated whenever the guest CPUID has MTRR).
bool msr_supported(uint32_t index, const std::vector<uint32_t> &kvm_indices);

// KVM_GET_MSRS / KVM_SET_MSRS. KVM stops at the first MSR it refuses; the
// refused ones are skipped (reads leave them out of the result).
std::vector<kvm_msr_entry> read_msrs(int vcpu_fd,
                                     const std::vector<uint32_t> &indices);
void write_msrs(int vcpu_fd, const std::vector<kvm_msr_entry> &entries);

// What the VM supports, which decides the snapshot's content.
struct SnapshotFeatures {
  bool irqchip = true;
  size_t xsave_size = 0; // 0: no KVM_CAP_XSAVE, the FPU goes as kvm_fpu
  bool xcrs = false;
  std::vector<uint32_t> msr_indices;
};

// Everything KVM holds for one vCPU.
struct VcpuSnapshot {
  kvm_regs regs{};
  kvm_sregs sregs{};
  kvm_fpu fpu{};
  std::vector<uint8_t> xsave;
  kvm_xcrs xcrs{};
  std::vector<kvm_msr_entry> msrs;
  kvm_lapic_state lapic{};
  kvm_vcpu_events events{};
  kvm_mp_state mp_state{};
  kvm_debugregs debugregs{};

  void capture(int vcpu_fd, const SnapshotFeatures &features);
  void restore(int vcpu_fd, const SnapshotFeatures &features) const;
  void write(StateWriter &out, const SnapshotFeatures &features) const;
  void read(StateReader &in, const SnapshotFeatures &features);
};

// Everything KVM holds for the VM outside its vCPUs.
struct VmSnapshot {
  kvm_irqchip pic_master{};
  kvm_irqchip pic_slave{};
  kvm_irqchip ioapic{};
  kvm_pit_state2 pit{};
  kvm_clock_data clock{};

  void capture(int vm_fd, bool irqchip);
  // Interrupt controllers and PIT, then the clock.
  void restore(int vm_fd, bool irqchip) const;
  // Interrupt controllers and PIT only (a reset keeps the clock running).
  void restore_devices(int vm_fd) const;
  void write(StateWriter &out, bool irqchip) const;
  void read(StateReader &in, bool irqchip);
};

} // namespace sable::kvm
