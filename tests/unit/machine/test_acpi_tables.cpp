#include <catch2/catch.hpp>

#include <algorithm>
#include <cstring>
#include <map>
#include <string>

#include "aml_walker.h"
#include "devices/acpi_pm.h"
#include "machine/acpi_tables.h"

using namespace sable;
using Bytes = std::vector<uint8_t>;

namespace {

constexpr uint32_t kTablesAt = 0x07fe0000;
constexpr uint32_t kRsdpAt = 0x000f5a30;

uint64_t field(const Bytes &b, size_t offset, unsigned size) {
  uint64_t value = 0;
  for (unsigned i = 0; i < size; ++i)
    value |= uint64_t(b[offset + i]) << (8 * i);
  return value;
}

uint8_t sum(const Bytes &b, size_t start, size_t length) {
  uint8_t total = 0;
  for (size_t i = start; i < start + length; ++i)
    total = uint8_t(total + b[i]);
  return total;
}

std::string signature(const Bytes &b, size_t offset) {
  return std::string(b.begin() + long(offset), b.begin() + long(offset) + 4);
}

// Tables reachable from the placed XSDT, by signature, as offsets in the
// placed tables file.
std::map<std::string, size_t> walk_xsdt(const AcpiTables::Placed &placed) {
  std::map<std::string, size_t> found;
  size_t xsdt = field(placed.rsdp, 24, 8) - kTablesAt;
  size_t entries = (field(placed.tables, xsdt + 4, 4) - 36) / 8;
  for (size_t i = 0; i < entries; ++i) {
    size_t at = field(placed.tables, xsdt + 36 + 8 * i, 8) - kTablesAt;
    found[signature(placed.tables, at)] = at;
  }
  return found;
}

bool contains(const Bytes &haystack, size_t start, size_t length,
              const Bytes &needle) {
  auto first = haystack.begin() + long(start);
  return std::search(first, first + long(length), needle.begin(),
                     needle.end()) != first + long(length);
}

} // namespace

TEST_CASE("acpi tables: RSDP, RSDT and XSDT point at checksummed tables",
          "[acpi]") {
  AcpiTables tables(AcpiConfig{});
  AcpiTables::Placed placed = tables.place(kTablesAt, kRsdpAt);
  const Bytes &rsdp = placed.rsdp;
  REQUIRE(rsdp.size() == 36);
  CHECK(signature(rsdp, 0) + signature(rsdp, 4) == "RSD PTR ");
  CHECK(rsdp[15] == 2);
  CHECK(field(rsdp, 20, 4) == 36);
  CHECK(sum(rsdp, 0, 20) == 0);
  CHECK(sum(rsdp, 0, 36) == 0);

  size_t rsdt = field(rsdp, 16, 4) - kTablesAt;
  CHECK(signature(placed.tables, rsdt) == "RSDT");
  size_t rsdt_entries = (field(placed.tables, rsdt + 4, 4) - 36) / 4;
  REQUIRE(rsdt_entries == 2);
  std::map<std::string, size_t> xsdt_tables = walk_xsdt(placed);
  for (size_t i = 0; i < rsdt_entries; ++i) {
    size_t at = field(placed.tables, rsdt + 36 + 4 * i, 4) - kTablesAt;
    CHECK(xsdt_tables.at(signature(placed.tables, at)) == at);
  }
  CHECK(xsdt_tables.count("FACP") == 1);
  CHECK(xsdt_tables.count("APIC") == 1);

  for (const AcpiTables::Table &t : tables.table_list()) {
    INFO(t.signature);
    CHECK(signature(placed.tables, t.offset) == t.signature);
    CHECK(field(placed.tables, t.offset + 4, 4) == t.length);
    CHECK(t.offset + t.length <= placed.tables.size());
    if (t.signature != "FACS") {
      CHECK(sum(placed.tables, t.offset, t.length) == 0);
      CHECK(sum(tables.tables(), t.offset, t.length) == 0);
    }
  }
}

