#include "devices/apic_bus.h"

#include <algorithm>

#include "devices/local_apic.h"
#include "machine/log.h"

namespace sable {

void ApicBus::attach(LocalApic &apic) {
  if (std::find(apics_.begin(), apics_.end(), &apic) == apics_.end())
    apics_.push_back(&apic);
}

void ApicBus::detach(LocalApic &apic) {
  std::erase(apics_, &apic);
}

void ApicBus::deliver(const ApicMessage &message) {
  ApicInterrupt interrupt;
  interrupt.vector = message.vector;
  interrupt.delivery_mode =
      ApicInterrupt::DeliveryMode(message.delivery_mode & 7);
  // Start-up and remote read are IPI-only; in a redirection entry they are
  // reserved.
  if (interrupt.delivery_mode == ApicInterrupt::StartUp ||
      interrupt.delivery_mode == ApicInterrupt::RemoteRead) {
    SABLE_LOG_ONCE(LOG_GUEST_ERRORS,
                   "apic bus: I/O APIC message with reserved delivery mode "
                   "%u dropped\n",
                   unsigned(interrupt.delivery_mode));
    return;
  }
  interrupt.logical_destination = message.logical_destination;
  interrupt.destination = message.destination;
  interrupt.level_triggered = message.level_triggered;
  send(interrupt, nullptr);
}

bool ApicBus::targets(const LocalApic &apic, const ApicInterrupt &interrupt,
                      const LocalApic *source) const {
  switch (interrupt.shorthand) {
  case ApicInterrupt::Self:
    return &apic == source;
  case ApicInterrupt::AllIncludingSelf:
    return apic.hardware_enabled();
  case ApicInterrupt::AllExcludingSelf:
    return &apic != source && apic.hardware_enabled();
  case ApicInterrupt::NoShorthand:
    break;
  }
  return apic.addressed_by(interrupt);
}

void ApicBus::send(const ApicInterrupt &interrupt, LocalApic *source) {
  if (interrupt.delivery_mode == ApicInterrupt::LowestPriority) {
    LocalApic *chosen = nullptr;
    uint8_t lowest = 0;
    for (LocalApic *apic : apics_) {
      if (!targets(*apic, interrupt, source) || !apic->accepts_fixed())
        continue;
      uint8_t priority = apic->processor_priority();
      if (!chosen || priority < lowest) {
        chosen = apic;
        lowest = priority;
      }
    }
    if (chosen)
      chosen->accept(interrupt);
    return;
  }
  for (LocalApic *apic : apics_)
    if (targets(*apic, interrupt, source))
      apic->accept(interrupt);
}

void ApicBus::broadcast_eoi(uint8_t vector) {
  if (eoi_handler_)
    eoi_handler_(vector);
}

} // namespace sable
