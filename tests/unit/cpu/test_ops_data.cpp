// Data-movement and bit handlers, run from decoded bytes.

#include <catch2/catch.hpp>

#include "host_vendor.h"
#include "ops_machine.h"

using namespace sable::cpu;
using namespace sable::cpu::test;

TEST_CASE("MOV, MOVZX, MOVSX, MOVSXD, MOVBE and sign-extended immediates") {
  OpsMachine m(CodeSize::Bits64);
  REQUIRE(m.run({0x48, 0xc7, 0xc0, 0xff, 0xff, 0xff, 0xff})); // mov rax, -1
  CHECK(m.gpr(RAX) == ~uint64_t{0});
  m.gpr(RBX) = 0x80;
  REQUIRE(m.run({0x0f, 0xb6, 0xc3})); // movzx eax, bl
  CHECK(m.gpr(RAX) == 0x80);
  REQUIRE(m.run({0x48, 0x0f, 0xbe, 0xc3})); // movsx rax, bl
  CHECK(m.gpr(RAX) == 0xffffffffffffff80ull);
  m.gpr(RCX) = 0x80000000;
  REQUIRE(m.run({0x48, 0x63, 0xc1})); // movsxd rax, ecx
  CHECK(m.gpr(RAX) == 0xffffffff80000000ull);
  m.poke<uint32_t>(0x2000, 0x11223344);
  m.gpr(RSI) = 0x2000;
  REQUIRE(m.run({0x0f, 0x38, 0xf0, 0x06})); // movbe eax, [rsi]
  CHECK(m.gpr(RAX) == 0x44332211);
  REQUIRE(m.run({0x66, 0x0f, 0x38, 0xf1, 0x06})); // movbe [rsi], ax
  CHECK(m.peek<uint32_t>(0x2000) == 0x11221122);
  REQUIRE(m.run({0x6a, 0xfe})); // push -2 (64-bit)
  CHECK(m.peek<uint64_t>(m.gpr(RSP)) == ~uint64_t{1});
}

TEST_CASE("LEA truncates to the address size, then to the operand size") {
  OpsMachine m;
  m.gpr(RBX) = 0xffff;
  m.gpr(RSI) = 2;
  REQUIRE(m.run({0x67, 0x8d, 0x00})); // lea eax, [bx+si] (16-bit address)
  CHECK(m.gpr(RAX) == 1);
  m.gpr(RAX) = 0xaaaaaaaa;
  m.gpr(RBX) = 0x12345678;
  REQUIRE(m.run({0x66, 0x8d, 0x43, 0x01})); // lea ax, [ebx+1]
  CHECK(m.gpr(RAX) == 0xaaaa5679);
}

TEST_CASE("XCHG, XADD and CMPXCHG write-back rules") {
  OpsMachine m(CodeSize::Bits64);
  m.gpr(RAX) = 0x1111;
  m.gpr(RBX) = 0x2000;
  m.poke<uint32_t>(0x2000, 0x2222);
  REQUIRE(m.run({0x87, 0x03})); // xchg [rbx], eax
  CHECK(m.gpr(RAX) == 0x2222);
  CHECK(m.peek<uint32_t>(0x2000) == 0x1111);

  m.gpr(RCX) = 5;
  REQUIRE(m.run({0xf0, 0x0f, 0xc1, 0x0b})); // lock xadd [rbx], ecx
  CHECK(m.peek<uint32_t>(0x2000) == 0x1116);
  CHECK(m.gpr(RCX) == 0x1111);
  m.gpr(RDX) = 3;
  REQUIRE(m.run({0x0f, 0xc1, 0xd2})); // xadd edx, edx: destination wins
  CHECK(m.gpr(RDX) == 6);

  // Success: the destination takes the source, rAX is untouched.
  m.gpr(RAX) = 0xffffffff00001116ull;
  m.gpr(RCX) = 0x77;
  REQUIRE(m.run({0x0f, 0xb1, 0x0b})); // cmpxchg [rbx], ecx
  CHECK(m.peek<uint32_t>(0x2000) == 0x77);
  CHECK(m.gpr(RAX) == 0xffffffff00001116ull);
  CHECK((m.arith() & ZF) != 0);
  // Failure: rAX takes the destination (zero-extended), the destination
  // register is rewritten with its own value, clearing its upper half.
  m.gpr(RDX) = 0xdeadbeef00000005ull;
  m.gpr(RAX) = 9;
  REQUIRE(m.run({0x0f, 0xb1, 0xca})); // cmpxchg edx, ecx
  CHECK(m.gpr(RAX) == 5);
  CHECK(m.gpr(RDX) == 5);
  CHECK((m.arith() & ZF) == 0);
  CHECK((m.arith() & CF) == 0); // 9 - 5
}

