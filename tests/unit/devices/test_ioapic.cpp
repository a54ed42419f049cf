#include <catch2/catch.hpp>

#include <vector>

#include "devices/ioapic.h"
#include "machine/state.h"

using namespace sable;

namespace {

struct Rig {
  std::vector<ApicMessage> sent;
  Ioapic ioapic{[this](const ApicMessage &m) { sent.push_back(m); }};

  uint32_t reg(uint8_t index) {
    ioapic.write(0x00, 4, index);
    return uint32_t(ioapic.read(0x10, 4));
  }
  void set_reg(uint8_t index, uint32_t value) {
    ioapic.write(0x00, 4, index);
    ioapic.write(0x10, 4, value);
  }
  void route(unsigned pin, uint64_t entry) {
    set_reg(uint8_t(0x11 + 2 * pin), uint32_t(entry >> 32));
    set_reg(uint8_t(0x10 + 2 * pin), uint32_t(entry));
  }
};

constexpr uint64_t kLevel = 1ull << 15;
constexpr uint64_t kRemoteIrr = 1ull << 14;
constexpr uint64_t kMasked = 1ull << 16;

} // namespace

TEST_CASE("ioapic: identification registers", "[ioapic]") {
  Rig rig;
  CHECK(rig.reg(0x01) == 0x00170020);
  CHECK(rig.reg(0x00) == 0);
  rig.set_reg(0x00, 0x0f000000);
  CHECK(rig.reg(0x00) == 0x0f000000);
  CHECK(rig.reg(0x02) == 0x0f000000);
  rig.set_reg(0x01, 0);
  CHECK(rig.reg(0x01) == 0x00170020);
  CHECK(rig.ioapic.read(0x00, 4) == 0x01);
}

TEST_CASE("ioapic: redirection entries reset masked and keep RO bits",
          "[ioapic]") {
  Rig rig;
  for (unsigned pin = 0; pin < Ioapic::kPins; ++pin)
    CHECK(rig.ioapic.redirection_entry(pin) == kMasked);
  rig.set_reg(0x10 + 2 * 5, 0xffffffff);
  rig.set_reg(0x11 + 2 * 5, 0xffffffff);
  CHECK(rig.reg(0x10 + 2 * 5) == 0x0001afff);
  CHECK(rig.reg(0x11 + 2 * 5) == 0xff000000);
  CHECK(rig.reg(0x10 + 2 * 24) == 0);
  CHECK(rig.sent.empty());
}

TEST_CASE("ioapic: edge-triggered pins deliver on rising edges only",
          "[ioapic]") {
  Rig rig;
  rig.route(4, 0x31 | 1ull << 56);
  rig.ioapic.set_irq(4, true);
  REQUIRE(rig.sent.size() == 1);
  CHECK(rig.sent[0].vector == 0x31);
  CHECK(rig.sent[0].destination == 1);
  CHECK(rig.sent[0].delivery_mode == ApicMessage::Fixed);
  CHECK_FALSE(rig.sent[0].level_triggered);
  rig.ioapic.set_irq(4, true);
  CHECK(rig.sent.size() == 1);
  rig.ioapic.set_irq(4, false);
  rig.ioapic.set_irq(4, true);
  CHECK(rig.sent.size() == 2);

  rig.route(4, 0x31 | kMasked);
  rig.ioapic.set_irq(4, false);
  rig.ioapic.set_irq(4, true);
  rig.route(4, 0x31);
  CHECK(rig.sent.size() == 2);
}

TEST_CASE("ioapic: ISA IRQ 0 arrives on pin 2", "[ioapic]") {
  Rig rig;
  rig.route(2, 0x20 | 0x800 | 0x100 | 3ull << 56);
  rig.ioapic.set_irq(0, true);
  REQUIRE(rig.sent.size() == 1);
  CHECK(rig.sent[0].vector == 0x20);
  CHECK(rig.sent[0].logical_destination);
  CHECK(rig.sent[0].delivery_mode == ApicMessage::LowestPriority);
  CHECK(rig.sent[0].destination == 3);
  rig.route(0, 0x21);
  rig.ioapic.set_irq(2, true);
  CHECK(rig.sent.size() == 1);
}

TEST_CASE("ioapic: level-triggered pins hold Remote IRR until EOI",
          "[ioapic]") {
  Rig rig;
  rig.route(16, 0x40 | kLevel | 1ull << 13);
  rig.ioapic.set_irq(16, true);
  REQUIRE(rig.sent.size() == 1);
  CHECK(rig.sent[0].level_triggered);
  CHECK(rig.reg(0x10 + 2 * 16) & kRemoteIrr);
  rig.ioapic.set_irq(16, true);
  CHECK(rig.sent.size() == 1);

  rig.ioapic.eoi(0x41);
  CHECK(rig.sent.size() == 1);
  rig.ioapic.eoi(0x40);
  CHECK(rig.sent.size() == 2);
  CHECK(rig.reg(0x10 + 2 * 16) & kRemoteIrr);

  rig.ioapic.set_irq(16, false);
  rig.ioapic.write(0x40, 4, 0x40);
  CHECK(rig.sent.size() == 2);
  CHECK_FALSE(rig.reg(0x10 + 2 * 16) & kRemoteIrr);
}

TEST_CASE("ioapic: unmasking an asserted level input delivers it", "[ioapic]") {
  Rig rig;
  rig.route(9, 0x49 | kLevel | kMasked);
  rig.ioapic.set_irq(9, true);
  CHECK(rig.sent.empty());
  rig.route(9, 0x49 | kLevel);
  REQUIRE(rig.sent.size() == 1);
  CHECK(rig.sent[0].vector == 0x49);
}

TEST_CASE("ioapic: save and load round-trip", "[ioapic]") {
  StateWriter out;
  {
    Rig rig;
    rig.set_reg(0x00, 0x02000000);
    rig.route(16, 0x40 | kLevel);
    rig.ioapic.set_irq(16, true);
    rig.ioapic.write(0x00, 4, 0x12);
    rig.ioapic.save(out);
  }
  Rig rig;
  StateReader in(out.data());
  rig.ioapic.load(in);
  CHECK(in.at_end());
  CHECK(rig.ioapic.read(0x00, 4) == 0x12);
  CHECK(rig.reg(0x00) == 0x02000000);
  CHECK(rig.ioapic.redirection_entry(16) == (0x40 | kLevel | kRemoteIrr));
  rig.ioapic.eoi(0x40);
  CHECK(rig.sent.size() == 1);
  rig.ioapic.reset();
  CHECK(rig.ioapic.redirection_entry(16) == kMasked);
  CHECK(rig.reg(0x00) == 0);
}
