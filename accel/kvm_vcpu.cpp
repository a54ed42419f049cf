#include "accel/kvm_vcpu.h"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <stdexcept>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "cpu/state_text.h"
#include "machine/io_bus.h"
#include "machine/irq.h"
#include "machine/log.h"
#include "machine/memory.h"

namespace sable::kvm {

namespace {

// A kick is a signal whose handler does nothing: its only effect is making
// KVM_RUN return -EINTR. SA_RESTART keeps it from
// interrupting the ordinary system calls devices make on vCPU threads.
int kick_signal() {
  return SIGRTMIN;
}

void ignore_signal(int) {}

void install_kick_handler() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction action {};
    action.sa_handler = ignore_signal;
    action.sa_flags = SA_RESTART;
    sigemptyset(&action.sa_mask);
    if (sigaction(kick_signal(), &action, nullptr) < 0)
      throw std::runtime_error(std::string("KVM: cannot install the vCPU "
                                           "kick signal handler: ") +
                               std::strerror(errno));
  });
}

const char *internal_error_name(uint32_t suberror) {
  switch (suberror) {
  case KVM_INTERNAL_ERROR_EMULATION:
    return "instruction emulation failed";
  case KVM_INTERNAL_ERROR_SIMUL_EX:
    return "exception while delivering an exception";
  case KVM_INTERNAL_ERROR_DELIVERY_EV:
    return "exit while delivering an event";
  case KVM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON:
    return "unexpected hardware exit";
  default:
    return "unknown internal error";
  }
}

} // namespace

KvmVcpu::KvmVcpu(const KvmSystem &system, int vm_fd, unsigned index,
                 const VcpuWiring &wiring, VcpuHost &host,
                 const SnapshotFeatures &features)
    : index_(index), wiring_(wiring), host_(host), features_(features) {
  install_kick_handler();
  fd_ = UniqueFd(
      checked_ioctl(vm_fd, KVM_CREATE_VCPU, index_, "KVM_CREATE_VCPU"));
  run_size_ = system.vcpu_mmap_size();
  void *page = mmap(nullptr, run_size_, PROT_READ | PROT_WRITE, MAP_SHARED,
                    fd_.get(), 0);
  if (page == MAP_FAILED)
    throw std::runtime_error(std::string("KVM: cannot map the vCPU run "
                                         "area: ") +
                             std::strerror(errno));
  run_ = static_cast<kvm_run *>(page);
}

KvmVcpu::~KvmVcpu() {
  if (run_)
    munmap(run_, run_size_);
}

void KvmVcpu::set_cpuid(const std::vector<kvm_cpuid_entry2> &entries) {
  FlexArray<kvm_cpuid_entry2> cpuid(c_abi::kCpuidHeader, entries.size());
  std::copy(entries.begin(), entries.end(), cpuid.entries());
  checked_ioctl(fd_.get(), c_abi::SET_CPUID2, cpuid.data(), "KVM_SET_CPUID2");
}

cpu::CpuState KvmVcpu::get_state() {
  int fd = fd_.get();
  cpu::CpuState state;
  kvm_regs regs;
  checked_ioctl(fd, KVM_GET_REGS, &regs, "KVM_GET_REGS");
  from_kvm(regs, state);
  kvm_sregs sregs;
  checked_ioctl(fd, KVM_GET_SREGS, &sregs, "KVM_GET_SREGS");
  from_kvm(sregs, state);
  kvm_fpu fpu;
  checked_ioctl(fd, KVM_GET_FPU, &fpu, "KVM_GET_FPU");
  from_kvm(fpu, state.fpu);
  if (features_.xcrs) {
    kvm_xcrs xcrs{};
    checked_ioctl(fd, KVM_GET_XCRS, &xcrs, "KVM_GET_XCRS");
    for (uint32_t i = 0; i < xcrs.nr_xcrs && i < KVM_MAX_XCRS; ++i)
      if (xcrs.xcrs[i].xcr == 0)
        state.xcr0 = xcrs.xcrs[i].value;
  }
  std::vector<uint32_t> indices;
  for (const kvm_msr_entry &entry : msrs_of(state))
    if (msr_supported(entry.index, features_.msr_indices))
      indices.push_back(entry.index);
  apply_msrs(read_msrs(fd, indices), state);

  kvm_debugregs debug{};
  checked_ioctl(fd, KVM_GET_DEBUGREGS, &debug, "KVM_GET_DEBUGREGS");
  std::copy(debug.db, debug.db + 4, state.dr);
  state.dr[6] = debug.dr6;
  state.dr[7] = debug.dr7;

  kvm_vcpu_events events{};
  checked_ioctl(fd, KVM_GET_VCPU_EVENTS, &events, "KVM_GET_VCPU_EVENTS");
  state.interrupt_shadow = events.interrupt.shadow != 0;
  state.nmi_pending = events.nmi.pending != 0;
  state.nmi_blocked = events.nmi.masked != 0;

  if (features_.irqchip) {
    kvm_mp_state mp{};
    checked_ioctl(fd, KVM_GET_MP_STATE, &mp, "KVM_GET_MP_STATE");
    state.halted = mp.mp_state == KVM_MP_STATE_HALTED;
  } else {
    state.halted = halted_;
  }
  return state;
}

