#include "machine/irq.h"

namespace sable {

void IrqRouter::set_level(unsigned gsi, bool level) {
  for (IrqSink *sink : sinks_)
    sink->set_irq(gsi, level);
}

void IrqLine::set(bool level) {
  level_ = level;
  if (router_)
    router_->set_level(gsi_, level);
}

} // namespace sable
