// Every register form of the SIMD instructions against the host processor
// (simd_oracle.h): random and edge inputs, each rounding mode with and
// without DAZ/FTZ, compared bit for bit including MXCSR and EFLAGS.

#include <catch2/catch.hpp>

#include "simd_oracle.h"

using namespace sable::cpu;
using namespace sable::cpu::test;

namespace {

// ModRM 0xCA: reg = 1 (XMM1/MM1/ECX), r/m = 2 (XMM2/MM2/EDX).
constexpr uint8_t kModRm = 0xca;

std::vector<uint8_t> encode(uint8_t prefix, std::vector<uint8_t> opcode,
                            uint8_t modrm, int imm = -1, uint8_t rex = 0) {
  std::vector<uint8_t> bytes;
  if (prefix == 0x66 && rex == 0xf2) { // 66 F2 forms (CRC32 r, r/m16)
    bytes = {0x66, 0xf2};
    rex = 0;
  } else if (prefix) {
    bytes.push_back(prefix);
  }
  if (rex)
    bytes.push_back(rex);
  bytes.push_back(0x0f);
  bytes.insert(bytes.end(), opcode.begin(), opcode.end());
  bytes.push_back(modrm);
  if (imm >= 0)
    bytes.push_back(static_cast<uint8_t>(imm));
  return bytes;
}

void add(std::vector<OracleCase> &cases,
         std::initializer_list<uint8_t> prefixes, std::vector<uint8_t> opcode,
         Inputs inputs, bool flags = false, int imm = -1,
         uint8_t modrm = kModRm, uint8_t rex = 0) {
  for (uint8_t p : prefixes) {
    OracleCase c;
    c.bytes = encode(p, opcode, modrm, imm, rex);
    c.inputs = inputs;
    c.flags = flags;
    c.modrm_at = c.bytes.size() - (imm >= 0 ? 2 : 1);
    cases.push_back(c);
  }
}

// Adds the [disp32] memory form (ModRM 0x0C, SIB 0x25) of every case whose
// register form takes XMM2/MM2 as its r/m source.
void add_memory_forms(std::vector<OracleCase> &cases) {
  for (OracleCase &c : cases) {
    Instruction decoded;
    if (decode(c.bytes.data(), static_cast<unsigned>(c.bytes.size()),
               CodeSize::Bits64, decoded) != DecodeStatus::Ok)
      continue;
    const OperandKind rm = decoded.operands[1].kind;
    if (rm != OperandKind::Xmm && rm != OperandKind::Mmx)
      continue;
    const size_t modrm_at = c.modrm_at;
    if (c.bytes[modrm_at] != kModRm)
      continue;
    std::vector<uint8_t> form(c.bytes.begin(), c.bytes.begin() + modrm_at);
    const uint32_t address = SimdOracle::kOperandAddress;
    form.insert(form.end(), {0x0c, 0x25, static_cast<uint8_t>(address),
                             static_cast<uint8_t>(address >> 8),
                             static_cast<uint8_t>(address >> 16),
                             static_cast<uint8_t>(address >> 24)});
    form.insert(form.end(), c.bytes.begin() + modrm_at + 1, c.bytes.end());
    Instruction check;
    if (decode(form.data(), static_cast<unsigned>(form.size()),
               CodeSize::Bits64, check) == DecodeStatus::Ok)
      c.memory_form = form;
  }
}

void require_match(const std::vector<OracleCase> &cases, unsigned iterations,
                   unsigned variants, bool unmask = false) {
  std::string first;
  const unsigned failures =
      run_oracle(cases, iterations, first, variants, unmask);
  INFO(first);
  CHECK(failures == 0);
}

constexpr uint8_t NP = 0;

} // namespace

TEST_CASE("SSE/SSE2 arithmetic matches the host under every MXCSR mode",
          "[simd][oracle]") {
  std::vector<OracleCase> cases;
  for (uint8_t op : {0x51, 0x58, 0x59, 0x5c, 0x5d, 0x5e, 0x5f})
    add(cases, {NP, 0x66, 0xf3, 0xf2}, {op}, Inputs::Float);
  add(cases, {NP, 0xf3}, {0x52}, Inputs::Float);
  add(cases, {NP, 0xf3}, {0x53}, Inputs::Float);
  for (uint8_t op : {0x7c, 0x7d, 0xd0})
    add(cases, {0x66, 0xf2}, {op}, Inputs::Float);
  add_memory_forms(cases);
  require_match(cases, 100, 32);
}

