#include <catch2/catch.hpp>

#include <array>
#include <memory>
#include <mutex>
#include <random>

#include "devices/vga.h"
#include "devices/vga_font.h"
#include "devices/vga_render.h"
#include "machine/io_bus.h"
#include "machine/memory.h"
#include "machine/state.h"
#include "pci_config_access.h"
#include "ui/surface.h"

using namespace sable;
using test::config_read;
using test::config_write;

namespace {

constexpr unsigned kSlot = 2;
constexpr uint64_t kFramebufferAddress = 0xe0000000;
constexpr uint64_t kRegisterBarAddress = 0xe1000000;

struct Rig {
  std::recursive_mutex lock;
  IoPortBus io{lock};
  MmioBus mmio{lock};
  GuestMemory memory{mmio};
  PciBus bus{io, mmio, nullptr};
  std::unique_ptr<Vga> vga;
  Surface surface;
  std::unique_ptr<VgaRenderer> renderer;

  Rig() {
    // The PC's layout: RAM below, the VGA window over it, BARs above.
    memory.add_ram("ram", 0, 1 << 20);
    memory.add_mmio("vga-window", Vga::kWindowBase, Vga::kWindowSize);
    memory.add_mmio("pci-window", 0xc0000000, 0x3ec00000);
    io.map(0xcf8, 8, &bus);
    vga = std::make_unique<Vga>(bus, kSlot, io, mmio, memory);
    renderer = std::make_unique<VgaRenderer>(*vga, surface);
  }

  void out(uint16_t port, uint8_t value) { io.write(port, 1, value); }
  uint8_t in(uint16_t port) { return uint8_t(io.read(port, 1)); }
  void indexed(uint16_t port, uint8_t index, uint8_t value) {
    out(port, index);
    out(port + 1, value);
  }
  uint8_t indexed_read(uint16_t port, uint8_t index) {
    out(port, index);
    return in(port + 1);
  }
  void attribute(uint8_t index, uint8_t value) {
    in(0x3da);
    out(0x3c0, index);
    out(0x3c0, value);
  }
  void enable_display() {
    in(0x3da);
    out(0x3c0, 0x20);
  }
  void dac(uint8_t index, uint8_t r, uint8_t g, uint8_t b) {
    out(0x3c8, index);
    out(0x3c9, r);
    out(0x3c9, g);
    out(0x3c9, b);
  }
  void poke(uint64_t address, uint8_t value) {
    memory.write(address, &value, 1);
  }
  uint8_t peek(uint64_t address) {
    uint8_t value;
    memory.read(address, &value, 1);
    return value;
  }
  void vbe(uint16_t index, uint16_t value) {
    io.write(0x1ce, 2, index);
    io.write(0x1cf, 2, value);
  }
  uint16_t vbe_read(uint16_t index) {
    io.write(0x1ce, 2, index);
    return uint16_t(io.read(0x1cf, 2));
  }
  void map_bars() {
    config_write(io, kSlot, 0, 0x10, 4, uint32_t(kFramebufferAddress));
    config_write(io, kSlot, 0, 0x18, 4, uint32_t(kRegisterBarAddress));
    config_write(io, kSlot, 0, 0x04, 2, pci::kCommandMemory);
  }
  // The register values of BIOS mode 3 (80x25 text, 9x16 cells) and of the
  // graphics modes, from the IBM VGA reference tables.
  void set_registers(uint8_t misc, const std::array<uint8_t, 5> &seq,
                     const std::array<uint8_t, 25> &crtc,
                     const std::array<uint8_t, 9> &gfx,
                     const std::array<uint8_t, 21> &attr) {
    out(0x3c2, misc);
    for (unsigned i = 0; i < seq.size(); ++i)
      indexed(0x3c4, uint8_t(i), seq[i]);
    indexed(0x3d4, 0x11, 0x00); // unlock CRTC 0-7
    for (unsigned i = 0; i < crtc.size(); ++i)
      indexed(0x3d4, uint8_t(i), crtc[i]);
    for (unsigned i = 0; i < gfx.size(); ++i)
      indexed(0x3ce, uint8_t(i), gfx[i]);
    for (unsigned i = 0; i < attr.size(); ++i)
      attribute(uint8_t(i), attr[i]);
  }
  void set_text_mode() {
    set_registers(0x67, {0x03, 0x00, 0x03, 0x00, 0x02},
                  {0x5f, 0x4f, 0x50, 0x82, 0x55, 0x81, 0xbf, 0x1f, 0x00,
                   0x4f, 0x0d, 0x0e, 0x00, 0x00, 0x00, 0x00, 0x9c, 0x8e,
                   0x8f, 0x28, 0x1f, 0x96, 0xb9, 0xa3, 0xff},
                  {0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x0e, 0x00, 0xff},
                  {0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x14,
                   0x07, 0x38, 0x39, 0x3a, 0x3b, 0x3c, 0x3d,
                   0x3e, 0x3f, 0x0c, 0x00, 0x0f, 0x08, 0x00});
  }
  void set_mode_12h() {
    set_registers(0xe3, {0x03, 0x01, 0x0f, 0x00, 0x06},
                  {0x5f, 0x4f, 0x50, 0x82, 0x54, 0x80, 0x0b, 0x3e, 0x00,
                   0x40, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xea, 0x8c,
                   0xdf, 0x28, 0x00, 0xe7, 0x04, 0xe3, 0xff},
                  {0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05, 0x0f, 0xff},
                  {0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x14,
                   0x07, 0x38, 0x39, 0x3a, 0x3b, 0x3c, 0x3d,
                   0x3e, 0x3f, 0x01, 0x00, 0x0f, 0x00, 0x00});
  }
  void set_mode_13h() {
    set_registers(0x63, {0x03, 0x01, 0x0f, 0x00, 0x0e},
                  {0x5f, 0x4f, 0x50, 0x82, 0x54, 0x80, 0xbf, 0x1f, 0x00,
                   0x41, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x9c, 0x8e,
                   0x8f, 0x28, 0x40, 0x96, 0xb9, 0xa3, 0xff},
                  {0x00, 0x00, 0x00, 0x00, 0x00, 0x40, 0x05, 0x0f, 0xff},
                  {0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06,
                   0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d,
                   0x0e, 0x0f, 0x41, 0x00, 0x0f, 0x00, 0x00});
  }
  // As the VGA BIOS does: plane 2 alone, sequential addressing at 0xA0000.
  void load_font() {
    indexed(0x3c4, 0x02, 0x04);
    indexed(0x3c4, 0x04, 0x06);
    indexed(0x3ce, 0x05, 0x00);
    indexed(0x3ce, 0x06, 0x04);
    for (unsigned c = 0; c < 256; ++c)
      for (unsigned line = 0; line < 16; ++line)
        poke(0xa0000 + c * 32 + line, kVgaFont8x16[c][line]);
    indexed(0x3c4, 0x02, 0x03);
    indexed(0x3c4, 0x04, 0x02);
    indexed(0x3ce, 0x05, 0x10);
    indexed(0x3ce, 0x06, 0x0e);
  }
};

} // namespace

