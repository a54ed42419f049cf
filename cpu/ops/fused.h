#pragma once
// A flag-setting operation on registers fused with the conditional branch
// after it, for threaded code (cpu/ops/chain.h): one handler does the
// operation, records the flags as it does alone, and decides the branch
// from the operands and result at hand, without reading the flag record
// back or dispatching the branch. The operations: CMP, TEST, SUB, AND, ADD,
// INC and DEC of 4- or 8-byte registers (with a register or an immediate
// source), for the conditions each gives without deriving other flags.

#include "cpu/ops/handlers.h"

namespace sable::cpu {

// The chained handler for `setter` when the next instruction of its block
// is `branch`, or null when the pair is not one fused here.
Handler fused_chain(const Instruction &setter, const Instruction &branch);

} // namespace sable::cpu