TEST_CASE("SSE compares and COMIS/UCOMIS match the host", "[simd][oracle]") {
  std::vector<OracleCase> cases;
  for (int imm = 0; imm < 8; imm++)
    add(cases, {NP, 0x66, 0xf3, 0xf2}, {0xc2}, Inputs::Float, false, imm);
  add(cases, {NP, 0x66}, {0x2e}, Inputs::Float, true);
  add(cases, {NP, 0x66}, {0x2f}, Inputs::Float, true);
  add_memory_forms(cases);
  require_match(cases, 200, 8);
}

TEST_CASE("SSE conversions match the host under every MXCSR mode",
          "[simd][oracle]") {
  std::vector<OracleCase> cases;
  add(cases, {NP, 0x66, 0xf3, 0xf2}, {0x5a}, Inputs::Float);
  add(cases, {NP, 0x66, 0xf3}, {0x5b}, Inputs::Float);
  add(cases, {0x66, 0xf3, 0xf2}, {0xe6}, Inputs::Float);
  add(cases, {NP, 0x66}, {0x2a}, Inputs::Integer); // CVTPI2PS/PD
  add(cases, {NP, 0x66}, {0x2c}, Inputs::Float);   // CVTTPS2PI/CVTTPD2PI
  add(cases, {NP, 0x66}, {0x2d}, Inputs::Float);
  for (uint8_t rex : {0, 0x48}) {
    add(cases, {0xf3, 0xf2}, {0x2a}, Inputs::Integer, false, -1, kModRm, rex);
    add(cases, {0xf3, 0xf2}, {0x2a}, Inputs::Float, false, -1, kModRm, rex);
    add(cases, {0xf3, 0xf2}, {0x2c}, Inputs::Float, false, -1, kModRm, rex);
    add(cases, {0xf3, 0xf2}, {0x2d}, Inputs::Float, false, -1, kModRm, rex);
  }
  add_memory_forms(cases);
  require_match(cases, 100, 32);
}

TEST_CASE("SSE4.1 ROUND, DPPS/DPPD, blends and INSERTPS/EXTRACTPS match "
          "the host",
          "[simd][oracle]") {
  std::vector<OracleCase> cases;
  for (int imm = 0; imm < 16; imm++)
    for (uint8_t op : {0x08, 0x09, 0x0a, 0x0b})
      add(cases, {0x66}, {0x3a, op}, Inputs::Float, false, imm);
  for (int imm : {0xff, 0x31, 0xf1, 0x7c, 0x13, 0x22})
    for (uint8_t op : {0x40, 0x41, 0x0c, 0x0d})
      add(cases, {0x66}, {0x3a, op}, Inputs::Float, false, imm);
  add(cases, {0x66}, {0x38, 0x14}, Inputs::Float);
  add(cases, {0x66}, {0x38, 0x15}, Inputs::Float);
  add_memory_forms(cases);
  // INSERTPS from memory ignores imm[7:6] and EXTRACTPS's r/m is its
  // destination: register forms only.
  for (int imm : {0xff, 0x31, 0xf1, 0x7c, 0x13, 0x22})
    add(cases, {0x66}, {0x3a, 0x21}, Inputs::Float, false, imm);
  for (int imm : {0, 1, 2, 3, 0x45})
    add(cases, {0x66}, {0x3a, 0x17}, Inputs::Float, false, imm);
  require_match(cases, 50, 16);
}

TEST_CASE("Float moves, logic, shuffles and mask extraction match the host",
          "[simd][oracle]") {
  std::vector<OracleCase> cases;
  add(cases, {NP, 0x66, 0xf3, 0xf2}, {0x10}, Inputs::Float);
  add(cases, {NP, 0x66, 0xf3, 0xf2}, {0x11}, Inputs::Float);
  add(cases, {NP, 0xf3, 0xf2}, {0x12}, Inputs::Float);
  add(cases, {NP, 0xf3}, {0x16}, Inputs::Float);
  for (uint8_t op : {0x14, 0x15, 0x28, 0x29, 0x50, 0x54, 0x55, 0x56, 0x57})
    add(cases, {NP, 0x66}, {op}, Inputs::Float);
  for (int imm : {0x00, 0x1b, 0xe4, 0x4e, 0xff, 0x01, 0x02, 0x03})
    add(cases, {NP, 0x66}, {0xc6}, Inputs::Float, false, imm);
  require_match(cases, 400, 1);
}

