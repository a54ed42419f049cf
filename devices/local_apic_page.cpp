#include "devices/local_apic_page.h"

#include "devices/local_apic.h"

namespace sable {

LocalApicPage::LocalApicPage(std::vector<LocalApic *> apics,
                             std::function<unsigned()> current_cpu)
    : apics_(std::move(apics)), current_cpu_(std::move(current_cpu)) {}

// An access from elsewhere (a debugger, DMA) sees the first processor's.
LocalApic &LocalApicPage::current() const {
  unsigned cpu = current_cpu_();
  return *apics_[cpu < apics_.size() ? cpu : 0];
}

uint64_t LocalApicPage::read(uint64_t offset, unsigned size) {
  return current().read(offset, size);
}

void LocalApicPage::write(uint64_t offset, unsigned size, uint64_t value) {
  current().write(offset, size, value);
}

} // namespace sable
