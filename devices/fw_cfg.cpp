#include "devices/fw_cfg.h"

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "machine/io_bus.h"
#include "machine/log.h"
#include "machine/memory.h"
#include "machine/state.h"

namespace sable {

namespace {

// Bit 14 of the selector asks for write access to the item; the item key
// is the rest.
constexpr uint16_t kWriteChannel = 0x4000;
constexpr uint16_t kLastFileKey = 0x3fff;
constexpr char kDmaSignature[8] = {'Q', 'E', 'M', 'U', ' ', 'C', 'F', 'G'};
constexpr size_t kDirectoryEntrySize = 64;
constexpr size_t kDmaAccessSize = 16;

uint32_t load_be32(const uint8_t *p) {
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 |
         p[3];
}

uint64_t load_be64(const uint8_t *p) {
  return uint64_t{load_be32(p)} << 32 | load_be32(p + 4);
}

void store_be(uint8_t *p, uint64_t value, unsigned bytes) {
  for (unsigned i = 0; i < bytes; ++i)
    p[i] = uint8_t(value >> (8 * (bytes - 1 - i)));
}

std::vector<uint8_t> little_endian(uint64_t value, unsigned bytes) {
  std::vector<uint8_t> out(bytes);
  for (unsigned i = 0; i < bytes; ++i)
    out[i] = uint8_t(value >> (8 * i));
  return out;
}

// Zero-fills [gpa, gpa + length) where something is mapped; unmapped gaps
// are skipped so a huge guest-supplied length costs only the mapped part.
void fill_zeros(GuestMemory &memory, uint64_t gpa, uint64_t length) {
  static const uint8_t zeros[4096] = {};
  uint64_t end = gpa + length < gpa ? ~uint64_t{0} : gpa + length;
  for (const GuestMemory::Segment &s : memory.segments()) {
    uint64_t from = std::max(gpa, s.base);
    uint64_t to = std::min(end, s.base + s.length);
    for (uint64_t at = from; at < to;) {
      uint64_t chunk = std::min<uint64_t>(to - at, sizeof zeros);
      memory.write(at, zeros, chunk);
      at += chunk;
    }
  }
}

} // namespace

FwCfg::FwCfg(GuestMemory &memory) : memory_(memory) {
  add_string(SIGNATURE, "QEMU");
  add_u32(ID, kIdTraditional | kIdDma);
  add_bytes(UUID, std::vector<uint8_t>(16, 0));
  add_u64(NUMA, 0);
  add_u16(NB_CPUS, 1);
  add_u16(MAX_CPUS, 1);
  add_u16(BOOT_MENU, 0);
  rebuild_directory();
}

void FwCfg::add_bytes(uint16_t key, std::vector<uint8_t> bytes) {
  items_[key & ~kWriteChannel] = std::move(bytes);
  if ((key & ~kWriteChannel) >= FILE_FIRST && key <= kLastFileKey)
    rebuild_directory();
}

void FwCfg::add_u16(uint16_t key, uint16_t value) {
  add_bytes(key, little_endian(value, 2));
}

void FwCfg::add_u32(uint16_t key, uint32_t value) {
  add_bytes(key, little_endian(value, 4));
}

void FwCfg::add_u64(uint16_t key, uint64_t value) {
  add_bytes(key, little_endian(value, 8));
}

void FwCfg::add_string(uint16_t key, const std::string &value) {
  add_bytes(key, std::vector<uint8_t>(value.begin(), value.end()));
}

uint16_t FwCfg::add_file(const std::string &name, std::vector<uint8_t> bytes) {
  if (name.empty() || name.size() > kMaxFileName)
    throw std::invalid_argument("fw_cfg file name '" + name +
                                "' must be 1 to 55 characters");
  auto known = files_.find(name);
  uint16_t key;
  if (known != files_.end()) {
    key = known->second;
  } else {
    if (FILE_FIRST + files_.size() > kLastFileKey)
      throw std::invalid_argument("fw_cfg has no selector left for " + name);
    key = uint16_t(FILE_FIRST + files_.size());
    files_.emplace(name, key);
  }
  add_bytes(key, std::move(bytes));
  return key;
}

bool FwCfg::has_file(const std::string &name) const {
  return files_.count(name) != 0;
}

void FwCfg::rebuild_directory() {
  std::vector<uint8_t> dir(4 + files_.size() * kDirectoryEntrySize, 0);
  store_be(dir.data(), files_.size(), 4);
  uint8_t *entry = dir.data() + 4;
  for (const auto &[file_name, key] : files_) {
    auto item = items_.find(key);
    uint64_t size = item == items_.end() ? 0 : item->second.size();
    store_be(entry, size, 4);
    store_be(entry + 4, key, 2);
    std::memcpy(entry + 8, file_name.data(), file_name.size());
    entry += kDirectoryEntrySize;
  }
  items_[FILE_DIR] = std::move(dir);
}

void FwCfg::select(uint16_t selector) {
  selector_ = selector;
  offset_ = 0;
}

const std::vector<uint8_t> *FwCfg::current_item() const {
  auto item = items_.find(selector_ & ~kWriteChannel);
  return item == items_.end() ? nullptr : &item->second;
}

uint8_t FwCfg::next_data_byte() {
  const std::vector<uint8_t> *item = current_item();
  if (!item || offset_ >= item->size())
    return 0;
  return (*item)[offset_++];
}

uint64_t FwCfg::read(uint64_t offset, unsigned size) {
  if (offset == kDataOffset) {
    // The register is 8 bits wide; wider reads return successive bytes in
    // the order a string read would store them.
    uint64_t value = 0;
    for (unsigned i = 0; i < size; ++i)
      value |= uint64_t{next_data_byte()} << (8 * i);
    return value;
  }
  if (offset >= kDmaOffset && offset < kDmaOffset + 8) {
    uint64_t value = 0;
    for (unsigned i = 0; i < size && offset - kDmaOffset + i < 8; ++i)
      value |= uint64_t{uint8_t(kDmaSignature[offset - kDmaOffset + i])}
               << (8 * i);
    return value;
  }
  if (offset == kSelectorOffset)
    return 0;
  SABLE_LOG_ONCE(LOG_UNIMP, "fw_cfg: read of unused offset %u\n",
                 unsigned(offset));
  return all_ones(size);
}

void FwCfg::write(uint64_t offset, unsigned size, uint64_t value) {
  if (offset == kSelectorOffset) {
    select(uint16_t(value));
  } else if (offset == kDataOffset) {
    SABLE_LOG_ONCE(LOG_GUEST_ERRORS,
                   "fw_cfg: writes through the data register are ignored\n");
  } else if (offset == kDmaOffset && size == 8) {
    run_dma(__builtin_bswap64(value));
  } else if (offset == kDmaOffset && size == 4) {
    dma_address_high_ = __builtin_bswap32(uint32_t(value));
  } else if (offset == kDmaOffset + 4 && size == 4) {
    // Writing the low half starts the transfer; the high half then reads
    // as zero again so 32-bit guests need only ever write the low half.
    uint64_t address =
        uint64_t{dma_address_high_} << 32 | __builtin_bswap32(uint32_t(value));
    dma_address_high_ = 0;
    run_dma(address);
  } else {
    SABLE_LOG_ONCE(LOG_GUEST_ERRORS,
                   "fw_cfg: write of size %u at offset %u ignored\n", size,
                   unsigned(offset));
  }
}

void FwCfg::run_dma(uint64_t access_address) {
  uint8_t access[kDmaAccessSize];
  memory_.read(access_address, access, sizeof access);
  uint32_t control = load_be32(access);
  uint32_t length = load_be32(access + 4);
  uint64_t address = load_be64(access + 8);

  if (control & DMA_SELECT)
    select(uint16_t(control >> 16));

  bool failed = false;
  const std::vector<uint8_t> *item = current_item();
  uint32_t available =
      item && offset_ < item->size() ? uint32_t(item->size() - offset_) : 0;
  uint32_t in_item = std::min(length, available);
  if (control & DMA_WRITE) {
    SABLE_LOG_ONCE(LOG_GUEST_ERRORS,
                   "fw_cfg: DMA write to item 0x%x refused (read-only)\n",
                   unsigned(selector_));
    failed = true;
  } else if (control & DMA_READ) {
    if (in_item)
      memory_.write(address, item->data() + offset_, in_item);
    fill_zeros(memory_, address + in_item, length - in_item);
    offset_ += in_item;
  } else if (control & DMA_SKIP) {
    offset_ += in_item;
  }

  uint8_t status[4];
  store_be(status, failed ? uint32_t{DMA_ERROR} : 0u, 4);
  memory_.write(access_address, status, sizeof status);
}

void FwCfg::reset() {
  select(0);
  dma_address_high_ = 0;
}

void FwCfg::save(StateWriter &out) const {
  out.begin_section("fw_cfg", 1);
  out.u16(selector_);
  out.u32(offset_);
  out.u32(dma_address_high_);
  out.end_section();
}

void FwCfg::load(StateReader &in) {
  in.begin_section("fw_cfg", 1);
  selector_ = in.u16();
  offset_ = in.u32();
  dma_address_high_ = in.u32();
  in.end_section();
}

} // namespace sable
