// Packed and scalar single/double arithmetic (SSE, SSE2, SSE3, SSE4.1):
// add..div, sqrt, min/max, the reciprocal approximations, compares,
// COMISS/UCOMISS, horizontal and alternating add/subtract, ROUND* and
// DPPS/DPPD. See simd_host.h for how the host computes them exactly.

#include "cpu/flags.h"
#include "cpu/ops/simd_host.h"

namespace sable::cpu::simd {

namespace {

SABLE_HOST_OP(addps, "addps")
SABLE_HOST_OP(addpd, "addpd")
SABLE_HOST_OP(addss, "addss")
SABLE_HOST_OP(addsd, "addsd")
SABLE_HOST_OP(subps, "subps")
SABLE_HOST_OP(subpd, "subpd")
SABLE_HOST_OP(subss, "subss")
SABLE_HOST_OP(subsd, "subsd")
SABLE_HOST_OP(mulps, "mulps")
SABLE_HOST_OP(mulpd, "mulpd")
SABLE_HOST_OP(mulss, "mulss")
SABLE_HOST_OP(mulsd, "mulsd")
SABLE_HOST_OP(divps, "divps")
SABLE_HOST_OP(divpd, "divpd")
SABLE_HOST_OP(divss, "divss")
SABLE_HOST_OP(divsd, "divsd")
SABLE_HOST_OP(minps, "minps")
SABLE_HOST_OP(minpd, "minpd")
SABLE_HOST_OP(minss, "minss")
SABLE_HOST_OP(minsd, "minsd")
SABLE_HOST_OP(maxps, "maxps")
SABLE_HOST_OP(maxpd, "maxpd")
SABLE_HOST_OP(maxss, "maxss")
SABLE_HOST_OP(maxsd, "maxsd")
SABLE_HOST_OP(sqrtps, "sqrtps")
SABLE_HOST_OP(sqrtpd, "sqrtpd")
SABLE_HOST_OP(sqrtss, "sqrtss")
SABLE_HOST_OP(sqrtsd, "sqrtsd")
SABLE_HOST_OP(rsqrtps, "rsqrtps")
SABLE_HOST_OP(rsqrtss, "rsqrtss")
SABLE_HOST_OP(rcpps, "rcpps")
SABLE_HOST_OP(rcpss, "rcpss")
SABLE_HOST_OP(haddps, "haddps")
SABLE_HOST_OP(haddpd, "haddpd")
SABLE_HOST_OP(hsubps, "hsubps")
SABLE_HOST_OP(hsubpd, "hsubpd")
SABLE_HOST_OP(addsubps, "addsubps")
SABLE_HOST_OP(addsubpd, "addsubpd")

SABLE_HOST_IMM_OP(cmpps, "cmpps")
SABLE_HOST_IMM_OP(cmppd, "cmppd")
SABLE_HOST_IMM_OP(cmpss, "cmpss")
SABLE_HOST_IMM_OP(cmpsd, "cmpsd")
SABLE_HOST_IMM_OP(roundps, "roundps")
SABLE_HOST_IMM_OP(roundpd, "roundpd")
SABLE_HOST_IMM_OP(roundss, "roundss")
SABLE_HOST_IMM_OP(roundsd, "roundsd")
SABLE_HOST_IMM_OP(dpps, "dpps")
SABLE_HOST_IMM_OP(dppd, "dppd")

// CMP* use imm[2:0], ROUND* imm[3:0]; DPPS/DPPD all eight bits.
constexpr auto kCmpps = SABLE_HOST_IMM_TABLE(cmpps, 8);
constexpr auto kCmppd = SABLE_HOST_IMM_TABLE(cmppd, 8);
constexpr auto kCmpss = SABLE_HOST_IMM_TABLE(cmpss, 8);
constexpr auto kCmpsd = SABLE_HOST_IMM_TABLE(cmpsd, 8);
constexpr auto kRoundps = SABLE_HOST_IMM_TABLE(roundps, 16);
constexpr auto kRoundpd = SABLE_HOST_IMM_TABLE(roundpd, 16);
constexpr auto kRoundss = SABLE_HOST_IMM_TABLE(roundss, 16);
constexpr auto kRoundsd = SABLE_HOST_IMM_TABLE(roundsd, 16);
constexpr auto kDpps = SABLE_HOST_IMM_TABLE(dpps, 256);
constexpr auto kDppd = SABLE_HOST_IMM_TABLE(dppd, 256);

// COMISS/UCOMISS/COMISD/UCOMISD: ZF PF CF from the compare, OF SF AF
// cleared.
enum class Compare { Ordered, Unordered };

template <Compare Kind, bool Double>
bool compare_flags(Cpu &cpu, const Instruction &insn) {
  Vec dst, src;
  if (!read_vec(cpu, insn, 0, 16, false, dst) ||
      !read_vec(cpu, insn, 1, Double ? 8 : 4, false, src))
    return false;
  const HostVec d = to_host(dst), s = to_host(src);
  uint32_t csr = host_mxcsr(cpu);
  bool zf, pf, cf;
  if constexpr (Kind == Compare::Ordered && Double)
    asm volatile("ldmxcsr %[c]\n\tcomisd %[s], %[d]\n\tstmxcsr %[c]"
                 : [c] "+m"(csr), "=@ccz"(zf), "=@ccp"(pf), "=@ccc"(cf)
                 : [d] "x"(d), [s] "x"(s));
  else if constexpr (Kind == Compare::Ordered)
    asm volatile("ldmxcsr %[c]\n\tcomiss %[s], %[d]\n\tstmxcsr %[c]"
                 : [c] "+m"(csr), "=@ccz"(zf), "=@ccp"(pf), "=@ccc"(cf)
                 : [d] "x"(d), [s] "x"(s));
  else if constexpr (Double)
    asm volatile("ldmxcsr %[c]\n\tucomisd %[s], %[d]\n\tstmxcsr %[c]"
                 : [c] "+m"(csr), "=@ccz"(zf), "=@ccp"(pf), "=@ccc"(cf)
                 : [d] "x"(d), [s] "x"(s));
  else
    asm volatile("ldmxcsr %[c]\n\tucomiss %[s], %[d]\n\tstmxcsr %[c]"
                 : [c] "+m"(csr), "=@ccz"(zf), "=@ccp"(pf), "=@ccc"(cf)
                 : [d] "x"(d), [s] "x"(s));
  if (!commit_mxcsr(cpu, csr))
    return false;
  set_arith_flags(cpu.state, (zf ? uint64_t{ZF} : 0) | (pf ? uint64_t{PF} : 0) |
                                 (cf ? uint64_t{CF} : 0));
  return true;
}

} // namespace

void register_floats(Registry &r) {
  r.add(M0F, 0x2e, NP, compare_flags<Compare::Unordered, false>);
  r.add(M0F, 0x2e, P66, compare_flags<Compare::Unordered, true>);
  r.add(M0F, 0x2f, NP, compare_flags<Compare::Ordered, false>);
  r.add(M0F, 0x2f, P66, compare_flags<Compare::Ordered, true>);

  r.add(M0F, 0x51, NP, host_binary<sqrtps, 16>);
  r.add(M0F, 0x51, P66, host_binary<sqrtpd, 16, 8>);
  r.add(M0F, 0x51, PF3, host_binary<sqrtss, 4>);
  r.add(M0F, 0x51, PF2, host_binary<sqrtsd, 8>);
  r.add(M0F, 0x52, NP, host_binary<rsqrtps, 16>);
  r.add(M0F, 0x52, PF3, host_binary<rsqrtss, 4>);
  r.add(M0F, 0x53, NP, host_binary<rcpps, 16>);
  r.add(M0F, 0x53, PF3, host_binary<rcpss, 4>);
  r.add(M0F, 0x58, NP, host_binary<addps, 16, 4, Arith::Add>);
  r.add(M0F, 0x58, P66, host_binary<addpd, 16, 8, Arith::Add>);
  r.add(M0F, 0x58, PF3, host_binary<addss, 4, 4, Arith::Add>);
  r.add(M0F, 0x58, PF2, host_binary<addsd, 8, 8, Arith::Add>);
  r.add(M0F, 0x59, NP, host_binary<mulps, 16, 4, Arith::Mul>);
  r.add(M0F, 0x59, P66, host_binary<mulpd, 16, 8, Arith::Mul>);
  r.add(M0F, 0x59, PF3, host_binary<mulss, 4, 4, Arith::Mul>);
  r.add(M0F, 0x59, PF2, host_binary<mulsd, 8, 8, Arith::Mul>);
  r.add(M0F, 0x5c, NP, host_binary<subps, 16, 4, Arith::Sub>);
  r.add(M0F, 0x5c, P66, host_binary<subpd, 16, 8, Arith::Sub>);
  r.add(M0F, 0x5c, PF3, host_binary<subss, 4, 4, Arith::Sub>);
  r.add(M0F, 0x5c, PF2, host_binary<subsd, 8, 8, Arith::Sub>);
  r.add(M0F, 0x5d, NP, host_binary<minps, 16>);
  r.add(M0F, 0x5d, P66, host_binary<minpd, 16, 8>);
  r.add(M0F, 0x5d, PF3, host_binary<minss, 4>);
  r.add(M0F, 0x5d, PF2, host_binary<minsd, 8>);
  r.add(M0F, 0x5e, NP, host_binary<divps, 16, 4, Arith::Div>);
  r.add(M0F, 0x5e, P66, host_binary<divpd, 16, 8, Arith::Div>);
  r.add(M0F, 0x5e, PF3, host_binary<divss, 4, 4, Arith::Div>);
  r.add(M0F, 0x5e, PF2, host_binary<divsd, 8, 8, Arith::Div>);
  r.add(M0F, 0x5f, NP, host_binary<maxps, 16>);
  r.add(M0F, 0x5f, P66, host_binary<maxpd, 16, 8>);
  r.add(M0F, 0x5f, PF3, host_binary<maxss, 4>);
  r.add(M0F, 0x5f, PF2, host_binary<maxsd, 8>);
  r.add(M0F, 0xc2, NP, host_binary_imm<kCmpps, 16>);
  r.add(M0F, 0xc2, P66, host_binary_imm<kCmppd, 16, 8>);
  r.add(M0F, 0xc2, PF3, host_binary_imm<kCmpss, 4>);
  r.add(M0F, 0xc2, PF2, host_binary_imm<kCmpsd, 8>);
  if (host_has_sse3()) {
    r.add(M0F, 0x7c, P66, host_binary<haddpd, 16, 8, Arith::HAdd>);
    r.add(M0F, 0x7c, PF2, host_binary<haddps, 16, 4, Arith::HAdd>);
    r.add(M0F, 0x7d, P66, host_binary<hsubpd, 16, 8, Arith::HSub>);
    r.add(M0F, 0x7d, PF2, host_binary<hsubps, 16, 4, Arith::HSub>);
    r.add(M0F, 0xd0, P66, host_binary<addsubpd, 16, 8, Arith::AddSub>);
    r.add(M0F, 0xd0, PF2, host_binary<addsubps, 16, 4, Arith::AddSub>);
  }
  if (host_has_sse41()) {
    r.add(M3A, 0x08, P66, host_binary_imm<kRoundps, 16>);
    r.add(M3A, 0x09, P66, host_binary_imm<kRoundpd, 16, 8>);
    r.add(M3A, 0x0a, P66, host_binary_imm<kRoundss, 4>);
    r.add(M3A, 0x0b, P66, host_binary_imm<kRoundsd, 8>);
    r.add(M3A, 0x40, P66, host_binary_imm<kDpps, 16, 4, Arith::Dot>);
    r.add(M3A, 0x41, P66, host_binary_imm<kDppd, 16, 8, Arith::Dot>);
  }
}

} // namespace sable::cpu::simd