TEST_CASE("CMPXCHG8B and CMPXCHG16B") {
  OpsMachine m(CodeSize::Bits64);
  m.poke<uint64_t>(0x2000, 0x1111111122222222ull);
  m.gpr(RDI) = 0x2000;
  m.gpr(RDX) = 0x11111111;
  m.gpr(RAX) = 0x22222222;
  m.gpr(RCX) = 0x33333333;
  m.gpr(RBX) = 0x44444444;
  REQUIRE(m.run({0xf0, 0x0f, 0xc7, 0x0f})); // lock cmpxchg8b [rdi]
  CHECK(m.peek<uint64_t>(0x2000) == 0x3333333344444444ull);
  CHECK((m.arith() & ZF) != 0);
  REQUIRE(m.run({0x0f, 0xc7, 0x0f})); // mismatch now
  CHECK((m.arith() & ZF) == 0);
  CHECK(m.gpr(RDX) == 0x33333333);
  CHECK(m.gpr(RAX) == 0x44444444);

  m.poke<uint64_t>(0x3000, 1);
  m.poke<uint64_t>(0x3008, 2);
  m.gpr(RDI) = 0x3000;
  m.gpr(RAX) = 1;
  m.gpr(RDX) = 2;
  m.gpr(RBX) = 3;
  m.gpr(RCX) = 4;
  REQUIRE(m.run({0x48, 0x0f, 0xc7, 0x0f})); // cmpxchg16b [rdi]
  CHECK(m.peek<uint64_t>(0x3000) == 3);
  CHECK(m.peek<uint64_t>(0x3008) == 4);
  m.gpr(RDI) = 0x3008;
  CHECK_FALSE(m.run({0x48, 0x0f, 0xc7, 0x0f})); // misaligned
  CHECK(m.faulted_with(EXC_GP));
}

TEST_CASE("CMOVcc zero-extends a 32-bit destination even when false") {
  OpsMachine m(CodeSize::Bits64);
  m.gpr(RAX) = 0xffffffff00000001ull;
  m.gpr(RBX) = 7;
  m.set_arith(0);
  REQUIRE(m.run({0x0f, 0x44, 0xc3})); // cmove eax, ebx (false)
  CHECK(m.gpr(RAX) == 1);
  m.gpr(RAX) = 0xffffffff00000001ull;
  REQUIRE(m.run({0x48, 0x0f, 0x44, 0xc3})); // cmove rax, rbx (false)
  CHECK(m.gpr(RAX) == 0xffffffff00000001ull);
  REQUIRE(m.run({0x0f, 0x45, 0xc3})); // cmovne eax, ebx (true)
  CHECK(m.gpr(RAX) == 7);
  REQUIRE(m.run({0x0f, 0x94, 0xc1})); // sete cl
  CHECK((m.gpr(RCX) & 0xff) == 0);
  REQUIRE(m.run({0x0f, 0x95, 0xc1})); // setne cl
  CHECK((m.gpr(RCX) & 0xff) == 1);
}

TEST_CASE("CBW/CWDE/CDQE, CWD/CDQ/CQO, XLAT, SALC") {
  OpsMachine m;
  m.gpr(RAX) = 0x1280;
  REQUIRE(m.run({0x66, 0x98})); // cbw
  CHECK(m.gpr(RAX) == 0xff80);
  REQUIRE(m.run({0x98})); // cwde
  CHECK(m.gpr(RAX) == 0xffffff80);
  REQUIRE(m.run({0x99})); // cdq
  CHECK(m.gpr(RDX) == 0xffffffff);
  m.gpr(RAX) = 0x7fff;
  REQUIRE(m.run({0x66, 0x99})); // cwd
  CHECK((m.gpr(RDX) & 0xffff) == 0);

  m.poke<uint8_t>(0x2005, 0xab);
  m.gpr(RBX) = 0x2000;
  m.gpr(RAX) = 0x05;
  REQUIRE(m.run({0xd7})); // xlat
  CHECK(m.gpr(RAX) == 0xab);
  m.set_arith(CF);
  REQUIRE(m.run({0xd6})); // salc
  CHECK((m.gpr(RAX) & 0xff) == 0xff);

  OpsMachine m64(CodeSize::Bits64);
  m64.gpr(RAX) = 0x80000000;
  REQUIRE(m64.run({0x48, 0x98})); // cdqe
  CHECK(m64.gpr(RAX) == 0xffffffff80000000ull);
  REQUIRE(m64.run({0x48, 0x99})); // cqo
  CHECK(m64.gpr(RDX) == ~uint64_t{0});
}

