#include <catch2/catch.hpp>

#include "devices/pit8254.h"
#include "devices/port61.h"
#include "irq_sinks.h"
#include "machine/state.h"

using namespace sable;
using test::RecordingSink;

namespace {

enum : unsigned { COUNTER0 = 0, COUNTER1 = 1, COUNTER2 = 2, CONTROL = 3 };

// The first nanosecond at which `ticks` input clocks have elapsed.
uint64_t ns(uint64_t ticks) {
  return (ticks * 1000000000ull + Pit8254::kInputHz - 1) / Pit8254::kInputHz;
}

struct PitFixture {
  Clock clock{Clock::Mode::Manual};
  IrqRouter router;
  RecordingSink sink;
  Pit8254 pit{clock, IrqLine(&router, 0)};
  Port61 port61{clock, pit};
  uint64_t ticks_now = 0;
  PitFixture() { router.add_sink(&sink); }

  void advance_to_tick(uint64_t ticks) {
    clock.advance(ns(ticks) - clock.now_ns());
    ticks_now = ticks;
  }
  void program(unsigned counter, uint8_t mode_bits, uint16_t count) {
    pit.write(CONTROL, 1, counter << 6 | 0x30 | mode_bits);
    pit.write(counter, 1, count & 0xFF);
    pit.write(counter, 1, count >> 8);
  }
  uint16_t latched(unsigned counter) {
    pit.write(CONTROL, 1, counter << 6);
    uint16_t lo = uint16_t(pit.read(counter, 1));
    return uint16_t(lo | pit.read(counter, 1) << 8);
  }
};

} // namespace

TEST_CASE("pit mode 2 counts down from elapsed time and reloads", "[pit]") {
  PitFixture f;
  f.program(COUNTER0, 0x04, 1000);
  f.advance_to_tick(100);
  CHECK(f.latched(COUNTER0) == 900);
  f.advance_to_tick(999);
  CHECK(f.latched(COUNTER0) == 1);
  CHECK_FALSE(f.pit.output(COUNTER0)); // the one-tick low pulse
  f.advance_to_tick(1000);
  CHECK(f.latched(COUNTER0) == 1000);
  CHECK(f.pit.output(COUNTER0));
  f.advance_to_tick(1250);
  CHECK(f.latched(COUNTER0) == 750);
}

TEST_CASE("pit mode 2 pulses IRQ0 once per period", "[pit]") {
  PitFixture f;
  f.program(COUNTER0, 0x04, 1000);
  CHECK(f.sink.rising_edges() == 0);
  f.advance_to_tick(3500);
  CHECK(f.sink.rising_edges() == 3);
  CHECK_FALSE(f.sink.events.back().second);
  CHECK(f.sink.events.back().first == 0);
  f.pit.write(CONTROL, 1, 0x30); // mode 0 without a count: IRQ0 stops
  f.advance_to_tick(10000);
  CHECK(f.sink.rising_edges() == 3);
}

TEST_CASE("pit mode 2 takes a new count at the end of the period", "[pit]") {
  PitFixture f;
  f.program(COUNTER0, 0x04, 1000);
  f.advance_to_tick(400);
  f.pit.write(COUNTER0, 1, 100);
  f.pit.write(COUNTER0, 1, 0);
  CHECK(f.latched(COUNTER0) == 600);
  f.advance_to_tick(1050);
  CHECK(f.latched(COUNTER0) == 50);
  f.advance_to_tick(1300);
  CHECK(f.sink.rising_edges() == 4); // at 1000, 1100, 1200, 1300
}

TEST_CASE("pit latch holds the count until read", "[pit]") {
  PitFixture f;
  f.program(COUNTER1, 0x04, 0x1234);
  f.advance_to_tick(0x34);
  f.pit.write(CONTROL, 1, 0x40);
  f.advance_to_tick(0x200);
  f.pit.write(CONTROL, 1, 0x40); // a second latch is ignored
  CHECK(f.pit.read(COUNTER1, 1) == 0x00);
  CHECK(f.pit.read(COUNTER1, 1) == 0x12);
  CHECK(f.latched(COUNTER1) == 0x1234 - 0x200);
}

