// The x87 FPU: every D8..DF escape and FWAIT (Intel SDM vol. 1 ch. 8,
// vol. 2 for each instruction). Arithmetic is cpu/float80.{h,cpp}; this
// file is the register stack, the status/control/tag words, stack faults,
// the masked and unmasked exception responses, the environment images and
// the instruction/data pointers.
//
// Register layout: FpuState::st[i] holds ST(i) (stack order, as FXSAVE
// stores it), so changing TOP rotates st[]; FpuState::ftw is the abridged
// tag word, one bit per physical register (bit p for R p, physical
// register of ST(i) = (TOP + i) mod 8). FpuState::fip and fdp hold the
// full RIP/offset in 64-bit mode and otherwise the 32-bit offset with the
// CS/DS selector in bits 32-47 (the 32-bit FXSAVE layout).
//
// Unmasked exceptions set ES and B in FSW; the next waiting x87
// instruction then raises #MF when CR0.NE is set (with CR0.NE clear the
// FERR#/IRQ13 path is not modelled: logged once, execution continues).

#include <cstring>
#include <initializer_list>

#include "cpu/cpu.h"
#include "cpu/float80.h"
#include "cpu/ops/chain.h"
#include "cpu/ops/handlers.h"
#include "cpu/ops/x87_transcendental.h"
#include "machine/log.h"

namespace sable::cpu {

namespace {

enum FswBits : uint16_t {
  FSW_IE = 1 << 0,
  FSW_SF = 1 << 6,
  FSW_ES = 1 << 7,
  FSW_C0 = 1 << 8,
  FSW_C1 = 1 << 9,
  FSW_C2 = 1 << 10,
  FSW_TOP = 7 << 11,
  FSW_C3 = 1 << 14,
  FSW_B = 1 << 15,
};
constexpr uint16_t kConditionCodes = FSW_C0 | FSW_C1 | FSW_C2 | FSW_C3;
constexpr uint16_t kDefaultControlWord = 0x037f;

// Full (2-bit) tag values of FSTENV/FSAVE.
enum Tag : unsigned {
  TAG_VALID = 0,
  TAG_ZERO = 1,
  TAG_SPECIAL = 2,
  TAG_EMPTY = 3
};

// Constants, rounded by RC from 66+ significant bits: the significand
// truncated to 64 bits and whether the rest is above one half ulp
// (round-to-nearest then rounds up; no constant sits exactly on a half).
struct Constant {
  uint64_t significand;
  uint16_t exponent;
  bool nearest_rounds_up;
};
constexpr Constant kLog2Of10{0xd49a784bcd1b8afeull, 0x4000, false};
constexpr Constant kLog2OfE{0xb8aa3b295c17f0bbull, 0x3fff, true};
constexpr Constant kPi{0xc90fdaa22168c234ull, 0x4000, true};
constexpr Constant kLog10Of2{0x9a209a84fbcff798ull, 0x3ffd, true};
constexpr Constant kLnOf2{0xb17217f7d1cf79abull, 0x3ffe, true};

class X87 {
public:
  X87(Cpu &cpu, const Instruction &insn)
      : cpu_(cpu), insn_(insn), f_(cpu.state.fpu),
        ctx_(FpContext::from_control_word(cpu.state.fpu.fcw)) {}

  Cpu &cpu() { return cpu_; }
  const Instruction &insn() const { return insn_; }
  FpuState &fpu() { return f_; }
  FpContext &ctx() { return ctx_; }

  // ---- the register stack
  unsigned top() const { return (f_.fsw >> 11) & 7; }
  unsigned physical(unsigned i) const { return (top() + i) & 7; }
  bool empty(unsigned i) const { return !((f_.ftw >> physical(i)) & 1); }
  Float80 get(unsigned i) const {
    Float80 v;
    std::memcpy(&v.significand, f_.st[i], 8);
    std::memcpy(&v.sign_exponent, f_.st[i] + 8, 2);
    return v;
  }
  void set(unsigned i, Float80 v) {
    std::memcpy(f_.st[i], &v.significand, 8);
    std::memcpy(f_.st[i] + 8, &v.sign_exponent, 2);
    std::memset(f_.st[i] + 10, 0, 6);
    f_.ftw |= 1 << physical(i);
  }
  void free(unsigned i) { f_.ftw &= ~(1 << physical(i)); }
  void decrement_top() {
    uint8_t last[16];
    std::memcpy(last, f_.st[7], 16);
    std::memmove(f_.st[1], f_.st[0], 7 * 16);
    std::memcpy(f_.st[0], last, 16);
    set_top(top() - 1);
  }
  void increment_top() {
    uint8_t first[16];
    std::memcpy(first, f_.st[0], 16);
    std::memmove(f_.st[0], f_.st[1], 7 * 16);
    std::memcpy(f_.st[7], first, 16);
    set_top(top() + 1);
  }
  void push(Float80 v) {
    decrement_top();
    set(0, v);
  }
  void pop() {
    free(0);
    increment_top();
  }

  // ---- status word
  void set_c1(bool on) { set_bits(FSW_C1, on); }
  void set_conditions(uint16_t codes) {
    f_.fsw = static_cast<uint16_t>((f_.fsw & ~kConditionCodes) | codes);
  }

