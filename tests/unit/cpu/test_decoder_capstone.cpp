// Cross-checks decoded instruction lengths against Capstone on random
// encodings of every opcode of the one-byte, 0F, 0F 38 and 0F 3A maps.

#include <capstone/capstone.h>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdio>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "cpu/instruction.h"

using namespace sable::cpu;

namespace {

constexpr int kCasesPerOpcode = 340;
constexpr int kFieldCasesPerOpcode = 200;
constexpr size_t kMaxReported = 8;
constexpr unsigned kBufferSize = 24;

enum Map { kOneByte, k0F, k0F38, k0F3A };

struct Encoding {
  uint8_t bytes[kBufferSize];
  unsigned prefix_count; // legacy prefixes and REX before the opcode
  bool lock;
  bool rex;
};

// Random legacy prefixes (sometimes LOCK), a REX prefix in 64-bit mode,
// the opcode and random ModRM/SIB/displacement/immediate bytes.
class EncodingGenerator {
public:
  explicit EncodingGenerator(uint64_t seed) : random_(seed) {}

  Encoding next(CodeSize mode, Map map, uint8_t opcode) {
    static constexpr uint8_t kPrefixes[] = {0x66, 0x67, 0xf2, 0xf3, 0x26,
                                            0x2e, 0x36, 0x3e, 0x64, 0x65};
    Encoding e{};
    unsigned pos = 0;
    unsigned count = random_() % 4;
    for (unsigned i = 0; i < count; ++i)
      e.bytes[pos++] = kPrefixes[random_() % sizeof(kPrefixes)];
    if (random_() % 16 == 0) {
      e.bytes[pos++] = 0xf0;
      e.lock = true;
    }
    if (mode == CodeSize::Bits64 && random_() % 2) {
      e.bytes[pos++] = static_cast<uint8_t>(0x40 | (random_() % 16));
      e.rex = true;
    }
    e.prefix_count = pos;
    if (map != kOneByte)
      e.bytes[pos++] = 0x0f;
    if (map == k0F38)
      e.bytes[pos++] = 0x38;
    if (map == k0F3A)
      e.bytes[pos++] = 0x3a;
    e.bytes[pos++] = opcode;
    while (pos < kBufferSize)
      e.bytes[pos++] = static_cast<uint8_t>(random_());
    return e;
  }

private:
  std::mt19937_64 random_;
};

bool is_prefix_or_escape(CodeSize mode, Map map, uint8_t opcode) {
  if (map == k0F)
    return opcode == 0x38 || opcode == 0x3a;
  if (map != kOneByte)
    return false;
  switch (opcode) {
  case 0x0f:
  case 0x26:
  case 0x2e:
  case 0x36:
  case 0x3e:
  case 0x64:
  case 0x65:
  case 0x66:
  case 0x67:
  case 0xf0:
  case 0xf2:
  case 0xf3:
    return true;
  default:
    return mode == CodeSize::Bits64 && (opcode & 0xf0) == 0x40;
  }
}

// Encodings outside the general-purpose/system set, where sable may leave
// an encoding Invalid that Capstone knows: x87, SIMD/MMX, VEX, EVEX, XOP,
// 3DNow!. (0F 78/79, VMREAD/VMWRITE or SSE4a by prefix, sit in the SIMD
// rows; sable implements neither.)
bool is_general_purpose(CodeSize mode, Map map, uint8_t opcode, uint8_t modrm) {
  switch (map) {
  case kOneByte:
    if (opcode >= 0xd8 && opcode <= 0xdf)
      return false; // x87
    if ((opcode == 0xc4 || opcode == 0xc5) &&
        (mode == CodeSize::Bits64 || modrm >= 0xc0))
      return false; // VEX
    if (opcode == 0x62 && (mode == CodeSize::Bits64 || modrm >= 0xc0))
      return false; // EVEX
    if (opcode == 0x8f && (modrm & 0x38) != 0)
      return false; // XOP
    return true;
  case k0F:
    if (opcode == 0x0e || opcode == 0x0f)
      return false; // 3DNow!
    if ((opcode >= 0x10 && opcode <= 0x17) ||
        (opcode >= 0x28 && opcode <= 0x2f) ||
        (opcode >= 0x50 && opcode <= 0x7f) || opcode == 0xc2 ||
        (opcode >= 0xc4 && opcode <= 0xc6) ||
        (opcode >= 0xd0 && opcode <= 0xfe))
      return false;
    return true;
  case k0F38:
    return (opcode >= 0x80 && opcode <= 0x82) || opcode == 0xf0 ||
           opcode == 0xf1 || opcode == 0xf5 || opcode == 0xf6 ||
           opcode == 0xf8 || opcode == 0xf9;
  case k0F3A:
    return false;
  }
  return false;
}

class Capstone {
public:
  Capstone(CodeSize mode, bool detail) {
    cs_mode cs = mode == CodeSize::Bits16   ? CS_MODE_16
                 : mode == CodeSize::Bits32 ? CS_MODE_32
                                            : CS_MODE_64;
    ok_ = cs_open(CS_ARCH_X86, cs, &handle_) == CS_ERR_OK;
    if (ok_ && detail)
      cs_option(handle_, CS_OPT_DETAIL, CS_OPT_ON);
    if (ok_)
      insn_ = cs_malloc(handle_);
  }
  ~Capstone() {
    if (insn_)
      cs_free(insn_, 1);
    if (ok_)
      cs_close(&handle_);
  }
  bool ok() const { return ok_; }

