#include "debug/gdbstub.h"

#include <algorithm>
#include <arpa/inet.h>
#include <cerrno>
#include <cinttypes>
#include <cstring>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdexcept>
#include <sys/socket.h>
#include <unistd.h>

#include "cpu/state_text.h"
#include "machine/log.h"
#include "machine/memory.h"

namespace sable {

namespace {

// The largest packet sable accepts and sends (PacketSize, in hex).
constexpr size_t kPacketSize = 0x4000;
// m and qXfer replies carry at most this many bytes of data.
constexpr size_t kMaxTransfer = 0x1000;

constexpr int kSigInt = 2, kSigTrap = 5, kSigSegv = 11;

const char kHexDigits[] = "0123456789abcdef";

std::string to_hex(const uint8_t *data, size_t size) {
  std::string out;
  out.reserve(size * 2);
  for (size_t i = 0; i < size; ++i) {
    out += kHexDigits[data[i] >> 4];
    out += kHexDigits[data[i] & 15];
  }
  return out;
}

std::string to_hex(const std::string &text) {
  return to_hex(reinterpret_cast<const uint8_t *>(text.data()), text.size());
}

int hex_value(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

bool from_hex(const std::string &hex, std::vector<uint8_t> &out) {
  if (hex.size() % 2)
    return false;
  out.clear();
  for (size_t i = 0; i < hex.size(); i += 2) {
    int high = hex_value(hex[i]), low = hex_value(hex[i + 1]);
    if (high < 0 || low < 0)
      return false;
    out.push_back(static_cast<uint8_t>(high << 4 | low));
  }
  return true;
}

// A hex number at `text[pos]`; advances pos. False when there is none.
bool parse_hex(const std::string &text, size_t &pos, uint64_t &value) {
  size_t start = pos;
  value = 0;
  while (pos < text.size() && hex_value(text[pos]) >= 0)
    value = value << 4 | static_cast<uint64_t>(hex_value(text[pos++]));
  return pos > start;
}

// A thread id: hex, or -1 for all.
bool parse_thread(const std::string &text, long long &thread) {
  if (text == "-1") {
    thread = -1;
    return true;
  }
  size_t pos = 0;
  uint64_t value;
  if (!parse_hex(text, pos, value) || pos != text.size())
    return false;
  thread = static_cast<long long>(value);
  return true;
}

std::string hex_number(uint64_t value) {
  char buffer[20];
  std::snprintf(buffer, sizeof buffer, "%" PRIx64, value);
  return buffer;
}

// Binary data in a reply: '#', '$', '}' and '*' go out escaped.
std::string escape_binary(const std::string &data) {
  std::string out;
  for (char c : data) {
    if (c == '#' || c == '$' || c == '}' || c == '*') {
      out += '}';
      out += static_cast<char>(c ^ 0x20);
    } else {
      out += c;
    }
  }
  return out;
}

std::string trim(const std::string &text) {
  size_t start = text.find_first_not_of(" \t\r\n");
  if (start == std::string::npos)
    return "";
  size_t end = text.find_last_not_of(" \t\r\n");
  return text.substr(start, end - start + 1);
}

const char *kind_name(GuestMemory::Kind kind) {
  switch (kind) {
  case GuestMemory::Kind::Ram:
    return "ram";
  case GuestMemory::Kind::Rom:
    return "rom";
  default:
    return "i/o";
  }
}

} // namespace

GdbStub::GdbStub(const GdbStubConfig &config) : config_(config) {
  std::string host = config_.host.empty() ? "127.0.0.1" : config_.host;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo *found = nullptr;
  std::string service = std::to_string(config_.port);
  int error = getaddrinfo(host.c_str(), service.c_str(), &hints, &found);
  if (error != 0)
    throw std::runtime_error("-gdb: cannot resolve '" + host +
                             "': " + gai_strerror(error));
  std::string failure = "no address";
  for (addrinfo *ai = found; ai && listen_fd_ < 0; ai = ai->ai_next) {
    int fd =
        socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
      failure = std::strerror(errno);
      continue;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 1) < 0) {
      failure = std::strerror(errno);
      close(fd);
      continue;
    }
    listen_fd_ = fd;
  }
  freeaddrinfo(found);
  if (listen_fd_ < 0)
    throw std::runtime_error("-gdb: cannot listen on " + host + ":" + service +
                             ": " + failure);
  sockaddr_storage bound{};
  socklen_t length = sizeof bound;
  getsockname(listen_fd_, reinterpret_cast<sockaddr *>(&bound), &length);
  port_ = ntohs(bound.ss_family == AF_INET6
                    ? reinterpret_cast<sockaddr_in6 *>(&bound)->sin6_port
                    : reinterpret_cast<sockaddr_in *>(&bound)->sin_port);
  if (pipe2(wake_pipe_, O_CLOEXEC | O_NONBLOCK) < 0) {
    close(listen_fd_);
    throw std::runtime_error(std::string("-gdb: pipe: ") +
                             std::strerror(errno));
  }
  thread_ = std::thread([this] { serve(); });
}

