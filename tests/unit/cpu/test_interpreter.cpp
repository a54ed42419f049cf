#include <catch2/catch.hpp>

#include "core_machine.h"
#include "machine/irq.h"

using namespace sable;
using namespace sable::cpu;
using namespace sable::cpu::test;

namespace {

constexpr uint64_t kCode = 0x10000;

struct FakeController : InterruptController {
  bool pending = false;
  uint8_t vector = 0x20;
  unsigned acknowledged = 0;
  bool interrupt_pending() override { return pending; }
  uint8_t acknowledge_interrupt() override {
    pending = false;
    ++acknowledged;
    return vector;
  }
};

struct Interp : CoreMachine {
  FakeController controller;
  Interp() { cpu->env.interrupts = &controller; }

  void real_mode_at(uint16_t segment, uint16_t ip) {
    real_mode();
    state().seg[CS] = {segment, uint64_t{segment} << 4, 0xffff, 0x9b};
    state().rip = ip;
    state().gpr[RSP] = 0x7000;
  }
  void protected_at(uint64_t eip) {
    protected_mode();
    state().rip = eip;
    state().gpr[RSP] = 0x8000;
  }
  // Protected mode with 2-level paging mapping the first 4 MiB onto
  // itself through the page table at kTable.
  static constexpr uint64_t kDirectory = 0x200000, kTable = 0x201000;
  void paged_at(uint64_t eip) {
    protected_at(eip);
    put32(kDirectory, kTable | 3);
    for (unsigned i = 0; i < 1024; ++i)
      put32(kTable + i * 4, (i << 12) | 3);
    state().cr3 = kDirectory;
    REQUIRE(cpu->write_cr(0, state().cr0 | CR0_PG));
  }
  void long_at(uint64_t rip) {
    long_mode();
    state().rip = rip;
    state().gpr[RSP] = 0x8000;
  }
};

} // namespace

TEST_CASE("interpreter: 16-bit code runs to HLT") {
  Interp m;
  m.real_mode_at(0x1000, 0);
  m.put_bytes(kCode, {
                         0xb8, 0x34, 0x12, // mov ax, 0x1234
                         0x40,             // inc ax
                         0x50,             // push ax
                         0x5b,             // pop bx
                         0xf4,             // hlt
                     });
  CHECK(m.cpu->run(100) == StopReason::Halted);
  CHECK(m.state().gpr[RBX] == 0x1235);
  CHECK(m.state().rip == 7);
  CHECK(m.state().halted);
  // Still halted with nothing pending.
  CHECK(m.cpu->run(100) == StopReason::Halted);
}

TEST_CASE("interpreter: a conditional branch taken inside a decoded block "
          "leaves it and one not taken runs on") {
  Interp m;
  m.protected_at(kCode);
  m.put_bytes(kCode, {
                         0x31, 0xc0, // xor eax, eax (ZF = 1)
                         0x75, 0x01, // jnz +1: not taken
                         0x74, 0x01, // jz +1: taken
                         0x43,       // inc ebx (skipped)
                         0x41,       // inc ecx
                         0xf4,       // hlt
                     });
  for (unsigned gpr : {RBX, RCX})
    m.state().gpr[gpr] = 0;
  CHECK(m.cpu->run(100) == StopReason::Halted);
  CHECK(m.state().gpr[RBX] == 0);
  CHECK(m.state().gpr[RCX] == 1);
  CHECK(m.state().rip == kCode + 9);
}

TEST_CASE("interpreter: 32-bit loop and a budget") {
  Interp m;
  m.protected_at(kCode);
  m.put_bytes(kCode, {
                         0xb9, 10, 0, 0, 0, // mov ecx, 10
                         0x31, 0xc0,        // xor eax, eax
                         0x01, 0xc8,        // l: add eax, ecx
                         0xe2, 0xfc,        // loop l
                         0xf4,              // hlt
                     });
  CHECK(m.cpu->run(1000) == StopReason::Halted);
  CHECK(m.state().gpr[RAX] == 55);

  m.put_bytes(kCode + 0x100, {0xeb, 0xfe}); // jmp $
  m.state().halted = false;
  m.state().rip = kCode + 0x100;
  CHECK(m.cpu->run(50) == StopReason::BudgetExhausted);
  m.cpu->request_exit();
  CHECK(m.cpu->run(50) == StopReason::ExitRequested);
}

