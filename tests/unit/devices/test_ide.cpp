#include <catch2/catch.hpp>

#include <array>
#include <memory>
#include <mutex>

#include "devices/ata_disk.h"
#include "devices/atapi_cdrom.h"
#include "devices/disk_image.h"
#include "devices/ide_controller.h"
#include "irq_sinks.h"
#include "machine/io_bus.h"
#include "machine/irq.h"
#include "machine/memory.h"
#include "machine/state.h"
#include "pci_config_access.h"
#include "temp_image.h"

using namespace sable;
using test::pattern;
using test::RecordingSink;
using test::TempImage;

namespace {

constexpr uint16_t kPrimary = 0x1f0;
constexpr uint16_t kPrimaryControl = 0x3f6;
constexpr uint16_t kSecondary = 0x170;
constexpr uint16_t kSecondaryControl = 0x376;
constexpr uint16_t kBusMaster = 0xc000;

enum : unsigned {
  DATA = 0,
  ERROR = 1,
  FEATURE = 1,
  COUNT = 2,
  LBA_LOW = 3,
  LBA_MID = 4,
  LBA_HIGH = 5,
  DEVICE = 6,
  STATUS = 7,
  COMMAND = 7
};

constexpr uint8_t BSY = 0x80, DRDY = 0x40, DSC = 0x10, DRQ = 0x08, ERR = 0x01;
constexpr uint8_t ABRT = 0x04, IDNF = 0x10;
constexpr uint8_t kDiskIdle = DRDY | DSC;

struct IdeRig {
  std::recursive_mutex lock;
  IoPortBus io{lock};
  MmioBus mmio{lock};
  GuestMemory memory{mmio};
  IrqRouter router;
  RecordingSink sink;
  PciBus pci{io, mmio, &router};
  IdeController ide{memory, IrqLine(&router, 14), IrqLine(&router, 15)};

  IdeRig() {
    router.add_sink(&sink);
    memory.add_ram("ram", 0, 1 << 20);
    io.map(0xcf8, 8, &pci);
    pci.add(&ide, 1, 1);
    ide.map_legacy_ports(io);
    test::config_write(io, 1, 1, 0x20, 4, kBusMaster);
    test::config_write(io, 1, 1, 0x04, 2,
                       pci::kCommandIo | pci::kCommandMaster);
  }

  void attach_disk(unsigned index, const std::string &path,
                   DiskImage::Mode mode = DiskImage::Mode::ReadWrite) {
    ide.attach(index, std::make_unique<AtaDisk>(
                          std::make_unique<DiskImage>(path, mode),
                          "SB" + std::to_string(index)));
  }
  void attach_cdrom(unsigned index, const std::string &path) {
    ide.attach(index,
               std::make_unique<AtapiCdrom>(
                   std::make_unique<DiskImage>(path, DiskImage::Mode::ReadOnly),
                   "CD" + std::to_string(index)));
  }

  uint8_t in(uint16_t port) { return uint8_t(io.read(port, 1)); }
  uint16_t in16(uint16_t port) { return uint16_t(io.read(port, 2)); }
  uint32_t in32(uint16_t port) { return io.read(port, 4); }
  void out(uint16_t port, uint8_t value) { io.write(port, 1, value); }
  void out16(uint16_t port, uint16_t value) { io.write(port, 2, value); }
  void out32(uint16_t port, uint32_t value) { io.write(port, 4, value); }

  unsigned rising_edges(unsigned gsi) const {
    unsigned edges = 0;
    bool level = false;
    for (auto [line, high] : sink.events) {
      if (line != gsi)
        continue;
      edges += high && !level;
      level = high;
    }
    return edges;
  }
  bool irq_high(unsigned gsi) const {
    for (auto it = sink.events.rbegin(); it != sink.events.rend(); ++it)
      if (it->first == gsi)
        return it->second;
    return false;
  }

  void lba28(uint16_t base, uint8_t command, uint32_t lba, uint8_t count,
             bool slave = false) {
    out(base + DEVICE, uint8_t(0xe0 | slave << 4 | (lba >> 24 & 0x0f)));
    out(base + COUNT, count);
    out(base + LBA_LOW, uint8_t(lba));
    out(base + LBA_MID, uint8_t(lba >> 8));
    out(base + LBA_HIGH, uint8_t(lba >> 16));
    out(base + COMMAND, command);
  }
  void lba48(uint16_t base, uint8_t command, uint64_t lba, uint16_t count) {
    out(base + DEVICE, 0x40);
    out(base + COUNT, uint8_t(count >> 8));
    out(base + LBA_LOW, uint8_t(lba >> 24));
    out(base + LBA_MID, uint8_t(lba >> 32));
    out(base + LBA_HIGH, uint8_t(lba >> 40));
    out(base + COUNT, uint8_t(count));
    out(base + LBA_LOW, uint8_t(lba));
    out(base + LBA_MID, uint8_t(lba >> 8));
    out(base + LBA_HIGH, uint8_t(lba >> 16));
    out(base + COMMAND, command);
  }

  std::vector<uint8_t> read_pio(uint16_t base, size_t bytes) {
    std::vector<uint8_t> data;
    for (size_t i = 0; i < bytes; i += 2) {
      uint16_t word = in16(base + DATA);
      data.push_back(uint8_t(word));
      data.push_back(uint8_t(word >> 8));
    }
    return data;
  }
  void write_pio(uint16_t base, const std::vector<uint8_t> &data) {
    for (size_t i = 0; i < data.size(); i += 2)
      out16(base + DATA, uint16_t(data[i] | data[i + 1] << 8));
  }
  std::array<uint16_t, 256> identify(uint16_t base, uint8_t command) {
    out(base + COMMAND, command);
    std::vector<uint8_t> bytes = read_pio(base, 512);
    std::array<uint16_t, 256> words{};
    for (unsigned i = 0; i < 256; ++i)
      words[i] = uint16_t(bytes[2 * i] | bytes[2 * i + 1] << 8);
    return words;
  }