GdbStub::~GdbStub() {
  quit_ = true;
  wake();
  if (thread_.joinable())
    thread_.join();
  close(listen_fd_);
  close(wake_pipe_[0]);
  close(wake_pipe_[1]);
}

void GdbStub::machine_exited(int status) {
  exit_status_ = status;
  exited_ = true;
  wake();
}

void GdbStub::wake() {
  char byte = 1;
  ssize_t ignored = write(wake_pipe_[1], &byte, 1);
  (void)ignored;
}

void GdbStub::drain_wake() {
  char buffer[64];
  while (read(wake_pipe_[0], buffer, sizeof buffer) > 0) {
  }
}

void GdbStub::on_debug_event(const cpu::DebugEvent &event) {
  {
    std::lock_guard guard(events_lock_);
    events_.push_back(event);
  }
  wake();
}

void GdbStub::serve() {
  while (!quit_ && !exited_) {
    pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {wake_pipe_[0], POLLIN, 0}};
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR)
        continue;
      warn("gdbstub: poll: %s", std::strerror(errno));
      return;
    }
    if (fds[1].revents) {
      drain_wake();
      continue;
    }
    if (fds[0].revents & POLLIN) {
      int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0)
        continue;
      int one = 1;
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      session(fd);
      close(fd);
    }
  }
}

void GdbStub::session(int fd) {
  fd_ = fd;
  input_.clear();
  no_ack_ = false;
  last_sent_.clear();
  attach();
  while (fd_ >= 0) {
    pollfd fds[2] = {{fd_, POLLIN, 0}, {wake_pipe_[0], POLLIN, 0}};
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR)
        continue;
      break;
    }
    if (fds[1].revents) {
      drain_wake();
      if (exited_) {
        // The debugger learns how the guest ended, as from QEMU.
        char reply[8];
        std::snprintf(reply, sizeof reply, "W%02x", exit_status_.load() & 0xff);
        send_packet(reply);
        break;
      }
      if (quit_)
        break;
      std::optional<cpu::DebugEvent> event;
      {
        std::lock_guard guard(events_lock_);
        if (!events_.empty())
          event = events_.front();
        if (state_ != Stop::Running)
          events_.clear();
      }
      if (event && state_ == Stop::Running)
        report_stop(event);
    }
    if (fds[0].revents && fd_ >= 0 && !read_input()) {
      // The debugger went away without detaching: as a detach.
      detach();
      break;
    }
  }
  fd_ = -1;
}

void GdbStub::attach() {
  // As QEMU: a debugger attaching stops the machine.
  config_.engine->pause();
  state_ = Stop::Stopped;
  {
    std::lock_guard guard(events_lock_);
    events_.clear();
  }
  config_.engine->set_debug_handler(
      [this](const cpu::DebugEvent &event) { on_debug_event(event); });
  points_ = {};
  config_.engine->set_debug_points(points_);
  g_vcpu_ = c_vcpu_ = 0;
  physical_mode_ = false;
  arch_ = gdb::arch_for(config_.engine->get_state(0));
  last_event_.reset();
  last_interrupt_ = false;
}

void GdbStub::detach() {
  if (state_ == Stop::Running)
    config_.engine->pause();
  points_ = {};
  config_.engine->set_debug_points(points_);
  config_.engine->set_debug_handler(nullptr);
  {
    std::lock_guard guard(events_lock_);
    events_.clear();
  }
  state_ = Stop::Running;
  config_.engine->resume_debug(
      std::vector<VcpuRun>(vcpu_count(), VcpuRun::Continue));
}

