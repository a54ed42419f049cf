#pragma once
// IEEE single/double arithmetic of the SSE instructions, computed by the
// host's own instruction of the same name. This is exact: each host
// instruction runs between an LDMXCSR that installs the guest's rounding
// control, DAZ and FTZ with every exception masked and no flags, and an
// STMXCSR that reads back exactly the flags it raised, all inside one asm
// statement so the compiler cannot move floating-point work across the
// MXCSR switch. Masked responses (default NaN, infinities, denormal
// flushing) are the host's, which are the architecture's; the one
// implementation-specific result is the approximation of RCPPS/RSQRTPS,
// which reads as the host processor's. The guest's unmasked exceptions are
// reported afterwards from the raised flags (commit_mxcsr).

#include <array>
#include <utility>

#include "cpu/cpu.h"
#include "cpu/ops/simd.h"

namespace sable::cpu::simd {

using HostVec = double __attribute__((vector_size(16)));
using HostOp = void (*)(Vec &dst, const Vec &src, uint32_t &csr);

inline HostVec to_host(const Vec &v) {
  HostVec h;
  std::memcpy(&h, v.b, 16);
  return h;
}
inline void from_host(Vec &v, const HostVec &h) {
  std::memcpy(v.b, &h, 16);
}

// `name(dst, src, csr)`: `dst = mnemonic(dst, src)` under host MXCSR `csr`,
// which accumulates the raised flags.
#define SABLE_HOST_OP(name, mnemonic)                                          \
  inline void name(Vec &dst, const Vec &src, uint32_t &csr) {                  \
    HostVec d = to_host(dst);                                                  \
    const HostVec s = to_host(src);                                            \
    asm volatile("ldmxcsr %[c]\n\t" mnemonic " %[s], %[d]\n\tstmxcsr %[c]"     \
                 : [d] "+x"(d), [c] "+m"(csr)                                  \
                 : [s] "x"(s));                                                \
    from_host(dst, d);                                                         \
  }

// The imm8 forms, one function per immediate value.
#define SABLE_HOST_IMM_OP(name, mnemonic)                                      \
  template <uint8_t Imm> void name(Vec &dst, const Vec &src, uint32_t &csr) {  \
    HostVec d = to_host(dst);                                                  \
    const HostVec s = to_host(src);                                            \
    asm volatile("ldmxcsr %[c]\n\t" mnemonic                                   \
                 " %[i], %[s], %[d]\n\tstmxcsr %[c]"                           \
                 : [d] "+x"(d), [c] "+m"(csr)                                  \
                 : [s] "x"(s), [i] "i"(Imm));                                  \
    from_host(dst, d);                                                         \
  }

// A table of the Count instantiations of an SABLE_HOST_IMM_OP function.
#define SABLE_HOST_IMM_TABLE(name, count)                                      \
  []<std::size_t... I>(std::index_sequence<I...>) {                            \
    return std::array<HostOp, count>{name<static_cast<uint8_t>(I)>...};        \
  }                                                                            \
  (std::make_index_sequence<count>{})

// What an operation does to one lane, for the rules below.
enum class Arith : uint8_t {
  Other, // never overflows or underflows
  Add,
  Sub,
  Mul,
  Div,
  Convert, // double to single
  AddSub,  // ADDSUBPS/PD: even lanes subtract, odd lanes add
  HAdd,    // HADDPS/PD: pairs of the destination, then of the source
  HSub,
  Dot, // DPPS/DPPD: products and sums as separate steps
};

// Computes result = op(dst, src) and returns the MXCSR flags the guest
// sees (passed through reported_flags). With overflow and underflow masked
// (the usual case) that is one host run. Unmasking them changes what a
// lane reports (SDM Vol. 1, 11.5.2.3-4, as processors behave): a tiny lane
// with underflow unmasked reports UE even when its result is exact, and a
// lane that traps for overflow or underflow reports PE only when its
// result, rounded with an unbounded exponent (what the x87 would hand a
// handler, scaled), is inexact. Tininess is found by a run with FTZ set,
// which flushes every tiny result and raises UE for it. When such a trap
// is coming, each lane's scalar operation (`kind`, `lane_bytes` wide) runs
// alone so that its flags are known, and the unbounded rounding is
// decided exactly in the host x87's 64-bit precision. Arith::Other keeps
// the flags of the whole run. DPPS/DPPD (Arith::Dot, `imm` selecting the
// terms) run step by step whenever an exception is unmasked, since an
// unmasked exception in the products ends the instruction before the sums.
uint32_t run_host_op(const Cpu &cpu, HostOp op, const Vec &dst, const Vec &src,
                     unsigned lane_bytes, unsigned lanes, Arith kind,
                     Vec &result, uint64_t imm = 0);

// dst op= src with the guest's MXCSR semantics. `MemSize` is the memory
// source's size (a 16-byte legacy-SSE memory operand must be aligned);
// `Lane` the element width and `Kind` the lane operation for the per-lane
// exception rules.
template <HostOp Op, unsigned MemSize,
          unsigned Lane = MemSize % 16 ? MemSize : 4, Arith Kind = Arith::Other>
bool host_binary(Cpu &cpu, const Instruction &insn) {
  Vec dst, src, result;
  if (!read_vec(cpu, insn, 0, 16, false, dst) ||
      !read_vec(cpu, insn, 1, MemSize, MemSize == 16, src))
    return false;
  const unsigned lanes = MemSize == 16 && Lane ? 16 / Lane : 1;
  if (!commit_reported_mxcsr(
          cpu, run_host_op(cpu, Op, dst, src, Lane, lanes, Kind, result)))
    return false;
  return write_vec(cpu, insn, 0, 16, false, result);
}

// The same with the function picked by the immediate (masked to the
// table's size).
template <const auto &Table, unsigned MemSize,
          unsigned Lane = MemSize % 16 ? MemSize : 4, Arith Kind = Arith::Other>
bool host_binary_imm(Cpu &cpu, const Instruction &insn) {
  Vec dst, src, result;
  if (!read_vec(cpu, insn, 0, 16, false, dst) ||
      !read_vec(cpu, insn, 1, MemSize, MemSize == 16, src))
    return false;
  const HostOp op = Table[insn.imm % Table.size()];
  const unsigned lanes = MemSize == 16 && Lane ? 16 / Lane : 1;
  if (!commit_reported_mxcsr(cpu, run_host_op(cpu, op, dst, src, Lane, lanes,
                                              Kind, result, insn.imm)))
    return false;
  return write_vec(cpu, insn, 0, 16, false, result);
}

} // namespace sable::cpu::simd
