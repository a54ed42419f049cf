// Two vCPUs on one GuestMemory, each run on a thread of its own as the
// software engine runs them: locked read-modify-writes, a spinlock, and
// code one vCPU writes while the other has it decoded.

#include <catch2/catch.hpp>

#include <atomic>
#include <thread>
#include <utility>

#include "core_machine.h"

using namespace sable;
using namespace sable::cpu;
using namespace sable::cpu::test;

namespace {

constexpr uint64_t kCounter = 0x20000;
constexpr uint64_t kLock = 0x20100;
constexpr uint64_t kGuarded = 0x20200;
constexpr uint64_t kFlag = 0x20300;
constexpr uint64_t kCalls = 0x20400;
constexpr uint64_t kCodeA = 0x30000;
constexpr uint64_t kRoutine = 0x40000;
constexpr uint64_t kCodeB = 0x50000;

struct TwoCpus : CoreMachine {
  std::unique_ptr<Cpu> second;

  TwoCpus() {
    CpuEnvironment env;
    env.memory = &memory;
    env.io = &io;
    env.index = 1;
    second = std::make_unique<Cpu>(env);
    protected_mode();
    second->state = cpu->state;
    second->flush_tlb(true);
  }

  static void start(Cpu &vcpu, uint64_t eip, uint64_t esp) {
    vcpu.state.rip = eip;
    vcpu.state.gpr[RSP] = esp;
    vcpu.state.halted = false;
  }

  uint32_t load32(uint64_t gpa) const {
    return __atomic_load_n(reinterpret_cast<const uint32_t *>(ram + gpa),
                           __ATOMIC_ACQUIRE);
  }

  // Both vCPUs run the code at `eip` at once, each on a stack of its own;
  // whether each reached HLT.
  std::pair<bool, bool> run_both_from(uint64_t eip);
};

// Runs to HLT; false when the vCPU stops otherwise or never halts.
bool run_to_halt(Cpu &vcpu) {
  for (unsigned slice = 0; slice < 100000; ++slice) {
    StopReason reason = vcpu.run(10000);
    if (reason == StopReason::Halted)
      return true;
    if (reason != StopReason::BudgetExhausted)
      return false;
  }
  return false;
}

std::pair<bool, bool> TwoCpus::run_both_from(uint64_t eip) {
  start(*cpu, eip, 0x8000);
  start(*second, eip, 0x9000);
  bool second_halted = false;
  std::thread other([&] { second_halted = run_to_halt(*second); });
  const bool first_halted = run_to_halt(*cpu);
  other.join();
  return {first_halted, second_halted};
}

} // namespace

TEST_CASE("smp: LOCK INC from two vCPUs adds up exactly") {
  TwoCpus m;
  // mov ecx, 200000; l: lock inc dword [kCounter]; dec ecx; jnz l; hlt
  m.put_bytes(kCodeA, {0xb9, 0x40, 0x0d, 0x03, 0x00, 0xf0, 0xff, 0x05, 0x00,
                       0x00, 0x02, 0x00, 0x49, 0x75, 0xf6, 0xf4});
  const auto [a, b] = m.run_both_from(kCodeA);
  CHECK(a);
  CHECK(b);
  CHECK(m.get32(kCounter) == 400000);
}

TEST_CASE("smp: a spinlock taken with XCHG and released with MOV guards a "
          "plain counter") {
  TwoCpus m;
  m.put_bytes(kCodeA, {
                          0xb9, 0xa0, 0x86, 0x01, 0x00, // mov ecx, 100000
                          0xb8, 0x01, 0x00, 0x00, 0x00, // again: mov eax, 1
                          0x87, 0x05, 0x00, 0x01, 0x02,
                          0x00,       // spin: xchg eax, [kLock]
                          0x85, 0xc0, // test eax, eax
                          0x74, 0x04, // jz got
                          0xf3, 0x90, // pause
                          0xeb, 0xf2, // jmp spin
                          0x8b, 0x15, 0x00, 0x02, 0x02,
                          0x00, // got: mov edx, [kGuarded]
                          0x42, // inc edx
                          0x89, 0x15, 0x00, 0x02, 0x02,
                          0x00, // mov [kGuarded], edx
                          0xc7, 0x05, 0x00, 0x01, 0x02,
                          0x00, 0x00, 0x00, 0x00, 0x00, // mov dword [kLock], 0
                          0x49,                         // dec ecx
                          0x75, 0xd3,                   // jnz again
                          0xf4,                         // hlt
                      });
  const auto [a, b] = m.run_both_from(kCodeA);
  CHECK(a);
  CHECK(b);
  CHECK(m.get32(kGuarded) == 200000);
  CHECK(m.get32(kLock) == 0);
}

