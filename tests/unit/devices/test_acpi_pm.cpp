#include <catch2/catch.hpp>

#include <map>
#include <mutex>

#include "devices/acpi_pm.h"
#include "irq_sinks.h"
#include "machine/io_bus.h"
#include "machine/state.h"
#include "pci_config_access.h"

using namespace sable;
using test::config_read;
using test::config_write;
using test::Levels;

namespace {

constexpr uint16_t kSts = acpi::kPm1aEventBlock;
constexpr uint16_t kEn = acpi::kPm1aEventBlock + 2;
constexpr uint16_t kCnt = acpi::kPm1aControlBlock;
constexpr uint16_t kTmr = acpi::kPmTimerBlock;
constexpr uint64_t kSecond = 1000000000;

struct Rig {
  std::recursive_mutex lock;
  IoPortBus io{lock};
  MmioBus mmio{lock};
  IrqRouter irq;
  Levels levels;
  Clock clock{Clock::Mode::Manual};
  PciBus bus{io, mmio, &irq};
  int power_offs = 0;
  AcpiPm pm{bus, io, clock, IrqLine(&irq, acpi::kSciIrq),
            [this] { ++power_offs; }};

  Rig() {
    irq.add_sink(&levels);
    io.map(0xcf8, 8, &bus);
  }
  bool sci() { return levels.lines[acpi::kSciIrq]; }
};

} // namespace

TEST_CASE("acpi-pm: identification and power-on registers", "[acpi_pm]") {
  Rig rig;
  CHECK(config_read(rig.io, 1, 3, 0x00, 4) == 0x71138086);
  CHECK(config_read(rig.io, 1, 3, 0x08, 4) == 0x06800003);
  CHECK(config_read(rig.io, 1, 3, 0x40, 4) == 0x601);
  CHECK(config_read(rig.io, 1, 3, 0x80, 1) == 1);
  config_write(rig.io, 1, 3, 0x58, 4, 0);
  CHECK(config_read(rig.io, 1, 3, 0x58, 4) == 1u << 25);
  CHECK(rig.io.read(kCnt, 2) == acpi::kPm1SciEnable);
  CHECK(rig.io.read(kSts, 2) == 0);
  CHECK(rig.io.read(kEn, 2) == 0);
  CHECK(rig.io.read(acpi::kGpe0Block, 4) == 0);
}

TEST_CASE("acpi-pm: the PM timer counts at 3.579545 MHz", "[acpi_pm]") {
  Rig rig;
  CHECK(rig.io.read(kTmr, 4) == 0);
  rig.clock.advance(kSecond);
  CHECK(rig.io.read(kTmr, 4) == 3579545);
  rig.clock.advance(kSecond / 1000);
  CHECK(rig.io.read(kTmr, 4) == 3583124);
  CHECK(rig.io.read(kTmr + 2, 2) == 3583124 >> 16);
  rig.clock.advance(4 * kSecond);
  CHECK(rig.io.read(kTmr, 4) == ((5001 * acpi::kPmTimerHz / 1000) & 0xffffff));
}

TEST_CASE("acpi-pm: timer overflow sets TMR_STS and raises the SCI",
          "[acpi_pm]") {
  Rig rig;
  rig.io.write(kEn, 2, acpi::kPm1TimerStatus);
  rig.clock.advance(2 * kSecond);
  CHECK_FALSE(rig.io.read(kSts, 2) & acpi::kPm1TimerStatus);
  CHECK_FALSE(rig.sci());
  rig.clock.advance(kSecond / 2);
  CHECK(rig.io.read(kSts, 2) & acpi::kPm1TimerStatus);
  CHECK(rig.sci());
  rig.io.write(kSts, 2, acpi::kPm1TimerStatus);
  CHECK_FALSE(rig.io.read(kSts, 2) & acpi::kPm1TimerStatus);
  CHECK_FALSE(rig.sci());
  rig.clock.advance(2 * kSecond + kSecond / 2);
  CHECK(rig.sci());
}