TEST_CASE("MMX and SSE2 packed integer ops match the host", "[simd][oracle]") {
  std::vector<OracleCase> cases;
  for (unsigned op = 0x60; op <= 0x6b; op++)
    add(cases, {NP, 0x66}, {static_cast<uint8_t>(op)}, Inputs::Integer);
  add(cases, {0x66}, {0x6c}, Inputs::Integer);
  add(cases, {0x66}, {0x6d}, Inputs::Integer);
  for (uint8_t op : {0x74, 0x75, 0x76, 0xd7})
    add(cases, {NP, 0x66}, {op}, Inputs::Integer);
  for (unsigned op = 0xd1; op <= 0xfe; op++) {
    if (op == 0xd6 || op == 0xd7 || op == 0xe6 || op == 0xe7 || op == 0xf0 ||
        op == 0xf7)
      continue;
    add(cases, {NP, 0x66}, {static_cast<uint8_t>(op)}, Inputs::Integer);
  }
  for (int imm : {0x00, 0x1b, 0xe4, 0x4e, 0xff, 0x93})
    add(cases, {NP, 0x66, 0xf3, 0xf2}, {0x70}, Inputs::Integer, false, imm);
  // Shift groups 12..14 on MM2/XMM2 by immediates.
  for (int imm : {0, 1, 7, 8, 15, 16, 17, 31, 32, 63, 64, 200}) {
    for (uint8_t group : {2, 4, 6}) {
      const uint8_t modrm = static_cast<uint8_t>(0xc2 | group << 3);
      add(cases, {NP, 0x66}, {0x71}, Inputs::Integer, false, imm, modrm);
      add(cases, {NP, 0x66}, {0x72}, Inputs::Integer, false, imm, modrm);
    }
    for (uint8_t group : {2, 6})
      add(cases, {NP, 0x66}, {0x73}, Inputs::Integer, false, imm,
          static_cast<uint8_t>(0xc2 | group << 3));
    for (uint8_t group : {3, 7})
      add(cases, {0x66}, {0x73}, Inputs::Integer, false, imm,
          static_cast<uint8_t>(0xc2 | group << 3));
  }
  add_memory_forms(cases);
  require_match(cases, 400, 1);
}

TEST_CASE("SSSE3 and SSE4.1 integer ops match the host", "[simd][oracle]") {
  std::vector<OracleCase> cases;
  for (unsigned op = 0x00; op <= 0x0b; op++)
    add(cases, {NP, 0x66}, {0x38, static_cast<uint8_t>(op)}, Inputs::Integer);
  for (uint8_t op : {0x1c, 0x1d, 0x1e})
    add(cases, {NP, 0x66}, {0x38, op}, Inputs::Integer);
  for (uint8_t op : {0x10, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x28, 0x29,
                     0x2b, 0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x37, 0x38,
                     0x39, 0x3a, 0x3b, 0x3c, 0x3d, 0x3e, 0x3f, 0x40, 0x41})
    add(cases, {0x66}, {0x38, op}, Inputs::Integer);
  add(cases, {0x66}, {0x38, 0x17}, Inputs::Integer, true); // PTEST
  for (int imm : {0, 1, 3, 7, 8, 9, 15, 16, 17, 31, 32, 255})
    add(cases, {NP, 0x66}, {0x3a, 0x0f}, Inputs::Integer, false, imm);
  for (int imm : {0x00, 0x5a, 0xff, 0x81, 0x01, 0x05, 0x07, 0x13})
    for (uint8_t op : {0x0e, 0x42, 0x44})
      add(cases, {0x66}, {0x3a, op}, Inputs::Integer, false, imm);
  add_memory_forms(cases);
  require_match(cases, 400, 1);
}

TEST_CASE("Moves between general, MMX and XMM registers match the host",
          "[simd][oracle]") {
  std::vector<OracleCase> cases;
  for (uint8_t rex : {0, 0x48}) {
    add(cases, {NP, 0x66}, {0x6e}, Inputs::Integer, false, -1, kModRm, rex);
    add(cases, {NP, 0x66}, {0x7e}, Inputs::Integer, false, -1, kModRm, rex);
    for (int imm : {0, 1, 5, 15, 0xf3})
      add(cases, {0x66}, {0x3a, 0x22}, Inputs::Integer, false, imm, kModRm,
          rex);
    for (int imm : {0, 1, 5, 0xf3})
      add(cases, {0x66}, {0x3a, 0x16}, Inputs::Integer, false, imm, kModRm,
          rex);
  }
  for (int imm : {0, 1, 5, 7, 12, 15, 0xf3}) {
    add(cases, {0x66}, {0x3a, 0x14}, Inputs::Integer, false, imm);
    add(cases, {0x66}, {0x3a, 0x15}, Inputs::Integer, false, imm);
    add(cases, {0x66}, {0x3a, 0x20}, Inputs::Integer, false, imm);
    add(cases, {NP, 0x66}, {0xc4}, Inputs::Integer, false, imm);
    add(cases, {NP, 0x66}, {0xc5}, Inputs::Integer, false, imm);
  }
  for (uint8_t op : {0x6f, 0x7f})
    add(cases, {NP, 0x66, 0xf3}, {op}, Inputs::Integer);
  add(cases, {0xf3}, {0x7e}, Inputs::Integer);
  add(cases, {0x66, 0xf3, 0xf2}, {0xd6}, Inputs::Integer);
  require_match(cases, 400, 1);
}

