#pragma once
// IEEE 754 extended precision (the x87 register format: sign, 15-bit
// exponent, 64-bit significand with an explicit integer bit) in software.
// Every operation is computed exactly on integer significands (128-bit
// intermediates) and rounded once, honouring the x87 rounding control,
// precision control (24/53/64-bit significands for the basic arithmetic)
// and its exception flags. Results follow the masked responses of the
// Intel SDM vol. 1, chapter 4 and 8 (real indefinite, NaN propagation,
// infinities on overflow...); the x87 layer decides what unmasked
// exceptions do with them, except for the register-destination bias
// adjustment of unmasked overflow/underflow, which happens here.

#include <cstdint>

namespace sable::cpu {

using uint128 = unsigned __int128;

struct Float80 {
  uint64_t significand = 0;
  uint16_t sign_exponent = 0;

  bool sign() const { return sign_exponent & 0x8000; }
  uint16_t exponent() const { return sign_exponent & 0x7fff; }
  bool operator==(const Float80 &) const = default;
};

constexpr uint16_t kF80ExponentBias = 16383;
constexpr uint16_t kF80MaxExponent = 0x7fff;
// The exponent shift applied to results of unmasked overflow/underflow
// that go to a register (SDM vol. 1, 8.5.4 and 8.5.5).
constexpr int32_t kF80BiasAdjust = 24576;

// Exception flags, in their FSW/FCW bit positions.
enum FpException : uint8_t {
  FP_INVALID = 1 << 0,
  FP_DENORMAL = 1 << 1,
  FP_ZERO_DIVIDE = 1 << 2,
  FP_OVERFLOW = 1 << 3,
  FP_UNDERFLOW = 1 << 4,
  FP_PRECISION = 1 << 5,
};
constexpr uint8_t kFpAllExceptions = 0x3f;

// FCW.RC encoding.
enum class FpRounding : uint8_t { Nearest, Down, Up, TowardZero };

// The rounding environment of one operation and what it raised.
struct FpContext {
  FpRounding rounding = FpRounding::Nearest;
  uint8_t precision = 64;           // significand bits: 24, 53 or 64
  uint8_t masks = kFpAllExceptions; // 1 = masked, FCW bits 0-5
  uint8_t flags = 0;                // raised exceptions
  bool rounded_up = false;          // the rounding increased the magnitude (C1)

