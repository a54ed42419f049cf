// Focused decoder cases with every relevant Instruction field checked.

#include <catch2/catch.hpp>

#include <initializer_list>
#include <random>
#include <string>
#include <vector>

#include "cpu/instruction.h"

using namespace sable::cpu;

namespace {

constexpr CodeSize k16 = CodeSize::Bits16;
constexpr CodeSize k32 = CodeSize::Bits32;
constexpr CodeSize k64 = CodeSize::Bits64;

// Decodes from a buffer of exactly the given bytes, so reading past them
// is caught by sanitizers and by the Truncated checks.
DecodeStatus try_decode(std::initializer_list<uint8_t> bytes, CodeSize mode,
                        Instruction &insn) {
  std::vector<uint8_t> buffer(bytes);
  return decode(buffer.data(), static_cast<unsigned>(buffer.size()), mode,
                insn);
}

Instruction decode_ok(std::initializer_list<uint8_t> bytes, CodeSize mode) {
  Instruction insn;
  REQUIRE(try_decode(bytes, mode, insn) == DecodeStatus::Ok);
  return insn;
}

DecodeStatus status_of(std::initializer_list<uint8_t> bytes, CodeSize mode) {
  Instruction insn;
  return try_decode(bytes, mode, insn);
}

bool is_reg(const Operand &op, uint8_t reg, uint8_t size) {
  return op.kind == OperandKind::Reg && op.reg == reg && op.size == size;
}

} // namespace

TEST_CASE("decoder: prefixed LOCK ADD with 16-bit addressing in 32-bit code",
          "[decoder]") {
  // 66 67 F0 01 04 = lock add [si], ax; the trailing 4B is the next
  // instruction.
  Instruction insn = decode_ok({0x66, 0x67, 0xf0, 0x01, 0x04, 0x4b}, k32);
  CHECK(insn.op == Op::ADD);
  CHECK(insn.length == 5);
  CHECK(insn.opsize == 2);
  CHECK(insn.addrsize == 2);
  CHECK(insn.lock);
  CHECK(insn.operand_count == 2);
  CHECK(insn.operands[0].kind == OperandKind::Mem);
  CHECK(insn.operands[0].size == 2);
  CHECK(is_reg(insn.operands[1], RAX, 2));
  CHECK(insn.base == RSI);
  CHECK(insn.index == kNoReg);
  CHECK(insn.seg == DS);
  CHECK(insn.opcode == 0x01);
}

TEST_CASE("decoder: REX extensions and byte registers", "[decoder]") {
  // mov al, r12b
  Instruction rex_r = decode_ok({0x44, 0x88, 0xe0}, k64);
  CHECK(rex_r.rex == 0x44);
  CHECK(is_reg(rex_r.operands[0], RAX, 1));
  CHECK(is_reg(rex_r.operands[1], R12, 1));
  CHECK(rex_r.opsize == 1);

  // Without REX, register 4 of a byte form is AH; with any REX it is SPL.
  Instruction legacy = decode_ok({0x88, 0xe0}, k32);
  CHECK(legacy.operands[1].kind == OperandKind::RegHigh8);
  CHECK(legacy.operands[1].reg == 0);
  Instruction spl = decode_ok({0x40, 0x88, 0xe0}, k64);
  CHECK(is_reg(spl.operands[1], RSP, 1));

  // mov r9, [r10 + r11*4 + 8]
  Instruction sib = decode_ok({0x4f, 0x8b, 0x4c, 0x9a, 0x08}, k64);
  CHECK(is_reg(sib.operands[0], R9, 8));
  CHECK(sib.base == R10);
  CHECK(sib.index == R11);
  CHECK(sib.scale == 2);
  CHECK(sib.disp == 8);
  CHECK(sib.length == 5);

  // A REX prefix followed by a legacy prefix is ignored.
  Instruction stale_rex = decode_ok({0x48, 0x66, 0x89, 0xc0}, k64);
  CHECK(stale_rex.rex == 0);
  CHECK(stale_rex.opsize == 2);
}