TEST_CASE("acpi tables: FADT names the PM hardware and reset register",
          "[acpi]") {
  AcpiTables tables(AcpiConfig{});
  AcpiTables::Placed placed = tables.place(kTablesAt, kRsdpAt);
  const Bytes &t = placed.tables;
  size_t fadt = walk_xsdt(placed).at("FACP");
  CHECK(field(t, fadt + 4, 4) == 244);
  CHECK(t[fadt + 8] == 3);
  CHECK(field(t, fadt + 46, 2) == 9);
  CHECK(field(t, fadt + 48, 4) == 0);
  CHECK(field(t, fadt + 56, 4) == 0x600);
  CHECK(field(t, fadt + 64, 4) == 0x604);
  CHECK(field(t, fadt + 76, 4) == 0x608);
  CHECK(field(t, fadt + 80, 4) == 0xafe0);
  CHECK(t[fadt + 88] == 4);
  CHECK(t[fadt + 89] == 2);
  CHECK(t[fadt + 91] == 4);
  CHECK(t[fadt + 92] == 4);
  uint32_t flags = uint32_t(field(t, fadt + 112, 4));
  CHECK(flags & (1u << 0));       // WBINVD
  CHECK(flags & (1u << 10));      // RESET_REG_SUP
  CHECK_FALSE(flags & (1u << 4)); // fixed power button present
  CHECK(t[fadt + 116] == 1);
  CHECK(field(t, fadt + 120, 8) == 0xcf9);
  CHECK(t[fadt + 128] == 6);
  CHECK(field(t, fadt + 152, 8) == 0x600);
  CHECK(t[fadt + 149] == 32);
  CHECK(field(t, fadt + 212, 8) == 0x608);
  CHECK(field(t, fadt + 224, 8) == 0xafe0);

  size_t facs = field(t, fadt + 36, 4);
  CHECK(facs % 64 == 0);
  CHECK(signature(t, facs - kTablesAt) == "FACS");
  CHECK(field(t, facs - kTablesAt + 4, 4) == 64);
  size_t dsdt = field(t, fadt + 40, 4);
  CHECK(field(t, fadt + 140, 8) == dsdt);
  CHECK(signature(t, dsdt - kTablesAt) == "DSDT");
}

TEST_CASE("acpi tables: MADT lists every CPU, the IOAPIC and overrides",
          "[acpi]") {
  for (unsigned cpus : {1u, 4u}) {
    INFO(cpus << " CPUs");
    AcpiConfig config;
    config.cpus = cpus;
    AcpiTables tables(config);
    AcpiTables::Placed placed = tables.place(kTablesAt, kRsdpAt);
    const Bytes &t = placed.tables;
    size_t madt = walk_xsdt(placed).at("APIC");
    size_t end = madt + field(t, madt + 4, 4);
    CHECK(field(t, madt + 36, 4) == 0xfee00000);
    CHECK(field(t, madt + 40, 4) == 1);
    std::map<uint8_t, unsigned> count;
    std::vector<unsigned> apic_ids;
    for (size_t at = madt + 44; at < end; at += t[at + 1]) {
      REQUIRE(t[at + 1] >= 2);
      ++count[t[at]];
      if (t[at] == 0) {
        apic_ids.push_back(t[at + 3]);
        CHECK(field(t, at + 4, 4) == 1);
      } else if (t[at] == 1) {
        CHECK(field(t, at + 4, 4) == 0xfec00000);
        CHECK(field(t, at + 8, 4) == 0);
      } else if (t[at] == 2 && t[at + 3] == 0) {
        CHECK(field(t, at + 4, 4) == 2);
      } else if (t[at] == 2) {
        CHECK(t[at + 3] == 9);
        CHECK(field(t, at + 4, 4) == 9);
        CHECK(field(t, at + 8, 2) == 0x000d);
      } else if (t[at] == 4) {
        CHECK(t[at + 2] == 0xff);
        CHECK(t[at + 5] == 1);
      }
    }
    CHECK(count[0] == cpus);
    CHECK(count[1] == 1);
    CHECK(count[2] == 2);
    CHECK(count[4] == 1);
    CHECK(apic_ids.size() == cpus);
    CHECK(apic_ids.back() == cpus - 1);
  }
}

TEST_CASE("acpi tables: DSDT has the PCI root, _PRT and \\_S5", "[acpi]") {
  AcpiConfig config;
  config.pci_window_base = 0x80000000;
  AcpiTables tables(config);
  AcpiTables::Placed placed = tables.place(kTablesAt, kRsdpAt);
  const Bytes &t = placed.tables;
  size_t fadt = walk_xsdt(placed).at("FACP");
  size_t dsdt = field(t, fadt + 40, 4) - kTablesAt;
  size_t length = field(t, dsdt + 4, 4);
  CHECK(t[dsdt + 8] == 2);

  Bytes s5{0x08,
           '\\',
           '_',
           'S',
           '5',
           '_',
           0x12,
           0x06,
           0x04,
           acpi::kSleepTypeSoftOff,
           acpi::kSleepTypeSoftOff,
           0x00,
           0x00};
  CHECK(contains(t, dsdt, length, s5));
  Bytes pci_hid{0x08, '_', 'H', 'I', 'D', 0x0c, 0x41, 0xd0, 0x0a, 0x03};
  CHECK(contains(t, dsdt, length, pci_hid));
  Bytes window{0x00, 0x00, 0x00, 0x80, 0xff, 0xff, 0xbf, 0xfe};
  CHECK(contains(t, dsdt, length, window));

  Bytes prt{'_', 'P', 'R', 'T', 0x12};
  auto first = t.begin() + long(dsdt);
  auto at = std::search(first, first + long(length), prt.begin(), prt.end());
  REQUIRE(at != first + long(length));
  size_t pkg = size_t(at - t.begin()) + 5;
  size_t length_bytes = 1 + (t[pkg] >> 6);
  CHECK(t[pkg + length_bytes] == 31 * 4);
  Bytes slot1_inta{0x12, 0x0b, 0x04, 0x0c, 0xff, 0xff,
                   0x01, 0x00, 0x00, 0x00, 0x0a, 0x10};
  CHECK(std::equal(slot1_inta.begin(), slot1_inta.end(),
                   t.begin() + long(pkg + length_bytes + 1)));
  Bytes slot2_intb{0x12, 0x0b, 0x04, 0x0c, 0xff, 0xff,
                   0x02, 0x00, 0x01, 0x00, 0x0a, 0x12};
  CHECK(contains(t, dsdt, length, slot2_intb));
}

