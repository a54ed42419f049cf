#include "debug/gdb_registers.h"

#include <cinttypes>
#include <cstdio>
#include <cstring>

namespace sable::gdb {

namespace {

using cpu::CpuState;

enum class Kind {
  Gpr,
  Rip,
  Eflags,
  Selector,
  SegmentBase,
  KernelGsBase,
  Cr,
  Efer,
  St,
  Fctrl,
  Fstat,
  Ftag,
  Fiseg,
  Fioff,
  Foseg,
  Fooff,
  Fop,
  Xmm,
  Mxcsr,
};

struct Register {
  std::string name;
  unsigned bits;
  std::string type;
  Kind kind;
  unsigned index; // GPR, segment, CR, ST or XMM number
};

struct Feature {
  std::string name;
  std::vector<Register> registers;
};

struct Description {
  std::vector<Feature> features;
  std::vector<Register> registers; // all of them, in regnum order
  std::string xml;
};

// GDB's register order for the general registers, as cpu::CpuState's GPR
// numbers (rax, rcx, rdx, rbx, rsp, rbp, rsi, rdi in encoding order).
constexpr unsigned kAmd64Gprs[16] = {0, 3, 1,  2,  6,  7,  5,  4,
                                     8, 9, 10, 11, 12, 13, 14, 15};
const char *const kAmd64GprNames[16] = {
    "rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp",
    "r8",  "r9",  "r10", "r11", "r12", "r13", "r14", "r15"};
const char *const kI386GprNames[8] = {"eax", "ecx", "edx", "ebx",
                                      "esp", "ebp", "esi", "edi"};

const char *const kTypes = R"(  <flags id="i386_eflags" size="4">
    <field name="" start="22" end="31"/>
    <field name="CF" start="0" end="0"/>
    <field name="" start="1" end="1"/>
    <field name="PF" start="2" end="2"/>
    <field name="AF" start="4" end="4"/>
    <field name="ZF" start="6" end="6"/>
    <field name="SF" start="7" end="7"/>
    <field name="TF" start="8" end="8"/>
    <field name="IF" start="9" end="9"/>
    <field name="DF" start="10" end="10"/>
    <field name="OF" start="11" end="11"/>
    <field name="NT" start="14" end="14"/>
    <field name="RF" start="16" end="16"/>
    <field name="VM" start="17" end="17"/>
    <field name="AC" start="18" end="18"/>
    <field name="VIF" start="19" end="19"/>
    <field name="VIP" start="20" end="20"/>
    <field name="ID" start="21" end="21"/>
  </flags>
)";

const char *const kSseTypes =
    R"(  <vector id="v4f" type="ieee_single" count="4"/>
  <vector id="v2d" type="ieee_double" count="2"/>
  <vector id="v16i8" type="int8" count="16"/>
  <vector id="v8i16" type="int16" count="8"/>
  <vector id="v4i32" type="int32" count="4"/>
  <vector id="v2i64" type="int64" count="2"/>
  <union id="vec128">
    <field name="v4_float" type="v4f"/>
    <field name="v2_double" type="v2d"/>
    <field name="v16_int8" type="v16i8"/>
    <field name="v8_int16" type="v8i16"/>
    <field name="v4_int32" type="v4i32"/>
    <field name="v2_int64" type="v2i64"/>
    <field name="uint128" type="uint128"/>
  </union>
  <flags id="i386_mxcsr" size="4">
    <field name="IE" start="0" end="0"/>
    <field name="DE" start="1" end="1"/>
    <field name="ZE" start="2" end="2"/>
    <field name="OE" start="3" end="3"/>
    <field name="UE" start="4" end="4"/>
    <field name="PE" start="5" end="5"/>
    <field name="DAZ" start="6" end="6"/>
    <field name="IM" start="7" end="7"/>
    <field name="DM" start="8" end="8"/>
    <field name="ZM" start="9" end="9"/>
    <field name="OM" start="10" end="10"/>
    <field name="UM" start="11" end="11"/>
    <field name="PM" start="12" end="12"/>
    <field name="FZ" start="15" end="15"/>
  </flags>
)";