  // Length of the first instruction, 0 when Capstone rejects it.
  unsigned length(const uint8_t *bytes, size_t size) {
    const uint8_t *code = bytes;
    uint64_t address = 0x1000;
    if (!cs_disasm_iter(handle_, &code, &size, &address, insn_))
      return 0;
    return insn_->size;
  }
  const char *mnemonic() const { return insn_->mnemonic; }
  const cs_x86 &detail() const { return insn_->detail->x86; }
  const char *register_name(unsigned reg) const {
    const char *name = cs_reg_name(handle_, reg);
    return name ? name : "";
  }

private:
  csh handle_ = 0;
  cs_insn *insn_ = nullptr;
  bool ok_ = false;
};

struct Case {
  CodeSize mode;
  Map map;
  uint8_t opcode;
  const Encoding &encoding;
  const Instruction &decoded;
  unsigned capstone_length;
  std::string mnemonic;

  uint8_t modrm_byte() const {
    unsigned pos = encoding.prefix_count + (map == kOneByte ? 1
                                            : map == k0F    ? 2
                                                            : 3);
    return encoding.bytes[pos];
  }
  bool mnemonic_is(const char *name) const { return mnemonic == name; }
};

// The same encoding without the prefix bytes `drop` selects (REX stays
// directly before the opcode, so it keeps its meaning).
std::vector<uint8_t> without_prefixes(const Encoding &e,
                                      bool (*drop)(uint8_t)) {
  std::vector<uint8_t> bytes;
  for (unsigned i = 0; i < kBufferSize; ++i)
    if (i >= e.prefix_count || !drop(e.bytes[i]))
      bytes.push_back(e.bytes[i]);
  return bytes;
}

bool is_lock(uint8_t byte) {
  return byte == 0xf0;
}
bool is_repeat(uint8_t byte) {
  return byte == 0xf2 || byte == 0xf3;
}
bool is_mandatory_prefix(uint8_t byte) {
  return byte == 0x66 || is_repeat(byte);
}

bool has_prefix(const Encoding &e, uint8_t prefix) {
  for (unsigned i = 0; i < e.prefix_count; ++i)
    if (e.bytes[i] == prefix)
      return true;
  return false;
}

bool has_66_before_repeat(const Encoding &e) {
  bool seen_66 = false;
  for (unsigned i = 0; i < e.prefix_count; ++i) {
    seen_66 = seen_66 || e.bytes[i] == 0x66;
    if (seen_66 && is_repeat(e.bytes[i]))
      return true;
  }
  return false;
}

bool sable_accepts(const std::vector<uint8_t> &bytes, CodeSize mode) {
  Instruction insn;
  return decode(bytes.data(), static_cast<unsigned>(bytes.size()), mode,
                insn) == DecodeStatus::Ok;
}

// Length disagreements where Capstone 4 is wrong and sable follows the SDM;
// returns the reason, or nullptr.
const char *known_length_quirk(const Case &c, Capstone &capstone) {
  const Encoding &e = c.encoding;
  // Intel processors ignore 66 on near relative branches in 64-bit mode
  // (SDM Vol. 2, JMP/CALL/Jcc: "operand size is forced to 64 bits"), so
  // the displacement stays 32 bits. Capstone 4 reads rel16 when 66 is
  // present (AMD's behaviour) and also, wrongly, for 67 with REX.W.
  bool near_branch =
      (c.map == kOneByte && (c.opcode == 0xe8 || c.opcode == 0xe9)) ||
      (c.map == k0F && (c.opcode & 0xf0) == 0x80);
  if (c.mode == CodeSize::Bits64 && near_branch &&
      c.decoded.length == c.capstone_length + 2)
    return "rel16 on a near branch in 64-bit mode";
  // Capstone 4 lets an F2/F3 that follows 66 cancel the operand-size
  // override; the SDM keeps 66 in effect for non-SIMD instructions. The
  // same bytes without F2/F3 decode to sable's length in Capstone.
  if (has_66_before_repeat(e)) {
    std::vector<uint8_t> bytes = without_prefixes(e, is_repeat);
    unsigned dropped = kBufferSize - static_cast<unsigned>(bytes.size());
    if (capstone.length(bytes.data(), bytes.size()) + dropped ==
        c.decoded.length)
      return "F2/F3 after 66 drops 66";
  }
  // RET imm16 always has a 16-bit immediate; Capstone 4 reads 32 bits when
  // REX.W comes with 66 or 67.
  bool rex_w = e.rex && (e.bytes[e.prefix_count - 1] & 8);
  if (c.map == kOneByte && c.opcode == 0xc2 && rex_w &&
      c.capstone_length == c.decoded.length + 2u)
    return "RET imm16 with REX.W";
  // UD0 and UD1 take a ModRM byte (SDM Vol. 2, UD); Capstone 4 decodes
  // them as two-byte instructions.
  if (c.map == k0F && (c.opcode == 0xb9 || c.opcode == 0xff) &&
      c.capstone_length == e.prefix_count + 2)
    return "UD0/UD1 without ModRM";
  return nullptr;
}

// Encodings Capstone decodes but the SDM makes #UD for the CPU sable
// models: returns the reason, or nullptr.
const char *allowed_invalid(const Case &c) {
  const Encoding &e = c.encoding;
  // Capstone does not check LOCK; the SDM raises #UD for LOCK on anything
  // but a memory-destination read-modify-write instruction.
  if (e.lock && sable_accepts(without_prefixes(e, is_lock), c.mode))
    return "LOCK on a non-lockable form";
  // 66/F2/F3 on a form the SDM marks NP, or F2/F3 on an instruction whose
  // forms they select, is #UD or reserved (SDM Vol. 2, 2.1.1 and 3.1.1.1:
  // "NP ... will either cause #UD or result in the encoding for a
  // different instruction"). Capstone 4 ignores such prefixes.
  bool prefix_selected =
      (c.map == k0F &&
       (c.opcode == 0x01 || c.opcode == 0xae || c.opcode == 0xb8 ||
        c.opcode == 0xbc || c.opcode == 0xbd || c.opcode == 0xc3 ||
        c.opcode == 0xc7)) ||
      (c.map == k0F38 &&
       (c.opcode == 0x82 || c.opcode == 0xf0 || c.opcode == 0xf1));
  if (prefix_selected &&
      (sable_accepts(without_prefixes(e, is_repeat), c.mode) ||
       sable_accepts(without_prefixes(e, is_mandatory_prefix), c.mode)))
    return "prefix on an NP form";
  uint8_t modrm = c.modrm_byte();
  uint8_t reg = (modrm >> 3) & 7;
  if (c.map == kOneByte && c.opcode == 0x8e && reg == CS)
    return "MOV to CS is #UD";
  bool rex_r = e.rex && (e.bytes[e.prefix_count - 1] & 4);
  unsigned cr_or_dr = reg | (rex_r ? 8 : 0);
  bool cr_exists = cr_or_dr == 0 || (cr_or_dr >= 2 && cr_or_dr <= 4) ||
                   (cr_or_dr == 8 && c.mode == CodeSize::Bits64);
  if (c.map == k0F && (c.opcode == 0x20 || c.opcode == 0x22) && !cr_exists)
    return "reserved control register";
  if (c.map == k0F && (c.opcode == 0x21 || c.opcode == 0x23) && rex_r)
    return "debug registers 8-15 do not exist";
  if (c.map == k0F && (c.opcode == 0x05 || c.opcode == 0x07) &&
      c.mode != CodeSize::Bits64)
    return "SYSCALL/SYSRET outside 64-bit mode (Intel)";
  if (c.mnemonic_is("swapgs") && c.mode != CodeSize::Bits64)
    return "SWAPGS outside 64-bit mode";
  if (c.map == k0F && (c.opcode == 0xa6 || c.opcode == 0xa7))
    return "VIA PadLock, not an Intel/AMD instruction";
  if (c.map == k0F38 && c.opcode == 0x82 && !has_prefix(e, 0x66))
    return "INVPCID without its mandatory 66";
  // Extensions sable's CPUID does not advertise raise #UD.
  static const char *const kUnadvertised[] = {
      // VMX, SMX
      "vmcall", "vmlaunch", "vmresume", "vmxoff", "vmptrld", "vmptrst",
      "vmclear", "vmxon", "vmread", "vmwrite", "invept", "invvpid", "vmfunc",
      "getsec",
      // SVM
      "vmrun", "vmmcall", "vmload", "vmsave", "stgi", "clgi", "skinit",
      "invlpga",
      // TSX, PKU, SGX, ADX, RDPID
      "xbegin", "xabort", "xend", "xtest", "rdpkru", "wrpkru", "encls", "enclu",
      "adcx", "adox", "rdpid"};
  for (const char *name : kUnadvertised)
    if (c.mnemonic_is(name))
      return "extension sable does not advertise";
  return nullptr;
}

std::string describe(const Case &c, const char *problem) {
  static const char *kModeNames[] = {"", "", "16-bit", "",      "32-bit",
                                     "", "", "",       "64-bit"};
  std::string text = std::string(kModeNames[static_cast<int>(c.mode)]) + " ";
  char hex[4];
  for (unsigned i = 0; i < 15; ++i) {
    std::snprintf(hex, sizeof(hex), "%02x ", c.encoding.bytes[i]);
    text += hex;
  }
  text += ": " + std::string(problem) + " sable length " +
          std::to_string(c.decoded.length) + " (" + op_name(c.decoded.op) +
          "), capstone length " + std::to_string(c.capstone_length) + " (" +
          c.mnemonic + ")";
  return text;
}

struct Tally {
  uint64_t cases = 0;
  uint64_t both_decoded = 0;
  uint64_t only_capstone = 0; // x87, SIMD, VEX, ... or allow-listed
  uint64_t only_sable = 0;
  std::map<std::string, uint64_t> skipped; // quirks and allow-list, by reason
  std::vector<std::string> failures;
  uint64_t failure_count = 0;

