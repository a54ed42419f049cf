// Group 15 state instructions: FXSAVE/FXRSTOR, LDMXCSR/STMXCSR and
// XSAVE/XRSTOR/XSAVEOPT for the x87 and SSE components (XCR0 bits 0, 1)
// in the standard (non-compacted) format, SDM Vol. 1, 10.5 and 13.
//
// FpuState is the FXSAVE image itself, so saving copies its bytes.

#include <cstddef>

#include "cpu/cpu.h"
#include "cpu/ops/simd.h"

namespace sable::cpu::simd {

namespace {

constexpr uint64_t kXcr0X87 = 1, kXcr0Sse = 2, kXcr0Avx = 4;
constexpr unsigned kXsaveHeader = 512;
constexpr unsigned kXsaveSize = 576;
// Legacy-area pieces: x87 control/pointer fields, MXCSR + MXCSR_MASK, the
// x87/MMX registers, the XMM registers.
constexpr unsigned kX87Fields = offsetof(FpuState, mxcsr);
constexpr unsigned kMxcsrOffset = offsetof(FpuState, mxcsr);
constexpr unsigned kStOffset = offsetof(FpuState, st);
constexpr unsigned kXmmOffset = offsetof(FpuState, xmm);

unsigned xmm_count(const Cpu &cpu) {
  return cpu.state.code_size() == CodeSize::Bits64 ? 16 : 8;
}

bool check_alignment(Cpu &cpu, const Instruction &insn, unsigned alignment) {
  if (memory_linear(cpu, insn) & (alignment - 1))
    return cpu.fault(EXC_GP, 0);
  return true;
}

// In 64-bit mode without REX.W the image holds 32-bit FIP/FDP offsets
// with the FCS/FDS selectors beside them (SDM Vol. 2, FXSAVE, Table
// 3-47); the x87 code keeps full 64-bit pointers there, and this
// processor stores the selectors as zero.
bool narrow_pointers(const Cpu &cpu, const Instruction &insn) {
  return cpu.state.code_size() == CodeSize::Bits64 && !rex_w(insn);
}

// Writes `size` bytes of the FXSAVE image starting at `offset` to the same
// offset of the memory operand.
bool store_image(Cpu &cpu, const Instruction &insn, unsigned offset,
                 unsigned size) {
  FpuState image = cpu.state.fpu;
  if (narrow_pointers(cpu, insn)) {
    image.fip &= 0xffffffff;
    image.fdp &= 0xffffffff;
  }
  const auto *bytes = reinterpret_cast<const uint8_t *>(&image);
  return cpu.write(insn.seg, cpu.effective_address(insn) + offset,
                   bytes + offset, size);
}

bool read_image(Cpu &cpu, const Instruction &insn, FpuState &image) {
  return cpu.read(insn.seg, cpu.effective_address(insn), &image,
                  sizeof(FpuState));
}

void load_x87(const Cpu &cpu, const Instruction &insn, FpuState &fpu,
              const FpuState &image) {
  std::memcpy(static_cast<void *>(&fpu), &image, kX87Fields);
  std::memcpy(fpu.st, image.st, sizeof(fpu.st));
  if (narrow_pointers(cpu, insn)) {
    fpu.fip &= 0xffffffff;
    fpu.fdp &= 0xffffffff;
  }
}

void load_xmm(Cpu &cpu, const FpuState &image) {
  std::memcpy(cpu.state.fpu.xmm, image.xmm, 16 * xmm_count(cpu));
}

void init_x87(FpuState &fpu) {
  const FpuState initial;
  std::memcpy(static_cast<void *>(&fpu), &initial, kX87Fields);
  std::memset(fpu.st, 0, sizeof(fpu.st));
}

// ---- FXSAVE / FXRSTOR: #NM when CR0.TS or CR0.EM.
bool fx_checks(Cpu &cpu, const Instruction &insn) {
  if (cpu.state.cr0 & (CR0_TS | CR0_EM))
    return cpu.fault(EXC_NM);
  return check_alignment(cpu, insn, 16);
}

bool fxsave(Cpu &cpu, const Instruction &insn) {
  if (!fx_checks(cpu, insn))
    return false;
  return store_image(cpu, insn, 0, kXmmOffset + 16 * xmm_count(cpu));
}

bool fxrstor(Cpu &cpu, const Instruction &insn) {
  if (!fx_checks(cpu, insn))
    return false;
  FpuState image;
  if (!read_image(cpu, insn, image))
    return false;
  if (image.mxcsr & ~kMxcsrMask)
    return cpu.fault(EXC_GP, 0);
  load_x87(cpu, insn, cpu.state.fpu, image);
  cpu.state.fpu.mxcsr = image.mxcsr;
  load_xmm(cpu, image);
  return true;
}

// ---- LDMXCSR / STMXCSR: the usual SSE checks already ran.
bool ldmxcsr(Cpu &cpu, const Instruction &insn) {
  uint64_t value = 0;
  if (!cpu.read_operand(insn, 0, value))
    return false;
  if (value & ~uint64_t{kMxcsrMask})
    return cpu.fault(EXC_GP, 0);
  cpu.state.fpu.mxcsr = static_cast<uint32_t>(value);
  return true;
}

bool stmxcsr(Cpu &cpu, const Instruction &insn) {
  return cpu.write_operand(insn, 0, cpu.state.fpu.mxcsr);
}

// ---- XSAVE family: #UD without CR4.OSXSAVE, #NM with CR0.TS, 64-byte
// alignment. RFBM is XCR0 masked by EDX:EAX.
bool xsave_checks(Cpu &cpu, const Instruction &insn, uint64_t &rfbm) {
  if (!(cpu.state.cr4 & CR4_OSXSAVE))
    return cpu.fault(EXC_UD);
  if (cpu.state.cr0 & CR0_TS)
    return cpu.fault(EXC_NM);
  if (!check_alignment(cpu, insn, 64))
    return false;
  const uint64_t mask = (cpu.reg(RDX, 4) << 32) | cpu.reg(RAX, 4);
  rfbm = cpu.state.xcr0 & mask;
  return true;
}

// XSAVE and XSAVEOPT (which may skip unmodified components; saving them
// all is a valid implementation). XINUSE is taken as all ones, so every
// requested component is marked present in XSTATE_BV.
bool xsave(Cpu &cpu, const Instruction &insn) {
  uint64_t rfbm = 0;
  if (!xsave_checks(cpu, insn, rfbm))
    return false;
  const uint64_t header = cpu.effective_address(insn) + kXsaveHeader;
  uint64_t xstate_bv = 0;
  if (!cpu.read(insn.seg, header, xstate_bv))
    return false;
  if ((rfbm & kXcr0X87) &&
      (!store_image(cpu, insn, 0, kX87Fields) ||
       !store_image(cpu, insn, kStOffset, sizeof(FpuState::st))))
    return false;
  if ((rfbm & (kXcr0Sse | kXcr0Avx)) &&
      !store_image(cpu, insn, kMxcsrOffset, 8))
    return false;
  if ((rfbm & kXcr0Sse) &&
      !store_image(cpu, insn, kXmmOffset, 16 * xmm_count(cpu)))
    return false;
  xstate_bv = (xstate_bv & ~rfbm) | rfbm;
  return cpu.write(insn.seg, header, &xstate_bv, 8);
}

// XRSTOR, standard form: components in RFBM load from memory when their
// XSTATE_BV bit is set and take their initial state otherwise; MXCSR
// loads whenever RFBM names SSE or AVX.
bool xrstor(Cpu &cpu, const Instruction &insn) {
  uint64_t rfbm = 0;
  if (!xsave_checks(cpu, insn, rfbm))
    return false;
  uint8_t area[kXsaveSize];
  if (!cpu.read(insn.seg, cpu.effective_address(insn), area, kXsaveSize))
    return false;
  // Without XSAVEC (not offered) header bytes 8..23, XCOMP_BV included,
  // must be zero; the rest of the header is not checked.
  uint64_t xstate_bv, header_words[2];
  std::memcpy(&xstate_bv, area + kXsaveHeader, 8);
  std::memcpy(header_words, area + kXsaveHeader + 8, 16);
  if (header_words[0] || header_words[1] || (xstate_bv & ~cpu.state.xcr0))
    return cpu.fault(EXC_GP, 0);
  FpuState image;
  std::memcpy(static_cast<void *>(&image), area, sizeof(image));
  const bool load_mxcsr = rfbm & (kXcr0Sse | kXcr0Avx);
  if (load_mxcsr && (image.mxcsr & ~kMxcsrMask))
    return cpu.fault(EXC_GP, 0);

  FpuState &fpu = cpu.state.fpu;
  if (rfbm & kXcr0X87) {
    if (xstate_bv & kXcr0X87)
      load_x87(cpu, insn, fpu, image);
    else
      init_x87(fpu);
  }
  if (rfbm & kXcr0Sse) {
    if (xstate_bv & kXcr0Sse)
      load_xmm(cpu, image);
    else
      std::memset(fpu.xmm, 0, 16 * xmm_count(cpu));
  }
  if (load_mxcsr)
    fpu.mxcsr = image.mxcsr;
  return true;
}

bool group15(Cpu &cpu, const Instruction &insn) {
  switch (modrm_reg(insn)) {
  case 0:
    return fxsave(cpu, insn);
  case 1:
    return fxrstor(cpu, insn);
  case 2:
  case 3:
    if ((cpu.state.cr0 & CR0_EM) || !(cpu.state.cr4 & CR4_OSFXSR))
      return cpu.fault(EXC_UD);
    if (cpu.state.cr0 & CR0_TS)
      return cpu.fault(EXC_NM);
    return modrm_reg(insn) == 2 ? ldmxcsr(cpu, insn) : stmxcsr(cpu, insn);
  case 4:
  case 6:
    return xsave(cpu, insn);
  case 5:
    return xrstor(cpu, insn);
  default:
    return cpu.fault(EXC_UD);
  }
}

} // namespace

void register_state(Registry &r) {
  r.add(M0F, 0xae, NP, group15, Checks::Own);
}

} // namespace sable::cpu::simd
