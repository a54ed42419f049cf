#include "fuzz_runner.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <sstream>
#include <thread>

#include "core_machine.h"
#include "machine/device.h"

namespace sable::cpu::fuzz {

namespace {

using test::CoreMachine;

constexpr uint64_t kRamSize = 2 << 20;
constexpr uint64_t kPageSize = 0x1000;
// Layout (besides CoreMachine's GDT 0x1000, IDT 0x2000, TSS 0x3000 and
// page tables at 0x100000): the IVT at 0 in real mode, the broken IDT, the
// stack below 0x7000, the stream's code, a data page, the known-good
// sequence, a page of device memory below 1 MiB so real mode reaches it,
// and one HLT per vector at 0x10000, out of reach of near jumps from the
// code in real mode.
constexpr uint64_t kStackTop = 0x7000;
constexpr uint64_t kCodeAddress = 0x8000;
constexpr uint64_t kDataAddress = 0x9000;
constexpr uint64_t kCheckAddress = 0xa000;
constexpr uint64_t kMmioAddress = 0xa0000;
constexpr uint64_t kHandlerStubs = 0x10000;
// Broken-IDT streams use a second table, beyond whose limit of 0 every
// gate leads to its own HLT stub: reaching one means the limit was ignored.
constexpr uint64_t kBrokenIdt = 0x5000;
constexpr uint64_t kForbiddenStubs = 0x10200;
constexpr uint64_t kStubGuard = 16;
constexpr uint8_t kHlt = 0xf4;
constexpr unsigned kMinStream = 16;
constexpr unsigned kMaxStream = 64;

// splitmix64: cheap, and good enough to spread (seed, index) pairs.
class Rng {
public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  uint64_t below(uint64_t bound) { return next() % bound; }
  bool one_in(uint64_t n) { return below(n) == 0; }
  uint8_t byte() { return static_cast<uint8_t>(next()); }

private:
  uint64_t state_;
};

// Device memory that ignores writes and reads as a fixed pattern.
class SwallowingDevice : public Device {
public:
  std::string_view name() const override { return "fuzz-mmio"; }
  uint64_t read(uint64_t, unsigned) override { return 0x5a5a5a5a5a5a5a5aull; }
  void write(uint64_t, unsigned, uint64_t) override {}
  void reset() override {}
  void save(StateWriter &) const override {}
  void load(StateReader &) override {}
};

CodeSize code_size(Mode mode) {
  switch (mode) {
  case Mode::Real:
    return CodeSize::Bits16;
  case Mode::Protected32:
    return CodeSize::Bits32;
  default:
    return CodeSize::Bits64;
  }
}

constexpr uint8_t kPrefixes[] = {0x66, 0x67, 0xf2, 0xf3, 0xf0, 0x2e,
                                 0x36, 0x3e, 0x26, 0x64, 0x65};

// Opcodes that change modes, segments, tables, control flow or privilege:
// the paths where an emulator's own state can go wrong. Two-byte ones are
// 0x0f followed by the second byte.
constexpr uint16_t kSystemOpcodes[] = {
    0x8e,   0xea,   0x9a,   0xcf,   0xcd,   0xcc,   0xce,   0xf1,   0xca,
    0xcb,   0xc2,   0xc3,   0xe8,   0xe9,   0xeb,   0xe3,   0xe0,   0xe1,
    0xe2,   0xe4,   0xe5,   0xe6,   0xe7,   0xec,   0xed,   0xee,   0xef,
    0x6c,   0x6d,   0x6e,   0x6f,   0xa4,   0xa5,   0xa6,   0xa7,   0xaa,
    0xab,   0xac,   0xad,   0xae,   0xaf,   0xc8,   0xc9,   0x62,   0xd4,
    0xd5,   0xf6,   0xf7,   0xc4,   0xc5,   0x07,   0x17,   0x1f,   0x9c,
    0x9d,   0xfa,   0xfb,   0xff,   0x8c,   0x63,   0x27,   0x2f,   0x37,
    0x3f,   0xd7,   0x60,   0x61,   0xd8,   0xd9,   0xdb,   0xdd,   0xdf,
    0x0f00, 0x0f01, 0x0f02, 0x0f03, 0x0f05, 0x0f06, 0x0f07, 0x0f08, 0x0f09,
    0x0f0b, 0x0f20, 0x0f21, 0x0f22, 0x0f23, 0x0f30, 0x0f31, 0x0f32, 0x0f33,
    0x0f34, 0x0f35, 0x0fa0, 0x0fa1, 0x0fa2, 0x0fa8, 0x0fa9, 0x0fb2, 0x0fb4,
    0x0fb5, 0x0fc7, 0x0fae, 0x0f10, 0x0f28, 0x0f6f, 0x0fd6, 0x0f77, 0x0faa,
    0x0fb0, 0x0fb1, 0x0fc0, 0x0fc1, 0x0fa3, 0x0fab, 0x0fbc, 0x0fbd, 0x0f0d,
};

// One instruction built from a valid opcode with random prefixes and
// random ModRM/SIB/displacement/immediate bytes; the decoder tells how many
// of the bytes it took.
void append_instruction(Rng &rng, CodeSize mode, std::vector<uint8_t> &out) {
  uint8_t bytes[32];
  unsigned n = 0;
  unsigned prefixes = rng.one_in(2) ? 0 : 1 + rng.below(3);
  for (unsigned i = 0; i < prefixes; ++i)
    bytes[n++] = kPrefixes[rng.below(sizeof kPrefixes)];
  if (mode == CodeSize::Bits64 && rng.one_in(2))
    bytes[n++] = 0x40 | rng.below(16);
  const uint64_t kind = rng.below(10);
  if (kind < 4) {
    const uint16_t op =
        kSystemOpcodes[rng.below(sizeof kSystemOpcodes / sizeof(uint16_t))];
    if (op > 0xff)
      bytes[n++] = 0x0f;
    bytes[n++] = static_cast<uint8_t>(op);
  } else if (kind < 7) {
    bytes[n++] = rng.byte();
  } else if (kind < 9) {
    bytes[n++] = 0x0f;
    bytes[n++] = rng.byte();
  } else {
    bytes[n++] = 0x0f;
    bytes[n++] = rng.one_in(2) ? 0x38 : 0x3a;
    bytes[n++] = rng.byte();
  }
  // A ModRM whose memory forms are common, then displacement and
  // immediate bytes.
  for (unsigned i = 0; i < 10; ++i)
    bytes[n++] = rng.byte();
  Instruction insn;
  decode(bytes, n, mode, insn);
  unsigned length = insn.length ? insn.length : 1;
  if (length > n)
    length = n;
  out.insert(out.end(), bytes, bytes + length);
}

uint64_t random_register(Rng &rng) {
  switch (rng.below(8)) {
  case 0:
  case 1:
  case 2:
    return rng.next();
  case 3:
    return rng.below(0x100);
  case 4:
    return kDataAddress + rng.below(kPageSize);
  case 5:
    return kMmioAddress + rng.below(kPageSize);
  case 6:
    return rng.next() & 0xffff;
  default:
    return rng.one_in(2) ? 0 : ~uint64_t{0};
  }
}

// Adds RBX to a constant, stores the sum to the data page, loads it back
// into RCX, halts. It sits in pristine RAM, so from the second run on it
// comes from the block cache.
std::vector<uint8_t> known_good_code(Mode mode) {
  if (mode == Mode::Real)
    // mov ax, 0x1234; add ax, bx; mov [0x9000], ax; mov cx, [0x9000]; hlt
    return {0xb8, 0x34, 0x12, 0x01, 0xd8, 0x89, 0x06,
            0x00, 0x90, 0x8b, 0x0e, 0x00, 0x90, kHlt};
  // mov eax, 0x12345678; add eax, ebx; mov [0x9000], eax;
  // mov ecx, [0x9000]; hlt (SIB without base: absolute in both modes)
  return {0xb8, 0x78, 0x56, 0x34, 0x12, 0x01, 0xd8, 0x89, 0x04, 0x25, 0x00,
          0x90, 0x00, 0x00, 0x8b, 0x0c, 0x25, 0x00, 0x90, 0x00, 0x00, kHlt};
}

bool canonical(uint64_t address) {
  return static_cast<uint64_t>(static_cast<int64_t>(address << 16) >> 16) ==
         address;
}

} // namespace

const char *mode_name(Mode mode) {
  switch (mode) {
  case Mode::Real:
    return "real";
  case Mode::Protected32:
    return "protected32";
  default:
    return "long64";
  }
}

uint64_t FuzzStats::faults() const {
  uint64_t total = 0;
  for (uint64_t count : vectors)
    total += count;
  return total;
}

std::string FuzzStats::histogram() const {
  std::ostringstream out;
  out << streams << " streams in " << seconds << " s ("
      << (seconds > 0 ? static_cast<uint64_t>(streams / seconds) : 0)
      << "/s)\n";
  out << "  fault handler reached: " << faults() << "\n";
  static const char *const names[32] = {
      "#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM",
      "#DF", "9",   "#TS", "#NP", "#SS", "#GP", "#PF", "15",
      "#MF", "#AC", "#MC", "#XM", "20",  "21",  "22",  "23",
      "24",  "25",  "26",  "27",  "28",  "29",  "30",  "31"};
  uint64_t software = 0;
  for (unsigned v = 0; v < 256; ++v) {
    if (!vectors[v])
      continue;
    if (v < 32)
      out << "    " << names[v] << ": " << vectors[v] << "\n";
    else
      software += vectors[v];
  }
  if (software)
    out << "    vectors 32-255 (INT n): " << software << "\n";
  out << "  halted in the stream: " << halted << "\n";
  out << "  block budget exhausted: " << budget_exhausted << "\n";
  out << "  triple fault (shutdown): " << shutdown << "\n";
  out << "  broken-IDT streams: " << broken_idt_streams << " ("
      << broken_idt_shutdowns << " shut down)\n";
  out << "  streams started at CPL 3: " << user_mode_streams << "\n";
  out << "  known-good checks passed: " << checks << "\n";
  out << "  invariant violations: " << violation_count << "\n";
  for (const std::string &v : violations)
    out << "    " << v << "\n";
  return out.str();
}

struct FuzzRunner::Machine {
  CoreMachine core{kRamSize};
  SwallowingDevice device;

