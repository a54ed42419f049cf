#pragma once
// The software-CPU engine: one host thread per vCPU running the
// interpreter (and later the JIT) over cpu::Cpu. A halted vCPU, or an
// application processor waiting for its startup IPI, sleeps on a condition
// variable until its local APIC wakes it or the machine stops it.
//
// Threads: a vCPU's CpuState belongs to its thread. Other threads (local
// APICs delivering IPIs, devices, the machine) only leave requests under
// the vCPU's lock or in atomics (INIT, SIPI, NMI, the A20 gate) and make
// run() return; the vCPU's thread applies them between two run() slices.
// No engine lock is held while guest code runs.

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "accel/engine.h"
#include "cpu/cpu.h"

namespace sable {

class GuestMemory;
class IoPortBus;
class InterruptController;
class LocalApicPort;

class SoftEngine : public Engine {
public:
  struct Vcpu {
    // Where the vCPU takes external interrupts (its local APIC); calls
    // other than interrupt_pending() are made under the machine lock.
    InterruptController *interrupts = nullptr;
    LocalApicPort *apic = nullptr;
  };
  struct Config {
    GuestMemory *memory = nullptr;
    IoPortBus *io = nullptr;
    std::recursive_mutex *machine_lock = nullptr;
    std::vector<Vcpu> vcpus{Vcpu{}};
    bool no_reboot = false;
  };

  explicit SoftEngine(const Config &config);
  ~SoftEngine() override;

  std::string_view name() const override { return "tcg"; }
  unsigned vcpu_count() const override { return unsigned(vcpus_.size()); }
  RunOutcome run() override;
  void request_stop(RunOutcome outcome) override;
  void pause() override;
  void resume() override;
  void reset() override;
  cpu::CpuState get_state(unsigned vcpu) override;
  void set_state(unsigned vcpu, const cpu::CpuState &state) override;
  void set_debug_handler(DebugHandler handler) override;
  std::string set_debug_points(const cpu::DebugPoints &points) override;
  void resume_debug(const std::vector<VcpuRun> &modes) override;
  void save(StateWriter &out) override;
  void load(StateReader &in) override;

  // From the vCPU's local APIC, on any thread.
  void wake(unsigned vcpu);
  void nmi(unsigned vcpu);
  void init(unsigned vcpu);
  void startup(unsigned vcpu, uint8_t vector);

  // The A20 gate (i8042 output port, port 0x92): closed, physical address
  // bit 20 reads as 0, as on a PC. Every vCPU applies it at its next block
  // boundary.
  void set_a20(bool enabled);

  // The vCPU the calling thread runs, 0 on threads that run none: the
  // processor a memory access to the local APIC's page comes from.
  static unsigned current_vcpu();

private:
  class LockedInterrupts;
  struct Runner {
    unsigned index = 0;
    std::unique_ptr<LockedInterrupts> interrupts;
    std::unique_ptr<cpu::Cpu> cpu;
    std::thread thread;
    // Guards the fields up to `nmi`.
    std::mutex lock;
    std::condition_variable wake;
    bool kicked = false;
    // An application processor after INIT: it runs only after a SIPI.
    bool waiting_for_startup = false;
    // The vector of a SIPI received while waiting, or -1.
    int startup_vector = -1;
    std::atomic<bool> nmi{false};
    // A triple fault reported to the debugger: resuming acts on it.
    bool shutdown_pending = false;
  };

  void vcpu_loop(Runner &vcpu);
  // Applies what other threads asked for; false while the vCPU waits for
  // its startup IPI.
  bool prepare_to_run(Runner &vcpu);
  void start_application_processor(Runner &vcpu, uint8_t vector);
  void sleep_until_woken(Runner &vcpu);
  void wait_while_paused(unsigned index);
  // On the vCPU's thread: pause everything and tell the debugger.
  void debug_stop(const cpu::DebugEvent &event);
  void kick(Runner &vcpu);
  // TSC-deadline timers count from the CPU's TSC offset.
  static void sync_apic_tsc(cpu::Cpu &cpu);
  // All TSCs count from vCPU 0's power-on, as on a PC: Linux checks.
  void synchronize_tscs();
  void kick_all();

  Config config_;
  std::vector<std::unique_ptr<Runner>> vcpus_;
  std::atomic<bool> stopping_{false};
  RunOutcome outcome_ = RunOutcome::Stopped;
  std::atomic<uint64_t> a20_mask_{~uint64_t{0}};
  std::mutex control_lock_;
  std::condition_variable control_changed_;
  bool paused_ = false;
  // Under control_lock_: vCPU threads inside run(), those of them parked
  // by pause() or the debugger, and the vCPUs the debugger keeps stopped.
  unsigned running_ = 0;
  unsigned parked_ = 0;
  std::vector<bool> held_;
  DebugHandler debug_handler_;
  cpu::DebugPoints debug_points_;
};

} // namespace sable
