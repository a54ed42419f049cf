#pragma once
// One KVM vCPU: its fd, the shared kvm_run page, the KVM_RUN loop and the
// dispatch of exits to the machine's buses. The engine owns the vCPUs and
// decides when loops run, pause and end (VcpuHost).

#include <cstdint>
#include <mutex>
#include <pthread.h>
#include <string>
#include <vector>

#include <linux/kvm.h>

#include "accel/engine.h"
#include "accel/kvm_state.h"
#include "accel/kvm_system.h"
#include "cpu/state.h"

namespace sable {
class GuestMemory;
class IoPortBus;
class InterruptController;
} // namespace sable

namespace sable::kvm {

// What the run loop asks of its engine.
class VcpuHost {
public:
  virtual ~VcpuHost() = default;
  // Between two KVM_RUNs: blocks while the engine is paused (or holds
  // this vCPU for the debugger); false when the run is over.
  virtual bool checkpoint(unsigned vcpu) = 0;
  // KVM_EXIT_DEBUG: a breakpoint, watchpoint or single step of the
  // debugger's (the vCPU then stops), or the guest's own #DB/#BP, which
  // the engine hands back to the guest.
  virtual void debug_exit(unsigned vcpu, const kvm_debug_exit_arch &arch) = 0;
  // A triple fault: true when a debugger takes it (the vCPU stops).
  virtual bool debug_shutdown(unsigned vcpu) = 0;
  // Whether a pause or the end of the run has been requested; cheap, for
  // the loop to finish an exit KVM still has to complete first.
  virtual bool run_interrupted() = 0;
  // Ends the run with `outcome` (the first request wins).
  virtual void request_stop(RunOutcome outcome) = 0;
  // Counts userspace interrupt-line changes, so a halted vCPU can sleep
  // until the next one without missing it.
  virtual uint64_t interrupt_generation() = 0;
  // Sleeps until the generation moves past `seen` or the run is paused or
  // stopped; false in the latter case.
  virtual bool wait_interrupt_change(uint64_t seen) = 0;
};

struct VcpuWiring {
  GuestMemory *memory = nullptr;
  IoPortBus *io = nullptr;
  // Without an in-kernel irqchip: the controller whose interrupts this
  // vCPU injects with KVM_INTERRUPT.
  InterruptController *interrupts = nullptr;
  // Held around MMIO exits and calls into `interrupts`; may be null.
  std::recursive_mutex *machine_lock = nullptr;
  bool no_reboot = false;
};

class KvmVcpu {
public:
  KvmVcpu(const KvmSystem &system, int vm_fd, unsigned index,
          const VcpuWiring &wiring, VcpuHost &host,
          const SnapshotFeatures &features);
  ~KvmVcpu();
  KvmVcpu(const KvmVcpu &) = delete;
  KvmVcpu &operator=(const KvmVcpu &) = delete;

  unsigned index() const { return index_; }
  int fd() const { return fd_.get(); }

  void set_cpuid(const std::vector<kvm_cpuid_entry2> &entries);
  // Only while the vCPU's loop is not running or is paused.
  cpu::CpuState get_state();
  void set_state(const cpu::CpuState &state);
  void set_mp_state(uint32_t mp_state);
  // KVM_SET_GUEST_DEBUG; only while the loop is not running or is paused.
  void set_guest_debug(const kvm_guest_debug &debug);
  // Hands an exception KVM stopped on for the debugger back to the guest.
  void inject_exception(uint8_t vector);
  VcpuSnapshot snapshot();
  void restore(const VcpuSnapshot &snapshot);

  // Thread body: runs until the host's checkpoint says the run is over.
  // Host errors end the run with RunOutcome::Shutdown and a message.
  void run_loop();
  // Thread-safe: makes a current or the next KVM_RUN return at once.
  void kick();

private:
  bool enter_guest();
  void complete_pending_exit();
  void handle_exit();
  void handle_io();
  void handle_mmio();
  void fatal(const std::string &what);
  void inject_interrupt();
  bool wait_while_halted();
  void run_loop_body();

  unsigned index_;
  UniqueFd fd_;
  kvm_run *run_ = nullptr;
  size_t run_size_ = 0;
  VcpuWiring wiring_;
  VcpuHost &host_;
  SnapshotFeatures features_;

  // HLT seen and no interrupt injected since (only without the in-kernel
  // irqchip, which handles HLT itself).
  bool halted_ = false;
  // An I/O or MMIO exit KVM finishes only at the next KVM_RUN (an input's
  // data goes into the guest's register then): the state is not consistent
  // for get_state or save until then.
  bool exit_needs_completion_ = false;

  std::mutex thread_lock_;
  bool thread_registered_ = false;
  pthread_t thread_{};
};

} // namespace sable::kvm
