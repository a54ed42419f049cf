#include "program_runner.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <regex>
#include <sstream>
#include <sys/mman.h>
#include <thread>
#include <unistd.h>

#include "accel/kvm_engine.h"
#include "accel/soft_engine.h"
#include "machine/io_bus.h"
#include "machine/memory.h"
#include "machine/state.h"

namespace sable::test {

namespace {

constexpr uint64_t kRamSize = 4 << 20;
constexpr uint64_t kStackTop = 0x8000;
constexpr uint64_t kGdtAddress = 0x500;
constexpr uint64_t kPageTables = 0x100000;
constexpr uint16_t kDonePort = 0xf4;
constexpr auto kTimeLimit = std::chrono::seconds(20);

uint64_t initial_register(unsigned index) {
  return 0x0101010101010101ull * (index + 1) ^ 0x8040201008040201ull;
}

uint8_t initial_data_byte(size_t i) {
  return static_cast<uint8_t>(i * 7 + 1);
}

std::vector<uint8_t> read_file(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

void parse_expectations(Program &program, const std::string &source) {
  std::istringstream lines(source);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind("# oracle: host", 0) == 0)
      program.host_oracle = true;
    if (line.rfind("# pvm: ", 0) == 0)
      program.pvm_limitation = line.substr(7);
    if (line.rfind("# expect: ", 0) == 0) {
      std::istringstream words(line.substr(10));
      std::string word;
      while (words >> word) {
        size_t eq = word.find('=');
        program.expected_registers[word.substr(0, eq)] =
            std::stoull(word.substr(eq + 1), nullptr, 0);
      }
    }
    if (line.rfind("# expect-mem: ", 0) == 0) {
      std::istringstream words(line.substr(14));
      std::string first;
      words >> first;
      size_t eq = first.find('=');
      std::vector<uint8_t> bytes{
          static_cast<uint8_t>(std::stoul(first.substr(eq + 1), nullptr, 0))};
      std::string byte;
      while (words >> byte)
        bytes.push_back(static_cast<uint8_t>(std::stoul(byte, nullptr, 0)));
      program.expected_memory.emplace_back(
          std::stoull(first.substr(0, eq), nullptr, 0), bytes);
    }
  }
}

cpu::Segment segment(uint16_t selector, uint64_t base, uint32_t limit,
                     uint16_t attributes) {
  cpu::Segment s;
  s.selector = selector;
  s.base = base;
  s.limit = limit;
  s.attributes = attributes;
  return s;
}

// The state every program starts from, per mode (see tests/programs/README).
cpu::CpuState initial_state(unsigned mode, GuestMemory &memory) {
  cpu::CpuState state;
  for (unsigned i = 0; i < 16; ++i)
    state.gpr[i] = initial_register(i);
  state.gpr[cpu::RBX] = kDataAddress;
  state.gpr[cpu::RSP] = kStackTop;
  state.rflags = 0x2;
  state.rip = kCodeAddress;
  state.idtr = {0, 0x3ff};
  // Null, 64-bit code, flat data, 32-bit code.
  const uint64_t gdt[] = {0, 0x00af9b000000ffffull, 0x00cf93000000ffffull,
                          0x00cf9b000000ffffull};
  memory.write(kGdtAddress, gdt, sizeof gdt);
  state.gdtr = {kGdtAddress, sizeof gdt - 1};
  // SSE instructions need an operating system that saves their state
  // (OSFXSR); the host oracle runs under one.
  state.cr4 = cpu::CR4_OSFXSR | cpu::CR4_OSXMMEXCPT;
  if (mode == 16) {
    for (auto &s : state.seg)
      s = segment(0, 0, 0xffff, 0x93);
    state.seg[cpu::CS] = segment(0, 0, 0xffff, 0x9b);
    state.cr0 = cpu::CR0_ET;
    return state;
  }
  for (auto &s : state.seg)
    s = segment(0x10, 0, 0xffffffff, 0xc093);
  state.cr0 = cpu::CR0_PE | cpu::CR0_ET;
  if (mode == 32) {
    state.seg[cpu::CS] = segment(0x18, 0, 0xffffffff, 0xc09b);
    return state;
  }
  state.seg[cpu::CS] = segment(0x08, 0, 0xffffffff, 0xa09b);
  const uint64_t pml4 = (kPageTables + 0x1000) | 3;
  const uint64_t pdpt = (kPageTables + 0x2000) | 3;
  const uint64_t pd = 0x83; // 2 MiB page at 0, present, writable
  memory.write(kPageTables, &pml4, 8);
  memory.write(kPageTables + 0x1000, &pdpt, 8);
  memory.write(kPageTables + 0x2000, &pd, 8);
  state.cr3 = kPageTables;
  state.cr4 |= cpu::CR4_PAE;
  state.cr0 |= cpu::CR0_PG;
  state.efer = cpu::EFER_LME | cpu::EFER_LMA;
  return state;
}

// Stops the engine when the program writes the done port.
class DonePort : public Device {
public:
  std::string_view name() const override { return "program-done"; }
  uint64_t read(uint64_t, unsigned) override { return 0; }
  void write(uint64_t, unsigned, uint64_t) override {
    finished = true;
    if (engine)
      engine->request_stop(RunOutcome::Stopped);
  }
  void reset() override {}
  void save(StateWriter &) const override {}
  void load(StateReader &) override {}
  Engine *engine = nullptr;
  bool finished = false;
};

} // namespace

