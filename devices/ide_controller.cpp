#include "devices/ide_controller.h"

#include <algorithm>
#include <stdexcept>
#include <string>

#include "machine/io_bus.h"
#include "machine/memory.h"
#include "machine/state.h"

namespace sable {

namespace {

constexpr uint16_t kCommandBlockBase[2] = {0x1f0, 0x170};
constexpr uint16_t kControlBlockBase[2] = {0x3f6, 0x376};
constexpr uint32_t kCommandBlockLength = 8;
constexpr uint32_t kBusMasterLength = 16;
constexpr unsigned kBusMasterBar = 4;

// IDE timing registers, one 16-bit register a channel, and the slave
// timing register.
constexpr unsigned kIdeTiming = 0x40;
constexpr unsigned kSlaveIdeTiming = 0x44;
constexpr uint16_t kIdeTimingWritable = 0xf3ff;
constexpr uint16_t kIdeDecodeEnable = 0x8000;
// Medium DEVSEL timing, fast back-to-back capable.
constexpr uint16_t kPowerOnStatus = 0x0280;

// Device control register.
constexpr uint8_t kNoInterrupt = 0x02;
constexpr uint8_t kSoftwareReset = 0x04;
constexpr uint8_t kHighOrderByte = 0x80;

constexpr uint8_t kExecuteDeviceDiagnostic = 0x90;

// Bus master registers, per channel.
constexpr unsigned kBmCommand = 0;
constexpr unsigned kBmStatus = 2;
constexpr unsigned kBmPrdTable = 4;
constexpr uint8_t kBmStart = 0x01;
constexpr uint8_t kBmToMemory = 0x08;
constexpr uint8_t kBmActive = 0x01;
constexpr uint8_t kBmError = 0x02;
constexpr uint8_t kBmInterrupt = 0x04;
constexpr uint8_t kBmDmaCapable = 0x60;

// The physical region descriptor table: 8-byte entries of a region
// address, a byte count (0 meaning 64 KiB) and an end-of-table bit. The
// table may not cross a 64 KiB boundary, which also bounds a walk through
// a table without an end mark.
class PrdTable : public IdeDma {
public:
  PrdTable(GuestMemory &memory, uint32_t address)
      : memory_(memory), next_entry_(address) {}

  size_t to_memory(const uint8_t *data, size_t size) override {
    return walk(size, [&](uint32_t address, size_t done, size_t chunk) {
      memory_.write(address, data + done, chunk);
    });
  }
  size_t from_memory(uint8_t *data, size_t size) override {
    return walk(size, [&](uint32_t address, size_t done, size_t chunk) {
      memory_.read(address, data + done, chunk);
    });
  }

  // Whether the transfer consumed the whole table: the bus master is then
  // no longer active.
  bool exhausted() const { return ended_ || (last_ && left_ == 0); }

private:
  template <typename Copy> size_t walk(size_t size, Copy copy) {
    size_t moved = 0;
    while (moved < size) {
      if (left_ == 0 && !next_region())
        break;
      size_t chunk = std::min<size_t>(left_, size - moved);
      copy(region_, moved, chunk);
      region_ += uint32_t(chunk);
      left_ -= uint32_t(chunk);
      moved += chunk;
    }
    return moved;
  }

  bool next_region() {
    if (last_) {
      ended_ = true;
      return false;
    }
    uint8_t entry[8];
    memory_.read(next_entry_, entry, sizeof entry);
    region_ = (uint32_t(entry[0]) | uint32_t(entry[1]) << 8 |
               uint32_t(entry[2]) << 16 | uint32_t(entry[3]) << 24) &
              ~1u;
    uint32_t count = (uint32_t(entry[4]) | uint32_t(entry[5]) << 8) & ~1u;
    left_ = count ? count : 0x10000;
    next_entry_ += sizeof entry;
    last_ = (entry[7] & 0x80) || (next_entry_ & 0xffff) == 0;
    return true;
  }

