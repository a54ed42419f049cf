// Exceptions and interrupts: the real-mode IVT, protected-mode IDT gates
// with privilege changes and TSS stacks, long-mode 16-byte gates with IST,
// and the double-fault and triple-fault rules (SDM vol. 3, chapter 6).

#include "cpu/exceptions.h"

#include <cinttypes>

#include "cpu/cpu.h"
#include "cpu/ops/far_transfer.h"
#include "machine/log.h"

namespace sable::cpu {

namespace {

enum class EventKind : uint8_t {
  Exception, // raised by an instruction or by delivery itself
  Software,  // INT n, INT3, INTO: gate DPL checked against CPL
  External,  // from the interrupt controller
  Nmi,
};

struct Event {
  uint8_t vector;
  EventKind kind;
  bool has_error_code;
  uint32_t error_code;
  uint64_t return_rip;
};

enum class FaultClass { Benign, Contributory, PageFault, DoubleFault };

FaultClass classify(uint8_t vector) {
  switch (vector) {
  case EXC_DE:
  case EXC_TS:
  case EXC_NP:
  case EXC_SS:
  case EXC_GP:
    return FaultClass::Contributory;
  case EXC_PF:
    return FaultClass::PageFault;
  case EXC_DF:
    return FaultClass::DoubleFault;
  default:
    return FaultClass::Benign;
  }
}

const char *kind_name(EventKind kind) {
  switch (kind) {
  case EventKind::Exception:
    return "exception";
  case EventKind::Software:
    return "software";
  case EventKind::External:
    return "external";
  case EventKind::Nmi:
    return "nmi";
  }
  return "?";
}

constexpr uint64_t kClearedOnDelivery = TF | NT | RF | VM;
// Bytes of the 64-bit TSS before IST1.
constexpr uint32_t kTss64IstOffset = 0x24;

class Delivery {
public:
  Delivery(Cpu &cpu, const Event &event)
      : cpu_(cpu), s_(cpu.state), e_(event),
        ext_(event.kind == EventKind::Software ? 0 : 1),
        idt_error_(uint32_t{event.vector} * 8 + 2 + ext_) {}

  bool run() {
    if (!s_.protected_mode())
      return real_mode();
    if (s_.v86()) {
      SABLE_LOG_ONCE(LOG_UNIMP, "interrupt delivery from V86 mode\n");
      return cpu_.fault(EXC_GP, 0);
    }
    return s_.long_mode_active() ? long_mode() : protected_mode();
  }

private:
  bool real_mode() {
    const uint32_t entry = uint32_t{e_.vector} * 4;
    if (entry + 3 > s_.idtr.limit)
      return cpu_.fault(EXC_GP, 0);
    uint16_t vector[2];
    if (!cpu_.read_linear(s_.idtr.base + entry, vector, 4, true))
      return false;
    const uint64_t flags = cpu_.rflags();
    StackFrame frame(cpu_, s_.seg[SS], s_.gpr[RSP], cpu_.stack_size(), false, 0,
                     false);
    if (!frame.push(flags, 2) || !frame.push(s_.seg[CS].selector, 2) ||
        !frame.push(e_.return_rip, 2))
      return false;
    s_.gpr[RSP] = frame.rsp();
    s_.seg[CS].selector = vector[1];
    s_.seg[CS].base = uint64_t{vector[1]} << 4;
    s_.rip = vector[0];
    cpu_.set_rflags(flags & ~uint64_t{IF | TF | AC | RF});
    return true;
  }

  // Reads the gate, then the common gate checks of both IDT formats.
  bool read_gate(unsigned size, Descriptor &gate) {
    const uint32_t entry = uint32_t{e_.vector} * size;
    if (entry + size - 1 > s_.idtr.limit)
      return cpu_.fault(EXC_GP, idt_error_);
    uint32_t words[4] = {};
    if (!cpu_.read_linear(s_.idtr.base + entry, words, size, true))
      return false;
    gate = {words[0], words[1], words[2], words[3]};
    return true;
  }

  bool check_gate_access(const Descriptor &gate) {
    if (e_.kind == EventKind::Software && gate.dpl() < s_.cpl())
      return cpu_.fault(EXC_GP, idt_error_);
    if (!gate.present())
      return cpu_.fault(EXC_NP, idt_error_);
    return true;
  }

  // The handler's code segment; sets new_cpl_.
  bool read_target_code(uint16_t selector, bool long_mode, Descriptor &code) {
    const uint32_t error = (selector & 0xfffc) | ext_;
    if (is_null_selector(selector))
      return cpu_.fault(EXC_GP, ext_);
    switch (fetch_descriptor(cpu_, selector, false, code)) {
    case Fetch::Ok:
      break;
    case Fetch::Outside:
      return cpu_.fault(EXC_GP, error);
    case Fetch::Faulted:
      return false;
    }
    if (!code.code() || code.dpl() > s_.cpl())
      return cpu_.fault(EXC_GP, error);
    if (long_mode && (!code.long_code() || code.big()))
      return cpu_.fault(EXC_GP, error);
    if (!code.present())
      return cpu_.fault(EXC_NP, error);
    new_cpl_ = code.conforming() ? s_.cpl() : code.dpl();
    return true;
  }

