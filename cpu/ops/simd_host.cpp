// The host run of an SSE floating-point operation with the guest's
// exception masks (see simd_host.h).

#include "cpu/ops/simd_host.h"

#include <cmath>

namespace sable::cpu::simd {

namespace {

SABLE_HOST_OP(scalar_addss, "addss")
SABLE_HOST_OP(scalar_subss, "subss")
SABLE_HOST_OP(scalar_mulss, "mulss")
SABLE_HOST_OP(scalar_divss, "divss")
SABLE_HOST_OP(scalar_addsd, "addsd")
SABLE_HOST_OP(scalar_subsd, "subsd")
SABLE_HOST_OP(scalar_mulsd, "mulsd")
SABLE_HOST_OP(scalar_divsd, "divsd")
SABLE_HOST_OP(scalar_cvtsd2ss, "cvtsd2ss")

HostOp scalar_op(Arith kind, unsigned lane_bytes) {
  const bool single = lane_bytes == 4;
  switch (kind) {
  case Arith::Add:
    return single ? scalar_addss : scalar_addsd;
  case Arith::Sub:
    return single ? scalar_subss : scalar_subsd;
  case Arith::Mul:
    return single ? scalar_mulss : scalar_mulsd;
  case Arith::Div:
    return single ? scalar_divss : scalar_divsd;
  default:
    return scalar_cvtsd2ss;
  }
}

// The operands and operation of result lane `lane`.
struct LaneOp {
  Arith kind;
  unsigned a_lane, b_lane;
  const Vec *a, *b;
};

LaneOp lane_op(Arith kind, const Vec &dst, const Vec &src, unsigned lane,
               unsigned lanes) {
  switch (kind) {
  case Arith::AddSub:
    return {lane % 2 ? Arith::Add : Arith::Sub, lane, lane, &dst, &src};
  case Arith::HAdd:
  case Arith::HSub: {
    const Arith pair_kind = kind == Arith::HAdd ? Arith::Add : Arith::Sub;
    const unsigned half = lanes / 2;
    const Vec *from = lane < half ? &dst : &src;
    const unsigned first = 2 * (lane % half);
    return {pair_kind, first, first + 1, from, from};
  }
  default:
    return {kind, lane, lane, &dst, &src};
  }
}

Vec lane_vector(const Vec &from, unsigned lane_bytes, unsigned lane) {
  Vec out;
  if (lane_bytes == 4)
    out.set<uint32_t>(0, from.get<uint32_t>(lane));
  else
    out.set<uint64_t>(0, from.get<uint64_t>(lane));
  return out;
}

double lane_value(const Vec &v, unsigned lane_bytes, unsigned lane, bool daz) {
  if (lane_bytes == 4) {
    float f = v.get<float>(lane);
    if (daz && std::fpclassify(f) == FP_SUBNORMAL)
      f = std::copysign(0.0f, f);
    return f;
  }
  double d = v.get<double>(lane);
  if (daz && std::fpclassify(d) == FP_SUBNORMAL)
    d = std::copysign(0.0, d);
  return d;
}

#define SABLE_X87_LANE_OP(insn)                                                \
  asm volatile("fnstcw %[saved]\n\tfldcw %[cw]\n\tfnclex\n\t"                  \
               "fldl %[a]\n\t" insn " %[b]\n\tfnstsw %[sw]\n\t"                \
               "fstpt %[r]\n\tfldcw %[saved]"                                  \
               : [r] "=m"(result), [sw] "=m"(status), [saved] "+m"(saved_cw)   \
               : [a] "m"(a), [b] "m"(b), [cw] "m"(extended_cw))

// Whether a OP b (b alone for conversions), rounded to `precision` bits
// with an unbounded exponent, is inexact. The x87 computes it in 64-bit
// precision with an exponent range wide enough for any product or
// quotient of doubles; inexact there means inexact at `precision` too,
// and an exact x87 result is checked for bits below `precision`.
bool inexact_unbounded(Arith kind, double a, double b, unsigned precision) {
  uint8_t result[10];
  uint16_t status = 0, saved_cw = 0;
  const uint16_t extended_cw = 0x037f;
  switch (kind) {
  case Arith::Add:
    SABLE_X87_LANE_OP("faddl");
    break;
  case Arith::Sub:
    SABLE_X87_LANE_OP("fsubl");
    break;
  case Arith::Mul:
    SABLE_X87_LANE_OP("fmull");
    break;
  case Arith::Div:
    SABLE_X87_LANE_OP("fdivl");
    break;
  default: // Convert: b itself, exactly
    asm volatile("fldl %[b]\n\tfstpt %[r]" : [r] "=m"(result) : [b] "m"(b));
    break;
  }
  constexpr uint16_t kPrecisionFlag = 1u << 5;
  if (status & kPrecisionFlag)
    return true;
  uint64_t significand;
  std::memcpy(&significand, result, 8);
  return significand & ((uint64_t{1} << (64 - precision)) - 1);
}

struct LaneFlags {
  uint32_t raised = 0;
  bool tiny = false;
};

// One masked run (FTZ per `csr`) plus, when asked, the tininess probe.
LaneFlags run(HostOp op, const Vec &dst, const Vec &src, uint32_t csr,
              bool probe_tiny, Vec &result) {
  LaneFlags flags;
  if (probe_tiny) {
    Vec scratch = dst;
    uint32_t probe = csr | MXCSR_FTZ;
    op(scratch, src, probe);
    flags.tiny = probe & MXCSR_UE;
  }
  result = dst;
  op(result, src, csr);
  flags.raised = csr & kMxcsrFlags;
  return flags;
}

// One scalar operation under the trap rules of run_host_op.
struct TrapRules {
  uint32_t csr;
  bool overflow_unmasked, underflow_unmasked, daz;
  unsigned lane_bytes;

