#include <catch2/catch.hpp>

#include <vector>

#include "ui/surface.h"

using namespace sable;

TEST_CASE("surface resize clears to black and damages everything",
          "[surface]") {
  Surface surface;
  CHECK_FALSE(surface.damaged());
  surface.resize(64, 32);
  CHECK(surface.width() == 64);
  CHECK(surface.height() == 32);
  CHECK(surface.generation() == 1);
  CHECK(surface.pixel(63, 31) == 0);
  CHECK(surface.damage_rects() == std::vector<Surface::Rect>{{0, 0, 64, 32}});
  surface.clear_damage();
  CHECK_FALSE(surface.damaged());
  CHECK(surface.damage_rects().empty());
  surface.resize(64, 32);
  CHECK(surface.generation() == 1);
  CHECK_FALSE(surface.damaged());
}

TEST_CASE("surface span updates damage only what changed", "[surface]") {
  Surface surface;
  surface.resize(16, 8);
  surface.clear_damage();

  std::vector<uint32_t> line(16, 0);
  CHECK_FALSE(surface.update_span(3, 0, line.data(), 16));
  CHECK_FALSE(surface.damaged());

  line[5] = 0x00ff0000;
  line[9] = 0x0000ff00;
  CHECK(surface.update_span(3, 0, line.data(), 16));
  CHECK(surface.pixel(5, 3) == 0x00ff0000);
  CHECK(surface.pixel(9, 3) == 0x0000ff00);
  CHECK(surface.row_damaged(3));
  CHECK_FALSE(surface.row_damaged(2));

  line[2] = 0x000000ff;
  CHECK(surface.update_span(4, 0, line.data(), 16));
  // Rows 3 and 4 merge into one rectangle spanning both rows' columns.
  CHECK(surface.damage_rects() == std::vector<Surface::Rect>{{2, 3, 8, 2}});

  surface.damage(12, 7, 100, 100);
  CHECK(surface.damage_rects() ==
        std::vector<Surface::Rect>{{2, 3, 8, 2}, {12, 7, 4, 1}});

  surface.clear_damage();
  CHECK_FALSE(surface.damaged());
  CHECK_FALSE(surface.row_damaged(3));
  CHECK(surface.pixel(2, 4) == 0x000000ff);
}

TEST_CASE("surface ignores spans and damage outside it", "[surface]") {
  Surface surface;
  surface.resize(4, 4);
  surface.clear_damage();
  uint32_t pixels[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  CHECK_FALSE(surface.update_span(4, 0, pixels, 4));
  CHECK(surface.update_span(1, 2, pixels, 8));
  CHECK(surface.pixel(2, 1) == 1);
  CHECK(surface.pixel(3, 1) == 2);
  surface.damage(9, 0, 1, 1);
  CHECK(surface.damage_rects() == std::vector<Surface::Rect>{{2, 1, 2, 1}});
}
