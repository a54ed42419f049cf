#include "devices/ata_disk.h"

#include <algorithm>
#include <vector>

#include "devices/disk_image.h"
#include "machine/state.h"

namespace sable {

namespace {

constexpr size_t kSector = DiskImage::kSectorSize;
constexpr uint16_t kDefaultHeads = 16;
constexpr uint16_t kDefaultSectorsPerTrack = 63;
constexpr uint16_t kMaxDefaultCylinders = 16383;
constexpr uint64_t kMaxLba28Sectors = 0x0fffffff;
// Sectors a READ/WRITE MULTIPLE block may hold (IDENTIFY word 47).
constexpr uint8_t kMaxMultipleSectors = 16;
// Sectors the DMA engine moves between the image and guest memory at once.
constexpr uint32_t kDmaChunkSectors = 128;

enum Command : uint8_t {
  RECALIBRATE = 0x10,
  READ_SECTORS = 0x20,
  READ_SECTORS_NO_RETRY = 0x21,
  READ_SECTORS_EXT = 0x24,
  READ_DMA_EXT = 0x25,
  READ_MULTIPLE_EXT = 0x29,
  WRITE_SECTORS = 0x30,
  WRITE_SECTORS_NO_RETRY = 0x31,
  WRITE_SECTORS_EXT = 0x34,
  WRITE_DMA_EXT = 0x35,
  WRITE_MULTIPLE_EXT = 0x39,
  READ_VERIFY = 0x40,
  READ_VERIFY_NO_RETRY = 0x41,
  READ_VERIFY_EXT = 0x42,
  SEEK = 0x70,
  INITIALIZE_DEVICE_PARAMETERS = 0x91,
  READ_MULTIPLE = 0xc4,
  WRITE_MULTIPLE = 0xc5,
  SET_MULTIPLE_MODE = 0xc6,
  READ_DMA = 0xc8,
  READ_DMA_NO_RETRY = 0xc9,
  WRITE_DMA = 0xca,
  WRITE_DMA_NO_RETRY = 0xcb,
  STANDBY_IMMEDIATE = 0xe0,
  IDLE_IMMEDIATE = 0xe1,
  STANDBY = 0xe2,
  IDLE = 0xe3,
  CHECK_POWER_MODE = 0xe5,
  SLEEP = 0xe6,
  FLUSH_CACHE = 0xe7,
  FLUSH_CACHE_EXT = 0xea,
  IDENTIFY_DEVICE = 0xec,
  SET_FEATURES = 0xef,
};

// ATA-1 power commands, still sent by old software.
constexpr uint8_t kLegacyStandbyImmediate = 0x94;
constexpr uint8_t kLegacyIdleImmediate = 0x95;
constexpr uint8_t kLegacyStandby = 0x96;
constexpr uint8_t kLegacyIdle = 0x97;
constexpr uint8_t kLegacySleep = 0x99;

enum Feature : uint8_t {
  ENABLE_WRITE_CACHE = 0x02,
  SET_TRANSFER_MODE = 0x03,
  DISABLE_READ_LOOK_AHEAD = 0x55,
  DISABLE_REVERTING_TO_DEFAULTS = 0x66,
  DISABLE_WRITE_CACHE = 0x82,
  ENABLE_READ_LOOK_AHEAD = 0xaa,
  ENABLE_REVERTING_TO_DEFAULTS = 0xcc,
};

constexpr uint8_t kPowerModeActive = 0xff;

} // namespace

AtaDisk::AtaDisk(std::unique_ptr<DiskImage> image, std::string serial)
    : IdeDrive(ata::kStatusReady | ata::kStatusSeekComplete,
               ata::kStatusReady | ata::kStatusSeekComplete),
      image_(std::move(image)), serial_(std::move(serial)),
      sectors_(image_->size() / kSector) {
  uint64_t cylinders = sectors_ / (kDefaultHeads * kDefaultSectorsPerTrack);
  default_cylinders_ =
      uint16_t(std::clamp<uint64_t>(cylinders, 1, kMaxDefaultCylinders));
  restore_defaults();
}

AtaDisk::~AtaDisk() = default;

void AtaDisk::restore_defaults() {
  heads_ = kDefaultHeads;
  sectors_per_track_ = kDefaultSectorsPerTrack;
  cylinders_ = default_cylinders_;
  multiple_sectors_ = 0;
  write_cache_ = true;
  remaining_ = 0;
}

void AtaDisk::write_signature() {
  set_reg(ata::kCount, 0x01);
  set_reg(ata::kLbaLow, 0x01);
  set_reg(ata::kLbaMid, 0x00);
  set_reg(ata::kLbaHigh, 0x00);
  set_reg(ata::kDevice, 0x00);
}

void AtaDisk::execute_command(uint8_t command) {
  if ((command & 0xf0) == RECALIBRATE || (command & 0xf0) == SEEK) {
    finish();
    return;
  }
  switch (command) {
  case READ_SECTORS:
  case READ_SECTORS_NO_RETRY:
    start_pio(false, false, false);
    break;
  case READ_SECTORS_EXT:
    start_pio(true, false, false);
    break;
  case READ_MULTIPLE:
    start_pio(false, false, true);
    break;
  case READ_MULTIPLE_EXT:
    start_pio(true, false, true);
    break;
  case WRITE_SECTORS:
  case WRITE_SECTORS_NO_RETRY:
    start_pio(false, true, false);
    break;
  case WRITE_SECTORS_EXT:
    start_pio(true, true, false);
    break;
  case WRITE_MULTIPLE:
    start_pio(false, true, true);
    break;
  case WRITE_MULTIPLE_EXT:
    start_pio(true, true, true);
    break;
  case READ_DMA:
  case READ_DMA_NO_RETRY:
    start_dma(false, false);
    break;
  case READ_DMA_EXT:
    start_dma(true, false);
    break;
  case WRITE_DMA:
  case WRITE_DMA_NO_RETRY:
    start_dma(false, true);
    break;
  case WRITE_DMA_EXT:
    start_dma(true, true);
    break;
  case READ_VERIFY:
  case READ_VERIFY_NO_RETRY:
    verify(false);
    break;
  case READ_VERIFY_EXT:
    verify(true);
    break;
  case FLUSH_CACHE:
  case FLUSH_CACHE_EXT:
    flush_cache();
    break;
  case IDENTIFY_DEVICE:
    identify();
    break;
  case SET_FEATURES:
    set_features();
    break;
  case INITIALIZE_DEVICE_PARAMETERS:
    initialize_device_parameters();
    break;
  case SET_MULTIPLE_MODE:
    set_multiple_mode();
    break;
  case CHECK_POWER_MODE:
    set_reg(ata::kCount, kPowerModeActive);
    finish();
    break;
  // Power management has no effect on an image: the disk stays active.
  case STANDBY_IMMEDIATE:
  case IDLE_IMMEDIATE:
  case STANDBY:
  case IDLE:
  case SLEEP:
  case kLegacyStandbyImmediate:
  case kLegacyIdleImmediate:
  case kLegacyStandby:
  case kLegacyIdle:
  case kLegacySleep:
    finish();
    break;
  default:
    reject(command);
    break;
  }
}

void AtaDisk::identify() {
  uint16_t id[256] = {};
  uint64_t lba28 = std::min(sectors_, kMaxLba28Sectors);
  uint32_t current_capacity =
      uint32_t(cylinders_) * heads_ * sectors_per_track_;
  id[0] = 0x0040; // fixed device
  id[1] = default_cylinders_;
  id[3] = kDefaultHeads;
  id[6] = kDefaultSectorsPerTrack;
  put_common_identify(id, serial_, "SABLE HARDDISK");
  id[47] = 0x8000 | kMaxMultipleSectors;
  id[51] = 0x0200; // PIO timing mode 2 (obsolete field)
  // Words 54-58, 64-70 and 88 are valid.
  id[53] = 0x0007;
  id[54] = cylinders_;
  id[55] = heads_;
  id[56] = sectors_per_track_;
  id[57] = uint16_t(current_capacity);
  id[58] = uint16_t(current_capacity >> 16);
  if (multiple_sectors_)
    id[59] = 0x0100 | multiple_sectors_;
  id[60] = uint16_t(lba28);
  id[61] = uint16_t(lba28 >> 16);
  id[80] = 0x00f0; // ATA/ATAPI-4 to -7
  // Supported and enabled: write cache, power management; FLUSH CACHE,
  // FLUSH CACHE EXT, 48-bit addresses.
  id[82] = 0x0028;
  id[83] = 0x7400;
  id[84] = 0x4000;
  id[85] = uint16_t(0x0008 | (write_cache_ ? 0x0020 : 0));
  id[86] = 0x3400;
  id[87] = 0x4000;
  for (unsigned i = 0; i < 4; ++i)
    id[100 + i] = uint16_t(sectors_ >> (16 * i));
  send_identify(id);
}

bool AtaDisk::take_range(bool lba48) {
  uint64_t lba;
  uint32_t count;
  uint8_t device = reg(ata::kDevice);
  if (lba48) {
    lba = uint64_t(reg(ata::kLbaLow)) | uint64_t(reg(ata::kLbaMid)) << 8 |
          uint64_t(reg(ata::kLbaHigh)) << 16 |
          uint64_t(previous(ata::kLbaLow)) << 24 |
          uint64_t(previous(ata::kLbaMid)) << 32 |
          uint64_t(previous(ata::kLbaHigh)) << 40;
    count = uint32_t(reg(ata::kCount)) | uint32_t(previous(ata::kCount)) << 8;
    if (count == 0)
      count = 0x10000;
  } else {
    count = reg(ata::kCount) ? reg(ata::kCount) : 0x100;
    if (device & ata::kDeviceLba) {
      lba = uint64_t(reg(ata::kLbaLow)) | uint64_t(reg(ata::kLbaMid)) << 8 |
            uint64_t(reg(ata::kLbaHigh)) << 16 | uint64_t(device & 0x0f) << 24;
    } else {
      uint32_t cylinder = reg(ata::kLbaMid) | uint32_t(reg(ata::kLbaHigh)) << 8;
      uint32_t head = device & 0x0f;
      uint32_t sector = reg(ata::kLbaLow);
      if (sector == 0 || sector > sectors_per_track_ || head >= heads_ ||
          cylinder >= cylinders_) {
        fail(ata::kErrorIdNotFound);
        return false;
      }
      lba = (uint64_t(cylinder) * heads_ + head) * sectors_per_track_ + sector -
            1;
    }
  }
  if (lba >= sectors_ || count > sectors_ - lba) {
    fail(ata::kErrorIdNotFound);
    return false;
  }
  next_lba_ = lba;
  remaining_ = count;
  return true;
}

void AtaDisk::start_pio(bool lba48, bool write, bool multiple) {
  if (multiple && multiple_sectors_ == 0) {
    fail(ata::kErrorAbort);
    return;
  }
  if (write && !image_->writable()) {
    fail(ata::kErrorAbort);
    return;
  }
  if (!take_range(lba48))
    return;
  writing_ = write;
  block_sectors_ = multiple ? multiple_sectors_ : 1;
  if (!write) {
    read_next_block();
    return;
  }
  block(std::min<uint32_t>(block_sectors_, remaining_) * kSector);
  receive_block(false);
}

void AtaDisk::read_next_block() {
  uint32_t count = std::min<uint32_t>(block_sectors_, remaining_);
  uint8_t *data = block(count * kSector);
  if (!image_->read(next_lba_ * kSector, data, count * kSector)) {
    fail(ata::kErrorUncorrectable);
    return;
  }
  next_lba_ += count;
  remaining_ -= count;
  send_block();
}

void AtaDisk::write_block() {
  const std::vector<uint8_t> &data = buffer();
  uint32_t count = uint32_t(data.size() / kSector);
  if (count > remaining_ ||
      !image_->write(next_lba_ * kSector, data.data(), data.size()) ||
      !committed(true)) {
    fail(ata::kErrorAbort);
    return;
  }
  next_lba_ += count;
  remaining_ -= count;
  if (remaining_ == 0) {
    finish();
    return;
  }
  block(std::min<uint32_t>(block_sectors_, remaining_) * kSector);
  receive_block(true);
}

void AtaDisk::buffer_done() {
  if (writing_) {
    write_block();
    return;
  }
  if (remaining_ > 0)
    read_next_block();
  else
    finish_quietly();
}

void AtaDisk::start_dma(bool lba48, bool write) {
  if (write && !image_->writable()) {
    fail(ata::kErrorAbort);
    return;
  }
  if (!take_range(lba48))
    return;
  writing_ = write;
  request_dma();
}

void AtaDisk::transfer_dma(IdeDma &dma) {
  std::vector<uint8_t> chunk;
  while (remaining_ > 0) {
    uint32_t count = std::min(remaining_, kDmaChunkSectors);
    size_t bytes = count * kSector;
    chunk.resize(bytes);
    if (writing_) {
      if (dma.from_memory(chunk.data(), bytes) != bytes) {
        fail(ata::kErrorAbort);
        return;
      }
      if (!image_->write(next_lba_ * kSector, chunk.data(), bytes)) {
        fail(ata::kErrorAbort);
        return;
      }
    } else {
      if (!image_->read(next_lba_ * kSector, chunk.data(), bytes)) {
        fail(ata::kErrorUncorrectable);
        return;
      }
      if (dma.to_memory(chunk.data(), bytes) != bytes) {
        fail(ata::kErrorAbort);
        return;
      }
    }
    next_lba_ += count;
    remaining_ -= count;
  }
  if (!committed(writing_)) {
    fail(ata::kErrorAbort);
    return;
  }
  finish();
}

// With the write cache disabled a write completes only once it is durable.
bool AtaDisk::committed(bool wrote) {
  return !wrote || write_cache_ || image_->flush();
}

void AtaDisk::verify(bool lba48) {
  if (take_range(lba48))
    finish();
}

void AtaDisk::flush_cache() {
  if (image_->flush())
    finish();
  else
    fail(ata::kErrorAbort);
}

void AtaDisk::set_features() {
  switch (reg(ata::kFeature)) {
  case SET_TRANSFER_MODE:
    if (!set_transfer_mode(reg(ata::kCount))) {
      fail(ata::kErrorAbort);
      return;
    }
    break;
  case ENABLE_WRITE_CACHE:
    write_cache_ = true;
    break;
  case DISABLE_WRITE_CACHE:
    if (!image_->flush()) {
      fail(ata::kErrorAbort);
      return;
    }
    write_cache_ = false;
    break;
  case ENABLE_READ_LOOK_AHEAD:
  case DISABLE_READ_LOOK_AHEAD:
  case ENABLE_REVERTING_TO_DEFAULTS:
  case DISABLE_REVERTING_TO_DEFAULTS:
    break;
  default:
    fail(ata::kErrorAbort);
    return;
  }
  finish();
}

void AtaDisk::initialize_device_parameters() {
  uint16_t sectors_per_track = reg(ata::kCount);
  uint16_t heads = uint16_t((reg(ata::kDevice) & 0x0f) + 1);
  if (sectors_per_track == 0) {
    fail(ata::kErrorAbort);
    return;
  }
  heads_ = heads;
  sectors_per_track_ = sectors_per_track;
  cylinders_ = uint16_t(std::min<uint64_t>(
      sectors_ / (uint64_t(heads) * sectors_per_track), 0xffff));
  finish();
}

void AtaDisk::set_multiple_mode() {
  uint8_t count = reg(ata::kCount);
  bool power_of_two = (count & (count - 1)) == 0;
  if (count > kMaxMultipleSectors || !power_of_two) {
    fail(ata::kErrorAbort);
    return;
  }
  multiple_sectors_ = count;
  finish();
}

void AtaDisk::save_drive(StateWriter &out) const {
  out.u64(sectors_);
  out.u16(heads_);
  out.u16(sectors_per_track_);
  out.u16(cylinders_);
  out.u8(multiple_sectors_);
  out.boolean(write_cache_);
  out.u64(next_lba_);
  out.u32(remaining_);
  out.u16(block_sectors_);
  out.boolean(writing_);
}

void AtaDisk::load_drive(StateReader &in) {
  if (in.u64() != sectors_)
    throw StateError("ata-disk: the image size differs from the saved one");
  heads_ = in.u16();
  sectors_per_track_ = in.u16();
  cylinders_ = in.u16();
  multiple_sectors_ = in.u8();
  write_cache_ = in.boolean();
  next_lba_ = in.u64();
  remaining_ = in.u32();
  block_sectors_ = in.u16();
  writing_ = in.boolean();
  if (heads_ == 0 || heads_ > 16 || sectors_per_track_ == 0 ||
      sectors_per_track_ > 255 || multiple_sectors_ > kMaxMultipleSectors ||
      block_sectors_ == 0 || block_sectors_ > kMaxMultipleSectors ||
      remaining_ > 0x10000 || next_lba_ > sectors_ ||
      remaining_ > sectors_ - next_lba_)
    throw StateError("ata-disk: saved state out of range");
}

} // namespace sable
