#include <catch2/catch.hpp>

#include <mutex>

#include "devices/piix_ide.h"
#include "machine/io_bus.h"
#include "machine/state.h"
#include "pci_config_access.h"

using namespace sable;
using test::config_read;
using test::config_write;

namespace {

class BusMaster : public Device {
public:
  std::string_view name() const override { return "bus-master"; }
  uint64_t read(uint64_t offset, unsigned) override { return 0xb0 + offset; }
  void write(uint64_t, unsigned, uint64_t) override {}
  void reset() override {}
  void save(StateWriter &) const override {}
  void load(StateReader &) override {}
};

struct Rig {
  std::recursive_mutex lock;
  IoPortBus io{lock};
  MmioBus mmio{lock};
  PciBus bus{io, mmio, nullptr};
  BusMaster bus_master;
  PiixIde ide{bus, bus_master};

  Rig() { io.map(0xcf8, 8, &bus); }
};

} // namespace

TEST_CASE("piix-ide: identification and compatibility-mode class",
          "[piix_ide]") {
  Rig rig;
  CHECK(config_read(rig.io, 1, 1, 0x00, 4) == 0x70108086);
  CHECK(config_read(rig.io, 1, 1, 0x08, 4) == 0x01018000);
  CHECK(config_read(rig.io, 1, 1, 0x3d, 1) == 0);
  for (unsigned bar = 0; bar < 4; ++bar) {
    config_write(rig.io, 1, 1, 0x10 + 4 * bar, 4, 0xffffffff);
    CHECK(config_read(rig.io, 1, 1, 0x10 + 4 * bar, 4) == 0);
  }
}

TEST_CASE("piix-ide: BAR4 sizes to 16 ports and decodes the bus master",
          "[piix_ide]") {
  Rig rig;
  config_write(rig.io, 1, 1, 0x20, 4, 0xffffffff);
  CHECK(config_read(rig.io, 1, 1, 0x20, 4) == 0xfffffff1);
  config_write(rig.io, 1, 1, 0x20, 4, 0xc000);
  config_write(rig.io, 1, 1, 0x04, 2, pci::kCommandIo | pci::kCommandMaster);
  CHECK(rig.io.read(0xc002, 1) == 0xb2);
  CHECK(rig.io.read(0xc010, 1) == 0xff);
}

TEST_CASE("piix-ide: IDETIM decode enables per channel", "[piix_ide]") {
  Rig rig;
  CHECK_FALSE(rig.ide.channel_enabled(0));
  CHECK_FALSE(rig.ide.channel_enabled(1));
  config_write(rig.io, 1, 1, 0x40, 2, 0x8000);
  CHECK(rig.ide.channel_enabled(0));
  CHECK_FALSE(rig.ide.channel_enabled(1));
  config_write(rig.io, 1, 1, 0x42, 2, 0x8000);
  CHECK(rig.ide.channel_enabled(1));
  CHECK(config_read(rig.io, 1, 1, 0x40, 4) == 0x80008000);
  rig.bus.reset();
  CHECK_FALSE(rig.ide.channel_enabled(0));
}
