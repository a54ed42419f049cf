#include <catch2/catch.hpp>

#include "machine/e820.h"

using namespace sable;

namespace {
constexpr uint64_t MiB = uint64_t{1} << 20;
constexpr uint64_t GiB = uint64_t{1} << 30;

const std::vector<E820Entry> kLowMemory = {
    {0, 0x9fc00, E820_RAM},
    {0x9fc00, 0x400, E820_RESERVED},
    {0xf0000, 0x10000, E820_RESERVED},
};

std::vector<E820Entry> low_memory_plus(std::vector<E820Entry> rest) {
  std::vector<E820Entry> map = kLowMemory;
  map.insert(map.end(), rest.begin(), rest.end());
  return map;
}
} // namespace

TEST_CASE("e820 map for 128 MiB", "[e820]") {
  CHECK(build_e820(128 * MiB) ==
        low_memory_plus({{0x100000, 127 * MiB, E820_RAM}}));
  CHECK(split_ram(128 * MiB).below_4g == 128 * MiB);
  CHECK(split_ram(128 * MiB).above_4g == 0);
}

TEST_CASE("e820 map for 3.5 GiB splits at the PCI hole", "[e820]") {
  uint64_t ram = 3 * GiB + 512 * MiB;
  CHECK(build_e820(ram) ==
        low_memory_plus({{0x100000, 0xc0000000 - 0x100000, E820_RAM},
                         {0x100000000, 512 * MiB, E820_RAM}}));
  CHECK(split_ram(ram).below_4g == 0xc0000000);
  CHECK(split_ram(ram).above_4g == 512 * MiB);
}

TEST_CASE("e820 map for 6 GiB", "[e820]") {
  CHECK(build_e820(6 * GiB) ==
        low_memory_plus({{0x100000, 0xc0000000 - 0x100000, E820_RAM},
                         {0x100000000, 3 * GiB, E820_RAM}}));
}

TEST_CASE("e820 map for less than 640 KiB of RAM", "[e820]") {
  auto map = build_e820(512 * 1024);
  REQUIRE(map.size() == 3);
  CHECK(map[0] == E820Entry{0, 512 * 1024, E820_RAM});
}

TEST_CASE("e820 map for firmware holds RAM ranges only", "[e820]") {
  CHECK(build_firmware_e820(128 * MiB) ==
        std::vector<E820Entry>{{0, 128 * MiB, E820_RAM}});
  CHECK(build_firmware_e820(6 * GiB) ==
        std::vector<E820Entry>{{0, 0xc0000000, E820_RAM},
                               {0x100000000, 3 * GiB, E820_RAM}});
}

TEST_CASE("e820 fw_cfg file is packed little-endian", "[e820]") {
  auto bytes = e820_fw_cfg_file(
      {{0x100000, 0x7f00000, E820_RAM}, {0x9fc00, 0x400, E820_RESERVED}});
  REQUIRE(bytes.size() == 2 * kE820FileEntrySize);
  std::vector<uint8_t> first(bytes.begin(), bytes.begin() + 20);
  CHECK(first == std::vector<uint8_t>{0,    0,    0x10, 0, 0, 0, 0, 0, 0, 0,
                                      0xf0, 0x07, 0,    0, 0, 0, 1, 0, 0, 0});
  CHECK(bytes[20] == 0x00);
  CHECK(bytes[21] == 0xfc);
  CHECK(bytes[22] == 0x09);
  CHECK(bytes[36] == E820_RESERVED);
}