TEST_CASE("interpreter: 64-bit code") {
  Interp m;
  m.long_at(kCode);
  m.put_bytes(
      kCode,
      {
          0x48, 0xb8, 0x88, 0x77, 0x66, 0x55, 0x44,
          0x33, 0x22, 0x11, // mov rax, 0x1122334455667788
          0x50,             // push rax
          0x41, 0x5f,       // pop r15
          0x4c, 0x89, 0x3d, 0xf0, 0x0f, 0x00, 0x00, // mov [rip+0xff0], r15
          0xf4,                                     // hlt
      });
  CHECK(m.cpu->run(100) == StopReason::Halted);
  CHECK(m.state().gpr[R15] == 0x1122334455667788ull);
  CHECK(m.get64(kCode + 20 + 0xff0) == 0x1122334455667788ull);
}

TEST_CASE("interpreter: threaded code works RIP out where it is read from "
          "the linear address its block was entered at") {
  Interp m;
  m.long_at(kCode);
  // The first GiB again at 1 GiB: the same physical block under two RIPs.
  constexpr uint64_t kAlias = uint64_t{1} << 30;
  m.put64(Interp::kPml4 + 0x1000 + 8, (Interp::kPml4 + 0x2000) | 7);
  m.put_bytes(kCode, {
                         0x48, 0xff, 0xc0, // inc rax
                         0x48, 0x8d, 0x1d, 0x09, 0x00, 0x00,
                         0x00, // lea rbx, [rip+9]
                         0x48, 0x8b, 0x0d, 0xef, 0x07, 0x00,
                         0x00,             // mov rcx, [rip+0x7ef]: kCode+0x800
                         0x48, 0x8b, 0x16, // mov rdx, [rsi]: #GP
                     });
  m.put64(kCode + 0x800, 0x5ab1e);
  constexpr uint64_t kHandler = 0x30000;
  m.put8(kHandler, 0xf4); // hlt
  m.put64(kIdtBase + EXC_GP * 16,
          (kHandler & 0xffff) | (uint64_t{kCode64Selector} << 16) |
              (uint64_t{0x8e} << 40) | ((kHandler >> 16) << 48));
  for (uint64_t entry : {kCode, kAlias + kCode}) {
    CpuState &s = m.state();
    s.rip = entry;
    s.halted = false;
    s.gpr[RSP] = 0x8000;
    s.gpr[RSI] = uint64_t{1} << 63;
    CHECK(m.cpu->run(100) == StopReason::Halted);
    CHECK(s.gpr[RBX] == entry + 0x13);
    CHECK(s.gpr[RCX] == 0x5ab1e);
    CHECK(m.get64(0x8000 - 40) == entry + 0x11); // the faulting MOV
  }
  CHECK(m.state().gpr[RAX] == 2);
}

TEST_CASE("interpreter: a store into the executing block takes effect") {
  Interp m;
  m.protected_at(kCode);
  m.put_bytes(kCode, {
                         0xc6, 0x05, 0x08, 0x00, 0x01, 0x00,
                         0x42,       // mov byte [0x10008], 0x42
                         0xb0, 0x00, // mov al, 0 (its immediate is at 0x10008)
                         0xf4,       // hlt
                     });
  CHECK(m.cpu->run(100) == StopReason::Halted);
  CHECK((m.state().gpr[RAX] & 0xff) == 0x42);

  // A second run uses the freshly decoded block; a store from outside
  // the guest (a device, the debugger) invalidates it as well.
  m.put8(kCode + 8, 0x00);
  m.memory.write(kCode + 6, std::initializer_list<uint8_t>{0x77}.begin(), 1);
  m.state().halted = false;
  m.state().rip = kCode;
  CHECK(m.cpu->run(100) == StopReason::Halted);
  CHECK((m.state().gpr[RAX] & 0xff) == 0x77);
}