  // Writes a PRD table at `table` describing `regions` (address, bytes).
  void prd_table(uint32_t table,
                 std::vector<std::pair<uint32_t, uint32_t>> regions) {
    for (size_t i = 0; i < regions.size(); ++i) {
      uint32_t entry[2] = {regions[i].first,
                           (regions[i].second & 0xffff) |
                               (i + 1 == regions.size() ? 0x80000000u : 0)};
      memory.write(table + 8 * i, entry, sizeof entry);
    }
  }
  void start_dma(unsigned channel, uint32_t table, bool to_memory) {
    uint16_t bm = uint16_t(kBusMaster + 8 * channel);
    out(bm, 0x00); // a new transfer starts from a stopped engine
    out32(bm + 4, table);
    out(bm + 2, 0x06); // clear interrupt and error
    out(bm, uint8_t((to_memory ? 0x08 : 0) | 0x01));
  }
  std::vector<uint8_t> guest(uint32_t address, size_t length) {
    std::vector<uint8_t> data(length);
    memory.read(address, data.data(), length);
    return data;
  }
};

std::string ata_string(const std::array<uint16_t, 256> &id, unsigned first,
                       unsigned words) {
  std::string text;
  for (unsigned i = 0; i < words; ++i) {
    text += char(id[first + i] >> 8);
    text += char(id[first + i] & 0xff);
  }
  return text;
}

// Sends a CDB to the secondary master by PIO and gathers every data block,
// checking the interrupt reason and byte count of each.
std::vector<uint8_t> packet(IdeRig &rig, std::array<uint8_t, 12> cdb,
                            uint16_t byte_limit = 0xfffe,
                            unsigned *blocks = nullptr) {
  rig.out(kSecondary + DEVICE, 0x00);
  rig.out(kSecondary + FEATURE, 0x00);
  rig.out(kSecondary + LBA_MID, uint8_t(byte_limit));
  rig.out(kSecondary + LBA_HIGH, uint8_t(byte_limit >> 8));
  rig.out(kSecondary + COMMAND, 0xa0);
  REQUIRE((rig.in(kSecondary + STATUS) & (BSY | DRQ)) == DRQ);
  REQUIRE(rig.in(kSecondary + COUNT) == 0x01); // CoD: the packet
  for (unsigned i = 0; i < 12; i += 2)
    rig.out16(kSecondary + DATA, uint16_t(cdb[i] | cdb[i + 1] << 8));
  std::vector<uint8_t> data;
  unsigned count = 0;
  while (rig.in(kSecondary + STATUS) & DRQ) {
    REQUIRE(rig.in(kSecondary + COUNT) == 0x02); // IO: data to the host
    unsigned length =
        rig.in(kSecondary + LBA_MID) | rig.in(kSecondary + LBA_HIGH) << 8;
    REQUIRE(length > 0);
    REQUIRE(length <= byte_limit);
    for (unsigned i = 0; i < length; i += 2) {
      uint16_t word = rig.in16(kSecondary + DATA);
      data.push_back(uint8_t(word));
      if (i + 1 < length)
        data.push_back(uint8_t(word >> 8));
    }
    ++count;
  }
  CHECK(rig.in(kSecondary + COUNT) == 0x03); // CoD and IO: status
  if (blocks)
    *blocks = count;
  return data;
}

uint32_t be32(const std::vector<uint8_t> &data, size_t at) {
  return uint32_t(data[at]) << 24 | uint32_t(data[at + 1]) << 16 |
         uint32_t(data[at + 2]) << 8 | data[at + 3];
}

constexpr size_t kDiskSectors = 8192; // 4 MiB
constexpr size_t kCdSectors = 64;

} // namespace

TEST_CASE("ide function identifies as PIIX3 IDE in legacy mode", "[ide]") {
  IdeRig rig;
  CHECK(test::config_read(rig.io, 1, 1, 0x00, 4) == 0x70108086);
  CHECK(test::config_read(rig.io, 1, 1, 0x08, 4) >> 8 == 0x010180);
  CHECK(test::config_read(rig.io, 1, 1, 0x20, 4) == (kBusMaster | 1u));
  CHECK(test::config_read(rig.io, 1, 1, 0x3d, 1) == 0);
  CHECK(test::config_read(rig.io, 1, 1, 0x40, 4) == 0x80008000);
}

TEST_CASE("ide IDENTIFY DEVICE reports capacity and features", "[ide]") {
  // 200 GiB, beyond what 28-bit LBA reaches.
  constexpr uint64_t kSectors = 200ull << 21;
  TempImage file(512, kSectors * 512);
  IdeRig rig;
  rig.attach_disk(0, file.path());

  rig.out(kPrimary + DEVICE, 0xa0);
  rig.out(kPrimary + COMMAND, 0xec);
  CHECK(rig.in(kPrimaryControl) == (kDiskIdle | DRQ));
  CHECK(rig.irq_high(14));
  CHECK(rig.rising_edges(14) == 1);
  std::array<uint16_t, 256> id;
  std::vector<uint8_t> bytes = rig.read_pio(kPrimary, 512);
  for (unsigned i = 0; i < 256; ++i)
    id[i] = uint16_t(bytes[2 * i] | bytes[2 * i + 1] << 8);
  CHECK(rig.in(kPrimary + STATUS) == kDiskIdle);
  CHECK_FALSE(rig.irq_high(14));

  CHECK(id[0] == 0x0040);
  CHECK(id[1] == 16383);
  CHECK(id[3] == 16);
  CHECK(id[6] == 63);
  CHECK(ata_string(id, 10, 10) == "SB0                 ");
  CHECK(ata_string(id, 27, 20).rfind("SABLE HARDDISK  ", 0) == 0);
  CHECK((id[49] & 0x0300) == 0x0300); // LBA and DMA
  CHECK((uint32_t(id[61]) << 16 | id[60]) == 0x0fffffff);
  CHECK((id[83] & 0x0400) != 0); // 48-bit address feature set
  CHECK((id[86] & 0x0400) != 0);
  CHECK((id[83] & 0x3000) == 0x3000); // FLUSH CACHE and FLUSH CACHE EXT
  uint64_t lba48 = 0;
  for (unsigned i = 0; i < 4; ++i)
    lba48 |= uint64_t(id[100 + i]) << (16 * i);
  CHECK(lba48 == kSectors);
  CHECK((id[255] & 0xff) == 0xa5);
  uint8_t sum = 0;
  for (uint8_t byte : bytes)
    sum = uint8_t(sum + byte);
  CHECK(sum == 0);
}

