#pragma once
// One software vCPU: architectural state plus everything needed to run it
// (memory access through segmentation and paging, the TLB, faults and
// interrupt delivery). Instruction handlers in cpu/ops/ use only this API.
//
// Error convention: no exceptions, no longjmp. Every access that can fault
// returns bool; on false the fault is recorded in `pending` and the caller
// returns false straight up to the interpreter, which delivers it with RIP
// still at the faulting instruction.

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <memory>

#include "cpu/debug.h"
#include "cpu/flags.h"
#include "cpu/instruction.h"
#include "cpu/state.h"
#include "cpu/tlb.h"
#include "machine/memory.h"
#include "machine/ram_access.h"

namespace sable {
class IoPortBus;
class InterruptController;
class LocalApicPort;
} // namespace sable

namespace sable::cpu {

class BlockCache;
struct Block;
struct BlockLink;
struct Step;

enum class Access : uint8_t { Read, Write, Execute };

struct PendingFault {
  bool valid = false;
  uint8_t vector = 0;
  bool has_error_code = false;
  uint32_t error_code = 0;
};

// Why the run loop returned to its caller (the engine).
enum class StopReason : uint8_t {
  BudgetExhausted, // ran the requested number of blocks
  Halted,          // HLT with nothing pending: sleep until an interrupt
  ExitRequested,   // another thread asked (pause, stop, reset)
  Shutdown,        // triple fault
  Debug,           // a breakpoint, watchpoint or single step: see debug_hit
};

struct CpuEnvironment {
  GuestMemory *memory = nullptr;
  IoPortBus *io = nullptr;
  // The local APIC, or the PIC when no APIC is modelled.
  InterruptController *interrupts = nullptr;
  // The vCPU's local APIC for its MSRs and CR8; null without one.
  LocalApicPort *apic = nullptr;
  unsigned index = 0; // vCPU number (APIC ID)
  unsigned vcpu_count = 1;
};

class Cpu {
public:
  // Each vCPU decodes into a block cache of its own and registers a
  // code-write handler with env.memory (see invalidate_code).
  explicit Cpu(const CpuEnvironment &env);
  ~Cpu();
  Cpu(const Cpu &) = delete;
  Cpu &operator=(const Cpu &) = delete;

  CpuState state;
  PendingFault pending;
  CpuEnvironment env;
  Tlb tlb;
  // RIP of the next instruction; handlers that transfer control set it.
  uint64_t next_rip = 0;
  // The block run() executes as threaded code (cpu/ops/chain.h).
  Block *running_block = nullptr;
  // Leaving the running block for `rip` through `link`, as threaded code:
  // the next block's first step, now running, when the link holds and
  // nothing run() checks between blocks has changed; else null, with RIP
  // left to the caller (cpu/ops/chain.h).
  const Step *follow_link(BlockLink &link, uint64_t rip);
  // follow_link, then on into that step; else RIP = `rip` and true (back to
  // run()).
  bool chain_to(BlockLink &link, uint64_t rip);

  // ---- the debugger's view (set by the engine while the vCPU is stopped)
  // Breakpoints and watchpoints; null when there are none, which keeps the
  // run loop and memory accesses on their fast paths.
  const DebugPoints *debug = nullptr;
  // Run one instruction (with interrupts held off, as QEMU's single step
  // does) and return StopReason::Debug.
  bool single_step = false;
  // Why run() returned StopReason::Debug.
  DebugEvent debug_hit;
  // A watchpoint the current instruction touched (reported after it).
  bool watch_triggered = false;
  // Records a watchpoint hit when [linear, linear + size) overlaps one.
  void check_watchpoints(uint64_t linear, unsigned size, Access access);

  // ---- power-on and INIT
  void reset();

  // ---- registers (sizes in bytes; 1-byte writes keep the upper bits,
  // 4-byte writes zero the upper half, as in 64-bit mode)
  uint64_t reg(unsigned gpr, unsigned size) const {
    return state.gpr[gpr] & size_mask(size);
  }
  void set_reg(unsigned gpr, unsigned size, uint64_t value) {
    uint64_t &r = state.gpr[gpr];
    switch (size) {
    case 1:
      r = (r & ~uint64_t{0xff}) | (value & 0xff);
      break;
    case 2:
      r = (r & ~uint64_t{0xffff}) | (value & 0xffff);
      break;
    case 4:
      r = value & 0xffffffff;
      break;
    default:
      r = value;
      break;
    }
  }

