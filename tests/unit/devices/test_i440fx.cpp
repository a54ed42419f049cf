#include <catch2/catch.hpp>

#include <mutex>

#include "devices/i440fx.h"
#include "machine/io_bus.h"
#include "machine/memory.h"
#include "machine/state.h"
#include "pci_config_access.h"

using namespace sable;
using test::config_read;
using test::config_write;

namespace {

std::vector<uint8_t> rom_image() {
  std::vector<uint8_t> rom(I440fx::kShadowSize);
  for (size_t i = 0; i < rom.size(); ++i)
    rom[i] = uint8_t(0xa0 + (i >> 14));
  return rom;
}

struct Rig {
  std::recursive_mutex lock;
  IoPortBus io{lock};
  MmioBus mmio{lock};
  GuestMemory memory{mmio};
  PciBus bus{io, mmio, nullptr};
  uint8_t *ram = memory.add_ram("ram", 0, 0x200000);
  I440fx bridge{bus, memory, "ram", rom_image()};

  Rig() {
    io.map(0xcf8, 8, &bus);
    for (uint64_t a = 0xc0000; a < 0x100000; ++a)
      ram[a] = 0x11;
  }
  uint8_t peek(uint64_t address) {
    uint8_t value = 0;
    memory.read(address, &value, 1);
    return value;
  }
  void poke(uint64_t address, uint8_t value) {
    memory.write(address, &value, 1);
  }
};

} // namespace

TEST_CASE("i440fx: host bridge identification", "[i440fx]") {
  Rig rig;
  CHECK(config_read(rig.io, 0, 0, 0x00, 4) == 0x12378086);
  CHECK(config_read(rig.io, 0, 0, 0x08, 4) == 0x06000002);
  CHECK(config_read(rig.io, 0, 0, 0x0e, 1) == 0);
  CHECK(config_read(rig.io, 0, 0, 0x72, 1) == 0x02);
  config_write(rig.io, 0, 0, 0x72, 1, 0x4a);
  CHECK(config_read(rig.io, 0, 0, 0x72, 1) == 0x4a);
}

TEST_CASE("i440fx: a RAM region too small for shadowing is refused",
          "[i440fx]") {
  std::recursive_mutex lock;
  IoPortBus io{lock};
  MmioBus mmio{lock};
  GuestMemory memory{mmio};
  PciBus bus{io, mmio, nullptr};
  memory.add_ram("small", 0, 0xa0000);
  CHECK_THROWS_AS(I440fx(bus, memory, "small", {}), std::logic_error);
  CHECK_THROWS_AS(I440fx(bus, memory, "missing", {}), std::logic_error);
}

TEST_CASE("i440fx: PAM disabled reads the ROM and drops writes", "[i440fx]") {
  Rig rig;
  CHECK(rig.peek(0xc0000) == 0xa0);
  CHECK(rig.peek(0xc4000) == 0xa1);
  CHECK(rig.peek(0xfffff) == 0xaf);
  rig.poke(0xf0000, 0x55);
  CHECK(rig.peek(0xf0000) == 0xac);
  CHECK(rig.ram[0xf0000] == 0x11);
}

TEST_CASE("i440fx: PAM read/write, read-only and back to ROM", "[i440fx]") {
  Rig rig;
  config_write(rig.io, 0, 0, 0x59, 1, 0x30);
  CHECK(rig.peek(0xf0000) == 0x11);
  rig.poke(0xf1234, 0x55);
  CHECK(rig.peek(0xf1234) == 0x55);
  CHECK(rig.ram[0xf1234] == 0x55);
  CHECK(rig.peek(0xe0000) == 0xa8);

  config_write(rig.io, 0, 0, 0x59, 1, 0x10);
  rig.poke(0xf1234, 0x66);
  CHECK(rig.peek(0xf1234) == 0x55);

  config_write(rig.io, 0, 0, 0x59, 1, 0x00);
  CHECK(rig.peek(0xf1234) == 0xac);
  CHECK(config_read(rig.io, 0, 0, 0x59, 1) == 0);
}

TEST_CASE("i440fx: each 16 KiB segment follows its own nibble", "[i440fx]") {
  Rig rig;
  config_write(rig.io, 0, 0, 0x5a, 1, 0x03);
  CHECK(rig.peek(0xc0000) == 0x11);
  CHECK(rig.peek(0xc3fff) == 0x11);
  CHECK(rig.peek(0xc4000) == 0xa1);
  config_write(rig.io, 0, 0, 0x5c, 4, 0x30003333);
  CHECK(rig.peek(0xd0000) == 0x11);
  CHECK(rig.peek(0xd4000) == 0x11);
  CHECK(rig.peek(0xdc000) == 0x11);
  CHECK(rig.peek(0xe0000) == 0xa8);
  CHECK(rig.peek(0xe4000) == 0xa9);
  CHECK(rig.peek(0xe8000) == 0xaa);
  CHECK(rig.peek(0xec000) == 0x11);
  CHECK(config_read(rig.io, 0, 0, 0x5c, 4) == 0x30003333);
  config_write(rig.io, 0, 0, 0x5c, 1, 0xff);
  CHECK(config_read(rig.io, 0, 0, 0x5c, 1) == 0x33);
}

TEST_CASE("i440fx: write-only then read-only shadows the ROM", "[i440fx]") {
  Rig rig;
  config_write(rig.io, 0, 0, 0x5a, 1, 0x02);
  CHECK(rig.peek(0xc0010) == 0xa0);
  rig.poke(0xc0010, 0x77);
  config_write(rig.io, 0, 0, 0x5a, 1, 0x01);
  CHECK(rig.peek(0xc0010) == 0x77);
  CHECK(rig.peek(0xc0011) == 0xa0);
  CHECK(rig.ram[0xc0011] == 0xa0);
}

TEST_CASE("i440fx: reset and load re-apply the PAM registers", "[i440fx]") {
  StateWriter out;
  {
    Rig rig;
    config_write(rig.io, 0, 0, 0x59, 1, 0x30);
    rig.bus.save(out);
    rig.bus.reset();
    CHECK(rig.peek(0xf0000) == 0xac);
  }
  Rig rig;
  StateReader in(out.data());
  rig.bus.load(in);
  CHECK(config_read(rig.io, 0, 0, 0x59, 1) == 0x30);
  CHECK(rig.peek(0xf0000) == 0x11);
}
