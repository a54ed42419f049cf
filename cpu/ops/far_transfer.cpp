#include "cpu/ops/far_transfer.h"

#include "cpu/cpu.h"

namespace sable::cpu {

uint32_t Descriptor::raw_limit() const {
  return (low & 0xffff) | (high & 0xf0000);
}

uint32_t Descriptor::limit() const {
  uint32_t limit = raw_limit();
  if (high & (1u << 23))
    limit = (limit << 12) | 0xfff;
  return limit;
}

uint64_t Descriptor::base(bool wide) const {
  uint64_t base = (low >> 16) | ((high & 0xff) << 16) | (high & 0xff000000u);
  if (wide)
    base |= uint64_t{upper} << 32;
  return base;
}

uint64_t Descriptor::gate_offset(bool wide) const {
  uint64_t offset = (low & 0xffff) | (high & 0xffff0000u);
  if (wide)
    offset |= uint64_t{upper} << 32;
  return offset;
}

Fetch fetch_descriptor(Cpu &cpu, uint16_t selector, bool wide,
                       Descriptor &out) {
  const CpuState &s = cpu.state;
  uint64_t table_base;
  uint32_t table_limit;
  if (selector & 4) {
    if (is_null_selector(s.ldtr.selector) || !s.ldtr.present())
      return Fetch::Outside;
    table_base = s.ldtr.base;
    table_limit = s.ldtr.limit;
  } else {
    table_base = s.gdtr.base;
    table_limit = s.gdtr.limit;
  }
  uint32_t offset = selector & 0xfff8;
  unsigned size = wide ? 16 : 8;
  if (uint64_t{offset} + size - 1 > table_limit)
    return Fetch::Outside;
  uint32_t words[4] = {};
  if (!cpu.read_linear(table_base + offset, words, size, true))
    return Fetch::Faulted;
  out.low = words[0];
  out.high = words[1];
  out.upper = words[2];
  out.upper_reserved = words[3];
  return Fetch::Ok;
}

bool read_descriptor(Cpu &cpu, uint16_t selector, bool wide, Descriptor &out,
                     uint8_t vector) {
  switch (fetch_descriptor(cpu, selector, wide, out)) {
  case Fetch::Ok:
    return true;
  case Fetch::Outside:
    return cpu.fault(vector, selector & 0xfffc);
  case Fetch::Faulted:
    break;
  }
  return false;
}

static uint64_t descriptor_linear(const CpuState &s, uint16_t selector) {
  uint64_t table = (selector & 4) ? s.ldtr.base : s.gdtr.base;
  return table + (selector & 0xfff8);
}

bool mark_accessed(Cpu &cpu, uint16_t selector, Descriptor &descriptor) {
  if (descriptor.high & 0x100)
    return true;
  descriptor.high |= 0x100;
  uint8_t access = descriptor.high >> 8;
  return cpu.write_linear(descriptor_linear(cpu.state, selector) + 5, &access,
                          1, true);
}

bool mark_tss_busy(Cpu &cpu, uint16_t selector, Descriptor &descriptor) {
  descriptor.high |= 0x200;
  uint8_t access = descriptor.high >> 8;
  return cpu.write_linear(descriptor_linear(cpu.state, selector) + 5, &access,
                          1, true);
}

Segment segment_from(uint16_t selector, const Descriptor &descriptor,
                     bool wide) {
  Segment seg;
  seg.selector = selector;
  seg.base = descriptor.base(wide);
  seg.limit = descriptor.limit();
  seg.attributes = descriptor.attributes();
  return seg;
}

namespace {
constexpr uint16_t kAttrPresent = 0x80;
constexpr uint16_t kAttrCodeOrData = 0x10;
constexpr uint16_t kAttrLong = 0x2000;
constexpr uint16_t kAttrBig = 0x4000;
constexpr uint16_t kAttrGranular = 0x8000;
constexpr uint16_t kTypeCodeReadAccessed = 0xb;
constexpr uint16_t kTypeDataWriteAccessed = 0x3;
} // namespace

Segment flat_code_segment(uint16_t selector, unsigned dpl, bool long_code) {
  Segment seg;
  seg.selector = selector;
  seg.base = 0;
  seg.limit = kFlatLimit;
  seg.attributes = kTypeCodeReadAccessed | kAttrCodeOrData | (dpl << 5) |
                   kAttrPresent | kAttrGranular |
                   (long_code ? kAttrLong : kAttrBig);
  return seg;
}

Segment flat_stack_segment(uint16_t selector, unsigned dpl) {
  Segment seg;
  seg.selector = selector;
  seg.base = 0;
  seg.limit = kFlatLimit;
  seg.attributes = kTypeDataWriteAccessed | kAttrCodeOrData | (dpl << 5) |
                   kAttrPresent | kAttrBig | kAttrGranular;
  return seg;
}

uint64_t segment_base(const CpuState &state, unsigned seg) {
  if (state.code_size() == CodeSize::Bits64 && seg < FS)
    return 0;
  return state.seg[seg].base;
}

bool tss_stack_pointer(Cpu &cpu, unsigned dpl, uint16_t &ss, uint64_t &sp) {
  const Segment &tr = cpu.state.tr;
  unsigned tss_type = tr.attributes & 0xf;
  uint32_t offset;
  unsigned entry_size;
  if (cpu.state.long_mode_active()) {
    offset = 4 + 8 * dpl;
    entry_size = 8;
  } else if (tss_type == SYS_TSS16_AVAILABLE || tss_type == SYS_TSS16_BUSY) {
    offset = 2 + 4 * dpl;
    entry_size = 4;
  } else {
    offset = 4 + 8 * dpl;
    entry_size = 6; // ESP and SS; the padding after SS may lie outside
  }
  if (uint64_t{offset} + entry_size - 1 > tr.limit)
    return cpu.fault(EXC_TS, tr.selector & 0xfffc);
  uint8_t entry[8] = {};
  if (!cpu.read_linear(tr.base + offset, entry, entry_size, true))
    return false;
  if (cpu.state.long_mode_active()) {
    std::memcpy(&sp, entry, 8);
    ss = 0;
  } else if (entry_size == 4) {
    uint16_t sp16;
    std::memcpy(&sp16, entry, 2);
    std::memcpy(&ss, entry + 2, 2);
    sp = sp16;
  } else {
    uint32_t sp32;
    std::memcpy(&sp32, entry, 4);
    std::memcpy(&ss, entry + 4, 2);
    sp = sp32;
  }
  return true;
}

bool check_new_stack_segment(Cpu &cpu, uint16_t selector, unsigned cpl,
                             const Descriptor &descriptor,
                             uint8_t selector_vector) {
  uint16_t error = selector & 0xfffc;
  if ((selector & 3) != cpl || descriptor.dpl() != cpl ||
      !descriptor.writable_data())
    return cpu.fault(selector_vector, error);
  if (!descriptor.present())
    return cpu.fault(EXC_SS, error);
  return true;
}

void null_privileged_data_segments(CpuState &state) {
  unsigned cpl = state.cpl();
  for (unsigned seg : {ES, DS, FS, GS}) {
    Segment &s = state.seg[seg];
    if (is_null_selector(s.selector) || !(s.attributes & kAttrCodeOrData))
      continue;
    bool code = s.attributes & 8;
    bool conforming = code && (s.attributes & 4);
    if (!conforming && s.dpl() < cpl) {
      s.selector = 0;
      s.attributes = 0;
    }
  }
}

unsigned stack_width(const Segment &ss, bool mode64) {
  if (mode64)
    return 8;
  return ss.big() ? 4 : 2;
}

uint64_t merge_stack_pointer(uint64_t old_rsp, uint64_t offset,
                             unsigned width) {
  switch (width) {
  case 2:
    return (old_rsp & ~uint64_t{0xffff}) | (offset & 0xffff);
  case 4:
    return offset & 0xffffffff;
  default:
    return offset;
  }
}

StackFrame::StackFrame(Cpu &cpu, const Segment &ss, uint64_t rsp,
                       unsigned width, bool mode64, uint16_t fault_code,
                       bool supervisor)
    : cpu_(cpu), ss_(ss), old_rsp_(rsp), width_(width), mode64_(mode64),
      fault_code_(fault_code), supervisor_(supervisor) {
  offset_ = wrap(rsp);
}

uint64_t StackFrame::wrap(uint64_t offset) const {
  switch (width_) {
  case 2:
    return offset & 0xffff;
  case 4:
    return offset & 0xffffffff;
  default:
    return offset;
  }
}

uint64_t StackFrame::rsp() const {
  return merge_stack_pointer(old_rsp_, offset_, width_);
}

bool StackFrame::locate(uint64_t offset, unsigned size, uint64_t &linear) {
  if (mode64_) {
    linear = ss_.base + offset;
    if (!is_canonical(linear) || !is_canonical(linear + size - 1))
      return cpu_.fault(EXC_SS, fault_code_);
    return true;
  }
  uint64_t last = offset + size - 1;
  bool expand_down = (ss_.attributes & 0xc) == 0x4;
  uint64_t upper = ss_.big() ? 0xffffffffull : 0xffffull;
  bool inside =
      expand_down ? (offset > ss_.limit && last <= upper) : last <= ss_.limit;
  if (!inside)
    return cpu_.fault(EXC_SS, fault_code_);
  linear = (ss_.base + offset) & 0xffffffffull;
  return true;
}

bool StackFrame::push(uint64_t value, unsigned size) {
  uint64_t next = wrap(offset_ - size);
  uint64_t linear = 0;
  if (!locate(next, size, linear))
    return false;
  if (!cpu_.write_linear(linear, &value, size, supervisor_))
    return false;
  offset_ = next;
  return true;
}

bool StackFrame::pop(uint64_t &value, unsigned size) {
  uint64_t linear = 0;
  if (!locate(offset_, size, linear))
    return false;
  value = 0;
  if (!cpu_.read_linear(linear, &value, size, supervisor_))
    return false;
  offset_ = wrap(offset_ + size);
  return true;
}

} // namespace sable::cpu
