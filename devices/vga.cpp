#include "devices/vga.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <sys/mman.h>

#include "machine/io_bus.h"
#include "machine/log.h"
#include "machine/memory.h"
#include "machine/state.h"

namespace sable {

namespace {
// Port offsets from Vga::kPortBase.
constexpr unsigned kMonoCrtcIndex = 0x04;  // 0x3B4
constexpr unsigned kMonoCrtcData = 0x05;   // 0x3B5
constexpr unsigned kMonoStatus1 = 0x0a;    // 0x3BA
constexpr unsigned kAttributeWrite = 0x10; // 0x3C0
constexpr unsigned kAttributeRead = 0x11;  // 0x3C1
constexpr unsigned kMiscWrite = 0x12;      // 0x3C2 (reads input status 0)
constexpr unsigned kSequencerIndex = 0x14; // 0x3C4
constexpr unsigned kSequencerData = 0x15;
constexpr unsigned kPelMask = 0x16;      // 0x3C6
constexpr unsigned kDacReadIndex = 0x17; // 0x3C7 (reads the DAC state)
constexpr unsigned kDacWriteIndex = 0x18;
constexpr unsigned kDacData = 0x19;
constexpr unsigned kFeatureRead = 0x1a;   // 0x3CA
constexpr unsigned kMiscRead = 0x1c;      // 0x3CC
constexpr unsigned kGraphicsIndex = 0x1e; // 0x3CE
constexpr unsigned kGraphicsData = 0x1f;
constexpr unsigned kColourCrtcIndex = 0x24; // 0x3D4
constexpr unsigned kColourCrtcData = 0x25;
constexpr unsigned kColourStatus1 = 0x2a; // 0x3DA

constexpr uint8_t kMiscColourIo = 0x01;
constexpr unsigned kSeqMapMask = 2;
constexpr unsigned kSeqMemoryMode = 4;
constexpr uint8_t kSeqOddEvenDisable = 0x04;
constexpr uint8_t kSeqChain4 = 0x08;
constexpr unsigned kCrtcOverflow = 7;
constexpr unsigned kCrtcVerticalRetraceEnd = 0x11;
constexpr uint8_t kCrtcProtect = 0x80;
constexpr uint8_t kOverflowLineCompare8 = 0x10;
constexpr unsigned kGfxSetReset = 0;
constexpr unsigned kGfxEnableSetReset = 1;
constexpr unsigned kGfxColourCompare = 2;
constexpr unsigned kGfxDataRotate = 3;
constexpr unsigned kGfxReadMap = 4;
constexpr unsigned kGfxMode = 5;
constexpr unsigned kGfxMisc = 6;
constexpr unsigned kGfxColourDontCare = 7;
constexpr unsigned kGfxBitMask = 8;
constexpr uint8_t kGfxModeReadCompare = 0x08;
constexpr uint8_t kGfxModeOddEven = 0x10;
constexpr unsigned kAttributeRegisterCount = 0x15;
constexpr uint8_t kAttributeIndexMask = 0x1f;
constexpr uint8_t kAttributePaletteSource = 0x20;

// Status 1 read n cycles through active display, blanking, and vertical
// retrace, so both "wait for retrace" and "wait for its end" loops finish.
constexpr uint8_t kStatusDisplayDisabled = 0x01;
constexpr uint8_t kStatusVerticalRetrace = 0x08;

constexpr uint16_t kVbeIdFirst = 0xb0c0;
constexpr uint16_t kVbeIdLatest = 0xb0c5;
constexpr uint32_t kVbeBankSize = 0x10000;
constexpr uint16_t kVbeMaxBpp = 32;

// BAR2 layout.
constexpr uint64_t kBarVgaPorts = 0x400;
constexpr uint64_t kBarVgaPortsEnd = 0x420;
constexpr uint64_t kBarVbe = 0x500;
constexpr uint64_t kBarVbeEnd = kBarVbe + 2 * Vga::VBE_REGISTER_COUNT;
constexpr uint16_t kBarVgaPortsBase = 0x3c0;

constexpr const char *kFramebufferRegion = "vga-framebuffer";

uint8_t *allocate_vram() {
  void *p = mmap(nullptr, Vga::kVramSize, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED)
    throw std::runtime_error(std::string("cannot allocate VGA memory: ") +
                             std::strerror(errno));
  return static_cast<uint8_t *>(p);
}

// VRAM bytes of `pixels` pixels in a row. A 4-bit mode is planar: eight
// pixels take one plane address, four interleaved bytes.
uint64_t vbe_row_bytes(uint64_t pixels, uint16_t bpp) {
  return bpp == 4 ? pixels / 2 : pixels * ((bpp + 7) / 8);
}

bool vbe_bpp_supported(uint16_t bpp) {
  return bpp == 4 || bpp == 8 || bpp == 15 || bpp == 16 || bpp == 24 ||
         bpp == 32;
}

uint8_t rotate_right(uint8_t value, unsigned count) {
  count &= 7;
  return count ? uint8_t(value >> count | value << (8 - count)) : value;
}

uint8_t expand_bit(unsigned value, unsigned bit) {
  return (value >> bit) & 1 ? 0xff : 0x00;
}
} // namespace

Vga::Vga(PciBus &bus, uint8_t slot, IoPortBus &io, MmioBus &mmio,
         GuestMemory &memory)
    : PciDevice(0x1234, 0x1111, 0x030000, 0x02), memory_(memory),
      vram_(allocate_vram()),
      ports_(
          "vga-ports",
          [this](uint64_t offset, unsigned size) {
            return read_ports(offset, size);
          },
          [this](uint64_t offset, unsigned size, uint64_t value) {
            write_ports(offset, size, value);
          }),
      vbe_ports_(
          "vga-vbe-ports",
          [this](uint64_t offset, unsigned) -> uint64_t {
            return offset == 0 ? vbe_index_ : read_vbe(vbe_index_);
          },
          [this](uint64_t offset, unsigned, uint64_t value) {
            if (offset == 0)
              vbe_index_ = uint16_t(value);
            else
              write_vbe(vbe_index_, uint16_t(value));
          }),
      window_(
          "vga-window",
          [this](uint64_t offset, unsigned size) {
            uint64_t value = 0;
            for (unsigned i = 0; i < size; ++i)
              value |= uint64_t(read_window(uint32_t(offset + i))) << (8 * i);
            return value;
          },
          [this](uint64_t offset, unsigned size, uint64_t value) {
            for (unsigned i = 0; i < size; ++i)
              write_window(uint32_t(offset + i), uint8_t(value >> (8 * i)));
          }),
      framebuffer_(
          "vga-framebuffer",
          [this](uint64_t offset, unsigned size) {
            uint64_t value = 0;
            if (offset + size <= kVramSize)
              std::memcpy(&value, vram_ + offset, size);
            return value;
          },
          [this](uint64_t offset, unsigned size, uint64_t value) {
            if (offset + size <= kVramSize)
              std::memcpy(vram_ + offset, &value, size);
          }),
      register_bar_(
          "vga-registers",
          [this](uint64_t offset, unsigned size) {
            return read_register_bar(offset, size);
          },
          [this](uint64_t offset, unsigned size, uint64_t value) {
            write_register_bar(offset, size, value);
          }) {
  // QEMU's subsystem IDs, which Linux's bochs-drm matches to trust the
  // device's DISPI extensions.
  set_config_word(pci::kSubsystemVendorId, 0x1af4);
  set_config_word(pci::kSubsystemVendorId + 2, 0x1100);
  define_bar(kFramebufferBar, BarKind::Mem32, kVramSize, &framebuffer_, true);
  define_bar(kRegisterBar, BarKind::Mem32, kRegisterBarSize, &register_bar_);
  reset_state();
  bus.add(this, slot, 0);
  io.map(kPortBase, kPortCount, &ports_);
  io.map(kVbePortBase, kVbePortCount, &vbe_ports_);
  mmio.map(kWindowBase, kWindowSize, &window_);
}

Vga::~Vga() {
  if (framebuffer_mapped_)
    memory_.remove_region(kFramebufferRegion);
  munmap(vram_, kVramSize);
}

void Vga::reset_state() {
  misc_output_ = 0;
  feature_control_ = 0;
  sequencer_index_ = 0;
  sequencer_.fill(0);
  crtc_index_ = 0;
  crtc_.fill(0);
  graphics_index_ = 0;
  graphics_.fill(0);
  attribute_index_ = 0;
  attribute_flip_flop_ = false;
  attribute_.fill(0);
  for (auto &entry : dac_)
    entry.fill(0);
  pel_mask_ = 0xff;
  dac_read_index_ = 0;
  dac_write_index_ = 0;
  dac_component_ = 0;
  dac_reading_ = false;
  dac_latch_.fill(0);
  latch_.fill(0);
  status_reads_ = 0;
  vbe_index_ = 0;
  vbe_.fill(0);
  vbe_[VBE_ID] = kVbeIdLatest;
  vbe_[VBE_BPP] = 8;
  vbe_[VBE_VIDEO_MEMORY_64K] = uint16_t(kVramSize / kVbeBankSize);
  vbe_line_bytes_ = 0;
}

// ---- Legacy ports -------------------------------------------------------

bool Vga::crtc_decoded(unsigned port) const {
  bool colour = misc_output_ & kMiscColourIo;
  if (port == kColourCrtcIndex || port == kColourCrtcData ||
      port == kColourStatus1)
    return colour;
  return !colour;
}

uint64_t Vga::read_ports(uint64_t offset, unsigned size) {
  uint64_t value = 0;
  for (unsigned i = 0; i < size && offset + i < kPortCount; ++i)
    value |= uint64_t(read_port(unsigned(offset + i))) << (8 * i);
  return value;
}

void Vga::write_ports(uint64_t offset, unsigned size, uint64_t value) {
  // A word OUT to an index port writes the index, then the data port.
  for (unsigned i = 0; i < size && offset + i < kPortCount; ++i)
    write_port(unsigned(offset + i), uint8_t(value >> (8 * i)));
}

uint8_t Vga::read_port(unsigned port) {
  switch (port) {
  case kAttributeWrite:
    return attribute_index_;
  case kAttributeRead:
    return attribute_[attribute_index_ & kAttributeIndexMask];
  case kMiscWrite:
    return 0; // input status 0: no CRT interrupt, switch sense low
  case kSequencerIndex:
    return sequencer_index_;
  case kSequencerData:
    return sequencer_[sequencer_index_ & 7];
  case kPelMask:
    return pel_mask_;
  case kDacReadIndex:
    return dac_reading_ ? 0x03 : 0x00;
  case kDacWriteIndex:
    return dac_write_index_;
  case kDacData: {
    uint8_t value = dac_[dac_read_index_][dac_component_];
    if (++dac_component_ == 3) {
      dac_component_ = 0;
      ++dac_read_index_;
    }
    return value;
  }
  case kFeatureRead:
    return feature_control_;
  case kMiscRead:
    return misc_output_;
  case kGraphicsIndex:
    return graphics_index_;
  case kGraphicsData:
    return graphics_[graphics_index_ & 0x0f];
  case kMonoCrtcIndex:
  case kColourCrtcIndex:
    return crtc_decoded(port) ? crtc_index_ : 0xff;
  case kMonoCrtcData:
  case kColourCrtcData:
    return crtc_decoded(port) ? crtc_[crtc_index_ & 0x1f] : 0xff;
  case kMonoStatus1:
  case kColourStatus1: {
    if (!crtc_decoded(port))
      return 0xff;
    attribute_flip_flop_ = false;
    unsigned phase = status_reads_++ & 3;
    return phase == 0   ? 0
           : phase == 1 ? kStatusDisplayDisabled
                        : kStatusDisplayDisabled | kStatusVerticalRetrace;
  }
  default:
    SABLE_LOG_ONCE(LOG_UNIMP, "vga: read of unimplemented port 0x%x\n",
                   kPortBase + port);
    return 0xff;
  }
}

void Vga::write_port(unsigned port, uint8_t value) {
  switch (port) {
  case kAttributeWrite:
    write_attribute(value);
    break;
  case kMiscWrite:
    misc_output_ = value;
    break;
  case kSequencerIndex:
    sequencer_index_ = value;
    break;
  case kSequencerData:
    sequencer_[sequencer_index_ & 7] = value;
    break;
  case kPelMask:
    pel_mask_ = value;
    break;
  case kDacReadIndex:
    dac_read_index_ = value;
    dac_component_ = 0;
    dac_reading_ = true;
    break;
  case kDacWriteIndex:
    dac_write_index_ = value;
    dac_component_ = 0;
    dac_reading_ = false;
    break;
  case kDacData:
    dac_latch_[dac_component_] = dac_8bit() ? value : value & 0x3f;
    if (++dac_component_ == 3) {
      dac_[dac_write_index_++] = dac_latch_;
      dac_component_ = 0;
    }
    break;
  case kGraphicsIndex:
    graphics_index_ = value;
    break;
  case kGraphicsData:
    graphics_[graphics_index_ & 0x0f] = value;
    break;
  case kMonoCrtcIndex:
  case kColourCrtcIndex:
    if (crtc_decoded(port))
      crtc_index_ = value;
    break;
  case kMonoCrtcData:
  case kColourCrtcData:
    if (crtc_decoded(port))
      write_crtc(value);
    break;
  case kMonoStatus1:
  case kColourStatus1:
    if (crtc_decoded(port))
      feature_control_ = value;
    break;
  default:
    SABLE_LOG_ONCE(LOG_UNIMP, "vga: write to unimplemented port 0x%x\n",
                   kPortBase + port);
    break;
  }
}

void Vga::write_crtc(uint8_t value) {
  unsigned index = crtc_index_ & 0x1f;
  // The protect bit locks the horizontal timing and most of the overflow
  // register, so a mode set cannot be half undone by old DOS code.
  if ((crtc_[kCrtcVerticalRetraceEnd] & kCrtcProtect) &&
      index <= kCrtcOverflow) {
    if (index == kCrtcOverflow)
      crtc_[index] = (crtc_[index] & ~kOverflowLineCompare8) |
                     (value & kOverflowLineCompare8);
    return;
  }
  crtc_[index] = value;
}

void Vga::write_attribute(uint8_t value) {
  if (!attribute_flip_flop_) {
    attribute_index_ = value & (kAttributeIndexMask | kAttributePaletteSource);
  } else {
    unsigned index = attribute_index_ & kAttributeIndexMask;
    if (index < 0x10)
      attribute_[index] = value & 0x3f;
    else if (index < kAttributeRegisterCount)
      attribute_[index] = value;
  }
  attribute_flip_flop_ = !attribute_flip_flop_;
}

// ---- Bochs VBE ----------------------------------------------------------

uint16_t Vga::read_vbe(unsigned index) const {
  if (index >= VBE_REGISTER_COUNT) {
    SABLE_LOG_ONCE(LOG_GUEST_ERRORS, "vga: read of DISPI register %u\n", index);
    return 0;
  }
  if (vbe_[VBE_ENABLE] & kVbeGetCaps) {
    if (index == VBE_XRES)
      return kVbeMaxXres;
    if (index == VBE_YRES)
      return kVbeMaxYres;
    if (index == VBE_BPP)
      return kVbeMaxBpp;
  }
  return vbe_[index];
}

void Vga::write_vbe(unsigned index, uint16_t value) {
  switch (index) {
  case VBE_ID:
    if (value >= kVbeIdFirst && value <= kVbeIdLatest)
      vbe_[VBE_ID] = value;
    break;
  case VBE_XRES:
  case VBE_YRES:
  case VBE_BPP:
    // Mode geometry takes effect on the next enable.
    if (!vbe_enabled())
      vbe_[index] = index == VBE_BPP && value == 0 ? 8 : value;
    break;
  case VBE_ENABLE: {
    uint16_t old_enable = vbe_[VBE_ENABLE];
    vbe_[VBE_ENABLE] = value;
    apply_vbe_mode(old_enable);
    break;
  }
  case VBE_BANK:
    vbe_[VBE_BANK] = value & uint16_t(kVramSize / kVbeBankSize - 1);
    break;
  case VBE_VIRT_WIDTH:
    if (vbe_enabled() && value >= vbe_[VBE_XRES]) {
      vbe_[VBE_VIRT_WIDTH] = value;
      recompute_vbe_layout();
    }
    break;
  case VBE_X_OFFSET:
  case VBE_Y_OFFSET:
    vbe_[index] = value;
    break;
  case VBE_VIRT_HEIGHT:
    break; // follows from the virtual width and the memory size
  default:
    SABLE_LOG_ONCE(LOG_GUEST_ERRORS,
                   "vga: write to read-only or unknown DISPI register %u\n",
                   index);
    break;
  }
}

void Vga::apply_vbe_mode(uint16_t old_enable) {
  if (!vbe_enabled() || (old_enable & kVbeEnabled))
    return;
  uint16_t xres = vbe_[VBE_XRES], yres = vbe_[VBE_YRES], bpp = vbe_[VBE_BPP];
  uint64_t line_bytes = vbe_row_bytes(xres, bpp);
  if (xres == 0 || yres == 0 || xres > kVbeMaxXres || yres > kVbeMaxYres ||
      !vbe_bpp_supported(bpp) || line_bytes * yres > kVramSize) {
    SABLE_LOG(LOG_GUEST_ERRORS, "vga: DISPI mode %ux%ux%u refused\n", xres,
              yres, bpp);
    vbe_[VBE_ENABLE] &= ~kVbeEnabled;
    return;
  }
  vbe_[VBE_VIRT_WIDTH] = xres;
  vbe_[VBE_X_OFFSET] = 0;
  vbe_[VBE_Y_OFFSET] = 0;
  vbe_[VBE_BANK] = 0;
  recompute_vbe_layout();
  if (!(vbe_[VBE_ENABLE] & kVbeNoClearMem))
    std::memset(vram_, 0, size_t(vbe_line_bytes_) * yres);
}

void Vga::recompute_vbe_layout() {
  vbe_line_bytes_ =
      uint32_t(vbe_row_bytes(vbe_[VBE_VIRT_WIDTH], vbe_[VBE_BPP]));
  uint64_t lines = vbe_line_bytes_ ? kVramSize / vbe_line_bytes_ : 0;
  vbe_[VBE_VIRT_HEIGHT] = uint16_t(std::min<uint64_t>(lines, 0xffff));
}

uint64_t Vga::vbe_start() const {
  return uint64_t(vbe_[VBE_Y_OFFSET]) * vbe_line_bytes_ +
         vbe_row_bytes(vbe_[VBE_X_OFFSET], vbe_[VBE_BPP]);
}

// ---- The legacy memory window -------------------------------------------

bool Vga::window_address(uint32_t offset, uint32_t &address) const {
  bool decoded;
  switch ((graphics_[kGfxMisc] >> 2) & 3) {
  case 0: // 0xA0000-0xBFFFF
    address = offset;
    decoded = true;
    break;
  case 1: // 0xA0000-0xAFFFF
    address = offset;
    decoded = offset < 0x10000;
    break;
  case 2: // 0xB0000-0xB7FFF
    address = offset - 0x10000;
    decoded = offset >= 0x10000 && offset < 0x18000;
    break;
  default: // 0xB8000-0xBFFFF
    address = offset - 0x18000;
    decoded = offset >= 0x18000;
    break;
  }
  // A planar VBE mode banks plane addresses in 64 KiB steps.
  if (vbe_planar())
    address += uint32_t(vbe_[VBE_BANK]) * kVbeBankSize;
  return decoded && uint64_t(address) * 4 + 4 <= kVramSize;
}

uint8_t Vga::read_window(uint32_t offset) {
  if (vbe_enabled() && !vbe_planar()) {
    uint64_t linear = uint64_t(vbe_[VBE_BANK]) * kVbeBankSize + offset;
    return offset < kVbeBankSize && linear < kVramSize ? vram_[linear] : 0xff;
  }
  uint32_t address;
  if (!window_address(offset, address))
    return 0xff;
  unsigned plane;
  if (sequencer_[kSeqMemoryMode] & kSeqChain4) {
    plane = address & 3;
    address &= ~3u;
  } else if (graphics_[kGfxMode] & kGfxModeOddEven) {
    plane = (graphics_[kGfxReadMap] & 2) | (address & 1);
    address &= ~1u;
  } else {
    plane = graphics_[kGfxReadMap] & 3;
  }
  std::memcpy(latch_.data(), vram_ + size_t(address) * 4, 4);
  if (!(graphics_[kGfxMode] & kGfxModeReadCompare))
    return latch_[plane];
  // Read mode 1: a 1 for each pixel whose colour matches the colour compare
  // register in the planes the don't-care register includes.
  uint8_t differs = 0;
  for (unsigned p = 0; p < 4; ++p)
    if ((graphics_[kGfxColourDontCare] >> p) & 1)
      differs |= latch_[p] ^ expand_bit(graphics_[kGfxColourCompare], p);
  return uint8_t(~differs);
}

void Vga::write_window(uint32_t offset, uint8_t value) {
  if (vbe_enabled() && !vbe_planar()) {
    uint64_t linear = uint64_t(vbe_[VBE_BANK]) * kVbeBankSize + offset;
    if (offset < kVbeBankSize && linear < kVramSize)
      vram_[linear] = value;
    return;
  }
  uint32_t address;
  if (!window_address(offset, address))
    return;
  uint8_t map_mask = sequencer_[kSeqMapMask] & 0x0f;
  if (sequencer_[kSeqMemoryMode] & kSeqChain4) {
    unsigned plane = address & 3;
    if ((map_mask >> plane) & 1)
      vram_[size_t(address & ~3u) * 4 + plane] = value;
  } else if (!(sequencer_[kSeqMemoryMode] & kSeqOddEvenDisable)) {
    // Even addresses reach planes 0 and 2, odd ones planes 1 and 3.
    uint8_t planes = map_mask & (address & 1 ? 0x0a : 0x05);
    for (unsigned p = 0; p < 4; ++p)
      if ((planes >> p) & 1)
        vram_[size_t(address & ~1u) * 4 + p] = value;
  } else {
    write_planes(address, value);
  }
}

void Vga::write_planes(uint32_t address, uint8_t value) {
  uint8_t mode = graphics_[kGfxMode] & 3;
  uint8_t set_reset = graphics_[kGfxSetReset];
  uint8_t enable_set_reset = graphics_[kGfxEnableSetReset];
  uint8_t rotated = rotate_right(value, graphics_[kGfxDataRotate]);
  unsigned function = (graphics_[kGfxDataRotate] >> 3) & 3;
  uint8_t bit_mask = graphics_[kGfxBitMask];
  std::array<uint8_t, 4> data;
  for (unsigned p = 0; p < 4; ++p) {
    switch (mode) {
    case 0:
      data[p] =
          (enable_set_reset >> p) & 1 ? expand_bit(set_reset, p) : rotated;
      break;
    case 1:
      data[p] = latch_[p];
      break;
    case 2:
      data[p] = expand_bit(value, p);
      break;
    default:
      data[p] = expand_bit(set_reset, p);
      break;
    }
  }
  if (mode != 1) {
    if (mode == 3)
      bit_mask &= rotated;
    for (unsigned p = 0; p < 4; ++p) {
      switch (function) {
      case 1:
        data[p] &= latch_[p];
        break;
      case 2:
        data[p] |= latch_[p];
        break;
      case 3:
        data[p] ^= latch_[p];
        break;
      }
      data[p] = uint8_t((data[p] & bit_mask) | (latch_[p] & ~bit_mask));
    }
  }
  uint8_t map_mask = sequencer_[kSeqMapMask];
  for (unsigned p = 0; p < 4; ++p)
    if ((map_mask >> p) & 1)
      vram_[size_t(address) * 4 + p] = data[p];
}

// ---- BAR2: the VGA and DISPI registers as MMIO --------------------------

uint64_t Vga::read_register_bar(uint64_t offset, unsigned size) {
  if (offset >= kBarVgaPorts && offset + size <= kBarVgaPortsEnd)
    return read_ports(offset - kBarVgaPorts + (kBarVgaPortsBase - kPortBase),
                      size);
  if (offset >= kBarVbe && offset + size <= kBarVbeEnd && offset % 2 == 0 &&
      size % 2 == 0) {
    uint64_t value = 0;
    for (unsigned i = 0; i < size; i += 2)
      value |= uint64_t(read_vbe(unsigned((offset + i - kBarVbe) / 2)))
               << (8 * i);
    return value;
  }
  SABLE_LOG_ONCE(LOG_UNIMP, "vga: register BAR read at 0x%x\n",
                 unsigned(offset));
  return 0;
}

void Vga::write_register_bar(uint64_t offset, unsigned size, uint64_t value) {
  if (offset >= kBarVgaPorts && offset + size <= kBarVgaPortsEnd) {
    write_ports(offset - kBarVgaPorts + (kBarVgaPortsBase - kPortBase), size,
                value);
    return;
  }
  if (offset >= kBarVbe && offset + size <= kBarVbeEnd && offset % 2 == 0 &&
      size % 2 == 0) {
    for (unsigned i = 0; i < size; i += 2)
      write_vbe(unsigned((offset + i - kBarVbe) / 2),
                uint16_t(value >> (8 * i)));
    return;
  }
  SABLE_LOG_ONCE(LOG_UNIMP, "vga: register BAR write at 0x%x\n",
                 unsigned(offset));
}

// ---- BAR0 as guest RAM ---------------------------------------------------

void Vga::config_written(unsigned offset, unsigned size) {
  unsigned bar0 = pci::kBar0 + 4 * kFramebufferBar;
  bool command = offset < pci::kCommand + 2 && pci::kCommand < offset + size;
  bool bar = offset < bar0 + 4 && bar0 < offset + size;
  if (command || bar)
    update_framebuffer_mapping();
}

void Vga::update_framebuffer_mapping() {
  uint64_t base = config_dword(pci::kBar0 + 4 * kFramebufferBar) & ~0xfull;
  bool decode = config_word(pci::kCommand) & pci::kCommandMemory;
  bool wanted = decode && base != 0 && base + kVramSize <= (uint64_t{1} << 32);
  if (framebuffer_mapped_ && wanted && base == framebuffer_base_)
    return;
  if (framebuffer_mapped_) {
    memory_.remove_region(kFramebufferRegion);
    framebuffer_mapped_ = false;
  }
  if (!wanted)
    return;
  // Never cover RAM or firmware: a BAR parked over them (as during sizing)
  // stays reachable only through the MMIO bus, which they shadow anyway.
  for (const GuestMemory::Segment &s : memory_.segments())
    if (s.base < base + kVramSize && base < s.base + s.length &&
        s.kind != GuestMemory::Kind::Mmio)
      return;
  memory_.add_device_ram(kFramebufferRegion, base, kVramSize, vram_);
  framebuffer_mapped_ = true;
  framebuffer_base_ = base;
}

// ---- Text screen --------------------------------------------------------

std::string Vga::TextScreen::line(unsigned row) const {
  std::string text;
  for (unsigned c = 0; c < columns; ++c)
    text.push_back(char(cells[size_t(row) * columns + c] & 0xff));
  return text;
}

Vga::TextScreen Vga::text_screen() const {
  TextScreen screen;
  if (vbe_enabled() || (graphics_[kGfxMisc] & 1))
    return screen;
  unsigned char_height = (crtc_[9] & 0x1f) + 1;
  unsigned scanlines = (crtc_[0x12] | (crtc_[kCrtcOverflow] & 0x02) << 7 |
                        (crtc_[kCrtcOverflow] & 0x40) << 3) +
                       1;
  if (crtc_[9] & 0x80)
    scanlines /= 2;
  screen.columns = crtc_[1] + 1u;
  screen.rows = scanlines / char_height;
  screen.cells.resize(size_t(screen.columns) * screen.rows);
  unsigned shift = crtc_[0x14] & 0x40 ? 2 : crtc_[0x17] & 0x40 ? 0 : 1;
  unsigned pitch = crtc_[0x13] * 2u;
  unsigned start = crtc_[0x0c] << 8 | crtc_[0x0d];
  for (unsigned r = 0; r < screen.rows; ++r)
    for (unsigned c = 0; c < screen.columns; ++c) {
      uint32_t address = ((start + r * pitch + c) << shift) & 0xffff;
      const uint8_t *cell = vram_ + size_t(address) * 4;
      screen.cells[size_t(r) * screen.columns + c] =
          uint16_t(cell[0] | cell[1] << 8);
    }
  unsigned cursor = crtc_[0x0e] << 8 | crtc_[0x0f];
  bool cursor_off = crtc_[0x0a] & 0x20;
  if (!cursor_off && cursor >= start && pitch > 0) {
    unsigned row = (cursor - start) / pitch, column = (cursor - start) % pitch;
    if (row < screen.rows && column < screen.columns) {
      screen.cursor_row = int(row);
      screen.cursor_column = int(column);
    }
  }
  return screen;
}

// ---- State --------------------------------------------------------------

void Vga::save_state(StateWriter &out) const {
  out.begin_section("vga", 1);
  out.u8(misc_output_);
  out.u8(feature_control_);
  out.u8(sequencer_index_);
  out.bytes(sequencer_.data(), sequencer_.size());
  out.u8(crtc_index_);
  out.bytes(crtc_.data(), crtc_.size());
  out.u8(graphics_index_);
  out.bytes(graphics_.data(), graphics_.size());
  out.u8(attribute_index_);
  out.boolean(attribute_flip_flop_);
  out.bytes(attribute_.data(), attribute_.size());
  for (const auto &entry : dac_)
    out.bytes(entry.data(), entry.size());
  out.u8(pel_mask_);
  out.u8(dac_read_index_);
  out.u8(dac_write_index_);
  out.u8(dac_component_);
  out.boolean(dac_reading_);
  out.bytes(dac_latch_.data(), dac_latch_.size());
  out.bytes(latch_.data(), latch_.size());
  out.u32(status_reads_);
  out.u16(vbe_index_);
  for (uint16_t reg : vbe_)
    out.u16(reg);
  out.u64(kVramSize);
  out.bytes(vram_, kVramSize);
  out.end_section();
}

void Vga::load_state(StateReader &in) {
  in.begin_section("vga", 1);
  misc_output_ = in.u8();
  feature_control_ = in.u8();
  sequencer_index_ = in.u8();
  in.bytes(sequencer_.data(), sequencer_.size());
  crtc_index_ = in.u8();
  in.bytes(crtc_.data(), crtc_.size());
  graphics_index_ = in.u8();
  in.bytes(graphics_.data(), graphics_.size());
  attribute_index_ = in.u8();
  attribute_flip_flop_ = in.boolean();
  in.bytes(attribute_.data(), attribute_.size());
  for (auto &entry : dac_)
    in.bytes(entry.data(), entry.size());
  pel_mask_ = in.u8();
  dac_read_index_ = in.u8();
  dac_write_index_ = in.u8();
  dac_component_ = in.u8() % 3;
  dac_reading_ = in.boolean();
  in.bytes(dac_latch_.data(), dac_latch_.size());
  in.bytes(latch_.data(), latch_.size());
  status_reads_ = in.u32();
  vbe_index_ = in.u16();
  for (uint16_t &reg : vbe_)
    reg = in.u16();
  recompute_vbe_layout();
  if (in.u64() != kVramSize)
    throw StateError("vga: saved with another amount of video memory");
  in.bytes(vram_, kVramSize);
  in.end_section();
}

} // namespace sable
