#include "devices/ps2_mouse.h"

#include <algorithm>

#include "machine/log.h"
#include "machine/state.h"

namespace sable {

namespace {
constexpr uint8_t kAck = 0xFA;
constexpr uint8_t kResend = 0xFE;
constexpr uint8_t kSelfTestPassed = 0xAA;

int scale_2to1(int value) {
  static constexpr int kSmall[] = {0, 1, 1, 3, 6, 9};
  int magnitude = std::abs(value);
  int scaled = magnitude < 6 ? kSmall[magnitude] : 2 * magnitude;
  return value < 0 ? -scaled : scaled;
}
} // namespace

void Ps2Mouse::reset() {
  output_.clear();
  buttons_ = 0;
  set_defaults();
  wrap_mode_ = false;
  device_id_ = 0;
  std::fill(std::begin(rate_history_), std::end(rate_history_), 0);
  awaiting_parameter_ = 0;
  last_sent_ = 0;
}

void Ps2Mouse::set_defaults() {
  remote_mode_ = false;
  reporting_ = false;
  scaling_2to1_ = false;
  sample_rate_ = 100;
  resolution_ = 2;
  dx_ = dy_ = dz_ = 0;
  reported_buttons_ = buttons_;
}

void Ps2Mouse::send(uint8_t value) {
  if (output_.full())
    return;
  output_.push(value);
  last_sent_ = value;
}

uint8_t Ps2Mouse::read_output() {
  if (output_.empty())
    return 0;
  uint8_t value = output_.pop();
  report_motion();
  return value;
}

void Ps2Mouse::write(uint8_t value) {
  // Arguments are below the command range; a command there starts anew.
  if (awaiting_parameter_ && value < 0xE6) {
    parameter(value);
  } else if (wrap_mode_ && value != 0xEC && value != 0xFF) {
    send(value);
  } else {
    command(value);
  }
}

void Ps2Mouse::command(uint8_t value) {
  awaiting_parameter_ = 0;
  switch (value) {
  case 0xE6:
    scaling_2to1_ = false;
    send(kAck);
    break;
  case 0xE7:
    scaling_2to1_ = true;
    send(kAck);
    break;
  case 0xE8: // set resolution
  case 0xF3: // set sample rate
    awaiting_parameter_ = value;
    send(kAck);
    break;
  case 0xE9: { // status request
    uint8_t status =
        uint8_t((remote_mode_ ? 0x40 : 0) | (reporting_ ? 0x20 : 0) |
                (scaling_2to1_ ? 0x10 : 0) | (buttons_ & 1) << 2 |
                (buttons_ & 4) >> 1 | (buttons_ & 2) >> 1);
    send(kAck);
    send(status);
    send(resolution_);
    send(sample_rate_);
    break;
  }
  case 0xEA:
    remote_mode_ = false;
    send(kAck);
    break;
  case 0xEB: // read data
    send(kAck);
    send_packet();
    break;
  case 0xEC:
    wrap_mode_ = false;
    send(kAck);
    break;
  case 0xEE:
    wrap_mode_ = true;
    send(kAck);
    break;
  case 0xF0:
    remote_mode_ = true;
    send(kAck);
    break;
  case 0xF2:
    send(kAck);
    send(device_id_);
    break;
  case 0xF4:
    reporting_ = true;
    send(kAck);
    break;
  case 0xF5:
    reporting_ = false;
    send(kAck);
    break;
  case 0xF6:
    set_defaults();
    send(kAck);
    break;
  case 0xFE:
    send(last_sent_);
    break;
  case 0xFF:
    reset();
    send(kAck);
    send(kSelfTestPassed);
    send(device_id_);
    break;
  default:
    SABLE_LOG(LOG_GUEST_ERRORS, "ps2 mouse: unknown command 0x%02x\n", value);
    send(kResend);
    break;
  }
}

void Ps2Mouse::parameter(uint8_t value) {
  uint8_t pending = awaiting_parameter_;
  awaiting_parameter_ = 0;
  if (pending == 0xE8) {
    resolution_ = value & 3;
  } else {
    sample_rate_ = value;
    rate_history_[0] = rate_history_[1];
    rate_history_[1] = rate_history_[2];
    rate_history_[2] = value;
    if (rate_history_[0] == 200 && rate_history_[1] == 100 &&
        rate_history_[2] == 80)
      device_id_ = 3;
  }
  send(kAck);
}

void Ps2Mouse::mouse_event(int dx, int dy, uint8_t buttons, int dz) {
  buttons_ = buttons & 7;
  // A streaming mouse with reporting off counts nothing it could send later.
  if (!remote_mode_ && !reporting_) {
    reported_buttons_ = buttons_;
    return;
  }
  dx_ += dx;
  dy_ -= dy;
  if (device_id_ == 3)
    dz_ += dz;
  report_motion();
}

bool Ps2Mouse::motion_pending() const {
  return dx_ || dy_ || dz_ || buttons_ != reported_buttons_;
}

void Ps2Mouse::report_motion() {
  if (!reporting_ || remote_mode_ || wrap_mode_)
    return;
  while (motion_pending() && output_.room() >= packet_size())
    send_packet();
}

// One packet's worth of the accumulated movement; the rest stays pending.
void Ps2Mouse::send_packet() {
  int dx = std::clamp(dx_, -255, 255);
  int dy = std::clamp(dy_, -255, 255);
  int dz = std::clamp(dz_, -8, 7);
  dx_ -= dx;
  dy_ -= dy;
  dz_ -= dz;
  reported_buttons_ = buttons_;
  if (scaling_2to1_ && !remote_mode_) {
    dx = std::clamp(scale_2to1(dx), -256, 255);
    dy = std::clamp(scale_2to1(dy), -256, 255);
  }
  send(uint8_t(0x08 | buttons_ | (dx < 0 ? 0x10 : 0) | (dy < 0 ? 0x20 : 0)));
  send(uint8_t(dx));
  send(uint8_t(dy));
  if (device_id_ == 3)
    send(uint8_t(dz));
}

void Ps2Mouse::save(StateWriter &out) const {
  out.begin_section("ps2-mouse", 1);
  output_.save(out);
  for (bool v : {remote_mode_, wrap_mode_, reporting_, scaling_2to1_})
    out.boolean(v);
  for (uint8_t v : {sample_rate_, resolution_, device_id_, rate_history_[0],
                    rate_history_[1], rate_history_[2], awaiting_parameter_,
                    last_sent_, buttons_, reported_buttons_})
    out.u8(v);
  out.u32(uint32_t(dx_));
  out.u32(uint32_t(dy_));
  out.u32(uint32_t(dz_));
  out.end_section();
}

void Ps2Mouse::load(StateReader &in) {
  in.begin_section("ps2-mouse", 1);
  output_.load(in, "ps2-mouse");
  for (bool *v : {&remote_mode_, &wrap_mode_, &reporting_, &scaling_2to1_})
    *v = in.boolean();
  for (uint8_t *v :
       {&sample_rate_, &resolution_, &device_id_, &rate_history_[0],
        &rate_history_[1], &rate_history_[2], &awaiting_parameter_, &last_sent_,
        &buttons_, &reported_buttons_})
    *v = in.u8();
  resolution_ &= 3;
  buttons_ &= 7;
  reported_buttons_ &= 7;
  if (device_id_ != 3)
    device_id_ = 0;
  dx_ = int32_t(in.u32());
  dy_ = int32_t(in.u32());
  dz_ = int32_t(in.u32());
  in.end_section();
}

} // namespace sable
