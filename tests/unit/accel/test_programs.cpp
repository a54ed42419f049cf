#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdio>

#include "program_runner.h"

using namespace sable::test;

namespace {

const std::vector<Program> &programs() {
  static const std::vector<Program> all =
      load_programs(SABLE_PROGRAMS_BINARY_DIR, SABLE_PROGRAMS_SOURCE_DIR);
  return all;
}

std::string hex(uint64_t v) {
  char text[24];
  std::snprintf(text, sizeof text, "0x%llx",
                static_cast<unsigned long long>(v));
  return text;
}

void check_expectations(const Program &program, const ProgramResult &result) {
  for (const auto &[name, value] : program.expected_registers) {
    INFO(program.name << ": " << name);
    CHECK(hex(register_value(result, name)) == hex(value));
  }
  for (const auto &[address, bytes] : program.expected_memory) {
    for (size_t i = 0; i < bytes.size(); ++i) {
      INFO(program.name << ": memory " << hex(address + i));
      CHECK(hex(result.data.at(address - kDataAddress + i)) == hex(bytes[i]));
    }
  }
}

void check_same(const Program &program, const ProgramResult &expected,
                const ProgramResult &actual, bool skip_pointers) {
  for (unsigned i = 0; i < 16; ++i) {
    if (skip_pointers && (i == 3 || i == 4))
      continue;
    INFO(program.name << ": register " << i);
    CHECK(hex(actual.gpr[i]) == hex(expected.gpr[i]));
  }
  auto differ = std::mismatch(actual.data.begin(), actual.data.end(),
                              expected.data.begin());
  INFO(program.name << ": data area, first difference at offset "
                    << differ.first - actual.data.begin());
  CHECK(differ.first == actual.data.end());
}

} // namespace

TEST_CASE(
    "guest programs: the software CPU matches expectations and the host") {
  REQUIRE(programs().size() >= 12);
  for (const Program &program : programs()) {
    ProgramResult result = run_on_engine(EngineKind::Software, program);
    INFO(program.name);
    REQUIRE(result.engine_error == "");
    CHECK(result.finished);
    check_expectations(program, result);
    if (program.host_oracle)
      check_same(program, run_on_host(program), result, true);
  }
}

TEST_CASE("guest programs: KVM gives the software CPU's results") {
  std::string why = engine_unavailable(EngineKind::Kvm);
  if (!why.empty()) {
    WARN("skipped: " << why);
    return;
  }
  for (const Program &program : programs()) {
    if (kvm_is_pvm() && !program.pvm_limitation.empty()) {
      WARN("skipped " << program.name
                      << " on kvm_pvm: " << program.pvm_limitation);
      continue;
    }
    ProgramResult kvm = run_on_engine(EngineKind::Kvm, program);
    INFO(program.name);
    REQUIRE(kvm.engine_error == "");
    CHECK(kvm.finished);
    check_expectations(program, kvm);
    check_same(program, run_on_engine(EngineKind::Software, program), kvm,
               false);
  }
}
