#pragma once
// The software-CPU engine: one host thread per vCPU running the
// interpreter (and later the JIT) over cpu::Cpu. A halted vCPU sleeps on a
// condition variable until an interrupt arrives or the machine stops it.

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

class SoftEngine : public Engine {
public:
  struct Config {
    GuestMemory *memory = nullptr;
    IoPortBus *io = nullptr;
    // Where vCPU 0 takes external interrupts (the PIC until the LAPIC
    // exists); its calls are made under the machine lock.
    InterruptController *interrupts = nullptr;
    std::recursive_mutex *machine_lock = nullptr;
    unsigned vcpus = 1;
    bool no_reboot = false;
  };

  explicit SoftEngine(const Config &config);
  ~SoftEngine() override;

  std::string_view name() const override { return "tcg"; }
  unsigned vcpu_count() const override { return unsigned(cpus_.size()); }
  RunOutcome run() override;
  void request_stop(RunOutcome outcome) override;
  void pause() override;
  void resume() override;
  void reset() override;
  cpu::CpuState get_state(unsigned vcpu) override;
  void set_state(unsigned vcpu, const cpu::CpuState &state) override;
  void save(StateWriter &out) override;
  void load(StateReader &in) override;

  // The interrupt controller's output changed: wake vCPU 0 if it sleeps in
  // HLT. Called under the machine lock from any thread.
  void interrupt_line_changed(bool asserted);
  // The A20 gate (i8042 output port, port 0x92): closed, physical address
  // bit 20 reads as 0, as on a PC.
  void set_a20(bool enabled);

private:
  class LockedInterrupts;
  struct Vcpu {
    std::unique_ptr<cpu::Cpu> cpu;
    std::thread thread;
    std::mutex lock;
    std::condition_variable wake;
    bool kicked = false;
  };

  void vcpu_loop(Vcpu &vcpu);
  void sleep_while_halted(Vcpu &vcpu);
  void wait_while_paused();
  void kick_all();

  Config config_;
  std::unique_ptr<LockedInterrupts> interrupts_;
  std::vector<std::unique_ptr<Vcpu>> cpus_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> interrupt_asserted_{false};
  RunOutcome outcome_ = RunOutcome::Stopped;
  std::mutex control_lock_;
  std::condition_variable control_changed_;
  bool paused_ = false;
};

} // namespace sable