TEST_CASE("pit read-back latches status and count", "[pit]") {
  PitFixture f;
  f.program(COUNTER0, 0x06, 100); // mode 3
  f.program(COUNTER1, 0x00, 50);  // mode 0
  f.advance_to_tick(60);
  f.pit.write(CONTROL, 1, 0xC6);          // status + count of counters 0 and 1
  CHECK(f.pit.read(COUNTER0, 1) == 0x36); // OUT low, LSB/MSB, mode 3
  CHECK(f.pit.read(COUNTER0, 1) == 80);   // second half, counting by two
  CHECK(f.pit.read(COUNTER0, 1) == 0);
  CHECK(f.pit.read(COUNTER1, 1) == 0xB0); // OUT high after terminal count
  uint16_t wrapped = uint16_t(f.pit.read(COUNTER1, 1));
  wrapped |= uint16_t(f.pit.read(COUNTER1, 1) << 8);
  CHECK(wrapped == uint16_t(50 - 60));

  f.pit.write(CONTROL, 1, 0x30);
  f.pit.write(CONTROL, 1, 0xE2);          // status only
  CHECK(f.pit.read(COUNTER0, 1) == 0x70); // null count, OUT low in mode 0
  f.pit.write(CONTROL, 1, 0x32);
  f.pit.write(CONTROL, 1, 0xE2);
  CHECK(f.pit.read(COUNTER0, 1) == 0xF2); // mode 1 waits with OUT high
}

TEST_CASE("pit mode 0 raises IRQ0 at terminal count and holds it", "[pit]") {
  PitFixture f;
  f.program(COUNTER0, 0x00, 500);
  f.advance_to_tick(499);
  CHECK(f.sink.events.empty());
  f.advance_to_tick(500);
  REQUIRE(f.sink.events.size() == 1);
  CHECK(f.sink.events.back().second);
  f.advance_to_tick(2000);
  CHECK(f.sink.events.size() == 1);
  f.pit.write(CONTROL, 1, 0x30); // new control word drops OUT
  CHECK_FALSE(f.sink.events.back().second);
}

TEST_CASE("pit mode 3 square wave", "[pit]") {
  PitFixture f;
  f.program(COUNTER2, 0x06, 10);
  f.port61.write(0, 1, 0x01);
  for (uint64_t t = 0; t < 5; ++t) {
    f.advance_to_tick(t);
    CHECK(f.pit.output(COUNTER2));
  }
  f.advance_to_tick(5);
  CHECK_FALSE(f.pit.output(COUNTER2));
  CHECK((f.port61.read(0, 1) & 0x20) == 0);
  f.advance_to_tick(10);
  CHECK(f.pit.output(COUNTER2));
  CHECK((f.port61.read(0, 1) & 0x20) == 0x20);
  CHECK(f.latched(COUNTER2) == 10);
  f.advance_to_tick(12);
  CHECK(f.latched(COUNTER2) == 6);
}

TEST_CASE("pit counter 2 gate from port 0x61 and OUT in bit 5", "[pit]") {
  PitFixture f;
  f.program(COUNTER2, 0x00, 1000);
  f.advance_to_tick(2000);
  CHECK(f.latched(COUNTER2) == 1000); // gate low: not counting
  CHECK((f.port61.read(0, 1) & 0x21) == 0x00);
  f.port61.write(0, 1, 0x01);
  CHECK(f.pit.gate(COUNTER2));
  f.advance_to_tick(2600);
  CHECK(f.latched(COUNTER2) == 400);
  f.port61.write(0, 1, 0x00); // mode 0 pauses while gate is low
  f.advance_to_tick(5000);
  CHECK(f.latched(COUNTER2) == 400);
  f.port61.write(0, 1, 0x03);
  CHECK(f.port61.speaker_enabled());
  f.advance_to_tick(5400);
  CHECK((f.port61.read(0, 1) & 0x23) == 0x23);
}

TEST_CASE("pit mode 1 one-shot starts on a gate edge", "[pit]") {
  PitFixture f;
  f.program(COUNTER2, 0x02, 300);
  CHECK(f.pit.output(COUNTER2));
  f.advance_to_tick(100);
  CHECK(f.pit.output(COUNTER2));
  f.pit.set_gate(COUNTER2, true);
  CHECK_FALSE(f.pit.output(COUNTER2));
  f.advance_to_tick(399);
  CHECK_FALSE(f.pit.output(COUNTER2));
  f.advance_to_tick(400);
  CHECK(f.pit.output(COUNTER2));
  f.pit.set_gate(COUNTER2, false);
  f.pit.set_gate(COUNTER2, true); // retrigger
  CHECK_FALSE(f.pit.output(COUNTER2));
  CHECK(f.latched(COUNTER2) == 300);
}

TEST_CASE("pit mode 4 strobes IRQ0 once", "[pit]") {
  PitFixture f;
  f.program(COUNTER0, 0x08, 200);
  f.advance_to_tick(199);
  CHECK(f.sink.rising_edges() == 0);
  f.advance_to_tick(200);
  CHECK_FALSE(f.pit.output(COUNTER0));
  CHECK(f.sink.rising_edges() == 1);
  f.advance_to_tick(201);
  CHECK(f.pit.output(COUNTER0));
  f.advance_to_tick(100000);
  CHECK(f.sink.rising_edges() == 1);
}