TEST_CASE("ide small disk capacity fits 28-bit LBA", "[ide]") {
  TempImage file(kDiskSectors * 512);
  IdeRig rig;
  rig.attach_disk(0, file.path());
  auto id = rig.identify(kPrimary, 0xec);
  CHECK((uint32_t(id[61]) << 16 | id[60]) == kDiskSectors);
  CHECK(id[100] == kDiskSectors);
  CHECK(id[101] == 0);
  CHECK(id[1] == kDiskSectors / (16 * 63));
}

TEST_CASE("ide PIO READ SECTORS with LBA28", "[ide]") {
  TempImage file(kDiskSectors * 512);
  IdeRig rig;
  rig.attach_disk(0, file.path());
  rig.lba28(kPrimary, 0x20, 1000, 3);
  for (unsigned sector = 0; sector < 3; ++sector) {
    CHECK(rig.rising_edges(14) == sector + 1);
    CHECK(rig.in(kPrimary + STATUS) == (kDiskIdle | DRQ));
    CHECK(rig.read_pio(kPrimary, 512) == pattern((1000 + sector) * 512, 512));
  }
  CHECK(rig.in(kPrimary + STATUS) == kDiskIdle);
  CHECK(rig.rising_edges(14) == 3);
}

TEST_CASE("ide PIO WRITE SECTORS with LBA28 reaches the file", "[ide]") {
  TempImage file(kDiskSectors * 512);
  IdeRig rig;
  rig.attach_disk(0, file.path());
  std::vector<uint8_t> data(2 * 512);
  for (size_t i = 0; i < data.size(); ++i)
    data[i] = uint8_t(i * 7 + 3);
  rig.lba28(kPrimary, 0x30, 77, 2);
  CHECK(rig.in(kPrimary + STATUS) == (kDiskIdle | DRQ));
  CHECK(rig.rising_edges(14) == 0); // no interrupt before the first block
  rig.write_pio(kPrimary, {data.begin(), data.begin() + 512});
  CHECK(file.read(77 * 512, 512) ==
        std::vector<uint8_t>(data.begin(), data.begin() + 512));
  CHECK(rig.rising_edges(14) == 1);
  CHECK(rig.in(kPrimary + STATUS) == (kDiskIdle | DRQ));
  rig.write_pio(kPrimary, {data.begin() + 512, data.end()});
  CHECK(rig.rising_edges(14) == 2);
  CHECK(rig.in(kPrimary + STATUS) == kDiskIdle);
  CHECK(file.read(77 * 512, 1024) == data);
  CHECK(file.read(76 * 512, 512) == pattern(76 * 512, 512));
  CHECK(file.read(79 * 512, 512) == pattern(79 * 512, 512));
}

TEST_CASE("ide LBA48 reads and writes beyond 28 bits", "[ide]") {
  constexpr uint64_t kSectors = 200ull << 21;
  constexpr uint64_t kLba = 0x10000005;
  TempImage file(512, kSectors * 512);
  file.write(kLba * 512, pattern(0, 1024));
  IdeRig rig;
  rig.attach_disk(0, file.path());

  rig.lba48(kPrimary, 0x24, kLba, 2); // READ SECTORS EXT
  CHECK(rig.read_pio(kPrimary, 512) == pattern(0, 512));
  CHECK(rig.read_pio(kPrimary, 512) == pattern(512, 512));
  CHECK(rig.in(kPrimary + STATUS) == kDiskIdle);

  // HOB reads back the high-order bytes of the address.
  rig.out(kPrimaryControl, 0x80);
  CHECK(rig.in(kPrimary + LBA_LOW) == 0x10);
  rig.out(kPrimaryControl, 0x00);
  CHECK(rig.in(kPrimary + LBA_LOW) == 0x05);

  std::vector<uint8_t> data(512, 0x5a);
  rig.lba48(kPrimary, 0x34, kLba + 1, 1); // WRITE SECTORS EXT
  rig.write_pio(kPrimary, data);
  CHECK(rig.in(kPrimary + STATUS) == kDiskIdle);
  CHECK(file.read((kLba + 1) * 512, 512) == data);
  CHECK(file.read(kLba * 512, 512) == pattern(0, 512));
}

TEST_CASE("ide CHS read uses the default geometry", "[ide]") {
  TempImage file(kDiskSectors * 512);
  IdeRig rig;
  rig.attach_disk(0, file.path());
  // Cylinder 1, head 2, sector 3: LBA (1 * 16 + 2) * 63 + 2.
  rig.out(kPrimary + DEVICE, 0xa2);
  rig.out(kPrimary + COUNT, 1);
  rig.out(kPrimary + LBA_LOW, 3);
  rig.out(kPrimary + LBA_MID, 1);
  rig.out(kPrimary + LBA_HIGH, 0);
  rig.out(kPrimary + COMMAND, 0x20);
  CHECK(rig.read_pio(kPrimary, 512) == pattern(1136 * 512, 512));
  CHECK(rig.in(kPrimary + STATUS) == kDiskIdle);

  // Sector 0 does not exist in CHS addressing.
  rig.out(kPrimary + LBA_LOW, 0);
  rig.out(kPrimary + COMMAND, 0x20);
  CHECK(rig.in(kPrimary + STATUS) == (kDiskIdle | ERR));
  CHECK(rig.in(kPrimary + ERROR) == IDNF);
}

TEST_CASE("ide INITIALIZE DEVICE PARAMETERS changes the CHS translation",
          "[ide]") {
  TempImage file(kDiskSectors * 512);
  IdeRig rig;
  rig.attach_disk(0, file.path());
  rig.out(kPrimary + DEVICE, 0xa0 | 3); // 4 heads
  rig.out(kPrimary + COUNT, 32);        // 32 sectors a track
  rig.out(kPrimary + COMMAND, 0x91);
  CHECK(rig.in(kPrimary + STATUS) == kDiskIdle);
  auto id = rig.identify(kPrimary, 0xec);
  CHECK(id[54] == kDiskSectors / (4 * 32));
  CHECK(id[55] == 4);
  CHECK(id[56] == 32);
  // Cylinder 2, head 1, sector 5: LBA (2 * 4 + 1) * 32 + 4.
  rig.out(kPrimary + DEVICE, 0xa1);
  rig.out(kPrimary + COUNT, 1);
  rig.out(kPrimary + LBA_LOW, 5);
  rig.out(kPrimary + LBA_MID, 2);
  rig.out(kPrimary + LBA_HIGH, 0);
  rig.out(kPrimary + COMMAND, 0x20);
  CHECK(rig.read_pio(kPrimary, 512) == pattern(292 * 512, 512));
}