TEST_CASE("vga: PCI identity and BARs", "[vga]") {
  Rig rig;
  CHECK(config_read(rig.io, kSlot, 0, 0x00, 4) == 0x11111234);
  CHECK(config_read(rig.io, kSlot, 0, 0x08, 4) >> 8 == 0x030000);
  CHECK(config_read(rig.io, kSlot, 0, 0x2c, 4) == 0x11001af4);
  config_write(rig.io, kSlot, 0, 0x10, 4, 0xffffffff);
  CHECK(config_read(rig.io, kSlot, 0, 0x10, 4) == 0xff000008);
  config_write(rig.io, kSlot, 0, 0x18, 4, 0xffffffff);
  CHECK(config_read(rig.io, kSlot, 0, 0x18, 4) == 0xfffff000);
}

TEST_CASE("vga: DAC palette writes and reads back", "[vga]") {
  Rig rig;
  rig.out(0x3c8, 5);
  rig.out(0x3c9, 0x3f);
  rig.out(0x3c9, 0x20);
  rig.out(0x3c9, 0xc1); // only six bits stored
  rig.out(0x3c9, 0x01);
  rig.out(0x3c9, 0x02);
  rig.out(0x3c9, 0x03);
  CHECK(rig.in(0x3c8) == 7);
  CHECK(rig.in(0x3c7) == 0x00);
  rig.out(0x3c7, 5);
  CHECK(rig.in(0x3c7) == 0x03);
  CHECK(rig.in(0x3c9) == 0x3f);
  CHECK(rig.in(0x3c9) == 0x20);
  CHECK(rig.in(0x3c9) == 0x01);
  CHECK(rig.in(0x3c9) == 0x01);
  CHECK(rig.in(0x3c9) == 0x02);
  CHECK(rig.in(0x3c9) == 0x03);
  CHECK(rig.vga->dac(6) == std::array<uint8_t, 3>{1, 2, 3});
  CHECK(rig.in(0x3c6) == 0xff);
  rig.out(0x3c6, 0x0f);
  CHECK(rig.in(0x3c6) == 0x0f);
}

TEST_CASE("vga: sequencer, graphics and CRTC index/data", "[vga]") {
  Rig rig;
  rig.indexed(0x3c4, 0x02, 0x0f);
  CHECK(rig.in(0x3c4) == 0x02);
  CHECK(rig.indexed_read(0x3c4, 0x02) == 0x0f);
  rig.io.write(0x3c4, 2, 0x0a04); // index 4, then data 0x0a
  CHECK(rig.indexed_read(0x3c4, 0x04) == 0x0a);
  rig.io.write(0x3ce, 2, 0xf008);
  CHECK(rig.indexed_read(0x3ce, 0x08) == 0xf0);

  // Misc bit 0 clear: the CRTC answers at 0x3B4/0x3B5 only.
  rig.out(0x3c2, 0x66);
  CHECK(rig.in(0x3cc) == 0x66);
  rig.indexed(0x3b4, 0x0e, 0x12);
  rig.indexed(0x3d4, 0x0e, 0x34);
  CHECK(rig.indexed_read(0x3b4, 0x0e) == 0x12);
  CHECK(rig.in(0x3d5) == 0xff);
  rig.out(0x3c2, 0x67);
  CHECK(rig.indexed_read(0x3d4, 0x0e) == 0x12);
  rig.indexed(0x3d4, 0x0f, 0x56);
  CHECK(rig.vga->crtc(0x0f) == 0x56);

  // The protect bit in CRTC 0x11 locks registers 0-7 but line compare bit 8.
  rig.indexed(0x3d4, 0x11, 0x80);
  rig.indexed(0x3d4, 0x01, 0x4f);
  CHECK(rig.indexed_read(0x3d4, 0x01) == 0x00);
  rig.indexed(0x3d4, 0x07, 0xff);
  CHECK(rig.indexed_read(0x3d4, 0x07) == 0x10);
  rig.indexed(0x3d4, 0x11, 0x00);
  rig.indexed(0x3d4, 0x01, 0x4f);
  CHECK(rig.indexed_read(0x3d4, 0x01) == 0x4f);
}

