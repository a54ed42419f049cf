#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <functional>
#include <mutex>
#include <thread>

#include "accel/kvm_engine.h"
#include "accel/kvm_memory.h"
#include "accel/kvm_state.h"
#include "accel/kvm_system.h"
#include "cpu/state_text.h"
#include "machine/io_bus.h"
#include "machine/irq.h"
#include "machine/memory.h"
#include "machine/state.h"

using namespace sable;
using cpu::CpuState;

namespace {

constexpr uint16_t kDataPort = 0x500;
constexpr uint16_t kExitPort = 0x501;
constexpr uint16_t kIrqPort = 0x502;
constexpr uint64_t kCode = 0x1000;
constexpr uint64_t kRamSize = 0x100000;

// KVM tests skip (visibly) where /dev/kvm cannot be used.
bool kvm_ready() {
  std::string reason;
  if (kvm::kvm_usable(reason))
    return true;
  WARN("skipped: " << reason);
  return false;
}

struct Access {
  uint64_t offset;
  unsigned size;
  uint64_t value;
};

// Records every write; reads return `read_value`.
class RecordingDevice : public Device {
public:
  std::string_view name() const override { return "recorder"; }
  uint64_t read(uint64_t offset, unsigned size) override {
    reads.push_back({offset, size, 0});
    return read_value;
  }
  void write(uint64_t offset, unsigned size, uint64_t value) override {
    writes.push_back({offset, size, value});
  }
  void reset() override {}
  void save(StateWriter &) const override {}
  void load(StateReader &) override {}

  std::string bytes() const {
    std::string text;
    for (const Access &a : writes)
      text += static_cast<char>(a.value);
    return text;
  }

  std::vector<Access> writes, reads;
  uint64_t read_value = 0;
};

// Any write calls `on_write` (stop the engine, raise an interrupt, ...).
class ActionDevice : public Device {
public:
  std::string_view name() const override { return "action"; }
  uint64_t read(uint64_t, unsigned) override {
    if (on_write)
      on_write();
    return read_value;
  }
  void write(uint64_t, unsigned, uint64_t) override {
    if (on_write)
      on_write();
  }
  void reset() override {}
  void save(StateWriter &) const override {}
  void load(StateReader &) override {}
  // Called on reads too: a guest can stop the test with `in` as well.
  std::function<void()> on_write;
  uint64_t read_value = 0;
};

struct TestMachine {
  std::recursive_mutex lock;
  IoPortBus io{lock};
  MmioBus mmio{lock};
  GuestMemory memory{mmio};
  uint8_t *ram;
  RecordingDevice data;
  ActionDevice exit;
  std::unique_ptr<KvmEngine> engine;

  TestMachine() {
    ram = memory.add_ram("ram", 0, kRamSize);
    io.map(kDataPort, 1, &data);
    io.map(kExitPort, 1, &exit);
  }

  void load(uint64_t address, std::initializer_list<uint8_t> bytes) {
    std::copy(bytes.begin(), bytes.end(), ram + address);
  }

  // Real-mode code that writes `c` to the data port, then stops the engine
  // through the exit port.
  void load_send_and_stop(uint64_t address, char c) {
    load(address, {
                      0xba, 0x00, 0x05, // mov dx, 0x500
                      0xb0, uint8_t(c), // mov al, c
                      0xee,             // out dx, al
                      0x42,             // inc dx
                      0xee,             // out dx, al
                      0xf4,             // hlt
                  });
  }

  KvmEngine &start(const CpuState &boot, KvmOptions options = {},
                   unsigned vcpus = 1) {
    options.machine_lock = &lock;
    engine = std::make_unique<KvmEngine>(memory, io, vcpus, boot, options);
    exit.on_write = [this] { engine->request_stop(RunOutcome::Stopped); };
    return *engine;
  }

  // Runs with a watchdog, so a broken engine fails the test instead of
  // hanging it.
  RunOutcome run_bounded() {
    std::mutex done_lock;
    std::condition_variable done_changed;
    bool finished = false;
    bool timed_out = false;
    std::thread watchdog([&] {
      std::unique_lock lock(done_lock);
      if (!done_changed.wait_for(lock, std::chrono::seconds(5),
                                 [&] { return finished; })) {
        timed_out = true;
        engine->request_stop(RunOutcome::Shutdown);
      }
    });
    RunOutcome outcome = engine->run();
    {
      std::lock_guard guard(done_lock);
      finished = true;
    }
    done_changed.notify_all();
    watchdog.join();
    CHECK_FALSE(timed_out);
    return outcome;
  }
};

CpuState real_mode_at(uint64_t address) {
  CpuState state = kvm::power_on_state(true, 0);
  state.seg[cpu::CS] = {0, 0, 0xffff, 0x9b};
  state.rip = address;
  state.gpr[cpu::RSP] = 0x8000;
  return state;
}

// The state a multiboot loader hands over: flat 4 GiB segments, paging off.
CpuState protected_mode_at(uint64_t address) {
  CpuState state = kvm::power_on_state(true, 0);
  state.cr0 = cpu::CR0_PE | cpu::CR0_ET;
  state.seg[cpu::CS] = {0x10, 0, 0xffffffff, 0xc09b};
  for (unsigned seg : {cpu::DS, cpu::ES, cpu::SS, cpu::FS, cpu::GS})
    state.seg[seg] = {0x18, 0, 0xffffffff, 0xc093};
  state.gdtr = {0x500, 0x1f};
  state.rip = address;
  state.rflags = 0x2;
  state.gpr[cpu::RAX] = 0x2badb002;
  state.gpr[cpu::RBX] = 0x9000;
  return state;
}

} // namespace

