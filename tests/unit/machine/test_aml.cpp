#include <catch2/catch.hpp>

#include "machine/aml.h"

using namespace sable;
using Bytes = aml::Bytes;

TEST_CASE("aml: package lengths use one to four bytes", "[aml]") {
  CHECK(aml::package_length(0) == Bytes{0x01});
  CHECK(aml::package_length(0x3e) == Bytes{0x3f});
  CHECK(aml::package_length(0x3f) == Bytes{0x41, 0x04});
  CHECK(aml::package_length(0xffd) == Bytes{0x4f, 0xff});
  CHECK(aml::package_length(0x1000) == Bytes{0x83, 0x00, 0x01});
}

TEST_CASE("aml: name strings and integers", "[aml]") {
  CHECK(aml::name_string("_S5") == Bytes{'_', 'S', '5', '_'});
  CHECK(aml::name_string("\\_SB.PCI0") ==
        Bytes{'\\', 0x2e, '_', 'S', 'B', '_', 'P', 'C', 'I', '0'});
  CHECK(aml::name_string("\\_SB.PCI0.ISA") == Bytes{'\\', 0x2f, 3, '_', 'S',
                                                    'B', '_', 'P', 'C', 'I',
                                                    '0', 'I', 'S', 'A', '_'});
  CHECK(aml::name_string("^FOO") == Bytes{'^', 'F', 'O', 'O', '_'});
  CHECK(aml::integer(0) == Bytes{0x00});
  CHECK(aml::integer(1) == Bytes{0x01});
  CHECK(aml::integer(0x10) == Bytes{0x0a, 0x10});
  CHECK(aml::integer(0x1234) == Bytes{0x0b, 0x34, 0x12});
  CHECK(aml::integer(0x0001ffff) == Bytes{0x0c, 0xff, 0xff, 0x01, 0x00});
  CHECK(aml::integer(0x100000000) == Bytes{0x0e, 0, 0, 0, 0, 1, 0, 0, 0});
  CHECK(aml::string("ab") == Bytes{0x0d, 'a', 'b', 0});
  CHECK(aml::eisa_id("PNP0A03") == Bytes{0x0c, 0x41, 0xd0, 0x0a, 0x03});
}

TEST_CASE("aml: named objects, packages, devices and buffers", "[aml]") {
  CHECK(aml::name("_S5", aml::package({aml::integer(5), aml::integer(0)})) ==
        Bytes{0x08, '_', 'S', '5', '_', 0x12, 0x05, 0x02, 0x0a, 0x05, 0x00});
  CHECK(aml::device("DEV", aml::name("_UID", aml::integer(0))) ==
        Bytes{0x5b, 0x82, 0x0b, 'D', 'E', 'V', '_', 0x08, '_', 'U', 'I', 'D',
              0x00});
  CHECK(aml::scope("\\", {}) == Bytes{0x10, 0x03, '\\', 0x00});
  CHECK(aml::buffer({0xaa, 0xbb}) == Bytes{0x11, 0x05, 0x0a, 0x02, 0xaa, 0xbb});
}

TEST_CASE("aml: resource descriptors", "[aml]") {
  CHECK(aml::io_port(0xcf8, 0xcf8, 1, 8) ==
        Bytes{0x47, 0x01, 0xf8, 0x0c, 0xf8, 0x0c, 0x01, 0x08});
  CHECK(aml::irq_no_flags(1u << 12) == Bytes{0x22, 0x00, 0x10});
  CHECK(aml::word_io(0x0d00, 0xffff) ==
        Bytes{0x88, 0x0d, 0x00, 0x01, 0x0c, 0x03, 0x00, 0x00, 0x00, 0x0d, 0xff,
              0xff, 0x00, 0x00, 0x00, 0xf3});
  Bytes memory = aml::dword_memory(0xe0000000, 0xfebfffff);
  REQUIRE(memory.size() == 26);
  CHECK(memory[0] == 0x87);
  CHECK(memory[1] == 23);
  CHECK(memory[3] == 0);
  CHECK(memory[5] == 0x03);
  CHECK(Bytes(memory.begin() + 22, memory.end()) ==
        Bytes{0x00, 0x00, 0xc0, 0x1e});
  Bytes crs = aml::resource_template({aml::irq_no_flags(2)});
  CHECK(crs == Bytes{0x11, 0x08, 0x0a, 0x05, 0x22, 0x02, 0x00, 0x79, 0x00});
}
