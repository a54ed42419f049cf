// Data movement between XMM/MMX registers, general registers and memory:
// MOVUPS..MOVDQU, the partial (low/high/scalar) moves, MOVD/MOVQ, the
// non-temporal stores, mask extraction, element insert/extract and EMMS.

#include "cpu/cpu.h"
#include "cpu/ops/simd.h"

namespace sable::cpu::simd {

namespace {

// Full-register moves; `Aligned` for MOVAPS/MOVAPD/MOVDQA/MOVNT*.
template <bool Aligned> bool move_full(Cpu &cpu, const Instruction &insn) {
  const unsigned width = vector_width(insn, is_memory(insn, 0) ? 1 : 0);
  Vec value;
  return read_vec(cpu, insn, 1, width, Aligned && width == 16, value) &&
         write_vec(cpu, insn, 0, width, Aligned && width == 16, value);
}

bool movntdqa(Cpu &cpu, const Instruction &insn) {
  if (!is_memory(insn, 1))
    return cpu.fault(EXC_UD);
  return move_full<true>(cpu, insn);
}

// MOVSS/MOVSD: a load from memory zeroes the rest of the register, a
// register-to-register move replaces only the low element.
template <unsigned Size> bool move_scalar(Cpu &cpu, const Instruction &insn) {
  Vec src;
  if (!read_vec(cpu, insn, 1, Size, false, src))
    return false;
  if (is_memory(insn, 0))
    return write_vec(cpu, insn, 0, Size, false, src);
  if (is_memory(insn, 1))
    return write_vec(cpu, insn, 0, 16, false, src);
  Vec dst = get_xmm(cpu, insn.operands[0].reg);
  std::memcpy(dst.b, src.b, Size);
  set_xmm(cpu, insn.operands[0].reg, dst);
  return true;
}

// MOVLPS/MOVLPD/MOVHPS/MOVHPD loads and MOVHLPS/MOVLHPS: one quadword of
// the destination (`DstHalf`) from memory or from a source half.
template <unsigned DstHalf, unsigned RegSrcHalf>
bool move_half_load(Cpu &cpu, const Instruction &insn) {
  Vec src;
  if (!read_vec(cpu, insn, 1, 8, false, src))
    return false;
  Vec dst = get_xmm(cpu, insn.operands[0].reg);
  const unsigned half = is_memory(insn, 1) ? 0 : RegSrcHalf;
  dst.set<uint64_t>(DstHalf, src.get<uint64_t>(half));
  set_xmm(cpu, insn.operands[0].reg, dst);
  return true;
}

template <unsigned SrcHalf>
bool move_half_store(Cpu &cpu, const Instruction &insn) {
  Vec src = get_xmm(cpu, insn.operands[1].reg);
  Vec out;
  out.set<uint64_t>(0, src.get<uint64_t>(SrcHalf));
  return write_vec(cpu, insn, 0, 8, false, out);
}

// MOVSLDUP (Odd = false) / MOVSHDUP (Odd = true).
template <bool Odd> bool move_dup_single(Cpu &cpu, const Instruction &insn) {
  Vec src, out;
  if (!read_vec(cpu, insn, 1, 16, true, src))
    return false;
  for (unsigned i = 0; i < 4; i += 2) {
    out.set<uint32_t>(i, src.get<uint32_t>(i + Odd));
    out.set<uint32_t>(i + 1, src.get<uint32_t>(i + Odd));
  }
  return write_vec(cpu, insn, 0, 16, false, out);
}

bool movddup(Cpu &cpu, const Instruction &insn) {
  Vec src, out;
  if (!read_vec(cpu, insn, 1, 8, false, src))
    return false;
  out.set<uint64_t>(0, src.get<uint64_t>(0));
  out.set<uint64_t>(1, src.get<uint64_t>(0));
  return write_vec(cpu, insn, 0, 16, false, out);
}

// MOVD/MOVQ into an MMX/XMM register from a general register or memory:
// zero-extended.
bool move_to_vector(Cpu &cpu, const Instruction &insn) {
  Vec value;
  return read_vec(cpu, insn, 1, insn.operands[1].size, false, value) &&
         write_vec(cpu, insn, 0, 16, false, value);
}

bool move_from_vector(Cpu &cpu, const Instruction &insn) {
  Vec value;
  return read_vec(cpu, insn, 1, 16, false, value) &&
         write_vec(cpu, insn, 0, insn.operands[0].size, false, value);
}

// MOVQ xmm, xmm/m64 (F3 0F 7E) and MOVQ xmm/m64, xmm (66 0F D6): the
// register destination's upper quadword is zeroed.
bool movq_xmm(Cpu &cpu, const Instruction &insn) {
  Vec src, out;
  if (!read_vec(cpu, insn, 1, 8, false, src))
    return false;
  out.set<uint64_t>(0, src.get<uint64_t>(0));
  return write_vec(cpu, insn, 0, 8, false, out);
}

// MOVQ2DQ, MOVDQ2Q and MOVQ mm, mm/m64 / mm/m64, mm.
bool move_quad(Cpu &cpu, const Instruction &insn) {
  Vec src, out;
  if (!read_vec(cpu, insn, 1, 8, false, src))
    return false;
  out.set<uint64_t>(0, src.get<uint64_t>(0));
  return write_vec(cpu, insn, 0, 8, false, out);
}

// MOVMSKPS/MOVMSKPD/PMOVMSKB: the sign bits of each element.
template <typename T> bool move_mask(Cpu &cpu, const Instruction &insn) {
  Vec src;
  if (!read_vec(cpu, insn, 1, 16, false, src))
    return false;
  const unsigned lanes = vector_width(insn, 1) / sizeof(T);
  uint32_t mask = 0;
  for (unsigned i = 0; i < lanes; i++)
    if (src.b[(i + 1) * sizeof(T) - 1] & 0x80)
      mask |= 1u << i;
  cpu.set_reg(insn.operands[0].reg, insn.operands[0].size, mask);
  return true;
}

// MASKMOVQ/MASKMOVDQU: the bytes whose mask byte has its top bit set are
// stored at DS:rDI (segment override allowed; the decoder's insn.seg).
bool mask_move(Cpu &cpu, const Instruction &insn) {
  Vec data, mask;
  if (!read_vec(cpu, insn, 0, 16, false, data) ||
      !read_vec(cpu, insn, 1, 16, false, mask))
    return false;
  const unsigned width = vector_width(insn, 0);
  const uint64_t address_mask = insn.addrsize == 8
                                    ? ~uint64_t{0}
                                    : (uint64_t{1} << (8 * insn.addrsize)) - 1;
  const uint64_t base = cpu.reg(RDI, insn.addrsize);
  for (unsigned i = 0; i < width; i++)
    if ((mask.b[i] & 0x80) &&
        !cpu.write(insn.seg, (base + i) & address_mask, &data.b[i], 1))
      return false;
  return true;
}

bool emms(Cpu &cpu, const Instruction &) {
  cpu.state.fpu.ftw = 0;
  return true;
}

// PINSRW (0F C4), PINSRB/PINSRD/PINSRQ (0F 3A 20/22): an element from a
// general register or memory into the lane the immediate selects.
// The 0F 3A forms decode their general-register source as an XMM operand
// numbered like the general register.
template <typename T> bool insert_element(Cpu &cpu, const Instruction &insn) {
  Vec src;
  const Operand &from = insn.operands[1];
  if (from.kind == OperandKind::Xmm)
    src.set<uint64_t>(0, cpu.reg(from.reg, 8));
  else if (!read_vec(cpu, insn, 1, sizeof(T), false, src))
    return false;
  Vec dst;
  if (!read_vec(cpu, insn, 0, 16, false, dst))
    return false;
  const unsigned lanes = vector_width(insn, 0) / sizeof(T);
  dst.set<T>(insn.imm % lanes, src.get<T>(0));
  return write_vec(cpu, insn, 0, 16, false, dst);
}

bool pinsr_dq(Cpu &cpu, const Instruction &insn) {
  return rex_w(insn) ? insert_element<uint64_t>(cpu, insn)
                     : insert_element<uint32_t>(cpu, insn);
}

// PEXTRW (0F C5): Gd, Ux, Ib.
bool pextrw_legacy(Cpu &cpu, const Instruction &insn) {
  Vec src;
  if (!read_vec(cpu, insn, 1, 16, false, src))
    return false;
  const unsigned lanes = vector_width(insn, 1) / 2;
  cpu.set_reg(insn.operands[0].reg, insn.operands[0].size,
              src.get<uint16_t>(insn.imm % lanes));
  return true;
}

// 0F 3A 14..17: the decoder names the XMM source as operand 0 and the
// general register or memory destination as operand 1 (r/m); a register
// destination gets the element zero-extended to 32 or 64 bits.
template <typename T> bool extract_element(Cpu &cpu, const Instruction &insn) {
  const Vec src = get_xmm(cpu, insn.operands[0].reg);
  const T element = src.get<T>(insn.imm % (16 / sizeof(T)));
  const Operand &dst = insn.operands[1];
  if (dst.kind == OperandKind::Mem)
    return cpu.write(insn.seg, cpu.effective_address(insn), &element,
                     sizeof(T));
  const unsigned size = sizeof(T) == 8 || rex_w(insn) ? 8 : 4;
  cpu.set_reg(dst.reg, size, element);
  return true;
}

bool pextr_dq(Cpu &cpu, const Instruction &insn) {
  return rex_w(insn) ? extract_element<uint64_t>(cpu, insn)
                     : extract_element<uint32_t>(cpu, insn);
}

// INSERTPS: imm[7:6] picks the source element (register form), imm[5:4]
// the destination lane, imm[3:0] zeroes lanes.
bool insertps(Cpu &cpu, const Instruction &insn) {
  Vec src;
  if (!read_vec(cpu, insn, 1, 4, false, src))
    return false;
  const unsigned imm = static_cast<unsigned>(insn.imm);
  const unsigned from = is_memory(insn, 1) ? 0 : imm >> 6;
  Vec dst = get_xmm(cpu, insn.operands[0].reg);
  dst.set<uint32_t>((imm >> 4) & 3, src.get<uint32_t>(from));
  for (unsigned i = 0; i < 4; i++)
    if (imm & (1u << i))
      dst.set<uint32_t>(i, 0);
  set_xmm(cpu, insn.operands[0].reg, dst);
  return true;
}

} // namespace

void register_moves(Registry &r) {
  r.add(M0F, 0x10, NP | P66, move_full<false>);
  r.add(M0F, 0x11, NP | P66, move_full<false>);
  r.add(M0F, 0x10, PF3, move_scalar<4>);
  r.add(M0F, 0x11, PF3, move_scalar<4>);
  r.add(M0F, 0x10, PF2, move_scalar<8>);
  r.add(M0F, 0x11, PF2, move_scalar<8>);
  r.add(M0F, 0x12, NP, move_half_load<0, 1>); // MOVLPS / MOVHLPS
  r.add(M0F, 0x12, P66, move_half_load<0, 0>);
  r.add(M0F, 0x12, PF3, move_dup_single<false>);
  r.add(M0F, 0x12, PF2, movddup);
  r.add(M0F, 0x13, NP | P66, move_half_store<0>);
  r.add(M0F, 0x16, NP, move_half_load<1, 0>); // MOVHPS / MOVLHPS
  r.add(M0F, 0x16, P66, move_half_load<1, 0>);
  r.add(M0F, 0x16, PF3, move_dup_single<true>);
  r.add(M0F, 0x17, NP | P66, move_half_store<1>);
  r.add(M0F, 0x28, NP | P66, move_full<true>);
  r.add(M0F, 0x29, NP | P66, move_full<true>);
  r.add(M0F, 0x2b, NP | P66, move_full<true>);
  r.add(M0F, 0x50, NP, move_mask<uint32_t>);
  r.add(M0F, 0x50, P66, move_mask<uint64_t>);
  r.add(M0F, 0x6e, NP | P66, move_to_vector);
  r.add(M0F, 0x6f, NP, move_quad);
  r.add(M0F, 0x6f, P66, move_full<true>);
  r.add(M0F, 0x6f, PF3, move_full<false>);
  r.add(M0F, 0x77, NP, emms, Checks::Mmx);
  r.add(M0F, 0x7e, NP | P66, move_from_vector);
  r.add(M0F, 0x7e, PF3, movq_xmm);
  r.add(M0F, 0x7f, NP, move_quad);
  r.add(M0F, 0x7f, P66, move_full<true>);
  r.add(M0F, 0x7f, PF3, move_full<false>);
  r.add(M0F, 0xc4, NP | P66, insert_element<uint16_t>);
  r.add(M0F, 0xc5, NP | P66, pextrw_legacy);
  r.add(M0F, 0xd6, P66, movq_xmm);
  r.add(M0F, 0xd6, PF3 | PF2, move_quad);
  r.add(M0F, 0xd7, NP | P66, move_mask<uint8_t>);
  r.add(M0F, 0xe7, NP | P66, move_full<true>);
  r.add(M0F, 0xf0, PF2, move_full<false>); // LDDQU
  r.add(M0F, 0xf7, NP | P66, mask_move);
  r.add(M38, 0x2a, P66, movntdqa);
  r.add(M3A, 0x14, P66, extract_element<uint8_t>);
  r.add(M3A, 0x15, P66, extract_element<uint16_t>);
  r.add(M3A, 0x16, P66, pextr_dq);
  r.add(M3A, 0x17, P66, extract_element<uint32_t>); // EXTRACTPS
  r.add(M3A, 0x20, P66, insert_element<uint8_t>);
  r.add(M3A, 0x21, P66, insertps);
  r.add(M3A, 0x22, P66, pinsr_dq);
}

} // namespace sable::cpu::simd
