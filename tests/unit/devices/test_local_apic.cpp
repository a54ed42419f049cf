#include <catch2/catch.hpp>

#include <vector>

#include "devices/apic_bus.h"
#include "devices/local_apic.h"
#include "devices/pic.h"
#include "machine/clock.h"
#include "machine/state.h"

using namespace sable;

namespace {

constexpr uint64_t kTscHz = 2'000'000'000;

constexpr uint64_t kId = 0x20;
constexpr uint64_t kVersion = 0x30;
constexpr uint64_t kTpr = 0x80;
constexpr uint64_t kPpr = 0xa0;
constexpr uint64_t kEoi = 0xb0;
constexpr uint64_t kLdr = 0xd0;
constexpr uint64_t kDfr = 0xe0;
constexpr uint64_t kSvr = 0xf0;
constexpr uint64_t kIsr = 0x100;
constexpr uint64_t kTmr = 0x180;
constexpr uint64_t kIrr = 0x200;
constexpr uint64_t kEsr = 0x280;
constexpr uint64_t kIcrLow = 0x300;
constexpr uint64_t kLvtTimer = 0x320;
constexpr uint64_t kLvtLint0 = 0x350;
constexpr uint64_t kLvtLint1 = 0x360;
constexpr uint64_t kLvtError = 0x370;
constexpr uint64_t kInitialCount = 0x380;
constexpr uint64_t kCurrentCount = 0x390;
constexpr uint64_t kDivide = 0x3e0;

constexpr uint32_t kMasked = 1u << 16;
constexpr uint32_t kPeriodic = 1u << 17;
constexpr uint32_t kTscDeadline = 2u << 17;

constexpr uint64_t kXapicBase = 0xfee00000 | LocalApic::kBaseEnable;
constexpr uint64_t kX2apicBase = kXapicBase | LocalApic::kBaseX2apic;

struct Rig {
  Clock clock{Clock::Mode::Manual};
  ApicBus bus;
  std::vector<uint8_t> eois;
  int wakes = 0;
  int nmis = 0;
  int inits = 0;
  std::vector<uint8_t> startups;
  LocalApic apic;

  explicit Rig(uint32_t id = 0, InterruptController *pic = nullptr)
      : apic(clock, id, true, kTscHz, &bus, pic) {
    bus.set_eoi_handler([this](uint8_t v) { eois.push_back(v); });
    apic.connect_cpu({[this] { ++wakes; }, [this] { ++nmis; },
                      [this] { ++inits; },
                      [this](uint8_t v) { startups.push_back(v); }});
  }

  uint32_t reg(uint64_t offset) { return uint32_t(apic.read(offset, 4)); }
  void set(uint64_t offset, uint32_t value) { apic.write(offset, 4, value); }
  void enable(uint8_t spurious = 0xff) { set(kSvr, 0x100u | spurious); }
  bool bit(uint64_t base, uint8_t vector) {
    return reg(base + 0x10 * (vector / 32)) >> (vector % 32) & 1;
  }
  void fixed(uint8_t vector, bool level = false) {
    ApicInterrupt interrupt;
    interrupt.vector = vector;
    interrupt.level_triggered = level;
    apic.accept(interrupt);
  }
  uint64_t msr(uint32_t index) {
    uint64_t value = 0;
    REQUIRE(apic.read_msr(index, value));
    return value;
  }
};

} // namespace

