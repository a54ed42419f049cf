// MOV/POP/LxS to a data or stack segment register: the real and V86 rule
// base = selector << 4, and the protected-mode descriptor checks.
// The descriptor helpers themselves live in cpu/ops/far_transfer.h, shared
// with the far transfers.

#include "cpu/cpu.h"
#include "cpu/ops/far_transfer.h"
#include "machine/log.h"

namespace sable::cpu {

namespace {
// A V86 segment: present, DPL 3, read/write data, accessed.
constexpr uint16_t kV86Attributes = 0xf3;
} // namespace

bool Cpu::load_segment(unsigned seg, uint16_t selector) {
  CpuState &s = state;
  Segment &target = s.seg[seg];
  if (seg == CS) {
    // CS changes only through far transfers, which check gates and
    // privilege themselves; MOV/POP CS do not exist.
    SABLE_LOG_ONCE(LOG_GUEST_ERRORS, "cpu: load_segment(CS) refused\n");
    return fault(EXC_UD);
  }
  if (!s.protected_mode() || s.v86()) {
    target.selector = selector;
    target.base = uint64_t{selector} << 4;
    if (s.v86()) {
      target.limit = 0xffff;
      target.attributes = kV86Attributes;
    }
    return true;
  }
  const unsigned cpl = s.cpl();
  const unsigned rpl = selector & 3;
  const uint16_t error = selector & 0xfffc;
  if (is_null_selector(selector)) {
    if (seg == SS) {
      // Only 64-bit mode allows a null SS, below CPL 3 and with RPL = CPL.
      if (s.code_size() != CodeSize::Bits64 || cpl == 3 || rpl != cpl)
        return fault(EXC_GP, 0);
    }
    // A null selector leaves the register unusable (and, as Intel
    // processors do, clears the base).
    target = Segment{selector, 0, 0, 0};
    return true;
  }
  Descriptor d;
  if (!read_descriptor(*this, selector, false, d, EXC_GP))
    return false;
  if (seg == SS) {
    if (rpl != cpl || d.dpl() != cpl || !d.writable_data())
      return fault(EXC_GP, error);
    if (!d.present())
      return fault(EXC_SS, error);
  } else {
    if (d.system() || !d.readable())
      return fault(EXC_GP, error);
    // Data and non-conforming code must be at least as privileged as
    // both CPL and RPL allow.
    if (!d.conforming() && (rpl > d.dpl() || cpl > d.dpl()))
      return fault(EXC_GP, error);
    if (!d.present())
      return fault(EXC_NP, error);
  }
  if (!mark_accessed(*this, selector, d))
    return false;
  target = segment_from(selector, d, false);
  return true;
}

} // namespace sable::cpu