TEST_CASE("vga: attribute flip-flop resets on input status 1", "[vga]") {
  Rig rig;
  rig.out(0x3c2, 0x01);
  rig.in(0x3da);
  rig.out(0x3c0, 0x05); // index
  rig.out(0x3c0, 0x2a); // data
  CHECK(rig.in(0x3c0) == 0x05);
  CHECK(rig.in(0x3c1) == 0x2a);
  rig.out(0x3c0, 0x06); // flip-flop back at index
  rig.out(0x3c0, 0x15);
  CHECK(rig.vga->attribute(6) == 0x15);
  rig.out(0x3c0, 0x07); // index 7 ...
  rig.in(0x3da);        // ... abandoned: next write is an index again
  rig.out(0x3c0, 0x30); // index 0x10 with the palette source bit
  rig.out(0x3c0, 0x0c);
  CHECK(rig.vga->attribute(0x10) == 0x0c);
  CHECK(rig.vga->attribute(7) == 0x00);
  CHECK(rig.vga->palette_enabled());
}

TEST_CASE("vga: input status 1 toggles retrace so polling ends", "[vga]") {
  Rig rig;
  rig.out(0x3c2, 0x01);
  bool seen_retrace = false, seen_display = false;
  for (int i = 0; i < 8; ++i) {
    uint8_t status = rig.in(0x3da);
    (status & 0x08 ? seen_retrace : seen_display) = true;
  }
  CHECK(seen_retrace);
  CHECK(seen_display);
  CHECK(rig.in(0x3ba) == 0xff); // mono status not decoded in colour mode
}

TEST_CASE("vga: planar write mode 0 with map mask, read modes 0 and 1",
          "[vga]") {
  Rig rig;
  rig.set_mode_12h();
  // Plane 0 and 2 get 0xA5; planes 1 and 3 stay 0.
  rig.indexed(0x3c4, 0x02, 0x05);
  rig.poke(0xa0010, 0xa5);
  rig.indexed(0x3c4, 0x02, 0x0f);
  for (unsigned plane = 0; plane < 4; ++plane) {
    rig.indexed(0x3ce, 0x04, uint8_t(plane));
    CHECK(rig.peek(0xa0010) == (plane % 2 == 0 ? 0xa5 : 0x00));
  }
  // Set/reset: plane 3 forced to ones; bit mask keeps the latched left half.
  rig.indexed(0x3ce, 0x00, 0x08);
  rig.indexed(0x3ce, 0x01, 0x08);
  rig.indexed(0x3ce, 0x08, 0x0f);
  rig.peek(0xa0010); // load the latches
  rig.poke(0xa0010, 0xff);
  rig.indexed(0x3ce, 0x01, 0x00);
  rig.indexed(0x3ce, 0x08, 0xff);
  rig.indexed(0x3ce, 0x04, 0x00);
  CHECK(rig.peek(0xa0010) == 0xaf); // plane 0: left half latched, right 1s
  rig.indexed(0x3ce, 0x04, 0x03);
  CHECK(rig.peek(0xa0010) == 0x0f); // plane 3: set/reset under the mask
  // Planes now hold 0xaf, 0x0f, 0xaf, 0x0f: pixels 7 and 5 have colour 5,
  // pixels 6 and 4 colour 0, pixels 3-0 colour 15. Read mode 1 compares.
  rig.indexed(0x3ce, 0x05, 0x08);
  rig.indexed(0x3ce, 0x02, 0x05);
  rig.indexed(0x3ce, 0x07, 0x0f);
  CHECK(rig.peek(0xa0010) == 0xa0);
  rig.indexed(0x3ce, 0x02, 0x07);
  CHECK(rig.peek(0xa0010) == 0x00);
  // With plane 3 left out of the comparison, colour 15 matches 7.
  rig.indexed(0x3ce, 0x07, 0x07);
  CHECK(rig.peek(0xa0010) == 0x0f);
}

