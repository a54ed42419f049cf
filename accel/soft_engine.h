#pragma once
// The software-CPU engine: one host thread per vCPU running the
// interpreter (and later the JIT) over cpu::Cpu. A halted vCPU, or an
// application processor waiting for its startup IPI, sleeps on a condition
// variable until its local APIC wakes it or the machine stops it.

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
  // bit 20 reads as 0, as on a PC.
  void set_a20(bool enabled);

private:
  class LockedInterrupts;
  struct Runner {
    std::unique_ptr<LockedInterrupts> interrupts;
    std::unique_ptr<cpu::Cpu> cpu;
    std::thread thread;
    std::mutex lock;
    std::condition_variable wake;
    bool kicked = false;
    // An application processor after INIT: it runs only after a SIPI.
    bool waiting_for_startup = false;
    // A triple fault reported to the debugger: resuming acts on it.
    bool shutdown_pending = false;
  };

  void vcpu_loop(Runner &vcpu, unsigned index);
  void sleep_until_woken(Runner &vcpu);
  void wait_while_paused(unsigned index);
  // On the vCPU's thread: pause everything and tell the debugger.
  void debug_stop(const cpu::DebugEvent &event);
  void kick(Runner &vcpu);
  // TSC-deadline timers count from the CPU's TSC offset.
  static void sync_apic_tsc(cpu::Cpu &cpu);
  void kick_all();

  Config config_;
  std::vector<std::unique_ptr<Runner>> vcpus_;
  std::atomic<bool> stopping_{false};
  RunOutcome outcome_ = RunOutcome::Stopped;
  std::mutex control_lock_;
  std::condition_variable control_changed_;
  bool paused_ = false;
  // Under control_lock_: vCPUs the debugger keeps stopped, the vCPU
  // threads alive in run(), and those parked in wait_while_paused.
  std::vector<bool> held_;
  unsigned active_threads_ = 0;
  unsigned parked_threads_ = 0;
  DebugHandler debug_handler_;
  cpu::DebugPoints debug_points_;
};

} // namespace sable