bool GdbStub::read_input() {
  char buffer[4096];
  ssize_t got = read(fd_, buffer, sizeof buffer);
  if (got < 0 && (errno == EINTR || errno == EAGAIN))
    return true;
  if (got <= 0)
    return false;
  input_.append(buffer, static_cast<size_t>(got));
  while (!input_.empty() && fd_ >= 0) {
    char c = input_[0];
    if (c == '+') {
      input_.erase(0, 1);
    } else if (c == '-') {
      input_.erase(0, 1);
      if (!last_sent_.empty())
        send_raw(last_sent_);
    } else if (c == 0x03) {
      input_.erase(0, 1);
      if (state_ == Stop::Running)
        report_stop(std::nullopt);
    } else if (c == '$') {
      size_t hash = input_.find('#');
      if (hash == std::string::npos || input_.size() < hash + 3) {
        if (input_.size() > 2 * kPacketSize + 16)
          input_.clear();
        return true;
      }
      std::string body = input_.substr(1, hash - 1);
      int high = hex_value(input_[hash + 1]), low = hex_value(input_[hash + 2]);
      input_.erase(0, hash + 3);
      uint8_t sum = 0;
      for (char b : body)
        sum = static_cast<uint8_t>(sum + static_cast<uint8_t>(b));
      if (!no_ack_) {
        if (high < 0 || low < 0 || sum != (high << 4 | low)) {
          send_raw("-");
          continue;
        }
        send_raw("+");
      }
      handle_packet(body);
    } else {
      input_.erase(0, 1);
    }
  }
  return true;
}

