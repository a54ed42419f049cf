#pragma once
// The VGA's 8x16 character set, code page 437: glyph rows top first, the
// leftmost pixel in bit 7. The VGA BIOS loads its own font into plane 2;
// this table serves tests and hosts that draw text without one.

#include <cstdint>

namespace sable {

extern const uint8_t kVgaFont8x16[256][16];

} // namespace sable
