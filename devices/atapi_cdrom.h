#pragma once
// An ATAPI CD-ROM drive: the PACKET command carries a 12-byte SCSI CDB
// (MMC command set) over PIO, the reply comes back in PIO blocks no larger
// than the byte count limit the host left in the cylinder registers, or by
// DMA. 2048-byte sectors come from an ISO image; without an image the
// drive is empty (NOT READY, MEDIUM NOT PRESENT). The medium never changes,
// so there is no UNIT ATTENTION.

#include <bitset>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "devices/ide_drive.h"

namespace sable {

class DiskImage;

class AtapiCdrom : public IdeDrive {
public:
  static constexpr size_t kSectorSize = 2048;

  // `image` may be null (an empty drive). `serial` goes into IDENTIFY
  // PACKET DEVICE words 10-19.
  AtapiCdrom(std::unique_ptr<DiskImage> image, std::string serial);
  ~AtapiCdrom() override;

  std::string_view kind() const override { return "atapi-cdrom"; }
  uint64_t sectors() const { return sectors_; }

private:
  void execute_command(uint8_t command) override;
  void buffer_done() override;
  void transfer_dma(IdeDma &dma) override;
  void write_signature() override;
  void restore_defaults() override;
  void save_drive(StateWriter &out) const override;
  void load_drive(StateReader &in) override;

  void identify_packet_device();
  void set_features();
  void packet();
  void run_cdb();

  // Data-in phases: a reply built in memory, cut to the CDB's allocation
  // length, or sectors streamed from the image.
  void reply(std::vector<uint8_t> data, size_t allocation_length);
  void start_read(uint64_t lba, uint64_t count);
  void begin_data_in();
  void send_next_block();
  bool produce(uint8_t *out, size_t length);
  void command_complete();
  void check_condition(uint8_t sense_key, uint8_t asc, uint8_t ascq);
  bool medium_ready();

  void request_sense(const uint8_t *cdb);
  void inquiry(const uint8_t *cdb);
  void read_capacity();
  void read_toc(const uint8_t *cdb);
  void get_configuration(const uint8_t *cdb);
  void mode_sense(const uint8_t *cdb);
  void get_event_status(const uint8_t *cdb);
  void read_disc_information(const uint8_t *cdb);
  void mechanism_status(const uint8_t *cdb);

  std::unique_ptr<DiskImage> image_;
  std::string serial_;
  uint64_t sectors_;

  uint8_t sense_key_ = 0;
  uint8_t asc_ = 0;
  uint8_t ascq_ = 0;
  bool prevent_removal_ = false;

  // The packet command in progress.
  bool awaiting_cdb_ = false;
  bool dma_ = false;
  uint16_t byte_limit_ = 0;
  bool from_image_ = false;
  std::vector<uint8_t> reply_;
  uint64_t source_offset_ = 0; // next byte, in reply_ or in the image
  uint64_t remaining_ = 0;     // bytes still to send

  std::bitset<256> logged_opcodes_;
};

} // namespace sable