  // ---- flags
  uint64_t rflags();           // materializes the lazy arithmetic flags
  void set_rflags(uint64_t v); // raw: no privilege checks
  bool flag(uint64_t mask);    // one flag, lazy-aware
  // Jcc/SETcc/CMOVcc condition 0..15
  bool condition(unsigned cond) { return condition_holds(state, cond); }

  // ---- operands of a decoded instruction
  // Offset within the segment (not yet linear), truncated to addrsize.
  uint64_t effective_address(const Instruction &insn) const {
    const uint64_t address = address_sum(insn);
    if (insn.addrsize == 8) [[likely]]
      return address;
    // Not size_mask: its variable shift costs LEA more than this select.
    return address & (insn.addrsize == 4 ? 0xffffffff : 0xffff);
  }
  // The effective address before truncation to the address size.
  uint64_t address_sum(const Instruction &insn) const {
    return static_cast<uint64_t>(insn.disp) + state.address_slot(insn.base) +
           (state.address_slot(insn.index) << insn.scale);
  }
  // Registers, immediates (already extended by the decoder to what the
  // instruction uses) and memory up to 8 bytes inline; the rest out of line.
  bool read_operand(const Instruction &insn, unsigned index, uint64_t &value) {
    const Operand &op = insn.operands[index];
    switch (op.kind) {
    case OperandKind::Reg:
      value = reg(op.reg, op.size);
      return true;
    case OperandKind::Imm:
      value = insn.imm;
      return true;
    case OperandKind::Mem:
      if (op.size <= 8)
        return read_value(insn.seg, effective_address(insn), op.size, value);
      break;
    default:
      break;
    }
    return read_other_operand(insn, index, value);
  }
  bool write_operand(const Instruction &insn, unsigned index, uint64_t value) {
    const Operand &op = insn.operands[index];
    switch (op.kind) {
    case OperandKind::Reg:
      set_reg(op.reg, op.size, value);
      return true;
    case OperandKind::Mem:
      if (op.size <= 8)
        return write_value(insn.seg, effective_address(insn), op.size, value);
      break;
    default:
      break;
    }
    return write_other_operand(insn, index, value);
  }
  // Read-modify-write of operand `index`: `compute(old) -> new`. A LOCK
  // prefix (or XCHG with memory) makes it atomic against other vCPUs with
  // a host compare-and-swap; `compute` may then run more than once.
  template <typename Compute>
  bool modify_operand(const Instruction &insn, unsigned index,
                      Compute &&compute);
  // CMPXCHG16B's memory side, atomic against other vCPUs: compares the
  // 16-byte memory operand with value[0..1] (low, high) and stores
  // desired[0..1] on a match; `value` returns what memory held.
  bool compare_exchange_16(const Instruction &insn, uint64_t value[2],
                           const uint64_t desired[2], bool &equal);

  // ---- memory through segmentation and paging
  bool read(unsigned seg, uint64_t offset, void *data, unsigned size) {
    if (const uint8_t *host = direct_host(seg, offset, size, Access::Read)) {
      load_ram(data, host, size);
      return true;
    }
    return read_translated(seg, offset, data, size);
  }
  bool write(unsigned seg, uint64_t offset, const void *data, unsigned size) {
    if (uint8_t *host = direct_host(seg, offset, size, Access::Write)) {
      store_ram(host, data, size);
      return true;
    }
    return write_translated(seg, offset, data, size);
  }
  template <typename T> bool read(unsigned seg, uint64_t offset, T &value) {
    return read(seg, offset, &value, sizeof(T));
  }
  // At most 8 bytes, the width of `v`; a load is zero-extended.
  bool read_value(unsigned seg, uint64_t offset, unsigned size, uint64_t &v) {
    size = std::min(size, 8u);
    if (const uint8_t *host = direct_host(seg, offset, size, Access::Read)) {
      v = load_ram_value(host, size);
      return true;
    }
    uint64_t value = 0;
    const bool done = read_translated(seg, offset, &value, size);
    v = value;
    return done;
  }
  bool write_value(unsigned seg, uint64_t offset, unsigned size, uint64_t v) {
    size = std::min(size, 8u);
    if (uint8_t *host = direct_host(seg, offset, size, Access::Write)) {
      store_ram_value(host, size, v);
      return true;
    }
    return write_translated(seg, offset, &v, size);
  }
  // Most guest accesses need no more than a TLB hit: an expand-up segment
  // (or 64-bit mode), one page, no alignment checking, RAM, and for a
  // store a page already dirty and without code. For those this returns
  // the host bytes; null sends the access down the full path, which also
  // raises any fault.
  uint8_t *direct_host(unsigned seg, uint64_t offset, unsigned size,
                       Access access) {
    if (!(fast_.ready & (1u << seg)) && !prepare_fast_segment(seg))
      return nullptr;
    return prepared_host(seg, offset, size, access);
  }
  // direct_host when the segment's facts below are already prepared, else
  // null; it calls nothing, for the fast paths of threaded code
  // (cpu/ops/chain.h).
  uint8_t *prepared_host(unsigned seg, uint64_t offset, unsigned size,
                         Access access);
  // prepared_host for an access the decoder found flat (flat_access in
  // cpu/ops/forms.h): 64-bit addressing through ES, CS, SS or DS.
  uint8_t *prepared_flat_host(uint64_t offset, unsigned size, Access access);