void KvmVcpu::set_state(const cpu::CpuState &state) {
  int fd = fd_.get();
  kvm_regs regs;
  to_kvm(state, regs);
  checked_ioctl(fd, KVM_SET_REGS, &regs, "KVM_SET_REGS");
  kvm_fpu fpu;
  to_kvm(state.fpu, fpu);
  checked_ioctl(fd, KVM_SET_FPU, &fpu, "KVM_SET_FPU");
  if (features_.xcrs) {
    kvm_xcrs xcrs{};
    xcrs.nr_xcrs = 1;
    xcrs.xcrs[0].xcr = 0;
    xcrs.xcrs[0].value = state.xcr0;
    checked_ioctl(fd, KVM_SET_XCRS, &xcrs, "KVM_SET_XCRS");
  }
  kvm_sregs sregs;
  to_kvm(state, sregs);
  checked_ioctl(fd, KVM_SET_SREGS, &sregs, "KVM_SET_SREGS");
  std::vector<kvm_msr_entry> msrs = msrs_of(state);
  std::erase_if(msrs, [&](const kvm_msr_entry &entry) {
    return !msr_supported(entry.index, features_.msr_indices);
  });
  write_msrs(fd, msrs);

  kvm_debugregs debug{};
  std::copy(state.dr, state.dr + 4, debug.db);
  debug.dr6 = state.dr[6];
  debug.dr7 = state.dr[7];
  checked_ioctl(fd, KVM_SET_DEBUGREGS, &debug, "KVM_SET_DEBUGREGS");

  kvm_vcpu_events events{};
  checked_ioctl(fd, KVM_GET_VCPU_EVENTS, &events, "KVM_GET_VCPU_EVENTS");
  events.flags = KVM_VCPUEVENT_VALID_NMI_PENDING | KVM_VCPUEVENT_VALID_SHADOW;
  events.interrupt.shadow = state.interrupt_shadow ? KVM_X86_SHADOW_INT_STI : 0;
  events.nmi.pending = state.nmi_pending;
  events.nmi.masked = state.nmi_blocked;
  checked_ioctl(fd, KVM_SET_VCPU_EVENTS, &events, "KVM_SET_VCPU_EVENTS");

  if (features_.irqchip) {
    kvm_mp_state mp{};
    checked_ioctl(fd, KVM_GET_MP_STATE, &mp, "KVM_GET_MP_STATE");
    if (state.halted)
      set_mp_state(KVM_MP_STATE_HALTED);
    else if (mp.mp_state == KVM_MP_STATE_HALTED)
      set_mp_state(KVM_MP_STATE_RUNNABLE);
  } else {
    halted_ = state.halted;
  }
}

void KvmVcpu::set_mp_state(uint32_t mp_state) {
  kvm_mp_state mp{mp_state};
  checked_ioctl(fd_.get(), KVM_SET_MP_STATE, &mp, "KVM_SET_MP_STATE");
}

void KvmVcpu::set_guest_debug(const kvm_guest_debug &debug) {
  kvm_guest_debug copy = debug;
  checked_ioctl(fd_.get(), KVM_SET_GUEST_DEBUG, &copy, "KVM_SET_GUEST_DEBUG");
}

