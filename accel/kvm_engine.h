#pragma once
// The Engine over /dev/kvm: a VM with one memory slot per host-backed
// segment of GuestMemory, the in-kernel irqchip and PIT by default, and
// one thread per vCPU running KVM_RUN, whose exits go to the same buses
// the software CPU uses.

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "accel/engine.h"
#include "accel/kvm_memory.h"
#include "accel/kvm_state.h"
#include "accel/kvm_system.h"
#include "accel/kvm_vcpu.h"
#include "machine/irq.h"

namespace sable {

class GuestMemory;
class IoPortBus;

struct KvmOptions {
  // KVM's PIC pair, IOAPIC, LAPICs and PIT (ports 0x20/0xa0, 0x40-0x43,
  // 0x61, 0x4d0/0x4d1, 0xfec00000, 0xfee00000 then never leave the kernel).
  bool irqchip = true;
  // -no-reboot: a triple fault or reset request ends with Shutdown.
  bool no_reboot = false;
  // Without the irqchip: the userspace controller vCPU 0 takes external
  // interrupts from (none: no external interrupts).
  InterruptController *interrupts = nullptr;
  // The lock device state is guarded by; taken around MMIO exits and the
  // userspace controller. Optional when neither needs it (tests).
  std::recursive_mutex *machine_lock = nullptr;
  std::string device = "/dev/kvm";
};

class KvmEngine final : public Engine, private kvm::VcpuHost {
public:
  // vCPU 0 starts at `boot_state` (from a boot loader) or at the power-on
  // state; the others wait for INIT/SIPI. Throws std::runtime_error with a
  // one-line reason when KVM is missing or lacks something required.
  KvmEngine(GuestMemory &memory, IoPortBus &io, unsigned vcpu_count,
            const std::optional<cpu::CpuState> &boot_state,
            const KvmOptions &options = {});
  ~KvmEngine() override;

  std::string_view name() const override { return "kvm"; }
  unsigned vcpu_count() const override {
    return static_cast<unsigned>(vcpus_.size());
  }
  RunOutcome run() override;
  void request_stop(RunOutcome outcome) override;
  // Waits until every vCPU thread is parked: never call it with the
  // machine lock held (a vCPU may be waiting for it in a device access).
  void pause() override;
  void resume() override;
  // reset, get_state, set_state, save and load: only while run() is not
  // active or the engine is paused.
  void reset() override;
  cpu::CpuState get_state(unsigned vcpu) override;
  void set_state(unsigned vcpu, const cpu::CpuState &state) override;
  // Software breakpoints are INT3 bytes in guest memory while the guest
  // runs, removed whenever it is paused (so the debugger never sees them);
  // hardware breakpoints and watchpoints share the four debug registers.
  void set_debug_handler(DebugHandler handler) override;
  std::string set_debug_points(const cpu::DebugPoints &points) override;
  void resume_debug(const std::vector<VcpuRun> &modes) override;
  void save(StateWriter &out) override;
  void load(StateReader &in) override;

  // For IrqRouter::add_sink. With the irqchip, GSI levels go to
  // KVM_IRQ_LINE (GSI 0 reaches IOAPIC pin 2, as the usual IRQ0 override
  // says); without it, a change wakes vCPU 0 to look at the controller.
  // Called with the machine lock held.
  IrqSink &irq_sink() { return irq_sink_; }

private:
  class KvmIrqSink final : public IrqSink {
  public:
    explicit KvmIrqSink(KvmEngine &engine) : engine_(engine) {}
    void set_irq(unsigned gsi, bool level) override;

  private:
    KvmEngine &engine_;
  };

  void check_capabilities(unsigned vcpu_count) const;
  void create_irqchip();
  void set_power_on_state(unsigned vcpu);
  void kick_all();

  bool checkpoint(unsigned vcpu) override;
  void debug_exit(unsigned vcpu, const kvm_debug_exit_arch &arch) override;
  bool debug_shutdown(unsigned vcpu) override;
  // On a vCPU thread: pause everything and tell the debugger.
  void debug_stop(const cpu::DebugEvent &event);
  void insert_breakpoints();
  void remove_breakpoints();
  void apply_guest_debug(const std::vector<VcpuRun> &modes);
  bool run_interrupted() override { return interrupted_.load(); }
  // Under mutex_: keeps interrupted_ in step with the requests.
  void update_interrupted();
  uint64_t interrupt_generation() override;
  bool wait_interrupt_change(uint64_t seen) override;

  KvmOptions options_;
  kvm::KvmSystem system_;
  kvm::UniqueFd vm_;
  kvm::SnapshotFeatures features_;
  uint32_t cpuid_signature_ = 0;
  std::shared_ptr<kvm::KvmMemorySlots> slots_;
  std::vector<std::unique_ptr<kvm::KvmVcpu>> vcpus_;
  // KVM's own state right after creation, which a reset returns to before
  // the architectural power-on registers are loaded.
  std::vector<kvm::VcpuSnapshot> pristine_vcpus_;
  kvm::VmSnapshot pristine_vm_;
  KvmIrqSink irq_sink_{*this};

  std::mutex mutex_;
  std::condition_variable changed_;
  bool running_ = false;
  bool stop_requested_ = false;
  RunOutcome outcome_ = RunOutcome::Stopped;
  bool pause_requested_ = false;
  unsigned active_threads_ = 0;
  unsigned paused_threads_ = 0;
  uint64_t interrupt_generation_ = 0;
  std::atomic<bool> interrupted_{false};

  // The debugger's state; changed only while paused.
  struct DebugRegister {
    uint64_t address;
    unsigned type;   // DR7 R/W: 0 execute, 1 write, 3 read or write
    unsigned length; // bytes: 1, 2, 4 or 8
    bool watch;      // a watchpoint (else a hardware breakpoint)
    cpu::Watchpoint watchpoint;
  };
  struct Int3 {
    uint64_t linear;
    uint64_t physical;
    uint8_t original = 0;
    bool inserted = false;
  };
  GuestMemory &memory_;
  DebugHandler debug_handler_;
  cpu::DebugPoints debug_points_;
  std::vector<DebugRegister> debug_registers_;
  std::vector<Int3> int3s_;
  std::vector<bool> held_;         // under mutex_
  std::vector<bool> stepping_;     // written while paused
  bool shutdown_pending_ = false;  // under mutex_
  uint32_t guest_debug_flags_ = 0; // KVM_CAP_SET_GUEST_DEBUG2, when known
};

} // namespace sable
