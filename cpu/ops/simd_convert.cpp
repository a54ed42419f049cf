// Conversions between single, double and integer formats (SSE, SSE2),
// including the MMX-operand forms CVTPI2PS..CVTTPD2PI. Computed by the
// host under the guest's MXCSR as described in simd_host.h.

#include "cpu/ops/simd_host.h"

namespace sable::cpu::simd {

namespace {

SABLE_HOST_OP(cvtps2pd, "cvtps2pd")
SABLE_HOST_OP(cvtpd2ps, "cvtpd2ps")
SABLE_HOST_OP(cvtss2sd, "cvtss2sd")
SABLE_HOST_OP(cvtsd2ss, "cvtsd2ss")
SABLE_HOST_OP(cvtdq2ps, "cvtdq2ps")
SABLE_HOST_OP(cvtps2dq, "cvtps2dq")
SABLE_HOST_OP(cvttps2dq, "cvttps2dq")
SABLE_HOST_OP(cvtdq2pd, "cvtdq2pd")
SABLE_HOST_OP(cvtpd2dq, "cvtpd2dq")
SABLE_HOST_OP(cvttpd2dq, "cvttpd2dq")

// Scalar to a 32- or 64-bit integer (the destination register's size).
#define SABLE_HOST_TO_INT(name, mnemonic)                                      \
  template <typename Int> Int name(const Vec &src, uint32_t &csr) {            \
    const HostVec s = to_host(src);                                            \
    Int result;                                                                \
    asm volatile("ldmxcsr %[c]\n\t" mnemonic " %[s], %[r]\n\tstmxcsr %[c]"     \
                 : [r] "=r"(result), [c] "+m"(csr)                             \
                 : [s] "x"(s));                                                \
    return result;                                                             \
  }

SABLE_HOST_TO_INT(cvtss2si, "cvtss2si")
SABLE_HOST_TO_INT(cvttss2si, "cvttss2si")
SABLE_HOST_TO_INT(cvtsd2si, "cvtsd2si")
SABLE_HOST_TO_INT(cvttsd2si, "cvttsd2si")

// A 32- or 64-bit integer into the low element; %z picks the l/q suffix.
#define SABLE_HOST_FROM_INT(name, mnemonic)                                    \
  template <typename Int> void name(Vec &dst, Int value, uint32_t &csr) {      \
    HostVec d = to_host(dst);                                                  \
    asm volatile("ldmxcsr %[c]\n\t" mnemonic "%z[v] %[v], %[d]\n\t"            \
                 "stmxcsr %[c]"                                                \
                 : [d] "+x"(d), [c] "+m"(csr)                                  \
                 : [v] "r"(value));                                            \
    from_host(dst, d);                                                         \
  }

SABLE_HOST_FROM_INT(cvtsi2ss, "cvtsi2ss")
SABLE_HOST_FROM_INT(cvtsi2sd, "cvtsi2sd")

template <int32_t (*Fn32)(const Vec &, uint32_t &),
          int64_t (*Fn64)(const Vec &, uint32_t &), unsigned MemSize>
bool to_integer(Cpu &cpu, const Instruction &insn) {
  Vec src;
  if (!read_vec(cpu, insn, 1, MemSize, false, src))
    return false;
  uint32_t csr = host_mxcsr(cpu);
  const unsigned size = insn.operands[0].size;
  const uint64_t result = size == 8 ? static_cast<uint64_t>(Fn64(src, csr))
                                    : static_cast<uint32_t>(Fn32(src, csr));
  if (!commit_mxcsr(cpu, csr))
    return false;
  cpu.set_reg(insn.operands[0].reg, size, result);
  return true;
}

template <void (*Fn32)(Vec &, int32_t, uint32_t &),
          void (*Fn64)(Vec &, int64_t, uint32_t &)>
bool from_integer(Cpu &cpu, const Instruction &insn) {
  Vec dst = get_xmm(cpu, insn.operands[0].reg);
  uint64_t value = 0;
  if (!cpu.read_operand(insn, 1, value))
    return false;
  uint32_t csr = host_mxcsr(cpu);
  if (insn.operands[1].size == 8)
    Fn64(dst, static_cast<int64_t>(value), csr);
  else
    Fn32(dst, static_cast<int32_t>(value), csr);
  if (!commit_mxcsr(cpu, csr))
    return false;
  set_xmm(cpu, insn.operands[0].reg, dst);
  return true;
}

// CVTPS2PI/CVTTPS2PI (two singles, m64) and CVTPD2PI/CVTTPD2PI (two
// doubles, m128) into an MMX register. The unused source lanes are zero,
// which converts exactly.
template <HostOp Op, unsigned MemSize>
bool to_mmx(Cpu &cpu, const Instruction &insn) {
  Vec src, out;
  if (!read_vec(cpu, insn, 1, MemSize, MemSize == 16, src))
    return false;
  if (MemSize == 8)
    src.set<uint64_t>(1, 0);
  uint32_t csr = host_mxcsr(cpu);
  Op(out, src, csr);
  if (!commit_mxcsr(cpu, csr))
    return false;
  set_mmx(cpu, insn.operands[0].reg, out.get<uint64_t>(0));
  return true;
}

// CVTPI2PS: two integers into the low two singles, the upper two kept.
bool cvtpi2ps(Cpu &cpu, const Instruction &insn) {
  Vec src, converted;
  if (!read_vec(cpu, insn, 1, 8, false, src))
    return false;
  uint32_t csr = host_mxcsr(cpu);
  cvtdq2ps(converted, src, csr);
  if (!commit_mxcsr(cpu, csr))
    return false;
  Vec dst = get_xmm(cpu, insn.operands[0].reg);
  dst.set<uint64_t>(0, converted.get<uint64_t>(0));
  set_xmm(cpu, insn.operands[0].reg, dst);
  return true;
}

} // namespace

void register_converts(Registry &r) {
  r.add(M0F, 0x2a, NP, cvtpi2ps);
  r.add(M0F, 0x2a, P66, host_binary<cvtdq2pd, 8>); // CVTPI2PD
  r.add(M0F, 0x2a, PF3, from_integer<cvtsi2ss<int32_t>, cvtsi2ss<int64_t>>);
  r.add(M0F, 0x2a, PF2, from_integer<cvtsi2sd<int32_t>, cvtsi2sd<int64_t>>);
  r.add(M0F, 0x2c, NP, to_mmx<cvttps2dq, 8>);
  r.add(M0F, 0x2c, P66, to_mmx<cvttpd2dq, 16>);
  r.add(M0F, 0x2c, PF3, to_integer<cvttss2si<int32_t>, cvttss2si<int64_t>, 4>);
  r.add(M0F, 0x2c, PF2, to_integer<cvttsd2si<int32_t>, cvttsd2si<int64_t>, 8>);
  r.add(M0F, 0x2d, NP, to_mmx<cvtps2dq, 8>);
  r.add(M0F, 0x2d, P66, to_mmx<cvtpd2dq, 16>);
  r.add(M0F, 0x2d, PF3, to_integer<cvtss2si<int32_t>, cvtss2si<int64_t>, 4>);
  r.add(M0F, 0x2d, PF2, to_integer<cvtsd2si<int32_t>, cvtsd2si<int64_t>, 8>);
  r.add(M0F, 0x5a, NP, host_binary<cvtps2pd, 8>);
  r.add(M0F, 0x5a, P66, host_binary<cvtpd2ps, 16, 8, Arith::Convert>);
  r.add(M0F, 0x5a, PF3, host_binary<cvtss2sd, 4>);
  r.add(M0F, 0x5a, PF2, host_binary<cvtsd2ss, 8, 8, Arith::Convert>);
  r.add(M0F, 0x5b, NP, host_binary<cvtdq2ps, 16>);
  r.add(M0F, 0x5b, P66, host_binary<cvtps2dq, 16>);
  r.add(M0F, 0x5b, PF3, host_binary<cvttps2dq, 16>);
  r.add(M0F, 0xe6, P66, host_binary<cvttpd2dq, 16>);
  r.add(M0F, 0xe6, PF3, host_binary<cvtdq2pd, 8>);
  r.add(M0F, 0xe6, PF2, host_binary<cvtpd2dq, 16>);
}

} // namespace sable::cpu::simd