TEST_CASE("KVM segment attributes convert both ways in the VMX layout",
          "[kvm]") {
  cpu::Segment code{0x10, 0x1000, 0xffffffff, 0xc09b};
  kvm_segment k = kvm::to_kvm(code);
  CHECK(k.type == 0xb);
  CHECK(k.s == 1);
  CHECK(k.dpl == 0);
  CHECK(k.present == 1);
  CHECK(k.db == 1);
  CHECK(k.g == 1);
  CHECK(k.l == 0);
  CHECK(k.unusable == 0);
  cpu::Segment back = kvm::from_kvm(k);
  CHECK(back.selector == 0x10);
  CHECK(back.base == 0x1000);
  CHECK(back.limit == 0xffffffff);
  CHECK(back.attributes == 0xc09b);

  cpu::Segment user64{0x33, 0, 0xffffffff, 0xa0fb};
  CHECK(kvm::from_kvm(kvm::to_kvm(user64)).attributes == 0xa0fb);
  CHECK(kvm::to_kvm(user64).dpl == 3);
  CHECK(kvm::to_kvm(user64).l == 1);

  cpu::Segment null_segment{0, 0, 0, 0};
  CHECK(kvm::to_kvm(null_segment).unusable == 1);
}

TEST_CASE("KVM register and MSR conversions round-trip", "[kvm]") {
  CpuState state = protected_mode_at(0x2000);
  for (unsigned i = 0; i < 16; ++i)
    state.gpr[i] = 0x1111111111111111ull * (i + 1);
  state.cr3 = 0x5000;
  state.efer = cpu::EFER_NXE;
  state.msr.lstar = 0xffffffff81000000ull;
  state.msr.mtrr_var[3] = 0xabc000;
  state.fpu.xmm[7][0] = 0x42;

  kvm_regs regs;
  kvm_sregs sregs;
  kvm_fpu fpu;
  kvm::to_kvm(state, regs);
  kvm::to_kvm(state, sregs);
  kvm::to_kvm(state.fpu, fpu);
  CHECK(regs.rbx == state.gpr[cpu::RBX]);
  CHECK(regs.rsp == state.gpr[cpu::RSP]);
  CHECK(sregs.cs.selector == 0x10);
  CHECK(sregs.apic_base == state.msr.apic_base);

  CpuState back;
  kvm::from_kvm(regs, back);
  kvm::from_kvm(sregs, back);
  kvm::from_kvm(fpu, back.fpu);
  kvm::apply_msrs(kvm::msrs_of(state), back);
  CHECK(std::memcmp(back.gpr, state.gpr, sizeof state.gpr) == 0);
  CHECK(back.rip == 0x2000);
  CHECK(back.seg[cpu::SS].attributes == 0xc093);
  CHECK(back.cr3 == 0x5000);
  CHECK(back.efer == cpu::EFER_NXE);
  CHECK(back.gdtr.base == 0x500);
  CHECK(back.msr.lstar == 0xffffffff81000000ull);
  CHECK(back.msr.mtrr_var[3] == 0xabc000);
  CHECK(back.fpu.xmm[7][0] == 0x42);
  CHECK(back.fpu.mxcsr == 0x1f80);

  std::string dump = cpu::describe_registers(state);
  CHECK(dump.find("RIP=0000000000002000") != std::string::npos);
  CHECK(dump.find("CS =0010 0000000000000000 ffffffff c09b") !=
        std::string::npos);
  CHECK(dump.find("CR3=0000000000005000") != std::string::npos);
}

