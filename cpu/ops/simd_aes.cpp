// AES-NI: AESENC, AESENCLAST, AESDEC, AESDECLAST, AESIMC and
// AESKEYGENASSIST (SDM Vol. 2; the round steps of FIPS-197). The state is
// the XMM register's 16 bytes in FIPS-197 order: byte 4c + r is row r of
// column c. The S-boxes are derived from their definition (the inverse in
// GF(2^8) followed by the affine map) once, on first use.

#include <array>

#include "cpu/cpu.h"
#include "cpu/ops/simd.h"

namespace sable::cpu::simd {

namespace {

// Multiplication in GF(2^8) modulo x^8 + x^4 + x^3 + x + 1.
uint8_t gf_mul(uint8_t a, uint8_t b) {
  uint8_t product = 0;
  while (b) {
    if (b & 1)
      product ^= a;
    a = static_cast<uint8_t>((a << 1) ^ ((a & 0x80) ? 0x1b : 0));
    b >>= 1;
  }
  return product;
}

uint8_t rotl8(uint8_t x, unsigned n) {
  return static_cast<uint8_t>((x << n) | (x >> (8 - n)));
}

struct SBoxes {
  std::array<uint8_t, 256> forward{}, inverse{};

  SBoxes() {
    for (unsigned x = 0; x < 256; x++) {
      uint8_t inv = 0;
      for (unsigned y = 1; y < 256 && x; y++)
        if (gf_mul(static_cast<uint8_t>(x), static_cast<uint8_t>(y)) == 1) {
          inv = static_cast<uint8_t>(y);
          break;
        }
      const uint8_t s =
          static_cast<uint8_t>(inv ^ rotl8(inv, 1) ^ rotl8(inv, 2) ^
                               rotl8(inv, 3) ^ rotl8(inv, 4) ^ 0x63);
      forward[x] = s;
      inverse[s] = static_cast<uint8_t>(x);
    }
  }
};

const SBoxes &sboxes() {
  static const SBoxes boxes;
  return boxes;
}

using State = std::array<uint8_t, 16>;

State to_state(const Vec &v) {
  State s;
  std::memcpy(s.data(), v.b, 16);
  return s;
}

Vec to_vec(const State &s) {
  Vec v;
  std::memcpy(v.b, s.data(), 16);
  return v;
}

// Row r moves left by r columns (right when inverse).
State shift_rows(const State &in, bool inverse) {
  State out;
  for (unsigned c = 0; c < 4; c++)
    for (unsigned r = 0; r < 4; r++) {
      const unsigned from = inverse ? (c + 4 - r) % 4 : (c + r) % 4;
      out[4 * c + r] = in[4 * from + r];
    }
  return out;
}

void sub_bytes(State &s, bool inverse) {
  const auto &box = inverse ? sboxes().inverse : sboxes().forward;
  for (uint8_t &b : s)
    b = box[b];
}

// MixColumns with the circulant row (2 3 1 1), its inverse with
// (14 11 13 9).
void mix_columns(State &s, bool inverse) {
  const uint8_t row[4] = {static_cast<uint8_t>(inverse ? 14 : 2),
                          static_cast<uint8_t>(inverse ? 11 : 3),
                          static_cast<uint8_t>(inverse ? 13 : 1),
                          static_cast<uint8_t>(inverse ? 9 : 1)};
  for (unsigned c = 0; c < 4; c++) {
    uint8_t column[4];
    std::memcpy(column, &s[4 * c], 4);
    for (unsigned r = 0; r < 4; r++) {
      uint8_t sum = 0;
      for (unsigned k = 0; k < 4; k++)
        sum ^= gf_mul(row[(k + 4 - r) % 4], column[k]);
      s[4 * c + r] = sum;
    }
  }
}

enum class Round { Encrypt, EncryptLast, Decrypt, DecryptLast };

template <Round R> bool aes_round(Cpu &cpu, const Instruction &insn) {
  Vec state_vec, key;
  if (!read_vec(cpu, insn, 0, 16, false, state_vec) ||
      !read_vec(cpu, insn, 1, 16, true, key))
    return false;
  const bool inverse = R == Round::Decrypt || R == Round::DecryptLast;
  State s = shift_rows(to_state(state_vec), inverse);
  sub_bytes(s, inverse);
  if (R == Round::Encrypt || R == Round::Decrypt)
    mix_columns(s, inverse);
  for (unsigned i = 0; i < 16; i++)
    s[i] ^= key.b[i];
  return write_vec(cpu, insn, 0, 16, false, to_vec(s));
}

bool aesimc(Cpu &cpu, const Instruction &insn) {
  Vec src;
  if (!read_vec(cpu, insn, 1, 16, true, src))
    return false;
  State s = to_state(src);
  mix_columns(s, true);
  return write_vec(cpu, insn, 0, 16, false, to_vec(s));
}

uint32_t sub_word(uint32_t word) {
  uint32_t out = 0;
  for (unsigned i = 0; i < 4; i++)
    out |= uint32_t{sboxes().forward[(word >> (8 * i)) & 0xff]} << (8 * i);
  return out;
}

uint32_t rot_word(uint32_t word) {
  return (word >> 8) | (word << 24);
}

bool aeskeygenassist(Cpu &cpu, const Instruction &insn) {
  Vec src;
  if (!read_vec(cpu, insn, 1, 16, true, src))
    return false;
  const uint32_t rcon = static_cast<uint32_t>(insn.imm & 0xff);
  const uint32_t x1 = sub_word(src.get<uint32_t>(1));
  const uint32_t x3 = sub_word(src.get<uint32_t>(3));
  Vec out;
  out.set<uint32_t>(0, x1);
  out.set<uint32_t>(1, rot_word(x1) ^ rcon);
  out.set<uint32_t>(2, x3);
  out.set<uint32_t>(3, rot_word(x3) ^ rcon);
  return write_vec(cpu, insn, 0, 16, false, out);
}

} // namespace

void register_aes(Registry &r) {
  r.add(M38, 0xdb, P66, aesimc);
  r.add(M38, 0xdc, P66, aes_round<Round::Encrypt>);
  r.add(M38, 0xdd, P66, aes_round<Round::EncryptLast>);
  r.add(M38, 0xde, P66, aes_round<Round::Decrypt>);
  r.add(M38, 0xdf, P66, aes_round<Round::DecryptLast>);
  r.add(M3A, 0xdf, P66, aeskeygenassist);
}

} // namespace sable::cpu::simd
