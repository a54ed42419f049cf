#include <catch2/catch.hpp>

#include <cstring>
#include <mutex>
#include <stdexcept>
#include <string>

#include "devices/fw_cfg.h"
#include "machine/io_bus.h"
#include "machine/memory.h"
#include "machine/state.h"

using namespace sable;

namespace {

struct Fixture {
  std::recursive_mutex lock;
  MmioBus mmio{lock};
  GuestMemory memory{mmio};
  FwCfg fw_cfg{memory};

  Fixture() { memory.add_ram("ram", 0, 1 << 20); }

  void select(uint16_t key) { fw_cfg.write(FwCfg::kSelectorOffset, 2, key); }

  std::vector<uint8_t> read_data(size_t count) {
    std::vector<uint8_t> out;
    for (size_t i = 0; i < count; ++i)
      out.push_back(uint8_t(fw_cfg.read(FwCfg::kDataOffset, 1)));
    return out;
  }

  // What a guest does: store the big-endian FWCfgDmaAccess, then write its
  // address as two big-endian 32-bit halves, high first.
  uint32_t dma(uint64_t access, uint32_t control, uint32_t length,
               uint64_t address) {
    uint8_t raw[16];
    for (int i = 0; i < 4; ++i) {
      raw[i] = uint8_t(control >> (24 - 8 * i));
      raw[4 + i] = uint8_t(length >> (24 - 8 * i));
    }
    for (int i = 0; i < 8; ++i)
      raw[8 + i] = uint8_t(address >> (56 - 8 * i));
    memory.write(access, raw, sizeof raw);
    fw_cfg.write(FwCfg::kDmaOffset, 4,
                 __builtin_bswap32(uint32_t(access >> 32)));
    fw_cfg.write(FwCfg::kDmaOffset + 4, 4, __builtin_bswap32(uint32_t(access)));
    uint8_t status[4];
    memory.read(access, status, 4);
    return uint32_t{status[0]} << 24 | uint32_t{status[1]} << 16 |
           uint32_t{status[2]} << 8 | status[3];
  }
};

uint32_t be32(const uint8_t *p) {
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 |
         p[3];
}

} // namespace

TEST_CASE("fw_cfg signature and ID read through the data port", "[fw_cfg]") {
  Fixture f;
  f.select(FwCfg::SIGNATURE);
  auto signature = f.read_data(4);
  CHECK(std::string(signature.begin(), signature.end()) == "QEMU");
  // Past the end of an item the data register reads zero.
  CHECK(f.read_data(2) == std::vector<uint8_t>{0, 0});

  f.select(FwCfg::ID);
  CHECK(f.read_data(4) == std::vector<uint8_t>{3, 0, 0, 0});

  f.select(0x1234);
  CHECK(f.read_data(1) == std::vector<uint8_t>{0});
}

TEST_CASE("fw_cfg selecting an item restarts it at offset zero", "[fw_cfg]") {
  Fixture f;
  f.fw_cfg.add_u64(FwCfg::RAM_SIZE, 0x0000000123456789ull);
  f.select(FwCfg::RAM_SIZE);
  CHECK(f.read_data(2) == std::vector<uint8_t>{0x89, 0x67});
  f.select(FwCfg::RAM_SIZE);
  CHECK(f.fw_cfg.read(FwCfg::kDataOffset, 4) == 0x23456789u);
  // A write to the data register changes nothing.
  f.fw_cfg.write(FwCfg::kDataOffset, 1, 0xff);
  CHECK(f.read_data(4) == std::vector<uint8_t>{0x01, 0, 0, 0});
}

TEST_CASE("fw_cfg file directory is big-endian and sorted by name",
          "[fw_cfg]") {
  Fixture f;
  uint16_t e820 = f.fw_cfg.add_file("etc/e820", std::vector<uint8_t>(40, 7));
  uint16_t boot = f.fw_cfg.add_file("bootorder", {'/', 'x', 0});
  CHECK(e820 == FwCfg::FILE_FIRST);
  CHECK(boot == FwCfg::FILE_FIRST + 1);
  // Replacing a file keeps its selector and updates its size.
  CHECK(f.fw_cfg.add_file("etc/e820", std::vector<uint8_t>(60, 7)) == e820);
  CHECK(f.fw_cfg.has_file("bootorder"));
  CHECK_FALSE(f.fw_cfg.has_file("etc/acpi/rsdp"));

  f.select(FwCfg::FILE_DIR);
  auto dir = f.read_data(4 + 2 * 64);
  CHECK(be32(dir.data()) == 2);
  const uint8_t *first = dir.data() + 4;
  CHECK(be32(first) == 3);
  CHECK((first[4] << 8 | first[5]) == boot);
  CHECK(std::string(reinterpret_cast<const char *>(first + 8)) == "bootorder");
  const uint8_t *second = first + 64;
  CHECK(be32(second) == 60);
  CHECK((second[4] << 8 | second[5]) == e820);
  CHECK(std::string(reinterpret_cast<const char *>(second + 8)) == "etc/e820");

  f.select(boot);
  CHECK(f.read_data(3) == std::vector<uint8_t>{'/', 'x', 0});
}

