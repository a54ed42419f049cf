#include <catch2/catch.hpp>

#include <cstring>
#include <mutex>

#include "machine/io_bus.h"
#include "machine/memory.h"
#include "machine/state.h"

using namespace sable;

namespace {

// Records MMIO accesses; reads return the offset plus a marker.
class RecordingDevice : public Device {
public:
  std::string_view name() const override { return "recorder"; }
  uint64_t read(uint64_t offset, unsigned size) override {
    last_read = {offset, size};
    return 0xab00 + offset;
  }
  void write(uint64_t offset, unsigned size, uint64_t value) override {
    writes.push_back({offset, size, value});
  }
  void reset() override {}
  void save(StateWriter &) const override {}
  void load(StateReader &) override {}

  std::pair<uint64_t, unsigned> last_read{};
  struct Write {
    uint64_t offset;
    unsigned size;
    uint64_t value;
  };
  std::vector<Write> writes;
};

struct Fixture {
  std::recursive_mutex lock;
  MmioBus mmio{lock};
  GuestMemory memory{mmio};
};

} // namespace

TEST_CASE("RAM reads back what was written, through host pointers too") {
  Fixture f;
  uint8_t *host = f.memory.add_ram("ram", 0, 1 << 20);
  uint32_t value = 0x12345678;
  f.memory.write(0x1000, &value, 4);
  CHECK(std::memcmp(host + 0x1000, &value, 4) == 0);
  CHECK(f.memory.host_pointer(0x1000, true) == host + 0x1000);
  uint32_t back = 0;
  f.memory.read(0x1000, &back, 4);
  CHECK(back == value);
  CHECK(f.memory.ram_size() == 1 << 20);
}

TEST_CASE("unmapped space reads as all-ones and drops writes") {
  Fixture f;
  f.memory.add_ram("ram", 0, 0x10000);
  uint32_t value = 0;
  f.memory.read(0x20000, &value, 4);
  CHECK(value == 0xffffffff);
  f.memory.write(0x20000, &value, 4);
  CHECK(f.memory.find(0x20000) == nullptr);
}

TEST_CASE("ROM is readable, has no writable host pointer, ignores writes") {
  Fixture f;
  f.memory.add_ram("ram", 0, 0x100000);
  std::vector<uint8_t> rom(0x10000, 0x90);
  rom[0xfff0] = 0xea;
  f.memory.add_rom("bios", 0xf0000, rom);
  uint8_t byte = 0;
  f.memory.read(0xffff0, &byte, 1);
  CHECK(byte == 0xea);
  CHECK(f.memory.host_pointer(0xf0000, false) != nullptr);
  CHECK(f.memory.host_pointer(0xf0000, true) == nullptr);
  uint8_t zero = 0;
  f.memory.write(0xffff0, &zero, 1);
  f.memory.read(0xffff0, &byte, 1);
  CHECK(byte == 0xea);
  // RAM on either side of the overlay is untouched by it.
  CHECK(f.memory.find(0xeffff)->kind == GuestMemory::Kind::Ram);
}

TEST_CASE("MMIO holes over RAM dispatch to the MMIO bus at device offsets") {
  Fixture f;
  f.memory.add_ram("ram", 0, 0x200000);
  f.memory.add_mmio("vga", 0xa0000, 0x20000);
  RecordingDevice device;
  f.mmio.map(0xa0000, 0x20000, &device);
  uint16_t value = 0;
  f.memory.read(0xa0010, &value, 2);
  CHECK(device.last_read == std::make_pair(uint64_t{0x10}, 2u));
  CHECK(value == 0xab10);
  uint32_t out = 0xdeadbeef;
  f.memory.write(0xa0020, &out, 4);
  REQUIRE(device.writes.size() == 1);
  CHECK(device.writes[0].offset == 0x20);
  CHECK(device.writes[0].size == 4);
  CHECK(device.writes[0].value == 0xdeadbeef);
  CHECK(f.memory.host_pointer(0xa0000, false) == nullptr);
  // Three segments: RAM, the hole, RAM again.
  CHECK(f.memory.segments().size() == 3);
}

TEST_CASE("an access spanning RAM and a hole is split at the boundary") {
  Fixture f;
  f.memory.add_ram("ram", 0, 0x200000);
  f.memory.add_mmio("hole", 0x10000, 0x1000);
  RecordingDevice device;
  f.mmio.map(0x10000, 0x1000, &device);
  uint32_t value = 0x44332211;
  f.memory.write(0xfffe, &value, 4);
  uint8_t *host = f.memory.host_pointer(0xfffe, false);
  CHECK(host[0] == 0x11);
  CHECK(host[1] == 0x22);
  REQUIRE(device.writes.size() == 1);
  CHECK(device.writes[0].offset == 0);
  CHECK(device.writes[0].size == 2);
  CHECK(device.writes[0].value == 0x4433);
}

