#include "machine/boot_multiboot.h"

#include <algorithm>

#include "machine/boot_image.h"
#include "machine/memory.h"

namespace sable {

namespace {

constexpr std::string_view kLoader = "multiboot";
constexpr char kLoaderName[] = "sable";
constexpr uint64_t kPageSize = 0x1000;

// Header flags. Bits 0-15 are requirements a loader must refuse when it
// does not understand them; 0 (page-aligned modules) and 1 (memory
// information) are always satisfied, 2 (video mode) is left to the text
// mode the machine starts in.
constexpr uint32_t kHeaderFlagsUnderstood = 0x7;
constexpr uint32_t kHeaderHasAddresses = 1u << 16;
constexpr size_t kHeaderBaseSize = 12;
constexpr size_t kHeaderWithAddressesSize = 32;

constexpr uint32_t kMmapEntrySize =
    24; // u32 size, u64 base, u64 length, u32 type
constexpr uint32_t kModuleEntrySize = 16; // start, end, string, reserved

// ELF32 layout (System V ABI, i386 supplement).
constexpr size_t kElfHeaderSize = 52;
constexpr size_t kElfPhdrSize = 32;
constexpr uint8_t kElfClass32 = 1, kElfClass64 = 2, kElfLittleEndian = 1;
constexpr uint16_t kElfMachine386 = 3;
constexpr uint32_t kElfLoad = 1;

struct LoadSegment {
  uint64_t address;
  const uint8_t *bytes;
  uint64_t file_size;
  uint64_t memory_size;
};

struct LoadPlan {
  std::vector<LoadSegment> segments;
  uint64_t entry;
};

uint64_t page_align(uint64_t address) {
  return (address + kPageSize - 1) & ~(kPageSize - 1);
}

LoadPlan plan_elf(const MultibootKernel &kernel) {
  const std::vector<uint8_t> &image = kernel.image;
  auto fail = [&](const std::string &problem) {
    boot_fail(kLoader, kernel.path, problem);
  };
  if (image.size() < kElfHeaderSize || image[0] != 0x7f || image[1] != 'E' ||
      image[2] != 'L' || image[3] != 'F')
    fail("not an ELF image and the multiboot header gives no load addresses "
         "(flag 16)");
  if (image[4] == kElfClass64)
    fail("64-bit ELF images are not multiboot v1 kernels; build a 32-bit ELF");
  if (image[4] != kElfClass32 || image[5] != kElfLittleEndian)
    fail("not a little-endian ELF32 image");
  if (get_le16(&image[18]) != kElfMachine386)
    fail("ELF machine is not i386");

  uint64_t entry = get_le32(&image[24]);
  uint64_t phoff = get_le32(&image[28]);
  uint64_t phentsize = get_le16(&image[42]);
  uint64_t phnum = get_le16(&image[44]);
  if (phnum == 0 || phentsize < kElfPhdrSize ||
      phoff + phnum * phentsize > image.size())
    fail("ELF program headers are missing or truncated");

  LoadPlan plan{{}, entry};
  bool entry_translated = false;
  for (uint64_t i = 0; i < phnum; ++i) {
    const uint8_t *ph = &image[phoff + i * phentsize];
    if (get_le32(ph) != kElfLoad)
      continue;
    uint64_t offset = get_le32(ph + 4);
    uint64_t vaddr = get_le32(ph + 8);
    uint64_t paddr = get_le32(ph + 12);
    uint64_t file_size = get_le32(ph + 16);
    uint64_t memory_size = get_le32(ph + 20);
    if (memory_size == 0)
      continue;
    if (file_size > memory_size || offset + file_size > image.size())
      fail("ELF segment at " + hex(paddr) + " is truncated");
    plan.segments.push_back(
        {paddr, image.data() + offset, file_size, memory_size});
    // Higher-half kernels link their entry at a virtual address; paging is
    // off at entry, so enter at the physical copy.
    if (!entry_translated && entry >= vaddr && entry - vaddr < memory_size) {
      plan.entry = paddr + (entry - vaddr);
      entry_translated = true;
    }
  }
  if (plan.segments.empty())
    fail("ELF image has no loadable segment");
  return plan;
}

LoadPlan plan_with_header_addresses(const MultibootKernel &kernel,
                                    size_t header) {
  const std::vector<uint8_t> &image = kernel.image;
  auto fail = [&](const std::string &problem) {
    boot_fail(kLoader, kernel.path, problem);
  };
  if (header + kHeaderWithAddressesSize > image.size())
    fail("multiboot header address fields are truncated");
  uint64_t header_addr = get_le32(&image[header + 12]);
  uint64_t load_addr = get_le32(&image[header + 16]);
  uint64_t load_end_addr = get_le32(&image[header + 20]);
  uint64_t bss_end_addr = get_le32(&image[header + 24]);
  uint64_t entry_addr = get_le32(&image[header + 28]);

  if (load_addr > header_addr || header_addr - load_addr > header)
    fail("multiboot header_addr/load_addr place the load before the file "
         "start");
  uint64_t file_offset = header - (header_addr - load_addr);
  uint64_t load_size =
      load_end_addr ? load_end_addr - load_addr : image.size() - file_offset;
  if (load_end_addr && load_end_addr < load_addr)
    fail("multiboot load_end_addr is below load_addr");
  if (file_offset + load_size > image.size())
    fail("multiboot load_end_addr is past the end of the file");
  uint64_t memory_size = load_size;
  if (bss_end_addr) {
    if (bss_end_addr < load_addr + load_size)
      fail("multiboot bss_end_addr is below the end of the loaded image");
    memory_size = bss_end_addr - load_addr;
  }
  return {{{load_addr, image.data() + file_offset, load_size, memory_size}},
          entry_addr};
}

// Appends to the byte image of the boot information area and returns the
// guest address of what was appended.
class InfoArea {
public:
  explicit InfoArea(const std::string &path) : path_(path) {
    bytes_.resize(kMultibootInfoSize);
  }

