#pragma once
// The PIIX3 IDE function (PCI 00:01.1, 8086:7010, class 01.01.80): two
// channels in legacy mode at the ISA addresses, each with up to two drives,
// and the bus master (BAR4) that runs DMA through a PRD table in guest
// memory.
//
//   primary:   command block 0x1F0-0x1F7, control block 0x3F6, IRQ 14
//   secondary: command block 0x170-0x177, control block 0x376, IRQ 15
//   BAR4 (16 bytes of I/O): per channel at +0 / +8: command, status, and
//   the PRD table address at +4.
//
// The IRQ follows the selected drive's INTRQ (asserted on completion,
// cleared by reading status or writing a command), gated by nIEN; the edge
// is what the PIC sees. The IDE timing registers (0x40-0x43) power on with
// both channels' decode enabled, unlike the datasheet's 0000h, so a kernel
// booted without firmware finds the channels; clearing bit 15 stops a
// channel from decoding its ports.
//
// Saved state is the controller's and the drives' registers, settings and
// any transfer in progress; it holds no image contents, and in snapshot
// mode not the in-memory overlay of written sectors either (disk_image.h).

#include <array>
#include <cstdint>
#include <memory>

#include "devices/ide_drive.h"
#include "devices/pci_bus.h"
#include "machine/irq.h"

namespace sable {

class GuestMemory;
class IoPortBus;

class IdeController : public PciDevice {
public:
  static constexpr unsigned kDrivesPerChannel = 2;
  static constexpr unsigned kMaxDrives = 4;

  IdeController(GuestMemory &memory, IrqLine primary_irq,
                IrqLine secondary_irq);
  ~IdeController() override;

  std::string_view name() const override { return "piix3-ide"; }

  // index 0-3: primary master, primary slave, secondary master, secondary
  // slave (the -drive index). Throws std::logic_error when taken.
  void attach(unsigned index, std::unique_ptr<IdeDrive> drive);
  // The legacy command and control block ports of both channels.
  void map_legacy_ports(IoPortBus &io);

private:
  struct Channel {
    std::array<std::unique_ptr<IdeDrive>, kDrivesPerChannel> drives;
    IrqLine irq;
    uint8_t device_control = 0;
    unsigned selected = 0;
    bool irq_level = false;
    // What the host last wrote to registers 1-6; an absent drive 1 reads
    // back these through drive 0.
    std::array<uint8_t, 8> written{};
    uint8_t bm_command = 0;
    uint8_t bm_status = 0;
    uint32_t prd_table = 0;
  };

  void config_written(unsigned offset, unsigned size) override;
  void reset_state() override;
  void save_state(StateWriter &out) const override;
  void load_state(StateReader &in) override;
  void config_restored() override;

  PciRegion command_block(unsigned channel);
  PciRegion control_block(unsigned channel);
  bool decoding(unsigned channel) const;
  uint64_t read_command_block(unsigned channel, uint64_t offset, unsigned size);
  void write_command_block(unsigned channel, uint64_t offset, unsigned size,
                           uint64_t value);
  uint8_t read_register(Channel &c, unsigned reg);
  void write_register(Channel &c, unsigned reg, uint8_t value);
  void execute(Channel &c, uint8_t command);
  uint64_t read_control_block(unsigned channel, unsigned size);
  void write_device_control(Channel &c, uint8_t value);
  uint64_t read_bus_master(uint64_t offset, unsigned size);
  void write_bus_master(uint64_t offset, unsigned size, uint64_t value);
  void write_bus_master_byte(Channel &c, unsigned reg, uint8_t value);
  void start_dma_if_ready(Channel &c);
  void update_irq(Channel &c);
  bool has_drives(const Channel &c) const { return c.drives[0] || c.drives[1]; }

  GuestMemory &memory_;
  std::array<Channel, 2> channels_;
  std::array<PciRegion, 2> command_blocks_;
  std::array<PciRegion, 2> control_blocks_;
  PciRegion bus_master_;
};

} // namespace sable