Description build(Arch arch) {
  const bool wide = arch == Arch::X86_64;
  const unsigned word = wide ? 64 : 32;
  Description d;
  Feature core{"org.gnu.gdb.i386.core", {}};
  auto add = [](Feature &f, std::string name, unsigned bits, std::string type,
                Kind kind, unsigned index = 0) {
    f.registers.push_back(
        {std::move(name), bits, std::move(type), kind, index});
  };
  if (wide) {
    for (unsigned i = 0; i < 16; ++i)
      add(core, kAmd64GprNames[i], 64, i == 6 || i == 7 ? "data_ptr" : "int64",
          Kind::Gpr, kAmd64Gprs[i]);
    add(core, "rip", 64, "code_ptr", Kind::Rip);
  } else {
    for (unsigned i = 0; i < 8; ++i)
      add(core, kI386GprNames[i], 32, i == 4 || i == 5 ? "data_ptr" : "int32",
          Kind::Gpr, i);
    add(core, "eip", 32, "code_ptr", Kind::Rip);
  }
  add(core, "eflags", 32, "i386_eflags", Kind::Eflags);
  const char *const selectors[6] = {"cs", "ss", "ds", "es", "fs", "gs"};
  const unsigned selector_index[6] = {cpu::CS, cpu::SS, cpu::DS,
                                      cpu::ES, cpu::FS, cpu::GS};
  for (unsigned i = 0; i < 6; ++i)
    add(core, selectors[i], 32, "int32", Kind::Selector, selector_index[i]);
  // The system registers, where QEMU's description has them: GDB takes
  // them by name, as registers of their own.
  add(core, "fs_base", word, "int", Kind::SegmentBase, cpu::FS);
  add(core, "gs_base", word, "int", Kind::SegmentBase, cpu::GS);
  add(core, "k_gs_base", word, "int", Kind::KernelGsBase);
  for (unsigned cr : {0u, 2u, 3u, 4u, 8u})
    add(core, "cr" + std::to_string(cr), word, "int", Kind::Cr, cr);
  add(core, "efer", word, "int", Kind::Efer);
  for (unsigned i = 0; i < 8; ++i)
    add(core, "st" + std::to_string(i), 80, "i387_ext", Kind::St, i);
  add(core, "fctrl", 32, "int", Kind::Fctrl);
  add(core, "fstat", 32, "int", Kind::Fstat);
  add(core, "ftag", 32, "int", Kind::Ftag);
  add(core, "fiseg", 32, "int", Kind::Fiseg);
  add(core, "fioff", 32, "int", Kind::Fioff);
  add(core, "foseg", 32, "int", Kind::Foseg);
  add(core, "fooff", 32, "int", Kind::Fooff);
  add(core, "fop", 32, "int", Kind::Fop);
  for (unsigned i = 0; i < (wide ? 16u : 8u); ++i)
    add(core, "xmm" + std::to_string(i), 128, "vec128", Kind::Xmm, i);
  add(core, "mxcsr", 32, "i386_mxcsr", Kind::Mxcsr);

  // One feature, as QEMU sends it (GDB's stock i386 split into core, sse
  // and segments features trips an assertion in GDB 13 for i386).
  d.features = {core};
  std::string xml = "<?xml version=\"1.0\"?>\n"
                    "<!DOCTYPE target SYSTEM \"gdb-target.dtd\">\n"
                    "<target version=\"1.0\">\n";
  xml += wide ? "  <architecture>i386:x86-64</architecture>\n"
              : "  <architecture>i386</architecture>\n";
  unsigned regnum = 0;
  for (const Feature &feature : d.features) {
    xml += "  <feature name=\"" + feature.name + "\">\n";
    xml += kTypes;
    xml += kSseTypes;
    for (const Register &r : feature.registers) {
      xml += "    <reg name=\"" + r.name + "\" bitsize=\"" +
             std::to_string(r.bits) + "\" type=\"" + r.type + "\" regnum=\"" +
             std::to_string(regnum++) + "\"";
      if (r.kind == Kind::Xmm || r.kind == Kind::Mxcsr)
        xml += " group=\"vector\"";
      else if (r.kind == Kind::St || r.kind >= Kind::Fctrl)
        xml += " group=\"float\"";
      xml += "/>\n";
      d.registers.push_back(r);
    }
    xml += "  </feature>\n";
  }
  xml += "</target>\n";
  d.xml = std::move(xml);
  return d;
}

