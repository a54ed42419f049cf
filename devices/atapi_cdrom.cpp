#include "devices/atapi_cdrom.h"

#include <algorithm>
#include <cstring>

#include "devices/disk_image.h"
#include "machine/log.h"
#include "machine/state.h"

namespace sable {

namespace {

enum AtaCommand : uint8_t {
  DEVICE_RESET = 0x08,
  PACKET = 0xa0,
  IDENTIFY_PACKET_DEVICE = 0xa1,
  STANDBY_IMMEDIATE = 0xe0,
  IDLE_IMMEDIATE = 0xe1,
  CHECK_POWER_MODE = 0xe5,
  SLEEP = 0xe6,
  IDENTIFY_DEVICE = 0xec,
  SET_FEATURES = 0xef,
};

enum ScsiCommand : uint8_t {
  TEST_UNIT_READY = 0x00,
  REQUEST_SENSE = 0x03,
  INQUIRY = 0x12,
  START_STOP_UNIT = 0x1b,
  PREVENT_ALLOW_MEDIUM_REMOVAL = 0x1e,
  READ_CAPACITY = 0x25,
  READ_10 = 0x28,
  READ_TOC = 0x43,
  GET_CONFIGURATION = 0x46,
  GET_EVENT_STATUS_NOTIFICATION = 0x4a,
  READ_DISC_INFORMATION = 0x51,
  MODE_SENSE_10 = 0x5a,
  READ_12 = 0xa8,
  SET_CD_SPEED = 0xbb,
  MECHANISM_STATUS = 0xbd,
};

enum SenseKey : uint8_t {
  NO_SENSE = 0x0,
  NOT_READY = 0x2,
  MEDIUM_ERROR = 0x3,
  ILLEGAL_REQUEST = 0x5,
  ABORTED_COMMAND = 0xb,
};

// Additional sense codes.
constexpr uint8_t kUnrecoveredReadError = 0x11;
constexpr uint8_t kInvalidCommandOperationCode = 0x20;
constexpr uint8_t kLbaOutOfRange = 0x21;
constexpr uint8_t kInvalidFieldInCdb = 0x24;
constexpr uint8_t kSavingParametersNotSupported = 0x39;
constexpr uint8_t kMediumNotPresent = 0x3a;

// Interrupt reason, in the sector count register: CoD (command or data)
// and IO (to the host).
constexpr uint8_t kReasonCommand = 0x01;
constexpr uint8_t kReasonDataIn = 0x02;
constexpr uint8_t kReasonStatus = 0x03;

constexpr unsigned kCdbLength = 12;
constexpr uint8_t kFeatureDma = 0x01;
constexpr uint8_t kFeatureOverlap = 0x02;
constexpr uint16_t kMaxByteLimit = 0xfffe;
constexpr size_t kDmaChunk = 0x10000;
constexpr uint8_t kPowerModeActive = 0xff;

constexpr uint16_t kProfileCdRom = 0x0008;
constexpr uint8_t kTrackDataControl = 0x14; // ADR 1, data track
constexpr uint8_t kLeadOutTrack = 0xaa;
// A disc's first sector is at MSF 00:02:00.
constexpr uint32_t kMsfLeadIn = 150;
// 1x CD speed is 176 kB/s; the drive claims 16x.
constexpr uint16_t kSpeedKbps = 16 * 176;

uint16_t load_be16(const uint8_t *p) {
  return uint16_t(p[0] << 8 | p[1]);
}

uint32_t load_be32(const uint8_t *p) {
  return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 |
         p[3];
}

void store_be16(uint8_t *p, uint16_t v) {
  p[0] = uint8_t(v >> 8);
  p[1] = uint8_t(v);
}

void store_be32(uint8_t *p, uint32_t v) {
  store_be16(p, uint16_t(v >> 16));
  store_be16(p + 2, uint16_t(v));
}

// A TOC address, as LBA or as minute/second/frame.
void store_address(uint8_t *p, uint32_t lba, bool msf) {
  if (!msf) {
    store_be32(p, lba);
    return;
  }
  uint32_t frames = lba + kMsfLeadIn;
  p[0] = 0;
  p[1] = uint8_t(frames / (60 * 75));
  p[2] = uint8_t(frames / 75 % 60);
  p[3] = uint8_t(frames % 75);
}

void append(std::vector<uint8_t> &out, std::initializer_list<uint8_t> bytes) {
  out.insert(out.end(), bytes);
}

} // namespace

AtapiCdrom::AtapiCdrom(std::unique_ptr<DiskImage> image, std::string serial)
    : IdeDrive(ata::kStatusReady, 0), image_(std::move(image)),
      serial_(std::move(serial)),
      sectors_(image_ ? image_->size() / kSectorSize : 0) {}

AtapiCdrom::~AtapiCdrom() = default;

void AtapiCdrom::restore_defaults() {
  sense_key_ = asc_ = ascq_ = 0;
  prevent_removal_ = false;
  awaiting_cdb_ = false;
  byte_limit_ = kMaxByteLimit;
  remaining_ = 0;
  reply_.clear();
}

void AtapiCdrom::write_signature() {
  set_reg(ata::kCount, 0x01);
  set_reg(ata::kLbaLow, 0x01);
  set_reg(ata::kLbaMid, 0x14);
  set_reg(ata::kLbaHigh, 0xeb);
  set_reg(ata::kDevice, 0x00);
}

void AtapiCdrom::execute_command(uint8_t command) {
  awaiting_cdb_ = false;
  switch (command) {
  case PACKET:
    packet();
    break;
  case IDENTIFY_PACKET_DEVICE:
    identify_packet_device();
    break;
  // A packet device aborts IDENTIFY DEVICE and shows its signature, which
  // is how hosts tell it from a disk.
  case IDENTIFY_DEVICE:
    write_signature();
    fail(ata::kErrorAbort);
    break;
  case DEVICE_RESET:
    run_diagnostic(false);
    break;
  case SET_FEATURES:
    set_features();
    break;
  case CHECK_POWER_MODE:
    set_reg(ata::kCount, kPowerModeActive);
    finish();
    break;
  case STANDBY_IMMEDIATE:
  case IDLE_IMMEDIATE:
  case SLEEP:
    finish();
    break;
  default:
    reject(command);
    break;
  }
}

void AtapiCdrom::identify_packet_device() {
  uint16_t id[256] = {};
  // ATAPI, CD-ROM, removable, DRQ within 50 us, 12-byte packets.
  id[0] = 0x85c0;
  put_common_identify(id, serial_, "SABLE CD-ROM");
  id[53] = 0x0006; // words 64-70 and 88 valid
  id[80] = 0x0070; // ATA/ATAPI-4 to -6
  // DEVICE RESET, PACKET and power management: supported and enabled.
  id[82] = id[85] = 0x0218;
  id[83] = id[84] = id[87] = 0x4000;
  send_identify(id);
}

void AtapiCdrom::set_features() {
  if (reg(ata::kFeature) == 0x03 && set_transfer_mode(reg(ata::kCount)))
    finish();
  else
    fail(ata::kErrorAbort);
}

void AtapiCdrom::packet() {
  uint8_t features = reg(ata::kFeature);
  if (features & kFeatureOverlap) {
    fail(ata::kErrorAbort);
    return;
  }
  dma_ = features & kFeatureDma;
  // Blocks other than the last must hold an even number of bytes.
  uint16_t limit = uint16_t(reg(ata::kLbaMid) | reg(ata::kLbaHigh) << 8);
  byte_limit_ = limit == 0 || limit > kMaxByteLimit
                    ? kMaxByteLimit
                    : std::max<uint16_t>(limit & ~1u, 2);
  awaiting_cdb_ = true;
  set_reg(ata::kCount, kReasonCommand);
  block(kCdbLength);
  receive_block(false);
}

void AtapiCdrom::buffer_done() {
  if (awaiting_cdb_) {
    awaiting_cdb_ = false;
    run_cdb();
  } else if (remaining_ > 0) {
    send_next_block();
  } else {
    command_complete();
  }
}

void AtapiCdrom::run_cdb() {
  uint8_t cdb[kCdbLength];
  std::memcpy(cdb, buffer().data(), kCdbLength);
  remaining_ = 0;
  if (cdb[0] != REQUEST_SENSE)
    sense_key_ = asc_ = ascq_ = 0;
  switch (cdb[0]) {
  case TEST_UNIT_READY:
    if (medium_ready())
      command_complete();
    break;
  case REQUEST_SENSE:
    request_sense(cdb);
    break;
  case INQUIRY:
    inquiry(cdb);
    break;
  case START_STOP_UNIT:
  case SET_CD_SPEED:
    command_complete();
    break;
  case PREVENT_ALLOW_MEDIUM_REMOVAL:
    prevent_removal_ = cdb[4] & 1;
    command_complete();
    break;
  case READ_CAPACITY:
    read_capacity();
    break;
  case READ_10:
    start_read(load_be32(cdb + 2), load_be16(cdb + 7));
    break;
  case READ_12:
    start_read(load_be32(cdb + 2), load_be32(cdb + 6));
    break;
  case READ_TOC:
    read_toc(cdb);
    break;
  case GET_CONFIGURATION:
    get_configuration(cdb);
    break;
  case MODE_SENSE_10:
    mode_sense(cdb);
    break;
  case GET_EVENT_STATUS_NOTIFICATION:
    get_event_status(cdb);
    break;
  case READ_DISC_INFORMATION:
    read_disc_information(cdb);
    break;
  case MECHANISM_STATUS:
    mechanism_status(cdb);
    break;
  default:
    if (!logged_opcodes_.test(cdb[0])) {
      logged_opcodes_.set(cdb[0]);
      SABLE_LOG(LOG_UNIMP, "atapi-cdrom: SCSI command 0x%02x not implemented\n",
                cdb[0]);
    }
    check_condition(ILLEGAL_REQUEST, kInvalidCommandOperationCode, 0);
    break;
  }
}

void AtapiCdrom::reply(std::vector<uint8_t> data, size_t allocation_length) {
  if (data.size() > allocation_length)
    data.resize(allocation_length);
  reply_ = std::move(data);
  from_image_ = false;
  source_offset_ = 0;
  remaining_ = reply_.size();
  begin_data_in();
}

void AtapiCdrom::start_read(uint64_t lba, uint64_t count) {
  if (!medium_ready())
    return;
  if (lba > sectors_ || count > sectors_ - lba) {
    check_condition(ILLEGAL_REQUEST, kLbaOutOfRange, 0);
    return;
  }
  reply_.clear();
  from_image_ = true;
  source_offset_ = lba * kSectorSize;
  remaining_ = count * kSectorSize;
  begin_data_in();
}

void AtapiCdrom::begin_data_in() {
  if (remaining_ == 0) {
    command_complete();
  } else if (dma_) {
    set_reg(ata::kCount, kReasonDataIn);
    request_dma();
  } else {
    send_next_block();
  }
}

void AtapiCdrom::send_next_block() {
  size_t length = size_t(std::min<uint64_t>(remaining_, byte_limit_));
  if (!produce(block(length), length)) {
    check_condition(MEDIUM_ERROR, kUnrecoveredReadError, 0);
    return;
  }
  set_reg(ata::kCount, kReasonDataIn);
  set_reg(ata::kLbaMid, uint8_t(length));
  set_reg(ata::kLbaHigh, uint8_t(length >> 8));
  send_block();
}

bool AtapiCdrom::produce(uint8_t *out, size_t length) {
  if (from_image_) {
    if (!image_ || !image_->read(source_offset_, out, length))
      return false;
  } else {
    if (source_offset_ > reply_.size() ||
        length > reply_.size() - source_offset_)
      return false;
    std::memcpy(out, reply_.data() + source_offset_, length);
  }
  source_offset_ += length;
  remaining_ -= length;
  return true;
}

void AtapiCdrom::transfer_dma(IdeDma &dma) {
  std::vector<uint8_t> chunk;
  while (remaining_ > 0) {
    size_t length = size_t(std::min<uint64_t>(remaining_, kDmaChunk));
    chunk.resize(length);
    if (!produce(chunk.data(), length)) {
      check_condition(MEDIUM_ERROR, kUnrecoveredReadError, 0);
      return;
    }
    if (dma.to_memory(chunk.data(), length) != length) {
      check_condition(ABORTED_COMMAND, 0, 0);
      return;
    }
  }
  command_complete();
}

void AtapiCdrom::command_complete() {
  remaining_ = 0;
  set_reg(ata::kCount, kReasonStatus);
  finish();
}

// CHECK CONDITION: the sense key goes into the error register's high
// nibble and the full sense waits for REQUEST SENSE.
void AtapiCdrom::check_condition(uint8_t sense_key, uint8_t asc, uint8_t ascq) {
  sense_key_ = sense_key;
  asc_ = asc;
  ascq_ = ascq;
  remaining_ = 0;
  set_reg(ata::kCount, kReasonStatus);
  fail(uint8_t(sense_key << 4 |
               (sense_key == ILLEGAL_REQUEST ? ata::kErrorAbort : 0)));
}

bool AtapiCdrom::medium_ready() {
  if (image_)
    return true;
  check_condition(NOT_READY, kMediumNotPresent, 0);
  return false;
}

void AtapiCdrom::request_sense(const uint8_t *cdb) {
  std::vector<uint8_t> sense(18, 0);
  sense[0] = 0x70; // current error, fixed format
  sense[2] = sense_key_;
  sense[7] = 10; // additional sense length
  sense[12] = asc_;
  sense[13] = ascq_;
  sense_key_ = asc_ = ascq_ = 0;
  reply(std::move(sense), cdb[4]);
}

void AtapiCdrom::inquiry(const uint8_t *cdb) {
  bool vital_product_data = cdb[1] & 1;
  if (vital_product_data) {
    check_condition(ILLEGAL_REQUEST, kInvalidFieldInCdb, 0);
    return;
  }
  // CD/DVD device, removable, SPC-3, response data format 2.
  std::vector<uint8_t> data{0x05, 0x80, 0x05, 0x02, 31, 0, 0, 0};
  const char *strings = "SABLE   CD-ROM          1.0 ";
  data.insert(data.end(), strings, strings + 28);
  reply(std::move(data), load_be16(cdb + 3));
}

void AtapiCdrom::read_capacity() {
  if (!medium_ready())
    return;
  std::vector<uint8_t> data(8);
  store_be32(data.data(),
             uint32_t(std::min<uint64_t>(sectors_ - 1, 0xffffffff)));
  store_be32(data.data() + 4, kSectorSize);
  reply(std::move(data), 8);
}

void AtapiCdrom::read_toc(const uint8_t *cdb) {
  if (!medium_ready())
    return;
  bool msf = cdb[1] & 0x02;
  unsigned format = cdb[2] & 0x0f;
  // SFF-8020 drivers put the format in the control byte instead.
  if (format == 0)
    format = cdb[9] >> 6;
  uint8_t start_track = cdb[6];
  uint32_t lead_out = uint32_t(std::min<uint64_t>(sectors_, 0xffffffff));
  std::vector<uint8_t> data{0, 0, 1, 1};
  uint8_t address[4];
  switch (format) {
  case 0: // TOC: the data track and the lead-out
    if (start_track > 1 && start_track != kLeadOutTrack) {
      check_condition(ILLEGAL_REQUEST, kInvalidFieldInCdb, 0);
      return;
    }
    if (start_track <= 1) {
      store_address(address, 0, msf);
      append(data, {0, kTrackDataControl, 1, 0});
      data.insert(data.end(), address, address + 4);
    }
    store_address(address, lead_out, msf);
    append(data, {0, kTrackDataControl, kLeadOutTrack, 0});
    data.insert(data.end(), address, address + 4);
    break;
  case 1: // session information: one session starting at track 1
    store_address(address, 0, msf);
    append(data, {0, kTrackDataControl, 1, 0});
    data.insert(data.end(), address, address + 4);
    break;
  default:
    check_condition(ILLEGAL_REQUEST, kInvalidFieldInCdb, 0);
    return;
  }
  store_be16(data.data(), uint16_t(data.size() - 2));
  reply(std::move(data), load_be16(cdb + 7));
}

void AtapiCdrom::get_configuration(const uint8_t *cdb) {
  unsigned request_type = cdb[1] & 0x03;
  uint16_t first = load_be16(cdb + 2);
  if (request_type == 3) {
    check_condition(ILLEGAL_REQUEST, kInvalidFieldInCdb, 0);
    return;
  }
  bool medium = image_ != nullptr;
  // Tray loader, eject, lock, and whether the medium is locked.
  uint8_t removable = uint8_t(0x20 | 0x08 | 0x01 | (prevent_removal_ << 1));
  struct Feature {
    uint16_t code;
    bool persistent;
    bool current;
    std::vector<uint8_t> body;
  };
  const Feature features[] = {
      // Profile list: the CD-ROM profile, current with a disc in.
      {0x0000, true, true, {0x00, 0x08, uint8_t(medium), 0x00}},
      // Core: ATAPI physical interface.
      {0x0001, true, true, {0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00}},
      {0x0003, true, true, {removable, 0x00, 0x00, 0x00}}, // removable medium
      {0x001e, false, medium, {0x00, 0x00, 0x00, 0x00}},   // CD read
  };
  std::vector<uint8_t> data(8, 0);
  store_be16(data.data() + 6, medium ? kProfileCdRom : 0);
  for (const Feature &feature : features) {
    bool wanted =
        request_type == 2
            ? feature.code == first
            : feature.code >= first && (request_type == 0 || feature.current);
    if (!wanted)
      continue;
    // Version 0 in bits 5:2, then the persistent and current bits.
    append(data, {uint8_t(feature.code >> 8), uint8_t(feature.code),
                  uint8_t(feature.persistent << 1 | feature.current),
                  uint8_t(feature.body.size())});
    data.insert(data.end(), feature.body.begin(), feature.body.end());
  }
  store_be32(data.data(), uint32_t(data.size() - 4));
  reply(std::move(data), load_be16(cdb + 7));
}

void AtapiCdrom::mode_sense(const uint8_t *cdb) {
  unsigned control = cdb[2] >> 6;
  unsigned page = cdb[2] & 0x3f;
  if (control == 3) {
    check_condition(ILLEGAL_REQUEST, kSavingParametersNotSupported, 0);
    return;
  }
  bool changeable = control == 1;
  std::vector<uint8_t> data(8, 0);
  // Medium type: 120 mm data CD, door closed; or door closed, no disc.
  data[2] = image_ ? 0x01 : 0x70;
  if (page == 0x01 || page == 0x3f) {
    // Read error recovery: default recovery, 5 read retries.
    append(data, {0x01, 0x0a, 0x00, uint8_t(changeable ? 0 : 5), 0, 0, 0, 0, 0,
                  0, 0, 0});
  }
  if (page == 0x2a || page == 0x3f) {
    size_t at = data.size();
    data.resize(at + 20, 0);
    uint8_t *caps = data.data() + at;
    caps[0] = 0x2a;
    caps[1] = 0x12;
    if (!changeable) {
      caps[2] = 0x03; // reads CD-R and CD-RW media
      caps[4] = 0x70; // mode 2 form 1 and 2, multi-session
      // Tray loader, eject, lock, and whether the medium is locked.
      caps[6] = uint8_t(0x20 | 0x08 | 0x01 | (prevent_removal_ << 1));
      store_be16(caps + 8, kSpeedKbps);
      store_be16(caps + 10, 256); // volume levels
      store_be16(caps + 12, 512); // buffer, kB
      store_be16(caps + 14, kSpeedKbps);
    }
  }
  if (data.size() == 8) {
    check_condition(ILLEGAL_REQUEST, kInvalidFieldInCdb, 0);
    return;
  }
  store_be16(data.data(), uint16_t(data.size() - 2));
  reply(std::move(data), load_be16(cdb + 7));
}

void AtapiCdrom::get_event_status(const uint8_t *cdb) {
  bool polled = cdb[1] & 1;
  if (!polled) {
    check_condition(ILLEGAL_REQUEST, kInvalidFieldInCdb, 0);
    return;
  }
  constexpr uint8_t kMediaClass = 4;
  constexpr uint8_t kNoEventAvailable = 0x80;
  std::vector<uint8_t> data{0, 0, 0, 1u << kMediaClass};
  if (cdb[4] & (1u << kMediaClass)) {
    data[2] = kMediaClass;
    // No change; media present (bit 1) or not, door closed.
    append(data, {0x00, uint8_t(image_ ? 0x02 : 0x00), 0, 0});
  } else {
    data[2] = kNoEventAvailable;
  }
  store_be16(data.data(), uint16_t(data.size() - 2));
  reply(std::move(data), load_be16(cdb + 7));
}

void AtapiCdrom::read_disc_information(const uint8_t *cdb) {
  if (cdb[1] & 0x07) {
    check_condition(ILLEGAL_REQUEST, kInvalidFieldInCdb, 0);
    return;
  }
  if (!medium_ready())
    return;
  std::vector<uint8_t> data(34, 0);
  store_be16(data.data(), uint16_t(data.size() - 2));
  data[2] = 0x0e; // last session complete, disc complete
  data[3] = 1;    // first track
  data[4] = 1;    // sessions
  data[5] = 1;    // first track of the last session
  data[6] = 1;    // last track of the last session
  reply(std::move(data), load_be16(cdb + 7));
}

void AtapiCdrom::mechanism_status(const uint8_t *cdb) {
  // Idle, door closed, no changer slots.
  reply(std::vector<uint8_t>(8, 0), load_be16(cdb + 8));
}

void AtapiCdrom::save_drive(StateWriter &out) const {
  out.u64(sectors_);
  out.u8(sense_key_);
  out.u8(asc_);
  out.u8(ascq_);
  out.boolean(prevent_removal_);
  out.boolean(awaiting_cdb_);
  out.boolean(dma_);
  out.u16(byte_limit_);
  out.boolean(from_image_);
  out.u32(uint32_t(reply_.size()));
  out.bytes(reply_.data(), reply_.size());
  out.u64(source_offset_);
  out.u64(remaining_);
}

void AtapiCdrom::load_drive(StateReader &in) {
  if (in.u64() != sectors_)
    throw StateError("atapi-cdrom: the medium differs from the saved one");
  sense_key_ = in.u8();
  asc_ = in.u8();
  ascq_ = in.u8();
  prevent_removal_ = in.boolean();
  awaiting_cdb_ = in.boolean();
  dma_ = in.boolean();
  byte_limit_ = in.u16();
  from_image_ = in.boolean();
  uint32_t length = in.u32();
  if (length > 0x10000)
    throw StateError("atapi-cdrom: reply too large");
  reply_.resize(length);
  in.bytes(reply_.data(), length);
  source_offset_ = in.u64();
  remaining_ = in.u64();
  uint64_t limit = from_image_ ? sectors_ * kSectorSize : reply_.size();
  if (byte_limit_ < 2 || source_offset_ > limit ||
      remaining_ > limit - source_offset_)
    throw StateError("atapi-cdrom: saved state out of range");
}

} // namespace sable
