#include <catch2/catch.hpp>

#include <atomic>
#include <memory>
#include <set>
#include <thread>
#include <vector>

#include "devices/apic_bus.h"
#include "devices/ioapic.h"
#include "devices/local_apic.h"
#include "machine/clock.h"

using namespace sable;

namespace {

constexpr uint64_t kTpr = 0x80;
constexpr uint64_t kEoi = 0xb0;
constexpr uint64_t kLdr = 0xd0;
constexpr uint64_t kDfr = 0xe0;
constexpr uint64_t kSvr = 0xf0;
constexpr uint64_t kIcrLow = 0x300;
constexpr uint64_t kIcrHigh = 0x310;

constexpr uint64_t kX2apicBase =
    0xfee00000 | LocalApic::kBaseEnable | LocalApic::kBaseX2apic;

struct Cpu {
  int inits = 0;
  int nmis = 0;
  std::vector<uint8_t> startups;
  std::unique_ptr<LocalApic> apic;

  uint32_t reg(uint64_t offset) { return uint32_t(apic->read(offset, 4)); }
  void set(uint64_t offset, uint32_t value) { apic->write(offset, 4, value); }
  // Acknowledges everything pending, EOIs it, and returns the vectors.
  std::vector<uint8_t> drain() {
    std::vector<uint8_t> vectors;
    while (apic->interrupt_pending()) {
      vectors.push_back(apic->acknowledge_interrupt());
      set(kEoi, 0);
    }
    return vectors;
  }
  void ipi(uint8_t destination, uint32_t low) {
    set(kIcrHigh, uint32_t(destination) << 24);
    set(kIcrLow, low);
  }
};

struct System {
  Clock clock{Clock::Mode::Manual};
  ApicBus bus;
  Ioapic ioapic{[this](const ApicMessage &m) { bus.deliver(m); }};
  std::vector<Cpu> cpus;

