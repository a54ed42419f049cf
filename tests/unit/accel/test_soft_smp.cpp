// The software engine with several vCPUs, each a local APIC on one APIC
// bus as the machine wires them: INIT and start-up IPIs bring application
// processors up, an IPI wakes a halted processor, pause() parks them all.
// The guests are real-mode programs that use the x2APIC MSRs.

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <thread>

#include "accel/soft_engine.h"
#include "cpu/msr.h"
#include "devices/apic_bus.h"
#include "devices/local_apic.h"
#include "devices/local_apic_page.h"
#include "machine/clock.h"
#include "machine/io_bus.h"
#include "machine/memory.h"

using namespace sable;

namespace {

constexpr uint16_t kDonePort = 0xf4;
constexpr uint64_t kBspCode = 0x1000;
constexpr uint64_t kIpiHandler = 0x600;
constexpr uint8_t kIpiVector = 0x40;
constexpr uint8_t kStartupVector = 0x08; // application processors at 0x8000
constexpr uint64_t kApCode = uint64_t{kStartupVector} << 12;
constexpr uint64_t kIpisTaken = 0x7100;
constexpr uint64_t kApsStarted = 0x7200;
constexpr uint64_t kBspLoops = 0x7300;
constexpr uint64_t kApLoops = 0x7304;

// The guest's end: any write stops the engine.
struct DonePort : Device {
  SoftEngine *engine = nullptr;
  std::atomic<bool> written{false};
  std::string_view name() const override { return "done"; }
  uint64_t read(uint64_t, unsigned) override { return 0; }
  void write(uint64_t, unsigned, uint64_t) override {
    written = true;
    engine->request_stop(RunOutcome::Stopped);
  }
  void reset() override {}
  void save(StateWriter &) const override {}
  void load(StateReader &) override {}
};

struct SmpRig {
  std::recursive_mutex lock;
  MmioBus mmio{lock};
  IoPortBus io{lock};
  GuestMemory memory{mmio};
  uint8_t *ram = nullptr;
  Clock clock;
  ApicBus bus;
  std::vector<std::unique_ptr<LocalApic>> apics;
  std::unique_ptr<LocalApicPage> page;
  DonePort done;
  std::unique_ptr<SoftEngine> engine;

  explicit SmpRig(unsigned cpus) {
    ram = memory.add_ram("ram", 0, 1 << 20);
    SoftEngine::Config config;
    config.memory = &memory;
    config.io = &io;
    config.machine_lock = &lock;
    config.no_reboot = true;
    config.vcpus.clear();
    std::vector<LocalApic *> pointers;
    for (unsigned i = 0; i < cpus; ++i) {
      apics.push_back(std::make_unique<LocalApic>(
          clock, i, i == 0, cpu::kGuestTscHz, &bus, nullptr));
      config.vcpus.push_back({apics[i].get(), apics[i].get()});
      pointers.push_back(apics[i].get());
    }
    page = std::make_unique<LocalApicPage>(
        pointers, [] { return SoftEngine::current_vcpu(); });
    mmio.map(LocalApic::kDefaultBase, LocalApic::kMmioSize, page.get());
    engine = std::make_unique<SoftEngine>(config);
    for (unsigned i = 0; i < cpus; ++i)
      apics[i]->connect_cpu(
          {[this, i] { engine->wake(i); }, [this, i] { engine->nmi(i); },
           [this, i] { engine->init(i); },
           [this, i](uint8_t vector) { engine->startup(i, vector); }});
    done.engine = engine.get();
    io.map(kDonePort, 1, &done);
  }

  void put(uint64_t gpa, std::initializer_list<uint8_t> bytes) {
    std::copy(bytes.begin(), bytes.end(), ram + gpa);
  }
  uint32_t load32(uint64_t gpa) const {
    return __atomic_load_n(reinterpret_cast<const uint32_t *>(ram + gpa),
                           __ATOMIC_ACQUIRE);
  }

