#pragma once
// The host processor as the oracle for the SIMD handlers: the same
// instruction bytes run natively (in a small executable stub) and in a
// 64-bit OpsMachine from the same XMM0-3, MM0-2, RAX/RCX/RDX and MXCSR,
// and every register, MXCSR and (optionally) the arithmetic flags must
// agree bit for bit. Unmasked exceptions trap on the host (SIGFPE, resumed
// past the instruction) and must raise #XM in the guest with the same
// MXCSR and unchanged registers. The
// memory form of each instruction is then checked against its register
// form in the guest.

#include <signal.h>
#include <sys/mman.h>
#include <ucontext.h>

#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "cpu/flags.h"
#include "ops_machine.h"

namespace sable::cpu::test {

struct SimdRegs {
  uint8_t xmm[4][16];
  uint64_t mm[3];
  uint64_t gpr[3]; // RAX, RCX, RDX
  uint32_t mxcsr;
  uint32_t host_mxcsr; // the caller's, restored by the stub
  uint64_t rflags;
};
static_assert(offsetof(SimdRegs, mm) == 64 && offsetof(SimdRegs, gpr) == 88 &&
              offsetof(SimdRegs, mxcsr) == 112 &&
              offsetof(SimdRegs, rflags) == 120);

// Where a SIMD exception on the host resumes: the stub's epilog, which
// stores the registers as the faulting instruction left them (unchanged)
// and MXCSR with the flags the processor recorded.
inline uint64_t g_resume_address = 0;
inline bool g_host_faulted = false;

inline void on_host_simd_exception(int, siginfo_t *, void *context) {
  auto *uc = static_cast<ucontext_t *>(context);
  uc->uc_mcontext.gregs[REG_RIP] = static_cast<greg_t>(g_resume_address);
  g_host_faulted = true;
}

// RDI points at a SimdRegs: load it, run the instruction, store it back.
// Returns true when the instruction raised an unmasked SIMD exception.
class HostStub {
public:
  HostStub() {
    memory_ = mmap(nullptr, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  }
  ~HostStub() { munmap(memory_, 4096); }
  HostStub(const HostStub &) = delete;
  HostStub &operator=(const HostStub &) = delete;

  bool run(const std::vector<uint8_t> &insn, SimdRegs &regs) {
    static const uint8_t kProlog[] = {
        0x0f, 0xae, 0x5f, 0x74,       // stmxcsr [rdi+116]
        0xf3, 0x0f, 0x6f, 0x07,       // movdqu xmm0, [rdi]
        0xf3, 0x0f, 0x6f, 0x4f, 0x10, // movdqu xmm1, [rdi+16]
        0xf3, 0x0f, 0x6f, 0x57, 0x20, // movdqu xmm2, [rdi+32]
        0xf3, 0x0f, 0x6f, 0x5f, 0x30, // movdqu xmm3, [rdi+48]
        0x0f, 0x6f, 0x47, 0x40,       // movq mm0, [rdi+64]
        0x0f, 0x6f, 0x4f, 0x48,       // movq mm1, [rdi+72]
        0x0f, 0x6f, 0x57, 0x50,       // movq mm2, [rdi+80]
        0x48, 0x8b, 0x47, 0x58,       // mov rax, [rdi+88]
        0x48, 0x8b, 0x4f, 0x60,       // mov rcx, [rdi+96]
        0x48, 0x8b, 0x57, 0x68,       // mov rdx, [rdi+104]
        0x0f, 0xae, 0x57, 0x70,       // ldmxcsr [rdi+112]
    };
    static const uint8_t kEpilog[] = {
        0x0f, 0xae, 0x5f, 0x70,       // stmxcsr [rdi+112]
        0x9c, 0x5e,                   // pushfq; pop rsi
        0x48, 0x89, 0x77, 0x78,       // mov [rdi+120], rsi
        0xf3, 0x0f, 0x7f, 0x07,       // movdqu [rdi], xmm0
        0xf3, 0x0f, 0x7f, 0x4f, 0x10, // movdqu [rdi+16], xmm1
        0xf3, 0x0f, 0x7f, 0x57, 0x20, // movdqu [rdi+32], xmm2
        0xf3, 0x0f, 0x7f, 0x5f, 0x30, // movdqu [rdi+48], xmm3
        0x0f, 0x7f, 0x47, 0x40,       // movq [rdi+64], mm0
        0x0f, 0x7f, 0x4f, 0x48,       // movq [rdi+72], mm1
        0x0f, 0x7f, 0x57, 0x50,       // movq [rdi+80], mm2
        0x48, 0x89, 0x47, 0x58,       // mov [rdi+88], rax
        0x48, 0x89, 0x4f, 0x60,       // mov [rdi+96], rcx
        0x48, 0x89, 0x57, 0x68,       // mov [rdi+104], rdx
        0x0f, 0x77,                   // emms
        0x0f, 0xae, 0x57, 0x74,       // ldmxcsr [rdi+116]
        0xc3,                         // ret
    };
    if (insn != loaded_) {
      auto *code = static_cast<uint8_t *>(memory_);
      size_t at = 0;
      std::memcpy(code + at, kProlog, sizeof(kProlog));
      at += sizeof(kProlog);
      std::memcpy(code + at, insn.data(), insn.size());
      at += insn.size();
      std::memcpy(code + at, kEpilog, sizeof(kEpilog));
      loaded_ = insn;
    }
    g_resume_address =
        reinterpret_cast<uint64_t>(memory_) + sizeof(kProlog) + insn.size();
    g_host_faulted = false;
    struct sigaction action = {}, previous = {};
    action.sa_sigaction = on_host_simd_exception;
    action.sa_flags = SA_SIGINFO;
    sigaction(SIGFPE, &action, &previous);
    reinterpret_cast<void (*)(SimdRegs *)>(memory_)(&regs);
    sigaction(SIGFPE, &previous, nullptr);
    return g_host_faulted;
  }

private:
  void *memory_ = nullptr;
  std::vector<uint8_t> loaded_;
};

// Input values: random bits mixed with the edge cases of every lane type.
enum class Inputs { Float, Integer, Text };

class InputGenerator {
public:
  explicit InputGenerator(uint32_t seed) : rng_(seed) {}

