// Runs the software-CPU fuzz loop (tests/unit/cpu/fuzz_runner.h) for as
// long as asked, or replays one stream with the execution traced to stderr.
// usage: cpu_fuzz MODE SECONDS [SEED]
//        cpu_fuzz MODE replay SEED INDEX
// MODE is real, protected32 or long64; without SEED one is drawn at random.
// Exits 1 when an invariant was violated.

#include <chrono>
#include <cinttypes>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>

#include "../unit/cpu/fuzz_runner.h"
#include "machine/log.h"

using namespace sable::cpu::fuzz;

namespace {

const FuzzRunner *g_runner = nullptr;

// A crash or a sanitizer abort names the stream that caused it, so it can
// be replayed. Not async-signal-safe; the process is dying anyway.
void report_crash(int signal) {
  if (g_runner)
    std::fprintf(
        stderr, "cpu_fuzz: signal %d in %s\n", signal,
        g_runner->describe(g_runner->make_stream(g_runner->current_stream()))
            .c_str());
  std::signal(signal, SIG_DFL);
  std::raise(signal);
}

} // namespace

int main(int argc, char **argv) {
  if (argc < 3 || argc > 5) {
    std::fprintf(stderr,
                 "usage: %s real|protected32|long64 SECONDS [SEED]\n"
                 "       %s real|protected32|long64 replay SEED INDEX\n",
                 argv[0], argv[0]);
    return 2;
  }
  const std::string name = argv[1];
  Mode mode;
  if (name == "real")
    mode = Mode::Real;
  else if (name == "protected32")
    mode = Mode::Protected32;
  else if (name == "long64")
    mode = Mode::Long64;
  else {
    std::fprintf(stderr, "cpu_fuzz: unknown mode '%s'\n", name.c_str());
    return 2;
  }
  if (std::string(argv[2]) == "replay" && argc == 5) {
    FuzzRunner runner(mode, std::strtoull(argv[3], nullptr, 0));
    const uint64_t index = std::strtoull(argv[4], nullptr, 0);
    std::printf("%s\n", runner.describe(runner.make_stream(index)).c_str());
    sable::set_log_mask(sable::LOG_EXEC | sable::LOG_INT | sable::LOG_CPU |
                        sable::LOG_IN_ASM);
    runner.run(index, 1);
    std::printf("%s", runner.stats().histogram().c_str());
    return runner.stats().violation_count == 0 ? 0 : 1;
  }
  const double seconds = std::strtod(argv[2], nullptr);
  std::random_device entropy;
  const uint64_t seed = argc == 4 ? std::strtoull(argv[3], nullptr, 0)
                                  : uint64_t{entropy()} << 32 | entropy();
  std::printf("cpu_fuzz %s seed 0x%" PRIx64 "\n", name.c_str(), seed);
  std::fflush(stdout);

  FuzzRunner runner(mode, seed);
  g_runner = &runner;
  for (int signal : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT})
    std::signal(signal, report_crash);
  constexpr uint64_t kSlice = 1 << 16;
  const auto start = std::chrono::steady_clock::now();
  uint64_t next = 0;
  do {
    runner.run(next, kSlice);
    next += kSlice;
  } while (
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count() < seconds);
  std::printf("%s", runner.stats().histogram().c_str());
  return runner.stats().violation_count == 0 ? 0 : 1;
}
