#pragma once
// PCI bus 0 behind the host bridge: configuration mechanism #1 (0xCF8 address,
// 0xCFC-0xCFF data), functions with a 256-byte configuration space, BAR
// decoding onto the I/O and MMIO buses, and INTx wiring.
//
// Interrupt wiring: slot S pin P (0 = INTA) drives PIRQ (S + P - 1) mod 4, the
// swizzle SeaBIOS and the ACPI _PRT assume. Each PIRQ is wired both to IOAPIC
// input 16 + PIRQ (what the DSDT's _PRT hands to an APIC-mode OS) and, through
// the PIIX3 route registers, to an ISA IRQ (what PIC-mode firmware and OSes
// use). Several pins share a PIRQ and several PIRQs may share an ISA IRQ;
// their levels are OR-ed here, since IrqRouter lines are not shared.

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "machine/device.h"
#include "machine/device_window.h"

namespace sable {

class IoPortBus;
class MmioBus;
class IrqRouter;
class PciBus;
class StateReader;
class StateWriter;

// Which ISA IRQ each PIRQ line is steered to (the PIIX3 route registers).
class PirqRouter {
public:
  virtual ~PirqRouter() = default;
  // Returns the ISA IRQ, or -1 when the route is disabled.
  virtual int isa_irq_for_pirq(unsigned pirq) const = 0;
};

// A port or MMIO range whose registers belong to a PCI function, which
// resets and saves them with its configuration space.
class PciRegion : public DeviceWindow {
public:
  using Reader = std::function<uint64_t(uint64_t offset, unsigned size)>;
  using Writer =
      std::function<void(uint64_t offset, unsigned size, uint64_t value)>;

  PciRegion(std::string name, Reader reader, Writer writer)
      : name_(std::move(name)), reader_(std::move(reader)),
        writer_(std::move(writer)) {}

  std::string_view name() const override { return name_; }
  uint64_t read(uint64_t offset, unsigned size) override {
    return reader_(offset, size);
  }
  void write(uint64_t offset, unsigned size, uint64_t value) override {
    writer_(offset, size, value);
  }

private:
  std::string name_;
  Reader reader_;
  Writer writer_;
};

namespace pci {
constexpr unsigned kVendorId = 0x00;
constexpr unsigned kDeviceId = 0x02;
constexpr unsigned kCommand = 0x04;
constexpr unsigned kStatus = 0x06;
constexpr unsigned kRevision = 0x08;
constexpr unsigned kClassCode = 0x09;
constexpr unsigned kHeaderType = 0x0e;
constexpr unsigned kBar0 = 0x10;
constexpr unsigned kSubsystemVendorId = 0x2c;
constexpr unsigned kInterruptLine = 0x3c;
constexpr unsigned kInterruptPin = 0x3d;

constexpr uint16_t kCommandIo = 1u << 0;
constexpr uint16_t kCommandMemory = 1u << 1;
constexpr uint16_t kCommandMaster = 1u << 2;
constexpr uint16_t kCommandIntxDisable = 1u << 10;
constexpr uint16_t kStatusInterrupt = 1u << 3;

constexpr uint8_t kHeaderMultiFunction = 0x80;
constexpr unsigned kBarCount = 6;
constexpr unsigned kPirqCount = 4;
// IOAPIC input of PIRQA; PIRQB-D follow.
constexpr unsigned kPirqGsiBase = 16;
} // namespace pci

class PciDevice {
public:
  enum class BarKind { Io, Mem32, Mem64 };

  virtual ~PciDevice() = default;
  virtual std::string_view name() const = 0;

  // Accesses stay within one dword (offset % 4 + size <= 4).
  uint32_t config_read(unsigned offset, unsigned size) const;
  void config_write(unsigned offset, unsigned size, uint32_t value);

  // The function's INTx pin (the one its Interrupt Pin register names).
  void set_intx(bool level);
  bool intx() const { return intx_; }

  uint8_t slot() const { return devfn_ >> 3; }
  uint8_t function() const { return devfn_ & 7; }
  uint8_t config_byte(unsigned offset) const { return config_[offset]; }
  uint16_t config_word(unsigned offset) const;
  uint32_t config_dword(unsigned offset) const;

protected:
  PciDevice(uint16_t vendor, uint16_t device, uint32_t class_code,
            uint8_t revision);

