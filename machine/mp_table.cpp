#include "machine/mp_table.h"

#include <cstring>
#include <numeric>
#include <string_view>

#include "devices/ioapic.h"
#include "devices/pci_bus.h"

namespace sable {

namespace {

constexpr uint32_t kLocalApicAddress = 0xfee00000;
constexpr uint8_t kLocalApicVersion = 0x14;
constexpr uint8_t kIoapicVersion = 0x20;
constexpr uint8_t kPciBus = 0, kIsaBus = 1;
constexpr uint32_t kCpuFeatures = 1u << 0 | 1u << 9; // FPU, APIC

enum EntryType : uint8_t {
  kProcessor = 0,
  kBus = 1,
  kIoapic = 2,
  kIoInterrupt = 3,
  kLocalInterrupt = 4,
};
enum InterruptType : uint8_t { kInt = 0, kNmi = 1, kExtInt = 3 };
// Flags: polarity in bits 0-1, trigger mode in bits 2-3 (01 high/edge,
// 11 low/level, 00 as the bus defines).
constexpr uint16_t kConforms = 0x0;
constexpr uint16_t kActiveHighLevel = 0x1 | 0x3 << 2;
constexpr uint16_t kActiveLowLevel = 0x3 | 0x3 << 2;

void put(std::vector<uint8_t> &out, uint64_t value, unsigned bytes) {
  for (unsigned i = 0; i < bytes; ++i)
    out.push_back(static_cast<uint8_t>(value >> (8 * i)));
}

void put_text(std::vector<uint8_t> &out, std::string_view text,
              unsigned bytes) {
  for (unsigned i = 0; i < bytes; ++i)
    out.push_back(i < text.size() ? static_cast<uint8_t>(text[i]) : ' ');
}

uint8_t checksum(const std::vector<uint8_t> &bytes) {
  return static_cast<uint8_t>(-std::accumulate(bytes.begin(), bytes.end(), 0u));
}

void io_interrupt(std::vector<uint8_t> &out, InterruptType type, uint16_t flags,
                  uint8_t bus, uint8_t source_irq, uint8_t ioapic_id,
                  uint8_t pin) {
  put(out, kIoInterrupt, 1);
  put(out, type, 1);
  put(out, flags, 2);
  put(out, bus, 1);
  put(out, source_irq, 1);
  put(out, ioapic_id, 1);
  put(out, pin, 1);
}

} // namespace

MpTables build_mp_tables(const MpConfig &config, uint32_t table_address) {
  std::vector<uint8_t> entries;
  unsigned count = 0;
  for (unsigned cpu = 0; cpu < config.cpus; ++cpu, ++count) {
    put(entries, kProcessor, 1);
    put(entries, cpu, 1);
    put(entries, kLocalApicVersion, 1);
    put(entries, cpu == 0 ? 0x3 : 0x1, 1); // enabled, bootstrap
    put(entries, config.cpu_signature, 4);
    put(entries, kCpuFeatures, 4);
    put(entries, 0, 8);
  }
  for (auto [id, type] : {std::pair{kPciBus, "PCI"}, {kIsaBus, "ISA"}}) {
    put(entries, kBus, 1);
    put(entries, id, 1);
    put_text(entries, type, 6);
    ++count;
  }
  const uint8_t ioapic_id = static_cast<uint8_t>(config.cpus);
  put(entries, kIoapic, 1);
  put(entries, ioapic_id, 1);
  put(entries, kIoapicVersion, 1);
  put(entries, 1, 1); // enabled
  put(entries, Ioapic::kBaseAddress, 4);
  ++count;

  // The 8259 on pin 0 (virtual wire); ISA IRQs on their own pins except
  // IRQ0, which the IOAPIC takes on pin 2; the SCI level-triggered; every
  // PCI slot's INTA-D on its PIRQ's pin, as the ACPI _PRT routes them.
  io_interrupt(entries, kExtInt, kConforms, kIsaBus, 0, ioapic_id, 0);
  ++count;
  for (uint8_t irq = 0; irq < 16; ++irq) {
    if (irq == 2)
      continue;
    io_interrupt(entries, kInt, irq == 9 ? kActiveHighLevel : kConforms,
                 kIsaBus, irq, ioapic_id, irq == 0 ? 2 : irq);
    ++count;
  }
  for (uint8_t slot = 1; slot < 32; ++slot)
    for (uint8_t pin = 0; pin < 4; ++pin, ++count)
      io_interrupt(entries, kInt, kActiveLowLevel, kPciBus,
                   static_cast<uint8_t>(slot << 2 | pin), ioapic_id,
                   static_cast<uint8_t>(pci::kPirqGsiBase +
                                        PciBus::pirq_for(slot, pin + 1)));
  for (auto [type, lint] : {std::pair{kExtInt, 0}, {kNmi, 1}}) {
    put(entries, kLocalInterrupt, 1);
    put(entries, type, 1);
    put(entries, kConforms, 2);
    put(entries, kIsaBus, 1);
    put(entries, 0, 1);
    put(entries, 0xff, 1); // every local APIC
    put(entries, lint, 1);
    ++count;
  }

  MpTables tables;
  std::vector<uint8_t> &table = tables.configuration;
  put_text(table, "PCMP", 4);
  put(table, 44 + entries.size(), 2);
  put(table, 4, 1); // specification 1.4
  put(table, 0, 1); // checksum, below
  put_text(table, "SABLE", 8);
  put_text(table, "PC", 12);
  put(table, 0, 4); // no OEM table
  put(table, 0, 2);
  put(table, count, 2);
  put(table, kLocalApicAddress, 4);
  put(table, 0, 4); // no extended table, reserved
  table.insert(table.end(), entries.begin(), entries.end());
  table[7] = checksum(table);

  std::vector<uint8_t> &pointer = tables.floating_pointer;
  put_text(pointer, "_MP_", 4);
  put(pointer, table_address, 4);
  put(pointer, 1, 1); // length in 16-byte units
  put(pointer, 4, 1); // specification 1.4
  put(pointer, 0, 1); // checksum, below
  put(pointer, 0, 5); // the configuration table above; virtual wire mode
  pointer[10] = checksum(pointer);
  return tables;
}

} // namespace sable
