#include "devices/rtc_cmos.h"

#include <algorithm>
#include <chrono>
#include <ctime>

#include "machine/log.h"
#include "machine/state.h"

namespace sable {

namespace {

enum : uint8_t {
  kSeconds = 0x00,
  kSecondsAlarm = 0x01,
  kMinutes = 0x02,
  kMinutesAlarm = 0x03,
  kHours = 0x04,
  kHoursAlarm = 0x05,
  kWeekday = 0x06,
  kDayOfMonth = 0x07,
  kMonth = 0x08,
  kYear = 0x09,
  kRegA = 0x0A,
  kRegB = 0x0B,
  kRegC = 0x0C,
  kRegD = 0x0D,
  kCentury = 0x32,
};

constexpr uint8_t kAUpdateInProgress = 0x80;
constexpr uint8_t kADividerMask = 0x70;
constexpr uint8_t kADividerNormal = 0x20; // 32.768 kHz time base
constexpr uint8_t kARateMask = 0x0F;

constexpr uint8_t kBSet = 0x80;
constexpr uint8_t kBPeriodicEnable = 0x40;
constexpr uint8_t kBAlarmEnable = 0x20;
constexpr uint8_t kBUpdateEnable = 0x10;
constexpr uint8_t kBSquareWave = 0x08;
constexpr uint8_t kBBinary = 0x04;
constexpr uint8_t kB24Hour = 0x02;
constexpr uint8_t kBDaylightSaving = 0x01;

constexpr uint8_t kCIrq = 0x80;
constexpr uint8_t kCPeriodic = 0x40;
constexpr uint8_t kCAlarm = 0x20;
constexpr uint8_t kCUpdate = 0x10;

constexpr uint8_t kDValidTime = 0x80;

constexpr int64_t kNsPerSecond = 1000000000;
// UIP rises this long before each update, so software that saw it clear
// may read all the time registers before they change.
constexpr int64_t kUpdateWarningNs = 244000;
constexpr int64_t kSecondsPerDay = 86400;

// The date and time registers, which follow the clock instead of RAM.
bool is_time_field(uint8_t index) {
  switch (index) {
  case kSeconds:
  case kMinutes:
  case kHours:
  case kWeekday:
  case kDayOfMonth:
  case kMonth:
  case kYear:
  case kCentury:
    return true;
  default:
    return false;
  }
}

int64_t floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

struct CivilTime {
  int year;
  unsigned month, day, weekday; // weekday: 0 = Sunday
  unsigned hour, minute, second;
};

CivilTime to_civil(int64_t seconds) {
  using namespace std::chrono;
  int64_t day_number = floor_div(seconds, kSecondsPerDay);
  int64_t second_of_day = seconds - day_number * kSecondsPerDay;
  sys_days day{days{day_number}};
  year_month_day date{day};
  return {int(date.year()),
          unsigned(date.month()),
          unsigned(date.day()),
          weekday{day}.c_encoding(),
          unsigned(second_of_day / 3600),
          unsigned(second_of_day / 60 % 60),
          unsigned(second_of_day % 60)};
}

// Out-of-range fields a guest wrote roll over into the next unit, as
// date arithmetic does, instead of being rejected.
int64_t from_civil(const CivilTime &t) {
  using namespace std::chrono;
  unsigned month_number = std::clamp(t.month, 1u, 12u);
  sys_days first{year{t.year} / month{month_number} / day{1}};
  int64_t day_number = first.time_since_epoch().count() + int64_t(t.day) - 1;
  return day_number * kSecondsPerDay + int64_t(t.hour) * 3600 +
         int64_t(t.minute) * 60 + t.second;
}

} // namespace

RtcCmos::RtcCmos(Clock &clock, IrqLine irq)
    : clock_(clock), irq_(irq), timer_(clock, [this] {
        update_flags();
        update_irq();
        arm_timer();
      }) {
  ram_[kRegA] = kADividerNormal | 0x06; // 1024 Hz periodic rate
  ram_[kRegB] = kB24Hour;
  ram_[kRegD] = kDValidTime;
  int64_t now = int64_t(clock_.now_ns());
  divider_origin_ns_ = now;
  flags_checked_ns_ = now;
  set_time(int64_t(std::time(nullptr)));
}

void RtcCmos::reset() {
  update_flags();
  ram_[kRegB] &=
      ~(kBPeriodicEnable | kBAlarmEnable | kBUpdateEnable | kBSquareWave);
  ram_[kRegC] = 0;
  update_irq();
  arm_timer();
}

// ---- time base ------------------------------------------------------------

bool RtcCmos::divider_running() const {
  return (ram_[kRegA] & kADividerMask) == kADividerNormal;
}

bool RtcCmos::frozen() const {
  return (ram_[kRegB] & kBSet) || !divider_running();
}

int64_t RtcCmos::seconds_at(uint64_t now) const {
  if (frozen())
    return frozen_seconds_;
  return base_seconds_ + floor_div(int64_t(now) - base_ns_, kNsPerSecond);
}

void RtcCmos::set_time(int64_t unix_seconds) {
  update_flags();
  base_seconds_ = unix_seconds;
  base_ns_ = int64_t(clock_.now_ns());
  frozen_seconds_ = unix_seconds;
  arm_timer();
}

int64_t RtcCmos::time() const {
  return seconds_at(clock_.now_ns());
}

// Register A's divider and register B's SET bit start and stop the clock.
void RtcCmos::change_mode(uint8_t reg_a, uint8_t reg_b) {
  update_flags();
  int64_t now = int64_t(clock_.now_ns());
  bool was_frozen = frozen();
  bool divider_was_running = divider_running();
  int64_t seconds = seconds_at(uint64_t(now));
  ram_[kRegA] = reg_a;
  ram_[kRegB] = reg_b;
  if (!was_frozen && frozen()) {
    frozen_seconds_ = seconds;
  } else if (was_frozen && !frozen()) {
    base_seconds_ = frozen_seconds_;
    base_ns_ = now;
    // Releasing the divider chain puts the first update half a second away.
    if (!divider_was_running)
      base_ns_ -= kNsPerSecond / 2;
  }
  if (!divider_was_running && divider_running())
    divider_origin_ns_ = now;
  if (reg_b & kBDaylightSaving)
    SABLE_LOG_ONCE(LOG_UNIMP, "rtc: daylight saving mode not implemented\n");
  update_irq();
  arm_timer();
}

// ---- register encoding ----------------------------------------------------

uint8_t RtcCmos::encode(unsigned value) const {
  if (ram_[kRegB] & kBBinary)
    return uint8_t(value);
  return uint8_t((value / 10 % 10) << 4 | value % 10);
}

unsigned RtcCmos::decode(uint8_t value) const {
  if (ram_[kRegB] & kBBinary)
    return value;
  return (value >> 4) * 10 + (value & 0x0F);
}

uint8_t RtcCmos::encode_hour(unsigned hour) const {
  if (ram_[kRegB] & kB24Hour)
    return encode(hour);
  unsigned twelve = hour % 12 == 0 ? 12 : hour % 12;
  return uint8_t(encode(twelve) | (hour >= 12 ? 0x80 : 0));
}

unsigned RtcCmos::decode_hour(uint8_t value) const {
  if (ram_[kRegB] & kB24Hour)
    return decode(value);
  unsigned twelve = decode(value & 0x7F) % 12;
  return twelve + ((value & 0x80) ? 12 : 0);
}

uint8_t RtcCmos::read_time_field(uint8_t index) const {
  CivilTime t = to_civil(seconds_at(clock_.now_ns()));
  switch (index) {
  case kSeconds:
    return encode(t.second);
  case kMinutes:
    return encode(t.minute);
  case kHours:
    return encode_hour(t.hour);
  case kWeekday:
    return encode((t.weekday + weekday_adjust_) % 7 + 1);
  case kDayOfMonth:
    return encode(t.day);
  case kMonth:
    return encode(t.month);
  case kYear:
    return encode(unsigned(t.year % 100));
  default: // kCentury
    return encode(unsigned(t.year / 100));
  }
}

void RtcCmos::write_time_field(uint8_t index, uint8_t value) {
  int64_t now = int64_t(clock_.now_ns());
  int64_t old_seconds = seconds_at(uint64_t(now));
  CivilTime t = to_civil(old_seconds);
  switch (index) {
  case kSeconds:
    t.second = decode(value);
    break;
  case kMinutes:
    t.minute = decode(value);
    break;
  case kHours:
    t.hour = decode_hour(value);
    break;
  case kWeekday:
    weekday_adjust_ = uint8_t((decode(value) + 6 - t.weekday % 7) % 7);
    return;
  case kDayOfMonth:
    t.day = decode(value);
    break;
  case kMonth:
    t.month = decode(value);
    break;
  case kYear:
    t.year = t.year / 100 * 100 + int(decode(value) % 100);
    break;
  default: // kCentury
    t.year = int(decode(value)) * 100 + t.year % 100;
    break;
  }
  update_flags();
  int64_t new_seconds = from_civil(t);
  if (frozen())
    frozen_seconds_ = new_seconds;
  else
    base_seconds_ += new_seconds - old_seconds; // keeps the second's phase
}

// ---- interrupts ---------------------------------------------------------

uint64_t RtcCmos::periodic_ns() const {
  unsigned rate = ram_[kRegA] & kARateMask;
  if (rate == 0)
    return 0;
  if (rate < 3)
    rate += 7; // rates 1 and 2 repeat 8 and 9 on a 32.768 kHz base
  return (uint64_t(1) << (rate - 1)) * uint64_t(kNsPerSecond) / 32768;
}

bool RtcCmos::alarm_matches(int64_t seconds) const {
  int64_t of_day =
      seconds - floor_div(seconds, kSecondsPerDay) * kSecondsPerDay;
  auto matches = [](uint8_t alarm, uint8_t now) {
    return (alarm & 0xC0) == 0xC0 || alarm == now;
  };
  return matches(ram_[kSecondsAlarm], encode(unsigned(of_day % 60))) &&
         matches(ram_[kMinutesAlarm], encode(unsigned(of_day / 60 % 60))) &&
         matches(ram_[kHoursAlarm], encode_hour(unsigned(of_day / 3600)));
}

// Sets the flags for every event between the previous check and now.
void RtcCmos::update_flags() {
  int64_t now = int64_t(clock_.now_ns());
  int64_t last = flags_checked_ns_;
  flags_checked_ns_ = now;
  if (now <= last)
    return;
  if (uint64_t period = periodic_ns(); period && divider_running()) {
    int64_t p = int64_t(period);
    if (floor_div(now - divider_origin_ns_, p) >
        floor_div(last - divider_origin_ns_, p))
      ram_[kRegC] |= kCPeriodic;
  }
  if (!frozen()) {
    int64_t last_second = floor_div(last - base_ns_, kNsPerSecond);
    int64_t now_second = floor_div(now - base_ns_, kNsPerSecond);
    if (now_second > last_second) {
      ram_[kRegC] |= kCUpdate;
      // A day covers every alarm setting; older seconds cannot add a match.
      int64_t first = std::max(last_second + 1, now_second - kSecondsPerDay);
      for (int64_t k = first; k <= now_second; ++k) {
        if (alarm_matches(base_seconds_ + k)) {
          ram_[kRegC] |= kCAlarm;
          break;
        }
      }
    }
  }
}

void RtcCmos::update_irq() {
  uint8_t enabled =
      ram_[kRegB] & (kBPeriodicEnable | kBAlarmEnable | kBUpdateEnable);
  // Each flag in register C sits at the bit of its enable in register B.
  uint8_t flags = ram_[kRegC] & (kCPeriodic | kCAlarm | kCUpdate);
  if (flags & enabled)
    ram_[kRegC] |= kCIrq;
  bool level = ram_[kRegC] & kCIrq;
  if (level != irq_.level())
    irq_.set(level);
}

// Only the next event that could raise IRQ 8 needs a wakeup; while IRQF is
// set nothing new can reach the line until register C is read.
void RtcCmos::arm_timer() {
  uint8_t reg_b = ram_[kRegB];
  if ((ram_[kRegC] & kCIrq) ||
      !(reg_b & (kBPeriodicEnable | kBAlarmEnable | kBUpdateEnable))) {
    timer_.cancel();
    return;
  }
  int64_t now = int64_t(clock_.now_ns());
  int64_t next = INT64_MAX;
  if (uint64_t period = periodic_ns();
      (reg_b & kBPeriodicEnable) && period && divider_running()) {
    int64_t p = int64_t(period);
    next =
        divider_origin_ns_ + (floor_div(now - divider_origin_ns_, p) + 1) * p;
  }
  if ((reg_b & (kBAlarmEnable | kBUpdateEnable)) && !frozen()) {
    int64_t second = floor_div(now - base_ns_, kNsPerSecond) + 1;
    next = std::min(next, base_ns_ + second * kNsPerSecond);
  }
  if (next == INT64_MAX)
    timer_.cancel();
  else
    timer_.arm_at(uint64_t(next));
}

// ---- ports ----------------------------------------------------------------

uint64_t RtcCmos::read(uint64_t offset, unsigned size) {
  if (size != 1 || offset != 1)
    return ~0ull >> (64 - 8 * size); // the index port is write-only
  return read_register(index_);
}

void RtcCmos::write(uint64_t offset, unsigned size, uint64_t value) {
  if (size != 1)
    return;
  if (offset == 0) {
    index_ = value & 0x7F;
    nmi_masked_ = value & 0x80;
  } else if (offset == 1) {
    write_register(index_, uint8_t(value));
  }
}

uint8_t RtcCmos::cmos(uint8_t index) const {
  index &= 0x7F;
  if (is_time_field(index))
    return read_time_field(index);
  if (index != kRegA)
    return ram_[index];
  uint8_t value = ram_[kRegA];
  int64_t now = int64_t(clock_.now_ns());
  int64_t phase =
      now - base_ns_ - floor_div(now - base_ns_, kNsPerSecond) * kNsPerSecond;
  if (!frozen() && phase >= kNsPerSecond - kUpdateWarningNs)
    value |= kAUpdateInProgress;
  return value;
}

uint8_t RtcCmos::read_register(uint8_t index) {
  if (index != kRegC)
    return cmos(index);
  update_flags();
  update_irq();
  uint8_t value = ram_[kRegC];
  ram_[kRegC] = 0;
  update_irq();
  arm_timer();
  return value;
}

void RtcCmos::write_register(uint8_t index, uint8_t value) {
  if (is_time_field(index)) {
    write_time_field(index, value);
    arm_timer();
    return;
  }
  switch (index) {
  case kRegA:
    change_mode(value & ~kAUpdateInProgress, ram_[kRegB]);
    break;
  case kRegB:
    // Setting SET stops updates, so it also clears their interrupt enable.
    if (value & kBSet)
      value &= ~kBUpdateEnable;
    change_mode(ram_[kRegA], value);
    break;
  case kRegC:
  case kRegD:
    break; // read-only
  default:
    ram_[index] = value;
    if (index == kSecondsAlarm || index == kMinutesAlarm ||
        index == kHoursAlarm)
      arm_timer();
    break;
  }
}

void RtcCmos::set_cmos(uint8_t index, uint8_t value) {
  index &= 0x7F;
  if (index == kCentury)
    write_time_field(index, value);
  else if (index >= 0x0E)
    ram_[index] = value;
}

void RtcCmos::set_memory_size(uint64_t ram_below_4g, uint64_t ram_above_4g) {
  constexpr uint64_t KiB = 1024, MiB = 1024 * KiB;
  auto put16 = [this](uint8_t index, uint64_t value) {
    value = std::min<uint64_t>(value, 0xFFFF);
    ram_[index] = uint8_t(value);
    ram_[index + 1] = uint8_t(value >> 8);
  };
  put16(0x15, 640); // base memory in KiB
  uint64_t extended_kib = ram_below_4g > MiB ? (ram_below_4g - MiB) / KiB : 0;
  put16(0x17, extended_kib); // above 1 MiB in KiB, capped at 64 MiB
  put16(0x30, extended_kib);
  uint64_t above_16m = ram_below_4g > 16 * MiB ? ram_below_4g - 16 * MiB : 0;
  put16(0x34, above_16m / (64 * KiB));
  uint64_t high_units = ram_above_4g / (64 * KiB);
  ram_[0x5B] = uint8_t(high_units);
  ram_[0x5C] = uint8_t(high_units >> 8);
  ram_[0x5D] = uint8_t(high_units >> 16);
}

// ---- state ----------------------------------------------------------------

void RtcCmos::save(StateWriter &out) const {
  int64_t now = int64_t(clock_.now_ns());
  out.begin_section("rtc-cmos", 1);
  out.u64(sizeof ram_);
  out.bytes(ram_, sizeof ram_);
  out.u8(index_);
  out.boolean(nmi_masked_);
  // Clock instants are stored relative to now.
  out.u64(uint64_t(base_seconds_));
  out.u64(uint64_t(now - base_ns_));
  out.u64(uint64_t(frozen_seconds_));
  out.u64(uint64_t(now - divider_origin_ns_));
  out.u64(uint64_t(now - flags_checked_ns_));
  out.u8(weekday_adjust_);
  out.end_section();
}

void RtcCmos::load(StateReader &in) {
  int64_t now = int64_t(clock_.now_ns());
  in.begin_section("rtc-cmos", 1);
  if (in.u64() != sizeof ram_)
    throw StateError("rtc-cmos: CMOS RAM size mismatch");
  in.bytes(ram_, sizeof ram_);
  index_ = in.u8() & 0x7F;
  nmi_masked_ = in.boolean();
  base_seconds_ = int64_t(in.u64());
  base_ns_ = now - int64_t(in.u64());
  frozen_seconds_ = int64_t(in.u64());
  divider_origin_ns_ = now - int64_t(in.u64());
  flags_checked_ns_ = now - int64_t(in.u64());
  weekday_adjust_ = in.u8() % 7;
  in.end_section();
  update_irq();
  arm_timer();
}

} // namespace sable
