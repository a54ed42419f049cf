#include "machine/clock.h"

#include <algorithm>
#include <time.h>

namespace sable {

namespace {
uint64_t host_monotonic_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return uint64_t(ts.tv_sec) * 1000000000ull + uint64_t(ts.tv_nsec);
}
} // namespace

Clock::Clock(Mode mode) : mode_(mode) {}

uint64_t Clock::now_ns() const {
  if (mode_ == Mode::Manual) {
    std::lock_guard guard(lock_);
    return manual_now_;
  }
  return host_monotonic_ns();
}

void Clock::arm(Timer *timer, uint64_t deadline) {
  bool earliest;
  {
    std::lock_guard guard(lock_);
    std::erase(armed_, timer);
    timer->deadline_ = deadline;
    timer->armed_ = true;
    earliest = std::all_of(armed_.begin(), armed_.end(),
                           [&](Timer *t) { return t->deadline_ > deadline; });
    armed_.push_back(timer);
  }
  if (earliest && wakeup_)
    wakeup_();
}

void Clock::cancel(Timer *timer) {
  std::lock_guard guard(lock_);
  std::erase(armed_, timer);
  timer->armed_ = false;
}

uint64_t Clock::next_deadline() const {
  std::lock_guard guard(lock_);
  uint64_t next = UINT64_MAX;
  for (Timer *t : armed_)
    next = std::min(next, t->deadline_);
  return next;
}

Timer *Clock::take_due(uint64_t now) {
  std::lock_guard guard(lock_);
  auto due =
      std::min_element(armed_.begin(), armed_.end(), [](Timer *a, Timer *b) {
        return a->deadline_ < b->deadline_;
      });
  if (due == armed_.end() || (*due)->deadline_ > now)
    return nullptr;
  Timer *timer = *due;
  armed_.erase(due);
  timer->armed_ = false;
  if (mode_ == Mode::Manual)
    manual_now_ = std::max(manual_now_, timer->deadline_);
  return timer;
}

void Clock::run_due_timers() {
  uint64_t now = now_ns();
  while (Timer *timer = take_due(now))
    timer->callback_();
}

void Clock::advance(uint64_t ns) {
  uint64_t target;
  {
    std::lock_guard guard(lock_);
    target = manual_now_ + ns;
  }
  while (Timer *timer = take_due(target))
    timer->callback_();
  std::lock_guard guard(lock_);
  manual_now_ = target;
}

} // namespace sable
