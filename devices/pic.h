#pragma once
// The PC's two cascaded i8259A interrupt controllers and the PIIX edge/level
// control registers (ELCR), modelled together because the cascade wire, the
// INTA cycle and spurious-interrupt handling all span both chips.
//
// The machine maps three port windows: master_ports() at 0x20-0x21,
// slave_ports() at 0xA0-0xA1 and elcr_ports() at 0x4D0-0x4D1. The windows only
// dispatch I/O; reset/save/load belong to the pair itself.

#include <cstdint>
#include <functional>
#include <string_view>

#include "machine/device.h"
#include "machine/device_window.h"
#include "machine/irq.h"

namespace sable {

class Pic8259Pair : public IrqSink, public InterruptController {
public:
  // intr_changed(level) follows the master's INT output, so the machine can
  // wake a halted vCPU.
  explicit Pic8259Pair(std::function<void(bool)> intr_changed);
  Pic8259Pair(const Pic8259Pair &) = delete;
  Pic8259Pair &operator=(const Pic8259Pair &) = delete;

  Device &master_ports() { return master_window_; }
  Device &slave_ports() { return slave_window_; }
  Device &elcr_ports() { return elcr_window_; }

  std::string_view name() const { return "pic"; }
  void reset();
  void save(StateWriter &out) const;
  void load(StateReader &in);

  // ISA IRQs 0-15; IRQ 2 is the cascade input and is not a device line.
  void set_irq(unsigned gsi, bool level) override;
  bool interrupt_pending() override;
  uint8_t acknowledge_interrupt() override;

private:
  struct Chip {
    uint8_t inputs = 0;    // IR pin levels
    uint8_t irr_edges = 0; // requests latched by rising edges
    uint8_t isr = 0;
    uint8_t imr = 0;
    uint8_t elcr = 0;
    uint8_t elcr_writable = 0;
    // Inputs wired to a slave's INT: level-sensed, and exempt from ISR
    // blocking in special fully nested mode.
    uint8_t cascade_inputs = 0;
    uint8_t vector_base = 0;
    uint8_t icw3 = 0;
    uint8_t lowest_priority = 7;
    uint8_t next_icw = 0; // 0 when operational, else 2, 3 or 4
    bool icw4_expected = false;
    bool single = false;
    bool level_all = false; // ICW1 LTIM
    bool auto_eoi = false;
    bool rotate_on_auto_eoi = false;
    bool special_fully_nested = false;
    bool special_mask = false;
    bool read_isr = false;
    bool poll_pending = false;

    uint8_t irr() const;
    int pending_irq() const;
    int highest_priority(uint8_t bits) const;
    void set_input(unsigned irq, bool level);
    void acknowledge(unsigned irq);
    uint8_t poll();
    void write_command(uint8_t value);
    void write_operation2(uint8_t value);
    void write_data(uint8_t value);
    uint8_t read_command();
    uint8_t read_data();
    void save(StateWriter &out) const;
    void load(StateReader &in);
  };

  enum class Window { Master, Slave, Elcr };

  class PortWindow : public DeviceWindow {
  public:
    PortWindow(Pic8259Pair &pair, Window window)
        : pair_(pair), window_(window) {}
    std::string_view name() const override;
    uint64_t read(uint64_t offset, unsigned size) override;
    void write(uint64_t offset, unsigned size, uint64_t value) override;

  private:
    Pic8259Pair &pair_;
    Window window_;
  };

  uint8_t read_byte(Window window, unsigned offset);
  void write_byte(Window window, unsigned offset, uint8_t value);
  bool cascaded() const;
  void update_outputs();

  std::function<void(bool)> intr_changed_;
  Chip master_;
  Chip slave_;
  bool intr_ = false;
  PortWindow master_window_{*this, Window::Master};
  PortWindow slave_window_{*this, Window::Slave};
  PortWindow elcr_window_{*this, Window::Elcr};
};

} // namespace sable
