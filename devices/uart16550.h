#pragma once
// National Semiconductor 16550A UART, as the PC's COM ports: eight
// registers, 16-byte FIFOs with receive trigger levels, the four prioritised
// interrupt sources, loopback, and the PC's OUT2 gate on the IRQ line.
//
// Transmission is instantaneous: a byte written to THR reaches the backend
// at once and THR is empty again. Reception keeps the FIFO timing that
// drivers observe: the character timeout fires after four character times
// at the programmed baud rate.

#include <cstdint>
#include <deque>

#include "machine/char_backend.h"
#include "machine/clock.h"
#include "machine/device.h"
#include "machine/irq.h"

namespace sable {

class Uart16550 : public Device, public CharFrontend {
public:
  // backend may be null (a port with nothing attached).
  Uart16550(Clock &clock, IrqLine irq, CharBackend *backend);
  ~Uart16550() override;

  std::string_view name() const override { return "uart16550"; }
  uint64_t read(uint64_t offset, unsigned size) override;
  void write(uint64_t offset, unsigned size, uint64_t value) override;
  void reset() override;
  void save(StateWriter &out) const override;
  void load(StateReader &in) override;

  size_t can_receive() override;
  void receive(const uint8_t *data, size_t size) override;

private:
  uint8_t read_register(unsigned reg);
  void write_register(unsigned reg, uint8_t value);
  void transmit(uint8_t byte);
  void push_received(uint8_t byte);
  uint8_t pop_received();
  void write_fifo_control(uint8_t value);
  void write_modem_control(uint8_t value);
  void set_modem_inputs(uint8_t inputs);
  uint8_t interrupt_id() const;
  void update_irq();
  uint64_t character_time_ns() const;
  void restart_rx_timeout();
  void rx_timeout_expired();
  bool fifo_enabled() const { return fcr_ & 0x01; }
  bool loopback() const { return mcr_ & 0x10; }

  Clock &clock_;
  IrqLine irq_;
  CharBackend *backend_;
  Timer rx_timeout_;

  std::deque<uint8_t> rx_fifo_;
  uint16_t divisor_ = 12;
  uint8_t ier_ = 0;
  uint8_t fcr_ = 0;
  uint8_t lcr_ = 0;
  uint8_t mcr_ = 0;
  uint8_t lsr_ = 0;
  uint8_t msr_ = 0;
  uint8_t scr_ = 0;
  bool thr_empty_interrupt_ = false;
  bool rx_timeout_pending_ = false;
};

} // namespace sable
