#include "machine/state.h"

#include <cstring>

namespace sable {

void StateWriter::put(const void *data, size_t size) {
  auto p = static_cast<const uint8_t *>(data);
  buffer_.insert(buffer_.end(), p, p + size);
}

void StateWriter::bytes(const void *data, size_t size) {
  put(data, size);
}

void StateWriter::string(std::string_view s) {
  u64(s.size());
  put(s.data(), s.size());
}

void StateWriter::begin_section(std::string_view name, uint32_t version) {
  string(name);
  u32(version);
  open_sections_.push_back(buffer_.size());
  u64(0); // patched with the body length by end_section
}

void StateWriter::end_section() {
  if (open_sections_.empty())
    throw StateError("end_section without begin_section");
  size_t at = open_sections_.back();
  open_sections_.pop_back();
  uint64_t length = buffer_.size() - at - sizeof(uint64_t);
  std::memcpy(&buffer_[at], &length, sizeof length);
}

void StateReader::bytes(void *data, size_t size) {
  size_t limit = section_ends_.empty() ? data_.size() : section_ends_.back();
  if (size > limit - pos_)
    throw StateError("state stream truncated");
  std::memcpy(data, data_.data() + pos_, size);
  pos_ += size;
}

std::string StateReader::string() {
  uint64_t size = u64();
  size_t limit = section_ends_.empty() ? data_.size() : section_ends_.back();
  if (size > limit - pos_)
    throw StateError("state stream truncated");
  std::string s(reinterpret_cast<const char *>(data_.data() + pos_), size);
  pos_ += size;
  return s;
}

uint32_t StateReader::begin_section(std::string_view name,
                                    uint32_t max_version) {
  std::string found = string();
  if (found != name)
    throw StateError("state section '" + found + "' found where '" +
                     std::string(name) + "' was expected");
  uint32_t version = u32();
  if (version > max_version)
    throw StateError("state section '" + found + "' has version " +
                     std::to_string(version) + ", newer than supported " +
                     std::to_string(max_version));
  uint64_t length = u64();
  size_t limit = section_ends_.empty() ? data_.size() : section_ends_.back();
  if (length > limit - pos_)
    throw StateError("state section '" + found + "' truncated");
  section_ends_.push_back(pos_ + length);
  return version;
}

void StateReader::end_section() {
  if (section_ends_.empty())
    throw StateError("end_section without begin_section");
  // Skipping what a newer writer appended keeps old readers forward-tolerant
  // within one version.
  pos_ = section_ends_.back();
  section_ends_.pop_back();
}

} // namespace sable