  // The bootstrap processor in real mode at 0000:kBspCode.
  void start_bsp() {
    cpu::CpuState state = engine->get_state(0);
    state.seg[cpu::CS] = {0, 0, 0xffff, 0x9b};
    state.rip = kBspCode;
    state.gpr[cpu::RSP] = 0x7000;
    engine->set_state(0, state);
  }

  // Runs until the guest writes the done port; false when it has not
  // within the time limit.
  bool run(std::chrono::seconds limit = std::chrono::seconds(30)) {
    std::mutex watchdog_lock;
    std::condition_variable over_changed;
    bool over = false;
    std::thread watchdog([&] {
      std::unique_lock guard(watchdog_lock);
      if (!over_changed.wait_for(guard, limit, [&] { return over; }))
        engine->request_stop(RunOutcome::Shutdown);
    });
    engine->run();
    {
      std::lock_guard guard(watchdog_lock);
      over = true;
    }
    over_changed.notify_all();
    watchdog.join();
    return done.written;
  }
};

// Polls until `condition` holds; false after five seconds.
template <typename Condition> bool eventually(Condition condition) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!condition()) {
    if (std::chrono::steady_clock::now() > deadline)
      return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

// mov ecx, 0x1b; mov eax, 0xfee00c00; xor edx, edx; wrmsr (x2APIC mode)
#define ENTER_X2APIC                                                           \
  0x66, 0xb9, 0x1b, 0x00, 0x00, 0x00, 0x66, 0xb8, 0x00, 0x0c, 0xe0, 0xfe,      \
      0x66, 0x31, 0xd2, 0x0f, 0x30

// mov ecx, 0x830; mov edx, 1; mov eax, 0x4500; wrmsr (INIT to APIC 1);
// mov eax, 0x4608; wrmsr (SIPI, vector 8)
#define START_APIC1                                                            \
  0x66, 0xb9, 0x30, 0x08, 0x00, 0x00, 0x66, 0xba, 0x01, 0x00, 0x00, 0x00,      \
      0x66, 0xb8, 0x00, 0x45, 0x00, 0x00, 0x0f, 0x30, 0x66, 0xb8, 0x08, 0x46,  \
      0x00, 0x00, 0x0f, 0x30

} // namespace

TEST_CASE("soft engine: INIT and SIPI start an application processor, whose "
          "IPI wakes the halted bootstrap processor") {
  SmpRig rig(2);
  rig.put(kBspCode, {
                        ENTER_X2APIC,
                        // mov ecx, 0x80f; mov eax, 0x1ff; wrmsr (SVR: enable)
                        0x66,
                        0xb9,
                        0x0f,
                        0x08,
                        0x00,
                        0x00,
                        0x66,
                        0xb8,
                        0xff,
                        0x01,
                        0x00,
                        0x00,
                        0x0f,
                        0x30,
                        START_APIC1,
                        // sti; l: hlt; cmp word [kIpisTaken], 0; je l
                        0xfb,
                        0xf4,
                        0x83,
                        0x3e,
                        0x00,
                        0x71,
                        0x00,
                        0x74,
                        0xf8,
                        // mov al, 1; out kDonePort, al; cli; hlt
                        0xb0,
                        0x01,
                        0xe6,
                        0xf4,
                        0xfa,
                        0xf4,
                    });
  // The IPI's handler: inc word [kIpisTaken]; EOI through MSR 0x80b; iret.
  rig.put(kIpiHandler, {0xff, 0x06, 0x00, 0x71, 0x66, 0x60, 0x66, 0xb9,
                        0x0b, 0x08, 0x00, 0x00, 0x66, 0x31, 0xc0, 0x66,
                        0x31, 0xd2, 0x0f, 0x30, 0x66, 0x61, 0xcf});
  const uint32_t ivt_entry = kIpiHandler; // segment 0
  std::memcpy(rig.ram + kIpiVector * 4, &ivt_entry, 4);
  rig.put(kApCode, {
                       // lock inc word [kApsStarted]
                       0xf0,
                       0xff,
                       0x06,
                       0x00,
                       0x72,
                       ENTER_X2APIC,
                       // mov ecx, 0x830; xor edx, edx; mov eax, 0x4040;
                       // wrmsr (vector 0x40 to APIC 0)
                       0x66,
                       0xb9,
                       0x30,
                       0x08,
                       0x00,
                       0x00,
                       0x66,
                       0x31,
                       0xd2,
                       0x66,
                       0xb8,
                       0x40,
                       0x40,
                       0x00,
                       0x00,
                       0x0f,
                       0x30,
                       // cli; hlt: halted for good, without spinning
                       0xfa,
                       0xf4,
                   });
  rig.start_bsp();
  REQUIRE(rig.run());
  CHECK(rig.load32(kApsStarted) == 1);
  CHECK(rig.load32(kIpisTaken) >= 1);
  cpu::CpuState ap = rig.engine->get_state(1);
  CHECK(ap.seg[cpu::CS].selector == kStartupVector << 8);
  // Both processors count the same TSC.
  CHECK(ap.msr.tsc_offset == rig.engine->get_state(0).msr.tsc_offset);
}

