#pragma once
// Descriptors and stacks for everything that changes privilege or loads
// segments: far transfers (far.cpp), the descriptor instructions
// (system.cpp), segment loads and event delivery in the core. Reading
// GDT/LDT entries, turning them into segment caches, the TSS stack
// pointers, and stacks that are not (or not yet) the one in SS. Apart from
// accessed and busy bits, the helpers only read guest state or record a
// fault, so a caller can check everything before it commits a register.

#include <cstdint>

#include "cpu/state.h"
#include "cpu/tlb.h"

namespace sable::cpu {

class Cpu;

// System descriptor types (S = 0).
enum SystemType : unsigned {
  SYS_TSS16_AVAILABLE = 1,
  SYS_LDT = 2,
  SYS_TSS16_BUSY = 3,
  SYS_CALL_GATE16 = 4,
  SYS_TASK_GATE = 5,
  SYS_TSS32_AVAILABLE = 9,
  SYS_TSS32_BUSY = 11,
  SYS_CALL_GATE32 = 12, // also the 64-bit call gate in long mode
};

constexpr uint32_t kFlatLimit = 0xffffffff;

inline bool is_null_selector(uint16_t selector) {
  return (selector & 0xfffc) == 0;
}

// A GDT/LDT entry as stored in memory. `upper` holds bits 95:64 and
// `upper_reserved` bits 127:96 of the 16-byte system descriptors and call
// gates of long mode.
struct Descriptor {
  uint32_t low = 0;
  uint32_t high = 0;
  uint32_t upper = 0;
  uint32_t upper_reserved = 0;

  unsigned type() const { return (high >> 8) & 0xf; }
  bool system() const { return !(high & 0x1000); }
  unsigned dpl() const { return (high >> 13) & 3; }
  bool present() const { return high & 0x8000; }
  bool code() const { return !system() && (type() & 8); }
  bool data() const { return !system() && !(type() & 8); }
  bool conforming() const { return code() && (type() & 4); }
  bool readable() const { return data() || (type() & 2); }
  bool writable_data() const { return data() && (type() & 2); }
  bool long_code() const { return high & (1u << 21); }
  bool big() const { return high & (1u << 22); }
  uint32_t limit() const;     // scaled by the granularity bit
  uint32_t raw_limit() const; // the 20-bit field
  uint64_t base(bool wide) const;
  // VMX access-rights layout used by Segment::attributes.
  uint16_t attributes() const { return (high >> 8) & 0xf0ff; }

  uint16_t gate_selector() const { return low >> 16; }
  uint64_t gate_offset(bool wide) const;
  unsigned gate_parameter_count() const { return high & 0x1f; }
};

enum class Fetch : uint8_t {
  Ok,
  Outside, // beyond its table's limit, or in an unusable LDT
  Faulted, // the table read itself faulted (fault recorded)
};

// Reads the descriptor `selector` names: 8 bytes, or 16 when `wide`.
// Outside records no fault, for LAR/LSL/VERR/VERW.
Fetch fetch_descriptor(Cpu &cpu, uint16_t selector, bool wide, Descriptor &out);
// The same, raising `vector` with the selector as error code when the
// descriptor lies outside its table.
bool read_descriptor(Cpu &cpu, uint16_t selector, bool wide, Descriptor &out,
                     uint8_t vector);
// Sets the accessed bit (code/data) in the guest's table.
bool mark_accessed(Cpu &cpu, uint16_t selector, Descriptor &descriptor);
// Sets the busy bit of an available TSS descriptor in the GDT.
bool mark_tss_busy(Cpu &cpu, uint16_t selector, Descriptor &descriptor);

Segment segment_from(uint16_t selector, const Descriptor &descriptor,
                     bool wide);
// The fixed flat segments SYSCALL/SYSENTER and their returns load.
Segment flat_code_segment(uint16_t selector, unsigned dpl, bool long_code);
Segment flat_stack_segment(uint16_t selector, unsigned dpl);

// SS holding a null selector, as 64-bit mode allows below CPL 3: unusable,
// its RPL carrying the CPL. 64-bit stack accesses ignore the cache.
inline Segment null_stack_segment(uint16_t selector) {
  return Segment{selector, 0, 0, 0};
}

// Base used for linear addresses: 0 for ES/CS/SS/DS in 64-bit mode.
uint64_t segment_base(const CpuState &state, unsigned seg);

// SS:rSP for privilege level `dpl` from the current TSS; #TS(TR) when the
// entry lies beyond the TSS limit. In long mode `ss` is 0.
bool tss_stack_pointer(Cpu &cpu, unsigned dpl, uint16_t &ss, uint64_t &sp);

// Checks for SS at a privilege change (CALL through a gate to an inner
// level, RETF/IRET to an outer one): RPL and DPL equal to `cpl`, a
// writable data segment, present. `selector_vector` is #TS for a stack
// from the TSS, #GP for one popped from the stack.
bool check_new_stack_segment(Cpu &cpu, uint16_t selector, unsigned cpl,
                             const Descriptor &descriptor,
                             uint8_t selector_vector);

// After a return to an outer level: ES, DS, FS and GS holding data or
// non-conforming code segments more privileged than the new CPL become
// null, so the outer level cannot keep using them.
void null_privileged_data_segments(CpuState &state);

// Width of a stack pointer in bytes for a stack segment in this mode.
unsigned stack_width(const Segment &ss, bool mode64);
// rSP after moving the stack pointer to `offset`: a 16-bit stack changes
// only SP.
uint64_t merge_stack_pointer(uint64_t old_rsp, uint64_t offset, unsigned width);

// Pushes and pops against an explicit stack segment and pointer, without
// touching SS:rSP: a far CALL or a return checks every access before it
// changes any register, and the new stack of a privilege change is not
// loaded until then.
class StackFrame {
public:
  // `fault_code` is the error code of a limit violation (#SS(0) on the
  // current stack, #SS(selector) on a new one). `supervisor` marks the
  // accesses to an inner-level stack done on behalf of the new CPL.
  StackFrame(Cpu &cpu, const Segment &ss, uint64_t rsp, unsigned width,
             bool mode64, uint16_t fault_code, bool supervisor);

  bool push(uint64_t value, unsigned size);
  bool pop(uint64_t &value, unsigned size);
  void release(uint64_t bytes) { offset_ = wrap(offset_ + bytes); }
  uint64_t rsp() const;

private:
  uint64_t wrap(uint64_t offset) const;
  bool locate(uint64_t offset, unsigned size, uint64_t &linear);

  Cpu &cpu_;
  Segment ss_;
  uint64_t old_rsp_;
  uint64_t offset_;
  unsigned width_;
  bool mode64_;
  uint16_t fault_code_;
  bool supervisor_;
};

} // namespace sable::cpu