  void fill(SimdRegs &r, Inputs kind) {
    for (auto &reg : r.xmm)
      fill_bytes(reg, 16, kind);
    for (auto &reg : r.mm)
      fill_bytes(reinterpret_cast<uint8_t *>(&reg), 8, kind);
    for (auto &reg : r.gpr) {
      reg = pick64(kind);
      if (kind == Inputs::Text) // explicit string lengths
        reg = static_cast<uint64_t>(static_cast<int64_t>(rng_() % 41) - 20);
    }
  }

  uint32_t next() { return static_cast<uint32_t>(rng_()); }

private:
  void fill_bytes(uint8_t *out, unsigned size, Inputs kind) {
    if (kind == Inputs::Text) {
      static const uint8_t kAlphabet[] = {0, 'a', 'b', 'c', 'z', 0x80, 0xff};
      for (unsigned i = 0; i < size; i++)
        out[i] = kAlphabet[rng_() % sizeof(kAlphabet)];
      if (rng_() % 4 == 0) // long runs without a terminator
        for (unsigned i = 0; i < size; i++)
          out[i] = out[i] ? out[i] : 'a';
      return;
    }
    for (unsigned i = 0; i < size; i += 8) {
      const uint64_t v = rng_() % 2 ? pick64(kind) : pair32(kind);
      std::memcpy(out + i, &v, 8);
    }
  }

  uint64_t pair32(Inputs kind) {
    return uint64_t{pick32(kind)} | uint64_t{pick32(kind)} << 32;
  }