  // Linear addresses (segmentation already applied). `supervisor` marks
  // implicit system accesses (descriptor tables, TSS, IDT) that ignore CPL.
  bool read_linear(uint64_t linear, void *data, unsigned size,
                   bool supervisor = false);
  bool write_linear(uint64_t linear, const void *data, unsigned size,
                    bool supervisor = false);
  // Page walk without side effects on failure other than recording the
  // fault; sets A/D bits on success. For the gdbstub and tracing use
  // `probe_linear`, which never faults and never sets A/D bits.
  bool translate(uint64_t linear, Access access, bool user, uint64_t &phys);
  bool probe_linear(uint64_t linear, uint64_t &phys);

  // ---- stack (size = operand size in bytes; uses SS and the stack-size)
  bool push(uint64_t value, unsigned size);
  bool pop(uint64_t &value, unsigned size);
  // Width of the stack pointer in bytes: 8 in 64-bit mode, else SS.B ? 4 : 2.
  unsigned stack_size() const;

  // ---- faults and interrupts
  // Records a fault and returns false, so handlers can `return fault(...)`.
  bool fault(uint8_t vector);
  bool fault(uint8_t vector, uint32_t error_code);
  // INT n / INT3 / INTO / INT1: delivers through the IVT/IDT with the
  // return address next_rip and the software-interrupt privilege check.
  bool software_interrupt(uint8_t vector);

  // The linear address of an access that passes segmentation without
  // faulting, in the common cases only (64-bit mode, or present segments of
  // the right type, expand-up, within the limit). False means "not that
  // simple", not a fault: segment_linear() decides then.
  bool plain_linear(unsigned seg, uint64_t offset, unsigned size, Access access,
                    uint64_t &linear) const;

  // ---- segments and system registers
  // Loads a segment register with all protected-mode checks (or the real/
  // V86 rule base = selector << 4); false with #GP/#SS/#NP recorded.
  bool load_segment(unsigned seg, uint16_t selector);
  bool write_cr(unsigned cr, uint64_t value);     // #GP on reserved bits
  bool read_msr(uint32_t index, uint64_t &value); // #GP when unknown
  bool write_msr(uint32_t index, uint64_t value);
  // I/O permission: IOPL, then the TSS bitmap; #GP(0) when denied.
  bool check_io(uint16_t port, unsigned size);
  void flush_tlb(bool include_global);

  // ---- execution (cpu/interpreter.cpp)
  StopReason run(uint64_t max_blocks);
  // Delivers `pending` (with #DF and triple-fault escalation); returns
  // false on triple fault.
  bool deliver_pending_fault();
  // Thread-safe: asks run() to return at the next block boundary.
  void request_exit();
  // Thread-safe: forgets the decoded blocks of the page holding `gpa`
  // (a store by any vCPU or device hit a PAGE_HAS_CODE page).
  void invalidate_code(uint64_t gpa);
  // After an event or an instruction that may have changed CS, CPL, the
  // code size or a segment register: drops what run() derived from them
  // (the jump cache and links only if the context key did change).
  void forget_context();
  // Drops the per-segment facts of fast accesses (below) alone.
  void forget_fast_access();

private:
  // StopReason::Debug for a completed single step.
  StopReason stepped();
  // Whether CS:RIP is at a breakpoint (fills in debug_hit).
  bool at_breakpoint();

  std::unique_ptr<BlockCache> blocks_;
  std::atomic<bool> exit_requested_{false};
  unsigned code_write_handler_ = 0;

  // `tracked` is the physical address to pass to note_rmw_store after the
  // write, or kUntrackedStore.
  static constexpr uint64_t kUntrackedStore = ~uint64_t{0};
  bool locate_for_rmw(const Instruction &insn, unsigned size, uint8_t *&host,
                      uint64_t &offset, uint64_t &tracked);
  void note_rmw_store(uint64_t physical, unsigned size);

