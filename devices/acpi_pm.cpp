#include "devices/acpi_pm.h"

#include "machine/io_bus.h"
#include "machine/log.h"
#include "machine/state.h"

namespace sable {

namespace {
constexpr unsigned kPmBaseRegister = 0x40;
constexpr uint32_t kPmBaseAddressMask = 0xffc0;
constexpr unsigned kPmMiscRegister = 0x80;
constexpr uint8_t kPmIoSpaceEnable = 0x01;
constexpr unsigned kDeviceActivityB = 0x58;
constexpr uint32_t kApmcSmiEnable = 1u << 25;
constexpr unsigned kSmbusBaseRegister = 0x90;
constexpr unsigned kSmbusConfigRegister = 0xd2;

constexpr unsigned kPm1Status = 0x00;
constexpr unsigned kPm1Enable = 0x02;
constexpr unsigned kPm1Control = 0x04;
constexpr unsigned kPmTimer = 0x08;
constexpr unsigned kGpe0Status = 0x00;
constexpr unsigned kGpe0Enable = 0x02;

constexpr unsigned kTimerPeriodShift = 23; // TMR_STS follows bit 23
constexpr uint32_t kTimerMask = 0xffffff;
constexpr uint64_t kNsPerSecond = 1000000000;

constexpr uint16_t kPm1EventsWithSci =
    acpi::kPm1TimerStatus | acpi::kPm1GlobalStatus |
    acpi::kPm1PowerButtonStatus | acpi::kPm1SleepButtonStatus |
    acpi::kPm1RtcStatus;
constexpr uint16_t kPm1EnableWritable = kPm1EventsWithSci;
constexpr uint16_t kPm1ControlStored =
    0x1c07; // SCI_EN, BM_RLD, GBL_RLS, SLP_TYP
constexpr unsigned kSleepTypeShift = 10;

uint64_t ticks_at(uint64_t ns) {
  return uint64_t((unsigned __int128)ns * acpi::kPmTimerHz / kNsPerSecond);
}

uint64_t first_ns_at_tick(uint64_t tick) {
  return uint64_t(
      ((unsigned __int128)tick * kNsPerSecond + acpi::kPmTimerHz - 1) /
      acpi::kPmTimerHz);
}

void set_byte(uint16_t &reg, unsigned byte, uint8_t value, uint16_t mask) {
  unsigned shift = 8 * byte;
  uint16_t merged = uint16_t((reg & ~(0xffu << shift)) | value << shift);
  reg = (reg & ~mask) | (merged & mask);
}
} // namespace

AcpiPm::AcpiPm(PciBus &bus, IoPortBus &io, Clock &clock, IrqLine sci,
               std::function<void()> power_off)
    : PciDevice(0x8086, 0x7113, 0x068000, 0x03), io_(io), clock_(clock),
      sci_(sci), power_off_(std::move(power_off)),
      pm_port_(
          "acpi-pm",
          [this](uint64_t offset, unsigned size) {
            return read_pm(offset, size);
          },
          [this](uint64_t offset, unsigned size, uint64_t value) {
            write_pm(offset, size, value);
          }),
      gpe_port_(
          "acpi-gpe0",
          [this](uint64_t offset, unsigned size) {
            return read_gpe(offset, size);
          },
          [this](uint64_t offset, unsigned size, uint64_t value) {
            write_gpe(offset, size, value);
          }),
      overflow_timer_(clock, [this] { update_sci(); }) {
  set_interrupt_pin(1);
  set_config_dword(kPmBaseRegister, acpi::kPmBase | 1);
  set_writable(kPmBaseRegister, 4, kPmBaseAddressMask);
  set_config_byte(kPmMiscRegister, kPmIoSpaceEnable);
  set_writable(kPmMiscRegister, 1, kPmIoSpaceEnable);
  // There is no SMM. With APMC_EN already set, firmware (SeaBIOS) takes SMM
  // as initialised instead of raising an SMI and waiting for a handler that
  // would never run; read-only so it stays that way.
  set_config_dword(kDeviceActivityB, kApmcSmiEnable);
  // The SMBus controller is not modelled; firmware may still place it.
  set_config_dword(kSmbusBaseRegister, 1);
  set_writable(kSmbusBaseRegister, 4, 0xfff0);
  set_writable(kSmbusConfigRegister, 1, 0x0f);
  timer_status_period_ = timer_ticks() >> kTimerPeriodShift;
  io_.map(acpi::kGpe0Block, acpi::kGpe0Length, &gpe_port_);
  bus.add(this, 1, 3);
  update_pm_mapping();
}

void AcpiPm::power_button() {
  pm1_status_ |= acpi::kPm1PowerButtonStatus;
  update_sci();
}

uint64_t AcpiPm::timer_ticks() const {
  return ticks_at(clock_.now_ns()) + tick_offset_;
}

uint16_t AcpiPm::pm1_status() const {
  bool timer_wrapped =
      (timer_ticks() >> kTimerPeriodShift) != timer_status_period_;
  return pm1_status_ | (timer_wrapped ? acpi::kPm1TimerStatus : 0);
}

void AcpiPm::clear_timer_status() {
  timer_status_period_ = timer_ticks() >> kTimerPeriodShift;
}

uint64_t AcpiPm::read_pm(uint64_t offset, unsigned size) {
  uint64_t value = 0;
  for (unsigned i = 0; i < size; ++i)
    value |= uint64_t(read_pm_byte(unsigned(offset) + i)) << (8 * i);
  return value;
}

void AcpiPm::write_pm(uint64_t offset, unsigned size, uint64_t value) {
  for (unsigned i = 0; i < size; ++i)
    write_pm_byte(unsigned(offset) + i, uint8_t(value >> (8 * i)));
  update_sci();
}

uint8_t AcpiPm::read_pm_byte(unsigned offset) {
  unsigned byte = offset & 1;
  switch (offset & ~1u) {
  case kPm1Status:
    return uint8_t(pm1_status() >> (8 * byte));
  case kPm1Enable:
    return uint8_t(pm1_enable_ >> (8 * byte));
  case kPm1Control:
    return uint8_t(pm1_control_ >> (8 * byte));
  case kPmTimer:
  case kPmTimer + 2:
    return uint8_t((timer_ticks() & kTimerMask) >> (8 * (offset - kPmTimer)));
  default:
    SABLE_LOG_ONCE(LOG_UNIMP, "piix4-pm: read of register 0x%x\n", offset);
    return 0;
  }
}

void AcpiPm::write_pm_byte(unsigned offset, uint8_t value) {
  unsigned byte = offset & 1;
  switch (offset & ~1u) {
  case kPm1Status: {
    uint16_t clear = uint16_t(value << (8 * byte));
    if (clear & acpi::kPm1TimerStatus)
      clear_timer_status();
    pm1_status_ &= ~clear;
    break;
  }
  case kPm1Enable:
    set_byte(pm1_enable_, byte, value, kPm1EnableWritable);
    break;
  case kPm1Control:
    set_byte(pm1_control_, byte, value, kPm1ControlStored);
    if (byte == 1 && (value << 8) & acpi::kPm1SleepEnable)
      enter_sleep_state((pm1_control_ >> kSleepTypeShift) & 7);
    break;
  case kPmTimer:
  case kPmTimer + 2:
    break;
  default:
    SABLE_LOG_ONCE(LOG_UNIMP, "piix4-pm: write of register 0x%x\n", offset);
    break;
  }
}

void AcpiPm::enter_sleep_state(uint8_t type) {
  if (type != acpi::kSleepTypeSoftOff) {
    SABLE_LOG_ONCE(LOG_UNIMP, "piix4-pm: sleep type %u not supported\n", type);
    return;
  }
  if (power_off_)
    power_off_();
}

uint64_t AcpiPm::read_gpe(uint64_t offset, unsigned size) const {
  uint32_t block = uint32_t(gpe0_status_) | uint32_t(gpe0_enable_) << 16;
  return (block >> (8 * offset)) & all_ones(size);
}

void AcpiPm::write_gpe(uint64_t offset, unsigned size, uint64_t value) {
  for (unsigned i = 0; i < size && offset + i < acpi::kGpe0Length; ++i) {
    unsigned at = unsigned(offset) + i;
    uint8_t byte = uint8_t(value >> (8 * i));
    if (at < kGpe0Enable)
      gpe0_status_ &= ~uint16_t(byte << (8 * (at - kGpe0Status)));
    else
      set_byte(gpe0_enable_, at - kGpe0Enable, byte, 0xffff);
  }
  update_sci();
}

void AcpiPm::update_sci() {
  uint16_t status = pm1_status();
  bool pending = (status & pm1_enable_ & kPm1EventsWithSci) ||
                 (gpe0_status_ & gpe0_enable_);
  sci_.set((pm1_control_ & acpi::kPm1SciEnable) && pending);
  if ((pm1_enable_ & acpi::kPm1TimerStatus) &&
      !(status & acpi::kPm1TimerStatus))
    arm_timer_overflow();
  else
    overflow_timer_.cancel();
}

void AcpiPm::arm_timer_overflow() {
  uint64_t next_period = (timer_status_period_ + 1) << kTimerPeriodShift;
  overflow_timer_.arm_at(first_ns_at_tick(next_period - tick_offset_));
}

void AcpiPm::update_pm_mapping() {
  uint16_t base = uint16_t(config_dword(kPmBaseRegister) & kPmBaseAddressMask);
  bool enabled = (config_byte(kPmMiscRegister) & kPmIoSpaceEnable) && base;
  if (pm_mapped_ && enabled && base == pm_mapped_base_)
    return;
  if (pm_mapped_)
    io_.unmap(pm_mapped_base_, &pm_port_);
  pm_mapped_ = false;
  if (!enabled)
    return;
  try {
    io_.map(base, acpi::kPmLength, &pm_port_);
  } catch (const BusError &error) {
    SABLE_LOG_ONCE(LOG_GUEST_ERRORS,
                   "piix4-pm: PM block at 0x%x left unmapped: %s\n", base,
                   error.what());
    return;
  }
  pm_mapped_ = true;
  pm_mapped_base_ = base;
}

void AcpiPm::config_written(unsigned offset, unsigned size) {
  bool base = offset < kPmBaseRegister + 4 && kPmBaseRegister < offset + size;
  bool misc = offset <= kPmMiscRegister && kPmMiscRegister < offset + size;
  if (base || misc)
    update_pm_mapping();
}

void AcpiPm::config_restored() {
  update_pm_mapping();
  update_sci();
}

void AcpiPm::reset_state() {
  pm1_status_ = 0;
  pm1_enable_ = 0;
  pm1_control_ = acpi::kPm1SciEnable;
  gpe0_status_ = 0;
  gpe0_enable_ = 0;
  clear_timer_status();
}

void AcpiPm::save_state(StateWriter &out) const {
  out.begin_section("piix4-pm", 1);
  out.u16(pm1_status());
  out.u16(pm1_enable_);
  out.u16(pm1_control_);
  out.u16(gpe0_status_);
  out.u16(gpe0_enable_);
  out.u64(timer_ticks());
  out.end_section();
}

void AcpiPm::load_state(StateReader &in) {
  in.begin_section("piix4-pm", 1);
  uint16_t status = in.u16();
  pm1_enable_ = in.u16();
  pm1_control_ = in.u16();
  gpe0_status_ = in.u16();
  gpe0_enable_ = in.u16();
  uint64_t ticks = in.u64();
  in.end_section();
  pm1_status_ = status & ~acpi::kPm1TimerStatus;
  tick_offset_ = ticks - ticks_at(clock_.now_ns());
  timer_status_period_ =
      (ticks >> kTimerPeriodShift) - ((status & acpi::kPm1TimerStatus) ? 1 : 0);
}

} // namespace sable
