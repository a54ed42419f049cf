#pragma once
// Finds text on a screenshot: the string is drawn in 8x16 glyphs, in 9- or
// 8-dot cells as a VGA text mode shows it, and looked for at every position
// of the image reduced to lit (bright) and dark pixels. Enough to read the
// firmware's and the Linux console's light-on-dark text back from an SDL
// window or a VNC framebuffer.
//
// The glyphs must be the guest's: the VGA BIOS loads its own font into the
// VGA, so the font is taken from the VGA BIOS image.

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace sable::test {

struct Image {
  unsigned width = 0;
  unsigned height = 0;
  std::vector<uint32_t> pixels; // 0x00RRGGBB
};

using Font = std::array<std::array<uint8_t, 16>, 256>;

// The 8x16 font of a VGA BIOS ROM, found by its first two glyphs (blank,
// then the IBM smiley face). Throws std::runtime_error when it is missing.
Font vga_bios_font(const std::string &rom_path);

struct TextMatch {
  bool found = false;
  unsigned x = 0, y = 0;
};

TextMatch find_text(const Image &image, const Font &font,
                    const std::string &text);

} // namespace sable::test
