#pragma once
// The one interface the machine, the gdbstub and save/restore use to run
// guest CPUs, whichever engine (KVM or the software CPU) is behind it.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "cpu/debug.h"
#include "cpu/state.h"

namespace sable {

class StateWriter;
class StateReader;

// What a vCPU does when the debugger resumes the machine.
enum class VcpuRun : uint8_t {
  Hold,     // stays stopped while the others run
  Continue, // runs
  Step,     // runs one instruction and stops everything again
};

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
  // Returns once every vCPU thread is parked; never call it from a vCPU
  // thread or with the machine lock held.
  virtual void pause() = 0;
  virtual void resume() = 0;
  // Returns vCPUs to their power-on state (the machine resets devices).
  virtual void reset() = 0;

  // Register state in the software CPU's layout, for the gdbstub and
  // cross-engine snapshots. Only valid while paused.
  virtual cpu::CpuState get_state(unsigned vcpu) = 0;
  virtual void set_state(unsigned vcpu, const cpu::CpuState &state) = 0;

  // ---- the debugger (debug/gdbstub)
  // Called on a vCPU's thread when it stops for the debugger, after the
  // engine has begun pausing every vCPU (pause() waits for the rest). While
  // a handler is installed a triple fault stops and reports; resuming then
  // resets (or, with -no-reboot, ends) the machine. Change only while
  // paused; an empty handler detaches.
  using DebugHandler = std::function<void(const cpu::DebugEvent &)>;
  virtual void set_debug_handler(DebugHandler handler) = 0;
  // While paused: the breakpoints and watchpoints, for every vCPU. Returns
  // "" or why the engine cannot take them (the points stay as they were).
  virtual std::string set_debug_points(const cpu::DebugPoints &points) = 0;
  // While paused: resumes with one VcpuRun per vCPU.
  virtual void resume_debug(const std::vector<VcpuRun> &modes) = 0;

  virtual void save(StateWriter &out) = 0;
  virtual void load(StateReader &in) = 0;
};

} // namespace sable