  bool protected_mode() {
    Descriptor gate;
    if (!read_gate(8, gate))
      return false;
    const unsigned type = gate.type();
    if (gate.system() && type == SYS_TASK_GATE) {
      SABLE_LOG_ONCE(LOG_UNIMP,
                     "interrupt through a task gate (vector "
                     "0x%02x)\n",
                     e_.vector);
      return cpu_.fault(EXC_GP, idt_error_);
    }
    const bool valid_type = type == 6 || type == 7 || type == 14 || type == 15;
    if (!gate.system() || !valid_type)
      return cpu_.fault(EXC_GP, idt_error_);
    if (!check_gate_access(gate))
      return false;
    const bool gate32 = type & 8;
    const bool trap_gate = type & 1;
    const uint16_t code_selector = gate.gate_selector();
    const uint64_t target =
        gate.gate_offset(false) & (gate32 ? 0xffffffff : 0xffff);
    Descriptor code;
    if (!read_target_code(code_selector, false, code))
      return false;
    if (target > code.limit())
      return cpu_.fault(EXC_GP, 0);

    const unsigned size = gate32 ? 4 : 2;
    const uint64_t flags = cpu_.rflags();
    const bool privilege_change = new_cpl_ < s_.cpl();
    Segment new_ss = s_.seg[SS];
    uint16_t stack_selector = 0;
    Descriptor stack;
    uint64_t sp = s_.gpr[RSP];
    if (privilege_change) {
      if (!tss_stack_pointer(cpu_, new_cpl_, stack_selector, sp))
        return false;
      const uint32_t error = (stack_selector & 0xfffc) | ext_;
      if (is_null_selector(stack_selector))
        return cpu_.fault(EXC_TS, ext_);
      switch (fetch_descriptor(cpu_, stack_selector, false, stack)) {
      case Fetch::Ok:
        break;
      case Fetch::Outside:
        return cpu_.fault(EXC_TS, error);
      case Fetch::Faulted:
        return false;
      }
      if (!check_new_stack_segment(cpu_, stack_selector, new_cpl_, stack,
                                   EXC_TS))
        return false;
      new_ss = segment_from(stack_selector, stack, false);
    }
    StackFrame frame(cpu_, new_ss, sp, new_ss.big() ? 4 : 2, false,
                     privilege_change ? (stack_selector & 0xfffc) | ext_ : ext_,
                     new_cpl_ < 3);
    if (privilege_change && (!frame.push(s_.seg[SS].selector, size) ||
                             !frame.push(s_.gpr[RSP], size)))
      return false;
    if (!frame.push(flags, size) || !frame.push(s_.seg[CS].selector, size) ||
        !frame.push(e_.return_rip, size))
      return false;
    if (e_.has_error_code && !frame.push(e_.error_code, size))
      return false;
    if (privilege_change && !mark_accessed(cpu_, stack_selector, stack))
      return false;
    if (!mark_accessed(cpu_, code_selector, code))
      return false;

    s_.seg[CS] = segment_from((code_selector & 0xfffc) | new_cpl_, code, false);
    if (privilege_change) {
      new_ss = segment_from(stack_selector, stack, false);
      s_.seg[SS] = new_ss;
    }
    s_.gpr[RSP] = frame.rsp();
    s_.rip = target;
    finish_flags(flags, trap_gate);
    return true;
  }