std::vector<Program> load_programs(const std::string &binary_dir,
                                   const std::string &source_dir) {
  std::vector<Program> programs;
  for (unsigned mode : {16u, 32u, 64u}) {
    std::string dir = source_dir + "/" + std::to_string(mode);
    std::vector<std::filesystem::path> sources;
    for (const auto &entry : std::filesystem::directory_iterator(dir))
      if (entry.path().extension() == ".S")
        sources.push_back(entry.path());
    std::sort(sources.begin(), sources.end());
    for (const auto &source : sources) {
      Program program;
      std::string stem = source.stem().string();
      program.name = std::to_string(mode) + "/" + stem;
      program.mode = mode;
      program.code = read_file(binary_dir + "/" + std::to_string(mode) + "/" +
                               stem + ".bin");
      std::vector<uint8_t> text = read_file(source.string());
      parse_expectations(program, std::string(text.begin(), text.end()));
      programs.push_back(program);
    }
  }
  return programs;
}

std::string engine_unavailable(EngineKind kind) {
  if (kind == EngineKind::Software)
    return "";
  if (access("/dev/kvm", R_OK | W_OK) != 0)
    return "/dev/kvm is missing or not accessible";
  return "";
}

bool kvm_is_pvm() {
  return access("/sys/module/kvm_pvm", F_OK) == 0;
}

ProgramResult run_on_engine(EngineKind kind, const Program &program) {
  std::recursive_mutex lock;
  MmioBus mmio(lock);
  IoPortBus io(lock);
  GuestMemory memory(mmio);
  memory.add_ram("ram", 0, kRamSize);
  memory.write(kCodeAddress, program.code.data(), program.code.size());
  std::vector<uint8_t> data(kDataSize);
  for (size_t i = 0; i < kDataSize; ++i)
    data[i] = initial_data_byte(i);
  memory.write(kDataAddress, data.data(), data.size());
  DonePort done;
  io.map(kDonePort, 1, &done);
  cpu::CpuState state = initial_state(program.mode, memory);

  ProgramResult result;
  std::unique_ptr<Engine> engine;
  try {
    if (kind == EngineKind::Software) {
      SoftEngine::Config config;
      config.memory = &memory;
      config.io = &io;
      config.machine_lock = &lock;
      config.no_reboot = true;
      engine = std::make_unique<SoftEngine>(config);
    } else {
      KvmOptions options;
      options.irqchip = false;
      options.no_reboot = true;
      options.machine_lock = &lock;
      engine = std::make_unique<KvmEngine>(memory, io, 1, state, options);
    }
  } catch (const std::exception &e) {
    result.engine_error = e.what();
    return result;
  }
  done.engine = engine.get();
  engine->set_state(0, state);

  std::mutex watchdog_lock;
  std::condition_variable watchdog_wake;
  bool over = false;
  std::thread watchdog([&] {
    std::unique_lock guard(watchdog_lock);
    if (!watchdog_wake.wait_for(guard, kTimeLimit, [&] { return over; }))
      engine->request_stop(RunOutcome::Shutdown);
  });
  engine->run();
  {
    std::lock_guard guard(watchdog_lock);
    over = true;
  }
  watchdog_wake.notify_all();
  watchdog.join();

  result.finished = done.finished;
  cpu::CpuState final_state = engine->get_state(0);
  std::copy(std::begin(final_state.gpr), std::end(final_state.gpr), result.gpr);
  result.data.resize(kDataSize);
  memory.read(kDataAddress, result.data.data(), kDataSize);
  return result;
}

namespace {

struct NativeRegisters {
  uint64_t gpr[16];
  uint64_t rflags;
};

} // namespace

extern "C" void sable_native_run(NativeRegisters *registers, void *code);
extern "C" void sable_native_return();