  // The full access paths: segment checks, alignment checks, page walks,
  // accesses crossing pages, MMIO and stores into code pages.
  bool read_translated(unsigned seg, uint64_t offset, void *data,
                       unsigned size);
  bool write_translated(unsigned seg, uint64_t offset, const void *data,
                        unsigned size);
  bool read_other_operand(const Instruction &insn, unsigned index,
                          uint64_t &value);
  bool write_other_operand(const Instruction &insn, unsigned index,
                           uint64_t value);

  // What direct_host needs of a segment register: the base, and the end
  // (limit + 1) of the offsets a load or a store may use without further
  // checks (0 when every access takes the full path). Worked out on first
  // use and kept until forget_context(): segment registers, CPL, the code
  // size and RFLAGS.AC (alignment checks, SMAP) change only with
  // instructions that end a block (opcodes.def) or between blocks. Outside
  // run(), while the debugger has points set and while AC is set, nothing
  // is prepared.
  struct FastSegment {
    uint64_t base = 0;
    uint64_t read_end = 0;
    uint64_t write_end = 0;
  };
  struct FastAccess {
    bool enabled = false; // inside run()
    uint8_t ready = 0;    // bit per segment register
    // 64-bit code with the permissions prepared: ES, CS, SS and DS have
    // base 0 and no limit, whether or not their bits are ready.
    bool flat = false;
    // tlb_direct_permission() for the CPL, 0 while no segment is ready.
    uint16_t read_permission = 0;
    uint16_t write_permission = 0;
    uint64_t address_mask = 0;
    FastSegment segments[6];
  };
  FastAccess fast_;
  bool prepare_fast_segment(unsigned seg);
  // The host address of `size` bytes at `linear` when the TLB allows the
  // access and it needs nothing else, else null.
  uint8_t *host_in_tlb(uint64_t linear, unsigned size, Access access);

