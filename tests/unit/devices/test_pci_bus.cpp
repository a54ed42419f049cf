#include <catch2/catch.hpp>

#include <map>
#include <mutex>

#include "devices/pci_bus.h"
#include "irq_sinks.h"
#include "machine/io_bus.h"
#include "machine/irq.h"
#include "machine/state.h"
#include "pci_config_access.h"

using namespace sable;
using test::config_read;
using test::config_write;
using test::Levels;

namespace {

class Registers : public Device {
public:
  explicit Registers(uint64_t tag) : tag_(tag) {}
  std::string_view name() const override { return "registers"; }
  uint64_t read(uint64_t offset, unsigned) override { return tag_ + offset; }
  void write(uint64_t offset, unsigned, uint64_t value) override {
    last_offset = offset;
    last_value = value;
  }
  void reset() override {}
  void save(StateWriter &) const override {}
  void load(StateReader &) override {}
  uint64_t last_offset = 0, last_value = 0;

private:
  uint64_t tag_;
};

class TestFunction : public PciDevice {
public:
  TestFunction() : PciDevice(0x1234, 0x5678, 0x020000, 0x07) {
    define_bar(0, BarKind::Io, 0x20, &io_regs);
    define_bar(1, BarKind::Mem32, 0x1000, &mem_regs);
    define_bar(2, BarKind::Mem64, 0x4000, &mem64_regs, true);
    set_interrupt_pin(1);
    set_writable(0x40, 1, 0xff);
  }
  std::string_view name() const override { return "test-function"; }
  void raise() { set_intx(true); }
  void lower() { set_intx(false); }

  Registers io_regs{0x100};
  Registers mem_regs{0x200};
  Registers mem64_regs{0x300};
};

struct FixedRoutes : PirqRouter {
  int isa_irq_for_pirq(unsigned pirq) const override { return routes[pirq]; }
  int routes[4] = {10, 10, 11, -1};
};

struct Rig {
  std::recursive_mutex lock;
  IoPortBus io{lock};
  MmioBus mmio{lock};
  IrqRouter irq;
  Levels levels;
  FixedRoutes routes;
  PciBus bus{io, mmio, &irq};
  TestFunction function;

  Rig() {
    irq.add_sink(&levels);
    bus.set_pirq_router(&routes);
    io.map(0xcf8, 8, &bus);
    bus.add(&function, 2, 0);
  }
};

} // namespace

TEST_CASE("pci: identification through configuration mechanism #1", "[pci]") {
  Rig rig;
  CHECK(config_read(rig.io, 2, 0, 0x00, 4) == 0x56781234);
  CHECK(config_read(rig.io, 2, 0, 0x02, 2) == 0x5678);
  CHECK(config_read(rig.io, 2, 0, 0x01, 1) == 0x12);
  CHECK(config_read(rig.io, 2, 0, 0x08, 4) == 0x02000007);
  CHECK(config_read(rig.io, 2, 0, 0x3d, 1) == 1);
  CHECK(config_read(rig.io, 3, 0, 0x00, 4) == 0xffffffff);
  CHECK(config_read(rig.io, 2, 1, 0x00, 2) == 0xffff);
  rig.io.write(0xcf8, 4, 0x12345679);
  CHECK(rig.io.read(0xcf8, 4) == 0x345678u);
  CHECK(rig.io.read(0xcfc, 4) == 0xffffffff);
}

TEST_CASE("pci: read-only and writable configuration bytes", "[pci]") {
  Rig rig;
  config_write(rig.io, 2, 0, 0x00, 4, 0xdeadbeef);
  CHECK(config_read(rig.io, 2, 0, 0x00, 4) == 0x56781234);
  config_write(rig.io, 2, 0, 0x3c, 2, 0xff0b);
  CHECK(config_read(rig.io, 2, 0, 0x3c, 2) == 0x010b);
  config_write(rig.io, 2, 0, 0x04, 2, 0xffff);
  CHECK(config_read(rig.io, 2, 0, 0x04, 2) == 0x0547);
  config_write(rig.io, 2, 0, 0x42, 1, 0x55);
  CHECK(config_read(rig.io, 2, 0, 0x40, 4) == 0);
  config_write(rig.io, 2, 0, 0x41, 1, 0x5a);
  config_write(rig.io, 2, 0, 0x40, 1, 0x5a);
  CHECK(config_read(rig.io, 2, 0, 0x40, 4) == 0x5a);
}

