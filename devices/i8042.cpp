#include "devices/i8042.h"

#include "machine/log.h"
#include "machine/state.h"

namespace sable {

namespace {

constexpr uint8_t kStatusOutputFull = 0x01;
constexpr uint8_t kStatusSystemFlag = 0x04;
constexpr uint8_t kStatusCommand = 0x08;
constexpr uint8_t kStatusNotInhibited = 0x10;
constexpr uint8_t kStatusAuxData = 0x20;

constexpr uint8_t kCtrKeyboardIrq = 0x01;
constexpr uint8_t kCtrAuxIrq = 0x02;
constexpr uint8_t kCtrSystemFlag = 0x04;
constexpr uint8_t kCtrKeyboardDisabled = 0x10;
constexpr uint8_t kCtrAuxDisabled = 0x20;
constexpr uint8_t kCtrTranslate = 0x40;

constexpr uint8_t kOutPortReset = 0x01; // active low
constexpr uint8_t kOutPortA20 = 0x02;
constexpr uint8_t kOutPortKeyboardFull = 0x10;
constexpr uint8_t kOutPortAuxFull = 0x20;

constexpr uint8_t kSelfTestPassed = 0x55;
constexpr uint8_t kPortTestPassed = 0x00;
constexpr uint16_t kAuxReply = 0x100;
constexpr size_t kMaxReplies = 16;

} // namespace

I8042::I8042(IrqLine irq1, IrqLine irq12, std::function<void(bool)> a20,
             std::function<void()> reset)
    : irq1_(irq1), irq12_(irq12), a20_(std::move(a20)),
      reset_(std::move(reset)) {
  this->reset();
}

void I8042::reset() {
  keyboard_.reset();
  mouse_.reset();
  std::fill(std::begin(ram_), std::end(ram_), 0);
  command_byte() = kCtrKeyboardIrq | kCtrAuxIrq | kCtrTranslate;
  output_ = 0;
  output_full_ = false;
  output_from_aux_ = false;
  last_write_was_command_ = false;
  output_port_ = kOutPortReset | kOutPortA20;
  pending_command_ = 0;
  translated_break_ = false;
  replies_.clear();
  update_irqs();
}

void I8042::key_event(uint16_t set1_code, bool pressed) {
  keyboard_.key_event(set1_code, pressed);
  fill_output();
}

void I8042::mouse_event(int dx, int dy, uint8_t buttons, int dz) {
  mouse_.mouse_event(dx, dy, buttons, dz);
  fill_output();
}

// ---- output buffer ------------------------------------------------------

void I8042::reply(uint8_t value, bool from_aux) {
  // A guest issuing commands without reading the answers loses the extras.
  if (replies_.size() >= kMaxReplies)
    return;
  replies_.push_back(uint16_t(value | (from_aux ? kAuxReply : 0)));
  fill_output();
}

// Moves the next byte into the output buffer once the guest has read the
// previous one: controller replies first, then the keyboard, then the mouse,
// each device only while its interface is enabled.
void I8042::fill_output() {
  while (!output_full_) {
    if (!replies_.empty()) {
      uint16_t next = replies_.front();
      replies_.pop_front();
      output_ = uint8_t(next);
      output_from_aux_ = next & kAuxReply;
      output_full_ = true;
    } else if (!(command_byte() & kCtrKeyboardDisabled) &&
               keyboard_.has_output()) {
      uint8_t code = keyboard_.read_output();
      if (command_byte() & kCtrTranslate) {
        // Set 2's break prefix becomes bit 7 of the next translated code.
        if (code == 0xF0) {
          translated_break_ = true;
          continue;
        }
        code = ps2_translate_set2_to_set1(code);
        if (translated_break_)
          code |= 0x80;
        translated_break_ = false;
      }
      output_ = code;
      output_from_aux_ = false;
      output_full_ = true;
    } else if (!(command_byte() & kCtrAuxDisabled) && mouse_.has_output()) {
      output_ = mouse_.read_output();
      output_from_aux_ = true;
      output_full_ = true;
    } else {
      break;
    }
  }
  update_irqs();
}

void I8042::update_irqs() {
  bool keyboard =
      output_full_ && !output_from_aux_ && (command_byte() & kCtrKeyboardIrq);
  bool aux = output_full_ && output_from_aux_ && (command_byte() & kCtrAuxIrq);
  if (keyboard != irq1_.level())
    irq1_.set(keyboard);
  if (aux != irq12_.level())
    irq12_.set(aux);
}

// ---- ports --------------------------------------------------------------

uint8_t I8042::read_status() const {
  uint8_t status = kStatusNotInhibited;
  if (output_full_)
    status |= kStatusOutputFull;
  if (output_full_ && output_from_aux_)
    status |= kStatusAuxData;
  if (command_byte() & kCtrSystemFlag)
    status |= kStatusSystemFlag;
  if (last_write_was_command_)
    status |= kStatusCommand;
  return status;
}

// With the buffer empty the port returns the last byte again.
uint8_t I8042::read_data() {
  uint8_t value = output_;
  if (output_full_) {
    output_full_ = false;
    // The IRQ lines follow the buffer: they drop with this read and rise
    // again for the next byte, an edge for each byte as the guest's
    // edge-triggered handler expects.
    update_irqs();
    fill_output();
  }
  return value;
}

void I8042::write_data(uint8_t value) {
  last_write_was_command_ = false;
  uint8_t command = pending_command_;
  pending_command_ = 0;
  if (command >= 0x60 && command <= 0x7F) {
    ram_[command & 0x1F] = command == 0x60 ? value & 0x7F : value;
  } else if (command == 0xD1) {
    write_output_port(value);
  } else if (command == 0xD2) {
    reply(value);
  } else if (command == 0xD3) {
    reply(value, true);
  } else if (command == 0xD4) {
    mouse_.write(value);
  } else {
    keyboard_.write(value);
  }
  fill_output();
}

void I8042::write_command(uint8_t value) {
  last_write_was_command_ = true;
  pending_command_ = 0;
  if (value >= 0x20 && value <= 0x3F) {
    reply(ram_[value & 0x1F]);
    return;
  }
  if (value >= 0x60 && value <= 0x7F) {
    pending_command_ = value;
    return;
  }
  if (value >= 0xF0) {
    // Pulse output port bits 0-3 low where the command has zeros; only
    // bit 0, the CPU reset line, is wired on a PC.
    if (!(value & kOutPortReset) && reset_)
      reset_();
    return;
  }
  switch (value) {
  case 0xA7:
    command_byte() |= kCtrAuxDisabled;
    break;
  case 0xA8:
    command_byte() &= ~kCtrAuxDisabled;
    break;
  case 0xA9: // aux interface test
  case 0xAB: // keyboard interface test
    reply(kPortTestPassed);
    break;
  case 0xAA:
    reply(kSelfTestPassed);
    break;
  case 0xAD:
    command_byte() |= kCtrKeyboardDisabled;
    break;
  case 0xAE:
    command_byte() &= ~kCtrKeyboardDisabled;
    break;
  case 0xD0: {
    uint8_t port = output_port_ & ~(kOutPortKeyboardFull | kOutPortAuxFull);
    if (output_full_)
      port |= output_from_aux_ ? kOutPortAuxFull : kOutPortKeyboardFull;
    reply(port);
    break;
  }
  case 0xD1:
  case 0xD2:
  case 0xD3:
  case 0xD4:
    pending_command_ = value;
    break;
  case 0xDD:
    write_output_port(output_port_ & ~kOutPortA20);
    break;
  case 0xDF:
    write_output_port(output_port_ | kOutPortA20);
    break;
  case 0xE0: // test inputs: keyboard clock and data both low
    reply(0x00);
    break;
  default:
    SABLE_LOG_ONCE(LOG_UNIMP, "i8042: controller command 0x%02x ignored\n",
                   value);
    break;
  }
  fill_output();
}

void I8042::write_output_port(uint8_t value) {
  uint8_t old = output_port_;
  output_port_ = value;
  if (((old ^ value) & kOutPortA20) && a20_)
    a20_(value & kOutPortA20);
  if (!(value & kOutPortReset) && reset_)
    reset_();
}

std::string_view I8042::Window::name() const {
  return command_ ? "i8042-command" : "i8042-data";
}

uint64_t I8042::Window::read(uint64_t offset, unsigned size) {
  if (offset != 0 || size != 1)
    return ~0ull >> (64 - 8 * size);
  return command_ ? controller_.read_status() : controller_.read_data();
}

void I8042::Window::write(uint64_t offset, unsigned size, uint64_t value) {
  if (offset != 0 || size != 1)
    return;
  if (command_)
    controller_.write_command(uint8_t(value));
  else
    controller_.write_data(uint8_t(value));
}

// ---- state --------------------------------------------------------------

void I8042::save(StateWriter &out) const {
  out.begin_section("i8042", 1);
  out.u64(sizeof ram_);
  out.bytes(ram_, sizeof ram_);
  out.u8(output_);
  out.boolean(output_full_);
  out.boolean(output_from_aux_);
  out.boolean(last_write_was_command_);
  out.u8(output_port_);
  out.u8(pending_command_);
  out.boolean(translated_break_);
  out.u32(uint32_t(replies_.size()));
  for (uint16_t r : replies_)
    out.u16(r);
  keyboard_.save(out);
  mouse_.save(out);
  out.end_section();
}

void I8042::load(StateReader &in) {
  in.begin_section("i8042", 1);
  if (in.u64() != sizeof ram_)
    throw StateError("i8042: controller RAM size mismatch");
  in.bytes(ram_, sizeof ram_);
  output_ = in.u8();
  output_full_ = in.boolean();
  output_from_aux_ = in.boolean();
  last_write_was_command_ = in.boolean();
  output_port_ = in.u8();
  pending_command_ = in.u8();
  translated_break_ = in.boolean();
  uint32_t replies = in.u32();
  if (replies > kMaxReplies)
    throw StateError("i8042: too many queued replies");
  replies_.clear();
  for (uint32_t i = 0; i < replies; ++i)
    replies_.push_back(in.u16() & 0x1FF);
  keyboard_.load(in);
  mouse_.load(in);
  in.end_section();
  fill_output();
}

} // namespace sable
