// IN/OUT/INS/OUTS permission: IOPL first, then the I/O permission bitmap
// of the current 32-bit (or 64-bit) TSS.

#include "cpu/cpu.h"
#include "cpu/ops/far_transfer.h"

namespace sable::cpu {

namespace {
constexpr uint32_t kIoMapBaseOffset = 0x66;
} // namespace

bool Cpu::check_io(uint16_t port, unsigned size) {
  const CpuState &s = state;
  if (!s.protected_mode())
    return true;
  const unsigned iopl = (s.rflags & IOPL) >> 12;
  if (!s.v86() && s.cpl() <= iopl)
    return true;
  const Segment &tr = s.tr;
  const unsigned type = tr.attributes & 0xf;
  const bool tss32 = type == SYS_TSS32_AVAILABLE || type == SYS_TSS32_BUSY;
  if (!tss32 || tr.limit < kIoMapBaseOffset + 1)
    return fault(EXC_GP, 0);
  uint16_t map_base;
  if (!read_linear(tr.base + kIoMapBaseOffset, &map_base, 2, true))
    return false;
  // The bits for the port may straddle a byte, so two bytes are read; both
  // must lie within the TSS limit.
  const uint32_t byte = map_base + port / 8u;
  if (byte + 1 > tr.limit)
    return fault(EXC_GP, 0);
  uint16_t bits;
  if (!read_linear(tr.base + byte, &bits, 2, true))
    return false;
  const uint16_t wanted =
      static_cast<uint16_t>(((1u << size) - 1) << (port & 7));
  if (bits & wanted)
    return fault(EXC_GP, 0);
  return true;
}

} // namespace sable::cpu