TEST_CASE("decoder: memory operand forms", "[decoder]") {
  // mov rax, [rip + 0x10]
  Instruction rip = decode_ok({0x48, 0x8b, 0x05, 0x10, 0, 0, 0}, k64);
  CHECK(rip.base == kRip);
  CHECK(rip.disp == 0x10 + 7); // from the instruction's start
  CHECK(rip.length == 7);
  CHECK(rip.opsize == 8);
  CHECK(rip.addrsize == 8);

  // The same ModRM outside 64-bit mode is an absolute disp32.
  Instruction absolute = decode_ok({0x8b, 0x05, 0x10, 0, 0, 0}, k32);
  CHECK(absolute.base == kNoReg);

  // SIB without base and index: [disp32], not RIP-relative; REX.X adds r12.
  Instruction no_base =
      decode_ok({0x8b, 0x04, 0x25, 0x78, 0x56, 0x34, 0x12}, k64);
  CHECK(no_base.base == kNoReg);
  CHECK(no_base.index == kNoReg);
  CHECK(no_base.disp == 0x12345678);
  Instruction r12_index =
      decode_ok({0x42, 0x8b, 0x04, 0x25, 0x78, 0x56, 0x34, 0x12}, k64);
  CHECK(r12_index.index == R12);

  // 16-bit forms: [bp - 2] defaults to SS, an override wins; [bx + si];
  // mod 00 r/m 110 is a bare disp16.
  Instruction bp = decode_ok({0x8b, 0x46, 0xfe}, k16);
  CHECK(bp.base == RBP);
  CHECK(bp.disp == -2);
  CHECK(bp.seg == SS);
  CHECK(bp.addrsize == 2);
  CHECK(decode_ok({0x26, 0x8b, 0x46, 0xfe}, k16).seg == ES);
  Instruction bx_si = decode_ok({0x8b, 0x00}, k16);
  CHECK(bx_si.base == RBX);
  CHECK(bx_si.index == RSI);
  CHECK(bx_si.seg == DS);
  Instruction direct = decode_ok({0x8b, 0x06, 0x34, 0x12}, k16);
  CHECK(direct.base == kNoReg);
  CHECK(direct.disp == 0x1234);
  CHECK(direct.length == 4);

  // [rsp] defaults to SS; in 64-bit mode ES/CS/SS/DS overrides are
  // ignored, FS/GS apply.
  CHECK(decode_ok({0x8b, 0x04, 0x24}, k64).seg == SS);
  Instruction es = decode_ok({0x26, 0x8b, 0x00}, k64);
  CHECK(es.seg == DS);
  CHECK(es.segment_override == kNoSeg);
  Instruction fs = decode_ok({0x64, 0x8b, 0x00}, k64);
  CHECK(fs.seg == FS);
  CHECK(fs.segment_override == FS);
}

TEST_CASE("decoder: immediates", "[decoder]") {
  Instruction add = decode_ok({0x83, 0xc0, 0xff}, k32);
  CHECK(add.op == Op::ADD);
  CHECK(add.operands[1].kind == OperandKind::Imm);
  CHECK(add.imm == ~uint64_t{0});

  // Iz is four bytes sign-extended to 64 bits.
  Instruction add64 = decode_ok({0x48, 0x05, 0xff, 0xff, 0xff, 0x7f}, k64);
  CHECK(add64.length == 6);
  CHECK(add64.imm == 0x7fffffff);
  Instruction neg64 = decode_ok({0x48, 0x05, 0, 0, 0, 0x80}, k64);
  CHECK(neg64.imm == 0xffffffff80000000);

  Instruction mov64 = decode_ok(
      {0x48, 0xb8, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11}, k64);
  CHECK(mov64.length == 10);
  CHECK(mov64.imm == 0x1122334455667788);
  Instruction mov_r8d = decode_ok({0x41, 0xb8, 1, 0, 0, 0}, k64);
  CHECK(mov_r8d.length == 6);
  CHECK(is_reg(mov_r8d.operands[0], R8, 4));

  Instruction enter = decode_ok({0xc8, 0x10, 0x00, 0x01}, k32);
  CHECK(enter.op == Op::ENTER);
  CHECK(enter.imm == 0x10);
  CHECK(enter.imm2 == 1);

  Instruction far_jmp =
      decode_ok({0xea, 0x78, 0x56, 0x34, 0x12, 0x08, 0x00}, k32);
  CHECK(far_jmp.op == Op::JMP_FAR);
  CHECK(far_jmp.imm == 0x12345678);
  CHECK(far_jmp.imm2 == 8);
  CHECK(decode_ok({0xea, 0x00, 0x7c, 0x00, 0x00}, k16).length == 5);
}