TEST_CASE("MOV to and from segment registers, LDS/LSS in real mode") {
  OpsMachine m(CodeSize::Bits16);
  m.gpr(RAX) = 0x1234;
  REQUIRE(m.run({0x8e, 0xd8})); // mov ds, ax
  CHECK(m.state().seg[DS].selector == 0x1234);
  CHECK(m.state().seg[DS].base == 0x12340);
  CHECK_FALSE(m.state().interrupt_shadow);
  REQUIRE(m.run({0x8e, 0xd0})); // mov ss, ax
  CHECK(m.state().interrupt_shadow);
  Instruction mov_cs; // mov cs, ax: the decoder rejects it too
  mov_cs.op = Op::MOV_SEG;
  mov_cs.length = 2;
  mov_cs.opsize = 2;
  mov_cs.operands[0] = {OperandKind::Seg, 2, CS};
  mov_cs.operands[1] = {OperandKind::Reg, 2, RAX};
  mov_cs.operand_count = 2;
  CHECK_FALSE(m.execute(mov_cs));
  CHECK(m.faulted_with(EXC_UD));

  m.gpr(RBX) = 0xffffffff;
  REQUIRE(m.run({0x66, 0x8c, 0xdb})); // mov ebx, ds: zero-extended
  CHECK(m.gpr(RBX) == 0x1234);
  m.gpr(RBX) = 0x100;
  m.poke<uint32_t>(0x12340 + 0x100, 0xaaaaaaaa);
  REQUIRE(m.run({0x66, 0x8c, 0x1f})); // mov [bx], ds: a 16-bit store
  CHECK(m.peek<uint32_t>(0x12340 + 0x100) == 0xaaaa1234);

  m.state().interrupt_shadow = false;
  m.poke<uint16_t>(0x12340 + 0x200, 0x5678); // offset
  m.poke<uint16_t>(0x12340 + 0x202, 0x2000); // selector
  m.gpr(RBX) = 0x200;
  REQUIRE(m.run({0x0f, 0xb2, 0x27})); // lss sp, [bx]
  CHECK((m.gpr(RSP) & 0xffff) == 0x5678);
  CHECK(m.state().seg[SS].selector == 0x2000);
  CHECK_FALSE(m.state().interrupt_shadow);
  REQUIRE(m.run({0xc4, 0x37})); // les si, [bx]
  CHECK(m.state().seg[ES].base == 0x20000);
  CHECK((m.gpr(RSI) & 0xffff) == 0x5678);
}

TEST_CASE("BT family: register and memory bit offsets, LOCK") {
  OpsMachine m;
  m.gpr(RAX) = 0x8;
  m.gpr(RCX) = 35;                    // masked to 3 for a register base
  REQUIRE(m.run({0x0f, 0xa3, 0xc8})); // bt eax, ecx
  CHECK((m.arith() & CF) != 0);
  REQUIRE(m.run({0x0f, 0xbb, 0xc8})); // btc eax, ecx
  CHECK(m.gpr(RAX) == 0);

  // Memory with a register offset reaches beyond the operand.
  m.gpr(RBX) = 0x2010;
  m.gpr(RCX) = 35;
  REQUIRE(m.run({0xf0, 0x0f, 0xab, 0x0b})); // lock bts [ebx], ecx
  CHECK(m.peek<uint32_t>(0x2014) == 0x8);
  CHECK((m.arith() & CF) == 0);
  m.gpr(RCX) = static_cast<uint32_t>(-1); // bit 31 of the dword below
  REQUIRE(m.run({0x0f, 0xab, 0x0b}));     // bts [ebx], ecx
  CHECK(m.peek<uint32_t>(0x200c) == 0x80000000);
  m.gpr(RCX) = static_cast<uint32_t>(-1);
  REQUIRE(m.run({0x0f, 0xb3, 0x0b})); // btr [ebx], ecx
  CHECK((m.arith() & CF) != 0);
  CHECK(m.peek<uint32_t>(0x200c) == 0);
  // An immediate offset stays within the operand.
  m.poke<uint16_t>(0x2010, 0);
  REQUIRE(m.run({0x66, 0x0f, 0xba, 0x2b, 0x11})); // bts word [ebx], 17
  CHECK(m.peek<uint16_t>(0x2010) == 0x2);
}

