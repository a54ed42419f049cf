#include "devices/ide_drive.h"

#include <algorithm>

#include "machine/log.h"
#include "machine/state.h"

namespace sable {

namespace {

// The largest PIO block: a packet device's byte count limit.
constexpr size_t kMaxBlock = 0x10000;

// SET FEATURES transfer mode values: mode type in bits 7:3, mode in 2:0.
constexpr uint8_t kModeTypeMask = 0xf8;
constexpr uint8_t kModePioDefault = 0x00;
constexpr uint8_t kModePio = 0x08;
constexpr uint8_t kModeMultiwordDma = 0x20;
constexpr uint8_t kModeUltraDma = 0x40;
constexpr uint8_t kHighestPio = 4;
constexpr uint8_t kHighestMultiwordDma = 2;
constexpr uint8_t kHighestUltraDma = 5;

constexpr unsigned kIdentifyWords = 256;
constexpr uint16_t kIntegritySignature = 0xa5;

// An ATA string: two characters a word, the first in the high byte, padded
// with spaces.
void put_string(uint16_t *identify, unsigned first_word, unsigned words,
                std::string_view text) {
  for (unsigned i = 0; i < words; ++i) {
    char high = 2 * i < text.size() ? text[2 * i] : ' ';
    char low = 2 * i + 1 < text.size() ? text[2 * i + 1] : ' ';
    identify[first_word + i] = uint16_t(uint8_t(high) << 8 | uint8_t(low));
  }
}

} // namespace

IdeDrive::IdeDrive(uint8_t ready_status, uint8_t reset_status)
    : ready_status_(ready_status), reset_status_(reset_status) {}

void IdeDrive::write_register(unsigned reg, uint8_t value) {
  if (reg < ata::kFeature || reg > ata::kDevice)
    return;
  previous_[reg] = current_[reg];
  current_[reg] = value;
}

uint8_t IdeDrive::read_register(unsigned reg, bool hob) const {
  if (reg == ata::kError)
    return error_;
  if (reg < ata::kCount || reg > ata::kDevice)
    return 0;
  return hob && reg != ata::kDevice ? previous_[reg] : current_[reg];
}

uint32_t IdeDrive::read_data(unsigned size) {
  if (transfer_ != Transfer::PioIn)
    return 0;
  uint32_t value = 0;
  for (unsigned i = 0; i < size && buffer_pos_ < buffer_.size(); ++i)
    value |= uint32_t(buffer_[buffer_pos_++]) << (8 * i);
  if (buffer_pos_ == buffer_.size()) {
    transfer_ = Transfer::None;
    status_ &= ~ata::kStatusDataRequest;
    buffer_done();
  }
  return value;
}

void IdeDrive::write_data(unsigned size, uint32_t value) {
  if (transfer_ != Transfer::PioOut)
    return;
  for (unsigned i = 0; i < size && buffer_pos_ < buffer_.size(); ++i)
    buffer_[buffer_pos_++] = uint8_t(value >> (8 * i));
  if (buffer_pos_ == buffer_.size()) {
    transfer_ = Transfer::None;
    status_ &= ~ata::kStatusDataRequest;
    buffer_done();
  }
}

void IdeDrive::execute(uint8_t command) {
  if (in_reset_)
    return;
  transfer_ = Transfer::None;
  error_ = 0;
  status_ = ready_status_;
  execute_command(command);
}

void IdeDrive::run_diagnostic(bool interrupt) {
  transfer_ = Transfer::None;
  write_signature();
  error_ = ata::kDiagnosticPassed;
  status_ = reset_status_;
  intrq_ = interrupt;
}

void IdeDrive::begin_reset() {
  in_reset_ = true;
  transfer_ = Transfer::None;
  intrq_ = false;
  status_ = ata::kStatusBusy;
}

void IdeDrive::end_reset() {
  if (!in_reset_)
    return;
  in_reset_ = false;
  run_diagnostic(false);
}

void IdeDrive::power_on() {
  for (unsigned r = 0; r < 8; ++r)
    current_[r] = previous_[r] = 0;
  buffer_.clear();
  buffer_pos_ = 0;
  dma_mode_ = kModeMultiwordDma | kHighestMultiwordDma;
  restore_defaults();
  begin_reset();
  end_reset();
}

void IdeDrive::run_dma(IdeDma &dma) {
  if (transfer_ != Transfer::Dma)
    return;
  transfer_ = Transfer::None;
  transfer_dma(dma);
}

uint8_t *IdeDrive::block(size_t length) {
  buffer_.assign(std::min(length, kMaxBlock), 0);
  buffer_pos_ = 0;
  return buffer_.data();
}

void IdeDrive::send_block() {
  transfer_ = Transfer::PioIn;
  buffer_pos_ = 0;
  status_ = ready_status_ | ata::kStatusDataRequest;
  intrq_ = true;
}

void IdeDrive::receive_block(bool interrupt) {
  transfer_ = Transfer::PioOut;
  buffer_pos_ = 0;
  status_ = ready_status_ | ata::kStatusDataRequest;
  if (interrupt)
    intrq_ = true;
}

void IdeDrive::request_dma() {
  transfer_ = Transfer::Dma;
  status_ = ready_status_ | ata::kStatusDataRequest;
}

void IdeDrive::finish() {
  finish_quietly();
  intrq_ = true;
}

void IdeDrive::finish_quietly() {
  transfer_ = Transfer::None;
  status_ = ready_status_;
}

void IdeDrive::fail(uint8_t error) {
  transfer_ = Transfer::None;
  error_ = error;
  status_ = ready_status_ | ata::kStatusError;
  intrq_ = true;
}

void IdeDrive::reject(uint8_t command) {
  if (!logged_commands_.test(command)) {
    logged_commands_.set(command);
    SABLE_LOG(LOG_UNIMP, "%.*s: command 0x%02x not implemented, aborted\n",
              int(kind().size()), kind().data(), command);
  }
  fail(ata::kErrorAbort);
}

bool IdeDrive::set_transfer_mode(uint8_t mode) {
  uint8_t number = mode & ~kModeTypeMask;
  switch (mode & kModeTypeMask) {
  case kModePioDefault:
    return number <= 1;
  case kModePio:
    return number <= kHighestPio;
  case kModeMultiwordDma:
    if (number > kHighestMultiwordDma)
      return false;
    break;
  case kModeUltraDma:
    if (number > kHighestUltraDma)
      return false;
    break;
  default:
    return false;
  }
  dma_mode_ = mode;
  return true;
}

void IdeDrive::put_common_identify(uint16_t *identify, std::string_view serial,
                                   std::string_view model) const {
  put_string(identify, 10, 10, serial);
  put_string(identify, 23, 4, "1.0");
  put_string(identify, 27, 20, model);
  // IORDY, IORDY can be disabled, LBA, DMA.
  identify[49] = 0x0f00;
  identify[50] = 0x4000;
  uint16_t selected = uint16_t(1u << (dma_mode_ & ~kModeTypeMask)) << 8;
  bool ultra = (dma_mode_ & kModeTypeMask) == kModeUltraDma;
  identify[63] =
      uint16_t((1u << (kHighestMultiwordDma + 1)) - 1) | (ultra ? 0 : selected);
  // PIO modes 3 and 4 on top of the 0-2 every device has.
  identify[64] = 0x0003;
  // Minimum and recommended cycle times (ns) for multiword DMA and PIO.
  identify[65] = identify[66] = identify[67] = identify[68] = 120;
  identify[88] =
      uint16_t((1u << (kHighestUltraDma + 1)) - 1) | (ultra ? selected : 0);
  // Device 0 by jumper, diagnostics passed, 80-conductor cable.
  identify[93] = 0x600b;
}

void IdeDrive::send_identify(uint16_t *identify) {
  identify[kIdentifyWords - 1] = kIntegritySignature;
  uint8_t sum = 0;
  for (unsigned i = 0; i < kIdentifyWords; ++i)
    sum = uint8_t(sum + (identify[i] & 0xff) + (identify[i] >> 8));
  identify[kIdentifyWords - 1] |= uint16_t(uint8_t(-sum)) << 8;
  uint8_t *data = block(2 * kIdentifyWords);
  for (unsigned i = 0; i < kIdentifyWords; ++i) {
    data[2 * i] = uint8_t(identify[i]);
    data[2 * i + 1] = uint8_t(identify[i] >> 8);
  }
  send_block();
}

void IdeDrive::save(StateWriter &out) const {
  out.begin_section(kind(), 1);
  out.u8(status_);
  out.u8(error_);
  out.bytes(current_, sizeof current_);
  out.bytes(previous_, sizeof previous_);
  out.boolean(intrq_);
  out.boolean(in_reset_);
  out.u8(uint8_t(transfer_));
  out.u32(uint32_t(buffer_.size()));
  out.bytes(buffer_.data(), buffer_.size());
  out.u32(uint32_t(buffer_pos_));
  out.u8(dma_mode_);
  save_drive(out);
  out.end_section();
}

void IdeDrive::load(StateReader &in) {
  in.begin_section(kind(), 1);
  status_ = in.u8();
  error_ = in.u8();
  in.bytes(current_, sizeof current_);
  in.bytes(previous_, sizeof previous_);
  intrq_ = in.boolean();
  in_reset_ = in.boolean();
  uint8_t transfer = in.u8();
  if (transfer > uint8_t(Transfer::Dma))
    throw StateError("ide drive: bad transfer state");
  transfer_ = Transfer(transfer);
  uint32_t length = in.u32();
  if (length > kMaxBlock)
    throw StateError("ide drive: data block too large");
  buffer_.resize(length);
  in.bytes(buffer_.data(), length);
  buffer_pos_ = in.u32();
  if (buffer_pos_ > buffer_.size())
    throw StateError("ide drive: data position beyond the block");
  dma_mode_ = in.u8();
  load_drive(in);
  in.end_section();
}

} // namespace sable