const Description &description(Arch arch) {
  static const Description wide = build(Arch::X86_64);
  static const Description narrow = build(Arch::I386);
  return arch == Arch::X86_64 ? wide : narrow;
}

// The full x87 tag word from FXSAVE's abridged one, as FSTENV would store
// it: 0 valid, 1 zero, 2 special, 3 empty (per physical register).
uint16_t full_tag_word(const cpu::FpuState &fpu) {
  unsigned top = (fpu.fsw >> 11) & 7;
  uint16_t tags = 0;
  for (unsigned physical = 0; physical < 8; ++physical) {
    unsigned tag = 3;
    if (fpu.ftw & (1u << physical)) {
      const uint8_t *st = fpu.st[(physical - top) & 7];
      uint64_t mantissa;
      std::memcpy(&mantissa, st, 8);
      unsigned exponent = (st[8] | st[9] << 8) & 0x7fff;
      if (exponent == 0x7fff)
        tag = 2;
      else if (exponent == 0)
        tag = mantissa == 0 ? 1 : 2;
      else
        tag = (mantissa >> 63) ? 0 : 2;
    }
    tags |= static_cast<uint16_t>(tag << (physical * 2));
  }
  return tags;
}

uint8_t abridged_tag_word(uint16_t full) {
  uint8_t abridged = 0;
  for (unsigned physical = 0; physical < 8; ++physical)
    if (((full >> (physical * 2)) & 3) != 3)
      abridged |= static_cast<uint8_t>(1u << physical);
  return abridged;
}

uint64_t *cr_field(CpuState &s, unsigned cr) {
  switch (cr) {
  case 0:
    return &s.cr0;
  case 2:
    return &s.cr2;
  case 3:
    return &s.cr3;
  case 4:
    return &s.cr4;
  default:
    return &s.cr8;
  }
}

} // namespace

Arch arch_for(const cpu::CpuState &state) {
  if (state.protected_mode() && !state.long_mode_active())
    return Arch::I386;
  return Arch::X86_64;
}

const std::string &target_xml(Arch arch) {
  return description(arch).xml;
}

unsigned register_count(Arch arch) {
  return static_cast<unsigned>(description(arch).registers.size());
}

unsigned register_size(Arch arch, unsigned index) {
  const auto &registers = description(arch).registers;
  return index < registers.size() ? registers[index].bits / 8 : 0;
}

std::vector<uint8_t> read_register(Arch arch, const CpuState &state,
                                   unsigned index) {
  const auto &registers = description(arch).registers;
  if (index >= registers.size())
    return {};
  const Register &r = registers[index];
  std::vector<uint8_t> bytes(r.bits / 8);
  auto put = [&](uint64_t value) {
    std::memcpy(bytes.data(), &value, std::min<size_t>(8, bytes.size()));
  };
  const cpu::FpuState &fpu = state.fpu;
  switch (r.kind) {
  case Kind::Gpr:
    put(state.gpr[r.index]);
    break;
  case Kind::Rip:
    put(state.rip);
    break;
  case Kind::Eflags:
    put(state.rflags);
    break;
  case Kind::Selector:
    put(state.seg[r.index].selector);
    break;
  case Kind::SegmentBase:
    put(state.seg[r.index].base);
    break;
  case Kind::KernelGsBase:
    put(state.msr.kernel_gs_base);
    break;
  case Kind::Cr:
    put(*cr_field(const_cast<CpuState &>(state), r.index));
    break;
  case Kind::Efer:
    put(state.efer);
    break;
  case Kind::St:
    std::memcpy(bytes.data(), fpu.st[r.index], 10);
    break;
  case Kind::Fctrl:
    put(fpu.fcw);
    break;
  case Kind::Fstat:
    put(fpu.fsw);
    break;
  case Kind::Ftag:
    put(full_tag_word(fpu));
    break;
  case Kind::Fiseg:
    put((fpu.fip >> 32) & 0xffff);
    break;
  case Kind::Fioff:
    put(fpu.fip & 0xffffffff);
    break;
  case Kind::Foseg:
    put((fpu.fdp >> 32) & 0xffff);
    break;
  case Kind::Fooff:
    put(fpu.fdp & 0xffffffff);
    break;
  case Kind::Fop:
    put(fpu.fop & 0x7ff);
    break;
  case Kind::Xmm:
    std::memcpy(bytes.data(), fpu.xmm[r.index], 16);
    break;
  case Kind::Mxcsr:
    put(fpu.mxcsr);
    break;
  }
  return bytes;
}