  explicit System(std::vector<uint32_t> ids = {0, 1}) : cpus(ids.size()) {
    bus.set_eoi_handler([this](uint8_t v) { ioapic.eoi(v); });
    for (size_t i = 0; i < ids.size(); ++i) {
      Cpu &cpu = cpus[i];
      cpu.apic = std::make_unique<LocalApic>(clock, ids[i], i == 0,
                                             1'000'000'000, &bus, nullptr);
      cpu.apic->connect_cpu({nullptr, [&cpu] { ++cpu.nmis; },
                             [&cpu] { ++cpu.inits; },
                             [&cpu](uint8_t v) { cpu.startups.push_back(v); }});
      cpu.set(kSvr, 0x1ff);
    }
  }
  void route(unsigned pin, uint64_t entry) {
    ioapic.write(0x00, 4, 0x11 + 2 * pin);
    ioapic.write(0x10, 4, uint32_t(entry >> 32));
    ioapic.write(0x00, 4, 0x10 + 2 * pin);
    ioapic.write(0x10, 4, uint32_t(entry));
  }
};

using Vectors = std::vector<uint8_t>;

} // namespace

TEST_CASE("apic bus: I/O APIC messages by physical ID and broadcast",
          "[apic_bus]") {
  System s;
  s.route(4, 0x31 | 1ull << 56);
  s.ioapic.set_irq(4, true);
  CHECK(s.cpus[0].drain().empty());
  CHECK(s.cpus[1].drain() == Vectors{0x31});

  s.route(5, 0x32 | 0xffull << 56);
  s.ioapic.set_irq(5, true);
  CHECK(s.cpus[0].drain() == Vectors{0x32});
  CHECK(s.cpus[1].drain() == Vectors{0x32});

  // NMI and INIT messages reach the vCPU callbacks.
  s.route(6, 4u << 8 | 0ull << 56);
  s.ioapic.set_irq(6, true);
  CHECK(s.cpus[0].nmis == 1);
  CHECK(s.cpus[1].nmis == 0);

  // Start-up is reserved in a redirection entry.
  s.route(7, 6u << 8 | 0x10);
  s.ioapic.set_irq(7, true);
  CHECK(s.cpus[0].startups.empty());
}

TEST_CASE("apic bus: level-triggered EOI returns to the I/O APIC",
          "[apic_bus]") {
  System s;
  s.route(9, 0x61 | 1u << 15);
  s.ioapic.set_irq(9, true);
  Cpu &cpu = s.cpus[0];
  REQUIRE(cpu.apic->interrupt_pending());
  CHECK(cpu.apic->acknowledge_interrupt() == 0x61);
  CHECK(s.ioapic.redirection_entry(9) & 1u << 14); // Remote IRR
  // The EOI clears Remote IRR; the input is still high, so it comes back.
  cpu.set(kEoi, 0);
  CHECK(cpu.apic->interrupt_pending());
  s.ioapic.set_irq(9, false);
  CHECK(cpu.apic->acknowledge_interrupt() == 0x61);
  cpu.set(kEoi, 0);
  CHECK_FALSE(s.ioapic.redirection_entry(9) & 1u << 14);
  CHECK_FALSE(cpu.apic->interrupt_pending());
}

TEST_CASE("apic bus: fixed IPI between two local APICs", "[apic_bus]") {
  System s;
  s.cpus[0].ipi(1, 0x4041);
  CHECK(s.cpus[0].reg(kIcrLow) == 0x4041); // delivery status idle
  CHECK(s.cpus[0].reg(kIcrHigh) == 0x01000000);
  CHECK(s.cpus[0].drain().empty());
  CHECK(s.cpus[1].drain() == Vectors{0x41});
  s.cpus[1].ipi(0, 0x4042);
  CHECK(s.cpus[0].drain() == Vectors{0x42});
  // Nobody has ID 7.
  s.cpus[0].ipi(7, 0x4043);
  CHECK(s.cpus[0].drain().empty());
  CHECK(s.cpus[1].drain().empty());
}

TEST_CASE("apic bus: INIT and start-up IPIs", "[apic_bus]") {
  System s;
  s.cpus[1].set(kTpr, 0x30);
  s.cpus[0].ipi(1, 0xc500); // INIT, level assert
  CHECK(s.cpus[1].inits == 1);
  CHECK(s.cpus[1].reg(kTpr) == 0);
  CHECK(s.cpus[0].inits == 0);
  s.cpus[0].ipi(1, 0x8500); // INIT level de-assert
  CHECK(s.cpus[1].inits == 1);
  s.cpus[0].ipi(1, 0x4608); // SIPI, vector 8
  CHECK(s.cpus[1].startups == Vectors{0x08});
  CHECK(s.cpus[0].startups.empty());
  s.cpus[0].ipi(1, 0x4400); // NMI
  CHECK(s.cpus[1].nmis == 1);
}

TEST_CASE("apic bus: destination shorthands", "[apic_bus]") {
  System s({0, 1, 2});
  s.cpus[1].ipi(0, 0x44051); // self
  CHECK(s.cpus[0].drain().empty());
  CHECK(s.cpus[1].drain() == Vectors{0x51});
  CHECK(s.cpus[2].drain().empty());

  s.cpus[1].ipi(0, 0x84052); // all including self
  for (Cpu &cpu : s.cpus)
    CHECK(cpu.drain() == Vectors{0x52});

  s.cpus[1].ipi(0, 0xc4053); // all excluding self
  CHECK(s.cpus[0].drain() == Vectors{0x53});
  CHECK(s.cpus[1].drain().empty());
  CHECK(s.cpus[2].drain() == Vectors{0x53});

  // INIT to all but self, as an OS waking its APs.
  s.cpus[0].ipi(0, 0xcc500);
  CHECK(s.cpus[0].inits == 0);
  CHECK(s.cpus[1].inits == 1);
  CHECK(s.cpus[2].inits == 1);
}

TEST_CASE("apic bus: logical flat and cluster destinations", "[apic_bus]") {
  System s({0, 1, 2});
  s.cpus[0].set(kLdr, 0x01000000);
  s.cpus[1].set(kLdr, 0x02000000);
  s.cpus[2].set(kLdr, 0x04000000);
  s.cpus[0].ipi(0x02, 0x4861); // logical
  CHECK(s.cpus[1].drain() == Vectors{0x61});
  s.cpus[0].ipi(0x05, 0x4862);
  CHECK(s.cpus[0].drain() == Vectors{0x62});
  CHECK(s.cpus[1].drain().empty());
  CHECK(s.cpus[2].drain() == Vectors{0x62});

  for (Cpu &cpu : s.cpus)
    cpu.set(kDfr, 0x0fffffff);
  s.cpus[0].set(kLdr, 0x11000000); // cluster 1, bit 0
  s.cpus[1].set(kLdr, 0x12000000); // cluster 1, bit 1
  s.cpus[2].set(kLdr, 0x21000000); // cluster 2, bit 0
  s.cpus[0].ipi(0x21, 0x4863);
  CHECK(s.cpus[0].drain().empty());
  CHECK(s.cpus[2].drain() == Vectors{0x63});
  s.cpus[0].ipi(0x13, 0x4864);
  CHECK(s.cpus[0].drain() == Vectors{0x64});
  CHECK(s.cpus[1].drain() == Vectors{0x64});
  CHECK(s.cpus[2].drain().empty());
  s.cpus[0].ipi(0xff, 0x4865);
  for (Cpu &cpu : s.cpus)
    CHECK(cpu.drain() == Vectors{0x65});
}

TEST_CASE("apic bus: lowest priority goes to the lowest PPR", "[apic_bus]") {
  System s({0, 1, 2});
  s.cpus[0].set(kLdr, 0x01000000);
  s.cpus[1].set(kLdr, 0x02000000);
  s.cpus[2].set(kLdr, 0x04000000);
  s.cpus[0].set(kTpr, 0x40);
  s.cpus[1].set(kTpr, 0x20);
  s.cpus[2].set(kTpr, 0x10);
  s.cpus[0].ipi(0x03, 0x4971); // lowest priority, logical
  CHECK(s.cpus[0].drain().empty());
  CHECK(s.cpus[1].drain() == Vectors{0x71});
  // A tie goes to the first attached.
  s.cpus[1].set(kTpr, 0x40);
  s.cpus[0].ipi(0x03, 0x4972);
  CHECK(s.cpus[0].drain() == Vectors{0x72});
  CHECK(s.cpus[1].drain().empty());
  // A software-disabled APIC does not take part.
  s.cpus[2].set(kSvr, 0xff);
  s.cpus[0].ipi(0x07, 0x4973);
  CHECK(s.cpus[0].drain() == Vectors{0x73});
  CHECK(s.cpus[2].drain().empty());
}

TEST_CASE("apic bus: x2APIC IPIs use 32-bit destinations", "[apic_bus]") {
  System s({0, 0x101, 0x12});
  for (Cpu &cpu : s.cpus)
    REQUIRE(cpu.apic->write_apic_base(kX2apicBase));
  LocalApic &sender = *s.cpus[0].apic;
  REQUIRE(sender.write_msr(0x830, 0x101ull << 32 | 0x4041));
  CHECK(s.cpus[1].apic->acknowledge_interrupt() == 0x41);
  REQUIRE(s.cpus[1].apic->write_msr(0x80b, 0));
  CHECK_FALSE(s.cpus[2].apic->interrupt_pending());

  // Logical: cluster 1 (IDs 0x10-0x1f), bit 2 is ID 0x12.
  REQUIRE(sender.write_msr(0x830, 0x00010004ull << 32 | 0x4842));
  CHECK(s.cpus[2].apic->acknowledge_interrupt() == 0x42);
  REQUIRE(s.cpus[2].apic->write_msr(0x80b, 0));
  CHECK_FALSE(s.cpus[1].apic->interrupt_pending());

  REQUIRE(sender.write_msr(0x830, 0xffffffffull << 32 | 0x4043));
  for (Cpu &cpu : s.cpus)
    CHECK(cpu.apic->interrupt_pending());

  // The I/O APIC's 8-bit broadcast still reaches them.
  for (Cpu &cpu : s.cpus)
    REQUIRE(cpu.apic->write_msr(0x808, 0xf0));
  s.route(3, 0x44 | 0xffull << 56);
  s.ioapic.set_irq(3, true);
  uint64_t irr = 0;
  REQUIRE(s.cpus[1].apic->read_msr(0x822, irr));
  CHECK(irr == (1u << (0x43 - 0x40) | 1u << (0x44 - 0x40)));
}

TEST_CASE("apic bus: IPIs from other threads while the vCPU acknowledges",
          "[apic_bus]") {
  System s({0, 1, 2});
  std::atomic<bool> stop{false};
  std::atomic<int> wakes{0};
  Cpu &target = s.cpus[0];
  target.apic->connect_cpu({[&] { ++wakes; }, nullptr, nullptr, nullptr});

  std::vector<std::thread> senders;
  for (unsigned sender = 1; sender <= 2; ++sender)
    senders.emplace_back([&s, sender] {
      for (unsigned i = 0; i < 2000; ++i) {
        uint8_t vector = uint8_t(0x40 + sender * 0x20 + i % 16);
        uint64_t icr = uint64_t(vector) | 0x4000;
        // Each sender thread drives its own APIC, as its vCPU would.
        s.cpus[sender].set(0x310, 0);
        s.cpus[sender].set(kIcrLow, uint32_t(icr));
      }
    });
  std::set<uint8_t> seen;
  std::thread receiver([&] {
    while (!stop.load()) {
      if (target.apic->interrupt_pending()) {
        seen.insert(target.apic->acknowledge_interrupt());
        target.set(kEoi, 0);
      }
    }
  });
  for (std::thread &t : senders)
    t.join();
  stop = true;
  receiver.join();
  for (uint8_t v : target.drain())
    seen.insert(v);

  std::set<uint8_t> sent;
  for (unsigned sender = 1; sender <= 2; ++sender)
    for (unsigned i = 0; i < 16; ++i)
      sent.insert(uint8_t(0x40 + sender * 0x20 + i));
  CHECK(seen == sent);
  CHECK(wakes.load() > 0);
  CHECK_FALSE(target.apic->interrupt_pending());
}