TEST_CASE("vga: write modes 1, 2 and 3 and the logical function", "[vga]") {
  Rig rig;
  rig.set_mode_12h();
  rig.indexed(0x3ce, 0x05, 0x02); // write mode 2: colour 0x9 to all bits
  rig.poke(0xa0000, 0x09);
  rig.indexed(0x3ce, 0x05, 0x01); // write mode 1: copy latches
  rig.peek(0xa0000);
  rig.poke(0xa0001, 0x00);
  rig.indexed(0x3ce, 0x05, 0x00);
  for (unsigned plane = 0; plane < 4; ++plane) {
    rig.indexed(0x3ce, 0x04, uint8_t(plane));
    uint8_t expected = (0x09 >> plane) & 1 ? 0xff : 0x00;
    CHECK(rig.peek(0xa0000) == expected);
    CHECK(rig.peek(0xa0001) == expected);
  }
  // XOR with the latches, data rotated right by 4.
  rig.indexed(0x3ce, 0x03, 0x18 | 0x04);
  rig.indexed(0x3ce, 0x04, 0x00);
  rig.peek(0xa0000);
  rig.poke(0xa0000, 0x0f); // rotated: 0xf0; plane 0 had 0xff -> 0x0f
  rig.indexed(0x3ce, 0x03, 0x00);
  CHECK(rig.peek(0xa0000) == 0x0f);
  // Write mode 3: set/reset colour under (rotated data & bit mask).
  rig.indexed(0x3ce, 0x05, 0x03);
  rig.indexed(0x3ce, 0x00, 0x02);
  rig.peek(0xa0002);
  rig.poke(0xa0002, 0x3c);
  rig.indexed(0x3ce, 0x05, 0x00);
  rig.indexed(0x3ce, 0x04, 0x01);
  CHECK(rig.peek(0xa0002) == 0x3c);
  rig.indexed(0x3ce, 0x04, 0x00);
  CHECK(rig.peek(0xa0002) == 0x00);
}

TEST_CASE("vga: memory map select decodes only its window", "[vga]") {
  Rig rig;
  rig.set_text_mode(); // 0xB8000, odd/even
  rig.poke(0xb8000, 'A');
  rig.poke(0xb8001, 0x07);
  rig.poke(0xa0000, 0x55); // outside the selected window: dropped
  CHECK(rig.peek(0xa0000) == 0xff);
  CHECK(rig.peek(0xb8000) == 'A');
  CHECK(rig.peek(0xb8001) == 0x07);
  // Odd/even: the character went to plane 0, the attribute to plane 1.
  CHECK(rig.vga->vram()[0] == 'A');
  CHECK(rig.vga->vram()[1] == 0x07);
  CHECK(rig.vga->text_screen().line(0).substr(0, 1) == "A");
}

TEST_CASE("vga: chain-4 writes in mode 13h land in VRAM and on screen",
          "[vga]") {
  Rig rig;
  rig.set_mode_13h();
  rig.dac(0x2c, 0x3f, 0x00, 0x15);
  rig.enable_display();
  unsigned offset = 100 * 320 + 7; // x 7, y 100
  rig.poke(0xa0000 + offset, 0x2c);
  CHECK(rig.peek(0xa0000 + offset) == 0x2c);
  // Plane (offset & 3), plane address (offset & ~3).
  CHECK(rig.vga->vram()[(offset & ~3u) * 4 + (offset & 3)] == 0x2c);
  rig.indexed(0x3c4, 0x04, 0x06); // unchain to read the planes directly
  rig.indexed(0x3ce, 0x05, 0x00);
  rig.indexed(0x3ce, 0x04, uint8_t(offset & 3));
  CHECK(rig.peek(0xa0000 + (offset & ~3u)) == 0x2c);
  rig.indexed(0x3c4, 0x04, 0x0e);
  rig.indexed(0x3ce, 0x05, 0x40);

  rig.renderer->update(0);
  REQUIRE(rig.surface.width() == 320);
  REQUIRE(rig.surface.height() == 200);
  CHECK(rig.surface.pixel(7, 100) == 0xff0055);
  CHECK(rig.surface.pixel(8, 100) == 0x000000);
  CHECK(rig.surface.pixel(7, 99) == 0x000000);
}

TEST_CASE("vga: mode 12h planar pixels render through the palette", "[vga]") {
  Rig rig;
  rig.set_mode_12h();
  rig.dac(0x3c, 0x3f, 0x3f, 0x00); // attribute 12 -> DAC 0x3c: yellow
  rig.enable_display();
  rig.indexed(0x3ce, 0x05, 0x02);
  rig.indexed(0x3ce, 0x08, 0x40); // pixel 1 of the byte only
  rig.peek(0xa0000 + 479 * 80 + 79);
  rig.poke(0xa0000 + 479 * 80 + 79, 12);
  rig.renderer->update(0);
  REQUIRE(rig.surface.width() == 640);
  REQUIRE(rig.surface.height() == 480);
  CHECK(rig.surface.pixel(633, 479) == 0xffff00);
  CHECK(rig.surface.pixel(632, 479) == 0x000000);
  CHECK(rig.surface.pixel(634, 479) == 0x000000);
}

