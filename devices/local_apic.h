#pragma once
// One processor's local APIC for the software engine (Intel SDM vol. 3,
// "Advanced Programmable Interrupt Controller"): the xAPIC register page,
// the x2APIC MSRs, interrupt acceptance and priority, IPIs through an
// ApicBus, the LINT0/LINT1 pins and the timer (one-shot, periodic,
// TSC-deadline).
//
// LINT0 carries the 8259 PIC's INTR. When LINT0 is programmed as ExtINT
// (virtual wire mode), or the APIC is globally disabled through
// IA32_APIC_BASE (the processor then behaves as one without an APIC), the
// vector comes from the PIC's INTA cycle. After reset the LVT entries are
// masked and the APIC is software-disabled, so the PIC reaches the
// processor only once the firmware or the OS sets up virtual wire mode;
// enable_virtual_wire() does what PC firmware does for a guest booted
// without firmware.
//
// Threads: the vCPU calls the register, MSR and InterruptController
// functions; other vCPUs (IPIs), the I/O APIC and the event loop (timer)
// deliver interrupts from their own threads. All state is guarded by one
// small mutex; interrupt_pending() reads an atomic flag. Calls out of the
// APIC (the bus, the PIC, the vCPU callbacks) are made with the mutex
// released, so they may call back in.

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>

#include "devices/apic_bus.h"
#include "machine/clock.h"
#include "machine/device.h"
#include "machine/irq.h"

