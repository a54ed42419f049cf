// Extended-precision soft-float. Values are unpacked to a sign, a biased
// exponent that may leave the encodable range, and a significand whose top
// bit is the integer bit; results are formed exactly in 128 bits (the low
// bit "jammed" with everything shifted out) and rounded once by
// round_to_format.

#include "cpu/float80.h"

namespace sable::cpu {

namespace {

constexpr int32_t kBias = kF80ExponentBias;
constexpr uint64_t kIntegerBit = 0x8000000000000000ull;
constexpr uint64_t kQuietBit = 0x4000000000000000ull;

unsigned leading_zeros(uint128 v) {
  const uint64_t high = static_cast<uint64_t>(v >> 64);
  if (high)
    return __builtin_clzll(high);
  return 64 + __builtin_clzll(static_cast<uint64_t>(v));
}

// Shifts right, ORing every bit shifted out into bit 0 so that rounding
// still sees an inexact value.
uint128 shift_right_jam(uint128 v, int32_t count) {
  if (count <= 0)
    return v;
  if (count >= 128)
    return v != 0;
  const uint128 lost = v & ((uint128{1} << count) - 1);
  return (v >> count) | (lost != 0);
}

struct Unpacked {
  bool sign;
  int32_t exponent;     // biased; below 1 for normalized denormals
  uint64_t significand; // bit 63 set
};

// For finite nonzero supported values.
Unpacked unpack(Float80 v) {
  int32_t exponent = v.exponent();
  uint64_t significand = v.significand;
  if (exponent == 0) {
    const int shift = __builtin_clzll(significand);
    significand <<= shift;
    exponent = 1 - shift;
  }
  return {v.sign(), exponent, significand};
}

Float80 pack(bool sign, int32_t exponent, uint64_t significand) {
  return {significand,
          static_cast<uint16_t>((sign ? 0x8000 : 0) | (exponent & 0x7fff))};
}

Float80 signed_zero(bool sign) {
  return pack(sign, 0, 0);
}
Float80 signed_infinity(bool sign) {
  return pack(sign, 0x7fff, kIntegerBit);
}

// A pseudo-denormal (exponent 0 with the integer bit set) passed through
// unchanged comes out in its normal encoding, exponent 1.
Float80 canonical(Float80 v) {
  if (v.exponent() == 0 && (v.significand & kIntegerBit))
    v.sign_exponent |= 1;
  return v;
}

Float80 quieted(Float80 v) {
  v.significand |= kQuietBit;
  return v;
}

struct Rounded {
  int32_t exponent;     // encoded: 0 for denormals, max_exponent for inf
  uint64_t significand; // left-aligned: the top `precision` bits
};

// Rounds sign * significand * 2^(exponent - bias - 127) (significand != 0;
// exponent biased for the target format) to `precision` significand bits
// in a format whose all-ones exponent is `max_exponent`. `bias_adjust` is
// the x87 wrap-around for unmasked overflow/underflow to a register, 0
// when the destination is memory (the caller then stores nothing).
// Tininess is detected after rounding, as on Intel processors.
Rounded round_to_format(bool sign, int32_t exponent, uint128 significand,
                        FpContext &ctx, unsigned precision,
                        int32_t max_exponent, int32_t bias_adjust) {
  const unsigned shift = leading_zeros(significand);
  significand <<= shift;
  exponent -= static_cast<int32_t>(shift);

  const unsigned dropped = 128 - precision;
  const uint128 low_mask = (uint128{1} << dropped) - 1;
  const uint128 half = uint128{1} << (dropped - 1);
  auto increments = [&](uint128 value) {
    const uint128 rest = value & low_mask;
    if (rest == 0)
      return false;
    switch (ctx.rounding) {
    case FpRounding::Nearest:
      return rest > half || (rest == half && ((value >> dropped) & 1));
    case FpRounding::Down:
      return sign;
    case FpRounding::Up:
      return !sign;
    case FpRounding::TowardZero:
      return false;
    }
    return false;
  };

  bool tiny = false;
  bool denormalized = false;
  if (exponent < 1) {
    const bool reaches_normal = exponent == 0 &&
                                (significand | low_mask) == ~uint128{0} &&
                                increments(significand);
    tiny = !reaches_normal;
    if (tiny && !ctx.masked(FP_UNDERFLOW))
      ctx.raise(FP_UNDERFLOW);
    if (tiny && !ctx.masked(FP_UNDERFLOW) && bias_adjust &&
        exponent + bias_adjust >= 1) {
      exponent += bias_adjust;
      tiny = false;
    } else if (tiny && !ctx.masked(FP_UNDERFLOW) && bias_adjust) {
      // Beyond even the adjusted range (FSCALE): a zero of the same sign.
      ctx.raise(FP_PRECISION);
      ctx.rounded_up = false;
      return {0, 0};
    } else {
      significand = shift_right_jam(significand, 1 - exponent);
      exponent = 1;
      denormalized = true;
    }
  }

  const bool inexact = (significand & low_mask) != 0;
  const bool up = increments(significand);
  uint128 kept = significand >> dropped;
  if (up) {
    kept++;
    if (kept >> precision) {
      kept >>= 1;
      exponent++;
    }
  }
  ctx.rounded_up = up;
  if (inexact) {
    ctx.raise(FP_PRECISION);
    if (tiny)
      ctx.raise(FP_UNDERFLOW);
  }
  if (denormalized && !((kept >> (precision - 1)) & 1))
    exponent = 0;

  if (exponent >= max_exponent) {
    ctx.raise(FP_OVERFLOW);
    if (!ctx.masked(FP_OVERFLOW) && bias_adjust &&
        exponent - bias_adjust < max_exponent) {
      exponent -= bias_adjust;
    } else if (!ctx.masked(FP_OVERFLOW) && bias_adjust) {
      // Beyond even the adjusted range (FSCALE): infinity, whatever the
      // rounding mode, as Intel processors deliver it.
      ctx.raise(FP_PRECISION);
      ctx.rounded_up = true;
      return {max_exponent, kIntegerBit};
    } else {
      ctx.raise(FP_PRECISION);
      const FpRounding mode = ctx.rounding;
      const bool to_infinity = mode == FpRounding::Nearest ||
                               (mode == FpRounding::Up && !sign) ||
                               (mode == FpRounding::Down && sign);
      ctx.rounded_up = to_infinity;
      if (to_infinity)
        return {max_exponent, kIntegerBit};
      return {max_exponent - 1, ~uint64_t{0} << (64 - precision)};
    }
  }
  return {exponent, static_cast<uint64_t>(kept << (64 - precision))};
}

// Handles unsupported encodings and NaNs of a two-operand arithmetic
// instruction (true: `result` is final) and raises DE for denormals.
bool special_operands(Float80 a, Float80 b, FpContext &ctx, Float80 &result) {
  const FpClass ca = f80_classify(a);
  const FpClass cb = f80_classify(b);
  if (ca == FpClass::Unsupported || cb == FpClass::Unsupported) {
    ctx.raise(FP_INVALID);
    result = kF80Indefinite;
    return true;
  }
  if (f80_is_nan(a) || f80_is_nan(b)) {
    result = f80_propagate_nan(a, b, ctx);
    return true;
  }
  if (ca == FpClass::Denormal || cb == FpClass::Denormal)
    ctx.raise(FP_DENORMAL);
  return false;
}

bool special_operand(Float80 a, FpContext &ctx, Float80 &result) {
  const FpClass ca = f80_classify(a);
  if (ca == FpClass::Unsupported) {
    ctx.raise(FP_INVALID);
    result = kF80Indefinite;
    return true;
  }
  if (f80_is_nan(a)) {
    result = f80_propagate_nan(a, ctx);
    return true;
  }
  if (ca == FpClass::Denormal)
    ctx.raise(FP_DENORMAL);
  return false;
}

// An invalid operation or a division by zero outranks the denormal-operand
// exception, which is then not reported.
Float80 invalid(FpContext &ctx) {
  ctx.flags &= ~FP_DENORMAL;
  ctx.raise(FP_INVALID);
  return kF80Indefinite;
}

Float80 add_magnitudes(Float80 a, Float80 b, bool negate_b, FpContext &ctx) {
  Float80 result;
  if (special_operands(a, b, ctx, result))
    return result;
  const FpClass ca = f80_classify(a);
  const FpClass cb = f80_classify(b);
  const bool sign_b = b.sign() != negate_b;
  if (ca == FpClass::Infinity) {
    if (cb == FpClass::Infinity && a.sign() != sign_b)
      return invalid(ctx);
    return a;
  }
  if (cb == FpClass::Infinity)
    return signed_infinity(sign_b);
  const bool exact_zero_sign = ctx.rounding == FpRounding::Down;
  if (ca == FpClass::Zero && cb == FpClass::Zero)
    return signed_zero(a.sign() == sign_b ? a.sign() : exact_zero_sign);
  const unsigned precision = ctx.precision;
  if (ca == FpClass::Zero) {
    const Unpacked y = unpack(b);
    return f80_round(sign_b, y.exponent, uint128{y.significand} << 64, ctx,
                     precision);
  }
  if (cb == FpClass::Zero) {
    const Unpacked x = unpack(a);
    return f80_round(x.sign, x.exponent, uint128{x.significand} << 64, ctx,
                     precision);
  }
  Unpacked x = unpack(a);
  Unpacked y = unpack(b);
  y.sign = sign_b;
  if (x.exponent < y.exponent ||
      (x.exponent == y.exponent && x.significand < y.significand)) {
    const Unpacked t = x;
    x = y;
    y = t;
  }
  // Two bits of headroom for the carry, 62 guard bits below.
  const uint128 larger = uint128{x.significand} << 62;
  const uint128 smaller =
      shift_right_jam(uint128{y.significand} << 62, x.exponent - y.exponent);
  const uint128 sum = x.sign == y.sign ? larger + smaller : larger - smaller;
  if (sum == 0)
    return signed_zero(exact_zero_sign);
  return f80_round(x.sign, x.exponent + 2, sum, ctx, precision);
}

// Rounds |value| = significand * 2^(exponent - bias - 63) to an integer
// (as 128 bits, so values up to 2^64 fit) by `mode`.
uint128 round_to_integer_magnitude(bool sign, int32_t exponent,
                                   uint64_t significand, FpRounding mode,
                                   bool &inexact, bool &up) {
  const int32_t fraction_bits = kBias + 63 - exponent;
  inexact = up = false;
  if (fraction_bits <= 0)
    return uint128{significand} << -fraction_bits;
  const uint128 fixed =
      shift_right_jam(uint128{significand} << 64, fraction_bits);
  uint128 integer = fixed >> 64;
  const uint64_t fraction = static_cast<uint64_t>(fixed);
  if (fraction == 0)
    return integer;
  inexact = true;
  switch (mode) {
  case FpRounding::Nearest:
    up = fraction > kIntegerBit || (fraction == kIntegerBit && (integer & 1));
    break;
  case FpRounding::Down:
    up = sign;
    break;
  case FpRounding::Up:
    up = !sign;
    break;
  case FpRounding::TowardZero:
    break;
  }
  return integer + up;
}

Float80 from_magnitude(bool sign, uint64_t magnitude) {
  if (magnitude == 0)
    return signed_zero(sign);
  const int shift = __builtin_clzll(magnitude);
  return pack(sign, kBias + 63 - shift, magnitude << shift);
}

} // namespace

FpContext FpContext::from_control_word(uint16_t fcw) {
  FpContext ctx;
  ctx.masks = fcw & kFpAllExceptions;
  ctx.rounding = static_cast<FpRounding>((fcw >> 10) & 3);
  switch ((fcw >> 8) & 3) {
  case 0:
    ctx.precision = 24;
    break;
  case 2:
    ctx.precision = 53;
    break;
  default:
    ctx.precision = 64;
    break;
  }
  return ctx;
}

FpClass f80_classify(Float80 v) {
  const uint16_t exponent = v.exponent();
  const bool integer_bit = v.significand & kIntegerBit;
  if (exponent == 0)
    return v.significand == 0 ? FpClass::Zero : FpClass::Denormal;
  if (!integer_bit)
    return FpClass::Unsupported;
  if (exponent == kF80MaxExponent) {
    if ((v.significand << 1) == 0)
      return FpClass::Infinity;
    return (v.significand & kQuietBit) ? FpClass::QuietNaN
                                       : FpClass::SignalingNaN;
  }
  return FpClass::Normal;
}

Float80 f80_propagate_nan(Float80 a, FpContext &ctx) {
  if (f80_classify(a) == FpClass::SignalingNaN)
    ctx.raise(FP_INVALID);
  return quieted(a);
}

Float80 f80_propagate_nan(Float80 a, Float80 b, FpContext &ctx) {
  const FpClass ca = f80_classify(a);
  const FpClass cb = f80_classify(b);
  const bool a_nan = ca == FpClass::QuietNaN || ca == FpClass::SignalingNaN;
  const bool b_nan = cb == FpClass::QuietNaN || cb == FpClass::SignalingNaN;
  if (ca == FpClass::SignalingNaN || cb == FpClass::SignalingNaN)
    ctx.raise(FP_INVALID);
  if (!a_nan)
    return quieted(b);
  if (!b_nan)
    return quieted(a);
  if (ca != cb) // one signaling, one quiet: the quiet one wins
    return ca == FpClass::QuietNaN ? a : b;
  const uint64_t sa = a.significand & ~kQuietBit;
  const uint64_t sb = b.significand & ~kQuietBit;
  if (sa != sb)
    return quieted(sa > sb ? a : b);
  return quieted(a.sign() ? b : a);
}

Float80 f80_round(bool sign, int32_t exponent, uint128 significand,
                  FpContext &ctx, unsigned precision) {
  if (significand == 0) {
    ctx.rounded_up = false;
    return signed_zero(sign);
  }
  const Rounded r = round_to_format(sign, exponent, significand, ctx, precision,
                                    kF80MaxExponent, kF80BiasAdjust);
  return pack(sign, r.exponent, r.significand);
}

Float80 f80_add(Float80 a, Float80 b, FpContext &ctx) {
  return add_magnitudes(a, b, false, ctx);
}

Float80 f80_sub(Float80 a, Float80 b, FpContext &ctx) {
  return add_magnitudes(a, b, true, ctx);
}

Float80 f80_mul(Float80 a, Float80 b, FpContext &ctx) {
  Float80 result;
  if (special_operands(a, b, ctx, result))
    return result;
  const FpClass ca = f80_classify(a);
  const FpClass cb = f80_classify(b);
  const bool sign = a.sign() != b.sign();
  if (ca == FpClass::Infinity || cb == FpClass::Infinity) {
    if (ca == FpClass::Zero || cb == FpClass::Zero)
      return invalid(ctx);
    return signed_infinity(sign);
  }
  if (ca == FpClass::Zero || cb == FpClass::Zero)
    return signed_zero(sign);
  const Unpacked x = unpack(a);
  const Unpacked y = unpack(b);
  const uint128 product = uint128{x.significand} * y.significand;
  return f80_round(sign, x.exponent + y.exponent - kBias + 1, product, ctx,
                   ctx.precision);
}

Float80 f80_div(Float80 a, Float80 b, FpContext &ctx) {
  Float80 result;
  if (special_operands(a, b, ctx, result))
    return result;
  const FpClass ca = f80_classify(a);
  const FpClass cb = f80_classify(b);
  const bool sign = a.sign() != b.sign();
  if (ca == FpClass::Infinity)
    return cb == FpClass::Infinity ? invalid(ctx) : signed_infinity(sign);
  if (cb == FpClass::Infinity)
    return signed_zero(sign);
  if (cb == FpClass::Zero) {
    if (ca == FpClass::Zero)
      return invalid(ctx);
    ctx.flags &= ~FP_DENORMAL;
    ctx.raise(FP_ZERO_DIVIDE);
    return signed_infinity(sign);
  }
  if (ca == FpClass::Zero)
    return signed_zero(sign);
  const Unpacked x = unpack(a);
  const Unpacked y = unpack(b);
  // 128 quotient bits, the first one set, then the remainder as sticky.
  const bool at_least_one = x.significand >= y.significand;
  const uint128 dividend = uint128{x.significand} << (at_least_one ? 63 : 64);
  const uint64_t high = static_cast<uint64_t>(dividend / y.significand);
  const uint128 remainder = dividend % y.significand;
  const uint128 next = remainder << 64;
  const uint64_t low = static_cast<uint64_t>(next / y.significand);
  const bool sticky = (next % y.significand) != 0;
  const uint128 quotient = (uint128{high} << 64) | low | sticky;
  const int32_t exponent =
      x.exponent - y.exponent + kBias - (at_least_one ? 0 : 1);
  return f80_round(sign, exponent, quotient, ctx, ctx.precision);
}

Float80 f80_sqrt(Float80 a, FpContext &ctx) {
  Float80 result;
  if (special_operand(a, ctx, result))
    return result;
  const FpClass ca = f80_classify(a);
  if (ca == FpClass::Zero)
    return a;
  if (a.sign())
    return invalid(ctx);
  if (ca == FpClass::Infinity)
    return a;
  const Unpacked x = unpack(a);
  const int32_t unbiased = x.exponent - kBias;
  const unsigned scale = (unbiased & 1) ? 64 : 63;
  uint128 radicand = uint128{x.significand} << scale;
  // Digit-by-digit square root: 64 result bits and the remainder.
  uint128 root = 0;
  uint128 bit = uint128{1} << 126;
  while (bit) {
    if (radicand >= root + bit) {
      radicand -= root + bit;
      root = (root >> 1) + bit;
    } else {
      root >>= 1;
    }
    bit >>= 2;
  }
  // sqrt can never be exactly halfway between two integers, so the
  // remainder tells above/below half and exactness.
  uint64_t extra = 0;
  if (radicand > root)
    extra = kIntegerBit | 1;
  else if (radicand != 0)
    extra = 1;
  const int32_t exponent =
      (unbiased - 63 - static_cast<int32_t>(scale)) / 2 + 63 + kBias;
  return f80_round(false, exponent, (root << 64) | extra, ctx, ctx.precision);
}

Float80 f80_round_to_integer(Float80 a, FpContext &ctx) {
  Float80 result;
  if (special_operand(a, ctx, result))
    return result;
  const FpClass ca = f80_classify(a);
  if (ca == FpClass::Zero || ca == FpClass::Infinity)
    return a;
  const Unpacked x = unpack(a);
  if (x.exponent >= kBias + 63)
    return a;
  bool inexact, up;
  const uint128 integer = round_to_integer_magnitude(
      x.sign, x.exponent, x.significand, ctx.rounding, inexact, up);
  ctx.rounded_up = up;
  if (inexact)
    ctx.raise(FP_PRECISION);
  return from_magnitude(x.sign, static_cast<uint64_t>(integer));
}

Float80 f80_scale(Float80 a, Float80 b, FpContext &ctx) {
  Float80 result;
  if (special_operands(a, b, ctx, result))
    return result;
  const FpClass ca = f80_classify(a);
  const FpClass cb = f80_classify(b);
  if (cb == FpClass::Infinity) {
    const bool grow = !b.sign();
    if (ca == FpClass::Zero)
      return grow ? invalid(ctx) : a;
    if (ca == FpClass::Infinity)
      return grow ? a : invalid(ctx);
    return grow ? signed_infinity(a.sign()) : signed_zero(a.sign());
  }
  if (ca == FpClass::Zero || ca == FpClass::Infinity || cb == FpClass::Zero)
    return canonical(a);
  // Any |scale| beyond the exponent range gives the same overflow or
  // underflow, so it is clamped before it can overflow int32.
  int32_t scale = 0;
  const Unpacked y = unpack(b);
  if (y.exponent >= kBias + 20)
    scale = 1 << 20;
  else if (y.exponent >= kBias)
    scale = static_cast<int32_t>(y.significand >> (kBias + 63 - y.exponent));
  if (y.sign)
    scale = -scale;
  const Unpacked x = unpack(a);
  return f80_round(x.sign, x.exponent + scale, uint128{x.significand} << 64,
                   ctx);
}

void f80_extract(Float80 a, Float80 &exponent, Float80 &significand,
                 FpContext &ctx) {
  Float80 result;
  if (special_operand(a, ctx, result)) {
    exponent = significand = result;
    return;
  }
  switch (f80_classify(a)) {
  case FpClass::Zero:
    ctx.raise(FP_ZERO_DIVIDE);
    exponent = signed_infinity(true);
    significand = a;
    return;
  case FpClass::Infinity:
    exponent = signed_infinity(false);
    significand = a;
    return;
  default:
    break;
  }
  const Unpacked x = unpack(a);
  exponent = f80_from_int(x.exponent - kBias);
  significand = pack(x.sign, kBias, x.significand);
}

FpRemainder f80_remainder(Float80 a, Float80 b, bool nearest, FpContext &ctx) {
  FpRemainder result;
  if (special_operands(a, b, ctx, result.value))
    return result;
  const FpClass ca = f80_classify(a);
  const FpClass cb = f80_classify(b);
  if (ca == FpClass::Infinity || cb == FpClass::Zero) {
    result.value = invalid(ctx);
    return result;
  }
  if (ca == FpClass::Zero) {
    result.value = a;
    return result;
  }
  const Unpacked x = unpack(a);
  const Unpacked y = unpack(b);
  const int32_t difference = x.exponent - y.exponent;
  if (cb == FpClass::Infinity) {
    result.value = canonical(a);
    return result;
  }
  if (difference < (nearest ? -1 : 0)) {
    // ST(0) is the remainder; a denormal one still goes through the
    // (exact) rounding, which matters for an unmasked UE.
    result.value =
        f80_round(x.sign, x.exponent, uint128{x.significand} << 64, ctx);
    return result;
  }
  if (difference >= 64) {
    // Partial reduction by a quotient of 32..63 bits, as Intel parts do.
    const int32_t kept_bits = 32 + difference % 32;
    const uint128 dividend = uint128{x.significand} << kept_bits;
    result.quotient = static_cast<uint64_t>(dividend / y.significand);
    result.complete = false;
    result.value = f80_round(x.sign, x.exponent - kept_bits + 64,
                             dividend % y.significand, ctx);
    return result;
  }
  // Everything one bit further left so that FPREM1's difference of -1
  // works the same way.
  const uint128 dividend = uint128{x.significand} << (difference + 1);
  const uint128 divisor = uint128{y.significand} << 1;
  uint64_t quotient = static_cast<uint64_t>(dividend / divisor);
  uint128 remainder = dividend % divisor;
  bool sign = x.sign;
  if (nearest && (remainder * 2 > divisor ||
                  (remainder * 2 == divisor && (quotient & 1)))) {
    remainder = divisor - remainder;
    quotient++;
    sign = !sign;
  }
  result.quotient = quotient;
  if (remainder == 0)
    result.value = signed_zero(x.sign);
  else
    result.value = f80_round(sign, y.exponent + 63, remainder, ctx);
  return result;
}

FpRelation f80_compare(Float80 a, Float80 b, bool quiet, FpContext &ctx) {
  const FpClass ca = f80_classify(a);
  const FpClass cb = f80_classify(b);
  if (ca == FpClass::Unsupported || cb == FpClass::Unsupported) {
    ctx.raise(FP_INVALID);
    return FpRelation::Unordered;
  }
  const bool a_nan = ca == FpClass::QuietNaN || ca == FpClass::SignalingNaN;
  const bool b_nan = cb == FpClass::QuietNaN || cb == FpClass::SignalingNaN;
  if (a_nan || b_nan) {
    if (!quiet || ca == FpClass::SignalingNaN || cb == FpClass::SignalingNaN)
      ctx.raise(FP_INVALID);
    return FpRelation::Unordered;
  }
  if (ca == FpClass::Denormal || cb == FpClass::Denormal)
    ctx.raise(FP_DENORMAL);
  const bool a_zero = ca == FpClass::Zero;
  const bool b_zero = cb == FpClass::Zero;
  if (a_zero && b_zero)
    return FpRelation::Equal;
  // Order by sign, then by magnitude (exponent, then significand).
  const bool a_negative = !a_zero && a.sign();
  const bool b_negative = !b_zero && b.sign();
  if (a_negative != b_negative)
    return a_negative ? FpRelation::Less : FpRelation::Greater;
  int magnitude_order = 0;
  if (a_zero || b_zero) {
    magnitude_order = a_zero ? -1 : 1;
  } else {
    const Unpacked x = unpack(a);
    const Unpacked y = unpack(b);
    if (x.exponent != y.exponent)
      magnitude_order = x.exponent < y.exponent ? -1 : 1;
    else if (x.significand != y.significand)
      magnitude_order = x.significand < y.significand ? -1 : 1;
  }
  if (magnitude_order == 0)
    return FpRelation::Equal;
  if (a_negative)
    magnitude_order = -magnitude_order;
  return magnitude_order < 0 ? FpRelation::Less : FpRelation::Greater;
}

Float80 f80_from_int(int64_t value) {
  const bool sign = value < 0;
  const uint64_t magnitude =
      sign ? uint64_t{0} - static_cast<uint64_t>(value) : value;
  if (magnitude == 0)
    return kF80Zero;
  return from_magnitude(sign, magnitude);
}

int64_t f80_to_int(Float80 a, unsigned bytes, bool truncate, FpContext &ctx) {
  const unsigned bits = bytes * 8;
  const int64_t indefinite = static_cast<int64_t>(~uint64_t{0} << (bits - 1));
  const FpClass ca = f80_classify(a);
  switch (ca) {
  case FpClass::Zero:
    return 0;
  case FpClass::Normal:
  case FpClass::Denormal:
    break;
  default:
    ctx.raise(FP_INVALID);
    return indefinite;
  }
  const Unpacked x = unpack(a);
  if (x.exponent >= kBias + 64) {
    ctx.raise(FP_INVALID);
    return indefinite;
  }
  bool inexact, up;
  const uint128 magnitude = round_to_integer_magnitude(
      x.sign, x.exponent, x.significand,
      truncate ? FpRounding::TowardZero : ctx.rounding, inexact, up);
  const uint128 limit = (uint128{1} << (bits - 1)) - (x.sign ? 0 : 1);
  if (magnitude > limit) {
    ctx.raise(FP_INVALID);
    return indefinite;
  }
  ctx.rounded_up = up;
  if (inexact)
    ctx.raise(FP_PRECISION);
  const uint64_t m = static_cast<uint64_t>(magnitude);
  return static_cast<int64_t>(x.sign ? uint64_t{0} - m : m);
}

namespace {

// A binary32/binary64 layout: fraction bits and exponent bias.
struct BinaryFormat {
  unsigned fraction_bits;
  int32_t bias;
  int32_t max_exponent;
};
constexpr BinaryFormat kBinary32{23, 127, 0xff};
constexpr BinaryFormat kBinary64{52, 1023, 0x7ff};

Float80 load_binary(uint64_t bits, const BinaryFormat &f, FpContext &ctx,
                    bool quiet_signaling) {
  const unsigned total =
      f.fraction_bits + 1 + (f.max_exponent == 0xff ? 8 : 11);
  const bool sign = (bits >> (total - 1)) & 1;
  const int32_t exponent =
      static_cast<int32_t>((bits >> f.fraction_bits) & f.max_exponent);
  const uint64_t fraction = bits & ((uint64_t{1} << f.fraction_bits) - 1);
  const unsigned align = 63 - f.fraction_bits;
  if (exponent == f.max_exponent) {
    if (fraction == 0)
      return signed_infinity(sign);
    Float80 nan =
        pack(sign, kF80MaxExponent, kIntegerBit | (fraction << align));
    return quiet_signaling ? f80_propagate_nan(nan, ctx) : nan;
  }
  if (exponent == 0) {
    if (fraction == 0)
      return signed_zero(sign);
    ctx.raise(FP_DENORMAL);
    const int shift = __builtin_clzll(fraction);
    // fraction * 2^(1 - bias - fraction_bits)
    return pack(sign,
                kBias + 63 + 1 - f.bias -
                    static_cast<int32_t>(f.fraction_bits) - shift,
                fraction << shift);
  }
  return pack(sign, exponent - f.bias + kBias,
              kIntegerBit | (fraction << align));
}

uint64_t store_binary(Float80 a, const BinaryFormat &f, FpContext &ctx) {
  const unsigned exponent_bits = f.max_exponent == 0xff ? 8 : 11;
  const uint64_t sign_bit = uint64_t{a.sign()}
                            << (f.fraction_bits + exponent_bits);
  const uint64_t fraction_mask = (uint64_t{1} << f.fraction_bits) - 1;
  const uint64_t infinity_bits = uint64_t(f.max_exponent) << f.fraction_bits;
  const uint64_t quiet_bit = uint64_t{1} << (f.fraction_bits - 1);
  const unsigned align = 63 - f.fraction_bits;
  switch (f80_classify(a)) {
  case FpClass::Zero:
    return sign_bit;
  case FpClass::Infinity:
    return sign_bit | infinity_bits;
  case FpClass::Unsupported:
    ctx.raise(FP_INVALID);
    return (uint64_t{1} << (f.fraction_bits + exponent_bits)) | infinity_bits |
           quiet_bit;
  case FpClass::QuietNaN:
  case FpClass::SignalingNaN: {
    const Float80 q = f80_propagate_nan(a, ctx);
    return sign_bit | infinity_bits |
           ((q.significand >> align) & fraction_mask);
  }
  case FpClass::Denormal:
  case FpClass::Normal:
    break;
  }
  const Unpacked x = unpack(a);
  const Rounded r = round_to_format(x.sign, x.exponent - kBias + f.bias,
                                    uint128{x.significand} << 64, ctx,
                                    f.fraction_bits + 1, f.max_exponent, 0);
  return sign_bit | (uint64_t(r.exponent) << f.fraction_bits) |
         ((r.significand >> align) & fraction_mask);
}

} // namespace

Float80 f80_from_f32(uint32_t bits, FpContext &ctx, bool quiet_signaling) {
  return load_binary(bits, kBinary32, ctx, quiet_signaling);
}

Float80 f80_from_f64(uint64_t bits, FpContext &ctx, bool quiet_signaling) {
  return load_binary(bits, kBinary64, ctx, quiet_signaling);
}

uint32_t f80_to_f32(Float80 a, FpContext &ctx) {
  return static_cast<uint32_t>(store_binary(a, kBinary32, ctx));
}

uint64_t f80_to_f64(Float80 a, FpContext &ctx) {
  return store_binary(a, kBinary64, ctx);
}

Float80 f80_from_bcd(const uint8_t bcd[10]) {
  uint64_t value = 0;
  for (int byte = 8; byte >= 0; byte--)
    value = value * 100 + (bcd[byte] >> 4) * 10 + (bcd[byte] & 0xf);
  return from_magnitude(bcd[9] & 0x80, value);
}

void f80_to_bcd(Float80 a, uint8_t bcd[10], FpContext &ctx) {
  constexpr uint64_t kLargest = 999999999999999999ull;
  auto store_indefinite = [&] {
    ctx.raise(FP_INVALID);
    for (int i = 0; i < 7; i++)
      bcd[i] = 0;
    bcd[7] = 0xc0;
    bcd[8] = bcd[9] = 0xff;
  };
  const FpClass ca = f80_classify(a);
  uint64_t magnitude = 0;
  if (ca != FpClass::Zero) {
    if (ca != FpClass::Normal && ca != FpClass::Denormal)
      return store_indefinite();
    const Unpacked x = unpack(a);
    if (x.exponent >= kBias + 64)
      return store_indefinite();
    bool inexact, up;
    const uint128 rounded = round_to_integer_magnitude(
        x.sign, x.exponent, x.significand, ctx.rounding, inexact, up);
    if (rounded > kLargest)
      return store_indefinite();
    ctx.rounded_up = up;
    if (inexact)
      ctx.raise(FP_PRECISION);
    magnitude = static_cast<uint64_t>(rounded);
  }
  for (int byte = 0; byte < 9; byte++) {
    const unsigned pair = magnitude % 100;
    magnitude /= 100;
    bcd[byte] = static_cast<uint8_t>(((pair / 10) << 4) | (pair % 10));
  }
  bcd[9] = a.sign() ? 0x80 : 0;
}

} // namespace sable::cpu