TEST_CASE("vga: CGA mode 4 interleaves odd scanlines at 0x2000", "[vga]") {
  Rig rig;
  rig.set_registers(0x63, {0x03, 0x09, 0x03, 0x00, 0x02},
                    {0x2d, 0x27, 0x28, 0x90, 0x2b, 0x80, 0xbf, 0x1f, 0x00,
                     0xc1, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x9c, 0x8e,
                     0x8f, 0x14, 0x00, 0x96, 0xb9, 0xa2, 0xff},
                    {0x00, 0x00, 0x00, 0x00, 0x00, 0x30, 0x0f, 0x00, 0xff},
                    {0x00, 0x13, 0x15, 0x17, 0x02, 0x04, 0x06,
                     0x07, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15,
                     0x16, 0x17, 0x01, 0x00, 0x03, 0x00, 0x00});
  rig.dac(0x17, 0x3f, 0x3f, 0x3f);
  rig.enable_display();
  // Pixel (5, 1): odd scanline, byte 1 of its line, bits 5-4.
  rig.poke(0xb8000 + 0x2000 + 1, 0x30);
  rig.renderer->update(0);
  REQUIRE(rig.surface.width() == 320);
  REQUIRE(rig.surface.height() == 200);
  CHECK(rig.surface.pixel(5, 1) == 0xffffff);
  CHECK(rig.surface.pixel(5, 0) == 0);
  CHECK(rig.surface.pixel(4, 1) == 0);
  CHECK(rig.surface.pixel(5, 3) == 0);
}

TEST_CASE("vga: text mode renders glyphs from plane 2 in DAC colours",
          "[vga]") {
  Rig rig;
  rig.set_text_mode();
  rig.load_font();
  rig.dac(0x01, 0x00, 0x00, 0x2a);     // blue
  rig.dac(0x3f, 0x3f, 0x3f, 0x3f);     // bright white
  rig.indexed(0x3d4, 0x0e, 800 / 256); // cursor at row 10, column 0
  rig.indexed(0x3d4, 0x0f, 800 % 256);
  rig.enable_display();
  uint16_t cells[2] = {0x1f00 | 'H', 0x1f00 | 'i'};
  rig.memory.write(0xb8000, cells, sizeof cells);
  uint16_t blank = 0x1f00 | ' ';
  rig.memory.write(0xb8000 + 800 * 2, &blank, sizeof blank);

  Vga::TextScreen screen = rig.vga->text_screen();
  CHECK(screen.columns == 80);
  CHECK(screen.rows == 25);
  CHECK(screen.line(0).substr(0, 2) == "Hi");
  CHECK(screen.cells[0] == 0x1f48);
  CHECK(screen.cursor_row == 10);
  CHECK(screen.cursor_column == 0);

  rig.renderer->update(0);
  REQUIRE(rig.surface.width() == 720);
  REQUIRE(rig.surface.height() == 400);
  const uint32_t white = 0xffffff, blue = 0x0000aa;
  const char text[2] = {'H', 'i'};
  for (unsigned cell = 0; cell < 2; ++cell)
    for (unsigned line = 0; line < 16; ++line) {
      uint8_t glyph = kVgaFont8x16[uint8_t(text[cell])][line];
      for (unsigned dot = 0; dot < 8; ++dot) {
        uint32_t expected = (glyph >> (7 - dot)) & 1 ? white : blue;
        INFO("cell " << cell << " line " << line << " dot " << dot);
        CHECK(rig.surface.pixel(cell * 9 + dot, line) == expected);
      }
      CHECK(rig.surface.pixel(cell * 9 + 8, line) == blue);
    }
  // Cursor lines 13-14 of row 10, in the cell's foreground, blinking.
  CHECK(rig.surface.pixel(3, 10 * 16 + 13) == white);
  CHECK(rig.surface.pixel(8, 10 * 16 + 14) == white);
  CHECK(rig.surface.pixel(3, 10 * 16 + 12) == blue);
  rig.surface.clear_damage();
  rig.renderer->update(VgaRenderer::kCursorBlinkNs);
  CHECK(rig.surface.pixel(3, 10 * 16 + 13) == blue);
  CHECK(rig.surface.damage_rects() ==
        std::vector<Surface::Rect>{{0, 10 * 16 + 13, 9, 2}});
}

TEST_CASE("vga: 40-column text doubles dots; blinking characters blink",
          "[vga]") {
  Rig rig;
  rig.set_text_mode();
  rig.load_font();
  rig.indexed(0x3d4, 0x11, 0x0e); // mode 3 left CRTC 0-7 protected
  rig.indexed(0x3d4, 0x01, 0x27);
  rig.indexed(0x3d4, 0x13, 0x14);
  rig.indexed(0x3d4, 0x0a, 0x20); // no cursor
  rig.indexed(0x3c4, 0x01, 0x08); // half dot clock, 9-dot cells
  rig.dac(0x01, 0x00, 0x00, 0x2a);
  rig.dac(0x3f, 0x3f, 0x3f, 0x3f);
  rig.enable_display();
  uint16_t cell = 0x9f00 | 'H'; // blink, blue background, white foreground
  rig.memory.write(0xb8000, &cell, sizeof cell);

  CHECK(rig.vga->text_screen().columns == 40);
  rig.renderer->update(0);
  REQUIRE(rig.surface.width() == 720);
  REQUIRE(rig.surface.height() == 400);
  uint8_t glyph = kVgaFont8x16['H'][6]; // the bar of the H
  for (unsigned dot = 0; dot < 8; ++dot) {
    uint32_t expected = (glyph >> (7 - dot)) & 1 ? 0xffffff : 0x0000aa;
    CHECK(rig.surface.pixel(2 * dot, 6) == expected);
    CHECK(rig.surface.pixel(2 * dot + 1, 6) == expected);
  }
  rig.renderer->update(VgaRenderer::kCharacterBlinkNs);
  for (unsigned x = 0; x < 18; ++x)
    CHECK(rig.surface.pixel(x, 6) == 0x0000aa);
  // Without the blink enable, bit 7 is a bright background instead.
  rig.attribute(0x10, 0x04);
  rig.enable_display();
  rig.dac(0x39, 0x15, 0x15, 0x3f);
  rig.renderer->update(VgaRenderer::kCharacterBlinkNs);
  CHECK(rig.surface.pixel(0, 6) == 0xffffff);
  CHECK(rig.surface.pixel(0, 0) == 0x5555ff);
}