namespace sable {

class LocalApic : public Device,
                  public InterruptController,
                  public LocalApicPort {
public:
  static constexpr uint64_t kDefaultBase = 0xfee00000;
  static constexpr uint64_t kMmioSize = 0x1000;
  // Integrated APIC version 0x14; seven LVT entries (CMCI to error), so the
  // max LVT entry field is 6; no EOI-broadcast suppression.
  static constexpr uint32_t kVersion = 0x00060014;
  // The timer's input clock before the divider, as KVM's default: 1 GHz.
  static constexpr uint64_t kBusClockHz = 1'000'000'000;

  static constexpr uint64_t kBaseBsp = 1ull << 8;
  static constexpr uint64_t kBaseX2apic = 1ull << 10; // EXTD
  static constexpr uint64_t kBaseEnable = 1ull << 11; // EN

  static constexpr uint32_t kMsrApicBase = 0x1b;
  static constexpr uint32_t kMsrTscDeadline = 0x6e0;
  static constexpr uint32_t kMsrX2apicFirst = 0x800;
  static constexpr uint32_t kMsrX2apicLast = 0x8ff;

  // How the APIC reaches its processor. Called without the APIC's lock.
  struct CpuCallbacks {
    // An interrupt became deliverable: a halted vCPU must wake.
    std::function<void()> wake;
    std::function<void()> nmi;
    // INIT was received; the APIC has already reset its own registers.
    std::function<void()> init;
    // A start-up IPI with its vector (the start page number).
    std::function<void(uint8_t)> startup;
  };

  // `bus` and `pic` may be null (no IPIs, nothing on LINT0). tsc_hz is the
  // guest TSC's frequency, which TSC-deadline mode converts to Clock time.
  LocalApic(Clock &clock, uint32_t apic_id, bool bootstrap, uint64_t tsc_hz,
            ApicBus *bus, InterruptController *pic);
  ~LocalApic() override;
  LocalApic(const LocalApic &) = delete;
  LocalApic &operator=(const LocalApic &) = delete;

  // Before the vCPU runs.
  void connect_cpu(CpuCallbacks callbacks) { cpu_ = std::move(callbacks); }

  // The xAPIC page: 32-bit accesses at 16-byte aligned offsets.
  std::string_view name() const override { return "lapic"; }
  uint64_t read(uint64_t offset, unsigned size) override;
  void write(uint64_t offset, unsigned size, uint64_t value) override;
  // Power-on reset (RESET#): xAPIC mode, enabled, registers cleared.
  void reset() override;
  void save(StateWriter &out) const override;
  void load(StateReader &in) override;

  bool interrupt_pending() override;
  const std::atomic<bool> *pending_flag() const override { return &pending_; }
  uint8_t acknowledge_interrupt() override;

  // ---- the CPU's side. A false return means the instruction raises #GP.
  // IA32_APIC_BASE, IA32_TSC_DEADLINE and the x2APIC range.
  bool handles_msr(uint32_t index) const override;
  bool read_msr(uint32_t index, uint64_t &value) override;
  bool write_msr(uint32_t index, uint64_t value) override;
  uint64_t apic_base() const;
  bool write_apic_base(uint64_t value);
  // MOV to/from CR8: TPR[7:4].
  void set_tpr_from_cr8(uint8_t value) override;
  uint8_t cr8() const override;
  // The guest TSC is Clock time at tsc_hz plus this offset; the CPU keeps
  // it equal to its own when the guest writes IA32_TSC.
  void set_tsc_offset(uint64_t offset) override;

  // ---- wiring
  // Input levels of LINT0 (the PIC's INTR) and LINT1 (NMI).
  void set_lint(unsigned pin, bool level);
  // What PC firmware leaves behind on the bootstrap processor: APIC
  // software-enabled, LINT0 ExtINT (virtual wire), LINT1 NMI.
  void enable_virtual_wire();

  // ---- for the ApicBus
  bool addressed_by(const ApicInterrupt &interrupt) const;
  bool hardware_enabled() const;
  bool accepts_fixed() const;
  uint8_t processor_priority() const;
  void accept(const ApicInterrupt &interrupt);

private:
  class VectorSet {
  public:
    void set(uint8_t v) { words_[v / 32] |= 1u << (v % 32); }
    void clear(uint8_t v) { words_[v / 32] &= ~(1u << (v % 32)); }
    bool test(uint8_t v) const { return words_[v / 32] >> (v % 32) & 1; }
    void assign(uint8_t v, bool on) { on ? set(v) : clear(v); }
    // The highest vector set, or -1.
    int highest() const;
    uint32_t word(unsigned i) const { return words_[i]; }
    void set_word(unsigned i, uint32_t value) { words_[i] = value; }
    void reset() { words_.fill(0); }

  private:
    std::array<uint32_t, 8> words_{};
  };

  enum Lvt : unsigned {
    LvtCmci,
    LvtTimer,
    LvtThermal,
    LvtPerf,
    LvtLint0,
    LvtLint1,
    LvtError,
    kLvtCount,
  };

  // What an operation asks of the outside, done after the lock is released.
  struct Effects {
    bool wake = false;
    bool nmi = false;
    bool init = false;
    int startup = -1;
    int eoi = -1;
    bool send_ipi = false;
    ApicInterrupt ipi;
  };

  bool x2apic_mode() const;
  bool software_enabled() const;
  uint32_t x2apic_logical_id() const;
  uint8_t ppr() const;
  uint8_t apr() const;

  bool read_register(unsigned index, bool x2apic, uint64_t &value);
  bool write_register(unsigned index, uint64_t value, bool x2apic, Effects &fx);
  void write_lvt(Lvt lvt, uint32_t value, Effects &fx);
  void write_icr(uint64_t value, bool x2apic, Effects &fx);
  void eoi(Effects &fx);

  void accept_locked(const ApicInterrupt &interrupt, Effects &fx);
  void accept_fixed(uint8_t vector, bool level_triggered, Effects &fx);
  void deliver_lvt(Lvt lvt, Effects &fx);
  void evaluate_lint(unsigned pin, bool was_asserted, Effects &fx);
  void record_error(uint32_t bits, Effects &fx);
  void init_reset(Effects &fx);
  void reset_registers();
  bool extint_pending() const;
  void update_pending(Effects &fx);
  void run(const Effects &fx);

  // Timer.
  unsigned timer_mode() const;
  uint64_t tick_ns() const;
  uint32_t current_count(uint64_t now) const;
  uint64_t elapsed_ticks(uint64_t now) const;
  void start_count(uint64_t now, uint64_t ticks_done);
  void stop_timer();
  void arm_timer(uint64_t deadline_ns);
  void write_tsc_deadline(uint64_t value, Effects &fx);
  void arm_tsc_deadline(Effects &fx);
  // The TSC without the guest's offset.
  uint64_t clock_tsc(uint64_t now_ns) const;
  void on_timer();

  Clock &clock_;
  const uint32_t initial_id_;
  const bool bootstrap_;
  const uint64_t tsc_hz_;
  ApicBus *bus_;
  InterruptController *pic_;
  CpuCallbacks cpu_;

  mutable std::mutex lock_;
  std::atomic<bool> pending_{false};

  uint64_t base_ = 0;
  uint8_t xapic_id_ = 0;
  uint8_t tpr_ = 0;
  uint32_t ldr_ = 0;
  uint32_t dfr_ = 0;
  uint32_t svr_ = 0;
  VectorSet isr_, tmr_, irr_;
  uint32_t esr_ = 0;
  uint32_t errors_since_esr_write_ = 0;
  std::array<uint32_t, kLvtCount> lvt_{};
  uint64_t icr_ = 0;
  uint32_t timer_initial_ = 0;
  uint32_t timer_divide_ = 0;
  std::array<bool, 2> lint_level_{};
  bool extint_message_ = false;

  // One-shot/periodic: counting since timer_start_ns_ (the start of the
  // current period). TSC-deadline: tsc_deadline_ is armed when nonzero.
  bool counting_ = false;
  uint64_t timer_start_ns_ = 0;
  uint64_t tsc_deadline_ = 0;
  uint64_t tsc_offset_ = 0;
  // The deadline this APIC armed, so a callback racing a re-arm from the
  // vCPU thread is recognised as stale.
  bool timer_armed_ = false;
  uint64_t timer_deadline_ns_ = 0;
  Timer timer_;
};

} // namespace sable