  // Stack overflow (C1 = 1) or underflow (C1 = 0): IE and SF. True when
  // IE is masked, i.e. the instruction goes on with the real indefinite.
  bool stack_fault(bool overflow) {
    f_.fsw |= FSW_IE | FSW_SF;
    set_c1(overflow);
    if (f_.fcw & FP_INVALID)
      return true;
    f_.fsw |= FSW_ES | FSW_B;
    return false;
  }
  bool any_empty(std::initializer_list<unsigned> registers) const {
    for (unsigned i : registers)
      if (empty(i))
        return true;
    return false;
  }

  // Folds the operation's exceptions into FSW (C1 = rounded up). False
  // when an unmasked IE, DE or ZE forbids writing the result (loads of a
  // binary32/64 denormal still happen with DE unmasked).
  bool report(bool denormal_blocks = true) {
    uint8_t flags = ctx_.flags;
    const uint8_t unmasked = flags & ~f_.fcw & kFpAllExceptions;
    const uint8_t blocking =
        FP_INVALID | FP_ZERO_DIVIDE | (denormal_blocks ? FP_DENORMAL : 0);
    const bool blocked = unmasked & blocking;
    if (blocked)
      flags &= FP_INVALID | FP_DENORMAL | FP_ZERO_DIVIDE;
    f_.fsw |= flags;
    set_c1(!blocked && ctx_.rounded_up);
    if (unmasked)
      f_.fsw |= FSW_ES | FSW_B;
    return !blocked;
  }
  // ---- memory operand
  uint64_t offset() const { return cpu_.effective_address(insn_); }
  bool read_memory(void *data, unsigned size) {
    return cpu_.read(insn_.seg, offset(), data, size);
  }
  bool write_memory(const void *data, unsigned size) {
    return cpu_.write(insn_.seg, offset(), data, size);
  }
  bool read_memory_f80(Float80 &v) {
    uint8_t raw[10];
    if (!read_memory(raw, 10))
      return false;
    std::memcpy(&v.significand, raw, 8);
    std::memcpy(&v.sign_exponent, raw + 8, 2);
    return true;
  }
  bool write_memory_f80(Float80 v) {
    uint8_t raw[10];
    std::memcpy(raw, &v.significand, 8);
    std::memcpy(raw + 8, &v.sign_exponent, 2);
    return write_memory(raw, 10);
  }

  void recompute_error_summary() {
    if (f_.fsw & ~f_.fcw & kFpAllExceptions)
      f_.fsw |= FSW_ES | FSW_B;
    else
      f_.fsw &= ~(FSW_ES | FSW_B);
  }

private:
  void set_bits(uint16_t bits, bool on) {
    f_.fsw = static_cast<uint16_t>(on ? (f_.fsw | bits) : (f_.fsw & ~bits));
  }
  void set_top(unsigned t) {
    f_.fsw = static_cast<uint16_t>((f_.fsw & ~FSW_TOP) | ((t & 7) << 11));
  }

