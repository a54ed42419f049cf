// The gdbstub's side of the GDB remote protocol, over a real socket,
// against an engine that only records what the stub asks of it.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "debug/gdb_registers.h"
#include "debug/gdbstub.h"
#include "machine/io_bus.h"
#include "machine/memory.h"

using namespace sable;

namespace {

class FakeEngine : public Engine {
public:
  explicit FakeEngine(unsigned vcpus) : states(vcpus) {}
  std::string_view name() const override { return "fake"; }
  unsigned vcpu_count() const override {
    return static_cast<unsigned>(states.size());
  }
  RunOutcome run() override { return RunOutcome::Stopped; }
  void request_stop(RunOutcome) override {}
  void pause() override {
    std::lock_guard guard(lock);
    ++pauses;
  }
  void resume() override {}
  void reset() override {}
  cpu::CpuState get_state(unsigned vcpu) override {
    std::lock_guard guard(lock);
    return states.at(vcpu);
  }
  void set_state(unsigned vcpu, const cpu::CpuState &state) override {
    std::lock_guard guard(lock);
    states.at(vcpu) = state;
  }
  void set_debug_handler(DebugHandler h) override {
    std::lock_guard guard(lock);
    handler = std::move(h);
  }
  std::string set_debug_points(const cpu::DebugPoints &p) override {
    std::lock_guard guard(lock);
    if (p.hw_breakpoints.size() > 1)
      return "one hardware breakpoint only";
    points = p;
    return "";
  }
  void resume_debug(const std::vector<VcpuRun> &modes) override {
    {
      std::lock_guard guard(lock);
      resumes.push_back(modes);
    }
    changed.notify_all();
  }
  void save(StateWriter &) override {}
  void load(StateReader &) override {}

  // Waits for the next resume and returns its modes.
  std::vector<VcpuRun> wait_resume(size_t count) {
    std::unique_lock guard(lock);
    changed.wait_for(guard, std::chrono::seconds(5),
                     [&] { return resumes.size() >= count; });
    return resumes.size() >= count ? resumes[count - 1]
                                   : std::vector<VcpuRun>{};
  }
  void fire(const cpu::DebugEvent &event) {
    DebugHandler h;
    {
      std::lock_guard guard(lock);
      h = handler;
    }
    if (h)
      h(event);
  }

  std::mutex lock;
  std::condition_variable changed;
  std::vector<cpu::CpuState> states;
  DebugHandler handler;
  cpu::DebugPoints points;
  std::vector<std::vector<VcpuRun>> resumes;
  int pauses = 0;
};

// A debugger's end of the connection: packets out, replies in.
class Client {
public:
  explicit Client(uint16_t port) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(connect(fd_, reinterpret_cast<sockaddr *>(&address),
                    sizeof address) == 0);
  }
  ~Client() { close(fd_); }

  void send_raw(const std::string &bytes) {
    REQUIRE(write(fd_, bytes.data(), bytes.size()) ==
            static_cast<ssize_t>(bytes.size()));
  }
  void send(const std::string &packet) {
    unsigned sum = 0;
    for (char c : packet)
      sum += static_cast<uint8_t>(c);
    char tail[4];
    std::snprintf(tail, sizeof tail, "#%02x", sum & 0xff);
    send_raw("$" + packet + tail);
  }
  // The next packet's body (acks and console output skipped).
  std::string receive(bool keep_output = false) {
    for (;;) {
      size_t start = buffer_.find('$');
      size_t hash = buffer_.find('#', start == std::string::npos ? 0 : start);
      if (start != std::string::npos && hash != std::string::npos &&
          buffer_.size() >= hash + 3) {
        std::string body = buffer_.substr(start + 1, hash - start - 1);
        buffer_.erase(0, hash + 3);
        if (!no_ack)
          send_raw("+");
        if (!keep_output && !body.empty() && body[0] == 'O' && body != "OK")
          continue;
        return body;
      }
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 5000) <= 0)
        return "<timeout>";
      char chunk[4096];
      ssize_t got = read(fd_, chunk, sizeof chunk);
      if (got <= 0)
        return "<closed>";
      buffer_.append(chunk, static_cast<size_t>(got));
    }
  }
  std::string ask(const std::string &packet) {
    send(packet);
    return receive();
  }

  bool no_ack = false;

