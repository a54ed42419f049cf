#pragma once
// Assembles a PC from the parsed options: memory, buses, interrupt routing,
// clock and event loop, devices, consoles and the engine that runs the CPUs.

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "cpu/state.h"
#include "machine/char_backend.h"
#include "machine/clock.h"
#include "machine/event_loop.h"
#include "machine/io_bus.h"
#include "machine/irq.h"
#include "machine/memory.h"
#include "machine/options.h"

namespace sable {

class Engine;
class SoftEngine;
class Pic8259Pair;
class FwCfg;
class PciBus;
class I440fx;
class Piix3;
class AcpiPm;
class I8042;
class AcpiTables;
class IdeController;
class ApicBus;
class Ioapic;
class LocalApic;
class LocalApicPage;
class RtcCmos;
class Vga;
class SdlConsole;
class VncServer;
class GdbStub;

class Machine {
public:
  // Throws std::runtime_error with a one-line reason when the options name
  // something unusable or not supported yet.
  explicit Machine(const Options &options);
  ~Machine();
  Machine(const Machine &) = delete;
  Machine &operator=(const Machine &) = delete;

  // Runs the guest until it exits; returns the process exit status.
  int run();

  // Thread-safe requests from devices and consoles.
  void request_exit(int status);
  void request_reset();

private:
  void check_supported() const;
  void create_memory();
  void create_engine();
  void create_kvm_engine();
  void create_soft_engine();
  void map_pic();
  void start_vcpus();
  void create_interrupt_controllers();
  void create_legacy_devices();
  void create_serial_ports();
  void create_pci();
  void create_storage();
  void set_cmos_boot_order(RtcCmos &rtc) const;
  void create_firmware_config();
  void create_display();
  std::string vnc_password() const;
  // Loads -kernel (multiboot or Linux) into memory, or maps the firmware;
  // returns the boot vCPU's state for a direct kernel boot.
  std::optional<cpu::CpuState> load_boot_image();
  // -kernel without -bios: loaded straight into memory, no firmware runs.
  bool direct_kernel_boot() const;
  void add_kernel_for_firmware(FwCfg &fw_cfg);
  void map_firmware();
  std::vector<uint8_t> legacy_rom_window();
  AcpiTables acpi_tables() const;
  void reset_machine();
  // -gdb: listens for a debugger.
  void create_gdbstub();
  // For the debugger's `monitor system_reset`: returns once the machine
  // has been reset (or has ended).
  void reset_and_wait();

  template <typename T, typename... Args> T &own(Args &&...args);
  void map_io(uint16_t base, uint32_t length, Device &device);

  Options options_;
  std::recursive_mutex lock_;
  Clock clock_;
  MmioBus mmio_{lock_};
  IoPortBus io_{lock_};
  GuestMemory memory_{mmio_};
  IrqRouter irq_;
  EventLoop loop_{clock_, lock_};

  // Before the devices, so that it outlives them: a UART detaches from
  // its backend when it is destroyed.
  std::vector<std::unique_ptr<CharBackend>> serial_backends_;
  std::vector<std::unique_ptr<Device>> devices_;
  std::unique_ptr<Pic8259Pair> pic_;
  std::unique_ptr<ApicBus> apic_bus_;
  std::unique_ptr<Ioapic> ioapic_;
  std::vector<std::unique_ptr<LocalApic>> local_apics_;
  std::unique_ptr<LocalApicPage> apic_page_;
  std::unique_ptr<I8042> keyboard_;
  std::unique_ptr<PciBus> pci_;
  std::unique_ptr<I440fx> host_bridge_;
  std::unique_ptr<Piix3> isa_bridge_;
  std::unique_ptr<AcpiPm> power_management_;
  std::unique_ptr<IdeController> ide_;
  std::unique_ptr<Vga> vga_;
  // After the VGA: a console shows it and goes first.
  std::unique_ptr<SdlConsole> sdl_console_;
  std::unique_ptr<VncServer> vnc_server_;

  std::unique_ptr<Engine> engine_;
  SoftEngine *soft_engine_ = nullptr;
  bool kvm_irqchip_ = false;
  std::optional<cpu::CpuState> boot_state_;

  std::atomic<bool> exit_requested_{false};
  std::atomic<int> exit_status_{0};

  std::unique_ptr<GdbStub> gdbstub_;
  std::mutex reset_lock_;
  std::condition_variable reset_done_;
  uint64_t resets_ = 0;   // under reset_lock_
  bool run_over_ = false; // under reset_lock_
};

} // namespace sable