TEST_CASE("KVM guest CPUID carries the APIC ID and KVM's signature", "[kvm]") {
  kvm_cpuid_entry2 leaf1{};
  leaf1.function = 1;
  leaf1.ebx = 0x00000800;
  leaf1.ecx = 1u << 21;
  kvm_cpuid_entry2 pv{};
  pv.function = 0x40000001;
  pv.eax = 0xffffffff;
  kvm_cpuid_entry2 topology{};
  topology.function = 0xb;
  topology.flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX;
  auto table = kvm::guest_cpuid({leaf1, pv, topology}, 3, 4, true);
  bool saw_leaf1 = false, saw_signature = false, saw_pv = false;
  unsigned topology_levels = 0;
  for (const kvm_cpuid_entry2 &e : table) {
    if (e.function == 0xb) {
      ++topology_levels;
      CHECK(e.edx == 3);
      if (e.index == 1) {
        CHECK(e.eax == 2); // 4 cores: APIC ID bits 1:0
        CHECK(e.ebx == 4);
        CHECK(e.ecx == 0x201);
      }
    }
    if (e.function == 1) {
      saw_leaf1 = true;
      CHECK(e.ebx >> 24 == 3);
      CHECK(((e.ebx >> 16) & 0xff) == 4);
      CHECK((e.ecx & (1u << 31)) != 0);
      CHECK((e.ecx & (1u << 21)) != 0);
    } else if (e.function == 0x40000000) {
      saw_signature = true;
      char name[13] = {};
      std::memcpy(name, &e.ebx, 4);
      std::memcpy(name + 4, &e.ecx, 4);
      std::memcpy(name + 8, &e.edx, 4);
      CHECK(std::string(name) == "KVMKVMKVM");
    } else if (e.function == 0x40000001) {
      saw_pv = true;
      CHECK(e.eax ==
            ((1u << 0) | (1u << 1) | (1u << 3) | (1u << 6) | (1u << 24)));
    }
  }
  CHECK(saw_leaf1);
  CHECK(saw_signature);
  CHECK(saw_pv);
  CHECK(topology_levels == 3);

  auto no_apic = kvm::guest_cpuid({leaf1}, 0, 1, false);
  CHECK((no_apic[0].ecx & (1u << 21)) == 0);
}

TEST_CASE("KVM engine reports a missing device in one line", "[kvm]") {
  std::recursive_mutex lock;
  IoPortBus io(lock);
  MmioBus mmio(lock);
  GuestMemory memory(mmio);
  KvmOptions options;
  options.device = "/nonexistent/kvm";
  try {
    KvmEngine engine(memory, io, 1, std::nullopt, options);
    FAIL("the engine started without a device");
  } catch (const std::runtime_error &error) {
    std::string message = error.what();
    CHECK(message.find("/nonexistent/kvm does not exist") != std::string::npos);
    CHECK(message.find('\n') == std::string::npos);
  }
}

TEST_CASE("KVM memory slots follow the GuestMemory layout", "[kvm]") {
  if (!kvm_ready())
    return;
  kvm::KvmSystem system;
  kvm::UniqueFd vm(
      kvm::checked_ioctl(system.fd(), KVM_CREATE_VM, 0ul, "KVM_CREATE_VM"));
  std::recursive_mutex lock;
  MmioBus mmio(lock);
  GuestMemory memory(mmio);
  uint8_t *ram = memory.add_ram("ram", 0, kRamSize);
  memory.add_mmio("vga", 0xa0000, 0x20000);
  memory.add_rom("bios", 0xf0000, std::vector<uint8_t>(0x10000, 0x90));
  kvm::KvmMemorySlots slots(vm.get(), 32);
  slots.sync(memory);
  auto current = slots.slots();
  REQUIRE(current.size() == 3);
  std::sort(current.begin(), current.end(),
            [](const auto &a, const auto &b) { return a.gpa < b.gpa; });
  CHECK(current[0].gpa == 0);
  CHECK(current[0].size == 0xa0000);
  CHECK(current[0].host == ram);
  CHECK_FALSE(current[0].read_only);
  CHECK(current[1].gpa == 0xc0000);
  CHECK(current[1].size == 0x30000);
  CHECK(current[1].host == ram + 0xc0000);
  CHECK(current[2].gpa == 0xf0000);
  CHECK(current[2].read_only);

  memory.add_alias("shadow", 0xd0000, 0x10000, "bios", 0,
                   GuestMemory::Kind::Rom);
  slots.sync(memory);
  CHECK(slots.slots().size() == 5);
  memory.remove_region("shadow");
  memory.remove_region("vga");
  slots.sync(memory);
  current = slots.slots();
  REQUIRE(current.size() == 2);
  for (const auto &slot : current)
    CHECK((slot.gpa == 0 ? slot.size == 0xf0000 : slot.read_only));
}

TEST_CASE("KVM real-mode guest writes OK to a port device", "[kvm]") {
  if (!kvm_ready())
    return;
  TestMachine m;
  m.load(kCode, {
                    0xba, 0x00, 0x05, // mov dx, 0x500
                    0xb0, 'O',        // mov al, 'O'
                    0xee,             // out dx, al
                    0xb0, 'K',        // mov al, 'K'
                    0xee,             // out dx, al
                    0x42,             // inc dx
                    0xee,             // out dx, al (exit port)
                    0xf4,             // hlt
                });
  KvmEngine &engine = m.start(real_mode_at(kCode));
  CHECK(m.run_bounded() == RunOutcome::Stopped);
  CHECK(m.data.bytes() == "OK");
  CpuState state = engine.get_state(0);
  CHECK(state.rip == kCode + 11);
  CHECK((state.gpr[cpu::RDX] & 0xffff) == kExitPort);
}

