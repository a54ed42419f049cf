#pragma once
// Shared pieces of the SIMD handlers (MMX, SSE..SSE4.2 and the FXSAVE/XSAVE
// state instructions): the 128-bit value type, register and operand access
// with the SDM's alignment rules, MXCSR exception reporting and the
// per-family registration into the Op::SIMD dispatch table (simd.cpp).

#include <cstdint>
#include <cstring>

#include "cpu/instruction.h"
#include "cpu/ops/handlers.h"

namespace sable::cpu {
class Cpu;
}

namespace sable::cpu::simd {

// One XMM value (or an MMX value in the low 8 bytes).
struct Vec {
  alignas(16) uint8_t b[16] = {};

  // Lanes wrap within the register, which also bounds every access.
  template <typename T> static unsigned offset(unsigned lane) {
    return (lane % (16 / sizeof(T))) * sizeof(T);
  }

  template <typename T> T get(unsigned lane) const {
    T value;
    std::memcpy(&value, b + offset<T>(lane), sizeof(T));
    return value;
  }
  template <typename T> void set(unsigned lane, T value) {
    std::memcpy(b + offset<T>(lane), &value, sizeof(T));
  }
};

// MXCSR fields (SDM Vol. 1, 10.2.3).
enum Mxcsr : uint32_t {
  MXCSR_IE = 1u << 0,
  MXCSR_DE = 1u << 1,
  MXCSR_ZE = 1u << 2,
  MXCSR_OE = 1u << 3,
  MXCSR_UE = 1u << 4,
  MXCSR_PE = 1u << 5,
  MXCSR_DAZ = 1u << 6,
  MXCSR_OM = 1u << 10,
  MXCSR_UM = 1u << 11,
  MXCSR_MASKS = 0x3fu << 7,
  MXCSR_RC = 3u << 13,
  MXCSR_FTZ = 1u << 15,
};
constexpr uint32_t kMxcsrFlags = 0x3f;
// MXCSR bits software may set; the rest raise #GP (LDMXCSR, FXRSTOR).
constexpr uint32_t kMxcsrMask = 0xffff;

// Which architectural checks precede a handler (SDM Vol. 3, 13.1-13.3 and
// the exception-class tables of Vol. 2).
enum class Checks : uint8_t {
  Operands, // MMX/SSE rules from the operand kinds (the usual case)
  Mmx,      // MMX rules although no MMX operand is named (EMMS)
  Own,      // the handler checks everything itself (state, CRC32)
};

// Registration of one (map, opcode, mandatory prefix) form. `prefixes` is a
// mask of the Pfx bits below.
enum Pfx : uint8_t { NP = 1, P66 = 2, PF3 = 4, PF2 = 8 };
enum MapIndex : uint8_t { M0F = 0, M38 = 1, M3A = 2 };

struct Registry {
  virtual void add(MapIndex map, uint8_t opcode, uint8_t prefixes,
                   Handler handler, Checks checks = Checks::Operands) = 0;

protected:
  ~Registry() = default;
};

void register_moves(Registry &r);    // simd_move.cpp
void register_integer(Registry &r);  // simd_int.cpp
void register_shuffles(Registry &r); // simd_shuffle.cpp
void register_floats(Registry &r);   // simd_float.cpp
void register_converts(Registry &r); // simd_convert.cpp
void register_strings(Registry &r);  // simd_string.cpp
void register_aes(Registry &r);      // simd_aes.cpp
void register_state(Registry &r);    // simd_state.cpp

// ---- registers
Vec get_xmm(const Cpu &cpu, unsigned reg);
void set_xmm(Cpu &cpu, unsigned reg, const Vec &value);
// MMX register i is the mantissa of physical x87 register i; dispatch has
// already made TOP 0 so it is also ST(i).
uint64_t get_mmx(const Cpu &cpu, unsigned reg);
void set_mmx(Cpu &cpu, unsigned reg, uint64_t value);

// ---- operands
// Width in bytes of the vector operand `index`: 8 for MMX, else 16.
unsigned vector_width(const Instruction &insn, unsigned index = 0);
// Reads operand `index`: an XMM/MMX register, a general register, or
// `mem_size` bytes of memory (zero-extended). `aligned` demands 16-byte
// alignment of the memory operand (#GP(0) otherwise).
bool read_vec(Cpu &cpu, const Instruction &insn, unsigned index,
              unsigned mem_size, bool aligned, Vec &out);
// Writes operand `index`: the whole XMM/MMX register, or `mem_size` bytes.
bool write_vec(Cpu &cpu, const Instruction &insn, unsigned index,
               unsigned mem_size, bool aligned, const Vec &value);
// The linear address of the memory operand, for alignment checks.
uint64_t memory_linear(const Cpu &cpu, const Instruction &insn);
inline bool is_memory(const Instruction &insn, unsigned index) {
  return insn.operands[index].kind == OperandKind::Mem;
}
inline bool rex_w(const Instruction &insn) {
  return insn.rex & 8;
}
inline unsigned modrm_reg(const Instruction &insn) {
  return (insn.modrm >> 3) & 7;
}

// ---- floating point
// Whether the host runs the SSE3 (HADDPS..ADDSUBPD) and SSE4.1 (ROUND*,
// DPPS/DPPD) instructions the float handlers execute. Without them those
// forms stay #UD and CPUID does not offer the extension.
bool host_has_sse3();
bool host_has_sse41();
// Host MXCSR value that computes like the guest: the guest's rounding,
// DAZ and FTZ, every exception masked (the host never traps) and no flags.
uint32_t host_mxcsr(const Cpu &cpu);
// Folds the flags an operation raised into the guest MXCSR. Returns false
// with #XM (or #UD when CR4.OSXMMEXCPT = 0) recorded when one of them is
// unmasked; the destination must then stay unchanged.
bool commit_mxcsr(Cpu &cpu, uint32_t raised);
// The flags one operation step reports under the guest's masks `mxcsr`.
uint32_t reported_flags(uint32_t raised, uint32_t mxcsr);
// commit_mxcsr for flags already passed through reported_flags (by each
// step of a multi-step operation).
bool commit_reported_mxcsr(Cpu &cpu, uint32_t reported);

} // namespace sable::cpu::simd
