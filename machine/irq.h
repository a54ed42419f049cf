#pragma once
// Interrupt lines from devices to whichever interrupt controllers the
// engine uses: the userspace PIC/IOAPIC models, or KVM's in-kernel irqchip.

#include <atomic>
#include <cstdint>
#include <mutex>
#include <vector>

namespace sable {

// A receiver of GSI level changes (the PIC pair, the IOAPIC, KVM_IRQ_LINE).
class IrqSink {
public:
  virtual ~IrqSink() = default;
  virtual void set_irq(unsigned gsi, bool level) = 0;
};

class IrqRouter {
public:
  void add_sink(IrqSink *sink) { sinks_.push_back(sink); }
  void set_level(unsigned gsi, bool level);

private:
  std::vector<IrqSink *> sinks_;
};

// One device interrupt output, wired to a GSI. Edge-triggered devices use
// pulse(); level-triggered ones keep the line high while the condition holds.
class IrqLine {
public:
  IrqLine() = default;
  IrqLine(IrqRouter *router, unsigned gsi) : router_(router), gsi_(gsi) {}

  void set(bool level);
  void raise() { set(true); }
  void lower() { set(false); }
  void pulse() {
    set(true);
    set(false);
  }
  bool level() const { return level_; }
  unsigned gsi() const { return gsi_; }

private:
  IrqRouter *router_ = nullptr;
  unsigned gsi_ = 0;
  bool level_ = false;
};

// What a software vCPU asks at an instruction boundary: is an external
// interrupt waiting, and which vector is it (the INTA cycle).
class InterruptController {
public:
  virtual ~InterruptController() = default;
  virtual bool interrupt_pending() = 0;
  // For a controller whose interrupt_pending() reads one atomic flag: that
  // flag, which the vCPU then reads between blocks without a call.
  virtual const std::atomic<bool> *pending_flag() const { return nullptr; }
  // Returns the vector; a spurious interrupt returns the controller's
  // spurious vector, as the hardware does.
  virtual uint8_t acknowledge_interrupt() = 0;
};

// What a vCPU needs from its local APIC besides interrupt delivery: the
// MSRs the APIC owns (IA32_APIC_BASE, TSC_DEADLINE, the x2APIC range), CR8
// as the task priority, and the TSC offset TSC-deadline mode counts from.
class LocalApicPort {
public:
  virtual ~LocalApicPort() = default;
  virtual bool handles_msr(uint32_t index) const = 0;
  // False: the access is invalid and the CPU raises #GP(0).
  virtual bool read_msr(uint32_t index, uint64_t &value) = 0;
  virtual bool write_msr(uint32_t index, uint64_t value) = 0;
  virtual void set_tpr_from_cr8(uint8_t value) = 0;
  virtual uint8_t cr8() const = 0;
  // guest TSC = Clock::now_ns() scaled to the TSC rate + offset
  virtual void set_tsc_offset(uint64_t offset) = 0;
};

} // namespace sable
