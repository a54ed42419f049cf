#pragma once
// Direct Linux boot of a bzImage (Documentation/arch/x86/boot.rst, boot
// protocol 2.06 or later): the protected-mode kernel is loaded at 1 MiB,
// boot_params (the "zero page") gets the setup header, the e820 map, the
// command line and the initrd, and the kernel is entered through the 64-bit
// boot protocol (long mode, identity-mapped page tables) or, on request,
// the 32-bit one (flat protected mode, paging off).

#include <cstdint>
#include <string>
#include <vector>

#include "cpu/state.h"
#include "machine/e820.h"

namespace sable {

class FwCfg;
class GuestMemory;

// Where direct Linux boot puts things; everything but the kernel and the
// initrd lives in conventional memory, clear of the GDT at kBootGdtAddress.
constexpr uint64_t kLinuxZeroPage = 0x7000;
constexpr uint64_t kLinuxPml4 = 0x9000;
constexpr uint64_t kLinuxPdpt = 0xa000;
// Four page directories of 2 MiB pages identity-map the first 4 GiB.
constexpr uint64_t kLinuxPageDirectories = 0xb000;
constexpr unsigned kLinuxPageDirectoryCount = 4;
constexpr uint64_t kLinuxCmdline = 0x20000;
constexpr uint64_t kLinuxCmdlineLimit = kEbdaStart;
constexpr uint64_t kLinuxKernelAddress = 0x100000;
// startup_64 sits 0x200 bytes into the protected-mode kernel.
constexpr uint64_t kLinux64BitEntryOffset = 0x200;

constexpr uint32_t kLinuxHeaderMagic = 0x53726448; // "HdrS"
constexpr uint16_t kLinuxMinimumProtocol = 0x206;

enum class LinuxEntry {
  Auto, // 64-bit when the kernel offers it (XLF_KERNEL_64), else 32-bit
  Bits64,
  Bits32,
};

// The setup header fields the loader uses; those a protocol version lacks
// (pref_address, init_size before 2.10, xloadflags before 2.12) are zero.
struct LinuxSetupHeader {
  uint16_t version;
  uint8_t setup_sects;
  uint8_t loadflags;
  uint32_t initrd_addr_max;
  uint32_t kernel_alignment;
  bool relocatable;
  uint16_t xloadflags;
  uint32_t cmdline_size;
  uint64_t pref_address;
  uint32_t init_size;
  size_t setup_size; // real-mode part in the file, boot sector included
  size_t header_end; // file offset where the setup header ends
};

enum LinuxLoadFlag : uint8_t { LOADED_HIGH = 1u << 0 };
enum LinuxXLoadFlag : uint16_t {
  XLF_KERNEL_64 = 1u << 0,
  XLF_CAN_BE_LOADED_ABOVE_4G = 1u << 1,
};

// boot_params offsets (Documentation/arch/x86/zero-page.rst).
namespace zero_page {
constexpr size_t kE820Entries = 0x1e8;
constexpr size_t kSetupHeader = 0x1f1;
constexpr size_t kTypeOfLoader = 0x210;
constexpr size_t kCode32Start = 0x214;
constexpr size_t kRamdiskImage = 0x218;
constexpr size_t kRamdiskSize = 0x21c;
constexpr size_t kCmdLinePtr = 0x228;
constexpr size_t kSetupHeaderLimit = 0x290;
constexpr size_t kE820Table = 0x2d0;
constexpr size_t kE820EntrySize = 20;
constexpr size_t kE820MaxEntries = 128;
constexpr size_t kSize = 0x1000;
} // namespace zero_page

// Whether the image carries a setup header (the "HdrS" magic).
bool is_linux_kernel(const std::vector<uint8_t> &image);

// Throws BootError ("linux: <path>: <problem>") for images that are not a
// bzImage or use a protocol older than 2.06.
LinuxSetupHeader parse_linux_header(const std::string &path,
                                    const std::vector<uint8_t> &image);

struct LinuxKernel {
  std::string path; // for messages
  std::vector<uint8_t> image;
  std::string cmdline;
  std::vector<uint8_t> initrd; // empty: no initrd
  LinuxEntry entry = LinuxEntry::Auto;
};

// Loads kernel, initrd and command line, builds boot_params from `e820`,
// and returns the entry state. Throws BootError.
cpu::CpuState load_linux(GuestMemory &memory,
                         const std::vector<E820Entry> &e820,
                         const LinuxKernel &kernel);

// Firmware boot with -kernel: SeaBIOS runs QEMU's linuxboot option ROM,
// which copies the setup code, kernel, command line and initrd named by
// the fw_cfg KERNEL_*, SETUP_*, CMDLINE_* and INITRD_* items into RAM and
// enters the real-mode setup code. The setup header in SETUP_DATA is
// already filled in as boot.rst asks of a real-mode boot loader. The
// initrd stays below ram_below_4g minus kFirmwareTablesReserve, where
// SeaBIOS puts its tables. Throws BootError. The machine adds the option
// ROM itself (fw_cfg file "genroms/linuxboot_dma.bin").
constexpr uint64_t kLinuxSetupAddress = 0x10000;
constexpr uint64_t kFirmwareTablesReserve = 0x100000;
void add_linux_to_fw_cfg(FwCfg &fw_cfg, uint64_t ram_below_4g,
                         const LinuxKernel &kernel);

} // namespace sable