bool write_register(Arch arch, CpuState &state, unsigned index,
                    const uint8_t *bytes) {
  const auto &registers = description(arch).registers;
  if (index >= registers.size())
    return false;
  const Register &r = registers[index];
  const unsigned size = r.bits / 8;
  uint64_t value = 0;
  std::memcpy(&value, bytes, std::min(8u, size));
  // A 32-bit register of the i386 view replaces the low half.
  auto merge = [&](uint64_t old) {
    return size >= 8 ? value : (old & ~0xffffffffull) | (value & 0xffffffff);
  };
  cpu::FpuState &fpu = state.fpu;
  switch (r.kind) {
  case Kind::Gpr:
    state.gpr[r.index] = size >= 8 ? value : value & 0xffffffff;
    break;
  case Kind::Rip:
    state.rip = size >= 8 ? value : value & 0xffffffff;
    break;
  case Kind::Eflags:
    state.rflags = (value & 0x3f7fd7) | 2;
    state.lazy = {};
    break;
  case Kind::Selector:
    state.seg[r.index].selector = static_cast<uint16_t>(value);
    if (!state.protected_mode() || state.v86())
      state.seg[r.index].base = (value & 0xffff) << 4;
    break;
  case Kind::SegmentBase:
    state.seg[r.index].base = merge(state.seg[r.index].base);
    break;
  case Kind::KernelGsBase:
    state.msr.kernel_gs_base = value;
    break;
  case Kind::Cr: {
    uint64_t *field = cr_field(state, r.index);
    *field = merge(*field);
    break;
  }
  case Kind::Efer:
    state.efer = value;
    break;
  case Kind::St:
    std::memcpy(fpu.st[r.index], bytes, 10);
    break;
  case Kind::Fctrl:
    fpu.fcw = static_cast<uint16_t>(value);
    break;
  case Kind::Fstat:
    fpu.fsw = static_cast<uint16_t>(value);
    break;
  case Kind::Ftag:
    fpu.ftw = abridged_tag_word(static_cast<uint16_t>(value));
    break;
  case Kind::Fiseg:
    fpu.fip = (fpu.fip & 0xffffffff) | ((value & 0xffff) << 32);
    break;
  case Kind::Fioff:
    fpu.fip = (fpu.fip & ~0xffffffffull) | (value & 0xffffffff);
    break;
  case Kind::Foseg:
    fpu.fdp = (fpu.fdp & 0xffffffff) | ((value & 0xffff) << 32);
    break;
  case Kind::Fooff:
    fpu.fdp = (fpu.fdp & ~0xffffffffull) | (value & 0xffffffff);
    break;
  case Kind::Fop:
    fpu.fop = static_cast<uint16_t>(value & 0x7ff);
    break;
  case Kind::Xmm:
    std::memcpy(fpu.xmm[r.index], bytes, 16);
    break;
  case Kind::Mxcsr:
    fpu.mxcsr = static_cast<uint32_t>(value);
    break;
  }
  return true;
}

} // namespace sable::gdb
