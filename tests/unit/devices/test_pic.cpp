#include <catch2/catch.hpp>

#include "devices/pic.h"
#include "machine/state.h"

using namespace sable;

namespace {

struct PicFixture {
  std::vector<bool> intr_changes;
  Pic8259Pair pic{[this](bool level) { intr_changes.push_back(level); }};
  Device &master = pic.master_ports();
  Device &slave = pic.slave_ports();
  Device &elcr = pic.elcr_ports();

  // The sequence a PC BIOS uses: edge-triggered, cascaded, 8086 mode.
  void init(uint8_t master_base = 0x08, uint8_t slave_base = 0x70,
            uint8_t master_icw4 = 0x01, uint8_t slave_icw4 = 0x01) {
    master.write(0, 1, 0x11);
    master.write(1, 1, master_base);
    master.write(1, 1, 0x04);
    master.write(1, 1, master_icw4);
    slave.write(0, 1, 0x11);
    slave.write(1, 1, slave_base);
    slave.write(1, 1, 0x02);
    slave.write(1, 1, slave_icw4);
  }
  uint8_t master_isr() {
    master.write(0, 1, 0x0B);
    return uint8_t(master.read(0, 1));
  }
  uint8_t slave_isr() {
    slave.write(0, 1, 0x0B);
    return uint8_t(slave.read(0, 1));
  }
  uint8_t master_irr() {
    master.write(0, 1, 0x0A);
    return uint8_t(master.read(0, 1));
  }
};

} // namespace

TEST_CASE("pic delivers a raised IRQ with the programmed vector", "[pic]") {
  PicFixture f;
  f.init();
  CHECK_FALSE(f.pic.interrupt_pending());
  f.pic.set_irq(1, true);
  REQUIRE(f.pic.interrupt_pending());
  CHECK(f.intr_changes == std::vector<bool>{true});
  CHECK(f.master_irr() == 0x02);
  CHECK(f.pic.acknowledge_interrupt() == 0x09);
  CHECK_FALSE(f.pic.interrupt_pending());
  CHECK(f.master_isr() == 0x02);
  CHECK(f.master_irr() == 0x00);
  f.master.write(0, 1, 0x20);
  CHECK(f.master_isr() == 0x00);
}

TEST_CASE("pic orders by priority and nests only higher ones", "[pic]") {
  PicFixture f;
  f.init();
  f.pic.set_irq(4, true);
  f.pic.set_irq(3, true);
  CHECK(f.pic.acknowledge_interrupt() == 0x0B); // IRQ3 beats IRQ4
  CHECK_FALSE(f.pic.interrupt_pending());       // IRQ4 blocked by ISR3
  f.pic.set_irq(1, true);
  REQUIRE(f.pic.interrupt_pending()); // IRQ1 nests above IRQ3
  CHECK(f.pic.acknowledge_interrupt() == 0x09);
  CHECK(f.master_isr() == 0x0A);
  f.master.write(0, 1, 0x20); // non-specific EOI clears the highest: IRQ1
  CHECK(f.master_isr() == 0x08);
  CHECK_FALSE(f.pic.interrupt_pending());
  f.master.write(0, 1, 0x63); // specific EOI for IRQ3
  CHECK(f.master_isr() == 0x00);
  REQUIRE(f.pic.interrupt_pending());
  CHECK(f.pic.acknowledge_interrupt() == 0x0C);
}

TEST_CASE("pic mask register blocks and releases requests", "[pic]") {
  PicFixture f;
  f.init();
  f.master.write(1, 1, 0x01);
  CHECK(f.master.read(1, 1) == 0x01);
  f.pic.set_irq(0, true);
  CHECK_FALSE(f.pic.interrupt_pending());
  f.master.write(1, 1, 0x00);
  REQUIRE(f.pic.interrupt_pending());
  CHECK(f.pic.acknowledge_interrupt() == 0x08);
}

TEST_CASE("pic latches edges but follows levels set in ELCR", "[pic]") {
  PicFixture f;
  f.init();
  // Edge: a pulse is remembered after the line falls, once.
  f.pic.set_irq(5, true);
  f.pic.set_irq(5, false);
  REQUIRE(f.pic.interrupt_pending());
  CHECK(f.pic.acknowledge_interrupt() == 0x0D);
  f.master.write(0, 1, 0x20);
  CHECK_FALSE(f.pic.interrupt_pending());

  // Level: the request disappears with the line and reasserts after EOI.
  f.elcr.write(0, 2, 0x0C20);
  CHECK(f.elcr.read(0, 2) == 0x0C20);
  f.pic.set_irq(5, true);
  f.pic.set_irq(5, false);
  CHECK_FALSE(f.pic.interrupt_pending());
  f.pic.set_irq(5, true);
  CHECK(f.pic.acknowledge_interrupt() == 0x0D);
  f.master.write(0, 1, 0x20);
  REQUIRE(f.pic.interrupt_pending());
  CHECK(f.pic.acknowledge_interrupt() == 0x0D);
}