TEST_CASE("acpi-pm: power button status, enable and SCI_EN", "[acpi_pm]") {
  Rig rig;
  rig.pm.power_button();
  CHECK(rig.io.read(kSts, 2) == acpi::kPm1PowerButtonStatus);
  CHECK_FALSE(rig.sci());
  rig.io.write(kEn + 1, 1, acpi::kPm1PowerButtonStatus >> 8);
  CHECK(rig.io.read(kEn, 2) == acpi::kPm1PowerButtonStatus);
  CHECK(rig.sci());
  rig.io.write(kCnt, 2, 0);
  CHECK_FALSE(rig.sci());
  rig.io.write(kCnt, 2, acpi::kPm1SciEnable);
  CHECK(rig.sci());
  rig.io.write(kSts + 1, 1, acpi::kPm1PowerButtonStatus >> 8);
  CHECK(rig.io.read(kSts, 2) == 0);
  CHECK_FALSE(rig.sci());
}

TEST_CASE("acpi-pm: SLP_EN with the S5 type powers off", "[acpi_pm]") {
  Rig rig;
  uint16_t s3 = 1 << 10;
  rig.io.write(kCnt, 2, acpi::kPm1SciEnable | s3 | acpi::kPm1SleepEnable);
  CHECK(rig.power_offs == 0);
  CHECK(rig.io.read(kCnt, 2) == (acpi::kPm1SciEnable | s3));
  rig.io.write(kCnt, 2,
               acpi::kPm1SciEnable | acpi::kSleepTypeSoftOff << 10 |
                   acpi::kPm1SleepEnable);
  CHECK(rig.power_offs == 1);
  CHECK_FALSE(rig.io.read(kCnt, 2) & acpi::kPm1SleepEnable);
}

TEST_CASE("acpi-pm: GPE0 enable and status registers", "[acpi_pm]") {
  Rig rig;
  rig.io.write(acpi::kGpe0Block + 2, 2, 0x0f02);
  CHECK(rig.io.read(acpi::kGpe0Block, 4) == 0x0f020000);
  rig.io.write(acpi::kGpe0Block, 2, 0xffff);
  CHECK(rig.io.read(acpi::kGpe0Block + 2, 2) == 0x0f02);
  CHECK_FALSE(rig.sci());
}

TEST_CASE("acpi-pm: PMBA and PMIOSE move the PM block", "[acpi_pm]") {
  Rig rig;
  config_write(rig.io, 1, 3, 0x40, 4, 0xb07f);
  CHECK(config_read(rig.io, 1, 3, 0x40, 4) == 0xb041);
  CHECK(rig.io.read(kCnt, 2) == 0xffff);
  CHECK(rig.io.read(0xb044, 2) == acpi::kPm1SciEnable);
  config_write(rig.io, 1, 3, 0x80, 1, 0);
  CHECK(rig.io.read(0xb044, 2) == 0xffff);
  rig.bus.reset();
  CHECK(rig.io.read(kCnt, 2) == acpi::kPm1SciEnable);
}

TEST_CASE("acpi-pm: save and load keep registers and the timer", "[acpi_pm]") {
  StateWriter out;
  {
    Rig rig;
    rig.clock.advance(3 * kSecond);
    rig.io.write(kEn, 2, acpi::kPm1PowerButtonStatus);
    rig.pm.power_button();
    rig.io.write(acpi::kGpe0Block + 2, 2, 0x3);
    REQUIRE(rig.io.read(kSts, 2) ==
            (acpi::kPm1TimerStatus | acpi::kPm1PowerButtonStatus));
    rig.bus.save(out);
  }
  Rig rig;
  StateReader in(out.data());
  rig.bus.load(in);
  CHECK(in.at_end());
  CHECK(rig.io.read(kSts, 2) ==
        (acpi::kPm1TimerStatus | acpi::kPm1PowerButtonStatus));
  CHECK(rig.io.read(kEn, 2) == acpi::kPm1PowerButtonStatus);
  CHECK(rig.io.read(acpi::kGpe0Block + 2, 2) == 3);
  CHECK(rig.sci());
  CHECK(rig.io.read(kTmr, 4) == ((3 * acpi::kPmTimerHz) & 0xffffff));
  rig.clock.advance(kSecond);
  CHECK(rig.io.read(kTmr, 4) == ((4 * acpi::kPmTimerHz) & 0xffffff));
}
