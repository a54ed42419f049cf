#pragma once
// Motorola MC146818 real-time clock with the PC's 128 bytes of CMOS RAM.
// Port offsets: 0 index (bit 7 masks NMI), 1 data.
//
// The time is kept as seconds since the Unix epoch (read as UTC) plus the
// Clock instant at which that second began; register values are derived
// on each read. Interrupt flags are brought up to date lazily, and a Timer
// runs only while an enabled interrupt could still raise IRQ 8.
//
// reset() models the RESET pin, not a battery change: time and CMOS RAM
// survive, interrupt enables and flags clear.

#include <cstdint>

#include "machine/clock.h"
#include "machine/device.h"
#include "machine/irq.h"

namespace sable {

class RtcCmos : public Device {
public:
  // Starts at the host's current UTC time.
  RtcCmos(Clock &clock, IrqLine irq);

  std::string_view name() const override { return "rtc-cmos"; }
  uint64_t read(uint64_t offset, unsigned size) override;
  void write(uint64_t offset, unsigned size, uint64_t value) override;
  void reset() override;
  void save(StateWriter &out) const override;
  void load(StateReader &in) override;

  void set_time(int64_t unix_seconds);
  int64_t time() const;
  bool nmi_masked() const { return nmi_masked_; }

  // For the machine filling in what firmware reads: indexes 0x0E-0x7F are
  // plain RAM, except 0x32, the century of the running clock.
  void set_cmos(uint8_t index, uint8_t value);
  // A side-effect-free read of any register or RAM byte.
  uint8_t cmos(uint8_t index) const;
  // Base, extended and high memory sizes where PC BIOSes look for them.
  void set_memory_size(uint64_t ram_below_4g, uint64_t ram_above_4g);

private:
  uint8_t read_register(uint8_t index);
  void write_register(uint8_t index, uint8_t value);
  uint8_t read_time_field(uint8_t index) const;
  void write_time_field(uint8_t index, uint8_t value);
  uint8_t encode(unsigned value) const;
  unsigned decode(uint8_t value) const;
  uint8_t encode_hour(unsigned hour) const;
  unsigned decode_hour(uint8_t value) const;
  bool alarm_matches(int64_t seconds) const;

  bool frozen() const;
  bool divider_running() const;
  int64_t seconds_at(uint64_t now) const;
  void change_mode(uint8_t reg_a, uint8_t reg_b);
  uint64_t periodic_ns() const;
  void update_flags();
  void update_irq();
  void arm_timer();

  Clock &clock_;
  IrqLine irq_;
  Timer timer_;

  uint8_t ram_[128] = {};
  uint8_t index_ = 0;
  bool nmi_masked_ = false;

  int64_t base_seconds_ = 0; // the RTC time that began at base_ns_
  int64_t base_ns_ = 0;
  int64_t frozen_seconds_ = 0; // the RTC time while SET or divider reset
  int64_t divider_origin_ns_ = 0;
  int64_t flags_checked_ns_ = 0;
  uint8_t weekday_adjust_ = 0; // days the guest moved the weekday counter
};

} // namespace sable
