// Usage: display_bench
// The host cost of a display update, from guest writes to the damage
// rectangles a console sends on: the VGA renderer's pass over the frame
// (render, compare with the surface, copy what differs) plus collecting and
// clearing the damage. Measured for a full-screen change and a one-character
// change in 80x25 text mode, and for a full frame and one 8x16 cell in a
// 1024x768x32 VBE mode. Prints the mean in microseconds.

#include <chrono>
#include <cstdio>
#include <mutex>

#include "devices/pci_bus.h"
#include "devices/vga.h"
#include "devices/vga_font.h"
#include "devices/vga_render.h"
#include "machine/io_bus.h"
#include "machine/memory.h"
#include "ui/surface.h"

using namespace sable;

namespace {

constexpr uint64_t kFramebufferAddress = 0xe0000000;

struct Display {
  std::recursive_mutex lock;
  IoPortBus io{lock};
  MmioBus mmio{lock};
  GuestMemory memory{mmio};
  PciBus bus{io, mmio, nullptr};
  std::unique_ptr<Vga> vga;
  Surface surface;
  std::unique_ptr<VgaRenderer> renderer;
  uint64_t now_ns = 0;

  Display() {
    memory.add_ram("ram", 0, 1 << 20);
    memory.add_mmio("vga-window", Vga::kWindowBase, Vga::kWindowSize);
    memory.add_mmio("pci-window", 0xc0000000, 0x3ec00000);
    io.map(0xcf8, 8, &bus);
    vga = std::make_unique<Vga>(bus, 2, io, mmio, memory);
    renderer = std::make_unique<VgaRenderer>(*vga, surface);
  }
  void out(uint16_t port, uint8_t value) { io.write(port, 1, value); }
  void indexed(uint16_t port, uint8_t index, uint8_t value) {
    out(port, index);
    out(port + 1, value);
  }
  void attribute(uint8_t index, uint8_t value) {
    io.read(0x3da, 1);
    out(0x3c0, index);
    out(0x3c0, value);
  }
  void vbe(uint16_t index, uint16_t value) {
    io.write(0x1ce, 2, index);
    io.write(0x1cf, 2, value);
  }
  // BIOS mode 3 (IBM VGA register tables) with the 8x16 font in plane 2
  // and a grey-on-black palette entry 7.
  void text_mode() {
    const uint8_t seq[] = {0x03, 0x00, 0x03, 0x00, 0x02};
    const uint8_t crtc[] = {0x5f, 0x4f, 0x50, 0x82, 0x55, 0x81, 0xbf,
                            0x1f, 0x00, 0x4f, 0x0d, 0x0e, 0x00, 0x00,
                            0x00, 0x00, 0x9c, 0x8e, 0x8f, 0x28, 0x1f,
                            0x96, 0xb9, 0xa3, 0xff};
    const uint8_t gfx[] = {0x00, 0x00, 0x00, 0x00, 0x00,
                           0x10, 0x0e, 0x00, 0xff};
    const uint8_t attr[] = {0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x14,
                            0x07, 0x38, 0x39, 0x3a, 0x3b, 0x3c, 0x3d,
                            0x3e, 0x3f, 0x0c, 0x00, 0x0f, 0x08, 0x00};
    out(0x3c2, 0x67);
    for (unsigned i = 0; i < sizeof seq; ++i)
      indexed(0x3c4, uint8_t(i), seq[i]);
    indexed(0x3d4, 0x11, 0x00);
    for (unsigned i = 0; i < sizeof crtc; ++i)
      indexed(0x3d4, uint8_t(i), crtc[i]);
    for (unsigned i = 0; i < sizeof gfx; ++i)
      indexed(0x3ce, uint8_t(i), gfx[i]);
    for (unsigned i = 0; i < sizeof attr; ++i)
      attribute(uint8_t(i), attr[i]);
    indexed(0x3c4, 0x02, 0x04);
    indexed(0x3c4, 0x04, 0x06);
    indexed(0x3ce, 0x05, 0x00);
    indexed(0x3ce, 0x06, 0x04);
    for (unsigned c = 0; c < 256; ++c)
      memory.write(0xa0000 + c * 32, kVgaFont8x16[c], 16);
    indexed(0x3c4, 0x02, 0x03);
    indexed(0x3c4, 0x04, 0x02);
    indexed(0x3ce, 0x05, 0x10);
    indexed(0x3ce, 0x06, 0x0e);
    out(0x3c8, 7);
    for (int i = 0; i < 3; ++i)
      out(0x3c9, 0x2a);
    io.read(0x3da, 1);
    out(0x3c0, 0x20);
  }
  void vbe_mode(uint16_t width, uint16_t height) {
    io.write(0xcf8, 4, 0x80000000u | 2 << 11 | 0x10);
    io.write(0xcfc, 4, uint32_t(kFramebufferAddress));
    io.write(0xcf8, 4, 0x80000000u | 2 << 11 | 0x04);
    io.write(0xcfc, 2, 0x2);
    vbe(Vga::VBE_XRES, width);
    vbe(Vga::VBE_YRES, height);
    vbe(Vga::VBE_BPP, 32);
    vbe(Vga::VBE_ENABLE, Vga::kVbeEnabled | Vga::kVbeLfbEnabled);
    io.read(0x3da, 1);
    out(0x3c0, 0x20);
  }
  // What a console does each refresh; returns the damaged pixel count.
  size_t update() {
    renderer->update(now_ns);
    size_t pixels = 0;
    for (const Surface::Rect &rect : surface.damage_rects())
      pixels += size_t(rect.width) * rect.height;
    surface.clear_damage();
    return pixels;
  }
};

template <typename Change>
void measure(const char *what, Display &display, unsigned runs, Change change) {
  using Clock = std::chrono::steady_clock;
  display.update();
  size_t damaged = 0;
  Clock::duration total{};
  for (unsigned run = 0; run < runs; ++run) {
    change(run);
    Clock::time_point start = Clock::now();
    damaged = display.update();
    total += Clock::now() - start;
  }
  double us = std::chrono::duration<double, std::micro>(total).count() / runs;
  std::printf("%-44s %9.1f us  (%zu pixels damaged)\n", what, us, damaged);
}

} // namespace

