#pragma once
// The GDB remote serial protocol over TCP (-gdb tcp:[HOST]:PORT, -s, -S),
// as QEMU's gdbstub speaks it, so .gdbinit files and habits carry over.
// One thread accepts one debugger at a time and serves it; the machine
// stops when a debugger attaches and keeps running when it detaches.
// Threads are vCPUs (thread N is vCPU N-1); memory addresses are linear,
// through the selected vCPU's paging, or physical after
// `maintenance packet Qqemu.PhyMemMode:1`.

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "accel/engine.h"
#include "cpu/debug.h"
#include "debug/gdb_registers.h"

namespace sable {

class GuestMemory;

struct GdbStubConfig {
  std::string host; // "" = 127.0.0.1
  uint16_t port = 1234;
  Engine *engine = nullptr;
  GuestMemory *memory = nullptr;
  std::recursive_mutex *machine_lock = nullptr;
  // Monitor `system_reset`: resets the machine and returns once it is
  // reset (the vCPUs stay stopped).
  std::function<void()> system_reset;
  // `k`: ends sable.
  std::function<void()> kill;
};

class GdbStub {
public:
  // Listens at once; throws std::runtime_error with a one-line reason.
  explicit GdbStub(const GdbStubConfig &config);
  ~GdbStub();
  GdbStub(const GdbStub &) = delete;
  GdbStub &operator=(const GdbStub &) = delete;

  uint16_t port() const { return port_; }
  // The machine is over: an attached debugger waiting for the guest gets
  // the exit status (W packet) before the stub shuts down.
  void machine_exited(int status);

private:
  enum class Stop { Running, Stopped };

  void serve();
  void session(int fd);
  // Reads what the socket has; false when the debugger went away.
  bool read_input();
  void handle_packet(const std::string &packet);
  void send_packet(const std::string &data);
  void send_raw(const std::string &bytes);
  void on_debug_event(const cpu::DebugEvent &event);
  void wake();
  void drain_wake();

  // Stops the machine after an event or an interrupt and sends the reply.
  void report_stop(std::optional<cpu::DebugEvent> event);
  std::string stop_reply() const;
  void resume(const std::vector<VcpuRun> &modes);
  void attach();
  void detach();

  // Packet handlers; each returns the reply ("" = empty reply), or
  // std::nullopt when the reply comes later (resume) or never (k, D).
  std::optional<std::string> query(const std::string &packet);
  std::optional<std::string> v_packet(const std::string &packet);
  std::string read_registers();
  std::string write_registers(const std::string &hex);
  std::string read_register(const std::string &args);
  std::string write_register(const std::string &args);
  std::string read_memory(const std::string &args);
  std::string write_memory(const std::string &args, bool binary);
  std::string breakpoint(const std::string &args, bool insert);
  std::string set_thread(const std::string &args);
  std::string monitor(const std::string &command);

  // Guest memory as the debugger addresses it; false on the first byte
  // that cannot be reached (`done` says how many could).
  bool access_memory(uint64_t address, uint8_t *data, size_t size, bool write,
                     size_t &done);
  unsigned vcpu_count() const { return config_.engine->vcpu_count(); }
  // The vCPU of a thread id (-1 and 0 pick the current one); false when
  // there is no such thread.
  bool thread_vcpu(long long thread, unsigned current, unsigned &vcpu) const;

  GdbStubConfig config_;
  int listen_fd_ = -1;
  uint16_t port_ = 0;
  int wake_pipe_[2] = {-1, -1};
  std::thread thread_;
  std::atomic<bool> quit_{false};
  std::atomic<bool> exited_{false};
  std::atomic<int> exit_status_{0};

  std::mutex events_lock_;
  std::vector<cpu::DebugEvent> events_; // under events_lock_

  // Session state, on the stub's thread only.
  int fd_ = -1;
  std::string input_;
  bool no_ack_ = false;
  std::string last_sent_;
  Stop state_ = Stop::Stopped;
  std::optional<cpu::DebugEvent> last_event_; // nullopt: interrupted
  bool last_interrupt_ = false;
  unsigned g_vcpu_ = 0, c_vcpu_ = 0;
  gdb::Arch arch_ = gdb::Arch::X86_64;
  bool physical_mode_ = false;
  cpu::DebugPoints points_;
};

} // namespace sable
