#pragma once
// The decoded form of one guest instruction. The decoder produces it once;
// the interpreter and the JIT both consume it. Plain data, no behaviour.

#include <cstdint>

namespace sable::cpu {

enum class Op : uint16_t {
#define X(name, flags) name,
#include "cpu/opcodes.def"
#undef X
  Count
};

enum OpFlag : uint8_t { END = 1 };

const char *op_name(Op op);
bool op_ends_block(Op op);

// General-purpose registers in encoding order.
enum Gpr : uint8_t {
  RAX,
  RCX,
  RDX,
  RBX,
  RSP,
  RBP,
  RSI,
  RDI,
  R8,
  R9,
  R10,
  R11,
  R12,
  R13,
  R14,
  R15,
};
// Instruction::base and ::index name slots of CpuState::address_slot: a
// Gpr, kRip (the instruction's own RIP; the decoder adds the instruction's
// length to the displacement), kNoReg (a slot that is always 0), so that
// an effective address takes no branch, or kBlockRip (the RIP its block was
// entered at: a block's instructions address RIP-relative through it, with
// their offset in the block added to the displacement, because threaded
// code leaves RIP stale between instructions that do not need it).
constexpr uint8_t kRip = 16;
constexpr uint8_t kNoReg = 17;
constexpr uint8_t kBlockRip = 18;

// Segment registers in encoding order.
enum SegReg : uint8_t { ES, CS, SS, DS, FS, GS };
constexpr uint8_t kNoSeg = 0xff;

enum class OperandKind : uint8_t {
  None,
  Reg,      // reg = Gpr; size 1 means the low byte (SPL.. with REX)
  RegHigh8, // reg = 0..3 for AH, CH, DH, BH
  Mem,      // the instruction's memory operand; size = access size
  Imm,      // Instruction::imm (already sign- or zero-extended)
  Seg,      // reg = SegReg
  Cr,       // reg = control register number
  Dr,       // reg = debug register number
  Mmx,      // reg = MMX register
  Xmm,      // reg = XMM register
  St,       // reg = x87 stack index
};

struct Operand {
  OperandKind kind = OperandKind::None;
  uint8_t size = 0; // bytes: 1, 2, 4, 8 (10, 16 for x87/SIMD memory forms)
  uint8_t reg = 0;
};

enum RepPrefix : uint8_t {
  REP_NONE = 0,
  REP_Z = 1 /* F3 */,
  REP_NZ = 2 /* F2 */
};

struct Instruction {
  Op op = Op::UD;
  uint8_t length = 0;   // bytes, 1..15
  uint8_t opsize = 0;   // operand size in bytes: 2, 4 or 8 (1 for byte forms)
  uint8_t addrsize = 0; // address size in bytes: 2, 4 or 8
  uint8_t cond = 0;     // Jcc/SETcc/CMOVcc condition, 0..15 (low opcode nibble)
  uint8_t rep = REP_NONE;
  bool lock = false;
  uint8_t segment_override = kNoSeg;
  uint8_t aux = 0; // op-specific detail documented in opcodes.def

  // Memory operand, when an operand has kind Mem.
  uint8_t seg = DS;      // effective segment after defaults and overrides
  uint8_t base = kNoReg; // Gpr, kRip, kNoReg or kBlockRip
  uint8_t index = kNoReg;
  uint8_t scale = 0; // index shift, 0..3
  // Bytes from the start of the block holding the instruction (0 outside
  // blocks): threaded code works RIP out from it (cpu/ops/chain.h).
  uint16_t block_offset = 0;
  // Also the 64-bit absolute address of MOV moffs. RIP-relative: from the
  // instruction's start, the encoded displacement plus the length.
  int64_t disp = 0;

  Operand operands[3];
  uint8_t operand_count = 0;
  // The Block::links slot a block's instruction leaves it by when it
  // branches, or kLinkByTarget to share the slots by target
  // (Block::exit_link).
  static constexpr uint8_t kLinkByTarget = 0xff;
  uint8_t exit_link = kLinkByTarget;

  uint64_t imm = 0;
  uint64_t imm2 = 0; // ENTER's level, far pointers' selector

  // Raw encoding details the x87/SIMD families and tracing need.
  uint32_t opcode = 0; // 0x00XX one-byte map, 0x0FXX, 0x0F38XX, 0x0F3AXX
  uint8_t modrm = 0;
  uint8_t rex = 0;              // 0x40..0x4F when present, else 0
  uint8_t mandatory_prefix = 0; // 0x66, 0xF3, 0xF2 or 0 for SIMD forms
};
// A step of a block holds one, and the steps of a hot loop should share few
// cache lines.
static_assert(sizeof(Instruction) == 64);

enum class CodeSize : uint8_t { Bits16 = 2, Bits32 = 4, Bits64 = 8 };

enum class DecodeStatus : uint8_t {
  Ok,
  Invalid,   // #UD: undefined opcode, bad prefix combination, > 15 bytes
  Truncated, // needs more bytes than were available (caller fetches the
             // next page, whose fault then wins)
};

// Decodes one instruction from `bytes` (at most `available` of them; 15 are
// enough for any valid instruction). On Invalid, `out.length` still holds
// the bytes consumed so far and `out.op` is Op::UD.
DecodeStatus decode(const uint8_t *bytes, unsigned available, CodeSize mode,
                    Instruction &out);

} // namespace sable::cpu