TEST_CASE("decoder: moffs", "[decoder]") {
  Instruction wide = decode_ok(
      {0x48, 0xa1, 0xef, 0xcd, 0xab, 0x89, 0x67, 0x45, 0x23, 0x01}, k64);
  CHECK(wide.op == Op::MOV);
  CHECK(wide.length == 10);
  CHECK(wide.disp == 0x0123456789abcdef);
  CHECK(wide.base == kNoReg);
  CHECK(is_reg(wide.operands[0], RAX, 8));
  CHECK(wide.operands[1].kind == OperandKind::Mem);

  Instruction narrow = decode_ok({0x67, 0xa2, 0x44, 0x33, 0x22, 0x11}, k64);
  CHECK(narrow.length == 6);
  CHECK(narrow.addrsize == 4);
  CHECK(narrow.disp == 0x11223344);
  CHECK(narrow.opsize == 1);
}

TEST_CASE("decoder: branches and conditions", "[decoder]") {
  Instruction jcc = decode_ok({0x0f, 0x84, 0x10, 0, 0, 0}, k32);
  CHECK(jcc.op == Op::JCC);
  CHECK(jcc.cond == 4);
  CHECK(jcc.imm == 0x10);
  CHECK(jcc.length == 6);
  CHECK(jcc.opcode == 0x0f84);

  Instruction short_jmp = decode_ok({0xeb, 0xfe}, k64);
  CHECK(short_jmp.imm == ~uint64_t{1});
  CHECK(short_jmp.opsize == 8);

  // Intel processors ignore 66 on near branches in 64-bit mode.
  Instruction jmp = decode_ok({0x66, 0xe9, 1, 0, 0, 0}, k64);
  CHECK(jmp.length == 6);
  CHECK(jmp.opsize == 8);
  // Outside 64-bit mode 66 selects rel16.
  CHECK(decode_ok({0x66, 0xe9, 1, 0}, k32).length == 4);

  CHECK(decode_ok({0x0f, 0x4f, 0xc1}, k32).cond == 0xf); // cmovg
  CHECK(decode_ok({0x0f, 0x92, 0xc0}, k32).cond == 2);   // setb
}

TEST_CASE("decoder: stack and port operand sizes", "[decoder]") {
  CHECK(decode_ok({0x50}, k64).opsize == 8);
  CHECK(decode_ok({0x66, 0x50}, k64).opsize == 2);
  CHECK(decode_ok({0x50}, k32).opsize == 4);
  CHECK(is_reg(decode_ok({0x41, 0x50}, k64).operands[0], R8, 8));
  Instruction push_imm = decode_ok({0x6a, 0x80}, k64);
  CHECK(push_imm.imm == 0xffffffffffffff80);
  CHECK(push_imm.opsize == 8);
  // Port I/O stays at 32 bits with REX.W.
  CHECK(decode_ok({0x48, 0xe5, 0x10}, k64).opsize == 4);
  Instruction out = decode_ok({0xee}, k32);
  CHECK(out.op == Op::OUT);
  CHECK(out.opsize == 1);
  CHECK(is_reg(out.operands[0], RDX, 2));
}

TEST_CASE("decoder: multiplication forms", "[decoder]") {
  // imul ecx, [eax], 16: op0 = op1 * op2
  Instruction three = decode_ok({0x6b, 0x08, 0x10}, k32);
  CHECK(three.op == Op::IMUL);
  CHECK(three.operand_count == 3);
  CHECK(is_reg(three.operands[0], RCX, 4));
  CHECK(three.operands[1].kind == OperandKind::Mem);
  CHECK(three.imm == 0x10);
  // imul ecx, eax: the same shape, op2 naming the destination.
  Instruction two = decode_ok({0x0f, 0xaf, 0xc8}, k32);
  CHECK(two.operand_count == 3);
  CHECK(is_reg(two.operands[1], RAX, 4));
  CHECK(is_reg(two.operands[2], RCX, 4));
  Instruction one = decode_ok({0xf7, 0xe9}, k32);
  CHECK(one.op == Op::IMUL1);
  CHECK(one.operand_count == 1);
}