  uint32_t add(const void *data, size_t size, size_t alignment = 1) {
    bytes_.resize((bytes_.size() + alignment - 1) / alignment * alignment);
    uint64_t address = kMultibootInfoAddress + bytes_.size();
    auto begin = static_cast<const uint8_t *>(data);
    bytes_.insert(bytes_.end(), begin, begin + size);
    if (kMultibootInfoAddress + bytes_.size() > kMultibootInfoLimit)
      boot_fail(kLoader, path_,
                "boot information (command lines, module list, memory map) "
                "does not fit below " +
                    hex(kMultibootInfoLimit));
    return uint32_t(address);
  }
  uint32_t add_string(const std::string &text) {
    return add(text.c_str(), text.size() + 1);
  }
  uint8_t *info() { return bytes_.data(); }
  const std::vector<uint8_t> &bytes() const { return bytes_; }

private:
  const std::string &path_;
  std::vector<uint8_t> bytes_;
};

uint32_t kib_capped(uint64_t bytes) {
  return uint32_t(std::min<uint64_t>(bytes / 1024, UINT32_MAX));
}

} // namespace

std::optional<size_t> find_multiboot_header(const std::vector<uint8_t> &image) {
  size_t limit = std::min(image.size(), kMultibootSearchLimit);
  for (size_t at = 0; at + kHeaderBaseSize <= limit; at += 4)
    if (get_le32(&image[at]) == kMultibootHeaderMagic)
      return at;
  return std::nullopt;
}

std::vector<MultibootModule> read_multiboot_modules(const std::string &spec) {
  std::vector<std::string> entries(1);
  for (size_t i = 0; i < spec.size(); ++i) {
    if (spec[i] != ',') {
      entries.back() += spec[i];
    } else if (i + 1 < spec.size() && spec[i + 1] == ',') {
      entries.back() += ',';
      ++i;
    } else {
      entries.emplace_back();
    }
  }
  std::vector<MultibootModule> modules;
  for (const std::string &entry : entries) {
    if (entry.empty())
      continue;
    std::string file = entry.substr(0, entry.find(' '));
    modules.push_back({read_boot_file(kLoader, file), entry});
  }
  return modules;
}

cpu::CpuState load_multiboot(GuestMemory &memory,
                             const std::vector<E820Entry> &e820,
                             const MultibootKernel &kernel) {
  auto fail = [&](const std::string &problem) {
    boot_fail(kLoader, kernel.path, problem);
  };
  std::optional<size_t> header = find_multiboot_header(kernel.image);
  if (!header)
    fail("no multiboot header in the first 8192 bytes");
  const uint8_t *h = &kernel.image[*header];
  uint32_t flags = get_le32(h + 4);
  if (uint32_t(kMultibootHeaderMagic + flags + get_le32(h + 8)) != 0)
    fail("multiboot header checksum is wrong");
  if (flags & 0xffff & ~kHeaderFlagsUnderstood)
    fail("multiboot header requires unsupported features (flags " + hex(flags) +
         ")");

  if (!is_ram(memory, kBootGdtAddress, kMultibootInfoLimit - kBootGdtAddress))
    fail("the boot information area " + hex(kBootGdtAddress) + "-" +
         hex(kMultibootInfoLimit) + " is not RAM");

  LoadPlan plan = flags & kHeaderHasAddresses
                      ? plan_with_header_addresses(kernel, *header)
                      : plan_elf(kernel);

  uint64_t kernel_end = 0;
  for (const LoadSegment &segment : plan.segments) {
    uint64_t end = segment.address + segment.memory_size;
    if (!is_ram(memory, segment.address, segment.memory_size))
      fail("segment " + hex(segment.address) + "-" + hex(end) +
           " is outside RAM");
    if (segment.address < kMultibootInfoLimit && end > kBootGdtAddress)
      fail("segment " + hex(segment.address) + "-" + hex(end) +
           " overlaps the boot information area " + hex(kBootGdtAddress) + "-" +
           hex(kMultibootInfoLimit));
    kernel_end = std::max(kernel_end, end);
  }
  if (!is_ram(memory, plan.entry, 1))
    fail("entry point " + hex(plan.entry) + " is outside RAM");
  for (const LoadSegment &segment : plan.segments) {
    memory.write(segment.address, segment.bytes, segment.file_size);
    std::vector<uint8_t> zeros(segment.memory_size - segment.file_size, 0);
    memory.write(segment.address + segment.file_size, zeros.data(),
                 zeros.size());
  }

  InfoArea area(kernel.path);
  std::vector<uint8_t> module_list;
  uint64_t next_module = page_align(kernel_end);
  for (size_t i = 0; i < kernel.modules.size(); ++i) {
    const MultibootModule &module = kernel.modules[i];
    uint64_t size = module.data.size();
    if (next_module > UINT32_MAX || !is_ram(memory, next_module, size) ||
        next_module + size > UINT32_MAX)
      fail("module " + std::to_string(i) + " (" + module.cmdline +
           ") does not fit in RAM above the kernel");
    memory.write(next_module, module.data.data(), size);
    uint8_t entry[kModuleEntrySize] = {};
    put_le32(entry, uint32_t(next_module));
    put_le32(entry + 4, uint32_t(next_module + size));
    put_le32(entry + 8, area.add_string(module.cmdline));
    module_list.insert(module_list.end(), entry, entry + sizeof entry);
    next_module = page_align(next_module + size);
  }

  uint32_t info_flags = MBI_MEMORY | MBI_CMDLINE | MBI_MMAP | MBI_LOADER_NAME;
  uint64_t mem_lower = 0, mem_upper = 0;
  std::vector<uint8_t> mmap;
  for (const E820Entry &entry : e820) {
    uint8_t raw[kMmapEntrySize];
    put_le32(raw, kMmapEntrySize - 4);
    put_le64(raw + 4, entry.address);
    put_le64(raw + 12, entry.length);
    put_le32(raw + 20, entry.type);
    mmap.insert(mmap.end(), raw, raw + sizeof raw);
    if (entry.type == E820_RAM && entry.address == 0)
      mem_lower = entry.length;
    if (entry.type == E820_RAM && entry.address == kHighMemoryStart)
      mem_upper = entry.length;
  }
  std::string cmdline =
      kernel.cmdline.empty() ? kernel.path : kernel.path + " " + kernel.cmdline;
  uint32_t cmdline_address = area.add_string(cmdline);
  uint32_t loader_name_address = area.add_string(kLoaderName);
  uint32_t mmap_address = area.add(mmap.data(), mmap.size(), 8);
  uint32_t modules_address = 0;
  if (!module_list.empty()) {
    info_flags |= MBI_MODULES;
    modules_address = area.add(module_list.data(), module_list.size(), 8);
  }

  uint8_t *info = area.info();
  put_le32(info + 0, info_flags);
  put_le32(info + 4, kib_capped(mem_lower));
  put_le32(info + 8, kib_capped(mem_upper));
  put_le32(info + 16, cmdline_address);
  put_le32(info + 20, uint32_t(kernel.modules.size()));
  put_le32(info + 24, modules_address);
  put_le32(info + 44, uint32_t(mmap.size()));
  put_le32(info + 48, mmap_address);
  put_le32(info + 64, loader_name_address);
  memory.write(kMultibootInfoAddress, area.bytes().data(), area.bytes().size());

  cpu::CpuState state = flat_entry_state(memory, EntryMode::Protected32);
  state.rip = plan.entry;
  state.gpr[cpu::RAX] = kMultibootBootloaderMagic;
  state.gpr[cpu::RBX] = kMultibootInfoAddress;
  return state;
}

} // namespace sable
