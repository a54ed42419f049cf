#include "accel/kvm_engine.h"

#include <algorithm>
#include <stdexcept>
#include <sys/ioctl.h>
#include <thread>

#include "cpu/debug.h"
#include "machine/log.h"
#include "machine/memory.h"
#include "machine/state.h"

namespace sable {

namespace {
// VMX needs three pages for the TSS it runs real mode with and one page
// for the identity page table of unpaged protected mode, below 4 GiB and
// outside RAM: between the LAPIC page (0xfee00000) and the BIOS flash.
constexpr uint64_t kIdentityMapAddress = 0xfeffc000;
constexpr uint64_t kTssAddress = 0xfeffd000;

constexpr unsigned kPicGsis = 16, kIoapicPins = 24, kCascadeGsi = 2;

int vm_extension(int vm_fd, int capability) {
  int result = ioctl(vm_fd, KVM_CHECK_EXTENSION, capability);
  return result < 0 ? 0 : result;
}
} // namespace

KvmEngine::KvmEngine(GuestMemory &memory, IoPortBus &io, unsigned vcpu_count,
                     const std::optional<cpu::CpuState> &boot_state,
                     const KvmOptions &options)
    : options_(options), system_(options.device), memory_(memory) {
  check_capabilities(vcpu_count);
  vm_ = kvm::UniqueFd(
      kvm::checked_ioctl(system_.fd(), KVM_CREATE_VM, 0ul, "KVM_CREATE_VM"));
  int vm = vm_.get();

  uint64_t identity_map = kIdentityMapAddress;
  kvm::checked_ioctl(vm, KVM_SET_IDENTITY_MAP_ADDR, &identity_map,
                     "KVM_SET_IDENTITY_MAP_ADDR");
  kvm::checked_ioctl(vm, KVM_SET_TSS_ADDR, kTssAddress, "KVM_SET_TSS_ADDR");
  if (options_.irqchip)
    create_irqchip();

  int memslots = system_.extension(KVM_CAP_NR_MEMSLOTS);
  slots_ = std::make_shared<kvm::KvmMemorySlots>(
      vm, memslots > 0 ? static_cast<unsigned>(memslots) : 32);
  slots_->sync(memory);
  memory.add_layout_listener(
      [slots = std::weak_ptr<kvm::KvmMemorySlots>(slots_), &memory] {
        if (auto alive = slots.lock())
          alive->sync(memory);
      });

  features_.irqchip = options_.irqchip;
  if (system_.extension(KVM_CAP_XSAVE) > 0)
    features_.xsave_size =
        std::max<size_t>(kvm::c_abi::kXsaveRegion,
                         static_cast<size_t>(vm_extension(vm, KVM_CAP_XSAVE2)));
  features_.xcrs = system_.extension(KVM_CAP_XCRS) > 0;
  features_.msr_indices = system_.msr_indices();
  for (const kvm_msr_entry &entry : kvm::msrs_of(cpu::CpuState{}))
    if (kvm::msr_supported(entry.index, system_.msr_indices()) &&
        std::find(features_.msr_indices.begin(), features_.msr_indices.end(),
                  entry.index) == features_.msr_indices.end())
      features_.msr_indices.push_back(entry.index);

  int debug_flags = vm_extension(vm, KVM_CAP_SET_GUEST_DEBUG2);
  guest_debug_flags_ = debug_flags > 0 ? static_cast<uint32_t>(debug_flags) : 0;
  held_.assign(vcpu_count, false);
  stepping_.assign(vcpu_count, false);

  for (const kvm_cpuid_entry2 &entry : system_.supported_cpuid())
    if (entry.function == 1)
      cpuid_signature_ = entry.eax;

  kvm::VcpuWiring wiring;
  wiring.memory = &memory;
  wiring.io = &io;
  wiring.machine_lock = options_.machine_lock;
  wiring.no_reboot = options_.no_reboot;
  for (unsigned i = 0; i < vcpu_count; ++i) {
    // Only the bootstrap processor takes userspace external interrupts.
    wiring.interrupts =
        i == 0 && !options_.irqchip ? options_.interrupts : nullptr;
    kvm::VcpuHost &host = *this;
    auto vcpu =
        std::make_unique<kvm::KvmVcpu>(system_, vm, i, wiring, host, features_);
    vcpu->set_cpuid(kvm::guest_cpuid(system_.supported_cpuid(), i, vcpu_count,
                                     options_.irqchip));
    pristine_vcpus_.push_back(vcpu->snapshot());
    vcpus_.push_back(std::move(vcpu));
  }
  if (options_.irqchip)
    pristine_vm_.capture(vm, true);
  // Loading every LAPIC once all vCPUs exist also makes KVM rebuild its
  // APIC ID map with all of them: before that, IPIs to a physical APIC ID
  // miss the vCPUs created after the first.
  reset();
  if (boot_state)
    vcpus_[0]->set_state(*boot_state);
}

KvmEngine::~KvmEngine() = default;

void KvmEngine::check_capabilities(unsigned vcpu_count) const {
  system_.require(KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY");
  system_.require(KVM_CAP_READONLY_MEM, "KVM_CAP_READONLY_MEM");
  system_.require(KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT");
  system_.require(KVM_CAP_SET_TSS_ADDR, "KVM_CAP_SET_TSS_ADDR");
  system_.require(KVM_CAP_SET_IDENTITY_MAP_ADDR,
                  "KVM_CAP_SET_IDENTITY_MAP_ADDR");
  system_.require(KVM_CAP_VCPU_EVENTS, "KVM_CAP_VCPU_EVENTS");
  system_.require(KVM_CAP_DEBUGREGS, "KVM_CAP_DEBUGREGS");
  system_.require(KVM_CAP_ADJUST_CLOCK, "KVM_CAP_ADJUST_CLOCK");
  if (options_.irqchip) {
    system_.require(KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP");
    system_.require(KVM_CAP_PIT2, "KVM_CAP_PIT2");
    system_.require(KVM_CAP_PIT_STATE2, "KVM_CAP_PIT_STATE2");
    system_.require(KVM_CAP_IRQ_ROUTING, "KVM_CAP_IRQ_ROUTING");
    system_.require(KVM_CAP_MP_STATE, "KVM_CAP_MP_STATE");
  }
  if (vcpu_count == 0)
    throw std::runtime_error("KVM: a machine needs at least one vCPU");
  if (vcpu_count > 1 && !options_.irqchip)
    throw std::runtime_error("KVM: more than one vCPU needs the in-kernel "
                             "irqchip (INIT/SIPI go through its LAPICs)");
  int limit = system_.extension(KVM_CAP_MAX_VCPUS);
  if (limit <= 0)
    limit = system_.extension(KVM_CAP_NR_VCPUS);
  if (limit > 0 && vcpu_count > static_cast<unsigned>(limit))
    throw std::runtime_error("KVM supports at most " + std::to_string(limit) +
                             " vCPUs, " + std::to_string(vcpu_count) +
                             " requested");
}

void KvmEngine::create_irqchip() {
  int vm = vm_.get();
  kvm::checked_ioctl(vm, KVM_CREATE_IRQCHIP, 0ul, "KVM_CREATE_IRQCHIP");

  // ISA interrupts reach both the PIC pair and the IOAPIC; GSI 2 is the
  // PIC cascade, and the timer's GSI 0 is wired to IOAPIC pin 2.
  std::vector<kvm_irq_routing_entry> routes;
  auto route = [&](unsigned gsi, uint32_t chip, uint32_t pin) {
    kvm_irq_routing_entry entry{};
    entry.gsi = gsi;
    entry.type = KVM_IRQ_ROUTING_IRQCHIP;
    entry.u.irqchip.irqchip = chip;
    entry.u.irqchip.pin = pin;
    routes.push_back(entry);
  };
  for (unsigned gsi = 0; gsi < kPicGsis; ++gsi)
    if (gsi != kCascadeGsi)
      route(gsi, gsi < 8 ? KVM_IRQCHIP_PIC_MASTER : KVM_IRQCHIP_PIC_SLAVE,
            gsi % 8);
  for (unsigned gsi = 0; gsi < kIoapicPins; ++gsi)
    if (gsi != kCascadeGsi)
      route(gsi, KVM_IRQCHIP_IOAPIC, gsi == 0 ? kCascadeGsi : gsi);
  kvm::FlexArray<kvm_irq_routing_entry> table(kvm::c_abi::kRoutingHeader,
                                              routes.size());
  std::copy(routes.begin(), routes.end(), table.entries());
  kvm::checked_ioctl(vm, kvm::c_abi::SET_GSI_ROUTING, table.data(),
                     "KVM_SET_GSI_ROUTING");

  // The dummy speaker port keeps port 0x61 (PIT channel 2 gate and output,
  // which firmware and Linux use for calibration) in the kernel too.
  kvm_pit_config pit{};
  pit.flags = KVM_PIT_SPEAKER_DUMMY;
  kvm::checked_ioctl(vm, KVM_CREATE_PIT2, &pit, "KVM_CREATE_PIT2");
}

void KvmEngine::set_power_on_state(unsigned index) {
  bool bootstrap = index == 0;
  vcpus_[index]->set_state(kvm::power_on_state(bootstrap, cpuid_signature_));
  if (options_.irqchip)
    vcpus_[index]->set_mp_state(bootstrap ? KVM_MP_STATE_RUNNABLE
                                          : KVM_MP_STATE_UNINITIALIZED);
}

RunOutcome KvmEngine::run() {
  {
    std::lock_guard guard(mutex_);
    if (running_)
      throw std::logic_error("KvmEngine::run called while running");
    running_ = true;
    active_threads_ = vcpu_count();
  }
  std::vector<std::thread> threads;
  for (auto &vcpu : vcpus_)
    threads.emplace_back([this, &vcpu] {
      vcpu->run_loop();
      {
        std::lock_guard guard(mutex_);
        --active_threads_;
      }
      changed_.notify_all();
    });
  {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [this] { return stop_requested_; });
  }
  for (std::thread &thread : threads)
    thread.join();
  std::lock_guard guard(mutex_);
  stop_requested_ = false;
  update_interrupted();
  running_ = false;
  return outcome_;
}

void KvmEngine::request_stop(RunOutcome outcome) {
  {
    std::lock_guard guard(mutex_);
    if (!stop_requested_) {
      stop_requested_ = true;
      outcome_ = outcome;
    }
    update_interrupted();
  }
  changed_.notify_all();
  kick_all();
}

void KvmEngine::pause() {
  {
    std::lock_guard guard(mutex_);
    pause_requested_ = true;
    update_interrupted();
  }
  changed_.notify_all();
  kick_all();
  {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [this] { return paused_threads_ == active_threads_; });
  }
  remove_breakpoints();
}

void KvmEngine::resume() {
  {
    std::lock_guard guard(mutex_);
    pause_requested_ = false;
    update_interrupted();
  }
  changed_.notify_all();
}

void KvmEngine::update_interrupted() {
  interrupted_ = stop_requested_ || pause_requested_;
}

void KvmEngine::kick_all() {
  for (auto &vcpu : vcpus_)
    vcpu->kick();
}

bool KvmEngine::checkpoint(unsigned vcpu) {
  std::unique_lock lock(mutex_);
  auto may_run = [&] {
    return (!pause_requested_ && !held_[vcpu]) || stop_requested_;
  };
  if (!may_run()) {
    ++paused_threads_;
    changed_.notify_all();
    changed_.wait(lock, may_run);
    --paused_threads_;
  }
  if (shutdown_pending_ && !stop_requested_) {
    // A triple fault the debugger saw: what it would have done now.
    shutdown_pending_ = false;
    stop_requested_ = true;
    outcome_ = options_.no_reboot ? RunOutcome::Shutdown : RunOutcome::Reset;
    update_interrupted();
    lock.unlock();
    changed_.notify_all();
    kick_all();
    return false;
  }
  return !stop_requested_;
}

void KvmEngine::debug_stop(const cpu::DebugEvent &event) {
  {
    std::lock_guard guard(mutex_);
    pause_requested_ = true;
    update_interrupted();
  }
  changed_.notify_all();
  kick_all();
  if (debug_handler_)
    debug_handler_(event);
}

bool KvmEngine::debug_shutdown(unsigned vcpu) {
  if (!debug_handler_)
    return false;
  {
    std::lock_guard guard(mutex_);
    shutdown_pending_ = true;
  }
  cpu::DebugEvent event;
  event.kind = cpu::DebugEvent::Kind::TripleFault;
  event.vcpu = vcpu;
  debug_stop(event);
  return true;
}

void KvmEngine::debug_exit(unsigned vcpu, const kvm_debug_exit_arch &arch) {
  constexpr uint64_t kDr6SingleStep = 1u << 14;
  cpu::DebugEvent event;
  event.vcpu = vcpu;
  bool ours = false;
  if (arch.exception == cpu::EXC_BP) {
    for (const Int3 &int3 : int3s_)
      if (int3.linear == arch.pc) {
        event.kind = cpu::DebugEvent::Kind::Breakpoint;
        ours = true;
      }
  } else if (arch.exception == cpu::EXC_DB) {
    if ((arch.dr6 & kDr6SingleStep) && stepping_[vcpu]) {
      event.kind = cpu::DebugEvent::Kind::Step;
      ours = true;
    } else {
      for (size_t i = 0; i < debug_registers_.size() && !ours; ++i) {
        if (!(arch.dr6 & (1u << i)))
          continue;
        const DebugRegister &reg = debug_registers_[i];
        ours = true;
        if (reg.watch) {
          event.kind = cpu::DebugEvent::Kind::Watchpoint;
          event.address = std::max(reg.address, reg.watchpoint.address);
          event.watch = reg.watchpoint.kind;
        } else {
          event.kind = cpu::DebugEvent::Kind::HwBreakpoint;
        }
      }
    }
  }
  if (!ours) {
    vcpus_[vcpu]->inject_exception(static_cast<uint8_t>(arch.exception));
    return;
  }
  stepping_[vcpu] = false;
  debug_stop(event);
}

void KvmEngine::set_debug_handler(DebugHandler handler) {
  debug_handler_ = std::move(handler);
}

std::string KvmEngine::set_debug_points(const cpu::DebugPoints &points) {
  if ((!points.empty()) && system_.extension(KVM_CAP_SET_GUEST_DEBUG) <= 0)
    return "KVM lacks KVM_CAP_SET_GUEST_DEBUG";
  std::vector<DebugRegister> registers;
  for (uint64_t address : points.hw_breakpoints)
    registers.push_back({address, 0, 1, false, {}});
  // Any length: aligned pieces of 1, 2, 4 or 8 bytes, one register each.
  for (const cpu::Watchpoint &watch : points.watchpoints) {
    unsigned type = watch.kind == cpu::WatchKind::Write ? 1 : 3;
    uint64_t address = watch.address, end = watch.address + watch.length;
    while (address < end && registers.size() <= 4) {
      unsigned length = 8;
      while (length > 1 && ((address & (length - 1)) || address + length > end))
        length /= 2;
      registers.push_back({address, type, length, true, watch});
      address += length;
    }
  }
  if (registers.size() > 4)
    return "the hardware breakpoints and watchpoints need more than the 4 "
           "debug registers";
  std::vector<Int3> int3s;
  if (!points.breakpoints.empty()) {
    cpu::CpuState state = vcpus_[0]->get_state();
    for (uint64_t address : points.breakpoints) {
      Int3 int3;
      int3.linear = address;
      if (!cpu::debug_translate(state, memory_, address, int3.physical) ||
          !memory_.host_pointer(int3.physical, true))
        return "no RAM at the breakpoint address";
      int3s.push_back(int3);
    }
  }
  remove_breakpoints();
  debug_points_ = points;
  debug_registers_ = std::move(registers);
  int3s_ = std::move(int3s);
  return "";
}

void KvmEngine::insert_breakpoints() {
  if (int3s_.empty())
    return;
  // Through the page tables of now: the guest may have switched them since
  // the breakpoint was set.
  cpu::CpuState state = vcpus_[0]->get_state();
  for (Int3 &int3 : int3s_) {
    if (int3.inserted ||
        !cpu::debug_translate(state, memory_, int3.linear, int3.physical))
      continue;
    uint8_t *byte = memory_.host_pointer(int3.physical, true);
    if (!byte)
      continue;
    int3.original = *byte;
    *byte = 0xcc;
    int3.inserted = true;
  }
}

void KvmEngine::remove_breakpoints() {
  // Newest first, so two breakpoints on one byte restore the original.
  for (auto it = int3s_.rbegin(); it != int3s_.rend(); ++it) {
    if (!it->inserted)
      continue;
    uint8_t *byte = memory_.host_pointer(it->physical, true);
    // A guest store over the INT3 wins over the saved byte.
    if (byte && *byte == 0xcc)
      *byte = it->original;
    it->inserted = false;
  }
}

void KvmEngine::apply_guest_debug(const std::vector<VcpuRun> &modes) {
  bool attached = static_cast<bool>(debug_handler_);
  for (unsigned i = 0; i < vcpu_count(); ++i) {
    bool step = attached && i < modes.size() && modes[i] == VcpuRun::Step;
    stepping_[i] = step;
    kvm_guest_debug debug{};
    if (attached && (step || !debug_points_.empty())) {
      debug.control = KVM_GUESTDBG_ENABLE;
      if (!int3s_.empty())
        debug.control |= KVM_GUESTDBG_USE_SW_BP;
      if (!debug_registers_.empty()) {
        debug.control |= KVM_GUESTDBG_USE_HW_BP;
        uint64_t dr7 = 0x600;
        for (size_t n = 0; n < debug_registers_.size(); ++n) {
          const DebugRegister &reg = debug_registers_[n];
          unsigned length_code = reg.length == 1   ? 0
                                 : reg.length == 2 ? 1
                                 : reg.length == 8 ? 2
                                                   : 3;
          debug.arch.debugreg[n] = reg.address;
          dr7 |= (uint64_t{2} << (n * 2)) |
                 (uint64_t{reg.type} << (16 + n * 4)) |
                 (uint64_t{length_code} << (18 + n * 4));
        }
        debug.arch.debugreg[7] = dr7;
      }
      if (step) {
        debug.control |= KVM_GUESTDBG_SINGLESTEP;
        if (guest_debug_flags_ & KVM_GUESTDBG_BLOCKIRQ)
          debug.control |= KVM_GUESTDBG_BLOCKIRQ;
      }
    }
    if (system_.extension(KVM_CAP_SET_GUEST_DEBUG) > 0)
      vcpus_[i]->set_guest_debug(debug);
  }
}

void KvmEngine::resume_debug(const std::vector<VcpuRun> &modes) {
  apply_guest_debug(modes);
  if (debug_handler_)
    insert_breakpoints();
  {
    std::lock_guard guard(mutex_);
    for (unsigned i = 0; i < vcpu_count(); ++i)
      held_[i] = i < modes.size() && modes[i] == VcpuRun::Hold;
    pause_requested_ = false;
    update_interrupted();
  }
  changed_.notify_all();
}

uint64_t KvmEngine::interrupt_generation() {
  std::lock_guard guard(mutex_);
  return interrupt_generation_;
}

bool KvmEngine::wait_interrupt_change(uint64_t seen) {
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [&] {
    return interrupt_generation_ != seen || stop_requested_ || pause_requested_;
  });
  return !stop_requested_ && !pause_requested_;
}

void KvmEngine::KvmIrqSink::set_irq(unsigned gsi, bool level) {
  if (engine_.options_.irqchip) {
    kvm_irq_level line{};
    line.irq = gsi;
    line.level = level;
    if (ioctl(engine_.vm_.get(), KVM_IRQ_LINE, &line) < 0)
      SABLE_WARN_ONCE("KVM_IRQ_LINE for GSI %u failed\n", gsi);
    return;
  }
  {
    std::lock_guard guard(engine_.mutex_);
    ++engine_.interrupt_generation_;
  }
  engine_.changed_.notify_all();
  engine_.vcpus_[0]->kick();
}

void KvmEngine::reset() {
  {
    std::lock_guard guard(mutex_);
    shutdown_pending_ = false;
  }
  if (options_.irqchip)
    pristine_vm_.restore_devices(vm_.get());
  for (unsigned i = 0; i < vcpu_count(); ++i) {
    vcpus_[i]->restore(pristine_vcpus_[i]);
    set_power_on_state(i);
  }
}

cpu::CpuState KvmEngine::get_state(unsigned vcpu) {
  return vcpus_.at(vcpu)->get_state();
}

void KvmEngine::set_state(unsigned vcpu, const cpu::CpuState &state) {
  vcpus_.at(vcpu)->set_state(state);
}

void KvmEngine::save(StateWriter &out) {
  out.begin_section("kvm", 1);
  out.u32(vcpu_count());
  kvm::VmSnapshot vm;
  vm.capture(vm_.get(), options_.irqchip);
  vm.write(out, options_.irqchip);
  for (auto &vcpu : vcpus_)
    vcpu->snapshot().write(out, features_);
  out.end_section();
}

void KvmEngine::load(StateReader &in) {
  in.begin_section("kvm", 1);
  uint32_t count = in.u32();
  if (count != vcpu_count())
    throw StateError("kvm: the snapshot has " + std::to_string(count) +
                     " vCPUs, this machine " + std::to_string(vcpu_count()));
  // Everything is parsed before anything is applied, so a bad stream
  // leaves the VM as it was.
  kvm::VmSnapshot vm;
  vm.read(in, options_.irqchip);
  std::vector<kvm::VcpuSnapshot> snapshots(count);
  for (kvm::VcpuSnapshot &snapshot : snapshots)
    snapshot.read(in, features_);
  in.end_section();
  vm.restore(vm_.get(), options_.irqchip);
  for (unsigned i = 0; i < count; ++i)
    vcpus_[i]->restore(snapshots[i]);
}

} // namespace sable
