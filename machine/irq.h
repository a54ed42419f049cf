#pragma once
// Interrupt lines from devices to whichever interrupt controllers the
// engine uses: the userspace PIC/IOAPIC models, or KVM's in-kernel irqchip.

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
  // Returns the vector; a spurious interrupt returns the controller's
  // spurious vector, as the hardware does.
  virtual uint8_t acknowledge_interrupt() = 0;
};

} // namespace sable