void KvmVcpu::inject_exception(uint8_t vector) {
  int fd = fd_.get();
  kvm_vcpu_events events{};
  checked_ioctl(fd, KVM_GET_VCPU_EVENTS, &events, "KVM_GET_VCPU_EVENTS");
  events.flags = 0;
  events.exception.injected = 1;
  events.exception.nr = vector;
  events.exception.has_error_code = 0;
  events.exception.error_code = 0;
  checked_ioctl(fd, KVM_SET_VCPU_EVENTS, &events, "KVM_SET_VCPU_EVENTS");
}

VcpuSnapshot KvmVcpu::snapshot() {
  VcpuSnapshot snapshot;
  snapshot.capture(fd_.get(), features_);
  if (!features_.irqchip)
    snapshot.mp_state.mp_state =
        halted_ ? KVM_MP_STATE_HALTED : KVM_MP_STATE_RUNNABLE;
  return snapshot;
}

void KvmVcpu::restore(const VcpuSnapshot &snapshot) {
  snapshot.restore(fd_.get(), features_);
  if (!features_.irqchip)
    halted_ = snapshot.mp_state.mp_state == KVM_MP_STATE_HALTED;
}

void KvmVcpu::kick() {
  __atomic_store_n(&run_->immediate_exit, 1, __ATOMIC_SEQ_CST);
  std::lock_guard guard(thread_lock_);
  if (thread_registered_)
    pthread_kill(thread_, kick_signal());
}

void KvmVcpu::run_loop() {
  sigset_t kick_set;
  sigemptyset(&kick_set);
  sigaddset(&kick_set, kick_signal());
  pthread_sigmask(SIG_UNBLOCK, &kick_set, nullptr);
  {
    std::lock_guard guard(thread_lock_);
    thread_ = pthread_self();
    thread_registered_ = true;
  }
  try {
    run_loop_body();
  } catch (const std::exception &error) {
    warn("KVM vCPU %u: %s", index_, error.what());
    host_.request_stop(RunOutcome::Failed);
  }
  std::lock_guard guard(thread_lock_);
  thread_registered_ = false;
}

void KvmVcpu::run_loop_body() {
  for (;;) {
    if (exit_needs_completion_ && host_.run_interrupted())
      complete_pending_exit();
    if (!host_.checkpoint(index_))
      return;
    if (halted_ && !wait_while_halted())
      continue;
    if (wiring_.interrupts)
      inject_interrupt();
    if (enter_guest())
      handle_exit();
  }
}

// KVM_RUN with immediate_exit set completes the pending exit without
// running guest code; an access split in fragments exits once per fragment.
void KvmVcpu::complete_pending_exit() {
  while (exit_needs_completion_) {
    __atomic_store_n(&run_->immediate_exit, 1, __ATOMIC_SEQ_CST);
    if (enter_guest())
      handle_exit();
  }
}

bool KvmVcpu::enter_guest() {
  exit_needs_completion_ = false;
  int result = ioctl(fd_.get(), KVM_RUN, 0);
  int error = errno;
  // Cleared before the caller looks at requests, so a kick arriving from
  // here on is either seen at the checkpoint or ends the next KVM_RUN.
  __atomic_store_n(&run_->immediate_exit, 0, __ATOMIC_SEQ_CST);
  if (result == 0)
    return true;
  if (error == EINTR || error == EAGAIN)
    return false;
  throw std::runtime_error(std::string("KVM_RUN failed: ") +
                           std::strerror(error));
}