TEST_CASE("pci: BAR sizing reads back the size mask and type", "[pci]") {
  Rig rig;
  for (unsigned bar = 0; bar < 6; ++bar)
    config_write(rig.io, 2, 0, 0x10 + 4 * bar, 4, 0xffffffff);
  CHECK(config_read(rig.io, 2, 0, 0x10, 4) == 0xffffffe1);
  CHECK(config_read(rig.io, 2, 0, 0x14, 4) == 0xfffff000);
  CHECK(config_read(rig.io, 2, 0, 0x18, 4) == 0xffffc00c);
  CHECK(config_read(rig.io, 2, 0, 0x1c, 4) == 0xffffffff);
  CHECK(config_read(rig.io, 2, 0, 0x20, 4) == 0);
  CHECK(config_read(rig.io, 2, 0, 0x24, 4) == 0);
}

TEST_CASE("pci: I/O BAR decodes only with the command bit", "[pci]") {
  Rig rig;
  config_write(rig.io, 2, 0, 0x10, 4, 0xc000);
  CHECK(rig.io.read(0xc004, 2) == 0xffff);
  config_write(rig.io, 2, 0, 0x04, 2, pci::kCommandIo);
  CHECK(rig.io.read(0xc004, 2) == 0x104);
  rig.io.write(0xc01f, 1, 0x42);
  CHECK(rig.function.io_regs.last_offset == 0x1f);
  CHECK(rig.function.io_regs.last_value == 0x42);

  config_write(rig.io, 2, 0, 0x10, 4, 0xd000);
  CHECK(rig.io.read(0xc004, 2) == 0xffff);
  CHECK(rig.io.read(0xd002, 2) == 0x102);

  config_write(rig.io, 2, 0, 0x04, 2, 0);
  CHECK(rig.io.read(0xd002, 2) == 0xffff);
}

TEST_CASE("pci: memory BARs map on the MMIO bus", "[pci]") {
  Rig rig;
  config_write(rig.io, 2, 0, 0x14, 4, 0xfe000000);
  config_write(rig.io, 2, 0, 0x18, 4, 0x0);
  config_write(rig.io, 2, 0, 0x1c, 4, 0x1);
  config_write(rig.io, 2, 0, 0x04, 2, pci::kCommandMemory);
  CHECK(rig.mmio.read(0xfe000010, 4) == 0x210);
  CHECK(rig.mmio.read(0x100000008, 4) == 0x308);
  CHECK_FALSE(rig.mmio.claimed(0xfe001000));
  config_write(rig.io, 2, 0, 0x04, 2, pci::kCommandIo);
  CHECK_FALSE(rig.mmio.claimed(0xfe000010));
  CHECK_FALSE(rig.mmio.claimed(0x100000000));
}

TEST_CASE("pci: an overlapping BAR stays unmapped without throwing", "[pci]") {
  Rig rig;
  TestFunction second;
  rig.bus.add(&second, 3, 0);
  config_write(rig.io, 2, 0, 0x10, 4, 0xc000);
  config_write(rig.io, 2, 0, 0x04, 2, pci::kCommandIo);
  config_write(rig.io, 3, 0, 0x10, 4, 0xc010);
  REQUIRE_NOTHROW(config_write(rig.io, 3, 0, 0x04, 2, pci::kCommandIo));
  CHECK(rig.io.read(0xc010, 2) == 0x110);
  config_write(rig.io, 3, 0, 0x10, 4, 0xc040);
  CHECK(rig.io.read(0xc040, 2) == 0x100);

  REQUIRE_NOTHROW(config_write(rig.io, 2, 0, 0x10, 4, 0xcf0));
  CHECK(rig.io.read(0xcf8, 4) == 0x80001010u);
}