TEST_CASE("vga: VBE 640x480x32 through the linear framebuffer", "[vga]") {
  Rig rig;
  CHECK(rig.vbe_read(Vga::VBE_ID) == 0xb0c5);
  CHECK(rig.vbe_read(Vga::VBE_VIDEO_MEMORY_64K) == 256);
  rig.vbe(Vga::VBE_ENABLE, Vga::kVbeGetCaps);
  CHECK(rig.vbe_read(Vga::VBE_XRES) == Vga::kVbeMaxXres);
  CHECK(rig.vbe_read(Vga::VBE_BPP) == 32);
  rig.vbe(Vga::VBE_ENABLE, 0);

  rig.map_bars();
  rig.out(0x3c2, 0x01); // colour I/O: status 1 at 0x3DA
  rig.vbe(Vga::VBE_XRES, 640);
  rig.vbe(Vga::VBE_YRES, 480);
  rig.vbe(Vga::VBE_BPP, 32);
  rig.vbe(Vga::VBE_ENABLE, Vga::kVbeEnabled | Vga::kVbeLfbEnabled);
  rig.enable_display();
  CHECK(rig.vbe_read(Vga::VBE_XRES) == 640);
  CHECK(rig.vbe_read(Vga::VBE_VIRT_WIDTH) == 640);
  CHECK(rig.vbe_read(Vga::VBE_VIRT_HEIGHT) == Vga::kVramSize / (640 * 4));

  // The framebuffer BAR is RAM over the VRAM: no MMIO exit per pixel.
  const GuestMemory::Segment *segment = rig.memory.find(kFramebufferAddress);
  REQUIRE(segment != nullptr);
  CHECK(segment->kind == GuestMemory::Kind::Ram);
  CHECK(rig.memory.host_pointer(kFramebufferAddress, true) == rig.vga->vram());

  rig.renderer->update(0);
  REQUIRE(rig.surface.width() == 640);
  REQUIRE(rig.surface.height() == 480);
  rig.surface.clear_damage();
  rig.renderer->update(0);
  CHECK_FALSE(rig.surface.damaged());

  uint32_t pixel = 0x00123456;
  rig.memory.write(kFramebufferAddress + (300 * 640 + 200) * 4, &pixel, 4);
  // The MMIO bus reaches the same bytes, for engines that dispatch there.
  CHECK(rig.mmio.read(kFramebufferAddress + (300 * 640 + 200) * 4, 4) == pixel);
  rig.renderer->update(0);
  CHECK(rig.surface.pixel(200, 300) == 0x123456);
  CHECK(rig.surface.damage_rects() ==
        std::vector<Surface::Rect>{{200, 300, 1, 1}});

  // Panning moves the origin by whole lines.
  rig.surface.clear_damage();
  rig.vbe(Vga::VBE_Y_OFFSET, 100);
  rig.renderer->update(0);
  CHECK(rig.surface.pixel(200, 200) == 0x123456);
  CHECK(rig.surface.pixel(200, 300) == 0);

  // The legacy window is a 64 KiB bank of the same memory.
  rig.vbe(Vga::VBE_BANK, 1);
  rig.poke(0xa0004, 0x77);
  CHECK(rig.vga->vram()[0x10004] == 0x77);

  // Clearing the palette address source blanks the screen.
  rig.in(0x3da);
  rig.out(0x3c0, 0x00);
  rig.renderer->update(0);
  CHECK(rig.surface.pixel(200, 200) == 0);
  rig.enable_display();
  rig.renderer->update(0);
  CHECK(rig.surface.pixel(200, 200) == 0x123456);

  // Moving the BAR moves the RAM mapping with it.
  config_write(rig.io, kSlot, 0, 0x10, 4, 0xd0000000);
  CHECK(rig.memory.host_pointer(0xd0000000, true) == rig.vga->vram());
  CHECK(rig.memory.find(kFramebufferAddress)->kind == GuestMemory::Kind::Mmio);
  CHECK(rig.peek(kFramebufferAddress) == 0xff);
  config_write(rig.io, kSlot, 0, 0x04, 2, 0);
  CHECK(rig.memory.find(0xd0000000)->kind == GuestMemory::Kind::Mmio);
}