private:
  int fd_ = -1;
  std::string buffer_;
};

struct Fixture {
  std::recursive_mutex lock;
  MmioBus mmio{lock};
  GuestMemory memory{mmio};
  uint8_t *ram;
  FakeEngine engine;
  std::unique_ptr<GdbStub> stub;

  explicit Fixture(unsigned vcpus = 2) : engine(vcpus) {
    ram = memory.add_ram("ram", 0, 1 << 20);
    for (unsigned i = 0; i < vcpus; ++i) {
      // Flat 32-bit protected mode, no paging: the i386 description.
      engine.states[i].cr0 = cpu::CR0_PE | cpu::CR0_ET;
      engine.states[i].rip = 0x1000 + i;
      engine.states[i].gpr[cpu::RAX] = 0xa0 + i;
    }
    GdbStubConfig config;
    config.port = 0;
    config.engine = &engine;
    config.memory = &memory;
    config.machine_lock = &lock;
    stub = std::make_unique<GdbStub>(config);
  }
};

std::string hex32(uint32_t value) {
  char out[9];
  uint8_t bytes[4];
  std::memcpy(bytes, &value, 4);
  std::snprintf(out, sizeof out, "%02x%02x%02x%02x", bytes[0], bytes[1],
                bytes[2], bytes[3]);
  return out;
}

} // namespace

TEST_CASE("gdbstub: attaching stops the machine; the first replies") {
  Fixture f;
  Client gdb(f.stub->port());
  std::string supported = gdb.ask("qSupported:multiprocess+;swbreak+");
  CHECK(supported.find("qXfer:features:read+") != std::string::npos);
  CHECK(supported.find("swbreak+") != std::string::npos);
  CHECK(supported.find("vContSupported+") != std::string::npos);
  CHECK(f.engine.pauses >= 1);
  CHECK(gdb.ask("?") == "T05thread:1;");
  CHECK(gdb.ask("qAttached") == "1");
  CHECK(gdb.ask("qC") == "QC1");
  CHECK(gdb.ask("qfThreadInfo") == "m1,2");
  CHECK(gdb.ask("qsThreadInfo") == "l");
  CHECK(gdb.ask("vCont?") == "vCont;c;C;s;S;t");
  CHECK(gdb.ask("vMustReplyEmpty") == "");
}

TEST_CASE("gdbstub: the target description follows the guest's mode") {
  Fixture f;
  Client gdb(f.stub->port());
  std::string xml;
  for (int piece = 0; piece < 16; ++piece) {
    char offset[32];
    std::snprintf(offset, sizeof offset, "%zx", xml.size());
    std::string reply = gdb.ask(std::string("qXfer:features:read:target.xml:") +
                                offset + ",fff");
    REQUIRE(!reply.empty());
    xml += reply.substr(1);
    if (reply[0] == 'l')
      break;
    REQUIRE(reply[0] == 'm');
  }
  CHECK(xml.find("<architecture>i386</architecture>") != std::string::npos);
  CHECK(xml.find("name=\"eip\"") != std::string::npos);
  CHECK(xml.find("name=\"k_gs_base\"") != std::string::npos);
  CHECK(xml.find("name=\"mxcsr\"") != std::string::npos);
  // Piecewise: m until the last piece, which is l.
  CHECK(gdb.ask("qXfer:features:read:target.xml:0,10")[0] == 'm');

  cpu::CpuState wide;
  wide.cr0 = cpu::CR0_PE | cpu::CR0_PG;
  wide.efer = cpu::EFER_LMA | cpu::EFER_LME;
  CHECK(gdb::arch_for(wide) == gdb::Arch::X86_64);
  CHECK(gdb::arch_for(cpu::CpuState{}) == gdb::Arch::X86_64); // real mode
  CHECK(gdb::target_xml(gdb::Arch::X86_64).find("name=\"r15\"") !=
        std::string::npos);
}