TEST_CASE("lapic: power-on register values", "[lapic]") {
  Rig rig(3);
  CHECK(rig.reg(kId) == 0x03000000);
  CHECK(rig.reg(kVersion) == 0x00060014);
  CHECK(rig.reg(kDfr) == 0xffffffff);
  CHECK(rig.reg(kSvr) == 0xff);
  CHECK(rig.reg(kLdr) == 0);
  CHECK(rig.reg(kTpr) == 0);
  for (uint64_t lvt = 0x320; lvt <= 0x370; lvt += 0x10)
    CHECK(rig.reg(lvt) == kMasked);
  CHECK(rig.reg(0x2f0) == kMasked);
  CHECK(rig.apic.apic_base() == 0xfee00900);

  Clock clock{Clock::Mode::Manual};
  LocalApic ap(clock, 1, false, kTscHz, nullptr, nullptr);
  CHECK(ap.apic_base() == 0xfee00800);

  rig.set(kId, 0x07000000);
  CHECK(rig.reg(kId) == 0x07000000);
  rig.set(kVersion, 0);
  CHECK(rig.reg(kVersion) == 0x00060014);
  rig.set(kDfr, 0);
  CHECK(rig.reg(kDfr) == 0x0fffffff);
}

TEST_CASE("lapic: odd accesses and reserved registers", "[lapic]") {
  Rig rig;
  rig.set(kTpr, 0x20);
  CHECK(rig.apic.read(kTpr, 1) == 0);
  CHECK(rig.apic.read(kTpr + 4, 4) == 0);
  rig.apic.write(kTpr, 2, 0x30);
  CHECK(rig.reg(kTpr) == 0x20);

  rig.set(kEsr, 0);
  CHECK(rig.reg(kEsr) == 0);
  CHECK(rig.reg(0x40) == 0); // reserved
  rig.set(kEsr, 0);
  CHECK(rig.reg(kEsr) == 0x80); // illegal register address
  rig.set(kEsr, 0);
  CHECK(rig.reg(kEsr) == 0);
}

TEST_CASE("lapic: TPR, PPR and CR8", "[lapic]") {
  Rig rig;
  rig.enable();
  rig.set(kTpr, 0x35);
  CHECK(rig.reg(kTpr) == 0x35);
  CHECK(rig.reg(kPpr) == 0x35);
  CHECK(rig.apic.cr8() == 3);

  rig.fixed(0x51);
  REQUIRE(rig.apic.interrupt_pending());
  CHECK(rig.apic.acknowledge_interrupt() == 0x51);
  CHECK(rig.reg(kPpr) == 0x50);
  rig.set(kTpr, 0x62);
  CHECK(rig.reg(kPpr) == 0x62);

  rig.apic.set_tpr_from_cr8(0x2);
  CHECK(rig.reg(kTpr) == 0x20);
  CHECK(rig.apic.cr8() == 2);
  CHECK(rig.reg(kPpr) == 0x50);
  rig.set(kEoi, 0);
  CHECK(rig.reg(kPpr) == 0x20);
}

TEST_CASE("lapic: fixed interrupt from IRR to ISR to EOI", "[lapic]") {
  Rig rig;
  rig.enable();
  CHECK_FALSE(rig.apic.interrupt_pending());
  rig.fixed(0x40);
  CHECK(rig.wakes == 1);
  CHECK(rig.bit(kIrr, 0x40));
  REQUIRE(rig.apic.interrupt_pending());
  CHECK(rig.apic.acknowledge_interrupt() == 0x40);
  CHECK_FALSE(rig.bit(kIrr, 0x40));
  CHECK(rig.bit(kIsr, 0x40));
  CHECK_FALSE(rig.apic.interrupt_pending());

  // Same class waits for the EOI; a higher class nests.
  rig.fixed(0x45);
  CHECK_FALSE(rig.apic.interrupt_pending());
  rig.fixed(0x90);
  REQUIRE(rig.apic.interrupt_pending());
  CHECK(rig.apic.acknowledge_interrupt() == 0x90);
  rig.set(kEoi, 0);
  CHECK_FALSE(rig.bit(kIsr, 0x90));
  CHECK(rig.bit(kIsr, 0x40));
  CHECK_FALSE(rig.apic.interrupt_pending());
  rig.set(kEoi, 0);
  CHECK_FALSE(rig.bit(kIsr, 0x40));
  REQUIRE(rig.apic.interrupt_pending());
  CHECK(rig.apic.acknowledge_interrupt() == 0x45);
  rig.set(kEoi, 0);
  CHECK(rig.eois.empty()); // edge-triggered: no EOI message
}