TEST_CASE("BSF/BSR keep the destination on zero, POPCNT LZCNT TZCNT BSWAP") {
  OpsMachine m;
  m.gpr(RAX) = 0x1234;
  m.gpr(RBX) = 0;
  REQUIRE(m.run({0x0f, 0xbc, 0xc3})); // bsf eax, ebx
  CHECK(m.gpr(RAX) == 0x1234);
  CHECK((m.arith() & ZF) != 0);
  m.gpr(RBX) = 0x00f0;
  REQUIRE(m.run({0x0f, 0xbc, 0xc3})); // bsf eax, ebx
  CHECK(m.gpr(RAX) == 4);
  REQUIRE(m.run({0x0f, 0xbd, 0xc3})); // bsr eax, ebx
  CHECK(m.gpr(RAX) == 7);
  REQUIRE(m.run({0xf3, 0x0f, 0xb8, 0xc3})); // popcnt eax, ebx
  CHECK(m.gpr(RAX) == 4);
  REQUIRE(m.run({0x66, 0xf3, 0x0f, 0xbd, 0xc3})); // lzcnt ax, bx
  CHECK((m.gpr(RAX) & 0xffff) == 8);
  m.gpr(RBX) = 0;
  REQUIRE(m.run({0xf3, 0x0f, 0xbc, 0xc3})); // tzcnt eax, ebx
  CHECK(m.gpr(RAX) == 32);
  CHECK((m.arith() & (CF | ZF)) == CF);
  m.gpr(RDX) = 0x11223344;
  REQUIRE(m.run({0x0f, 0xca})); // bswap edx
  CHECK(m.gpr(RDX) == 0x44332211);
}

TEST_CASE("LAHF and SAHF move SF ZF AF PF CF through AH") {
  OpsMachine m;
  m.set_arith(SF | CF | OF);
  m.gpr(RAX) = 0;
  REQUIRE(m.run({0x9f})); // lahf
  CHECK(m.gpr(RAX) == 0x8300);
  m.gpr(RAX) = 0x4400;    // ZF PF
  REQUIRE(m.run({0x9e})); // sahf
  CHECK(m.arith() == (ZF | PF | OF));
}

namespace {

// The host runs `mnemonic rbx-sized source -> rax-sized destination`.
#define HOST_COUNT(name, mnemonic)                                             \
  template <typename T> uint64_t host_##name(T source, T &result) {            \
    uint64_t flags;                                                            \
    asm volatile("lea -128(%%rsp), %%rsp\n\tpush %[in]\n\tpopfq\n\t" mnemonic  \
                 " %[src], %[dst]\n\tpushfq\n\tpop %[out]\n\t"                 \
                 "lea 128(%%rsp), %%rsp"                                       \
                 : [dst] "=&r"(result), [out] "=&r"(flags)                     \
                 : [src] "r"(source), [in] "r"(uint64_t{0x8d7})                \
                 : "cc", "memory");                                            \
    return flags & kArithFlags;                                                \
  }
HOST_COUNT(lzcnt, "lzcnt")
HOST_COUNT(tzcnt, "tzcnt")
HOST_COUNT(popcnt, "popcnt")

template <typename T>
void compare_counts(OpsMachine &m, std::initializer_list<uint8_t> prefix,
                    uint64_t (*host)(T, T &), uint8_t opcode, T source) {
  std::vector<uint8_t> bytes(prefix);
  for (uint8_t b : {uint8_t{0x0f}, opcode, uint8_t{0xc3}})
    bytes.push_back(b);
  m.gpr(RBX) = source;
  m.gpr(RAX) = 0;
  m.set_arith(kArithFlags);
  Instruction insn;
  REQUIRE(decode(bytes.data(), static_cast<unsigned>(bytes.size()),
                 CodeSize::Bits64, insn) == DecodeStatus::Ok);
  REQUIRE(m.execute(insn));
  T want;
  uint64_t want_flags = host(source, want);
  // LZCNT and TZCNT leave OF SF AF PF undefined and Intel clears them;
  // other hosts' values there are not Intel's.
  if (opcode != 0xb8 && !host_is_intel())
    want_flags &= ~(OF | SF | AF | PF);
  INFO("opcode " << int(opcode) << " size " << sizeof(T) << " source "
                 << uint64_t{source});
  CHECK(static_cast<T>(m.gpr(RAX)) == want);
  CHECK(m.arith() == want_flags);
}

