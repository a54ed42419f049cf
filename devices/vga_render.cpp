#include "devices/vga_render.h"

#include <algorithm>
#include <cstring>

#include "devices/vga.h"
#include "ui/surface.h"

namespace sable {

namespace {
constexpr unsigned kMaxWidth = 8192;
constexpr unsigned kMaxHeight = 4096;
// The size shown before the guest programs a usable mode.
constexpr unsigned kDefaultWidth = 640;
constexpr unsigned kDefaultHeight = 480;

constexpr uint8_t kSeqDots8 = 0x01;
constexpr uint8_t kSeqHalfDotClock = 0x08;
constexpr uint8_t kSeqScreenOff = 0x20;
constexpr uint8_t kAttrBlink = 0x08;
constexpr uint8_t kAttrLineGraphics = 0x04;
constexpr uint8_t kAttrPaletteBits54 = 0x80;
constexpr uint8_t kGfxShift256 = 0x40;
constexpr uint8_t kGfxShiftInterleave = 0x20;
constexpr uint8_t kGfxGraphicsMode = 0x01;
constexpr uint8_t kCursorDisable = 0x20;
constexpr unsigned kGlyphStride = 32; // bytes per character in plane 2

uint32_t rgb(unsigned r, unsigned g, unsigned b) {
  return r << 16 | g << 8 | b;
}

uint8_t expand5(unsigned v) {
  return uint8_t(v << 3 | v >> 2);
}
uint8_t expand6(unsigned v) {
  return uint8_t(v << 2 | v >> 4);
}

// Plane-2 address of character set `select` (3 bits): sets 0-3 lie 16 KiB
// apart, and sets 4-7 8 KiB above them.
uint32_t font_base(unsigned select) {
  return (select & 3) * 0x4000 + (select & 4 ? 0x2000 : 0);
}

unsigned vertical_display_lines(const Vga &vga) {
  uint8_t overflow = vga.crtc(7);
  return (vga.crtc(0x12) | (overflow & 0x02) << 7 | (overflow & 0x40) << 3) + 1;
}

// CRTC memory addressing: dword, byte or word mode.
unsigned address_shift(const Vga &vga) {
  if (vga.crtc(0x14) & 0x40)
    return 2;
  return vga.crtc(0x17) & 0x40 ? 0 : 1;
}

bool sane_size(unsigned width, unsigned height) {
  return width >= 8 && height >= 8 && width <= kMaxWidth &&
         height <= kMaxHeight;
}

} // namespace

uint32_t VgaRenderer::dac_colour(uint8_t index) const {
  std::array<uint8_t, 3> entry = vga_.dac(index & vga_.pel_mask());
  if (vga_.dac_8bit())
    return rgb(entry[0], entry[1], entry[2]);
  return rgb(expand6(entry[0]), expand6(entry[1]), expand6(entry[2]));
}

uint32_t VgaRenderer::attribute_colour(uint8_t value) const {
  value &= vga_.attribute(0x12) & 0x0f;
  uint8_t index = vga_.attribute(value);
  uint8_t colour_select = vga_.attribute(0x14);
  if (vga_.attribute(0x10) & kAttrPaletteBits54)
    index = uint8_t((index & 0x0f) | (colour_select & 0x03) << 4);
  index = uint8_t((index & 0x3f) | (colour_select & 0x0c) << 4);
  return dac_colour(index);
}

void VgaRenderer::resize(unsigned width, unsigned height) {
  surface_.resize(width, height);
  line_.resize(width);
}

void VgaRenderer::update(uint64_t now_ns) {
  // Drivers blank a VBE mode too by clearing the palette address source
  // (Linux's bochs-drm does); the sequencer's screen-off bit is VGA timing.
  bool screen_on = vga_.palette_enabled() &&
                   (vga_.vbe_enabled() || !(vga_.sequencer(1) & kSeqScreenOff));
  if (!screen_on) {
    draw_blank();
    return;
  }
  if (!vga_.vbe_enabled() && !(vga_.graphics(6) & kGfxGraphicsMode)) {
    draw_text(now_ns);
    return;
  }
  Layout layout = graphics_layout();
  if (!sane_size(layout.width, layout.height)) {
    draw_blank();
    return;
  }
  draw_graphics(layout);
}

void VgaRenderer::draw_blank() {
  if (surface_.width() == 0)
    resize(kDefaultWidth, kDefaultHeight);
  // The surface may have been sized by its consumer before the first frame.
  line_.assign(surface_.width(), 0);
  for (unsigned y = 0; y < surface_.height(); ++y)
    surface_.update_span(y, 0, line_.data(), surface_.width());
  last_layout_ = Layout{};
}

void VgaRenderer::draw_text(uint64_t now_ns) {
  Vga::TextScreen screen = vga_.text_screen();
  TextLayout text;
  text.columns = screen.columns;
  text.rows = screen.rows;
  text.char_height = (vga_.crtc(9) & 0x1f) + 1;
  text.char_width = vga_.sequencer(1) & kSeqDots8 ? 8 : 9;
  text.scale = vga_.sequencer(1) & kSeqHalfDotClock ? 2 : 1;
  unsigned cell_width = text.char_width * text.scale;
  unsigned width = screen.columns * cell_width;
  unsigned height = screen.rows * text.char_height;
  if (!sane_size(width, height)) {
    draw_blank();
    return;
  }
  bool was_text = last_layout_.mode == Mode::Text;
  resize(width, height);
  last_layout_ = Layout{};
  last_layout_.mode = Mode::Text;

  uint8_t map_select = vga_.sequencer(3);
  text.font_a = font_base(((map_select >> 2) & 3) | ((map_select >> 3) & 4));
  text.font_b = font_base((map_select & 3) | ((map_select >> 2) & 4));
  text.attribute_mode = vga_.attribute(0x10);
  bool blink_enabled = text.attribute_mode & kAttrBlink;
  bool line_graphics = text.attribute_mode & kAttrLineGraphics;
  text.blink_visible = blink_enabled && (now_ns / kCharacterBlinkNs) % 2 == 0;
  for (unsigned i = 0; i < 16; ++i)
    text.colours[i] = attribute_colour(uint8_t(i));
  const uint8_t *vram = vga_.vram();
  // The font lines on screen, both fonts, as one comparable copy.
  text.glyphs.reserve(2 * 256 * text.char_height);
  for (uint32_t font : {text.font_a, text.font_b})
    for (unsigned character = 0; character < 256; ++character)
      for (unsigned line = 0; line < text.char_height; ++line)
        text.glyphs.push_back(
            vram[size_t((font + character * kGlyphStride + line) & 0xffff) * 4 +
                 2]);

  TextCursor cursor;
  cursor.visible = (now_ns / kCursorBlinkNs) % 2 == 0 &&
                   !(vga_.crtc(0x0a) & kCursorDisable) &&
                   screen.cursor_row >= 0;
  cursor.row = screen.cursor_row;
  cursor.column = screen.cursor_column;
  cursor.start = vga_.crtc(0x0a) & 0x1f;
  cursor.end = vga_.crtc(0x0b) & 0x1f;

  // Only text rows whose cells, or whose cursor, changed are drawn again
  // while everything else they depend on stays the same.
  bool reuse = was_text && text == last_text_ &&
               last_cells_.size() == screen.cells.size();
  std::vector<bool> dirty(screen.rows, !reuse);
  if (reuse) {
    for (unsigned row = 0; row < screen.rows; ++row) {
      size_t first = size_t(row) * screen.columns;
      dirty[row] =
          !std::equal(screen.cells.begin() + long(first),
                      screen.cells.begin() + long(first) + screen.columns,
                      last_cells_.begin() + long(first));
    }
    if (!(cursor == last_cursor_))
      for (int row : {cursor.row, last_cursor_.row})
        if (row >= 0 && unsigned(row) < screen.rows)
          dirty[unsigned(row)] = true;
  }

  for (unsigned y = 0; y < height; ++y) {
    unsigned row = y / text.char_height, glyph_line = y % text.char_height;
    if (!dirty[row])
      continue;
    bool cursor_line = cursor.visible && int(row) == cursor.row &&
                       glyph_line >= cursor.start && glyph_line <= cursor.end;
    uint32_t *out = line_.data();
    for (unsigned column = 0; column < screen.columns; ++column) {
      uint16_t cell = screen.cells[size_t(row) * screen.columns + column];
      uint8_t character = cell & 0xff, attribute = cell >> 8;
      unsigned foreground = attribute & 0x0f, background = attribute >> 4;
      if (blink_enabled) {
        background &= 7;
        if ((attribute & 0x80) && !text.blink_visible)
          foreground = background;
      }
      unsigned font = attribute & 0x08 ? 0 : 1;
      unsigned glyph =
          text.glyphs[(font * 256 + character) * text.char_height + glyph_line];
      // The ninth dot repeats the eighth for the box-drawing characters.
      bool ninth = line_graphics && character >= 0xc0 && character <= 0xdf &&
                   (glyph & 1);
      if (cursor_line && int(column) == cursor.column) {
        glyph = 0xff;
        ninth = true;
      }
      glyph = glyph << 1 | (ninth ? 1 : 0);
      for (unsigned dot = 0; dot < text.char_width; ++dot) {
        bool on = (glyph >> (8 - dot)) & 1;
        uint32_t colour = text.colours[on ? foreground : background];
        for (unsigned s = 0; s < text.scale; ++s)
          *out++ = colour;
      }
    }
    surface_.update_span(y, 0, line_.data(), width);
  }
  last_text_ = std::move(text);
  last_cells_ = std::move(screen.cells);
  last_cursor_ = cursor;
}

VgaRenderer::Layout VgaRenderer::graphics_layout() const {
  Layout layout;
  if (vga_.vbe_planar()) {
    layout.mode = Mode::Planar16;
    layout.width = vga_.vbe(Vga::VBE_XRES);
    layout.height = vga_.vbe(Vga::VBE_YRES);
    layout.start = vga_.vbe_start() / 4;
    layout.pitch = vga_.vbe_line_bytes() / 4;
    for (unsigned i = 0; i < 16; ++i)
      layout.palette.push_back(attribute_colour(uint8_t(i)));
    return layout;
  }
  if (vga_.vbe_enabled()) {
    layout.mode = Mode::Linear;
    layout.width = vga_.vbe(Vga::VBE_XRES);
    layout.height = vga_.vbe(Vga::VBE_YRES);
    layout.bpp = vga_.vbe(Vga::VBE_BPP);
    layout.start = vga_.vbe_start();
    layout.pitch = vga_.vbe_line_bytes();
    if (layout.bpp == 8)
      for (unsigned i = 0; i < 256; ++i)
        layout.palette.push_back(dac_colour(uint8_t(i)));
    return layout;
  }
  uint8_t max_scan = vga_.crtc(9);
  unsigned scanlines = vertical_display_lines(vga_);
  if (max_scan & 0x80)
    scanlines /= 2;
  unsigned lines_per_row = (max_scan & 0x1f) + 1;
  // CGA compatibility: the row scan counter replaces address bits 13 and
  // 14, so the scanlines of one CRTC row come from different memory.
  uint8_t mode_control = vga_.crtc(0x17);
  layout.interleave =
      (mode_control & 0x01 ? 0 : 0x2000) | (mode_control & 0x02 ? 0 : 0x4000);
  if (layout.interleave) {
    layout.lines_per_row = lines_per_row;
    layout.height = scanlines;
  } else {
    layout.height = scanlines / lines_per_row;
  }
  layout.shift = address_shift(vga_);
  layout.start = vga_.crtc(0x0c) << 8 | vga_.crtc(0x0d);
  layout.pitch = vga_.crtc(0x13) * 2u;
  layout.width = (vga_.crtc(1) + 1u) * 8;
  if (vga_.graphics(5) & kGfxShift256) {
    layout.mode = Mode::Colour256;
    layout.width /= 2;
    for (unsigned i = 0; i < 256; ++i)
      layout.palette.push_back(dac_colour(uint8_t(i)));
    return layout;
  }
  layout.mode =
      vga_.graphics(5) & kGfxShiftInterleave ? Mode::Cga4 : Mode::Planar16;
  for (unsigned i = 0; i < 16; ++i)
    layout.palette.push_back(attribute_colour(uint8_t(i)));
  return layout;
}

uint64_t VgaRenderer::plane_address(const Layout &layout, unsigned y,
                                    unsigned step) const {
  unsigned row = y / layout.lines_per_row, scan = y % layout.lines_per_row;
  uint64_t address = (layout.start + uint64_t(row) * layout.pitch + step)
                     << layout.shift;
  if (layout.interleave & 0x2000)
    address = (address & ~uint64_t{0x2000}) | (scan & 1) << 13;
  if (layout.interleave & 0x4000)
    address = (address & ~uint64_t{0x4000}) | (scan & 2) << 13;
  return address;
}

VgaRenderer::Span VgaRenderer::row_source(const Layout &layout,
                                          unsigned y) const {
  Span span;
  if (layout.mode == Mode::Linear) {
    span.offset = layout.start + uint64_t(y) * layout.pitch;
    span.length = uint64_t(layout.width) * ((layout.bpp + 7) / 8);
  } else {
    unsigned steps = layout.width / (layout.mode == Mode::Colour256 ? 4 : 8);
    uint64_t first = plane_address(layout, y, 0);
    uint64_t last = plane_address(layout, y, steps - 1);
    if (last < first)
      std::swap(first, last);
    span.offset = first * 4;
    span.length = (last - first + 1) * 4;
  }
  if (span.offset + span.length > Vga::kVramSize)
    return Span{};
  return span;
}

void VgaRenderer::draw_graphics(const Layout &layout) {
  resize(layout.width, layout.height);
  if (!(layout == last_layout_))
    row_sources_.assign(layout.height, {});
  const uint8_t *vram = vga_.vram();
  for (unsigned y = 0; y < layout.height; ++y) {
    Span span = row_source(layout, y);
    std::vector<uint8_t> &seen = row_sources_[y];
    const uint8_t *source = vram + span.offset;
    // Substituted address bits can send a row outside its first-to-last
    // span, so interleaved rows are always converted.
    bool can_skip = span.length > 0 && !layout.interleave;
    if (can_skip && seen.size() == span.length &&
        std::memcmp(seen.data(), source, span.length) == 0)
      continue;
    if (span.length == 0)
      std::fill(line_.begin(), line_.end(), 0);
    else
      convert_row(layout, y);
    surface_.update_span(y, 0, line_.data(), layout.width);
    if (can_skip)
      seen.assign(source, source + span.length);
  }
  last_layout_ = layout;
}

void VgaRenderer::convert_row(const Layout &layout, unsigned y) {
  const uint8_t *vram = vga_.vram();
  uint32_t *out = line_.data();
  switch (layout.mode) {
  case Mode::Planar16:
    for (unsigned step = 0; step < layout.width / 8; ++step) {
      const uint8_t *planes = vram + plane_address(layout, y, step) * 4;
      for (int bit = 7; bit >= 0; --bit) {
        unsigned value =
            ((planes[0] >> bit) & 1) | ((planes[1] >> bit) & 1) << 1 |
            ((planes[2] >> bit) & 1) << 2 | ((planes[3] >> bit) & 1) << 3;
        *out++ = layout.palette[value];
      }
    }
    break;
  case Mode::Cga4:
    // Two bits a pixel: four pixels from plane 0, then four from plane 1.
    for (unsigned step = 0; step < layout.width / 8; ++step) {
      const uint8_t *planes = vram + plane_address(layout, y, step) * 4;
      for (unsigned p = 0; p < 2; ++p)
        for (int shift = 6; shift >= 0; shift -= 2)
          *out++ = layout.palette[(planes[p] >> shift) & 3];
    }
    break;
  case Mode::Colour256:
    for (unsigned step = 0; step < layout.width / 4; ++step) {
      const uint8_t *planes = vram + plane_address(layout, y, step) * 4;
      for (unsigned p = 0; p < 4; ++p)
        *out++ = layout.palette[planes[p]];
    }
    break;
  case Mode::Linear: {
    const uint8_t *src = vram + layout.start + uint64_t(y) * layout.pitch;
    for (unsigned x = 0; x < layout.width; ++x) {
      switch (layout.bpp) {
      case 8:
        out[x] = layout.palette[src[x]];
        break;
      case 15: {
        unsigned v = src[2 * x] | src[2 * x + 1] << 8;
        out[x] = rgb(expand5((v >> 10) & 0x1f), expand5((v >> 5) & 0x1f),
                     expand5(v & 0x1f));
        break;
      }
      case 16: {
        unsigned v = src[2 * x] | src[2 * x + 1] << 8;
        out[x] = rgb(expand5((v >> 11) & 0x1f), expand6((v >> 5) & 0x3f),
                     expand5(v & 0x1f));
        break;
      }
      case 24:
        out[x] = rgb(src[3 * x + 2], src[3 * x + 1], src[3 * x]);
        break;
      default: {
        uint32_t v;
        std::memcpy(&v, src + 4 * x, 4);
        out[x] = v & 0x00ffffff;
        break;
      }
      }
    }
    break;
  }
  case Mode::Blank:
  case Mode::Text:
    break;
  }
}

} // namespace sable