TEST_CASE("decoder: shifts", "[decoder]") {
  Instruction by_one = decode_ok({0xd1, 0xe0}, k32);
  CHECK(by_one.op == Op::SHL);
  CHECK(by_one.operands[1].kind == OperandKind::Imm);
  CHECK(by_one.imm == 1);
  Instruction by_cl = decode_ok({0xd3, 0xf8}, k32);
  CHECK(by_cl.op == Op::SAR);
  CHECK(is_reg(by_cl.operands[1], RCX, 1));
  Instruction by_imm = decode_ok({0xc0, 0xc8, 0x05}, k32);
  CHECK(by_imm.op == Op::ROR);
  CHECK(by_imm.opsize == 1);
  CHECK(by_imm.imm == 5);
}

TEST_CASE("decoder: string instructions", "[decoder]") {
  Instruction movsb = decode_ok({0xf3, 0xa4}, k32);
  CHECK(movsb.op == Op::MOVS);
  CHECK(movsb.rep == REP_Z);
  CHECK(movsb.opsize == 1);
  CHECK(decode_ok({0xf2, 0xf3, 0xa6}, k32).rep == REP_Z);
  CHECK(decode_ok({0xf3, 0xf2, 0xae}, k32).rep == REP_NZ);
  Instruction cs_movs = decode_ok({0x2e, 0xa5}, k32);
  CHECK(cs_movs.segment_override == CS);
  CHECK(cs_movs.seg == CS);
  CHECK(cs_movs.opsize == 4);
  CHECK(decode_ok({0x2e, 0xa5}, k64).segment_override == kNoSeg);
  CHECK(decode_ok({0x48, 0xa5}, k64).opsize == 8);
}

TEST_CASE("decoder: data movement forms", "[decoder]") {
  Instruction movzx = decode_ok({0x0f, 0xb6, 0xc1}, k32);
  CHECK(movzx.op == Op::MOVZX);
  CHECK(movzx.opsize == 4);
  CHECK(is_reg(movzx.operands[1], RCX, 1));

  Instruction movsxd = decode_ok({0x48, 0x63, 0xc1}, k64);
  CHECK(movsxd.op == Op::MOVSX);
  CHECK(movsxd.opsize == 8);
  CHECK(is_reg(movsxd.operands[1], RCX, 4));
  CHECK(decode_ok({0x63, 0xc1}, k32).op == Op::ARPL);

  CHECK(decode_ok({0x90}, k64).op == Op::NOP);
  CHECK(decode_ok({0x48, 0x90}, k64).op == Op::NOP);
  CHECK(decode_ok({0xf3, 0x90}, k32).op == Op::PAUSE);
  Instruction xchg = decode_ok({0x41, 0x90}, k64);
  CHECK(xchg.op == Op::XCHG);
  CHECK(is_reg(xchg.operands[0], R8, 4));
  CHECK(is_reg(xchg.operands[1], RAX, 4));

  Instruction lds = decode_ok({0xc5, 0x06, 0x00, 0x10}, k16);
  CHECK(lds.op == Op::LOAD_FAR_POINTER);
  CHECK(lds.aux == DS);
  CHECK(lds.operands[1].size == 4);
  Instruction lss = decode_ok({0x0f, 0xb2, 0x00}, k32);
  CHECK(lss.aux == SS);
  CHECK(lss.operands[1].size == 6);
  // C4/C5 with a register operand are VEX prefixes.
  CHECK(status_of({0xc5, 0xc0, 0x00}, k32) == DecodeStatus::Invalid);

  Instruction from_seg = decode_ok({0x8c, 0xd8}, k32);
  CHECK(from_seg.op == Op::MOV_SEG);
  CHECK(from_seg.operands[1].kind == OperandKind::Seg);
  CHECK(from_seg.operands[1].reg == DS);
  CHECK(status_of({0x8e, 0xc8}, k32) == DecodeStatus::Invalid); // mov cs, ax
}

TEST_CASE("decoder: LOCK rules", "[decoder]") {
  CHECK(status_of({0xf0, 0x01, 0xc0}, k32) == DecodeStatus::Invalid);
  CHECK(status_of({0xf0, 0x89, 0x00}, k32) == DecodeStatus::Invalid);
  CHECK(status_of({0xf0, 0x38, 0x00}, k32) == DecodeStatus::Invalid); // cmp
  CHECK(decode_ok({0xf0, 0x0f, 0xc7, 0x0e}, k32).lock);
  CHECK(decode_ok({0xf0, 0x0f, 0xba, 0x28, 0x03}, k32).op == Op::BTS);
  CHECK(status_of({0xf0, 0x0f, 0xba, 0x20, 0x03}, k32) ==
        DecodeStatus::Invalid); // bt
  CHECK(status_of({0xf0, 0x0f, 0x20, 0xc0}, k32) == DecodeStatus::Invalid);
}

