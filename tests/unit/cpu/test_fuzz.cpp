#include <catch2/catch.hpp>

#include <cstdio>

#include "fuzz_runner.h"

using namespace sable::cpu;
using namespace sable::cpu::fuzz;

namespace {

constexpr uint64_t kStreams = 1000000;
constexpr uint64_t kSeed = 0x5ab1e;

void fuzz_mode(Mode mode) {
  FuzzRunner runner(mode, kSeed);
  runner.run(0, kStreams);
  const FuzzStats &stats = runner.stats();
  std::printf("fuzz %s: %s", mode_name(mode), stats.histogram().c_str());
  INFO(stats.histogram());
  CHECK(stats.violation_count == 0);
  REQUIRE(stats.streams == kStreams);
  CHECK(stats.checks == kStreams / FuzzRunner::kCheckInterval);
  // Every way a stream can end happened, including the deliberate triple
  // faults and the #DF path.
  CHECK(stats.broken_idt_shutdowns > 0);
  CHECK(stats.vectors[EXC_DF] > 0);
  CHECK(stats.vectors[EXC_UD] > 0);
  CHECK(stats.vectors[EXC_GP] > 0);
  CHECK(stats.halted > 0);
  CHECK(stats.budget_exhausted > 0);
}

} // namespace

TEST_CASE("fuzz: a million random streams in real mode", "[fuzz]") {
  fuzz_mode(Mode::Real);
}

TEST_CASE("fuzz: a million random streams in 32-bit protected mode", "[fuzz]") {
  fuzz_mode(Mode::Protected32);
}

TEST_CASE("fuzz: a million random streams in 64-bit long mode", "[fuzz]") {
  fuzz_mode(Mode::Long64);
}