TEST_CASE("aliases map the same host memory twice and removal restores") {
  Fixture f;
  f.memory.add_ram("ram", 0, 0x200000);
  std::vector<uint8_t> rom(0x20000, 0x11);
  f.memory.add_rom("bios", 0xfffe0000, rom);
  f.memory.add_alias("bios-low", 0xe0000, 0x20000, "bios", 0,
                     GuestMemory::Kind::Rom);
  uint8_t byte = 0;
  f.memory.read(0xe0005, &byte, 1);
  CHECK(byte == 0x11);
  CHECK(f.memory.host_pointer(0xe0005, false) ==
        f.memory.host_pointer(0xfffe0005, false));
  uint64_t generation = f.memory.generation();
  f.memory.remove_region("bios-low");
  CHECK(f.memory.generation() > generation);
  CHECK(f.memory.find(0xe0005)->kind == GuestMemory::Kind::Ram);
}

TEST_CASE("stores set dirty bits and report writes to code pages") {
  Fixture f;
  f.memory.add_ram("ram", 0, 0x100000);
  std::vector<uint64_t> code_writes;
  f.memory.add_code_write_handler(
      [&](uint64_t gpa) { code_writes.push_back(gpa); });
  CHECK_FALSE(f.memory.test_and_clear_dirty(0x3000));
  uint8_t byte = 1;
  f.memory.write(0x3004, &byte, 1);
  CHECK(f.memory.test_and_clear_dirty(0x3000));
  CHECK_FALSE(f.memory.test_and_clear_dirty(0x3000));
  CHECK(code_writes.empty());
  f.memory.mark_code_page(0x5000);
  f.memory.write(0x5ffe, &byte, 1);
  REQUIRE(code_writes.size() == 1);
  CHECK(code_writes[0] == 0x5000);
  // The store took the code away: the next one costs no invalidation.
  CHECK_FALSE(f.memory.page_flags(0x5000) & GuestMemory::PAGE_HAS_CODE);
  f.memory.write(0x5ffe, &byte, 1);
  CHECK(code_writes.size() == 1);
}

TEST_CASE("every code-write handler sees a store to a code page") {
  Fixture f;
  f.memory.add_ram("ram", 0, 0x100000);
  unsigned first = 0, second = 0;
  f.memory.add_code_write_handler([&](uint64_t) { ++first; });
  GuestMemory::HandlerId id =
      f.memory.add_code_write_handler([&](uint64_t) { ++second; });
  uint8_t byte = 1;
  f.memory.mark_code_page(0x7000);
  f.memory.write(0x7000, &byte, 1);
  CHECK(first == 1);
  CHECK(second == 1);
  f.memory.remove_code_write_handler(id);
  f.memory.mark_code_page(0x7000);
  f.memory.write(0x7000, &byte, 1);
  CHECK(first == 2);
  CHECK(second == 1);
}

TEST_CASE("the store-tracking epoch moves when a page gets code or loses its "
          "dirty bit") {
  Fixture f;
  f.memory.add_ram("ram", 0, 0x100000);
  uint64_t epoch = f.memory.store_tracking_epoch();
  f.memory.mark_code_page(0x3000);
  CHECK(f.memory.store_tracking_epoch() == epoch + 1);
  // Already code: nothing to revoke.
  f.memory.mark_code_page(0x3000);
  CHECK(f.memory.store_tracking_epoch() == epoch + 1);
  uint8_t byte = 1;
  f.memory.write(0x4000, &byte, 1);
  CHECK(f.memory.test_and_clear_dirty(0x4000));
  CHECK(f.memory.store_tracking_epoch() == epoch + 2);
  CHECK_FALSE(f.memory.test_and_clear_dirty(0x4000));
  CHECK(f.memory.store_tracking_epoch() == epoch + 2);
}

TEST_CASE("layout listeners run on every change") {
  Fixture f;
  int calls = 0;
  f.memory.add_layout_listener([&] { ++calls; });
  f.memory.add_ram("ram", 0, 0x100000);
  f.memory.add_mmio("hole", 0xa0000, 0x20000);
  CHECK(calls == 2);
}
