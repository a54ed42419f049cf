#pragma once
// An ATA hard disk on a raw image: IDENTIFY DEVICE, PIO and DMA reads and
// writes with CHS, 28-bit and 48-bit addresses, READ/WRITE MULTIPLE, cache
// flushes, and the configuration and power commands BIOSes and Linux send.
// The default geometry is 16 heads and 63 sectors a track, which BIOSes
// translate for INT 13h.

#include <cstdint>
#include <memory>
#include <string>

#include "devices/ide_drive.h"

namespace sable {

class DiskImage;

class AtaDisk : public IdeDrive {
public:
  // `serial` goes into IDENTIFY words 10-19 (20 characters at most).
  AtaDisk(std::unique_ptr<DiskImage> image, std::string serial);
  ~AtaDisk() override;

  std::string_view kind() const override { return "ata-disk"; }
  uint64_t sectors() const { return sectors_; }

private:
  void execute_command(uint8_t command) override;
  void buffer_done() override;
  void transfer_dma(IdeDma &dma) override;
  void write_signature() override;
  void restore_defaults() override;
  void save_drive(StateWriter &out) const override;
  void load_drive(StateReader &in) override;

  void identify();
  // Decodes the command's address and sector count and checks them against
  // the disk; on failure the command has already ended with an error.
  bool take_range(bool lba48);
  void start_pio(bool lba48, bool write, bool multiple);
  void start_dma(bool lba48, bool write);
  void read_next_block();
  void write_block();
  void verify(bool lba48);
  void flush_cache();
  void set_features();
  void initialize_device_parameters();
  void set_multiple_mode();
  bool committed(bool wrote);

  std::unique_ptr<DiskImage> image_;
  std::string serial_;
  uint64_t sectors_;
  uint16_t default_cylinders_;

  // Settings a hardware reset restores.
  uint16_t heads_ = 0;
  uint16_t sectors_per_track_ = 0;
  uint16_t cylinders_ = 0;
  uint8_t multiple_sectors_ = 0; // 0: multiple mode off
  bool write_cache_ = true;

  // The read or write in progress.
  uint64_t next_lba_ = 0;
  uint32_t remaining_ = 0;
  uint16_t block_sectors_ = 1;
  bool writing_ = false;
};

} // namespace sable
