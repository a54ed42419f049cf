#include "devices/pic.h"

#include "machine/log.h"
#include "machine/state.h"

namespace sable {

namespace {
constexpr unsigned kCascadeIrq = 2;
// PIIX ELCR: IRQs 0, 1, 2, 8 and 13 are always edge-triggered on a PC.
constexpr uint8_t kMasterElcrWritable = 0xF8;
constexpr uint8_t kSlaveElcrWritable = 0xDE;

uint8_t bit(unsigned irq) {
  return uint8_t(1u << irq);
}
} // namespace

// ---- one 8259A ----------------------------------------------------------

uint8_t Pic8259Pair::Chip::irr() const {
  uint8_t level = (level_all ? 0xFF : elcr) | cascade_inputs;
  return uint8_t((irr_edges & ~level) | (inputs & level));
}

// Priority rank 0 is the IR just after the lowest-priority one, so rotation
// only moves lowest_priority.
int Pic8259Pair::Chip::highest_priority(uint8_t bits) const {
  for (unsigned rank = 0; rank < 8; ++rank) {
    unsigned irq = (lowest_priority + 1 + rank) & 7;
    if (bits & bit(irq))
      return int(irq);
  }
  return -1;
}

int Pic8259Pair::Chip::pending_irq() const {
  int request = highest_priority(irr() & ~imr);
  if (request < 0)
    return -1;
  uint8_t blocking = isr;
  if (special_mask)
    blocking &= ~imr;
  int in_service = highest_priority(blocking);
  if (in_service < 0)
    return request;
  unsigned request_rank = (unsigned(request) - lowest_priority - 1) & 7;
  unsigned service_rank = (unsigned(in_service) - lowest_priority - 1) & 7;
  if (request_rank < service_rank)
    return request;
  // In special fully nested mode the slave may interrupt again while its
  // cascade input is in service; the slave itself decides on priority.
  bool nested_cascade = special_fully_nested && request == in_service &&
                        (cascade_inputs & bit(unsigned(request)));
  return nested_cascade ? request : -1;
}

void Pic8259Pair::Chip::set_input(unsigned irq, bool level) {
  if (level && !(inputs & bit(irq)))
    irr_edges |= bit(irq);
  if (level)
    inputs |= bit(irq);
  else
    inputs &= ~bit(irq);
}

void Pic8259Pair::Chip::acknowledge(unsigned irq) {
  irr_edges &= ~bit(irq);
  if (!auto_eoi)
    isr |= bit(irq);
  else if (rotate_on_auto_eoi)
    lowest_priority = uint8_t(irq);
}

uint8_t Pic8259Pair::Chip::poll() {
  int irq = pending_irq();
  if (irq < 0)
    return 0;
  acknowledge(unsigned(irq));
  return uint8_t(0x80 | irq);
}

void Pic8259Pair::Chip::write_command(uint8_t value) {
  if (value & 0x10) { // ICW1 restarts initialization
    irr_edges = 0;
    isr = 0;
    imr = 0;
    lowest_priority = 7;
    special_mask = false;
    read_isr = false;
    poll_pending = false;
    rotate_on_auto_eoi = false;
    icw4_expected = value & 0x01;
    single = value & 0x02;
    level_all = value & 0x08;
    if (!icw4_expected) {
      auto_eoi = false;
      special_fully_nested = false;
    }
    next_icw = 2;
  } else if (value & 0x08) { // OCW3
    if (value & 0x04)
      poll_pending = true;
    if (value & 0x02)
      read_isr = value & 0x01;
    if (value & 0x40)
      special_mask = value & 0x20;
  } else {
    write_operation2(value);
  }
}

void Pic8259Pair::Chip::write_operation2(uint8_t value) {
  unsigned level = value & 7;
  switch (value >> 5) {
  case 0: // clear rotate in automatic EOI mode
    rotate_on_auto_eoi = false;
    break;
  case 1: // non-specific EOI
  case 5: // rotate on non-specific EOI
    if (int irq = highest_priority(isr); irq >= 0) {
      isr &= ~bit(unsigned(irq));
      if (value >> 5 == 5)
        lowest_priority = uint8_t(irq);
    }
    break;
  case 2: // no operation
    break;
  case 3: // specific EOI
    isr &= ~bit(level);
    break;
  case 4: // set rotate in automatic EOI mode
    rotate_on_auto_eoi = true;
    break;
  case 6: // set priority
    lowest_priority = uint8_t(level);
    break;
  case 7: // rotate on specific EOI
    isr &= ~bit(level);
    lowest_priority = uint8_t(level);
    break;
  }
}

void Pic8259Pair::Chip::write_data(uint8_t value) {
  switch (next_icw) {
  case 2:
    vector_base = value & 0xF8;
    next_icw = single ? (icw4_expected ? 4 : 0) : 3;
    break;
  case 3:
    icw3 = value;
    next_icw = icw4_expected ? 4 : 0;
    break;
  case 4:
    if (!(value & 0x01))
      SABLE_LOG_ONCE(LOG_UNIMP, "pic: MCS-80/85 mode requested, "
                                "using 8086 mode\n");
    auto_eoi = value & 0x02;
    special_fully_nested = value & 0x10;
    next_icw = 0;
    break;
  default:
    imr = value;
    break;
  }
}

uint8_t Pic8259Pair::Chip::read_command() {
  if (poll_pending) {
    poll_pending = false;
    return poll();
  }
  return read_isr ? isr : irr();
}

uint8_t Pic8259Pair::Chip::read_data() {
  if (poll_pending) {
    poll_pending = false;
    return poll();
  }
  return imr;
}

void Pic8259Pair::Chip::save(StateWriter &out) const {
  for (uint8_t v : {inputs, irr_edges, isr, imr, elcr, vector_base, icw3,
                    lowest_priority, next_icw})
    out.u8(v);
  for (bool v : {icw4_expected, single, level_all, auto_eoi, rotate_on_auto_eoi,
                 special_fully_nested, special_mask, read_isr, poll_pending})
    out.boolean(v);
}

void Pic8259Pair::Chip::load(StateReader &in) {
  for (uint8_t *v : {&inputs, &irr_edges, &isr, &imr, &elcr, &vector_base,
                     &icw3, &lowest_priority, &next_icw})
    *v = in.u8();
  elcr &= elcr_writable;
  lowest_priority &= 7;
  if (next_icw > 4 || next_icw == 1)
    next_icw = 0;
  for (bool *v :
       {&icw4_expected, &single, &level_all, &auto_eoi, &rotate_on_auto_eoi,
        &special_fully_nested, &special_mask, &read_isr, &poll_pending})
    *v = in.boolean();
}

// ---- the pair -----------------------------------------------------------

Pic8259Pair::Pic8259Pair(std::function<void(bool)> intr_changed)
    : intr_changed_(std::move(intr_changed)) {
  reset();
}

void Pic8259Pair::reset() {
  master_ = Chip{};
  slave_ = Chip{};
  master_.elcr_writable = kMasterElcrWritable;
  slave_.elcr_writable = kSlaveElcrWritable;
  // The slave's INT pin drives master IR2 as a level.
  master_.cascade_inputs = bit(kCascadeIrq);
  update_outputs();
}

bool Pic8259Pair::cascaded() const {
  return !master_.single && (master_.icw3 & bit(kCascadeIrq));
}

void Pic8259Pair::update_outputs() {
  master_.set_input(kCascadeIrq, slave_.pending_irq() >= 0);
  bool intr = master_.pending_irq() >= 0;
  if (intr != intr_) {
    intr_ = intr;
    if (intr_changed_)
      intr_changed_(intr);
  }
}

void Pic8259Pair::set_irq(unsigned gsi, bool level) {
  if (gsi >= 16 || gsi == kCascadeIrq)
    return;
  Chip &chip = gsi < 8 ? master_ : slave_;
  chip.set_input(gsi & 7, level);
  update_outputs();
}

bool Pic8259Pair::interrupt_pending() {
  return intr_;
}

uint8_t Pic8259Pair::acknowledge_interrupt() {
  int irq = master_.pending_irq();
  uint8_t vector;
  if (irq < 0) {
    // Nothing left to deliver: the 8259A answers with its IR7 vector and
    // sets no ISR bit.
    vector = master_.vector_base | 7;
  } else {
    master_.acknowledge(unsigned(irq));
    if (unsigned(irq) == kCascadeIrq && cascaded()) {
      int slave_irq = slave_.pending_irq();
      if (slave_irq < 0) {
        vector = slave_.vector_base | 7;
      } else {
        slave_.acknowledge(unsigned(slave_irq));
        vector = uint8_t(slave_.vector_base | slave_irq);
      }
    } else {
      vector = uint8_t(master_.vector_base | irq);
    }
  }
  update_outputs();
  return vector;
}

uint8_t Pic8259Pair::read_byte(Window window, unsigned offset) {
  uint8_t value;
  if (window == Window::Elcr) {
    value = offset == 0 ? master_.elcr : slave_.elcr;
  } else {
    Chip &chip = window == Window::Master ? master_ : slave_;
    value = offset == 0 ? chip.read_command() : chip.read_data();
  }
  update_outputs();
  return value;
}

void Pic8259Pair::write_byte(Window window, unsigned offset, uint8_t value) {
  if (window == Window::Elcr) {
    Chip &chip = offset == 0 ? master_ : slave_;
    chip.elcr = value & chip.elcr_writable;
  } else {
    Chip &chip = window == Window::Master ? master_ : slave_;
    if (offset == 0)
      chip.write_command(value);
    else
      chip.write_data(value);
  }
  update_outputs();
}

void Pic8259Pair::save(StateWriter &out) const {
  out.begin_section("pic", 1);
  master_.save(out);
  slave_.save(out);
  out.boolean(intr_);
  out.end_section();
}

void Pic8259Pair::load(StateReader &in) {
  in.begin_section("pic", 1);
  master_.load(in);
  slave_.load(in);
  intr_ = in.boolean();
  in.end_section();
  update_outputs();
}

// ---- port windows -------------------------------------------------------

std::string_view Pic8259Pair::PortWindow::name() const {
  switch (window_) {
  case Window::Master:
    return "pic-master";
  case Window::Slave:
    return "pic-slave";
  case Window::Elcr:
    return "elcr";
  }
  return "pic";
}

// A wide access is a sequence of byte cycles, as on the ISA bus.
uint64_t Pic8259Pair::PortWindow::read(uint64_t offset, unsigned size) {
  uint64_t value = 0;
  for (unsigned i = 0; i < size; ++i) {
    uint64_t byte =
        offset + i < 2 ? pair_.read_byte(window_, unsigned(offset + i)) : 0xFF;
    value |= byte << (8 * i);
  }
  return value;
}

void Pic8259Pair::PortWindow::write(uint64_t offset, unsigned size,
                                    uint64_t value) {
  for (unsigned i = 0; i < size && offset + i < 2; ++i)
    pair_.write_byte(window_, unsigned(offset + i), uint8_t(value >> (8 * i)));
}

} // namespace sable