  uint32_t pick32(Inputs kind) {
    static const uint32_t kFloat[] = {
        0x00000000, 0x80000000, 0x7f800000, 0xff800000, 0x7fc00000, 0xffc00000,
        0x7f800001, 0x7fa00000, 0x00000001, 0x807fffff, 0x00800000, 0x7f7fffff,
        0xff7fffff, 0x3f800000, 0xbf800000, 0x3f000000, 0x4f000000, 0xcf000000,
        0x5f000000, 0x4effffff, 0x3fc00000, 0x40490fdb, 0x00400000, 0x0ff00000};
    static const uint32_t kInteger[] = {
        0x00000000, 0xffffffff, 0x80000000, 0x7fffffff, 0x00008000, 0x00007fff,
        0x80808080, 0x7f7f7f7f, 0x000000ff, 0x01010101, 0xff00ff00};
    const unsigned choice = rng_() % 4;
    if (choice == 0)
      return static_cast<uint32_t>(rng_());
    if (kind == Inputs::Float)
      return kFloat[rng_() % std::size(kFloat)] ^
             (choice == 1 ? static_cast<uint32_t>(rng_() & 0xf) : 0);
    return kInteger[rng_() % std::size(kInteger)];
  }

  uint64_t pick64(Inputs kind) {
    static const uint64_t kDouble[] = {
        0x0000000000000000, 0x8000000000000000, 0x7ff0000000000000,
        0xfff0000000000000, 0x7ff8000000000000, 0x7ff0000000000001,
        0x7ff4000000000000, 0x0000000000000001, 0x800fffffffffffff,
        0x0010000000000000, 0x7fefffffffffffff, 0x3ff0000000000000,
        0xbff0000000000000, 0x3fe0000000000000, 0x41e0000000000000,
        0xc1e0000000000000, 0x43e0000000000000, 0xc3e0000000000000,
        0x41dfffffffc00000, 0x3ff8000000000000, 0x36a0000000000000,
        0x47efffffe0000000, 0x400921fb54442d18};
    static const uint64_t kInteger[] = {0,
                                        ~uint64_t{0},
                                        0x8000000000000000,
                                        0x7fffffffffffffff,
                                        0x00000000ffffffff,
                                        0x8000800080008000,
                                        0x0001000100010001};
    const unsigned choice = rng_() % 4;
    if (choice == 0)
      return rng_();
    if (kind == Inputs::Float)
      return kDouble[rng_() % std::size(kDouble)] ^
             (choice == 1 ? rng_() & 0xf : 0);
    return kInteger[rng_() % std::size(kInteger)];
  }

  std::mt19937_64 rng_;
};

inline std::string hex_bytes(const std::vector<uint8_t> &bytes) {
  std::string out;
  char buf[4];
  for (uint8_t b : bytes) {
    std::snprintf(buf, sizeof(buf), "%02x ", b);
    out += buf;
  }
  return out;
}

// Runs `insn` in the guest and on the host from `input`; returns an empty
// string when they agree, else a description of the first difference.
class SimdOracle {
public:
  SimdOracle() : machine_(CodeSize::Bits64) {
    machine_.state().cr4 |= CR4_OSFXSR | CR4_OSXMMEXCPT;
  }

