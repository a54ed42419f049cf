#include "devices/pit8254.h"

#include <algorithm>

#include "machine/state.h"

namespace sable {

namespace {

constexpr unsigned kControlPort = 3;
constexpr uint64_t kNsPerSecond = 1000000000ull;
constexpr uint64_t kMinPeriodicIrqNs = 50000;

uint64_t ns_to_ticks(uint64_t ns) {
  return uint64_t((unsigned __int128)ns * Pit8254::kInputHz / kNsPerSecond);
}

// Rounded up, so the timer fires no earlier than the tick it waits for.
uint64_t ticks_to_ns(uint64_t ticks) {
  unsigned __int128 scaled = (unsigned __int128)ticks * kNsPerSecond;
  return uint64_t((scaled + Pit8254::kInputHz - 1) / Pit8254::kInputHz);
}

uint16_t to_bcd(uint32_t value) {
  return uint16_t((value / 1000 % 10) << 12 | (value / 100 % 10) << 8 |
                  (value / 10 % 10) << 4 | value % 10);
}

uint32_t from_bcd(uint16_t value) {
  return (value >> 12 & 0xF) * 1000 + (value >> 8 & 0xF) * 100 +
         (value >> 4 & 0xF) * 10 + (value & 0xF);
}

} // namespace

// ---- one counter --------------------------------------------------------
//
// Between events a counter is described by the ticks it has counted since
// its count element (CE) was loaded: `counted` up to `run_start`, plus the
// ticks since then while it runs. Count and OUT follow from the mode.

bool Pit8254::Counter::running() const {
  // Modes 1 and 5 are started by a gate edge and ignore the gate level.
  bool gate_enables = gate || mode == 1 || mode == 5;
  return loaded && gate_enables;
}

uint64_t Pit8254::Counter::elapsed(uint64_t now) const {
  return counted + (running() ? now - run_start : 0);
}

void Pit8254::Counter::rebase(uint64_t now) {
  counted = elapsed(now);
  run_start = now;
}

// Modes 2 and 3 take a new count at the end of the current period.
void Pit8254::Counter::settle(uint64_t now) {
  if (reload_pending && now >= reload_tick) {
    reload_pending = false;
    period = count_register_period();
    counted = 0;
    run_start = reload_tick;
    null_count = false;
  }
}

uint32_t Pit8254::Counter::count_register_period() const {
  uint32_t value = bcd ? from_bcd(count_register) % 10000 : count_register;
  return value == 0 ? modulus() : value;
}

uint16_t Pit8254::Counter::count(uint64_t now) const {
  if (!loaded)
    return 0;
  uint64_t e = elapsed(now);
  uint32_t value;
  switch (mode) {
  case 2:
    value = period - uint32_t(e % period);
    break;
  case 3: {
    // OUT high for the first ceil(N/2) ticks, low for the rest; the CE
    // counts down by two through each half.
    uint32_t phase = uint32_t(e % period);
    uint32_t high = (period + 1) / 2;
    value = phase < high ? 2 * (high - phase) : 2 * (period - phase);
    break;
  }
  default:
    value = uint32_t((period + modulus() - e % modulus()) % modulus());
    break;
  }
  value %= modulus();
  return bcd ? to_bcd(value) : uint16_t(value);
}

bool Pit8254::Counter::out(uint64_t now) const {
  uint64_t e = elapsed(now);
  switch (mode) {
  case 0:
    return loaded && e >= period;
  case 1:
    return !loaded || e >= period;
  case 2:
    return !running() || e % period != period - 1;
  case 3:
    return !running() || e % period < (period + 1) / 2;
  default: // 4 and 5: one low tick at terminal count
    return !loaded || e != period;
  }
}

uint8_t Pit8254::Counter::status(uint64_t now) const {
  return uint8_t((out(now) ? 0x80 : 0) | (null_count ? 0x40 : 0) | access << 4 |
                 mode << 1 | (bcd ? 1 : 0));
}

// The tick of the next OUT event worth an IRQ: terminal count in modes 0,
// 1, 4 and 5, the start of the next period in modes 2 and 3.
bool Pit8254::Counter::next_edge(uint64_t now, uint64_t &tick) const {
  if (!running())
    return false;
  uint64_t e = elapsed(now);
  if (mode == 2 || mode == 3) {
    tick = now + (period - e % period);
    return true;
  }
  if (e >= period)
    return false;
  tick = now + (period - e);
  return true;
}

void Pit8254::Counter::set_control(uint8_t value) {
  access = (value >> 4) & 3;
  mode = (value >> 1) & 7;
  if (mode > 5)
    mode -= 4; // 6 and 7 alias modes 2 and 3
  bcd = value & 1;
  has_count = false;
  loaded = false;
  null_count = true;
  reload_pending = false;
  counted = 0;
  write_msb_next = false;
  read_msb_next = false;
  count_latched = false;
  status_latched = false;
}

void Pit8254::Counter::write_count(uint8_t value, uint64_t now) {
  switch (access) {
  case 1:
    count_register = value;
    break;
  case 2:
    count_register = uint16_t(value << 8);
    break;
  default:
    if (!write_msb_next) {
      written_lsb = value;
      write_msb_next = true;
      // Mode 0 stops counting (and drops OUT) once the first byte arrives.
      if (mode == 0) {
        rebase(now);
        loaded = false;
      }
      return;
    }
    write_msb_next = false;
    count_register = uint16_t(written_lsb | value << 8);
    break;
  }
  load_count(now);
}

void Pit8254::Counter::load_count(uint64_t now) {
  has_count = true;
  null_count = true;
  switch (mode) {
  case 0:
  case 4:
    period = count_register_period();
    loaded = true;
    counted = 0;
    run_start = now;
    null_count = false;
    break;
  case 2:
  case 3:
    if (!loaded) {
      period = count_register_period();
      loaded = true;
      counted = 0;
      run_start = now;
      null_count = false;
    } else if (running()) {
      reload_pending = true;
      reload_tick = now + (period - elapsed(now) % period);
    }
    break;
  default: // modes 1 and 5 wait for a gate trigger
    break;
  }
}

void Pit8254::Counter::set_gate(bool level, uint64_t now) {
  bool rising = level && !gate;
  rebase(now);
  gate = level;
  if (mode == 2 || mode == 3) {
    if (!level)
      reload_pending = false;
  }
  bool retriggers = mode == 1 || mode == 2 || mode == 3 || mode == 5;
  if (rising && retriggers && has_count) {
    period = count_register_period();
    loaded = true;
    counted = 0;
    run_start = now;
    null_count = false;
  }
}

void Pit8254::Counter::latch_count(uint64_t now) {
  if (count_latched)
    return;
  latched_count = count(now);
  count_latched = true;
}

uint8_t Pit8254::Counter::read_byte(uint64_t now) {
  if (status_latched) {
    status_latched = false;
    return latched_status;
  }
  uint16_t value = count_latched ? latched_count : count(now);
  bool msb;
  bool last_byte;
  switch (access) {
  case 1:
    msb = false;
    last_byte = true;
    break;
  case 2:
    msb = true;
    last_byte = true;
    break;
  default:
    msb = read_msb_next;
    last_byte = read_msb_next;
    read_msb_next = !read_msb_next;
    break;
  }
  if (last_byte)
    count_latched = false;
  return uint8_t(msb ? value >> 8 : value);
}

void Pit8254::Counter::save(StateWriter &out, uint64_t now) const {
  out.u8(mode);
  out.u8(access);
  out.boolean(bcd);
  out.u16(count_register);
  out.u32(period);
  out.u8(written_lsb);
  out.boolean(write_msb_next);
  out.boolean(read_msb_next);
  out.boolean(count_latched);
  out.u16(latched_count);
  out.boolean(status_latched);
  out.u8(latched_status);
  out.boolean(gate);
  out.boolean(has_count);
  out.boolean(loaded);
  out.boolean(null_count);
  // Times relative to now, so the state loads into a machine whose clock
  // started elsewhere.
  out.u64(elapsed(now));
  out.boolean(reload_pending);
  out.u64(reload_pending ? reload_tick - now : 0);
}

void Pit8254::Counter::load(StateReader &in, uint64_t now) {
  mode = in.u8() % 6;
  access = in.u8() & 3;
  bcd = in.boolean();
  count_register = in.u16();
  period = in.u32();
  if (period == 0 || period > 0x10000)
    period = 0x10000;
  written_lsb = in.u8();
  write_msb_next = in.boolean();
  read_msb_next = in.boolean();
  count_latched = in.boolean();
  latched_count = in.u16();
  status_latched = in.boolean();
  latched_status = in.u8();
  gate = in.boolean();
  has_count = in.boolean();
  loaded = in.boolean();
  null_count = in.boolean();
  counted = in.u64();
  run_start = now;
  reload_pending = in.boolean();
  reload_tick = now + in.u64();
}

// ---- the chip -----------------------------------------------------------

Pit8254::Pit8254(Clock &clock, IrqLine irq0)
    : clock_(clock), irq0_(irq0), irq0_timer_(clock, [this] { irq0_edge(); }) {
  reset();
}

uint64_t Pit8254::now_tick() const {
  return ns_to_ticks(clock_.now_ns());
}

void Pit8254::reset() {
  for (unsigned i = 0; i < 3; ++i) {
    counters_[i] = Counter{};
    counters_[i].gate = i != 2;
  }
  update_irq0();
}

uint64_t Pit8254::read(uint64_t offset, unsigned size) {
  uint64_t now = now_tick();
  uint64_t value = 0;
  for (unsigned i = 0; i < size; ++i) {
    uint64_t port = offset + i;
    uint64_t byte = 0xFF; // the control register is write-only
    if (port < kControlPort) {
      Counter &counter = counters_[port];
      counter.settle(now);
      byte = counter.read_byte(now);
    }
    value |= byte << (8 * i);
  }
  return value;
}

void Pit8254::write(uint64_t offset, unsigned size, uint64_t value) {
  uint64_t now = now_tick();
  for (unsigned i = 0; i < size && offset + i <= kControlPort; ++i) {
    uint8_t byte = uint8_t(value >> (8 * i));
    uint64_t port = offset + i;
    if (port == kControlPort) {
      write_control(byte);
    } else {
      counters_[port].settle(now);
      counters_[port].write_count(byte, now);
    }
  }
  update_irq0();
}

void Pit8254::write_control(uint8_t value) {
  uint64_t now = now_tick();
  unsigned select = value >> 6;
  if (select == 3) { // read-back command
    bool latch_count = !(value & 0x20);
    bool latch_status = !(value & 0x10);
    for (unsigned i = 0; i < 3; ++i) {
      if (!(value & (2u << i)))
        continue;
      Counter &counter = counters_[i];
      counter.settle(now);
      if (latch_count)
        counter.latch_count(now);
      if (latch_status && !counter.status_latched) {
        counter.latched_status = counter.status(now);
        counter.status_latched = true;
      }
    }
    return;
  }
  Counter &counter = counters_[select];
  counter.settle(now);
  if ((value & 0x30) == 0)
    counter.latch_count(now);
  else
    counter.set_control(value);
}

void Pit8254::set_gate(unsigned counter, bool level) {
  if (counter > 2)
    return;
  uint64_t now = now_tick();
  counters_[counter].settle(now);
  counters_[counter].set_gate(level, now);
  if (counter == 0)
    update_irq0();
}

bool Pit8254::output(unsigned counter) {
  if (counter > 2)
    return false;
  uint64_t now = now_tick();
  counters_[counter].settle(now);
  return counters_[counter].out(now);
}

// Modes 0 and 1 hold IRQ0 at OUT's level. The periodic and strobe modes
// deliver one pulse per OUT event from the timer.
void Pit8254::update_irq0() {
  uint64_t now = now_tick();
  Counter &counter = counters_[0];
  counter.settle(now);
  bool level = (counter.mode == 0 || counter.mode == 1) && counter.out(now);
  if (level != irq0_.level())
    irq0_.set(level);
  uint64_t tick;
  if (!counter.next_edge(now, tick)) {
    irq0_timer_.cancel();
    return;
  }
  uint64_t deadline = ticks_to_ns(tick);
  // A periodic rate faster than any guest can service would only flood the
  // event loop; such pulses are coalesced, as KVM's in-kernel PIT does.
  if (counter.mode == 2 || counter.mode == 3)
    deadline = std::max(deadline, clock_.now_ns() + kMinPeriodicIrqNs);
  irq0_timer_.arm_at(deadline);
}

void Pit8254::irq0_edge() {
  uint8_t mode = counters_[0].mode;
  if (mode >= 2)
    irq0_.pulse();
  update_irq0();
}

void Pit8254::save(StateWriter &out) const {
  uint64_t now = now_tick();
  out.begin_section("pit8254", 1);
  for (Counter counter : counters_) {
    counter.settle(now); // a copy: saving must not change the device
    counter.save(out, now);
  }
  out.end_section();
}

void Pit8254::load(StateReader &in) {
  uint64_t now = now_tick();
  in.begin_section("pit8254", 1);
  for (Counter &counter : counters_)
    counter.load(in, now);
  in.end_section();
  update_irq0();
}

} // namespace sable