TEST_CASE("ide READ MULTIPLE moves blocks of the multiple count", "[ide]") {
  TempImage file(kDiskSectors * 512);
  IdeRig rig;
  rig.attach_disk(0, file.path());
  rig.lba28(kPrimary, 0xc4, 10, 6);
  CHECK(rig.in(kPrimary + STATUS) == (kDiskIdle | ERR)); // mode not set
  CHECK(rig.in(kPrimary + ERROR) == ABRT);

  rig.out(kPrimary + COUNT, 4);
  rig.out(kPrimary + COMMAND, 0xc6);
  CHECK(rig.in(kPrimary + STATUS) == kDiskIdle);
  unsigned edges = rig.rising_edges(14);
  rig.lba28(kPrimary, 0xc4, 10, 6);
  CHECK(rig.in(kPrimary + STATUS) == (kDiskIdle | DRQ));
  CHECK(rig.read_pio(kPrimary, 4 * 512) == pattern(10 * 512, 4 * 512));
  CHECK(rig.in(kPrimary + STATUS) == (kDiskIdle | DRQ));
  CHECK(rig.read_pio(kPrimary, 2 * 512) == pattern(14 * 512, 2 * 512));
  CHECK(rig.in(kPrimary + STATUS) == kDiskIdle);
  CHECK(rig.rising_edges(14) == edges + 2);
}

TEST_CASE("ide data port takes 32-bit accesses", "[ide]") {
  TempImage file(kDiskSectors * 512);
  IdeRig rig;
  rig.attach_disk(0, file.path());
  rig.lba28(kPrimary, 0x20, 5, 1);
  std::vector<uint8_t> data;
  for (unsigned i = 0; i < 128; ++i) {
    uint32_t dword = rig.in32(kPrimary);
    for (unsigned b = 0; b < 4; ++b)
      data.push_back(uint8_t(dword >> (8 * b)));
  }
  CHECK(data == pattern(5 * 512, 512));
  CHECK(rig.in(kPrimary + STATUS) == kDiskIdle);
}

TEST_CASE("ide bus-master DMA read through a PRD table", "[ide]") {
  TempImage file(kDiskSectors * 512);
  IdeRig rig;
  rig.attach_disk(0, file.path());
  // Three sectors split over two regions, the first an odd size.
  rig.prd_table(0x1000, {{0x20000, 1024 + 256}, {0x30000, 256}});
  rig.out(kPrimary + DEVICE, 0xe0);
  rig.start_dma(0, 0x1000, true);
  CHECK(rig.in(kBusMaster + 2) == 0x01); // active, waiting for the drive
  rig.lba28(kPrimary, 0xc8, 300, 3);     // READ DMA
  CHECK(rig.guest(0x20000, 1280) == pattern(300 * 512, 1280));
  CHECK(rig.guest(0x30000, 256) == pattern(300 * 512 + 1280, 256));
  CHECK(rig.rising_edges(14) == 1);
  CHECK(rig.in(kBusMaster + 2) == 0x04); // interrupt, no longer active
  rig.out(kBusMaster, 0x08);             // stop
  CHECK(rig.in(kPrimary + STATUS) == kDiskIdle);
  CHECK_FALSE(rig.irq_high(14));
  rig.out(kBusMaster + 2, 0x04);
  CHECK(rig.in(kBusMaster + 2) == 0x00);
}

TEST_CASE("ide DMA waits for the bus master start bit", "[ide]") {
  TempImage file(kDiskSectors * 512);
  IdeRig rig;
  rig.attach_disk(0, file.path());
  rig.prd_table(0x1000, {{0x20000, 4096}});
  rig.lba48(kPrimary, 0x25, 40, 2); // READ DMA EXT
  CHECK(rig.in(kPrimaryControl) == (kDiskIdle | DRQ));
  CHECK(rig.rising_edges(14) == 0);
  rig.start_dma(0, 0x1000, true);
  CHECK(rig.guest(0x20000, 1024) == pattern(40 * 512, 1024));
  CHECK(rig.rising_edges(14) == 1);
  // The table describes more than the drive sent: the engine stays active.
  CHECK(rig.in(kBusMaster + 2) == 0x05);
  CHECK(rig.in(kPrimary + STATUS) == kDiskIdle);
}

TEST_CASE("ide bus-master DMA write reaches the file", "[ide]") {
  TempImage file(kDiskSectors * 512);
  IdeRig rig;
  rig.attach_disk(0, file.path());
  std::vector<uint8_t> data(2048);
  for (size_t i = 0; i < data.size(); ++i)
    data[i] = uint8_t(i ^ 0x3c);
  rig.memory.write(0x40000, data.data(), data.size());
  rig.prd_table(0x2000, {{0x40000, 2048}});
  rig.lba28(kPrimary, 0xca, 500, 4); // WRITE DMA
  rig.start_dma(0, 0x2000, false);
  CHECK(file.read(500 * 512, 2048) == data);
  CHECK(rig.rising_edges(14) == 1);
  CHECK(rig.in(kBusMaster + 2) == 0x04);
  CHECK(rig.in(kPrimary + STATUS) == kDiskIdle);

  // A table shorter than the transfer ends the command with an error.
  rig.prd_table(0x2000, {{0x40000, 512}});
  rig.lba28(kPrimary, 0xca, 600, 4);
  rig.start_dma(0, 0x2000, false);
  CHECK(rig.in(kPrimary + STATUS) == (kDiskIdle | ERR));
  CHECK(rig.in(kBusMaster + 2) == 0x04);
}

TEST_CASE("ide DMA needs PCI bus mastering enabled", "[ide]") {
  TempImage file(kDiskSectors * 512);
  IdeRig rig;
  rig.attach_disk(0, file.path());
  test::config_write(rig.io, 1, 1, 0x04, 2, pci::kCommandIo);
  rig.prd_table(0x1000, {{0x20000, 512}});
  rig.lba28(kPrimary, 0xc8, 9, 1);
  rig.start_dma(0, 0x1000, true);
  CHECK(rig.rising_edges(14) == 0);
  CHECK(rig.guest(0x20000, 512) == std::vector<uint8_t>(512, 0));
  test::config_write(rig.io, 1, 1, 0x04, 2,
                     pci::kCommandIo | pci::kCommandMaster);
  CHECK(rig.guest(0x20000, 512) == pattern(9 * 512, 512));
  CHECK(rig.rising_edges(14) == 1);
}

