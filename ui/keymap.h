#pragma once
// Host key codes to the PC set-1 make codes the i8042 takes (see
// Ps2Keyboard::key_event): USB HID keyboard usages, which SDL's scancodes
// are, and X11 keysyms, which VNC clients send.

#include <cstdint>

namespace sable {

// 0 for a usage with no PC key.
uint16_t usb_usage_to_set1(unsigned usage);

// A keysym names the symbol, not the key: both cases of a letter and both
// symbols of a key ('1' and '!') map to the same key, and the client's own
// Shift events pick the symbol. 0 for a keysym with no PC key.
uint16_t keysym_to_set1(uint32_t keysym);

} // namespace sable