TEST_CASE("KVM string I/O with a repeat count arrives complete", "[kvm]") {
  if (!kvm_ready())
    return;
  TestMachine m;
  m.load(kCode, {
                    0xbe, 0x00, 0x11, // mov si, 0x1100
                    0xb9, 0x05, 0x00, // mov cx, 5
                    0xba, 0x00, 0x05, // mov dx, 0x500
                    0xfc,             // cld
                    0xf3, 0x6e,       // rep outsb
                    0xb9, 0x02, 0x00, // mov cx, 2
                    0xf3, 0x6f,       // rep outsw (after "HELLO": 'ab' 'cd')
                    0x42,             // inc dx
                    0xee,             // out dx, al
                    0xf4,             // hlt
                });
  std::memcpy(m.ram + 0x1100, "HELLOabcd", 9);
  m.start(real_mode_at(kCode));
  CHECK(m.run_bounded() == RunOutcome::Stopped);
  REQUIRE(m.data.writes.size() == 7);
  std::string bytes;
  for (unsigned i = 0; i < 5; ++i) {
    CHECK(m.data.writes[i].size == 1);
    bytes += static_cast<char>(m.data.writes[i].value);
  }
  CHECK(bytes == "HELLO");
  CHECK(m.data.writes[5].size == 2);
  CHECK(m.data.writes[5].value == 0x6261);
  CHECK(m.data.writes[6].value == 0x6463);
}

TEST_CASE("KVM string input fills guest memory", "[kvm]") {
  if (!kvm_ready())
    return;
  TestMachine m;
  m.data.read_value = 0x5a;
  m.load(kCode, {
                    0xbf, 0x00, 0x12, // mov di, 0x1200
                    0xb9, 0x04, 0x00, // mov cx, 4
                    0xba, 0x00, 0x05, // mov dx, 0x500
                    0xfc,             // cld
                    0xf3, 0x6c,       // rep insb
                    0x42,             // inc dx
                    0xee,             // out dx, al
                    0xf4,             // hlt
                });
  m.start(real_mode_at(kCode));
  CHECK(m.run_bounded() == RunOutcome::Stopped);
  CHECK(m.data.reads.size() == 4);
  CHECK(std::memcmp(m.ram + 0x1200, "\x5a\x5a\x5a\x5a", 4) == 0);
  CHECK(m.ram[0x1204] == 0);
}

TEST_CASE("KVM MMIO reads and writes reach an MmioBus device", "[kvm]") {
  if (!kvm_ready())
    return;
  TestMachine m;
  RecordingDevice mmio_device;
  mmio_device.read_value = 0x77;
  m.memory.add_mmio("test-mmio", 0xa0000, 0x1000);
  m.mmio.map(0xa0000, 0x1000, &mmio_device);
  m.load(kCode,
         {
             0xb8, 0x00, 0xa0,                   // mov ax, 0xa000
             0x8e, 0xd8,                         // mov ds, ax
             0xc6, 0x06, 0x10, 0x00, 0x5a,       // mov byte [0x10], 0x5a
             0xc7, 0x06, 0x12, 0x00, 0x34, 0x12, // mov word [0x12], 0x1234
             0xa0, 0x20, 0x00,                   // mov al, [0x20]
             0xba, 0x00, 0x05,                   // mov dx, 0x500
             0xee,                               // out dx, al
             0x42,                               // inc dx
             0xee,                               // out dx, al
             0xf4,                               // hlt
         });
  m.start(real_mode_at(kCode));
  CHECK(m.run_bounded() == RunOutcome::Stopped);
  REQUIRE(mmio_device.writes.size() == 2);
  CHECK(mmio_device.writes[0].offset == 0x10);
  CHECK(mmio_device.writes[0].size == 1);
  CHECK(mmio_device.writes[0].value == 0x5a);
  CHECK(mmio_device.writes[1].offset == 0x12);
  CHECK(mmio_device.writes[1].size == 2);
  CHECK(mmio_device.writes[1].value == 0x1234);
  REQUIRE(mmio_device.reads.size() == 1);
  CHECK(mmio_device.reads[0].offset == 0x20);
  CHECK(m.data.bytes() == "\x77");
}

