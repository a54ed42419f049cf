#include <catch2/catch.hpp>

#include <fstream>
#include <iterator>
#include <mutex>
#include <string>

#include "devices/fw_cfg.h"
#include "machine/boot_image.h"
#include "machine/boot_linux.h"
#include "machine/io_bus.h"
#include "machine/memory.h"

using namespace sable;

namespace {

constexpr uint64_t MiB = uint64_t{1} << 20;
constexpr uint64_t kRamSize = 64 * MiB;
constexpr uint8_t kSetupSects = 4;
constexpr size_t kSetupBytes = (kSetupSects + 1) * 512;
constexpr size_t kPayloadBytes = 0x3000;

struct Machine {
  std::recursive_mutex lock;
  MmioBus mmio{lock};
  GuestMemory memory{mmio};
  std::vector<E820Entry> e820;

  explicit Machine(uint64_t ram = kRamSize) : e820(build_e820(ram)) {
    memory.add_ram("ram", 0, ram);
  }

  std::vector<uint8_t> bytes(uint64_t gpa, size_t size) const {
    std::vector<uint8_t> out(size);
    memory.read(gpa, out.data(), size);
    return out;
  }
  uint8_t u8(uint64_t gpa) const { return bytes(gpa, 1)[0]; }
  uint16_t u16(uint64_t gpa) const { return get_le16(bytes(gpa, 2).data()); }
  uint32_t u32(uint64_t gpa) const { return get_le32(bytes(gpa, 4).data()); }
  uint64_t u64(uint64_t gpa) const { return get_le64(bytes(gpa, 8).data()); }

  // A 4-level walk; returns ~0 for an unmapped address.
  uint64_t translate(uint64_t linear, uint64_t cr3) const {
    uint64_t table = cr3 & ~uint64_t{0xfff};
    for (int level = 3; level >= 0; --level) {
      uint64_t entry = u64(table + 8 * ((linear >> (12 + 9 * level)) & 511));
      if (!(entry & 1))
        return ~uint64_t{0};
      uint64_t frame = entry & 0x000ffffffffff000ull;
      if (level == 1 && (entry & 0x80))
        return (frame & ~uint64_t{0x1fffff}) | (linear & 0x1fffff);
      if (level == 0)
        return frame | (linear & 0xfff);
      table = frame;
    }
    return ~uint64_t{0};
  }
};

// A bzImage with a protocol 2.15 setup header: relocatable, 64-bit entry,
// decompressing at 16 MiB with 4 MiB of init_size.
std::vector<uint8_t> synthetic_bzimage() {
  std::vector<uint8_t> image(kSetupBytes + kPayloadBytes, 0);
  for (size_t i = kSetupBytes; i < image.size(); ++i)
    image[i] = uint8_t(i * 7);
  image[0x1f1] = kSetupSects;
  put_le16(&image[0x1fe], 0xaa55);
  image[0x200] = 0xeb;
  image[0x201] = 0x6a; // the header ends at 0x26c
  put_le32(&image[0x202], kLinuxHeaderMagic);
  put_le16(&image[0x206], 0x20f);
  image[0x211] = LOADED_HIGH;
  put_le32(&image[0x22c], 0x7fffffff); // initrd_addr_max
  put_le32(&image[0x230], 0x200000);   // kernel_alignment
  image[0x234] = 1;                    // relocatable_kernel
  put_le16(&image[0x236], XLF_KERNEL_64 | XLF_CAN_BE_LOADED_ABOVE_4G);
  put_le32(&image[0x238], 2047); // cmdline_size
  put_le64(&image[0x258], 0x1000000);
  put_le32(&image[0x260], 0x400000);
  put_le32(&image[0x264], 0x12345678); // handover_offset, copied verbatim
  return image;
}

LinuxKernel kernel_from(std::vector<uint8_t> image) {
  return {"bzImage", std::move(image), "console=ttyS0 panic=-1", {}, {}};
}

std::string load_error(Machine &m, const LinuxKernel &kernel) {
  try {
    load_linux(m.memory, m.e820, kernel);
  } catch (const BootError &e) {
    return e.what();
  }
  return "no error";
}

} // namespace

