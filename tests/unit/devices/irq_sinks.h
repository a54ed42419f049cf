#pragma once
// IRQ sinks for the device tests: one records every change of every line,
// the other keeps each line's current level.

#include <map>
#include <utility>
#include <vector>

#include "machine/irq.h"

namespace sable::test {

struct RecordingSink : IrqSink {
  std::vector<std::pair<unsigned, bool>> events;
  void set_irq(unsigned gsi, bool level) override {
    events.emplace_back(gsi, level);
  }
  // The changes that set a line high, on any GSI.
  int rising_edges() const {
    int n = 0;
    for (auto &e : events)
      n += e.second;
    return n;
  }
};

struct Levels : IrqSink {
  void set_irq(unsigned gsi, bool level) override { lines[gsi] = level; }
  std::map<unsigned, bool> lines;
};

} // namespace sable::test
