#pragma once
// A port or MMIO range that is one view of a component mapped in several
// places. Its reads and writes go to the owner, which resets, saves and
// loads all the state as a whole, so the window itself has none.

#include "machine/device.h"

namespace sable {

class DeviceWindow : public Device {
public:
  void reset() override {}
  void save(StateWriter &) const override {}
  void load(StateReader &) override {}
};

} // namespace sable
