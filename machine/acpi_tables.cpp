#include "machine/acpi_tables.h"

#include <iterator>
#include <stdexcept>

#include "devices/acpi_pm.h"
#include "devices/ioapic.h"
#include "devices/pci_bus.h"
#include "devices/piix3.h"
#include "machine/aml.h"

namespace sable {

namespace {
using Bytes = std::vector<uint8_t>;

constexpr size_t kHeaderSize = 36;
constexpr unsigned kChecksumOffset = 9;
constexpr char kOemId[] = "SABLE ";
constexpr char kOemTableId[] = "SABLEPC ";
constexpr char kCreatorId[] = "SBLE";

constexpr uint32_t kLocalApicAddress = 0xfee00000;
constexpr uint32_t kMadtPcAtCompatible = 1u << 0;
constexpr uint32_t kLocalApicEnabled = 1u << 0;
constexpr uint8_t kMadtLocalApic = 0;
constexpr uint8_t kMadtIoApic = 1;
constexpr uint8_t kMadtSourceOverride = 2;
constexpr uint8_t kMadtLocalApicNmi = 4;
constexpr uint8_t kAllProcessors = 0xff;
constexpr uint16_t kActiveHighLevel = 0x000d;
constexpr uint8_t kLint1 = 1;

constexpr size_t kFadtSize = 244;
constexpr uint8_t kFadtRevision = 3;
constexpr uint32_t kFadtWbinvd = 1u << 0;
constexpr uint32_t kFadtProcessorC1 = 1u << 2;
constexpr uint32_t kFadtSleepButtonIsControlMethod = 1u << 5;
constexpr uint32_t kFadtRtcS4 = 1u << 7;
constexpr uint32_t kFadtResetRegister = 1u << 10;
constexpr uint32_t kFadtUsePlatformClock = 1u << 15;
constexpr uint16_t kBootArchLegacyDevices = 1u << 0;
constexpr uint16_t kBootArch8042 = 1u << 1;
constexpr uint16_t kNoC2 = 101;  // latency above 100 us: C2 unsupported
constexpr uint16_t kNoC3 = 1001; // latency above 1000 us: C3 unsupported
constexpr uint8_t kCmosCentury = 0x32;
constexpr uint8_t kSystemIo = 1;
enum AccessSize : uint8_t {
  kByteAccess = 1,
  kWordAccess = 2,
  kDwordAccess = 3
};

constexpr uint32_t kLoaderAllocate = 1;
constexpr uint32_t kLoaderAddPointer = 2;
constexpr uint32_t kLoaderAddChecksum = 3;
constexpr size_t kLoaderEntrySize = 128;
constexpr size_t kLoaderNameSize = 56;
constexpr uint8_t kZoneHigh = 1;
constexpr uint8_t kZoneFseg = 2;

void put(Bytes &out, uint64_t value, unsigned size) {
  for (unsigned i = 0; i < size; ++i)
    out.push_back(uint8_t(value >> (8 * i)));
}

void put_text(Bytes &out, const char *text, size_t size) {
  for (size_t i = 0; i < size; ++i)
    out.push_back(uint8_t(text[i]));
}

void store(Bytes &out, size_t offset, uint64_t value, unsigned size) {
  for (unsigned i = 0; i < size; ++i)
    out[offset + i] = uint8_t(value >> (8 * i));
}

uint64_t fetch(const Bytes &in, size_t offset, unsigned size) {
  uint64_t value = 0;
  for (unsigned i = 0; i < size; ++i)
    value |= uint64_t(in[offset + i]) << (8 * i);
  return value;
}

uint8_t sum(const Bytes &in, size_t start, size_t length) {
  uint8_t total = 0;
  for (size_t i = start; i < start + length; ++i)
    total = uint8_t(total + in[i]);
  return total;
}

// The common header; the length is filled in when the table is complete.
Bytes header(const char *signature, uint8_t revision) {
  Bytes out;
  put_text(out, signature, 4);
  put(out, 0, 4);
  out.push_back(revision);
  out.push_back(0); // checksum
  put_text(out, kOemId, 6);
  put_text(out, kOemTableId, 8);
  put(out, 1, 4);
  put_text(out, kCreatorId, 4);
  put(out, 1, 4);
  return out;
}

void put_io_address(Bytes &out, uint16_t port, unsigned length,
                    AccessSize access) {
  out.insert(out.end(), {kSystemIo, uint8_t(length * 8), 0, access});
  put(out, port, 8);
}

Bytes build_dsdt(const AcpiConfig &config) {
  using namespace aml;
  std::vector<Bytes> routes;
  for (uint8_t slot = 1; slot < 32; ++slot)
    for (uint8_t pin = 0; pin < 4; ++pin)
      routes.push_back(package({
          integer(uint32_t(slot) << 16 | 0xffff),
          integer(pin),
          integer(0), // no link device: the last field is a GSI
          integer(pci::kPirqGsiBase + PciBus::pirq_for(slot, pin + 1)),
      }));

  std::vector<Bytes> isa_devices = {
      name("_ADR", integer(0x00010000)),
      device("RTC", join({name("_HID", eisa_id("PNP0B00")),
                          name("_CRS", resource_template({
                                           io_port(0x70, 0x70, 1, 2),
                                           irq_no_flags(1u << 8),
                                       }))})),
      device("KBD", join({name("_HID", eisa_id("PNP0303")),
                          name("_CRS", resource_template({
                                           io_port(0x60, 0x60, 1, 1),
                                           io_port(0x64, 0x64, 1, 1),
                                           irq_no_flags(1u << 1),
                                       }))})),
      device("MOU", join({name("_HID", eisa_id("PNP0F13")),
                          name("_CRS", resource_template({
                                           irq_no_flags(1u << 12),
                                       }))})),
  };
  if (config.com1)
    isa_devices.push_back(
        device("COM1",
               join({name("_HID", eisa_id("PNP0501")), name("_UID", integer(1)),
                     name("_CRS", resource_template({
                                      io_port(0x3f8, 0x3f8, 1, 8),
                                      irq_no_flags(1u << 4),
                                  }))})));

  Bytes pci_root =
      device("PCI0", join({
                         name("_HID", eisa_id("PNP0A03")),
                         name("_ADR", integer(0)),
                         name("_UID", integer(0)),
                         name("_CRS", resource_template({
                                          word_bus_number(0x00, 0xff),
                                          io_port(0xcf8, 0xcf8, 1, 8),
                                          word_io(0x0000, 0x0cf7),
                                          word_io(0x0d00, 0xffff),
                                          dword_memory(0x000a0000, 0x000bffff),
                                          dword_memory(config.pci_window_base,
                                                       config.pci_window_limit),
                                      })),
                         name("_PRT", package(routes)),
                         device("ISA", join(isa_devices)),
                     }));

  Bytes soft_off = name("\\_S5", package({
                                     integer(acpi::kSleepTypeSoftOff),
                                     integer(acpi::kSleepTypeSoftOff),
                                     integer(0),
                                     integer(0),
                                 }));

  Bytes dsdt = header("DSDT", 2); // revision 2: 64-bit integers
  Bytes body = join({scope("\\_SB", pci_root), soft_off});
  dsdt.insert(dsdt.end(), body.begin(), body.end());
  return dsdt;
}

Bytes build_fadt() {
  Bytes fadt = header("FACP", kFadtRevision);
  put(fadt, 0, 4);   // FIRMWARE_CTRL, relocated to the FACS
  put(fadt, 0, 4);   // DSDT, relocated
  fadt.push_back(0); // reserved
  fadt.push_back(0); // preferred PM profile: unspecified
  put(fadt, acpi::kSciIrq, 2);
  put(fadt, 0, 4); // SMI_CMD: none, ACPI mode is always on
  fadt.insert(fadt.end(), {0, 0, 0, 0}); // ACPI_ENABLE/DISABLE, S4BIOS, PSTATE
  put(fadt, acpi::kPm1aEventBlock, 4);
  put(fadt, 0, 4);
  put(fadt, acpi::kPm1aControlBlock, 4);
  put(fadt, 0, 4);
  put(fadt, 0, 4); // PM2_CNT
  put(fadt, acpi::kPmTimerBlock, 4);
  put(fadt, acpi::kGpe0Block, 4);
  put(fadt, 0, 4); // GPE1
  fadt.insert(fadt.end(),
              {uint8_t(acpi::kPm1EventLength), uint8_t(acpi::kPm1ControlLength),
               0, uint8_t(acpi::kPmTimerLength), uint8_t(acpi::kGpe0Length), 0,
               0, 0});
  put(fadt, kNoC2, 2);
  put(fadt, kNoC3, 2);
  put(fadt, 0, 2); // FLUSH_SIZE
  put(fadt, 0, 2); // FLUSH_STRIDE
  fadt.insert(fadt.end(), {0, 0, 0, 0, kCmosCentury});
  put(fadt, kBootArchLegacyDevices | kBootArch8042, 2);
  fadt.push_back(0);
  put(fadt,
      kFadtWbinvd | kFadtProcessorC1 | kFadtSleepButtonIsControlMethod |
          kFadtRtcS4 | kFadtResetRegister | kFadtUsePlatformClock,
      4);
  put_io_address(fadt, Piix3::kResetControlPort, 1, kByteAccess);
  fadt.push_back(Piix3::kResetValue);
  fadt.insert(fadt.end(), {0, 0, 0}); // reserved
  put(fadt, 0, 8);                    // X_FIRMWARE_CTRL: the 32-bit one is set
  put(fadt, 0, 8);                    // X_DSDT, relocated
  put_io_address(fadt, acpi::kPm1aEventBlock, acpi::kPm1EventLength,
                 kWordAccess);
  fadt.insert(fadt.end(), 12, 0);
  put_io_address(fadt, acpi::kPm1aControlBlock, acpi::kPm1ControlLength,
                 kWordAccess);
  fadt.insert(fadt.end(), 12, 0);
  fadt.insert(fadt.end(), 12, 0);
  put_io_address(fadt, acpi::kPmTimerBlock, acpi::kPmTimerLength, kDwordAccess);
  put_io_address(fadt, acpi::kGpe0Block, acpi::kGpe0Length, kByteAccess);
  fadt.insert(fadt.end(), 12, 0);
  if (fadt.size() != kFadtSize)
    throw std::logic_error("FADT layout is off");
  return fadt;
}

Bytes build_madt(unsigned cpus) {
  Bytes madt = header("APIC", 1);
  put(madt, kLocalApicAddress, 4);
  put(madt, kMadtPcAtCompatible, 4);
  for (unsigned cpu = 0; cpu < cpus; ++cpu) {
    madt.insert(madt.end(), {kMadtLocalApic, 8, uint8_t(cpu), uint8_t(cpu)});
    put(madt, kLocalApicEnabled, 4);
  }
  madt.insert(madt.end(), {kMadtIoApic, 12, Ioapic::kResetId, 0});
  put(madt, Ioapic::kBaseAddress, 4);
  put(madt, 0, 4); // GSI base
  madt.insert(madt.end(), {kMadtSourceOverride, 10, 0, 0});
  put(madt, 2, 4);
  put(madt, 0, 2); // bus conformance
  madt.insert(madt.end(), {kMadtSourceOverride, 10, 0, uint8_t(acpi::kSciIrq)});
  put(madt, acpi::kSciIrq, 4);
  put(madt, kActiveHighLevel, 2);
  madt.insert(madt.end(), {kMadtLocalApicNmi, 6, kAllProcessors});
  put(madt, 0, 2); // bus conformance
  madt.push_back(kLint1);
  return madt;
}

Bytes build_facs() {
  Bytes facs;
  put_text(facs, "FACS", 4);
  put(facs, 64, 4);
  facs.resize(32, 0);
  facs.push_back(1); // version
  facs.resize(64, 0);
  return facs;
}
} // namespace

AcpiTables::AcpiTables(const AcpiConfig &config) {
  uint32_t facs = add_table(build_facs(), false);
  uint32_t dsdt = add_table(build_dsdt(config));
  uint32_t fadt = add_table(build_fadt());
  point(File::Tables, fadt + 36, 4, File::Tables, facs);
  point(File::Tables, fadt + 40, 4, File::Tables, dsdt);
  point(File::Tables, fadt + 140, 8, File::Tables, dsdt);
  uint32_t madt = add_table(build_madt(config.cpus));

  const uint32_t listed[] = {fadt, madt};
  Bytes rsdt = header("RSDT", 1);
  Bytes xsdt = header("XSDT", 1);
  rsdt.resize(kHeaderSize + 4 * std::size(listed));
  xsdt.resize(kHeaderSize + 8 * std::size(listed));
  uint32_t rsdt_at = add_table(rsdt);
  uint32_t xsdt_at = add_table(xsdt);
  for (size_t i = 0; i < std::size(listed); ++i) {
    point(File::Tables, uint32_t(rsdt_at + kHeaderSize + 4 * i), 4,
          File::Tables, listed[i]);
    point(File::Tables, uint32_t(xsdt_at + kHeaderSize + 8 * i), 8,
          File::Tables, listed[i]);
  }

  put_text(rsdp_, "RSD PTR ", 8);
  rsdp_.push_back(0);
  put_text(rsdp_, kOemId, 6);
  rsdp_.push_back(2); // revision: ACPI 2.0+, with the XSDT
  put(rsdp_, 0, 4);
  put(rsdp_, 36, 4);
  put(rsdp_, 0, 8);
  rsdp_.insert(rsdp_.end(), 4, 0); // extended checksum, reserved
  point(File::Rsdp, 16, 4, File::Tables, rsdt_at);
  point(File::Rsdp, 24, 8, File::Tables, xsdt_at);
  checksums_.push_back({File::Rsdp, 8, 0, 20});
  checksums_.push_back({File::Rsdp, 32, 0, 36});
  for (const Checksum &c : checksums_) {
    Bytes &file = bytes(c.file);
    file[c.offset] = uint8_t(file[c.offset] - sum(file, c.start, c.length));
  }
}

uint32_t AcpiTables::add_table(Bytes table, bool checksummed) {
  uint32_t offset = uint32_t(tables_.size());
  uint32_t length = uint32_t(table.size());
  store(table, 4, length, 4);
  tables_.insert(tables_.end(), table.begin(), table.end());
  table_list_.push_back(
      {std::string(table.begin(), table.begin() + 4), offset, length});
  if (checksummed)
    checksums_.push_back(
        {File::Tables, offset + kChecksumOffset, offset, length});
  return offset;
}

void AcpiTables::point(File file, uint32_t offset, uint8_t size, File target,
                       uint32_t target_offset) {
  store(bytes(file), offset, target_offset, size);
  pointers_.push_back({file, offset, size, target});
}

AcpiTables::Placed AcpiTables::place(uint32_t tables_address,
                                     uint32_t rsdp_address) const {
  if (tables_address % kTablesAlignment || rsdp_address % kRsdpAlignment)
    throw std::invalid_argument("misaligned ACPI table address");
  Placed placed{tables_, rsdp_};
  auto file = [&](File f) -> Bytes & {
    return f == File::Tables ? placed.tables : placed.rsdp;
  };
  for (const Pointer &p : pointers_) {
    uint32_t base = p.target == File::Tables ? tables_address : rsdp_address;
    store(file(p.file), p.offset, fetch(file(p.file), p.offset, p.size) + base,
          p.size);
  }
  for (const Checksum &c : checksums_) {
    Bytes &data = file(c.file);
    data[c.offset] = uint8_t(data[c.offset] - sum(data, c.start, c.length));
  }
  return placed;
}

std::vector<uint8_t> AcpiTables::table_loader() const {
  size_t entries = 2 + pointers_.size() + checksums_.size();
  Bytes out(entries * kLoaderEntrySize, 0);
  size_t next = 0;
  auto entry = [&out, &next](uint32_t command) {
    size_t at = next;
    next += kLoaderEntrySize;
    store(out, at, command, 4);
    return at + 4;
  };
  auto name_at = [&out](size_t at, File file) {
    const char *name = file == File::Tables ? kTablesFile : kRsdpFile;
    for (size_t i = 0; name[i]; ++i)
      out[at + i] = uint8_t(name[i]);
  };

  size_t at = entry(kLoaderAllocate);
  name_at(at, File::Tables);
  store(out, at + kLoaderNameSize, kTablesAlignment, 4);
  out[at + kLoaderNameSize + 4] = kZoneHigh;
  at = entry(kLoaderAllocate);
  name_at(at, File::Rsdp);
  store(out, at + kLoaderNameSize, kRsdpAlignment, 4);
  out[at + kLoaderNameSize + 4] = kZoneFseg;

  for (const Pointer &p : pointers_) {
    at = entry(kLoaderAddPointer);
    name_at(at, p.file);
    name_at(at + kLoaderNameSize, p.target);
    store(out, at + 2 * kLoaderNameSize, p.offset, 4);
    out[at + 2 * kLoaderNameSize + 4] = p.size;
  }
  for (const Checksum &c : checksums_) {
    at = entry(kLoaderAddChecksum);
    name_at(at, c.file);
    store(out, at + kLoaderNameSize, c.offset, 4);
    store(out, at + kLoaderNameSize + 4, c.start, 4);
    store(out, at + kLoaderNameSize + 8, c.length, 4);
  }
  return out;
}

} // namespace sable
