#pragma once
// isa-debug-exit: a test kernel writes a value to its port and the emulator
// exits with status (value << 1) | 1, so a guest "0" (success) is still
// distinguishable from the emulator's own exit status 0.

#include <cstdint>
#include <functional>

#include "machine/device.h"

namespace sable {

class DebugExit : public Device {
public:
  DebugExit(std::function<void(int)> exit, unsigned iosize);

  std::string_view name() const override { return "isa-debug-exit"; }
  // The port is write-only; reads return 0, as they do in QEMU.
  uint64_t read(uint64_t offset, unsigned size) override;
  void write(uint64_t offset, unsigned size, uint64_t value) override;
  void reset() override {}
  void save(StateWriter &out) const override;
  void load(StateReader &in) override;

  // How many ports the machine maps (QEMU's iosize property: 1, 2 or 4).
  unsigned iosize() const { return iosize_; }

private:
  std::function<void(int)> exit_;
  unsigned iosize_;
};

} // namespace sable
