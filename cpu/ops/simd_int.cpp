// Packed integer arithmetic of MMX, SSE2, SSSE3 and SSE4.1 (add/subtract
// with and without saturation, compares, min/max, logic, shifts,
// multiplies, horizontal forms, PTEST, PMOVSX/PMOVZX) and SSE4.2's CRC32.

#include <algorithm>
#include <cstdlib>
#include <limits>
#include <type_traits>

#include "cpu/cpu.h"
#include "cpu/flags.h"
#include "cpu/ops/simd.h"

namespace sable::cpu::simd {

namespace {

template <typename T> T saturate(int64_t value) {
  return static_cast<T>(std::clamp<int64_t>(
      value, std::numeric_limits<T>::min(), std::numeric_limits<T>::max()));
}

// Destination operand 0, source operand 1 (16-byte aligned in memory for
// the legacy SSE forms); both widened to a Vec.
struct Operands {
  Vec dst, src;
  unsigned width = 16;
};

bool load(Cpu &cpu, const Instruction &insn, Operands &ops) {
  ops.width = vector_width(insn, 0);
  return read_vec(cpu, insn, 0, ops.width, false, ops.dst) &&
         read_vec(cpu, insn, 1, ops.width, ops.width == 16, ops.src);
}

template <typename T, T (*Fn)(T, T)>
bool lanes(Cpu &cpu, const Instruction &insn) {
  Operands ops;
  if (!load(cpu, insn, ops))
    return false;
  Vec out;
  for (unsigned i = 0; i < ops.width / sizeof(T); i++)
    out.set<T>(i, Fn(ops.dst.get<T>(i), ops.src.get<T>(i)));
  return write_vec(cpu, insn, 0, ops.width, false, out);
}

template <typename T> T add(T a, T b) {
  return static_cast<T>(a + b);
}
template <typename T> T sub(T a, T b) {
  return static_cast<T>(a - b);
}
template <typename T> T add_sat(T a, T b) {
  return saturate<T>(int64_t{a} + int64_t{b});
}
template <typename T> T sub_sat(T a, T b) {
  return saturate<T>(int64_t{a} - int64_t{b});
}
template <typename T> T cmp_eq(T a, T b) {
  return a == b ? static_cast<T>(~T{0}) : T{0};
}
template <typename T> T cmp_gt(T a, T b) {
  return a > b ? static_cast<T>(~T{0}) : T{0};
}
template <typename T> T min_of(T a, T b) {
  return std::min(a, b);
}
template <typename T> T max_of(T a, T b) {
  return std::max(a, b);
}
uint64_t bit_and(uint64_t a, uint64_t b) {
  return a & b;
}
uint64_t bit_andn(uint64_t a, uint64_t b) {
  return ~a & b;
}
uint64_t bit_or(uint64_t a, uint64_t b) {
  return a | b;
}
uint64_t bit_xor(uint64_t a, uint64_t b) {
  return a ^ b;
}
template <typename T> T average(T a, T b) {
  return static_cast<T>((uint32_t{a} + uint32_t{b} + 1) >> 1);
}
template <typename T> T mul_low(T a, T b) {
  return static_cast<T>(int64_t{a} * int64_t{b});
}
template <typename T> T mul_high(T a, T b) {
  return static_cast<T>((int64_t{a} * int64_t{b}) >> (8 * sizeof(T)));
}
int16_t mul_high_round(int16_t a, int16_t b) {
  return static_cast<int16_t>((((int32_t{a} * b) >> 14) + 1) >> 1);
}
template <typename T> T sign(T a, T b) {
  if (b < 0)
    return static_cast<T>(-a);
  return b == 0 ? T{0} : a;
}

// PABSB/W/D: the source operand alone.
template <typename T> bool absolute(Cpu &cpu, const Instruction &insn) {
  Operands ops;
  if (!load(cpu, insn, ops))
    return false;
  Vec out;
  for (unsigned i = 0; i < ops.width / sizeof(T); i++) {
    const T v = ops.src.get<T>(i);
    out.set<T>(i, static_cast<T>(v < 0 ? -v : v));
  }
  return write_vec(cpu, insn, 0, ops.width, false, out);
}

// ---- shifts: by the source operand's low quadword or by an immediate.
enum class Shift { Left, Right, Arithmetic };

template <typename T, Shift Kind> T shift_lane(T value, uint64_t count) {
  constexpr unsigned kBits = 8 * sizeof(T);
  using S = std::make_signed_t<T>;
  if (Kind == Shift::Arithmetic)
    return static_cast<T>(static_cast<S>(value) >>
                          std::min<uint64_t>(count, kBits - 1));
  if (count >= kBits)
    return 0;
  return Kind == Shift::Left ? static_cast<T>(value << count)
                             : static_cast<T>(value >> count);
}

template <typename T, Shift Kind>
bool shift_apply(Cpu &cpu, const Instruction &insn, uint64_t count) {
  const unsigned width = vector_width(insn, 0);
  Vec value;
  if (!read_vec(cpu, insn, 0, width, false, value))
    return false;
  for (unsigned i = 0; i < width / sizeof(T); i++)
    value.set<T>(i, shift_lane<T, Kind>(value.get<T>(i), count));
  return write_vec(cpu, insn, 0, width, false, value);
}

template <typename T, Shift Kind>
bool shift_by_operand(Cpu &cpu, const Instruction &insn) {
  const unsigned width = vector_width(insn, 0);
  Vec count;
  if (!read_vec(cpu, insn, 1, width, width == 16, count))
    return false;
  return shift_apply<T, Kind>(cpu, insn, count.get<uint64_t>(0));
}

// PSRLDQ / PSLLDQ: whole-register byte shifts.
bool byte_shift(Cpu &cpu, const Instruction &insn, bool left) {
  const Vec value = get_xmm(cpu, insn.operands[0].reg);
  const unsigned count =
      static_cast<unsigned>(std::min<uint64_t>(insn.imm, 16));
  Vec out;
  for (unsigned i = 0; i < 16; i++) {
    const int from = left ? int(i) - int(count) : int(i + count);
    if (from >= 0 && from < 16)
      out.b[i] = value.b[from];
  }
  set_xmm(cpu, insn.operands[0].reg, out);
  return true;
}

// Groups 12..14 (0F 71..73): ModRM reg picks the shift.
template <typename T> bool shift_group(Cpu &cpu, const Instruction &insn) {
  const uint64_t count = insn.imm & 0xff;
  switch (modrm_reg(insn)) {
  case 2:
    return shift_apply<T, Shift::Right>(cpu, insn, count);
  case 4:
    if constexpr (sizeof(T) < 8)
      return shift_apply<T, Shift::Arithmetic>(cpu, insn, count);
    break;
  case 6:
    return shift_apply<T, Shift::Left>(cpu, insn, count);
  case 3:
    if (sizeof(T) == 8 && insn.mandatory_prefix == 0x66)
      return byte_shift(cpu, insn, false);
    break;
  case 7:
    if (sizeof(T) == 8 && insn.mandatory_prefix == 0x66)
      return byte_shift(cpu, insn, true);
    break;
  default:
    break;
  }
  return cpu.fault(EXC_UD);
}

// ---- multiplies and sums of products
bool pmuludq(Cpu &cpu, const Instruction &insn) {
  Operands ops;
  if (!load(cpu, insn, ops))
    return false;
  Vec out;
  for (unsigned i = 0; i < ops.width / 8; i++)
    out.set<uint64_t>(i, uint64_t{ops.dst.get<uint32_t>(2 * i)} *
                             ops.src.get<uint32_t>(2 * i));
  return write_vec(cpu, insn, 0, ops.width, false, out);
}

bool pmuldq(Cpu &cpu, const Instruction &insn) {
  Operands ops;
  if (!load(cpu, insn, ops))
    return false;
  Vec out;
  for (unsigned i = 0; i < 2; i++)
    out.set<int64_t>(i, int64_t{ops.dst.get<int32_t>(2 * i)} *
                            ops.src.get<int32_t>(2 * i));
  return write_vec(cpu, insn, 0, 16, false, out);
}

bool pmaddwd(Cpu &cpu, const Instruction &insn) {
  Operands ops;
  if (!load(cpu, insn, ops))
    return false;
  Vec out;
  for (unsigned i = 0; i < ops.width / 4; i++) {
    const int64_t sum =
        int64_t{ops.dst.get<int16_t>(2 * i)} * ops.src.get<int16_t>(2 * i) +
        int64_t{ops.dst.get<int16_t>(2 * i + 1)} *
            ops.src.get<int16_t>(2 * i + 1);
    out.set<uint32_t>(i, static_cast<uint32_t>(sum));
  }
  return write_vec(cpu, insn, 0, ops.width, false, out);
}

bool pmaddubsw(Cpu &cpu, const Instruction &insn) {
  Operands ops;
  if (!load(cpu, insn, ops))
    return false;
  Vec out;
  for (unsigned i = 0; i < ops.width / 2; i++) {
    const int64_t sum =
        int64_t{ops.dst.get<uint8_t>(2 * i)} * ops.src.get<int8_t>(2 * i) +
        int64_t{ops.dst.get<uint8_t>(2 * i + 1)} *
            ops.src.get<int8_t>(2 * i + 1);
    out.set<int16_t>(i, saturate<int16_t>(sum));
  }
  return write_vec(cpu, insn, 0, ops.width, false, out);
}

bool psadbw(Cpu &cpu, const Instruction &insn) {
  Operands ops;
  if (!load(cpu, insn, ops))
    return false;
  Vec out;
  for (unsigned q = 0; q < ops.width / 8; q++) {
    unsigned sum = 0;
    for (unsigned i = 8 * q; i < 8 * q + 8; i++)
      sum += static_cast<unsigned>(std::abs(int{ops.dst.b[i]} - ops.src.b[i]));
    out.set<uint64_t>(q, sum);
  }
  return write_vec(cpu, insn, 0, ops.width, false, out);
}

// PHADD*/PHSUB*: pairs of the destination fill the low half of the
// result, pairs of the source the high half.
template <typename T, T (*Fn)(T, T)>
bool horizontal(Cpu &cpu, const Instruction &insn) {
  Operands ops;
  if (!load(cpu, insn, ops))
    return false;
  const unsigned half = ops.width / sizeof(T) / 2;
  Vec out;
  for (unsigned i = 0; i < half; i++) {
    out.set<T>(i, Fn(ops.dst.get<T>(2 * i), ops.dst.get<T>(2 * i + 1)));
    out.set<T>(half + i, Fn(ops.src.get<T>(2 * i), ops.src.get<T>(2 * i + 1)));
  }
  return write_vec(cpu, insn, 0, ops.width, false, out);
}

bool ptest(Cpu &cpu, const Instruction &insn) {
  Operands ops;
  if (!load(cpu, insn, ops))
    return false;
  uint64_t and_bits = 0, andn_bits = 0;
  for (unsigned i = 0; i < 2; i++) {
    and_bits |= ops.dst.get<uint64_t>(i) & ops.src.get<uint64_t>(i);
    andn_bits |= ~ops.dst.get<uint64_t>(i) & ops.src.get<uint64_t>(i);
  }
  set_arith_flags(cpu.state, (and_bits == 0 ? uint64_t{ZF} : 0) |
                                 (andn_bits == 0 ? uint64_t{CF} : 0));
  return true;
}

// PMOVSX*/PMOVZX*: the low elements of the source widened; a memory
// source is exactly as large as the elements used.
template <typename From, typename To>
bool widen(Cpu &cpu, const Instruction &insn) {
  constexpr unsigned kCount = 16 / sizeof(To);
  Vec src;
  if (!read_vec(cpu, insn, 1, kCount * sizeof(From), false, src))
    return false;
  Vec out;
  for (unsigned i = 0; i < kCount; i++)
    out.set<To>(i, static_cast<To>(src.get<From>(i)));
  return write_vec(cpu, insn, 0, 16, false, out);
}

bool phminposuw(Cpu &cpu, const Instruction &insn) {
  Operands ops;
  if (!load(cpu, insn, ops))
    return false;
  unsigned index = 0;
  for (unsigned i = 1; i < 8; i++)
    if (ops.src.get<uint16_t>(i) < ops.src.get<uint16_t>(index))
      index = i;
  Vec out;
  out.set<uint16_t>(0, ops.src.get<uint16_t>(index));
  out.set<uint16_t>(1, static_cast<uint16_t>(index));
  return write_vec(cpu, insn, 0, 16, false, out);
}

// MPSADBW: imm[2] picks the destination block of 11 bytes, imm[1:0] the
// source dword; eight sums of absolute differences of four bytes.
bool mpsadbw(Cpu &cpu, const Instruction &insn) {
  Operands ops;
  if (!load(cpu, insn, ops))
    return false;
  const unsigned dst_offset = ((insn.imm >> 2) & 1) * 4;
  const unsigned src_offset = (insn.imm & 3) * 4;
  Vec out;
  for (unsigned i = 0; i < 8; i++) {
    unsigned sum = 0;
    for (unsigned j = 0; j < 4; j++)
      sum += static_cast<unsigned>(std::abs(int{ops.dst.b[dst_offset + i + j]} -
                                            ops.src.b[src_offset + j]));
    out.set<uint16_t>(i, static_cast<uint16_t>(sum));
  }
  return write_vec(cpu, insn, 0, 16, false, out);
}

// PCLMULQDQ: imm[0] picks the destination quadword, imm[4] the source's.
bool pclmulqdq(Cpu &cpu, const Instruction &insn) {
  Operands ops;
  if (!load(cpu, insn, ops))
    return false;
  const uint64_t a = ops.dst.get<uint64_t>(insn.imm & 1);
  const uint64_t b = ops.src.get<uint64_t>((insn.imm >> 4) & 1);
  uint64_t low = 0, high = 0;
  for (unsigned i = 0; i < 64; i++) {
    if (!((b >> i) & 1))
      continue;
    low ^= a << i;
    if (i)
      high ^= a >> (64 - i);
  }
  Vec out;
  out.set<uint64_t>(0, low);
  out.set<uint64_t>(1, high);
  return write_vec(cpu, insn, 0, 16, false, out);
}

// CRC32 (F2 0F 38 F0/F1): CRC-32C, reflected polynomial 0x82F63B78, over
// the source's bytes in memory order. The 64-bit destination form
// zero-extends the 32-bit result.
bool crc32(Cpu &cpu, const Instruction &insn) {
  uint64_t data = 0;
  if (!cpu.read_operand(insn, 1, data))
    return false;
  uint32_t crc = static_cast<uint32_t>(cpu.reg(insn.operands[0].reg, 4));
  for (unsigned byte = 0; byte < insn.operands[1].size; byte++) {
    crc ^= static_cast<uint8_t>(data >> (8 * byte));
    for (unsigned bit = 0; bit < 8; bit++)
      crc = (crc >> 1) ^ ((crc & 1) ? 0x82f63b78u : 0);
  }
  cpu.set_reg(insn.operands[0].reg, insn.operands[0].size, crc);
  return true;
}

} // namespace

void register_integer(Registry &r) {
  constexpr uint8_t kBoth = NP | P66;
  // ANDPS/ANDPD, ANDNPS/ANDNPD, ORPS/ORPD, XORPS/XORPD are the same bitwise
  // operations as PAND..PXOR.
  r.add(M0F, 0x54, kBoth, lanes<uint64_t, bit_and>);
  r.add(M0F, 0x55, kBoth, lanes<uint64_t, bit_andn>);
  r.add(M0F, 0x56, kBoth, lanes<uint64_t, bit_or>);
  r.add(M0F, 0x57, kBoth, lanes<uint64_t, bit_xor>);
  r.add(M0F, 0x64, kBoth, lanes<int8_t, cmp_gt<int8_t>>);
  r.add(M0F, 0x65, kBoth, lanes<int16_t, cmp_gt<int16_t>>);
  r.add(M0F, 0x66, kBoth, lanes<int32_t, cmp_gt<int32_t>>);
  r.add(M0F, 0x71, kBoth, shift_group<uint16_t>);
  r.add(M0F, 0x72, kBoth, shift_group<uint32_t>);
  r.add(M0F, 0x73, kBoth, shift_group<uint64_t>);
  r.add(M0F, 0x74, kBoth, lanes<uint8_t, cmp_eq<uint8_t>>);
  r.add(M0F, 0x75, kBoth, lanes<uint16_t, cmp_eq<uint16_t>>);
  r.add(M0F, 0x76, kBoth, lanes<uint32_t, cmp_eq<uint32_t>>);
  r.add(M0F, 0xd1, kBoth, shift_by_operand<uint16_t, Shift::Right>);
  r.add(M0F, 0xd2, kBoth, shift_by_operand<uint32_t, Shift::Right>);
  r.add(M0F, 0xd3, kBoth, shift_by_operand<uint64_t, Shift::Right>);
  r.add(M0F, 0xd4, kBoth, lanes<uint64_t, add<uint64_t>>);
  r.add(M0F, 0xd5, kBoth, lanes<int16_t, mul_low<int16_t>>);
  r.add(M0F, 0xd8, kBoth, lanes<uint8_t, sub_sat<uint8_t>>);
  r.add(M0F, 0xd9, kBoth, lanes<uint16_t, sub_sat<uint16_t>>);
  r.add(M0F, 0xda, kBoth, lanes<uint8_t, min_of<uint8_t>>);
  r.add(M0F, 0xdb, kBoth, lanes<uint64_t, bit_and>);
  r.add(M0F, 0xdc, kBoth, lanes<uint8_t, add_sat<uint8_t>>);
  r.add(M0F, 0xdd, kBoth, lanes<uint16_t, add_sat<uint16_t>>);
  r.add(M0F, 0xde, kBoth, lanes<uint8_t, max_of<uint8_t>>);
  r.add(M0F, 0xdf, kBoth, lanes<uint64_t, bit_andn>);
  r.add(M0F, 0xe0, kBoth, lanes<uint8_t, average<uint8_t>>);
  r.add(M0F, 0xe1, kBoth, shift_by_operand<uint16_t, Shift::Arithmetic>);
  r.add(M0F, 0xe2, kBoth, shift_by_operand<uint32_t, Shift::Arithmetic>);
  r.add(M0F, 0xe3, kBoth, lanes<uint16_t, average<uint16_t>>);
  r.add(M0F, 0xe4, kBoth, lanes<uint16_t, mul_high<uint16_t>>);
  r.add(M0F, 0xe5, kBoth, lanes<int16_t, mul_high<int16_t>>);
  r.add(M0F, 0xe8, kBoth, lanes<int8_t, sub_sat<int8_t>>);
  r.add(M0F, 0xe9, kBoth, lanes<int16_t, sub_sat<int16_t>>);
  r.add(M0F, 0xea, kBoth, lanes<int16_t, min_of<int16_t>>);
  r.add(M0F, 0xeb, kBoth, lanes<uint64_t, bit_or>);
  r.add(M0F, 0xec, kBoth, lanes<int8_t, add_sat<int8_t>>);
  r.add(M0F, 0xed, kBoth, lanes<int16_t, add_sat<int16_t>>);
  r.add(M0F, 0xee, kBoth, lanes<int16_t, max_of<int16_t>>);
  r.add(M0F, 0xef, kBoth, lanes<uint64_t, bit_xor>);
  r.add(M0F, 0xf1, kBoth, shift_by_operand<uint16_t, Shift::Left>);
  r.add(M0F, 0xf2, kBoth, shift_by_operand<uint32_t, Shift::Left>);
  r.add(M0F, 0xf3, kBoth, shift_by_operand<uint64_t, Shift::Left>);
  r.add(M0F, 0xf4, kBoth, pmuludq);
  r.add(M0F, 0xf5, kBoth, pmaddwd);
  r.add(M0F, 0xf6, kBoth, psadbw);
  r.add(M0F, 0xf8, kBoth, lanes<uint8_t, sub<uint8_t>>);
  r.add(M0F, 0xf9, kBoth, lanes<uint16_t, sub<uint16_t>>);
  r.add(M0F, 0xfa, kBoth, lanes<uint32_t, sub<uint32_t>>);
  r.add(M0F, 0xfb, kBoth, lanes<uint64_t, sub<uint64_t>>);
  r.add(M0F, 0xfc, kBoth, lanes<uint8_t, add<uint8_t>>);
  r.add(M0F, 0xfd, kBoth, lanes<uint16_t, add<uint16_t>>);
  r.add(M0F, 0xfe, kBoth, lanes<uint32_t, add<uint32_t>>);

  // SSSE3 (MMX and XMM forms).
  r.add(M38, 0x01, kBoth, horizontal<uint16_t, add<uint16_t>>);
  r.add(M38, 0x02, kBoth, horizontal<uint32_t, add<uint32_t>>);
  r.add(M38, 0x03, kBoth, horizontal<int16_t, add_sat<int16_t>>);
  r.add(M38, 0x04, kBoth, pmaddubsw);
  r.add(M38, 0x05, kBoth, horizontal<uint16_t, sub<uint16_t>>);
  r.add(M38, 0x06, kBoth, horizontal<uint32_t, sub<uint32_t>>);
  r.add(M38, 0x07, kBoth, horizontal<int16_t, sub_sat<int16_t>>);
  r.add(M38, 0x08, kBoth, lanes<int8_t, sign<int8_t>>);
  r.add(M38, 0x09, kBoth, lanes<int16_t, sign<int16_t>>);
  r.add(M38, 0x0a, kBoth, lanes<int32_t, sign<int32_t>>);
  r.add(M38, 0x0b, kBoth, lanes<int16_t, mul_high_round>);
  r.add(M38, 0x1c, kBoth, absolute<int8_t>);
  r.add(M38, 0x1d, kBoth, absolute<int16_t>);
  r.add(M38, 0x1e, kBoth, absolute<int32_t>);

  // SSE4.1 / SSE4.2 / PCLMULQDQ.
  r.add(M38, 0x17, P66, ptest);
  r.add(M38, 0x20, P66, widen<int8_t, int16_t>);
  r.add(M38, 0x21, P66, widen<int8_t, int32_t>);
  r.add(M38, 0x22, P66, widen<int8_t, int64_t>);
  r.add(M38, 0x23, P66, widen<int16_t, int32_t>);
  r.add(M38, 0x24, P66, widen<int16_t, int64_t>);
  r.add(M38, 0x25, P66, widen<int32_t, int64_t>);
  r.add(M38, 0x28, P66, pmuldq);
  r.add(M38, 0x29, P66, lanes<uint64_t, cmp_eq<uint64_t>>);
  r.add(M38, 0x30, P66, widen<uint8_t, uint16_t>);
  r.add(M38, 0x31, P66, widen<uint8_t, uint32_t>);
  r.add(M38, 0x32, P66, widen<uint8_t, uint64_t>);
  r.add(M38, 0x33, P66, widen<uint16_t, uint32_t>);
  r.add(M38, 0x34, P66, widen<uint16_t, uint64_t>);
  r.add(M38, 0x35, P66, widen<uint32_t, uint64_t>);
  r.add(M38, 0x37, P66, lanes<int64_t, cmp_gt<int64_t>>);
  r.add(M38, 0x38, P66, lanes<int8_t, min_of<int8_t>>);
  r.add(M38, 0x39, P66, lanes<int32_t, min_of<int32_t>>);
  r.add(M38, 0x3a, P66, lanes<uint16_t, min_of<uint16_t>>);
  r.add(M38, 0x3b, P66, lanes<uint32_t, min_of<uint32_t>>);
  r.add(M38, 0x3c, P66, lanes<int8_t, max_of<int8_t>>);
  r.add(M38, 0x3d, P66, lanes<int32_t, max_of<int32_t>>);
  r.add(M38, 0x3e, P66, lanes<uint16_t, max_of<uint16_t>>);
  r.add(M38, 0x3f, P66, lanes<uint32_t, max_of<uint32_t>>);
  r.add(M38, 0x40, P66, lanes<int32_t, mul_low<int32_t>>);
  r.add(M38, 0x41, P66, phminposuw);
  r.add(M38, 0xf0, PF2, crc32, Checks::Own);
  r.add(M38, 0xf1, PF2, crc32, Checks::Own);
  r.add(M3A, 0x42, P66, mpsadbw);
  r.add(M3A, 0x44, P66, pclmulqdq);
}

} // namespace sable::cpu::simd
