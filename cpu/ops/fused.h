#pragma once
// CMP or TEST of registers fused with the conditional branch after it, for
// threaded code (cpu/ops/chain.h): one handler compares, records the flags
// as CMP or TEST does, and decides the branch from the operands at hand,
// without reading the flag record back or dispatching the branch.

#include "cpu/ops/handlers.h"

namespace sable::cpu {

// The chained handler for `compare` when the next instruction of its block
// is `branch`, or null when the pair is not one fused here.
Handler fused_chain(const Instruction &compare, const Instruction &branch);

} // namespace sable::cpu