  GuestMemory &memory_;
  uint32_t next_entry_;
  uint32_t region_ = 0;
  uint32_t left_ = 0;
  bool last_ = false;
  bool ended_ = false;
};

} // namespace

IdeController::IdeController(GuestMemory &memory, IrqLine primary_irq,
                             IrqLine secondary_irq)
    : PciDevice(0x8086, 0x7010, 0x010180, 0x00),
      memory_(memory), command_blocks_{command_block(0), command_block(1)},
      control_blocks_{control_block(0), control_block(1)},
      bus_master_(
          "piix3-ide-bus-master",
          [this](uint64_t offset, unsigned size) {
            return read_bus_master(offset, size);
          },
          [this](uint64_t offset, unsigned size, uint64_t value) {
            write_bus_master(offset, size, value);
          }) {
  channels_[0].irq = primary_irq;
  channels_[1].irq = secondary_irq;
  set_config_word(pci::kStatus, kPowerOnStatus);
  for (unsigned channel = 0; channel < 2; ++channel) {
    set_config_word(kIdeTiming + 2 * channel, kIdeDecodeEnable);
    set_writable(kIdeTiming + 2 * channel, 2, kIdeTimingWritable);
  }
  set_writable(kSlaveIdeTiming, 1, 0xff);
  define_bar(kBusMasterBar, BarKind::Io, kBusMasterLength, &bus_master_);
}

IdeController::~IdeController() = default;

PciRegion IdeController::command_block(unsigned channel) {
  return PciRegion(
      channel == 0 ? "ide0-command" : "ide1-command",
      [this, channel](uint64_t offset, unsigned size) {
        return read_command_block(channel, offset, size);
      },
      [this, channel](uint64_t offset, unsigned size, uint64_t value) {
        write_command_block(channel, offset, size, value);
      });
}

PciRegion IdeController::control_block(unsigned channel) {
  return PciRegion(
      channel == 0 ? "ide0-control" : "ide1-control",
      [this, channel](uint64_t, unsigned size) {
        return read_control_block(channel, size);
      },
      [this, channel](uint64_t, unsigned, uint64_t value) {
        if (decoding(channel))
          write_device_control(channels_[channel], uint8_t(value));
      });
}

void IdeController::attach(unsigned index, std::unique_ptr<IdeDrive> drive) {
  if (index >= kMaxDrives || !drive)
    throw std::logic_error("IDE drive index " + std::to_string(index) +
                           " out of range");
  Channel &c = channels_[index / kDrivesPerChannel];
  std::unique_ptr<IdeDrive> &slot = c.drives[index % kDrivesPerChannel];
  if (slot)
    throw std::logic_error("IDE drive index " + std::to_string(index) +
                           " is taken");
  drive->power_on();
  slot = std::move(drive);
}

void IdeController::map_legacy_ports(IoPortBus &io) {
  for (unsigned channel = 0; channel < 2; ++channel) {
    io.map(kCommandBlockBase[channel], kCommandBlockLength,
           &command_blocks_[channel]);
    io.map(kControlBlockBase[channel], 1, &control_blocks_[channel]);
  }
}

bool IdeController::decoding(unsigned channel) const {
  return config_word(kIdeTiming + 2 * channel) & kIdeDecodeEnable;
}

uint64_t IdeController::read_command_block(unsigned channel, uint64_t offset,
                                           unsigned size) {
  Channel &c = channels_[channel];
  if (!decoding(channel) || !has_drives(c))
    return all_ones(size);
  if (offset == ata::kData) {
    IdeDrive *drive = c.drives[c.selected].get();
    if (!drive)
      return all_ones(size);
    uint32_t value = drive->read_data(std::min(size, 4u));
    update_irq(c);
    return value;
  }
  uint64_t value = all_ones(size);
  for (unsigned i = 0; i < size && offset + i < kCommandBlockLength; ++i) {
    value &= ~(uint64_t{0xff} << (8 * i));
    value |= uint64_t(read_register(c, unsigned(offset + i))) << (8 * i);
  }
  return value;
}

void IdeController::write_command_block(unsigned channel, uint64_t offset,
                                        unsigned size, uint64_t value) {
  Channel &c = channels_[channel];
  if (!decoding(channel))
    return;
  c.device_control &= ~kHighOrderByte;
  if (offset == ata::kData) {
    if (IdeDrive *drive = c.drives[c.selected].get()) {
      drive->write_data(std::min(size, 4u), uint32_t(value));
      update_irq(c);
    }
    return;
  }
  for (unsigned i = 0; i < size && offset + i < kCommandBlockLength; ++i) {
    unsigned reg = unsigned(offset + i);
    uint8_t byte = uint8_t(value >> (8 * i));
    if (reg == ata::kCommand)
      execute(c, byte);
    else
      write_register(c, reg, byte);
  }
}

// An absent drive 1 reads as status 00h, with drive 0 answering the other
// registers with what the host wrote; a channel without drives floats.
uint8_t IdeController::read_register(Channel &c, unsigned reg) {
  IdeDrive *drive = c.drives[c.selected].get();
  if (reg == ata::kStatus) {
    if (!drive)
      return 0;
    uint8_t status = drive->status();
    drive->clear_intrq();
    update_irq(c);
    return status;
  }
  if (!drive)
    return reg == ata::kError ? 0 : c.written[reg];
  return drive->read_register(reg, c.device_control & kHighOrderByte);
}

void IdeController::write_register(Channel &c, unsigned reg, uint8_t value) {
  c.written[reg] = value;
  for (std::unique_ptr<IdeDrive> &drive : c.drives)
    if (drive)
      drive->write_register(reg, value);
  if (reg == ata::kDevice) {
    c.selected = value & ata::kDeviceSelect ? 1 : 0;
    update_irq(c);
  }
}

void IdeController::execute(Channel &c, uint8_t command) {
  if (command == kExecuteDeviceDiagnostic) {
    for (std::unique_ptr<IdeDrive> &drive : c.drives)
      if (drive)
        drive->clear_intrq();
    update_irq(c);
    bool reported = false;
    for (std::unique_ptr<IdeDrive> &drive : c.drives) {
      if (drive) {
        drive->run_diagnostic(!reported);
        reported = true;
      }
    }
    c.selected = 0;
    update_irq(c);
    return;
  }
  IdeDrive *drive = c.drives[c.selected].get();
  if (!drive)
    return;
  drive->clear_intrq();
  update_irq(c);
  drive->execute(command);
  start_dma_if_ready(c);
  update_irq(c);
}

uint64_t IdeController::read_control_block(unsigned channel, unsigned size) {
  Channel &c = channels_[channel];
  uint64_t high = all_ones(size) & ~uint64_t{0xff};
  if (!decoding(channel) || !has_drives(c))
    return all_ones(size);
  IdeDrive *drive = c.drives[c.selected].get();
  return high | (drive ? drive->status() : 0);
}

void IdeController::write_device_control(Channel &c, uint8_t value) {
  bool was_resetting = c.device_control & kSoftwareReset;
  bool resetting = value & kSoftwareReset;
  c.device_control = value;
  for (std::unique_ptr<IdeDrive> &drive : c.drives) {
    if (!drive)
      continue;
    if (resetting && !was_resetting)
      drive->begin_reset();
    else if (!resetting && was_resetting)
      drive->end_reset();
  }
  if (was_resetting && !resetting)
    c.selected = 0;
  update_irq(c);
}

uint64_t IdeController::read_bus_master(uint64_t offset, unsigned size) {
  uint64_t value = 0;
  for (unsigned i = 0; i < size && offset + i < kBusMasterLength; ++i) {
    unsigned at = unsigned(offset + i);
    const Channel &c = channels_[at / 8];
    unsigned reg = at % 8;
    uint8_t byte = 0;
    if (reg == kBmCommand)
      byte = c.bm_command;
    else if (reg == kBmStatus)
      byte = c.bm_status;
    else if (reg >= kBmPrdTable)
      byte = uint8_t(c.prd_table >> (8 * (reg - kBmPrdTable)));
    value |= uint64_t(byte) << (8 * i);
  }
  return value;
}

void IdeController::write_bus_master(uint64_t offset, unsigned size,
                                     uint64_t value) {
  for (unsigned i = 0; i < size && offset + i < kBusMasterLength; ++i) {
    unsigned at = unsigned(offset + i);
    write_bus_master_byte(channels_[at / 8], at % 8, uint8_t(value >> (8 * i)));
  }
}

void IdeController::write_bus_master_byte(Channel &c, unsigned reg,
                                          uint8_t value) {
  if (reg == kBmCommand) {
    bool was_started = c.bm_command & kBmStart;
    c.bm_command = value & (kBmStart | kBmToMemory);
    if (c.bm_command & kBmStart) {
      if (!was_started)
        c.bm_status |= kBmActive;
      start_dma_if_ready(c);
    } else {
      // Stopping the engine abandons the transfer; the drive keeps waiting
      // until the host resets it or issues another command.
      c.bm_status &= ~kBmActive;
    }
  } else if (reg == kBmStatus) {
    c.bm_status &= ~(value & (kBmError | kBmInterrupt));
    c.bm_status = (c.bm_status & ~kBmDmaCapable) | (value & kBmDmaCapable);
  } else if (reg >= kBmPrdTable) {
    unsigned shift = 8 * (reg - kBmPrdTable);
    c.prd_table = (c.prd_table & ~(0xffu << shift)) | uint32_t(value) << shift;
    c.prd_table &= ~3u;
  }
}

void IdeController::start_dma_if_ready(Channel &c) {
  bool bus_master = config_word(pci::kCommand) & pci::kCommandMaster;
  IdeDrive *drive = c.drives[c.selected].get();
  if (!(c.bm_status & kBmActive) || !bus_master || !drive ||
      !drive->dma_requested())
    return;
  PrdTable table(memory_, c.prd_table);
  drive->run_dma(table);
  if (table.exhausted())
    c.bm_status &= ~kBmActive;
  update_irq(c);
}

// The bus master latches the rising edge of the channel's interrupt in its
// status register, whether or not the interrupt controller masks it.
void IdeController::update_irq(Channel &c) {
  IdeDrive *drive = c.drives[c.selected].get();
  bool level = drive && drive->intrq() && !(c.device_control & kNoInterrupt);
  if (level && !c.irq_level)
    c.bm_status |= kBmInterrupt;
  if (level != c.irq_level) {
    c.irq_level = level;
    c.irq.set(level);
  }
}

void IdeController::config_written(unsigned offset, unsigned size) {
  if (offset < pci::kCommand + 2 && pci::kCommand < offset + size)
    for (Channel &c : channels_)
      start_dma_if_ready(c);
}

void IdeController::reset_state() {
  for (Channel &c : channels_) {
    for (std::unique_ptr<IdeDrive> &drive : c.drives)
      if (drive)
        drive->power_on();
    c.device_control = 0;
    c.selected = 0;
    c.written = {};
    c.bm_command = 0;
    c.bm_status = 0;
    c.prd_table = 0;
    update_irq(c);
  }
}

void IdeController::config_restored() {
  for (Channel &c : channels_)
    c.irq.set(c.irq_level);
}

void IdeController::save_state(StateWriter &out) const {
  out.begin_section("piix3-ide", 1);
  for (const Channel &c : channels_) {
    out.u8(c.device_control);
    out.u8(uint8_t(c.selected));
    out.boolean(c.irq_level);
    out.bytes(c.written.data(), c.written.size());
    out.u8(c.bm_command);
    out.u8(c.bm_status);
    out.u32(c.prd_table);
    for (const std::unique_ptr<IdeDrive> &drive : c.drives) {
      out.string(drive ? drive->kind() : "");
      if (drive)
        drive->save(out);
    }
  }
  out.end_section();
}

void IdeController::load_state(StateReader &in) {
  in.begin_section("piix3-ide", 1);
  for (Channel &c : channels_) {
    c.device_control = in.u8();
    c.selected = in.u8();
    if (c.selected >= kDrivesPerChannel)
      throw StateError("piix3-ide: bad selected drive");
    c.irq_level = in.boolean();
    in.bytes(c.written.data(), c.written.size());
    c.bm_command = in.u8();
    c.bm_status = in.u8();
    c.prd_table = in.u32();
    for (std::unique_ptr<IdeDrive> &drive : c.drives) {
      std::string kind = in.string();
      if (kind != (drive ? drive->kind() : ""))
        throw StateError("piix3-ide: saved with other drives attached");
      if (drive)
        drive->load(in);
    }
  }
  in.end_section();
}

} // namespace sable
