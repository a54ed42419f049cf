#pragma once
// The POST diagnostic port (0x80). Firmware writes progress codes and some
// guests use it as an I/O delay; reads return the last code written.

#include <cstdint>

#include "machine/device.h"

namespace sable {

class Port80 : public Device {
public:
  std::string_view name() const override { return "port80"; }
  uint64_t read(uint64_t offset, unsigned size) override;
  void write(uint64_t offset, unsigned size, uint64_t value) override;
  void reset() override { last_code_ = 0; }
  void save(StateWriter &out) const override;
  void load(StateReader &in) override;

  uint8_t last_code() const { return last_code_; }

private:
  uint8_t last_code_ = 0;
};

} // namespace sable
