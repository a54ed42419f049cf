// The debugger's hooks in the software CPU: breakpoints stop before the
// instruction, watchpoints after the access, a single step runs one
// instruction with interrupts held off; and the debugger's page walk.
#include <catch2/catch.hpp>

#include "core_machine.h"
#include "cpu/debug.h"
#include "machine/irq.h"

using namespace sable;
using namespace sable::cpu;
using namespace sable::cpu::test;

namespace {

constexpr uint64_t kCode = 0x10000;
constexpr uint64_t kData = 0x9000;

struct PendingController : InterruptController {
  bool pending = false;
  bool interrupt_pending() override { return pending; }
  uint8_t acknowledge_interrupt() override {
    pending = false;
    return 0x20;
  }
};

// mov eax, 1 / mov ebx, 2 / mov dword [kData], 42 / nop / hlt
struct DebugMachine : CoreMachine {
  DebugPoints points;
  DebugMachine() {
    protected_mode();
    state().rip = kCode;
    state().gpr[RSP] = 0x8000;
    put_bytes(kCode, {
                         0xb8, 0x01, 0x00, 0x00, 0x00,             // +0
                         0xbb, 0x02, 0x00, 0x00, 0x00,             // +5
                         0xc7, 0x05, 0x00, 0x90, 0x00, 0x00, 0x2a, // +10
                         0x00, 0x00, 0x00,                         //
                         0x90,                                     // +20
                         0xf4,                                     // +21
                     });
  }
  void use_points() { cpu->debug = &points; }
};

} // namespace

TEST_CASE("debug: a breakpoint stops before its instruction") {
  DebugMachine m;
  m.points.breakpoints.push_back(kCode + 5);
  m.use_points();
  REQUIRE(m.cpu->run(100) == StopReason::Debug);
  CHECK(m.cpu->debug_hit.kind == DebugEvent::Kind::Breakpoint);
  CHECK(m.state().rip == kCode + 5);
  CHECK(m.state().gpr[RAX] == 1);
  CHECK(m.state().gpr[RBX] == 0);
}

TEST_CASE("debug: a hardware breakpoint reports itself as one") {
  DebugMachine m;
  m.points.hw_breakpoints.push_back(kCode + 20);
  m.use_points();
  REQUIRE(m.cpu->run(100) == StopReason::Debug);
  CHECK(m.cpu->debug_hit.kind == DebugEvent::Kind::HwBreakpoint);
  CHECK(m.state().rip == kCode + 20);
}

TEST_CASE("debug: a single step from a breakpoint runs that instruction") {
  DebugMachine m;
  m.points.breakpoints.push_back(kCode + 5);
  m.use_points();
  REQUIRE(m.cpu->run(100) == StopReason::Debug);
  m.cpu->single_step = true;
  REQUIRE(m.cpu->run(100) == StopReason::Debug);
  CHECK(m.cpu->debug_hit.kind == DebugEvent::Kind::Step);
  CHECK(m.state().rip == kCode + 10);
  CHECK(m.state().gpr[RBX] == 2);
  m.cpu->single_step = false;
  m.points.breakpoints.clear();
  CHECK(m.cpu->run(100) == StopReason::Halted);
  CHECK(m.get32(kData) == 42);
}

TEST_CASE("debug: a single step holds pending interrupts off") {
  DebugMachine m;
  PendingController controller;
  m.cpu->env.interrupts = &controller;
  m.state().rflags |= IF;
  controller.pending = true;
  m.cpu->single_step = true;
  REQUIRE(m.cpu->run(100) == StopReason::Debug);
  CHECK(m.state().rip == kCode + 5);
  CHECK(controller.pending);
}

TEST_CASE("debug: a write watchpoint stops after the store, with its value") {
  DebugMachine m;
  m.points.watchpoints.push_back({kData + 2, 1, WatchKind::Write});
  m.use_points();
  REQUIRE(m.cpu->run(100) == StopReason::Debug);
  CHECK(m.cpu->debug_hit.kind == DebugEvent::Kind::Watchpoint);
  CHECK(m.cpu->debug_hit.watch == WatchKind::Write);
  CHECK(m.cpu->debug_hit.address == kData + 2);
  CHECK(m.state().rip == kCode + 20);
  CHECK(m.get32(kData) == 42);
}

TEST_CASE("debug: a read watchpoint ignores stores, an access one takes them") {
  DebugMachine m;
  m.points.watchpoints.push_back({kData, 4, WatchKind::Read});
  m.use_points();
  CHECK(m.cpu->run(100) == StopReason::Halted);

  DebugMachine a;
  a.points.watchpoints.push_back({kData, 4, WatchKind::Access});
  a.use_points();
  REQUIRE(a.cpu->run(100) == StopReason::Debug);
  CHECK(a.cpu->debug_hit.watch == WatchKind::Access);
}

TEST_CASE("debug: the debugger's page walk follows long-mode paging") {
  CoreMachine m;
  m.long_mode();
  uint64_t physical = 0;
  CHECK(debug_translate(m.state(), m.memory, 0x123456, physical));
  CHECK(physical == 0x123456);
  // Past the identity-mapped first GiB the PDPT entry is not present.
  CHECK_FALSE(debug_translate(m.state(), m.memory, 0x40000000, physical));
  // Without paging, linear is physical.
  m.protected_mode();
  CHECK(debug_translate(m.state(), m.memory, 0x7000, physical));
  CHECK(physical == 0x7000);
}

TEST_CASE("debug: a watchpoint sees stores the inline fast path would take") {
  // A load warms the TLB for the already-dirty page, so without the
  // debugger the store would go straight to host memory.
  CoreMachine m;
  m.protected_mode();
  m.state().rip = kCode;
  m.state().gpr[RSP] = 0x8000;
  m.put_bytes(kCode,
              {
                  0x8b, 0x0d, 0x08, 0x90, 0x00, 0x00, // mov ecx, [kData+8]
                  0xc7, 0x05, 0x00, 0x90, 0x00, 0x00,
                  0x2a,             // mov dword [kData], 42
                  0x00, 0x00, 0x00, //
                  0x90,             // nop
                  0xf4,             // hlt
              });
  m.memory.mark_dirty(kData, 0x1000);
  DebugPoints points;
  points.watchpoints.push_back({kData, 4, WatchKind::Write});
  m.cpu->debug = &points;
  REQUIRE(m.cpu->run(100) == StopReason::Debug);
  CHECK(m.cpu->debug_hit.kind == DebugEvent::Kind::Watchpoint);
  CHECK(m.state().rip == kCode + 16);
}
