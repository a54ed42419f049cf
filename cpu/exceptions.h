#pragma once
// Event delivery entry points the run loop uses between instructions.
// Each returns false on a triple fault (the caller stops with Shutdown).

#include <cstdint>

namespace sable::cpu {

class Cpu;

// A maskable interrupt the controller acknowledged.
bool deliver_external_interrupt(Cpu &cpu, uint8_t vector);
// NMI: blocks further NMIs until the next IRET (CpuState::nmi_blocked).
bool deliver_nmi(Cpu &cpu);

} // namespace sable::cpu
