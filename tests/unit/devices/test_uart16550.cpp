#include <catch2/catch.hpp>

#include "devices/uart16550.h"
#include "irq_sinks.h"
#include "machine/state.h"

using namespace sable;
using test::RecordingSink;

namespace {

enum : unsigned {
  RBR = 0,
  THR = 0,
  DLL = 0,
  IER = 1,
  DLM = 1,
  IIR = 2,
  FCR = 2,
  LCR = 3,
  MCR = 4,
  LSR = 5,
  MSR = 6,
  SCR = 7
};

struct FakeBackend : CharBackend {
  std::vector<uint8_t> written;
  int ready_calls = 0;
  void write(const uint8_t *data, size_t size) override {
    written.insert(written.end(), data, data + size);
  }
  void frontend_ready() override { ++ready_calls; }
  void send(std::initializer_list<uint8_t> bytes) {
    std::vector<uint8_t> v(bytes);
    frontend_->receive(v.data(), v.size());
  }
  CharFrontend *frontend() { return frontend_; }
};

struct UartFixture {
  Clock clock{Clock::Mode::Manual};
  IrqRouter router;
  RecordingSink sink;
  FakeBackend backend;
  Uart16550 uart{clock, IrqLine(&router, 4), &backend};
  UartFixture() { router.add_sink(&sink); }
  uint8_t reg(unsigned r) { return uint8_t(uart.read(r, 1)); }
  void set(unsigned r, uint8_t v) { uart.write(r, 1, v); }
  bool irq() const { return !sink.events.empty() && sink.events.back().second; }
};

} // namespace

TEST_CASE("uart power-on register values", "[uart]") {
  UartFixture f;
  CHECK(f.reg(IER) == 0x00);
  CHECK(f.reg(IIR) == 0x01);
  CHECK(f.reg(LCR) == 0x00);
  CHECK(f.reg(MCR) == 0x00);
  CHECK(f.reg(LSR) == 0x60);
  CHECK((f.reg(MSR) & 0xF0) == 0xB0);
  f.set(SCR, 0x5A);
  CHECK(f.reg(SCR) == 0x5A);
}

TEST_CASE("uart THR write reaches the backend", "[uart]") {
  UartFixture f;
  f.set(THR, 'h');
  f.set(THR, 'i');
  CHECK(f.backend.written == std::vector<uint8_t>{'h', 'i'});
  CHECK(f.reg(LSR) == 0x60);
}

TEST_CASE("uart divisor latch is behind DLAB", "[uart]") {
  UartFixture f;
  f.set(LCR, 0x83);
  f.set(DLL, 0x01);
  f.set(DLM, 0x02);
  CHECK(f.reg(DLL) == 0x01);
  CHECK(f.reg(DLM) == 0x02);
  f.set(LCR, 0x03);
  CHECK(f.reg(IER) == 0x00);
  CHECK(f.backend.written.empty());
}

TEST_CASE("uart received byte sets DR and raises the IRQ when enabled",
          "[uart]") {
  UartFixture f;
  f.set(MCR, 0x0B); // DTR, RTS, OUT2
  f.set(IER, 0x01);
  CHECK(f.sink.events.empty());
  REQUIRE(f.uart.can_receive() == 1);
  f.backend.send({'x'});
  CHECK((f.reg(LSR) & 0x01) == 0x01);
  CHECK(f.reg(IIR) == 0x04);
  CHECK(f.irq());
  CHECK(f.sink.events.back().first == 4);
  CHECK(f.reg(RBR) == 'x');
  CHECK((f.reg(LSR) & 0x01) == 0x00);
  CHECK(f.reg(IIR) == 0x01);
  CHECK_FALSE(f.irq());
  CHECK(f.backend.ready_calls >= 1);
}

TEST_CASE("uart IRQ is gated by OUT2", "[uart]") {
  UartFixture f;
  f.set(IER, 0x01);
  f.backend.send({'x'});
  CHECK(f.reg(IIR) == 0x04);
  CHECK(f.sink.events.empty());
  f.set(MCR, 0x08);
  CHECK(f.irq());
  f.set(MCR, 0x00);
  CHECK_FALSE(f.irq());
}

TEST_CASE("uart overrun without FIFO reports a line status interrupt",
          "[uart]") {
  UartFixture f;
  f.set(MCR, 0x08);
  f.set(IER, 0x05);
  f.backend.send({'a', 'b'});
  CHECK(f.reg(IIR) == 0x06); // line status outranks received data
  CHECK(f.reg(LSR) == 0x63);
  CHECK(f.reg(LSR) == 0x61); // errors clear on read
  CHECK(f.reg(IIR) == 0x04);
  CHECK(f.reg(RBR) == 'a');
}

