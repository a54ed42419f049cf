#pragma once
// ACPI fixed hardware of the PIIX4 power management function (8086:7113) at
// 00:01.3: the PM1a event and control registers, the 3.579545 MHz PM timer,
// the GPE0 block and the SCI. ACPI mode is on from reset (SCI_EN set) and
// there is no SMI command port, so the FADT declares SMI_CMD = 0.
//
// The PM register block sits at PMBA (config 0x40) while PMIOSE (config 0x80
// bit 0) is set. Unlike the real part, both reset to the addresses below
// already enabled, so an OS booted without firmware finds the block where the
// FADT says; firmware that programs them rewrites the same values.

#include <cstdint>
#include <functional>

#include "devices/pci_bus.h"
#include "machine/clock.h"
#include "machine/irq.h"

namespace sable {

class IoPortBus;

namespace acpi {
// QEMU's PIIX4 addresses, so firmware and guests tuned to them agree.
constexpr uint16_t kPmBase = 0x600;
constexpr unsigned kPmLength = 0x40;
constexpr uint16_t kPm1aEventBlock = kPmBase;
constexpr unsigned kPm1EventLength = 4;
constexpr uint16_t kPm1aControlBlock = kPmBase + 0x04;
constexpr unsigned kPm1ControlLength = 2;
constexpr uint16_t kPmTimerBlock = kPmBase + 0x08;
constexpr unsigned kPmTimerLength = 4;
constexpr uint16_t kGpe0Block = 0xafe0;
constexpr unsigned kGpe0Length = 4;
constexpr unsigned kSciIrq = 9;
// SLP_TYP the DSDT's \_S5 package names; the PIIX4 encodes soft-off as 0.
constexpr uint8_t kSleepTypeSoftOff = 0;
constexpr uint64_t kPmTimerHz = 3579545;

constexpr uint16_t kPm1TimerStatus = 1u << 0;
constexpr uint16_t kPm1GlobalStatus = 1u << 5;
constexpr uint16_t kPm1PowerButtonStatus = 1u << 8;
constexpr uint16_t kPm1SleepButtonStatus = 1u << 9;
constexpr uint16_t kPm1RtcStatus = 1u << 10;
constexpr uint16_t kPm1WakeStatus = 1u << 15;
constexpr uint16_t kPm1SciEnable = 1u << 0;
constexpr uint16_t kPm1SleepEnable = 1u << 13;
} // namespace acpi

class AcpiPm : public PciDevice {
public:
  // Registers the function at 00:01.3 and maps the PM block and the GPE0
  // block on `io`. `sci` is the SCI line (ISA IRQ 9, level); `power_off`
  // runs when the guest enters S5.
  AcpiPm(PciBus &bus, IoPortBus &io, Clock &clock, IrqLine sci,
         std::function<void()> power_off);

  std::string_view name() const override { return "piix4-pm"; }

  // The power button was pressed: PWRBTN_STS, and an SCI when enabled.
  void power_button();

private:
  uint64_t read_pm(uint64_t offset, unsigned size);
  void write_pm(uint64_t offset, unsigned size, uint64_t value);
  uint8_t read_pm_byte(unsigned offset);
  void write_pm_byte(unsigned offset, uint8_t value);
  uint64_t read_gpe(uint64_t offset, unsigned size) const;
  void write_gpe(uint64_t offset, unsigned size, uint64_t value);

  uint64_t timer_ticks() const;
  uint16_t pm1_status() const;
  void clear_timer_status();
  void enter_sleep_state(uint8_t type);
  void update_sci();
  void arm_timer_overflow();
  void update_pm_mapping();

  void config_written(unsigned offset, unsigned size) override;
  void config_restored() override;
  void reset_state() override;
  void save_state(StateWriter &out) const override;
  void load_state(StateReader &in) override;

  IoPortBus &io_;
  Clock &clock_;
  IrqLine sci_;
  std::function<void()> power_off_;
  PciRegion pm_port_;
  PciRegion gpe_port_;
  Timer overflow_timer_;
  bool pm_mapped_ = false;
  uint16_t pm_mapped_base_ = 0;

  uint16_t pm1_status_ = 0; // all but TMR_STS, which is derived from time
  uint16_t pm1_enable_ = 0;
  uint16_t pm1_control_ = acpi::kPm1SciEnable;
  uint16_t gpe0_status_ = 0;
  uint16_t gpe0_enable_ = 0;
  // Added to ticks since clock start, so a restored timer continues from its
  // saved value.
  uint64_t tick_offset_ = 0;
  // TMR_STS is set whenever bit 23 of the counter has toggled since the
  // guest last cleared it: the counter's period then differs from this.
  uint64_t timer_status_period_ = 0;
};

} // namespace sable
