#pragma once
// Guest RAM as processors access it when several vCPU threads share it.
// x86 makes every naturally aligned access of 1, 2, 4 or 8 bytes atomic,
// and orders loads with loads and stores with stores (TSO): such accesses
// are single acquire loads and release stores here, which are plain moves
// on an x86 host and keep the compiler from reordering them. Other sizes
// and misaligned accesses have no atomicity guarantee and are copied.
//
// The integer accessors, on the interpreter's fast paths, make one volatile
// move whatever the alignment. On the x86 host that is the same move an
// acquire load or release store compiles to, and a misaligned move is the
// copy; volatile keeps the guest accesses of one instruction in order. It
// saves the alignment test and the second copy of the code after it.

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
[[gnu::always_inline]] inline bool aligned(const uint8_t *host, size_t size) {
  return (reinterpret_cast<uintptr_t>(host) & (size - 1)) == 0;
}
template <typename T> struct [[gnu::packed, gnu::may_alias]] Unaligned {
  T value;
};
template <typename T>
[[gnu::always_inline]] inline uint64_t load_value(const uint8_t *host) {
  return reinterpret_cast<const volatile Unaligned<T> *>(host)->value;
}
template <typename T>
[[gnu::always_inline]] inline void store_value(uint8_t *host, uint64_t value) {
  reinterpret_cast<volatile Unaligned<T> *>(host)->value =
      static_cast<T>(value);
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

// Loads and stores of up to 8 bytes as integers (little-endian, a load
// zero-extended). They keep the value in a register: copying a narrow load
// into a wider variable that is then read whole would defeat the host's
// store-to-load forwarding and stall. Always inlined, as the threaded fast
// paths (cpu/ops/chain.h) must call nothing.
[[gnu::always_inline]] inline uint64_t load_ram_value(const uint8_t *host,
                                                      size_t size) {
  using namespace ram_access_detail;
  switch (size) {
  case 1:
    return load_value<uint8_t>(host);
  case 2:
    return load_value<uint16_t>(host);
  case 4:
    return load_value<uint32_t>(host);
  case 8:
    return load_value<uint64_t>(host);
  default:
    uint64_t value = 0;
    std::memcpy(&value, host, size);
    return value;
  }
}

[[gnu::always_inline]] inline void store_ram_value(uint8_t *host, size_t size,
                                                   uint64_t value) {
  using namespace ram_access_detail;
  switch (size) {
  case 1:
    return store_value<uint8_t>(host, value);
  case 2:
    return store_value<uint16_t>(host, value);
  case 4:
    return store_value<uint32_t>(host, value);
  case 8:
    return store_value<uint64_t>(host, value);
  default:
    std::memcpy(host, &value, size);
  }
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
