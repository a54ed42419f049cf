#include "accel/kvm_engine.h"

#include <algorithm>
#include <stdexcept>
#include <sys/ioctl.h>
#include <thread>

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
    : options_(options), system_(options.device) {
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
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [this] { return paused_threads_ == active_threads_; });
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

bool KvmEngine::checkpoint() {
  std::unique_lock lock(mutex_);
  if (pause_requested_ && !stop_requested_) {
    ++paused_threads_;
    changed_.notify_all();
    changed_.wait(lock,
                  [this] { return !pause_requested_ || stop_requested_; });
    --paused_threads_;
  }
  return !stop_requested_;
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
