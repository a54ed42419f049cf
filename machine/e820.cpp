#include "machine/e820.h"

#include <algorithm>

namespace sable {

RamSplit split_ram(uint64_t ram_size) {
  uint64_t below = std::min(ram_size, kPciHoleStart);
  return {below, ram_size - below};
}

std::vector<E820Entry> build_e820(uint64_t ram_size) {
  RamSplit split = split_ram(ram_size);
  std::vector<E820Entry> map;
  map.push_back({0, std::min(split.below_4g, kEbdaStart), E820_RAM});
  map.push_back({kEbdaStart, kEbdaEnd - kEbdaStart, E820_RESERVED});
  map.push_back(
      {kBiosAreaStart, kHighMemoryStart - kBiosAreaStart, E820_RESERVED});
  if (split.below_4g > kHighMemoryStart)
    map.push_back(
        {kHighMemoryStart, split.below_4g - kHighMemoryStart, E820_RAM});
  if (split.above_4g)
    map.push_back({k4GiB, split.above_4g, E820_RAM});
  return map;
}

std::vector<E820Entry> build_firmware_e820(uint64_t ram_size) {
  RamSplit split = split_ram(ram_size);
  std::vector<E820Entry> map{{0, split.below_4g, E820_RAM}};
  if (split.above_4g)
    map.push_back({k4GiB, split.above_4g, E820_RAM});
  return map;
}

std::vector<uint8_t> e820_fw_cfg_file(const std::vector<E820Entry> &map) {
  std::vector<uint8_t> out;
  out.reserve(map.size() * kE820FileEntrySize);
  auto put = [&out](uint64_t value, unsigned bytes) {
    for (unsigned i = 0; i < bytes; ++i)
      out.push_back(uint8_t(value >> (8 * i)));
  };
  for (const E820Entry &entry : map) {
    put(entry.address, 8);
    put(entry.length, 8);
    put(entry.type, 4);
  }
  return out;
}

} // namespace sable