TEST_CASE("acpi tables: the table-loader script reproduces place()", "[acpi]") {
  AcpiConfig config;
  config.cpus = 4;
  AcpiTables tables(config);
  Bytes script = tables.table_loader();
  REQUIRE(script.size() % 128 == 0);

  std::map<std::string, Bytes> files = {
      {AcpiTables::kTablesFile, tables.tables()},
      {AcpiTables::kRsdpFile, tables.rsdp()}};
  std::map<std::string, uint32_t> address;
  auto name_at = [&](size_t at) {
    return std::string(reinterpret_cast<const char *>(&script[at]));
  };
  unsigned checksums = 0;
  for (size_t at = 0; at < script.size(); at += 128) {
    uint32_t command = uint32_t(field(script, at, 4));
    size_t arg = at + 4;
    if (command == 1) {
      std::string file = name_at(arg);
      uint32_t align = uint32_t(field(script, arg + 56, 4));
      uint8_t zone = script[arg + 60];
      CHECK(zone == (file == AcpiTables::kRsdpFile ? 2 : 1));
      address[file] = file == AcpiTables::kRsdpFile ? kRsdpAt : kTablesAt;
      CHECK(address[file] % align == 0);
    } else if (command == 2) {
      Bytes &dest = files.at(name_at(arg));
      uint32_t base = address.at(name_at(arg + 56));
      uint32_t offset = uint32_t(field(script, arg + 112, 4));
      uint8_t size = script[arg + 116];
      REQUIRE((size == 4 || size == 8));
      uint64_t value = field(dest, offset, size) + base;
      for (unsigned i = 0; i < size; ++i)
        dest[offset + i] = uint8_t(value >> (8 * i));
    } else if (command == 3) {
      Bytes &data = files.at(name_at(arg));
      uint32_t offset = uint32_t(field(script, arg + 56, 4));
      uint32_t start = uint32_t(field(script, arg + 60, 4));
      uint32_t length = uint32_t(field(script, arg + 64, 4));
      data[offset] = uint8_t(data[offset] - sum(data, start, length));
      ++checksums;
    } else {
      FAIL("unknown loader command " << command);
    }
  }
  CHECK(checksums == 7);
  AcpiTables::Placed placed = tables.place(kTablesAt, kRsdpAt);
  CHECK(files.at(AcpiTables::kTablesFile) == placed.tables);
  CHECK(files.at(AcpiTables::kRsdpFile) == placed.rsdp);
}

TEST_CASE("acpi tables: the DSDT parses completely as AML", "[acpi]") {
  AcpiConfig config;
  config.com1 = false;
  for (bool com1 : {false, true}) {
    config.com1 = com1;
    AcpiTables tables(config);
    const AcpiTables::Table *dsdt = nullptr;
    for (const AcpiTables::Table &t : tables.table_list())
      if (t.signature == "DSDT")
        dsdt = &t;
    REQUIRE(dsdt);
    Bytes body(tables.tables().begin() + dsdt->offset + 36,
               tables.tables().begin() + dsdt->offset + dsdt->length);
    test::AmlWalker aml(body);
    Bytes broken = body;
    ++broken[1];
    CHECK_THROWS(test::AmlWalker{broken});

    std::vector<std::string> devices = {
        "\\_SB_.PCI0", "\\_SB_.PCI0.ISA_", "\\_SB_.PCI0.ISA_.RTC_",
        "\\_SB_.PCI0.ISA_.KBD_", "\\_SB_.PCI0.ISA_.MOU_"};
    if (com1)
      devices.push_back("\\_SB_.PCI0.ISA_.COM1");
    CHECK(aml.devices == devices);

    CHECK(aml.names.at("\\_SB_.PCI0._HID").integer == 0x030ad041);
    CHECK(aml.names.at("\\_SB_.PCI0._PRT").elements == 124);
    CHECK(aml.names.at("\\_S5_").elements == 4);
    CHECK(aml.names.at("\\_S5_").opcode == 0x12);
    for (const auto &[path, object] : aml.names) {
      INFO(path);
      if (path.size() > 4 && path.substr(path.size() - 4) == "_CRS")
        CHECK(test::resource_template_well_formed(object.bytes));
    }
    CHECK(aml.names.count("\\_SB_.PCI0.ISA_.COM1._CRS") == (com1 ? 1 : 0));
  }
}
