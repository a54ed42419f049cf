// Usage: xwd-text VGABIOS FILE.xwd TEXT...
// Reads an X window dump (as `xwd -root` writes it) and exits 0 when every
// TEXT shows on it in the VGA BIOS's font, else 1 naming what is missing.

#include <cstdio>
#include <fstream>
#include <iterator>
#include <stdexcept>

#include "screen_text.h"

using sable::test::Image;

namespace {

// XWDFileHeader (X11/XWDFile.h): 25 big-endian 32-bit fields.
enum XwdField {
  kHeaderSize,
  kFileVersion,
  kPixmapFormat,
  kPixmapDepth,
  kPixmapWidth,
  kPixmapHeight,
  kXOffset,
  kByteOrder,
  kBitmapUnit,
  kBitmapBitOrder,
  kBitmapPad,
  kBitsPerPixel,
  kBytesPerLine,
  kVisualClass,
  kRedMask,
  kGreenMask,
  kBlueMask,
  kBitsPerRgb,
  kColormapEntries,
  kColourCount,
  kFieldCount = 25,
};
constexpr unsigned kZPixmap = 2;
constexpr unsigned kXwdColourSize = 12;

uint32_t big_endian(const std::vector<uint8_t> &data, size_t at) {
  if (at + 4 > data.size())
    throw std::runtime_error("truncated dump");
  return uint32_t(data[at]) << 24 | uint32_t(data[at + 1]) << 16 |
         uint32_t(data[at + 2]) << 8 | data[at + 3];
}

uint8_t channel(uint32_t pixel, uint32_t mask) {
  if (!mask)
    return 0;
  unsigned shift = 0;
  while (!((mask >> shift) & 1))
    ++shift;
  return uint8_t(((pixel & mask) >> shift) * 255 / (mask >> shift));
}

Image read_xwd(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw std::runtime_error("cannot open " + path);
  std::vector<uint8_t> data((std::istreambuf_iterator<char>(in)), {});
  uint32_t field[kFieldCount];
  for (unsigned i = 0; i < kFieldCount; ++i)
    field[i] = big_endian(data, 4 * i);
  if (field[kFileVersion] != 7 || field[kPixmapFormat] != kZPixmap)
    throw std::runtime_error("not a ZPixmap XWD file");
  Image image;
  image.width = field[kPixmapWidth];
  image.height = field[kPixmapHeight];
  // Depth-24 dumps come with 32 or (packed, lines still padded) 24 bits
  // per pixel.
  unsigned pixel_bytes = field[kBitsPerPixel] / 8;
  if (field[kBitsPerPixel] != 24 && field[kBitsPerPixel] != 32)
    throw std::runtime_error("not a 24- or 32-bit XWD file");
  size_t start =
      field[kHeaderSize] + size_t(field[kColourCount]) * kXwdColourSize;
  size_t pitch = field[kBytesPerLine];
  if (start + pitch * image.height > data.size())
    throw std::runtime_error("truncated dump");
  bool msb_first = field[kByteOrder] == 1;
  image.pixels.resize(size_t(image.width) * image.height);
  for (unsigned y = 0; y < image.height; ++y)
    for (unsigned x = 0; x < image.width; ++x) {
      const uint8_t *p = data.data() + start + y * pitch + pixel_bytes * x;
      uint32_t pixel = 0;
      for (unsigned i = 0; i < pixel_bytes; ++i)
        pixel |= uint32_t(p[i]) << (8 * (msb_first ? pixel_bytes - 1 - i : i));
      image.pixels[size_t(y) * image.width + x] =
          uint32_t(channel(pixel, field[kRedMask])) << 16 |
          uint32_t(channel(pixel, field[kGreenMask])) << 8 |
          channel(pixel, field[kBlueMask]);
    }
  return image;
}

} // namespace

int main(int argc, char **argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: xwd-text VGABIOS FILE.xwd TEXT...\n");
    return 2;
  }
  try {
    sable::test::Font font = sable::test::vga_bios_font(argv[1]);
    Image image = read_xwd(argv[2]);
    int status = 0;
    for (int i = 3; i < argc; ++i) {
      sable::test::TextMatch match =
          sable::test::find_text(image, font, argv[i]);
      if (match.found) {
        std::printf("found '%s' at %u,%u\n", argv[i], match.x, match.y);
      } else {
        std::printf("missing '%s' on the %ux%u screenshot\n", argv[i],
                    image.width, image.height);
        status = 1;
      }
    }
    return status;
  } catch (const std::exception &e) {
    std::fprintf(stderr, "xwd-text: %s\n", e.what());
    return 2;
  }
}