TEST_CASE("decoder: length limit and truncation", "[decoder]") {
  std::vector<uint8_t> long_insn(14, 0x66);
  long_insn.push_back(0x01);
  long_insn.push_back(0xc0);
  Instruction insn;
  CHECK(decode(long_insn.data(), 16, k32, insn) == DecodeStatus::Invalid);
  CHECK(insn.length == 15);
  CHECK(insn.op == Op::UD);
  // Fifteen bytes exactly are fine.
  CHECK(decode(long_insn.data() + 1, 15, k32, insn) == DecodeStatus::Ok);
  CHECK(insn.length == 15);

  CHECK(status_of({0xb8, 0x01, 0x02}, k32) == DecodeStatus::Truncated);
  CHECK(status_of({0x0f}, k32) == DecodeStatus::Truncated);
  CHECK(status_of({0x66, 0x67}, k32) == DecodeStatus::Truncated);
  CHECK(status_of({0x8b, 0x84, 0x24, 0x00}, k32) == DecodeStatus::Truncated);
  // Before all 15 bytes are available, an over-long prefix run is only
  // known to need more bytes.
  CHECK(decode(long_insn.data(), 10, k32, insn) == DecodeStatus::Truncated);
}

TEST_CASE("decoder: mode-restricted opcodes", "[decoder]") {
  for (uint8_t opcode :
       {0x06, 0x07, 0x0e, 0x16, 0x17, 0x1e, 0x1f, 0x27, 0x2f, 0x37, 0x3f, 0x60,
        0x61, 0x62, 0x82, 0x9a, 0xc4, 0xc5, 0xce, 0xd4, 0xd5, 0xd6, 0xea}) {
    INFO("opcode " << int(opcode));
    std::vector<uint8_t> bytes = {opcode, 0x00, 0x00, 0x00,
                                  0x00,   0x00, 0x00, 0x00};
    Instruction insn;
    CHECK(decode(bytes.data(), 8, k64, insn) == DecodeStatus::Invalid);
    CHECK(decode(bytes.data(), 8, k32, insn) == DecodeStatus::Ok);
  }
  CHECK(decode_ok({0x40}, k32).op == Op::INC);
  Instruction rex_nop = decode_ok({0x40, 0x90}, k64);
  CHECK(rex_nop.op == Op::NOP);
  CHECK(rex_nop.length == 2);
  CHECK(decode_ok({0xd6}, k32).op == Op::SALC);
  CHECK(decode_ok({0xf1}, k64).op == Op::INT1);
  CHECK(decode_ok({0x0f, 0x01, 0xf8}, k64).op == Op::SWAPGS);
  CHECK(status_of({0x0f, 0x01, 0xf8}, k32) == DecodeStatus::Invalid);
}