// Loads every register from the block, jumps to the program, and on its
// way back (the patched `done`) stores them again. RSP stays the host's.
// The x87 control word and MXCSR, which programs change, are callee-saved
// in the ABI, and the x87 stack must be empty again: FNINIT, then the
// caller's control word and MXCSR come back.
asm(R"(
        .text
        .globl sable_native_run
        .globl sable_native_return
sable_native_run:
        push %rbx
        push %rbp
        push %r12
        push %r13
        push %r14
        push %r15
        mov %rdi, native_block(%rip)
        mov %rsp, native_saved_rsp(%rip)
        mov %rsi, native_code(%rip)
        fnstcw native_fcw(%rip)
        stmxcsr native_mxcsr(%rip)
        pushq 128(%rdi)
        popfq
        mov 0(%rdi), %rax
        mov 8(%rdi), %rcx
        mov 16(%rdi), %rdx
        mov 24(%rdi), %rbx
        mov 40(%rdi), %rbp
        mov 48(%rdi), %rsi
        mov 64(%rdi), %r8
        mov 72(%rdi), %r9
        mov 80(%rdi), %r10
        mov 88(%rdi), %r11
        mov 96(%rdi), %r12
        mov 104(%rdi), %r13
        mov 112(%rdi), %r14
        mov 120(%rdi), %r15
        mov 56(%rdi), %rdi
        jmp *native_code(%rip)
sable_native_return:
        pushfq
        push %rax
        mov native_block(%rip), %rax
        mov %rcx, 8(%rax)
        mov %rdx, 16(%rax)
        mov %rbx, 24(%rax)
        mov %rbp, 40(%rax)
        mov %rsi, 48(%rax)
        mov %rdi, 56(%rax)
        mov %r8, 64(%rax)
        mov %r9, 72(%rax)
        mov %r10, 80(%rax)
        mov %r11, 88(%rax)
        mov %r12, 96(%rax)
        mov %r13, 104(%rax)
        mov %r14, 112(%rax)
        mov %r15, 120(%rax)
        pop %rcx
        mov %rcx, 0(%rax)
        pop %rcx
        mov %rcx, 128(%rax)
        mov native_saved_rsp(%rip), %rsp
        fninit
        fldcw native_fcw(%rip)
        ldmxcsr native_mxcsr(%rip)
        pop %r15
        pop %r14
        pop %r13
        pop %r12
        pop %rbp
        pop %rbx
        ret
        .data
        .balign 8
native_block: .quad 0
native_saved_rsp: .quad 0
native_code: .quad 0
native_mxcsr: .long 0
native_fcw: .short 0
        .text
)");

ProgramResult run_on_host(const Program &program) {
  ProgramResult result;
  const size_t code_size = 0x10000;
  void *page =
      mmap(nullptr, code_size + kDataSize, PROT_READ | PROT_WRITE | PROT_EXEC,
           MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (page == MAP_FAILED) {
    result.engine_error = "cannot map executable memory";
    return result;
  }
  auto code = static_cast<uint8_t *>(page);
  auto data = code + code_size;
  std::memcpy(code, program.code.data(), program.code.size());
  for (size_t i = 0; i < kDataSize; ++i)
    data[i] = initial_data_byte(i);

  // `done` is OUT imm8 (E6 F4) and 16 NOPs: make it `jmp *0(%rip)` to the
  // epilogue.
  const uint8_t done_bytes[] = {0xe6, 0xf4, 0x90, 0x90, 0x90, 0x90,
                                0x90, 0x90, 0x90, 0x90, 0x90, 0x90,
                                0x90, 0x90, 0x90, 0x90, 0x90, 0x90};
  auto end = code + program.code.size();
  auto at =
      std::search(code, end, std::begin(done_bytes), std::end(done_bytes));
  if (at == end) {
    result.engine_error = "program has no `done`";
    munmap(page, code_size + kDataSize);
    return result;
  }
  const uint8_t jump[] = {0xff, 0x25, 0, 0, 0, 0};
  std::memcpy(at, jump, sizeof jump);
  uint64_t target = reinterpret_cast<uint64_t>(&sable_native_return);
  std::memcpy(at + sizeof jump, &target, 8);

  NativeRegisters registers{};
  for (unsigned i = 0; i < 16; ++i)
    registers.gpr[i] = initial_register(i);
  registers.gpr[cpu::RBX] = reinterpret_cast<uint64_t>(data);
  registers.rflags = 0x2;
  sable_native_run(&registers, code);
  result.finished = true;
  std::copy(std::begin(registers.gpr), std::end(registers.gpr), result.gpr);
  result.data.assign(data, data + kDataSize);
  munmap(page, code_size + kDataSize);
  return result;
}

uint64_t register_value(const ProgramResult &result, const std::string &name) {
  static const char *const names64[] = {"rax", "rcx", "rdx", "rbx",
                                        "rsp", "rbp", "rsi", "rdi"};
  static const char *const names32[] = {"eax", "ecx", "edx", "ebx",
                                        "esp", "ebp", "esi", "edi"};
  static const char *const names16[] = {"ax", "cx", "dx", "bx",
                                        "sp", "bp", "si", "di"};
  for (unsigned i = 0; i < 8; ++i) {
    if (name == names64[i])
      return result.gpr[i];
    if (name == names32[i])
      return result.gpr[i] & 0xffffffff;
    if (name == names16[i])
      return result.gpr[i] & 0xffff;
  }
  static const std::regex numbered("r([0-9]+)([dwb]?)");
  std::smatch match;
  if (std::regex_match(name, match, numbered)) {
    uint64_t value = result.gpr[std::stoul(match[1])];
    if (match[2] == "d")
      return value & 0xffffffff;
    if (match[2] == "w")
      return value & 0xffff;
    if (match[2] == "b")
      return value & 0xff;
    return value;
  }
  throw std::invalid_argument("unknown register " + name);
}

} // namespace sable::test