TEST_CASE("interpreter: STI shadow, then the interrupt wakes HLT") {
  Interp m;
  m.real_mode_at(0x1000, 0);
  m.put16(0x20 * 4, 0x0100); // vector 0x20 -> 1000:0100
  m.put16(0x20 * 4 + 2, 0x1000);
  m.put_bytes(kCode, {
                         0xfb,             // sti
                         0xb8, 0x01, 0x00, // mov ax, 1
                         0xf4,             // hlt
                         0xb9, 0x05, 0x00, // mov cx, 5
                         0xf4,             // hlt
                     });
  m.put_bytes(kCode + 0x100, {
                                 0x89, 0xc3, // mov bx, ax
                                 0xcf,       // iret
                             });
  m.controller.pending = true;
  CHECK(m.cpu->run(100) == StopReason::Halted);
  CHECK(m.controller.acknowledged == 1);
  // Not taken right after STI: the handler saw AX = 1.
  CHECK(m.state().gpr[RBX] == 1);
  CHECK(m.state().gpr[RCX] == 5);
}

TEST_CASE("interpreter: IF=0 keeps the interrupt pending") {
  Interp m;
  m.real_mode_at(0x1000, 0);
  m.put_bytes(kCode, {0xfa, 0xf4}); // cli; hlt
  m.controller.pending = true;
  CHECK(m.cpu->run(100) == StopReason::Halted);
  CHECK(m.controller.acknowledged == 0);
}

TEST_CASE("interpreter: fetch from an NX page is a #PF with the I bit") {
  Interp m;
  m.long_at(kCode);
  // The 2 MiB page at 4 MiB is not executable.
  const uint64_t pd = CoreMachine::kPml4 + 0x2000;
  m.put64(pd + 2 * 8, m.get64(pd + 2 * 8) | (uint64_t{1} << 63));
  const uint64_t handler = 0x30000;
  m.put64(kIdtBase + EXC_PF * 16,
          (handler & 0xffff) | (uint64_t{kCode64Selector} << 16) |
              (uint64_t{0x8e} << 40) | (((handler >> 16) & 0xffff) << 48));
  m.put64(kIdtBase + EXC_PF * 16 + 8, 0);
  m.put_bytes(handler, {0xf4});
  m.put_bytes(kCode, {0xff, 0xe0}); // jmp rax
  m.state().gpr[RAX] = 0x400000;
  CHECK(m.cpu->run(100) == StopReason::Halted);
  CHECK(m.state().cr2 == 0x400000);
  CHECK(m.get64(0x8000 - 48) == (0x10 | 0x1)); // I | P
}

TEST_CASE("interpreter: a triple fault stops with Shutdown") {
  Interp m;
  m.protected_at(kCode);
  m.state().idtr = {kIdtBase, 0};   // nothing can be delivered
  m.put_bytes(kCode, {0x0f, 0x0b}); // ud2
  CHECK(m.cpu->run(100) == StopReason::Shutdown);
}

TEST_CASE("interpreter: an instruction crossing pages fetches both") {
  Interp m;
  m.paged_at(0x10ffd);
  m.put32(Interp::kTable + 0x11 * 4,
          0x50000 | 3);                     // the second page is elsewhere
  m.put_bytes(0x10ffd, {0xb8, 0x78, 0x56}); // mov eax, 0x12345678 ...
  m.put_bytes(0x50000, {0x34, 0x12, 0xf4}); // ... then hlt
  CHECK(m.cpu->run(100) == StopReason::Halted);
  CHECK(m.state().gpr[RAX] == 0x12345678);

  // With the second page gone, the fetch faults there.
  m.put32(Interp::kTable + 0x11 * 4, 0);
  m.cpu->flush_tlb(true);
  m.put64(kIdtBase + EXC_PF * 8, 0x00008e0000080000ull | 0x3000);
  m.put_bytes(0x3000, {0xf4});
  m.state().halted = false;
  m.state().rip = 0x10ffd;
  CHECK(m.cpu->run(100) == StopReason::Halted);
  CHECK(m.state().cr2 == 0x11000);
  CHECK(m.state().rip == 0x3001);
  CHECK(m.get32(m.state().gpr[RSP] + 4) == 0x10ffd);
}

