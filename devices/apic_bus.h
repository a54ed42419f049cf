#pragma once
// The interrupt fabric between the local APICs and the I/O APIC (the system
// bus of an xAPIC system): finds the local APICs an interrupt message
// addresses and hands it to them, and carries a local APIC's EOI for a
// level-triggered vector back to the I/O APIC.
//
// Lowest-priority delivery goes to the addressed local APIC with the lowest
// processor priority (PPR) among those that accept fixed interrupts; a tie
// goes to the one attached first. Focus-processor checking is not modelled.
//
// Local APICs attach before any vCPU runs and the set does not change while
// messages flow, so delivery takes no lock of its own; each local APIC
// guards its own state.

#include <cstdint>
#include <functional>
#include <vector>

#include "devices/ioapic.h"

namespace sable {

class LocalApic;

// One interrupt message as a local APIC's ICR or the I/O APIC sends it.
struct ApicInterrupt {
  enum DeliveryMode : uint8_t {
    Fixed = 0,
    LowestPriority = 1,
    Smi = 2,
    RemoteRead = 3,
    Nmi = 4,
    Init = 5,
    StartUp = 6,
    ExtInt = 7,
  };
  enum Shorthand : uint8_t {
    NoShorthand = 0,
    Self = 1,
    AllIncludingSelf = 2,
    AllExcludingSelf = 3,
  };

  uint8_t vector = 0;
  DeliveryMode delivery_mode = Fixed;
  bool logical_destination = false;
  // xAPIC format: 8 bits, 0xFF broadcasts. x2APIC format (an x2APIC ICR):
  // 32 bits, 0xFFFFFFFF broadcasts.
  uint32_t destination = 0;
  bool x2apic_destination = false;
  bool level_triggered = false;
  // Clear only in an INIT level de-assert message.
  bool asserted = true;
  Shorthand shorthand = NoShorthand;
};

class ApicBus {
public:
  ApicBus() = default;
  ApicBus(const ApicBus &) = delete;
  ApicBus &operator=(const ApicBus &) = delete;

  void attach(LocalApic &apic);
  void detach(LocalApic &apic);
  // Receives a local APIC's EOI for a level-triggered vector; the machine
  // connects it to Ioapic::eoi.
  void set_eoi_handler(std::function<void(uint8_t vector)> handler) {
    eoi_handler_ = std::move(handler);
  }

  // The I/O APIC's output (its deliver callback).
  void deliver(const ApicMessage &message);
  // An IPI; `source` is the sending local APIC, which the shorthands need.
  void send(const ApicInterrupt &interrupt, LocalApic *source);
  void broadcast_eoi(uint8_t vector);

private:
  bool targets(const LocalApic &apic, const ApicInterrupt &interrupt,
               const LocalApic *source) const;

  std::vector<LocalApic *> apics_;
  std::function<void(uint8_t)> eoi_handler_;
};

} // namespace sable
