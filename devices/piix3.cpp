#include "devices/piix3.h"

#include "machine/log.h"
#include "machine/state.h"

namespace sable {

namespace {
constexpr uint8_t kRouteDisabled = 0x80;
constexpr uint8_t kRouteIrqMask = 0x0f;
// IRQs a PIRQ may be routed to; the others are reserved encodings.
constexpr uint16_t kRoutableIrqs = 0xdef8; // 3-7, 9-12, 14, 15

constexpr uint8_t kResetHard = 1u << 1;
constexpr uint8_t kResetCpu = 1u << 2;
constexpr uint8_t kResetFull = 1u << 3;

struct Register {
  unsigned offset;
  uint8_t reset_value;
  uint8_t writable;
};
// Registers the PIIX3 keeps without modelling what they control (ISA timing,
// top of memory, motherboard IRQ/DMA, APIC base, SMI control); firmware
// programs them and reads them back.
constexpr Register kPlainRegisters[] = {
    {0x4c, 0x4d, 0xff}, {0x4e, 0x03, 0xff}, {0x4f, 0x00, 0xff},
    {0x69, 0x02, 0xff}, {0x6a, 0x00, 0xff}, {0x6b, 0x00, 0xff},
    {0x70, 0x80, 0xef}, {0x76, 0x0c, 0x8f}, {0x77, 0x0c, 0x8f},
    {0x80, 0x00, 0x7f}, {0x82, 0x00, 0x0f}, {0xa0, 0x08, 0xff},
    {0xa2, 0x00, 0xff}, {0xa3, 0x00, 0xff}, {0xa4, 0x00, 0xff},
    {0xa5, 0x00, 0xff}, {0xa6, 0x00, 0xff}, {0xa7, 0x00, 0xff},
    {0xa8, 0x0f, 0xff}, {0xaa, 0x00, 0xff}, {0xab, 0x00, 0xff},
    {0xac, 0x00, 0xff}, {0xae, 0x00, 0xff},
};
} // namespace

Piix3::Piix3(PciBus &bus, std::function<void()> system_reset)
    : PciDevice(0x8086, 0x7000, 0x060100, 0x00),
      system_reset_(std::move(system_reset)),
      reset_control_port_(
          "piix3-reset-control",
          [this](uint64_t, unsigned) { return read_reset_control(); },
          [this](uint64_t, unsigned, uint64_t value) {
            write_reset_control(uint8_t(value));
          }) {
  set_multi_function();
  for (unsigned pirq = 0; pirq < pci::kPirqCount; ++pirq) {
    set_config_byte(kPirqRouteBase + pirq, kRouteDisabled);
    set_writable(kPirqRouteBase + pirq, 1, kRouteDisabled | kRouteIrqMask);
  }
  for (const Register &reg : kPlainRegisters) {
    set_config_byte(reg.offset, reg.reset_value);
    set_writable(reg.offset, 1, reg.writable);
  }
  bus.add(this, 1, 0);
  bus.set_pirq_router(this);
  bus.set_reset_control(&reset_control_port_);
}

int Piix3::isa_irq_for_pirq(unsigned pirq) const {
  uint8_t route = config_byte(kPirqRouteBase + pirq);
  unsigned irq = route & kRouteIrqMask;
  if ((route & kRouteDisabled) || !(kRoutableIrqs & (1u << irq)))
    return -1;
  return int(irq);
}

void Piix3::config_written(unsigned offset, unsigned size) {
  if (offset < kPirqRouteBase + pci::kPirqCount &&
      kPirqRouteBase < offset + size)
    bus()->update_interrupts();
}

void Piix3::write_reset_control(uint8_t value) {
  reset_control_ = value & (kResetHard | kResetFull);
  if (!(value & kResetCpu))
    return;
  if (!(value & kResetHard))
    SABLE_LOG_ONCE(LOG_UNIMP,
                   "piix3: soft reset (INIT) performed as a system reset\n");
  if (system_reset_)
    system_reset_();
}

void Piix3::save_state(StateWriter &out) const {
  out.begin_section("piix3", 1);
  out.u8(reset_control_);
  out.end_section();
}

void Piix3::load_state(StateReader &in) {
  in.begin_section("piix3", 1);
  reset_control_ = in.u8();
  in.end_section();
}

} // namespace sable
