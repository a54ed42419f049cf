#pragma once
// What the CPU test fixtures share: a vCPU over RAM at address 0 and an
// empty port bus, typed access to guest memory, identity-mapping page
// tables for long mode, and running one instruction through its handler.

#include <cstdint>
#include <memory>
#include <mutex>

#include "cpu/cpu.h"
#include "cpu/ops/handlers.h"
#include "machine/io_bus.h"
#include "machine/memory.h"

namespace sable::cpu::test {

struct VcpuMachine {
  std::recursive_mutex lock;
  MmioBus mmio{lock};
  IoPortBus io{lock};
  GuestMemory memory{mmio};
  uint8_t *ram;
  std::unique_ptr<Cpu> cpu;

  explicit VcpuMachine(uint64_t ram_size) {
    ram = memory.add_ram("ram", 0, ram_size);
    CpuEnvironment env;
    env.memory = &memory;
    env.io = &io;
    cpu = std::make_unique<Cpu>(env);
  }

  CpuState &state() { return cpu->state; }

  // Runs one instruction the way the interpreter does: next_rip is the
  // fall-through address, committed to RIP only on success; false when the
  // op has no handler or it faulted (the fault is in cpu->pending).
  bool execute_with(Handler handler, const Instruction &insn) {
    cpu->pending = {};
    cpu->next_rip = state().rip + insn.length;
    if (!handler || !handler(*cpu, insn))
      return false;
    state().rip = cpu->next_rip;
    return true;
  }

  template <typename T> void poke(uint64_t address, T value) {
    memory.write(address, &value, sizeof(T));
  }
  template <typename T> T peek(uint64_t address) {
    T value{};
    memory.read(address, &value, sizeof(T));
    return value;
  }

  // A PML4 at `pml4` whose first PDPT and page directory (the next two
  // pages) identity-map the first `pages` 2 MiB pages, supervisor and
  // writable.
  void map_identity(uint64_t pml4, unsigned pages) {
    const uint64_t pdpt = pml4 + 0x1000, pd = pml4 + 0x2000;
    poke<uint64_t>(pml4, pdpt | 0x7);
    poke<uint64_t>(pdpt, pd | 0x7);
    for (unsigned i = 0; i < pages; ++i)
      poke<uint64_t>(pd + i * 8, (uint64_t{i} << 21) | 0x87);
  }

  // Identity-maps `pages` 2 MiB pages with tables at `pml4` and turns on
  // PAE paging in long mode; the caller loads a 64-bit CS and flushes the
  // TLB.
  void enable_long_mode_paging(uint64_t pml4, unsigned pages) {
    map_identity(pml4, pages);
    CpuState &s = state();
    s.cr3 = pml4;
    s.cr4 |= CR4_PAE;
    s.efer |= EFER_LME | EFER_LMA;
    s.cr0 |= CR0_PG;
  }
};

} // namespace sable::cpu::test