  std::string compare(const std::vector<uint8_t> &insn, const SimdRegs &input,
                      bool check_flags) {
    SimdRegs host = input;
    const bool host_faulted = stub_.run(insn, host);

    SimdRegs guest{};
    uint8_t vector = kNoFault;
    std::string error = run_guest(insn, input, guest, vector);
    if (!error.empty())
      return error;

    std::string diff;
    char buf[256];
    if (host_faulted && vector != EXC_XM)
      diff = "host raised #XM, guest " +
             (vector == kNoFault ? std::string("did not fault")
                                 : "vector " + std::to_string(vector));
    if (!host_faulted && vector != kNoFault)
      diff = "guest faulted with vector " + std::to_string(vector);
    if (host_faulted)
      check_flags = false;
    for (unsigned i = 0; i < 4 && diff.empty(); i++)
      if (std::memcmp(guest.xmm[i], host.xmm[i], 16)) {
        uint64_t g[2], h[2];
        std::memcpy(g, guest.xmm[i], 16);
        std::memcpy(h, host.xmm[i], 16);
        std::snprintf(buf, sizeof(buf),
                      "xmm%u guest %016" PRIx64 "%016" PRIx64
                      " host %016" PRIx64 "%016" PRIx64,
                      i, g[1], g[0], h[1], h[0]);
        diff = buf;
      }
    for (unsigned i = 0; i < 3 && diff.empty(); i++)
      if (guest.mm[i] != host.mm[i]) {
        std::snprintf(buf, sizeof(buf),
                      "mm%u guest %016" PRIx64 " host %016" PRIx64, i,
                      guest.mm[i], host.mm[i]);
        diff = buf;
      }
    for (unsigned i = 0; i < 3 && diff.empty(); i++)
      if (guest.gpr[i] != host.gpr[i]) {
        std::snprintf(buf, sizeof(buf),
                      "gpr%u guest %016" PRIx64 " host %016" PRIx64, i,
                      guest.gpr[i], host.gpr[i]);
        diff = buf;
      }
    if (diff.empty() && guest.mxcsr != host.mxcsr) {
      std::snprintf(buf, sizeof(buf), "mxcsr guest %08x host %08x", guest.mxcsr,
                    host.mxcsr);
      diff = buf;
    }
    const uint64_t guest_flags = guest.rflags;
    if (diff.empty() && check_flags &&
        guest_flags != (host.rflags & kArithFlags)) {
      std::snprintf(buf, sizeof(buf),
                    "flags guest %03" PRIx64 " host %03" PRIx64, guest_flags,
                    host.rflags & kArithFlags);
      diff = buf;
    }
    if (diff.empty())
      return diff;
    std::string inputs;
    for (unsigned i = 0; i < 4; i++) {
      uint64_t v[2];
      std::memcpy(v, input.xmm[i], 16);
      std::snprintf(buf, sizeof(buf), " xmm%u=%016" PRIx64 "%016" PRIx64, i,
                    v[1], v[0]);
      inputs += buf;
    }
    std::snprintf(buf, sizeof(buf),
                  " mm1=%016" PRIx64 " mm2=%016" PRIx64 " rax=%" PRIx64
                  " rcx=%" PRIx64 " rdx=%" PRIx64 " mxcsr=%08x",
                  input.mm[1], input.mm[2], input.gpr[0], input.gpr[1],
                  input.gpr[2], input.mxcsr);
    return hex_bytes(insn) + ": " + diff + " |" + inputs + buf;
  }

  // Runs the register form (r/m = XMM2/MM2) and the memory form (r/m =
  // kOperandAddress holding XMM2's or MM2's value) in the guest; returns
  // an empty string when they leave the same state.
  static constexpr uint32_t kOperandAddress = 0x30000;

  std::string compare_memory_form(const std::vector<uint8_t> &reg_form,
                                  const std::vector<uint8_t> &mem_form,
                                  const SimdRegs &input, bool check_flags) {
    SimdRegs by_register{}, by_memory{};
    uint8_t register_fault = kNoFault, memory_fault = kNoFault;
    std::string error = run_guest(reg_form, input, by_register, register_fault);
    if (!error.empty())
      return error;
    const bool mmx = last_source_was_mmx_;
    for (unsigned i = 0; i < 16; i++)
      machine_.poke<uint8_t>(
          kOperandAddress + i,
          mmx ? (i < 8 ? reinterpret_cast<const uint8_t *>(&input.mm[2])[i] : 0)
              : input.xmm[2][i]);
    error = run_guest(mem_form, input, by_memory, memory_fault);
    if (!error.empty())
      return error;
    if (register_fault != memory_fault)
      return hex_bytes(mem_form) + ": memory form faults differently";
    if (!check_flags)
      by_register.rflags = by_memory.rflags = 0;
    if (std::memcmp(&by_register, &by_memory, sizeof(SimdRegs)) == 0)
      return "";
    return hex_bytes(mem_form) + ": memory form differs from " +
           hex_bytes(reg_form);
  }

private:
  static constexpr uint8_t kNoFault = 0xff;

