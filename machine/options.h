#pragma once
// The command line, QEMU-compatible for the common subset: a user's QEMU
// command works with `sable` in its place. Parsing only checks syntax and
// that named files exist; whether a feature is implemented is the
// machine's decision ("not supported yet").

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace sable {

// A command-line problem: one line for stderr, exit status 1.
class UsageError : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

struct DriveOptions {
  std::string file;
  std::string format = "raw";
  std::string interface = "ide"; // ide | virtio
  int index = -1;                // -1: next free
  std::string media = "disk";    // disk | cdrom
  bool read_only = false;
};

struct SerialOptions {
  enum class Kind { Stdio, MonStdio, Null, None, File, Tcp };
  Kind kind = Kind::Stdio;
  std::string path; // File
  std::string host; // Tcp ("" = 127.0.0.1)
  uint16_t port = 0;
  bool server = false;
  bool wait = true;
};

struct DisplayOptions {
  enum class Kind { None, Sdl, Vnc };
  Kind kind = Kind::None;
  std::string vnc;      // as given: "[HOST]:N[,password=on][,password-file=F]"
  std::string vnc_host; // "" = 127.0.0.1
  unsigned vnc_display = 0; // TCP port 5900 + N
  // VNC authentication; the secret never comes from the command line: it
  // is read from vnc_password_file, or else from $SABLE_VNC_PASSWORD.
  bool vnc_password = false;
  std::string vnc_password_file;
};

struct DebugExitOptions {
  uint16_t iobase = 0x501; // QEMU's defaults
  uint16_t iosize = 2;
};

struct Options {
  std::vector<std::string> accelerators{"tcg"}; // in fallback order
  bool kernel_irqchip = true;
  std::string machine_type = "pc";
  uint64_t ram_bytes = 128ull << 20;
  unsigned cpus = 1;
  std::string kernel, initrd, append, bios;
  std::vector<DriveOptions> drives;
  std::string boot_order = "cad";
  bool snapshot = false;
  std::vector<SerialOptions> serials; // COM1, COM2, ...
  DisplayOptions display;
  bool nographic = false;
  std::string gdb; // "tcp:HOST:PORT", empty = no gdbstub
  bool start_paused = false;
  bool no_reboot = false;
  bool no_shutdown = false;
  std::optional<DebugExitOptions> debug_exit;
  std::string name;
  uint32_t log_mask = 0;
  std::string log_file;
  bool show_help = false;
  bool show_version = false;
};

// Throws UsageError naming the option and the problem.
Options parse_options(const std::vector<std::string> &args);
std::string usage_text();
uint64_t parse_size(const std::string &text, char default_suffix);

} // namespace sable
