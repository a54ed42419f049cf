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

// dst op= src with the guest's MXCSR semantics. `MemSize` is the memory
// source's size; a 16-byte legacy-SSE memory operand must be aligned.
template <HostOp Op, unsigned MemSize>
bool host_binary(Cpu &cpu, const Instruction &insn) {
  Vec dst, src;
  if (!read_vec(cpu, insn, 0, 16, false, dst) ||
      !read_vec(cpu, insn, 1, MemSize, MemSize == 16, src))
    return false;
  uint32_t csr = host_mxcsr(cpu);
  Op(dst, src, csr);
  if (!commit_mxcsr(cpu, csr))
    return false;
  return write_vec(cpu, insn, 0, 16, false, dst);
}

// The same with the function picked by the immediate (masked to the
// table's size).
template <const auto &Table, unsigned MemSize>
bool host_binary_imm(Cpu &cpu, const Instruction &insn) {
  Vec dst, src;
  if (!read_vec(cpu, insn, 0, 16, false, dst) ||
      !read_vec(cpu, insn, 1, MemSize, MemSize == 16, src))
    return false;
  uint32_t csr = host_mxcsr(cpu);
  Table[insn.imm % Table.size()](dst, src, csr);
  if (!commit_mxcsr(cpu, csr))
    return false;
  return write_vec(cpu, insn, 0, 16, false, dst);
}

} // namespace sable::cpu::simd