TEST_CASE("uart FIFO holds 16 bytes and honours the trigger level", "[uart]") {
  UartFixture f;
  f.set(MCR, 0x08);
  f.set(IER, 0x01);
  f.set(FCR, 0x87); // enable, clear both, trigger 8
  CHECK(f.reg(IIR) == 0xC1);
  CHECK(f.uart.can_receive() == 16);
  f.backend.send({1, 2, 3, 4, 5, 6, 7});
  CHECK(f.reg(IIR) == 0xC1);
  CHECK_FALSE(f.irq());
  f.backend.send({8});
  CHECK(f.reg(IIR) == 0xC4);
  CHECK(f.irq());
  CHECK(f.uart.can_receive() == 8);
  for (uint8_t expected = 1; expected <= 8; ++expected)
    CHECK(f.reg(RBR) == expected);
  CHECK(f.reg(IIR) == 0xC1);
}

TEST_CASE("uart RX timeout fires after four character times", "[uart]") {
  UartFixture f;
  f.set(LCR, 0x83);
  f.set(DLL, 1); // 115200 baud: 10 bits per char ~ 86.8 us
  f.set(DLM, 0);
  f.set(LCR, 0x03);
  f.set(MCR, 0x08);
  f.set(IER, 0x01);
  f.set(FCR, 0xC1); // trigger 14
  f.backend.send({'a', 'b'});
  CHECK(f.reg(IIR) == 0xC1);
  f.clock.advance(300000);
  CHECK(f.reg(IIR) == 0xC1);
  f.clock.advance(100000);
  CHECK(f.reg(IIR) == 0xCC);
  CHECK(f.irq());
  CHECK(f.reg(RBR) == 'a');
  CHECK(f.reg(IIR) == 0xC1); // reading restarts the timeout
  f.clock.advance(400000);
  CHECK(f.reg(IIR) == 0xCC);
  CHECK(f.reg(RBR) == 'b');
  f.clock.advance(1000000);
  CHECK(f.reg(IIR) == 0xC1);
}

TEST_CASE("uart THR empty interrupt and its clearing by IIR read", "[uart]") {
  UartFixture f;
  f.set(MCR, 0x08);
  f.set(IER, 0x02);
  CHECK(f.irq());
  CHECK(f.reg(IIR) == 0x02);
  CHECK(f.reg(IIR) == 0x01);
  CHECK_FALSE(f.irq());
  f.set(THR, 'z');
  CHECK(f.reg(IIR) == 0x02);
}

TEST_CASE("uart loopback returns written bytes and mirrors modem lines",
          "[uart]") {
  UartFixture f;
  f.set(MCR, 0x10);
  CHECK(f.reg(MSR) == 0x0B); // CTS, DSR, DCD dropped
  f.set(MCR, 0x1F);
  CHECK(f.reg(MSR) == 0xFB);
  CHECK(f.uart.can_receive() == 0);
  f.set(THR, 0x42);
  CHECK(f.backend.written.empty());
  CHECK((f.reg(LSR) & 0x01) == 0x01);
  CHECK(f.reg(RBR) == 0x42);
  f.set(IER, 0x01);
  f.set(THR, 0x43);
  CHECK(f.reg(IIR) == 0x04);
  CHECK(f.sink.events.empty()); // OUT2 pin forced off in loopback
}

TEST_CASE("uart modem status interrupt on loopback line changes", "[uart]") {
  UartFixture f;
  f.set(MCR, 0x10);
  f.reg(MSR);
  f.set(IER, 0x08);
  f.set(MCR, 0x12); // RTS -> CTS
  CHECK(f.reg(IIR) == 0x00);
  CHECK(f.reg(MSR) == 0x11);
  CHECK(f.reg(IIR) == 0x01);
}

TEST_CASE("uart state round-trips", "[uart]") {
  UartFixture a;
  a.set(LCR, 0x83);
  a.set(DLL, 0x0C);
  a.set(LCR, 0x1B);
  a.set(MCR, 0x0B);
  a.set(IER, 0x01);
  a.set(FCR, 0x41);
  a.set(SCR, 0x77);
  a.backend.send({'p', 'q'});
  StateWriter out;
  a.uart.save(out);

  UartFixture b;
  StateReader in(out.data());
  b.uart.load(in);
  CHECK(in.at_end());
  CHECK(b.reg(LCR) == 0x1B);
  CHECK(b.reg(MCR) == 0x0B);
  CHECK(b.reg(SCR) == 0x77);
  CHECK(b.reg(IIR) == 0xC1);
  b.clock.advance(100000000);
  CHECK(b.reg(IIR) == 0xCC);
  CHECK(b.reg(RBR) == 'p');
  CHECK(b.reg(RBR) == 'q');
  b.set(LCR, 0x9B);
  CHECK(b.reg(DLL) == 0x0C);

  b.uart.reset();
  CHECK(b.reg(LCR) == 0x00);
  CHECK(b.reg(LSR) == 0x60);
}
