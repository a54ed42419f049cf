#pragma once
// A small ACPI Machine Language emitter for the DSDT: each function returns
// the encoded bytes of one term (ACPI 6.x chapter 20), so a namespace is
// written as nested calls.

#include <cstdint>
#include <string_view>
#include <vector>

namespace sable::aml {

using Bytes = std::vector<uint8_t>;

// "\_SB.PCI0", "_HID", "^FOO": segments shorter than 4 are padded with '_'.
Bytes name_string(std::string_view path);
// The shortest encoding: ZeroOp, OneOp or a Byte/Word/DWord/QWord constant.
Bytes integer(uint64_t value);
Bytes string(std::string_view text);
// A compressed EISA ID such as "PNP0A03", as the DWord integer it encodes to.
Bytes eisa_id(std::string_view id);

Bytes name(std::string_view path, const Bytes &object);
Bytes scope(std::string_view path, const Bytes &terms);
Bytes device(std::string_view path, const Bytes &terms);
// At most 255 elements.
Bytes package(const std::vector<Bytes> &elements);
Bytes buffer(const Bytes &contents);
// PkgLength for `content_length` bytes that follow it.
Bytes package_length(size_t content_length);

// Resource descriptors (ACPI 6.x section 6.4), joined by resource_template.
Bytes word_bus_number(uint16_t min, uint16_t max);
Bytes word_io(uint16_t min, uint16_t max);
Bytes dword_memory(uint32_t min, uint32_t max);
Bytes io_port(uint16_t min, uint16_t max, uint8_t alignment, uint8_t length);
Bytes irq_no_flags(uint16_t irq_mask);
// A Buffer of the descriptors followed by an end tag.
Bytes resource_template(const std::vector<Bytes> &descriptors);

Bytes join(const std::vector<Bytes> &parts);

} // namespace sable::aml