TEST_CASE("vga: VBE 8, 15, 16 and 24 bpp pixels convert to XRGB", "[vga]") {
  struct Case {
    uint16_t bpp;
    std::vector<uint8_t> bytes;
    uint32_t expected;
  };
  std::vector<Case> cases = {
      {8, {0x10}, 0xff0000},
      {15, {0x1f, 0x7c}, 0xff00ff},
      {16, {0xe0, 0x07}, 0x00ff00},
      {24, {0x01, 0x02, 0x03}, 0x030201},
  };
  for (const Case &c : cases) {
    Rig rig;
    rig.dac(0x10, 0x3f, 0x00, 0x00);
    rig.vbe(Vga::VBE_XRES, 320);
    rig.vbe(Vga::VBE_YRES, 200);
    rig.vbe(Vga::VBE_BPP, c.bpp);
    rig.vbe(Vga::VBE_ENABLE, Vga::kVbeEnabled);
    rig.enable_display();
    for (size_t i = 0; i < c.bytes.size(); ++i)
      rig.poke(0xa0000 + c.bytes.size() * 5 + i, c.bytes[i]);
    rig.renderer->update(0);
    INFO("bpp " << c.bpp);
    CHECK(rig.surface.pixel(5, 0) == c.expected);
    CHECK(rig.surface.pixel(4, 0) == 0);
  }
}

TEST_CASE("vga: VBE 4-bit planar modes bank plane addresses", "[vga]") {
  Rig rig;
  rig.set_mode_12h(); // the planar register set the VGA BIOS starts from
  rig.dac(0x3c, 0x3f, 0x3f, 0x00);
  rig.vbe(Vga::VBE_XRES, 1024);
  rig.vbe(Vga::VBE_YRES, 768);
  rig.vbe(Vga::VBE_BPP, 4);
  rig.vbe(Vga::VBE_ENABLE, Vga::kVbeEnabled);
  rig.enable_display();
  CHECK(rig.vga->vbe_line_bytes() == 512);
  // Pixel (9, 700): plane address 700 * 128 + 1, in bank 1.
  uint32_t address = 700 * 128 + 1;
  rig.vbe(Vga::VBE_BANK, 1);
  rig.indexed(0x3ce, 0x05, 0x02);
  rig.indexed(0x3ce, 0x08, 0x40);
  rig.peek(0xa0000 + address - 0x10000);
  rig.poke(0xa0000 + address - 0x10000, 12);
  CHECK(rig.vga->vram()[size_t(address) * 4 + 2] == 0x40);
  rig.renderer->update(0);
  REQUIRE(rig.surface.width() == 1024);
  REQUIRE(rig.surface.height() == 768);
  CHECK(rig.surface.pixel(9, 700) == 0xffff00);
  CHECK(rig.surface.pixel(8, 700) == 0);
  CHECK(rig.surface.pixel(9, 700 - 512) == 0);
}

TEST_CASE("vga: state round-trips through the PCI bus", "[vga]") {
  StateWriter out;
  {
    Rig rig;
    rig.map_bars();
    rig.set_mode_13h();
    rig.dac(0x2c, 0x3f, 0x00, 0x15);
    rig.out(0x3c6, 0x7f);
    rig.enable_display();
    rig.poke(0xa0000 + 1234, 0x2c);
    rig.vbe(Vga::VBE_XRES, 800);
    rig.in(0x3da);
    rig.out(0x3c0, 0x31); // flip-flop left at data
    rig.bus.save(out);
  }
  Rig rig;
  StateReader in(out.data());
  rig.bus.load(in);
  CHECK(in.at_end());
  CHECK(rig.in(0x3cc) == 0x63);
  CHECK(rig.indexed_read(0x3c4, 0x04) == 0x0e);
  CHECK(rig.indexed_read(0x3d4, 0x09) == 0x41);
  CHECK(rig.indexed_read(0x3ce, 0x05) == 0x40);
  CHECK(rig.vga->dac(0x2c) == std::array<uint8_t, 3>{0x3f, 0x00, 0x15});
  CHECK(rig.in(0x3c6) == 0x7f);
  CHECK(rig.peek(0xa0000 + 1234) == 0x2c);
  CHECK(rig.vbe_read(Vga::VBE_XRES) == 800);
  rig.out(0x3c0, 0x3f); // data for index 0x11
  CHECK(rig.vga->attribute(0x11) == 0x3f);
  CHECK(rig.memory.host_pointer(kFramebufferAddress, true) == rig.vga->vram());
  rig.out(0x3c6, 0xff);
  rig.renderer->update(0);
  CHECK(rig.surface.pixel(1234 % 320, 1234 / 320) == 0xff0055);
}

TEST_CASE("vga: reset restores power-on registers", "[vga]") {
  Rig rig;
  rig.set_text_mode();
  rig.dac(3, 1, 2, 3);
  rig.out(0x3c6, 0x0f);
  rig.vbe(Vga::VBE_XRES, 1024);
  rig.bus.reset();
  CHECK(rig.in(0x3cc) == 0x00);
  CHECK(rig.in(0x3c6) == 0xff);
  CHECK(rig.vga->dac(3) == std::array<uint8_t, 3>{0, 0, 0});
  CHECK(rig.indexed_read(0x3b4, 0x01) == 0x00);
  CHECK(rig.vbe_read(Vga::VBE_XRES) == 0);
  CHECK(rig.vbe_read(Vga::VBE_ID) == 0xb0c5);
  CHECK_FALSE(rig.vga->palette_enabled());
}

