#pragma once
// A PS/2 (MF2) keyboard as seen from the i8042 controller: it takes command
// bytes from the host, queues response and scancode bytes, and turns key
// events from the UI into scancode set 2 (or set 1 if the guest selects it).
// The controller's set 2 to set 1 translation lives in i8042.

#include <cstddef>
#include <cstdint>

#include "devices/ps2_queue.h"

namespace sable {

class StateWriter;
class StateReader;

class Ps2Keyboard {
public:
  Ps2Keyboard() { reset(); }

  // Power-on: scanning enabled, scancode set 2, LEDs off.
  void reset();
  // A byte the host sent to the keyboard.
  void write(uint8_t value);
  bool has_output() const { return !output_.empty(); }
  uint8_t read_output();

  // `code` is a PC set-1 make code: 0x01-0x7F, 0xE0xx for E0-prefixed keys
  // (0xE037 is Print Screen), and 0xE11D for Pause, which has no break.
  void key_event(uint16_t code, bool pressed);

  // Bit 0 Scroll Lock, bit 1 Num Lock, bit 2 Caps Lock.
  uint8_t leds() const { return leds_; }
  uint8_t scancode_set() const { return scancode_set_; }
  // Free bytes in the output buffer, for a UI that paces fast typing.
  size_t room() const { return output_.room(); }

  void save(StateWriter &out) const;
  void load(StateReader &in);

private:
  void command(uint8_t value);
  void parameter(uint8_t value);
  void send(uint8_t value);
  void set_defaults();
  void emit_set1(uint16_t code, bool pressed);
  void emit_set2(uint16_t code, bool pressed);

  static constexpr size_t kBufferSize = 16;
  Ps2OutputQueue output_{kBufferSize};
  uint8_t scancode_set_ = 2;
  bool scanning_ = true;
  uint8_t leds_ = 0;
  // Kept for the guest only: key repeat comes from the host's key events.
  uint8_t typematic_ = 0;
  uint8_t awaiting_parameter_ = 0; // the command whose argument comes next
  uint8_t last_sent_ = 0;
};

// The i8042's set 2 to set 1 translation of one byte (without the F0
// break-prefix handling, which is stateful).
uint8_t ps2_translate_set2_to_set1(uint8_t code);

} // namespace sable