TEST_CASE("PCMPESTRI/PCMPESTRM/PCMPISTRI/PCMPISTRM match the host for every "
          "control byte",
          "[simd][oracle]") {
  std::vector<OracleCase> cases;
  for (int imm = 0; imm < 128; imm++)
    for (uint8_t op : {0x60, 0x61, 0x62, 0x63})
      add(cases, {0x66}, {0x3a, op}, Inputs::Text, true, imm);
  std::vector<OracleCase> wide;
  for (int imm = 0; imm < 128; imm++)
    for (uint8_t op : {0x60, 0x61})
      add(wide, {0x66}, {0x3a, op}, Inputs::Text, true, imm, kModRm, 0x48);
  add_memory_forms(cases);
  require_match(cases, 100, 1);
  require_match(wide, 50, 1);
}

TEST_CASE("CRC32 matches the host for every operand size", "[simd][oracle]") {
  std::vector<OracleCase> cases;
  add(cases, {0xf2}, {0x38, 0xf0}, Inputs::Integer);
  add(cases, {0xf2}, {0x38, 0xf1}, Inputs::Integer);
  add(cases, {0x66}, {0x38, 0xf1}, Inputs::Integer, false, -1, kModRm, 0xf2);
  add(cases, {0xf2}, {0x38, 0xf0}, Inputs::Integer, false, -1, kModRm, 0x48);
  add(cases, {0xf2}, {0x38, 0xf1}, Inputs::Integer, false, -1, kModRm, 0x48);
  require_match(cases, 5000, 1);
}

TEST_CASE("Unmasked SIMD exceptions: #XM, the recorded MXCSR flags and the "
          "untouched destination match the host",
          "[simd][oracle]") {
  std::vector<OracleCase> cases;
  for (uint8_t op : {0x51, 0x58, 0x59, 0x5c, 0x5d, 0x5e, 0x5f, 0x5a})
    add(cases, {NP, 0x66, 0xf3, 0xf2}, {op}, Inputs::Float);
  for (uint8_t op : {0x7c, 0x7d, 0xd0})
    add(cases, {0x66, 0xf2}, {op}, Inputs::Float);
  add(cases, {NP, 0x66, 0xf3}, {0x5b}, Inputs::Float);
  add(cases, {0x66, 0xf3, 0xf2}, {0xe6}, Inputs::Float);
  add(cases, {NP, 0x66}, {0x2e}, Inputs::Float, true);
  add(cases, {NP, 0x66}, {0x2f}, Inputs::Float, true);
  add(cases, {NP, 0x66}, {0x2c}, Inputs::Float);
  add(cases, {NP, 0x66}, {0x2d}, Inputs::Float);
  for (int imm : {0, 1, 3, 4, 7})
    add(cases, {NP, 0x66, 0xf3, 0xf2}, {0xc2}, Inputs::Float, false, imm);
  for (int imm : {0x00, 0x04, 0x09, 0x0b})
    for (uint8_t op : {0x08, 0x09, 0x0a, 0x0b})
      add(cases, {0x66}, {0x3a, op}, Inputs::Float, false, imm);
  for (int imm : {0xff, 0x31})
    for (uint8_t op : {0x40, 0x41})
      add(cases, {0x66}, {0x3a, op}, Inputs::Float, false, imm);
  add_memory_forms(cases);
  for (uint8_t rex : {0, 0x48}) {
    add(cases, {0xf3, 0xf2}, {0x2a}, Inputs::Integer, false, -1, kModRm, rex);
    add(cases, {0xf3, 0xf2}, {0x2c}, Inputs::Float, false, -1, kModRm, rex);
    add(cases, {0xf3, 0xf2}, {0x2d}, Inputs::Float, false, -1, kModRm, rex);
  }
  require_match(cases, 40, 32, true);
}

TEST_CASE("AES-NI rounds and key expansion match the host", "[simd][oracle]") {
  std::vector<OracleCase> cases;
  for (uint8_t op : {0xdb, 0xdc, 0xdd, 0xde, 0xdf})
    add(cases, {0x66}, {0x38, op}, Inputs::Integer);
  for (int imm : {0x00, 0x01, 0x1b, 0x36, 0x80, 0xff})
    add(cases, {0x66}, {0x3a, 0xdf}, Inputs::Integer, false, imm);
  add_memory_forms(cases);
  require_match(cases, 200, 1);
}
