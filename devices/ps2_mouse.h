#pragma once
// A PS/2 mouse behind the i8042's auxiliary port: the standard command set,
// stream and remote modes, wrap mode, 2:1 scaling, and the IntelliMouse
// wheel extension (sample rates 200, 100, 80 switch to ID 3, 4-byte packets).

#include <cstddef>
#include <cstdint>

#include "devices/ps2_queue.h"

namespace sable {

class StateWriter;
class StateReader;

class Ps2Mouse {
public:
  Ps2Mouse() { reset(); }

  void reset();
  void write(uint8_t value);
  bool has_output() const { return !output_.empty(); }
  // Pops a byte; movement held back by a full buffer follows as room frees.
  uint8_t read_output();

  // Screen convention: dx right, dy down, dz wheel away from the user is
  // negative. buttons: bit 0 left, bit 1 right, bit 2 middle.
  void mouse_event(int dx, int dy, uint8_t buttons, int dz = 0);

  uint8_t device_id() const { return device_id_; }
  bool reporting() const { return reporting_; }

  void save(StateWriter &out) const;
  void load(StateReader &in);

private:
  void command(uint8_t value);
  void parameter(uint8_t value);
  void set_defaults();
  void send(uint8_t value);
  void send_packet();
  void report_motion();
  size_t packet_size() const { return device_id_ == 3 ? 4 : 3; }
  bool motion_pending() const;

  static constexpr size_t kBufferSize = 64;
  Ps2OutputQueue output_{kBufferSize};
  bool remote_mode_ = false;
  bool wrap_mode_ = false;
  bool reporting_ = false;
  bool scaling_2to1_ = false;
  uint8_t sample_rate_ = 100;
  uint8_t resolution_ = 2;
  uint8_t device_id_ = 0;
  uint8_t rate_history_[3] = {};
  uint8_t awaiting_parameter_ = 0;
  uint8_t last_sent_ = 0;
  int32_t dx_ = 0, dy_ = 0, dz_ = 0; // PS/2 convention: dy up
  uint8_t buttons_ = 0;
  uint8_t reported_buttons_ = 0;
};

} // namespace sable
