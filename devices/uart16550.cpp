#include "devices/uart16550.h"

#include <algorithm>

#include "machine/state.h"

namespace sable {

namespace {

enum Register : unsigned {
  kData = 0,            // RBR/THR, DLL when DLAB
  kInterruptEnable = 1, // DLM when DLAB
  kInterruptId = 2,     // FCR on write
  kLineControl = 3,
  kModemControl = 4,
  kLineStatus = 5,
  kModemStatus = 6,
  kScratch = 7,
};

constexpr uint8_t kIerRxData = 0x01;
constexpr uint8_t kIerThrEmpty = 0x02;
constexpr uint8_t kIerLineStatus = 0x04;
constexpr uint8_t kIerModemStatus = 0x08;

constexpr uint8_t kIirNone = 0x01;
constexpr uint8_t kIirModemStatus = 0x00;
constexpr uint8_t kIirThrEmpty = 0x02;
constexpr uint8_t kIirRxData = 0x04;
constexpr uint8_t kIirLineStatus = 0x06;
constexpr uint8_t kIirRxTimeout = 0x0C;
constexpr uint8_t kIirFifosEnabled = 0xC0;

constexpr uint8_t kLcrDlab = 0x80;

constexpr uint8_t kMcrDtr = 0x01;
constexpr uint8_t kMcrRts = 0x02;
constexpr uint8_t kMcrOut1 = 0x04;
constexpr uint8_t kMcrOut2 = 0x08;

constexpr uint8_t kLsrDataReady = 0x01;
constexpr uint8_t kLsrOverrun = 0x02;
constexpr uint8_t kLsrErrors = 0x1E; // overrun, parity, framing, break
constexpr uint8_t kLsrThrEmpty = 0x20;
constexpr uint8_t kLsrTransmitterEmpty = 0x40;

constexpr uint8_t kMsrDeltas = 0x0F;
constexpr uint8_t kMsrTrailingRi = 0x04;
constexpr uint8_t kMsrCts = 0x10;
constexpr uint8_t kMsrDsr = 0x20;
constexpr uint8_t kMsrRi = 0x40;
constexpr uint8_t kMsrDcd = 0x80;
// No backend carries modem lines: present a connected, ready peer.
constexpr uint8_t kExternalModemInputs = kMsrCts | kMsrDsr | kMsrDcd;

constexpr size_t kFifoSize = 16;
constexpr uint64_t kBaseBaud = 115200; // 1.8432 MHz crystal / 16
constexpr unsigned kTimeoutCharacters = 4;

} // namespace

Uart16550::Uart16550(Clock &clock, IrqLine irq, CharBackend *backend)
    : clock_(clock), irq_(irq), backend_(backend),
      rx_timeout_(clock, [this] { rx_timeout_expired(); }) {
  if (backend_)
    backend_->set_frontend(this);
  reset();
}

Uart16550::~Uart16550() {
  if (backend_)
    backend_->set_frontend(nullptr);
}

void Uart16550::reset() {
  rx_timeout_.cancel();
  rx_fifo_.clear();
  divisor_ = 12;
  ier_ = 0;
  fcr_ = 0;
  lcr_ = 0;
  mcr_ = 0;
  lsr_ = kLsrThrEmpty | kLsrTransmitterEmpty;
  msr_ = kExternalModemInputs;
  scr_ = 0;
  thr_empty_interrupt_ = false;
  rx_timeout_pending_ = false;
  update_irq();
}

// Registers are bytes; a wider access touches consecutive registers.
uint64_t Uart16550::read(uint64_t offset, unsigned size) {
  uint64_t value = 0;
  for (unsigned i = 0; i < size; ++i) {
    uint64_t byte = offset + i < 8 ? read_register(unsigned(offset + i)) : 0xFF;
    value |= byte << (8 * i);
  }
  return value;
}

void Uart16550::write(uint64_t offset, unsigned size, uint64_t value) {
  for (unsigned i = 0; i < size && offset + i < 8; ++i)
    write_register(unsigned(offset + i), uint8_t(value >> (8 * i)));
}

uint8_t Uart16550::read_register(unsigned reg) {
  bool dlab = lcr_ & kLcrDlab;
  uint8_t value = 0;
  switch (reg) {
  case kData:
    value = dlab ? uint8_t(divisor_) : pop_received();
    break;
  case kInterruptEnable:
    value = dlab ? uint8_t(divisor_ >> 8) : ier_;
    break;
  case kInterruptId:
    value = interrupt_id();
    if ((value & 0x0F) == kIirThrEmpty)
      thr_empty_interrupt_ = false;
    if (fifo_enabled())
      value |= kIirFifosEnabled;
    break;
  case kLineControl:
    value = lcr_;
    break;
  case kModemControl:
    value = mcr_;
    break;
  case kLineStatus:
    value = lsr_;
    lsr_ &= ~kLsrErrors;
    break;
  case kModemStatus:
    value = msr_;
    msr_ &= ~kMsrDeltas;
    break;
  case kScratch:
    value = scr_;
    break;
  }
  update_irq();
  return value;
}

void Uart16550::write_register(unsigned reg, uint8_t value) {
  bool dlab = lcr_ & kLcrDlab;
  switch (reg) {
  case kData:
    if (dlab)
      divisor_ = uint16_t((divisor_ & 0xFF00) | value);
    else
      transmit(value);
    break;
  case kInterruptEnable:
    if (dlab) {
      divisor_ = uint16_t((divisor_ & 0x00FF) | (value << 8));
    } else {
      // Enabling the THR-empty interrupt while THR is empty raises it.
      if ((value & kIerThrEmpty) && !(ier_ & kIerThrEmpty) &&
          (lsr_ & kLsrThrEmpty))
        thr_empty_interrupt_ = true;
      ier_ = value & 0x0F;
    }
    break;
  case kInterruptId:
    write_fifo_control(value);
    break;
  case kLineControl:
    lcr_ = value;
    break;
  case kModemControl:
    write_modem_control(value);
    break;
  case kLineStatus:
  case kModemStatus:
    break; // read-only on the 16550A
  case kScratch:
    scr_ = value;
    break;
  }
  update_irq();
}

void Uart16550::transmit(uint8_t byte) {
  if (loopback())
    push_received(byte);
  else if (backend_)
    backend_->write(&byte, 1);
  // The byte left THR and the shift register at once.
  lsr_ |= kLsrThrEmpty | kLsrTransmitterEmpty;
  thr_empty_interrupt_ = true;
}

size_t Uart16550::can_receive() {
  if (loopback())
    return 0;
  size_t capacity = fifo_enabled() ? kFifoSize : 1;
  return capacity - std::min(capacity, rx_fifo_.size());
}

void Uart16550::receive(const uint8_t *data, size_t size) {
  if (loopback())
    return;
  for (size_t i = 0; i < size; ++i)
    push_received(data[i]);
  update_irq();
}

void Uart16550::push_received(uint8_t byte) {
  size_t capacity = fifo_enabled() ? kFifoSize : 1;
  if (rx_fifo_.size() >= capacity) {
    lsr_ |= kLsrOverrun;
    return;
  }
  rx_fifo_.push_back(byte);
  lsr_ |= kLsrDataReady;
  restart_rx_timeout();
}

uint8_t Uart16550::pop_received() {
  if (rx_fifo_.empty())
    return 0;
  uint8_t byte = rx_fifo_.front();
  rx_fifo_.pop_front();
  rx_timeout_pending_ = false;
  if (rx_fifo_.empty()) {
    lsr_ &= ~kLsrDataReady;
    rx_timeout_.cancel();
  } else {
    restart_rx_timeout();
  }
  if (backend_)
    backend_->frontend_ready();
  return byte;
}

void Uart16550::write_fifo_control(uint8_t value) {
  // Switching the FIFOs on or off empties them.
  bool clear_rx = (value & 0x02) || ((value ^ fcr_) & 0x01);
  if (clear_rx) {
    rx_fifo_.clear();
    lsr_ &= ~kLsrDataReady;
    rx_timeout_pending_ = false;
    rx_timeout_.cancel();
  }
  // The transmit FIFO is always empty: transmission is instantaneous.
  // Other bits only take effect with the FIFO enable bit; 1-2 self-clear.
  fcr_ = (value & 0x01) ? value & 0xC9 : 0;
  if (clear_rx && backend_)
    backend_->frontend_ready();
}

void Uart16550::write_modem_control(uint8_t value) {
  mcr_ = value & 0x1F;
  if (loopback()) {
    uint8_t inputs = 0;
    if (mcr_ & kMcrRts)
      inputs |= kMsrCts;
    if (mcr_ & kMcrDtr)
      inputs |= kMsrDsr;
    if (mcr_ & kMcrOut1)
      inputs |= kMsrRi;
    if (mcr_ & kMcrOut2)
      inputs |= kMsrDcd;
    set_modem_inputs(inputs);
  } else {
    set_modem_inputs(kExternalModemInputs);
  }
}

void Uart16550::set_modem_inputs(uint8_t inputs) {
  uint8_t old = msr_ & 0xF0;
  uint8_t changed = old ^ inputs;
  uint8_t deltas = 0;
  if (changed & kMsrCts)
    deltas |= 0x01;
  if (changed & kMsrDsr)
    deltas |= 0x02;
  if ((old & kMsrRi) && !(inputs & kMsrRi))
    deltas |= kMsrTrailingRi;
  if (changed & kMsrDcd)
    deltas |= 0x08;
  msr_ = uint8_t(inputs | (msr_ & kMsrDeltas) | deltas);
}

uint8_t Uart16550::interrupt_id() const {
  if ((ier_ & kIerLineStatus) && (lsr_ & kLsrErrors))
    return kIirLineStatus;
  if (ier_ & kIerRxData) {
    size_t trigger = 1;
    if (fifo_enabled()) {
      static constexpr size_t kTriggerLevels[] = {1, 4, 8, 14};
      trigger = kTriggerLevels[fcr_ >> 6];
    }
    if (!rx_fifo_.empty() && rx_fifo_.size() >= trigger)
      return kIirRxData;
    if (rx_timeout_pending_)
      return kIirRxTimeout;
  }
  if ((ier_ & kIerThrEmpty) && thr_empty_interrupt_)
    return kIirThrEmpty;
  if ((ier_ & kIerModemStatus) && (msr_ & kMsrDeltas))
    return kIirModemStatus;
  return kIirNone;
}

// On a PC the UART's INTR pin reaches the ISA IRQ through a buffer enabled
// by the OUT2 pin; loopback forces OUT2 inactive, closing the gate.
void Uart16550::update_irq() {
  bool gate = (mcr_ & kMcrOut2) && !loopback();
  bool level = gate && interrupt_id() != kIirNone;
  if (level != irq_.level())
    irq_.set(level);
}

uint64_t Uart16550::character_time_ns() const {
  unsigned bits =
      1 + 5 + (lcr_ & 0x03) + ((lcr_ & 0x08) ? 1 : 0) + ((lcr_ & 0x04) ? 2 : 1);
  uint64_t divisor = divisor_ ? divisor_ : 0x10000;
  return bits * divisor * 1000000000ull / kBaseBaud;
}

void Uart16550::restart_rx_timeout() {
  if (fifo_enabled() && !rx_fifo_.empty())
    rx_timeout_.arm_after(kTimeoutCharacters * character_time_ns());
}

void Uart16550::rx_timeout_expired() {
  if (!rx_fifo_.empty()) {
    rx_timeout_pending_ = true;
    update_irq();
  }
}

void Uart16550::save(StateWriter &out) const {
  out.begin_section("uart16550", 1);
  out.u16(divisor_);
  for (uint8_t v : {ier_, fcr_, lcr_, mcr_, lsr_, msr_, scr_})
    out.u8(v);
  out.boolean(thr_empty_interrupt_);
  out.boolean(rx_timeout_pending_);
  std::vector<uint8_t> fifo(rx_fifo_.begin(), rx_fifo_.end());
  out.u64(fifo.size());
  out.bytes(fifo.data(), fifo.size());
  uint64_t now = clock_.now_ns();
  out.boolean(rx_timeout_.armed());
  out.u64(rx_timeout_.armed() && rx_timeout_.deadline() > now
              ? rx_timeout_.deadline() - now
              : 0);
  out.end_section();
}

void Uart16550::load(StateReader &in) {
  in.begin_section("uart16550", 1);
  divisor_ = in.u16();
  for (uint8_t *v : {&ier_, &fcr_, &lcr_, &mcr_, &lsr_, &msr_, &scr_})
    *v = in.u8();
  ier_ &= 0x0F;
  fcr_ &= 0xC9;
  mcr_ &= 0x1F;
  thr_empty_interrupt_ = in.boolean();
  rx_timeout_pending_ = in.boolean();
  uint64_t fifo_size = in.u64();
  if (fifo_size > kFifoSize)
    throw StateError("uart16550: receive FIFO larger than 16 bytes");
  uint8_t fifo[kFifoSize];
  in.bytes(fifo, fifo_size);
  rx_fifo_.assign(fifo, fifo + fifo_size);
  bool timeout_armed = in.boolean();
  uint64_t timeout_remaining = in.u64();
  in.end_section();
  if (timeout_armed)
    rx_timeout_.arm_after(timeout_remaining);
  else
    rx_timeout_.cancel();
  update_irq();
}

} // namespace sable