TEST_CASE("KVM ROM is read-only to the guest", "[kvm]") {
  if (!kvm_ready())
    return;
  TestMachine m;
  m.memory.add_rom("rom", 0xc0000, std::vector<uint8_t>(0x1000, 0xab));
  m.load(kCode, {
                    0xb8, 0x00, 0xc0,             // mov ax, 0xc000
                    0x8e, 0xd8,                   // mov ds, ax
                    0xc6, 0x06, 0x00, 0x00, 0x11, // mov byte [0], 0x11
                    0xa0, 0x00, 0x00,             // mov al, [0]
                    0xba, 0x00, 0x05,             // mov dx, 0x500
                    0xee,                         // out dx, al
                    0x42,                         // inc dx
                    0xee,                         // out dx, al
                    0xf4,                         // hlt
                });
  m.start(real_mode_at(kCode));
  CHECK(m.run_bounded() == RunOutcome::Stopped);
  CHECK(m.data.bytes() == "\xab");
}

TEST_CASE("KVM runs a 32-bit protected-mode entry state", "[kvm]") {
  if (!kvm_ready())
    return;
  TestMachine m;
  m.load(0x2000, {
                     0x83, 0xc0, 0x01,                   // add eax, 1
                     0xba, 0x78, 0x56, 0x34, 0x12,       // mov edx, 0x12345678
                     0x89, 0x15, 0x00, 0x30, 0x00, 0x00, // mov [0x3000], edx
                     0x66, 0xba, 0x01, 0x05,             // mov dx, 0x501
                     0xee,                               // out dx, al
                     0xf4,                               // hlt
                 });
  KvmEngine &engine = m.start(protected_mode_at(0x2000));
  CHECK(m.run_bounded() == RunOutcome::Stopped);
  CpuState state = engine.get_state(0);
  CHECK(state.gpr[cpu::RAX] == 0x2badb003);
  CHECK(state.gpr[cpu::RBX] == 0x9000);
  CHECK(state.gpr[cpu::RDX] == 0x12340501);
  CHECK(state.rip == 0x2000 + 19);
  CHECK(state.seg[cpu::CS].selector == 0x10);
  CHECK(state.seg[cpu::CS].attributes == 0xc09b);
  CHECK(state.seg[cpu::CS].limit == 0xffffffff);
  CHECK(state.seg[cpu::DS].selector == 0x18);
  CHECK(state.gdtr.base == 0x500);
  CHECK((state.cr0 & cpu::CR0_PE) != 0);
  CHECK(state.code_size() == cpu::CodeSize::Bits32);
  uint32_t stored;
  std::memcpy(&stored, m.ram + 0x3000, 4);
  CHECK(stored == 0x12345678);
}

TEST_CASE("KVM triple fault resets, or shuts down with -no-reboot", "[kvm]") {
  if (!kvm_ready())
    return;
  for (bool no_reboot : {false, true}) {
    TestMachine m;
    // ud2 with an IDT of not-present gates: #UD, #NP, #DF, shutdown.
    m.load(0x2000, {0x0f, 0x0b});
    CpuState state = protected_mode_at(0x2000);
    state.idtr = {0x6000, 0x7ff};
    KvmOptions options;
    options.no_reboot = no_reboot;
    m.start(state, options);
    CHECK(m.run_bounded() ==
          (no_reboot ? RunOutcome::Shutdown : RunOutcome::Reset));
  }
}

TEST_CASE("KVM request_stop from another thread ends run", "[kvm]") {
  if (!kvm_ready())
    return;
  TestMachine m;
  m.load(kCode, {0xeb, 0xfe}); // jmp $
  KvmEngine &engine = m.start(real_mode_at(kCode));
  std::thread stopper([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    engine.request_stop(RunOutcome::Reset);
  });
  CHECK(m.run_bounded() == RunOutcome::Reset);
  stopper.join();
  CHECK(engine.get_state(0).rip == kCode);
}

TEST_CASE("KVM pause holds the vCPUs and resume lets them go on", "[kvm]") {
  if (!kvm_ready())
    return;
  TestMachine m;
  m.load(kCode, {
                    0x40,       // inc ax
                    0xeb, 0xfd, // jmp back to inc ax
                });
  KvmEngine &engine = m.start(real_mode_at(kCode));
  uint64_t paused_ax = 0, later_ax = 0;
  std::thread controller([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    engine.pause();
    paused_ax = engine.get_state(0).gpr[cpu::RAX];
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    CHECK(engine.get_state(0).gpr[cpu::RAX] == paused_ax);
    engine.resume();
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    engine.pause();
    later_ax = engine.get_state(0).gpr[cpu::RAX];
    engine.resume();
    engine.request_stop(RunOutcome::Stopped);
  });
  CHECK(m.run_bounded() == RunOutcome::Stopped);
  controller.join();
  CHECK(paused_ax != 0);
  CHECK(later_ax != paused_ax);
}

