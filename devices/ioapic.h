#pragma once
// The I/O APIC (82093AA register interface, version 0x20 with the EOI
// register): 24 redirection entries turning interrupt input levels into
// messages for the local APICs.
//
// Inputs arrive as IrqSink GSIs. ISA IRQ 0 (the PIT) is wired to pin 2, as
// the MADT's interrupt source override says, so input 2 (the PIC cascade)
// is not connected; pin 0 would carry the PIC's ExtINT output, which is not
// modelled. An input level means "asserted": the
// polarity bit is kept for the guest but the model does not invert, since
// every source here reports assertion rather than the electrical level.

#include <array>
#include <cstdint>
#include <functional>

#include "machine/device.h"
#include "machine/irq.h"

namespace sable {

// What the IOAPIC sends to the local APIC side.
struct ApicMessage {
  enum DeliveryMode : uint8_t {
    Fixed = 0,
    LowestPriority = 1,
    Smi = 2,
    Nmi = 4,
    Init = 5,
    ExtInt = 7,
  };
  uint8_t vector;
  DeliveryMode delivery_mode;
  bool logical_destination;
  uint8_t destination;
  bool level_triggered;
};

class Ioapic : public Device, public IrqSink {
public:
  static constexpr uint64_t kBaseAddress = 0xfec00000;
  static constexpr uint64_t kMmioSize = 0x1000;
  static constexpr unsigned kPins = 24;
  static constexpr uint8_t kVersion = 0x20;
  static constexpr uint8_t kResetId = 0;

  explicit Ioapic(std::function<void(const ApicMessage &)> deliver);

  std::string_view name() const override { return "ioapic"; }
  // Offsets: 0x00 IOREGSEL, 0x10 IOWIN, 0x40 EOI.
  uint64_t read(uint64_t offset, unsigned size) override;
  void write(uint64_t offset, unsigned size, uint64_t value) override;
  void reset() override;
  void save(StateWriter &out) const override;
  void load(StateReader &in) override;

  void set_irq(unsigned gsi, bool level) override;
  // The local APIC broadcasts an EOI for a level-triggered vector: clears
  // Remote IRR of the entries using it and re-delivers inputs still asserted.
  void eoi(uint8_t vector);

  uint64_t redirection_entry(unsigned pin) const { return entries_[pin]; }

private:
  uint32_t read_register(uint8_t index) const;
  void write_register(uint8_t index, uint32_t value);
  void service(unsigned pin);

  std::function<void(const ApicMessage &)> deliver_;
  uint8_t select_ = 0;
  uint8_t id_ = kResetId;
  std::array<uint64_t, kPins> entries_{};
  std::array<bool, kPins> asserted_{};
};

} // namespace sable
