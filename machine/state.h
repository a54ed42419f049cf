#pragma once
// Versioned binary state streams for save/restore and migration.
// Each component writes one named section with a version; readers reject
// sections they do not know and versions newer than they understand.

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace sable {

class StateError : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

class StateWriter {
public:
  void begin_section(std::string_view name, uint32_t version);
  void end_section();

  void u8(uint8_t v) { put(&v, 1); }
  void u16(uint16_t v) { put(&v, 2); }
  void u32(uint32_t v) { put(&v, 4); }
  void u64(uint64_t v) { put(&v, 8); }
  void boolean(bool v) { u8(v ? 1 : 0); }
  // Raw bytes: the reader must know the size (StateReader::bytes).
  void bytes(const void *data, size_t size);
  // Length-prefixed.
  void string(std::string_view s);

  const std::vector<uint8_t> &data() const { return buffer_; }

private:
  void put(const void *data, size_t size);
  std::vector<uint8_t> buffer_;
  std::vector<size_t> open_sections_;
};

class StateReader {
public:
  explicit StateReader(const std::vector<uint8_t> &data) : data_(data) {}

  // Returns the section's version; throws StateError when the next section
  // has another name or a version above max_version.
  uint32_t begin_section(std::string_view name, uint32_t max_version);
  void end_section();

  uint8_t u8() { return get<uint8_t>(); }
  uint16_t u16() { return get<uint16_t>(); }
  uint32_t u32() { return get<uint32_t>(); }
  uint64_t u64() { return get<uint64_t>(); }
  bool boolean() { return u8() != 0; }
  void bytes(void *data, size_t size);
  std::string string();

  bool at_end() const { return pos_ == data_.size(); }

private:
  template <typename T> T get() {
    T v;
    bytes(&v, sizeof v);
    return v;
  }
  const std::vector<uint8_t> &data_;
  size_t pos_ = 0;
  std::vector<size_t> section_ends_;
};

} // namespace sable