TEST_CASE("pit mode 5 strobe is triggered by the gate", "[pit]") {
  PitFixture f;
  f.program(COUNTER2, 0x0A, 50);
  f.advance_to_tick(100);
  CHECK(f.pit.output(COUNTER2));
  f.pit.set_gate(COUNTER2, true);
  f.advance_to_tick(150);
  CHECK_FALSE(f.pit.output(COUNTER2));
  f.advance_to_tick(151);
  CHECK(f.pit.output(COUNTER2));
}

TEST_CASE("pit BCD counting and single-byte access modes", "[pit]") {
  PitFixture f;
  f.pit.write(CONTROL, 1, 0x71); // counter 1, LSB/MSB, mode 0, BCD
  f.pit.write(COUNTER1, 1, 0x00);
  f.pit.write(COUNTER1, 1, 0x10); // 1000 decimal
  f.advance_to_tick(1);
  CHECK(f.latched(COUNTER1) == 0x0999);
  f.advance_to_tick(1001);
  CHECK(f.latched(COUNTER1) == 0x9999); // BCD wraps at 10000

  f.pit.write(CONTROL, 1, 0x54); // counter 1, LSB only, mode 2
  f.pit.write(COUNTER1, 1, 0x80);
  f.advance_to_tick(1001 + 0x10);
  CHECK(f.pit.read(COUNTER1, 1) == 0x70);
  CHECK(f.pit.read(COUNTER1, 1) == 0x70);

  f.pit.write(CONTROL, 1, 0x64);  // counter 1, MSB only, mode 2
  f.pit.write(COUNTER1, 1, 0x02); // 0x200
  f.advance_to_tick(1001 + 0x10 + 0x100);
  CHECK(f.pit.read(COUNTER1, 1) == 0x01);
}

TEST_CASE("port 0x61 refresh bit toggles with time", "[pit]") {
  PitFixture f;
  uint8_t first = f.port61.read(0, 1) & 0x10;
  f.clock.advance(15085);
  CHECK((f.port61.read(0, 1) & 0x10) != first);
}

TEST_CASE("pit and port 0x61 state round-trips", "[pit]") {
  PitFixture a;
  a.advance_to_tick(5000);
  a.program(COUNTER0, 0x04, 1000);
  a.program(COUNTER2, 0x00, 3000);
  a.port61.write(0, 1, 0x03);
  a.advance_to_tick(5300);
  a.pit.write(CONTROL, 1, 0x80); // latch counter 2 before saving
  StateWriter out;
  a.pit.save(out);
  a.port61.save(out);

  PitFixture b;
  StateReader in(out.data());
  b.pit.load(in);
  b.port61.load(in);
  CHECK(in.at_end());
  CHECK(b.port61.speaker_enabled());
  CHECK(b.pit.gate(COUNTER2));
  CHECK(b.latched(COUNTER0) == 700);
  uint16_t lo = uint16_t(b.pit.read(COUNTER2, 1));
  CHECK((lo | b.pit.read(COUNTER2, 1) << 8) == 2700);
  b.advance_to_tick(700);
  CHECK(b.sink.rising_edges() == 1);

  b.pit.reset();
  b.advance_to_tick(10000);
  CHECK(b.sink.rising_edges() == 1);
  CHECK_FALSE(b.pit.gate(COUNTER2));
}

TEST_CASE("pit save settles a count written for the next period", "[pit]") {
  PitFixture a;
  a.program(COUNTER0, 0x04, 1000);
  a.advance_to_tick(400);
  a.pit.write(COUNTER0, 1, 0xF4); // 500, taken at tick 1000
  a.pit.write(COUNTER0, 1, 0x01);
  a.advance_to_tick(1100);
  StateWriter out;
  a.pit.save(out);

  PitFixture b;
  StateReader in(out.data());
  b.pit.load(in);
  CHECK(b.latched(COUNTER0) == 400);
  b.advance_to_tick(400);
  CHECK(b.sink.rising_edges() == 1);
  CHECK(b.latched(COUNTER0) == 500);
}

TEST_CASE("pit coalesces IRQ0 pulses faster than 20 kHz", "[pit]") {
  PitFixture f;
  f.program(COUNTER0, 0x04, 2);               // 596 kHz
  f.advance_to_tick(Pit8254::kInputHz / 100); // 10 ms
  CHECK(f.sink.rising_edges() > 150);
  CHECK(f.sink.rising_edges() <= 200);
}
