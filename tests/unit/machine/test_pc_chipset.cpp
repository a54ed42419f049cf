// The chipset assembled as the PC machine does, driven the way firmware and
// an ACPI OS use it: the ACPI tables must describe the devices as they are.

#include <catch2/catch.hpp>

#include <map>
#include <mutex>

#include "devices/acpi_pm.h"
#include "devices/i440fx.h"
#include "devices/ioapic.h"
#include "devices/piix3.h"
#include "devices/ide_controller.h"
#include "machine/acpi_tables.h"
#include "machine/io_bus.h"
#include "machine/irq.h"
#include "machine/memory.h"
#include "machine/state.h"

using namespace sable;

namespace {

class Nic : public PciDevice {
public:
  Nic() : PciDevice(0x10ec, 0x8139, 0x020000, 0x20) { set_interrupt_pin(1); }
  std::string_view name() const override { return "nic"; }
  void interrupt(bool level) { set_intx(level); }
};

struct Pc {
  std::recursive_mutex lock;
  IoPortBus io{lock};
  MmioBus mmio{lock};
  GuestMemory memory{mmio};
  IrqRouter irq;
  Clock clock{Clock::Mode::Manual};
  std::vector<ApicMessage> messages;
  Ioapic ioapic{[this](const ApicMessage &m) { messages.push_back(m); }};
  uint8_t *ram = memory.add_ram("ram", 0, 0x1000000);
  PciBus bus{io, mmio, &irq};
  int resets = 0, power_offs = 0;
  I440fx host{bus, memory, "ram", std::vector<uint8_t>(0x40000, 0xea)};
  Piix3 isa{bus, [this] { ++resets; }};
  IdeController ide{memory, IrqLine(&irq, 14), IrqLine(&irq, 15)};
  AcpiPm pm{bus, io, clock, IrqLine(&irq, acpi::kSciIrq),
            [this] { ++power_offs; }};
  Nic nic;

  Pc() {
    io.map(0xcf8, 8, &bus);
    mmio.map(Ioapic::kBaseAddress, Ioapic::kMmioSize, &ioapic);
    irq.add_sink(&ioapic);
    bus.add(&ide, 1, 1);
    bus.add(&nic, 3, 0);
  }

  uint32_t config_read(unsigned slot, unsigned fn, unsigned offset) {
    io.write(0xcf8, 4, 0x80000000u | slot << 11 | fn << 8 | offset);
    return io.read(0xcfc, 4);
  }
  void config_write(unsigned slot, unsigned fn, unsigned offset,
                    uint32_t value) {
    io.write(0xcf8, 4, 0x80000000u | slot << 11 | fn << 8 | offset);
    io.write(0xcfc, 4, value);
  }
  void ioapic_route(unsigned pin, uint64_t entry) {
    mmio.write(Ioapic::kBaseAddress, 4, 0x10 + 2 * pin);
    mmio.write(Ioapic::kBaseAddress + 0x10, 4, uint32_t(entry));
  }
};

uint64_t field(const std::vector<uint8_t> &b, size_t offset, unsigned size) {
  uint64_t value = 0;
  for (unsigned i = 0; i < size; ++i)
    value |= uint64_t(b[offset + i]) << (8 * i);
  return value;
}

} // namespace

TEST_CASE("pc chipset: enumeration finds the PIIX functions", "[chipset]") {
  Pc pc;
  std::map<unsigned, uint32_t> found;
  for (unsigned slot = 0; slot < 32; ++slot) {
    uint32_t id = pc.config_read(slot, 0, 0);
    if (id == 0xffffffff)
      continue;
    found[slot << 3] = id;
    if (!(pc.config_read(slot, 0, 0x0c) & 0x00800000))
      continue;
    for (unsigned fn = 1; fn < 8; ++fn)
      if (uint32_t more = pc.config_read(slot, fn, 0); more != 0xffffffff)
        found[slot << 3 | fn] = more;
  }
  CHECK(found == std::map<unsigned, uint32_t>{{0x00, 0x12378086},
                                              {0x08, 0x70008086},
                                              {0x09, 0x70108086},
                                              {0x0b, 0x71138086},
                                              {0x18, 0x813910ec}});
}

