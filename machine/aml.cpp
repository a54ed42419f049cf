#include "machine/aml.h"

#include <stdexcept>
#include <string>

namespace sable::aml {

namespace {
constexpr uint8_t kZeroOp = 0x00;
constexpr uint8_t kOneOp = 0x01;
constexpr uint8_t kNameOp = 0x08;
constexpr uint8_t kBytePrefix = 0x0a;
constexpr uint8_t kWordPrefix = 0x0b;
constexpr uint8_t kDWordPrefix = 0x0c;
constexpr uint8_t kStringPrefix = 0x0d;
constexpr uint8_t kQWordPrefix = 0x0e;
constexpr uint8_t kScopeOp = 0x10;
constexpr uint8_t kBufferOp = 0x11;
constexpr uint8_t kPackageOp = 0x12;
constexpr uint8_t kExtOpPrefix = 0x5b;
constexpr uint8_t kDeviceOp = 0x82;
constexpr uint8_t kDualNamePrefix = 0x2e;
constexpr uint8_t kMultiNamePrefix = 0x2f;
constexpr uint8_t kNullName = 0x00;

constexpr uint8_t kWordAddressSpace = 0x88;
constexpr uint8_t kDWordAddressSpace = 0x87;
constexpr uint8_t kIoPortTag = 0x47;
constexpr uint8_t kIrqNoFlagsTag = 0x22;
constexpr uint8_t kEndTag = 0x79;
constexpr uint8_t kMemoryResource = 0;
constexpr uint8_t kIoResource = 1;
constexpr uint8_t kBusResource = 2;
// Producer, positive decode, minimum and maximum fixed.
constexpr uint8_t kFixedWindow = 0x0c;
constexpr uint8_t kIoEntireRange = 0x03;
constexpr uint8_t kMemoryReadWriteCacheable = 0x03;

void put(Bytes &out, uint64_t value, unsigned bytes) {
  for (unsigned i = 0; i < bytes; ++i)
    out.push_back(uint8_t(value >> (8 * i)));
}

void append(Bytes &out, const Bytes &more) {
  out.insert(out.end(), more.begin(), more.end());
}

Bytes with_length(Bytes prefix, const Bytes &body) {
  append(prefix, package_length(body.size()));
  append(prefix, body);
  return prefix;
}

Bytes name_segment(std::string_view segment) {
  if (segment.empty() || segment.size() > 4)
    throw std::invalid_argument("bad AML name segment '" +
                                std::string(segment) + "'");
  Bytes out(4, '_');
  for (size_t i = 0; i < segment.size(); ++i)
    out[i] = uint8_t(segment[i]);
  return out;
}
} // namespace

Bytes join(const std::vector<Bytes> &parts) {
  Bytes out;
  for (const Bytes &part : parts)
    append(out, part);
  return out;
}

Bytes package_length(size_t content_length) {
  if (content_length + 1 < 0x40)
    return {uint8_t(content_length + 1)};
  for (unsigned extra = 1; extra <= 3; ++extra) {
    size_t total = content_length + 1 + extra;
    if (total >= size_t{1} << (4 + 8 * extra))
      continue;
    Bytes out{uint8_t(extra << 6 | (total & 0xf))};
    put(out, total >> 4, extra);
    return out;
  }
  throw std::invalid_argument("AML package too large");
}

Bytes name_string(std::string_view path) {
  Bytes out;
  while (!path.empty() && (path.front() == '\\' || path.front() == '^')) {
    out.push_back(uint8_t(path.front()));
    path.remove_prefix(1);
  }
  std::vector<std::string_view> segments;
  while (!path.empty()) {
    size_t dot = path.find('.');
    segments.push_back(path.substr(0, dot));
    path = dot == std::string_view::npos ? "" : path.substr(dot + 1);
  }
  if (segments.empty())
    out.push_back(kNullName);
  else if (segments.size() == 2)
    out.push_back(kDualNamePrefix);
  else if (segments.size() > 2) {
    out.push_back(kMultiNamePrefix);
    out.push_back(uint8_t(segments.size()));
  }
  for (std::string_view segment : segments)
    append(out, name_segment(segment));
  return out;
}

Bytes integer(uint64_t value) {
  if (value == 0)
    return {kZeroOp};
  if (value == 1)
    return {kOneOp};
  Bytes out;
  if (value <= 0xff) {
    out.push_back(kBytePrefix);
    put(out, value, 1);
  } else if (value <= 0xffff) {
    out.push_back(kWordPrefix);
    put(out, value, 2);
  } else if (value <= 0xffffffff) {
    out.push_back(kDWordPrefix);
    put(out, value, 4);
  } else {
    out.push_back(kQWordPrefix);
    put(out, value, 8);
  }
  return out;
}

Bytes string(std::string_view text) {
  Bytes out{kStringPrefix};
  for (char c : text)
    out.push_back(uint8_t(c));
  out.push_back(0);
  return out;
}

Bytes eisa_id(std::string_view id) {
  if (id.size() != 7)
    throw std::invalid_argument("EISA ID must be 3 letters and 4 hex digits");
  uint16_t vendor =
      uint16_t((id[0] - 0x40) << 10 | (id[1] - 0x40) << 5 | (id[2] - 0x40));
  uint16_t product =
      uint16_t(std::stoul(std::string(id.substr(3)), nullptr, 16));
  // Stored big-endian: vendor bytes first, then the product number.
  uint32_t value = uint32_t(vendor >> 8) | uint32_t(vendor & 0xff) << 8 |
                   uint32_t(product >> 8) << 16 |
                   uint32_t(product & 0xff) << 24;
  Bytes out{kDWordPrefix};
  put(out, value, 4);
  return out;
}

Bytes name(std::string_view path, const Bytes &object) {
  Bytes out{kNameOp};
  append(out, name_string(path));
  append(out, object);
  return out;
}

Bytes scope(std::string_view path, const Bytes &terms) {
  return with_length({kScopeOp}, join({name_string(path), terms}));
}

Bytes device(std::string_view path, const Bytes &terms) {
  return with_length({kExtOpPrefix, kDeviceOp},
                     join({name_string(path), terms}));
}

Bytes package(const std::vector<Bytes> &elements) {
  if (elements.size() > 0xff)
    throw std::invalid_argument("AML package has more than 255 elements");
  Bytes body{uint8_t(elements.size())};
  append(body, join(elements));
  return with_length({kPackageOp}, body);
}

Bytes buffer(const Bytes &contents) {
  return with_length({kBufferOp}, join({integer(contents.size()), contents}));
}

namespace {
Bytes word_address_space(uint8_t type, uint8_t type_flags, uint16_t min,
                         uint16_t max) {
  Bytes out{kWordAddressSpace};
  put(out, 13, 2);
  out.insert(out.end(), {type, kFixedWindow, type_flags});
  put(out, 0, 2); // granularity
  put(out, min, 2);
  put(out, max, 2);
  put(out, 0, 2); // translation offset
  put(out, uint32_t(max) - min + 1, 2);
  return out;
}
} // namespace

Bytes word_bus_number(uint16_t min, uint16_t max) {
  return word_address_space(kBusResource, 0, min, max);
}

Bytes word_io(uint16_t min, uint16_t max) {
  return word_address_space(kIoResource, kIoEntireRange, min, max);
}

Bytes dword_memory(uint32_t min, uint32_t max) {
  Bytes out{kDWordAddressSpace};
  put(out, 23, 2);
  out.insert(out.end(),
             {kMemoryResource, kFixedWindow, kMemoryReadWriteCacheable});
  put(out, 0, 4); // granularity
  put(out, min, 4);
  put(out, max, 4);
  put(out, 0, 4); // translation offset
  put(out, uint64_t(max) - min + 1, 4);
  return out;
}

Bytes io_port(uint16_t min, uint16_t max, uint8_t alignment, uint8_t length) {
  Bytes out{kIoPortTag, 0x01}; // 16-bit decode
  put(out, min, 2);
  put(out, max, 2);
  out.insert(out.end(), {alignment, length});
  return out;
}

Bytes irq_no_flags(uint16_t irq_mask) {
  Bytes out{kIrqNoFlagsTag};
  put(out, irq_mask, 2);
  return out;
}

Bytes resource_template(const std::vector<Bytes> &descriptors) {
  Bytes body = join(descriptors);
  // A zero checksum byte means "the descriptors are not checksummed".
  body.insert(body.end(), {kEndTag, 0});
  return buffer(body);
}

} // namespace sable::aml
