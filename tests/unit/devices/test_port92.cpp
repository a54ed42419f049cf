#include <catch2/catch.hpp>

#include "devices/port92.h"
#include "machine/state.h"

using namespace sable;

TEST_CASE("port 0x92 fast A20 and reset", "[port92]") {
  std::vector<bool> a20;
  int resets = 0;
  Port92 port([&](bool on) { a20.push_back(on); }, [&] { ++resets; });
  CHECK(port.read(0, 1) == 0x00);
  port.write(0, 1, 0x02);
  CHECK(a20 == std::vector<bool>{true});
  CHECK(port.read(0, 1) == 0x02);
  port.write(0, 1, 0x02); // no change, no callback
  CHECK(a20.size() == 1);
  CHECK(resets == 0);
  port.write(0, 1, 0x03);
  CHECK(resets == 1);
  port.write(0, 1, 0x03); // a reset needs a 0 to 1 transition
  CHECK(resets == 1);
  port.write(0, 1, 0xC0);
  CHECK(a20 == std::vector<bool>{true, false});
  CHECK(port.read(0, 1) == 0xC0);
  port.reset();
  CHECK(port.read(0, 1) == 0x00);
}

TEST_CASE("port 0x92 state round-trips", "[port92]") {
  Port92 a(nullptr, nullptr);
  a.write(0, 1, 0x42);
  StateWriter out;
  a.save(out);
  int resets = 0;
  Port92 b(nullptr, [&] { ++resets; });
  StateReader in(out.data());
  b.load(in);
  CHECK(in.at_end());
  CHECK(b.read(0, 1) == 0x42);
  CHECK(resets == 0);
}
