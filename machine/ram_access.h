#pragma once
// Guest RAM as processors access it when several vCPU threads share it.
// x86 makes every naturally aligned access of 1, 2, 4 or 8 bytes atomic,
// and orders loads with loads and stores with stores (TSO): such accesses
// are single acquire loads and release stores here, which are plain moves
// on an x86 host and keep the compiler from reordering them. Other sizes
// and misaligned accesses have no atomicity guarantee and are copied.

#include <cstdint>
#include <cstring>

namespace sable {

namespace ram_access_detail {
template <typename T> void load(void *data, const uint8_t *host) {
  T value =
      __atomic_load_n(reinterpret_cast<const T *>(host), __ATOMIC_ACQUIRE);
  std::memcpy(data, &value, sizeof(T));
}
template <typename T> void store(uint8_t *host, const void *data) {
  T value;
  std::memcpy(&value, data, sizeof(T));
  __atomic_store_n(reinterpret_cast<T *>(host), value, __ATOMIC_RELEASE);
}
inline bool aligned(const uint8_t *host, size_t size) {
  return (reinterpret_cast<uintptr_t>(host) & (size - 1)) == 0;
}
} // namespace ram_access_detail

inline void load_ram(void *data, const uint8_t *host, size_t size) {
  using namespace ram_access_detail;
  if (size <= 8 && aligned(host, size)) {
    switch (size) {
    case 1:
      return load<uint8_t>(data, host);
    case 2:
      return load<uint16_t>(data, host);
    case 4:
      return load<uint32_t>(data, host);
    case 8:
      return load<uint64_t>(data, host);
    default:
      break;
    }
  }
  std::memcpy(data, host, size);
}

inline void store_ram(uint8_t *host, const void *data, size_t size) {
  using namespace ram_access_detail;
  if (size <= 8 && aligned(host, size)) {
    switch (size) {
    case 1:
      return store<uint8_t>(host, data);
    case 2:
      return store<uint16_t>(host, data);
    case 4:
      return store<uint32_t>(host, data);
    case 8:
      return store<uint64_t>(host, data);
    default:
      break;
    }
  }
  std::memcpy(host, data, size);
}

} // namespace sable