TEST_CASE("vga: register BAR reaches the VGA ports and DISPI registers",
          "[vga]") {
  Rig rig;
  rig.map_bars();
  rig.mmio.write(kRegisterBarAddress + 0x400 + 0x08, 1, 9); // 0x3C8
  rig.mmio.write(kRegisterBarAddress + 0x400 + 0x09, 1, 0x11);
  rig.mmio.write(kRegisterBarAddress + 0x400 + 0x09, 1, 0x22);
  rig.mmio.write(kRegisterBarAddress + 0x400 + 0x09, 1, 0x33);
  CHECK(rig.vga->dac(9) == std::array<uint8_t, 3>{0x11, 0x22, 0x33});
  rig.mmio.write(kRegisterBarAddress + 0x500 + 2 * Vga::VBE_XRES, 2, 1024);
  CHECK(rig.vbe_read(Vga::VBE_XRES) == 1024);
  CHECK(rig.mmio.read(kRegisterBarAddress + 0x500 + 2 * Vga::VBE_ID, 2) ==
        0xb0c5);
}

TEST_CASE("vga: random register and memory traffic stays within bounds",
          "[vga]") {
  Rig rig;
  rig.map_bars();
  std::mt19937 random(1234);
  auto next = [&](unsigned limit) { return unsigned(random() % limit); };
  for (unsigned op = 0; op < 20000; ++op) {
    switch (next(5)) {
    case 0:
    case 1:
      rig.out(uint16_t(0x3b0 + next(0x30)), uint8_t(random()));
      break;
    case 2:
      rig.vbe(uint16_t(next(12)), uint16_t(random()));
      break;
    case 3:
      rig.poke(0xa0000 + next(0x20000), uint8_t(random()));
      break;
    default:
      rig.peek(0xa0000 + next(0x20000));
      rig.in(uint16_t(0x3b0 + next(0x30)));
      break;
    }
    if (op % 250 == 0) {
      rig.renderer->update(uint64_t(op) * 1000000);
      CHECK(rig.surface.width() <= 8192);
      CHECK(rig.surface.height() <= 4096);
    }
  }
}

TEST_CASE("vga font: code page 437 landmarks", "[vga]") {
  for (unsigned line = 0; line < 16; ++line) {
    CHECK(kVgaFont8x16[0x00][line] == 0x00); // blank
    CHECK(kVgaFont8x16[0x20][line] == 0x00); // space
    CHECK(kVgaFont8x16[0xdb][line] == 0xff); // full block
    CHECK(kVgaFont8x16[0xdc][line] == (line >= 8 ? 0xff : 0x00));
    CHECK(kVgaFont8x16[0xb3][line] == 0x18); // vertical line
  }
  // 'H': two uprights joined by a bar.
  CHECK(kVgaFont8x16['H'][3] == 0xc6);
  CHECK(kVgaFont8x16['H'][6] == 0xfe);
}

TEST_CASE(
    "vga: text updates redraw only changed cells, and all on a font change",
    "[vga]") {
  Rig rig;
  rig.set_text_mode();
  rig.load_font();
  rig.dac(0x07, 0x2a, 0x2a, 0x2a);
  rig.indexed(0x3d4, 0x0a, 0x20); // cursor off
  rig.enable_display();
  for (unsigned cell = 0; cell < 80 * 25; ++cell) {
    uint16_t value = 0x0700 | 'A';
    rig.memory.write(0xb8000 + 2 * cell, &value, 2);
  }
  rig.renderer->update(0);
  rig.surface.clear_damage();
  rig.renderer->update(0);
  CHECK_FALSE(rig.surface.damaged());

  uint16_t b = 0x0700 | 'B';
  rig.memory.write(0xb8000 + 2 * (3 * 80 + 10), &b, 2);
  rig.renderer->update(0);
  std::vector<Surface::Rect> rects = rig.surface.damage_rects();
  REQUIRE(rects.size() == 1);
  CHECK(rects[0].y >= 3 * 16);
  CHECK(rects[0].y + rects[0].height <= 4 * 16);
  CHECK(rects[0].x >= 10 * 9);
  CHECK(rects[0].x + rects[0].width <= 11 * 9);
  rig.surface.clear_damage();

  // A new glyph for 'A' in plane 2 changes every cell showing it.
  rig.indexed(0x3c4, 0x02, 0x04);
  rig.indexed(0x3c4, 0x04, 0x06);
  rig.indexed(0x3ce, 0x05, 0x00);
  rig.indexed(0x3ce, 0x06, 0x04);
  rig.poke(0xa0000 + 'A' * 32 + 0, 0xff);
  rig.indexed(0x3c4, 0x02, 0x03);
  rig.indexed(0x3c4, 0x04, 0x02);
  rig.indexed(0x3ce, 0x05, 0x10);
  rig.indexed(0x3ce, 0x06, 0x0e);
  rig.renderer->update(0);
  CHECK(rig.surface.pixel(0, 24 * 16) == 0xaaaaaa);
  CHECK(rig.surface.pixel(10 * 9, 3 * 16) == 0x000000); // the 'B' cell
  CHECK(rig.surface.damage_rects().size() == 25);
}