TEST_CASE("lapic: TPR masks lower priority classes", "[lapic]") {
  Rig rig;
  rig.enable(0xef);
  rig.set(kTpr, 0x50);
  rig.fixed(0x55);
  CHECK_FALSE(rig.apic.interrupt_pending());
  CHECK(rig.wakes == 0);
  rig.fixed(0x61);
  CHECK(rig.apic.interrupt_pending());
  CHECK(rig.wakes == 1);
  rig.set(kTpr, 0x70);
  CHECK_FALSE(rig.apic.interrupt_pending());
  // Nothing deliverable any more: the spurious vector.
  CHECK(rig.apic.acknowledge_interrupt() == 0xef);
  CHECK(rig.bit(kIrr, 0x61));
  rig.set(kTpr, 0);
  CHECK(rig.wakes == 2);
  CHECK(rig.apic.acknowledge_interrupt() == 0x61);
}

TEST_CASE("lapic: software-disabled APIC drops fixed interrupts", "[lapic]") {
  Rig rig;
  rig.fixed(0x40);
  CHECK_FALSE(rig.apic.interrupt_pending());
  CHECK_FALSE(rig.bit(kIrr, 0x40));
  // NMI, INIT and SIPI are still accepted.
  ApicInterrupt nmi;
  nmi.delivery_mode = ApicInterrupt::Nmi;
  rig.apic.accept(nmi);
  CHECK(rig.nmis == 1);

  // Disabling forces every LVT mask bit.
  rig.enable();
  rig.set(kLvtTimer, 0x30);
  CHECK(rig.reg(kLvtTimer) == 0x30);
  rig.set(kSvr, 0xff);
  CHECK(rig.reg(kLvtTimer) == (kMasked | 0x30));
  rig.set(kLvtTimer, 0x31);
  CHECK(rig.reg(kLvtTimer) == (kMasked | 0x31));
}

TEST_CASE("lapic: illegal vectors set ESR and raise the error LVT", "[lapic]") {
  Rig rig;
  rig.enable();
  rig.set(kLvtError, 0xfe);
  rig.fixed(0x05);
  CHECK_FALSE(rig.bit(kIrr, 0x05));
  CHECK(rig.bit(kIrr, 0xfe));
  rig.set(kEsr, 0);
  CHECK(rig.reg(kEsr) == 0x40);

  rig.set(kIcrLow, 0x4003);
  rig.set(kEsr, 0);
  CHECK(rig.reg(kEsr) == 0x20);
}

TEST_CASE("lapic: level-triggered EOI is broadcast with its vector",
          "[lapic]") {
  Rig rig;
  rig.enable();
  rig.fixed(0x61, true);
  CHECK(rig.bit(kTmr, 0x61));
  CHECK(rig.apic.acknowledge_interrupt() == 0x61);
  CHECK(rig.eois.empty());
  rig.set(kEoi, 0);
  CHECK(rig.eois == std::vector<uint8_t>{0x61});
  rig.fixed(0x61, false);
  CHECK_FALSE(rig.bit(kTmr, 0x61));
}