  // Reports the first failure of each opcode, up to kMaxReported.
  void fail(const Case &c, const char *problem) {
    ++failure_count;
    unsigned key = c.map << 8 | c.opcode;
    if (failures.size() < kMaxReported && key != last_reported) {
      failures.push_back(describe(c, problem));
      last_reported = key;
    }
  }
  unsigned last_reported = ~0u;
};

Tally cross_check(CodeSize mode, uint64_t seed) {
  Tally tally;
  Capstone capstone(mode, false);
  REQUIRE(capstone.ok());
  EncodingGenerator generator(seed);
  for (Map map : {kOneByte, k0F, k0F38, k0F3A}) {
    for (unsigned opcode = 0; opcode < 256; ++opcode) {
      auto op = static_cast<uint8_t>(opcode);
      if (is_prefix_or_escape(mode, map, op))
        continue;
      for (int i = 0; i < kCasesPerOpcode; ++i) {
        Encoding e = generator.next(mode, map, op);
        Instruction insn;
        DecodeStatus status = decode(e.bytes, kBufferSize, mode, insn);
        unsigned cs_length = capstone.length(e.bytes, kBufferSize);
        ++tally.cases;
        Case c{mode,
               map,
               op,
               e,
               insn,
               cs_length,
               cs_length ? capstone.mnemonic() : "-"};
        if (status == DecodeStatus::Ok && cs_length) {
          ++tally.both_decoded;
          if (insn.length == cs_length)
            continue;
          if (const char *quirk = known_length_quirk(c, capstone))
            ++tally.skipped[quirk];
          else
            tally.fail(c, "length mismatch:");
        } else if (cs_length) {
          ++tally.only_capstone;
          if (!is_general_purpose(mode, map, op, c.modrm_byte()))
            continue;
          if (const char *reason = allowed_invalid(c))
            ++tally.skipped[reason];
          else
            tally.fail(c, "sable Invalid, capstone decodes:");
        } else if (status == DecodeStatus::Ok) {
          ++tally.only_sable;
        }
      }
    }
  }
  return tally;
}

// Capstone's name for a sable register operand.
std::string register_name(const Operand &op) {
  static const char *const kGpr[16][4] = {
      {"al", "ax", "eax", "rax"},      {"cl", "cx", "ecx", "rcx"},
      {"dl", "dx", "edx", "rdx"},      {"bl", "bx", "ebx", "rbx"},
      {"spl", "sp", "esp", "rsp"},     {"bpl", "bp", "ebp", "rbp"},
      {"sil", "si", "esi", "rsi"},     {"dil", "di", "edi", "rdi"},
      {"r8b", "r8w", "r8d", "r8"},     {"r9b", "r9w", "r9d", "r9"},
      {"r10b", "r10w", "r10d", "r10"}, {"r11b", "r11w", "r11d", "r11"},
      {"r12b", "r12w", "r12d", "r12"}, {"r13b", "r13w", "r13d", "r13"},
      {"r14b", "r14w", "r14d", "r14"}, {"r15b", "r15w", "r15d", "r15"}};
  static const char *const kHigh8[4] = {"ah", "ch", "dh", "bh"};
  static const char *const kSeg[6] = {"es", "cs", "ss", "ds", "fs", "gs"};
  unsigned n = op.reg;
  switch (op.kind) {
  case OperandKind::Reg: {
    int column = op.size == 1 ? 0 : op.size == 2 ? 1 : op.size == 4 ? 2 : 3;
    return n < 16 ? kGpr[n][column] : "?";
  }
  case OperandKind::RegHigh8:
    return n < 4 ? kHigh8[n] : "?";
  case OperandKind::Seg:
    return n < 6 ? kSeg[n] : "?";
  case OperandKind::Cr:
    return "cr" + std::to_string(n);
  case OperandKind::Dr:
    return "dr" + std::to_string(n);
  case OperandKind::Xmm:
    return "xmm" + std::to_string(n);
  case OperandKind::Mmx:
    return "mm" + std::to_string(n);
  case OperandKind::St:
    return "st(" + std::to_string(n) + ")";
  default:
    return "?";
  }
}

std::string address_register_name(uint8_t reg, uint8_t addrsize) {
  if (reg == kNoReg)
    return "";
  if (reg == kRip)
    return addrsize == 8 ? "rip" : "eip";
  return register_name({OperandKind::Reg, addrsize, reg});
}

uint64_t low_bytes(uint64_t value, unsigned bytes) {
  return bytes >= 8 ? value : value & ((uint64_t{1} << (8 * bytes)) - 1);
}

bool is_relative_branch(Op op) {
  return op == Op::JMP || op == Op::CALL || op == Op::JCC || op == Op::LOOP ||
         op == Op::LOOPE || op == Op::LOOPNE || op == Op::JCXZ;
}

constexpr uint64_t kAddress = 0x1000;

// Compares each explicit operand with Capstone's (same operand count);
// returns what differs, or an empty string.
std::string field_mismatch(const Instruction &insn, const Encoding &e,
                           const Capstone &cs) {
  const cs_x86 &x86 = cs.detail();
  for (unsigned i = 0; i < insn.operand_count; ++i) {
    const Operand &op = insn.operands[i];
    // XCHG's operands commute; Capstone lists 90+r as "xchg rAX, reg".
    unsigned theirs_index =
        insn.op == Op::XCHG && insn.opcode != 0x86 && insn.opcode != 0x87
            ? insn.operand_count - 1 - i
            : i;
    const cs_x86_op &theirs = x86.operands[theirs_index];
    std::string where = "operand " + std::to_string(i) + ": ";
    switch (op.kind) {
    case OperandKind::Mem: {
      if (theirs.type != X86_OP_MEM)
        return where + "kind";
      if (address_register_name(insn.base, insn.addrsize) !=
          cs.register_name(theirs.mem.base))
        return where + "base";
      if (address_register_name(insn.index, insn.addrsize) !=
          cs.register_name(theirs.mem.index))
        return where + "index";
      if (insn.index != kNoReg && (1 << insn.scale) != theirs.mem.scale)
        return where + "scale";
      // Ours counts a RIP-relative displacement from the instruction's
      // start, capstone's from its end.
      const int64_t disp =
          insn.disp - (insn.base == kRip ? int64_t{insn.length} : 0);
      if (disp != theirs.mem.disp)
        return where + "disp " + std::to_string(disp) + " vs " +
               std::to_string(theirs.mem.disp);
      break;
    }
    case OperandKind::Imm: {
      if (theirs.type != X86_OP_IMM)
        return where + "kind";
      uint64_t expected = insn.op == Op::ENTER && i == 1 ? insn.imm2 : insn.imm;
      unsigned bytes = std::max<unsigned>(insn.opsize, op.size);
      // Zero-extended word and byte immediates next to a wider operand
      // size (RET/RETF/ENTER with REX.W, ENTER's level): Capstone 4
      // sign-extends them, so only the encoded bytes are compared.
      if (insn.op == Op::ENTER || insn.op == Op::RET || insn.op == Op::RETF)
        bytes = op.size;
      if (is_relative_branch(insn.op)) {
        expected = kAddress + insn.length + insn.imm;
        // Capstone 4 wraps branch targets to 16 bits when 66 or 67 is
        // present, whatever the operand size.
        if (has_prefix(e, 0x66) || has_prefix(e, 0x67))
          bytes = 2;
      }
      if (low_bytes(expected, bytes) !=
          low_bytes(static_cast<uint64_t>(theirs.imm), bytes))
        return where + "immediate";
      break;
    }
    default:
      if (theirs.type != X86_OP_REG)
        return where + "kind";
      if (register_name(op) != cs.register_name(theirs.reg))
        return where + "register " + register_name(op) + " vs " +
               cs.register_name(theirs.reg);
      break;
    }
  }
  return "";
}

// Instructions whose operand fields Capstone 4 gets wrong, or that sable
// decodes for length and addressing only.
bool fields_comparable(const Instruction &insn, const Encoding &e,
                       CodeSize mode) {
  if (insn.op == Op::X87 || insn.op == Op::SIMD)
    return false;
  // Capstone drops 66 when an F2/F3 follows it, and applies 66 or 67 next
  // to REX.W in some forms (PUSH imm32 zero-extended); REX.W takes
  // precedence over 66 (SDM Vol. 1, 3.6.1) and 67 has no say in operand
  // size.
  bool rex_w = e.rex && (e.bytes[e.prefix_count - 1] & 8);
  if (has_66_before_repeat(e) ||
      (rex_w && (has_prefix(e, 0x66) || has_prefix(e, 0x67))))
    return false;
  // Capstone always gives MOVSXD a 64-bit destination (the SDM also has
  // "MOVSXD r32, r/m32" and "r16, r/m16"), names 90+r XCHG's accumulator
  // eAX under 66 in 64-bit mode, and gives LSL (unlike LAR) a 64-bit
  // source register with REX.W ("LSL r64, r32/m16" in the SDM).
  if (insn.opcode == 0x63 && insn.op == Op::MOVSX && !rex_w)
    return false;
  if (insn.op == Op::XCHG && (insn.opcode & 0xf8) == 0x90 &&
      has_prefix(e, 0x66) && mode == CodeSize::Bits64)
    return false;
  if (insn.op == Op::LSL && rex_w)
    return false;
  // Port I/O is at most 32 bits: REX.W does not make it 64 (or 16) bits,
  // but Capstone applies 66 and 67 to it as well.
  if ((insn.op == Op::IN || insn.op == Op::OUT) && rex_w)
    return false;
  return true;
}

struct FieldTally {
  unsigned last_reported = ~0u;
  uint64_t compared = 0;
  uint64_t different_shape = 0;
  uint64_t failure_count = 0;
  std::vector<std::string> failures;
};

// Compares operand fields with Capstone on random encodings of the
// one-byte and 0F maps that both decode to the same length.
FieldTally cross_check_fields(CodeSize mode, uint64_t seed) {
  FieldTally tally;
  Capstone capstone(mode, true);
  REQUIRE(capstone.ok());
  EncodingGenerator generator(seed);
  for (Map map : {kOneByte, k0F}) {
    for (unsigned opcode = 0; opcode < 256; ++opcode) {
      auto op = static_cast<uint8_t>(opcode);
      if (is_prefix_or_escape(mode, map, op))
        continue;
      for (int i = 0; i < kFieldCasesPerOpcode; ++i) {
        Encoding e = generator.next(mode, map, op);
        Instruction insn;
        if (decode(e.bytes, kBufferSize, mode, insn) != DecodeStatus::Ok ||
            !fields_comparable(insn, e, mode) ||
            capstone.length(e.bytes, kBufferSize) != insn.length)
          continue;
        // Capstone lists some implicit operands and omits others.
        if (capstone.detail().op_count != insn.operand_count) {
          ++tally.different_shape;
          continue;
        }
        ++tally.compared;
        std::string problem = field_mismatch(insn, e, capstone);
        if (problem.empty())
          continue;
        ++tally.failure_count;
        unsigned key = map << 8 | op;
        if (tally.failures.size() < kMaxReported &&
            key != tally.last_reported) {
          Case c{mode, map, op, e, insn, insn.length, capstone.mnemonic()};
          tally.failures.push_back(describe(c, problem.c_str()));
          tally.last_reported = key;
        }
      }
    }
  }
  return tally;
}

void report(const char *name, const Tally &tally) {
  std::printf("%s: %llu cases, %llu decoded by both, %llu only by capstone, "
              "%llu only by sable, %llu failures\n",
              name, static_cast<unsigned long long>(tally.cases),
              static_cast<unsigned long long>(tally.both_decoded),
              static_cast<unsigned long long>(tally.only_capstone),
              static_cast<unsigned long long>(tally.only_sable),
              static_cast<unsigned long long>(tally.failure_count));
  for (const auto &[reason, count] : tally.skipped)
    std::printf("  skipped %llu: %s\n", static_cast<unsigned long long>(count),
                reason.c_str());
  for (const std::string &failure : tally.failures)
    UNSCOPED_INFO(failure);
  CHECK(tally.failure_count == 0);
}

} // namespace

