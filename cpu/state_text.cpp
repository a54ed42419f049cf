// The register dump shared by -d cpu, KVM's fatal-error report and the
// gdbstub's `monitor info registers`.

#include "cpu/state_text.h"

#include <cinttypes>
#include <cstdio>

namespace sable::cpu {

std::string describe_registers(const CpuState &s) {
  static const char *const names[16] = {
      "RAX", "RCX", "RDX", "RBX", "RSP", "RBP", "RSI", "RDI",
      "R8",  "R9",  "R10", "R11", "R12", "R13", "R14", "R15"};
  static const char *const segs[6] = {"ES", "CS", "SS", "DS", "FS", "GS"};
  std::string out;
  char line[160];
  for (unsigned i = 0; i < 16; i += 4) {
    std::snprintf(line, sizeof line,
                  "%-3s=%016" PRIx64 " %-3s=%016" PRIx64 " %-3s=%016" PRIx64
                  " %-3s=%016" PRIx64 "\n",
                  names[i], s.gpr[i], names[i + 1], s.gpr[i + 1], names[i + 2],
                  s.gpr[i + 2], names[i + 3], s.gpr[i + 3]);
    out += line;
  }
  std::snprintf(line, sizeof line,
                "RIP=%016" PRIx64 " RFL=%08" PRIx64 " CPL=%u HLT=%d\n", s.rip,
                s.rflags, s.cpl(), s.halted);
  out += line;
  auto segment = [&](const char *name, const Segment &seg) {
    std::snprintf(line, sizeof line, "%-3s=%04x %016" PRIx64 " %08x %04x\n",
                  name, seg.selector, seg.base, seg.limit, seg.attributes);
    out += line;
  };
  for (unsigned i = 0; i < 6; ++i)
    segment(segs[i], s.seg[i]);
  segment("LDT", s.ldtr);
  segment("TR", s.tr);
  std::snprintf(line, sizeof line,
                "GDT=     %016" PRIx64 " %08x\nIDT=     %016" PRIx64 " %08x\n",
                s.gdtr.base, s.gdtr.limit, s.idtr.base, s.idtr.limit);
  out += line;
  std::snprintf(line, sizeof line,
                "CR0=%08" PRIx64 " CR2=%016" PRIx64 " CR3=%016" PRIx64
                " CR4=%08" PRIx64 "\n",
                s.cr0, s.cr2, s.cr3, s.cr4);
  out += line;
  std::snprintf(line, sizeof line,
                "DR0=%016" PRIx64 " DR1=%016" PRIx64 " DR2=%016" PRIx64
                " DR3=%016" PRIx64 "\nDR6=%016" PRIx64 " DR7=%016" PRIx64 "\n",
                s.dr[0], s.dr[1], s.dr[2], s.dr[3], s.dr[6], s.dr[7]);
  out += line;
  std::snprintf(line, sizeof line, "EFER=%016" PRIx64 " CR8=%" PRIx64 "\n",
                s.efer, s.cr8);
  out += line;
  return out;
}

} // namespace sable::cpu
