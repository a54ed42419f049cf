#include <catch2/catch.hpp>

#include <mutex>

#include "machine/boot_image.h"
#include "machine/io_bus.h"
#include "machine/memory.h"

using namespace sable;

TEST_CASE("boot descriptors split base, limit and attributes", "[boot_image]") {
  // Byte-granular data segment at 0x12345678 with limit 0x5ffff.
  cpu::Segment data{0x10, 0x12345678, 0x5ffff, 0x0093};
  CHECK(encode_descriptor(data) == 0x120593345678ffffull);
  // Page-granular: the descriptor holds the limit in 4 KiB units.
  cpu::Segment flat{0x18, 0, 0xffffffff, kFlatDataAttributes};
  CHECK(encode_descriptor(flat) == 0x00cf93000000ffffull);
}

TEST_CASE("boot RAM checks stop at ROM and unmapped space", "[boot_image]") {
  std::recursive_mutex lock;
  MmioBus mmio(lock);
  GuestMemory memory(mmio);
  memory.add_ram("low", 0, 0x100000);
  memory.add_ram("high", 0x100000, 0x100000);
  memory.add_rom("bios", 0xf0000, std::vector<uint8_t>(0x10000, 0));

  CHECK(ram_end_from(memory, 0) == 0xf0000);
  CHECK(ram_end_from(memory, 0x100000) == 0x200000);
  CHECK(ram_end_from(memory, 0xf8000) == 0xf8000);
  CHECK(is_ram(memory, 0x1000, 0xef000));
  CHECK_FALSE(is_ram(memory, 0x1000, 0xef001));
  CHECK(is_ram(memory, 0x100000, 0x100000));
  CHECK_FALSE(is_ram(memory, 0x100000, 0x100001));
  CHECK_FALSE(is_ram(memory, 0x300000, 0));
}

TEST_CASE("boot files that cannot be read give one clear line",
          "[boot_image]") {
  CHECK_THROWS_WITH(read_boot_file("linux", "/nonexistent/bzImage"),
                    "linux: /nonexistent/bzImage: No such file or directory");
}
