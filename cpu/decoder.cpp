// x86 instruction decoder: prefixes, opcode maps, ModRM/SIB and immediates
// (Intel SDM Vol. 2, chapter 2). Which opcode means what lives in the form
// table (decoder_tables.cpp); this file only interprets a form's specs.

#include <algorithm>

#include "cpu/decoder_tables.h"
#include "cpu/instruction.h"

namespace sable::cpu {
namespace {

using decoding::Form;
using decoding::ModReq;
using decoding::Spec;

constexpr unsigned kMaxLength = 15;

constexpr uint8_t kRexW = 8;
constexpr uint8_t kRexR = 4;
constexpr uint8_t kRexX = 2;
constexpr uint8_t kRexB = 1;

struct Prefixes {
  bool operand_size = false;
  bool address_size = false;
  bool lock = false;
  uint8_t repeat = 0; // the last of F2/F3
  uint8_t segment = kNoSeg;
  uint8_t rex = 0;

  uint8_t mandatory() const {
    if (repeat)
      return repeat;
    return operand_size ? 0x66 : 0;
  }
  uint8_t mandatory_mask() const {
    switch (mandatory()) {
    case 0x66:
      return decoding::kPfx66;
    case 0xf3:
      return decoding::kPfxF3;
    case 0xf2:
      return decoding::kPfxF2;
    default:
      return decoding::kPfxNone;
    }
  }
};

struct ModRm {
  uint8_t mod = 0;
  uint8_t reg = 0; // without REX.R
  uint8_t rm = 0;  // without REX.B
};

class InstructionDecoder {
public:
  InstructionDecoder(const uint8_t *bytes, unsigned available, CodeSize mode,
                     Instruction &out)
      : bytes_(bytes), available_(available), mode_(mode), out_(out) {}

  DecodeStatus run() {
    if (!read_prefixes() || !read_opcode())
      return status_;
    const decoding::OpcodeSlot &slot = decoding::kOpcodeSlots[map_][opcode_];
    if (slot.modrm) {
      if (!need(1))
        return status_;
      out_.modrm = take_byte();
      modrm_ = {static_cast<uint8_t>(out_.modrm >> 6),
                static_cast<uint8_t>((out_.modrm >> 3) & 7),
                static_cast<uint8_t>(out_.modrm & 7)};
    }
    const Form *form = find_form(slot);
    if (!form)
      return invalid();
    form_ = form;
    size_operands();
    if (has_memory_operand() && !read_memory_operand())
      return status_;
    for (Spec spec : form->operands)
      if (spec != Spec::None && !add_operand(spec))
        return status_;
    if (!check_lock())
      return invalid();
    finish();
    return DecodeStatus::Ok;
  }

  unsigned length() const { return pos_; }

private:
  bool mode64() const { return mode_ == CodeSize::Bits64; }
  bool rex(uint8_t bit) const { return (prefixes_.rex & bit) != 0; }

  DecodeStatus invalid() {
    status_ = DecodeStatus::Invalid;
    return status_;
  }

  // Makes sure `count` more bytes may be read. Past the 15-byte limit the
  // instruction is invalid, but only once all 15 bytes are there to see:
  // until then the caller must supply more (a fault fetching them wins).
  bool need(unsigned count) {
    unsigned limit = std::min(available_, kMaxLength);
    if (pos_ + count <= limit)
      return true;
    if (available_ < kMaxLength) {
      status_ = DecodeStatus::Truncated;
    } else {
      status_ = DecodeStatus::Invalid;
      pos_ = kMaxLength;
    }
    return false;
  }

  uint8_t take_byte() { return bytes_[pos_++]; }

  uint64_t take(unsigned count) {
    uint64_t value = 0;
    for (unsigned i = 0; i < count; ++i)
      value |= uint64_t{bytes_[pos_ + i]} << (8 * i);
    pos_ += count;
    return value;
  }

  static int64_t sign_extend(uint64_t value, unsigned bytes) {
    unsigned shift = 64 - 8 * bytes;
    return static_cast<int64_t>(value << shift) >> shift;
  }