  // RIP -> block, valid while context_generation_ is unchanged: within one
  // generation the context key (below) is the same, no translation was
  // flushed and no block invalidated (see run()). Links hold for as long.
  struct JumpEntry {
    uint64_t rip = 0;
    uint64_t generation = 0;
    Block *block = nullptr;
  };
  static constexpr unsigned kJumpEntries = 4096;
  JumpEntry jump_cache_[kJumpEntries];
  uint64_t context_generation_ = 1;
  // What the jump cache and the links rest on besides translations and
  // cached blocks (which run() follows through the counters below). An
  // event, a fault or a block that may change it sets context_unchecked_,
  // and run() compares the key with the generation's before the next
  // block: interrupts, IRET and STI in the same context keep the links, as
  // do run()'s returns to the engine between device events.
  struct ContextKey {
    Segment cs;
    uint64_t cr0 = 0, cr3 = 0, cr4 = 0, efer = 0, rflags_vm = 0;
    bool operator==(const ContextKey &) const = default;
  };
  ContextKey context_key() const {
    return {state.seg[CS], state.cr0,  state.cr3,
            state.cr4,     state.efer, state.rflags & VM};
  }
  ContextKey context_;
  bool context_unchecked_ = true;
  uint64_t seen_tlb_flushes_ = 0;
  uint64_t seen_invalidations_ = 0;
  // For follow_link: how many more blocks it may chain before returning to
  // run(), the link it found not to hold (for run() to fill in), and the
  // interrupt controller's pending flag (null: run() asks the controller).
  uint64_t chain_budget_ = 0;
  BlockLink *exit_link_ = nullptr;
  const std::atomic<bool> *pending_flag_ = nullptr;
  // The block at CS:RIP: cached, decoded now (and cached), or decoded into
  // `uncached`; null with a fault recorded.
  Block *fetch_block(std::unique_ptr<Block> &uncached);
};

// Whether a protected-mode segment takes `access` with no check but its
// limit: present, and code for fetches, writable expand-up data for stores,
// readable code or expand-up data for loads. Expand-down segments and
// everything that faults take the full path.
inline bool plain_segment(const Segment &segment, Access access) {
  const unsigned type = segment.attributes & 0xf;
  const bool code = type & 8;
  const bool plain = access == Access::Execute ? code
                     : access == Access::Write ? (type & 0xe) == 0x2
                     : code                    ? (type & 2) != 0
                                               : !(type & 4);
  return plain && segment.present();
}

inline bool Cpu::plain_linear(unsigned seg, uint64_t offset, unsigned size,
                              Access access, uint64_t &linear) const {
  const CpuState &s = state;
  if (s.code_size() == CodeSize::Bits64) {
    linear = offset + (seg >= FS ? s.seg[seg].base : 0);
    return is_canonical(linear);
  }
  const Segment &segment = s.seg[seg];
  if (s.protected_mode() && !s.v86() && !plain_segment(segment, access))
    return false;
  if (offset + size - 1 > segment.limit)
    return false;
  linear = (segment.base + offset) & 0xffffffffull;
  return true;
}

// Always inlined: the threaded fast paths must not call these.
[[gnu::always_inline]] inline uint8_t *Cpu::prepared_host(unsigned seg,
                                                          uint64_t offset,
                                                          unsigned size,
                                                          Access access) {
  if (fast_.flat && seg < FS)
    return host_in_tlb(offset, size, access);
  if (!(fast_.ready & (1u << seg)))
    return nullptr;
  const FastSegment &segment = fast_.segments[seg];
  const uint64_t end =
      access == Access::Write ? segment.write_end : segment.read_end;
  if (offset + size > end)
    return nullptr;
  return host_in_tlb((segment.base + offset) & fast_.address_mask, size,
                     access);
}

[[gnu::always_inline]] inline uint8_t *
Cpu::prepared_flat_host(uint64_t offset, unsigned size, Access access) {
  // Unprepared, the permissions are 0 (forget_fast_access), and no access
  // passes; prepared, they are for 64-bit code, as the decoder found flat
  // accesses in 64-bit code only.
  return host_in_tlb(offset, size, access);
}

[[gnu::always_inline]] inline uint8_t *
Cpu::host_in_tlb(uint64_t linear, unsigned size, Access access) {
  const bool store = access == Access::Write;
  // The slot of the first byte's page holds the last byte's page only when
  // the access stays within one page; and as every tag is canonical
  // (Tlb::insert), a non-canonical address, for which the full path raises
  // #GP or #SS, misses.
  TlbEntry *entry = &tlb.slot(linear);
  if (entry->linear_page != ((linear + size - 1) & ~kPageMask) ||
      !(entry->allowed &
        (store ? fast_.write_permission : fast_.read_permission)))
    return nullptr;
  // The permissions are tlb_direct_permission bits: the page has the host
  // pointer.
  if (store)
    return entry->skips_store_tracking(env.memory->store_tracking_epoch())
               ? entry->host_write + (linear & kPageMask)
               : nullptr;
  return entry->host_read + (linear & kPageMask);
}

// One locked read-modify-write of `size` bytes at `host`; `compute` runs
// again whenever another vCPU changed the value in between.
template <typename Compute>
void compare_and_swap(uint8_t *host, unsigned size, Compute &&compute) {
  auto cas = [&](auto *p) {
    using T = std::remove_pointer_t<decltype(p)>;
    T old = __atomic_load_n(p, __ATOMIC_SEQ_CST);
    while (!__atomic_compare_exchange_n(p, &old, static_cast<T>(compute(old)),
                                        false, __ATOMIC_SEQ_CST,
                                        __ATOMIC_SEQ_CST)) {
    }
  };
  switch (size) {
  case 1:
    return cas(reinterpret_cast<uint8_t *>(host));
  case 2:
    return cas(reinterpret_cast<uint16_t *>(host));
  case 4:
    return cas(reinterpret_cast<uint32_t *>(host));
  default:
    return cas(reinterpret_cast<uint64_t *>(host));
  }
}

template <typename Compute>
bool Cpu::modify_operand(const Instruction &insn, unsigned index,
                         Compute &&compute) {
  const Operand &op = insn.operands[index];
  if (op.kind != OperandKind::Mem) {
    uint64_t old;
    if (!read_operand(insn, index, old))
      return false;
    return write_operand(insn, index, compute(old));
  }
  uint64_t offset = effective_address(insn);
  uint64_t tracked = kUntrackedStore;
  uint8_t *host = direct_host(insn.seg, offset, op.size, Access::Write);
  if (!host && !locate_for_rmw(insn, op.size, host, offset, tracked))
    return false;
  if (host) {
    if (insn.lock || insn.op == Op::XCHG) {
      compare_and_swap(host, op.size, compute);
    } else {
      store_ram_value(host, op.size, compute(load_ram_value(host, op.size)));
    }
    // After the bytes changed, so a decoder cannot miss them.
    if (tracked != kUntrackedStore)
      note_rmw_store(tracked, op.size);
    return true;
  }
  uint64_t old = 0;
  if (!read_value(insn.seg, offset, op.size, old))
    return false;
  return write_value(insn.seg, offset, op.size, compute(old));
}

} // namespace sable::cpu
