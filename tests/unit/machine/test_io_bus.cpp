#include <catch2/catch.hpp>

#include <mutex>

#include "machine/io_bus.h"
#include "machine/state.h"

using namespace sable;

namespace {

class Latch : public Device {
public:
  explicit Latch(std::string name) : name_(std::move(name)) {}
  std::string_view name() const override { return name_; }
  uint64_t read(uint64_t offset, unsigned size) override {
    last_offset = offset;
    last_size = size;
    return value;
  }
  void write(uint64_t offset, unsigned size, uint64_t v) override {
    last_offset = offset;
    last_size = size;
    value = v;
  }
  void reset() override { value = 0; }
  void save(StateWriter &) const override {}
  void load(StateReader &) override {}

  uint64_t value = 0;
  uint64_t last_offset = ~0ull;
  unsigned last_size = 0;

private:
  std::string name_;
};

} // namespace

TEST_CASE("port bus dispatches with offsets relative to the device base") {
  std::recursive_mutex lock;
  IoPortBus bus(lock);
  Latch uart("uart"), pic("pic");
  bus.map(0x3f8, 8, &uart);
  bus.map(0x20, 2, &pic);
  bus.write(0x3fb, 1, 0x83);
  CHECK(uart.value == 0x83);
  CHECK(uart.last_offset == 3);
  CHECK(bus.read(0x21, 1) == 0);
  CHECK(pic.last_offset == 1);
}

TEST_CASE("port bus masks values to the access size") {
  std::recursive_mutex lock;
  IoPortBus bus(lock);
  Latch device("latch");
  bus.map(0x100, 4, &device);
  bus.write(0x100, 1, 0x1234);
  CHECK(device.value == 0x34);
  device.value = 0xffffffff;
  CHECK(bus.read(0x100, 2) == 0xffff);
}

TEST_CASE("unclaimed ports read as all-ones for every size") {
  std::recursive_mutex lock;
  IoPortBus bus(lock);
  CHECK(bus.read(0x80, 1) == 0xff);
  CHECK(bus.read(0x80, 2) == 0xffff);
  CHECK(bus.read(0x80, 4) == 0xffffffff);
  bus.write(0x80, 1, 0x12); // dropped, no crash
}

TEST_CASE("overlapping registrations are rejected") {
  std::recursive_mutex lock;
  IoPortBus bus(lock);
  Latch a("a"), b("b"), c("c");
  bus.map(0x60, 1, &a);
  bus.map(0x64, 1, &b);
  CHECK_THROWS_AS(bus.map(0x5f, 2, &c), BusError);
  CHECK_THROWS_AS(bus.map(0x64, 1, &c), BusError);
  CHECK_THROWS_AS(bus.map(0xfffe, 4, &c), BusError);
  bus.map(0x61, 3, &c); // the gap between them fits exactly
  bus.unmap(&c);
  CHECK(bus.read(0x62, 1) == 0xff);
}

TEST_CASE("MMIO bus dispatches 64-bit addresses and unclaimed reads are ones") {
  std::recursive_mutex lock;
  MmioBus bus(lock);
  Latch apic("apic");
  bus.map(0xfee00000, 0x1000, &apic);
  bus.write(0xfee000b0, 4, 0);
  CHECK(apic.last_offset == 0xb0);
  CHECK(bus.claimed(0xfee00fff));
  CHECK_FALSE(bus.claimed(0xfee01000));
  CHECK(bus.read(0xfed00000, 8) == ~0ull);
}
