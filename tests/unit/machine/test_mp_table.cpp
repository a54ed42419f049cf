#include <catch2/catch.hpp>

#include <cstring>
#include <numeric>

#include "machine/mp_table.h"

using namespace sable;

namespace {

unsigned sum(const std::vector<uint8_t> &bytes) {
  return std::accumulate(bytes.begin(), bytes.end(), 0u) & 0xff;
}

uint32_t read32(const std::vector<uint8_t> &bytes, size_t at) {
  uint32_t v;
  std::memcpy(&v, &bytes[at], 4);
  return v;
}

// Counts configuration-table entries by type, walking them as a guest does.
std::vector<unsigned> entry_types(const std::vector<uint8_t> &table) {
  std::vector<unsigned> types(5);
  size_t at = 44;
  unsigned entries = table[34] | table[35] << 8;
  for (unsigned i = 0; i < entries; ++i) {
    uint8_t type = table.at(at);
    REQUIRE(type < 5);
    ++types[type];
    at += type == 0 ? 20 : 8;
  }
  CHECK(at == table.size());
  return types;
}

} // namespace

TEST_CASE("MP floating pointer and table have valid checksums and layout") {
  MpTables tables = build_mp_tables({2, 0x6fb}, 0xf0200);
  const auto &pointer = tables.floating_pointer;
  REQUIRE(pointer.size() == 16);
  CHECK(std::memcmp(pointer.data(), "_MP_", 4) == 0);
  CHECK(read32(pointer, 4) == 0xf0200);
  CHECK(pointer[8] == 1);
  CHECK(pointer[9] == 4);
  CHECK(sum(pointer) == 0);

  const auto &table = tables.configuration;
  CHECK(std::memcmp(table.data(), "PCMP", 4) == 0);
  CHECK(size_t(table[4] | table[5] << 8) == table.size());
  CHECK(sum(table) == 0);
  CHECK(read32(table, 36) == 0xfee00000);
}

TEST_CASE("MP table lists every CPU, the IOAPIC and the interrupt routing") {
  for (unsigned cpus : {1u, 4u}) {
    MpTables tables = build_mp_tables({cpus, 0x6fb}, 0xf0200);
    std::vector<unsigned> types = entry_types(tables.configuration);
    CHECK(types[0] == cpus); // processors
    CHECK(types[1] == 2);    // PCI and ISA buses
    CHECK(types[2] == 1);    // one IOAPIC
    // ExtINT, 15 ISA IRQs, 31 slots x 4 pins
    CHECK(types[3] == 1 + 15 + 31 * 4);
    CHECK(types[4] == 2); // LINT0 ExtINT, LINT1 NMI
    // Only the first processor is the bootstrap one.
    CHECK(tables.configuration[44 + 3] == 0x3);
    if (cpus > 1)
      CHECK(tables.configuration[44 + 20 + 3] == 0x1);
  }
}