TEST_CASE("soft engine: a broadcast INIT and SIPI start three application "
          "processors") {
  SmpRig rig(4);
  rig.put(kBspCode, {
                        ENTER_X2APIC,
                        // mov ecx, 0x830; xor edx, edx; mov eax, 0xc4500;
                        // wrmsr (INIT, all excluding self)
                        0x66,
                        0xb9,
                        0x30,
                        0x08,
                        0x00,
                        0x00,
                        0x66,
                        0x31,
                        0xd2,
                        0x66,
                        0xb8,
                        0x00,
                        0x45,
                        0x0c,
                        0x00,
                        0x0f,
                        0x30,
                        // mov eax, 0xc4608; wrmsr (SIPI, vector 8)
                        0x66,
                        0xb8,
                        0x08,
                        0x46,
                        0x0c,
                        0x00,
                        0x0f,
                        0x30,
                        // l: pause; cmp word [kApsStarted], 3; jne l
                        0xf3,
                        0x90,
                        0x83,
                        0x3e,
                        0x00,
                        0x72,
                        0x03,
                        0x75,
                        0xf7,
                        // mov al, 1; out kDonePort, al; cli; hlt
                        0xb0,
                        0x01,
                        0xe6,
                        0xf4,
                        0xfa,
                        0xf4,
                    });
  // lock inc word [kApsStarted]; cli; hlt
  rig.put(kApCode, {0xf0, 0xff, 0x06, 0x00, 0x72, 0xfa, 0xf4});
  rig.start_bsp();
  REQUIRE(rig.run());
  CHECK(rig.load32(kApsStarted) == 3);
}

TEST_CASE("soft engine: pause parks every vCPU thread until resume") {
  SmpRig rig(2);
  rig.put(kBspCode, {
                        ENTER_X2APIC,
                        START_APIC1,
                        // l: lock inc dword [kBspLoops]; jmp l
                        0x66,
                        0xf0,
                        0xff,
                        0x06,
                        0x00,
                        0x73,
                        0xeb,
                        0xf8,
                    });
  // l: lock inc dword [kApLoops]; jmp l
  rig.put(kApCode, {0x66, 0xf0, 0xff, 0x06, 0x04, 0x73, 0xeb, 0xf8});
  rig.start_bsp();
  std::thread runner([&] { rig.engine->run(); });
  CHECK(eventually(
      [&] { return rig.load32(kBspLoops) > 0 && rig.load32(kApLoops) > 0; }));
  rig.engine->pause();
  uint32_t bsp = rig.load32(kBspLoops), ap = rig.load32(kApLoops);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  CHECK(rig.load32(kBspLoops) == bsp);
  CHECK(rig.load32(kApLoops) == ap);
  rig.engine->resume();
  CHECK(eventually([&] {
    return rig.load32(kBspLoops) != bsp && rig.load32(kApLoops) != ap;
  }));
  rig.engine->request_stop(RunOutcome::Stopped);
  runner.join();
}