TEST_CASE("ide FLUSH CACHE completes with an interrupt", "[ide]") {
  TempImage file(kDiskSectors * 512);
  IdeRig rig;
  rig.attach_disk(0, file.path());
  rig.out(kPrimary + DEVICE, 0xe0);
  rig.out(kPrimary + COMMAND, 0xe7);
  CHECK(rig.rising_edges(14) == 1);
  CHECK(rig.in(kPrimary + STATUS) == kDiskIdle);
  rig.out(kPrimary + COMMAND, 0xea);
  CHECK(rig.rising_edges(14) == 2);
  CHECK(rig.in(kPrimary + STATUS) == kDiskIdle);
}

TEST_CASE("ide addresses beyond the end fail with IDNF", "[ide]") {
  TempImage file(kDiskSectors * 512);
  IdeRig rig;
  rig.attach_disk(0, file.path());
  rig.lba28(kPrimary, 0x20, kDiskSectors, 1);
  CHECK(rig.rising_edges(14) == 1);
  CHECK(rig.in(kPrimary + STATUS) == (kDiskIdle | ERR));
  CHECK(rig.in(kPrimary + ERROR) == IDNF);
  rig.lba28(kPrimary, 0x30, kDiskSectors - 1, 2);
  CHECK(rig.in(kPrimary + STATUS) == (kDiskIdle | ERR));
  rig.lba48(kPrimary, 0x25, 0xffffffffffffull, 1);
  CHECK(rig.in(kPrimary + STATUS) == (kDiskIdle | ERR));
  CHECK(rig.in(kPrimary + ERROR) == IDNF);
  // Nothing to read after an error.
  CHECK(rig.in16(kPrimary) == 0);
  CHECK(file.read(0, kDiskSectors * 512) == pattern(0, kDiskSectors * 512));
}

TEST_CASE("ide unknown commands abort", "[ide]") {
  TempImage file(kDiskSectors * 512);
  IdeRig rig;
  rig.attach_disk(0, file.path());
  for (uint8_t command : {0x00, 0xa1, 0xb0, 0xf8}) {
    rig.out(kPrimary + COMMAND, command);
    CHECK(rig.in(kPrimary + STATUS) == (kDiskIdle | ERR));
    CHECK(rig.in(kPrimary + ERROR) == ABRT);
  }
  rig.out(kPrimary + FEATURE, 0x03);
  rig.out(kPrimary + COUNT, 0x22); // multiword DMA 2
  rig.out(kPrimary + COMMAND, 0xef);
  CHECK(rig.in(kPrimary + STATUS) == kDiskIdle);
  rig.out(kPrimary + FEATURE, 0x03);
  rig.out(kPrimary + COUNT, 0x47); // Ultra DMA 7 does not exist
  rig.out(kPrimary + COMMAND, 0xef);
  CHECK(rig.in(kPrimary + STATUS) == (kDiskIdle | ERR));
}

TEST_CASE("ide SRST leaves the disk and ATAPI signatures", "[ide]") {
  TempImage disk(kDiskSectors * 512);
  TempImage cd(kCdSectors * 2048);
  IdeRig rig;
  rig.attach_disk(0, disk.path());
  rig.attach_cdrom(2, cd.path());
  for (uint16_t base : {kPrimary, kSecondary})
    rig.out(uint16_t(base + COUNT), 0x55);

  rig.out(kPrimaryControl, 0x04);
  rig.out(kSecondaryControl, 0x04);
  CHECK(rig.in(kPrimary + STATUS) == BSY);
  CHECK(rig.in(kSecondaryControl) == BSY);
  rig.out(kPrimaryControl, 0x00);
  rig.out(kSecondaryControl, 0x00);

  CHECK(rig.in(kPrimary + STATUS) == kDiskIdle);
  CHECK(rig.in(kPrimary + ERROR) == 0x01);
  CHECK(rig.in(kPrimary + COUNT) == 1);
  CHECK(rig.in(kPrimary + LBA_LOW) == 1);
  CHECK(rig.in(kPrimary + LBA_MID) == 0x00);
  CHECK(rig.in(kPrimary + LBA_HIGH) == 0x00);

  CHECK(rig.in(kSecondary + STATUS) == 0x00);
  CHECK(rig.in(kSecondary + ERROR) == 0x01);
  CHECK(rig.in(kSecondary + COUNT) == 1);
  CHECK(rig.in(kSecondary + LBA_LOW) == 1);
  CHECK(rig.in(kSecondary + LBA_MID) == 0x14);
  CHECK(rig.in(kSecondary + LBA_HIGH) == 0xeb);
  CHECK(rig.rising_edges(14) == 0);
  CHECK(rig.rising_edges(15) == 0);

  // The ATAPI device refuses IDENTIFY DEVICE, showing its signature.
  rig.out(kSecondary + LBA_MID, 0);
  rig.out(kSecondary + COMMAND, 0xec);
  CHECK(rig.in(kSecondary + STATUS) == (DRDY | ERR));
  CHECK(rig.in(kSecondary + ERROR) == ABRT);
  CHECK(rig.in(kSecondary + LBA_MID) == 0x14);
  CHECK(rig.rising_edges(15) == 1);
}

TEST_CASE("ide absent drives and empty channels", "[ide]") {
  TempImage disk(kDiskSectors * 512);
  IdeRig rig;
  rig.attach_disk(0, disk.path());
  CHECK(rig.in(kSecondary + STATUS) == 0xff);
  CHECK(rig.in(kSecondary + COUNT) == 0xff);

  rig.out(kPrimary + DEVICE, 0xb0); // the absent slave
  rig.out(kPrimary + COUNT, 0x55);
  CHECK(rig.in(kPrimary + STATUS) == 0x00);
  CHECK(rig.in(kPrimaryControl) == 0x00);
  CHECK(rig.in(kPrimary + COUNT) == 0x55);
  CHECK(rig.in(kPrimary + DEVICE) == 0xb0);
  CHECK(rig.in(kPrimary + ERROR) == 0x00);
  rig.out(kPrimary + COMMAND, 0xec);
  CHECK(rig.rising_edges(14) == 0);
  rig.out(kPrimary + DEVICE, 0xa0);
  CHECK(rig.in(kPrimary + STATUS) == kDiskIdle);

  // Clearing the decode enable bit hides the channel.
  test::config_write(rig.io, 1, 1, 0x40, 2, 0x0000);
  CHECK(rig.in(kPrimary + STATUS) == 0xff);
  test::config_write(rig.io, 1, 1, 0x40, 2, 0x8000);
  CHECK(rig.in(kPrimary + STATUS) == kDiskIdle);
}

