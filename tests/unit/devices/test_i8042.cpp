#include <catch2/catch.hpp>

#include "devices/i8042.h"
#include "machine/state.h"

using namespace sable;

namespace {

struct RecordingSink : IrqSink {
  bool level[16] = {};
  int raises[16] = {};
  void set_irq(unsigned gsi, bool value) override {
    if (value && !level[gsi])
      ++raises[gsi];
    level[gsi] = value;
  }
};

struct KbcFixture {
  IrqRouter router;
  RecordingSink sink;
  std::vector<bool> a20_changes;
  int resets = 0;
  I8042 kbc{IrqLine(&router, 1), IrqLine(&router, 12),
            [this](bool on) { a20_changes.push_back(on); },
            [this] { ++resets; }};
  KbcFixture() { router.add_sink(&sink); }

  uint8_t status() { return uint8_t(kbc.command_port().read(0, 1)); }
  uint8_t data() { return uint8_t(kbc.data_port().read(0, 1)); }
  void command(uint8_t v) { kbc.command_port().write(0, 1, v); }
  void send(uint8_t v) { kbc.data_port().write(0, 1, v); }
  std::vector<uint8_t> drain() {
    std::vector<uint8_t> bytes;
    while (status() & 0x01)
      bytes.push_back(data());
    return bytes;
  }
  uint8_t command_byte() {
    command(0x20);
    return data();
  }
  void set_command_byte(uint8_t v) {
    command(0x60);
    send(v);
  }
};

using Bytes = std::vector<uint8_t>;

} // namespace

TEST_CASE("i8042 self-test and interface tests", "[i8042]") {
  KbcFixture f;
  CHECK(f.status() == 0x10);
  f.command(0xAA);
  CHECK(f.status() == 0x19); // output full, last write was a command
  CHECK(f.data() == 0x55);
  CHECK((f.status() & 0x01) == 0);
  f.command(0xAB);
  CHECK(f.data() == 0x00);
  f.command(0xA9);
  CHECK(f.data() == 0x00);
}

TEST_CASE("i8042 command byte read and write", "[i8042]") {
  KbcFixture f;
  CHECK(f.command_byte() == 0x43);
  f.set_command_byte(0x65);
  CHECK(f.command_byte() == 0x65);
  CHECK((f.status() & 0x04) == 0x04); // system flag mirrors bit 2
  f.command(0xAD);
  f.command(0xA7);
  CHECK(f.command_byte() == 0x75);
  f.command(0xAE);
  f.command(0xA8);
  CHECK(f.command_byte() == 0x45);
  f.command(0x7F);
  f.send(0x9C);
  f.command(0x3F);
  CHECK(f.data() == 0x9C);
}

TEST_CASE("i8042 keyboard reset answers ACK and BAT", "[i8042]") {
  KbcFixture f;
  f.set_command_byte(0x00); // no translation, no IRQs
  f.send(0xFF);
  CHECK(f.drain() == Bytes{0xFA, 0xAA});
  CHECK(f.sink.raises[1] == 0);
}

TEST_CASE("i8042 keyboard data raises IRQ1 when enabled", "[i8042]") {
  KbcFixture f;
  f.send(0xF4);
  CHECK(f.sink.level[1]);
  CHECK(f.data() == 0xFA);
  CHECK_FALSE(f.sink.level[1]);
  f.send(0xEE);
  CHECK(f.sink.raises[1] == 2);
  CHECK(f.data() == 0xEE);
}

