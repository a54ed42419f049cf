#include "machine/io_bus.h"

#include <algorithm>
#include <cinttypes>

#include "machine/log.h"

namespace sable {

void RangeMap::add(uint64_t base, uint64_t length, Device *device) {
  if (length == 0)
    throw BusError("empty range for " + std::string(device->name()));
  auto at = std::lower_bound(
      ranges_.begin(), ranges_.end(), base,
      [](const Range &r, uint64_t address) { return r.base < address; });
  bool overlaps_next = at != ranges_.end() && at->base < base + length;
  bool overlaps_prev = at != ranges_.begin() &&
                       std::prev(at)->base + std::prev(at)->length > base;
  if (overlaps_next || overlaps_prev) {
    const Range &other = overlaps_next ? *at : *std::prev(at);
    throw BusError(std::string(device->name()) + " overlaps " +
                   std::string(other.device->name()));
  }
  ranges_.insert(at, Range{base, length, device});
}

void RangeMap::remove(Device *device) {
  std::erase_if(ranges_,
                [device](const Range &r) { return r.device == device; });
}

void RangeMap::remove_range(uint64_t base, Device *device) {
  std::erase_if(ranges_, [base, device](const Range &r) {
    return r.device == device && r.base == base;
  });
}

const RangeMap::Range *RangeMap::find(uint64_t address) const {
  auto at =
      std::upper_bound(ranges_.begin(), ranges_.end(), address,
                       [](uint64_t a, const Range &r) { return a < r.base; });
  if (at == ranges_.begin())
    return nullptr;
  --at;
  return address - at->base < at->length ? &*at : nullptr;
}

void IoPortBus::map(uint16_t base, uint32_t length, Device *device) {
  std::lock_guard guard(lock_);
  if (uint32_t{base} + length > 0x10000)
    throw BusError(std::string(device->name()) + " maps past port 0xffff");
  ranges_.add(base, length, device);
}

uint32_t IoPortBus::read(uint16_t port, unsigned size) {
  std::lock_guard guard(lock_);
  const RangeMap::Range *range = ranges_.find(port);
  if (!range) {
    if (!logged_unclaimed_.test(port)) {
      logged_unclaimed_.set(port);
      SABLE_LOG(LOG_UNIMP, "unclaimed I/O port read 0x%x (size %u)\n", port,
                size);
    }
    return static_cast<uint32_t>(all_ones(size));
  }
  uint32_t value = static_cast<uint32_t>(
      range->device->read(port - range->base, size) & all_ones(size));
  SABLE_LOG(LOG_IOPORT, "in  0x%04x/%u -> 0x%x\n", port, size, value);
  return value;
}

void IoPortBus::write(uint16_t port, unsigned size, uint32_t value) {
  std::lock_guard guard(lock_);
  SABLE_LOG(LOG_IOPORT, "out 0x%04x/%u <- 0x%x\n", port, size, value);
  const RangeMap::Range *range = ranges_.find(port);
  if (!range) {
    if (!logged_unclaimed_.test(port)) {
      logged_unclaimed_.set(port);
      SABLE_LOG(LOG_UNIMP, "unclaimed I/O port write 0x%x (size %u) 0x%x\n",
                port, size, value);
    }
    return;
  }
  range->device->write(port - range->base, size, value & all_ones(size));
}

void MmioBus::map(uint64_t base, uint64_t length, Device *device) {
  std::lock_guard guard(lock_);
  ranges_.add(base, length, device);
}

bool MmioBus::first_unclaimed_access(uint64_t address) {
  uint64_t page = address >> 12;
  if (std::find(logged_unclaimed_.begin(), logged_unclaimed_.end(), page) !=
      logged_unclaimed_.end())
    return false;
  logged_unclaimed_.push_back(page);
  return true;
}

uint64_t MmioBus::read(uint64_t address, unsigned size) {
  std::lock_guard guard(lock_);
  const RangeMap::Range *range = ranges_.find(address);
  if (!range) {
    if (first_unclaimed_access(address))
      SABLE_LOG(LOG_UNIMP, "unclaimed MMIO read 0x%" PRIx64 " (size %u)\n",
                address, size);
    return all_ones(size);
  }
  return range->device->read(address - range->base, size) & all_ones(size);
}

void MmioBus::write(uint64_t address, unsigned size, uint64_t value) {
  std::lock_guard guard(lock_);
  const RangeMap::Range *range = ranges_.find(address);
  if (!range) {
    if (first_unclaimed_access(address))
      SABLE_LOG(LOG_UNIMP,
                "unclaimed MMIO write 0x%" PRIx64 " (size %u) 0x%" PRIx64 "\n",
                address, size, value);
    return;
  }
  range->device->write(address - range->base, size, value & all_ones(size));
}

} // namespace sable
