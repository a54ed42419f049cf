#include "devices/local_apic.h"

#include <algorithm>
#include <bit>

#include "machine/log.h"
#include "machine/state.h"

namespace sable {

namespace {
// Register indices: the xAPIC offset divided by 16, or the x2APIC MSR
// minus 0x800.
enum Register : unsigned {
  kRegId = 0x02,
  kRegVersion = 0x03,
  kRegTpr = 0x08,
  kRegApr = 0x09,
  kRegPpr = 0x0a,
  kRegEoi = 0x0b,
  kRegRemoteRead = 0x0c,
  kRegLdr = 0x0d,
  kRegDfr = 0x0e,
  kRegSvr = 0x0f,
  kRegIsr = 0x10,
  kRegTmr = 0x18,
  kRegIrr = 0x20,
  kRegEsr = 0x28,
  kRegLvtCmci = 0x2f,
  kRegIcrLow = 0x30,
  kRegIcrHigh = 0x31,
  kRegLvtTimer = 0x32,
  kRegLvtError = 0x37,
  kRegInitialCount = 0x38,
  kRegCurrentCount = 0x39,
  kRegDivide = 0x3e,
  kRegSelfIpi = 0x3f,
};

constexpr uint32_t kSvrEnable = 1u << 8;
constexpr uint32_t kSvrWritable = 0x3ff; // vector, enable, focus checking
constexpr uint32_t kDfrWritable = 0xf0000000;
constexpr uint32_t kDfrFlat = 0xf;
constexpr uint32_t kDfrCluster = 0x0;
constexpr uint32_t kLdrWritable = 0xff000000;

constexpr uint32_t kLvtMasked = 1u << 16;
constexpr uint32_t kLvtLevelTriggered = 1u << 15;
constexpr uint32_t kLvtRemoteIrr = 1u << 14;
constexpr unsigned kLvtDeliveryShift = 8;
constexpr unsigned kTimerModeShift = 17;
constexpr unsigned kTimerOneShot = 0;
constexpr unsigned kTimerPeriodic = 1;
constexpr unsigned kTimerTscDeadline = 2;

constexpr uint32_t kIcrLogical = 1u << 11;
constexpr uint32_t kIcrAssert = 1u << 14;
constexpr uint32_t kIcrLevelTriggered = 1u << 15;
constexpr unsigned kIcrShorthandShift = 18;
// Vector, delivery mode, destination mode, level, trigger mode, shorthand.
constexpr uint32_t kIcrLowWritable = 0x000ccfff;

constexpr uint32_t kDivideWritable = 0xb;

constexpr uint32_t kEsrSendIllegalVector = 1u << 5;
constexpr uint32_t kEsrReceiveIllegalVector = 1u << 6;
constexpr uint32_t kEsrIllegalRegister = 1u << 7;

constexpr uint8_t kFirstValidVector = 16;
constexpr uint8_t kBroadcast8 = 0xff;
constexpr uint32_t kBroadcast32 = 0xffffffff;

// Reserved IA32_APIC_BASE bits: 0-7, 9 and those above the physical
// address width (the architectural maximum, 52 bits).
constexpr uint64_t kBaseReserved = 0x2ffull | ~((1ull << 52) - 1);
constexpr uint64_t kBaseAddressMask = ~0xfffull & ((1ull << 52) - 1);

constexpr uint64_t kNsPerSecond = 1'000'000'000;
static_assert(kNsPerSecond % LocalApic::kBusClockHz == 0,
              "the timer tick must be a whole number of nanoseconds");
constexpr uint64_t kNsPerBusTick = kNsPerSecond / LocalApic::kBusClockHz;
// A periodic timer never re-arms sooner than this, so no guest setting can
// make the host's event loop spin.
constexpr uint64_t kMinimumPeriodicNs = 100'000;

// Per LVT entry: which bits software may write (Intel SDM "Local Vector
// Table"); delivery status and remote IRR are read-only.
constexpr uint32_t kLvtWritable[] = {
    0x000107ff, // CMCI: vector, delivery mode, mask
    0x000700ff, // timer: vector, mask, timer mode
    0x000107ff, // thermal
    0x000107ff, // performance counters
    0x0001a7ff, // LINT0: also polarity and trigger mode
    0x0001a7ff, // LINT1
    0x000100ff, // error: vector, mask
};

unsigned lvt_delivery_mode(uint32_t entry) {
  return entry >> kLvtDeliveryShift & 7;
}

uint8_t priority_class(int vector) {
  return vector < 0 ? 0 : uint8_t(vector & 0xf0);
}
} // namespace

int LocalApic::VectorSet::highest() const {
  for (int i = 7; i >= 0; --i)
    if (words_[unsigned(i)])
      return i * 32 + std::bit_width(words_[unsigned(i)]) - 1;
  return -1;
}

LocalApic::LocalApic(Clock &clock, uint32_t apic_id, bool bootstrap,
                     uint64_t tsc_hz, ApicBus *bus, InterruptController *pic)
    : clock_(clock), initial_id_(apic_id), bootstrap_(bootstrap),
      tsc_hz_(tsc_hz), bus_(bus), pic_(pic),
      timer_(clock, [this] { on_timer(); }) {
  reset();
  if (bus_)
    bus_->attach(*this);
}

LocalApic::~LocalApic() {
  if (bus_)
    bus_->detach(*this);
}

// ---- state and priorities (callers hold lock_) --------------------------

bool LocalApic::x2apic_mode() const {
  return (base_ & (kBaseEnable | kBaseX2apic)) == (kBaseEnable | kBaseX2apic);
}

bool LocalApic::software_enabled() const {
  return svr_ & kSvrEnable;
}

uint32_t LocalApic::x2apic_logical_id() const {
  return (initial_id_ >> 4) << 16 | 1u << (initial_id_ & 0xf);
}

uint8_t LocalApic::ppr() const {
  uint8_t in_service = priority_class(isr_.highest());
  return (tpr_ & 0xf0) >= in_service ? tpr_ : in_service;
}

// The P6 arbitration priority: the TPR unless a pending or in-service
// interrupt has a higher priority class.
uint8_t LocalApic::apr() const {
  uint8_t task = tpr_ & 0xf0;
  uint8_t highest =
      std::max(priority_class(isr_.highest()), priority_class(irr_.highest()));
  return task >= highest ? tpr_ : highest;
}

bool LocalApic::extint_pending() const {
  if (extint_message_)
    return true;
  uint32_t lint0 = lvt_[LvtLint0];
  return lint_level_[0] && !(lint0 & kLvtMasked) &&
         lvt_delivery_mode(lint0) == ApicInterrupt::ExtInt;
}

void LocalApic::update_pending(Effects &fx) {
  bool pending;
  if (!(base_ & kBaseEnable)) {
    // Without its APIC the processor sees the PIC's INTR directly.
    pending = lint_level_[0];
  } else if (extint_pending()) {
    pending = true;
  } else {
    int request = irr_.highest();
    pending = request >= 0 && priority_class(request) > (ppr() & 0xf0);
  }
  if (pending && !pending_.exchange(true))
    fx.wake = true;
  else if (!pending)
    pending_.store(false);
}

void LocalApic::run(const Effects &fx) {
  if (fx.send_ipi && bus_)
    bus_->send(fx.ipi, this);
  if (fx.eoi >= 0 && bus_)
    bus_->broadcast_eoi(uint8_t(fx.eoi));
  if (fx.init && cpu_.init)
    cpu_.init();
  if (fx.startup >= 0 && cpu_.startup)
    cpu_.startup(uint8_t(fx.startup));
  if (fx.nmi && cpu_.nmi)
    cpu_.nmi();
  if (fx.wake && cpu_.wake)
    cpu_.wake();
}

// ---- reset ----------------------------------------------------------------

// The registers RESET# and INIT both clear (Intel SDM "Local APIC State
// After Power-Up or Reset"); the APIC ID and IA32_APIC_BASE are not among
// them. The LINT pins are inputs and keep their levels.
void LocalApic::reset_registers() {
  tpr_ = 0;
  ldr_ = 0;
  dfr_ = 0xffffffff;
  svr_ = 0xff;
  isr_.reset();
  tmr_.reset();
  irr_.reset();
  esr_ = 0;
  errors_since_esr_write_ = 0;
  lvt_.fill(kLvtMasked);
  icr_ = 0;
  timer_initial_ = 0;
  timer_divide_ = 0;
  extint_message_ = false;
  tsc_deadline_ = 0;
  stop_timer();
}

void LocalApic::reset() {
  Effects fx;
  {
    std::lock_guard guard(lock_);
    base_ = kDefaultBase | kBaseEnable | (bootstrap_ ? kBaseBsp : 0);
    xapic_id_ = uint8_t(initial_id_);
    reset_registers();
    update_pending(fx);
  }
  run(fx);
}

void LocalApic::init_reset(Effects &fx) {
  reset_registers();
  fx.init = true;
}

void LocalApic::enable_virtual_wire() {
  Effects fx;
  {
    std::lock_guard guard(lock_);
    svr_ |= kSvrEnable;
    lvt_[LvtLint0] = uint32_t(ApicInterrupt::ExtInt) << kLvtDeliveryShift;
    lvt_[LvtLint1] = uint32_t(ApicInterrupt::Nmi) << kLvtDeliveryShift;
    update_pending(fx);
  }
  run(fx);
}

// ---- xAPIC page -------------------------------------------------------------

uint64_t LocalApic::read(uint64_t offset, unsigned size) {
  if (size != 4 || offset % 16 != 0 || offset >= kMmioSize) {
    SABLE_LOG_ONCE(LOG_GUEST_ERRORS,
                   "lapic: %u-byte read at offset 0x%x ignored\n", size,
                   unsigned(offset));
    return 0;
  }
  uint64_t value = 0;
  Effects fx;
  {
    std::lock_guard guard(lock_);
    if ((base_ & (kBaseEnable | kBaseX2apic)) != kBaseEnable) {
      SABLE_LOG_ONCE(LOG_GUEST_ERRORS,
                     "lapic: xAPIC page read outside xAPIC mode\n");
      return 0;
    }
    if (!read_register(unsigned(offset / 16), false, value)) {
      record_error(kEsrIllegalRegister, fx);
      update_pending(fx);
      value = 0;
    }
  }
  run(fx);
  return uint32_t(value);
}

void LocalApic::write(uint64_t offset, unsigned size, uint64_t value) {
  if (size != 4 || offset % 16 != 0 || offset >= kMmioSize) {
    SABLE_LOG_ONCE(LOG_GUEST_ERRORS,
                   "lapic: %u-byte write at offset 0x%x ignored\n", size,
                   unsigned(offset));
    return;
  }
  Effects fx;
  {
    std::lock_guard guard(lock_);
    if ((base_ & (kBaseEnable | kBaseX2apic)) != kBaseEnable) {
      SABLE_LOG_ONCE(LOG_GUEST_ERRORS,
                     "lapic: xAPIC page write outside xAPIC mode\n");
      return;
    }
    if (!write_register(unsigned(offset / 16), uint32_t(value), false, fx))
      record_error(kEsrIllegalRegister, fx);
    update_pending(fx);
  }
  run(fx);
}

// ---- registers (lock_ held) -------------------------------------------------

// Returns false for a register that does not exist or is write-only in
// this mode: an x2APIC RDMSR raises #GP, an xAPIC read logs an illegal
// register address.
bool LocalApic::read_register(unsigned index, bool x2apic, uint64_t &value) {
  if (index >= kRegIsr && index < kRegIsr + 8) {
    value = isr_.word(index - kRegIsr);
    return true;
  }
  if (index >= kRegTmr && index < kRegTmr + 8) {
    value = tmr_.word(index - kRegTmr);
    return true;
  }
  if (index >= kRegIrr && index < kRegIrr + 8) {
    value = irr_.word(index - kRegIrr);
    return true;
  }
  if (index >= kRegLvtTimer && index <= kRegLvtError) {
    value = lvt_[LvtTimer + (index - kRegLvtTimer)];
    return true;
  }
  switch (index) {
  case kRegId:
    value = x2apic ? initial_id_ : uint32_t(xapic_id_) << 24;
    return true;
  case kRegVersion:
    value = kVersion;
    return true;
  case kRegTpr:
    value = tpr_;
    return true;
  case kRegApr:
    value = apr();
    return !x2apic;
  case kRegPpr:
    value = ppr();
    return true;
  case kRegEoi:
  case kRegRemoteRead:
    value = 0;
    return !x2apic;
  case kRegLdr:
    value = x2apic ? x2apic_logical_id() : ldr_;
    return true;
  case kRegDfr:
    value = dfr_;
    return !x2apic;
  case kRegSvr:
    value = svr_;
    return true;
  case kRegEsr:
    value = esr_;
    return true;
  case kRegLvtCmci:
    value = lvt_[LvtCmci];
    return true;
  case kRegIcrLow:
    value = x2apic ? icr_ : uint32_t(icr_);
    return true;
  case kRegIcrHigh:
    value = icr_ >> 32;
    return !x2apic;
  case kRegInitialCount:
    value = timer_initial_;
    return true;
  case kRegCurrentCount:
    value = current_count(clock_.now_ns());
    return true;
  case kRegDivide:
    value = timer_divide_;
    return true;
  default:
    return false;
  }
}

// Returns false for a register that does not exist or is read-only in
// this mode, or an x2APIC value with reserved bits set (#GP). In xAPIC
// mode writes to read-only registers are ignored.
bool LocalApic::write_register(unsigned index, uint64_t value, bool x2apic,
                               Effects &fx) {
  if (x2apic && index != kRegIcrLow && value >> 32)
    return false;
  uint32_t low = uint32_t(value);
  if (index >= kRegLvtTimer && index <= kRegLvtError) {
    write_lvt(Lvt(LvtTimer + (index - kRegLvtTimer)), low, fx);
    return true;
  }
  bool read_only = (index >= kRegIsr && index < kRegIsr + 24) ||
                   index == kRegVersion || index == kRegPpr ||
                   index == kRegCurrentCount;
  if (read_only)
    return !x2apic;
  switch (index) {
  case kRegId:
    if (x2apic)
      return false;
    xapic_id_ = uint8_t(low >> 24);
    return true;
  case kRegTpr:
    tpr_ = uint8_t(low);
    return true;
  case kRegApr:
  case kRegRemoteRead:
    return !x2apic;
  case kRegEoi:
    if (x2apic && low != 0)
      return false;
    eoi(fx);
    return true;
  case kRegLdr:
    if (x2apic)
      return false;
    ldr_ = low & kLdrWritable;
    return true;
  case kRegDfr:
    if (x2apic)
      return false;
    dfr_ = (low & kDfrWritable) | ~kDfrWritable;
    return true;
  case kRegSvr:
    svr_ = low & kSvrWritable;
    if (!software_enabled())
      for (uint32_t &entry : lvt_)
        entry |= kLvtMasked;
    return true;
  case kRegEsr:
    if (x2apic && low != 0)
      return false;
    esr_ = errors_since_esr_write_;
    errors_since_esr_write_ = 0;
    return true;
  case kRegLvtCmci:
    write_lvt(LvtCmci, low, fx);
    return true;
  case kRegIcrLow:
    write_icr(value, x2apic, fx);
    return true;
  case kRegIcrHigh:
    if (x2apic)
      return false;
    icr_ = (icr_ & 0xffffffffull) | uint64_t(low & 0xff000000) << 32;
    return true;
  case kRegInitialCount:
    if (timer_mode() == kTimerTscDeadline)
      return true;
    timer_initial_ = low;
    if (low == 0)
      stop_timer();
    else
      start_count(clock_.now_ns(), 0);
    return true;
  case kRegDivide: {
    uint64_t now = clock_.now_ns();
    uint64_t done = counting_ ? elapsed_ticks(now) : 0;
    timer_divide_ = low & kDivideWritable;
    if (counting_)
      start_count(now, done);
    return true;
  }
  case kRegSelfIpi:
    if (!x2apic)
      return false;
    accept_fixed(uint8_t(low), false, fx);
    return true;
  default:
    return false;
  }
}

void LocalApic::write_lvt(Lvt lvt, uint32_t value, Effects &fx) {
  uint32_t &entry = lvt_[lvt];
  uint32_t old = entry;
  uint32_t writable = kLvtWritable[lvt];
  entry = (entry & ~writable) | (value & writable);
  if (!software_enabled())
    entry |= kLvtMasked;
  if (lvt == LvtTimer) {
    if (timer_mode() == 3) {
      SABLE_LOG_ONCE(LOG_GUEST_ERRORS,
                     "lapic: reserved timer mode, using one-shot\n");
      entry &= ~(3u << kTimerModeShift);
    }
    // Changing the timer mode disarms the timer.
    if ((old ^ entry) >> kTimerModeShift & 3) {
      stop_timer();
      tsc_deadline_ = 0;
    }
  }
  if (lvt == LvtLint0 || lvt == LvtLint1)
    evaluate_lint(lvt - LvtLint0, lint_level_[lvt - LvtLint0], fx);
}

void LocalApic::write_icr(uint64_t value, bool x2apic, Effects &fx) {
  uint32_t low = uint32_t(value) & kIcrLowWritable;
  if (x2apic)
    icr_ = (value & 0xffffffff00000000ull) | low;
  else
    icr_ = (icr_ & 0xffffffff00000000ull) | low;
  ApicInterrupt ipi;
  ipi.vector = uint8_t(low);
  ipi.delivery_mode = ApicInterrupt::DeliveryMode(low >> kLvtDeliveryShift & 7);
  ipi.logical_destination = low & kIcrLogical;
  ipi.destination = x2apic ? uint32_t(icr_ >> 32) : uint32_t(icr_ >> 56);
  ipi.x2apic_destination = x2apic;
  ipi.level_triggered = low & kIcrLevelTriggered;
  ipi.asserted = low & kIcrAssert;
  ipi.shorthand = ApicInterrupt::Shorthand(low >> kIcrShorthandShift & 3);
  switch (ipi.delivery_mode) {
  case ApicInterrupt::Fixed:
  case ApicInterrupt::LowestPriority:
    if (ipi.vector < kFirstValidVector) {
      record_error(kEsrSendIllegalVector, fx);
      return;
    }
    break;
  case ApicInterrupt::RemoteRead:
  case ApicInterrupt::ExtInt:
    SABLE_LOG_ONCE(LOG_GUEST_ERRORS,
                   "lapic: IPI with reserved delivery mode %u dropped\n",
                   unsigned(ipi.delivery_mode));
    return;
  default:
    break;
  }
  fx.send_ipi = true;
  fx.ipi = ipi;
}

void LocalApic::eoi(Effects &fx) {
  int vector = isr_.highest();
  if (vector < 0)
    return;
  uint8_t v = uint8_t(vector);
  isr_.clear(v);
  if (tmr_.test(v))
    fx.eoi = v;
  // A level-triggered LINT interrupt may be accepted again.
  for (unsigned pin = 0; pin < 2; ++pin) {
    uint32_t &entry = lvt_[LvtLint0 + pin];
    if ((entry & kLvtRemoteIrr) && uint8_t(entry) == v) {
      entry &= ~kLvtRemoteIrr;
      evaluate_lint(pin, lint_level_[pin], fx);
    }
  }
}

// ---- interrupt acceptance (lock_ held) --------------------------------------

void LocalApic::record_error(uint32_t bits, Effects &fx) {
  uint32_t fresh = bits & ~errors_since_esr_write_;
  errors_since_esr_write_ |= bits;
  if (fresh)
    deliver_lvt(LvtError, fx);
}

void LocalApic::accept_fixed(uint8_t vector, bool level_triggered,
                             Effects &fx) {
  if (vector < kFirstValidVector) {
    record_error(kEsrReceiveIllegalVector, fx);
    return;
  }
  irr_.set(vector);
  tmr_.assign(vector, level_triggered);
}

void LocalApic::accept_locked(const ApicInterrupt &interrupt, Effects &fx) {
  switch (interrupt.delivery_mode) {
  case ApicInterrupt::Fixed:
  case ApicInterrupt::LowestPriority:
    // A software-disabled APIC discards fixed interrupts.
    if (software_enabled())
      accept_fixed(interrupt.vector, interrupt.level_triggered, fx);
    break;
  case ApicInterrupt::Smi:
    SABLE_LOG_ONCE(LOG_UNIMP, "lapic: SMI not supported, ignored\n");
    break;
  case ApicInterrupt::Nmi:
    fx.nmi = true;
    break;
  case ApicInterrupt::Init:
    // INIT level de-assert only synchronised arbitration IDs on P6 buses.
    if (interrupt.asserted || !interrupt.level_triggered)
      init_reset(fx);
    break;
  case ApicInterrupt::StartUp:
    fx.startup = interrupt.vector;
    break;
  case ApicInterrupt::ExtInt:
    extint_message_ = true;
    break;
  case ApicInterrupt::RemoteRead:
    break;
  }
  update_pending(fx);
}

void LocalApic::deliver_lvt(Lvt lvt, Effects &fx) {
  uint32_t entry = lvt_[lvt];
  if (entry & kLvtMasked)
    return;
  bool has_mode = lvt != LvtTimer && lvt != LvtError;
  unsigned mode =
      has_mode ? lvt_delivery_mode(entry) : unsigned(ApicInterrupt::Fixed);
  switch (mode) {
  case ApicInterrupt::Fixed: {
    bool lint = lvt == LvtLint0 || lvt == LvtLint1;
    bool level = lint && (entry & kLvtLevelTriggered);
    if (level)
      lvt_[lvt] |= kLvtRemoteIrr;
    accept_fixed(uint8_t(entry), level, fx);
    break;
  }
  case ApicInterrupt::Nmi:
    fx.nmi = true;
    break;
  case ApicInterrupt::Init:
    init_reset(fx);
    break;
  case ApicInterrupt::Smi:
    SABLE_LOG_ONCE(LOG_UNIMP, "lapic: SMI not supported, ignored\n");
    break;
  case ApicInterrupt::ExtInt:
    // Level-sensed through extint_pending().
    break;
  default:
    SABLE_LOG_ONCE(LOG_GUEST_ERRORS,
                   "lapic: LVT entry with reserved delivery mode %u\n", mode);
    break;
  }
}

// Fixed level-triggered LINT inputs deliver while asserted and Remote IRR
// is clear; fixed edge-triggered, NMI, SMI and INIT inputs on a rising
// edge; ExtINT is sensed by interrupt_pending().
void LocalApic::evaluate_lint(unsigned pin, bool was_asserted, Effects &fx) {
  if (!lint_level_[pin])
    return;
  uint32_t entry = lvt_[LvtLint0 + pin];
  if (lvt_delivery_mode(entry) == ApicInterrupt::ExtInt)
    return;
  bool level_sensed = lvt_delivery_mode(entry) == ApicInterrupt::Fixed &&
                      (entry & kLvtLevelTriggered);
  if (level_sensed ? !(entry & kLvtRemoteIrr) : !was_asserted)
    deliver_lvt(Lvt(LvtLint0 + pin), fx);
}

void LocalApic::set_lint(unsigned pin, bool level) {
  if (pin > 1)
    return;
  Effects fx;
  {
    std::lock_guard guard(lock_);
    bool was_asserted = lint_level_[pin];
    lint_level_[pin] = level;
    if (base_ & kBaseEnable)
      evaluate_lint(pin, was_asserted, fx);
    else if (pin == 1 && level && !was_asserted)
      fx.nmi = true; // LINT1 is the processor's NMI pin
    update_pending(fx);
  }
  run(fx);
}

bool LocalApic::interrupt_pending() {
  return pending_.load(std::memory_order_acquire);
}

uint8_t LocalApic::acknowledge_interrupt() {
  Effects fx;
  bool from_pic = false;
  uint8_t vector;
  {
    std::lock_guard guard(lock_);
    vector = uint8_t(svr_);
    if (!(base_ & kBaseEnable)) {
      from_pic = true;
    } else if (extint_pending()) {
      extint_message_ = false;
      from_pic = true;
    } else if (int request = irr_.highest();
               request >= 0 && priority_class(request) > (ppr() & 0xf0)) {
      vector = uint8_t(request);
      irr_.clear(vector);
      isr_.set(vector);
    }
    update_pending(fx);
  }
  run(fx);
  if (from_pic && pic_)
    return pic_->acknowledge_interrupt();
  return vector;
}

// ---- bus side ---------------------------------------------------------------

bool LocalApic::addressed_by(const ApicInterrupt &interrupt) const {
  std::lock_guard guard(lock_);
  if (!(base_ & kBaseEnable))
    return false;
  uint32_t destination = interrupt.destination;
  bool broadcast = interrupt.x2apic_destination ? destination == kBroadcast32
                                                : destination == kBroadcast8;
  if (broadcast)
    return true;
  if (x2apic_mode()) {
    if (!interrupt.logical_destination)
      return destination == initial_id_;
    uint32_t logical = x2apic_logical_id();
    return destination >> 16 == logical >> 16 &&
           (destination & logical & 0xffff) != 0;
  }
  uint8_t target = uint8_t(destination);
  if (!interrupt.logical_destination)
    return target == xapic_id_;
  uint8_t logical = uint8_t(ldr_ >> 24);
  switch (dfr_ >> 28) {
  case kDfrFlat:
    return (target & logical) != 0;
  case kDfrCluster:
    return target >> 4 == logical >> 4 && (target & logical & 0xf) != 0;
  default:
    SABLE_LOG_ONCE(LOG_GUEST_ERRORS, "lapic: reserved DFR model 0x%x\n",
                   unsigned(dfr_ >> 28));
    return false;
  }
}

bool LocalApic::hardware_enabled() const {
  std::lock_guard guard(lock_);
  return base_ & kBaseEnable;
}

bool LocalApic::accepts_fixed() const {
  std::lock_guard guard(lock_);
  return (base_ & kBaseEnable) && software_enabled();
}

uint8_t LocalApic::processor_priority() const {
  std::lock_guard guard(lock_);
  return ppr();
}

void LocalApic::accept(const ApicInterrupt &interrupt) {
  Effects fx;
  {
    std::lock_guard guard(lock_);
    accept_locked(interrupt, fx);
  }
  run(fx);
}

// ---- CPU side ---------------------------------------------------------------

bool LocalApic::handles_msr(uint32_t index) const {
  return index == kMsrApicBase || index == kMsrTscDeadline ||
         (index >= kMsrX2apicFirst && index <= kMsrX2apicLast);
}

bool LocalApic::read_msr(uint32_t index, uint64_t &value) {
  std::lock_guard guard(lock_);
  if (index == kMsrApicBase) {
    value = base_;
    return true;
  }
  if (index == kMsrTscDeadline) {
    value = timer_mode() == kTimerTscDeadline ? tsc_deadline_ : 0;
    return true;
  }
  if (index < kMsrX2apicFirst || index > kMsrX2apicLast || !x2apic_mode())
    return false;
  return read_register(index - kMsrX2apicFirst, true, value);
}

bool LocalApic::write_msr(uint32_t index, uint64_t value) {
  if (index == kMsrApicBase)
    return write_apic_base(value);
  Effects fx;
  bool ok = false;
  {
    std::lock_guard guard(lock_);
    if (index == kMsrTscDeadline) {
      write_tsc_deadline(value, fx);
      ok = true;
    } else if (index >= kMsrX2apicFirst && index <= kMsrX2apicLast &&
               x2apic_mode()) {
      ok = write_register(index - kMsrX2apicFirst, value, true, fx);
    }
    update_pending(fx);
  }
  run(fx);
  return ok;
}

uint64_t LocalApic::apic_base() const {
  std::lock_guard guard(lock_);
  return base_;
}

// The legal IA32_APIC_BASE transitions (Intel SDM "x2APIC State
// Transitions"): disabled <-> xAPIC, xAPIC -> x2APIC, x2APIC -> disabled;
// EXTD without EN, x2APIC -> xAPIC and disabled -> x2APIC raise #GP.
bool LocalApic::write_apic_base(uint64_t value) {
  if (value & kBaseReserved)
    return false;
  Effects fx;
  {
    std::lock_guard guard(lock_);
    bool enable = value & kBaseEnable;
    bool x2apic = value & kBaseX2apic;
    bool was_enabled = base_ & kBaseEnable;
    bool was_x2apic = x2apic_mode();
    if (x2apic && !enable)
      return false;
    if (was_x2apic && enable && !x2apic)
      return false;
    if (!was_enabled && x2apic)
      return false;
    if (enable && (value & kBaseAddressMask) != kDefaultBase)
      SABLE_LOG_ONCE(LOG_UNIMP,
                     "lapic: APIC base moved to 0x%llx; the machine maps "
                     "the page at 0xfee00000 only\n",
                     (unsigned long long)(value & kBaseAddressMask));
    base_ = (value & ~kBaseBsp) | (base_ & kBaseBsp);
    // A globally disabled APIC loses its state; it comes back in its
    // power-up state.
    if (was_enabled && !enable) {
      xapic_id_ = uint8_t(initial_id_);
      reset_registers();
    }
    update_pending(fx);
  }
  run(fx);
  return true;
}

void LocalApic::set_tpr_from_cr8(uint8_t value) {
  Effects fx;
  {
    std::lock_guard guard(lock_);
    tpr_ = uint8_t((value & 0xf) << 4);
    update_pending(fx);
  }
  run(fx);
}

uint8_t LocalApic::cr8() const {
  std::lock_guard guard(lock_);
  return tpr_ >> 4;
}

void LocalApic::set_tsc_offset(uint64_t offset) {
  Effects fx;
  {
    std::lock_guard guard(lock_);
    tsc_offset_ = offset;
    arm_tsc_deadline(fx);
    update_pending(fx);
  }
  run(fx);
}

// ---- timer (lock_ held) -----------------------------------------------------

unsigned LocalApic::timer_mode() const {
  return lvt_[LvtTimer] >> kTimerModeShift & 3;
}

// Divide configuration bits 3,1:0 select 2^((value + 1) mod 8).
uint64_t LocalApic::tick_ns() const {
  unsigned code = (timer_divide_ >> 1 & 4) | (timer_divide_ & 3);
  return kNsPerBusTick << ((code + 1) & 7);
}

uint64_t LocalApic::elapsed_ticks(uint64_t now) const {
  uint64_t ticks = (now - timer_start_ns_) / tick_ns();
  if (timer_mode() == kTimerPeriodic)
    return ticks % timer_initial_;
  return std::min<uint64_t>(ticks, timer_initial_);
}

uint32_t LocalApic::current_count(uint64_t now) const {
  if (!counting_)
    return 0;
  return uint32_t(timer_initial_ - elapsed_ticks(now));
}

// Counts from the initial count as if ticks_done ticks had already passed.
void LocalApic::start_count(uint64_t now, uint64_t ticks_done) {
  counting_ = true;
  timer_start_ns_ = now - ticks_done * tick_ns();
  arm_timer(timer_start_ns_ + timer_initial_ * tick_ns());
}

void LocalApic::stop_timer() {
  counting_ = false;
  timer_armed_ = false;
  timer_.cancel();
}

void LocalApic::arm_timer(uint64_t deadline_ns) {
  timer_armed_ = true;
  timer_deadline_ns_ = deadline_ns;
  timer_.arm_at(deadline_ns);
}

uint64_t LocalApic::clock_tsc(uint64_t now_ns) const {
  return uint64_t((unsigned __int128)now_ns * tsc_hz_ / kNsPerSecond);
}

// In other timer modes IA32_TSC_DEADLINE ignores writes.
void LocalApic::write_tsc_deadline(uint64_t value, Effects &fx) {
  if (timer_mode() != kTimerTscDeadline)
    return;
  tsc_deadline_ = value;
  arm_tsc_deadline(fx);
}

void LocalApic::arm_tsc_deadline(Effects &fx) {
  if (timer_mode() != kTimerTscDeadline)
    return;
  if (tsc_deadline_ == 0) {
    stop_timer();
    return;
  }
  // Compared without the guest's offset, so an offset near 2^64 (a TSC
  // set back) cannot wrap the comparison.
  uint64_t target = tsc_deadline_ - tsc_offset_;
  if (target <= clock_tsc(clock_.now_ns())) {
    stop_timer();
    tsc_deadline_ = 0;
    deliver_lvt(LvtTimer, fx);
    return;
  }
  // The first nanosecond at which the TSC reaches the deadline.
  unsigned __int128 ns =
      ((unsigned __int128)target * kNsPerSecond + tsc_hz_ - 1) / tsc_hz_;
  arm_timer(ns > UINT64_MAX ? UINT64_MAX : uint64_t(ns));
}

void LocalApic::on_timer() {
  Effects fx;
  {
    std::lock_guard guard(lock_);
    uint64_t now = clock_.now_ns();
    if (!timer_armed_ || now < timer_deadline_ns_)
      return;
    timer_armed_ = false;
    switch (timer_mode()) {
    case kTimerTscDeadline:
      tsc_deadline_ = 0;
      break;
    case kTimerPeriodic: {
      // Periods missed while the host was late are coalesced, as the IRR
      // holds one request per vector.
      uint64_t period = timer_initial_ * tick_ns();
      uint64_t periods =
          std::max<uint64_t>(1, (now - timer_start_ns_) / period);
      timer_start_ns_ += periods * period;
      arm_timer(std::max(timer_start_ns_ + period, now + kMinimumPeriodicNs));
      break;
    }
    default:
      counting_ = false;
      break;
    }
    deliver_lvt(LvtTimer, fx);
    update_pending(fx);
  }
  run(fx);
}

// ---- save/load --------------------------------------------------------------

void LocalApic::save(StateWriter &out) const {
  std::lock_guard guard(lock_);
  uint64_t now = clock_.now_ns();
  out.begin_section("lapic", 1);
  out.u64(base_);
  out.u8(xapic_id_);
  out.u8(tpr_);
  out.u32(ldr_);
  out.u32(dfr_);
  out.u32(svr_);
  for (const VectorSet *set : {&isr_, &tmr_, &irr_})
    for (unsigned i = 0; i < 8; ++i)
      out.u32(set->word(i));
  out.u32(esr_);
  out.u32(errors_since_esr_write_);
  for (uint32_t entry : lvt_)
    out.u32(entry);
  out.u64(icr_);
  out.u32(timer_initial_);
  out.u32(timer_divide_);
  out.boolean(lint_level_[0]);
  out.boolean(lint_level_[1]);
  out.boolean(extint_message_);
  out.boolean(counting_);
  // Relative to now, so the state loads into a machine whose clock
  // started elsewhere.
  out.u64(counting_ ? now - timer_start_ns_ : 0);
  out.boolean(timer_armed_);
  out.u64(timer_armed_ && timer_deadline_ns_ > now ? timer_deadline_ns_ - now
                                                   : 0);
  out.u64(tsc_deadline_);
  out.end_section();
}

void LocalApic::load(StateReader &in) {
  Effects fx;
  {
    std::lock_guard guard(lock_);
    uint64_t now = clock_.now_ns();
    in.begin_section("lapic", 1);
    base_ =
        (in.u64() & ~(kBaseReserved | kBaseBsp)) | (bootstrap_ ? kBaseBsp : 0);
    if ((base_ & kBaseX2apic) && !(base_ & kBaseEnable))
      base_ &= ~kBaseX2apic;
    xapic_id_ = in.u8();
    tpr_ = in.u8();
    ldr_ = in.u32() & kLdrWritable;
    dfr_ = in.u32() | ~kDfrWritable;
    svr_ = in.u32() & kSvrWritable;
    for (VectorSet *set : {&isr_, &tmr_, &irr_})
      for (unsigned i = 0; i < 8; ++i)
        set->set_word(i, in.u32());
    esr_ = in.u32();
    errors_since_esr_write_ = in.u32();
    for (unsigned i = 0; i < kLvtCount; ++i)
      lvt_[i] = in.u32() & (kLvtWritable[i] | kLvtRemoteIrr);
    icr_ = in.u64();
    timer_initial_ = in.u32();
    timer_divide_ = in.u32() & kDivideWritable;
    lint_level_[0] = in.boolean();
    lint_level_[1] = in.boolean();
    extint_message_ = in.boolean();
    counting_ = in.boolean();
    uint64_t elapsed = in.u64();
    bool armed = in.boolean();
    uint64_t until_deadline = in.u64();
    tsc_deadline_ = in.u64();
    in.end_section();

    if (timer_mode() == 3)
      lvt_[LvtTimer] &= ~(3u << kTimerModeShift);
    if (!software_enabled())
      for (uint32_t &entry : lvt_)
        entry |= kLvtMasked;
    counting_ =
        counting_ && timer_initial_ != 0 && timer_mode() != kTimerTscDeadline;
    // Unsigned wrap-around keeps now - timer_start_ns_ == elapsed.
    timer_start_ns_ = now - elapsed;
    timer_armed_ = false;
    timer_.cancel();
    if (timer_mode() == kTimerTscDeadline)
      arm_tsc_deadline(fx);
    else if (armed && counting_)
      arm_timer(now + until_deadline);
    update_pending(fx);
  }
  run(fx);
}

} // namespace sable
