#include "ui/surface.h"

#include <algorithm>
#include <cstring>

namespace sable {

void Surface::resize(unsigned width, unsigned height) {
  if (width == width_ && height == height_)
    return;
  width_ = width;
  height_ = height;
  pixels_.assign(size_t(width) * height, 0);
  damage_.assign(height, RowDamage{width, width});
  damaged_rows_ = 0;
  ++generation_;
  damage(0, 0, width, height);
}

void Surface::damage_row(unsigned y, unsigned first_x, unsigned end_x) {
  RowDamage &row = damage_[y];
  if (row.first_x >= width_) {
    ++damaged_rows_;
    row = {first_x, end_x};
    return;
  }
  row.first_x = std::min(row.first_x, first_x);
  row.end_x = std::max(row.end_x, end_x);
}

void Surface::damage(unsigned x, unsigned y, unsigned width, unsigned height) {
  if (x >= width_ || y >= height_ || width == 0 || height == 0)
    return;
  unsigned end_x = x + std::min(width, width_ - x);
  unsigned end_y = y + std::min(height, height_ - y);
  for (unsigned row = y; row < end_y; ++row)
    damage_row(row, x, end_x);
}

bool Surface::update_span(unsigned y, unsigned x, const uint32_t *pixels,
                          unsigned count) {
  if (y >= height_ || x >= width_)
    return false;
  count = std::min(count, width_ - x);
  uint32_t *out = row(y) + x;
  unsigned first = 0;
  while (first < count && out[first] == pixels[first])
    ++first;
  if (first == count)
    return false;
  unsigned end = count;
  while (out[end - 1] == pixels[end - 1])
    --end;
  std::memcpy(out + first, pixels + first, (end - first) * sizeof *out);
  damage_row(y, x + first, x + end);
  return true;
}

std::vector<Surface::Rect> Surface::damage_rects() const {
  std::vector<Rect> rects;
  unsigned y = 0;
  while (y < height_) {
    if (!row_damaged(y)) {
      ++y;
      continue;
    }
    unsigned first_x = damage_[y].first_x, end_x = damage_[y].end_x;
    unsigned start = y;
    for (++y; y < height_ && row_damaged(y); ++y) {
      first_x = std::min(first_x, damage_[y].first_x);
      end_x = std::max(end_x, damage_[y].end_x);
    }
    rects.push_back({first_x, start, end_x - first_x, y - start});
  }
  return rects;
}

void Surface::clear_damage() {
  std::fill(damage_.begin(), damage_.end(), RowDamage{width_, width_});
  damaged_rows_ = 0;
}

} // namespace sable
