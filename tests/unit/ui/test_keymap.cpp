#include <catch2/catch.hpp>

#include "ui/keymap.h"

using namespace sable;

TEST_CASE("keymap: USB usages map to set-1 codes, extended keys with E0") {
  CHECK(usb_usage_to_set1(0x04) == 0x1e);   // a
  CHECK(usb_usage_to_set1(0x1d) == 0x2c);   // z
  CHECK(usb_usage_to_set1(0x27) == 0x0b);   // 0
  CHECK(usb_usage_to_set1(0x28) == 0x1c);   // Enter
  CHECK(usb_usage_to_set1(0x45) == 0x58);   // F12
  CHECK(usb_usage_to_set1(0x46) == 0xe037); // Print Screen
  CHECK(usb_usage_to_set1(0x48) == 0xe11d); // Pause
  CHECK(usb_usage_to_set1(0x52) == 0xe048); // Up
  CHECK(usb_usage_to_set1(0x54) == 0xe035); // keypad /
  CHECK(usb_usage_to_set1(0x58) == 0xe01c); // keypad Enter
  CHECK(usb_usage_to_set1(0x63) == 0x53);   // keypad .
  CHECK(usb_usage_to_set1(0x65) == 0xe05d); // Application
  CHECK(usb_usage_to_set1(0xe0) == 0x1d);   // left Control
  CHECK(usb_usage_to_set1(0xe6) == 0xe038); // right Alt
  CHECK(usb_usage_to_set1(0xe7) == 0xe05c); // right GUI
  CHECK(usb_usage_to_set1(0x00) == 0);
  CHECK(usb_usage_to_set1(0x68) == 0); // F13: no PC/AT key
  CHECK(usb_usage_to_set1(0x1000) == 0);
}

TEST_CASE("keymap: keysyms name the key, the client's Shift picks the symbol") {
  CHECK(keysym_to_set1('a') == 0x1e);
  CHECK(keysym_to_set1('A') == 0x1e);
  CHECK(keysym_to_set1('1') == 0x02);
  CHECK(keysym_to_set1('!') == 0x02);
  CHECK(keysym_to_set1(')') == 0x0b);
  CHECK(keysym_to_set1('$') == 0x05);
  CHECK(keysym_to_set1(' ') == 0x39);
  CHECK(keysym_to_set1('-') == 0x0c);
  CHECK(keysym_to_set1('?') == 0x35);
  CHECK(keysym_to_set1('~') == 0x29);
  CHECK(keysym_to_set1(0xff0d) == 0x1c);   // Return
  CHECK(keysym_to_set1(0xff08) == 0x0e);   // BackSpace
  CHECK(keysym_to_set1(0xffbe) == 0x3b);   // F1
  CHECK(keysym_to_set1(0xffc9) == 0x58);   // F12
  CHECK(keysym_to_set1(0xff52) == 0xe048); // Up
  CHECK(keysym_to_set1(0xffff) == 0xe053); // Delete
  CHECK(keysym_to_set1(0xffe1) == 0x2a);   // Shift_L
  CHECK(keysym_to_set1(0xffe4) == 0xe01d); // Control_R
  CHECK(keysym_to_set1(0xff8d) == 0xe01c); // KP_Enter
  CHECK(keysym_to_set1(0xffb7) == 0x47);   // KP_7
  CHECK(keysym_to_set1(0xffb0) == 0x52);   // KP_0
  CHECK(keysym_to_set1(0x20ac) == 0);      // EuroSign: no key
}