  bool read_prefixes() {
    for (;;) {
      if (!need(1))
        return false;
      uint8_t byte = bytes_[pos_];
      switch (byte) {
      case 0x66:
        prefixes_.operand_size = true;
        break;
      case 0x67:
        prefixes_.address_size = true;
        break;
      case 0xf0:
        prefixes_.lock = true;
        break;
      case 0xf2:
      case 0xf3:
        prefixes_.repeat = byte;
        break;
      case 0x26:
        prefixes_.segment = ES;
        break;
      case 0x2e:
        prefixes_.segment = CS;
        break;
      case 0x36:
        prefixes_.segment = SS;
        break;
      case 0x3e:
        prefixes_.segment = DS;
        break;
      case 0x64:
        prefixes_.segment = FS;
        break;
      case 0x65:
        prefixes_.segment = GS;
        break;
      default:
        if (mode64() && (byte & 0xf0) == 0x40) {
          prefixes_.rex = byte;
          ++pos_;
          continue;
        }
        return true;
      }
      // A REX prefix counts only directly before the opcode.
      prefixes_.rex = 0;
      ++pos_;
    }
  }

  bool read_opcode() {
    uint8_t byte = take_byte();
    if (byte != 0x0f) {
      map_ = decoding::kMapOneByte;
      opcode_ = byte;
      out_.opcode = byte;
      return true;
    }
    if (!need(1))
      return false;
    byte = take_byte();
    if (byte == 0x38 || byte == 0x3a) {
      map_ = byte == 0x38 ? decoding::kMap0F38 : decoding::kMap0F3A;
      if (!need(1))
        return false;
      opcode_ = take_byte();
      out_.opcode = (0x0f00u | byte) << 8 | opcode_;
      return true;
    }
    map_ = decoding::kMap0F;
    opcode_ = byte;
    out_.opcode = 0x0f00u | byte;
    return true;
  }

  bool form_matches(const Form &f) const {
    if (f.map != map_ || opcode_ < f.first || opcode_ > f.last)
      return false;
    if (f.reg != decoding::kAnyField && f.reg != modrm_.reg)
      return false;
    if (f.rm != decoding::kAnyField && f.rm != modrm_.rm)
      return false;
    if (f.mod == ModReq::Mem && modrm_.mod == 3)
      return false;
    if (f.mod == ModReq::Reg && modrm_.mod != 3)
      return false;
    if (!(f.prefixes & prefixes_.mandatory_mask()))
      return false;
    if ((f.flags & decoding::kNo64) && mode64())
      return false;
    if ((f.flags & decoding::kOnly64) && !mode64())
      return false;
    if ((f.flags & decoding::kNoRexB) && rex(kRexB))
      return false;
    return true;
  }

  const Form *find_form(const decoding::OpcodeSlot &slot) const {
    for (unsigned i = slot.first; i < slot.first + slot.count; ++i)
      if (form_matches(decoding::kForms[i]))
        return &decoding::kForms[i];
    return nullptr;
  }

  void size_operands() {
    uint8_t opsize;
    if (mode64() && (form_->flags & decoding::kForce64))
      opsize = 8;
    else if (mode64() && rex(kRexW))
      opsize = 8;
    else if (mode64() && (form_->flags & decoding::kDefault64))
      opsize = prefixes_.operand_size ? 2 : 8;
    else if (mode_ == CodeSize::Bits16)
      opsize = prefixes_.operand_size ? 4 : 2;
    else
      opsize = prefixes_.operand_size ? 2 : 4;
    if ((form_->flags & decoding::kCap32) && opsize == 8)
      opsize = 4;
    full_opsize_ = opsize;
    out_.opsize = (form_->flags & decoding::kByteOp) ? 1 : opsize;

    switch (mode_) {
    case CodeSize::Bits16:
      out_.addrsize = prefixes_.address_size ? 4 : 2;
      break;
    case CodeSize::Bits32:
      out_.addrsize = prefixes_.address_size ? 2 : 4;
      break;
    case CodeSize::Bits64:
      out_.addrsize = prefixes_.address_size ? 4 : 8;
      break;
    }
  }

  bool has_memory_operand() const {
    return form_->modrm && modrm_.mod != 3 &&
           !(form_->flags & decoding::kModIsReg);
  }

  bool read_memory_operand() {
    return out_.addrsize == 2 ? read_memory_operand16()
                              : read_memory_operand32();
  }

  bool read_displacement(unsigned bytes) {
    if (!need(bytes))
      return false;
    out_.disp = sign_extend(take(bytes), bytes);
    return true;
  }