TEST_CASE("decoder: system instructions", "[decoder]") {
  Instruction read_cr0 = decode_ok({0x0f, 0x20, 0xc0}, k32);
  CHECK(read_cr0.op == Op::MOV_CR);
  CHECK(read_cr0.aux == 0);
  CHECK(is_reg(read_cr0.operands[0], RAX, 4));
  CHECK(read_cr0.operands[1].kind == OperandKind::Cr);
  Instruction write_cr3 = decode_ok({0x0f, 0x22, 0xd8}, k32);
  CHECK(write_cr3.aux == 1);
  CHECK(write_cr3.operands[0].reg == 3);
  Instruction cr8 = decode_ok({0x44, 0x0f, 0x20, 0xc0}, k64);
  CHECK(cr8.operands[1].reg == 8);
  CHECK(is_reg(cr8.operands[0], RAX, 8));
  CHECK(status_of({0x0f, 0x20, 0xc8}, k32) == DecodeStatus::Invalid); // cr1
  CHECK(decode_ok({0x0f, 0x23, 0xf8}, k32).op == Op::MOV_DR);

  Instruction lgdt = decode_ok({0x0f, 0x01, 0x10}, k64);
  CHECK(lgdt.op == Op::LGDT);
  CHECK(lgdt.operands[0].size == 10);
  CHECK(decode_ok({0x0f, 0x01, 0x10}, k32).operands[0].size == 6);
  CHECK(decode_ok({0x0f, 0x01, 0xf9}, k32).op == Op::RDTSCP);
  CHECK(decode_ok({0x0f, 0x01, 0xd0}, k32).op == Op::XGETBV);
  CHECK(decode_ok({0x0f, 0x01, 0x38}, k32).op == Op::INVLPG);
  CHECK(decode_ok({0x0f, 0x01, 0xe0}, k32).op == Op::SMSW);
  CHECK(decode_ok({0x0f, 0x00, 0xd8}, k32).op == Op::LTR);

  CHECK(decode_ok({0x0f, 0xae, 0xe8}, k32).op == Op::FENCE);
  CHECK(decode_ok({0x0f, 0xae, 0x38}, k32).op == Op::CLFLUSH);
  Instruction fxsave = decode_ok({0x0f, 0xae, 0x00}, k32);
  CHECK(fxsave.op == Op::SIMD);
  CHECK(fxsave.operands[0].kind == OperandKind::Mem);
  Instruction rdfsbase = decode_ok({0xf3, 0x48, 0x0f, 0xae, 0xc0}, k64);
  CHECK(rdfsbase.op == Op::RDFSBASE);
  CHECK(rdfsbase.aux == 0);
  CHECK(is_reg(rdfsbase.operands[0], RAX, 8));
  Instruction wrgsbase = decode_ok({0xf3, 0x0f, 0xae, 0xd8}, k64);
  CHECK(wrgsbase.op == Op::WRFSBASE);
  CHECK(wrgsbase.aux == 1);
  CHECK(status_of({0xf3, 0x0f, 0xae, 0xc0}, k32) == DecodeStatus::Invalid);

  Instruction cmpxchg8b = decode_ok({0x0f, 0xc7, 0x08}, k32);
  CHECK(cmpxchg8b.op == Op::CMPXCHG8B);
  CHECK(cmpxchg8b.operands[0].size == 8);
  CHECK(decode_ok({0x48, 0x0f, 0xc7, 0x08}, k64).operands[0].size == 16);
  CHECK(decode_ok({0x0f, 0xc7, 0xf0}, k32).op == Op::RDRAND);
  CHECK(decode_ok({0x0f, 0xc7, 0xf8}, k32).op == Op::RDSEED);

  CHECK(decode_ok({0xf3, 0x0f, 0xb8, 0xc1}, k32).op == Op::POPCNT);
  CHECK(status_of({0x0f, 0xb8, 0xc1}, k32) == DecodeStatus::Invalid);
  CHECK(decode_ok({0xf3, 0x0f, 0xbc, 0xc1}, k32).op == Op::TZCNT);
  CHECK(decode_ok({0x0f, 0xbc, 0xc1}, k32).op == Op::BSF);
  CHECK(decode_ok({0x66, 0xf3, 0x0f, 0xbd, 0xc1}, k32).opsize == 2);
  CHECK(decode_ok({0x0f, 0x38, 0xf0, 0x01}, k32).op == Op::MOVBE);
  CHECK(decode_ok({0x66, 0x0f, 0x38, 0x82, 0x01}, k64).op == Op::INVPCID);
  CHECK(decode_ok({0x0f, 0x18, 0x08}, k32).op == Op::PREFETCH);
  CHECK(decode_ok({0x0f, 0x1f, 0x44, 0x00, 0x00}, k64).op == Op::NOP);

  Instruction ud2 = decode_ok({0x0f, 0x0b}, k32);
  CHECK(ud2.op == Op::UD);
  CHECK(ud2.length == 2);
  CHECK(decode_ok({0x0f, 0xb9, 0xc0}, k32).length == 3);
}

