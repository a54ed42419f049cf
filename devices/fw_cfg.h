#pragma once
// QEMU's firmware configuration device (docs/specs/fw_cfg.txt): the channel
// through which SeaBIOS and guest drivers learn RAM size, CPU count, boot
// order, ACPI tables and the kernel for -kernel. Items are byte blobs keyed
// by a 16-bit selector; named files live above kFileFirst and are listed in
// a directory item.
//
// Port layout relative to the device base. The machine maps one range,
// kIoBase (0x510) with length kIoLength (12): offset 0 is the 16-bit
// selector, offset 1 the 8-bit data register, offsets 4-11 the 64-bit
// big-endian DMA address register (0x514-0x51b); offsets 2-3 are unused.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "machine/device.h"

namespace sable {

class GuestMemory;

class FwCfg : public Device {
public:
  static constexpr uint16_t kIoBase = 0x510;
  static constexpr uint32_t kIoLength = 12;
  static constexpr uint64_t kSelectorOffset = 0;
  static constexpr uint64_t kDataOffset = 1;
  static constexpr uint64_t kDmaOffset = 4;

  enum Key : uint16_t {
    SIGNATURE = 0x00,
    ID = 0x01,
    UUID = 0x02,
    RAM_SIZE = 0x03,
    NOGRAPHIC = 0x04,
    NB_CPUS = 0x05,
    MACHINE_ID = 0x06,
    KERNEL_ADDR = 0x07,
    KERNEL_SIZE = 0x08,
    KERNEL_CMDLINE = 0x09,
    INITRD_ADDR = 0x0a,
    INITRD_SIZE = 0x0b,
    BOOT_DEVICE = 0x0c,
    NUMA = 0x0d,
    BOOT_MENU = 0x0e,
    MAX_CPUS = 0x0f,
    KERNEL_ENTRY = 0x10,
    KERNEL_DATA = 0x11,
    INITRD_DATA = 0x12,
    CMDLINE_ADDR = 0x13,
    CMDLINE_SIZE = 0x14,
    CMDLINE_DATA = 0x15,
    SETUP_ADDR = 0x16,
    SETUP_SIZE = 0x17,
    SETUP_DATA = 0x18,
    FILE_DIR = 0x19,
    FILE_FIRST = 0x20,
  };

  // FW_CFG_ID bits.
  static constexpr uint32_t kIdTraditional = 1u << 0;
  static constexpr uint32_t kIdDma = 1u << 1;

  // Control bits of the FWCfgDmaAccess structure in guest memory
  // (be32 control, be32 length, be64 address).
  enum DmaControl : uint32_t {
    DMA_ERROR = 1u << 0,
    DMA_READ = 1u << 1,
    DMA_SKIP = 1u << 2,
    DMA_SELECT = 1u << 3,
    DMA_WRITE = 1u << 4,
  };

  // File names include their terminating NUL in a 56-byte field.
  static constexpr size_t kMaxFileName = 55;

  // Starts with the signature, the ID, a zero UUID, zero NUMA nodes, one
  // CPU, boot menu off and an empty file directory; the machine adds the
  // rest. DMA transfers read and write `memory`.
  explicit FwCfg(GuestMemory &memory);

  // Replaces any item with the same key.
  void add_bytes(uint16_t key, std::vector<uint8_t> bytes);
  void add_u16(uint16_t key, uint16_t value);
  void add_u32(uint16_t key, uint32_t value);
  void add_u64(uint16_t key, uint64_t value);
  void add_string(uint16_t key, const std::string &value);
  // Adds or replaces a named file and returns its selector. Throws
  // std::invalid_argument for an empty or too long name.
  uint16_t add_file(const std::string &name, std::vector<uint8_t> bytes);
  bool has_file(const std::string &name) const;

  std::string_view name() const override { return "fw_cfg"; }
  uint64_t read(uint64_t offset, unsigned size) override;
  void write(uint64_t offset, unsigned size, uint64_t value) override;
  void reset() override;
  void save(StateWriter &out) const override;
  void load(StateReader &in) override;

private:
  void select(uint16_t selector);
  const std::vector<uint8_t> *current_item() const;
  uint8_t next_data_byte();
  void run_dma(uint64_t access_address);
  void rebuild_directory();

  GuestMemory &memory_;
  std::map<uint16_t, std::vector<uint8_t>> items_;
  std::map<std::string, uint16_t> files_; // sorted by name, as the directory
  uint16_t selector_ = 0;
  uint32_t offset_ = 0;
  uint32_t dma_address_high_ = 0;
};

} // namespace sable
