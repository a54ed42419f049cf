#include <catch2/catch.hpp>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <string>
#include <unistd.h>

#include "machine/boot_image.h"
#include "machine/boot_multiboot.h"
#include "machine/io_bus.h"
#include "machine/memory.h"

using namespace sable;

namespace {

constexpr uint64_t kRamSize = 16 << 20;
constexpr uint32_t kLoadAddress = 0x100000;
constexpr uint32_t kHeaderOffset = 96;
constexpr uint32_t kCodeOffset = 112;
constexpr uint32_t kImageSize = 128;
constexpr uint32_t kBssSize = 0x1800;

struct Machine {
  std::recursive_mutex lock;
  MmioBus mmio{lock};
  GuestMemory memory{mmio};
  std::vector<E820Entry> e820 = build_e820(kRamSize);

  Machine() {
    memory.add_ram("ram", 0, kRamSize);
    std::vector<uint8_t> garbage(kRamSize, 0xaa);
    memory.write(0, garbage.data(), garbage.size());
  }

  std::vector<uint8_t> bytes(uint64_t gpa, size_t size) const {
    std::vector<uint8_t> out(size);
    memory.read(gpa, out.data(), size);
    return out;
  }
  uint32_t u32(uint64_t gpa) const { return get_le32(bytes(gpa, 4).data()); }
  uint64_t u64(uint64_t gpa) const { return get_le64(bytes(gpa, 8).data()); }
  std::string string(uint64_t gpa) const {
    std::string out;
    for (char c; (c = char(bytes(gpa++, 1)[0])) != 0;)
      out += c;
    return out;
  }
};

void put_header(std::vector<uint8_t> &image, uint32_t offset, uint32_t flags) {
  put_le32(&image[offset], kMultibootHeaderMagic);
  put_le32(&image[offset + 4], flags);
  put_le32(&image[offset + 8], uint32_t(-(kMultibootHeaderMagic + flags)));
}

// An i386 ELF executable with one PT_LOAD segment covering the whole file
// plus bss, linked at `vaddr` and loaded at kLoadAddress.
std::vector<uint8_t> tiny_elf(uint32_t vaddr = kLoadAddress) {
  std::vector<uint8_t> image(kImageSize, 0);
  image[0] = 0x7f;
  image[1] = 'E';
  image[2] = 'L';
  image[3] = 'F';
  image[4] = 1;            // ELFCLASS32
  image[5] = 1;            // little-endian
  image[6] = 1;            // EV_CURRENT
  put_le16(&image[16], 2); // ET_EXEC
  put_le16(&image[18], 3); // EM_386
  put_le32(&image[20], 1);
  put_le32(&image[24], vaddr + kCodeOffset);
  put_le32(&image[28], 52); // e_phoff
  put_le16(&image[40], 52);
  put_le16(&image[42], 32);
  put_le16(&image[44], 1);
  uint8_t *ph = &image[52];
  put_le32(ph, 1); // PT_LOAD
  put_le32(ph + 4, 0);
  put_le32(ph + 8, vaddr);
  put_le32(ph + 12, kLoadAddress);
  put_le32(ph + 16, kImageSize);
  put_le32(ph + 20, kImageSize + kBssSize);
  put_header(image, kHeaderOffset, 0x3);
  image[kCodeOffset] = 0xf4; // hlt
  return image;
}

MultibootKernel kernel_from(std::vector<uint8_t> image) {
  return {"test.elf", std::move(image), "console=ttyS0", {}};
}

std::string load_error(Machine &m, const MultibootKernel &kernel) {
  try {
    load_multiboot(m.memory, m.e820, kernel);
  } catch (const BootError &e) {
    return e.what();
  }
  return "no error";
}

} // namespace

TEST_CASE("multiboot header is found 4-byte aligned in the first 8 KiB",
          "[multiboot]") {
  std::vector<uint8_t> image(9000, 0);
  CHECK_FALSE(find_multiboot_header(image));
  put_le32(&image[8188], kMultibootHeaderMagic);
  CHECK_FALSE(find_multiboot_header(image)); // header would cross 8 KiB
  put_le32(&image[402], kMultibootHeaderMagic);
  CHECK_FALSE(find_multiboot_header(image)); // misaligned
  put_le32(&image[400], kMultibootHeaderMagic);
  CHECK(find_multiboot_header(image) == 400u);
}

TEST_CASE("multiboot loads an ELF32 kernel and zeroes its bss", "[multiboot]") {
  Machine m;
  std::vector<uint8_t> image = tiny_elf();
  load_multiboot(m.memory, m.e820, kernel_from(image));
  CHECK(m.bytes(kLoadAddress, kImageSize) == image);
  CHECK(m.bytes(kLoadAddress + kImageSize, kBssSize) ==
        std::vector<uint8_t>(kBssSize, 0));
  CHECK(m.bytes(kLoadAddress + kImageSize + kBssSize, 1)[0] == 0xaa);
}