TEST_CASE("linux setup header is parsed", "[linux]") {
  std::vector<uint8_t> image = synthetic_bzimage();
  CHECK(is_linux_kernel(image));
  LinuxSetupHeader h = parse_linux_header("bzImage", image);
  CHECK(h.version == 0x20f);
  CHECK(h.setup_sects == kSetupSects);
  CHECK(h.setup_size == kSetupBytes);
  CHECK(h.header_end == 0x26c);
  CHECK(h.relocatable);
  CHECK(h.kernel_alignment == 0x200000);
  CHECK(h.xloadflags == (XLF_KERNEL_64 | XLF_CAN_BE_LOADED_ABOVE_4G));
  CHECK(h.cmdline_size == 2047);
  CHECK(h.initrd_addr_max == 0x7fffffff);
  CHECK(h.pref_address == 0x1000000);
  CHECK(h.init_size == 0x400000);

  image[0x1f1] = 0; // means 4
  CHECK(parse_linux_header("bzImage", image).setup_sects == 4);
}

TEST_CASE("linux kernel, boot_params and command line land in memory",
          "[linux]") {
  Machine m;
  std::vector<uint8_t> image = synthetic_bzimage();
  load_linux(m.memory, m.e820, kernel_from(image));

  CHECK(m.bytes(kLinuxKernelAddress, kPayloadBytes) ==
        std::vector<uint8_t>(image.begin() + kSetupBytes, image.end()));

  uint64_t zp = kLinuxZeroPage;
  CHECK(m.u32(zp + 0x202) == kLinuxHeaderMagic);
  CHECK(m.u16(zp + 0x206) == 0x20f);
  CHECK(m.u32(zp + 0x264) == 0x12345678);
  CHECK(m.u8(zp + 0x210) == 0xff); // type_of_loader
  CHECK(m.u32(zp + 0x214) == kLinuxKernelAddress);
  CHECK(m.u32(zp + 0x218) == 0); // no initrd
  CHECK(m.u32(zp + 0x21c) == 0);

  uint32_t cmdline = m.u32(zp + 0x228);
  CHECK(cmdline == kLinuxCmdline);
  std::string expected = "console=ttyS0 panic=-1";
  auto text = m.bytes(cmdline, expected.size() + 1);
  CHECK(std::string(text.begin(), text.end() - 1) == expected);
  CHECK(text.back() == 0);

  REQUIRE(m.u8(zp + 0x1e8) == m.e820.size());
  for (size_t i = 0; i < m.e820.size(); ++i) {
    uint64_t entry = zp + 0x2d0 + 20 * i;
    CHECK(m.u64(entry) == m.e820[i].address);
    CHECK(m.u64(entry + 8) == m.e820[i].length);
    CHECK(m.u32(entry + 16) == m.e820[i].type);
  }
}

TEST_CASE("linux initrd goes page-aligned to the top of usable RAM",
          "[linux]") {
  Machine m;
  LinuxKernel kernel = kernel_from(synthetic_bzimage());
  kernel.initrd = std::vector<uint8_t>(0x12345, 0x5c);
  load_linux(m.memory, m.e820, kernel);
  uint32_t address = m.u32(kLinuxZeroPage + 0x218);
  CHECK(address == ((kRamSize - 0x12345) & ~uint64_t{0xfff}));
  CHECK(m.u32(kLinuxZeroPage + 0x21c) == 0x12345);
  CHECK(m.bytes(address, 0x12345) == kernel.initrd);
}

TEST_CASE("linux initrd stays below initrd_addr_max", "[linux]") {
  Machine m;
  LinuxKernel kernel = kernel_from(synthetic_bzimage());
  put_le32(&kernel.image[0x22c], 0x1ffffff); // 32 MiB - 1
  kernel.initrd = std::vector<uint8_t>(0x100800, 1);
  load_linux(m.memory, m.e820, kernel);
  uint32_t address = m.u32(kLinuxZeroPage + 0x218);
  CHECK(address == ((32 * MiB - 0x100800) & ~uint64_t{0xfff}));
  CHECK(address + 0x100800 <= 32 * MiB);
}

