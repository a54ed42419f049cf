#pragma once
// The display surface a graphics device draws into and the consoles (SDL
// window, VNC server) show: 32-bit XRGB pixels (0x00RRGGBB) in rows of
// width() pixels, and the damage since a consumer last looked.
//
// Damage is kept per row as the span of columns touched, and handed out as
// rectangles that merge runs of touched rows. One consumer clears it after
// drawing; several consumers would each keep their own copy of the rects.
// Not thread-safe: the producer's update and the consumer's read run on one
// thread, or the caller serializes them.

#include <cstddef>
#include <cstdint>
#include <vector>

namespace sable {

class Surface {
public:
  struct Rect {
    unsigned x, y, width, height;
    bool operator==(const Rect &) const = default;
  };

  // Black, all damaged; a no-op when the size does not change.
  void resize(unsigned width, unsigned height);
  unsigned width() const { return width_; }
  unsigned height() const { return height_; }
  // Counts resizes, so a consumer knows to recreate its texture or tell a
  // VNC client the new size.
  uint64_t generation() const { return generation_; }

  uint32_t *row(unsigned y) { return pixels_.data() + size_t(y) * width_; }
  const uint32_t *row(unsigned y) const {
    return pixels_.data() + size_t(y) * width_;
  }
  const uint32_t *pixels() const { return pixels_.data(); }
  uint32_t pixel(unsigned x, unsigned y) const { return row(y)[x]; }

  // Clipped to the surface.
  void damage(unsigned x, unsigned y, unsigned width, unsigned height);
  // Copies `count` pixels into row y from column x, damaging only the span
  // that differs; returns whether anything changed.
  bool update_span(unsigned y, unsigned x, const uint32_t *pixels,
                   unsigned count);

  bool damaged() const { return damaged_rows_ > 0; }
  bool row_damaged(unsigned y) const { return damage_[y].first_x < width_; }
  std::vector<Rect> damage_rects() const;
  void clear_damage();

private:
  struct RowDamage {
    unsigned first_x; // width_ when the row is clean
    unsigned end_x;
  };

  void damage_row(unsigned y, unsigned first_x, unsigned end_x);

  unsigned width_ = 0;
  unsigned height_ = 0;
  uint64_t generation_ = 0;
  std::vector<uint32_t> pixels_;
  std::vector<RowDamage> damage_;
  unsigned damaged_rows_ = 0;
};

} // namespace sable
