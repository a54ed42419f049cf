#pragma once
// A strict reader for the subset of AML the DSDT uses (Scope, Device, Name,
// Package, Buffer, integers, strings), standing in for a disassembler in
// tests: every package length must end exactly where its contents do, and
// every byte of the table must belong to a known term.

#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace sable::test {

class AmlWalker {
public:
  struct Object {
    uint8_t opcode = 0;         // of the named object's value
    uint64_t integer = 0;       // for integers
    size_t elements = 0;        // for packages
    std::vector<uint8_t> bytes; // for buffers
  };

  // Walks the term list of a definition block body; throws on malformed AML.
  explicit AmlWalker(const std::vector<uint8_t> &aml) : aml_(aml) {
    term_list(aml.size(), "");
  }

  std::map<std::string, Object> names;
  std::vector<std::string> devices;

private:
  uint8_t next() {
    if (pos_ >= aml_.size())
      throw std::runtime_error("AML ends inside a term");
    return aml_[pos_++];
  }

  size_t package_end() {
    size_t start = pos_;
    uint8_t lead = next();
    unsigned extra = lead >> 6;
    size_t length = extra ? lead & 0x0f : lead & 0x3f;
    if (extra && (lead & 0x30))
      throw std::runtime_error("PkgLength reserved bits set");
    for (unsigned i = 0; i < extra; ++i)
      length |= size_t(next()) << (4 + 8 * i);
    size_t end = start + length;
    if (end > aml_.size())
      throw std::runtime_error("PkgLength beyond the table");
    return end;
  }

  std::string name_segment() {
    std::string segment;
    for (int i = 0; i < 4; ++i) {
      char c = char(next());
      bool ok =
          (c >= 'A' && c <= 'Z') || c == '_' || (i && c >= '0' && c <= '9');
      if (!ok)
        throw std::runtime_error("bad name character");
      segment += c;
    }
    return segment;
  }

  std::string name_string(const std::string &scope) {
    std::string prefix;
    bool root = false;
    while (aml_.at(pos_) == '\\' || aml_.at(pos_) == '^') {
      root = root || aml_[pos_] == '\\';
      prefix += char(next());
    }
    unsigned count = 1;
    if (aml_.at(pos_) == 0x2e) {
      ++pos_;
      count = 2;
    } else if (aml_[pos_] == 0x2f) {
      ++pos_;
      count = next();
    } else if (aml_[pos_] == 0x00) {
      ++pos_;
      count = 0;
    }
    std::string path = root ? "\\" : scope;
    for (unsigned i = 0; i < count; ++i) {
      if (!path.empty() && path.back() != '\\')
        path += '.';
      path += name_segment();
    }
    return path;
  }

  uint64_t integer(unsigned bytes) {
    uint64_t value = 0;
    for (unsigned i = 0; i < bytes; ++i)
      value |= uint64_t(next()) << (8 * i);
    return value;
  }

  Object data_object() {
    Object object;
    object.opcode = next();
    switch (object.opcode) {
    case 0x00:
    case 0x01:
      object.integer = object.opcode;
      break;
    case 0xff:
      object.integer = ~uint64_t{0};
      break;
    case 0x0a:
      object.integer = integer(1);
      break;
    case 0x0b:
      object.integer = integer(2);
      break;
    case 0x0c:
      object.integer = integer(4);
      break;
    case 0x0e:
      object.integer = integer(8);
      break;
    case 0x0d:
      while (next() != 0) {
      }
      break;
    case 0x12: {
      size_t end = package_end();
      object.elements = next();
      for (size_t i = 0; i < object.elements; ++i)
        data_object();
      if (pos_ != end)
        throw std::runtime_error("package contents and length disagree");
      break;
    }
    case 0x11: {
      size_t end = package_end();
      Object size = data_object();
      if (pos_ + size.integer != end)
        throw std::runtime_error("buffer size and length disagree");
      object.bytes.assign(aml_.begin() + long(pos_), aml_.begin() + long(end));
      pos_ = end;
      break;
    }
    default:
      throw std::runtime_error("unexpected data object opcode");
    }
    return object;
  }

  void term_list(size_t end, const std::string &scope) {
    while (pos_ < end) {
      uint8_t op = next();
      if (op == 0x08) {
        std::string path = name_string(scope);
        names[path] = data_object();
      } else if (op == 0x10 || (op == 0x5b && next() == 0x82)) {
        size_t inner_end = package_end();
        std::string path = name_string(scope);
        if (op == 0x5b)
          devices.push_back(path);
        term_list(inner_end, path);
      } else {
        throw std::runtime_error("unexpected term opcode");
      }
    }
    if (pos_ != end)
      throw std::runtime_error("term list overruns its package");
  }

  const std::vector<uint8_t> &aml_;
  size_t pos_ = 0;
};

// Checks a resource template: small and large descriptors back to back,
// ending with an end tag exactly at the buffer's end.
inline bool resource_template_well_formed(const std::vector<uint8_t> &b) {
  size_t at = 0;
  while (at < b.size()) {
    uint8_t tag = b[at];
    if (tag == 0x79)
      return at + 2 == b.size();
    if (tag & 0x80) {
      if (at + 3 > b.size())
        return false;
      at += 3 + (b[at + 1] | b[at + 2] << 8);
    } else {
      at += 1 + (tag & 0x07);
    }
  }
  return false;
}

} // namespace sable::test
