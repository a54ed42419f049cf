// x87 transcendental functions. Intermediate values are "wide" numbers: a
// sign, an exponent and a 128-bit significand (about 126 good bits after
// the rounding errors of the series below), so the one final rounding to
// 64 bits is correct except when the exact value lies within ~2^-120
// relative of a rounding boundary. Arguments of sin/cos/tan are reduced
// modulo pi/2 with 256 bits of 2/pi (exact for every |x| < 2^63 to far
// more bits than the worst-case cancellation needs); the functions of the
// reduced argument are Taylor series. Unlike Intel parts (which reduce
// with a 66-bit pi), results stay accurate near multiples of pi.

#include "cpu/ops/x87_transcendental.h"

namespace sable::cpu {

namespace {

constexpr int32_t kBias = kF80ExponentBias;
constexpr uint128 kTop = uint128{1} << 127;

uint128 make128(uint64_t high, uint64_t low) {
  return (uint128{high} << 64) | low;
}

// sign * significand * 2^(exponent - 127); significand has bit 127 set or
// is zero.
struct Wide {
  bool sign = false;
  int32_t exponent = 0;
  uint128 significand = 0;

  bool zero() const { return significand == 0; }
};

unsigned leading_zeros(uint128 v) {
  const uint64_t high = static_cast<uint64_t>(v >> 64);
  if (high)
    return __builtin_clzll(high);
  return 64 + __builtin_clzll(static_cast<uint64_t>(v));
}

Wide normalized(bool sign, int32_t exponent, uint128 significand) {
  if (significand == 0)
    return {};
  const unsigned shift = leading_zeros(significand);
  return {sign, exponent - static_cast<int32_t>(shift), significand << shift};
}

// 2^exponent * 128-bit constant with its top bit set.
constexpr Wide constant(uint64_t high, uint64_t low, int32_t exponent) {
  return {false, exponent, (uint128{high} << 64) | low};
}
const Wide kHalfPi = constant(0xc90fdaa22168c234, 0xc4c6628b80dc1cd1, 0);
const Wide kQuarterPi = constant(0xc90fdaa22168c234, 0xc4c6628b80dc1cd1, -1);
const Wide kPiWide = constant(0xc90fdaa22168c234, 0xc4c6628b80dc1cd1, 1);
const Wide kLog2OfE = constant(0xb8aa3b295c17f0bb, 0xbe87fed0691d3e88, 0);
const Wide kLn2 = constant(0xb17217f7d1cf79ab, 0xc9e3b39803f2f6af, -1);
const Wide kHalfSqrt2 = constant(0xb504f333f9de6484, 0x597d89b3754abe9f, -1);
const Wide kTanPiOver8 = constant(0xd413cccfe7799211, 0x65f626cdd52afa7c, -2);
const Wide kOne = {false, 0, kTop};
// 2/pi * 2^256, most significant word first.
constexpr uint64_t kTwoOverPi[4] = {0xa2f9836e4e441529, 0xfc2757d1f534ddc0,
                                    0xdb6295993c439041, 0xfe5163abdebbc561};

Wide from_f80(Float80 v) {
  int32_t exponent = v.exponent();
  if (exponent == 0)
    exponent = 1;
  return normalized(v.sign(), exponent - kBias, uint128{v.significand} << 64);
}

Float80 to_f80(const Wide &w, FpContext &ctx) {
  return f80_round(w.sign, w.exponent + kBias, w.significand, ctx);
}

Wide negate(Wide w) {
  w.sign = !w.sign;
  return w;
}

// Magnitude comparison.
bool less_magnitude(const Wide &a, const Wide &b) {
  if (a.zero() || b.zero())
    return a.zero() && !b.zero();
  if (a.exponent != b.exponent)
    return a.exponent < b.exponent;
  return a.significand < b.significand;
}

Wide add(Wide a, Wide b) {
  if (a.zero())
    return b;
  if (b.zero())
    return a;
  if (less_magnitude(a, b)) {
    const Wide t = a;
    a = b;
    b = t;
  }
  const int32_t shift = a.exponent - b.exponent + 1;
  const uint128 larger = a.significand >> 1;
  const uint128 smaller = shift >= 128 ? 0 : b.significand >> shift;
  if (a.sign == b.sign)
    return normalized(a.sign, a.exponent + 1, larger + smaller);
  return normalized(a.sign, a.exponent + 1, larger - smaller);
}

Wide subtract(const Wide &a, const Wide &b) {
  return add(a, negate(b));
}

Wide multiply(const Wide &a, const Wide &b) {
  if (a.zero() || b.zero())
    return {};
  const uint64_t ah = static_cast<uint64_t>(a.significand >> 64);
  const uint64_t al = static_cast<uint64_t>(a.significand);
  const uint64_t bh = static_cast<uint64_t>(b.significand >> 64);
  const uint64_t bl = static_cast<uint64_t>(b.significand);
  const uint128 high = uint128{ah} * bh;
  const uint128 middle1 = uint128{ah} * bl;
  const uint128 middle2 = uint128{al} * bh;
  const uint128 low = uint128{al} * bl;
  const uint128 middle =
      (middle1 & ~uint64_t{0}) + (middle2 & ~uint64_t{0}) + (low >> 64);
  const uint128 top = high + (middle1 >> 64) + (middle2 >> 64) + (middle >> 64);
  const uint64_t below = static_cast<uint64_t>(middle);
  // top >= 2^126: at most one normalizing shift, taking the next bit.
  if (top >> 127)
    return {a.sign != b.sign, a.exponent + b.exponent + 1, top};
  return {a.sign != b.sign, a.exponent + b.exponent,
          (top << 1) | (below >> 63)};
}

Wide divide(const Wide &a, const Wide &b) {
  if (a.zero())
    return {};
  uint128 remainder = a.significand;
  const uint128 divisor = b.significand;
  uint128 quotient = 0;
  for (int bit = 0; bit < 128; bit++) {
    const bool carry = bit > 0 && (remainder >> 127);
    if (bit > 0)
      remainder <<= 1;
    quotient <<= 1;
    if (carry || remainder >= divisor) {
      remainder -= divisor;
      quotient |= 1;
    }
  }
  return normalized(a.sign != b.sign, a.exponent - b.exponent, quotient);
}

Wide divide_small(const Wide &a, unsigned n) {
  const uint128 quotient = a.significand / n;
  const uint128 remainder = a.significand % n;
  const unsigned shift = leading_zeros(quotient);
  const uint128 low = (remainder << shift) / n;
  return {a.sign, a.exponent - static_cast<int32_t>(shift),
          (quotient << shift) | low};
}

Wide scaled(Wide a, int32_t power_of_two) {
  a.exponent += power_of_two;
  return a;
}

// Stops a series once terms no longer reach the 128 bits of the sum.
bool negligible(const Wide &term, const Wide &sum) {
  return term.zero() || (!sum.zero() && term.exponent < sum.exponent - 130);
}

// The sum of a series whose first dropped term is `dropped`: one unit in
// the last of 128 places towards it, so that the result stays inexact and
// on the right side of a value that fits 64 bits (sin x for tiny x lies
// just below x, not on it).
Wide settle(Wide sum, const Wide &dropped) {
  if (dropped.zero())
    return sum;
  if (dropped.sign == sum.sign) {
    sum.significand |= 1;
    return sum;
  }
  return normalized(sum.sign, sum.exponent, sum.significand - 1);
}

// sin(r) and cos(r) for |r| <= pi/4.
Wide sine_series(const Wide &r) {
  const Wide r2 = multiply(r, r);
  Wide term = r;
  Wide sum = r;
  for (unsigned k = 1; k < 60; k++) {
    term = negate(divide_small(multiply(term, r2), (2 * k) * (2 * k + 1)));
    if (negligible(term, sum))
      return settle(sum, term);
    sum = add(sum, term);
  }
  return sum;
}

Wide cosine_series(const Wide &r) {
  const Wide r2 = multiply(r, r);
  Wide term = kOne;
  Wide sum = kOne;
  for (unsigned k = 1; k < 60; k++) {
    term = negate(divide_small(multiply(term, r2), (2 * k - 1) * (2 * k)));
    if (negligible(term, sum))
      return settle(sum, term);
    sum = add(sum, term);
  }
  return sum;
}

// x = q * pi/2 + r with |r| <= pi/4, for |x| < 2^63.
Wide reduce_quadrant(Float80 x, unsigned &quadrant) {
  const Wide wx = from_f80(x);
  quadrant = 0;
  if (!less_magnitude(kQuarterPi, {false, wx.exponent, wx.significand}))
    return wx;
  // |x| = S * 2^(e - 63); |x| * 2/pi = S * C * 2^(e - 63 - 256) with the
  // 320-bit product S * C held in five words, least significant first.
  const uint64_t s = static_cast<uint64_t>(wx.significand >> 64);
  const int32_t e = wx.exponent;
  uint64_t product[5] = {};
  uint128 carry = 0;
  for (int i = 0; i < 4; i++) {
    const uint128 part = uint128{s} * kTwoOverPi[3 - i] + carry;
    product[i] = static_cast<uint64_t>(part);
    carry = part >> 64;
  }
  product[4] = static_cast<uint64_t>(carry);
  auto bits_at = [&](int position, int count) { // count <= 64
    uint64_t value = 0;
    for (int b = count - 1; b >= 0; b--) {
      const int p = position + b;
      const uint64_t bit = p < 320 ? (product[p / 64] >> (p % 64)) & 1 : 0;
      value = (value << 1) | bit;
    }
    return value;
  };
  const int point = 319 - e; // bits of the product below the binary point
  quadrant = static_cast<unsigned>(bits_at(point, 2));
  uint128 fraction = make128(bits_at(point - 64, 64), bits_at(point - 128, 64));
  bool negative = false;
  if (fraction >> 127) { // past one half: the next quadrant, from below
    quadrant++;
    fraction = ~fraction + 1;
    negative = true;
  }
  Wide r = multiply(normalized(negative, -1, fraction), kHalfPi);
  if (x.sign()) {
    r = negate(r);
    quadrant = (4 - (quadrant & 3)) & 3;
  }
  return r;
}

// Shared special cases of the one-operand functions; true when `result`
// is final.
bool special_single(Float80 a, FpContext &ctx, Float80 &result) {
  switch (f80_classify(a)) {
  case FpClass::Unsupported:
    ctx.raise(FP_INVALID);
    result = kF80Indefinite;
    return true;
  case FpClass::QuietNaN:
  case FpClass::SignalingNaN:
    result = f80_propagate_nan(a, ctx);
    return true;
  case FpClass::Denormal:
    ctx.raise(FP_DENORMAL);
    return false;
  default:
    return false;
  }
}

bool out_of_trig_range(Float80 a) {
  return f80_classify(a) == FpClass::Normal && a.exponent() >= kBias + 63;
}

Wide atan_series(const Wide &u) { // |u| <= tan(pi/8)
  const Wide u2 = multiply(u, u);
  Wide power = u;
  Wide sum = u;
  for (unsigned k = 1; k < 200; k++) {
    power = negate(multiply(power, u2));
    const Wide term = divide_small(power, 2 * k + 1);
    if (negligible(term, sum))
      return settle(sum, term);
    sum = add(sum, term);
  }
  return sum;
}

// arctan(t) for 0 <= t <= 1.
Wide atan_unit(const Wide &t) {
  if (less_magnitude(kTanPiOver8, t))
    return add(kQuarterPi,
               atan_series(divide(subtract(t, kOne), add(t, kOne))));
  return atan_series(t);
}

// 2 * atanh(s) = ln((1 + s) / (1 - s)).
Wide double_atanh_series(const Wide &s) {
  const Wide s2 = multiply(s, s);
  Wide power = s;
  Wide sum = s;
  for (unsigned k = 1; k < 400; k++) {
    power = multiply(power, s2);
    const Wide term = divide_small(power, 2 * k + 1);
    if (negligible(term, sum))
      return scaled(settle(sum, term), 1);
    sum = add(sum, term);
  }
  return scaled(sum, 1);
}

// log2(v) for v > 0: v = m * 2^e with m in [sqrt(2)/2, sqrt(2)).
Wide log2_of(const Wide &v) {
  int32_t e = v.exponent;
  Wide m{false, 0, v.significand};
  if (less_magnitude(scaled(kHalfSqrt2, 1), m)) {
    m.exponent = -1;
    e++;
  }
  const Wide s = divide(subtract(m, kOne), add(m, kOne));
  const Wide ln_m = double_atanh_series(s);
  const Wide log_m = multiply(ln_m, kLog2OfE);
  const Wide whole = normalized(e < 0, 127, uint128(e < 0 ? -int64_t{e} : e));
  return add(whole, log_m);
}

// e^t - 1 for |t| < 1.
Wide expm1_series(const Wide &t) {
  Wide term = t;
  Wide sum = t;
  for (unsigned k = 2; k < 80; k++) {
    term = divide_small(multiply(term, t), k);
    if (negligible(term, sum))
      return settle(sum, term);
    sum = add(sum, term);
  }
  return sum;
}

Float80 invalid(FpContext &ctx) {
  ctx.raise(FP_INVALID);
  return kF80Indefinite;
}

bool nan_or_unsupported(Float80 a, Float80 b, FpContext &ctx, Float80 &result) {
  const FpClass ca = f80_classify(a);
  const FpClass cb = f80_classify(b);
  if (ca == FpClass::Unsupported || cb == FpClass::Unsupported) {
    result = invalid(ctx);
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

} // namespace

bool f80_sin_cos(Float80 a, Float80 *sine, Float80 *cosine, FpContext &ctx) {
  if (out_of_trig_range(a))
    return false;
  Float80 special;
  if (special_single(a, ctx, special)) {
    if (sine)
      *sine = special;
    if (cosine)
      *cosine = special;
    return true;
  }
  const FpClass ca = f80_classify(a);
  if (ca == FpClass::Infinity) {
    const Float80 nan = invalid(ctx);
    if (sine)
      *sine = nan;
    if (cosine)
      *cosine = nan;
    return true;
  }
  if (ca == FpClass::Zero) {
    if (sine)
      *sine = a;
    if (cosine)
      *cosine = kF80One;
    return true;
  }
  unsigned quadrant;
  const Wide r = reduce_quadrant(a, quadrant);
  const Wide s = sine_series(r);
  const Wide c = cosine_series(r);
  const Wide sines[4] = {s, c, negate(s), negate(c)};
  const Wide cosines[4] = {c, negate(s), negate(c), s};
  // Both results share one status: the cosine is computed last so that
  // C1 describes the value FSINCOS leaves in ST(0).
  if (sine)
    *sine = to_f80(sines[quadrant & 3], ctx);
  if (cosine)
    *cosine = to_f80(cosines[quadrant & 3], ctx);
  return true;
}

bool f80_tan(Float80 a, Float80 &tangent, FpContext &ctx) {
  if (out_of_trig_range(a))
    return false;
  if (special_single(a, ctx, tangent))
    return true;
  const FpClass ca = f80_classify(a);
  if (ca == FpClass::Infinity) {
    tangent = invalid(ctx);
    return true;
  }
  if (ca == FpClass::Zero) {
    tangent = a;
    return true;
  }
  unsigned quadrant;
  const Wide r = reduce_quadrant(a, quadrant);
  if (quadrant == 0 && r.exponent < -70) {
    // tan r = r + r^3/3 + ...: just above r, which the quotient of the
    // two series would not resolve.
    tangent = to_f80(settle(r, r), ctx);
    return true;
  }
  const Wide s = sine_series(r);
  const Wide c = cosine_series(r);
  tangent = to_f80((quadrant & 1) ? negate(divide(c, s)) : divide(s, c), ctx);
  return true;
}

Float80 f80_atan2(Float80 y, Float80 x, FpContext &ctx) {
  Float80 result;
  if (nan_or_unsupported(x, y, ctx, result))
    return result;
  const FpClass cx = f80_classify(x);
  const FpClass cy = f80_classify(y);
  const bool negative = y.sign();
  Wide angle;
  if (cy == FpClass::Zero) {
    if (!x.sign())
      return y;
    angle = kPiWide;
  } else if (cx == FpClass::Infinity && cy == FpClass::Infinity) {
    angle = x.sign() ? add(kHalfPi, kQuarterPi) : kQuarterPi;
  } else if (cx == FpClass::Infinity) {
    if (!x.sign())
      return f80_with_sign(kF80Zero, negative);
    angle = kPiWide;
  } else if (cx == FpClass::Zero || cy == FpClass::Infinity) {
    angle = kHalfPi;
  } else {
    Wide wy = from_f80(y);
    Wide wx = from_f80(x);
    wy.sign = wx.sign = false;
    if (!less_magnitude(wx, wy))
      angle = atan_unit(divide(wy, wx));
    else
      angle = subtract(kHalfPi, atan_unit(divide(wx, wy)));
    if (x.sign())
      angle = subtract(kPiWide, angle);
  }
  angle.sign = negative;
  return to_f80(angle, ctx);
}

Float80 f80_exp2m1(Float80 a, FpContext &ctx) {
  Float80 result;
  if (special_single(a, ctx, result))
    return result;
  switch (f80_classify(a)) {
  case FpClass::Zero:
    return a;
  case FpClass::Infinity:
    return a.sign() ? f80_negate(kF80One) : a;
  default:
    break;
  }
  const Wide w = from_f80(a);
  if (w.exponent < 0 || (w.exponent == 0 && w.significand == kTop))
    return to_f80(expm1_series(multiply(w, kLn2)), ctx);
  // Outside -1..1 Intel processors return the operand, inexact.
  ctx.raise(FP_PRECISION);
  return a;
}

Float80 f80_y_log2_x(Float80 y, Float80 x, FpContext &ctx) {
  Float80 result;
  if (nan_or_unsupported(x, y, ctx, result))
    return result;
  const FpClass cx = f80_classify(x);
  const FpClass cy = f80_classify(y);
  if (x.sign() && cx != FpClass::Zero)
    return invalid(ctx);
  const bool y_zero = cy == FpClass::Zero;
  const bool y_infinite = cy == FpClass::Infinity;
  if (cx == FpClass::Zero) {
    if (y_zero)
      return invalid(ctx);
    if (!y_infinite)
      ctx.raise(FP_ZERO_DIVIDE);
    return f80_with_sign(kF80Infinity, !y.sign());
  }
  if (cx == FpClass::Infinity) {
    if (y_zero)
      return invalid(ctx);
    return f80_with_sign(kF80Infinity, y.sign());
  }
  if (x == kF80One) {
    if (y_infinite)
      return invalid(ctx);
    return f80_with_sign(kF80Zero, y.sign());
  }
  const bool below_one = x.exponent() < kBias;
  if (y_infinite)
    return f80_with_sign(kF80Infinity, y.sign() != below_one);
  if (y_zero)
    return f80_with_sign(kF80Zero, y.sign() != below_one);
  return to_f80(multiply(from_f80(y), log2_of(from_f80(x))), ctx);
}

Float80 f80_y_log2_xp1(Float80 y, Float80 x, FpContext &ctx) {
  Float80 result;
  if (nan_or_unsupported(x, y, ctx, result))
    return result;
  const FpClass cx = f80_classify(x);
  const FpClass cy = f80_classify(y);
  const Wide wx = from_f80(x);
  if (cx == FpClass::Infinity ||
      (x.sign() && !less_magnitude(wx, kOne) && cx != FpClass::Zero))
    return invalid(ctx);
  if (cx == FpClass::Zero) {
    if (cy == FpClass::Infinity)
      return invalid(ctx);
    return f80_with_sign(kF80Zero, x.sign() != y.sign());
  }
  if (cy == FpClass::Infinity)
    return f80_with_sign(kF80Infinity, x.sign() != y.sign());
  if (cy == FpClass::Zero)
    return f80_with_sign(kF80Zero, x.sign() != y.sign());
  Wide logarithm;
  if (wx.exponent < -2) { // |x| < 1/4: ln(1 + x) = 2 atanh(x / (2 + x))
    const Wide s = divide(wx, add(scaled(kOne, 1), wx));
    logarithm = multiply(double_atanh_series(s), kLog2OfE);
  } else {
    logarithm = log2_of(add(kOne, wx));
  }
  return to_f80(multiply(from_f80(y), logarithm), ctx);
}

} // namespace sable::cpu