TEST_CASE("ide nIEN keeps the interrupt line low", "[ide]") {
  TempImage disk(kDiskSectors * 512);
  IdeRig rig;
  rig.attach_disk(0, disk.path());
  rig.out(kPrimaryControl, 0x02);
  rig.lba28(kPrimary, 0xe7, 0, 0);
  CHECK(rig.rising_edges(14) == 0);
  CHECK(rig.in(kBusMaster + 2) == 0x00);
  rig.out(kPrimaryControl, 0x00);
  CHECK(rig.rising_edges(14) == 1); // still pending until status is read
  CHECK(rig.in(kPrimary + STATUS) == kDiskIdle);
  CHECK_FALSE(rig.irq_high(14));
}

TEST_CASE("ide EXECUTE DEVICE DIAGNOSTIC", "[ide]") {
  TempImage disk(kDiskSectors * 512);
  TempImage cd(kCdSectors * 2048);
  IdeRig rig;
  rig.attach_disk(0, disk.path());
  rig.attach_cdrom(1, cd.path());
  rig.out(kPrimary + DEVICE, 0xb0);
  rig.out(kPrimary + COMMAND, 0x90);
  CHECK(rig.rising_edges(14) == 1);
  CHECK(rig.in(kPrimary + ERROR) == 0x01);
  CHECK(rig.in(kPrimary + STATUS) == kDiskIdle); // device 0 selected again
  rig.out(kPrimary + DEVICE, 0xb0);
  CHECK(rig.in(kPrimary + LBA_HIGH) == 0xeb);
  CHECK(rig.in(kPrimary + ERROR) == 0x01);
}

TEST_CASE("ide read-only image refuses writes", "[ide]") {
  TempImage file(kDiskSectors * 512);
  IdeRig rig;
  rig.attach_disk(0, file.path(), DiskImage::Mode::ReadOnly);
  rig.lba28(kPrimary, 0x30, 3, 1);
  CHECK(rig.in(kPrimary + STATUS) == (kDiskIdle | ERR));
  CHECK(rig.in(kPrimary + ERROR) == ABRT);
  rig.write_pio(kPrimary, std::vector<uint8_t>(512, 0xee));
  rig.prd_table(0x1000, {{0x20000, 512}});
  rig.lba28(kPrimary, 0xca, 3, 1);
  rig.start_dma(0, 0x1000, false);
  CHECK(rig.in(kPrimary + STATUS) == (kDiskIdle | ERR));
  CHECK(file.read(0, kDiskSectors * 512) == pattern(0, kDiskSectors * 512));
  // Reads still work.
  rig.lba28(kPrimary, 0x20, 3, 1);
  CHECK(rig.read_pio(kPrimary, 512) == pattern(3 * 512, 512));
}

TEST_CASE("ide snapshot mode leaves the file unchanged", "[ide]") {
  TempImage file(kDiskSectors * 512);
  IdeRig rig;
  rig.attach_disk(0, file.path(), DiskImage::Mode::Snapshot);
  std::vector<uint8_t> data(512, 0x77);
  rig.lba28(kPrimary, 0x30, 12, 1);
  rig.write_pio(kPrimary, data);
  CHECK(rig.in(kPrimary + STATUS) == kDiskIdle);
  rig.out(kPrimary + COMMAND, 0xe7);
  CHECK(rig.in(kPrimary + STATUS) == kDiskIdle);
  rig.lba28(kPrimary, 0x20, 11, 3);
  CHECK(rig.read_pio(kPrimary, 512) == pattern(11 * 512, 512));
  CHECK(rig.read_pio(kPrimary, 512) == data);
  CHECK(rig.read_pio(kPrimary, 512) == pattern(13 * 512, 512));
  CHECK(file.read(0, kDiskSectors * 512) == pattern(0, kDiskSectors * 512));
}

TEST_CASE("atapi IDENTIFY PACKET DEVICE", "[ide][atapi]") {
  TempImage cd(kCdSectors * 2048);
  IdeRig rig;
  rig.attach_cdrom(2, cd.path());
  auto id = rig.identify(kSecondary, 0xa1);
  CHECK(id[0] == 0x85c0);
  CHECK(ata_string(id, 27, 20).rfind("SABLE CD-ROM  ", 0) == 0);
  CHECK((id[49] & 0x0300) == 0x0300);
  CHECK(rig.in(kSecondary + STATUS) == DRDY);
  CHECK(rig.rising_edges(15) == 1);
}

TEST_CASE("atapi INQUIRY and READ CAPACITY", "[ide][atapi]") {
  TempImage cd(kCdSectors * 2048);
  IdeRig rig;
  rig.attach_cdrom(2, cd.path());
  auto inquiry = packet(rig, {0x12, 0, 0, 0, 96, 0, 0, 0, 0, 0, 0, 0});
  REQUIRE(inquiry.size() == 36);
  CHECK(inquiry[0] == 0x05); // CD/DVD
  CHECK(inquiry[1] == 0x80); // removable
  CHECK(std::string(inquiry.begin() + 8, inquiry.begin() + 16) == "SABLE   ");
  CHECK(rig.in(kSecondary + STATUS) == DRDY);

  // The allocation length cuts the reply.
  CHECK(packet(rig, {0x12, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0}).size() == 5);

  auto capacity = packet(rig, {0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0});
  REQUIRE(capacity.size() == 8);
  CHECK(be32(capacity, 0) == kCdSectors - 1);
  CHECK(be32(capacity, 4) == 2048);
}