template <typename T>
void counts_for_size(OpsMachine &m, std::initializer_list<uint8_t> prefix) {
  std::vector<T> values = {0, 1, static_cast<T>(~T{0}),
                           static_cast<T>(T{1} << (sizeof(T) * 8 - 1))};
  uint64_t seed = 0x9e3779b97f4a7c15ull;
  for (int i = 0; i < 50; i++) {
    seed = seed * 6364136223846793005ull + 1442695040888963407ull;
    values.push_back(static_cast<T>(seed >> (i % 48)));
  }
  for (T value : values) {
    compare_counts<T>(m, prefix, host_lzcnt<T>, 0xbd, value);
    compare_counts<T>(m, prefix, host_tzcnt<T>, 0xbc, value);
    compare_counts<T>(m, prefix, host_popcnt<T>, 0xb8, value);
  }
}

} // namespace

TEST_CASE("LZCNT TZCNT POPCNT results and flags match the host") {
  OpsMachine m(CodeSize::Bits64);
  counts_for_size<uint16_t>(m, {0x66, 0xf3});
  counts_for_size<uint32_t>(m, {0xf3});
  counts_for_size<uint64_t>(m, {0xf3, 0x48});
}

namespace {

#define HOST_BIT(name, mnemonic)                                               \
  template <typename T> uint64_t host_##name(T &value, T offset) {             \
    uint64_t flags;                                                            \
    asm volatile("lea -128(%%rsp), %%rsp\n\tpush %[in]\n\tpopfq\n\t" mnemonic  \
                 " %[off], %[dst]\n\tpushfq\n\tpop %[out]\n\t"                 \
                 "lea 128(%%rsp), %%rsp"                                       \
                 : [dst] "+r"(value), [out] "=&r"(flags)                       \
                 : [off] "r"(offset), [in] "r"(uint64_t{0x8d6})                \
                 : "cc", "memory");                                            \
    return flags & kArithFlags;                                                \
  }
HOST_BIT(bt, "bt")
HOST_BIT(bts, "bts")
HOST_BIT(btr, "btr")
HOST_BIT(btc, "btc")

template <typename T>
void compare_bit_ops(std::initializer_list<uint8_t> prefix) {
  OpsMachine m(CodeSize::Bits64);
  const struct {
    uint8_t opcode;
    uint64_t (*host)(T &, T);
  } ops[] = {{0xa3, host_bt<T>},
             {0xab, host_bts<T>},
             {0xb3, host_btr<T>},
             {0xbb, host_btc<T>}};
  uint64_t seed = 12345;
  for (int i = 0; i < 64; i++) {
    seed = seed * 6364136223846793005ull + 1442695040888963407ull;
    const T value = static_cast<T>(seed);
    const T offset = static_cast<T>(seed >> 40);
    for (const auto &op : ops) {
      std::vector<uint8_t> bytes(prefix);
      for (uint8_t b : {uint8_t{0x0f}, op.opcode, uint8_t{0xd8}})
        bytes.push_back(b); // bt* eax, ebx
      Instruction insn;
      REQUIRE(decode(bytes.data(), static_cast<unsigned>(bytes.size()),
                     CodeSize::Bits64, insn) == DecodeStatus::Ok);
      m.gpr(RAX) = value;
      m.gpr(RBX) = offset;
      m.set_arith(0x8d6 & kArithFlags);
      REQUIRE(m.execute(insn));
      T want = value;
      const uint64_t want_flags = op.host(want, offset);
      INFO("opcode " << int(op.opcode) << " value " << uint64_t{value}
                     << " offset " << uint64_t{offset});
      CHECK(static_cast<T>(m.gpr(RAX)) == want);
      CHECK(m.arith() == want_flags);
    }
  }
}

} // namespace

TEST_CASE("BT BTS BTR BTC on registers match the host") {
  compare_bit_ops<uint16_t>({0x66});
  compare_bit_ops<uint32_t>({});
  compare_bit_ops<uint64_t>({0x48});
}
