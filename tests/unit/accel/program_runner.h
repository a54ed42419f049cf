#pragma once
// Runs the guest programs of tests/programs on an engine, or natively on
// the host CPU (the oracle for 64-bit user-level code).

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "cpu/state.h"

namespace sable::test {

struct Program {
  std::string name; // "64/arith_flags"
  unsigned mode;    // 16, 32 or 64
  std::vector<uint8_t> code;
  bool host_oracle = false;
  // Why this program cannot run under kvm_pvm (KVM without hardware
  // virtualization, whose emulator lacks some instructions); empty if it can.
  std::string pvm_limitation;
  std::map<std::string, uint64_t> expected_registers; // "eax" -> value
  std::vector<std::pair<uint64_t, std::vector<uint8_t>>> expected_memory;
};

struct ProgramResult {
  bool finished = false; // reached `done` before the time limit
  std::string engine_error;
  uint64_t gpr[16] = {};
  std::vector<uint8_t> data; // the 4 KiB data area after the run
};

constexpr uint64_t kCodeAddress = 0x1000;
constexpr uint64_t kDataAddress = 0x2000;
constexpr size_t kDataSize = 4096;

std::vector<Program> load_programs(const std::string &binary_dir,
                                   const std::string &source_dir);

enum class EngineKind { Software, Kvm };
// Why an engine cannot run here ("" when it can), e.g. no /dev/kvm.
std::string engine_unavailable(EngineKind kind);
// True when /dev/kvm is kvm_pvm rather than VT-x/AMD-V.
bool kvm_is_pvm();
ProgramResult run_on_engine(EngineKind kind, const Program &program);
ProgramResult run_on_host(const Program &program);

// Register value by name: rax..r15, eax.., ax.., al..
uint64_t register_value(const ProgramResult &result, const std::string &name);

} // namespace sable::test
