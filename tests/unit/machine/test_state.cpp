#include <catch2/catch.hpp>

#include "machine/state.h"

using namespace sable;

TEST_CASE("state stream round-trips values and nested sections") {
  StateWriter out;
  out.begin_section("pic", 2);
  out.u8(0x12);
  out.u16(0x3456);
  out.begin_section("inner", 1);
  out.u64(0x1122334455667788ull);
  out.end_section();
  out.string("hello");
  out.end_section();

  StateReader in(out.data());
  REQUIRE(in.begin_section("pic", 2) == 2);
  CHECK(in.u8() == 0x12);
  CHECK(in.u16() == 0x3456);
  REQUIRE(in.begin_section("inner", 1) == 1);
  CHECK(in.u64() == 0x1122334455667788ull);
  in.end_section();
  CHECK(in.string() == "hello");
  in.end_section();
  CHECK(in.at_end());
}

TEST_CASE("state reader rejects wrong names, newer versions and truncation") {
  StateWriter out;
  out.begin_section("uart", 3);
  out.u32(7);
  out.end_section();

  StateReader wrong_name(out.data());
  CHECK_THROWS_AS(wrong_name.begin_section("pit", 3), StateError);

  StateReader too_new(out.data());
  CHECK_THROWS_AS(too_new.begin_section("uart", 2), StateError);

  std::vector<uint8_t> cut(out.data().begin(), out.data().end() - 2);
  StateReader truncated(cut);
  CHECK_THROWS_AS(truncated.begin_section("uart", 3), StateError);
}

TEST_CASE("state reader skips fields a newer writer appended") {
  StateWriter out;
  out.begin_section("dev", 1);
  out.u32(1);
  out.u32(2);
  out.end_section();
  out.begin_section("next", 1);
  out.end_section();

  StateReader in(out.data());
  in.begin_section("dev", 1);
  CHECK(in.u32() == 1);
  in.end_section();
  CHECK(in.begin_section("next", 1) == 1);
}

TEST_CASE("raw byte blocks round-trip with the size the reader knows") {
  StateWriter out;
  out.begin_section("ram", 1);
  const char block[5] = {1, 2, 3, 4, 5};
  out.bytes(block, sizeof block);
  out.u8(9);
  out.end_section();
  StateReader in(out.data());
  in.begin_section("ram", 1);
  char back[5] = {};
  in.bytes(back, sizeof back);
  CHECK(std::equal(back, back + 5, block));
  CHECK(in.u8() == 9);
}