TEST_CASE("atapi READ(10) in blocks of the byte count limit", "[ide][atapi]") {
  TempImage cd(kCdSectors * 2048);
  IdeRig rig;
  rig.attach_cdrom(2, cd.path());
  unsigned blocks = 0;
  auto data =
      packet(rig, {0x28, 0, 0, 0, 0, 16, 0, 0, 2, 0, 0, 0}, 2048, &blocks);
  CHECK(data == pattern(16 * 2048, 2 * 2048));
  CHECK(blocks == 2);
  CHECK(rig.in(kSecondary + STATUS) == DRDY);
  CHECK(rig.rising_edges(15) == 3); // two blocks and the status

  // An odd limit gives even blocks that straddle sectors.
  data = packet(rig, {0xa8, 0, 0, 0, 0, 3, 0, 0, 0, 3, 0, 0}, 5001, &blocks);
  CHECK(data == pattern(3 * 2048, 3 * 2048));
  CHECK(blocks == 2);

  // Past the end: CHECK CONDITION, ILLEGAL REQUEST, LBA OUT OF RANGE.
  CHECK(packet(rig, {0x28, 0, 0, 0, 0, 63, 0, 0, 2, 0, 0, 0}).empty());
  CHECK(rig.in(kSecondary + STATUS) == (DRDY | ERR));
  CHECK(rig.in(kSecondary + ERROR) >> 4 == 0x5);
  auto sense = packet(rig, {0x03, 0, 0, 0, 18, 0, 0, 0, 0, 0, 0, 0});
  REQUIRE(sense.size() == 18);
  CHECK(sense[12] == 0x21);
}

TEST_CASE("atapi READ TOC in LBA and MSF form", "[ide][atapi]") {
  TempImage cd(kCdSectors * 2048);
  IdeRig rig;
  rig.attach_cdrom(2, cd.path());
  auto toc = packet(rig, {0x43, 0, 0, 0, 0, 0, 0, 0, 100, 0, 0, 0});
  REQUIRE(toc.size() == 20);
  CHECK(toc[0] == 0);
  CHECK(toc[1] == 18);
  CHECK(toc[2] == 1); // first track
  CHECK(toc[3] == 1); // last track
  CHECK(toc[5] == 0x14);
  CHECK(toc[6] == 1);
  CHECK(be32(toc, 8) == 0);
  CHECK(toc[14] == 0xaa);
  CHECK(be32(toc, 16) == kCdSectors);

  auto msf = packet(rig, {0x43, 0x02, 0, 0, 0, 0, 0, 0, 100, 0, 0, 0});
  REQUIRE(msf.size() == 20);
  CHECK(be32(msf, 8) == 0x00000200); // 00:02:00
  // Lead-out at frame 64 + 150 = 00:02:64.
  CHECK(be32(msf, 16) == 0x00000240);

  auto session = packet(rig, {0x43, 0, 1, 0, 0, 0, 0, 0, 12, 0, 0, 0});
  REQUIRE(session.size() == 12);
  CHECK(session[1] == 10);
  CHECK(session[6] == 1);
}

TEST_CASE("atapi REQUEST SENSE after an unknown command", "[ide][atapi]") {
  TempImage cd(kCdSectors * 2048);
  IdeRig rig;
  rig.attach_cdrom(2, cd.path());
  CHECK(packet(rig, {0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}).empty());
  CHECK(rig.in(kSecondary + STATUS) == (DRDY | ERR));
  CHECK(rig.in(kSecondary + ERROR) == (0x50 | ABRT));
  auto sense = packet(rig, {0x03, 0, 0, 0, 18, 0, 0, 0, 0, 0, 0, 0});
  REQUIRE(sense.size() == 18);
  CHECK(sense[0] == 0x70);
  CHECK(sense[2] == 0x05); // ILLEGAL REQUEST
  CHECK(sense[7] == 10);
  CHECK(sense[12] == 0x20); // INVALID COMMAND OPERATION CODE
  CHECK(rig.in(kSecondary + STATUS) == DRDY);
  // Reading the sense clears it.
  sense = packet(rig, {0x03, 0, 0, 0, 18, 0, 0, 0, 0, 0, 0, 0});
  CHECK(sense[2] == 0x00);
  // So does the next command.
  packet(rig, {0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0});
  CHECK(packet(rig, {0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}).empty());
  CHECK(rig.in(kSecondary + STATUS) == DRDY);
  sense = packet(rig, {0x03, 0, 0, 0, 18, 0, 0, 0, 0, 0, 0, 0});
  CHECK(sense[2] == 0x00);
}

TEST_CASE("atapi commands Linux sends while probing", "[ide][atapi]") {
  TempImage cd(kCdSectors * 2048);
  IdeRig rig;
  rig.attach_cdrom(2, cd.path());

  auto config = packet(rig, {0x46, 0x02, 0, 0, 0, 0, 0, 0, 64, 0, 0, 0});
  REQUIRE(config.size() >= 16);
  CHECK((config[6] << 8 | config[7]) == 0x0008); // current profile CD-ROM
  CHECK((config[8] << 8 | config[9]) == 0x0000); // the profile list alone
  CHECK(config.size() == 16);

  auto caps = packet(rig, {0x5a, 0, 0x2a, 0, 0, 0, 0, 0, 128, 0, 0, 0});
  REQUIRE(caps.size() == 28);
  CHECK((caps[0] << 8 | caps[1]) == 26);
  CHECK(caps[8] == 0x2a);
  CHECK(caps[9] == 0x12);
  CHECK((caps[8 + 6] & 0x08) != 0); // can eject

  auto recovery = packet(rig, {0x5a, 0, 0x01, 0, 0, 0, 0, 0, 128, 0, 0, 0});
  REQUIRE(recovery.size() == 20);
  CHECK(recovery[8] == 0x01);

  CHECK(packet(rig, {0x5a, 0, 0x0e, 0, 0, 0, 0, 0, 128, 0, 0, 0}).empty());
  CHECK(rig.in(kSecondary + STATUS) == (DRDY | ERR));
  auto sense = packet(rig, {0x03, 0, 0, 0, 18, 0, 0, 0, 0, 0, 0, 0});
  CHECK(sense[12] == 0x24); // INVALID FIELD IN CDB

  auto event = packet(rig, {0x4a, 0x01, 0, 0, 0x10, 0, 0, 0, 8, 0, 0, 0});
  REQUIRE(event.size() == 8);
  CHECK(event[2] == 0x04); // media class
  CHECK(event[5] == 0x02); // media present
  CHECK(packet(rig, {0x4a, 0x00, 0, 0, 0x10, 0, 0, 0, 8, 0, 0, 0}).empty());
  CHECK(rig.in(kSecondary + STATUS) == (DRDY | ERR));

  auto disc = packet(rig, {0x51, 0, 0, 0, 0, 0, 0, 0, 34, 0, 0, 0});
  REQUIRE(disc.size() == 34);
  CHECK(disc[2] == 0x0e);
  auto mechanism = packet(rig, {0xbd, 0, 0, 0, 0, 0, 0, 0, 0, 8, 0, 0});
  CHECK(mechanism.size() == 8);

  const std::array<uint8_t, 12> no_data[] = {
      {0x00}, {0x1e, 0, 0, 0, 1}, {0x1b, 0, 0, 0, 1}, {0xbb, 0, 0xff, 0xff}};
  for (const std::array<uint8_t, 12> &cdb : no_data) {
    CHECK(packet(rig, cdb).empty());
    CHECK(rig.in(kSecondary + STATUS) == DRDY);
  }
}