TEST_CASE("pic ELCR keeps the PC's edge-only IRQs edge", "[pic]") {
  PicFixture f;
  f.elcr.write(0, 1, 0xFF);
  f.elcr.write(1, 1, 0xFF);
  CHECK(f.elcr.read(0, 1) == 0xF8);
  CHECK(f.elcr.read(1, 1) == 0xDE);
}

TEST_CASE("pic cascades slave interrupts through IRQ2", "[pic]") {
  PicFixture f;
  f.init();
  f.pic.set_irq(12, true);
  REQUIRE(f.pic.interrupt_pending());
  CHECK(f.pic.acknowledge_interrupt() == 0x74);
  CHECK(f.master_isr() == 0x04);
  CHECK(f.slave_isr() == 0x10);
  f.pic.set_irq(9, true); // lower than 12 on the slave: waits
  CHECK_FALSE(f.pic.interrupt_pending());
  f.slave.write(0, 1, 0x20);
  f.master.write(0, 1, 0x20);
  REQUIRE(f.pic.interrupt_pending());
  CHECK(f.pic.acknowledge_interrupt() == 0x71);
}

TEST_CASE("pic slave mask hides its requests from the master", "[pic]") {
  PicFixture f;
  f.init();
  f.slave.write(1, 1, 0xFF);
  f.pic.set_irq(8, true);
  CHECK_FALSE(f.pic.interrupt_pending());
  f.master.write(1, 1, 0x04); // masking the cascade input hides it too
  f.slave.write(1, 1, 0x00);
  CHECK_FALSE(f.pic.interrupt_pending());
  f.master.write(1, 1, 0x00);
  CHECK(f.pic.acknowledge_interrupt() == 0x70);
}

TEST_CASE("pic answers an INTA with nothing pending as spurious IRQ7",
          "[pic]") {
  PicFixture f;
  f.init();
  CHECK(f.pic.acknowledge_interrupt() == 0x0F);
  CHECK(f.master_isr() == 0x00);
}

TEST_CASE("pic automatic EOI leaves ISR clear", "[pic]") {
  PicFixture f;
  f.init(0x20, 0x28, 0x03, 0x03);
  f.pic.set_irq(6, true);
  CHECK(f.pic.acknowledge_interrupt() == 0x26);
  CHECK(f.master_isr() == 0x00);
  f.pic.set_irq(7, true);
  CHECK(f.pic.acknowledge_interrupt() == 0x27);
}

TEST_CASE("pic rotation changes priorities", "[pic]") {
  PicFixture f;
  f.init();
  SECTION("rotate on non-specific EOI") {
    f.pic.set_irq(0, true);
    CHECK(f.pic.acknowledge_interrupt() == 0x08);
    f.master.write(0, 1, 0xA0); // IRQ0 now lowest
    f.pic.set_irq(0, false);
    f.pic.set_irq(0, true);
    f.pic.set_irq(7, true);
    CHECK(f.pic.acknowledge_interrupt() == 0x0F);
  }
  SECTION("set priority") {
    f.master.write(0, 1, 0xC4); // IRQ4 lowest, IRQ5 highest
    f.pic.set_irq(3, true);
    f.pic.set_irq(6, true);
    CHECK(f.pic.acknowledge_interrupt() == 0x0E);
  }
  SECTION("rotate on specific EOI") {
    f.pic.set_irq(1, true);
    CHECK(f.pic.acknowledge_interrupt() == 0x09);
    f.master.write(0, 1, 0xE1); // EOI IRQ1, IRQ1 lowest
    CHECK(f.master_isr() == 0x00);
    f.pic.set_irq(1, false);
    f.pic.set_irq(1, true);
    f.pic.set_irq(3, true);
    CHECK(f.pic.acknowledge_interrupt() == 0x0B);
  }
  SECTION("rotate in automatic EOI mode") {
    f.init(0x08, 0x70, 0x03, 0x01);
    f.master.write(0, 1, 0x80);
    f.pic.set_irq(0, true);
    CHECK(f.pic.acknowledge_interrupt() == 0x08);
    f.pic.set_irq(0, false);
    f.pic.set_irq(0, true);
    f.pic.set_irq(5, true);
    CHECK(f.pic.acknowledge_interrupt() == 0x0D);
  }
}