TEST_CASE("pci: INTx follows the slot swizzle to PIRQs and ISA IRQs", "[pci]") {
  Rig rig;
  CHECK(PciBus::pirq_for(1, 1) == 0);
  CHECK(PciBus::pirq_for(2, 1) == 1);
  CHECK(PciBus::pirq_for(2, 4) == 0);
  CHECK(PciBus::pirq_for(4, 2) == 0);

  rig.function.raise();
  CHECK(rig.levels.lines[17]);
  CHECK(rig.levels.lines[10]);
  CHECK(config_read(rig.io, 2, 0, 0x06, 2) & pci::kStatusInterrupt);

  config_write(rig.io, 2, 0, 0x04, 2, pci::kCommandIntxDisable);
  CHECK_FALSE(rig.levels.lines[17]);
  CHECK_FALSE(rig.levels.lines[10]);
  config_write(rig.io, 2, 0, 0x04, 2, 0);
  CHECK(rig.levels.lines[17]);

  rig.routes.routes[1] = 5;
  rig.bus.update_interrupts();
  CHECK_FALSE(rig.levels.lines[10]);
  CHECK(rig.levels.lines[5]);

  rig.function.lower();
  CHECK_FALSE(rig.levels.lines[17]);
  CHECK_FALSE(rig.levels.lines[5]);
}

TEST_CASE("pci: functions sharing an ISA IRQ keep it raised", "[pci]") {
  Rig rig;
  TestFunction second;
  rig.bus.add(&second, 1, 0);
  rig.function.raise();
  second.raise();
  CHECK(rig.levels.lines[16]);
  CHECK(rig.levels.lines[17]);
  CHECK(rig.levels.lines[10]);
  rig.function.lower();
  CHECK(rig.levels.lines[10]);
  second.lower();
  CHECK_FALSE(rig.levels.lines[10]);
}

TEST_CASE("pci: reset restores power-on configuration and unmaps", "[pci]") {
  Rig rig;
  config_write(rig.io, 2, 0, 0x10, 4, 0xc000);
  config_write(rig.io, 2, 0, 0x04, 2, pci::kCommandIo);
  config_write(rig.io, 2, 0, 0x3c, 1, 11);
  rig.function.raise();
  rig.bus.reset();
  CHECK(rig.io.read(0xcf8, 4) == 0);
  CHECK(config_read(rig.io, 2, 0, 0x10, 4) == 1);
  CHECK(config_read(rig.io, 2, 0, 0x3c, 1) == 0);
  CHECK(rig.io.read(0xc000, 2) == 0xffff);
  CHECK_FALSE(rig.levels.lines[17]);
}

TEST_CASE("pci: save and load restore configuration and mappings", "[pci]") {
  StateWriter out;
  {
    Rig rig;
    config_write(rig.io, 2, 0, 0x10, 4, 0xc000);
    config_write(rig.io, 2, 0, 0x04, 2, pci::kCommandIo);
    config_write(rig.io, 2, 0, 0x3c, 1, 11);
    rig.function.raise();
    rig.io.write(0xcf8, 4, 0x80001004);
    rig.bus.save(out);
  }
  Rig rig;
  StateReader in(out.data());
  rig.bus.load(in);
  CHECK(in.at_end());
  CHECK(rig.io.read(0xcf8, 4) == 0x80001004u);
  CHECK(config_read(rig.io, 2, 0, 0x3c, 1) == 11);
  CHECK(rig.io.read(0xc000, 2) == 0x100);
  CHECK(rig.function.intx());
  rig.levels.lines[17] = true;
  rig.function.lower();
  CHECK_FALSE(rig.levels.lines[17]);
}
