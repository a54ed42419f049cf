#include "devices/ioapic.h"

#include "machine/io_bus.h"
#include "machine/log.h"
#include "machine/state.h"

namespace sable {

namespace {
constexpr uint64_t kSelectOffset = 0x00;
constexpr uint64_t kWindowOffset = 0x10;
constexpr uint64_t kEoiOffset = 0x40;

constexpr uint8_t kIdRegister = 0x00;
constexpr uint8_t kVersionRegister = 0x01;
constexpr uint8_t kArbitrationRegister = 0x02;
constexpr uint8_t kRedirectionBase = 0x10;
constexpr unsigned kIdShift = 24;

constexpr uint64_t kVectorMask = 0xff;
constexpr unsigned kDeliveryModeShift = 8;
constexpr uint64_t kLogicalDestination = 1ull << 11;
constexpr uint64_t kRemoteIrr = 1ull << 14;
constexpr uint64_t kLevelTriggered = 1ull << 15;
constexpr uint64_t kMasked = 1ull << 16;
constexpr unsigned kDestinationShift = 56;
// Delivery status (bit 12) and Remote IRR are read-only; delivery is
// immediate, so delivery status always reads idle.
constexpr uint64_t kEntryWritable = 0xff000000'0001afffull;

// ISA IRQ 0 reaches pin 2 (MADT override); see the header.
constexpr unsigned kIsaTimerIrq = 0;
constexpr unsigned kTimerPin = 2;
} // namespace

Ioapic::Ioapic(std::function<void(const ApicMessage &)> deliver)
    : deliver_(std::move(deliver)) {
  reset();
}

void Ioapic::reset() {
  select_ = 0;
  id_ = kResetId;
  entries_.fill(kMasked);
  asserted_.fill(false);
}

uint64_t Ioapic::read(uint64_t offset, unsigned size) {
  uint32_t value = 0;
  if (offset == kSelectOffset)
    value = select_;
  else if (offset == kWindowOffset)
    value = read_register(select_);
  else
    SABLE_LOG_ONCE(LOG_GUEST_ERRORS, "ioapic: read at offset 0x%x\n",
                   unsigned(offset));
  return value & all_ones(size);
}

void Ioapic::write(uint64_t offset, unsigned, uint64_t value) {
  if (offset == kSelectOffset)
    select_ = uint8_t(value);
  else if (offset == kWindowOffset)
    write_register(select_, uint32_t(value));
  else if (offset == kEoiOffset)
    eoi(uint8_t(value));
  else
    SABLE_LOG_ONCE(LOG_GUEST_ERRORS, "ioapic: write at offset 0x%x\n",
                   unsigned(offset));
}

uint32_t Ioapic::read_register(uint8_t index) const {
  switch (index) {
  case kIdRegister:
  case kArbitrationRegister:
    return uint32_t(id_) << kIdShift;
  case kVersionRegister:
    return (kPins - 1) << 16 | kVersion;
  default:
    break;
  }
  unsigned entry = (index - kRedirectionBase) / 2;
  if (index < kRedirectionBase || entry >= kPins)
    return 0;
  return uint32_t(entries_[entry] >> (index & 1 ? 32 : 0));
}

void Ioapic::write_register(uint8_t index, uint32_t value) {
  if (index == kIdRegister) {
    id_ = (value >> kIdShift) & 0xf;
    return;
  }
  unsigned pin = (index - kRedirectionBase) / 2;
  if (index < kRedirectionBase || pin >= kPins)
    return;
  uint64_t &entry = entries_[pin];
  unsigned shift = index & 1 ? 32 : 0;
  uint64_t mask = (kEntryWritable >> shift & 0xffffffffull) << shift;
  entry = (entry & ~mask) | ((uint64_t(value) << shift) & mask);
  // Unmasking or retargeting an asserted level input delivers it; an edge
  // input only delivers on its next rising edge.
  if (entry & kLevelTriggered)
    service(pin);
  else
    entry &= ~kRemoteIrr;
}

void Ioapic::set_irq(unsigned gsi, bool level) {
  if (gsi == kTimerPin)
    return;
  unsigned pin = gsi == kIsaTimerIrq ? kTimerPin : gsi;
  if (pin >= kPins)
    return;
  bool rising = level && !asserted_[pin];
  asserted_[pin] = level;
  if (entries_[pin] & kLevelTriggered || rising)
    service(pin);
}

void Ioapic::eoi(uint8_t vector) {
  for (unsigned pin = 0; pin < kPins; ++pin) {
    uint64_t &entry = entries_[pin];
    if ((entry & kVectorMask) != vector || !(entry & kRemoteIrr))
      continue;
    entry &= ~kRemoteIrr;
    service(pin);
  }
}

// Sends the pin's message when it is due: an asserted level-triggered input
// with Remote IRR clear, or an edge input (callers ask only on its rising
// edge).
void Ioapic::service(unsigned pin) {
  uint64_t &entry = entries_[pin];
  bool level = entry & kLevelTriggered;
  if (!asserted_[pin] || (entry & kMasked) || (level && (entry & kRemoteIrr)))
    return;
  if (level)
    entry |= kRemoteIrr;
  ApicMessage message{
      uint8_t(entry & kVectorMask),
      ApicMessage::DeliveryMode((entry >> kDeliveryModeShift) & 7),
      (entry & kLogicalDestination) != 0,
      uint8_t(entry >> kDestinationShift),
      level,
  };
  if (deliver_)
    deliver_(message);
}

void Ioapic::save(StateWriter &out) const {
  out.begin_section("ioapic", 1);
  out.u8(select_);
  out.u8(id_);
  for (unsigned pin = 0; pin < kPins; ++pin) {
    out.u64(entries_[pin]);
    out.boolean(asserted_[pin]);
  }
  out.end_section();
}

void Ioapic::load(StateReader &in) {
  in.begin_section("ioapic", 1);
  select_ = in.u8();
  id_ = in.u8();
  for (unsigned pin = 0; pin < kPins; ++pin) {
    entries_[pin] = in.u64();
    asserted_[pin] = in.boolean();
  }
  in.end_section();
}

} // namespace sable