TEST_CASE("multiboot entry state is flat 32-bit protected mode",
          "[multiboot]") {
  Machine m;
  cpu::CpuState s = load_multiboot(m.memory, m.e820, kernel_from(tiny_elf()));
  CHECK(s.rip == kLoadAddress + kCodeOffset);
  CHECK(s.gpr[cpu::RAX] == 0x2badb002);
  CHECK(s.gpr[cpu::RBX] == kMultibootInfoAddress);
  CHECK((s.cr0 & cpu::CR0_PE) != 0);
  CHECK((s.cr0 & cpu::CR0_PG) == 0);
  CHECK(s.efer == 0);
  CHECK((s.rflags & cpu::IF) == 0);
  CHECK(s.a20_mask == ~uint64_t{0});
  CHECK(s.code_size() == cpu::CodeSize::Bits32);
  CHECK(s.seg[cpu::CS].base == 0);
  CHECK(s.seg[cpu::CS].limit == 0xffffffff);
  CHECK(s.seg[cpu::CS].attributes == 0xc09b);
  for (int r : {cpu::DS, cpu::ES, cpu::SS, cpu::FS, cpu::GS}) {
    CHECK(s.seg[r].limit == 0xffffffff);
    CHECK(s.seg[r].attributes == 0xc093);
  }
  // The GDT in memory holds the same descriptors as the segment caches.
  CHECK(s.gdtr.limit >= s.seg[cpu::DS].selector + 7);
  CHECK(m.u64(s.gdtr.base + s.seg[cpu::CS].selector) == 0x00cf9b000000ffffull);
  CHECK(m.u64(s.gdtr.base + s.seg[cpu::DS].selector) == 0x00cf93000000ffffull);
  CHECK(m.u64(s.gdtr.base + s.tr.selector) == encode_descriptor(s.tr));
  CHECK((m.u64(s.gdtr.base + s.tr.selector) >> 40 & 0xff) == 0x8b);
}

TEST_CASE("multiboot info carries memory, command line, name and mmap",
          "[multiboot]") {
  Machine m;
  load_multiboot(m.memory, m.e820, kernel_from(tiny_elf()));
  uint64_t info = kMultibootInfoAddress;
  uint32_t flags = m.u32(info);
  CHECK(flags == (MBI_MEMORY | MBI_CMDLINE | MBI_MMAP | MBI_LOADER_NAME));
  CHECK(m.u32(info + 4) == 639);
  CHECK(m.u32(info + 8) == (kRamSize >> 10) - 1024);
  CHECK(m.string(m.u32(info + 16)) == "test.elf console=ttyS0");
  CHECK(m.string(m.u32(info + 64)) == "sable");
  CHECK(m.u32(info + 20) == 0);

  uint32_t mmap_length = m.u32(info + 44);
  uint32_t mmap = m.u32(info + 48);
  REQUIRE(mmap_length == 24 * m.e820.size());
  for (size_t i = 0; i < m.e820.size(); ++i) {
    uint64_t entry = mmap + 24 * i;
    CHECK(m.u32(entry) == 20);
    CHECK(m.u64(entry + 4) == m.e820[i].address);
    CHECK(m.u64(entry + 12) == m.e820[i].length);
    CHECK(m.u32(entry + 20) == m.e820[i].type);
  }
}

TEST_CASE("multiboot modules follow the kernel page-aligned", "[multiboot]") {
  Machine m;
  MultibootKernel kernel = kernel_from(tiny_elf());
  kernel.modules.push_back({{1, 2, 3}, "initrd.img root=x"});
  kernel.modules.push_back({std::vector<uint8_t>(5000, 9), "second"});
  load_multiboot(m.memory, m.e820, kernel);

  uint64_t info = kMultibootInfoAddress;
  CHECK((m.u32(info) & MBI_MODULES) != 0);
  REQUIRE(m.u32(info + 20) == 2);
  uint64_t list = m.u32(info + 24);
  uint32_t first = m.u32(list);
  CHECK(first == 0x102000); // page after kernel + bss (0x100000 + 0x1880)
  CHECK(m.u32(list + 4) == first + 3);
  CHECK(m.bytes(first, 3) == std::vector<uint8_t>{1, 2, 3});
  CHECK(m.string(m.u32(list + 8)) == "initrd.img root=x");
  uint32_t second = m.u32(list + 16);
  CHECK(second == first + 0x1000);
  CHECK(m.u32(list + 20) == second + 5000);
  CHECK(m.bytes(second, 5000) == std::vector<uint8_t>(5000, 9));
  CHECK(m.string(m.u32(list + 24)) == "second");
}

