#pragma once
// Port I/O and MMIO dispatch: sorted, non-overlapping ranges mapped to
// devices. Dispatch runs under the machine lock, so devices need no locks
// of their own against vCPU threads or the event loop.

#include <bitset>
#include <cstdint>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "machine/device.h"

namespace sable {

class BusError : public std::logic_error {
public:
  using std::logic_error::logic_error;
};

// Shared by IoPortBus and MmioBus: a sorted range map with overlap checks.
class RangeMap {
public:
  struct Range {
    uint64_t base;
    uint64_t length;
    Device *device;
  };

  void add(uint64_t base, uint64_t length, Device *device);
  void remove(Device *device);
  void remove_range(uint64_t base, Device *device);
  const Range *find(uint64_t address) const;
  const std::vector<Range> &ranges() const { return ranges_; }

private:
  std::vector<Range> ranges_;
};

class IoPortBus {
public:
  explicit IoPortBus(std::recursive_mutex &machine_lock)
      : lock_(machine_lock) {}

  // Throws BusError when the range overlaps one already mapped.
  void map(uint16_t base, uint32_t length, Device *device);
  void unmap(Device *device) { ranges_.remove(device); }
  void unmap(uint16_t base, Device *device) {
    ranges_.remove_range(base, device);
  }

  uint32_t read(uint16_t port, unsigned size);
  void write(uint16_t port, unsigned size, uint32_t value);
  const std::vector<RangeMap::Range> &ranges() const {
    return ranges_.ranges();
  }

private:
  std::recursive_mutex &lock_;
  RangeMap ranges_;
  std::bitset<65536> logged_unclaimed_;
};

class MmioBus {
public:
  explicit MmioBus(std::recursive_mutex &machine_lock) : lock_(machine_lock) {}

  void map(uint64_t base, uint64_t length, Device *device);
  void unmap(Device *device) { ranges_.remove(device); }
  void unmap(uint64_t base, Device *device) {
    ranges_.remove_range(base, device);
  }
  bool claimed(uint64_t address) const { return ranges_.find(address); }

  uint64_t read(uint64_t address, unsigned size);
  void write(uint64_t address, unsigned size, uint64_t value);
  const std::vector<RangeMap::Range> &ranges() const {
    return ranges_.ranges();
  }

private:
  // Unclaimed accesses are logged once per page.
  bool first_unclaimed_access(uint64_t address);

  std::recursive_mutex &lock_;
  RangeMap ranges_;
  std::vector<uint64_t> logged_unclaimed_;
};

inline uint64_t all_ones(unsigned size) {
  return size >= 8 ? ~uint64_t{0} : (uint64_t{1} << (size * 8)) - 1;
}

} // namespace sable