TEST_CASE("interpreter: a cached instruction crossing pages follows stores "
          "into and remapping of its second page") {
  Interp m;
  m.paged_at(0x10ffd);
  m.put32(Interp::kTable + 0x11 * 4, 0x50000 | 3);
  m.put_bytes(0x10ffd, {0xb8, 0x78, 0x56}); // mov eax, 0x12345678 ...
  m.put_bytes(0x50000, {
                           0x34, 0x12,       // ... its last two bytes
                           0x41,             // inc ecx
                           0x83, 0xf9, 0x02, // cmp ecx, 2
                           0x74, 0x0c,       // je hlt
                           // mov byte [0x11001], 0x99: the MOV's top byte
                           0xc6, 0x05, 0x01, 0x10, 0x01, 0x00, 0x99, 0xe9, 0xe9,
                           0xff, 0xff, 0xff, // jmp 0x10ffd
                           0xf4,             // hlt
                       });
  CHECK(m.cpu->run(100) == StopReason::Halted);
  CHECK(m.state().gpr[RCX] == 2);
  CHECK(m.state().gpr[RAX] == 0x99345678);

  // The next linear page now maps elsewhere: the cached block must not run.
  m.put32(Interp::kTable + 0x11 * 4, 0x60000 | 3);
  m.put_bytes(0x60000, {0x00, 0x11, 0xf4}); // ... 0x11005678, then hlt
  m.cpu->flush_tlb(true);
  m.state().halted = false;
  m.state().rip = 0x10ffd;
  CHECK(m.cpu->run(100) == StopReason::Halted);
  CHECK(m.state().gpr[RAX] == 0x11005678);
  CHECK(m.state().rip == 0x11003);
}

TEST_CASE("interpreter: NMI ignores IF and blocks further NMIs") {
  Interp m;
  m.real_mode_at(0x1000, 0);
  m.put16(EXC_NMI * 4, 0x0200);
  m.put16(EXC_NMI * 4 + 2, 0x1000);
  m.put_bytes(kCode, {0xfa, 0xf4});         // cli; hlt
  m.put_bytes(kCode + 0x200, {0x43, 0xf4}); // inc bx; hlt
  CHECK(m.cpu->run(100) == StopReason::Halted);
  CHECK(m.state().rip == 2);
  m.state().nmi_pending = true;
  CHECK(m.cpu->run(100) == StopReason::Halted);
  CHECK(m.state().rip == 0x202);
  CHECK(m.state().gpr[RBX] == 1);
  CHECK(m.state().nmi_blocked);
  m.state().nmi_pending = true;
  CHECK(m.cpu->run(100) == StopReason::Halted);
  CHECK(m.state().gpr[RBX] == 1);
}