int main() {
  {
    Display display;
    display.text_mode();
    auto fill = [&](char c) {
      for (unsigned cell = 0; cell < 80 * 25; ++cell) {
        uint16_t value = uint16_t(0x0700 | uint8_t(c));
        display.memory.write(0xb8000 + 2 * cell, &value, 2);
      }
    };
    fill('A');
    measure("text 80x25: full screen changes", display, 200,
            [&](unsigned run) { fill(run % 2 ? 'A' : 'B'); });
    measure("text 80x25: one character changes", display, 2000,
            [&](unsigned run) {
              uint16_t value = uint16_t(0x0700 | (run % 2 ? 'A' : 'B'));
              display.memory.write(0xb8000 + 2 * (12 * 80 + 40), &value, 2);
            });
    measure("text 80x25: nothing changes", display, 2000, [](unsigned) {});
  }
  {
    Display display;
    display.vbe_mode(1024, 768);
    uint8_t *framebuffer =
        display.memory.host_pointer(kFramebufferAddress, true);
    measure("VBE 1024x768x32: full screen changes", display, 100,
            [&](unsigned run) {
              uint32_t colour = run % 2 ? 0x00336699 : 0x00996633;
              auto *pixels = reinterpret_cast<uint32_t *>(framebuffer);
              for (size_t i = 0; i < 1024 * 768; ++i)
                pixels[i] = colour;
            });
    measure("VBE 1024x768x32: one 8x16 cell changes", display, 1000,
            [&](unsigned run) {
              auto *pixels = reinterpret_cast<uint32_t *>(framebuffer);
              for (unsigned y = 0; y < 16; ++y)
                for (unsigned x = 0; x < 8; ++x)
                  pixels[(384 + y) * 1024 + 512 + x] = run % 2 ? 0xffffff : 0;
            });
    measure("VBE 1024x768x32: nothing changes", display, 1000, [](unsigned) {});
  }
  return 0;
}