TEST_CASE("pc chipset: the FADT's PM ports reach the PM function",
          "[chipset]") {
  Pc pc;
  AcpiTables tables(AcpiConfig{});
  const AcpiTables::Table *fadt = nullptr;
  for (const AcpiTables::Table &t : tables.table_list())
    if (t.signature == "FACP")
      fadt = &t;
  REQUIRE(fadt);
  const std::vector<uint8_t> &bytes = tables.tables();
  uint16_t pm1a_cnt = uint16_t(field(bytes, fadt->offset + 64, 4));
  uint16_t pm_tmr = uint16_t(field(bytes, fadt->offset + 76, 4));
  uint16_t gpe0 = uint16_t(field(bytes, fadt->offset + 80, 4));
  uint16_t reset_port = uint16_t(field(bytes, fadt->offset + 120, 8));
  uint8_t reset_value = bytes[fadt->offset + 128];

  CHECK(pc.io.read(pm1a_cnt, 2) & acpi::kPm1SciEnable);
  pc.clock.advance(1000000);
  CHECK(pc.io.read(pm_tmr, 4) == 3579);
  pc.io.write(uint16_t(gpe0 + 2), 1, 0x01);
  CHECK(pc.io.read(uint16_t(gpe0 + 2), 1) == 0x01);

  pc.io.write(reset_port, 1, reset_value);
  CHECK(pc.resets == 1);
  pc.io.write(pm1a_cnt, 2,
              acpi::kSleepTypeSoftOff << 10 | acpi::kPm1SleepEnable);
  CHECK(pc.power_offs == 1);
}

TEST_CASE("pc chipset: a PCI interrupt reaches the IOAPIC pin the _PRT names",
          "[chipset]") {
  Pc pc;
  unsigned gsi = pci::kPirqGsiBase + PciBus::pirq_for(3, 1);
  CHECK(gsi == 18);
  pc.ioapic_route(gsi, 0x51 | 1u << 15 | 1u << 13);
  pc.nic.interrupt(true);
  REQUIRE(pc.messages.size() == 1);
  CHECK(pc.messages[0].vector == 0x51);
  pc.nic.interrupt(false);
  pc.ioapic.eoi(0x51);
  CHECK(pc.messages.size() == 1);

  pc.config_write(1, 0, 0x60, 0x0b0b0a0a);
  pc.ioapic_route(11, 0x5b);
  pc.nic.interrupt(true);
  CHECK(pc.messages.size() == 3);
  CHECK(pc.messages[2].vector == 0x5b);
}

TEST_CASE("pc chipset: shadowing the BIOS as SeaBIOS does", "[chipset]") {
  Pc pc;
  uint8_t byte = 0;
  pc.memory.read(0xf0000, &byte, 1);
  CHECK(byte == 0xea);
  uint32_t pam = pc.config_read(0, 0, 0x58);
  pc.config_write(0, 0, 0x58, (pam & 0xff) | 0x30 << 8 | 0x33330000);
  pc.config_write(0, 0, 0x5c, 0x33333333);
  uint8_t copy = 0x90;
  pc.memory.write(0xf0000, &copy, 1);
  pc.config_write(0, 0, 0x58, (pam & 0xff) | 0x10 << 8 | 0x11110000);
  uint8_t junk = 0;
  pc.memory.write(0xf0000, &junk, 1);
  pc.memory.read(0xf0000, &byte, 1);
  CHECK(byte == 0x90);
  pc.memory.read(0xc0000, &byte, 1);
  CHECK(byte == 0);
}

TEST_CASE("pc chipset: whole-chipset save and load", "[chipset]") {
  StateWriter out;
  {
    Pc pc;
    pc.config_write(1, 0, 0x60, 0x0b0b0a0a);
    pc.config_write(0, 0, 0x58, 0x00003000);
    pc.pm.power_button();
    pc.bus.save(out);
    pc.ioapic.save(out);
  }
  Pc pc;
  StateReader in(out.data());
  pc.bus.load(in);
  pc.ioapic.load(in);
  CHECK(in.at_end());
  CHECK(pc.isa.isa_irq_for_pirq(0) == 10);
  CHECK(pc.io.read(acpi::kPm1aEventBlock, 2) & acpi::kPm1PowerButtonStatus);
  uint8_t value = 0x42, back = 0;
  pc.memory.write(0xf8000, &value, 1);
  pc.memory.read(0xf8000, &back, 1);
  CHECK(back == 0x42);
}