TEST_CASE("decoder: x87 and SIMD families", "[decoder]") {
  Instruction fnsave = decode_ok({0xdd, 0x30}, k32);
  CHECK(fnsave.op == Op::X87);
  CHECK(fnsave.operands[0].size == 108);
  CHECK(decode_ok({0x66, 0xdd, 0x30}, k32).operands[0].size == 94);
  CHECK(decode_ok({0xdb, 0x28}, k32).operands[0].size == 10);
  Instruction fadd = decode_ok({0xd8, 0xc1}, k32);
  CHECK(fadd.operands[0].kind == OperandKind::St);
  CHECK(fadd.operands[0].reg == 1);
  CHECK(status_of({0xd9, 0xd1}, k32) == DecodeStatus::Invalid);
  CHECK(status_of({0xd9, 0x08}, k32) == DecodeStatus::Invalid);

  Instruction pshufd = decode_ok({0x66, 0x0f, 0x70, 0xc1, 0x05}, k32);
  CHECK(pshufd.op == Op::SIMD);
  CHECK(pshufd.mandatory_prefix == 0x66);
  CHECK(pshufd.opcode == 0x0f70);
  CHECK(pshufd.imm == 5);
  CHECK(pshufd.length == 5);
  CHECK(pshufd.operands[0].kind == OperandKind::Xmm);
  Instruction pshufw = decode_ok({0x0f, 0x70, 0xc1, 0x05}, k32);
  CHECK(pshufw.operands[0].kind == OperandKind::Mmx);
  CHECK(pshufw.mandatory_prefix == 0);
  Instruction movss = decode_ok({0xf3, 0x44, 0x0f, 0x10, 0x00}, k64);
  CHECK(movss.mandatory_prefix == 0xf3);
  CHECK(movss.rep == REP_NONE);
  CHECK(movss.operands[0].reg == 8);
  CHECK(decode_ok({0x66, 0x0f, 0x38, 0x00, 0xc1}, k32).opcode == 0x0f3800);
  Instruction palignr = decode_ok({0x66, 0x0f, 0x3a, 0x0f, 0xc1, 0x08}, k32);
  CHECK(palignr.opcode == 0x0f3a0f);
  CHECK(palignr.length == 6);
  CHECK(palignr.imm == 8);
}

TEST_CASE("decoder: op names and block ends", "[decoder]") {
  CHECK(std::string(op_name(Op::ADD)) == "ADD");
  CHECK(std::string(op_name(Op::LOAD_FAR_POINTER)) == "LOAD_FAR_POINTER");
  CHECK(op_ends_block(Op::JMP));
  CHECK(op_ends_block(Op::MOV_CR));
  CHECK_FALSE(op_ends_block(Op::ADD));
  CHECK_FALSE(op_ends_block(Op::PUSH));
}

TEST_CASE("decoder: a prefix of a valid encoding is Truncated", "[decoder]") {
  // For random encodings that decode, every shorter `available` must ask
  // for more bytes, whatever follows in the buffer, and the full length
  // must give the same result as a longer buffer.
  std::mt19937 random(0x5ab1e);
  static constexpr uint8_t kPrefixes[] = {0x66, 0x67, 0xf2, 0xf3, 0x2e,
                                          0x64, 0xf0, 0x48, 0x41, 0x0f};
  int checked = 0;
  for (int i = 0; i < 20000; ++i) {
    CodeSize mode = i % 3 == 0 ? k16 : i % 3 == 1 ? k32 : k64;
    uint8_t bytes[24];
    unsigned prefixes = random() % 4;
    for (unsigned j = 0; j < sizeof(bytes); ++j)
      bytes[j] = j < prefixes ? kPrefixes[random() % sizeof(kPrefixes)]
                              : static_cast<uint8_t>(random());
    Instruction full;
    if (decode(bytes, sizeof(bytes), mode, full) != DecodeStatus::Ok)
      continue;
    ++checked;
    for (unsigned available = 0; available < full.length; ++available) {
      uint8_t partial[24];
      for (unsigned j = 0; j < sizeof(partial); ++j)
        partial[j] = j < available ? bytes[j] : static_cast<uint8_t>(~j);
      Instruction insn;
      if (decode(partial, available, mode, insn) != DecodeStatus::Truncated)
        FAIL("not Truncated at " << available << " of " << int(full.length)
                                 << " bytes, opcode " << full.opcode);
    }
    Instruction exact;
    REQUIRE(decode(bytes, full.length, mode, exact) == DecodeStatus::Ok);
    REQUIRE(exact.length == full.length);
    REQUIRE(exact.op == full.op);
    REQUIRE(exact.imm == full.imm);
    REQUIRE(exact.disp == full.disp);
  }
  CHECK(checked > 5000);
}