TEST_CASE("lapic: one-shot timer", "[lapic]") {
  Rig rig;
  rig.enable();
  rig.set(kDivide, 0x3); // divide by 16
  rig.set(kLvtTimer, 0x30);
  rig.set(kInitialCount, 1000); // 16000 ns at 1 GHz
  CHECK(rig.reg(kInitialCount) == 1000);
  CHECK(rig.reg(kCurrentCount) == 1000);
  rig.clock.advance(8000);
  CHECK(rig.reg(kCurrentCount) == 500);
  rig.clock.advance(7999);
  CHECK(rig.reg(kCurrentCount) == 1);
  CHECK_FALSE(rig.apic.interrupt_pending());
  rig.clock.advance(1);
  CHECK(rig.reg(kCurrentCount) == 0);
  REQUIRE(rig.apic.interrupt_pending());
  CHECK(rig.apic.acknowledge_interrupt() == 0x30);
  rig.set(kEoi, 0);
  rig.clock.advance(100000);
  CHECK_FALSE(rig.apic.interrupt_pending());
  CHECK(rig.reg(kCurrentCount) == 0);

  // Divide by 1, then a change of divider mid-count keeps the count.
  rig.set(kDivide, 0xb);
  rig.set(kInitialCount, 100);
  rig.clock.advance(40);
  CHECK(rig.reg(kCurrentCount) == 60);
  rig.set(kDivide, 0x0); // divide by 2
  rig.clock.advance(40);
  CHECK(rig.reg(kCurrentCount) == 40);
  rig.clock.advance(79);
  CHECK_FALSE(rig.apic.interrupt_pending());
  rig.clock.advance(1);
  CHECK(rig.apic.interrupt_pending());

  // Writing 0 stops it; a masked expiry delivers nothing.
  CHECK(rig.apic.acknowledge_interrupt() == 0x30);
  rig.set(kEoi, 0);
  rig.set(kInitialCount, 10);
  rig.set(kInitialCount, 0);
  rig.clock.advance(100);
  CHECK_FALSE(rig.apic.interrupt_pending());
  rig.set(kLvtTimer, kMasked | 0x30);
  rig.set(kInitialCount, 10);
  rig.clock.advance(100);
  CHECK_FALSE(rig.apic.interrupt_pending());
}

TEST_CASE("lapic: periodic timer", "[lapic]") {
  Rig rig;
  rig.enable();
  rig.set(kDivide, 0x0); // divide by 2
  rig.set(kLvtTimer, kPeriodic | 0x31);
  rig.set(kInitialCount, 100000); // 200 us period
  rig.clock.advance(199999);
  CHECK_FALSE(rig.apic.interrupt_pending());
  CHECK(rig.reg(kCurrentCount) == 1);
  rig.clock.advance(1);
  REQUIRE(rig.apic.interrupt_pending());
  CHECK(rig.reg(kCurrentCount) == 100000);
  CHECK(rig.apic.acknowledge_interrupt() == 0x31);
  rig.set(kEoi, 0);
  rig.clock.advance(50000);
  CHECK(rig.reg(kCurrentCount) == 75000);
  rig.clock.advance(149999);
  CHECK_FALSE(rig.apic.interrupt_pending());
  rig.clock.advance(1);
  REQUIRE(rig.apic.interrupt_pending());
  CHECK(rig.apic.acknowledge_interrupt() == 0x31);
  rig.set(kEoi, 0);

  // Masked, it keeps counting without interrupts.
  rig.set(kLvtTimer, kMasked | kPeriodic | 0x31);
  rig.clock.advance(450000);
  CHECK_FALSE(rig.apic.interrupt_pending());
  CHECK(rig.reg(kCurrentCount) == 75000);

  // A mode change disarms it.
  rig.set(kLvtTimer, 0x31);
  CHECK(rig.reg(kCurrentCount) == 0);
  rig.clock.advance(400000);
  CHECK_FALSE(rig.apic.interrupt_pending());
}

