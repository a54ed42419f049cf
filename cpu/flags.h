#pragma once
// Arithmetic flags (CF PF AF ZF SF OF): the only place they are computed.
//
// Flag-setting instructions record their operands and result in
// CpuState::lazy; the flags are derived only when something reads them.
// While lazy.op == LAZY_NONE the arithmetic flags live in CpuState::rflags.
//
// Rule for instructions that leave some arithmetic flags unchanged:
// - INC/DEC keep CF: the lazy record carries the old CF in `src`.
// - Everything else (rotates, BT*, SHLD/SHRD, BCD, LZCNT...) is rare
//   enough to materialize: the current flags are folded into rflags, the
//   changed ones replaced, and lazy.op reset to LAZY_NONE
//   (update_arith_flags).
// - A shift or rotate whose masked count is 0 changes no flag at all: the
//   helpers below return before touching the state.
//
// Flags the SDM leaves undefined take the values Intel processors produce
// (measured on the host, see tests/unit/cpu/test_flags.cpp):
// - AF is 0 after logic operations, shifts, MUL/IMUL, BSF/BSR.
// - Shifts and rotates with a count above 1 set OF as the first 1-bit
//   step would: SHL/ROL/RCL: MSB(dst) ^ MSB-1(dst); SHR: MSB(dst); SAR: 0;
//   ROR: LSB(dst) ^ MSB(dst); RCR: CF ^ MSB(dst); SHLD: MSB(dst) ^
//   MSB-1(dst); SHRD: LSB(fill) ^ MSB(dst). Shifts by more than the
//   operand width leave CF = 0 (SHL/SHR) or the sign (SAR).
// - MUL/IMUL: CF = OF = "high half significant", SF and PF from the low
//   half of the result, ZF = 0.
// - BSF/BSR: ZF = (source == 0), PF from the index written (0 when the
//   source is 0), CF = OF = SF = AF = 0.

#include <cstdint>

#include "cpu/state.h"