  bool read_memory_operand16() {
    static constexpr uint8_t kBase[8] = {RBX, RBX, RBP, RBP,
                                         RSI, RDI, RBP, RBX};
    static constexpr uint8_t kIndex[8] = {RSI,    RDI,    RSI,    RDI,
                                          kNoReg, kNoReg, kNoReg, kNoReg};
    if (modrm_.mod == 0 && modrm_.rm == 6) {
      out_.base = kNoReg;
      return read_displacement(2);
    }
    out_.base = kBase[modrm_.rm];
    out_.index = kIndex[modrm_.rm];
    if (modrm_.mod == 1)
      return read_displacement(1);
    if (modrm_.mod == 2)
      return read_displacement(2);
    return true;
  }

  bool read_memory_operand32() {
    uint8_t base = modrm_.rm;
    if (modrm_.rm == 4) {
      if (!need(1))
        return false;
      uint8_t sib = take_byte();
      uint8_t index = ((sib >> 3) & 7) | (rex(kRexX) ? 8 : 0);
      out_.index = index == RSP ? kNoReg : index;
      out_.scale = sib >> 6;
      base = sib & 7;
      if (base == 5 && modrm_.mod == 0) {
        out_.base = kNoReg;
        return read_displacement(4);
      }
    } else if (modrm_.rm == 5 && modrm_.mod == 0) {
      out_.base = mode64() ? kRip : kNoReg;
      return read_displacement(4);
    }
    out_.base = base | (rex(kRexB) ? 8 : 0);
    if (modrm_.mod == 1)
      return read_displacement(1);
    if (modrm_.mod == 2)
      return read_displacement(4);
    return true;
  }

  bool read_immediate(unsigned bytes, bool sign, uint64_t &value) {
    if (!need(bytes))
      return false;
    uint64_t raw = take(bytes);
    value = sign ? static_cast<uint64_t>(sign_extend(raw, bytes)) : raw;
    return true;
  }

  uint8_t reg_field() const { return modrm_.reg | (rex(kRexR) ? 8 : 0); }
  uint8_t rm_register() const { return modrm_.rm | (rex(kRexB) ? 8 : 0); }
  uint8_t opcode_register() const {
    return (opcode_ & 7) | (rex(kRexB) ? 8 : 0);
  }

  // Without REX, byte registers 4..7 are AH, CH, DH, BH.
  Operand byte_register(uint8_t reg) const {
    if (!prefixes_.rex && reg >= 4 && reg < 8)
      return {OperandKind::RegHigh8, 1, static_cast<uint8_t>(reg - 4)};
    return {OperandKind::Reg, 1, reg};
  }

  Operand memory(uint8_t size) const { return {OperandKind::Mem, size, 0}; }

  // r/m as a general register of `reg_size` or memory of `mem_size`.
  Operand rm_operand(uint8_t reg_size, uint8_t mem_size) const {
    if (has_memory_operand())
      return memory(mem_size);
    if (reg_size == 1)
      return byte_register(rm_register());
    return {OperandKind::Reg, reg_size, rm_register()};
  }

  bool uses_mmx() const {
    return (form_->flags & decoding::kMmxUnprefixed) &&
           prefixes_.mandatory() == 0;
  }

  Operand simd_reg(uint8_t reg) const {
    if (uses_mmx())
      return {OperandKind::Mmx, 8, static_cast<uint8_t>(reg & 7)};
    return {OperandKind::Xmm, 16, reg};
  }

  bool valid_control_register(uint8_t cr) const {
    return cr == 0 || cr == 2 || cr == 3 || cr == 4 || (cr == 8 && mode64());
  }