  Machine() {
    core.mmio.map(kMmioAddress, kPageSize, &device);
    core.memory.add_mmio("fuzz-mmio", kMmioAddress, kPageSize);
  }
};

FuzzRunner::FuzzRunner(Mode mode, uint64_t seed)
    : mode_(mode), seed_(seed), machine_(std::make_unique<Machine>()) {
  CoreMachine &m = machine_->core;
  switch (mode) {
  case Mode::Real:
    m.real_mode();
    break;
  case Mode::Protected32:
    m.protected_mode();
    m.put32(test::kTssBase + 4, kStackTop); // ESP0
    m.put32(test::kTssBase + 8, test::kData32Selector);
    break;
  case Mode::Long64:
    m.long_mode();
    m.put64(test::kTssBase + 4, kStackTop); // RSP0
    break;
  }
  // Interrupt gates of DPL 3, so INT n from CPL 3 reaches them too.
  // In real mode a stub array is a segment of its own (vector v at v), so
  // reaching one needs that exact far target.
  auto write_gate = [&](uint64_t table, unsigned v, uint64_t stubs) {
    const uint64_t offset = stubs + v;
    switch (mode) {
    case Mode::Real:
      m.put32(table + v * 4, static_cast<uint32_t>((stubs >> 4) << 16 | v));
      break;
    case Mode::Protected32:
      m.put64(table + v * 8,
              (offset & 0xffff) | (uint64_t{test::kCode32Selector} << 16) |
                  (uint64_t{0xee} << 40) | ((offset >> 16) << 48));
      break;
    case Mode::Long64:
      m.put64(table + v * 16,
              (offset & 0xffff) | (uint64_t{test::kCode64Selector} << 16) |
                  (uint64_t{0xee} << 40) | (((offset >> 16) & 0xffff) << 48));
      m.put64(table + v * 16 + 8, offset >> 32);
      break;
    }
  };
  const uint64_t idt = mode == Mode::Real ? 0 : test::kIdtBase;
  for (unsigned v = 0; v < 256; ++v) {
    write_gate(idt, v, kHandlerStubs);
    write_gate(kBrokenIdt, v, kForbiddenStubs);
  }
  // The stubs are HLTs, and so are the bytes before each array: code
  // sliding through zeroed memory (00 00 is an instruction) halts before a
  // stub rather than in one, as if a fault had been delivered.
  std::memset(m.ram + kHandlerStubs - kStubGuard, kHlt,
              kForbiddenStubs + 256 - (kHandlerStubs - kStubGuard));
  std::memset(m.ram + kCodeAddress, kHlt, kPageSize);
  const std::vector<uint8_t> check = known_good_code(mode);
  std::copy(check.begin(), check.end(), m.ram + kCheckAddress);
  base_state_ = m.state();
  base_state_.gpr[RSP] = kStackTop;
  base_state_.rip = kCodeAddress;
  pristine_.assign(m.ram, m.ram + kRamSize);
  for (uint64_t page = 0; page < kRamSize; page += kPageSize)
    m.memory.clear_page_flags(page, GuestMemory::PAGE_DIRTY);
}

FuzzRunner::~FuzzRunner() = default;

StreamSpec FuzzRunner::make_stream(uint64_t index) const {
  Rng rng(seed_ ^ (index * 0xd1342543de82ef95ull) ^
          (static_cast<uint64_t>(mode_) << 60));
  StreamSpec spec;
  spec.index = index;
  const uint64_t idt = rng.below(32);
  spec.idt = idt == 0  ? IdtSetup::Broken
             : idt < 3 ? IdtSetup::ToDf
                       : IdtSetup::Full;
  spec.user_mode = mode_ != Mode::Real && rng.one_in(4);

  const unsigned target =
      kMinStream +
      static_cast<unsigned>(rng.below(kMaxStream - kMinStream + 1));
  const CodeSize size = code_size(mode_);
  switch (rng.below(4)) {
  case 0:
    while (spec.code.size() < target)
      spec.code.push_back(rng.byte());
    break;
  case 1:
    // Valid instructions with random bytes between them.
    while (spec.code.size() < target) {
      if (rng.one_in(4))
        spec.code.push_back(rng.byte());
      else
        append_instruction(rng, size, spec.code);
    }
    break;
  default:
    while (spec.code.size() < target)
      append_instruction(rng, size, spec.code);
    break;
  }
  if (spec.code.size() > kMaxStream)
    spec.code.resize(kMaxStream);

  for (uint64_t &r : spec.gpr)
    r = random_register(rng);
  spec.gpr[RSP] =
      rng.one_in(16) ? random_register(rng) : kStackTop - 8 * rng.below(64);
  spec.rflags = 2 | (rng.next() & (CF | PF | AF | ZF | SF | OF | DF | IF));
  if (mode_ != Mode::Real)
    spec.rflags |= rng.next() & IOPL;
  if (rng.one_in(64))
    spec.rflags |= TF;
  if (mode_ == Mode::Real && rng.one_in(4))
    for (uint16_t &selector : spec.data_selectors)
      selector = static_cast<uint16_t>(rng.one_in(2) ? rng.next() : 0x900);
  return spec;
}

std::string FuzzRunner::describe(const StreamSpec &spec) const {
  std::ostringstream out;
  char hex[8];
  out << mode_name(mode_) << " stream " << spec.index << " (seed 0x" << std::hex
      << seed_ << std::dec << "), idt "
      << (spec.idt == IdtSetup::Full   ? "full"
          : spec.idt == IdtSetup::ToDf ? "0-8"
                                       : "broken")
      << (spec.user_mode ? ", CPL 3" : "") << ", code:";
  for (uint8_t b : spec.code) {
    std::snprintf(hex, sizeof hex, " %02x", b);
    out << hex;
  }
  out << std::hex << "\n  rflags=" << spec.rflags;
  for (unsigned i = 0; i < 16; ++i)
    out << (i % 4 == 0 ? "\n  " : " ") << "r" << std::dec << i << std::hex
        << "=" << spec.gpr[i];
  if (mode_ == Mode::Real)
    out << "\n  es ds fs gs=" << spec.data_selectors[0] << " "
        << spec.data_selectors[1] << " " << spec.data_selectors[2] << " "
        << spec.data_selectors[3];
  return out.str();
}

// Puts back every RAM page written since the last call, through
// GuestMemory::write so pages holding decoded code get their blocks
// invalidated, as a guest store would.
void FuzzRunner::restore_memory() {
  GuestMemory &memory = machine_->core.memory;
  for (uint64_t page = 0; page < kRamSize; page += kPageSize) {
    if (!(memory.page_flags(page) & GuestMemory::PAGE_DIRTY))
      continue;
    memory.write(page, pristine_.data() + page, kPageSize);
    memory.clear_page_flags(page, GuestMemory::PAGE_DIRTY);
  }
}

void FuzzRunner::load_state(const StreamSpec *spec) {
  Cpu &cpu = *machine_->core.cpu;
  cpu.reset();
  cpu.state = base_state_;
  if (!spec)
    return;
  CpuState &s = cpu.state;
  for (unsigned i = 0; i < 16; ++i)
    s.gpr[i] = spec->gpr[i];
  cpu.set_rflags(spec->rflags);
  if (mode_ == Mode::Real) {
    const unsigned segs[4] = {ES, DS, FS, GS};
    for (unsigned i = 0; i < 4; ++i) {
      s.seg[segs[i]].selector = spec->data_selectors[i];
      s.seg[segs[i]].base = uint64_t{spec->data_selectors[i]} << 4;
    }
  }
  if (spec->user_mode)
    machine_->core.enter_user_mode();
  const unsigned entry = mode_ == Mode::Real          ? 4
                         : mode_ == Mode::Protected32 ? 8
                                                      : 16;
  if (spec->idt == IdtSetup::Broken)
    s.idtr = {kBrokenIdt, 0};
  else if (spec->idt == IdtSetup::ToDf)
    s.idtr.limit = static_cast<uint16_t>(9 * entry - 1);
}

void FuzzRunner::violation(const StreamSpec *spec, const std::string &what) {
  ++stats_.violation_count;
  if (stats_.violations.size() < 8)
    stats_.violations.push_back(
        what + (spec ? "\n    in " + describe(*spec) : std::string()));
}

void FuzzRunner::check_invariants(const StreamSpec &spec, StopReason reason) {
  Cpu &cpu = *machine_->core.cpu;
  const CpuState &s = cpu.state;
  std::ostringstream what;
  what << std::hex;
  const uint64_t flags = cpu.rflags();
  if ((flags & ~uint64_t{0x3f7fd5}) != 2)
    what << "reserved RFLAGS bits: " << flags << "; ";
  // 16-bit code may run with EIP above 0xffff after a 32-bit gate or far
  // jump into it; only the increment wraps at 16 bits.
  switch (s.code_size()) {
  case CodeSize::Bits16:
  case CodeSize::Bits32:
    if (s.rip > 0xffffffff)
      what << "RIP " << s.rip << " above 4 GiB outside 64-bit code; ";
    break;
  case CodeSize::Bits64:
    if (!canonical(s.rip))
      what << "non-canonical RIP " << s.rip << "; ";
    if (s.seg[CS].big())
      what << "64-bit code segment with D set; ";
    break;
  }
  if (s.code_size() != CodeSize::Bits64 && reason != StopReason::Shutdown &&
      s.rip > uint64_t{s.seg[CS].limit} + 1)
    what << "RIP " << s.rip << " beyond the CS limit " << s.seg[CS].limit
         << "; ";
  if (s.long_mode_active() && !(s.paging() && (s.cr4 & CR4_PAE)))
    what << "EFER.LMA without paging and PAE; ";
  if (s.protected_mode() && !s.v86() && reason != StopReason::Shutdown) {
    const uint16_t cs = s.seg[CS].attributes;
    if ((cs & 0x18) != 0x18 || !(cs & 0x80))
      what << "CS is not a present code segment (" << cs << "); ";
    const bool conforming = cs & 0x4;
    if (conforming ? s.seg[CS].dpl() > s.cpl() : s.seg[CS].dpl() != s.cpl())
      what << "CPL " << s.cpl() << " but CS.DPL " << s.seg[CS].dpl() << "; ";
    const bool null_ss = (s.seg[SS].selector & ~3) == 0;
    if (!(null_ss && s.long_mode_active()) && s.seg[SS].dpl() != s.cpl())
      what << "CPL " << s.cpl() << " but SS.DPL " << s.seg[SS].dpl() << "; ";
  }
  const bool forbidden_stub =
      mode_ == Mode::Real
          ? s.seg[CS].selector == kForbiddenStubs >> 4 && s.rip - 1 < 256
          : s.seg[CS].base + s.rip - 1 - kForbiddenStubs < 256;
  if (reason == StopReason::Halted && forbidden_stub &&
      s.idtr.base == kBrokenIdt && s.idtr.limit == 0)
    what << "a gate beyond the IDT limit was used; ";
  if (reason == StopReason::ExitRequested)
    what << "run() returned ExitRequested; ";
  const std::string text = what.str();
  if (!text.empty())
    violation(&spec, text);
}

void FuzzRunner::run_stream(const StreamSpec &spec) {
  restore_memory();
  // The code page is HLTs in the pristine image, so a stream that runs off
  // its end halts; the write leaves the page dirty for the next restore.
  machine_->core.memory.write(kCodeAddress, spec.code.data(), spec.code.size());
  load_state(&spec);

  Cpu &cpu = *machine_->core.cpu;
  const StopReason reason = cpu.run(kBlockBudget);
  ++stats_.streams;
  if (spec.idt == IdtSetup::Broken)
    ++stats_.broken_idt_streams;
  if (spec.user_mode)
    ++stats_.user_mode_streams;
  switch (reason) {
  case StopReason::BudgetExhausted:
    ++stats_.budget_exhausted;
    break;
  case StopReason::Shutdown:
    ++stats_.shutdown;
    if (spec.idt == IdtSetup::Broken)
      ++stats_.broken_idt_shutdowns;
    break;
  case StopReason::Halted: {
    const uint64_t stub = cpu.state.seg[CS].base + cpu.state.rip - 1;
    if (stub - kHandlerStubs < 256)
      ++stats_.vectors[stub - kHandlerStubs];
    else
      ++stats_.halted;
    break;
  }
  case StopReason::ExitRequested:
  case StopReason::Debug: // no debugger here
    break;
  }
  check_invariants(spec, reason);
}

// If the streams before damaged the TLB, the block cache or the memory
// image, the known-good sequence gives another result.
void FuzzRunner::run_known_good(uint64_t index) {
  restore_memory();
  load_state(nullptr);
  Cpu &cpu = *machine_->core.cpu;
  CpuState &s = cpu.state;
  const uint32_t addend = static_cast<uint32_t>(index * 0x9e3779b9u);
  s.rip = kCheckAddress;
  s.gpr[RBX] = addend;
  const std::vector<uint8_t> code = known_good_code(mode_);
  const uint64_t expected =
      mode_ == Mode::Real ? (0x1234 + addend) & 0xffff : 0x12345678u + addend;
  const uint64_t mask = mode_ == Mode::Real ? 0xffff : 0xffffffff;
  const StopReason reason = cpu.run(4);
  uint32_t stored = 0;
  machine_->core.memory.read(kDataAddress, &stored, 4);
  std::ostringstream what;
  what << std::hex;
  if (reason != StopReason::Halted)
    what << "stop reason " << static_cast<int>(reason) << "; ";
  if (s.rip != kCheckAddress + code.size())
    what << "RIP " << s.rip << "; ";
  if ((s.gpr[RAX] & mask) != (expected & mask) ||
      (s.gpr[RCX] & mask) != (expected & mask) ||
      (stored & mask) != (expected & mask))
    what << "rax " << s.gpr[RAX] << " rcx " << s.gpr[RCX] << " memory "
         << stored << ", expected " << (expected & mask) << "; ";
  const std::string text = what.str();
  if (text.empty())
    ++stats_.checks;
  else
    violation(nullptr, "known-good sequence after stream " +
                           std::to_string(index) + ": " + text);
}

void FuzzRunner::run(uint64_t first, uint64_t count, unsigned hang_seconds) {
  // The watchdog sees the stream counter stand still and prints the stream
  // that hangs before aborting.
  current_.store(first);
  std::atomic<bool> over{false};
  std::mutex wake_lock;
  std::condition_variable wake;
  std::thread watchdog([&] {
    uint64_t seen = current_.load();
    std::unique_lock guard(wake_lock);
    while (!over.load()) {
      if (wake.wait_for(guard, std::chrono::seconds(hang_seconds),
                        [&] { return over.load(); }))
        break;
      const uint64_t now = current_.load();
      if (now == seen) {
        std::fprintf(stderr, "fuzz: stream hangs for %u s:\n%s\n", hang_seconds,
                     describe(make_stream(now)).c_str());
        std::abort();
      }
      seen = now;
    }
  });
  const auto start = std::chrono::steady_clock::now();
  for (uint64_t index = first; index < first + count; ++index) {
    current_.store(index, std::memory_order_relaxed);
    run_stream(make_stream(index));
    if ((index + 1) % kCheckInterval == 0)
      run_known_good(index);
  }
  stats_.seconds +=
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  {
    std::lock_guard guard(wake_lock);
    over.store(true);
  }
  wake.notify_all();
  watchdog.join();
}

} // namespace sable::cpu::fuzz