TEST_CASE("lapic: TSC-deadline timer", "[lapic]") {
  Rig rig;
  rig.enable();
  // Outside TSC-deadline mode the MSR ignores writes.
  REQUIRE(rig.apic.write_msr(0x6e0, 1000));
  CHECK(rig.msr(0x6e0) == 0);

  rig.set(kLvtTimer, kTscDeadline | 0x32);
  rig.set(kInitialCount, 500);
  CHECK(rig.reg(kInitialCount) == 0);
  REQUIRE(rig.apic.write_msr(0x6e0, 2000)); // 1000 ns at 2 GHz
  CHECK(rig.msr(0x6e0) == 2000);
  rig.clock.advance(999);
  CHECK_FALSE(rig.apic.interrupt_pending());
  rig.clock.advance(1);
  REQUIRE(rig.apic.interrupt_pending());
  CHECK(rig.msr(0x6e0) == 0);
  CHECK(rig.apic.acknowledge_interrupt() == 0x32);
  rig.set(kEoi, 0);

  // A deadline already passed fires at once.
  REQUIRE(rig.apic.write_msr(0x6e0, 1));
  CHECK(rig.apic.interrupt_pending());
  CHECK(rig.apic.acknowledge_interrupt() == 0x32);
  rig.set(kEoi, 0);

  // The guest's TSC offset moves the deadline; 0 disarms.
  rig.apic.set_tsc_offset(1'000'000);
  REQUIRE(rig.apic.write_msr(0x6e0, 1'000'000 + 2000 + 4000));
  rig.clock.advance(1999);
  CHECK_FALSE(rig.apic.interrupt_pending());
  rig.clock.advance(1);
  CHECK(rig.apic.interrupt_pending());
  CHECK(rig.apic.acknowledge_interrupt() == 0x32);
  rig.set(kEoi, 0);
  REQUIRE(rig.apic.write_msr(0x6e0, 1'000'000 + 10000));
  REQUIRE(rig.apic.write_msr(0x6e0, 0));
  rig.clock.advance(10000);
  CHECK_FALSE(rig.apic.interrupt_pending());

  // Leaving TSC-deadline mode disarms it.
  REQUIRE(rig.apic.write_msr(0x6e0, 1'000'000 + 30000));
  rig.set(kLvtTimer, 0x32);
  rig.clock.advance(10000);
  CHECK_FALSE(rig.apic.interrupt_pending());
}

TEST_CASE("lapic: IA32_APIC_BASE transitions", "[lapic]") {
  Rig rig(0x23);
  CHECK(rig.apic.handles_msr(0x1b));
  CHECK(rig.apic.handles_msr(0x6e0));
  CHECK(rig.apic.handles_msr(0x8ff));
  CHECK_FALSE(rig.apic.handles_msr(0x900));

  uint64_t value;
  CHECK_FALSE(rig.apic.read_msr(0x802, value));          // not in x2APIC mode
  CHECK_FALSE(rig.apic.write_apic_base(kXapicBase | 1)); // reserved bit
  CHECK_FALSE(rig.apic.write_apic_base(0xfee00000 | LocalApic::kBaseX2apic));
  REQUIRE(rig.apic.write_apic_base(kX2apicBase));
  CHECK(rig.msr(0x1b) == (kX2apicBase | LocalApic::kBaseBsp));
  CHECK_FALSE(rig.apic.write_apic_base(kXapicBase));  // x2APIC -> xAPIC
  REQUIRE(rig.apic.write_msr(0x1b, 0xfee00000));      // -> disabled
  CHECK_FALSE(rig.apic.write_apic_base(kX2apicBase)); // disabled -> x2APIC
  REQUIRE(rig.apic.write_apic_base(kXapicBase));
  REQUIRE(rig.apic.write_apic_base(kX2apicBase));
  // The BSP flag is read-only.
  REQUIRE(rig.apic.write_apic_base(kX2apicBase));
  CHECK(rig.apic.apic_base() & LocalApic::kBaseBsp);
}

