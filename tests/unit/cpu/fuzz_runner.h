#pragma once
// Random instruction streams against the software CPU. One small machine is
// built per mode; every stream starts from that mode's known state with
// random registers, runs a few blocks, and must end in a way a guest can
// cause (halted in a fault handler, halted, out of budget, triple fault)
// without the emulator crashing, hanging or breaking its own invariants.
// Streams are numbered: (seed, index) alone decides a stream's bytes and
// registers, so a failing stream can be replayed by itself.

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "cpu/cpu.h"

namespace sable::cpu::fuzz {

enum class Mode { Real, Protected32, Long64 };
const char *mode_name(Mode mode);

// How the IDT (IVT) is set up for one stream.
enum class IdtSetup : uint8_t {
  Full,   // every vector reaches its HLT stub
  ToDf,   // only vectors 0-8: a later vector escalates to #DF (vector 8)
  Broken, // limit 0: the first fault triple-faults
};

struct StreamSpec {
  uint64_t index = 0;
  IdtSetup idt = IdtSetup::Full;
  bool user_mode = false; // starts at CPL 3 (protected and long mode)
  std::vector<uint8_t> code;
  uint64_t gpr[16] = {};
  uint64_t rflags = 2;
  uint16_t data_selectors[4] = {}; // ES, DS, FS, GS in real mode
};

struct FuzzStats {
  uint64_t streams = 0;
  uint64_t budget_exhausted = 0;
  uint64_t halted = 0;                 // HLT outside the fault handlers
  uint64_t shutdown = 0;               // triple fault
  std::array<uint64_t, 256> vectors{}; // ended in the handler of a vector
  uint64_t broken_idt_streams = 0;
  uint64_t broken_idt_shutdowns = 0;
  uint64_t user_mode_streams = 0;
  uint64_t checks = 0; // known-good sequences run and verified
  uint64_t violation_count = 0;
  std::vector<std::string> violations; // the first few, described
  double seconds = 0;

  uint64_t faults() const;
  std::string histogram() const;
};

class FuzzRunner {
public:
  FuzzRunner(Mode mode, uint64_t seed);
  ~FuzzRunner();
  FuzzRunner(const FuzzRunner &) = delete;
  FuzzRunner &operator=(const FuzzRunner &) = delete;

  // Runs streams first .. first + count - 1, with a known-good sequence
  // after every kCheckInterval streams. A stream that runs longer than
  // `hang_seconds` is printed and the process aborts.
  void run(uint64_t first, uint64_t count, unsigned hang_seconds = 10);
  StreamSpec make_stream(uint64_t index) const;
  std::string describe(const StreamSpec &spec) const;

  const FuzzStats &stats() const { return stats_; }
  // The stream running now (or last run), for a crash report.
  uint64_t current_stream() const {
    return current_.load(std::memory_order_relaxed);
  }
  static constexpr uint64_t kCheckInterval = 1024;
  static constexpr uint64_t kBlockBudget = 8;

private:
  struct Machine;

  void run_stream(const StreamSpec &spec);
  void restore_memory();
  void load_state(const StreamSpec *spec);
  void check_invariants(const StreamSpec &spec, StopReason reason);
  void run_known_good(uint64_t index);
  void violation(const StreamSpec *spec, const std::string &what);

  Mode mode_;
  uint64_t seed_;
  std::unique_ptr<Machine> machine_;
  std::vector<uint8_t> pristine_;
  CpuState base_state_;
  FuzzStats stats_;
  std::atomic<uint64_t> current_{0};
};

} // namespace sable::cpu::fuzz