TEST_CASE("i8042 translates set 2 scancodes to set 1", "[i8042]") {
  KbcFixture f;
  f.set_command_byte(0x40);
  f.kbc.key_event(0x1E, true); // 'A': set 2 0x1C
  f.kbc.key_event(0x1E, false);
  f.kbc.key_event(0xE048, true); // Up arrow
  f.kbc.key_event(0xE048, false);
  f.kbc.key_event(0x41, true); // F7: set 2 0x83
  CHECK(f.drain() == Bytes{0x1E, 0x9E, 0xE0, 0x48, 0xE0, 0xC8, 0x41});

  f.set_command_byte(0x00); // raw set 2
  f.kbc.key_event(0x1E, true);
  f.kbc.key_event(0x1E, false);
  f.kbc.key_event(0xE048, false);
  f.kbc.key_event(0x41, true);
  CHECK(f.drain() == Bytes{0x1C, 0xF0, 0x1C, 0xE0, 0xF0, 0x75, 0x83});
}

TEST_CASE("i8042 keyboard identify, LEDs, scancode sets", "[i8042]") {
  KbcFixture f;
  f.send(0xF2);
  CHECK(f.drain() == Bytes{0xFA, 0xAB, 0x41}); // 0x83 translated
  f.set_command_byte(0x00);
  f.send(0xF2);
  CHECK(f.drain() == Bytes{0xFA, 0xAB, 0x83});
  f.send(0xED);
  f.send(0x05);
  CHECK(f.drain() == Bytes{0xFA, 0xFA});
  CHECK(f.kbc.keyboard_leds() == 0x05);
  f.send(0xF0);
  f.send(0x00);
  CHECK(f.drain() == Bytes{0xFA, 0xFA, 0x02});
  f.send(0xF0);
  f.send(0x01);
  f.kbc.key_event(0x1C, true);
  f.kbc.key_event(0x1C, false);
  CHECK(f.drain() == Bytes{0xFA, 0xFA, 0x1C, 0x9C});
  f.send(0xF0);
  f.send(0x03);
  CHECK(f.drain() == Bytes{0xFA, 0xFE}); // set 3 refused
  f.send(0xF3);
  f.send(0x20);
  f.send(0x99); // unknown command
  CHECK(f.drain() == Bytes{0xFA, 0xFA, 0xFE});
}

TEST_CASE("i8042 keyboard disable stops scanning", "[i8042]") {
  KbcFixture f;
  f.send(0xF5);
  f.drain();
  f.kbc.key_event(0x1E, true);
  CHECK(f.drain().empty());
  f.send(0xF4);
  f.drain();
  f.kbc.key_event(0x1E, true);
  CHECK(f.drain() == Bytes{0x1E});

  f.command(0xAD); // controller-side disable holds data back
  f.kbc.key_event(0x1F, true);
  CHECK(f.drain().empty());
  f.command(0xAE);
  CHECK(f.drain() == Bytes{0x1F});
}

TEST_CASE("i8042 output port drives A20 and reset", "[i8042]") {
  KbcFixture f;
  f.command(0xD0);
  CHECK((f.data() & 0x03) == 0x03);
  f.command(0xD1);
  f.send(0x01);
  CHECK(f.a20_changes == std::vector<bool>{false});
  f.command(0xD0);
  CHECK((f.data() & 0x03) == 0x01);
  f.command(0xDF);
  CHECK(f.a20_changes == std::vector<bool>{false, true});
  CHECK(f.resets == 0);
  f.command(0xD1);
  f.send(0x02);
  CHECK(f.resets == 1);
  f.command(0xFE);
  CHECK(f.resets == 2);
  f.command(0xFF); // pulses nothing
  CHECK(f.resets == 2);
}

TEST_CASE("i8042 writes to output buffers and to the mouse", "[i8042]") {
  KbcFixture f;
  f.command(0xD2);
  f.send(0x12);
  CHECK(f.status() & 0x01);
  CHECK((f.status() & 0x20) == 0);
  CHECK(f.data() == 0x12);
  f.command(0xD3);
  f.send(0x34);
  CHECK((f.status() & 0x21) == 0x21);
  CHECK(f.sink.level[12]);
  CHECK(f.data() == 0x34);
  CHECK_FALSE(f.sink.level[12]);

  f.command(0xD4);
  f.send(0xF2);
  CHECK((f.status() & 0x21) == 0x21);
  CHECK(f.drain() == Bytes{0xFA, 0x00});
}