TEST_CASE("linux 64-bit entry state", "[linux]") {
  Machine m;
  cpu::CpuState s =
      load_linux(m.memory, m.e820, kernel_from(synthetic_bzimage()));
  CHECK(s.rip == kLinuxKernelAddress + 0x200);
  CHECK(s.gpr[cpu::RSI] == kLinuxZeroPage);
  CHECK(s.cr0 == (cpu::CR0_PE | cpu::CR0_PG | cpu::CR0_ET));
  CHECK(s.cr4 == cpu::CR4_PAE);
  CHECK(s.efer == (cpu::EFER_LME | cpu::EFER_LMA));
  CHECK(s.cr3 == kLinuxPml4);
  CHECK((s.rflags & cpu::IF) == 0);
  CHECK(s.code_size() == cpu::CodeSize::Bits64);
  CHECK(s.seg[cpu::CS].selector == 0x10);
  CHECK(s.seg[cpu::CS].attributes == 0xa09b);
  for (int r : {cpu::DS, cpu::ES, cpu::SS}) {
    CHECK(s.seg[r].selector == 0x18);
    CHECK(s.seg[r].attributes == 0xc093);
  }
  CHECK(m.u64(s.gdtr.base + 0x10) == 0x00af9b000000ffffull);
  CHECK(m.u64(s.gdtr.base + 0x18) == 0x00cf93000000ffffull);
}

TEST_CASE("linux page tables identity-map the first 4 GiB", "[linux]") {
  Machine m;
  cpu::CpuState s =
      load_linux(m.memory, m.e820, kernel_from(synthetic_bzimage()));
  for (uint64_t address :
       {uint64_t{0}, kLinuxZeroPage + 0x228, kLinuxKernelAddress + 0x200,
        uint64_t{0x3fffffff}, uint64_t{0x40000000}, uint64_t{0xbfe01234},
        uint64_t{0xfffff000}})
    CHECK(m.translate(address, s.cr3) == address);
  CHECK(m.translate(uint64_t{1} << 32, s.cr3) == ~uint64_t{0});
}

TEST_CASE("linux 32-bit entry on request", "[linux]") {
  Machine m;
  LinuxKernel kernel = kernel_from(synthetic_bzimage());
  kernel.entry = LinuxEntry::Bits32;
  cpu::CpuState s = load_linux(m.memory, m.e820, kernel);
  CHECK(s.rip == kLinuxKernelAddress);
  CHECK(s.gpr[cpu::RSI] == kLinuxZeroPage);
  CHECK(s.cr0 == (cpu::CR0_PE | cpu::CR0_ET));
  CHECK(s.efer == 0);
  CHECK(s.code_size() == cpu::CodeSize::Bits32);
  CHECK(s.seg[cpu::CS].selector == 0x10);
  CHECK(s.seg[cpu::DS].selector == 0x18);
  CHECK(m.u64(s.gdtr.base + 0x10) == 0x00cf9b000000ffffull);

  // Auto picks 32-bit for a kernel without a 64-bit entry point; asking
  // for 64-bit then is an error.
  put_le16(&kernel.image[0x236], 0);
  kernel.entry = LinuxEntry::Auto;
  CHECK(load_linux(m.memory, m.e820, kernel).rip == kLinuxKernelAddress);
  kernel.entry = LinuxEntry::Bits64;
  CHECK(load_error(m, kernel) == "linux: bzImage: kernel has no 64-bit entry "
                                 "point (xloadflags bit 0 clear)");
}

TEST_CASE("linux rejects bad images and sizes in one clear line", "[linux]") {
  Machine m;
  CHECK(load_error(m, kernel_from(std::vector<uint8_t>(4096, 0))) ==
        "linux: bzImage: not a bzImage (no HdrS setup header)");

  LinuxKernel old = kernel_from(synthetic_bzimage());
  put_le16(&old.image[0x206], 0x205);
  CHECK(load_error(m, old) ==
        "linux: bzImage: boot protocol 2.05 is too old (2.06 or later needed)");

  LinuxKernel zimage = kernel_from(synthetic_bzimage());
  zimage.image[0x211] = 0;
  CHECK(load_error(m, zimage) ==
        "linux: bzImage: not a bzImage (a zImage loads below 1 MiB)");

  LinuxKernel huge = kernel_from(synthetic_bzimage());
  put_le32(&huge.image[0x260], 0x4000000); // init_size 64 MiB
  CHECK(load_error(m, huge) == "linux: bzImage: kernel needs RAM up to "
                               "0x5000000 but RAM from 1 MiB ends at "
                               "0x4000000");

  LinuxKernel big_initrd = kernel_from(synthetic_bzimage());
  big_initrd.initrd = std::vector<uint8_t>(44 * MiB + 1, 0);
  CHECK(load_error(m, big_initrd) ==
        "linux: bzImage: initrd of 46137345 bytes does not fit in RAM between "
        "the kernel end 0x1400000 and 0x4000000");

  LinuxKernel long_cmdline = kernel_from(synthetic_bzimage());
  long_cmdline.cmdline = std::string(2048, 'x');
  CHECK(load_error(m, long_cmdline) ==
        "linux: bzImage: command line is 2048 bytes, the kernel accepts 2047");
}