TEST_CASE("lapic: x2APIC MSR registers", "[lapic]") {
  Rig rig(0x23);
  rig.set(kTpr, 0x10);
  REQUIRE(rig.apic.write_apic_base(kX2apicBase));
  CHECK(rig.msr(0x802) == 0x23);
  CHECK(rig.msr(0x803) == 0x00060014);
  CHECK(rig.msr(0x808) == 0x10); // registers survive the switch
  CHECK(rig.msr(0x80d) == (2u << 16 | 1u << 3));
  CHECK(rig.apic.read(kTpr, 4) == 0); // the xAPIC page is gone

  uint64_t value;
  CHECK_FALSE(rig.apic.read_msr(0x80b, value)); // EOI is write-only
  CHECK_FALSE(rig.apic.read_msr(0x83f, value)); // SELF IPI too
  CHECK_FALSE(rig.apic.read_msr(0x80e, value)); // no DFR
  CHECK_FALSE(rig.apic.read_msr(0x809, value)); // no APR
  CHECK_FALSE(rig.apic.read_msr(0x831, value)); // ICR is one MSR
  CHECK_FALSE(rig.apic.read_msr(0x804, value)); // reserved
  CHECK_FALSE(rig.apic.write_msr(0x802, 0));    // ID is read-only
  CHECK_FALSE(rig.apic.write_msr(0x80d, 0));    // so is LDR
  CHECK_FALSE(rig.apic.write_msr(0x80a, 0));    // and PPR
  CHECK_FALSE(rig.apic.write_msr(0x80b, 1));    // EOI takes only 0
  CHECK_FALSE(rig.apic.write_msr(0x828, 1));    // ESR too
  CHECK_FALSE(rig.apic.write_msr(0x808, 1ull << 32));

  REQUIRE(rig.apic.write_msr(0x80f, 0x1ff));
  REQUIRE(rig.apic.write_msr(0x808, 0x20));
  CHECK(rig.apic.cr8() == 2);
  REQUIRE(rig.apic.write_msr(0x83f, 0x45));
  REQUIRE(rig.apic.interrupt_pending());
  CHECK(rig.msr(0x820 + 0x45 / 32) == 1u << (0x45 % 32));
  CHECK(rig.apic.acknowledge_interrupt() == 0x45);
  CHECK(rig.msr(0x810 + 0x45 / 32) == 1u << (0x45 % 32));
  CHECK(rig.msr(0x80a) == 0x40);
  REQUIRE(rig.apic.write_msr(0x80b, 0));
  CHECK(rig.msr(0x810 + 0x45 / 32) == 0);

  // The ICR is 64 bits with a 32-bit destination.
  REQUIRE(rig.apic.write_msr(0x830, 0x12345678ull << 32 | 0x4050));
  CHECK(rig.msr(0x830) == (0x12345678ull << 32 | 0x4050));

  REQUIRE(rig.apic.write_msr(0x838, 1000));
  CHECK(rig.msr(0x838) == 1000);
  CHECK(rig.msr(0x839) == 1000); // a masked timer counts too
  REQUIRE(rig.apic.write_msr(0x832, 0x30));
  REQUIRE(rig.apic.write_msr(0x838, 1000));
  rig.clock.advance(500);
  CHECK(rig.msr(0x839) == 750); // divide by 2
}

TEST_CASE("lapic: INIT resets the registers, keeping the ID and mode",
          "[lapic]") {
  Rig rig(5);
  rig.enable();
  rig.set(kTpr, 0x40);
  rig.set(kLdr, 0x01000000);
  rig.set(kLvtTimer, kPeriodic | 0x30);
  rig.set(kInitialCount, 100);
  rig.fixed(0x90);
  REQUIRE(rig.apic.write_apic_base(kX2apicBase));

  ApicInterrupt init;
  init.delivery_mode = ApicInterrupt::Init;
  rig.apic.accept(init);
  CHECK(rig.inits == 1);
  CHECK_FALSE(rig.apic.interrupt_pending());
  CHECK(rig.apic.apic_base() == (kX2apicBase | LocalApic::kBaseBsp));
  CHECK(rig.msr(0x802) == 5);
  CHECK(rig.msr(0x808) == 0);
  CHECK(rig.msr(0x80f) == 0xff);
  CHECK(rig.msr(0x832) == kMasked);
  CHECK(rig.msr(0x839) == 0);
  CHECK(rig.msr(0x824) == 0);

  // An INIT level de-assert does nothing.
  REQUIRE(rig.apic.write_msr(0x808, 0x30));
  init.asserted = false;
  init.level_triggered = true;
  rig.apic.accept(init);
  CHECK(rig.inits == 1);
  CHECK(rig.msr(0x808) == 0x30);

  ApicInterrupt sipi;
  sipi.delivery_mode = ApicInterrupt::StartUp;
  sipi.vector = 0x9a;
  rig.apic.accept(sipi);
  CHECK(rig.startups == std::vector<uint8_t>{0x9a});
}

