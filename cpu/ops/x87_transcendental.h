#pragma once
// The x87 transcendental instructions on extended-precision values,
// evaluated in 128-bit fixed-significand arithmetic (argument reduction by
// a 256-bit 2/pi) and rounded once to 64 bits: results are within 1 ulp
// and almost always correctly rounded. Special operands (NaNs, infinities,
// zeros, domain errors) follow the SDM's tables for each instruction.

#include "cpu/float80.h"

namespace sable::cpu {

// FSIN/FCOS/FSINCOS/FPTAN: false (C2 = 1, nothing computed) when
// |a| >= 2^63. NaN and infinite operands give NaN results (IE for
// infinities and SNaNs). Either output may be null.
bool f80_sin_cos(Float80 a, Float80 *sine, Float80 *cosine, FpContext &ctx);
bool f80_tan(Float80 a, Float80 &tangent, FpContext &ctx);
// FPATAN: the angle of (x, y), i.e. arctan(y / x) in the right quadrant.
Float80 f80_atan2(Float80 y, Float80 x, FpContext &ctx);
// F2XM1: 2^a - 1 (the instruction is defined for -1 <= a <= 1).
Float80 f80_exp2m1(Float80 a, FpContext &ctx);
// FYL2X: y * log2(x). FYL2XP1: y * log2(x + 1).
Float80 f80_y_log2_x(Float80 y, Float80 x, FpContext &ctx);
Float80 f80_y_log2_xp1(Float80 y, Float80 x, FpContext &ctx);

} // namespace sable::cpu
