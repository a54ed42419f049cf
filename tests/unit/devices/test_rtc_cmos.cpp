#include <catch2/catch.hpp>

#include "devices/rtc_cmos.h"
#include "irq_sinks.h"
#include "machine/state.h"

using namespace sable;
using test::RecordingSink;

namespace {

constexpr uint64_t kMs = 1000000;
// 2024-02-29 23:59:58 UTC, a Thursday.
constexpr int64_t kLeapDayEvening = 1709251198;

struct RtcFixture {
  Clock clock{Clock::Mode::Manual};
  IrqRouter router;
  RecordingSink sink;
  RtcCmos rtc{clock, IrqLine(&router, 8)};
  RtcFixture() {
    router.add_sink(&sink);
    rtc.set_time(kLeapDayEvening);
  }
  uint8_t reg(uint8_t index) {
    rtc.write(0, 1, index);
    return uint8_t(rtc.read(1, 1));
  }
  void set(uint8_t index, uint8_t value) {
    rtc.write(0, 1, index);
    rtc.write(1, 1, value);
  }
};

} // namespace

TEST_CASE("rtc power-on registers and host time", "[rtc]") {
  Clock clock{Clock::Mode::Manual};
  IrqRouter router;
  RtcCmos rtc{clock, IrqLine(&router, 8)};
  CHECK(std::abs(rtc.time() - int64_t(std::time(nullptr))) <= 2);
  CHECK(rtc.cmos(0x0A) == 0x26);
  CHECK(rtc.cmos(0x0B) == 0x02);
  CHECK(rtc.cmos(0x0D) == 0x80);
}

TEST_CASE("rtc reports time in BCD and binary", "[rtc]") {
  RtcFixture f;
  CHECK(f.reg(0x00) == 0x58);
  CHECK(f.reg(0x02) == 0x59);
  CHECK(f.reg(0x04) == 0x23);
  CHECK(f.reg(0x06) == 0x05); // Thursday, Sunday = 1
  CHECK(f.reg(0x07) == 0x29);
  CHECK(f.reg(0x08) == 0x02);
  CHECK(f.reg(0x09) == 0x24);
  CHECK(f.reg(0x32) == 0x20);
  f.set(0x0B, 0x06); // binary, 24 hour
  CHECK(f.reg(0x00) == 58);
  CHECK(f.reg(0x04) == 23);
  CHECK(f.reg(0x09) == 24);
  CHECK(f.reg(0x32) == 20);
}

TEST_CASE("rtc 12-hour mode sets the PM bit", "[rtc]") {
  RtcFixture f;
  f.set(0x0B, 0x00);
  CHECK(f.reg(0x04) == 0x91); // 11 PM
  f.clock.advance(2000 * kMs);
  CHECK(f.reg(0x04) == 0x12); // midnight reads 12 AM
}

TEST_CASE("rtc time advances with the clock across a leap day", "[rtc]") {
  RtcFixture f;
  f.clock.advance(2500 * kMs);
  CHECK(f.reg(0x00) == 0x00);
  CHECK(f.reg(0x04) == 0x00);
  CHECK(f.reg(0x07) == 0x01);
  CHECK(f.reg(0x08) == 0x03);
  CHECK(f.reg(0x06) == 0x06);
  CHECK(f.rtc.time() == kLeapDayEvening + 2);
}

TEST_CASE("rtc SET freezes the time and guest writes set it", "[rtc]") {
  RtcFixture f;
  f.set(0x0B, 0x82);
  f.set(0x09, 0x99);
  f.set(0x32, 0x19);
  f.set(0x08, 0x12);
  f.set(0x07, 0x31);
  f.set(0x04, 0x23);
  f.set(0x02, 0x59);
  f.set(0x00, 0x50);
  f.clock.advance(5000 * kMs);
  CHECK(f.reg(0x00) == 0x50); // frozen
  f.set(0x0B, 0x02);
  f.clock.advance(10000 * kMs);
  CHECK(f.reg(0x00) == 0x00);
  CHECK(f.reg(0x09) == 0x00);
  CHECK(f.reg(0x32) == 0x20);
  CHECK(f.rtc.time() == 946684800); // 2000-01-01 00:00:00
}

TEST_CASE("rtc UIP is set just before each update", "[rtc]") {
  RtcFixture f;
  f.clock.advance(500 * kMs);
  CHECK((f.reg(0x0A) & 0x80) == 0);
  f.clock.advance(499 * kMs + 900000);
  CHECK((f.reg(0x0A) & 0x80) == 0x80);
  f.clock.advance(200000);
  CHECK((f.reg(0x0A) & 0x80) == 0);
  f.set(0x0B, 0x82);
  f.clock.advance(999 * kMs + 900000);
  CHECK((f.reg(0x0A) & 0x80) == 0); // no updates while SET
}

TEST_CASE("rtc periodic interrupt at the register A rate", "[rtc]") {
  RtcFixture f;
  f.set(0x0A, 0x2F); // 2 Hz
  f.set(0x0B, 0x42);
  f.clock.advance(499 * kMs);
  CHECK(f.sink.events.empty());
  f.clock.advance(2 * kMs);
  REQUIRE(f.sink.rising_edges() == 1);
  CHECK(f.sink.events.back() == std::make_pair(8u, true));
  f.clock.advance(1000 * kMs); // no new edge until C is read
  CHECK(f.sink.rising_edges() == 1);
  CHECK(f.reg(0x0C) == 0xC0 + 0x10); // IRQF, PF, and the update flag
  CHECK_FALSE(f.sink.events.back().second);
  CHECK(f.reg(0x0C) == 0x00); // read clears
  f.clock.advance(500 * kMs);
  CHECK(f.sink.rising_edges() == 2);

  f.set(0x0A, 0x26); // 1024 Hz
  f.reg(0x0C);
  f.clock.advance(976563);
  CHECK(f.sink.rising_edges() == 3);
}