  // Executes `insn` from `input`; `out` receives the state it left and
  // `vector` the exception it raised, if any.
  std::string run_guest(const std::vector<uint8_t> &insn, const SimdRegs &input,
                        SimdRegs &out, uint8_t &vector) {
    CpuState &s = machine_.state();
    s.rip = kCodeAddress;
    for (unsigned i = 0; i < 4; i++)
      std::memcpy(s.fpu.xmm[i], input.xmm[i], 16);
    s.fpu.fsw = 0;
    s.fpu.ftw = 0xff;
    for (unsigned i = 0; i < 3; i++) {
      std::memcpy(s.fpu.st[i], &input.mm[i], 8);
      s.fpu.st[i][8] = s.fpu.st[i][9] = 0xff;
    }
    s.gpr[RAX] = input.gpr[0];
    s.gpr[RCX] = input.gpr[1];
    s.gpr[RDX] = input.gpr[2];
    s.fpu.mxcsr = input.mxcsr;
    set_arith_flags(s, 0);
    Instruction decoded;
    if (decode(insn.data(), static_cast<unsigned>(insn.size()),
               CodeSize::Bits64, decoded) != DecodeStatus::Ok)
      return "decode failed: " + hex_bytes(insn);
    last_source_was_mmx_ = decoded.operands[1].kind == OperandKind::Mmx;
    vector = machine_.execute(decoded) ? kNoFault : machine_.fault_vector();
    out = input;
    for (unsigned i = 0; i < 4; i++)
      std::memcpy(out.xmm[i], s.fpu.xmm[i], 16);
    for (unsigned i = 0; i < 3; i++)
      std::memcpy(&out.mm[i], s.fpu.st[i], 8);
    out.gpr[0] = s.gpr[RAX];
    out.gpr[1] = s.gpr[RCX];
    out.gpr[2] = s.gpr[RDX];
    out.mxcsr = s.fpu.mxcsr;
    out.rflags = arith_flags(s);
    return "";
  }

  OpsMachine machine_;
  HostStub stub_;
  bool last_source_was_mmx_ = false;
};

// One instruction form to check: its bytes and how to fill its inputs.
struct OracleCase {
  std::vector<uint8_t> bytes;
  // The same instruction with r/m = [kOperandAddress], when its memory
  // form must behave like the register form; empty to skip.
  std::vector<uint8_t> memory_form;
  size_t modrm_at = 0; // index of the ModRM byte in `bytes`
  Inputs inputs = Inputs::Integer;
  bool flags = false;
};

// The MXCSR configurations checked: each rounding mode, DAZ, FTZ, and
// sticky flags already set, all exceptions masked.
// With `unmask`, a random subset of the exceptions is unmasked.
inline uint32_t oracle_mxcsr(unsigned variant, uint32_t random,
                             bool unmask = false) {
  const uint32_t rc = (variant & 3) << 13;
  const uint32_t daz = (variant & 4) ? 0x40 : 0;
  const uint32_t ftz = (variant & 8) ? 0x8000 : 0;
  const uint32_t sticky = (variant & 16) ? random & 0x3f : 0;
  const uint32_t masks = unmask ? (random >> 8 & 0x3f) << 7 : 0x1f80;
  return masks | rc | daz | ftz | sticky;
}

// Checks every case over `iterations` random inputs per MXCSR variant;
// returns the number of mismatches and reports the first.
inline unsigned run_oracle(const std::vector<OracleCase> &cases,
                           unsigned iterations, std::string &first_failure,
                           unsigned variants = 32, bool unmask = false,
                           uint32_t seed = 1) {
  SimdOracle oracle;
  InputGenerator gen(seed);
  unsigned failures = 0;
  for (const OracleCase &c : cases)
    for (unsigned variant = 0; variant < variants; variant++)
      for (unsigned i = 0; i < iterations; i++) {
        SimdRegs regs{};
        gen.fill(regs, c.inputs);
        regs.mxcsr = oracle_mxcsr(variant, gen.next(), unmask);
        std::string diff = oracle.compare(c.bytes, regs, c.flags);
        if (diff.empty() && !c.memory_form.empty())
          diff =
              oracle.compare_memory_form(c.bytes, c.memory_form, regs, c.flags);
        if (!diff.empty() && failures++ == 0)
          first_failure = diff;
      }
  return failures;
}

} // namespace sable::cpu::test