TEST_CASE("interpreter: flag-setting operations fused with the Jcc after "
          "them branch and leave registers and flags as the two instructions "
          "apart do") {
  Interp m;
  const uint64_t edges[] = {0,          1,           0x7f,
                            0x80,       0x7fffffff,  0x80000000,
                            0xffffffff, 1ull << 63,  ~0ull >> 1,
                            ~0ull,      0x123456789, 0xfffffffe00000001};
  const int8_t immediates[] = {0, 1, -1, 0x7f, -0x80};
  using Apply = uint64_t (*)(CpuState &, unsigned, uint64_t, uint64_t);
  // The operation on rax/eax: its opcode with rbx/ebx as the source (ModRM
  // 0xd8), its /digit with an imm8 source (0x83 /digit; -1: no such form)
  // or, unary, with 0xff /digit.
  struct Setter {
    const char *name;
    uint8_t opcode;
    int digit;
    bool unary, writes;
    Apply apply;
  };
  const Setter setters[] = {
      {"cmp", 0x39, 7, false, false, alu_sub},
      {"test", 0x85, -1, false, false, alu_and},
      {"sub", 0x29, 5, false, true, alu_sub},
      {"and", 0x21, 4, false, true, alu_and},
      {"add", 0x01, 0, false, true, alu_add},
      {"inc", 0xff, 0, true, true,
       [](CpuState &s, unsigned size, uint64_t a, uint64_t) {
         return alu_inc(s, size, a, carry_flag(s));
       }},
      {"dec", 0xff, 1, true, true,
       [](CpuState &s, unsigned size, uint64_t a, uint64_t) {
         return alu_dec(s, size, a, carry_flag(s));
       }},
  };
  unsigned checked = 0;
  uint64_t code = kCode;
  for (const Setter &setter : setters)
    for (bool immediate : {false, true})
      for (unsigned size : {4u, 8u})
        for (unsigned cond = 0; cond < 16; ++cond)
          for (int8_t imm : immediates) {
            if ((immediate && (setter.unary || setter.digit < 0)) ||
                (!immediate && imm != 0))
              continue;
            // op; jcc +3; lea ecx, [rcx+1]; hlt
            uint8_t bytes[16];
            unsigned length = 0;
            if (size == 8)
              bytes[length++] = 0x48;
            if (setter.unary || immediate) {
              bytes[length++] = setter.unary ? 0xff : 0x83;
              bytes[length++] = static_cast<uint8_t>(0xc0 | setter.digit << 3);
              if (immediate)
                bytes[length++] = static_cast<uint8_t>(imm);
            } else {
              bytes[length++] = setter.opcode;
              bytes[length++] = 0xd8;
            }
            for (uint8_t byte :
                 {static_cast<uint8_t>(0x70 | cond), uint8_t{3}, uint8_t{0x8d},
                  uint8_t{0x49}, uint8_t{1}, uint8_t{0xf4}})
              bytes[length++] = byte;
            for (unsigned i = 0; i < length; ++i)
              m.put8(code + i, bytes[i]);
            for (uint64_t dst : edges)
              for (uint64_t src : edges)
                for (bool carry : {false, true}) {
                  if (((immediate || setter.unary) && src != edges[0]) ||
                      (carry && !setter.unary))
                    continue;
                  const uint64_t source =
                      immediate ? static_cast<uint64_t>(int64_t{imm}) : src;
                  CpuState expected;
                  set_arith_flags(expected, carry ? uint64_t{CF} : 0);
                  const uint64_t result =
                      setter.apply(expected, size, dst & size_mask(size),
                                   source & size_mask(size));
                  const uint64_t flags = arith_flags(expected);
                  const bool taken = condition_on_flags(flags, cond);
                  m.long_at(code);
                  m.state().halted = false;
                  set_arith_flags(m.state(), carry ? uint64_t{CF} : 0);
                  m.state().gpr[RAX] = dst;
                  m.state().gpr[RBX] = src;
                  m.state().gpr[RCX] = 0;
                  INFO(setter.name << (immediate ? " imm8" : "") << " size "
                                   << size << " cond " << cond << " dst " << dst
                                   << " source " << source << " carry "
                                   << carry);
                  REQUIRE(m.cpu->run(100) == StopReason::Halted);
                  REQUIRE(m.state().gpr[RCX] == (taken ? 0u : 1u));
                  REQUIRE(arith_flags(m.state()) == flags);
                  REQUIRE(m.state().gpr[RAX] == (setter.writes ? result : dst));
                  ++checked;
                }
            code += 16;
          }
  // Per size and condition: five binary setters with 144 register pairs,
  // four with 5 x 12 immediate cases, two unary ones with 12 x 2 cases.
  CHECK(checked == 2 * 16 * (5 * 144 + 4 * 60 + 2 * 24));
}