TEST_CASE("atapi READ(10) by DMA", "[ide][atapi]") {
  TempImage cd(kCdSectors * 2048);
  IdeRig rig;
  rig.attach_cdrom(2, cd.path());
  rig.prd_table(0x3000, {{0x50000, 4 * 2048}});
  rig.out(kSecondary + DEVICE, 0x00);
  rig.out(kSecondary + FEATURE, 0x01); // DMA
  rig.out(kSecondary + COMMAND, 0xa0);
  std::array<uint8_t, 12> cdb{0x28, 0, 0, 0, 0, 7, 0, 0, 4, 0, 0, 0};
  for (unsigned i = 0; i < 12; i += 2)
    rig.out16(kSecondary + DATA, uint16_t(cdb[i] | cdb[i + 1] << 8));
  CHECK(rig.rising_edges(15) == 0);
  rig.start_dma(1, 0x3000, true);
  CHECK(rig.guest(0x50000, 4 * 2048) == pattern(7 * 2048, 4 * 2048));
  CHECK(rig.rising_edges(15) == 1);
  CHECK(rig.in(kBusMaster + 8 + 2) == 0x04);
  CHECK(rig.in(kSecondary + STATUS) == DRDY);
  CHECK(rig.in(kSecondary + COUNT) == 0x03);
}

TEST_CASE("atapi drive without a medium is not ready", "[ide][atapi]") {
  IdeRig rig;
  rig.ide.attach(2, std::make_unique<AtapiCdrom>(nullptr, "CD2"));
  CHECK(packet(rig, {0x00}).empty());
  CHECK(rig.in(kSecondary + STATUS) == (DRDY | ERR));
  CHECK(rig.in(kSecondary + ERROR) >> 4 == 0x2);
  auto sense = packet(rig, {0x03, 0, 0, 0, 18, 0, 0, 0, 0, 0, 0, 0});
  CHECK(sense[12] == 0x3a);
  CHECK(packet(rig, {0x28, 0, 0, 0, 0, 0, 0, 0, 1}).empty());
  CHECK(rig.in(kSecondary + STATUS) == (DRDY | ERR));
}

TEST_CASE("ide state round trip resumes a transfer", "[ide]") {
  TempImage disk(kDiskSectors * 512);
  TempImage cd(kCdSectors * 2048);
  StateWriter out;
  std::vector<uint8_t> expected_disk, expected_cd;
  {
    IdeRig rig;
    rig.attach_disk(0, disk.path());
    rig.attach_cdrom(2, cd.path());
    rig.out(kPrimary + COUNT, 8);
    rig.out(kPrimary + COMMAND, 0xc6); // multiple mode, 8 sectors
    rig.lba28(kPrimary, 0xc4, 100, 12);
    rig.read_pio(kPrimary, 1000);
    // The CD in the middle of a READ(10) block.
    rig.out(kSecondary + LBA_MID, 0x00);
    rig.out(kSecondary + LBA_HIGH, 0x08);
    rig.out(kSecondary + COMMAND, 0xa0);
    std::array<uint8_t, 12> cdb{0x28, 0, 0, 0, 0, 5, 0, 0, 2, 0, 0, 0};
    for (unsigned i = 0; i < 12; i += 2)
      rig.out16(kSecondary + DATA, uint16_t(cdb[i] | cdb[i + 1] << 8));
    rig.read_pio(kSecondary, 100);
    rig.out32(kBusMaster + 4, 0x12340);
    rig.out(kPrimaryControl, 0x80);
    rig.pci.save(out);
  }
  expected_disk = pattern(100 * 512 + 1000, 12 * 512 - 1000);
  expected_cd = pattern(5 * 2048 + 100, 2 * 2048 - 100);

  IdeRig rig;
  rig.attach_disk(0, disk.path());
  rig.attach_cdrom(2, cd.path());
  StateReader in(out.data());
  rig.pci.load(in);
  CHECK(rig.in32(kBusMaster + 4) == 0x12340);
  // HOB was set: the value before 100, the signature's 1.
  CHECK(rig.in(kPrimary + LBA_LOW) == 1);
  rig.out(kPrimaryControl, 0x00);
  CHECK(rig.in(kPrimary + LBA_LOW) == 100);
  CHECK(rig.in(kPrimary + STATUS) == (kDiskIdle | DRQ));
  CHECK(rig.read_pio(kPrimary, 8 * 512 - 1000) ==
        std::vector<uint8_t>(expected_disk.begin(),
                             expected_disk.begin() + 8 * 512 - 1000));
  CHECK(rig.in(kPrimary + STATUS) == (kDiskIdle | DRQ));
  CHECK(rig.read_pio(kPrimary, 4 * 512) ==
        std::vector<uint8_t>(expected_disk.begin() + 8 * 512 - 1000,
                             expected_disk.end()));
  CHECK(rig.in(kPrimary + STATUS) == kDiskIdle);

  std::vector<uint8_t> rest = rig.read_pio(kSecondary, 2048 - 100);
  CHECK(rig.in(kSecondary + STATUS) == (DRDY | DRQ));
  std::vector<uint8_t> second = rig.read_pio(kSecondary, 2048);
  rest.insert(rest.end(), second.begin(), second.end());
  CHECK(rest == expected_cd);
  CHECK(rig.in(kSecondary + STATUS) == DRDY);

  // A machine with other drives refuses the state.
  IdeRig other;
  other.attach_disk(0, disk.path());
  StateReader again(out.data());
  CHECK_THROWS_AS(other.pci.load(again), StateError);
}
