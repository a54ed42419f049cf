#pragma once
// What a debugger (the gdbstub) asks of a vCPU, whichever engine runs it:
// breakpoints and watchpoints on linear addresses, and why a vCPU stopped
// for the debugger. Also a side-effect-free page walk for the debugger's
// memory accesses.

#include <cstdint>
#include <vector>

#include "cpu/state.h"

namespace sable {
class GuestMemory;
}

namespace sable::cpu {

enum class WatchKind : uint8_t { Write = 1, Read = 2, Access = 3 };

struct Watchpoint {
  uint64_t address = 0;
  uint64_t length = 1;
  WatchKind kind = WatchKind::Write;
  bool operator==(const Watchpoint &) const = default;
};

// Linear addresses, as GDB's Z packets give them.
struct DebugPoints {
  std::vector<uint64_t> breakpoints;    // software (Z0)
  std::vector<uint64_t> hw_breakpoints; // hardware (Z1)
  std::vector<Watchpoint> watchpoints;  // Z2-Z4
  bool empty() const {
    return breakpoints.empty() && hw_breakpoints.empty() && watchpoints.empty();
  }
};

// Why a vCPU stopped for the debugger.
struct DebugEvent {
  enum class Kind : uint8_t {
    Breakpoint,   // a software breakpoint, before the instruction ran
    HwBreakpoint, // a hardware breakpoint, before the instruction ran
    Watchpoint,   // after the instruction that made the access
    Step,         // one instruction done
    TripleFault,  // the vCPU shut down; resuming resets (or ends) the machine
  };
  Kind kind = Kind::Step;
  unsigned vcpu = 0;
  uint64_t address = 0; // the watched data address (Watchpoint)
  WatchKind watch = WatchKind::Write;
};

// Linear to guest-physical through the paging `state` sets up, without
// faults and without setting accessed or dirty bits; false when the page
// is not present. Without paging the address is physical (with the A20
// mask).
bool debug_translate(const CpuState &state, const GuestMemory &memory,
                     uint64_t linear, uint64_t &physical);

} // namespace sable::cpu