  bool add_operand(Spec spec) {
    const uint8_t v = full_opsize_;
    const uint8_t y = v == 8 ? 8 : 4;
    const uint8_t z = v == 2 ? 2 : 4;
    const uint8_t mode_width = mode64() ? 8 : 4;
    const bool is_memory = has_memory_operand();
    Operand op;
    switch (spec) {
    case Spec::None:
      return true;
    case Spec::Eb:
      op = rm_operand(1, 1);
      break;
    case Spec::Ew:
      op = rm_operand(2, 2);
      break;
    case Spec::Ed:
      op = rm_operand(4, 4);
      break;
    case Spec::Ev:
      op = rm_operand(v, v);
      break;
    case Spec::Ey:
      op = rm_operand(y, y);
      break;
    case Spec::Ez:
      op = rm_operand(z, z);
      break;
    case Spec::EvMw:
      op = rm_operand(v, 2);
      break;
    case Spec::EzMw:
      op = rm_operand(z, 2);
      break;
    case Spec::Gb:
      op = byte_register(reg_field());
      break;
    case Spec::Gw:
      op = {OperandKind::Reg, 2, reg_field()};
      break;
    case Spec::Gd:
      op = {OperandKind::Reg, 4, reg_field()};
      break;
    case Spec::Gv:
      op = {OperandKind::Reg, v, reg_field()};
      break;
    case Spec::Gy:
      op = {OperandKind::Reg, y, reg_field()};
      break;
    case Spec::Gmode:
      op = {OperandKind::Reg, mode_width, reg_field()};
      break;
    case Spec::Zb:
      op = byte_register(opcode_register());
      break;
    case Spec::Zv:
      op = {OperandKind::Reg, v, opcode_register()};
      break;
    case Spec::M:
    case Spec::Mb:
    case Spec::Mw:
    case Spec::Md:
    case Spec::Mq:
    case Spec::Mv:
    case Spec::My:
    case Spec::Mp:
    case Spec::Ma:
    case Spec::Ms:
    case Spec::Mcx:
    case Spec::Mdq:
      if (!is_memory)
        return invalid_operand();
      op = memory(memory_only_size(spec));
      break;
    case Spec::Ry:
    case Spec::Rv:
    case Spec::Rmode:
      if (is_memory)
        return invalid_operand();
      op = {OperandKind::Reg,
            spec == Spec::Ry   ? y
            : spec == Spec::Rv ? v
                               : mode_width,
            rm_register()};
      break;
    case Spec::Ib:
    case Spec::Ibs:
      if (!read_immediate(1, spec == Spec::Ibs, out_.imm))
        return false;
      op = {OperandKind::Imm, 1, 0};
      break;
    case Spec::Iw:
      if (!read_immediate(2, false, out_.imm))
        return false;
      op = {OperandKind::Imm, 2, 0};
      break;
    case Spec::Iz:
      if (!read_immediate(z, true, out_.imm))
        return false;
      op = {OperandKind::Imm, z, 0};
      break;
    case Spec::Iv:
      if (!read_immediate(v, false, out_.imm))
        return false;
      op = {OperandKind::Imm, v, 0};
      break;
    case Spec::Ib2:
      if (!read_immediate(1, false, out_.imm2))
        return false;
      op = {OperandKind::Imm, 1, 0};
      break;
    case Spec::Jb:
      if (!read_immediate(1, true, out_.imm))
        return false;
      op = {OperandKind::Imm, 1, 0};
      break;
    case Spec::Jz:
      if (!read_immediate(z, true, out_.imm))
        return false;
      op = {OperandKind::Imm, z, 0};
      break;
    case Spec::Ap:
      if (!read_immediate(z, false, out_.imm) ||
          !read_immediate(2, false, out_.imm2))
        return false;
      op = {OperandKind::Imm, z, 0};
      break;
    case Spec::Ob:
    case Spec::Ov:
      if (!read_immediate(out_.addrsize, false, moffs_))
        return false;
      out_.disp = static_cast<int64_t>(moffs_);
      op = memory(spec == Spec::Ob ? 1 : v);
      break;
    case Spec::AL:
      op = {OperandKind::Reg, 1, RAX};
      break;
    case Spec::rAX:
      op = {OperandKind::Reg, v, RAX};
      break;
    case Spec::CL:
      op = {OperandKind::Reg, 1, RCX};
      break;
    case Spec::DX:
      op = {OperandKind::Reg, 2, RDX};
      break;
    case Spec::One:
      out_.imm = 1;
      op = {OperandKind::Imm, 1, 0};
      break;
    case Spec::Sw:
      // Segment registers 6 and 7 do not exist; CS cannot be loaded.
      if (modrm_.reg > GS || (out_.operand_count == 0 && modrm_.reg == CS))
        return invalid_operand();
      op = {OperandKind::Seg, 2, modrm_.reg};
      break;
    case Spec::SegES:
    case Spec::SegCS:
    case Spec::SegSS:
    case Spec::SegDS:
    case Spec::SegFS:
    case Spec::SegGS:
      op = {OperandKind::Seg, 2,
            static_cast<uint8_t>(static_cast<int>(spec) -
                                 static_cast<int>(Spec::SegES))};
      break;
    case Spec::Cd:
      if (!valid_control_register(reg_field()))
        return invalid_operand();
      op = {OperandKind::Cr, mode_width, reg_field()};
      break;
    case Spec::Dd:
      if (reg_field() > 7)
        return invalid_operand();
      op = {OperandKind::Dr, mode_width, reg_field()};
      break;
    case Spec::Vx:
      op = simd_reg(reg_field());
      break;
    case Spec::Wx:
      op = is_memory ? memory(uses_mmx() ? 8 : 16) : simd_reg(rm_register());
      break;
    case Spec::Ux:
      if (is_memory)
        return invalid_operand();
      op = simd_reg(rm_register());
      break;
    case Spec::Pq:
      op = {OperandKind::Mmx, 8, modrm_.reg};
      break;
    case Spec::Qq:
      op = is_memory ? memory(8) : Operand{OperandKind::Mmx, 8, modrm_.rm};
      break;
    case Spec::Nq:
      if (is_memory)
        return invalid_operand();
      op = {OperandKind::Mmx, 8, modrm_.rm};
      break;
    case Spec::X87:
      if (!is_memory) {
        if (!decoding::x87_register_form_exists(opcode_, out_.modrm))
          return invalid_operand();
        op = {OperandKind::St, 10, modrm_.rm};
        break;
      }
      op = memory(decoding::x87_memory_size(opcode_, modrm_.reg, full_opsize_));
      if (op.size == 0)
        return invalid_operand();
      break;
    }
    out_.operands[out_.operand_count++] = op;
    return true;
  }

