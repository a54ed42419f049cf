#include <catch2/catch.hpp>

#include <map>
#include <mutex>

#include "devices/piix3.h"
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

class NicFunction : public PciDevice {
public:
  NicFunction() : PciDevice(0x10ec, 0x8139, 0x020000, 0x20) {
    set_interrupt_pin(1);
  }
  std::string_view name() const override { return "nic"; }
  void interrupt(bool level) { set_intx(level); }
};

struct Rig {
  std::recursive_mutex lock;
  IoPortBus io{lock};
  MmioBus mmio{lock};
  IrqRouter irq;
  Levels levels;
  PciBus bus{io, mmio, &irq};
  int resets = 0;
  Piix3 piix3{bus, [this] { ++resets; }};
  NicFunction nic;

  Rig() {
    irq.add_sink(&levels);
    io.map(0xcf8, 8, &bus);
    bus.add(&nic, 2, 0);
  }
};

} // namespace

TEST_CASE("piix3: identification and route register defaults", "[piix3]") {
  Rig rig;
  CHECK(config_read(rig.io, 1, 0, 0x00, 4) == 0x70008086);
  CHECK(config_read(rig.io, 1, 0, 0x08, 4) >> 8 == 0x060100);
  CHECK(config_read(rig.io, 1, 0, 0x0e, 1) == 0x80);
  CHECK(config_read(rig.io, 1, 0, 0x60, 4) == 0x80808080);
  config_write(rig.io, 1, 0, 0x60, 4, 0x0b0b0a0a);
  CHECK(config_read(rig.io, 1, 0, 0x60, 4) == 0x0b0b0a0a);
  CHECK(rig.piix3.isa_irq_for_pirq(0) == 10);
  CHECK(rig.piix3.isa_irq_for_pirq(3) == 11);
  config_write(rig.io, 1, 0, 0x62, 1, 0x0d);
  CHECK(rig.piix3.isa_irq_for_pirq(2) == -1);
  config_write(rig.io, 1, 0, 0x62, 1, 0xf5);
  CHECK(config_read(rig.io, 1, 0, 0x62, 1) == 0x85);
  CHECK(rig.piix3.isa_irq_for_pirq(2) == -1);
}

TEST_CASE("piix3: PIRQ routes steer a PCI interrupt between ISA IRQs",
          "[piix3]") {
  Rig rig;
  rig.nic.interrupt(true);
  CHECK(rig.levels.lines[17]);
  CHECK(rig.levels.lines.count(10) == 0);

  config_write(rig.io, 1, 0, 0x61, 1, 10);
  CHECK(rig.levels.lines[10]);
  config_write(rig.io, 1, 0, 0x61, 1, 11);
  CHECK_FALSE(rig.levels.lines[10]);
  CHECK(rig.levels.lines[11]);
  config_write(rig.io, 1, 0, 0x61, 1, 0x8b);
  CHECK_FALSE(rig.levels.lines[11]);
  CHECK(rig.levels.lines[17]);

  config_write(rig.io, 1, 0, 0x61, 1, 5);
  CHECK(rig.levels.lines[5]);
  rig.nic.interrupt(false);
  CHECK_FALSE(rig.levels.lines[5]);
  CHECK_FALSE(rig.levels.lines[17]);
}

TEST_CASE("piix3: reset control at 0xCF9", "[piix3]") {
  Rig rig;
  rig.io.write(0xcf9, 1, 0x02);
  CHECK(rig.resets == 0);
  CHECK(rig.io.read(0xcf9, 1) == 0x02);
  rig.io.write(0xcf9, 1, 0x06);
  CHECK(rig.resets == 1);
  CHECK(rig.io.read(0xcf9, 1) == 0x02);
  rig.io.write(0xcf8, 4, 0x80000800);
  CHECK(rig.io.read(0xcfc, 2) == 0x8086);
  CHECK(rig.resets == 1);
}

TEST_CASE("piix3: routes and reset control survive save and load", "[piix3]") {
  StateWriter out;
  {
    Rig rig;
    config_write(rig.io, 1, 0, 0x60, 4, 0x0b0a0b0a);
    rig.io.write(0xcf9, 1, 0x0a);
    rig.bus.save(out);
  }
  Rig rig;
  StateReader in(out.data());
  rig.bus.load(in);
  CHECK(rig.piix3.isa_irq_for_pirq(1) == 11);
  CHECK(rig.io.read(0xcf9, 1) == 0x0a);
  rig.bus.reset();
  CHECK(rig.io.read(0xcf9, 1) == 0);
  CHECK(rig.piix3.isa_irq_for_pirq(1) == -1);
}
