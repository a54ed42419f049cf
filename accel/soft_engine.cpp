#include "accel/soft_engine.h"

#include "machine/irq.h"
#include "machine/state.h"

namespace sable {

namespace {
// Blocks per Cpu::run call: long enough to amortize the call, short enough
// that pause and stop requests are seen promptly.
constexpr uint64_t kBlocksPerSlice = 4096;
} // namespace

// The interrupt controller seen from a vCPU thread: the pending check is a
// lock-free flag kept by the controller's output line; only the INTA cycle
// takes the machine lock.
class SoftEngine::LockedInterrupts : public InterruptController {
public:
  LockedInterrupts(SoftEngine &engine) : engine_(engine) {}
  bool interrupt_pending() override {
    return engine_.interrupt_asserted_.load(std::memory_order_acquire);
  }
  uint8_t acknowledge_interrupt() override {
    std::lock_guard guard(*engine_.config_.machine_lock);
    return engine_.config_.interrupts->acknowledge_interrupt();
  }

private:
  SoftEngine &engine_;
};

SoftEngine::SoftEngine(const Config &config)
    : config_(config), interrupts_(std::make_unique<LockedInterrupts>(*this)) {
  for (unsigned i = 0; i < config_.vcpus; ++i) {
    cpu::CpuEnvironment env;
    env.memory = config_.memory;
    env.io = config_.io;
    env.interrupts = i == 0 && config_.interrupts ? interrupts_.get() : nullptr;
    env.index = i;
    auto vcpu = std::make_unique<Vcpu>();
    vcpu->cpu = std::make_unique<cpu::Cpu>(env);
    cpus_.push_back(std::move(vcpu));
  }
}

SoftEngine::~SoftEngine() {
  request_stop(RunOutcome::Stopped);
  for (auto &vcpu : cpus_)
    if (vcpu->thread.joinable())
      vcpu->thread.join();
}

RunOutcome SoftEngine::run() {
  stopping_ = false;
  outcome_ = RunOutcome::Stopped;
  // Application processors wait for INIT/SIPI, which needs the local APIC;
  // until then only the bootstrap processor runs.
  cpus_[0]->thread = std::thread([this] { vcpu_loop(*cpus_[0]); });
  cpus_[0]->thread.join();
  return outcome_;
}

void SoftEngine::vcpu_loop(Vcpu &vcpu) {
  while (!stopping_) {
    wait_while_paused();
    if (stopping_)
      break;
    cpu::StopReason reason = vcpu.cpu->run(kBlocksPerSlice);
    switch (reason) {
    case cpu::StopReason::BudgetExhausted:
    case cpu::StopReason::ExitRequested:
      break;
    case cpu::StopReason::Halted:
      sleep_while_halted(vcpu);
      break;
    case cpu::StopReason::Shutdown:
      request_stop(config_.no_reboot ? RunOutcome::Shutdown
                                     : RunOutcome::Reset);
      break;
    }
  }
}

void SoftEngine::sleep_while_halted(Vcpu &vcpu) {
  std::unique_lock guard(vcpu.lock);
  vcpu.wake.wait(guard, [&] {
    return vcpu.kicked || stopping_ || interrupt_asserted_ ||
           vcpu.cpu->state.nmi_pending;
  });
  vcpu.kicked = false;
}

void SoftEngine::wait_while_paused() {
  std::unique_lock guard(control_lock_);
  control_changed_.wait(guard, [&] { return !paused_ || stopping_; });
}

void SoftEngine::interrupt_line_changed(bool asserted) {
  interrupt_asserted_.store(asserted, std::memory_order_release);
  if (!asserted)
    return;
  Vcpu &bsp = *cpus_[0];
  {
    std::lock_guard guard(bsp.lock);
    bsp.kicked = true;
  }
  bsp.wake.notify_one();
}

void SoftEngine::set_a20(bool enabled) {
  for (auto &vcpu : cpus_) {
    vcpu->cpu->state.a20_mask = enabled ? ~uint64_t{0} : ~(uint64_t{1} << 20);
    vcpu->cpu->flush_tlb(true);
  }
}

void SoftEngine::kick_all() {
  for (auto &vcpu : cpus_) {
    vcpu->cpu->request_exit();
    {
      std::lock_guard guard(vcpu->lock);
      vcpu->kicked = true;
    }
    vcpu->wake.notify_all();
  }
  control_changed_.notify_all();
}

void SoftEngine::request_stop(RunOutcome outcome) {
  {
    std::lock_guard guard(control_lock_);
    if (stopping_)
      return;
    outcome_ = outcome;
    stopping_ = true;
  }
  kick_all();
}

void SoftEngine::pause() {
  {
    std::lock_guard guard(control_lock_);
    paused_ = true;
  }
  kick_all();
}

void SoftEngine::resume() {
  {
    std::lock_guard guard(control_lock_);
    paused_ = false;
  }
  control_changed_.notify_all();
}

void SoftEngine::reset() {
  for (auto &vcpu : cpus_)
    vcpu->cpu->reset();
}

cpu::CpuState SoftEngine::get_state(unsigned vcpu) {
  cpu::Cpu &cpu = *cpus_.at(vcpu)->cpu;
  cpu::CpuState state = cpu.state;
  state.rflags = cpu.rflags();
  state.lazy = {};
  return state;
}

void SoftEngine::set_state(unsigned vcpu, const cpu::CpuState &state) {
  cpu::Cpu &cpu = *cpus_.at(vcpu)->cpu;
  cpu.state = state;
  cpu.state.lazy = {};
  cpu.set_rflags(state.rflags);
  cpu.flush_tlb(true);
}

void SoftEngine::save(StateWriter &out) {
  out.begin_section("soft-engine", 1);
  out.u32(vcpu_count());
  for (unsigned i = 0; i < vcpu_count(); ++i) {
    cpu::CpuState state = get_state(i);
    out.bytes(&state, sizeof state);
  }
  out.end_section();
}

void SoftEngine::load(StateReader &in) {
  in.begin_section("soft-engine", 1);
  if (in.u32() != vcpu_count())
    throw StateError("snapshot has another vCPU count");
  for (unsigned i = 0; i < vcpu_count(); ++i) {
    cpu::CpuState state;
    in.bytes(&state, sizeof state);
    set_state(i, state);
  }
  in.end_section();
}

} // namespace sable