TEST_CASE("KVM state set through set_state reads back", "[kvm]") {
  if (!kvm_ready())
    return;
  TestMachine m;
  KvmEngine &engine = m.start(real_mode_at(kCode));
  CpuState state = protected_mode_at(0x4000);
  state.gpr[cpu::R13] = 0x1234567890abcdefull;
  state.cr0 |= cpu::CR0_NE;
  state.cr4 = cpu::CR4_OSFXSR;
  state.msr.sysenter_eip = 0xc0100000;
  state.msr.pat = 0x0007040600070406ull;
  state.fpu.fcw = 0x027f;
  state.fpu.xmm[3][5] = 0x99;
  state.dr[0] = 0x1000;
  engine.set_state(0, state);
  CpuState back = engine.get_state(0);
  CHECK(back.gpr[cpu::R13] == 0x1234567890abcdefull);
  CHECK(back.rip == 0x4000);
  CHECK(back.cr0 == state.cr0);
  CHECK(back.cr4 == cpu::CR4_OSFXSR);
  CHECK(back.seg[cpu::SS].attributes == 0xc093);
  CHECK(back.msr.sysenter_eip == 0xc0100000);
  CHECK(back.fpu.fcw == 0x027f);
  CHECK(back.fpu.xmm[3][5] == 0x99);
  CHECK(back.dr[0] == 0x1000);
  CHECK_FALSE(back.halted);
}

TEST_CASE("KVM save and load round-trip the vCPU and VM state", "[kvm]") {
  if (!kvm_ready())
    return;
  TestMachine m;
  KvmEngine &engine = m.start(real_mode_at(kCode));
  CpuState state = protected_mode_at(0x4000);
  state.gpr[cpu::RSI] = 0xfeedface;
  state.msr.lstar = 0xffffffff81234567ull;
  engine.set_state(0, state);

  StateWriter out;
  engine.save(out);

  CpuState other = real_mode_at(0x7000);
  engine.set_state(0, other);
  REQUIRE(engine.get_state(0).rip == 0x7000);

  StateReader in(out.data());
  engine.load(in);
  CHECK(in.at_end());
  CpuState back = engine.get_state(0);
  CHECK(back.rip == 0x4000);
  CHECK(back.gpr[cpu::RSI] == 0xfeedface);
  CHECK(back.seg[cpu::CS].attributes == 0xc09b);
  CHECK(back.msr.lstar == 0xffffffff81234567ull);

  StateReader wrong(out.data());
  TestMachine two_cpus;
  KvmEngine &smp = two_cpus.start(real_mode_at(kCode), {}, 2);
  CHECK_THROWS_AS(smp.load(wrong), StateError);
}

TEST_CASE("KVM reset returns vCPUs to the power-on state", "[kvm]") {
  if (!kvm_ready())
    return;
  TestMachine m;
  KvmEngine &engine = m.start(protected_mode_at(0x2000), {}, 2);
  engine.reset();
  for (unsigned i = 0; i < 2; ++i) {
    CpuState state = engine.get_state(i);
    CHECK(state.rip == 0xfff0);
    CHECK(state.seg[cpu::CS].selector == 0xf000);
    CHECK(state.seg[cpu::CS].base == 0xffff0000);
    CHECK((state.cr0 & cpu::CR0_PE) == 0);
    CHECK((state.msr.apic_base & 0x100) == (i == 0 ? 0x100u : 0u));
  }
}

TEST_CASE("KVM secondary vCPUs wait for SIPI while vCPU 0 runs", "[kvm]") {
  if (!kvm_ready())
    return;
  TestMachine m;
  m.load_send_and_stop(kCode, 'S');
  KvmEngine &engine = m.start(real_mode_at(kCode), {}, 2);
  CHECK(engine.vcpu_count() == 2);
  CHECK(m.run_bounded() == RunOutcome::Stopped);
  CHECK(m.data.bytes() == "S");
  CHECK(engine.get_state(1).rip == 0xfff0);
}

TEST_CASE("KVM in-kernel PIC delivers an interrupt raised through the sink",
          "[kvm]") {
  if (!kvm_ready())
    return;
  TestMachine m;
  ActionDevice trigger;
  m.io.map(kIrqPort, 1, &trigger);
  // IVT entry 0x09 (PIC IRQ1 after ICW2 = 8) -> 0000:0x1100.
  m.load(0x09 * 4, {0x00, 0x11, 0x00, 0x00});
  m.load_send_and_stop(0x1100, 'I');
  m.load(kCode, {
                    0xb0, 0x11, 0xe6, 0x20, // ICW1: edge, cascade, ICW4
                    0xb0, 0x08, 0xe6, 0x21, // ICW2: vectors 0x08-0x0f
                    0xb0, 0x04, 0xe6, 0x21, // ICW3: slave on IRQ2
                    0xb0, 0x01, 0xe6, 0x21, // ICW4: 8086 mode
                    0xb0, 0xfd, 0xe6, 0x21, // OCW1: only IRQ1 unmasked
                    0xba, 0x02, 0x05,       // mov dx, 0x502
                    0xee,                   // out dx, al (raise IRQ1)
                    0xfb,                   // sti
                    0xf4,                   // hlt
                    0xeb, 0xfd,             // jmp back to hlt
                });
  KvmEngine &engine = m.start(real_mode_at(kCode));
  trigger.on_write = [&] {
    engine.irq_sink().set_irq(1, true);
    engine.irq_sink().set_irq(1, false);
  };
  CHECK(m.run_bounded() == RunOutcome::Stopped);
  CHECK(m.data.bytes() == "I");
}