  // Flags of `kind` on the low elements of a and b; `out` gets the masked
  // result.
  uint32_t apply(Arith kind, const Vec &a, const Vec &b, Vec &out) const {
    LaneFlags flags =
        run(scalar_op(kind, lane_bytes), a, b, csr, underflow_unmasked, out);
    const bool tiny_trap = underflow_unmasked && flags.tiny;
    const bool huge_trap = overflow_unmasked && (flags.raised & MXCSR_OE);
    if (tiny_trap)
      flags.raised |= MXCSR_UE;
    if (tiny_trap || huge_trap) {
      const unsigned precision =
          lane_bytes == 4 || kind == Arith::Convert ? 24 : 53;
      flags.raised &= ~MXCSR_PE;
      if (inexact_unbounded(kind, lane_value(a, lane_bytes, 0, daz),
                            lane_value(b, lane_bytes, 0, daz), precision))
        flags.raised |= MXCSR_PE;
    }
    return flags.raised;
  }
};

// DPPS/DPPD as their steps (SDM Vol. 2, DPPS): the products selected by
// imm[7:4] (others +0.0), then pairwise sums. Each step reports like an
// instruction of its own, and an unmasked exception ends the sequence.
uint32_t dot_product_flags(const TrapRules &rules, uint32_t mxcsr,
                           const Vec &dst, const Vec &src, uint64_t imm) {
  const uint32_t unmasked = ~(mxcsr >> 7) & kMxcsrFlags;
  const unsigned count = 16 / rules.lane_bytes;
  uint32_t raised = 0;
  // Folds one step's flags in; true when an unmasked one stops the rest.
  auto step_traps = [&](uint32_t step) {
    step = reported_flags(step, mxcsr);
    raised |= step;
    return (step & unmasked) != 0;
  };
  Vec terms[4];
  uint32_t products = 0;
  for (unsigned i = 0; i < count; i++)
    if ((imm >> (4 + i)) & 1)
      products |= rules.apply(Arith::Mul, lane_vector(dst, rules.lane_bytes, i),
                              lane_vector(src, rules.lane_bytes, i), terms[i]);
  if (step_traps(products))
    return raised;
  Vec low, high, sum;
  uint32_t pairs = rules.apply(Arith::Add, terms[0], terms[1], low);
  if (count == 2) {
    step_traps(pairs);
    return raised;
  }
  pairs |= rules.apply(Arith::Add, terms[2], terms[3], high);
  if (step_traps(pairs))
    return raised;
  step_traps(rules.apply(Arith::Add, low, high, sum));
  return raised;
}

} // namespace

bool host_has_sse3() {
  static const bool supported = __builtin_cpu_supports("sse3");
  return supported;
}

bool host_has_sse41() {
  static const bool supported = __builtin_cpu_supports("sse4.1");
  return supported;
}

uint32_t run_host_op(const Cpu &cpu, HostOp op, const Vec &dst, const Vec &src,
                     unsigned lane_bytes, unsigned lanes, Arith kind,
                     Vec &result, uint64_t imm) {
  const uint32_t guest = cpu.state.fpu.mxcsr;
  uint32_t csr = host_mxcsr(cpu);
  const bool overflow_unmasked = !(guest & MXCSR_OM);
  const bool underflow_unmasked = !(guest & MXCSR_UM);
  const uint32_t unmasked = ~(guest >> 7) & kMxcsrFlags;
  const bool staged = kind == Arith::Dot && unmasked;
  if (!overflow_unmasked && !underflow_unmasked && !staged) {
    result = dst;
    op(result, src, csr);
    return reported_flags(csr, guest);
  }
  // Flushing to zero applies only while underflow is masked.
  if (underflow_unmasked)
    csr &= ~uint32_t{MXCSR_FTZ};
  const LaneFlags whole = run(op, dst, src, csr, underflow_unmasked, result);
  const bool overflow_trap = overflow_unmasked && (whole.raised & MXCSR_OE);
  const bool underflow_trap = underflow_unmasked && whole.tiny;
  if (!overflow_trap && !underflow_trap && !staged)
    return reported_flags(whole.raised, guest);
  if (kind == Arith::Other)
    return reported_flags(
        whole.raised | (underflow_trap ? uint32_t{MXCSR_UE} : 0), guest);
  const TrapRules rules{csr, overflow_unmasked, underflow_unmasked,
                        (guest & MXCSR_DAZ) != 0, lane_bytes};
  if (kind == Arith::Dot)
    return dot_product_flags(rules, guest, dst, src, imm);
  uint32_t raised = 0;
  for (unsigned lane = 0; lane < lanes; lane++) {
    const LaneOp l = lane_op(kind, dst, src, lane, lanes);
    Vec scratch;
    raised |= rules.apply(l.kind, lane_vector(*l.a, lane_bytes, l.a_lane),
                          lane_vector(*l.b, lane_bytes, l.b_lane), scratch);
  }
  return reported_flags(raised, guest);
}

} // namespace sable::cpu::simd