TEST_CASE("gdbstub: registers per thread, read and written") {
  Fixture f;
  Client gdb(f.stub->port());
  // i386 layout: eax first, eip ninth.
  CHECK(gdb.ask("p0") == hex32(0xa0));
  CHECK(gdb.ask("p8") == hex32(0x1000));
  CHECK(gdb.ask("Hg2") == "OK");
  CHECK(gdb.ask("p0") == hex32(0xa1));
  CHECK(gdb.ask("qC") == "QC2");
  CHECK(gdb.ask("P0=" + hex32(0x1234)) == "OK");
  CHECK(f.engine.states[1].gpr[cpu::RAX] == 0x1234);
  CHECK(f.engine.states[0].gpr[cpu::RAX] == 0xa0);
  std::string all = gdb.ask("g");
  CHECK(all.substr(0, 8) == hex32(0x1234));
  // G writes back what g read, with ECX changed.
  all.replace(8, 8, hex32(0x55));
  CHECK(gdb.ask("G" + all) == "OK");
  CHECK(f.engine.states[1].gpr[cpu::RCX] == 0x55);
  CHECK(f.engine.states[1].rip == 0x1001);
  CHECK(gdb.ask("Hg3") == "E22");
  CHECK(gdb.ask("T2") == "OK");
  CHECK(gdb.ask("T3") == "E01");
  CHECK(gdb.ask("p1000") == "E45");
}

TEST_CASE("gdbstub: memory through m, M and X, linear or physical") {
  Fixture f;
  Client gdb(f.stub->port());
  f.ram[0x2000] = 0x12;
  f.ram[0x2001] = 0x34;
  CHECK(gdb.ask("m2000,2") == "1234");
  CHECK(gdb.ask("M2002,2:abcd") == "OK");
  CHECK(f.ram[0x2002] == 0xab);
  CHECK(f.ram[0x2003] == 0xcd);
  // X carries binary with '}' escapes: 0x23 ('#') goes as "}\x03".
  CHECK(gdb.ask(std::string("X2004,2:}\x03") + "\x41") == "OK");
  CHECK(f.ram[0x2004] == 0x23);
  CHECK(f.ram[0x2005] == 0x41);
  CHECK(gdb.ask("X2004,0:") == "OK");

  // With paging on and nothing mapped, linear addresses fail; physical
  // mode reads them all the same.
  f.engine.states[0].cr0 |= cpu::CR0_PG;
  f.engine.states[0].cr3 = 0x10000; // an empty page directory
  CHECK(gdb.ask("m2000,2") == "E14");
  CHECK(gdb.ask("qqemu.PhyMemMode") == "0");
  CHECK(gdb.ask("Qqemu.PhyMemMode:1") == "OK");
  CHECK(gdb.ask("qqemu.PhyMemMode") == "1");
  CHECK(gdb.ask("m2000,2") == "1234");
}

TEST_CASE("gdbstub: breakpoints and watchpoints reach the engine") {
  Fixture f;
  Client gdb(f.stub->port());
  CHECK(gdb.ask("Z0,1000,1") == "OK");
  CHECK(gdb.ask("Z1,1010,1") == "OK");
  CHECK(gdb.ask("Z2,2000,4") == "OK");
  CHECK(gdb.ask("Z3,2010,2") == "OK");
  CHECK(gdb.ask("Z4,2020,8") == "OK");
  {
    std::lock_guard guard(f.engine.lock);
    CHECK(f.engine.points.breakpoints == std::vector<uint64_t>{0x1000});
    CHECK(f.engine.points.hw_breakpoints == std::vector<uint64_t>{0x1010});
    REQUIRE(f.engine.points.watchpoints.size() == 3);
    CHECK(f.engine.points.watchpoints[0] ==
          cpu::Watchpoint{0x2000, 4, cpu::WatchKind::Write});
    CHECK(f.engine.points.watchpoints[1].kind == cpu::WatchKind::Read);
    CHECK(f.engine.points.watchpoints[2].kind == cpu::WatchKind::Access);
  }
  // What the engine refuses is an error, and the points stay as they were.
  CHECK(gdb.ask("Z1,1020,1") == "E22");
  CHECK(gdb.ask("z0,1000,1") == "OK");
  CHECK(gdb.ask("z2,2000,4") == "OK");
  std::lock_guard guard(f.engine.lock);
  CHECK(f.engine.points.breakpoints.empty());
  CHECK(f.engine.points.hw_breakpoints.size() == 1);
  CHECK(f.engine.points.watchpoints.size() == 2);
}