TEST_CASE("decoder lengths match capstone in 16-bit mode",
          "[decoder][capstone]") {
  Tally tally = cross_check(CodeSize::Bits16, 0x5ab1e16);
  report("16-bit", tally);
  CHECK(tally.cases > 330000);
}

TEST_CASE("decoder lengths match capstone in 32-bit mode",
          "[decoder][capstone]") {
  Tally tally = cross_check(CodeSize::Bits32, 0x5ab1e32);
  report("32-bit", tally);
  CHECK(tally.cases > 330000);
}

TEST_CASE("decoder lengths match capstone in 64-bit mode",
          "[decoder][capstone]") {
  Tally tally = cross_check(CodeSize::Bits64, 0x5ab1e64);
  report("64-bit", tally);
  CHECK(tally.cases > 330000);
}

TEST_CASE("decoder operand fields match capstone", "[decoder][capstone]") {
  for (CodeSize mode : {CodeSize::Bits16, CodeSize::Bits32, CodeSize::Bits64}) {
    FieldTally tally = cross_check_fields(mode, 0xf1e1d + int(mode));
    std::printf("fields, %d-bit: %llu instructions compared, %llu with "
                "other operand lists, %llu failures\n",
                8 * int(mode), static_cast<unsigned long long>(tally.compared),
                static_cast<unsigned long long>(tally.different_shape),
                static_cast<unsigned long long>(tally.failure_count));
    for (const std::string &failure : tally.failures)
      UNSCOPED_INFO(failure);
    CHECK(tally.failure_count == 0);
  }
}