  Cpu &cpu_;
  const Instruction &insn_;
  FpuState &f_;
  FpContext ctx_;
};

unsigned reg_field(const Instruction &insn) {
  return (insn.modrm >> 3) & 7;
}
unsigned rm_field(const Instruction &insn) {
  return insn.modrm & 7;
}
bool has_memory(const Instruction &insn) {
  return insn.operands[0].kind == OperandKind::Mem;
}

// ---- generic shapes

// Writes `value` to ST(dest) (when the exceptions allow) and pops.
bool finish_result(X87 &x, unsigned dest, Float80 value, bool pop) {
  if (!x.report())
    return true;
  x.set(dest, value);
  if (pop)
    x.pop();
  return true;
}

// A stack underflow on a register destination: with IE masked the
// destination gets the real indefinite (and the pop still happens).
bool underflow_result(X87 &x, unsigned dest, bool pop) {
  if (!x.stack_fault(false))
    return true;
  x.set(dest, kF80Indefinite);
  if (pop)
    x.pop();
  return true;
}

Float80 arithmetic(unsigned operation, Float80 a, Float80 b, FpContext &ctx) {
  switch (operation) {
  case 0:
    return f80_add(a, b, ctx);
  case 1:
    return f80_mul(a, b, ctx);
  case 4:
  case 5:
    return f80_sub(a, b, ctx);
  default:
    return f80_div(a, b, ctx);
  }
}

void set_compare_codes(X87 &x, FpRelation relation) {
  switch (relation) {
  case FpRelation::Greater:
    x.set_conditions(0);
    break;
  case FpRelation::Less:
    x.set_conditions(FSW_C0);
    break;
  case FpRelation::Equal:
    x.set_conditions(FSW_C3);
    break;
  case FpRelation::Unordered:
    x.set_conditions(FSW_C0 | FSW_C2 | FSW_C3);
    break;
  }
}

// FCOM/FUCOM/FICOM/FTST family: ST(0) against `other`, then `pops` pops.
bool compare(X87 &x, bool other_empty, Float80 other, bool quiet,
             unsigned pops) {
  if (x.empty(0) || other_empty) {
    if (!x.stack_fault(false))
      return true;
    x.set_conditions(FSW_C0 | FSW_C2 | FSW_C3);
  } else {
    // An unmasked IE still reports "unordered" but the pops are skipped.
    const FpRelation relation = f80_compare(x.get(0), other, quiet, x.ctx());
    set_compare_codes(x, relation);
    if (!x.report())
      return true;
  }
  for (unsigned i = 0; i < pops; i++)
    x.pop();
  return true;
}

// FCOMI/FUCOMI(P): the relation goes to ZF, PF, CF.
bool compare_to_eflags(X87 &x, unsigned i, bool quiet, bool pop) {
  uint64_t flags = 0;
  if (x.any_empty({0, i})) {
    if (!x.stack_fault(false))
      return true;
    flags = ZF | PF | CF;
  } else {
    const FpRelation relation = f80_compare(x.get(0), x.get(i), quiet, x.ctx());
    if (!x.report())
      pop = false;
    x.set_c1(false);
    switch (relation) {
    case FpRelation::Less:
      flags = CF;
      break;
    case FpRelation::Equal:
      flags = ZF;
      break;
    case FpRelation::Unordered:
      flags = ZF | PF | CF;
      break;
    case FpRelation::Greater:
      break;
    }
  }
  Cpu &cpu = x.cpu();
  cpu.set_rflags((cpu.rflags() & ~kArithFlags) | flags);
  if (pop)
    x.pop();
  return true;
}

// Pushes `value` (an operation's result; `ctx` already holds its flags).
bool push_result(X87 &x, Float80 value, bool denormal_blocks = true) {
  if (!x.empty(7)) {
    if (x.stack_fault(true))
      x.push(kF80Indefinite);
    return true;
  }
  if (!x.report(denormal_blocks))
    return true;
  x.push(value);
  return true;
}

Float80 constant_value(const Constant &c, FpRounding rounding) {
  bool up = false;
  switch (rounding) {
  case FpRounding::Nearest:
    up = c.nearest_rounds_up;
    break;
  case FpRounding::Up:
    up = true;
    break;
  default:
    break;
  }
  return {c.significand + up, c.exponent};
}

// ---- D8..DF memory forms

// Reads the memory operand of an arithmetic/compare form as extended.
bool read_arithmetic_operand(X87 &x, unsigned escape, Float80 &value) {
  switch (escape) {
  case 0: { // m32fp
    uint32_t bits;
    if (!x.read_memory(&bits, 4))
      return false;
    value = f80_from_f32(bits, x.ctx(), false);
    return true;
  }
  case 4: { // m64fp
    uint64_t bits;
    if (!x.read_memory(&bits, 8))
      return false;
    value = f80_from_f64(bits, x.ctx(), false);
    return true;
  }
  case 2: { // m32int
    int32_t v;
    if (!x.read_memory(&v, 4))
      return false;
    value = f80_from_int(v);
    return true;
  }
  default: { // m16int
    int16_t v;
    if (!x.read_memory(&v, 2))
      return false;
    value = f80_from_int(v);
    return true;
  }
  }
}

// D8, DA, DC, DE memory forms: ST(0) = ST(0) op m, or compares.
bool memory_arithmetic(X87 &x, unsigned escape) {
  const unsigned operation = reg_field(x.insn());
  Float80 source;
  if (!read_arithmetic_operand(x, escape, source))
    return false;
  // A binary32/64 denormal raised DE while widening to a normal extended
  // value; a NaN or unsupported ST(0) outranks it.
  const FpClass st0_class = f80_classify(x.get(0));
  if (!x.empty(0) &&
      (f80_is_nan(x.get(0)) || st0_class == FpClass::Unsupported))
    x.ctx().flags &= ~FP_DENORMAL;
  if (operation == 2 || operation == 3)
    return compare(x, false, source, false, operation == 3);
  if (x.empty(0))
    return underflow_result(x, 0, false);
  const bool reversed = operation == 5 || operation == 7;
  const Float80 st0 = x.get(0);
  const Float80 result = reversed ? arithmetic(operation, source, st0, x.ctx())
                                  : arithmetic(operation, st0, source, x.ctx());
  return finish_result(x, 0, result, false);
}

// D8 and DC/DE register forms. D8: ST(0) = ST(0) op ST(i); DC: ST(i) =
// ST(i) op ST(0), where the SUB/SUBR and DIV/DIVR encodings swap; DE as
// DC with a pop.
bool register_arithmetic(X87 &x, unsigned escape) {
  const unsigned operation = reg_field(x.insn());
  const unsigned i = rm_field(x.insn());
  if (operation == 2 || operation == 3) // FCOM/FCOMP and aliases
    return compare(x, x.empty(i), x.get(i), false, operation == 3);
  const bool to_st0 = escape == 0;
  const unsigned dest = to_st0 ? 0 : i;
  const unsigned other = to_st0 ? i : 0;
  const bool pop = escape == 6;
  if (x.any_empty({0, i}))
    return underflow_result(x, dest, pop);
  bool reversed = operation == 5 || operation == 7;
  if (!to_st0 && operation >= 4)
    reversed = !reversed;
  const Float80 d = x.get(dest);
  const Float80 o = x.get(other);
  const Float80 result = reversed ? arithmetic(operation, o, d, x.ctx())
                                  : arithmetic(operation, d, o, x.ctx());
  return finish_result(x, dest, result, pop);
}

// Integer and floating stores of ST(0) to memory (FIST*, FISTTP, FST*).
template <typename Convert>
bool store_st0(X87 &x, unsigned size, bool pop, Convert convert) {
  uint64_t bits = 0;
  if (x.empty(0)) {
    if (!x.stack_fault(false))
      return true;
    bits = convert(kF80Indefinite, x.ctx());
    x.ctx().flags = 0;
  } else {
    bits = convert(x.get(0), x.ctx());
    // Unmasked overflow and underflow keep a memory destination
    // unchanged too, and then report no rounding (PE, C1).
    const uint8_t unmasked = x.ctx().flags & ~x.fpu().fcw & kFpAllExceptions;
    if (unmasked & (FP_INVALID | FP_OVERFLOW | FP_UNDERFLOW)) {
      x.ctx().flags &= ~FP_PRECISION;
      x.ctx().rounded_up = false;
      x.report();
      return true;
    }
  }
  if (!x.write_memory(&bits, size))
    return false;
  x.report();
  if (pop)
    x.pop();
  return true;
}

bool store_integer(X87 &x, unsigned size, bool truncate, bool pop) {
  return store_st0(x, size, pop, [&](Float80 v, FpContext &ctx) {
    return static_cast<uint64_t>(f80_to_int(v, size, truncate, ctx));
  });
}

bool store_float(X87 &x, unsigned size, bool pop) {
  return store_st0(x, size, pop, [&](Float80 v, FpContext &ctx) {
    return size == 4 ? uint64_t{f80_to_f32(v, ctx)} : f80_to_f64(v, ctx);
  });
}

bool store_extended(X87 &x, bool pop) {
  Float80 value = kF80Indefinite;
  if (x.empty(0) && !x.stack_fault(false))
    return true;
  if (!x.empty(0))
    value = x.get(0);
  if (!x.write_memory_f80(value))
    return false;
  if (!x.empty(0))
    x.set_c1(false);
  if (pop)
    x.pop();
  return true;
}

bool load_integer(X87 &x, unsigned size) {
  int64_t v = 0;
  uint64_t raw = 0;
  if (!x.read_memory(&raw, size))
    return false;
  switch (size) {
  case 2:
    v = static_cast<int16_t>(raw);
    break;
  case 4:
    v = static_cast<int32_t>(raw);
    break;
  default:
    v = static_cast<int64_t>(raw);
    break;
  }
  return push_result(x, f80_from_int(v));
}

bool load_float(X87 &x, unsigned size) {
  uint64_t raw = 0;
  if (!x.read_memory(&raw, size))
    return false;
  const Float80 v = size == 4
                        ? f80_from_f32(static_cast<uint32_t>(raw), x.ctx())
                        : f80_from_f64(raw, x.ctx());
  return push_result(x, v, false);
}

// ---- environment and state images

uint16_t full_tag_word(X87 &x) {
  uint16_t tags = 0;
  for (unsigned i = 0; i < 8; i++) {
    unsigned tag = TAG_EMPTY;
    if (!x.empty(i)) {
      switch (f80_classify(x.get(i))) {
      case FpClass::Zero:
        tag = TAG_ZERO;
        break;
      case FpClass::Normal:
        tag = TAG_VALID;
        break;
      default:
        tag = TAG_SPECIAL;
        break;
      }
    }
    tags |= tag << (2 * x.physical(i));
  }
  return tags;
}

bool real_or_v86(const CpuState &s) {
  return !s.protected_mode() || s.v86();
}

// FNSTENV/FNSAVE's first 14 or 28 bytes (SDM vol. 1, figures 8-9..8-12).
void build_environment(X87 &x, uint8_t *image, bool wide) {
  FpuState &f = x.fpu();
  const uint16_t tags = full_tag_word(x);
  const uint32_t ip = static_cast<uint32_t>(f.fip);
  const uint16_t cs = static_cast<uint16_t>(f.fip >> 32);
  const uint32_t dp = static_cast<uint32_t>(f.fdp);
  const uint16_t ds = static_cast<uint16_t>(f.fdp >> 32);
  uint32_t words[7];
  if (real_or_v86(x.cpu().state)) {
    // Real-mode images hold 20-bit linear pointers (32-bit ones in the
    // 32-bit format), the high bits above the opcode.
    const uint32_t linear_ip = ip + (uint32_t{cs} << 4);
    const uint32_t linear_dp = dp + (uint32_t{ds} << 4);
    words[3] = linear_ip & 0xffff;
    words[4] = ((linear_ip >> 16) << 12) | (f.fop & 0x7ff);
    words[5] = linear_dp & 0xffff;
    words[6] = (linear_dp >> 16) << 12;
  } else {
    words[3] = ip;
    words[4] = cs | (wide ? uint32_t(f.fop & 0x7ff) << 16 : 0);
    words[5] = dp;
    words[6] = ds;
  }
  words[0] = f.fcw;
  words[1] = f.fsw;
  words[2] = tags;
  for (unsigned i = 0; i < 7; i++) {
    if (wide) {
      // The unused upper halves of the control, status and tag words
      // and of the data selector read as ones on Intel processors.
      const uint32_t word = words[i] | (i < 3 || i == 6 ? 0xffff0000 : 0);
      std::memcpy(image + 4 * i, &word, 4);
    } else {
      const uint16_t word = static_cast<uint16_t>(words[i]);
      std::memcpy(image + 2 * i, &word, 2);
    }
  }
}

void load_environment(X87 &x, const uint8_t *image, bool wide) {
  FpuState &f = x.fpu();
  uint32_t words[7];
  for (unsigned i = 0; i < 7; i++) {
    if (wide) {
      std::memcpy(&words[i], image + 4 * i, 4);
    } else {
      uint16_t word;
      std::memcpy(&word, image + 2 * i, 2);
      words[i] = word;
    }
  }
  f.fcw = static_cast<uint16_t>(words[0]);
  f.fsw = static_cast<uint16_t>(words[1]);
  const uint16_t tags = static_cast<uint16_t>(words[2]);
  f.ftw = 0;
  for (unsigned p = 0; p < 8; p++)
    if (((tags >> (2 * p)) & 3) != TAG_EMPTY)
      f.ftw |= 1 << p;
  if (real_or_v86(x.cpu().state)) {
    const uint32_t ip = (words[3] & 0xffff) | ((words[4] >> 12) << 16);
    const uint32_t dp = (words[5] & 0xffff) | ((words[6] >> 12) << 16);
    f.fip = wide ? ip : ip & 0xfffff;
    f.fdp = wide ? dp : dp & 0xfffff;
    f.fop = words[4] & 0x7ff;
  } else {
    f.fip = (wide ? words[3] : words[3] & 0xffff) |
            (uint64_t{words[4] & 0xffff} << 32);
    f.fdp = (wide ? words[5] : words[5] & 0xffff) |
            (uint64_t{words[6] & 0xffff} << 32);
    f.fop = wide ? (words[4] >> 16) & 0x7ff : 0;
  }
  x.recompute_error_summary();
}

void initialize(FpuState &f) {
  f.fcw = kDefaultControlWord;
  f.fsw = 0;
  f.ftw = 0;
  f.fop = 0;
  f.fip = 0;
  f.fdp = 0;
}

bool store_environment(X87 &x) {
  const bool wide = x.insn().operands[0].size == 28;
  uint8_t image[28];
  build_environment(x, image, wide);
  if (!x.write_memory(image, wide ? 28 : 14))
    return false;
  x.fpu().fcw |= kFpAllExceptions;
  return true;
}

bool load_environment_from_memory(X87 &x) {
  const bool wide = x.insn().operands[0].size == 28;
  uint8_t image[28];
  if (!x.read_memory(image, wide ? 28 : 14))
    return false;
  load_environment(x, image, wide);
  return true;
}

bool save_state(X87 &x) {
  const bool wide = x.insn().operands[0].size == 108;
  const unsigned header = wide ? 28 : 14;
  uint8_t image[108];
  build_environment(x, image, wide);
  for (unsigned i = 0; i < 8; i++)
    std::memcpy(image + header + 10 * i, x.fpu().st[i], 10);
  if (!x.write_memory(image, header + 80))
    return false;
  initialize(x.fpu());
  return true;
}

bool restore_state(X87 &x) {
  const bool wide = x.insn().operands[0].size == 108;
  const unsigned header = wide ? 28 : 14;
  uint8_t image[108];
  if (!x.read_memory(image, header + 80))
    return false;
  load_environment(x, image, wide);
  for (unsigned i = 0; i < 8; i++) {
    std::memcpy(x.fpu().st[i], image + header + 10 * i, 10);
    std::memset(x.fpu().st[i] + 10, 0, 6);
  }
  return true;
}

// ---- D9 register forms: the unary and constant group

bool examine(X87 &x) {
  const Float80 v = x.get(0);
  uint16_t codes = v.sign() ? FSW_C1 : 0;
  if (x.empty(0)) {
    codes |= FSW_C3 | FSW_C0;
  } else {
    switch (f80_classify(v)) {
    case FpClass::Unsupported:
      break;
    case FpClass::QuietNaN:
    case FpClass::SignalingNaN:
      codes |= FSW_C0;
      break;
    case FpClass::Normal:
      codes |= FSW_C2;
      break;
    case FpClass::Infinity:
      codes |= FSW_C2 | FSW_C0;
      break;
    case FpClass::Zero:
      codes |= FSW_C3;
      break;
    case FpClass::Denormal:
      codes |= FSW_C3 | FSW_C2;
      break;
    }
  }
  x.set_conditions(codes);
  return true;
}

// Unary operations replacing ST(0).
template <typename Operation> bool unary(X87 &x, Operation operation) {
  if (x.empty(0))
    return underflow_result(x, 0, false);
  const Float80 result = operation(x.get(0), x.ctx());
  return finish_result(x, 0, result, false);
}

// FYL2X, FYL2XP1, FPATAN, FSCALE, FPREM*: ST(0) and ST(1) in.
template <typename Operation>
bool binary_into_st1(X87 &x, Operation operation) {
  if (x.any_empty({0, 1}))
    return underflow_result(x, 1, true);
  const Float80 result = operation(x.get(1), x.get(0), x.ctx());
  return finish_result(x, 1, result, true);
}

bool partial_remainder(X87 &x, bool nearest) {
  if (x.any_empty({0, 1})) {
    if (x.stack_fault(false))
      x.set(0, kF80Indefinite);
    return true;
  }
  const FpRemainder r = f80_remainder(x.get(0), x.get(1), nearest, x.ctx());
  x.ctx().rounded_up = false;
  if (!x.report())
    return true;
  uint16_t codes = 0;
  if (!r.complete)
    codes = FSW_C2;
  else
    codes = (r.quotient & 4 ? FSW_C0 : 0) | (r.quotient & 2 ? FSW_C3 : 0) |
            (r.quotient & 1 ? FSW_C1 : 0);
  x.set_conditions(codes);
  x.set(0, r.value);
  return true;
}

bool scale(X87 &x) {
  if (x.any_empty({0, 1}))
    return underflow_result(x, 0, false);
  const Float80 result = f80_scale(x.get(0), x.get(1), x.ctx());
  return finish_result(x, 0, result, false);
}

bool extract(X87 &x) {
  if (x.empty(0))
    return underflow_result(x, 0, false);
  if (!x.empty(7)) {
    if (x.stack_fault(true)) {
      x.set(0, kF80Indefinite);
      x.push(kF80Indefinite);
    }
    return true;
  }
  Float80 exponent, significand;
  f80_extract(x.get(0), exponent, significand, x.ctx());
  if (!x.report())
    return true;
  x.set(0, exponent);
  x.push(significand);
  return true;
}

// FSIN, FCOS: C2 = 1 and ST(0) untouched when out of range.
bool trigonometric(X87 &x, bool cosine) {
  if (x.empty(0))
    return underflow_result(x, 0, false);
  Float80 result;
  if (!f80_sin_cos(x.get(0), cosine ? nullptr : &result,
                   cosine ? &result : nullptr, x.ctx())) {
    x.set_conditions(FSW_C2);
    return true;
  }
  x.set_conditions(0);
  return finish_result(x, 0, result, false);
}

// FSINCOS and FPTAN push a second result.
bool two_results(X87 &x, bool tangent) {
  if (x.empty(0))
    return underflow_result(x, 0, false);
  if (!x.empty(7)) {
    if (x.stack_fault(true)) {
      x.set(0, kF80Indefinite);
      x.push(kF80Indefinite);
    }
    return true;
  }
  Float80 first, second;
  bool in_range;
  if (tangent) {
    in_range = f80_tan(x.get(0), first, x.ctx());
    second = f80_is_nan(first) ? first : kF80One;
  } else {
    in_range = f80_sin_cos(x.get(0), &first, &second, x.ctx());
  }
  if (!in_range) {
    x.set_conditions(FSW_C2);
    return true;
  }
  x.set_conditions(0);
  if (!x.report())
    return true;
  x.set(0, first);
  x.push(second);
  return true;
}

bool d9_register(X87 &x) {
  const uint8_t modrm = x.insn().modrm;
  const unsigned i = rm_field(x.insn());
  FpContext &ctx = x.ctx();
  switch (modrm & 0xf8) {
  case 0xc0: { // FLD ST(i)
    if (x.empty(i)) {
      if (!x.empty(7)) {
        if (x.stack_fault(true))
          x.push(kF80Indefinite);
        return true;
      }
      if (x.stack_fault(false))
        x.push(kF80Indefinite);
      return true;
    }
    return push_result(x, x.get(i));
  }
  case 0xc8: { // FXCH ST(i)
    if (x.any_empty({0, i})) {
      if (!x.stack_fault(false))
        return true;
      if (x.empty(0))
        x.set(0, kF80Indefinite);
      if (x.empty(i))
        x.set(i, kF80Indefinite);
    } else {
      x.set_c1(false);
    }
    const Float80 a = x.get(0);
    x.set(0, x.get(i));
    x.set(i, a);
    return true;
  }
  case 0xd8: // FSTP1 alias
    if (x.empty(0))
      return underflow_result(x, i, true);
    x.set(i, x.get(0));
    x.set_c1(false);
    x.pop();
    return true;
  default:
    break;
  }
  switch (modrm) {
  case 0xd0: // FNOP
    return true;
  case 0xe0:
    return unary(x, [](Float80 v, FpContext &) { return f80_negate(v); });
  case 0xe1:
    return unary(x, [](Float80 v, FpContext &) { return f80_abs(v); });
  case 0xe4: // FTST
    return compare(x, false, kF80Zero, false, 0);
  case 0xe5:
    return examine(x);
  case 0xe8:
    return push_result(x, kF80One);
  case 0xe9:
    return push_result(x, constant_value(kLog2Of10, ctx.rounding));
  case 0xea:
    return push_result(x, constant_value(kLog2OfE, ctx.rounding));
  case 0xeb:
    return push_result(x, constant_value(kPi, ctx.rounding));
  case 0xec:
    return push_result(x, constant_value(kLog10Of2, ctx.rounding));
  case 0xed:
    return push_result(x, constant_value(kLnOf2, ctx.rounding));
  case 0xee:
    return push_result(x, kF80Zero);
  case 0xf0:
    return unary(x, f80_exp2m1);
  case 0xf1:
    return binary_into_st1(x, f80_y_log2_x);
  case 0xf2:
    return two_results(x, true);
  case 0xf3:
    return binary_into_st1(x, f80_atan2);
  case 0xf4:
    return extract(x);
  case 0xf5:
    return partial_remainder(x, true);
  case 0xf6:
    x.decrement_top();
    x.set_c1(false);
    return true;
  case 0xf7:
    x.increment_top();
    x.set_c1(false);
    return true;
  case 0xf8:
    return partial_remainder(x, false);
  case 0xf9:
    return binary_into_st1(x, f80_y_log2_xp1);
  case 0xfa:
    return unary(x, f80_sqrt);
  case 0xfb:
    return two_results(x, false);
  case 0xfc:
    return unary(x, f80_round_to_integer);
  case 0xfd:
    return scale(x);
  case 0xfe:
    return trigonometric(x, false);
  case 0xff:
    return trigonometric(x, true);
  default:
    return x.cpu().fault(EXC_UD);
  }
}

// ---- the other escapes

bool conditional_move(X87 &x, bool negate) {
  static constexpr uint8_t kConditions[4] = {0x2, 0x4, 0x6, 0xa}; // B E BE P
  const unsigned i = rm_field(x.insn());
  const unsigned cond = kConditions[reg_field(x.insn()) & 3] | (negate ? 1 : 0);
  if (x.any_empty({0, i}))
    return underflow_result(x, 0, false);
  x.set_c1(false);
  if (x.cpu().condition(cond))
    x.set(0, x.get(i));
  return true;
}

bool store_register(X87 &x, unsigned i, bool pop) {
  if (x.empty(0))
    return underflow_result(x, i, pop);
  x.set(i, x.get(0));
  x.set_c1(false);
  if (pop)
    x.pop();
  return true;
}

bool load_extended(X87 &x) {
  Float80 v;
  if (!x.read_memory_f80(v))
    return false;
  return push_result(x, v);
}

bool load_bcd(X87 &x) {
  uint8_t bcd[10];
  if (!x.read_memory(bcd, 10))
    return false;
  return push_result(x, f80_from_bcd(bcd));
}

bool store_bcd(X87 &x) {
  uint8_t bcd[10];
  if (x.empty(0)) {
    if (!x.stack_fault(false))
      return true;
    FpContext scratch;
    f80_to_bcd(kF80Indefinite, bcd, scratch);
  } else {
    f80_to_bcd(x.get(0), bcd, x.ctx());
    if (x.ctx().flags & ~x.fpu().fcw & FP_INVALID) {
      x.report();
      return true;
    }
  }
  if (!x.write_memory(bcd, 10))
    return false;
  x.report();
  x.pop();
  return true;
}

bool load_control_word(X87 &x) {
  uint16_t cw;
  if (!x.read_memory(&cw, 2))
    return false;
  x.fpu().fcw = cw;
  x.recompute_error_summary();
  return true;
}

bool execute(X87 &x) {
  const Instruction &insn = x.insn();
  const unsigned escape = insn.opcode & 7;
  const unsigned reg = reg_field(insn);
  const unsigned i = rm_field(insn);
  if (has_memory(insn)) {
    switch (escape) {
    case 0:
    case 2:
    case 4:
    case 6:
      return memory_arithmetic(x, escape);
    case 1:
      switch (reg) {
      case 0:
        return load_float(x, 4);
      case 2:
      case 3:
        return store_float(x, 4, reg == 3);
      case 4:
        return load_environment_from_memory(x);
      case 5:
        return load_control_word(x);
      case 6:
        return store_environment(x);
      default:
        return x.write_memory(&x.fpu().fcw, 2);
      }
    case 3:
      switch (reg) {
      case 0:
        return load_integer(x, 4);
      case 1:
        return store_integer(x, 4, true, true);
      case 2:
      case 3:
        return store_integer(x, 4, false, reg == 3);
      case 5:
        return load_extended(x);
      default:
        return store_extended(x, true);
      }
    case 5:
      switch (reg) {
      case 0:
        return load_float(x, 8);
      case 1:
        return store_integer(x, 8, true, true);
      case 2:
      case 3:
        return store_float(x, 8, reg == 3);
      case 4:
        return restore_state(x);
      case 6:
        return save_state(x);
      default:
        return x.write_memory(&x.fpu().fsw, 2);
      }
    default: // DF
      switch (reg) {
      case 0:
        return load_integer(x, 2);
      case 1:
        return store_integer(x, 2, true, true);
      case 2:
      case 3:
        return store_integer(x, 2, false, reg == 3);
      case 4:
        return load_bcd(x);
      case 5:
        return load_integer(x, 8);
      case 6:
        return store_bcd(x);
      default:
        return store_integer(x, 8, false, true);
      }
    }
  }
  switch (escape) {
  case 0:
  case 4:
    return register_arithmetic(x, escape);
  case 1:
    return d9_register(x);
  case 2:
    if (insn.modrm == 0xe9) // FUCOMPP
      return compare(x, x.empty(1), x.get(1), true, 2);
    return conditional_move(x, false);
  case 3:
    if (reg < 4)
      return conditional_move(x, true);
    if (reg == 5 || reg == 6)
      return compare_to_eflags(x, i, reg == 5, false);
    switch (insn.modrm) {
    case 0xe2: // FNCLEX
      x.fpu().fsw &= ~(kFpAllExceptions | FSW_SF | FSW_ES | FSW_B);
      return true;
    case 0xe3: // FNINIT
      initialize(x.fpu());
      return true;
    default: // FENI, FDISI, FSETPM: no-ops since the 80387
      return true;
    }
  case 5:
    switch (reg) {
    case 0: // FFREE
      x.free(i);
      return true;
    case 1: // FXCH4 alias
      return d9_register(x);
    case 2:
    case 3:
      return store_register(x, i, reg == 3);
    default: // FUCOM, FUCOMP
      return compare(x, x.empty(i), x.get(i), true, reg == 5);
    }
  case 6:
    if (insn.modrm == 0xd9) // FCOMPP
      return compare(x, x.empty(1), x.get(1), false, 2);
    if (reg == 2) // FCOMP5 alias
      return compare(x, x.empty(i), x.get(i), false, 1);
    return register_arithmetic(x, escape);
  default: // DF
    switch (reg) {
    case 0: // FFREEP
      x.free(i);
      x.increment_top();
      return true;
    case 1: // FXCH7 alias
      return d9_register(x);
    case 2:
    case 3: // FSTP8, FSTP9 aliases
      return store_register(x, i, true);
    case 4: // FNSTSW AX
      x.cpu().set_reg(RAX, 2, x.fpu().fsw);
      return true;
    default:
      return compare_to_eflags(x, i, reg == 5, true);
    }
  }
}

// The no-wait forms (FNINIT, FNCLEX, FNSTSW, FNSTCW, FNSTENV, FNSAVE) do
// not check for pending exceptions.
bool waits(const Instruction &insn) {
  const unsigned escape = insn.opcode & 7;
  const unsigned reg = reg_field(insn);
  if (has_memory(insn))
    return !((escape == 1 && (reg == 6 || reg == 7)) ||
             (escape == 5 && (reg == 6 || reg == 7)));
  return !((escape == 3 && (insn.modrm == 0xe2 || insn.modrm == 0xe3)) ||
           (escape == 7 && insn.modrm == 0xe0));
}

// Control instructions leave FIP, FDP and FOP alone.
bool is_control(const Instruction &insn) {
  const unsigned escape = insn.opcode & 7;
  const unsigned reg = reg_field(insn);
  if (has_memory(insn))
    return (escape == 1 && reg >= 4) || (escape == 5 && reg >= 4 && reg != 5);
  return !waits(insn);
}

// #MF for a pending unmasked exception, when CR0.NE selects native
// reporting; true when the instruction may go on.
bool check_pending(Cpu &cpu) {
  if (!(cpu.state.fpu.fsw & FSW_ES))
    return true;
  if (cpu.state.cr0 & CR0_NE)
    return cpu.fault(EXC_MF);
  SABLE_LOG_ONCE(LOG_UNIMP,
                 "x87: unmasked exception with CR0.NE=0 (FERR#/IRQ13 is "
                 "not modelled), continuing\n");
  return true;
}

void record_pointers(Cpu &cpu, const Instruction &insn) {
  CpuState &s = cpu.state;
  FpuState &f = s.fpu;
  const bool long_mode = s.code_size() == CodeSize::Bits64;
  f.fop = static_cast<uint16_t>(((insn.opcode & 7) << 8) | insn.modrm);
  f.fip = long_mode
              ? s.rip
              : (s.rip & 0xffffffff) | (uint64_t{s.seg[CS].selector} << 32);
  if (has_memory(insn)) {
    const uint64_t offset = cpu.effective_address(insn);
    f.fdp = long_mode ? offset
                      : (offset & 0xffffffff) |
                            (uint64_t{s.seg[insn.seg].selector} << 32);
  }
}

bool op_x87(Cpu &cpu, const Instruction &insn) {
  const uint64_t cr0 = cpu.state.cr0;
  const bool escape = insn.opcode >= 0xd8 && insn.opcode <= 0xdf;
  if (!escape && insn.opcode != 0x9b)
    return cpu.fault(EXC_UD);
  if (insn.opcode == 0x9b) { // FWAIT
    if ((cr0 & CR0_TS) && (cr0 & CR0_MP))
      return cpu.fault(EXC_NM);
    return check_pending(cpu);
  }
  if (cr0 & (CR0_EM | CR0_TS))
    return cpu.fault(EXC_NM);
  if (waits(insn) && !check_pending(cpu))
    return false;
  if (!is_control(insn))
    record_pointers(cpu, insn);
  X87 x(cpu, insn);
  return execute(x);
}

} // namespace

void register_x87_ops(HandlerTable &table) {
  table.set(Op::X87, threaded<op_x87>);
}

} // namespace sable::cpu
