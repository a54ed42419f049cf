#include "ui/keymap.h"

#include <array>
#include <cctype>

namespace sable {

namespace {

// USB HID Usage Tables, keyboard page (0x07), against the set-1 codes of
// the same keys on a PC/AT keyboard.
constexpr std::array<uint16_t, 0x66> kUsageToSet1 = {
    0, 0, 0, 0,
    // a-z
    0x1e, 0x30, 0x2e, 0x20, 0x12, 0x21, 0x22, 0x23, 0x17, 0x24, 0x25, 0x26,
    0x32, 0x31, 0x18, 0x19, 0x10, 0x13, 0x1f, 0x14, 0x16, 0x2f, 0x11, 0x2d,
    0x15, 0x2c,
    // 1-9, 0
    0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b,
    // Enter, Escape, Backspace, Tab, Space, - = [ ] \ (non-US #) ; ' ` , . /
    0x1c, 0x01, 0x0e, 0x0f, 0x39, 0x0c, 0x0d, 0x1a, 0x1b, 0x2b, 0x2b, 0x27,
    0x28, 0x29, 0x33, 0x34, 0x35,
    // Caps Lock, F1-F12
    0x3a, 0x3b, 0x3c, 0x3d, 0x3e, 0x3f, 0x40, 0x41, 0x42, 0x43, 0x44, 0x57,
    0x58,
    // Print Screen, Scroll Lock, Pause, Insert, Home, Page Up, Delete, End,
    // Page Down, Right, Left, Down, Up
    0xe037, 0x46, 0xe11d, 0xe052, 0xe047, 0xe049, 0xe053, 0xe04f, 0xe051,
    0xe04d, 0xe04b, 0xe050, 0xe048,
    // Num Lock, keypad / * - + Enter 1-9 0 .
    0x45, 0xe035, 0x37, 0x4a, 0x4e, 0xe01c, 0x4f, 0x50, 0x51, 0x4b, 0x4c, 0x4d,
    0x47, 0x48, 0x49, 0x52, 0x53,
    // non-US \ (102nd key), Application (menu)
    0x56, 0xe05d};

// Left Control, Shift, Alt, GUI, then the right ones (usages 0xE0-0xE7).
constexpr std::array<uint16_t, 8> kModifierToSet1 = {
    0x1d, 0x2a, 0x38, 0xe05b, 0xe01d, 0x36, 0xe038, 0xe05c};

constexpr unsigned kUsageA = 0x04, kUsage1 = 0x1e, kUsage0 = 0x27;

// Printable ASCII punctuation: the USB usage of the key that types it.
unsigned punctuation_usage(char c) {
  switch (c) {
  case ' ':
    return 0x2c;
  case '-':
  case '_':
    return 0x2d;
  case '=':
  case '+':
    return 0x2e;
  case '[':
  case '{':
    return 0x2f;
  case ']':
  case '}':
    return 0x30;
  case '\\':
  case '|':
    return 0x31;
  case ';':
  case ':':
    return 0x33;
  case '\'':
  case '"':
    return 0x34;
  case '`':
  case '~':
    return 0x35;
  case ',':
  case '<':
    return 0x36;
  case '.':
  case '>':
    return 0x37;
  case '/':
  case '?':
    return 0x38;
  }
  // The shifted digits of a US layout, '!' over 1 to ')' over 0.
  constexpr const char kShiftedDigits[] = "!@#$%^&*()";
  for (unsigned i = 0; i < 10; ++i)
    if (kShiftedDigits[i] == c)
      return kUsage1 + i;
  return 0;
}

struct KeysymUsage {
  uint32_t keysym;
  unsigned usage;
};

// X11 keysyms (keysymdef.h) of the non-printing keys.
constexpr KeysymUsage kFunctionKeysyms[] = {
    {0xff08, 0x2a}, // BackSpace
    {0xff09, 0x2b}, // Tab
    {0xfe20, 0x2b}, // ISO_Left_Tab (Shift-Tab)
    {0xff0d, 0x28}, // Return
    {0xff13, 0x48}, // Pause
    {0xff14, 0x47}, // Scroll_Lock
    {0xff15, 0x46}, // Sys_Req
    {0xff1b, 0x29}, // Escape
    {0xff50, 0x4a}, // Home
    {0xff51, 0x50}, // Left
    {0xff52, 0x52}, // Up
    {0xff53, 0x4f}, // Right
    {0xff54, 0x51}, // Down
    {0xff55, 0x4b}, // Prior (Page Up)
    {0xff56, 0x4e}, // Next (Page Down)
    {0xff57, 0x4d}, // End
    {0xff61, 0x46}, // Print
    {0xff63, 0x49}, // Insert
    {0xff67, 0x65}, // Menu
    {0xff7f, 0x53}, // Num_Lock
    {0xff8d, 0x58}, // KP_Enter
    {0xff95, 0x5f}, // KP_Home
    {0xff96, 0x5c}, // KP_Left
    {0xff97, 0x60}, // KP_Up
    {0xff98, 0x5e}, // KP_Right
    {0xff99, 0x5a}, // KP_Down
    {0xff9a, 0x61}, // KP_Prior
    {0xff9b, 0x5b}, // KP_Next
    {0xff9c, 0x59}, // KP_End
    {0xff9d, 0x5d}, // KP_Begin
    {0xff9e, 0x62}, // KP_Insert
    {0xff9f, 0x63}, // KP_Delete
    {0xffaa, 0x55}, // KP_Multiply
    {0xffab, 0x57}, // KP_Add
    {0xffad, 0x56}, // KP_Subtract
    {0xffae, 0x63}, // KP_Decimal
    {0xffaf, 0x54}, // KP_Divide
    {0xffe1, 0xe1}, // Shift_L
    {0xffe2, 0xe5}, // Shift_R
    {0xffe3, 0xe0}, // Control_L
    {0xffe4, 0xe4}, // Control_R
    {0xffe5, 0x39}, // Caps_Lock
    {0xffe7, 0xe3}, // Meta_L
    {0xffe8, 0xe7}, // Meta_R
    {0xffe9, 0xe2}, // Alt_L
    {0xffea, 0xe6}, // Alt_R
    {0xfe03, 0xe6}, // ISO_Level3_Shift (AltGr)
    {0xffeb, 0xe3}, // Super_L
    {0xffec, 0xe7}, // Super_R
    {0xffff, 0x4c}, // Delete
};

unsigned keysym_usage(uint32_t keysym) {
  if (keysym >= 'a' && keysym <= 'z')
    return kUsageA + (keysym - 'a');
  if (keysym >= 'A' && keysym <= 'Z')
    return kUsageA + (keysym - 'A');
  if (keysym >= '1' && keysym <= '9')
    return kUsage1 + (keysym - '1');
  if (keysym == '0')
    return kUsage0;
  if (keysym >= 0x20 && keysym < 0x7f)
    return punctuation_usage(static_cast<char>(keysym));
  if (keysym >= 0xffbe && keysym <= 0xffc9) // F1-F12
    return 0x3a + (keysym - 0xffbe);
  if (keysym >= 0xffb1 && keysym <= 0xffb9) // KP_1-KP_9
    return 0x59 + (keysym - 0xffb1);
  if (keysym == 0xffb0) // KP_0
    return 0x62;
  for (const KeysymUsage &entry : kFunctionKeysyms)
    if (entry.keysym == keysym)
      return entry.usage;
  return 0;
}

} // namespace

uint16_t usb_usage_to_set1(unsigned usage) {
  if (usage < kUsageToSet1.size())
    return kUsageToSet1[usage];
  if (usage >= 0xe0 && usage <= 0xe7)
    return kModifierToSet1[usage - 0xe0];
  return 0;
}

uint16_t keysym_to_set1(uint32_t keysym) {
  unsigned usage = keysym_usage(keysym);
  return usage ? usb_usage_to_set1(usage) : 0;
}

} // namespace sable
