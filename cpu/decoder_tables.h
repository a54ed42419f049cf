#pragma once
// The table of x86 instruction forms the decoder walks. One row describes
// one encoding (opcode map, opcode byte or range, ModRM constraints,
// mandatory prefix, mode restrictions) and what it decodes to (Op and
// operand specs). The decoder itself knows nothing about individual
// instructions beyond what a row says.

#include <array>
#include <cstdint>

#include "cpu/instruction.h"

namespace sable::cpu::decoding {

enum Map : uint8_t { kMapOneByte, kMap0F, kMap0F38, kMap0F3A, kMapCount };

// Operand specs, named after the SDM's opcode-map notation where one
// exists: E = ModRM r/m (register or memory), G = ModRM reg, M = r/m that
// must be memory, R = r/m that must be a register, Z = register in the
// opcode's low three bits; b/w/d/q = 1/2/4/8 bytes, v = operand size,
// z = operand size capped at 4, y = 4 or 8 bytes by operand size.
// Specs up to kLastModRmSpec take their operand from the ModRM byte.
// clang-format off
enum class Spec : uint8_t {
  None,
  // ModRM-based
  Eb, Ew, Ed, Ev, Ey, Ez,
  EvMw,  // register: operand size; memory: a word (MOV from Sreg, SMSW)
  EzMw,  // register: operand size capped at 4; memory: a word (LAR, LSL)
  Gb, Gw, Gd, Gv, Gy,
  M,     // memory whose extent the instruction defines (LEA, INVLPG, ...)
  Mb, Mw, Md, Mq, Mv, My,
  Mp,    // far pointer: offset of operand size plus a selector
  Ma,    // BOUND's pair of operand-size bounds
  Ms,    // descriptor-table register image: 6 bytes, 10 in 64-bit mode
  Mcx,   // CMPXCHG8B/16B operand: 8 bytes, 16 with REX.W
  Mdq,   // 16 bytes
  Ry, Rv,
  Rmode, // r/m register of the mode's width: 4 bytes, 8 in 64-bit mode
  Gmode, // reg-field counterpart of Rmode
  Sw,    // segment register in ModRM reg
  Cd, Dd,
  Vx, Wx, Ux, // XMM in reg, XMM or memory in r/m, XMM in r/m
  Pq, Qq, Nq, // MMX counterparts
  X87,   // x87 r/m: ST(i), or memory sized by the x87 memory-size table
  // Encoded elsewhere
  Zb, Zv,
  Ib,    // zero-extended
  Ibs,   // sign-extended
  Iw,
  Iz,    // sign-extended to 64 bits
  Iv,    // full operand size (MOV r64, imm64)
  Ib2,   // a second byte immediate, stored in imm2 (ENTER)
  Jb, Jz,
  Ap,    // immediate far pointer: imm = offset, imm2 = selector
  Ob, Ov, // moffs: absolute address-size offset
  AL, rAX, CL, DX, One,
  SegES, SegCS, SegSS, SegDS, SegFS, SegGS,
};
// clang-format on
constexpr Spec kLastModRmSpec = Spec::X87;

// Mandatory-prefix masks. The decoder derives one mandatory prefix per
// instruction (the last of F2/F3, else 66, else none) and a row matches
// when its mask contains it.
enum PrefixMask : uint8_t {
  kPfxNone = 1,
  kPfx66 = 2,
  kPfxF3 = 4,
  kPfxF2 = 8,
  kPfxAny = 15,
  kPfxNoRep = kPfxNone | kPfx66,
};

enum class ModReq : uint8_t { Any, Mem, Reg };

enum FormFlag : uint16_t {
  kLockable = 1 << 0,      // LOCK allowed when operand 0 is memory
  kNo64 = 1 << 1,          // invalid in 64-bit mode
  kOnly64 = 1 << 2,        // valid only in 64-bit mode
  kDefault64 = 1 << 3,     // 64-bit operand size by default in 64-bit mode
  kForce64 = 1 << 4,       // 64-bit operand size in 64-bit mode, 66 ignored
  kByteOp = 1 << 5,        // operand size 1 without a byte operand spec
  kCap32 = 1 << 6,         // operand size at most 4 bytes (port I/O)
  kCond = 1 << 7,          // condition code in the opcode's low nibble
  kNoRexB = 1 << 8,        // only without REX.B (NOP/PAUSE vs XCHG r8)
  kMmxUnprefixed = 1 << 9, // SIMD: MMX registers when no mandatory prefix
  kModIsReg = 1 << 10,     // r/m is a register whatever mod says (MOV CR/DR)
  kCrNumber = 1 << 11,     // reg field names a control register
  kDrNumber = 1 << 12,     // reg field names a debug register
};

constexpr uint8_t kAnyField = 0xff;

struct Form {
  uint8_t map = kMapOneByte;
  uint8_t first = 0; // opcode range first..last
  uint8_t last = 0;
  Op op = Op::UD;
  uint8_t reg = kAnyField; // ModRM reg field, or any
  uint8_t rm = kAnyField;  // ModRM r/m field (register forms), or any
  ModReq mod = ModReq::Any;
  uint8_t prefixes = kPfxAny;
  uint16_t flags = 0;
  uint8_t aux = 0;
  bool modrm = false;
  Spec operands[3] = {};

  // Builders so the table reads as one line per form.
  constexpr Form to(uint8_t last_opcode) const {
    Form f = *this;
    f.last = last_opcode;
    return f;
  }
  constexpr Form group(uint8_t reg_field) const {
    Form f = *this;
    f.reg = reg_field;
    f.modrm = true;
    return f;
  }
  constexpr Form mem() const {
    Form f = *this;
    f.mod = ModReq::Mem;
    f.modrm = true;
    return f;
  }
  constexpr Form reg_only() const {
    Form f = *this;
    f.mod = ModReq::Reg;
    f.modrm = true;
    return f;
  }
  constexpr Form rm_is(uint8_t rm_field) const {
    Form f = reg_only();
    f.rm = rm_field;
    return f;
  }
  constexpr Form pfx(uint8_t mask) const {
    Form f = *this;
    f.prefixes = mask;
    return f;
  }
  constexpr Form with(uint16_t flag) const {
    Form f = *this;
    f.flags |= flag;
    return f;
  }
  constexpr Form aux_is(uint8_t value) const {
    Form f = *this;
    f.aux = value;
    return f;
  }
  constexpr Form has_modrm() const {
    Form f = *this;
    f.modrm = true;
    return f;
  }
};

// Where the forms of one opcode start in the table and how many follow.
struct OpcodeSlot {
  uint16_t first = 0;
  uint8_t count = 0;
  bool modrm = false;
};

using SlotTable = std::array<std::array<OpcodeSlot, 256>, kMapCount>;

extern const Form kForms[];
extern const SlotTable kOpcodeSlots;

// x87 memory operand sizes by opcode (D8..DF) and ModRM reg; 0 = no memory
// form (#UD). Environment and state images depend on the operand size.
uint8_t x87_memory_size(uint8_t opcode, uint8_t reg, uint8_t opsize);

// Whether the register form (mod = 11) `modrm` of x87 escape `opcode` exists.
bool x87_register_form_exists(uint8_t opcode, uint8_t modrm);

} // namespace sable::cpu::decoding
