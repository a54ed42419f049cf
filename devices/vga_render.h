#pragma once
// Turns the VGA's state into pixels on a Surface: alphanumeric modes (fonts
// from plane 2, attributes through the attribute controller and the DAC,
// blink, cursor, 8- or 9-dot cells, halved dot clock), 16-colour planar
// modes, the CGA-compatible 4- and 2-colour modes, 256-colour modes
// (chained or unchained), and VBE linear modes at 8, 15, 16, 24 and 32 bits
// per pixel. Not modelled: split screen (line compare), pixel panning,
// underline, and address wrap at 64 KiB.
//
// Each update renders the frame row by row and copies into the surface only
// rows that differ, so the surface's damage is exactly what changed. In
// graphics modes a row whose source bytes and palette are unchanged since
// the last update is not converted at all; in text modes neither is a text
// row whose cells and cursor are unchanged while the font, palette and
// blink phase stay the same.
//
// The caller holds the machine lock across update() (it reads device state)
// and reads the surface on the same thread.

#include <array>
#include <cstdint>
#include <vector>

namespace sable {

class Surface;
class Vga;

class VgaRenderer {
public:
  // Blink periods at the VGA's 70 Hz text refresh: the cursor toggles every
  // 8 frames, blinking characters every 16.
  static constexpr uint64_t kCursorBlinkNs = 8 * 1000000000ull / 70;
  static constexpr uint64_t kCharacterBlinkNs = 16 * 1000000000ull / 70;

  VgaRenderer(const Vga &vga, Surface &surface)
      : vga_(vga), surface_(surface) {}

  // Draws the current frame; `now_ns` (any monotonic clock) times the
  // cursor and character blink.
  void update(uint64_t now_ns);

private:
  enum class Mode { Blank, Text, Planar16, Cga4, Colour256, Linear };

  // What a graphics row's pixels depend on besides its source bytes.
  struct Layout {
    Mode mode = Mode::Blank;
    unsigned width = 0;
    unsigned height = 0;
    // Linear: VRAM bytes. VGA: CRTC character clocks, then shifted left
    // (byte, word or dword mode) into a plane address.
    uint64_t start = 0;
    uint32_t pitch = 0;
    unsigned shift = 0;
    // Address bits the row scan counter replaces, and surface rows per CRTC
    // row when it does (else each CRTC row is one surface row).
    uint32_t interleave = 0;
    unsigned lines_per_row = 1;
    unsigned bpp = 0;
    std::vector<uint32_t> palette;
    bool operator==(const Layout &) const = default;
  };

  // The VRAM bytes a row is drawn from; empty when they leave VRAM.
  struct Span {
    uint64_t offset = 0;
    uint64_t length = 0;
  };

  // What a text row's pixels depend on besides its cells and the cursor.
  struct TextLayout {
    unsigned columns = 0, rows = 0;
    unsigned char_height = 0, char_width = 0, scale = 0;
    uint32_t font_a = 0, font_b = 0;
    uint8_t attribute_mode = 0;
    bool blink_visible = false; // false too while blink is disabled
    std::array<uint32_t, 16> colours{};
    // Lines 0 to char_height - 1 of the 256 glyphs of font A, then B.
    std::vector<uint8_t> glyphs;
    bool operator==(const TextLayout &) const = default;
  };
  struct TextCursor {
    bool visible = false;
    int row = -1, column = -1;
    unsigned start = 0, end = 0;
    bool operator==(const TextCursor &) const = default;
  };

  Layout graphics_layout() const;
  uint64_t plane_address(const Layout &layout, unsigned y, unsigned step) const;
  Span row_source(const Layout &layout, unsigned y) const;
  void draw_blank();
  void draw_text(uint64_t now_ns);
  void draw_graphics(const Layout &layout);
  void convert_row(const Layout &layout, unsigned y);
  // Host colour of DAC entry `index`.
  uint32_t dac_colour(uint8_t index) const;
  // Host colour of a 4-bit pixel value through the attribute controller.
  uint32_t attribute_colour(uint8_t value) const;
  void resize(unsigned width, unsigned height);

  const Vga &vga_;
  Surface &surface_;
  std::vector<uint32_t> line_;
  Layout last_layout_;
  std::vector<std::vector<uint8_t>> row_sources_;
  TextLayout last_text_;
  std::vector<uint16_t> last_cells_;
  TextCursor last_cursor_;
};

} // namespace sable
