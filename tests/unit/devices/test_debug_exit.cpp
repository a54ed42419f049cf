#include <catch2/catch.hpp>

#include "devices/debug_exit.h"
#include "machine/state.h"

using namespace sable;

TEST_CASE("debug-exit turns a guest write into status (v << 1) | 1",
          "[debug_exit]") {
  int status = -1;
  DebugExit device([&](int s) { status = s; }, 4);
  CHECK(device.iosize() == 4);

  device.write(0, 1, 0);
  CHECK(status == 1);
  device.write(0, 1, 0x10);
  CHECK(status == 0x21);
  device.write(0, 4, 0x12345);
  CHECK(status == 0x2468b);
}

TEST_CASE("debug-exit truncates the value to the access size and reads 0",
          "[debug_exit]") {
  int status = -1;
  DebugExit device([&](int s) { status = s; }, 2);
  device.write(0, 1, 0x1ff);
  CHECK(status == 0x1ff);
  device.write(0, 2, 0x101ff);
  CHECK(status == 0x3ff);
  CHECK(device.read(0, 1) == 0);
  CHECK(device.read(1, 2) == 0);
}

TEST_CASE("debug-exit state round-trips", "[debug_exit]") {
  DebugExit device(nullptr, 1);
  StateWriter out;
  device.save(out);
  StateReader in(out.data());
  device.load(in);
  CHECK(in.at_end());
  device.write(0, 1, 3); // no callback: must not crash
}
