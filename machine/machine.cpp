#include "machine/machine.h"

#include <stdexcept>

#include "accel/engine.h"
#include "ui/file_backend.h"
#include "ui/stdio_backend.h"
#include "ui/tcp_backend.h"

namespace sable {

Machine::Machine(const Options &options) : options_(options) {
  if (options_.machine_type != "pc")
    throw std::runtime_error("-machine " + options_.machine_type +
                             ": not supported yet (pc only)");
  memory_.add_ram("ram", 0, options_.ram_bytes);
  create_serial_ports();
  create_engine();
}

Machine::~Machine() { loop_.stop(); }

void Machine::create_serial_ports() {
  for (const SerialOptions &serial : options_.serials) {
    switch (serial.kind) {
    case SerialOptions::Kind::Stdio:
    case SerialOptions::Kind::MonStdio:
      serial_backends_.push_back(std::make_unique<StdioBackend>(
          loop_, serial.kind == SerialOptions::Kind::MonStdio,
          [this] { request_exit(0); }));
      break;
    case SerialOptions::Kind::File:
      serial_backends_.push_back(std::make_unique<FileBackend>(serial.path));
      break;
    case SerialOptions::Kind::Tcp:
      serial_backends_.push_back(std::make_unique<TcpServerBackend>(
          loop_, serial.host, serial.port, serial.wait));
      break;
    case SerialOptions::Kind::Null:
    case SerialOptions::Kind::None:
      serial_backends_.push_back(std::make_unique<NullBackend>());
      break;
    }
  }
}

void Machine::create_engine() {
  throw std::runtime_error("-accel " + options_.accelerators.front() +
                           ": no CPU engine is available yet");
}

int Machine::run() { return exit_status_; }

void Machine::request_exit(int status) { exit_status_ = status; }

void Machine::request_reset() {}

} // namespace sable
