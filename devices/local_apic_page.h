#pragma once
// The xAPIC register page as a multiprocessor sees it: one physical
// address range (0xFEE00000) through which each processor reaches its own
// local APIC. The machine tells which processor is accessing.

#include <functional>
#include <vector>

#include "machine/device.h"

namespace sable {

class LocalApic;

class LocalApicPage : public Device {
public:
  // `current_cpu` returns the index in `apics` of the processor making
  // the access in progress.
  LocalApicPage(std::vector<LocalApic *> apics,
                std::function<unsigned()> current_cpu);

  std::string_view name() const override { return "lapic-page"; }
  uint64_t read(uint64_t offset, unsigned size) override;
  void write(uint64_t offset, unsigned size, uint64_t value) override;
  // The local APICs are devices of their own: nothing to reset or save.
  void reset() override {}
  void save(StateWriter &) const override {}
  void load(StateReader &) override {}

private:
  LocalApic &current() const;

  std::vector<LocalApic *> apics_;
  std::function<unsigned()> current_cpu_;
};

} // namespace sable
