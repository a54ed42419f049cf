#pragma once
// The one interface the machine, the gdbstub and save/restore use to run
// guest CPUs, whichever engine (KVM or the software CPU) is behind it.

#include <cstdint>
#include <memory>
#include <string>

#include "cpu/state.h"

namespace sable {

class StateWriter;
class StateReader;

// How a run ended, as the machine acts on it.
enum class RunOutcome {
  Stopped,  // the machine asked to stop (quit, debug-exit, poweroff)
  Reset,    // the guest asked for a reset (triple fault, port 0xCF9/0x92/0x64)
  Shutdown, // triple fault with -no-reboot
  Failed,   // an unrecoverable engine error, already reported
};

class Engine {
public:
  virtual ~Engine() = default;
  virtual std::string_view name() const = 0;
  virtual unsigned vcpu_count() const = 0;

  // Starts the vCPU threads and blocks until the machine stops them.
  virtual RunOutcome run() = 0;
  // Thread-safe: make run() return with `outcome` as soon as possible.
  virtual void request_stop(RunOutcome outcome) = 0;
  virtual void pause() = 0;
  virtual void resume() = 0;
  // Returns vCPUs to their power-on state (the machine resets devices).
  virtual void reset() = 0;

  // Register state in the software CPU's layout, for the gdbstub and
  // cross-engine snapshots. Only valid while paused.
  virtual cpu::CpuState get_state(unsigned vcpu) = 0;
  virtual void set_state(unsigned vcpu, const cpu::CpuState &state) = 0;

  virtual void save(StateWriter &out) = 0;
  virtual void load(StateReader &in) = 0;
};

} // namespace sable
