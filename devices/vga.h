#pragma once
// The standard VGA with the Bochs VBE ("DISPI") extensions: PCI 1234:1111,
// class 0x030000, the device SeaBIOS's vgabios-stdvga.bin and Linux's
// bochs-drm drive.
//
// VRAM is 16 MiB holding the four VGA planes interleaved: byte 4 * a + p is
// plane p at plane address a. The VBE linear framebuffer (BAR0) is the same
// bytes in order, so a linear mode and the planes share one memory. BAR0 is
// mapped into guest memory as RAM over the VRAM whenever it decodes (guest
// writes run at memory speed, under KVM too); BAR2 holds the VGA ports at
// 0x400 and the DISPI registers at 0x500, as in QEMU.
//
// VBE modes have 4 (planar, as the VGA's 16-colour modes), 8, 15, 16, 24 or
// 32 bits per pixel.
//
// Legacy decode: ports 0x3B0-0x3DF and 0x1CE-0x1CF, and the memory window
// 0xA0000-0xBFFFF, which the graphics controller's memory map selects from
// and which applies the planar write and read logic. In a packed-pixel VBE
// mode the window is a 64 KiB bank of the linear VRAM.
//
// The renderer (devices/vga_render.h) turns this state into pixels.

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "devices/pci_bus.h"

namespace sable {

class GuestMemory;
class IoPortBus;
class MmioBus;

class Vga : public PciDevice {
public:
  static constexpr uint64_t kVramSize = 16u << 20;
  static constexpr uint16_t kPortBase = 0x3b0;
  static constexpr uint16_t kPortCount = 0x30;
  static constexpr uint16_t kVbePortBase = 0x1ce;
  static constexpr uint16_t kVbePortCount = 2;
  static constexpr uint64_t kWindowBase = 0xa0000;
  static constexpr uint64_t kWindowSize = 0x20000;
  static constexpr unsigned kFramebufferBar = 0;
  static constexpr unsigned kRegisterBar = 2;
  static constexpr uint64_t kRegisterBarSize = 0x1000;

  // Bochs DISPI register indexes (port 0x1CE selects, 0x1CF reads/writes).
  enum VbeIndex : unsigned {
    VBE_ID,
    VBE_XRES,
    VBE_YRES,
    VBE_BPP,
    VBE_ENABLE,
    VBE_BANK,
    VBE_VIRT_WIDTH,
    VBE_VIRT_HEIGHT,
    VBE_X_OFFSET,
    VBE_Y_OFFSET,
    VBE_VIDEO_MEMORY_64K,
    VBE_REGISTER_COUNT,
  };
  static constexpr uint16_t kVbeEnabled = 0x01;
  static constexpr uint16_t kVbeGetCaps = 0x02;
  static constexpr uint16_t kVbe8BitDac = 0x20;
  static constexpr uint16_t kVbeLfbEnabled = 0x40;
  static constexpr uint16_t kVbeNoClearMem = 0x80;
  static constexpr uint16_t kVbeMaxXres = 2560;
  static constexpr uint16_t kVbeMaxYres = 1600;

  // Registers the function at 00:slot.0 and maps the legacy ports and the
  // window on the buses. The machine gives the window an MMIO region of
  // guest memory (0xA0000-0xBFFFF) and a region for BARs to decode in. The
  // Vga must be destroyed before `memory`, which maps its VRAM.
  Vga(PciBus &bus, uint8_t slot, IoPortBus &io, MmioBus &mmio,
      GuestMemory &memory);
  ~Vga() override;
  Vga(const Vga &) = delete;
  Vga &operator=(const Vga &) = delete;

  std::string_view name() const override { return "vga"; }