  bool invalid_operand() {
    invalid();
    return false;
  }

  uint8_t memory_only_size(Spec spec) const {
    const uint8_t v = full_opsize_;
    switch (spec) {
    case Spec::Mb:
      return 1;
    case Spec::Mw:
      return 2;
    case Spec::Md:
      return 4;
    case Spec::Mq:
      return 8;
    case Spec::Mv:
      return v;
    case Spec::My:
      return v == 8 ? 8 : 4;
    case Spec::Mp:
      return static_cast<uint8_t>(v + 2);
    case Spec::Ma:
      return static_cast<uint8_t>(2 * v);
    case Spec::Ms:
      return mode64() ? 10 : 6;
    case Spec::Mcx:
      return v == 8 ? 16 : 8;
    case Spec::Mdq:
      return 16;
    default:
      return 0; // the instruction itself defines the extent
    }
  }

  // LOCK applies only to read-modify-write forms with a memory destination.
  bool check_lock() const {
    if (!prefixes_.lock)
      return true;
    return (form_->flags & decoding::kLockable) && out_.operand_count > 0 &&
           out_.operands[0].kind == OperandKind::Mem;
  }

  void finish() {
    out_.op = form_->op;
    out_.aux = form_->aux;
    out_.lock = prefixes_.lock;
    out_.rex = prefixes_.rex;
    if (form_->flags & decoding::kCond)
      out_.cond = opcode_ & 15;

    bool prefix_selects_form =
        form_->op == Op::SIMD || form_->prefixes != decoding::kPfxAny;
    if (prefix_selects_form)
      out_.mandatory_prefix = prefixes_.mandatory();
    if (!(prefix_selects_form && prefixes_.repeat))
      out_.rep = prefixes_.repeat == 0xf3   ? REP_Z
                 : prefixes_.repeat == 0xf2 ? REP_NZ
                                            : REP_NONE;

    // In 64-bit mode only FS and GS overrides have an effect.
    uint8_t segment = prefixes_.segment;
    if (mode64() && segment != FS && segment != GS)
      segment = kNoSeg;
    out_.segment_override = segment;
    bool stack_base = out_.base == RSP || out_.base == RBP;
    if (segment != kNoSeg)
      out_.seg = segment;
    else
      out_.seg = stack_base ? SS : DS;
  }

  const uint8_t *bytes_;
  unsigned available_;
  CodeSize mode_;
  Instruction &out_;
  unsigned pos_ = 0;
  DecodeStatus status_ = DecodeStatus::Ok;
  Prefixes prefixes_;
  uint8_t map_ = decoding::kMapOneByte;
  uint8_t opcode_ = 0;
  ModRm modrm_;
  const Form *form_ = nullptr;
  uint8_t full_opsize_ = 0; // operand size before byte forms narrow it
  uint64_t moffs_ = 0;
};

} // namespace

DecodeStatus decode(const uint8_t *bytes, unsigned available, CodeSize mode,
                    Instruction &out) {
  out = Instruction{};
  InstructionDecoder decoder(bytes, available, mode, out);
  DecodeStatus status = decoder.run();
  out.length = static_cast<uint8_t>(decoder.length());
  if (status != DecodeStatus::Ok)
    out.op = Op::UD;
  else if (out.base == kRip)
    out.disp += out.length;
  return status;
}

} // namespace sable::cpu