void KvmVcpu::handle_exit() {
  switch (run_->exit_reason) {
  case KVM_EXIT_IO:
    handle_io();
    exit_needs_completion_ = true;
    break;
  case KVM_EXIT_MMIO:
    handle_mmio();
    exit_needs_completion_ = true;
    break;
  case KVM_EXIT_HLT:
    halted_ = true;
    break;
  case KVM_EXIT_IRQ_WINDOW_OPEN:
  case KVM_EXIT_INTR:
    break;
  case KVM_EXIT_SHUTDOWN:
    if (host_.debug_shutdown(index_))
      break;
    host_.request_stop(wiring_.no_reboot ? RunOutcome::Shutdown
                                         : RunOutcome::Reset);
    break;
  case KVM_EXIT_DEBUG:
    host_.debug_exit(index_, run_->debug.arch);
    break;
  case KVM_EXIT_SYSTEM_EVENT:
    switch (run_->system_event.type) {
    case KVM_SYSTEM_EVENT_SHUTDOWN:
      host_.request_stop(RunOutcome::Stopped);
      break;
    case KVM_SYSTEM_EVENT_RESET:
      host_.request_stop(wiring_.no_reboot ? RunOutcome::Shutdown
                                           : RunOutcome::Reset);
      break;
    case KVM_SYSTEM_EVENT_CRASH:
      fatal("KVM: the guest reported a crash on vCPU " +
            std::to_string(index_));
      break;
    default:
      SABLE_LOG_ONCE(LOG_UNIMP, "KVM system event %u ignored\n",
                     run_->system_event.type);
      break;
    }
    break;
  case KVM_EXIT_FAIL_ENTRY:
    fatal("KVM: entering the guest failed on vCPU " + std::to_string(index_) +
          " (hardware reason " +
          std::to_string(run_->fail_entry.hardware_entry_failure_reason) + ")");
    break;
  case KVM_EXIT_INTERNAL_ERROR:
    fatal("KVM internal error on vCPU " + std::to_string(index_) + ": " +
          internal_error_name(run_->internal.suberror));
    break;
  default:
    fatal("KVM: unexpected exit reason " + std::to_string(run_->exit_reason) +
          " on vCPU " + std::to_string(index_));
    break;
  }
}

void KvmVcpu::handle_io() {
  const auto &io = run_->io;
  uint8_t *data = reinterpret_cast<uint8_t *>(run_) + io.data_offset;
  for (uint32_t i = 0; i < io.count; ++i, data += io.size) {
    uint32_t value = 0;
    if (io.direction == KVM_EXIT_IO_OUT) {
      std::memcpy(&value, data, io.size);
      wiring_.io->write(io.port, io.size, value);
    } else {
      value = wiring_.io->read(io.port, io.size);
      std::memcpy(data, &value, io.size);
    }
  }
}

void KvmVcpu::handle_mmio() {
  auto &mmio = run_->mmio;
  std::unique_lock<std::recursive_mutex> guard;
  if (wiring_.machine_lock)
    guard = std::unique_lock(*wiring_.machine_lock);
  if (mmio.is_write)
    wiring_.memory->write(mmio.phys_addr, mmio.data, mmio.len);
  else
    wiring_.memory->read(mmio.phys_addr, mmio.data, mmio.len);
}

void KvmVcpu::fatal(const std::string &what) {
  warn("%s\n%s", what.c_str(), cpu::describe_registers(get_state()).c_str());
  host_.request_stop(RunOutcome::Failed);
}

void KvmVcpu::inject_interrupt() {
  std::unique_lock<std::recursive_mutex> guard;
  if (wiring_.machine_lock)
    guard = std::unique_lock(*wiring_.machine_lock);
  InterruptController &controller = *wiring_.interrupts;
  if (!controller.interrupt_pending()) {
    run_->request_interrupt_window = 0;
    return;
  }
  if (run_->ready_for_interrupt_injection) {
    kvm_interrupt interrupt{controller.acknowledge_interrupt()};
    checked_ioctl(fd_.get(), KVM_INTERRUPT, &interrupt, "KVM_INTERRUPT");
    halted_ = false;
    run_->request_interrupt_window = controller.interrupt_pending();
  } else {
    run_->request_interrupt_window = 1;
  }
}

bool KvmVcpu::wait_while_halted() {
  for (;;) {
    uint64_t seen = host_.interrupt_generation();
    if (wiring_.interrupts) {
      std::unique_lock<std::recursive_mutex> guard;
      if (wiring_.machine_lock)
        guard = std::unique_lock(*wiring_.machine_lock);
      if (run_->if_flag && wiring_.interrupts->interrupt_pending())
        return true;
    }
    if (!host_.wait_interrupt_change(seen))
      return false;
  }
}

} // namespace sable::kvm