TEST_CASE("rtc flags set without enables and do not raise IRQ 8", "[rtc]") {
  RtcFixture f;
  f.clock.advance(3000 * kMs);
  // PF, UF, and AF since the zeroed alarm matched midnight; no IRQF.
  CHECK(f.reg(0x0C) == 0x70);
  CHECK(f.sink.events.empty());
  f.set(0x0A, 0x20); // rate 0: no periodic flag
  f.clock.advance(1000 * kMs);
  CHECK(f.reg(0x0C) == 0x10);
}

TEST_CASE("rtc update-ended and alarm interrupts", "[rtc]") {
  RtcFixture f;
  f.set(0x0A, 0x20);
  f.set(0x01, 0x00);
  f.set(0x03, 0x00);
  f.set(0x05, 0xC0);           // any hour
  f.set(0x0B, 0x22);           // alarm only
  f.clock.advance(1000 * kMs); // 23:59:59
  CHECK(f.sink.events.empty());
  f.clock.advance(1000 * kMs); // 00:00:00 matches
  REQUIRE(f.sink.rising_edges() == 1);
  CHECK(f.reg(0x0C) == 0xB0);

  f.set(0x0B, 0x12); // update-ended only
  f.clock.advance(1000 * kMs);
  CHECK(f.sink.rising_edges() == 2);
  CHECK(f.reg(0x0C) == 0x90);
}

TEST_CASE("rtc index port masks NMI and CMOS RAM holds bytes", "[rtc]") {
  RtcFixture f;
  f.rtc.write(0, 1, 0x80 | 0x40);
  CHECK(f.rtc.nmi_masked());
  f.rtc.write(1, 1, 0xA5);
  f.rtc.write(0, 1, 0x40);
  CHECK_FALSE(f.rtc.nmi_masked());
  CHECK(f.rtc.read(1, 1) == 0xA5);
  CHECK(f.rtc.read(0, 1) == 0xFF);
  f.set(0x0D, 0x00);
  CHECK(f.reg(0x0D) == 0x80);
}

TEST_CASE("rtc memory size fields as PC BIOSes read them", "[rtc]") {
  RtcFixture f;
  f.rtc.set_memory_size(3ull << 30, 2ull << 30);
  CHECK(f.reg(0x15) == 0x80);
  CHECK(f.reg(0x16) == 0x02);
  CHECK(f.reg(0x17) == 0xFF);
  CHECK(f.reg(0x18) == 0xFF);
  CHECK(f.reg(0x30) == 0xFF);
  CHECK(f.reg(0x31) == 0xFF);
  uint16_t above_16m = uint16_t(f.reg(0x34) | f.reg(0x35) << 8);
  CHECK(above_16m == ((3u << 30) - (16u << 20)) / 65536);
  CHECK(f.reg(0x5B) == 0x00);
  CHECK(f.reg(0x5C) == 0x80);
  CHECK(f.reg(0x5D) == 0x00);

  f.rtc.set_memory_size(8u << 20, 0);
  CHECK((f.reg(0x17) | f.reg(0x18) << 8) == 7 * 1024);
  CHECK(f.reg(0x34) == 0);
  f.rtc.set_cmos(0x5F, 3);
  CHECK(f.reg(0x5F) == 3);
}

TEST_CASE("rtc reset clears enables and flags but keeps time and RAM",
          "[rtc]") {
  RtcFixture f;
  f.rtc.set_cmos(0x14, 0x06);
  f.set(0x0B, 0x72);
  f.clock.advance(1000 * kMs);
  f.rtc.reset();
  CHECK(f.reg(0x0B) == 0x02);
  CHECK(f.reg(0x0C) == 0x00);
  CHECK(f.reg(0x14) == 0x06);
  CHECK(f.rtc.time() == kLeapDayEvening + 1);
  CHECK_FALSE(f.sink.events.back().second);
}

TEST_CASE("rtc state round-trips", "[rtc]") {
  RtcFixture a;
  a.set(0x0B, 0x46);
  a.set(0x0A, 0x2F);
  a.rtc.set_cmos(0x3D, 0x21);
  a.rtc.write(0, 1, 0x8F);
  a.clock.advance(250 * kMs);
  StateWriter out;
  a.rtc.save(out);

  RtcFixture b;
  b.clock.advance(12345 * kMs);
  StateReader in(out.data());
  b.rtc.load(in);
  CHECK(in.at_end());
  CHECK(b.rtc.nmi_masked());
  CHECK(b.rtc.cmos(0x3D) == 0x21);
  CHECK(b.rtc.time() == kLeapDayEvening);
  b.clock.advance(249 * kMs);
  CHECK(b.sink.rising_edges() == 0);
  b.clock.advance(2 * kMs);
  CHECK(b.sink.rising_edges() == 1);
  CHECK(b.reg(0x00) == 58); // binary mode came along
}
