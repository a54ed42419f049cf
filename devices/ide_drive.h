#pragma once
// One device on an IDE channel, as ATA/ATAPI-6 describes it from the host's
// side: the task file registers (with the previous values a 48-bit command
// reads back through HOB), the status and error registers, the INTRQ
// signal, PIO data blocks through the data port, and DMA transfers the
// channel's bus master carries out. AtaDisk and AtapiCdrom add their
// command sets on top.
//
// A command runs as far as it can when it is written: BSY is never seen
// except while the host holds SRST, and a PIO or DMA data phase waits only
// for the host.

#include <bitset>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace sable {

class StateReader;
class StateWriter;

namespace ata {
// Command block register offsets.
constexpr unsigned kData = 0;
constexpr unsigned kError = 1;   // read
constexpr unsigned kFeature = 1; // write
constexpr unsigned kCount = 2;
constexpr unsigned kLbaLow = 3;
constexpr unsigned kLbaMid = 4;
constexpr unsigned kLbaHigh = 5;
constexpr unsigned kDevice = 6;
constexpr unsigned kStatus = 7;  // read
constexpr unsigned kCommand = 7; // write

constexpr uint8_t kStatusError = 0x01;
constexpr uint8_t kStatusDataRequest = 0x08;
constexpr uint8_t kStatusSeekComplete = 0x10;
constexpr uint8_t kStatusReady = 0x40;
constexpr uint8_t kStatusBusy = 0x80;

constexpr uint8_t kErrorAbort = 0x04;
constexpr uint8_t kErrorIdNotFound = 0x10;
constexpr uint8_t kErrorUncorrectable = 0x40;

constexpr uint8_t kDeviceLba = 0x40;
constexpr uint8_t kDeviceSelect = 0x10;

// The diagnostic code both devices leave in the error register after a
// reset: device 0 passed, device 1 passed or absent.
constexpr uint8_t kDiagnosticPassed = 0x01;
} // namespace ata

// The bus master's side of a DMA data phase: guest memory as the PRD table
// describes it.
class IdeDma {
public:
  virtual ~IdeDma() = default;
  // Both return how many bytes moved: fewer than `size` when the PRD table
  // ends first.
  virtual size_t to_memory(const uint8_t *data, size_t size) = 0;
  virtual size_t from_memory(uint8_t *data, size_t size) = 0;
};

class IdeDrive {
public:
  virtual ~IdeDrive() = default;
  // Names the drive type in saved state.
  virtual std::string_view kind() const = 0;

  // Host writes to registers 1-6 (both drives of a channel latch them).
  void write_register(unsigned reg, uint8_t value);
  // Registers 1-6; with `hob`, 2-5 return the value written before the
  // current one (the high-order bytes of a 48-bit command).
  uint8_t read_register(unsigned reg, bool hob) const;
  uint8_t status() const { return status_; }

  // The data port, 1, 2 or 4 bytes. Outside a PIO data phase reads return
  // zero and writes are dropped.
  uint32_t read_data(unsigned size);
  void write_data(unsigned size, uint32_t value);

  // The command register.
  void execute(uint8_t command);
  // EXECUTE DEVICE DIAGNOSTIC, which both devices of a channel run; the
  // device that reports the result asserts INTRQ.
  void run_diagnostic(bool interrupt);

  // SRST set, then cleared, in the device control register.
  void begin_reset();
  void end_reset();
  // Power-on or hardware reset: settings return to their defaults as well.
  void power_on();

  bool intrq() const { return intrq_; }
  void clear_intrq() { intrq_ = false; }
  bool dma_requested() const { return transfer_ == Transfer::Dma; }
  void run_dma(IdeDma &dma);

  void save(StateWriter &out) const;
  void load(StateReader &in);

protected:
  // `ready_status`: the status of an idle device; `reset_status`: after a
  // reset (zero for a packet device, whose DRDY is clear until it has been
  // identified).
  IdeDrive(uint8_t ready_status, uint8_t reset_status);

  enum class Transfer : uint8_t { None, PioIn, PioOut, Dma };

  virtual void execute_command(uint8_t command) = 0;
  // The host has read (PioIn) or written (PioOut) the whole buffer.
  virtual void buffer_done() = 0;
  virtual void transfer_dma(IdeDma &dma) = 0;
  // Count, LBA and device registers as a reset leaves them.
  virtual void write_signature() = 0;
  virtual void restore_defaults() = 0;
  virtual void save_drive(StateWriter &out) const = 0;
  virtual void load_drive(StateReader &in) = 0;

  uint8_t reg(unsigned r) const { return current_[r]; }
  uint8_t previous(unsigned r) const { return previous_[r]; }
  void set_reg(unsigned r, uint8_t value) { current_[r] = value; }

  // The data block of the next PIO phase, `length` bytes, to fill before
  // send_block() or to read after buffer_done().
  uint8_t *block(size_t length);
  const std::vector<uint8_t> &buffer() const { return buffer_; }
  // Starts a PIO data-in phase for the block; INTRQ announces it.
  void send_block();
  // Starts a PIO data-out phase for the block.
  void receive_block(bool interrupt);
  // Waits for the bus master (DRQ with DMARQ).
  void request_dma();

  // Command ends: success with INTRQ, success without (after the last
  // PIO-in block), or an error in the error register with INTRQ.
  void finish();
  void finish_quietly();
  void fail(uint8_t error);
  // ABRT for a command this device does not implement, logged once per
  // opcode.
  void reject(uint8_t command);

  // SET FEATURES subcommand 03h: accepts PIO, multiword and Ultra DMA
  // modes this device lists in IDENTIFY.
  bool set_transfer_mode(uint8_t mode);
  // The IDENTIFY words both drives fill alike: serial number (10-19),
  // firmware revision (23-26), `model` (27-46), IORDY, LBA and DMA support
  // (49-50), the supported and selected transfer modes (63-64, 88) with
  // their cycle times (65-68), and the hardware reset result (93).
  void put_common_identify(uint16_t *identify, std::string_view serial,
                           std::string_view model) const;
  // Copies 256 IDENTIFY words into a data-in block after adding the
  // integrity word (255: signature A5h and a checksum).
  void send_identify(uint16_t *identify);

private:
  uint8_t ready_status_;
  uint8_t reset_status_;
  uint8_t status_ = 0;
  uint8_t error_ = 0;
  uint8_t current_[8] = {};
  uint8_t previous_[8] = {};
  bool intrq_ = false;
  bool in_reset_ = false;
  Transfer transfer_ = Transfer::None;
  std::vector<uint8_t> buffer_;
  size_t buffer_pos_ = 0;
  // The selected DMA mode, as SET FEATURES encodes it.
  uint8_t dma_mode_ = 0;
  std::bitset<256> logged_commands_;
};

} // namespace sable
