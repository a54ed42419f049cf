#pragma once
// The ACPI tables of the PC machine: RSDP (2.0), RSDT, XSDT, FADT (revision
// 3), FACS, MADT and a DSDT. They come out in two forms:
//  - for firmware, QEMU's fw_cfg files: etc/acpi/tables (FACS first, then
//    the other tables), etc/acpi/rsdp, and etc/table-loader, whose
//    ALLOCATE / ADD_POINTER / ADD_CHECKSUM commands let SeaBIOS place the
//    files, turn the file offsets stored in pointer fields into addresses and
//    fix the checksums;
//  - for direct boot, the same files already placed at given addresses.
//
// Interrupts: the MADT declares one IOAPIC at GSI 0 with ISA IRQ 0 on GSI 2
// and the SCI (IRQ 9) level-triggered, active high. The DSDT's _PRT routes
// slot S pin P of bus 0 straight to GSI 16 + (S + P - 1) mod 4, the IOAPIC
// input each PIRQ line is wired to (see devices/pci_bus.h); there are no PCI
// interrupt link devices, so an OS must use the IOAPIC (APIC mode).

#include <cstdint>
#include <string>
#include <vector>

namespace sable {

struct AcpiConfig {
  unsigned cpus = 1;
  // The 32-bit PCI memory window the DSDT hands to the PCI root bridge:
  // from the end of RAM below 4 GiB up to just below the IOAPIC.
  uint32_t pci_window_base = 0xe0000000;
  uint32_t pci_window_limit = 0xfebfffff;
  // Whether a COM1 device appears in the DSDT's ISA bridge.
  bool com1 = true;
};

class AcpiTables {
public:
  static constexpr const char *kTablesFile = "etc/acpi/tables";
  static constexpr const char *kRsdpFile = "etc/acpi/rsdp";
  static constexpr const char *kLoaderFile = "etc/table-loader";
  // The FACS at the start of the tables needs this alignment.
  static constexpr uint32_t kTablesAlignment = 64;
  static constexpr uint32_t kRsdpAlignment = 16;

  explicit AcpiTables(const AcpiConfig &config);

  // fw_cfg contents: pointer fields hold offsets into the tables file.
  const std::vector<uint8_t> &tables() const { return tables_; }
  const std::vector<uint8_t> &rsdp() const { return rsdp_; }
  std::vector<uint8_t> table_loader() const;

  struct Placed {
    std::vector<uint8_t> tables;
    std::vector<uint8_t> rsdp;
  };
  // Copies of both files with absolute pointers and valid checksums, for a
  // guest that finds the tables file at `tables_address` and the RSDP at
  // `rsdp_address` (both below 4 GiB, aligned as above; the RSDP in
  // 0xE0000-0xFFFFF unless the boot protocol passes its address).
  Placed place(uint32_t tables_address, uint32_t rsdp_address) const;

  struct Table {
    std::string signature;
    uint32_t offset; // in tables()
    uint32_t length;
  };
  const std::vector<Table> &table_list() const { return table_list_; }

private:
  enum class File : uint8_t { Tables, Rsdp };
  struct Pointer {
    File file;
    uint32_t offset;
    uint8_t size;
    File target;
  };
  struct Checksum {
    File file;
    uint32_t offset;
    uint32_t start;
    uint32_t length;
  };

  uint32_t add_table(std::vector<uint8_t> table, bool checksummed = true);
  void point(File file, uint32_t offset, uint8_t size, File target,
             uint32_t target_offset);
  std::vector<uint8_t> &bytes(File file) {
    return file == File::Tables ? tables_ : rsdp_;
  }

  std::vector<uint8_t> tables_;
  std::vector<uint8_t> rsdp_;
  std::vector<Pointer> pointers_;
  std::vector<Checksum> checksums_;
  std::vector<Table> table_list_;
};

} // namespace sable