TEST_CASE("gdbstub: vCont resumes per thread; events come back as T replies") {
  Fixture f;
  Client gdb(f.stub->port());
  gdb.send("vCont;s:2;c");
  CHECK(f.engine.wait_resume(1) ==
        std::vector<VcpuRun>{VcpuRun::Continue, VcpuRun::Step});
  cpu::DebugEvent step;
  step.kind = cpu::DebugEvent::Kind::Step;
  step.vcpu = 1;
  f.engine.fire(step);
  CHECK(gdb.receive() == "T05thread:2;");
  CHECK(gdb.ask("qC") == "QC2");

  // A thread without an action stays stopped.
  gdb.send("vCont;s:1");
  CHECK(f.engine.wait_resume(2) ==
        std::vector<VcpuRun>{VcpuRun::Step, VcpuRun::Hold});
  cpu::DebugEvent watch;
  watch.kind = cpu::DebugEvent::Kind::Watchpoint;
  watch.vcpu = 0;
  watch.address = 0x2000;
  watch.watch = cpu::WatchKind::Write;
  f.engine.fire(watch);
  CHECK(gdb.receive() == "T05thread:1;watch:2000;");

  gdb.send("c");
  CHECK(f.engine.wait_resume(3) ==
        std::vector<VcpuRun>{VcpuRun::Continue, VcpuRun::Continue});
  cpu::DebugEvent hit;
  hit.kind = cpu::DebugEvent::Kind::Breakpoint;
  hit.vcpu = 1;
  f.engine.fire(hit);
  CHECK(gdb.receive() == "T05thread:2;swbreak:;");

  // s steps the Hc thread alone.
  CHECK(gdb.ask("Hc1") == "OK");
  gdb.send("s");
  CHECK(f.engine.wait_resume(4) ==
        std::vector<VcpuRun>{VcpuRun::Step, VcpuRun::Hold});
  // Ctrl-C while running: SIGINT.
  gdb.send_raw("\x03");
  CHECK(gdb.receive() == "T02thread:1;");

  gdb.send("vCont;c");
  f.engine.wait_resume(5);
  cpu::DebugEvent fault;
  fault.kind = cpu::DebugEvent::Kind::TripleFault;
  fault.vcpu = 0;
  f.engine.fire(fault);
  std::string console = gdb.receive(true);
  CHECK(console[0] == 'O');
  CHECK(gdb.receive() == "T0bthread:1;");
}

TEST_CASE("gdbstub: no-ack mode, monitor commands, detach") {
  Fixture f;
  Client gdb(f.stub->port());
  CHECK(gdb.ask("QStartNoAckMode") == "OK");
  gdb.no_ack = true;
  CHECK(gdb.ask("qC") == "QC1");
  gdb.send("qRcmd," + std::string("696e666f206d74726565")); // info mtree
  std::string output = gdb.receive(true);
  REQUIRE(output.size() > 1);
  CHECK(output[0] == 'O');
  CHECK(gdb.receive() == "OK");
  CHECK(gdb.ask("D") == "OK");
  // Detaching clears the points and the handler and lets every vCPU run.
  CHECK(f.engine.wait_resume(1) ==
        std::vector<VcpuRun>{VcpuRun::Continue, VcpuRun::Continue});
  std::lock_guard guard(f.engine.lock);
  CHECK(!f.engine.handler);
  CHECK(f.engine.points.empty());
}

TEST_CASE("gdbstub: the machine's exit reaches a waiting debugger") {
  Fixture f;
  Client gdb(f.stub->port());
  CHECK(gdb.ask("qC") == "QC1");
  gdb.send("c");
  f.engine.wait_resume(1);
  f.stub->machine_exited(87);
  CHECK(gdb.receive() == "W57");
}