namespace sable::cpu {

enum LazyOp : uint8_t {
  LAZY_NONE = 0,
  LAZY_ADD,   // result = dst + src
  LAZY_ADC,   // result = dst + src + 1 (ADC with CF set; CF clear is ADD)
  LAZY_SUB,   // result = dst - src (also CMP, and NEG with dst = 0)
  LAZY_SBB,   // result = dst - src - 1 (SBB with CF set)
  LAZY_LOGIC, // AND OR XOR TEST: CF = OF = AF = 0; dst and src unset
  LAZY_INC,   // result = dst + 1; src = CF before the instruction (kept)
  LAZY_DEC,   // result = dst - 1; src = CF before the instruction (kept)
  LAZY_SHL,   // src = masked count, never 0
  LAZY_SHR,   // src = masked count, never 0
  LAZY_SAR,   // src = masked count, never 0
  LAZY_MUL,   // result = low half; src = 1 when the high half is significant
};

uint64_t lazy_arith_flags(const LazyFlags &lazy);

constexpr unsigned size_bits(unsigned size) {
  return size * 8;
}
constexpr uint64_t size_mask(unsigned size) {
  return size >= 8 ? ~uint64_t{0} : (uint64_t{1} << (size * 8)) - 1;
}
constexpr uint64_t sign_bit(unsigned size) {
  return uint64_t{1} << (size * 8 - 1);
}
// Sign-extends the low `size` bytes of `value` to 64 bits.
constexpr int64_t sign_extend(uint64_t value, unsigned size) {
  const unsigned shift = 64 - size * 8;
  return static_cast<int64_t>(value << shift) >> shift;
}

constexpr uint64_t flag_if(bool condition, uint64_t flag) {
  return condition ? flag : 0;
}

// PF ZF SF of a result of `size` bytes.
inline uint64_t result_flags(uint64_t result, unsigned size) {
  result &= size_mask(size);
  uint64_t flags =
      flag_if(!__builtin_parity(static_cast<unsigned>(result & 0xff)), PF);
  if (result == 0)
    flags |= ZF;
  if (result & sign_bit(size))
    flags |= SF;
  return flags;
}

inline void set_lazy(CpuState &state, LazyOp op, unsigned size, uint64_t dst,
                     uint64_t src, uint64_t result) {
  state.lazy.op = op;
  state.lazy.size = static_cast<uint8_t>(size);
  state.lazy.dst = dst & size_mask(size);
  state.lazy.src = src & size_mask(size);
  state.lazy.result = result;
}

// The current CF PF AF ZF SF OF bits.
inline uint64_t arith_flags(const CpuState &state) {
  if (state.lazy.op == LAZY_NONE)
    return state.rflags & kArithFlags;
  return lazy_arith_flags(state.lazy);
}
// CF of a lazy record, without deriving the other five: ADC/SBB, INC/DEC
// and Jcc read it far more often than the rest. CMP/SUB and logic records
// come first, as they most often precede those.
inline bool lazy_carry(const LazyFlags &lazy) {
  const uint64_t dst = lazy.dst, src = lazy.src, result = lazy.result;
  if (lazy.op == LAZY_SUB)
    return dst < src;
  if (lazy.op == LAZY_LOGIC)
    return false;
  const unsigned bits = size_bits(lazy.size);
  const unsigned count = static_cast<unsigned>(src);
  switch (lazy.op) {
  case LAZY_ADD:
    return result < dst;
  case LAZY_ADC:
    return result <= dst;
  case LAZY_SBB:
    return dst <= src;
  case LAZY_INC:
  case LAZY_DEC:
  case LAZY_MUL:
    return src & 1;
  case LAZY_SHL:
    return count <= bits && ((dst >> (bits - count)) & 1);
  case LAZY_SHR:
    return (dst >> (count - 1)) & 1;
  case LAZY_SAR:
    return count <= bits ? (dst >> (count - 1)) & 1
                         : (dst & sign_bit(lazy.size)) != 0;
  default:
    return false;
  }
}
inline bool carry_flag(const CpuState &state) {
  if (state.lazy.op == LAZY_NONE)
    return state.rflags & CF;
  return lazy_carry(state.lazy);
}
// ZF, likewise: every lazy operation but MUL sets it from the result.
inline bool zero_flag(const CpuState &state) {
  if (state.lazy.op == LAZY_NONE)
    return state.rflags & ZF;
  return state.lazy.op != LAZY_MUL &&
         (state.lazy.result & size_mask(state.lazy.size)) == 0;
}

// Jcc/SETcc/CMOVcc condition 0..15 (the opcode's low nibble) on the
// arithmetic flags `flags`.
inline bool condition_on_flags(uint64_t flags, unsigned cond) {
  const bool sign_differs = !(flags & SF) != !(flags & OF);
  bool holds = false;
  switch ((cond >> 1) & 7) {
  case 0: // O
    holds = flags & OF;
    break;
  case 1: // B
    holds = flags & CF;
    break;
  case 2: // E
    holds = flags & ZF;
    break;
  case 3: // BE
    holds = flags & (CF | ZF);
    break;
  case 4: // S
    holds = flags & SF;
    break;
  case 5: // P
    holds = flags & PF;
    break;
  case 6: // L
    holds = sign_differs;
    break;
  case 7: // LE
    holds = (flags & ZF) || sign_differs;
    break;
  }
  return (cond & 1) ? !holds : holds;
}

// Condition `cond` (not P or NP) after CMP/SUB of `size` bytes, from its
// operands and result (masked to the size) instead of the six flags.
inline bool condition_after_sub(unsigned cond, unsigned size, uint64_t dst,
                                uint64_t src, uint64_t result) {
  // Shifted left by `unused`, a value's sign bit is the host's.
  const unsigned unused = 64 - size_bits(size);
  const auto signed_dst = static_cast<int64_t>(dst << unused);
  const auto signed_src = static_cast<int64_t>(src << unused);
  bool holds = false;
  switch ((cond >> 1) & 7) {
  case 0:
    holds = static_cast<int64_t>(((dst ^ src) & (dst ^ result)) << unused) < 0;
    break;
  case 1:
    holds = dst < src;
    break;
  case 2:
    holds = result == 0;
    break;
  case 3:
    holds = dst <= src;
    break;
  case 4:
    holds = static_cast<int64_t>(result << unused) < 0;
    break;
  case 6:
    holds = signed_dst < signed_src;
    break;
  default:
    holds = signed_dst <= signed_src;
    break;
  }
  return (cond & 1) ? !holds : holds;
}

// The same after AND/OR/XOR/TEST, which clear CF and OF.
inline bool condition_after_logic(unsigned cond, unsigned size,
                                  uint64_t result) {
  const unsigned test = (cond >> 1) & 7;
  const bool negative =
      static_cast<int64_t>(result << (64 - size_bits(size))) < 0;
  const bool holds = (test == 2 || test == 3)   ? result == 0
                     : (test == 4 || test == 6) ? negative
                     : test == 7                ? result == 0 || negative
                                                : false;
  return (cond & 1) ? !holds : holds;
}

// The condition `cond` when it needs no call to work out: after CMP/SUB
// and logic operations, the record that most conditional branches follow,
// it compares the operands directly instead of deriving all six flags,
// with the flags already in RFLAGS it reads them, and after the other
// records it answers the E, S and (for ADD, INC, DEC) B conditions. False
// otherwise.
inline bool condition_at_hand(const CpuState &state, unsigned cond,
                              bool &holds_now) {
  const LazyFlags &lazy = state.lazy;
  const unsigned test = (cond >> 1) & 7;
  // The record's values are masked to its size (set_lazy).
  const uint64_t result = lazy.result;
  if (lazy.op == LAZY_SUB && test != 5) {
    holds_now =
        condition_after_sub(cond, lazy.size, lazy.dst, lazy.src, result);
    return true;
  }
  if (lazy.op == LAZY_LOGIC && test != 5) {
    holds_now = condition_after_logic(cond, lazy.size, result);
    return true;
  }
  if (lazy.op == LAZY_NONE) {
    holds_now = condition_on_flags(state.rflags, cond);
    return true;
  }
  // Every other record but MUL's sets ZF and SF from the result, and the
  // carry of ADD, INC and DEC takes one compare.
  bool holds;
  if ((test == 2 || test == 4) && lazy.op != LAZY_MUL)
    holds =
        test == 2
            ? result == 0
            : static_cast<int64_t>(result << (64 - size_bits(lazy.size))) < 0;
  else if (test == 1 && lazy.op == LAZY_ADD)
    holds = result < lazy.dst;
  else if (test == 1 && (lazy.op == LAZY_INC || lazy.op == LAZY_DEC))
    holds = lazy.src & 1;
  else
    return false;
  holds_now = (cond & 1) ? !holds : holds;
  return true;
}

// The condition `cond` now.
inline bool condition_holds(const CpuState &state, unsigned cond) {
  bool holds;
  if (condition_at_hand(state, cond, holds))
    return holds;
  switch ((cond >> 1) & 7) {
  case 1:
    return carry_flag(state) != (cond & 1);
  case 2:
    return zero_flag(state) != (cond & 1);
  default:
    return condition_on_flags(arith_flags(state), cond);
  }
}

// Replaces all six arithmetic flags with `flags`.
inline void set_arith_flags(CpuState &state, uint64_t flags) {
  state.rflags = (state.rflags & ~kArithFlags) | (flags & kArithFlags);
  state.lazy.op = LAZY_NONE;
}
// Replaces the arithmetic flags in `mask` and keeps the others.
inline void update_arith_flags(CpuState &state, uint64_t mask,
                               uint64_t values) {
  set_arith_flags(state, (arith_flags(state) & ~mask) | (values & mask));
}

// ---- arithmetic and logic: return the result (masked to `size`) and
// record the flags. `carry` is CF before the instruction: handlers read it
// once up front, because a locked read-modify-write may compute twice.
inline uint64_t alu_add(CpuState &s, unsigned size, uint64_t dst,
                        uint64_t src) {
  uint64_t result = (dst + src) & size_mask(size);
  set_lazy(s, LAZY_ADD, size, dst, src, result);
  return result;
}
inline uint64_t alu_adc(CpuState &s, unsigned size, uint64_t dst, uint64_t src,
                        bool carry) {
  if (!carry)
    return alu_add(s, size, dst, src);
  uint64_t result = (dst + src + 1) & size_mask(size);
  set_lazy(s, LAZY_ADC, size, dst, src, result);
  return result;
}
inline uint64_t alu_sub(CpuState &s, unsigned size, uint64_t dst,
                        uint64_t src) {
  uint64_t result = (dst - src) & size_mask(size);
  set_lazy(s, LAZY_SUB, size, dst, src, result);
  return result;
}
inline uint64_t alu_sbb(CpuState &s, unsigned size, uint64_t dst, uint64_t src,
                        bool carry) {
  if (!carry)
    return alu_sub(s, size, dst, src);
  uint64_t result = (dst - src - 1) & size_mask(size);
  set_lazy(s, LAZY_SBB, size, dst, src, result);
  return result;
}
inline uint64_t alu_neg(CpuState &s, unsigned size, uint64_t value) {
  return alu_sub(s, size, 0, value);
}
inline uint64_t alu_logic(CpuState &s, unsigned size, uint64_t result) {
  result &= size_mask(size);
  // Nothing reads a logic record's operands, so they are not stored.
  s.lazy.op = LAZY_LOGIC;
  s.lazy.size = static_cast<uint8_t>(size);
  s.lazy.result = result;
  return result;
}
inline uint64_t alu_and(CpuState &s, unsigned size, uint64_t a, uint64_t b) {
  return alu_logic(s, size, a & b);
}
inline uint64_t alu_or(CpuState &s, unsigned size, uint64_t a, uint64_t b) {
  return alu_logic(s, size, a | b);
}
inline uint64_t alu_xor(CpuState &s, unsigned size, uint64_t a, uint64_t b) {
  return alu_logic(s, size, a ^ b);
}
inline uint64_t alu_inc(CpuState &s, unsigned size, uint64_t dst, bool carry) {
  uint64_t result = (dst + 1) & size_mask(size);
  set_lazy(s, LAZY_INC, size, dst, carry, result);
  return result;
}
inline uint64_t alu_dec(CpuState &s, unsigned size, uint64_t dst, bool carry) {
  uint64_t result = (dst - 1) & size_mask(size);
  set_lazy(s, LAZY_DEC, size, dst, carry, result);
  return result;
}

// ---- shifts and rotates. `count` is the raw count operand; it is masked
// to 5 bits (6 for 64-bit operands) here. A masked count of 0 changes
// neither the value nor any flag.
inline unsigned masked_count(unsigned size, uint64_t count) {
  return static_cast<unsigned>(count & (size == 8 ? 63 : 31));
}
// SHL, SHR or SAR by `Op`.
template <LazyOp Op>
uint64_t alu_shift(CpuState &s, unsigned size, uint64_t value, uint64_t count) {
  const unsigned n = masked_count(size, count);
  if (n == 0)
    return value;
  uint64_t result;
  if constexpr (Op == LAZY_SHL)
    result = value << n;
  else if constexpr (Op == LAZY_SHR)
    result = (value & size_mask(size)) >> n;
  else
    result = static_cast<uint64_t>(sign_extend(value, size) >> n);
  result &= size_mask(size);
  set_lazy(s, Op, size, value, n, result);
  return result;
}
inline uint64_t alu_shl(CpuState &s, unsigned size, uint64_t value,
                        uint64_t count) {
  return alu_shift<LAZY_SHL>(s, size, value, count);
}
inline uint64_t alu_shr(CpuState &s, unsigned size, uint64_t value,
                        uint64_t count) {
  return alu_shift<LAZY_SHR>(s, size, value, count);
}
inline uint64_t alu_sar(CpuState &s, unsigned size, uint64_t value,
                        uint64_t count) {
  return alu_shift<LAZY_SAR>(s, size, value, count);
}
uint64_t alu_rol(CpuState &s, unsigned size, uint64_t value, uint64_t count);
uint64_t alu_ror(CpuState &s, unsigned size, uint64_t value, uint64_t count);
uint64_t alu_rcl(CpuState &s, unsigned size, uint64_t value, uint64_t count,
                 bool carry);
uint64_t alu_rcr(CpuState &s, unsigned size, uint64_t value, uint64_t count,
                 bool carry);
// Double-precision shifts: `fill` supplies the bits shifted in. For 16-bit
// operands a masked count above 16 shifts through fill:dst:fill (the
// result the SDM calls undefined; Intel processors produce this one).
uint64_t alu_shld(CpuState &s, unsigned size, uint64_t dst, uint64_t fill,
                  uint64_t count);
uint64_t alu_shrd(CpuState &s, unsigned size, uint64_t dst, uint64_t fill,
                  uint64_t count);

// ---- multiply: return the low half of the double-width product and
// store the high half in `high` (both masked to `size`).
inline uint64_t alu_mul(CpuState &s, unsigned size, uint64_t a, uint64_t b,
                        uint64_t &high) {
  const uint64_t mask = size_mask(size);
  const unsigned __int128 product =
      static_cast<unsigned __int128>(a & mask) * (b & mask);
  const uint64_t low = static_cast<uint64_t>(product) & mask;
  high = static_cast<uint64_t>(product >> size_bits(size)) & mask;
  set_lazy(s, LAZY_MUL, size, 0, high != 0, low);
  return low;
}
inline uint64_t alu_imul(CpuState &s, unsigned size, uint64_t a, uint64_t b,
                         uint64_t &high) {
  const uint64_t mask = size_mask(size);
  const __int128 product =
      static_cast<__int128>(sign_extend(a, size)) * sign_extend(b, size);
  const uint64_t low = static_cast<uint64_t>(product) & mask;
  high = static_cast<uint64_t>(product >> size_bits(size)) & mask;
  const bool overflow = product != sign_extend(low, size);
  set_lazy(s, LAZY_MUL, size, 0, overflow, low);
  return low;
}

// ---- bit instructions
inline void set_bit_test_flags(CpuState &s, bool bit) {
  update_arith_flags(s, CF, flag_if(bit, CF));
}
// BSF/BSR: return false (destination left unchanged) when the source is
// 0, else store the bit index found in `index`.
bool alu_bsf(CpuState &s, unsigned size, uint64_t source, uint64_t &index);
bool alu_bsr(CpuState &s, unsigned size, uint64_t source, uint64_t &index);
// LZCNT/TZCNT: CF when the source is 0, ZF when the count is 0.
inline void set_count_flags(CpuState &s, bool source_zero, uint64_t count) {
  set_arith_flags(s, flag_if(source_zero, CF) | flag_if(count == 0, ZF));
}
// POPCNT: ZF when the source is 0, the others cleared.
inline void set_popcnt_flags(CpuState &s, bool source_zero) {
  set_arith_flags(s, flag_if(source_zero, ZF));
}

// ---- BCD adjustments: SF ZF PF from the adjusted AL; CF and AF as the
// algorithm decided; OF 0.
inline void set_bcd_flags(CpuState &s, uint8_t al, bool carry, bool adjust) {
  set_arith_flags(s, result_flags(al, 1) | flag_if(carry, CF) |
                         flag_if(adjust, AF));
}

} // namespace sable::cpu
