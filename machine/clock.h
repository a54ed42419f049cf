#pragma once
// Virtual time and timers. In host mode time is the host's monotonic clock
// and the event loop fires timers; in manual mode (unit tests, and later
// deterministic replay) time moves only through advance().

#include <cstdint>
#include <functional>
#include <mutex>
#include <vector>

namespace sable {

class Timer;

class Clock {
public:
  enum class Mode { Host, Manual };

  explicit Clock(Mode mode = Mode::Host);
  Clock(const Clock &) = delete;
  Clock &operator=(const Clock &) = delete;

  // Host mode: the host's CLOCK_MONOTONIC, the same time base the software
  // CPU's TSC counts from, so TSC-deadline timers need no conversion.
  uint64_t now_ns() const;

  // Manual mode only: moves time forward to now + ns, firing due timers in
  // deadline order with now_ns() equal to each timer's deadline.
  void advance(uint64_t ns);

  // For the event loop: the earliest armed deadline, or UINT64_MAX.
  uint64_t next_deadline() const;
  // Fires every timer whose deadline has passed.
  void run_due_timers();
  // Called (from any thread) when a timer is armed earlier than the
  // previous earliest deadline, so a sleeping event loop can wake.
  void set_wakeup(std::function<void()> wakeup) { wakeup_ = std::move(wakeup); }

private:
  friend class Timer;
  void arm(Timer *timer, uint64_t deadline);
  void cancel(Timer *timer);
  Timer *take_due(uint64_t now);

  Mode mode_;
  uint64_t manual_now_ = 0;
  mutable std::mutex lock_;
  std::vector<Timer *> armed_;
  std::function<void()> wakeup_;
};

class Timer {
public:
  Timer(Clock &clock, std::function<void()> callback)
      : clock_(clock), callback_(std::move(callback)) {}
  ~Timer() { cancel(); }
  Timer(const Timer &) = delete;
  Timer &operator=(const Timer &) = delete;

  void arm_at(uint64_t deadline_ns) { clock_.arm(this, deadline_ns); }
  void arm_after(uint64_t ns) { arm_at(clock_.now_ns() + ns); }
  void cancel() { clock_.cancel(this); }
  bool armed() const { return armed_; }
  uint64_t deadline() const { return deadline_; }

private:
  friend class Clock;
  Clock &clock_;
  std::function<void()> callback_;
  uint64_t deadline_ = 0;
  bool armed_ = false;
};

} // namespace sable
