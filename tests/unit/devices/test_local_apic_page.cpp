#include <catch2/catch.hpp>

#include "devices/apic_bus.h"
#include "devices/local_apic.h"
#include "devices/local_apic_page.h"
#include "machine/clock.h"

using namespace sable;

TEST_CASE("the local APIC page reaches the accessing processor's own APIC") {
  constexpr uint64_t kIdRegister = 0x20;
  constexpr uint64_t kTprRegister = 0x80;
  Clock clock{Clock::Mode::Manual};
  ApicBus bus;
  LocalApic first(clock, 0, true, 1'000'000'000, &bus, nullptr);
  LocalApic second(clock, 1, false, 1'000'000'000, &bus, nullptr);
  unsigned current = 0;
  LocalApicPage page({&first, &second}, [&] { return current; });

  CHECK(page.read(kIdRegister, 4) == 0u << 24);
  current = 1;
  CHECK(page.read(kIdRegister, 4) == 1u << 24);
  page.write(kTprRegister, 4, 0x20);
  CHECK(second.cr8() == 2);
  CHECK(first.cr8() == 0);
  // Not a processor of this machine: the first one's.
  current = 7;
  CHECK(page.read(kIdRegister, 4) == 0u << 24);
}
