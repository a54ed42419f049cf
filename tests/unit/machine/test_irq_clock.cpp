#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>
#include <unistd.h>

#include "machine/clock.h"
#include "machine/event_loop.h"
#include "machine/irq.h"

using namespace sable;

namespace {
class RecordingSink : public IrqSink {
public:
  void set_irq(unsigned gsi, bool level) override {
    events.emplace_back(gsi, level);
  }
  std::vector<std::pair<unsigned, bool>> events;
};
} // namespace

TEST_CASE("IRQ lines reach every sink with their GSI and level") {
  IrqRouter router;
  RecordingSink pic, ioapic;
  router.add_sink(&pic);
  router.add_sink(&ioapic);
  IrqLine line(&router, 4);
  line.raise();
  CHECK(line.level());
  line.pulse();
  CHECK_FALSE(line.level());
  std::vector<std::pair<unsigned, bool>> expected{
      {4, true}, {4, true}, {4, false}};
  CHECK(pic.events == expected);
  CHECK(ioapic.events == expected);
}

TEST_CASE("manual clock fires timers in deadline order at their deadlines") {
  Clock clock(Clock::Mode::Manual);
  std::vector<std::pair<int, uint64_t>> fired;
  Timer a(clock, [&] { fired.emplace_back(1, clock.now_ns()); });
  Timer b(clock, [&] { fired.emplace_back(2, clock.now_ns()); });
  Timer c(clock, [&] { fired.emplace_back(3, clock.now_ns()); });
  a.arm_at(300);
  b.arm_at(100);
  c.arm_at(1000);
  CHECK(clock.next_deadline() == 100);
  clock.advance(500);
  CHECK(clock.now_ns() == 500);
  std::vector<std::pair<int, uint64_t>> expected{{2, 100}, {1, 300}};
  CHECK(fired == expected);
  CHECK(c.armed());
  c.cancel();
  clock.advance(1000);
  CHECK(fired.size() == 2);
  CHECK(clock.next_deadline() == UINT64_MAX);
}

TEST_CASE("a periodic timer re-armed from its callback keeps its period") {
  Clock clock(Clock::Mode::Manual);
  int ticks = 0;
  Timer *self = nullptr;
  Timer periodic(clock, [&] {
    ++ticks;
    self->arm_at(self->deadline() + 10);
  });
  self = &periodic;
  periodic.arm_at(10);
  clock.advance(95);
  CHECK(ticks == 9);
}

TEST_CASE("the event loop fires host-time timers and reads file descriptors") {
  Clock clock;
  std::recursive_mutex lock;
  EventLoop loop(clock, lock);
  std::atomic<int> fired{0};
  std::atomic<int> readable{0};
  Timer timer(clock, [&] { ++fired; });
  int pipe_fds[2];
  REQUIRE(pipe(pipe_fds) == 0);
  loop.watch(pipe_fds[0], [&] {
    char c;
    if (read(pipe_fds[0], &c, 1) == 1 && c == 'x')
      ++readable;
  });
  loop.start();
  timer.arm_after(2'000'000);
  REQUIRE(write(pipe_fds[1], "x", 1) == 1);
  for (int i = 0; i < 200 && (fired == 0 || readable == 0); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  loop.stop();
  CHECK(fired == 1);
  CHECK(readable == 1);
  close(pipe_fds[0]);
  close(pipe_fds[1]);
}
