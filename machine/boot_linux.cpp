#include "machine/boot_linux.h"

#include <algorithm>
#include <cstdio>

#include "devices/fw_cfg.h"
#include "machine/boot_image.h"
#include "machine/memory.h"

namespace sable {

namespace {

constexpr std::string_view kLoader = "linux";
constexpr uint8_t kLoaderUndefined = 0xff;
constexpr uint64_t kPageSize = 0x1000;
constexpr uint64_t kLargePageSize = uint64_t{2} << 20;
constexpr uint64_t kPageTableEntries = 512;
constexpr uint64_t kPagePresentWritable = 0x3;
constexpr uint64_t kPageLarge = 0x80;

// Setup header offsets in the file, which match those in boot_params.
constexpr size_t kSetupSects = 0x1f1;
constexpr size_t kBootFlag = 0x1fe;
constexpr size_t kJumpOffset = 0x201;
constexpr size_t kHeader = 0x202;
constexpr size_t kVersion = 0x206;
constexpr size_t kLoadflags = 0x211;
constexpr size_t kHeapEndPtr = 0x224;
constexpr size_t kInitrdAddrMax = 0x22c;
constexpr size_t kKernelAlignment = 0x230;
constexpr size_t kRelocatableKernel = 0x234;
constexpr size_t kXloadflags = 0x236;
constexpr size_t kCmdlineSize = 0x238;
constexpr size_t kPrefAddress = 0x258;
constexpr size_t kInitSize = 0x260;
constexpr size_t kHeaderFieldsEnd = 0x264;

// The real-mode setup code may use the memory up to the command line as
// heap; heap_end_ptr holds that end relative to the setup code, minus 0x200.
constexpr uint8_t kCanUseHeap = 0x80;
constexpr uint64_t kHeapEndBias = 0x200;

// boot.rst: a setup_sects of 0 means 4.
constexpr uint32_t kDefaultSetupSects = 4;

uint64_t align_up(uint64_t value, uint64_t alignment) {
  return alignment ? (value + alignment - 1) / alignment * alignment : value;
}

void write_identity_page_tables(GuestMemory &memory) {
  std::vector<uint8_t> tables((2 + kLinuxPageDirectoryCount) * kPageSize, 0);
  static_assert(kLinuxPdpt == kLinuxPml4 + kPageSize &&
                kLinuxPageDirectories == kLinuxPdpt + kPageSize);
  uint8_t *pml4 = tables.data();
  uint8_t *pdpt = pml4 + kPageSize;
  uint8_t *directories = pdpt + kPageSize;
  put_le64(pml4, kLinuxPdpt | kPagePresentWritable);
  for (uint64_t d = 0; d < kLinuxPageDirectoryCount; ++d) {
    put_le64(pdpt + 8 * d,
             (kLinuxPageDirectories + d * kPageSize) | kPagePresentWritable);
    for (uint64_t e = 0; e < kPageTableEntries; ++e) {
      uint64_t address = (d * kPageTableEntries + e) * kLargePageSize;
      put_le64(directories + d * kPageSize + 8 * e,
               address | kPageLarge | kPagePresentWritable);
    }
  }
  memory.write(kLinuxPml4, tables.data(), tables.size());
}

std::string protocol_name(uint16_t version) {
  char text[8];
  std::snprintf(text, sizeof text, "%u.%02u", unsigned(version >> 8),
                unsigned(version & 0xff));
  return text;
}

struct LinuxPlacement {
  uint64_t kernel_end; // end of what the kernel needs before it reads e820
  uint64_t initrd_address;
};

// Checks that kernel, command line and initrd fit and places the initrd:
// page-aligned, as high as initrd_addr_max and initrd_ram_end allow.
LinuxPlacement place_linux(const LinuxSetupHeader &h, const LinuxKernel &kernel,
                           uint64_t kernel_ram_end, uint64_t initrd_ram_end) {
  auto fail = [&](const std::string &problem) {
    boot_fail(kLoader, kernel.path, problem);
  };
  // The kernel runs (decompresses) at its aligned load address, no lower
  // than pref_address, and needs init_size bytes there before it reads the
  // memory map; a non-relocatable kernel runs at pref_address.
  uint64_t payload_end =
      kLinuxKernelAddress + (kernel.image.size() - h.setup_size);
  uint64_t runtime_start =
      h.relocatable
          ? std::max(align_up(kLinuxKernelAddress, h.kernel_alignment),
                     h.pref_address)
          : std::max(kLinuxKernelAddress, h.pref_address);
  LinuxPlacement place{std::max(payload_end, runtime_start + h.init_size), 0};
  if (place.kernel_end > kernel_ram_end)
    fail("kernel needs RAM up to " + hex(place.kernel_end) +
         " but RAM from 1 MiB ends at " + hex(kernel_ram_end));

  if (kernel.cmdline.size() > h.cmdline_size)
    fail("command line is " + std::to_string(kernel.cmdline.size()) +
         " bytes, the kernel accepts " + std::to_string(h.cmdline_size));
  if (kLinuxCmdline + kernel.cmdline.size() + 1 > kLinuxCmdlineLimit)
    fail("command line does not fit below " + hex(kLinuxCmdlineLimit));

  uint64_t initrd_size = kernel.initrd.size();
  if (initrd_size) {
    uint64_t top = std::min(uint64_t{h.initrd_addr_max} + 1, initrd_ram_end);
    if (initrd_size <= top)
      place.initrd_address = (top - initrd_size) & ~(kPageSize - 1);
    if (initrd_size > top || place.initrd_address < place.kernel_end)
      fail("initrd of " + std::to_string(initrd_size) +
           " bytes does not fit in RAM between the kernel end " +
           hex(place.kernel_end) + " and " + hex(top));
  }
  return place;
}

} // namespace

bool is_linux_kernel(const std::vector<uint8_t> &image) {
  return image.size() >= kHeader + 4 &&
         get_le32(&image[kHeader]) == kLinuxHeaderMagic;
}

LinuxSetupHeader parse_linux_header(const std::string &path,
                                    const std::vector<uint8_t> &image) {
  auto fail = [&](const std::string &problem) {
    boot_fail(kLoader, path, problem);
  };
  if (!is_linux_kernel(image) || image.size() < kHeaderFieldsEnd)
    fail("not a bzImage (no HdrS setup header)");
  LinuxSetupHeader h{};
  h.version = get_le16(&image[kVersion]);
  if (h.version < kLinuxMinimumProtocol)
    fail("boot protocol " + protocol_name(h.version) +
         " is too old (2.06 or later needed)");
  if (get_le16(&image[kBootFlag]) != 0xaa55)
    fail("not a bzImage (boot flag 0xaa55 missing)");
  h.loadflags = image[kLoadflags];
  if (!(h.loadflags & LOADED_HIGH))
    fail("not a bzImage (a zImage loads below 1 MiB)");
  h.setup_sects = image[kSetupSects] ? image[kSetupSects] : kDefaultSetupSects;
  h.setup_size = (size_t{h.setup_sects} + 1) * 512;
  if (h.setup_size >= image.size())
    fail("truncated: the setup code takes " + std::to_string(h.setup_size) +
         " of " + std::to_string(image.size()) + " bytes");
  h.header_end = std::min<size_t>(kHeader + image[kJumpOffset],
                                  zero_page::kSetupHeaderLimit);
  h.initrd_addr_max = get_le32(&image[kInitrdAddrMax]);
  h.kernel_alignment = get_le32(&image[kKernelAlignment]);
  h.relocatable = image[kRelocatableKernel] != 0;
  h.cmdline_size = get_le32(&image[kCmdlineSize]);
  if (h.version >= 0x20a) {
    h.pref_address = get_le64(&image[kPrefAddress]);
    h.init_size = get_le32(&image[kInitSize]);
  }
  if (h.version >= 0x20c)
    h.xloadflags = get_le16(&image[kXloadflags]);
  return h;
}

cpu::CpuState load_linux(GuestMemory &memory,
                         const std::vector<E820Entry> &e820,
                         const LinuxKernel &kernel) {
  auto fail = [&](const std::string &problem) {
    boot_fail(kLoader, kernel.path, problem);
  };
  LinuxSetupHeader h = parse_linux_header(kernel.path, kernel.image);

  bool long_mode =
      kernel.entry == LinuxEntry::Bits64 ||
      (kernel.entry == LinuxEntry::Auto && (h.xloadflags & XLF_KERNEL_64));
  if (long_mode && !(h.xloadflags & XLF_KERNEL_64))
    fail("kernel has no 64-bit entry point (xloadflags bit 0 clear)");
  if (!is_ram(memory, kBootGdtAddress, kLinuxCmdlineLimit - kBootGdtAddress))
    fail("the boot data area " + hex(kBootGdtAddress) + "-" +
         hex(kLinuxCmdlineLimit) + " is not RAM");
  uint64_t ram_end = ram_end_from(memory, kLinuxKernelAddress);
  LinuxPlacement place = place_linux(h, kernel, ram_end, ram_end);
  uint64_t payload_size = kernel.image.size() - h.setup_size;
  uint64_t initrd_size = kernel.initrd.size();
  if (e820.size() > zero_page::kE820MaxEntries)
    fail("memory map has more than 128 entries");

  memory.write(kLinuxKernelAddress, kernel.image.data() + h.setup_size,
               payload_size);
  if (initrd_size)
    memory.write(place.initrd_address, kernel.initrd.data(), initrd_size);
  memory.write(kLinuxCmdline, kernel.cmdline.c_str(),
               kernel.cmdline.size() + 1);

  std::vector<uint8_t> zero(zero_page::kSize, 0);
  std::copy(kernel.image.begin() + zero_page::kSetupHeader,
            kernel.image.begin() + h.header_end,
            zero.begin() + zero_page::kSetupHeader);
  zero[zero_page::kTypeOfLoader] = kLoaderUndefined;
  put_le32(&zero[zero_page::kCode32Start], uint32_t(kLinuxKernelAddress));
  put_le32(&zero[zero_page::kRamdiskImage], uint32_t(place.initrd_address));
  put_le32(&zero[zero_page::kRamdiskSize], uint32_t(initrd_size));
  put_le32(&zero[zero_page::kCmdLinePtr], uint32_t(kLinuxCmdline));
  zero[zero_page::kE820Entries] = uint8_t(e820.size());
  for (size_t i = 0; i < e820.size(); ++i) {
    uint8_t *entry =
        &zero[zero_page::kE820Table + i * zero_page::kE820EntrySize];
    put_le64(entry, e820[i].address);
    put_le64(entry + 8, e820[i].length);
    put_le32(entry + 16, e820[i].type);
  }
  memory.write(kLinuxZeroPage, zero.data(), zero.size());

  cpu::CpuState state = flat_entry_state(
      memory, long_mode ? EntryMode::Long64 : EntryMode::Protected32);
  state.gpr[cpu::RSI] = kLinuxZeroPage;
  if (long_mode) {
    write_identity_page_tables(memory);
    state.cr0 |= cpu::CR0_PG;
    state.cr3 = kLinuxPml4;
    state.cr4 = cpu::CR4_PAE;
    state.efer = cpu::EFER_LME | cpu::EFER_LMA;
    state.rip = kLinuxKernelAddress + kLinux64BitEntryOffset;
  } else {
    state.rip = kLinuxKernelAddress;
  }
  return state;
}

void add_linux_to_fw_cfg(FwCfg &fw_cfg, uint64_t ram_below_4g,
                         const LinuxKernel &kernel) {
  LinuxSetupHeader h = parse_linux_header(kernel.path, kernel.image);
  uint64_t initrd_ram_end = ram_below_4g > kFirmwareTablesReserve
                                ? ram_below_4g - kFirmwareTablesReserve
                                : 0;
  LinuxPlacement place = place_linux(h, kernel, ram_below_4g, initrd_ram_end);

  std::vector<uint8_t> setup(kernel.image.begin(),
                             kernel.image.begin() + h.setup_size);
  setup[zero_page::kTypeOfLoader] = kLoaderUndefined;
  setup[kLoadflags] |= kCanUseHeap;
  put_le16(&setup[kHeapEndPtr],
           uint16_t(kLinuxCmdline - kLinuxSetupAddress - kHeapEndBias));
  put_le32(&setup[zero_page::kCmdLinePtr], uint32_t(kLinuxCmdline));
  put_le32(&setup[zero_page::kRamdiskImage], uint32_t(place.initrd_address));
  put_le32(&setup[zero_page::kRamdiskSize], uint32_t(kernel.initrd.size()));

  fw_cfg.add_u32(FwCfg::SETUP_ADDR, uint32_t(kLinuxSetupAddress));
  fw_cfg.add_u32(FwCfg::SETUP_SIZE, uint32_t(setup.size()));
  fw_cfg.add_bytes(FwCfg::SETUP_DATA, std::move(setup));
  fw_cfg.add_u32(FwCfg::KERNEL_ADDR, uint32_t(kLinuxKernelAddress));
  fw_cfg.add_u32(FwCfg::KERNEL_SIZE,
                 uint32_t(kernel.image.size() - h.setup_size));
  fw_cfg.add_bytes(FwCfg::KERNEL_DATA,
                   std::vector<uint8_t>(kernel.image.begin() + h.setup_size,
                                        kernel.image.end()));
  std::vector<uint8_t> cmdline(kernel.cmdline.begin(), kernel.cmdline.end());
  cmdline.push_back(0);
  fw_cfg.add_u32(FwCfg::CMDLINE_ADDR, uint32_t(kLinuxCmdline));
  fw_cfg.add_u32(FwCfg::CMDLINE_SIZE, uint32_t(cmdline.size()));
  fw_cfg.add_bytes(FwCfg::CMDLINE_DATA, std::move(cmdline));
  fw_cfg.add_u32(FwCfg::INITRD_ADDR, uint32_t(place.initrd_address));
  fw_cfg.add_u32(FwCfg::INITRD_SIZE, uint32_t(kernel.initrd.size()));
  fw_cfg.add_bytes(FwCfg::INITRD_DATA, kernel.initrd);
}

} // namespace sable
