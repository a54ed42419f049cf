#include "devices/pci_bus.h"

#include <cinttypes>
#include <stdexcept>

#include "machine/io_bus.h"
#include "machine/irq.h"
#include "machine/log.h"
#include "machine/state.h"

namespace sable {

namespace {
constexpr uint32_t kConfigEnable = 1u << 31;
constexpr uint32_t kConfigAddressMask = 0x80fffffc;
constexpr unsigned kConfigDataOffset = 4;
constexpr unsigned kResetControlOffset = 1;
constexpr uint16_t kCommandWritable = pci::kCommandIo | pci::kCommandMemory |
                                      pci::kCommandMaster | (1u << 6) |
                                      (1u << 8) | pci::kCommandIntxDisable;
// Parity, system, master/target abort bits: write one to clear.
constexpr uint16_t kStatusWriteOneToClear = 0xf900;
constexpr uint8_t kBarIo = 0x1;
constexpr uint8_t kBarMem64 = 0x4;
constexpr uint8_t kBarPrefetchable = 0x8;

bool overlaps(unsigned offset, unsigned size, unsigned start, unsigned len) {
  return offset < start + len && start < offset + size;
}
} // namespace

PciDevice::PciDevice(uint16_t vendor, uint16_t device, uint32_t class_code,
                     uint8_t revision) {
  set_config_word(pci::kVendorId, vendor);
  set_config_word(pci::kDeviceId, device);
  config_[pci::kRevision] = revision;
  config_[pci::kClassCode] = class_code & 0xff;
  config_[pci::kClassCode + 1] = (class_code >> 8) & 0xff;
  config_[pci::kClassCode + 2] = (class_code >> 16) & 0xff;
  set_writable(pci::kCommand, 2, kCommandWritable);
  for (unsigned i = 0; i < 2; ++i)
    write_one_to_clear_[pci::kStatus + i] = kStatusWriteOneToClear >> (8 * i);
  set_writable(0x0c, 2, 0xffff); // cache line size, latency timer
  set_writable(pci::kInterruptLine, 1, 0xff);
}

uint16_t PciDevice::config_word(unsigned offset) const {
  return uint16_t(config_[offset] | config_[offset + 1] << 8);
}

uint32_t PciDevice::config_dword(unsigned offset) const {
  return uint32_t(config_word(offset)) | uint32_t(config_word(offset + 2))
                                             << 16;
}

void PciDevice::set_config_word(unsigned offset, uint16_t value) {
  config_[offset] = value & 0xff;
  config_[offset + 1] = value >> 8;
}

void PciDevice::set_config_dword(unsigned offset, uint32_t value) {
  set_config_word(offset, value & 0xffff);
  set_config_word(offset + 2, value >> 16);
}

void PciDevice::set_writable(unsigned offset, unsigned size, uint32_t mask) {
  for (unsigned i = 0; i < size; ++i)
    writable_[offset + i] = (mask >> (8 * i)) & 0xff;
}

void PciDevice::define_bar(unsigned index, BarKind kind, uint64_t size,
                           Device *target, bool prefetchable) {
  unsigned offset = pci::kBar0 + 4 * index;
  uint64_t address_mask = ~(size - 1);
  bars_[index] = Bar{kind, size, target, false, 0};
  switch (kind) {
  case BarKind::Io:
    set_config_dword(offset, kBarIo);
    set_writable(offset, 4, uint32_t(address_mask) & ~3u);
    break;
  case BarKind::Mem32:
    set_config_dword(offset, prefetchable ? kBarPrefetchable : 0);
    set_writable(offset, 4, uint32_t(address_mask) & ~0xfu);
    break;
  case BarKind::Mem64:
    set_config_dword(offset, kBarMem64 | (prefetchable ? kBarPrefetchable : 0));
    set_writable(offset, 4, uint32_t(address_mask) & ~0xfu);
    set_writable(offset + 4, 4, uint32_t(address_mask >> 32));
    break;
  }
}

uint64_t PciDevice::bar_address(unsigned index) const {
  uint32_t low = config_dword(pci::kBar0 + 4 * index);
  switch (bars_[index].kind) {
  case BarKind::Io:
    return low & ~3u;
  case BarKind::Mem32:
    return low & ~0xfu;
  case BarKind::Mem64:
    return (low & ~0xfu) | uint64_t(config_dword(pci::kBar0 + 4 * index + 4))
                               << 32;
  }
  return 0;
}

uint32_t PciDevice::config_read(unsigned offset, unsigned size) const {
  uint32_t value = 0;
  for (unsigned i = 0; i < size; ++i)
    value |= uint32_t(config_[offset + i]) << (8 * i);
  return value;
}

void PciDevice::config_write(unsigned offset, unsigned size, uint32_t value) {
  for (unsigned i = 0; i < size; ++i) {
    unsigned at = offset + i;
    uint8_t byte = (value >> (8 * i)) & 0xff;
    config_[at] = (config_[at] & ~writable_[at]) | (byte & writable_[at]);
    config_[at] &= ~(byte & write_one_to_clear_[at]);
  }
  if (bus_) {
    if (overlaps(offset, size, pci::kCommand, 2) ||
        overlaps(offset, size, pci::kBar0, 4 * pci::kBarCount))
      bus_->update_bars(*this);
    if (overlaps(offset, size, pci::kCommand, 2))
      bus_->update_interrupts();
  }
  config_written(offset, size);
}

void PciDevice::set_intx(bool level) {
  if (intx_ == level)
    return;
  intx_ = level;
  uint16_t status = config_word(pci::kStatus);
  set_config_word(pci::kStatus, level ? status | pci::kStatusInterrupt
                                      : status & ~pci::kStatusInterrupt);
  if (bus_)
    bus_->update_interrupts();
}

PciBus::PciBus(IoPortBus &io, MmioBus &mmio, IrqRouter *irq)
    : io_(io), mmio_(mmio), irq_(irq) {}

void PciBus::add(PciDevice *device, uint8_t slot, uint8_t function) {
  if (slot > 31 || function > 7 || find(slot, function))
    throw std::logic_error("PCI address taken or invalid for " +
                           std::string(device->name()));
  device->bus_ = this;
  device->devfn_ = uint8_t(slot << 3 | function);
  device->reset_config_ = device->config_;
  devices_.push_back(device);
}

PciDevice *PciBus::find(uint8_t slot, uint8_t function) const {
  uint8_t devfn = uint8_t(slot << 3 | function);
  for (PciDevice *device : devices_)
    if (device->devfn_ == devfn)
      return device;
  return nullptr;
}

uint64_t PciBus::read(uint64_t offset, unsigned size) {
  if (offset == 0 && size == 4)
    return config_address_;
  if (offset == kResetControlOffset && size == 1 && reset_control_)
    return reset_control_->read(0, 1);
  if (offset < kConfigDataOffset)
    return all_ones(size);
  unsigned byte = offset - kConfigDataOffset;
  if (!(config_address_ & kConfigEnable) || byte + size > 4)
    return all_ones(size);
  uint8_t bus = (config_address_ >> 16) & 0xff;
  uint8_t devfn = (config_address_ >> 8) & 0xff;
  PciDevice *device = bus == 0 ? find(devfn >> 3, devfn & 7) : nullptr;
  if (!device)
    return all_ones(size);
  return device->config_read((config_address_ & 0xfc) + byte, size);
}

void PciBus::write(uint64_t offset, unsigned size, uint64_t value) {
  if (offset == 0 && size == 4) {
    config_address_ = uint32_t(value) & kConfigAddressMask;
    return;
  }
  if (offset == kResetControlOffset && size == 1 && reset_control_) {
    reset_control_->write(0, 1, value);
    return;
  }
  if (offset < kConfigDataOffset)
    return;
  unsigned byte = offset - kConfigDataOffset;
  if (!(config_address_ & kConfigEnable) || byte + size > 4)
    return;
  uint8_t bus = (config_address_ >> 16) & 0xff;
  uint8_t devfn = (config_address_ >> 8) & 0xff;
  PciDevice *device = bus == 0 ? find(devfn >> 3, devfn & 7) : nullptr;
  if (device)
    device->config_write((config_address_ & 0xfc) + byte, size,
                         uint32_t(value));
}

void PciBus::update_bars(PciDevice &device) {
  uint16_t command = device.config_word(pci::kCommand);
  for (unsigned i = 0; i < pci::kBarCount; ++i) {
    PciDevice::Bar &bar = device.bars_[i];
    if (bar.size == 0)
      continue;
    bool io = bar.kind == PciDevice::BarKind::Io;
    uint64_t base = device.bar_address(i);
    uint64_t limit = io                                      ? 0x10000
                     : bar.kind == PciDevice::BarKind::Mem32 ? uint64_t{1} << 32
                                                             : ~uint64_t{0};
    bool decode = command & (io ? pci::kCommandIo : pci::kCommandMemory);
    bool placeable = base != 0 && base < limit && bar.size <= limit - base;
    if (decode && placeable && bar.mapped && bar.mapped_base == base)
      continue;
    unmap_bar(bar);
    if (decode && placeable)
      map_bar(device, i, base);
  }
}

void PciBus::map_bar(PciDevice &device, unsigned index, uint64_t base) {
  PciDevice::Bar &bar = device.bars_[index];
  try {
    if (bar.kind == PciDevice::BarKind::Io)
      io_.map(uint16_t(base), uint32_t(bar.size), bar.target);
    else
      mmio_.map(base, bar.size, bar.target);
  } catch (const BusError &error) {
    SABLE_LOG_ONCE(LOG_GUEST_ERRORS,
                   "%.*s BAR%u at 0x%" PRIx64 " left unmapped: %s\n",
                   int(device.name().size()), device.name().data(), index, base,
                   error.what());
    return;
  }
  bar.mapped = true;
  bar.mapped_base = base;
}

void PciBus::unmap_bar(PciDevice::Bar &bar) {
  if (!bar.mapped)
    return;
  if (bar.kind == PciDevice::BarKind::Io)
    io_.unmap(uint16_t(bar.mapped_base), bar.target);
  else
    mmio_.unmap(bar.mapped_base, bar.target);
  bar.mapped = false;
}

void PciBus::update_interrupts() {
  std::array<bool, pci::kPirqCount> pirq{};
  for (const PciDevice *device : devices_) {
    uint8_t pin = device->config_[pci::kInterruptPin];
    bool disabled =
        device->config_word(pci::kCommand) & pci::kCommandIntxDisable;
    if (pin >= 1 && pin <= 4 && device->intx_ && !disabled)
      pirq[pirq_for(device->slot(), pin)] = true;
  }
  std::array<bool, 16> isa{};
  for (unsigned p = 0; p < pci::kPirqCount; ++p) {
    if (pirq[p] != pirq_level_[p] && irq_)
      irq_->set_level(pci::kPirqGsiBase + p, pirq[p]);
    int route = pirq_router_ ? pirq_router_->isa_irq_for_pirq(p) : -1;
    if (pirq[p] && route >= 0 && route < 16)
      isa[route] = true;
  }
  for (unsigned i = 0; i < isa.size(); ++i)
    if (isa[i] != isa_level_[i] && irq_)
      irq_->set_level(i, isa[i]);
  pirq_level_ = pirq;
  isa_level_ = isa;
}

void PciBus::reset() {
  config_address_ = 0;
  for (PciDevice *device : devices_) {
    device->config_ = device->reset_config_;
    device->intx_ = false;
    device->reset_state();
  }
  restored();
}

void PciBus::restored() {
  for (PciDevice *device : devices_) {
    update_bars(*device);
    device->config_restored();
  }
  update_interrupts();
}

void PciBus::save(StateWriter &out) const {
  out.begin_section("pci-bus", 1);
  out.u32(config_address_);
  for (bool level : pirq_level_)
    out.boolean(level);
  for (bool level : isa_level_)
    out.boolean(level);
  out.u32(uint32_t(devices_.size()));
  for (const PciDevice *device : devices_) {
    out.u8(device->devfn_);
    for (uint8_t byte : device->config_)
      out.u8(byte);
    out.boolean(device->intx_);
    device->save_state(out);
  }
  out.end_section();
}

void PciBus::load(StateReader &in) {
  in.begin_section("pci-bus", 1);
  config_address_ = in.u32();
  for (bool &level : pirq_level_)
    level = in.boolean();
  for (bool &level : isa_level_)
    level = in.boolean();
  if (in.u32() != devices_.size())
    throw StateError("pci-bus: saved with another set of functions");
  for (PciDevice *device : devices_) {
    if (in.u8() != device->devfn_)
      throw StateError("pci-bus: function order differs from the save");
    for (uint8_t &byte : device->config_)
      byte = in.u8();
    device->intx_ = in.boolean();
    device->load_state(in);
  }
  in.end_section();
  restored();
}

} // namespace sable
