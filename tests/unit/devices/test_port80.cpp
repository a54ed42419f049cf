#include <catch2/catch.hpp>

#include "devices/port80.h"
#include "machine/state.h"

using namespace sable;

TEST_CASE("port 0x80 keeps the last POST code", "[port80]") {
  Port80 port;
  CHECK(port.read(0, 1) == 0x00);
  port.write(0, 1, 0x3C);
  CHECK(port.read(0, 1) == 0x3C);
  CHECK(port.last_code() == 0x3C);
  StateWriter out;
  port.save(out);
  Port80 copy;
  StateReader in(out.data());
  copy.load(in);
  CHECK(copy.read(0, 1) == 0x3C);
  copy.reset();
  CHECK(copy.read(0, 1) == 0x00);
}
