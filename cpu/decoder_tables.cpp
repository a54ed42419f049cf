// The instruction forms of the one-byte, 0F, 0F 38 and 0F 3A maps (Intel
// SDM Vol. 2, Appendix A opcode maps), one row per encoding. Rows of one
// opcode are adjacent and tried in order: the first whose ModRM, prefix
// and mode constraints hold wins.

#include "cpu/decoder_tables.h"

#include <array>
#include <cstddef>

namespace sable::cpu::decoding {
namespace {

using enum Spec;
using O = Op;

constexpr bool uses_modrm(Spec spec) {
  return spec != None && spec <= kLastModRmSpec;
}

// Byte forms: the destination (or OUT's source) is a byte register.
constexpr bool is_byte_register(Spec spec) {
  return spec == Eb || spec == Gb || spec == Zb || spec == AL || spec == Ob;
}

constexpr Form form(uint8_t map, uint8_t opcode, Op op, Spec a, Spec b,
                    Spec c) {
  Form f;
  f.map = map;
  f.first = opcode;
  f.last = opcode;
  f.op = op;
  f.operands[0] = a;
  f.operands[1] = b;
  f.operands[2] = c;
  f.modrm = uses_modrm(a) || uses_modrm(b) || uses_modrm(c);
  if (is_byte_register(a) || b == AL)
    f.flags |= kByteOp;
  return f;
}

constexpr Form one(uint8_t opcode, Op op, Spec a = None, Spec b = None,
                   Spec c = None) {
  return form(kMapOneByte, opcode, op, a, b, c);
}
constexpr Form two(uint8_t opcode, Op op, Spec a = None, Spec b = None,
                   Spec c = None) {
  return form(kMap0F, opcode, op, a, b, c);
}
// SIMD forms: the mandatory prefix picks the instruction, Op::SIMD for all.
constexpr Form sse(uint8_t opcode, uint8_t prefixes, Spec a = Vx, Spec b = Wx,
                   Spec c = None) {
  return form(kMap0F, opcode, Op::SIMD, a, b, c).pfx(prefixes);
}
// MMX when unprefixed, SSE2 with 66.
constexpr Form mmx_sse(uint8_t opcode, Spec a = Vx, Spec b = Wx,
                       Spec c = None) {
  return sse(opcode, kPfxNoRep, a, b, c).with(kMmxUnprefixed);
}
constexpr Form sse38(uint8_t opcode, uint8_t prefixes) {
  return form(kMap0F38, opcode, Op::SIMD, Vx, Wx, None).pfx(prefixes);
}
constexpr Form sse3a(uint8_t opcode, uint8_t prefixes) {
  return form(kMap0F3A, opcode, Op::SIMD, Vx, Wx, Ib).pfx(prefixes);
}

constexpr uint8_t kNP = kPfxNone;
constexpr uint8_t k66 = kPfx66;
constexpr uint8_t kF3 = kPfxF3;
constexpr uint8_t kF2 = kPfxF2;
constexpr uint8_t kAll = kPfxAny;
constexpr uint8_t kNP66 = kPfxNoRep;

// ADD..CMP share one layout at 00..3D and in the 80..83 groups.
constexpr Op kAluOps[8] = {O::ADD, O::OR,  O::ADC, O::SBB,
                           O::AND, O::SUB, O::XOR, O::CMP};
// Shift group /6 is an undocumented alias of /4 (SAL = SHL) that
// processors execute.
constexpr Op kShiftOps[8] = {O::ROL, O::ROR, O::RCL, O::RCR,
                             O::SHL, O::SHR, O::SHL, O::SAR};

constexpr Form alu(int row, int column) {
  constexpr Spec kLayouts[6][2] = {{Eb, Gb}, {Ev, Gv}, {Gb, Eb},
                                   {Gv, Ev}, {AL, Ib}, {rAX, Iz}};
  Op op = kAluOps[row];
  Form f = one(static_cast<uint8_t>(row * 8 + column), op, kLayouts[column][0],
               kLayouts[column][1]);
  return column < 2 && op != O::CMP ? f.with(kLockable) : f;
}

constexpr Form alu_group(uint8_t opcode, int reg, Spec dst, Spec src) {
  Form f = one(opcode, kAluOps[reg], dst, src).group(static_cast<uint8_t>(reg));
  return kAluOps[reg] != O::CMP ? f.with(kLockable) : f;
}

constexpr Form shift_group(uint8_t opcode, int reg, Spec dst, Spec count) {
  return one(opcode, kShiftOps[reg], dst, count)
      .group(static_cast<uint8_t>(reg));
}

} // namespace

// clang-format off
constexpr Form kForms[] = {
  // 00..3F: arithmetic rows, segment pushes/pops, BCD adjusts.
  alu(0, 0), alu(0, 1), alu(0, 2), alu(0, 3), alu(0, 4), alu(0, 5),
  one(0x06, O::PUSH, SegES).with(kNo64),
  one(0x07, O::POP, SegES).with(kNo64),
  alu(1, 0), alu(1, 1), alu(1, 2), alu(1, 3), alu(1, 4), alu(1, 5),
  one(0x0e, O::PUSH, SegCS).with(kNo64),
  alu(2, 0), alu(2, 1), alu(2, 2), alu(2, 3), alu(2, 4), alu(2, 5),
  one(0x16, O::PUSH, SegSS).with(kNo64),
  one(0x17, O::POP, SegSS).with(kNo64),
  alu(3, 0), alu(3, 1), alu(3, 2), alu(3, 3), alu(3, 4), alu(3, 5),
  one(0x1e, O::PUSH, SegDS).with(kNo64),
  one(0x1f, O::POP, SegDS).with(kNo64),
  alu(4, 0), alu(4, 1), alu(4, 2), alu(4, 3), alu(4, 4), alu(4, 5),
  one(0x27, O::DAA).with(kNo64),
  alu(5, 0), alu(5, 1), alu(5, 2), alu(5, 3), alu(5, 4), alu(5, 5),
  one(0x2f, O::DAS).with(kNo64),
  alu(6, 0), alu(6, 1), alu(6, 2), alu(6, 3), alu(6, 4), alu(6, 5),
  one(0x37, O::AAA).with(kNo64),
  alu(7, 0), alu(7, 1), alu(7, 2), alu(7, 3), alu(7, 4), alu(7, 5),
  one(0x3f, O::AAS).with(kNo64),

  // 40..5F (40..4F are REX prefixes in 64-bit mode).
  one(0x40, O::INC, Zv).to(0x47).with(kNo64),
  one(0x48, O::DEC, Zv).to(0x4f).with(kNo64),
  one(0x50, O::PUSH, Zv).to(0x57).with(kDefault64),
  one(0x58, O::POP, Zv).to(0x5f).with(kDefault64),

  // 60..6F
  one(0x60, O::PUSHA).with(kNo64),
  one(0x61, O::POPA).with(kNo64),
  // 62 with a register operand is EVEX, and in 64-bit mode always.
  one(0x62, O::BOUND, Gv, Ma).with(kNo64),
  one(0x63, O::ARPL, Ew, Gw).with(kNo64),
  one(0x63, O::MOVSX, Gv, Ez).with(kOnly64),
  one(0x68, O::PUSH, Iz).with(kDefault64),
  one(0x69, O::IMUL, Gv, Ev, Iz),
  one(0x6a, O::PUSH, Ibs).with(kDefault64),
  one(0x6b, O::IMUL, Gv, Ev, Ibs),
  one(0x6c, O::INS).with(kByteOp),
  one(0x6d, O::INS).with(kCap32),
  one(0x6e, O::OUTS).with(kByteOp),
  one(0x6f, O::OUTS).with(kCap32),

  one(0x70, O::JCC, Jb).to(0x7f).with(kCond | kForce64),

  // 80..8F
  alu_group(0x80, 0, Eb, Ib), alu_group(0x80, 1, Eb, Ib),
  alu_group(0x80, 2, Eb, Ib), alu_group(0x80, 3, Eb, Ib),
  alu_group(0x80, 4, Eb, Ib), alu_group(0x80, 5, Eb, Ib),
  alu_group(0x80, 6, Eb, Ib), alu_group(0x80, 7, Eb, Ib),
  alu_group(0x81, 0, Ev, Iz), alu_group(0x81, 1, Ev, Iz),
  alu_group(0x81, 2, Ev, Iz), alu_group(0x81, 3, Ev, Iz),
  alu_group(0x81, 4, Ev, Iz), alu_group(0x81, 5, Ev, Iz),
  alu_group(0x81, 6, Ev, Iz), alu_group(0x81, 7, Ev, Iz),
  // 82 is an alias of 80 outside 64-bit mode.
  alu_group(0x82, 0, Eb, Ib).with(kNo64), alu_group(0x82, 1, Eb, Ib).with(kNo64),
  alu_group(0x82, 2, Eb, Ib).with(kNo64), alu_group(0x82, 3, Eb, Ib).with(kNo64),
  alu_group(0x82, 4, Eb, Ib).with(kNo64), alu_group(0x82, 5, Eb, Ib).with(kNo64),
  alu_group(0x82, 6, Eb, Ib).with(kNo64), alu_group(0x82, 7, Eb, Ib).with(kNo64),
  alu_group(0x83, 0, Ev, Ibs), alu_group(0x83, 1, Ev, Ibs),
  alu_group(0x83, 2, Ev, Ibs), alu_group(0x83, 3, Ev, Ibs),
  alu_group(0x83, 4, Ev, Ibs), alu_group(0x83, 5, Ev, Ibs),
  alu_group(0x83, 6, Ev, Ibs), alu_group(0x83, 7, Ev, Ibs),
  one(0x84, O::TEST, Eb, Gb),
  one(0x85, O::TEST, Ev, Gv),
  one(0x86, O::XCHG, Eb, Gb).with(kLockable),
  one(0x87, O::XCHG, Ev, Gv).with(kLockable),
  one(0x88, O::MOV, Eb, Gb),
  one(0x89, O::MOV, Ev, Gv),
  one(0x8a, O::MOV, Gb, Eb),
  one(0x8b, O::MOV, Gv, Ev),
  one(0x8c, O::MOV_SEG, EvMw, Sw),
  one(0x8d, O::LEA, Gv, M),
  one(0x8e, O::MOV_SEG, Sw, EvMw),
  // 8F /1..7 is AMD's XOP escape, which sable does not implement.
  one(0x8f, O::POP, Ev).group(0).with(kDefault64),

  // 90..9F
  one(0x90, O::PAUSE).pfx(kF3).with(kNoRexB),
  one(0x90, O::NOP).with(kNoRexB),
  one(0x90, O::XCHG, Zv, rAX).to(0x97),
  one(0x98, O::CBW),
  one(0x99, O::CWD),
  one(0x9a, O::CALL_FAR, Ap).with(kNo64),
  one(0x9b, O::X87),
  one(0x9c, O::PUSHF).with(kDefault64),
  one(0x9d, O::POPF).with(kDefault64),
  one(0x9e, O::SAHF),
  one(0x9f, O::LAHF),

  // A0..AF
  one(0xa0, O::MOV, AL, Ob),
  one(0xa1, O::MOV, rAX, Ov),
  one(0xa2, O::MOV, Ob, AL),
  one(0xa3, O::MOV, Ov, rAX),
  one(0xa4, O::MOVS).with(kByteOp),
  one(0xa5, O::MOVS),
  one(0xa6, O::CMPS).with(kByteOp),
  one(0xa7, O::CMPS),
  one(0xa8, O::TEST, AL, Ib),
  one(0xa9, O::TEST, rAX, Iz),
  one(0xaa, O::STOS).with(kByteOp),
  one(0xab, O::STOS),
  one(0xac, O::LODS).with(kByteOp),
  one(0xad, O::LODS),
  one(0xae, O::SCAS).with(kByteOp),
  one(0xaf, O::SCAS),

  // B0..BF
  one(0xb0, O::MOV, Zb, Ib).to(0xb7),
  one(0xb8, O::MOV, Zv, Iv).to(0xbf),

  // C0..CF
  shift_group(0xc0, 0, Eb, Ib), shift_group(0xc0, 1, Eb, Ib),
  shift_group(0xc0, 2, Eb, Ib), shift_group(0xc0, 3, Eb, Ib),
  shift_group(0xc0, 4, Eb, Ib), shift_group(0xc0, 5, Eb, Ib),
  shift_group(0xc0, 6, Eb, Ib), shift_group(0xc0, 7, Eb, Ib),
  shift_group(0xc1, 0, Ev, Ib), shift_group(0xc1, 1, Ev, Ib),
  shift_group(0xc1, 2, Ev, Ib), shift_group(0xc1, 3, Ev, Ib),
  shift_group(0xc1, 4, Ev, Ib), shift_group(0xc1, 5, Ev, Ib),
  shift_group(0xc1, 6, Ev, Ib), shift_group(0xc1, 7, Ev, Ib),
  one(0xc2, O::RET, Iw).with(kForce64),
  one(0xc3, O::RET).with(kForce64),
  // C4/C5 with a register operand are VEX prefixes (not implemented).
  one(0xc4, O::LOAD_FAR_POINTER, Gv, Mp).aux_is(ES).with(kNo64),
  one(0xc5, O::LOAD_FAR_POINTER, Gv, Mp).aux_is(DS).with(kNo64),
  one(0xc6, O::MOV, Eb, Ib).group(0),
  one(0xc7, O::MOV, Ev, Iz).group(0),
  one(0xc8, O::ENTER, Iw, Ib2).with(kDefault64),
  one(0xc9, O::LEAVE).with(kDefault64),
  one(0xca, O::RETF, Iw),
  one(0xcb, O::RETF),
  one(0xcc, O::INT3),
  one(0xcd, O::INT, Ib),
  one(0xce, O::INTO).with(kNo64),
  one(0xcf, O::IRET),

  // D0..DF
  shift_group(0xd0, 0, Eb, One), shift_group(0xd0, 1, Eb, One),
  shift_group(0xd0, 2, Eb, One), shift_group(0xd0, 3, Eb, One),
  shift_group(0xd0, 4, Eb, One), shift_group(0xd0, 5, Eb, One),
  shift_group(0xd0, 6, Eb, One), shift_group(0xd0, 7, Eb, One),
  shift_group(0xd1, 0, Ev, One), shift_group(0xd1, 1, Ev, One),
  shift_group(0xd1, 2, Ev, One), shift_group(0xd1, 3, Ev, One),
  shift_group(0xd1, 4, Ev, One), shift_group(0xd1, 5, Ev, One),
  shift_group(0xd1, 6, Ev, One), shift_group(0xd1, 7, Ev, One),
  shift_group(0xd2, 0, Eb, CL), shift_group(0xd2, 1, Eb, CL),
  shift_group(0xd2, 2, Eb, CL), shift_group(0xd2, 3, Eb, CL),
  shift_group(0xd2, 4, Eb, CL), shift_group(0xd2, 5, Eb, CL),
  shift_group(0xd2, 6, Eb, CL), shift_group(0xd2, 7, Eb, CL),
  shift_group(0xd3, 0, Ev, CL), shift_group(0xd3, 1, Ev, CL),
  shift_group(0xd3, 2, Ev, CL), shift_group(0xd3, 3, Ev, CL),
  shift_group(0xd3, 4, Ev, CL), shift_group(0xd3, 5, Ev, CL),
  shift_group(0xd3, 6, Ev, CL), shift_group(0xd3, 7, Ev, CL),
  one(0xd4, O::AAM, Ib).with(kNo64),
  one(0xd5, O::AAD, Ib).with(kNo64),
  one(0xd6, O::SALC).with(kNo64),
  one(0xd7, O::XLAT).with(kByteOp),
  one(0xd8, O::X87, X87).to(0xdf),

  // E0..EF
  one(0xe0, O::LOOPNE, Jb).with(kForce64),
  one(0xe1, O::LOOPE, Jb).with(kForce64),
  one(0xe2, O::LOOP, Jb).with(kForce64),
  one(0xe3, O::JCXZ, Jb).with(kForce64),
  one(0xe4, O::IN, AL, Ib),
  one(0xe5, O::IN, rAX, Ib).with(kCap32),
  one(0xe6, O::OUT, Ib, AL),
  one(0xe7, O::OUT, Ib, rAX).with(kCap32),
  one(0xe8, O::CALL, Jz).with(kForce64),
  one(0xe9, O::JMP, Jz).with(kForce64),
  one(0xea, O::JMP_FAR, Ap).with(kNo64),
  one(0xeb, O::JMP, Jb).with(kForce64),
  one(0xec, O::IN, AL, DX),
  one(0xed, O::IN, rAX, DX).with(kCap32),
  one(0xee, O::OUT, DX, AL),
  one(0xef, O::OUT, DX, rAX).with(kCap32),

  // F0..FF (F0, F2, F3 are prefixes)
  one(0xf1, O::INT1),
  one(0xf4, O::HLT),
  one(0xf5, O::CMC),
  one(0xf6, O::TEST, Eb, Ib).group(0),
  // /1 is an undocumented alias of /0 that processors execute as TEST.
  one(0xf6, O::TEST, Eb, Ib).group(1),
  one(0xf6, O::NOT, Eb).group(2).with(kLockable),
  one(0xf6, O::NEG, Eb).group(3).with(kLockable),
  one(0xf6, O::MUL, Eb).group(4),
  one(0xf6, O::IMUL1, Eb).group(5),
  one(0xf6, O::DIV, Eb).group(6),
  one(0xf6, O::IDIV, Eb).group(7),
  one(0xf7, O::TEST, Ev, Iz).group(0),
  one(0xf7, O::TEST, Ev, Iz).group(1),
  one(0xf7, O::NOT, Ev).group(2).with(kLockable),
  one(0xf7, O::NEG, Ev).group(3).with(kLockable),
  one(0xf7, O::MUL, Ev).group(4),
  one(0xf7, O::IMUL1, Ev).group(5),
  one(0xf7, O::DIV, Ev).group(6),
  one(0xf7, O::IDIV, Ev).group(7),
  one(0xf8, O::CLC),
  one(0xf9, O::STC),
  one(0xfa, O::CLI),
  one(0xfb, O::STI),
  one(0xfc, O::CLD),
  one(0xfd, O::STD),
  one(0xfe, O::INC, Eb).group(0).with(kLockable),
  one(0xfe, O::DEC, Eb).group(1).with(kLockable),
  one(0xff, O::INC, Ev).group(0).with(kLockable),
  one(0xff, O::DEC, Ev).group(1).with(kLockable),
  one(0xff, O::CALL_INDIRECT, Ev).group(2).with(kForce64),
  one(0xff, O::CALL_FAR_INDIRECT, Mp).group(3),
  one(0xff, O::JMP_INDIRECT, Ev).group(4).with(kForce64),
  one(0xff, O::JMP_FAR_INDIRECT, Mp).group(5),
  one(0xff, O::PUSH, Ev).group(6).with(kDefault64),

  // 0F 00..0F: system group 6 and 7, segment-limit loads, fast calls.
  two(0x00, O::SLDT, EvMw).group(0),
  two(0x00, O::STR, EvMw).group(1),
  two(0x00, O::LLDT, Ew).group(2),
  two(0x00, O::LTR, Ew).group(3),
  two(0x00, O::VERR, Ew).group(4),
  two(0x00, O::VERW, Ew).group(5),
  two(0x01, O::SGDT, Ms).group(0).mem(),
  two(0x01, O::MONITOR).group(1).rm_is(0),
  two(0x01, O::MWAIT).group(1).rm_is(1),
  two(0x01, O::CLAC).group(1).rm_is(2),
  two(0x01, O::STAC).group(1).rm_is(3),
  two(0x01, O::SIDT, Ms).group(1).mem(),
  two(0x01, O::XGETBV).group(2).rm_is(0),
  two(0x01, O::XSETBV).group(2).rm_is(1),
  two(0x01, O::LGDT, Ms).group(2).mem().with(kDefault64),
  two(0x01, O::LIDT, Ms).group(3).mem().with(kDefault64),
  two(0x01, O::SMSW, EvMw).group(4),
  two(0x01, O::LMSW, Ew).group(6),
  two(0x01, O::SWAPGS).group(7).rm_is(0).with(kOnly64),
  two(0x01, O::RDTSCP).group(7).rm_is(1),
  two(0x01, O::INVLPG, M).group(7).mem(),
  two(0x02, O::LAR, Gv, EzMw),
  two(0x03, O::LSL, Gv, EzMw),
  // SYSCALL/SYSRET are #UD outside 64-bit mode on Intel processors.
  two(0x05, O::SYSCALL).with(kOnly64),
  two(0x06, O::CLTS),
  two(0x07, O::SYSRET).with(kOnly64),
  two(0x08, O::INVD),
  two(0x09, O::WBINVD),
  two(0x0b, O::UD),
  two(0x0d, O::PREFETCH, Mb).mem(),

  // 0F 10..1F
  sse(0x10, kAll), sse(0x11, kAll, Wx, Vx),
  sse(0x12, kNP | kF3 | kF2), sse(0x12, k66, Vx, Mq).mem(),
  sse(0x13, kNP66, Mq, Vx).mem(),
  sse(0x14, kNP66), sse(0x15, kNP66),
  sse(0x16, kNP | kF3), sse(0x16, k66, Vx, Mq).mem(),
  sse(0x17, kNP66, Mq, Vx).mem(),
  two(0x18, O::PREFETCH, Mb).group(0).mem(),
  two(0x18, O::PREFETCH, Mb).group(1).mem(),
  two(0x18, O::PREFETCH, Mb).group(2).mem(),
  two(0x18, O::PREFETCH, Mb).group(3).mem(),
  // The rest of 0F 18..1F is the reserved hint-NOP space (NOP Ev).
  two(0x18, O::NOP, Ev).to(0x1f),

  // 0F 20..2F
  two(0x20, O::MOV_CR, Rmode, Cd).with(kModIsReg | kCrNumber).aux_is(0),
  two(0x21, O::MOV_DR, Rmode, Dd).with(kModIsReg | kDrNumber).aux_is(0),
  two(0x22, O::MOV_CR, Cd, Rmode).with(kModIsReg | kCrNumber).aux_is(1),
  two(0x23, O::MOV_DR, Dd, Rmode).with(kModIsReg | kDrNumber).aux_is(1),
  sse(0x28, kNP66), sse(0x29, kNP66, Wx, Vx),
  sse(0x2a, kNP66, Vx, Qq), sse(0x2a, kF3 | kF2, Vx, Ey),
  sse(0x2b, kNP66, Mdq, Vx).mem(),
  sse(0x2c, kNP66, Pq, Wx), sse(0x2c, kF3 | kF2, Gy, Wx),
  sse(0x2d, kNP66, Pq, Wx), sse(0x2d, kF3 | kF2, Gy, Wx),
  sse(0x2e, kNP66), sse(0x2f, kNP66),

  // 0F 30..3F
  two(0x30, O::WRMSR),
  two(0x31, O::RDTSC),
  two(0x32, O::RDMSR),
  two(0x33, O::RDPMC),
  two(0x34, O::SYSENTER),
  two(0x35, O::SYSEXIT),

  // 0F 40..4F
  two(0x40, O::CMOVCC, Gv, Ev).to(0x4f).with(kCond),

  // 0F 50..5F
  sse(0x50, kNP66, Gd, Ux),
  sse(0x51, kAll),
  sse(0x52, kNP | kF3), sse(0x53, kNP | kF3),
  sse(0x54, kNP66).to(0x57),
  sse(0x58, kAll).to(0x5a),
  sse(0x5b, kNP66 | kF3),
  sse(0x5c, kAll).to(0x5f),

  // 0F 60..7F
  mmx_sse(0x60).to(0x6b),
  sse(0x6c, k66).to(0x6d),
  mmx_sse(0x6e, Vx, Ey),
  mmx_sse(0x6f), sse(0x6f, kF3),
  mmx_sse(0x70, Vx, Wx, Ib), sse(0x70, kF3 | kF2, Vx, Wx, Ib),
  // Shift-by-immediate groups 12..14: register operand only.
  mmx_sse(0x71, Ux, Ib).group(2).reg_only(),
  mmx_sse(0x71, Ux, Ib).group(4).reg_only(),
  mmx_sse(0x71, Ux, Ib).group(6).reg_only(),
  mmx_sse(0x72, Ux, Ib).group(2).reg_only(),
  mmx_sse(0x72, Ux, Ib).group(4).reg_only(),
  mmx_sse(0x72, Ux, Ib).group(6).reg_only(),
  mmx_sse(0x73, Ux, Ib).group(2).reg_only(),
  sse(0x73, k66, Ux, Ib).group(3).reg_only(),
  mmx_sse(0x73, Ux, Ib).group(6).reg_only(),
  sse(0x73, k66, Ux, Ib).group(7).reg_only(),
  mmx_sse(0x74).to(0x76),
  sse(0x77, kNP, None, None),
  sse(0x7c, k66 | kF2).to(0x7d),
  mmx_sse(0x7e, Ey, Vx), sse(0x7e, kF3),
  mmx_sse(0x7f, Wx, Vx), sse(0x7f, kF3, Wx, Vx),

  // 0F 80..8F, 90..9F
  two(0x80, O::JCC, Jz).to(0x8f).with(kCond | kForce64),
  two(0x90, O::SETCC, Eb).to(0x9f).with(kCond),

  // 0F A0..AF
  two(0xa0, O::PUSH, SegFS).with(kDefault64),
  two(0xa1, O::POP, SegFS).with(kDefault64),
  two(0xa2, O::CPUID),
  two(0xa3, O::BT, Ev, Gv),
  two(0xa4, O::SHLD, Ev, Gv, Ib),
  two(0xa5, O::SHLD, Ev, Gv, CL),
  two(0xa8, O::PUSH, SegGS).with(kDefault64),
  two(0xa9, O::POP, SegGS).with(kDefault64),
  two(0xaa, O::RSM),
  two(0xab, O::BTS, Ev, Gv).with(kLockable),
  two(0xac, O::SHRD, Ev, Gv, Ib),
  two(0xad, O::SHRD, Ev, Gv, CL),
  // Group 15: state save/restore and fences; F3 register forms are
  // the FS/GS base accessors (aux: 0 = FS, 1 = GS).
  two(0xae, O::RDFSBASE, Ry).group(0).reg_only().pfx(kF3).with(kOnly64),
  two(0xae, O::RDFSBASE, Ry).group(1).reg_only().pfx(kF3).with(kOnly64).aux_is(1),
  two(0xae, O::WRFSBASE, Ry).group(2).reg_only().pfx(kF3).with(kOnly64),
  two(0xae, O::WRFSBASE, Ry).group(3).reg_only().pfx(kF3).with(kOnly64).aux_is(1),
  two(0xae, O::SIMD, M).group(0).mem().pfx(kNP),  // FXSAVE
  two(0xae, O::SIMD, M).group(1).mem().pfx(kNP),  // FXRSTOR
  two(0xae, O::SIMD, Md).group(2).mem().pfx(kNP), // LDMXCSR
  two(0xae, O::SIMD, Md).group(3).mem().pfx(kNP), // STMXCSR
  two(0xae, O::SIMD, M).group(4).mem().pfx(kNP),  // XSAVE
  two(0xae, O::SIMD, M).group(5).mem().pfx(kNP),  // XRSTOR
  two(0xae, O::SIMD, M).group(6).mem().pfx(kNP),  // XSAVEOPT
  two(0xae, O::CLFLUSH, Mb).group(6).mem().pfx(k66),   // CLWB
  two(0xae, O::CLFLUSH, Mb).group(7).mem().pfx(kNP66), // 66: CLFLUSHOPT
  two(0xae, O::FENCE).group(5).reg_only().pfx(kNP), // LFENCE
  two(0xae, O::FENCE).group(6).reg_only().pfx(kNP), // MFENCE
  two(0xae, O::FENCE).group(7).reg_only().pfx(kNP), // SFENCE
  // Two-operand IMUL as op0 = op1 * op2 with op2 naming op0 (opcodes.def).
  two(0xaf, O::IMUL, Gv, Ev, Gv),

  // 0F B0..BF
  two(0xb0, O::CMPXCHG, Eb, Gb).with(kLockable),
  two(0xb1, O::CMPXCHG, Ev, Gv).with(kLockable),
  two(0xb2, O::LOAD_FAR_POINTER, Gv, Mp).aux_is(SS),
  two(0xb3, O::BTR, Ev, Gv).with(kLockable),
  two(0xb4, O::LOAD_FAR_POINTER, Gv, Mp).aux_is(FS),
  two(0xb5, O::LOAD_FAR_POINTER, Gv, Mp).aux_is(GS),
  two(0xb6, O::MOVZX, Gv, Eb),
  two(0xb7, O::MOVZX, Gv, Ew),
  two(0xb8, O::POPCNT, Gv, Ev).pfx(kF3),
  two(0xb9, O::UD, Gv, Ev),
  two(0xba, O::BT, Ev, Ib).group(4),
  two(0xba, O::BTS, Ev, Ib).group(5).with(kLockable),
  two(0xba, O::BTR, Ev, Ib).group(6).with(kLockable),
  two(0xba, O::BTC, Ev, Ib).group(7).with(kLockable),
  two(0xbb, O::BTC, Ev, Gv).with(kLockable),
  two(0xbc, O::TZCNT, Gv, Ev).pfx(kF3),
  two(0xbc, O::BSF, Gv, Ev),
  two(0xbd, O::LZCNT, Gv, Ev).pfx(kF3),
  two(0xbd, O::BSR, Gv, Ev),
  two(0xbe, O::MOVSX, Gv, Eb),
  two(0xbf, O::MOVSX, Gv, Ew),

  // 0F C0..CF
  two(0xc0, O::XADD, Eb, Gb).with(kLockable),
  two(0xc1, O::XADD, Ev, Gv).with(kLockable),
  sse(0xc2, kAll, Vx, Wx, Ib),
  two(0xc3, O::MOV, My, Gy).mem().pfx(kNP), // MOVNTI: a store with a hint
  mmx_sse(0xc4, Vx, Ew, Ib),
  mmx_sse(0xc5, Gd, Ux, Ib).reg_only(),
  sse(0xc6, kNP66, Vx, Wx, Ib),
  // Group 9 (the mod=11 forms of /6 and /7 take a register).
  two(0xc7, O::CMPXCHG8B, Mcx).group(1).mem().with(kLockable),
  two(0xc7, O::SIMD, M).group(3).mem().pfx(kNP), // XRSTORS
  two(0xc7, O::SIMD, M).group(4).mem().pfx(kNP), // XSAVEC
  two(0xc7, O::SIMD, M).group(5).mem().pfx(kNP), // XSAVES
  two(0xc7, O::RDRAND, Rv).group(6).reg_only().pfx(kNP66),
  two(0xc7, O::RDSEED, Rv).group(7).reg_only().pfx(kNP66),
  two(0xc8, O::BSWAP, Zv).to(0xcf),

  // 0F D0..FF
  sse(0xd0, k66 | kF2),
  mmx_sse(0xd1).to(0xd5),
  sse(0xd6, k66, Wx, Vx), sse(0xd6, kF3, Vx, Nq).reg_only(),
  sse(0xd6, kF2, Pq, Ux).reg_only(),
  mmx_sse(0xd7, Gd, Ux).reg_only(),
  mmx_sse(0xd8).to(0xe5),
  sse(0xe6, k66 | kF3 | kF2),
  mmx_sse(0xe7, Wx, Vx).mem(),
  mmx_sse(0xe8).to(0xef),
  sse(0xf0, kF2, Vx, Mdq).mem(),
  mmx_sse(0xf1).to(0xf6),
  mmx_sse(0xf7, Vx, Ux).reg_only(),
  mmx_sse(0xf8).to(0xfe),
  two(0xff, O::UD, Gv, Ev),

  // 0F 38: SSSE3/SSE4/AES/SHA, MOVBE, CRC32, INVPCID.
  sse38(0x00, kNP66).to(0x0b).with(kMmxUnprefixed),
  sse38(0x10, k66), sse38(0x14, k66).to(0x15), sse38(0x17, k66),
  sse38(0x1c, kNP66).to(0x1e).with(kMmxUnprefixed),
  sse38(0x20, k66).to(0x25),
  sse38(0x28, k66).to(0x2b),
  sse38(0x30, k66).to(0x35),
  sse38(0x37, k66).to(0x41),
  form(kMap0F38, 0x82, O::INVPCID, Gmode, Mdq, None).mem().pfx(k66),
  sse38(0xc8, kNP).to(0xcd),
  sse38(0xcf, k66),
  sse38(0xdb, k66).to(0xdf),
  form(kMap0F38, 0xf0, O::MOVBE, Gv, Mv, None).mem().pfx(kNP66),
  form(kMap0F38, 0xf0, O::SIMD, Gy, Eb, None).pfx(kF2), // CRC32
  form(kMap0F38, 0xf1, O::MOVBE, Mv, Gv, None).mem().pfx(kNP66),
  form(kMap0F38, 0xf1, O::SIMD, Gy, Ev, None).pfx(kF2), // CRC32

  // 0F 3A: every form takes an imm8.
  sse3a(0x08, k66).to(0x0e),
  sse3a(0x0f, kNP66).with(kMmxUnprefixed),
  sse3a(0x14, k66).to(0x17),
  sse3a(0x20, k66).to(0x22),
  sse3a(0x40, k66).to(0x42),
  sse3a(0x44, k66),
  sse3a(0x60, k66).to(0x63),
  sse3a(0xcc, kNP),
  sse3a(0xce, k66).to(0xcf),
  sse3a(0xdf, k66),
};
// clang-format on

namespace {

constexpr size_t kFormCount = sizeof(kForms) / sizeof(kForms[0]);
static_assert(kFormCount < 65536);

// Rows of one opcode are adjacent; a slot spans from the first row of its
// opcode to the last, and the decoder re-checks each row's opcode range.
constexpr SlotTable build_slots() {
  SlotTable slots{};
  for (size_t i = 0; i < kFormCount; ++i) {
    const Form &f = kForms[i];
    for (unsigned opcode = f.first; opcode <= f.last; ++opcode) {
      OpcodeSlot &slot = slots[f.map][opcode];
      if (slot.count == 0)
        slot.first = static_cast<uint16_t>(i);
      slot.count = static_cast<uint8_t>(i - slot.first + 1);
      slot.modrm = slot.modrm || f.modrm;
    }
  }
  return slots;
}

} // namespace

constexpr SlotTable kOpcodeSlots = build_slots();

namespace {

// Rows of one opcode must agree on whether a ModRM byte follows.
constexpr bool modrm_consistent() {
  for (size_t i = 0; i < kFormCount; ++i) {
    const Form &f = kForms[i];
    for (unsigned opcode = f.first; opcode <= f.last; ++opcode)
      if (kOpcodeSlots[f.map][opcode].modrm != f.modrm)
        return false;
  }
  return true;
}
static_assert(modrm_consistent());

// Memory sizes of the x87 escapes D8..DF by ModRM reg (SDM Vol. 1, 8.1 and
// the opcode map in Vol. 2, A.4). Sizes that depend on the operand size use
// the markers below.
constexpr uint8_t kEnv = 0xfe;   // FLDENV/FNSTENV: 14 or 28 bytes
constexpr uint8_t kState = 0xff; // FRSTOR/FNSAVE: 94 or 108 bytes
constexpr uint8_t kX87Sizes[8][8] = {
    {4, 4, 4, 4, 4, 4, 4, 4},           // D8: m32fp arithmetic
    {4, 0, 4, 4, kEnv, 2, kEnv, 2},     // D9: FLD/FST m32fp, env, control word
    {4, 4, 4, 4, 4, 4, 4, 4},           // DA: m32int arithmetic
    {4, 4, 4, 4, 0, 10, 0, 10},         // DB: m32int loads/stores, m80fp
    {8, 8, 8, 8, 8, 8, 8, 8},           // DC: m64fp arithmetic
    {8, 8, 8, 8, kState, 0, kState, 2}, // DD: m64fp, state, status word
    {2, 2, 2, 2, 2, 2, 2, 2},           // DE: m16int arithmetic
    {2, 2, 2, 2, 10, 8, 10, 8},         // DF: m16int, m80bcd, m64int
};

// Register forms (mod = 11) of D8..DF that exist, as ranges of the ModRM
// byte (SDM Vol. 2, A.4.2); undocumented aliases processors execute (FSTP1,
// FXCH4, FCOMP5, FFREEP, ...) count as existing.
struct ModRmRange {
  uint8_t first, last;
};
constexpr ModRmRange kX87RegisterForms[8][6] = {
    {{0xc0, 0xff}}, // D8
    {{0xc0, 0xd0},
     {0xd8, 0xe1},
     {0xe4, 0xe5},
     {0xe8, 0xee},
     {0xf0, 0xff}},                             // D9
    {{0xc0, 0xdf}, {0xe9, 0xe9}},               // DA
    {{0xc0, 0xdf}, {0xe0, 0xe4}, {0xe8, 0xf7}}, // DB
    {{0xc0, 0xff}},                             // DC
    {{0xc0, 0xef}},                             // DD
    {{0xc0, 0xd7}, {0xd9, 0xd9}, {0xe0, 0xff}}, // DE
    {{0xc0, 0xe0}, {0xe8, 0xf7}},               // DF
};

} // namespace

bool x87_register_form_exists(uint8_t opcode, uint8_t modrm) {
  for (const ModRmRange &range : kX87RegisterForms[opcode - 0xd8])
    if (range.last != 0 && modrm >= range.first && modrm <= range.last)
      return true;
  return false;
}

uint8_t x87_memory_size(uint8_t opcode, uint8_t reg, uint8_t opsize) {
  uint8_t size = kX87Sizes[opcode - 0xd8][reg & 7];
  if (size == kEnv)
    return opsize == 2 ? 14 : 28;
  if (size == kState)
    return opsize == 2 ? 94 : 108;
  return size;
}

} // namespace sable::cpu::decoding
