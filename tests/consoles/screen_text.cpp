#include "screen_text.h"

#include <algorithm>
#include <fstream>
#include <iterator>
#include <stdexcept>

namespace sable::test {

namespace {

constexpr unsigned kGlyphHeight = 16;

bool lit(uint32_t pixel) {
  unsigned sum =
      ((pixel >> 16) & 0xff) + ((pixel >> 8) & 0xff) + (pixel & 0xff);
  return sum > 3 * 0x50;
}

bool cell_matches(const std::vector<uint8_t> &bright, unsigned width,
                  const std::array<uint8_t, 16> &glyph, unsigned cell,
                  unsigned x0, unsigned y0) {
  for (unsigned line = 0; line < kGlyphHeight; ++line) {
    const uint8_t *row = bright.data() + size_t(y0 + line) * width + x0;
    for (unsigned dot = 0; dot < cell; ++dot) {
      bool expected = dot < 8 && ((glyph[line] >> (7 - dot)) & 1);
      if (row[dot] != expected)
        return false;
    }
  }
  return true;
}

bool matches_at(const std::vector<uint8_t> &bright, unsigned width,
                const Font &font, const std::string &text, unsigned cell,
                unsigned x0, unsigned y0) {
  for (size_t i = 0; i < text.size(); ++i)
    if (!cell_matches(bright, width, font[uint8_t(text[i])], cell,
                      x0 + unsigned(i) * cell, y0))
      return false;
  return true;
}

} // namespace

Font vga_bios_font(const std::string &rom_path) {
  std::ifstream in(rom_path, std::ios::binary);
  if (!in)
    throw std::runtime_error("cannot open " + rom_path);
  std::vector<uint8_t> rom((std::istreambuf_iterator<char>(in)), {});
  const uint8_t start[32] = {0,    0,    0,    0,    0,    0,    0,    0,
                             0,    0,    0,    0,    0,    0,    0,    0,
                             0x00, 0x00, 0x7e, 0x81, 0xa5, 0x81, 0x81, 0xbd,
                             0x99, 0x81, 0x81, 0x7e, 0x00, 0x00, 0x00, 0x00};
  auto at =
      std::search(rom.begin(), rom.end(), std::begin(start), std::end(start));
  Font font;
  if (rom.end() - at < long(sizeof font))
    throw std::runtime_error(rom_path + " holds no 8x16 VGA font");
  for (auto &glyph : font)
    for (uint8_t &line : glyph)
      line = *at++;
  return font;
}

TextMatch find_text(const Image &image, const Font &font,
                    const std::string &text) {
  std::vector<uint8_t> bright(image.pixels.size());
  for (size_t i = 0; i < bright.size(); ++i)
    bright[i] = lit(image.pixels[i]);
  for (unsigned cell : {9u, 8u}) {
    unsigned text_width = unsigned(text.size()) * cell;
    if (text_width > image.width || kGlyphHeight > image.height)
      continue;
    for (unsigned y = 0; y + kGlyphHeight <= image.height; ++y)
      for (unsigned x = 0; x + text_width <= image.width; ++x)
        if (matches_at(bright, image.width, font, text, cell, x, y))
          return {true, x, y};
  }
  return {};
}

} // namespace sable::test
