#include "machine/machine.h"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <stdexcept>

#include "accel/engine.h"
#include "accel/kvm_engine.h"
#include "accel/soft_engine.h"
#include "cpu/cpuid.h"
#include "cpu/msr.h"
#include "debug/gdbstub.h"
#include "devices/acpi_pm.h"
#include "devices/apic_bus.h"
#include "devices/ata_disk.h"
#include "devices/atapi_cdrom.h"
#include "devices/debug_exit.h"
#include "devices/disk_image.h"
#include "devices/fw_cfg.h"
#include "devices/i440fx.h"
#include "devices/i8042.h"
#include "devices/ide_controller.h"
#include "devices/ioapic.h"
#include "devices/local_apic.h"
#include "devices/local_apic_page.h"
#include "devices/pci_bus.h"
#include "devices/pic.h"
#include "devices/piix3.h"
#include "devices/pit8254.h"
#include "devices/port61.h"
#include "devices/port80.h"
#include "devices/port92.h"
#include "devices/rtc_cmos.h"
#include "devices/uart16550.h"
#include "devices/vga.h"
#include "machine/acpi_tables.h"
#include "machine/boot_image.h"
#include "machine/boot_linux.h"
#include "machine/boot_multiboot.h"
#include "machine/e820.h"
#include "machine/log.h"
#include "machine/mp_table.h"
#include "ui/file_backend.h"
#include "ui/sdl_console.h"
#include "ui/stdio_backend.h"
#include "ui/tcp_backend.h"
#include "ui/vnc_server.h"