TEST_CASE("multiboot enters a higher-half kernel at its physical address",
          "[multiboot]") {
  Machine m;
  cpu::CpuState s =
      load_multiboot(m.memory, m.e820, kernel_from(tiny_elf(0xc0100000)));
  CHECK(s.rip == kLoadAddress + kCodeOffset);
}

TEST_CASE("multiboot honours the header's load addresses (flag 16)",
          "[multiboot]") {
  Machine m;
  // A flat binary whose header sits at offset 16 and says: the file from
  // offset 0 loads at 0x200000, 0x40 bytes of it, bss to 0x200100.
  std::vector<uint8_t> image(0x80, 0x5a);
  put_header(image, 16, 0x10003);
  put_le32(&image[28], 0x200010); // header_addr
  put_le32(&image[32], 0x200000); // load_addr
  put_le32(&image[36], 0x200040); // load_end_addr
  put_le32(&image[40], 0x200100); // bss_end_addr
  put_le32(&image[44], 0x200030); // entry_addr
  cpu::CpuState s = load_multiboot(m.memory, m.e820, kernel_from(image));
  CHECK(s.rip == 0x200030);
  CHECK(m.bytes(0x200000, 0x40) ==
        std::vector<uint8_t>(image.begin(), image.begin() + 0x40));
  CHECK(m.bytes(0x200040, 0xc0) == std::vector<uint8_t>(0xc0, 0));
  CHECK(m.bytes(0x200100, 1)[0] == 0xaa);
}

TEST_CASE("multiboot reports bad images in one clear line", "[multiboot]") {
  Machine m;
  std::vector<uint8_t> bad_checksum = tiny_elf();
  bad_checksum[kHeaderOffset + 8] ^= 1;
  CHECK(load_error(m, kernel_from(bad_checksum)) ==
        "multiboot: test.elf: multiboot header checksum is wrong");

  CHECK(load_error(m, kernel_from(std::vector<uint8_t>(64, 0))) ==
        "multiboot: test.elf: no multiboot header in the first 8192 bytes");

  std::vector<uint8_t> elf64 = tiny_elf();
  elf64[4] = 2;
  CHECK(load_error(m, kernel_from(elf64)) ==
        "multiboot: test.elf: 64-bit ELF images are not multiboot v1 "
        "kernels; build a 32-bit ELF");

  std::vector<uint8_t> outside = tiny_elf();
  put_le32(&outside[52 + 12], 0x2000000); // paddr beyond 16 MiB
  CHECK(load_error(m, kernel_from(outside)) ==
        "multiboot: test.elf: segment 0x2000000-0x2001880 is outside RAM");

  std::vector<uint8_t> low = tiny_elf();
  put_le32(&low[52 + 12], 0x8000);
  CHECK(load_error(m, kernel_from(low)).find("overlaps the boot information") !=
        std::string::npos);

  std::vector<uint8_t> video_table = tiny_elf();
  put_header(video_table, kHeaderOffset, 0x8);
  CHECK(load_error(m, kernel_from(video_table)) ==
        "multiboot: test.elf: multiboot header requires unsupported features "
        "(flags 0x8)");

  std::vector<uint8_t> truncated = tiny_elf();
  put_le32(&truncated[52 + 16], 0x1000); // filesz past the file end
  CHECK(load_error(m, kernel_from(truncated)) ==
        "multiboot: test.elf: ELF segment at 0x100000 is truncated");
}

TEST_CASE("multiboot modules from QEMU's -initrd syntax", "[multiboot]") {
  char dir_template[] = "/tmp/sable-mbXXXXXX";
  REQUIRE(mkdtemp(dir_template));
  std::string dir = dir_template;
  std::string first = dir + "/one", second = dir + "/t,wo";
  std::ofstream(first) << "abc";
  std::ofstream(second) << "de";

  auto modules = read_multiboot_modules(first + " x=1 y," + dir + "/t,,wo");
  REQUIRE(modules.size() == 2);
  CHECK(modules[0].data == std::vector<uint8_t>{'a', 'b', 'c'});
  CHECK(modules[0].cmdline == first + " x=1 y");
  CHECK(modules[1].data == std::vector<uint8_t>{'d', 'e'});
  CHECK(modules[1].cmdline == second);

  std::string missing = dir + "/missing";
  CHECK_THROWS_WITH(read_multiboot_modules(missing),
                    "multiboot: " + missing + ": No such file or directory");

  std::remove(first.c_str());
  std::remove(second.c_str());
  rmdir(dir.c_str());
}
