// Element rearrangement: unpacks, packs with saturation, PSHUF*, PSHUFB,
// PALIGNR, SHUFPS/SHUFPD and the blends.

#include <algorithm>
#include <limits>

#include "cpu/cpu.h"
#include "cpu/ops/simd.h"

namespace sable::cpu::simd {

namespace {

struct Operands {
  Vec dst, src;
  unsigned width = 16;
};

// `src_size` is the memory operand's size when it differs from the
// register width (the MMX low unpacks read 4 bytes).
bool load(Cpu &cpu, const Instruction &insn, Operands &ops,
          unsigned src_size = 0) {
  ops.width = vector_width(insn, 0);
  return read_vec(cpu, insn, 0, ops.width, false, ops.dst) &&
         read_vec(cpu, insn, 1, src_size ? src_size : ops.width,
                  ops.width == 16, ops.src);
}

bool store(Cpu &cpu, const Instruction &insn, const Operands &ops,
           const Vec &out) {
  return write_vec(cpu, insn, 0, ops.width, false, out);
}

// PUNPCKL*/PUNPCKH* and UNPCKLPS/PD, UNPCKHPS/PD: interleave the low or
// high halves of destination and source.
template <typename T, bool High>
bool unpack(Cpu &cpu, const Instruction &insn) {
  Operands ops;
  const bool mmx_low = vector_width(insn, 0) == 8 && !High;
  if (!load(cpu, insn, ops, mmx_low ? 4 : 0))
    return false;
  const unsigned half = ops.width / sizeof(T) / 2;
  const unsigned base = High ? half : 0;
  Vec out;
  for (unsigned i = 0; i < half; i++) {
    out.set<T>(2 * i, ops.dst.get<T>(base + i));
    out.set<T>(2 * i + 1, ops.src.get<T>(base + i));
  }
  return store(cpu, insn, ops, out);
}

template <typename From, typename To>
bool pack(Cpu &cpu, const Instruction &insn) {
  Operands ops;
  if (!load(cpu, insn, ops))
    return false;
  const unsigned count = ops.width / sizeof(From);
  Vec out;
  for (unsigned i = 0; i < count; i++) {
    const int64_t lo = std::numeric_limits<To>::min();
    const int64_t hi = std::numeric_limits<To>::max();
    out.set<To>(
        i, static_cast<To>(std::clamp<int64_t>(ops.dst.get<From>(i), lo, hi)));
    out.set<To>(count + i, static_cast<To>(std::clamp<int64_t>(
                               ops.src.get<From>(i), lo, hi)));
  }
  return store(cpu, insn, ops, out);
}

bool pshufb(Cpu &cpu, const Instruction &insn) {
  Operands ops;
  if (!load(cpu, insn, ops))
    return false;
  Vec out;
  for (unsigned i = 0; i < ops.width; i++)
    out.b[i] =
        (ops.src.b[i] & 0x80) ? 0 : ops.dst.b[ops.src.b[i] & (ops.width - 1)];
  return store(cpu, insn, ops, out);
}

// PSHUFW/PSHUFD (whole register), PSHUFLW/PSHUFHW (four words of one
// half, the other half copied): two immediate bits per element.
template <typename T, unsigned First>
bool shuffle_imm(Cpu &cpu, const Instruction &insn) {
  Operands ops;
  if (!load(cpu, insn, ops))
    return false;
  Vec out = ops.src;
  const unsigned imm = static_cast<unsigned>(insn.imm);
  for (unsigned i = 0; i < 4; i++)
    out.set<T>(First + i, ops.src.get<T>(First + ((imm >> (2 * i)) & 3)));
  return store(cpu, insn, ops, out);
}

// PALIGNR: destination:source as one double-width value shifted right by
// imm bytes.
bool palignr(Cpu &cpu, const Instruction &insn) {
  Operands ops;
  if (!load(cpu, insn, ops))
    return false;
  uint8_t joined[32] = {};
  std::memcpy(joined, ops.src.b, ops.width);
  std::memcpy(joined + ops.width, ops.dst.b, ops.width);
  Vec out;
  for (unsigned i = 0; i < ops.width; i++) {
    const uint64_t from = insn.imm + i;
    out.b[i] = from < 2 * ops.width ? joined[from] : 0;
  }
  return store(cpu, insn, ops, out);
}

bool shufps(Cpu &cpu, const Instruction &insn) {
  Operands ops;
  if (!load(cpu, insn, ops))
    return false;
  const unsigned imm = static_cast<unsigned>(insn.imm);
  Vec out;
  out.set<uint32_t>(0, ops.dst.get<uint32_t>(imm & 3));
  out.set<uint32_t>(1, ops.dst.get<uint32_t>((imm >> 2) & 3));
  out.set<uint32_t>(2, ops.src.get<uint32_t>((imm >> 4) & 3));
  out.set<uint32_t>(3, ops.src.get<uint32_t>((imm >> 6) & 3));
  return store(cpu, insn, ops, out);
}

bool shufpd(Cpu &cpu, const Instruction &insn) {
  Operands ops;
  if (!load(cpu, insn, ops))
    return false;
  Vec out;
  out.set<uint64_t>(0, ops.dst.get<uint64_t>(insn.imm & 1));
  out.set<uint64_t>(1, ops.src.get<uint64_t>((insn.imm >> 1) & 1));
  return store(cpu, insn, ops, out);
}

// BLENDPS/BLENDPD/PBLENDW: immediate bit i selects the source's element i.
template <typename T> bool blend_imm(Cpu &cpu, const Instruction &insn) {
  Operands ops;
  if (!load(cpu, insn, ops))
    return false;
  Vec out = ops.dst;
  for (unsigned i = 0; i < 16 / sizeof(T); i++)
    if ((insn.imm >> i) & 1)
      out.set<T>(i, ops.src.get<T>(i));
  return store(cpu, insn, ops, out);
}

// PBLENDVB/BLENDVPS/BLENDVPD: XMM0's element sign bits select the source.
template <typename T> bool blend_variable(Cpu &cpu, const Instruction &insn) {
  Operands ops;
  if (!load(cpu, insn, ops))
    return false;
  const Vec mask = get_xmm(cpu, 0);
  Vec out = ops.dst;
  for (unsigned i = 0; i < 16 / sizeof(T); i++)
    if (mask.b[(i + 1) * sizeof(T) - 1] & 0x80)
      out.set<T>(i, ops.src.get<T>(i));
  return store(cpu, insn, ops, out);
}

} // namespace

void register_shuffles(Registry &r) {
  constexpr uint8_t kBoth = NP | P66;
  r.add(M0F, 0x14, NP, unpack<uint32_t, false>);
  r.add(M0F, 0x14, P66, unpack<uint64_t, false>);
  r.add(M0F, 0x15, NP, unpack<uint32_t, true>);
  r.add(M0F, 0x15, P66, unpack<uint64_t, true>);
  r.add(M0F, 0x60, kBoth, unpack<uint8_t, false>);
  r.add(M0F, 0x61, kBoth, unpack<uint16_t, false>);
  r.add(M0F, 0x62, kBoth, unpack<uint32_t, false>);
  r.add(M0F, 0x63, kBoth, pack<int16_t, int8_t>);
  r.add(M0F, 0x67, kBoth, pack<int16_t, uint8_t>);
  r.add(M0F, 0x68, kBoth, unpack<uint8_t, true>);
  r.add(M0F, 0x69, kBoth, unpack<uint16_t, true>);
  r.add(M0F, 0x6a, kBoth, unpack<uint32_t, true>);
  r.add(M0F, 0x6b, kBoth, pack<int32_t, int16_t>);
  r.add(M0F, 0x6c, P66, unpack<uint64_t, false>);
  r.add(M0F, 0x6d, P66, unpack<uint64_t, true>);
  r.add(M0F, 0x70, NP, shuffle_imm<uint16_t, 0>);
  r.add(M0F, 0x70, P66, shuffle_imm<uint32_t, 0>);
  r.add(M0F, 0x70, PF3, shuffle_imm<uint16_t, 4>);
  r.add(M0F, 0x70, PF2, shuffle_imm<uint16_t, 0>);
  r.add(M0F, 0xc6, NP, shufps);
  r.add(M0F, 0xc6, P66, shufpd);
  r.add(M38, 0x00, kBoth, pshufb);
  r.add(M38, 0x10, P66, blend_variable<uint8_t>);
  r.add(M38, 0x14, P66, blend_variable<uint32_t>);
  r.add(M38, 0x15, P66, blend_variable<uint64_t>);
  r.add(M38, 0x2b, P66, pack<int32_t, uint16_t>);
  r.add(M3A, 0x0c, P66, blend_imm<uint32_t>);
  r.add(M3A, 0x0d, P66, blend_imm<uint64_t>);
  r.add(M3A, 0x0e, P66, blend_imm<uint16_t>);
  r.add(M3A, 0x0f, kBoth, palignr);
}

} // namespace sable::cpu::simd
