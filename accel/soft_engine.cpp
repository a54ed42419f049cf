#include "accel/soft_engine.h"

#include "machine/irq.h"
#include "machine/state.h"

namespace sable {

namespace {
// Blocks per Cpu::run call: long enough to amortize the call, short enough
// that pause and stop requests are seen promptly.
constexpr uint64_t kBlocksPerSlice = 4096;

// The vCPU this thread runs (see current_vcpu), and for which engine.
thread_local unsigned this_thread_vcpu = 0;
thread_local const SoftEngine *this_thread_engine = nullptr;
} // namespace

// A vCPU's interrupt controller as its thread sees it: the pending check
// stays lock-free (the local APIC keeps an atomic flag); the INTA cycle,
// which may reach into the PIC, takes the machine lock.
class SoftEngine::LockedInterrupts : public InterruptController {
public:
  LockedInterrupts(InterruptController &controller, std::recursive_mutex &lock)
      : controller_(controller), lock_(lock) {}
  bool interrupt_pending() override { return controller_.interrupt_pending(); }
  const std::atomic<bool> *pending_flag() const override {
    return controller_.pending_flag();
  }
  uint8_t acknowledge_interrupt() override {
    std::lock_guard guard(lock_);
    return controller_.acknowledge_interrupt();
  }

private:
  InterruptController &controller_;
  std::recursive_mutex &lock_;
};

SoftEngine::SoftEngine(const Config &config) : config_(config) {
  for (unsigned i = 0; i < config_.vcpus.size(); ++i) {
    auto vcpu = std::make_unique<Runner>();
    vcpu->index = i;
    cpu::CpuEnvironment env;
    env.memory = config_.memory;
    env.io = config_.io;
    env.apic = config_.vcpus[i].apic;
    env.index = i;
    env.vcpu_count = static_cast<unsigned>(config_.vcpus.size());
    if (config_.vcpus[i].interrupts) {
      vcpu->interrupts = std::make_unique<LockedInterrupts>(
          *config_.vcpus[i].interrupts, *config_.machine_lock);
      env.interrupts = vcpu->interrupts.get();
    }
    vcpu->cpu = std::make_unique<cpu::Cpu>(env);
    vcpu->waiting_for_startup = i > 0;
    vcpus_.push_back(std::move(vcpu));
  }
  synchronize_tscs();
  held_.assign(vcpus_.size(), false);
}

SoftEngine::~SoftEngine() {
  request_stop(RunOutcome::Stopped);
  for (auto &vcpu : vcpus_)
    if (vcpu->thread.joinable())
      vcpu->thread.join();
}

unsigned SoftEngine::current_vcpu() {
  return this_thread_vcpu;
}

RunOutcome SoftEngine::run() {
  {
    std::lock_guard guard(control_lock_);
    stopping_ = false;
    outcome_ = RunOutcome::Stopped;
    running_ = unsigned(vcpus_.size());
  }
  for (auto &vcpu : vcpus_)
    vcpu->thread = std::thread([this, &vcpu] { vcpu_loop(*vcpu); });
  for (auto &vcpu : vcpus_)
    vcpu->thread.join();
  return outcome_;
}

void SoftEngine::vcpu_loop(Runner &vcpu) {
  this_thread_vcpu = vcpu.index;
  this_thread_engine = this;
  while (!stopping_) {
    wait_while_paused(vcpu.index);
    if (stopping_)
      break;
    if (vcpu.shutdown_pending) {
      vcpu.shutdown_pending = false;
      request_stop(config_.no_reboot ? RunOutcome::Shutdown
                                     : RunOutcome::Reset);
      break;
    }
    if (!prepare_to_run(vcpu)) {
      sleep_until_woken(vcpu);
      continue;
    }
    switch (vcpu.cpu->run(kBlocksPerSlice)) {
    case cpu::StopReason::BudgetExhausted:
    case cpu::StopReason::ExitRequested:
      break;
    case cpu::StopReason::Halted:
      sleep_until_woken(vcpu);
      break;
    case cpu::StopReason::Shutdown:
      if (debug_handler_) {
        vcpu.shutdown_pending = true;
        cpu::DebugEvent event;
        event.kind = cpu::DebugEvent::Kind::TripleFault;
        event.vcpu = vcpu.index;
        debug_stop(event);
        break;
      }
      request_stop(config_.no_reboot ? RunOutcome::Shutdown
                                     : RunOutcome::Reset);
      break;
    case cpu::StopReason::Debug:
      vcpu.cpu->single_step = false;
      debug_stop(vcpu.cpu->debug_hit);
      break;
    }
  }
  {
    std::lock_guard guard(control_lock_);
    --running_;
  }
  control_changed_.notify_all();
}

bool SoftEngine::prepare_to_run(Runner &vcpu) {
  bool started = false;
  {
    std::lock_guard guard(vcpu.lock);
    if (vcpu.waiting_for_startup) {
      if (vcpu.startup_vector < 0)
        return false;
      start_application_processor(vcpu, uint8_t(vcpu.startup_vector));
      started = true;
    }
  }
  cpu::Cpu &cpu = *vcpu.cpu;
  if (started)
    sync_apic_tsc(cpu);
  if (vcpu.nmi.exchange(false, std::memory_order_acq_rel))
    cpu.state.nmi_pending = true;
  // Cpu::run flushes the TLB when the mask differs from the TLB's.
  cpu.state.a20_mask = a20_mask_.load(std::memory_order_acquire);
  return true;
}

// A SIPI after INIT: the processor starts in real mode at vector:0000
// (Intel SDM "MP Initialization Protocol"). INIT does not touch the TSC.
void SoftEngine::start_application_processor(Runner &vcpu, uint8_t vector) {
  cpu::Cpu &cpu = *vcpu.cpu;
  const uint64_t tsc_offset = cpu.state.msr.tsc_offset;
  cpu.reset();
  cpu.state.msr.tsc_offset = tsc_offset;
  cpu::Segment &cs = cpu.state.seg[cpu::CS];
  cs.selector = static_cast<uint16_t>(vector << 8);
  cs.base = uint64_t{vector} << 12;
  cpu.state.rip = 0;
  vcpu.waiting_for_startup = false;
  vcpu.startup_vector = -1;
  vcpu.nmi.store(false, std::memory_order_relaxed);
}

// On this vCPU's thread. A halted processor with IF clear wakes for NMIs
// (and INIT, SIPI, stop) only, so pending interrupts do not make it spin.
void SoftEngine::sleep_until_woken(Runner &vcpu) {
  cpu::Cpu &cpu = *vcpu.cpu;
  InterruptController *interrupts = cpu.env.interrupts;
  std::unique_lock guard(vcpu.lock);
  vcpu.wake.wait(guard, [&] {
    if (vcpu.kicked || stopping_)
      return true;
    if (vcpu.waiting_for_startup)
      return vcpu.startup_vector >= 0;
    if (vcpu.nmi.load(std::memory_order_acquire) || cpu.state.nmi_pending)
      return true;
    return (cpu.state.rflags & cpu::IF) && interrupts &&
           interrupts->interrupt_pending();
  });
  vcpu.kicked = false;
}

void SoftEngine::wait_while_paused(unsigned index) {
  std::unique_lock guard(control_lock_);
  auto may_run = [&] { return (!paused_ && !held_[index]) || stopping_; };
  if (may_run())
    return;
  ++parked_;
  control_changed_.notify_all();
  control_changed_.wait(guard, may_run);
  --parked_;
}

void SoftEngine::debug_stop(const cpu::DebugEvent &event) {
  {
    std::lock_guard guard(control_lock_);
    paused_ = true;
  }
  kick_all();
  if (debug_handler_)
    debug_handler_(event);
}

void SoftEngine::kick(Runner &vcpu) {
  vcpu.cpu->request_exit();
  {
    std::lock_guard guard(vcpu.lock);
    vcpu.kicked = true;
  }
  vcpu.wake.notify_all();
}

void SoftEngine::kick_all() {
  for (auto &vcpu : vcpus_)
    kick(*vcpu);
  control_changed_.notify_all();
}

void SoftEngine::wake(unsigned vcpu) {
  Runner &runner = *vcpus_.at(vcpu);
  {
    std::lock_guard guard(runner.lock);
    runner.kicked = true;
  }
  runner.wake.notify_all();
}

void SoftEngine::nmi(unsigned vcpu) {
  Runner &runner = *vcpus_.at(vcpu);
  runner.nmi.store(true, std::memory_order_release);
  runner.cpu->request_exit();
  wake(vcpu);
}

void SoftEngine::init(unsigned vcpu) {
  // The bootstrap processor's INIT is a reset request the machine handles;
  // an application processor goes back to waiting for its startup IPI.
  if (vcpu == 0)
    return;
  Runner &runner = *vcpus_.at(vcpu);
  std::lock_guard guard(runner.lock);
  runner.waiting_for_startup = true;
  runner.startup_vector = -1;
  runner.cpu->request_exit();
}

// Only the first SIPI after INIT counts; the second one a guest sends
// by protocol finds the processor running, or already told to start.
void SoftEngine::startup(unsigned vcpu, uint8_t vector) {
  Runner &runner = *vcpus_.at(vcpu);
  {
    std::lock_guard guard(runner.lock);
    if (!runner.waiting_for_startup || runner.startup_vector >= 0)
      return;
    runner.startup_vector = vector;
    runner.kicked = true;
  }
  runner.wake.notify_all();
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

// Returns once every vCPU thread is parked, so their state may be read;
// from a vCPU thread itself it cannot wait for its own thread. Not under
// the machine lock, which a vCPU may be waiting for.
void SoftEngine::pause() {
  {
    std::lock_guard guard(control_lock_);
    paused_ = true;
  }
  kick_all();
  if (this_thread_engine == this)
    return;
  std::unique_lock guard(control_lock_);
  control_changed_.wait(guard,
                        [&] { return parked_ == running_ || stopping_; });
}

void SoftEngine::resume() {
  {
    std::lock_guard guard(control_lock_);
    paused_ = false;
  }
  control_changed_.notify_all();
}

void SoftEngine::set_debug_handler(DebugHandler handler) {
  debug_handler_ = std::move(handler);
}

std::string SoftEngine::set_debug_points(const cpu::DebugPoints &points) {
  debug_points_ = points;
  for (auto &vcpu : vcpus_)
    vcpu->cpu->debug = debug_points_.empty() ? nullptr : &debug_points_;
  return "";
}

void SoftEngine::resume_debug(const std::vector<VcpuRun> &modes) {
  {
    std::lock_guard guard(control_lock_);
    for (size_t i = 0; i < vcpus_.size(); ++i) {
      VcpuRun mode = i < modes.size() ? modes[i] : VcpuRun::Continue;
      held_[i] = mode == VcpuRun::Hold;
      vcpus_[i]->cpu->single_step = mode == VcpuRun::Step;
    }
    paused_ = false;
  }
  control_changed_.notify_all();
}

// With the vCPU threads stopped.
void SoftEngine::reset() {
  for (size_t i = 0; i < vcpus_.size(); ++i) {
    Runner &vcpu = *vcpus_[i];
    vcpu.cpu->reset();
    vcpu.waiting_for_startup = i > 0;
    vcpu.startup_vector = -1;
    vcpu.kicked = false;
    vcpu.nmi.store(false, std::memory_order_relaxed);
    vcpu.shutdown_pending = false;
  }
  synchronize_tscs();
}

void SoftEngine::synchronize_tscs() {
  if (vcpus_.empty())
    return;
  const uint64_t offset = vcpus_[0]->cpu->state.msr.tsc_offset;
  for (auto &vcpu : vcpus_) {
    vcpu->cpu->state.msr.tsc_offset = offset;
    sync_apic_tsc(*vcpu->cpu);
  }
}

void SoftEngine::sync_apic_tsc(cpu::Cpu &cpu) {
  if (cpu.env.apic)
    cpu.env.apic->set_tsc_offset(cpu.state.msr.tsc_offset);
}

void SoftEngine::set_a20(bool enabled) {
  a20_mask_.store(enabled ? ~uint64_t{0} : ~(uint64_t{1} << 20),
                  std::memory_order_release);
  for (auto &vcpu : vcpus_)
    vcpu->cpu->request_exit();
}

cpu::CpuState SoftEngine::get_state(unsigned vcpu) {
  cpu::Cpu &cpu = *vcpus_.at(vcpu)->cpu;
  cpu::CpuState state = cpu.state;
  state.rflags = cpu.rflags();
  state.lazy = {};
  return state;
}

void SoftEngine::set_state(unsigned vcpu, const cpu::CpuState &state) {
  cpu::Cpu &cpu = *vcpus_.at(vcpu)->cpu;
  cpu.state = state;
  cpu.state.lazy = {};
  cpu.set_rflags(state.rflags);
  cpu.flush_tlb(true);
  cpu.tlb.pdptes_loaded = false;
  sync_apic_tsc(cpu);
  // prepare_to_run gives every vCPU the engine's A20 mask.
  if (vcpu == 0)
    a20_mask_.store(state.a20_mask, std::memory_order_release);
}

void SoftEngine::save(StateWriter &out) {
  // Version 4: CpuState gained the block's entry RIP after the always-0
  // address slot (version 3) after RIP.
  out.begin_section("soft-engine", 4);
  out.u32(vcpu_count());
  for (unsigned i = 0; i < vcpu_count(); ++i) {
    cpu::CpuState state = get_state(i);
    out.bytes(&state, sizeof state);
  }
  out.end_section();
}

void SoftEngine::load(StateReader &in) {
  if (in.begin_section("soft-engine", 4) != 4)
    throw StateError("snapshot has an older vCPU state layout");
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
