#pragma once
// Intel 8254 programmable interval timer: three 16-bit down counters clocked
// at 1.193182 MHz. Counts are derived from Clock time on demand rather than
// ticked; a Timer exists only to deliver counter 0's OUT edges on IRQ0.
//
// Ports (offsets): 0-2 counters 0-2, 3 control word. Counter 2's gate and
// OUT are wired to port 0x61 (see devices/port61.h).

#include <cstdint>

#include "machine/clock.h"
#include "machine/device.h"
#include "machine/irq.h"

namespace sable {

class Pit8254 : public Device {
public:
  static constexpr uint64_t kInputHz = 1193182;

  Pit8254(Clock &clock, IrqLine irq0);

  std::string_view name() const override { return "pit8254"; }
  uint64_t read(uint64_t offset, unsigned size) override;
  void write(uint64_t offset, unsigned size, uint64_t value) override;
  void reset() override;
  void save(StateWriter &out) const override;
  void load(StateReader &in) override;

  // Gate inputs: counters 0 and 1 are tied high on a PC; counter 2's gate
  // is bit 0 of port 0x61.
  void set_gate(unsigned counter, bool level);
  bool gate(unsigned counter) const { return counters_[counter & 3].gate; }
  bool output(unsigned counter);

private:
  struct Counter {
    uint8_t mode = 0;
    uint8_t access = 3; // 1 LSB, 2 MSB, 3 LSB then MSB
    bool bcd = false;
    uint16_t count_register = 0; // CR, as written
    uint32_t period = 0x10000;   // N of the count in progress, in ticks
    uint8_t written_lsb = 0;
    bool write_msb_next = false;
    bool read_msb_next = false;
    bool count_latched = false;
    uint16_t latched_count = 0;
    bool status_latched = false;
    uint8_t latched_status = 0;
    bool gate = false;
    bool has_count = false; // CR written since the control word
    bool loaded = false;    // CE holds a count and may run
    bool null_count = true;
    uint64_t counted = 0;   // ticks counted before run_start
    uint64_t run_start = 0; // tick the current run began
    bool reload_pending = false;
    uint64_t reload_tick = 0;

    bool running() const;
    uint64_t elapsed(uint64_t now) const;
    void rebase(uint64_t now);
    void settle(uint64_t now);
    uint32_t modulus() const { return bcd ? 10000 : 0x10000; }
    uint32_t count_register_period() const;
    uint16_t count(uint64_t now) const;
    bool out(uint64_t now) const;
    uint8_t status(uint64_t now) const;
    bool next_edge(uint64_t now, uint64_t &tick) const;
    void set_control(uint8_t value);
    void write_count(uint8_t value, uint64_t now);
    void load_count(uint64_t now);
    void set_gate(bool level, uint64_t now);
    void latch_count(uint64_t now);
    uint8_t read_byte(uint64_t now);
    void save(StateWriter &out, uint64_t now) const;
    void load(StateReader &in, uint64_t now);
  };

  uint64_t now_tick() const;
  void write_control(uint8_t value);
  void update_irq0();
  void irq0_edge();

  Clock &clock_;
  IrqLine irq0_;
  Timer irq0_timer_;
  Counter counters_[3];
};

} // namespace sable