TEST_CASE("interpreter: CMOVcc and SETcc on registers and Jcc follow every "
          "condition after every kind of flag record") {
  Interp m;
  const uint64_t edges[] = {0, 1, 0x7fffffff, 0x80000000, 0xffffffff, ~0ull};
  using Apply = uint64_t (*)(CpuState &, uint64_t, uint64_t);
  // The operation on rax with rbx as the source, as encoded.
  struct Setter {
    const char *name;
    std::initializer_list<uint8_t> bytes;
    Apply apply;
  };
  const Setter setters[] = {
      {"cmp",
       {0x48, 0x39, 0xd8},
       [](CpuState &s, uint64_t a, uint64_t b) { return alu_sub(s, 8, a, b); }},
      {"add",
       {0x48, 0x01, 0xd8},
       [](CpuState &s, uint64_t a, uint64_t b) { return alu_add(s, 8, a, b); }},
      {"and",
       {0x48, 0x21, 0xd8},
       [](CpuState &s, uint64_t a, uint64_t b) { return alu_and(s, 8, a, b); }},
      {"shr 1",
       {0x48, 0xd1, 0xe8},
       [](CpuState &s, uint64_t a, uint64_t) { return alu_shr(s, 8, a, 1); }},
      {"inc",
       {0x48, 0xff, 0xc0},
       [](CpuState &s, uint64_t a, uint64_t) {
         return alu_inc(s, 8, a, carry_flag(s));
       }},
  };
  unsigned checked = 0;
  uint64_t code = kCode;
  for (const Setter &setter : setters)
    for (unsigned cond = 0; cond < 16; ++cond) {
      // op; cmovcc rcx, rdx; setcc dil; jcc +3; lea ebp, [rbp+1]; jmp +0; hlt
      uint64_t at = code;
      for (uint8_t byte : setter.bytes)
        m.put8(at++, byte);
      for (uint8_t byte :
           {uint8_t{0x48}, uint8_t{0x0f}, static_cast<uint8_t>(0x40 | cond),
            uint8_t{0xca}, uint8_t{0x40}, uint8_t{0x0f},
            static_cast<uint8_t>(0x90 | cond), uint8_t{0xc7},
            static_cast<uint8_t>(0x70 | cond), uint8_t{3}, uint8_t{0x8d},
            uint8_t{0x6d}, uint8_t{1}, uint8_t{0xeb}, uint8_t{0},
            uint8_t{0xf4}})
        m.put8(at++, byte);
      for (uint64_t dst : edges)
        for (uint64_t src : edges) {
          CpuState expected;
          set_arith_flags(expected, 0);
          setter.apply(expected, dst, src);
          const uint64_t flags = arith_flags(expected);
          const bool holds = condition_on_flags(flags, cond);
          m.long_at(code);
          m.state().halted = false;
          set_arith_flags(m.state(), 0);
          m.state().gpr[RAX] = dst;
          m.state().gpr[RBX] = src;
          m.state().gpr[RCX] = 0x1111;
          m.state().gpr[RDX] = 0x2222;
          m.state().gpr[RDI] = 0x3300;
          m.state().gpr[RBP] = 0;
          INFO(setter.name << " cond " << cond << " dst " << dst << " src "
                           << src);
          REQUIRE(m.cpu->run(100) == StopReason::Halted);
          REQUIRE(m.state().gpr[RCX] == (holds ? 0x2222u : 0x1111u));
          REQUIRE(m.state().gpr[RDI] == (holds ? 0x3301u : 0x3300u));
          REQUIRE(m.state().gpr[RBP] == (holds ? 0u : 1u));
          REQUIRE(arith_flags(m.state()) == flags);
          ++checked;
        }
      code += 32;
    }
  CHECK(checked == 5 * 16 * 36);
}

TEST_CASE("interpreter: CALL and RET of 64-bit code through links keep the "
          "stack and return where they were called from") {
  Interp m;
  m.long_at(kCode);
  m.put_bytes(kCode, {
                         0xb9, 0x05, 0x00, 0x00, 0x00, // mov ecx, 5
                         0xe8, 0x0b, 0x00, 0x00, 0x00, // l: call f
                         0x48, 0x01, 0xc3,             // add rbx, rax
                         0xff, 0xc9,                   // dec ecx
                         0x75, 0xf4,                   // jnz l
                         0xf4,                         // hlt
                         0xcc, 0xcc, 0xcc,             // (never run)
                         0x48, 0xff, 0xc0,             // f: inc rax
                         0xc3,                         // ret
                     });
  for (unsigned round = 0; round < 2; ++round) {
    CpuState &s = m.state();
    s.rip = kCode;
    s.halted = false;
    s.gpr[RAX] = s.gpr[RBX] = 0;
    s.gpr[RSP] = 0x8000;
    REQUIRE(m.cpu->run(1000) == StopReason::Halted);
    CHECK(s.gpr[RAX] == 5);
    CHECK(s.gpr[RBX] == 1 + 2 + 3 + 4 + 5);
    CHECK(s.gpr[RSP] == 0x8000);
    CHECK(m.get64(0x8000 - 8) == kCode + 10); // the return address
    CHECK(s.rip == kCode + 18);
  }
}