void GdbStub::send_raw(const std::string &bytes) {
  size_t done = 0;
  while (fd_ >= 0 && done < bytes.size()) {
    ssize_t sent =
        send(fd_, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
    if (sent < 0) {
      if (errno == EINTR)
        continue;
      return;
    }
    done += static_cast<size_t>(sent);
  }
}

void GdbStub::send_packet(const std::string &data) {
  uint8_t sum = 0;
  for (char c : data)
    sum = static_cast<uint8_t>(sum + static_cast<uint8_t>(c));
  std::string packet = "$" + data + "#";
  packet += kHexDigits[sum >> 4];
  packet += kHexDigits[sum & 15];
  last_sent_ = packet;
  send_raw(packet);
}

void GdbStub::handle_packet(const std::string &packet) {
  if (packet.empty()) {
    send_packet("");
    return;
  }
  const std::string args = packet.substr(1);
  std::optional<std::string> reply;
  switch (packet[0]) {
  case '?':
    reply = stop_reply();
    break;
  case 'g':
    reply = read_registers();
    break;
  case 'G':
    reply = write_registers(args);
    break;
  case 'p':
    reply = read_register(args);
    break;
  case 'P':
    reply = write_register(args);
    break;
  case 'm':
    reply = read_memory(args);
    break;
  case 'M':
    reply = write_memory(args, false);
    break;
  case 'X':
    reply = write_memory(args, true);
    break;
  case 'Z':
  case 'z':
    reply = breakpoint(args, packet[0] == 'Z');
    break;
  case 'H':
    reply = set_thread(args);
    break;
  case 'T': {
    long long thread;
    unsigned vcpu;
    reply = parse_thread(args, thread) && thread > 0 &&
                    thread_vcpu(thread, g_vcpu_, vcpu)
                ? "OK"
                : "E01";
    break;
  }
  case 'c':
  case 'C':
  case 's':
  case 'S': {
    // An address after c/s (not after the signal of C/S) sets RIP first.
    bool step = packet[0] == 's' || packet[0] == 'S';
    size_t pos = 0;
    uint64_t address;
    if (packet[0] == 'C' || packet[0] == 'S') {
      parse_hex(args, pos, address);
      if (pos < args.size() && args[pos] == ';')
        ++pos;
      else
        pos = args.size();
    }
    unsigned vcpu = c_vcpu_;
    if (parse_hex(args, pos, address)) {
      cpu::CpuState state = config_.engine->get_state(vcpu);
      state.rip = address;
      config_.engine->set_state(vcpu, state);
    }
    std::vector<VcpuRun> modes(vcpu_count(), VcpuRun::Continue);
    if (step) {
      std::fill(modes.begin(), modes.end(), VcpuRun::Hold);
      modes[vcpu] = VcpuRun::Step;
    }
    resume(modes);
    return;
  }
  case 'D':
    detach();
    send_packet("OK");
    fd_ = -1;
    return;
  case 'k':
    if (config_.kill)
      config_.kill();
    fd_ = -1;
    return;
  case 'q':
  case 'Q':
    reply = query(packet);
    break;
  case 'v':
    reply = v_packet(packet);
    break;
  default:
    reply = "";
    break;
  }
  if (reply)
    send_packet(*reply);
}

std::string GdbStub::stop_reply() const {
  unsigned vcpu = g_vcpu_;
  int signal = kSigTrap;
  std::string extra;
  if (last_interrupt_) {
    // As QEMU: an interrupt names the thread gdb resumed (Hc).
    vcpu = c_vcpu_;
    signal = kSigInt;
  } else if (last_event_) {
    vcpu = last_event_->vcpu;
    switch (last_event_->kind) {
    case cpu::DebugEvent::Kind::Breakpoint:
      extra = "swbreak:;";
      break;
    case cpu::DebugEvent::Kind::HwBreakpoint:
      extra = "hwbreak:;";
      break;
    case cpu::DebugEvent::Kind::Watchpoint: {
      const char *name = last_event_->watch == cpu::WatchKind::Write ? "watch"
                         : last_event_->watch == cpu::WatchKind::Read
                             ? "rwatch"
                             : "awatch";
      extra = std::string(name) + ":" + hex_number(last_event_->address) + ";";
      break;
    }
    case cpu::DebugEvent::Kind::Step:
      break;
    case cpu::DebugEvent::Kind::TripleFault:
      signal = kSigSegv;
      break;
    }
  }
  char head[8];
  std::snprintf(head, sizeof head, "T%02x", signal);
  return head + std::string("thread:") + hex_number(vcpu + 1) + ";" + extra;
}

void GdbStub::report_stop(std::optional<cpu::DebugEvent> event) {
  config_.engine->pause();
  {
    // Every vCPU is parked now, so every event is in: the first wins.
    std::lock_guard guard(events_lock_);
    if (!event && !events_.empty())
      event = events_.front();
    events_.clear();
  }
  state_ = Stop::Stopped;
  last_event_ = event;
  last_interrupt_ = !event;
  if (event) {
    g_vcpu_ = c_vcpu_ = std::min(event->vcpu, vcpu_count() - 1);
    if (event->kind == cpu::DebugEvent::Kind::TripleFault)
      send_packet("O" + to_hex("sable: triple fault on CPU#" +
                               std::to_string(event->vcpu) +
                               "; continuing resets the machine (with "
                               "-no-reboot, ends it)\n"));
  }
  send_packet(stop_reply());
}

void GdbStub::resume(const std::vector<VcpuRun> &modes) {
  {
    std::lock_guard guard(events_lock_);
    events_.clear();
  }
  state_ = Stop::Running;
  config_.engine->resume_debug(modes);
}

bool GdbStub::thread_vcpu(long long thread, unsigned current,
                          unsigned &vcpu) const {
  if (thread <= 0) {
    vcpu = current;
    return true;
  }
  if (static_cast<unsigned long long>(thread) > vcpu_count())
    return false;
  vcpu = static_cast<unsigned>(thread - 1);
  return true;
}

std::string GdbStub::set_thread(const std::string &args) {
  if (args.empty())
    return "E22";
  long long thread;
  if (!parse_thread(args.substr(1), thread))
    return "E22";
  unsigned *target = args[0] == 'g' ? &g_vcpu_ : &c_vcpu_;
  if (args[0] != 'g' && args[0] != 'c')
    return "E22";
  unsigned vcpu;
  if (!thread_vcpu(thread, *target, vcpu))
    return "E22";
  *target = vcpu;
  return "OK";
}

std::optional<std::string> GdbStub::query(const std::string &packet) {
  auto starts = [&](const char *prefix) {
    return packet.rfind(prefix, 0) == 0;
  };
  if (starts("qSupported"))
    return "PacketSize=" + hex_number(kPacketSize) +
           ";qXfer:features:read+;swbreak+;hwbreak+;vContSupported+;"
           "QStartNoAckMode+";
  if (packet == "QStartNoAckMode") {
    send_packet("OK");
    no_ack_ = true;
    return std::nullopt;
  }
  if (starts("qXfer:features:read:")) {
    std::string rest = packet.substr(std::strlen("qXfer:features:read:"));
    size_t colon = rest.find(':');
    if (colon == std::string::npos)
      return "E00";
    std::string annex = rest.substr(0, colon);
    if (annex != "target.xml")
      return "E00";
    size_t pos = colon + 1;
    uint64_t offset, length;
    if (!parse_hex(rest, pos, offset) || pos >= rest.size() ||
        rest[pos++] != ',' || !parse_hex(rest, pos, length))
      return "E00";
    const std::string &xml = gdb::target_xml(arch_);
    if (offset >= xml.size())
      return "l";
    length = std::min<uint64_t>(length, kMaxTransfer);
    std::string chunk = xml.substr(offset, length);
    return (offset + chunk.size() < xml.size() ? "m" : "l") +
           escape_binary(chunk);
  }
  if (packet == "qAttached" || starts("qAttached:"))
    return "1";
  if (packet == "qC")
    return "QC" + hex_number(g_vcpu_ + 1);
  if (packet == "qfThreadInfo") {
    std::string list = "m";
    for (unsigned i = 0; i < vcpu_count(); ++i)
      list += (i ? "," : "") + hex_number(i + 1);
    return list;
  }
  if (packet == "qsThreadInfo")
    return "l";
  if (starts("qThreadExtraInfo,")) {
    long long thread;
    unsigned vcpu;
    if (!parse_thread(packet.substr(std::strlen("qThreadExtraInfo,")),
                      thread) ||
        !thread_vcpu(thread, g_vcpu_, vcpu))
      return "E22";
    bool halted = config_.engine->get_state(vcpu).halted;
    return to_hex("CPU#" + std::to_string(vcpu) +
                  (halted ? " [halted]" : " [running]"));
  }
  if (starts("qRcmd,")) {
    std::vector<uint8_t> bytes;
    if (!from_hex(packet.substr(std::strlen("qRcmd,")), bytes))
      return "E22";
    return monitor(std::string(bytes.begin(), bytes.end()));
  }
  if (packet == "qqemu.PhyMemMode")
    return physical_mode_ ? "1" : "0";
  if (starts("Qqemu.PhyMemMode:")) {
    std::string value = packet.substr(std::strlen("Qqemu.PhyMemMode:"));
    if (value != "0" && value != "1")
      return "E22";
    physical_mode_ = value == "1";
    return "OK";
  }
  if (packet == "qqemu.sstepbits")
    return "ENABLE=1,NOIRQ=2,NOTIMER=4";
  if (packet == "qqemu.sstep")
    return "0x3";
  if (starts("qSymbol"))
    return "OK";
  return "";
}

std::optional<std::string> GdbStub::v_packet(const std::string &packet) {
  if (packet == "vCont?")
    return "vCont;c;C;s;S;t";
  if (packet.rfind("vCont;", 0) == 0) {
    std::vector<std::optional<VcpuRun>> modes(vcpu_count());
    size_t pos = std::strlen("vCont");
    while (pos < packet.size() && packet[pos] == ';') {
      size_t end = packet.find(';', pos + 1);
      std::string action =
          packet.substr(pos + 1, end == std::string::npos ? std::string::npos
                                                          : end - pos - 1);
      pos = end == std::string::npos ? packet.size() : end;
      if (action.empty())
        return "E22";
      VcpuRun mode;
      switch (action[0]) {
      case 'c':
      case 'C':
        mode = VcpuRun::Continue;
        break;
      case 's':
      case 'S':
        mode = VcpuRun::Step;
        break;
      case 't':
        mode = VcpuRun::Hold;
        break;
      default:
        return "E22";
      }
      size_t colon = action.find(':');
      long long thread = -1;
      if (colon != std::string::npos &&
          !parse_thread(action.substr(colon + 1), thread))
        return "E22";
      for (unsigned i = 0; i < vcpu_count(); ++i)
        if ((thread <= 0 || static_cast<unsigned>(thread - 1) == i) &&
            !modes[i])
          modes[i] = mode;
    }
    std::vector<VcpuRun> result;
    for (const auto &mode : modes)
      result.push_back(mode.value_or(VcpuRun::Hold));
    resume(result);
    return std::nullopt;
  }
  if (packet == "vKill" || packet.rfind("vKill;", 0) == 0) {
    send_packet("OK");
    if (config_.kill)
      config_.kill();
    fd_ = -1;
    return std::nullopt;
  }
  return "";
}

std::string GdbStub::read_registers() {
  cpu::CpuState state = config_.engine->get_state(g_vcpu_);
  std::string out;
  for (unsigned i = 0; i < gdb::register_count(arch_); ++i) {
    std::vector<uint8_t> bytes = gdb::read_register(arch_, state, i);
    out += to_hex(bytes.data(), bytes.size());
  }
  return out;
}

std::string GdbStub::write_registers(const std::string &hex) {
  std::vector<uint8_t> bytes;
  if (!from_hex(hex, bytes))
    return "E22";
  cpu::CpuState state = config_.engine->get_state(g_vcpu_);
  size_t offset = 0;
  for (unsigned i = 0; i < gdb::register_count(arch_); ++i) {
    unsigned size = gdb::register_size(arch_, i);
    if (offset + size > bytes.size())
      break;
    gdb::write_register(arch_, state, i, bytes.data() + offset);
    offset += size;
  }
  config_.engine->set_state(g_vcpu_, state);
  return "OK";
}

std::string GdbStub::read_register(const std::string &args) {
  size_t pos = 0;
  uint64_t index;
  if (!parse_hex(args, pos, index))
    return "E22";
  cpu::CpuState state = config_.engine->get_state(g_vcpu_);
  std::vector<uint8_t> bytes =
      gdb::read_register(arch_, state, static_cast<unsigned>(index));
  if (bytes.empty())
    return "E45";
  return to_hex(bytes.data(), bytes.size());
}

std::string GdbStub::write_register(const std::string &args) {
  size_t pos = 0;
  uint64_t index;
  if (!parse_hex(args, pos, index) || pos >= args.size() || args[pos] != '=')
    return "E22";
  std::vector<uint8_t> bytes;
  unsigned size = gdb::register_size(arch_, static_cast<unsigned>(index));
  if (!from_hex(args.substr(pos + 1), bytes) || size == 0 ||
      bytes.size() < size)
    return "E22";
  cpu::CpuState state = config_.engine->get_state(g_vcpu_);
  gdb::write_register(arch_, state, static_cast<unsigned>(index), bytes.data());
  config_.engine->set_state(g_vcpu_, state);
  return "OK";
}

bool GdbStub::access_memory(uint64_t address, uint8_t *data, size_t size,
                            bool write, size_t &done) {
  done = 0;
  std::optional<cpu::CpuState> state;
  if (!physical_mode_)
    state = config_.engine->get_state(g_vcpu_);
  std::unique_lock<std::recursive_mutex> guard;
  if (config_.machine_lock)
    guard = std::unique_lock(*config_.machine_lock);
  GuestMemory &memory = *config_.memory;
  while (done < size) {
    uint64_t linear = address + done;
    size_t chunk = std::min<uint64_t>(size - done, 0x1000 - (linear & 0xfff));
    uint64_t physical = linear;
    if (state && !cpu::debug_translate(*state, memory, linear, physical))
      return false;
    if (write)
      memory.write(physical, data + done, chunk);
    else
      memory.read(physical, data + done, chunk);
    done += chunk;
  }
  return true;
}

std::string GdbStub::read_memory(const std::string &args) {
  size_t pos = 0;
  uint64_t address, length;
  if (!parse_hex(args, pos, address) || pos >= args.size() ||
      args[pos++] != ',' || !parse_hex(args, pos, length))
    return "E22";
  length = std::min<uint64_t>(length, kMaxTransfer);
  std::vector<uint8_t> data(length);
  size_t done = 0;
  if (!access_memory(address, data.data(), data.size(), false, done) &&
      done == 0)
    return "E14";
  return to_hex(data.data(), done);
}

std::string GdbStub::write_memory(const std::string &args, bool binary) {
  size_t pos = 0;
  uint64_t address, length;
  if (!parse_hex(args, pos, address) || pos >= args.size() ||
      args[pos++] != ',' || !parse_hex(args, pos, length) ||
      pos >= args.size() || args[pos++] != ':')
    return "E22";
  std::vector<uint8_t> data;
  std::string payload = args.substr(pos);
  if (binary) {
    for (size_t i = 0; i < payload.size(); ++i) {
      uint8_t byte = static_cast<uint8_t>(payload[i]);
      if (byte == '}' && i + 1 < payload.size())
        byte = static_cast<uint8_t>(payload[++i] ^ 0x20);
      data.push_back(byte);
    }
  } else if (!from_hex(payload, data)) {
    return "E22";
  }
  if (data.size() != length)
    return "E22";
  if (length == 0)
    return "OK";
  size_t done = 0;
  if (!access_memory(address, data.data(), data.size(), true, done))
    return "E14";
  return "OK";
}

std::string GdbStub::breakpoint(const std::string &args, bool insert) {
  size_t pos = 0;
  uint64_t type, address, kind;
  if (!parse_hex(args, pos, type) || pos >= args.size() || args[pos++] != ',' ||
      !parse_hex(args, pos, address) || pos >= args.size() ||
      args[pos++] != ',' || !parse_hex(args, pos, kind))
    return "E22";
  cpu::DebugPoints points = points_;
  auto erase_one = [](auto &list, const auto &value) {
    auto it = std::find(list.begin(), list.end(), value);
    if (it != list.end())
      list.erase(it);
  };
  switch (type) {
  case 0:
    if (insert)
      points.breakpoints.push_back(address);
    else
      erase_one(points.breakpoints, address);
    break;
  case 1:
    if (insert)
      points.hw_breakpoints.push_back(address);
    else
      erase_one(points.hw_breakpoints, address);
    break;
  case 2:
  case 3:
  case 4: {
    if (kind == 0)
      return "E22";
    cpu::Watchpoint watch{address, kind,
                          type == 2   ? cpu::WatchKind::Write
                          : type == 3 ? cpu::WatchKind::Read
                                      : cpu::WatchKind::Access};
    if (insert)
      points.watchpoints.push_back(watch);
    else
      erase_one(points.watchpoints, watch);
    break;
  }
  default:
    return "";
  }
  std::string error = config_.engine->set_debug_points(points);
  if (!error.empty()) {
    SABLE_LOG(LOG_UNIMP, "gdbstub: %s\n", error.c_str());
    return "E22";
  }
  points_ = std::move(points);
  return "OK";
}

std::string GdbStub::monitor(const std::string &line) {
  std::string command = trim(line);
  std::string out;
  if (command == "info registers" || command == "info registers -a") {
    if (command.back() == 'a') {
      for (unsigned i = 0; i < vcpu_count(); ++i)
        out += "CPU#" + std::to_string(i) + "\n" +
               cpu::describe_registers(config_.engine->get_state(i)) + "\n";
    } else {
      out = cpu::describe_registers(config_.engine->get_state(g_vcpu_));
    }
  } else if (command == "system_reset") {
    if (config_.system_reset)
      config_.system_reset();
    config_.engine->pause();
  } else if (command == "info mtree") {
    out = "address-space: memory\n";
    for (const GuestMemory::Segment &segment : config_.memory->segments()) {
      char row[96];
      std::snprintf(row, sizeof row, "  %016" PRIx64 "-%016" PRIx64 " (%s)\n",
                    segment.base, segment.base + segment.length - 1,
                    kind_name(segment.kind));
      out += row;
    }
  } else if (command == "info cpus") {
    for (unsigned i = 0; i < vcpu_count(); ++i) {
      cpu::CpuState state = config_.engine->get_state(i);
      char row[96];
      std::snprintf(row, sizeof row, "%c CPU #%u: pc=0x%016" PRIx64 "%s\n",
                    i == g_vcpu_ ? '*' : ' ', i,
                    state.seg[cpu::CS].base + state.rip,
                    state.halted ? " (halted)" : "");
      out += row;
    }
  } else if (command == "help" || command.empty()) {
    out = "info registers [-a]  the selected CPU's registers (-a: all)\n"
          "info cpus            the CPUs and where they are\n"
          "info mtree           the guest-physical memory map\n"
          "system_reset         reset the machine (it stays stopped)\n";
  } else {
    out = "unknown command: '";
    out += command;
    out += "' (try 'monitor help')\n";
  }
  for (size_t offset = 0; offset < out.size(); offset += kMaxTransfer / 2) {
    std::string packet = "O";
    packet += to_hex(out.substr(offset, kMaxTransfer / 2));
    send_packet(packet);
  }
  return "OK";
}

} // namespace sable