  bool long_mode() {
    Descriptor gate;
    if (!read_gate(16, gate))
      return false;
    const unsigned type = gate.type();
    if (!gate.system() || (type != 14 && type != 15))
      return cpu_.fault(EXC_GP, idt_error_);
    if (!check_gate_access(gate))
      return false;
    const bool trap_gate = type & 1;
    const unsigned ist = gate.high & 7;
    const uint16_t code_selector = gate.gate_selector();
    const uint64_t target = gate.gate_offset(true);
    Descriptor code;
    if (!read_target_code(code_selector, true, code))
      return false;
    if (!is_canonical(target))
      return cpu_.fault(EXC_GP, ext_);

    const bool privilege_change = new_cpl_ < s_.cpl();
    uint64_t rsp = s_.gpr[RSP];
    if (ist) {
      const uint32_t offset = kTss64IstOffset + 8 * (ist - 1);
      if (offset + 7 > s_.tr.limit)
        return cpu_.fault(EXC_TS, (s_.tr.selector & 0xfffc) | ext_);
      if (!cpu_.read_linear(s_.tr.base + offset, &rsp, 8, true))
        return false;
    } else if (privilege_change) {
      uint16_t unused_ss;
      if (!tss_stack_pointer(cpu_, new_cpl_, unused_ss, rsp))
        return false;
    }
    // The frame starts 16-byte aligned, whichever stack it lands on.
    rsp &= ~uint64_t{0xf};
    const uint64_t flags = cpu_.rflags();
    // Pushed in the hardware's order, so a fault reports the first slot
    // that could not be written.
    const uint64_t frame[6] = {
        s_.seg[SS].selector, s_.gpr[RSP],   flags,
        s_.seg[CS].selector, e_.return_rip, e_.error_code};
    const unsigned count = e_.has_error_code ? 6 : 5;
    const uint64_t bottom = rsp - count * 8;
    if (!is_canonical(rsp - 1) || !is_canonical(bottom))
      return cpu_.fault(EXC_SS, ext_);
    for (unsigned i = 0; i < count; ++i)
      if (!cpu_.write_linear(rsp - (i + 1) * 8, &frame[i], 8, new_cpl_ < 3))
        return false;
    if (!mark_accessed(cpu_, code_selector, code))
      return false;

    s_.seg[CS] = segment_from((code_selector & 0xfffc) | new_cpl_, code, false);
    if (privilege_change)
      s_.seg[SS] = Segment{static_cast<uint16_t>(new_cpl_), 0, 0, 0};
    s_.gpr[RSP] = bottom;
    s_.rip = target;
    finish_flags(flags, trap_gate);
    return true;
  }

  void finish_flags(uint64_t flags, bool trap_gate) {
    flags &= ~kClearedOnDelivery;
    if (!trap_gate)
      flags &= ~uint64_t{IF};
    cpu_.set_rflags(flags);
  }

  Cpu &cpu_;
  CpuState &s_;
  const Event &e_;
  const uint32_t ext_;
  const uint32_t idt_error_;
  unsigned new_cpl_ = 0;
};

bool deliver(Cpu &cpu, const Event &event) {
  SABLE_LOG(LOG_INT,
            "int: %s vector 0x%02x error %s0x%x at %04x:%016" PRIx64
            " cpl %u\n",
            kind_name(event.kind), event.vector,
            event.has_error_code ? "" : "(none) ", event.error_code,
            cpu.state.seg[CS].selector, cpu.state.rip, cpu.state.cpl());
  Event adjusted = event;
  // Real mode has no error codes on the stack.
  if (!cpu.state.protected_mode())
    adjusted.has_error_code = false;
  if (!Delivery(cpu, adjusted).run())
    return false;
  cpu.state.interrupt_shadow = false;
  cpu.state.halted = false;
  return true;
}

// Delivers `event`; when delivery itself faults, applies the SDM's
// double-fault table: contributory on contributory, or anything but a
// benign fault on a page fault, becomes #DF; a fault while delivering #DF
// shuts the processor down.
bool deliver_with_escalation(Cpu &cpu, Event event) {
  // More serial benign faults than this cannot come from one delivery.
  for (unsigned attempt = 0; attempt < 8; ++attempt) {
    if (deliver(cpu, event))
      return true;
    const PendingFault second = cpu.pending;
    cpu.pending = {};
    const FaultClass first = event.kind == EventKind::Exception
                                 ? classify(event.vector)
                                 : FaultClass::Benign;
    const FaultClass next = classify(second.vector);
    if (first == FaultClass::DoubleFault)
      break;
    const bool double_fault =
        (first == FaultClass::Contributory &&
         next == FaultClass::Contributory) ||
        (first == FaultClass::PageFault &&
         (next == FaultClass::Contributory || next == FaultClass::PageFault));
    if (double_fault)
      event = {EXC_DF, EventKind::Exception, true, 0, cpu.state.rip};
    else
      event = {second.vector, EventKind::Exception, second.has_error_code,
               second.error_code, cpu.state.rip};
  }
  SABLE_LOG(LOG_INT | LOG_GUEST_ERRORS,
            "triple fault at %04x:%016" PRIx64 ": shutdown\n",
            cpu.state.seg[CS].selector, cpu.state.rip);
  return false;
}

} // namespace

bool Cpu::deliver_pending_fault() {
  forget_context();
  const Event event{pending.vector, EventKind::Exception,
                    pending.has_error_code, pending.error_code, state.rip};
  pending = {};
  return deliver_with_escalation(*this, event);
}

bool Cpu::software_interrupt(uint8_t vector) {
  const Event event{vector, EventKind::Software, false, 0, next_rip};
  if (!deliver(*this, event))
    return false;
  next_rip = state.rip;
  return true;
}

bool deliver_external_interrupt(Cpu &cpu, uint8_t vector) {
  return deliver_with_escalation(
      cpu, {vector, EventKind::External, false, 0, cpu.state.rip});
}

bool deliver_nmi(Cpu &cpu) {
  cpu.state.nmi_pending = false;
  cpu.state.nmi_blocked = true;
  return deliver_with_escalation(
      cpu, {EXC_NMI, EventKind::Nmi, false, 0, cpu.state.rip});
}

} // namespace sable::cpu