namespace {
// An 8259 pair whose INTR drives LINT0, as on a PC.
struct PicRig {
  Pic8259Pair pic{[this](bool level) { rig.apic.set_lint(0, level); }};
  Rig rig{0, &pic};

  PicRig() {
    Device &master = pic.master_ports();
    Device &slave = pic.slave_ports();
    for (uint8_t v : {0x11, 0x20, 0x04, 0x01})
      master.write(v == 0x11 ? 0 : 1, 1, v);
    for (uint8_t v : {0x11, 0x28, 0x02, 0x01})
      slave.write(v == 0x11 ? 0 : 1, 1, v);
  }
  void eoi_pic() { pic.master_ports().write(0, 1, 0x20); }
};
} // namespace

TEST_CASE("lapic: PIC interrupts through LINT0 in ExtINT mode", "[lapic]") {
  PicRig f;
  // Reset state: LINT0 masked, so the PIC does not reach the CPU.
  f.pic.set_irq(1, true);
  REQUIRE(f.pic.interrupt_pending());
  CHECK_FALSE(f.rig.apic.interrupt_pending());

  f.rig.enable();
  f.rig.set(kLvtLint0, 0x700);
  REQUIRE(f.rig.apic.interrupt_pending());
  CHECK(f.rig.wakes == 1);
  // ExtINT ignores the task priority.
  f.rig.set(kTpr, 0xf0);
  CHECK(f.rig.apic.interrupt_pending());
  CHECK(f.rig.apic.acknowledge_interrupt() == 0x21);
  CHECK_FALSE(f.rig.apic.interrupt_pending());
  CHECK_FALSE(f.rig.bit(kIsr, 0x21));
  f.eoi_pic();
  f.pic.set_irq(1, false);

  // Masking LINT0 blocks it again.
  f.rig.set(kLvtLint0, kMasked | 0x700);
  f.pic.set_irq(3, true);
  CHECK_FALSE(f.rig.apic.interrupt_pending());
  f.rig.set(kLvtLint0, 0x700);
  CHECK(f.rig.apic.acknowledge_interrupt() == 0x23);
}

TEST_CASE("lapic: a globally disabled APIC passes the PIC through", "[lapic]") {
  PicRig f;
  REQUIRE(f.rig.apic.write_apic_base(0xfee00000));
  f.pic.set_irq(4, true);
  REQUIRE(f.rig.apic.interrupt_pending());
  CHECK(f.rig.wakes == 1);
  CHECK(f.rig.apic.acknowledge_interrupt() == 0x24);
  CHECK_FALSE(f.rig.apic.interrupt_pending());
  f.rig.apic.set_lint(1, true);
  CHECK(f.rig.nmis == 1);
  // No messages reach it.
  ApicInterrupt fixed;
  fixed.vector = 0x40;
  fixed.destination = 0xff;
  f.rig.bus.send(fixed, nullptr);
  CHECK_FALSE(f.rig.apic.interrupt_pending());
}