  void set_config_byte(unsigned offset, uint8_t value) {
    config_[offset] = value;
  }
  void set_config_word(unsigned offset, uint16_t value);
  void set_config_dword(unsigned offset, uint32_t value);
  // Bits of a register the guest may change (the rest are read-only).
  void set_writable(unsigned offset, unsigned size, uint32_t mask);
  void set_interrupt_pin(uint8_t pin) { config_[pci::kInterruptPin] = pin; }
  void set_multi_function() {
    config_[pci::kHeaderType] |= pci::kHeaderMultiFunction;
  }
  // Declares a BAR of `size` bytes (a power of two; 16 or more for memory,
  // 4 or more for I/O) decoding to `target`. A 64-bit BAR takes two slots.
  void define_bar(unsigned index, BarKind kind, uint64_t size, Device *target,
                  bool prefetchable = false);

  PciBus *bus() const { return bus_; }

  // Runs after a guest write changed configuration bytes [offset,
  // offset + size), so a function can act on its own registers.
  virtual void config_written(unsigned, unsigned) {}
  // Function state beyond the configuration space, reset, saved and restored
  // by the bus together with it; config_restored() runs after a reset or a
  // load so the function can re-apply what its registers select.
  virtual void reset_state() {}
  virtual void save_state(StateWriter &) const {}
  virtual void load_state(StateReader &) {}
  virtual void config_restored() {}

private:
  friend class PciBus;

  struct Bar {
    BarKind kind = BarKind::Io;
    uint64_t size = 0;
    Device *target = nullptr;
    bool mapped = false;
    uint64_t mapped_base = 0;
  };

  uint64_t bar_address(unsigned index) const;

  std::array<uint8_t, 256> config_{};
  std::array<uint8_t, 256> writable_{};
  std::array<uint8_t, 256> write_one_to_clear_{};
  std::array<uint8_t, 256> reset_config_{};
  std::array<Bar, pci::kBarCount> bars_{};
  PciBus *bus_ = nullptr;
  uint8_t devfn_ = 0;
  bool intx_ = false;
};

class PciBus : public Device {
public:
  PciBus(IoPortBus &io, MmioBus &mmio, IrqRouter *irq);

  // Machine setup: the bus does not own the function. Throws
  // std::logic_error when the slot and function are taken.
  void add(PciDevice *device, uint8_t slot, uint8_t function);
  PciDevice *find(uint8_t slot, uint8_t function) const;

  void set_pirq_router(PirqRouter *router) { pirq_router_ = router; }
  // The PIIX3 reset control register shares 0xCF8-0xCFB: byte accesses to
  // 0xCF9 go to it.
  void set_reset_control(Device *reset_control) {
    reset_control_ = reset_control;
  }

  // Offsets 0-3: CONFIG_ADDRESS (dword); 4-7: CONFIG_DATA.
  std::string_view name() const override { return "pci-bus"; }
  uint64_t read(uint64_t offset, unsigned size) override;
  void write(uint64_t offset, unsigned size, uint64_t value) override;
  // Restores every function's power-on configuration and state.
  void reset() override;
  void save(StateWriter &out) const override;
  void load(StateReader &in) override;

  // Called by functions whose decode or interrupt inputs changed.
  void update_bars(PciDevice &device);
  void update_interrupts();

  // `pin` as in the Interrupt Pin register: 1 = INTA ... 4 = INTD.
  static unsigned pirq_for(uint8_t slot, uint8_t pin) {
    return (slot + pin + 2u) % pci::kPirqCount;
  }

private:
  void map_bar(PciDevice &device, unsigned index, uint64_t base);
  void unmap_bar(PciDevice::Bar &bar);
  void restored();

  IoPortBus &io_;
  MmioBus &mmio_;
  IrqRouter *irq_;
  PirqRouter *pirq_router_ = nullptr;
  Device *reset_control_ = nullptr;
  std::vector<PciDevice *> devices_;
  uint32_t config_address_ = 0;
  std::array<bool, pci::kPirqCount> pirq_level_{};
  std::array<bool, 16> isa_level_{};
};

} // namespace sable