TEST_CASE("fw_cfg rejects file names that do not fit the directory",
          "[fw_cfg]") {
  Fixture f;
  CHECK_THROWS_AS(f.fw_cfg.add_file(std::string(56, 'a'), {}),
                  std::invalid_argument);
  CHECK_THROWS_AS(f.fw_cfg.add_file("", {}), std::invalid_argument);
  CHECK(f.fw_cfg.add_file(std::string(55, 'a'), {}) == FwCfg::FILE_FIRST);
}

TEST_CASE("fw_cfg DMA address register reads the QEMU CFG signature",
          "[fw_cfg]") {
  Fixture f;
  uint32_t high = uint32_t(f.fw_cfg.read(FwCfg::kDmaOffset, 4));
  uint32_t low = uint32_t(f.fw_cfg.read(FwCfg::kDmaOffset + 4, 4));
  uint64_t signature =
      uint64_t{__builtin_bswap32(high)} << 32 | __builtin_bswap32(low);
  CHECK(signature == 0x51454d5520434647ull);
}

TEST_CASE("fw_cfg DMA select and read copies the item and zero-fills",
          "[fw_cfg]") {
  Fixture f;
  uint16_t key = f.fw_cfg.add_file("etc/boot-fail-wait", {1, 2, 3, 4, 5});
  std::vector<uint8_t> garbage(16, 0xaa);
  f.memory.write(0x2000, garbage.data(), garbage.size());

  uint32_t control = uint32_t{key} << 16 | FwCfg::DMA_SELECT | FwCfg::DMA_READ;
  CHECK(f.dma(0x1000, control, 8, 0x2000) == 0);

  uint8_t got[10];
  f.memory.read(0x2000, got, sizeof got);
  CHECK(std::vector<uint8_t>(got, got + 10) ==
        std::vector<uint8_t>{1, 2, 3, 4, 5, 0, 0, 0, 0xaa, 0xaa});
}

TEST_CASE("fw_cfg DMA skip advances and read continues", "[fw_cfg]") {
  Fixture f;
  f.fw_cfg.add_bytes(FwCfg::UUID,
                     {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15});
  uint32_t select = uint32_t{FwCfg::UUID} << 16 | FwCfg::DMA_SELECT;
  CHECK(f.dma(0x1000, select | FwCfg::DMA_SKIP, 10, 0) == 0);
  CHECK(f.dma(0x1000, FwCfg::DMA_READ, 2, 0x3000) == 0);
  uint8_t got[2];
  f.memory.read(0x3000, got, 2);
  CHECK(got[0] == 10);
  CHECK(got[1] == 11);
  // The data port continues where DMA stopped.
  CHECK(f.read_data(1) == std::vector<uint8_t>{12});
}

TEST_CASE("fw_cfg DMA through one 64-bit write and refused writes",
          "[fw_cfg]") {
  Fixture f;
  uint8_t raw[16] = {0,    FwCfg::SIGNATURE,
                     0,    FwCfg::DMA_SELECT | FwCfg::DMA_READ,
                     0,    0,
                     0,    4,
                     0,    0,
                     0,    0,
                     0,    0,
                     0x40, 0x00};
  f.memory.write(0x1800, raw, sizeof raw);
  f.fw_cfg.write(FwCfg::kDmaOffset, 8, __builtin_bswap64(0x1800));
  uint8_t got[4];
  f.memory.read(0x4000, got, 4);
  CHECK(std::string(got, got + 4) == "QEMU");
  uint8_t status[4];
  f.memory.read(0x1800, status, 4);
  CHECK(be32(status) == 0);

  uint32_t write =
      uint32_t{FwCfg::NB_CPUS} << 16 | FwCfg::DMA_SELECT | FwCfg::DMA_WRITE;
  CHECK(f.dma(0x1000, write, 2, 0x4000) == FwCfg::DMA_ERROR);
  f.select(FwCfg::NB_CPUS);
  CHECK(f.read_data(2) == std::vector<uint8_t>{1, 0});
}

TEST_CASE("fw_cfg DMA with a huge length into unmapped space returns",
          "[fw_cfg]") {
  Fixture f;
  uint32_t control =
      uint32_t{FwCfg::ID} << 16 | FwCfg::DMA_SELECT | FwCfg::DMA_READ;
  CHECK(f.dma(0x1000, control, 0xffffffff, 0x100000000ull) == 0);
}

TEST_CASE("fw_cfg save and load keep the selector and offset", "[fw_cfg]") {
  Fixture f;
  f.select(FwCfg::SIGNATURE);
  f.read_data(2);
  f.fw_cfg.write(FwCfg::kDmaOffset, 4, __builtin_bswap32(0x12));
  StateWriter out;
  f.fw_cfg.save(out);

  Fixture g;
  StateReader in(out.data());
  g.fw_cfg.load(in);
  CHECK(in.at_end());
  CHECK(g.read_data(2) == std::vector<uint8_t>{'M', 'U'});

  g.fw_cfg.reset();
  CHECK(g.read_data(1) == std::vector<uint8_t>{'Q'});
}
