#include "cpu/cpuid.h"

#include <cstring>

#include "cpu/mmu.h"
#include "cpu/msr.h"
#include "cpu/ops/simd.h"

namespace sable::cpu {

namespace {

constexpr uint32_t kMaxBasicLeaf = 0x16;
constexpr uint32_t kMaxExtendedLeaf = 0x80000008;

// Intel's vendor string: the interpreter follows Intel processors where
// the SDM leaves results undefined, and guests need a vendor they know
// (glibc 2.36 ignores the feature bits of others; Linux's generic init
// skips the vendor code that reads, e.g., the invariant-TSC bit). The
// signature is a Westmere-EP's (family 6, model 0x2c, stepping 2), the
// Intel part with SSE4.2, POPCNT, AES-NI and PCLMULQDQ and no AVX. Linux
// and glibc treat it as a plain Core i7: no model errata, and no MSRs
// beyond the ones cpu/msr.cpp has (others are read with rdmsr_safe). The
// later features advertised below (MOVBE, XSAVE, SMEP, SMAP, LZCNT,
// TSC_ADJUST) guests take from their CPUID bits.
constexpr uint32_t kFamily = 6, kModel = 0x2c, kStepping = 2;

constexpr char kVendor[13] = "GenuineIntel";
constexpr char kBrand[49] = "Sable software CPU";

// CPUID.1:EDX
enum : uint32_t {
  F1D_FPU = 1u << 0,
  F1D_PSE = 1u << 3,
  F1D_TSC = 1u << 4,
  F1D_MSR = 1u << 5,
  F1D_PAE = 1u << 6,
  F1D_CX8 = 1u << 8,
  F1D_APIC = 1u << 9,
  F1D_SEP = 1u << 11,
  F1D_MTRR = 1u << 12,
  F1D_PGE = 1u << 13,
  F1D_CMOV = 1u << 15,
  F1D_PAT = 1u << 16,
  F1D_MMX = 1u << 23,
  F1D_FXSR = 1u << 24,
  F1D_SSE = 1u << 25,
  F1D_SSE2 = 1u << 26,
  F1D_HTT = 1u << 28, // EBX[23:16] counts the package's APIC IDs
};
// CPUID.1:ECX
enum : uint32_t {
  F1C_SSE3 = 1u << 0,
  F1C_PCLMULQDQ = 1u << 1,
  F1C_SSSE3 = 1u << 9,
  F1C_CX16 = 1u << 13,
  F1C_SSE41 = 1u << 19,
  F1C_SSE42 = 1u << 20,
  F1C_MOVBE = 1u << 22,
  F1C_POPCNT = 1u << 23,
  F1C_AES = 1u << 25,
  F1C_XSAVE = 1u << 26,
  F1C_OSXSAVE = 1u << 27,
};
// CPUID.0xD: XSAVE components x87 and SSE in the standard format (the
// 512-byte legacy area and the 64-byte header); XSAVEOPT.
constexpr uint32_t kXsaveComponents = 3;
constexpr uint32_t kXsaveAreaSize = 512 + 64;
constexpr uint32_t kXsaveoptSupported = 1u << 0;
// CPUID.7.0:EBX
enum : uint32_t {
  F7B_TSC_ADJUST = 1u << 1,
  F7B_SMEP = 1u << 7,
  F7B_SMAP = 1u << 20,
};
// CPUID.15H: the TSC and the local APIC timer's input clock both count
// host nanoseconds (LocalApic::kBusClockHz, 1 GHz; a unit test holds the
// two equal), so that clock is the "core crystal clock" and the
// TSC/crystal ratio is 1. Linux takes the TSC frequency and the APIC timer
// period from it instead of calibrating them against the PIT, and the
// Always Running Timer the leaf implies is that clock too (TSC = ART +
// IA32_TSC_ADJUST).
constexpr uint32_t kCrystalHz = kGuestTscHz;
// CPUID.16H: base and maximum frequency in MHz; the TSC runs at the base
// frequency, as on Intel processors. No bus frequency (0: not reported).
constexpr uint32_t kBaseMhz = kGuestTscHz / 1'000'000;
// CPUID.80000001:ECX / EDX
enum : uint32_t {
  F81C_LAHF_LM = 1u << 0,
  F81C_ABM = 1u << 5, // LZCNT
  F81D_SYSCALL = 1u << 11,
  F81D_NX = 1u << 20,
  F81D_PAGE1GB = 1u << 26,
  F81D_LM = 1u << 29,
};
// CPUID.80000007:EDX: the TSC runs at a constant rate in every power and
// sleep state: it is host monotonic time at kGuestTscHz.
constexpr uint32_t F87D_INVARIANT_TSC = 1u << 8;

constexpr uint64_t kApicGlobalEnable = 1u << 11;

uint32_t chars(const char *text) {
  uint32_t value;
  std::memcpy(&value, text, 4);
  return value;
}

} // namespace

uint32_t cpuid_signature() {
  // Models above 15 keep their high nibble in the extended model field.
  return (kModel >> 4) << 16 | kFamily << 8 | (kModel & 0xf) << 4 | kStepping;
}

uint32_t core_id_bits(unsigned count) {
  uint32_t bits = 0;
  while ((1u << bits) < count)
    ++bits;
  return bits;
}

CpuidResult cpuid(const CpuState &state, unsigned apic_id, uint32_t leaf,
                  uint32_t subleaf, unsigned vcpu_count) {
  CpuidResult r;
  // Leaves past the maximum answer as the highest basic leaf, as Intel
  // processors do.
  if ((leaf < 0x80000000 && leaf > kMaxBasicLeaf) ||
      (leaf >= 0x80000000 && leaf > kMaxExtendedLeaf)) {
    leaf = kMaxBasicLeaf;
    subleaf = 0;
  }
  switch (leaf) {
  case 0:
    r.eax = kMaxBasicLeaf;
    r.ebx = chars(kVendor);
    r.edx = chars(kVendor + 4);
    r.ecx = chars(kVendor + 8);
    break;
  case 1:
    r.eax = cpuid_signature();
    r.ebx = (apic_id & 0xff) << 24 | (1u << core_id_bits(vcpu_count)) << 16;
    r.ecx =
        F1C_PCLMULQDQ | F1C_CX16 | F1C_MOVBE | F1C_POPCNT | F1C_AES | F1C_XSAVE;
    // SSSE3 and SSE4.x presuppose SSE3; the SSE3 and SSE4.1 floating-point
    // forms run on the host's.
    if (simd::host_has_sse3())
      r.ecx |= F1C_SSE3 | F1C_SSSE3;
    if (simd::host_has_sse3() && simd::host_has_sse41())
      r.ecx |= F1C_SSE41 | F1C_SSE42;
    if (state.cr4 & CR4_OSXSAVE)
      r.ecx |= F1C_OSXSAVE;
    r.edx = F1D_FPU | F1D_PSE | F1D_TSC | F1D_MSR | F1D_PAE | F1D_CX8 |
            F1D_SEP | F1D_MTRR | F1D_PGE | F1D_CMOV | F1D_PAT | F1D_MMX |
            F1D_FXSR | F1D_SSE | F1D_SSE2;
    if (state.msr.apic_base & kApicGlobalEnable)
      r.edx |= F1D_APIC;
    if (vcpu_count > 1)
      r.edx |= F1D_HTT;
    break;
  case 7:
    if (subleaf == 0)
      r.ebx = F7B_TSC_ADJUST | F7B_SMEP | F7B_SMAP;
    break;
  case 0xb:
    // One package of vcpu_count cores with one thread each (Intel SDM,
    // CPUID leaf 0BH): an SMT level, a core level whose shift leaves the
    // package ID, then invalid levels. EDX is the x2APIC ID.
    r.edx = apic_id;
    r.ecx = subleaf & 0xff;
    if (subleaf == 0) {
      r.ebx = 1;
      r.ecx |= 1u << 8; // SMT level
    } else if (subleaf == 1) {
      r.eax = core_id_bits(vcpu_count);
      r.ebx = vcpu_count;
      r.ecx |= 2u << 8; // core level
    }
    break;
  case 0xd:
    if (subleaf == 0) {
      r.eax = kXsaveComponents;
      r.ebx = kXsaveAreaSize;
      r.ecx = kXsaveAreaSize;
    } else if (subleaf == 1) {
      r.eax = kXsaveoptSupported;
    }
    break;
  case 0x15:
    r.eax = 1;
    r.ebx = 1;
    r.ecx = kCrystalHz;
    break;
  case 0x16:
    r.eax = kBaseMhz;
    r.ebx = kBaseMhz;
    break;
  case 0x80000000:
    r.eax = kMaxExtendedLeaf;
    break;
  case 0x80000001:
    r.ecx = F81C_LAHF_LM | F81C_ABM;
    r.edx = F81D_SYSCALL | F81D_NX | F81D_PAGE1GB | F81D_LM;
    break;
  case 0x80000002:
  case 0x80000003:
  case 0x80000004: {
    const char *part = kBrand + (leaf - 0x80000002) * 16;
    r.eax = chars(part);
    r.ebx = chars(part + 4);
    r.ecx = chars(part + 8);
    r.edx = chars(part + 12);
    break;
  }
  case 0x80000007:
    r.edx = F87D_INVARIANT_TSC;
    break;
  case 0x80000008:
    r.eax = kLinearAddressBits << 8 | kPhysicalAddressBits;
    break;
  default:
    break;
  }
  return r;
}

} // namespace sable::cpu
