#pragma once
// Assembles a PC from the parsed options: memory, buses, interrupt routing,
// clock and event loop, devices, consoles and the engine that runs the CPUs.

#include <atomic>
#include <memory>
#include <mutex>
#include <vector>

#include "machine/char_backend.h"
#include "machine/clock.h"
#include "machine/event_loop.h"
#include "machine/io_bus.h"
#include "machine/irq.h"
#include "machine/memory.h"
#include "machine/options.h"

namespace sable {

class Engine;

class Machine {
public:
  // Throws std::runtime_error with a one-line reason when the options name
  // something unusable or not supported yet.
  explicit Machine(const Options &options);
  ~Machine();
  Machine(const Machine &) = delete;
  Machine &operator=(const Machine &) = delete;

  // Runs the guest until it exits; returns the process exit status.
  int run();

  // Thread-safe requests from devices and consoles.
  void request_exit(int status);
  void request_reset();

private:
  void create_serial_ports();
  void create_engine();

  Options options_;
  std::recursive_mutex lock_;
  Clock clock_;
  MmioBus mmio_{lock_};
  IoPortBus io_{lock_};
  GuestMemory memory_{mmio_};
  IrqRouter irq_;
  EventLoop loop_{clock_, lock_};
  std::vector<std::unique_ptr<CharBackend>> serial_backends_;
  std::unique_ptr<Engine> engine_;
  std::atomic<int> exit_status_{0};
};

} // namespace sable
