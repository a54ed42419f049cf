#pragma once
// The Intel MultiProcessor Specification 1.4 tables: how a guest booted
// without ACPI (acpi=off) finds its processors, the IOAPIC and the interrupt
// routing. Built for direct kernel boots; SeaBIOS writes its own.

#include <cstdint>
#include <vector>

namespace sable {

struct MpConfig {
  unsigned cpus = 1;
  uint32_t cpu_signature = 0; // CPUID.1:EAX
};

// The floating pointer structure and the configuration table, for a guest
// that finds the pointer at `pointer_address` (16-byte aligned, in the BIOS
// area) and the table at `table_address`.
struct MpTables {
  std::vector<uint8_t> floating_pointer; // 16 bytes
  std::vector<uint8_t> configuration;
};
MpTables build_mp_tables(const MpConfig &config, uint32_t table_address);

} // namespace sable