TEST_CASE("smp: a store by one vCPU drops the blocks another decoded, also "
          "through a TLB entry made before the page had code") {
  TwoCpus m;
  // vCPU 1 first stores into the page as data (mov byte [kRoutine + 0x100],
  // 0; hlt): its TLB entry for it skips store tracking (dirty, no code).
  m.put_bytes(kCodeB, {0xc6, 0x05, 0x00, 0x01, 0x04, 0x00, 0x00, 0xf4});
  TwoCpus::start(*m.second, kCodeB, 0x9000);
  REQUIRE(run_to_halt(*m.second));
  // vCPU 0 decodes and runs `mov eax, 1; hlt` from that page.
  m.put_bytes(kRoutine, {0xb8, 0x01, 0x00, 0x00, 0x00, 0xf4});
  TwoCpus::start(*m.cpu, kRoutine, 0x8000);
  REQUIRE(run_to_halt(*m.cpu));
  REQUIRE(m.state().gpr[RAX] == 1);
  // vCPU 1 patches the immediate through the same TLB entry (mov byte
  // [kRoutine + 1], 2; hlt)...
  m.put_bytes(kCodeB + 0x10, {0xc6, 0x05, 0x01, 0x00, 0x04, 0x00, 0x02, 0xf4});
  TwoCpus::start(*m.second, kCodeB + 0x10, 0x9000);
  REQUIRE(run_to_halt(*m.second));
  // ...and vCPU 0 runs the new code, not its decoded block.
  TwoCpus::start(*m.cpu, kRoutine, 0x8000);
  REQUIRE(run_to_halt(*m.cpu));
  CHECK(m.state().gpr[RAX] == 2);
}

TEST_CASE("smp: code patched by one vCPU while another runs it takes effect "
          "once the patching vCPU's flag is seen") {
  TwoCpus m;
  // vCPU 0: l: call kRoutine; cmp dword [kFlag], 0; je l; call kRoutine; hlt
  m.put_bytes(kCodeA,
              {0xe8, 0xfb, 0xff, 0x00, 0x00, 0x83, 0x3d, 0x00, 0x03, 0x02,
               0x00, 0x00, 0x74, 0xf2, 0xe8, 0xed, 0xff, 0x00, 0x00, 0xf4});
  // kRoutine: mov eax, 1; lock inc dword [kCalls]; ret
  m.put_bytes(kRoutine, {0xb8, 0x01, 0x00, 0x00, 0x00, 0xf0, 0xff, 0x05, 0x00,
                         0x04, 0x02, 0x00, 0xc3});
  // vCPU 1: mov byte [kRoutine + 1], 2; mov dword [kFlag], 1; hlt
  m.put_bytes(kCodeB, {0xc6, 0x05, 0x01, 0x00, 0x04, 0x00, 0x02, 0xc7, 0x05,
                       0x00, 0x03, 0x02, 0x00, 0x01, 0x00, 0x00, 0x00, 0xf4});
  TwoCpus::start(*m.cpu, kCodeA, 0x8000);
  TwoCpus::start(*m.second, kCodeB, 0x9000);
  bool a = false, b = false;
  std::atomic<bool> first_done{false};
  std::thread first([&] {
    a = run_to_halt(*m.cpu);
    first_done = true;
  });
  // The routine is decoded and running on vCPU 0 before vCPU 1 patches it.
  while (m.load32(kCalls) < 1000 && !first_done)
    std::this_thread::yield();
  b = run_to_halt(*m.second);
  first.join();
  CHECK(a);
  CHECK(b);
  CHECK(m.state().gpr[RAX] == 2);
}
