// Names and block-ending flags of the Op set, straight from cpu/opcodes.def.

#include <cstddef>

#include "cpu/instruction.h"

namespace sable::cpu {
namespace {

constexpr const char *kNames[] = {
#define X(name, flags) #name,
#include "cpu/opcodes.def"
#undef X
};

constexpr uint8_t kFlags[] = {
#define X(name, flags) flags,
#include "cpu/opcodes.def"
#undef X
};

static_assert(sizeof(kNames) / sizeof(kNames[0]) ==
              static_cast<size_t>(Op::Count));

} // namespace

const char *op_name(Op op) {
  auto index = static_cast<size_t>(op);
  return index < static_cast<size_t>(Op::Count) ? kNames[index] : "?";
}

bool op_ends_block(Op op) {
  auto index = static_cast<size_t>(op);
  return index >= static_cast<size_t>(Op::Count) || (kFlags[index] & END);
}

} // namespace sable::cpu
