#include "devices/ps2_keyboard.h"

#include <array>

#include "machine/log.h"
#include "machine/state.h"

namespace sable {

namespace {

constexpr uint8_t kAck = 0xFA;
constexpr uint8_t kResend = 0xFE;
constexpr uint8_t kSelfTestPassed = 0xAA;
constexpr uint8_t kEcho = 0xEE;
constexpr uint8_t kBreakPrefix = 0xF0;
constexpr uint8_t kExtendedPrefix = 0xE0;
constexpr uint16_t kPrintScreen = 0xE037;
constexpr uint16_t kPause = 0xE11D;
constexpr uint8_t kDefaultTypematic = 0x2B; // 10.9 characters/s, 500 ms

// Set 2 code -> set 1 code for the codes a keyboard sends below 0x85; the
// i8042 passes 0x85-0xFF through unchanged.
constexpr uint8_t kSet2ToSet1[0x85] = {
    0xFF, 0x43, 0x41, 0x3F, 0x3D, 0x3B, 0x3C, 0x58, 0x64, 0x44, 0x42, 0x40,
    0x3E, 0x0F, 0x29, 0x59, 0x65, 0x38, 0x2A, 0x70, 0x1D, 0x10, 0x02, 0x5A,
    0x66, 0x71, 0x2C, 0x1F, 0x1E, 0x11, 0x03, 0x5B, 0x67, 0x2E, 0x2D, 0x20,
    0x12, 0x05, 0x04, 0x5C, 0x68, 0x39, 0x2F, 0x21, 0x14, 0x13, 0x06, 0x5D,
    0x69, 0x31, 0x30, 0x23, 0x22, 0x15, 0x07, 0x5E, 0x6A, 0x72, 0x32, 0x24,
    0x16, 0x08, 0x09, 0x5F, 0x6B, 0x33, 0x25, 0x17, 0x18, 0x0B, 0x0A, 0x60,
    0x6C, 0x34, 0x35, 0x26, 0x27, 0x19, 0x0C, 0x61, 0x6D, 0x73, 0x28, 0x74,
    0x1A, 0x0D, 0x62, 0x6E, 0x3A, 0x36, 0x1C, 0x1B, 0x75, 0x2B, 0x63, 0x76,
    0x55, 0x56, 0x77, 0x78, 0x79, 0x7A, 0x0E, 0x7B, 0x7C, 0x4F, 0x7D, 0x4B,
    0x47, 0x7E, 0x7F, 0x6F, 0x52, 0x53, 0x50, 0x4C, 0x4D, 0x48, 0x01, 0x45,
    0x57, 0x4E, 0x51, 0x4A, 0x37, 0x49, 0x46, 0x54, 0x80, 0x81, 0x82, 0x41,
    0x54,
};

// Set 1 code -> set 2 code. Later entries win, so F7 (set 2 0x83) and SysRq
// (0x84) take their set 1 codes from the unused set 2 codes sharing them.
constexpr std::array<uint8_t, 0x80> make_set1_to_set2() {
  std::array<uint8_t, 0x80> table{};
  for (unsigned set2 = 1; set2 < sizeof kSet2ToSet1; ++set2)
    if (kSet2ToSet1[set2] < 0x80)
      table[kSet2ToSet1[set2]] = uint8_t(set2);
  return table;
}
constexpr std::array<uint8_t, 0x80> kSet1ToSet2 = make_set1_to_set2();

} // namespace

uint8_t ps2_translate_set2_to_set1(uint8_t code) {
  return code < sizeof kSet2ToSet1 ? kSet2ToSet1[code] : code;
}

void Ps2Keyboard::reset() {
  output_.clear();
  set_defaults();
  scanning_ = true;
  leds_ = 0;
  awaiting_parameter_ = 0;
  last_sent_ = 0;
}

void Ps2Keyboard::set_defaults() {
  scancode_set_ = 2;
  typematic_ = kDefaultTypematic;
}

uint8_t Ps2Keyboard::read_output() {
  return output_.pop();
}

// A full buffer keeps its last slot for the overrun code, as keyboards do.
void Ps2Keyboard::send(uint8_t value) {
  if (output_.full()) {
    output_.replace_last(scancode_set_ == 1 ? 0xFF : 0x00);
    return;
  }
  output_.push(value);
  last_sent_ = value;
}

void Ps2Keyboard::write(uint8_t value) {
  // A command byte where an argument was expected starts a new command.
  if (awaiting_parameter_ && value < 0x80)
    parameter(value);
  else
    command(value);
}

void Ps2Keyboard::command(uint8_t value) {
  awaiting_parameter_ = 0;
  switch (value) {
  case 0xED: // set LEDs
  case 0xF0: // get/set scancode set
  case 0xF3: // set typematic rate and delay
    send(kAck);
    awaiting_parameter_ = value;
    break;
  case 0xEE:
    send(kEcho);
    break;
  case 0xF2: // identify: MF2 keyboard
    send(kAck);
    send(0xAB);
    send(0x83);
    break;
  case 0xF4:
    scanning_ = true;
    send(kAck);
    break;
  case 0xF5:
    set_defaults();
    scanning_ = false;
    send(kAck);
    break;
  case 0xF6:
    set_defaults();
    send(kAck);
    break;
  case 0xF7: // set-3 key type commands: accepted, without effect in set 2
  case 0xF8:
  case 0xF9:
  case 0xFA:
  case 0xFB:
  case 0xFC:
  case 0xFD:
    send(kAck);
    break;
  case 0xFE:
    send(last_sent_);
    break;
  case 0xFF:
    output_.clear();
    set_defaults();
    scanning_ = true;
    send(kAck);
    send(kSelfTestPassed);
    break;
  default:
    SABLE_LOG(LOG_GUEST_ERRORS, "ps2 keyboard: unknown command 0x%02x\n",
              value);
    send(kResend);
    break;
  }
}

void Ps2Keyboard::parameter(uint8_t value) {
  uint8_t pending = awaiting_parameter_;
  awaiting_parameter_ = 0;
  switch (pending) {
  case 0xED:
    leds_ = value & 0x07;
    send(kAck);
    break;
  case 0xF3:
    typematic_ = value & 0x7F;
    send(kAck);
    break;
  case 0xF0:
    if (value == 0) {
      send(kAck);
      send(scancode_set_);
    } else if (value <= 2) {
      scancode_set_ = value;
      send(kAck);
    } else {
      // Set 3 is optional on MF2 keyboards; this one refuses it.
      send(kResend);
    }
    break;
  }
}

void Ps2Keyboard::key_event(uint16_t code, bool pressed) {
  if (!scanning_)
    return;
  if (scancode_set_ == 1)
    emit_set1(code, pressed);
  else
    emit_set2(code, pressed);
}

void Ps2Keyboard::emit_set1(uint16_t code, bool pressed) {
  uint8_t release = pressed ? 0 : 0x80;
  if (code == kPause) {
    if (pressed)
      for (uint8_t b : {0xE1, 0x1D, 0x45, 0xE1, 0x9D, 0xC5})
        send(b);
    return;
  }
  if (code == kPrintScreen) {
    if (pressed)
      for (uint8_t b : {0xE0, 0x2A, 0xE0, 0x37})
        send(b);
    else
      for (uint8_t b : {0xE0, 0xB7, 0xE0, 0xAA})
        send(b);
    return;
  }
  if ((code >> 8) == kExtendedPrefix)
    send(kExtendedPrefix);
  send(uint8_t((code & 0x7F) | release));
}

void Ps2Keyboard::emit_set2(uint16_t code, bool pressed) {
  if (code == kPause) {
    if (pressed)
      for (uint8_t b : {0xE1, 0x14, 0x77, 0xE1, 0xF0, 0x14, 0xF0, 0x77})
        send(b);
    return;
  }
  if (code == kPrintScreen) {
    if (pressed)
      for (uint8_t b : {0xE0, 0x12, 0xE0, 0x7C})
        send(b);
    else
      for (uint8_t b : {0xE0, 0xF0, 0x7C, 0xE0, 0xF0, 0x12})
        send(b);
    return;
  }
  uint8_t set2 = kSet1ToSet2[code & 0x7F];
  if (set2 == 0) {
    SABLE_LOG(LOG_GUEST_ERRORS, "ps2 keyboard: no set 2 code for 0x%04x\n",
              code);
    return;
  }
  if ((code >> 8) == kExtendedPrefix)
    send(kExtendedPrefix);
  if (!pressed)
    send(kBreakPrefix);
  send(set2);
}

void Ps2Keyboard::save(StateWriter &out) const {
  out.begin_section("ps2-keyboard", 1);
  output_.save(out);
  out.u8(scancode_set_);
  out.boolean(scanning_);
  out.u8(leds_);
  out.u8(typematic_);
  out.u8(awaiting_parameter_);
  out.u8(last_sent_);
  out.end_section();
}

void Ps2Keyboard::load(StateReader &in) {
  in.begin_section("ps2-keyboard", 1);
  output_.load(in, "ps2-keyboard");
  scancode_set_ = in.u8() == 1 ? 1 : 2;
  scanning_ = in.boolean();
  leds_ = in.u8() & 0x07;
  typematic_ = in.u8() & 0x7F;
  awaiting_parameter_ = in.u8();
  last_sent_ = in.u8();
  in.end_section();
}

} // namespace sable