  // From an x87 control word (PC 01, reserved, behaves as 64 bits).
  static FpContext from_control_word(uint16_t fcw);
  void raise(uint8_t exceptions) { flags |= exceptions; }
  bool masked(uint8_t exception) const { return masks & exception; }
};

enum class FpClass : uint8_t {
  Zero,
  Denormal, // includes pseudo-denormals (exponent 0, integer bit set)
  Normal,
  Infinity,
  QuietNaN,
  SignalingNaN,
  Unsupported, // unnormals, pseudo-NaNs, pseudo-infinities
};
FpClass f80_classify(Float80 value);
inline bool f80_is_nan(Float80 v) {
  FpClass c = f80_classify(v);
  return c == FpClass::QuietNaN || c == FpClass::SignalingNaN;
}

constexpr Float80 kF80Zero{0, 0};
constexpr Float80 kF80One{0x8000000000000000ull, kF80ExponentBias};
// The x87 default QNaN ("real indefinite").
constexpr Float80 kF80Indefinite{0xc000000000000000ull, 0xffff};
constexpr Float80 kF80Infinity{0x8000000000000000ull, kF80MaxExponent};
inline Float80 f80_negate(Float80 v) {
  return {v.significand, static_cast<uint16_t>(v.sign_exponent ^ 0x8000)};
}
inline Float80 f80_abs(Float80 v) {
  return {v.significand, static_cast<uint16_t>(v.sign_exponent & 0x7fff)};
}
inline Float80 f80_with_sign(Float80 v, bool negative) {
  return {v.significand, static_cast<uint16_t>((v.sign_exponent & 0x7fff) |
                                               (negative ? 0x8000 : 0))};
}

// Rounds sign * significand * 2^(exponent - 16383 - 127) to the context's
// precision (an exact significand; bit 127 need not be set). Raises
// OE/UE/PE and sets rounded_up; handles denormal results, masked overflow
// (infinity or the largest finite value by rounding mode) and the bias
// adjustment of unmasked overflow/underflow. `precision` overrides the
// context's (the x87 rounds everything but the basic arithmetic to 64).
Float80 f80_round(bool sign, int32_t exponent, uint128 significand,
                  FpContext &ctx, unsigned precision = 64);

// The basic arithmetic: precision control applies.
Float80 f80_add(Float80 a, Float80 b, FpContext &ctx);
Float80 f80_sub(Float80 a, Float80 b, FpContext &ctx);
Float80 f80_mul(Float80 a, Float80 b, FpContext &ctx);
Float80 f80_div(Float80 a, Float80 b, FpContext &ctx);
Float80 f80_sqrt(Float80 a, FpContext &ctx);

// FRNDINT: to an integral value by the rounding mode.
Float80 f80_round_to_integer(Float80 a, FpContext &ctx);
// FSCALE: a * 2^trunc(b).
Float80 f80_scale(Float80 a, Float80 b, FpContext &ctx);
// FXTRACT: the unbiased exponent and the significand (1 <= |s| < 2).
// Zero gives -infinity and raises ZE.
void f80_extract(Float80 a, Float80 &exponent, Float80 &significand,
                 FpContext &ctx);

// FPREM (nearest = false, quotient truncated) and FPREM1 (IEEE remainder,
// quotient rounded to nearest even). When the exponents differ by 64 or
// more the reduction is partial (complete = false) and must be repeated.
struct FpRemainder {
  Float80 value;
  uint64_t quotient = 0; // its low three bits go to C0, C3, C1
  bool complete = true;
};
FpRemainder f80_remainder(Float80 a, Float80 b, bool nearest, FpContext &ctx);

enum class FpRelation : uint8_t { Less, Equal, Greater, Unordered };
// `quiet` (FUCOM*): only signaling NaNs raise IE; otherwise any NaN does.
FpRelation f80_compare(Float80 a, Float80 b, bool quiet, FpContext &ctx);

// Integers. Conversion to an integer of `bytes` (2, 4, 8) rounds by the
// context's mode (or truncates); NaNs, infinities and out-of-range values
// raise IE and give the integer indefinite (the most negative value).
Float80 f80_from_int(int64_t value);
int64_t f80_to_int(Float80 a, unsigned bytes, bool truncate, FpContext &ctx);

// Binary32/binary64 memory formats. Loads are exact (signaling NaNs are
// quieted with IE, unless an arithmetic instruction wants the operand as
// it is; denormals raise DE); stores round to the format.
Float80 f80_from_f32(uint32_t bits, FpContext &ctx,
                     bool quiet_signaling = true);
Float80 f80_from_f64(uint64_t bits, FpContext &ctx,
                     bool quiet_signaling = true);
uint32_t f80_to_f32(Float80 a, FpContext &ctx);
uint64_t f80_to_f64(Float80 a, FpContext &ctx);

// 18-digit packed BCD (10 bytes, sign in bit 79). Unsupported digits load
// as whatever value their nibbles weigh, as on hardware. Stores round by
// the mode; out of range or NaN raises IE and stores the BCD indefinite.
Float80 f80_from_bcd(const uint8_t bcd[10]);
void f80_to_bcd(Float80 a, uint8_t bcd[10], FpContext &ctx);

// Quiets an SNaN (raising IE), or returns the operand when it is a NaN;
// for two operands, the x87 propagation rule (SDM vol. 1, table 4-7).
Float80 f80_propagate_nan(Float80 a, FpContext &ctx);
Float80 f80_propagate_nan(Float80 a, Float80 b, FpContext &ctx);

} // namespace sable::cpu