  // The register state, for the renderer and tests.
  const uint8_t *vram() const { return vram_; }
  uint8_t misc_output() const { return misc_output_; }
  uint8_t sequencer(unsigned index) const { return sequencer_[index]; }
  uint8_t crtc(unsigned index) const { return crtc_[index]; }
  uint8_t graphics(unsigned index) const { return graphics_[index]; }
  uint8_t attribute(unsigned index) const { return attribute_[index]; }
  // False while the attribute index's palette address source bit is clear:
  // the CPU owns the palette and the screen shows the overscan colour.
  bool palette_enabled() const { return attribute_index_ & 0x20; }
  // DAC entry as stored: 6-bit components, or 8-bit in the DISPI 8-bit DAC
  // mode.
  std::array<uint8_t, 3> dac(unsigned index) const { return dac_[index]; }
  bool dac_8bit() const { return vbe_[VBE_ENABLE] & kVbe8BitDac; }
  uint8_t pel_mask() const { return pel_mask_; }
  uint16_t vbe(unsigned index) const { return vbe_[index]; }
  bool vbe_enabled() const { return vbe_[VBE_ENABLE] & kVbeEnabled; }
  // A 4-bit VBE mode: the planes, written through the VGA's planar logic.
  bool vbe_planar() const { return vbe_enabled() && vbe_[VBE_BPP] == 4; }
  // Bytes between VBE scanlines and the VRAM offset of the visible origin.
  uint32_t vbe_line_bytes() const { return vbe_line_bytes_; }
  uint64_t vbe_start() const;

  // The text screen in a VGA alphanumeric mode: columns x rows cells of
  // character | attribute << 8, read through the CRTC's start address and
  // line offset. Empty (0 x 0) in graphics modes.
  struct TextScreen {
    unsigned columns = 0;
    unsigned rows = 0;
    std::vector<uint16_t> cells;
    // Cursor cell, or -1 when it is off screen or disabled.
    int cursor_column = -1;
    int cursor_row = -1;
    std::string line(unsigned row) const;
  };
  TextScreen text_screen() const;

private:
  // Legacy ports, offsets from 0x3B0.
  uint8_t read_port(unsigned port);
  void write_port(unsigned port, uint8_t value);
  uint64_t read_ports(uint64_t offset, unsigned size);
  void write_ports(uint64_t offset, unsigned size, uint64_t value);
  bool crtc_decoded(unsigned port) const;
  void write_crtc(uint8_t value);
  void write_attribute(uint8_t value);

  uint16_t read_vbe(unsigned index) const;
  void write_vbe(unsigned index, uint16_t value);
  void apply_vbe_mode(uint16_t old_enable);
  void recompute_vbe_layout();

  // The legacy window, byte at a time.
  uint8_t read_window(uint32_t offset);
  void write_window(uint32_t offset, uint8_t value);
  // Maps a window offset to a plane address; false when the memory map
  // select leaves the offset undecoded.
  bool window_address(uint32_t offset, uint32_t &address) const;
  void write_planes(uint32_t address, uint8_t value);

  uint64_t read_register_bar(uint64_t offset, unsigned size);
  void write_register_bar(uint64_t offset, unsigned size, uint64_t value);

  // BAR0 as RAM in guest memory, following the BAR and the command register.
  void update_framebuffer_mapping();

  void config_written(unsigned offset, unsigned size) override;
  void reset_state() override;
  void save_state(StateWriter &out) const override;
  void load_state(StateReader &in) override;
  void config_restored() override { update_framebuffer_mapping(); }

  GuestMemory &memory_;
  uint8_t *vram_;
  PciRegion ports_;
  PciRegion vbe_ports_;
  PciRegion window_;
  PciRegion framebuffer_;
  PciRegion register_bar_;
  bool framebuffer_mapped_ = false;
  uint64_t framebuffer_base_ = 0;

  uint8_t misc_output_ = 0;
  uint8_t feature_control_ = 0;
  uint8_t sequencer_index_ = 0;
  std::array<uint8_t, 8> sequencer_{};
  uint8_t crtc_index_ = 0;
  std::array<uint8_t, 32> crtc_{};
  uint8_t graphics_index_ = 0;
  std::array<uint8_t, 16> graphics_{};
  uint8_t attribute_index_ = 0;
  bool attribute_flip_flop_ = false; // true: the next 0x3C0 write is data
  std::array<uint8_t, 32> attribute_{};
  std::array<std::array<uint8_t, 3>, 256> dac_{};
  uint8_t pel_mask_ = 0xff;
  uint8_t dac_read_index_ = 0;
  uint8_t dac_write_index_ = 0;
  uint8_t dac_component_ = 0;
  bool dac_reading_ = false; // the last index written was the read index
  std::array<uint8_t, 3> dac_latch_{};
  std::array<uint8_t, 4> latch_{};
  uint32_t status_reads_ = 0;
  uint16_t vbe_index_ = 0;
  std::array<uint16_t, VBE_REGISTER_COUNT> vbe_{};
  uint32_t vbe_line_bytes_ = 0;
};

} // namespace sable