namespace {
// A stand-in for the userspace PIC: one pending vector until acknowledged.
class OneShotController : public InterruptController {
public:
  bool interrupt_pending() override { return pending; }
  uint8_t acknowledge_interrupt() override {
    pending = false;
    ++acknowledged;
    return 0x20;
  }
  bool pending = false;
  int acknowledged = 0;
};
} // namespace

TEST_CASE("KVM without irqchip wakes from HLT for a userspace interrupt",
          "[kvm]") {
  if (!kvm_ready())
    return;
  TestMachine m;
  ActionDevice trigger;
  m.io.map(kIrqPort, 1, &trigger);
  OneShotController controller;
  m.load(0x20 * 4, {0x00, 0x11, 0x00, 0x00});
  m.load_send_and_stop(0x1100, 'U');
  m.load(kCode, {
                    0xfb,       // sti
                    0xf4,       // hlt
                    0xeb, 0xfd, // jmp back to hlt
                });
  KvmOptions options;
  options.irqchip = false;
  options.interrupts = &controller;
  KvmEngine &engine = m.start(real_mode_at(kCode), options);
  std::thread raiser([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    std::lock_guard guard(m.lock);
    controller.pending = true;
    engine.irq_sink().set_irq(0, true);
  });
  CHECK(m.run_bounded() == RunOutcome::Stopped);
  raiser.join();
  CHECK(controller.acknowledged == 1);
  CHECK(m.data.bytes() == "U");
}

TEST_CASE("KVM without irqchip stops while halted with nothing pending",
          "[kvm]") {
  if (!kvm_ready())
    return;
  TestMachine m;
  m.load(kCode, {0xf4}); // hlt
  KvmOptions options;
  options.irqchip = false;
  KvmEngine &engine = m.start(real_mode_at(kCode), options);
  std::thread stopper([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    engine.pause();
    CHECK(engine.get_state(0).halted);
    engine.resume();
    engine.request_stop(RunOutcome::Stopped);
  });
  CHECK(m.run_bounded() == RunOutcome::Stopped);
  stopper.join();
  CHECK(engine.get_state(0).rip == kCode + 1);
}

TEST_CASE("KVM guest CPUID shows the hypervisor and KVM's leaves", "[kvm]") {
  if (!kvm_ready())
    return;
  TestMachine m;
  m.load(kCode, {
                    0x66, 0xb8, 0x00, 0x00, 0x00, 0x40, // mov eax, 0x40000000
                    0x0f, 0xa2,                         // cpuid
                    0x66, 0x89, 0x1e, 0x00, 0x30,       // mov [0x3000], ebx
                    0x66, 0x89, 0x0e, 0x04, 0x30,       // mov [0x3004], ecx
                    0x66, 0x89, 0x16, 0x08, 0x30,       // mov [0x3008], edx
                    0x66, 0xb8, 0x01, 0x00, 0x00, 0x00, // mov eax, 1
                    0x0f, 0xa2,                         // cpuid
                    0x66, 0x89, 0x1e, 0x0c, 0x30,       // mov [0x300c], ebx
                    0x66, 0x89, 0x0e, 0x10, 0x30,       // mov [0x3010], ecx
                    0xba, 0x01, 0x05,                   // mov dx, 0x501
                    0xee,                               // out dx, al
                    0xf4,                               // hlt
                });
  m.start(real_mode_at(kCode));
  CHECK(m.run_bounded() == RunOutcome::Stopped);
  CHECK(std::string(reinterpret_cast<char *>(m.ram + 0x3000)) == "KVMKVMKVM");
  uint32_t ebx, ecx;
  std::memcpy(&ebx, m.ram + 0x300c, 4);
  std::memcpy(&ecx, m.ram + 0x3010, 4);
  CHECK(ebx >> 24 == 0);
  CHECK((ecx & (1u << 31)) != 0);
}