TEST_CASE("i8042 mouse reset, reporting and packets", "[i8042]") {
  KbcFixture f;
  auto mouse = [&](uint8_t v) {
    f.command(0xD4);
    f.send(v);
  };
  mouse(0xFF);
  CHECK(f.drain() == Bytes{0xFA, 0xAA, 0x00});
  f.kbc.mouse_event(5, 5, 0);
  CHECK(f.drain().empty()); // reporting off after reset
  mouse(0xF4);
  CHECK(f.drain() == Bytes{0xFA});
  f.kbc.mouse_event(10, 3, 0x01);
  CHECK(f.drain() == Bytes{0x29, 10, 0xFD}); // left, Y sign: 3 down
  f.kbc.mouse_event(-300, 0, 0x01);
  CHECK(f.drain() == Bytes{0x19, 0x01, 0x00, 0x19, 0xD3, 0x00});
  CHECK(f.sink.raises[12] >= 1);

  mouse(0xE9);
  CHECK(f.drain() == Bytes{0xFA, 0x24, 0x02, 100});
}

TEST_CASE("i8042 mouse wheel after the IntelliMouse sequence", "[i8042]") {
  KbcFixture f;
  auto mouse = [&](uint8_t v) {
    f.command(0xD4);
    f.send(v);
  };
  for (uint8_t rate : {200, 100, 80}) {
    mouse(0xF3);
    mouse(rate);
  }
  mouse(0xF2);
  mouse(0xF4);
  CHECK(f.drain() ==
        Bytes{0xFA, 0xFA, 0xFA, 0xFA, 0xFA, 0xFA, 0xFA, 0x03, 0xFA});
  f.kbc.mouse_event(0, 0, 0, -2);
  CHECK(f.drain() == Bytes{0x08, 0, 0, 0xFE});
}

TEST_CASE("i8042 mouse remote mode reports on request", "[i8042]") {
  KbcFixture f;
  auto mouse = [&](uint8_t v) {
    f.command(0xD4);
    f.send(v);
  };
  mouse(0xF0);
  mouse(0xF4);
  f.drain();
  f.kbc.mouse_event(1, -1, 0x04);
  CHECK(f.drain().empty());
  mouse(0xEB);
  CHECK(f.drain() == Bytes{0xFA, 0x0C, 0x01, 0x01});
}

TEST_CASE("i8042 state round-trips", "[i8042]") {
  KbcFixture a;
  a.set_command_byte(0x47);
  a.send(0xED);
  a.send(0x02);
  a.drain();
  a.kbc.key_event(0x10, true);
  a.kbc.key_event(0x11, true);
  a.command(0xD4);
  a.send(0xF4);
  StateWriter out;
  a.kbc.save(out);

  KbcFixture b;
  StateReader in(out.data());
  b.kbc.load(in);
  CHECK(in.at_end());
  CHECK(b.kbc.keyboard_leds() == 0x02);
  CHECK(b.drain() == Bytes{0x10, 0x11, 0xFA});
  CHECK(b.command_byte() == 0x47);
  b.kbc.mouse_event(1, 0, 0);
  CHECK(b.drain() == Bytes{0x08, 0x01, 0x00});

  b.kbc.reset();
  CHECK(b.command_byte() == 0x43);
  CHECK(b.kbc.keyboard_leds() == 0);
}

TEST_CASE("i8042 raises IRQ1 again for each byte of a multi-byte answer",
          "[i8042]") {
  KbcFixture f;
  f.send(0xF2); // GET ID: ACK, then two ID bytes
  CHECK(f.sink.raises[1] == 1);
  CHECK(f.data() == 0xFA);
  CHECK(f.sink.raises[1] == 2);
  CHECK(f.data() == 0xAB);
  CHECK(f.sink.raises[1] == 3);
  f.data();
  CHECK_FALSE(f.sink.level[1]);
}