TEST_CASE("linux kernel handed to firmware through fw_cfg", "[linux]") {
  Machine m;
  FwCfg fw_cfg(m.memory);
  LinuxKernel kernel = kernel_from(synthetic_bzimage());
  kernel.initrd = std::vector<uint8_t>(0x2345, 0x77);
  add_linux_to_fw_cfg(fw_cfg, kRamSize, kernel);

  auto item = [&](uint16_t key, size_t size) {
    fw_cfg.write(FwCfg::kSelectorOffset, 2, key);
    std::vector<uint8_t> out;
    for (size_t i = 0; i < size; ++i)
      out.push_back(uint8_t(fw_cfg.read(FwCfg::kDataOffset, 1)));
    return out;
  };
  auto u32 = [&](uint16_t key) { return get_le32(item(key, 4).data()); };

  CHECK(u32(FwCfg::SETUP_ADDR) == 0x10000);
  REQUIRE(u32(FwCfg::SETUP_SIZE) == kSetupBytes);
  auto setup = item(FwCfg::SETUP_DATA, kSetupBytes);
  CHECK(get_le32(&setup[0x202]) == kLinuxHeaderMagic);
  CHECK(setup[0x210] == 0xff);
  CHECK(setup[0x211] == (LOADED_HIGH | 0x80));
  CHECK(get_le16(&setup[0x224]) == 0xfe00);
  CHECK(get_le32(&setup[0x228]) == 0x20000);
  uint32_t initrd = get_le32(&setup[0x218]);
  CHECK(initrd == ((kRamSize - 0x100000 - 0x2345) & ~uint64_t{0xfff}));
  CHECK(get_le32(&setup[0x21c]) == 0x2345);

  CHECK(u32(FwCfg::KERNEL_ADDR) == 0x100000);
  REQUIRE(u32(FwCfg::KERNEL_SIZE) == kPayloadBytes);
  CHECK(item(FwCfg::KERNEL_DATA, kPayloadBytes) ==
        std::vector<uint8_t>(kernel.image.begin() + kSetupBytes,
                             kernel.image.end()));
  CHECK(u32(FwCfg::CMDLINE_ADDR) == 0x20000);
  CHECK(u32(FwCfg::CMDLINE_SIZE) == kernel.cmdline.size() + 1);
  auto cmdline = item(FwCfg::CMDLINE_DATA, kernel.cmdline.size() + 1);
  CHECK(std::string(cmdline.begin(), cmdline.end() - 1) == kernel.cmdline);
  CHECK(u32(FwCfg::INITRD_ADDR) == initrd);
  CHECK(u32(FwCfg::INITRD_SIZE) == 0x2345);
  CHECK(item(FwCfg::INITRD_DATA, 0x2345) == kernel.initrd);
}

TEST_CASE("linux parses the Debian kernel when it has been built", "[linux]") {
  std::ifstream file("/work/main/.cache/guests/vmlinuz", std::ios::binary);
  if (!file) {
    WARN("no /work/main/.cache/guests/vmlinuz; skipped");
    return;
  }
  std::vector<uint8_t> image((std::istreambuf_iterator<char>(file)),
                             std::istreambuf_iterator<char>());
  LinuxSetupHeader h = parse_linux_header("vmlinuz", image);
  CHECK(h.version >= 0x20c);
  CHECK((h.xloadflags & XLF_KERNEL_64) != 0);
  Machine m(256 * MiB);
  cpu::CpuState s = load_linux(m.memory, m.e820, kernel_from(image));
  CHECK(s.rip == kLinuxKernelAddress + 0x200);
}