TEST_CASE("KVM vCPU 0 starts vCPU 1 with INIT and SIPI", "[kvm]") {
  if (!kvm_ready())
    return;
  TestMachine m;
  // vCPU 0, 32-bit: ICR high = APIC 1; INIT; SIPI to 0x1000; halt.
  m.load(0x2000, {
                     0xc7, 0x05, 0x10, 0x03, 0xe0, 0xfe, // mov [0xfee00310],
                     0x00, 0x00, 0x00, 0x01,             //   0x01000000
                     0xc7, 0x05, 0x00, 0x03, 0xe0, 0xfe, // mov [0xfee00300],
                     0x00, 0x45, 0x00, 0x00,             //   0x4500 (INIT)
                     0xc7, 0x05, 0x00, 0x03, 0xe0, 0xfe, // mov [0xfee00300],
                     0x01, 0x46, 0x00, 0x00,             //   0x4601 (SIPI)
                     0xf4,                               // hlt
                     0xeb, 0xfd,                         // jmp back to hlt
                 });
  // vCPU 1 starts in real mode at 0100:0000.
  m.load_send_and_stop(0x1000, 'A');
  KvmEngine &engine = m.start(protected_mode_at(0x2000), {}, 2);
  CHECK(m.run_bounded() == RunOutcome::Stopped);
  CHECK(m.data.bytes() == "A");
  CpuState ap = engine.get_state(1);
  CHECK(ap.seg[cpu::CS].selector == 0x100);
  CHECK(ap.seg[cpu::CS].base == 0x1000);
  CHECK((ap.msr.apic_base & 0x100) == 0);
}

TEST_CASE("KVM follows a memory layout change made after start", "[kvm]") {
  if (!kvm_ready())
    return;
  TestMachine m;
  m.load(kCode, {
                    0xb8, 0x00, 0xa0,             // mov ax, 0xa000
                    0x8e, 0xd8,                   // mov ds, ax
                    0xc6, 0x06, 0x00, 0x00, 0x42, // mov byte [0], 0x42
                    0xba, 0x01, 0x05,             // mov dx, 0x501
                    0xee,                         // out dx, al
                    0xf4,                         // hlt
                });
  m.start(real_mode_at(kCode));
  // Remap guest 0xa0000 to the RAM behind guest 0x5000, as PAM or SMRAM
  // windows do; KVM must follow or the store lands at host offset 0xa0000.
  m.memory.add_alias("window", 0xa0000, 0x1000, "ram", 0x5000,
                     GuestMemory::Kind::Ram);
  CHECK(m.run_bounded() == RunOutcome::Stopped);
  CHECK(m.ram[0x5000] == 0x42);
  CHECK(m.ram[0xa0000] == 0);
}

TEST_CASE("KVM completes an input exit before run returns", "[kvm]") {
  if (!kvm_ready())
    return;
  TestMachine m;
  m.exit.read_value = 0x5a;
  m.load(kCode, {
                    0xba, 0x01, 0x05, // mov dx, 0x501
                    0xec,             // in al, dx (stops the run)
                    0xf4,             // hlt
                });
  KvmEngine &engine = m.start(real_mode_at(kCode));
  CHECK(m.run_bounded() == RunOutcome::Stopped);
  CpuState state = engine.get_state(0);
  CHECK((state.gpr[cpu::RAX] & 0xff) == 0x5a);
  CHECK(state.rip == kCode + 4);
}

TEST_CASE("KVM runs a 64-bit entry state with identity-mapped paging",
          "[kvm]") {
  if (!kvm_ready())
    return;
  TestMachine m;
  auto put64 = [&](uint64_t address, uint64_t value) {
    std::memcpy(m.ram + address, &value, 8);
  };
  put64(0x10000, 0x11000 | 3); // PML4[0] -> PDPT
  put64(0x11000, 0x12000 | 3); // PDPT[0] -> PD
  put64(0x12000, 0x83);        // PD[0]: 2 MiB page at 0, present, writable
  m.load(0x2000, {
                     0x48, 0xb8, 0x88, 0x77, 0x66, 0x55, // mov rax,
                     0x44, 0x33, 0x22, 0x11,             //   0x1122334455667788
                     0x49, 0x89, 0xc7,                   // mov r15, rax
                     0x66, 0xba, 0x01, 0x05,             // mov dx, 0x501
                     0xee,                               // out dx, al
                     0xf4,                               // hlt
                 });
  CpuState state = protected_mode_at(0x2000);
  state.cr0 |= cpu::CR0_PG;
  state.cr4 = cpu::CR4_PAE;
  state.cr3 = 0x10000;
  state.efer = cpu::EFER_LME | cpu::EFER_LMA;
  state.seg[cpu::CS] = {0x10, 0, 0xffffffff, 0xa09b};
  KvmEngine &engine = m.start(state);
  CHECK(m.run_bounded() == RunOutcome::Stopped);
  CpuState back = engine.get_state(0);
  CHECK(back.gpr[cpu::R15] == 0x1122334455667788ull);
  CHECK(back.rip == 0x2012);
  CHECK(back.long_mode_active());
  CHECK(back.code_size() == cpu::CodeSize::Bits64);
  CHECK(back.seg[cpu::CS].attributes == 0xa09b);
}