TEST_CASE("lapic: firmware virtual wire setup", "[lapic]") {
  PicRig f;
  f.rig.apic.enable_virtual_wire();
  CHECK(f.rig.reg(kSvr) == 0x1ff);
  CHECK(f.rig.reg(kLvtLint0) == 0x700);
  CHECK(f.rig.reg(kLvtLint1) == 0x400);
  f.pic.set_irq(0, true);
  REQUIRE(f.rig.apic.interrupt_pending());
  CHECK(f.rig.apic.acknowledge_interrupt() == 0x20);
  f.rig.apic.set_lint(1, true);
  f.rig.apic.set_lint(1, true);
  CHECK(f.rig.nmis == 1);
}

TEST_CASE("lapic: level-triggered fixed LINT0 uses Remote IRR", "[lapic]") {
  Rig rig;
  rig.enable();
  rig.set(kLvtLint0, 0x8055);
  rig.apic.set_lint(0, true);
  CHECK(rig.reg(kLvtLint0) == 0xc055);
  CHECK(rig.bit(kTmr, 0x55));
  CHECK(rig.apic.acknowledge_interrupt() == 0x55);
  rig.set(kEoi, 0);
  CHECK(rig.eois == std::vector<uint8_t>{0x55});
  // Still asserted: accepted again.
  CHECK(rig.reg(kLvtLint0) == 0xc055);
  CHECK(rig.apic.acknowledge_interrupt() == 0x55);
  rig.apic.set_lint(0, false);
  rig.set(kEoi, 0);
  CHECK(rig.reg(kLvtLint0) == 0x8055);
  CHECK_FALSE(rig.apic.interrupt_pending());
}

TEST_CASE("lapic: save and load round trip", "[lapic]") {
  Rig a(2);
  a.enable(0xf7);
  a.set(kTpr, 0x20);
  a.set(kLdr, 0x04000000);
  a.set(kDfr, 0x0fffffff);
  a.set(kLvtLint0, 0x700);
  a.set(kLvtError, kMasked | 0xfe);
  a.fixed(0x61, true);
  a.fixed(0x70);
  REQUIRE(a.apic.acknowledge_interrupt() == 0x70);
  a.set(kDivide, 0xb);
  a.set(kLvtTimer, kPeriodic | 0x31);
  a.set(kInitialCount, 1000);
  a.clock.advance(300);

  StateWriter out;
  a.apic.save(out);

  Rig b(2);
  b.clock.advance(5'000'000);
  StateReader in(out.data());
  b.apic.load(in);
  CHECK(in.at_end());
  for (uint64_t offset = 0x20; offset < 0x400; offset += 0x10)
    CHECK(b.reg(offset) == a.reg(offset));
  CHECK(b.reg(kCurrentCount) == 700);
  CHECK(b.bit(kIsr, 0x70));
  CHECK(b.bit(kTmr, 0x61));
  CHECK(b.apic.apic_base() == a.apic.apic_base());
  CHECK_FALSE(b.apic.interrupt_pending()); // 0x61 is below ISR 0x70
  b.set(kEoi, 0);
  REQUIRE(b.apic.interrupt_pending());
  CHECK(b.apic.acknowledge_interrupt() == 0x61);
  b.set(kEoi, 0);
  CHECK(b.eois == std::vector<uint8_t>{0x61});
  b.clock.advance(699);
  CHECK_FALSE(b.apic.interrupt_pending());
  b.clock.advance(1);
  CHECK(b.apic.acknowledge_interrupt() == 0x31);

  // A TSC deadline survives too.
  Rig c;
  c.enable();
  c.set(kLvtTimer, kTscDeadline | 0x33);
  REQUIRE(c.apic.write_msr(0x6e0, 4000));
  StateWriter out2;
  c.apic.save(out2);
  Rig d;
  StateReader in2(out2.data());
  d.apic.load(in2);
  CHECK(d.msr(0x6e0) == 4000);
  d.clock.advance(2000);
  CHECK(d.apic.acknowledge_interrupt() == 0x33);
}