TEST_CASE("pic special mask mode lets lower levels in", "[pic]") {
  PicFixture f;
  f.init();
  f.pic.set_irq(3, true);
  CHECK(f.pic.acknowledge_interrupt() == 0x0B);
  f.pic.set_irq(5, true);
  CHECK_FALSE(f.pic.interrupt_pending());
  f.master.write(1, 1, 0x08); // mask the level in service
  f.master.write(0, 1, 0x68); // set special mask mode
  REQUIRE(f.pic.interrupt_pending());
  CHECK(f.pic.acknowledge_interrupt() == 0x0D);
  f.master.write(0, 1, 0x48); // reset special mask mode
  f.master.write(0, 1, 0x65);
  f.pic.set_irq(6, true);
  CHECK_FALSE(f.pic.interrupt_pending());
}

TEST_CASE("pic poll mode acknowledges through a port read", "[pic]") {
  PicFixture f;
  f.init();
  f.master.write(1, 1, 0xFF); // polling works with INT masked off
  f.master.write(0, 1, 0x0C);
  CHECK(f.master.read(0, 1) == 0x00);
  f.master.write(1, 1, 0x00);
  f.pic.set_irq(6, true);
  f.master.write(0, 1, 0x0C);
  CHECK(f.master.read(0, 1) == 0x86);
  CHECK(f.master_isr() == 0x40);
  CHECK(f.master.read(1, 1) == 0x00); // poll was consumed
}

TEST_CASE("pic reports INT changes to the machine", "[pic]") {
  PicFixture f;
  f.init();
  f.pic.set_irq(0, true);
  f.pic.acknowledge_interrupt();
  f.master.write(0, 1, 0x20);
  CHECK(f.intr_changes == std::vector<bool>{true, false});
}

TEST_CASE("pic ICW1 reinitialises mask and ISR", "[pic]") {
  PicFixture f;
  f.init();
  f.master.write(1, 1, 0x55);
  f.pic.set_irq(1, true);
  f.pic.acknowledge_interrupt();
  f.init(0x50, 0x58);
  CHECK(f.master.read(1, 1) == 0x00);
  CHECK(f.master_isr() == 0x00);
  f.pic.set_irq(1, false);
  f.pic.set_irq(1, true);
  CHECK(f.pic.acknowledge_interrupt() == 0x51);
}

TEST_CASE("pic state round-trips", "[pic]") {
  PicFixture a;
  a.init(0x20, 0x28);
  a.master.write(1, 1, 0x10);
  a.elcr.write(1, 1, 0x02);
  a.pic.set_irq(3, true);
  a.pic.set_irq(9, true);
  StateWriter out;
  a.pic.save(out);

  PicFixture b;
  StateReader in(out.data());
  b.pic.load(in);
  CHECK(in.at_end());
  CHECK(b.master.read(1, 1) == 0x10);
  CHECK(b.elcr.read(1, 1) == 0x02);
  REQUIRE(b.pic.interrupt_pending());
  CHECK(b.pic.acknowledge_interrupt() == 0x29); // IRQ9 via cascade (IRQ2)
  CHECK_FALSE(b.pic.interrupt_pending());       // IRQ3 waits behind IRQ2
  b.slave.write(0, 1, 0x20);
  b.master.write(0, 1, 0x20);
  CHECK(b.pic.acknowledge_interrupt() == 0x29); // level-triggered, still high
  b.pic.set_irq(9, false);
  b.slave.write(0, 1, 0x20);
  b.master.write(0, 1, 0x20);
  CHECK(b.pic.acknowledge_interrupt() == 0x23);

  b.pic.reset();
  CHECK_FALSE(b.pic.interrupt_pending());
  CHECK(b.master.read(1, 1) == 0x00);
}

TEST_CASE("pic special fully nested mode nests slave interrupts", "[pic]") {
  SECTION("fully nested: the cascade in service blocks the slave") {
    PicFixture f;
    f.init();
    f.pic.set_irq(12, true);
    CHECK(f.pic.acknowledge_interrupt() == 0x74);
    f.pic.set_irq(8, true);
    CHECK_FALSE(f.pic.interrupt_pending());
  }
  SECTION("special fully nested: a higher slave IRQ gets through") {
    PicFixture f;
    f.init(0x08, 0x70, 0x11, 0x01);
    f.pic.set_irq(12, true);
    CHECK(f.pic.acknowledge_interrupt() == 0x74);
    f.pic.set_irq(13, true); // lower than 12: still waits on the slave
    CHECK_FALSE(f.pic.interrupt_pending());
    f.pic.set_irq(8, true);
    REQUIRE(f.pic.interrupt_pending());
    CHECK(f.pic.acknowledge_interrupt() == 0x70);
    CHECK(f.slave_isr() == 0x11);
    f.pic.set_irq(5, true); // the cascade in service still blocks IRQ5
    CHECK_FALSE(f.pic.interrupt_pending());
  }
}
