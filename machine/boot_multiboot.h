#pragma once
// Multiboot kernels (Multiboot Specification version 0.6.96), as -kernel
// loads them: an ELF32 image, or any image whose header carries its load
// addresses (the a.out kludge, header flag 16), plus modules from -initrd.
// The kernel is entered in flat 32-bit protected mode with paging off,
// EAX = 0x2BADB002 and EBX = the multiboot_info address.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cpu/state.h"
#include "machine/e820.h"

namespace sable {

class GuestMemory;

constexpr uint32_t kMultibootHeaderMagic = 0x1badb002;
constexpr uint32_t kMultibootBootloaderMagic = 0x2badb002;
constexpr size_t kMultibootSearchLimit = 8192;

// The multiboot_info structure and everything it points to (command lines,
// module list, memory map, loader name) go in conventional memory between
// here and the EBDA; the GDT sits below (kBootGdtAddress). Modules follow
// the kernel, page-aligned.
constexpr uint64_t kMultibootInfoAddress = 0x9000;
constexpr uint64_t kMultibootInfoLimit = kEbdaStart;
constexpr uint32_t kMultibootInfoSize = 116;

// multiboot_info.flags bits this loader sets.
enum MultibootInfoFlag : uint32_t {
  MBI_MEMORY = 1u << 0,
  MBI_CMDLINE = 1u << 2,
  MBI_MODULES = 1u << 3,
  MBI_MMAP = 1u << 6,
  MBI_LOADER_NAME = 1u << 9,
};

struct MultibootModule {
  std::vector<uint8_t> data;
  std::string cmdline; // the -initrd entry, file name included
};

struct MultibootKernel {
  std::string path; // for messages, and the start of the kernel's cmdline
  std::vector<uint8_t> image;
  std::string cmdline; // -append; the kernel sees "<path> <cmdline>"
  std::vector<MultibootModule> modules;
};

// Offset of the first 4-byte aligned header magic in the first 8 KiB.
std::optional<size_t> find_multiboot_header(const std::vector<uint8_t> &image);

// Reads the modules of QEMU's -initrd syntax for multiboot: entries
// separated by ',' (",," is a literal comma), each a file name optionally
// followed by a space and arguments. Throws BootError.
std::vector<MultibootModule> read_multiboot_modules(const std::string &spec);

// Loads kernel and modules into RAM, builds multiboot_info from `e820`, and
// returns the entry state. Throws BootError
// ("multiboot: <path>: <problem>").
cpu::CpuState load_multiboot(GuestMemory &memory,
                             const std::vector<E820Entry> &e820,
                             const MultibootKernel &kernel);

} // namespace sable