namespace sable {

namespace {

constexpr const char *kDefaultBios = "/usr/share/seabios/bios.bin";
constexpr const char *kVgaBios = "/usr/share/seabios/vgabios-stdvga.bin";
// QEMU's option ROM that boots a Linux kernel handed over in fw_cfg
// (Debian package qemu-system-data).
constexpr const char *kLinuxBootRom = "/usr/share/qemu/linuxboot_dma.bin";
constexpr uint16_t kSerialPorts[] = {0x3f8, 0x2f8, 0x3e8, 0x2e8};
constexpr unsigned kSerialIrqs[] = {4, 3, 4, 3};
constexpr uint64_t kFirmwareWindowSize = 0x20000; // the BIOS alias below 1 MiB
constexpr uint64_t kLocalApicBase = 0xfee00000;
constexpr uint32_t kDirectBootAcpiTables = 0xe0000;
constexpr uint32_t kDirectBootRsdp = 0xf0000;
// The MP tables, for a kernel booted with acpi=off, after the RSDP.
constexpr uint32_t kDirectBootMpPointer = 0xf0040;
constexpr uint32_t kDirectBootMpTable = 0xf0100;
constexpr const char *kVncPasswordVariable = "SABLE_VNC_PASSWORD";

[[noreturn]] void not_supported(const std::string &what) {
  throw std::runtime_error(what + ": not supported yet");
}

} // namespace

Machine::Machine(const Options &options) : options_(options) {
  check_supported();
  create_memory();
  map_firmware();
  boot_state_ = load_boot_image();
  create_interrupt_controllers();
  create_engine();
  create_legacy_devices();
  create_serial_ports();
  create_pci();
  create_firmware_config();
  create_display();
  create_gdbstub();
}

Machine::~Machine() {
  gdbstub_.reset();
  loop_.stop();
  engine_.reset();
}

void Machine::check_supported() const {
  if (options_.machine_type != "pc")
    not_supported("-machine " + options_.machine_type + " (pc only)");
  for (const DriveOptions &drive : options_.drives)
    if (drive.interface != "ide")
      not_supported("-drive if=" + drive.interface);
  if (options_.gdb.empty() && options_.start_paused)
    not_supported("-S without -gdb or -s (nothing could continue the guest)");
}

template <typename T, typename... Args> T &Machine::own(Args &&...args) {
  auto device = std::make_unique<T>(std::forward<Args>(args)...);
  T &ref = *device;
  devices_.push_back(std::move(device));
  return ref;
}

void Machine::map_io(uint16_t base, uint32_t length, Device &device) {
  io_.map(base, length, &device);
}

void Machine::create_memory() {
  RamSplit split = split_ram(options_.ram_bytes);
  memory_.add_ram("ram-below-4g", 0, split.below_4g);
  if (split.above_4g)
    memory_.add_ram("ram-above-4g", k4GiB, split.above_4g);
  // From the top of low RAM to 4 GiB: PCI BARs, the IOAPIC and the local
  // APIC, all dispatched through the MMIO bus; the firmware overlays its top.
  memory_.add_mmio("pci-window", split.below_4g, k4GiB - split.below_4g);
  // The VGA's legacy window, dispatched to the VGA device.
  memory_.add_mmio("vga-window", 0xa0000, 0x20000);
}

bool Machine::direct_kernel_boot() const {
  return !options_.kernel.empty() && options_.bios.empty();
}

std::optional<cpu::CpuState> Machine::load_boot_image() {
  if (!direct_kernel_boot())
    return std::nullopt;
  std::vector<uint8_t> image = read_boot_file("-kernel", options_.kernel);
  std::vector<E820Entry> e820 = build_e820(options_.ram_bytes);
  if (find_multiboot_header(image)) {
    MultibootKernel kernel;
    kernel.path = options_.kernel;
    kernel.image = std::move(image);
    kernel.cmdline = options_.append;
    if (!options_.initrd.empty())
      kernel.modules = read_multiboot_modules(options_.initrd);
    return load_multiboot(memory_, e820, kernel);
  }
  if (is_linux_kernel(image)) {
    LinuxKernel kernel;
    kernel.path = options_.kernel;
    kernel.image = std::move(image);
    kernel.cmdline = options_.append;
    if (!options_.initrd.empty())
      kernel.initrd = read_boot_file("-initrd", options_.initrd);
    return load_linux(memory_, e820, kernel);
  }
  throw BootError("-kernel " + options_.kernel +
                  ": neither a Linux bzImage nor a multiboot kernel");
}

void Machine::map_firmware() {
  std::string path = options_.bios.empty() ? kDefaultBios : options_.bios;
  std::vector<uint8_t> bios = read_boot_file("-bios", path);
  if (bios.size() < kFirmwareWindowSize || bios.size() > (16u << 20) ||
      bios.size() % 0x1000)
    throw BootError("-bios " + path +
                    ": a firmware image is 128 KiB to 16 MiB in 4 KiB units");
  memory_.add_rom("bios", k4GiB - bios.size(), bios);
}

void Machine::create_interrupt_controllers() {
  pic_ = std::make_unique<Pic8259Pair>([this](bool asserted) {
    // With the software CPU the PIC reaches the bootstrap processor through
    // its local APIC's LINT0; KVM without an irqchip polls it.
    if (!local_apics_.empty())
      local_apics_[0]->set_lint(0, asserted);
  });
}

void Machine::map_pic() {
  map_io(0x20, 2, pic_->master_ports());
  map_io(0xa0, 2, pic_->slave_ports());
  map_io(0x4d0, 2, pic_->elcr_ports());
  irq_.add_sink(pic_.get());
}

void Machine::create_engine() {
  for (size_t i = 0; i < options_.accelerators.size() && !engine_; ++i) {
    bool last = i + 1 == options_.accelerators.size();
    if (options_.accelerators[i] == "tcg") {
      create_soft_engine();
      continue;
    }
    try {
      create_kvm_engine();
    } catch (const std::runtime_error &e) {
      if (last)
        throw std::runtime_error(std::string("-accel kvm: ") + e.what());
      warn("%s; falling back to the software CPU", e.what());
    }
  }
}

void Machine::create_kvm_engine() {
  KvmOptions kvm;
  kvm.irqchip = options_.kernel_irqchip;
  kvm.no_reboot = options_.no_reboot;
  kvm.interrupts = kvm.irqchip ? nullptr : pic_.get();
  kvm.machine_lock = &lock_;
  auto engine = std::make_unique<KvmEngine>(memory_, io_, options_.cpus,
                                            boot_state_, kvm);
  kvm_irqchip_ = kvm.irqchip;
  if (!kvm_irqchip_)
    map_pic();
  irq_.add_sink(&engine->irq_sink());
  engine_ = std::move(engine);
}

// The software CPU's interrupt fabric: the PIC on the bootstrap processor's
// LINT0, the IOAPIC, and one local APIC per vCPU on an APIC bus.
void Machine::create_soft_engine() {
  map_pic();
  apic_bus_ = std::make_unique<ApicBus>();
  ioapic_ = std::make_unique<Ioapic>(
      [this](const ApicMessage &message) { apic_bus_->deliver(message); });
  apic_bus_->set_eoi_handler([this](uint8_t vector) {
    std::lock_guard guard(lock_);
    ioapic_->eoi(vector);
  });
  mmio_.map(Ioapic::kBaseAddress, Ioapic::kMmioSize, ioapic_.get());
  irq_.add_sink(ioapic_.get());

  SoftEngine::Config config;
  config.memory = &memory_;
  config.io = &io_;
  config.machine_lock = &lock_;
  config.no_reboot = options_.no_reboot;
  config.vcpus.clear();
  for (unsigned i = 0; i < options_.cpus; ++i) {
    local_apics_.push_back(std::make_unique<LocalApic>(
        clock_, i, i == 0, cpu::kGuestTscHz, apic_bus_.get(),
        i == 0 ? pic_.get() : nullptr));
    config.vcpus.push_back({local_apics_[i].get(), local_apics_[i].get()});
  }
  // One xAPIC page, through which each vCPU reaches its own local APIC.
  std::vector<LocalApic *> apics;
  for (auto &apic : local_apics_)
    apics.push_back(apic.get());
  apic_page_ = std::make_unique<LocalApicPage>(
      std::move(apics), [] { return SoftEngine::current_vcpu(); });
  mmio_.map(kLocalApicBase, LocalApic::kMmioSize, apic_page_.get());

  auto engine = std::make_unique<SoftEngine>(config);
  soft_engine_ = engine.get();
  for (unsigned i = 0; i < options_.cpus; ++i) {
    local_apics_[i]->connect_cpu(
        {[this, i] { soft_engine_->wake(i); },
         [this, i] { soft_engine_->nmi(i); },
         [this, i] { soft_engine_->init(i); },
         [this, i](uint8_t vector) { soft_engine_->startup(i, vector); }});
  }
  engine_ = std::move(engine);
  start_vcpus();
}

// Puts the boot vCPU at the direct-boot entry state; without firmware to
// program it, the local APIC starts in virtual-wire mode (PIC on LINT0) as
// PC firmware leaves it. The software CPU's boot vCPU keeps its TSC: a
// boot loader sets registers, not the time-stamp counter, which must stay
// in step with the other vCPUs' (Linux stops using TSCs that differ
// between CPUs). KVM keeps its vCPUs' TSCs itself.
void Machine::start_vcpus() {
  if (!boot_state_)
    return;
  cpu::CpuState state = *boot_state_;
  if (soft_engine_)
    state.msr.tsc_offset = soft_engine_->get_state(0).msr.tsc_offset;
  engine_->set_state(0, state);
  if (!local_apics_.empty())
    local_apics_[0]->enable_virtual_wire();
}

void Machine::create_legacy_devices() {
  if (!kvm_irqchip_) {
    auto &pit = own<Pit8254>(clock_, IrqLine(&irq_, 0));
    map_io(0x40, 4, pit);
    map_io(0x61, 1, own<Port61>(clock_, pit));
  }
  auto &rtc = own<RtcCmos>(clock_, IrqLine(&irq_, 8));
  map_io(0x70, 2, rtc);
  RamSplit split = split_ram(options_.ram_bytes);
  rtc.set_memory_size(split.below_4g, split.above_4g);
  set_cmos_boot_order(rtc);
  auto a20 = [this](bool enabled) {
    if (soft_engine_)
      soft_engine_->set_a20(enabled);
  };
  auto reset = [this] { request_reset(); };
  keyboard_ = std::make_unique<I8042>(IrqLine(&irq_, 1), IrqLine(&irq_, 12),
                                      a20, reset);
  map_io(0x60, 1, keyboard_->data_port());
  map_io(0x64, 1, keyboard_->command_port());
  map_io(0x92, 1, own<Port92>(a20, reset));
  map_io(0x80, 1, own<Port80>());
  if (options_.debug_exit) {
    auto &exit = own<DebugExit>([this](int status) { request_exit(status); },
                                options_.debug_exit->iosize);
    map_io(options_.debug_exit->iobase, options_.debug_exit->iosize, exit);
  }
}

void Machine::create_serial_ports() {
  for (size_t i = 0; i < options_.serials.size(); ++i) {
    const SerialOptions &serial = options_.serials[i];
    std::unique_ptr<CharBackend> backend;
    switch (serial.kind) {
    case SerialOptions::Kind::Stdio:
    case SerialOptions::Kind::MonStdio:
      backend = std::make_unique<StdioBackend>(
          loop_, serial.kind == SerialOptions::Kind::MonStdio,
          [this] { request_exit(0); });
      break;
    case SerialOptions::Kind::File:
      backend = std::make_unique<FileBackend>(serial.path);
      break;
    case SerialOptions::Kind::Tcp:
      backend = std::make_unique<TcpServerBackend>(loop_, serial.host,
                                                   serial.port, serial.wait);
      break;
    case SerialOptions::Kind::Null:
      backend = std::make_unique<NullBackend>();
      break;
    case SerialOptions::Kind::None:
      continue;
    }
    auto &uart =
        own<Uart16550>(clock_, IrqLine(&irq_, kSerialIrqs[i]), backend.get());
    map_io(kSerialPorts[i], 8, uart);
    serial_backends_.push_back(std::move(backend));
  }
}

void Machine::create_pci() {
  pci_ = std::make_unique<PciBus>(io_, mmio_, &irq_);
  map_io(0xcf8, 8, *pci_);
  host_bridge_ = std::make_unique<I440fx>(*pci_, memory_, "ram-below-4g",
                                          legacy_rom_window());
  isa_bridge_ = std::make_unique<Piix3>(*pci_, [this] { request_reset(); });
  power_management_ =
      std::make_unique<AcpiPm>(*pci_, io_, clock_, IrqLine(&irq_, 9), [this] {
        if (!options_.no_shutdown)
          request_exit(0);
      });
  create_storage();
  vga_ = std::make_unique<Vga>(*pci_, 2, io_, mmio_, memory_);
}

void Machine::create_storage() {
  ide_ = std::make_unique<IdeController>(memory_, IrqLine(&irq_, 14),
                                         IrqLine(&irq_, 15));
  pci_->add(ide_.get(), 1, 1);
  ide_->map_legacy_ports(io_);
  std::vector<bool> taken(IdeController::kMaxDrives);
  for (const DriveOptions &drive : options_.drives) {
    int index = drive.index;
    if (index < 0) {
      auto free = std::find(taken.begin(), taken.end(), false);
      if (free == taken.end())
        throw std::runtime_error("-drive file=" + drive.file +
                                 ": no free IDE position (at most 4)");
      index = static_cast<int>(free - taken.begin());
    }
    if (taken[static_cast<size_t>(index)])
      throw std::runtime_error("-drive file=" + drive.file + ": index " +
                               std::to_string(index) + " is already used");
    taken[static_cast<size_t>(index)] = true;
    bool cdrom = drive.media == "cdrom";
    DiskImage::Mode mode = cdrom || drive.read_only ? DiskImage::Mode::ReadOnly
                           : options_.snapshot      ? DiskImage::Mode::Snapshot
                                               : DiskImage::Mode::ReadWrite;
    auto image = std::make_unique<DiskImage>(drive.file, mode);
    std::string serial = "SABLE" + std::to_string(index);
    if (cdrom)
      ide_->attach(static_cast<unsigned>(index),
                   std::make_unique<AtapiCdrom>(std::move(image), serial));
    else
      ide_->attach(static_cast<unsigned>(index),
                   std::make_unique<AtaDisk>(std::move(image), serial));
  }
}

// The firmware's boot order in CMOS, as SeaBIOS reads it under QEMU: one
// nibble per position (1 floppy, 2 disk, 3 CD-ROM, 4 network); bit 0 of
// register 0x38 skips the floppy signature check.
void Machine::set_cmos_boot_order(RtcCmos &rtc) const {
  auto code = [&](size_t position) -> uint8_t {
    if (position >= options_.boot_order.size())
      return 0;
    switch (options_.boot_order[position]) {
    case 'a':
      return 1;
    case 'c':
      return 2;
    case 'd':
      return 3;
    default:
      return 4;
    }
  };
  rtc.set_cmos(0x3d, static_cast<uint8_t>(code(0) | code(1) << 4));
  rtc.set_cmos(0x38, static_cast<uint8_t>(code(2) << 4 | 1));
}

// 0xC0000-0xFFFFF as the chipset shows it before shadowing: with firmware,
// the last 128 KiB of the BIOS image at 0xE0000; for a direct kernel boot,
// the ACPI tables at 0xE0000, and the RSDP and the MP floating pointer at
// 0xF0000, where the kernel searches for them.
std::vector<uint8_t> Machine::legacy_rom_window() {
  std::vector<uint8_t> window(I440fx::kShadowSize, 0xff);
  auto at = [&](uint64_t address) {
    return window.begin() + static_cast<long>(address - I440fx::kShadowBase);
  };
  if (!direct_kernel_boot()) {
    std::vector<uint8_t> low_bios(kFirmwareWindowSize);
    memory_.read(k4GiB - kFirmwareWindowSize, low_bios.data(), low_bios.size());
    std::copy(low_bios.begin(), low_bios.end(), at(0xe0000));
    return window;
  }
  AcpiTables::Placed placed =
      acpi_tables().place(kDirectBootAcpiTables, kDirectBootRsdp);
  std::copy(placed.tables.begin(), placed.tables.end(),
            at(kDirectBootAcpiTables));
  std::copy(placed.rsdp.begin(), placed.rsdp.end(), at(kDirectBootRsdp));
  MpTables mp = build_mp_tables({options_.cpus, cpu::cpuid_signature()},
                                kDirectBootMpTable);
  std::copy(mp.floating_pointer.begin(), mp.floating_pointer.end(),
            at(kDirectBootMpPointer));
  std::copy(mp.configuration.begin(), mp.configuration.end(),
            at(kDirectBootMpTable));
  return window;
}

AcpiTables Machine::acpi_tables() const {
  AcpiConfig config;
  config.cpus = options_.cpus;
  config.pci_window_base =
      static_cast<uint32_t>(split_ram(options_.ram_bytes).below_4g);
  config.com1 = !options_.serials.empty();
  return AcpiTables(config);
}

void Machine::create_firmware_config() {
  auto &fw_cfg = own<FwCfg>(memory_);
  map_io(FwCfg::kIoBase, FwCfg::kIoLength, fw_cfg);
  fw_cfg.add_u64(0x03, options_.ram_bytes);
  fw_cfg.add_u16(0x05, static_cast<uint16_t>(options_.cpus));
  fw_cfg.add_u16(0x0f, static_cast<uint16_t>(options_.cpus));
  fw_cfg.add_u16(0x0e, 0); // no boot menu
  AcpiTables tables = acpi_tables();
  fw_cfg.add_file(AcpiTables::kTablesFile, tables.tables());
  fw_cfg.add_file(AcpiTables::kRsdpFile, tables.rsdp());
  fw_cfg.add_file(AcpiTables::kLoaderFile, tables.table_loader());
  if (!options_.kernel.empty() && !direct_kernel_boot())
    add_kernel_for_firmware(fw_cfg);
  // SeaBIOS installs the VGA option ROM from fw_cfg, as QEMU hands it over.
  fw_cfg.add_file("vgaroms/vgabios-stdvga.bin",
                  read_boot_file("-vga", kVgaBios));
  fw_cfg.add_file("etc/e820",
                  e820_fw_cfg_file(build_firmware_e820(options_.ram_bytes)));
  if (!options_.serials.empty() &&
      options_.display.kind == DisplayOptions::Kind::None) {
    // SeaBIOS mirrors its screen on COM1 when told the port, as QEMU does
    // for -nographic.
    fw_cfg.add_file("etc/sercon-port", {0xf8, 0x03});
  }
}

void Machine::create_display() {
  GuestConsoleLinks links{lock_, *vga_, *keyboard_,
                          [this] { power_management_->power_button(); },
                          [this] { request_exit(0); }};
  switch (options_.display.kind) {
  case DisplayOptions::Kind::None:
    break;
  case DisplayOptions::Kind::Sdl:
    sdl_console_ = std::make_unique<SdlConsole>(links, clock_);
    break;
  case DisplayOptions::Kind::Vnc: {
    VncConfig config;
    config.host = options_.display.vnc_host;
    config.display = options_.display.vnc_display;
    if (options_.display.vnc_password)
      config.password = vnc_password();
    vnc_server_ = std::make_unique<VncServer>(links, clock_, config);
    break;
  }
  }
}

// The first line of password-file=, else $SABLE_VNC_PASSWORD: a secret
// never stands on the command line, where `ps` shows it.
std::string Machine::vnc_password() const {
  std::string password;
  const std::string &file = options_.display.vnc_password_file;
  if (!file.empty()) {
    std::ifstream in(file);
    if (!in || !std::getline(in, password))
      throw std::runtime_error("-vnc password-file=" + file +
                               ": cannot read a password from it");
  } else if (const char *value = std::getenv(kVncPasswordVariable)) {
    password = value;
  }
  if (password.empty())
    throw std::runtime_error(
        std::string("-vnc password=on: no password (set ") +
        kVncPasswordVariable + " or use password-file=FILE)");
  return password;
}

// -kernel with -bios: the firmware loads the kernel from fw_cfg through
// the linuxboot option ROM, as QEMU does (the boot path for firmware that
// must run first; without -bios the kernel is booted directly).
void Machine::add_kernel_for_firmware(FwCfg &fw_cfg) {
  std::vector<uint8_t> image = read_boot_file("-kernel", options_.kernel);
  if (!is_linux_kernel(image))
    not_supported("-kernel " + options_.kernel +
                  " with -bios (only Linux bzImages go through the firmware)");
  LinuxKernel kernel;
  kernel.path = options_.kernel;
  kernel.image = std::move(image);
  kernel.cmdline = options_.append;
  if (!options_.initrd.empty())
    kernel.initrd = read_boot_file("-initrd", options_.initrd);
  add_linux_to_fw_cfg(fw_cfg, split_ram(options_.ram_bytes).below_4g, kernel);
  fw_cfg.add_file("genroms/linuxboot_dma.bin",
                  read_boot_file("-kernel", kLinuxBootRom));
}

void Machine::create_gdbstub() {
  if (options_.gdb.empty())
    return;
  // -S: the vCPUs wait for the debugger's first continue. Paused before
  // the stub listens, so a debugger's continue cannot come before it.
  if (options_.start_paused)
    engine_->pause();
  // tcp:[HOST]:PORT, HOST possibly an IPv6 address in brackets.
  std::string spec = options_.gdb.substr(4);
  size_t colon = spec.rfind(':');
  GdbStubConfig config;
  config.host = spec.substr(0, colon);
  if (config.host.size() >= 2 && config.host.front() == '[' &&
      config.host.back() == ']')
    config.host = config.host.substr(1, config.host.size() - 2);
  config.port = static_cast<uint16_t>(std::stoul(spec.substr(colon + 1)));
  config.engine = engine_.get();
  config.memory = &memory_;
  config.machine_lock = &lock_;
  config.system_reset = [this] { reset_and_wait(); };
  config.kill = [this] { request_exit(0); };
  gdbstub_ = std::make_unique<GdbStub>(config);
}

void Machine::reset_and_wait() {
  std::unique_lock guard(reset_lock_);
  uint64_t seen = resets_;
  request_reset();
  reset_done_.wait(guard, [&] { return resets_ != seen || run_over_; });
}

int Machine::run() {
  loop_.start();
  for (;;) {
    RunOutcome outcome = engine_->run();
    if (outcome == RunOutcome::Reset && !exit_requested_ &&
        !options_.no_reboot) {
      reset_machine();
      {
        std::lock_guard guard(reset_lock_);
        ++resets_;
      }
      reset_done_.notify_all();
      continue;
    }
    if (outcome == RunOutcome::Failed && !exit_requested_)
      exit_status_ = 1;
    break;
  }
  {
    std::lock_guard guard(reset_lock_);
    run_over_ = true;
  }
  reset_done_.notify_all();
  if (gdbstub_)
    gdbstub_->machine_exited(exit_status_);
  loop_.stop();
  return exit_status_;
}

void Machine::reset_machine() {
  std::lock_guard guard(lock_);
  for (auto &device : devices_)
    device->reset();
  pic_->reset();
  keyboard_->reset();
  pci_->reset();
  for (auto &apic : local_apics_)
    apic->reset();
  engine_->reset();
  if (direct_kernel_boot())
    boot_state_ = load_boot_image();
  start_vcpus();
}

void Machine::request_exit(int status) {
  exit_status_ = status;
  exit_requested_ = true;
  if (engine_)
    engine_->request_stop(RunOutcome::Stopped);
}

void Machine::request_reset() {
  if (engine_)
    engine_->request_stop(options_.no_reboot ? RunOutcome::Shutdown
                                             : RunOutcome::Reset);
}

} // namespace sable
