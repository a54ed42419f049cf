#pragma once
// The I/O thread: waits on file descriptors (stdin, sockets) and on the
// Clock's next timer deadline, then runs the callbacks under the machine
// lock, so devices see one thread at a time.

#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "machine/clock.h"

namespace sable {

class EventLoop {
public:
  EventLoop(Clock &clock, std::recursive_mutex &machine_lock);
  ~EventLoop();
  EventLoop(const EventLoop &) = delete;
  EventLoop &operator=(const EventLoop &) = delete;

  // May be called from any thread, also from inside a callback.
  void watch(int fd, std::function<void()> on_readable);
  void unwatch(int fd);

  void start();
  void stop();
  // Interrupts the current wait so changed deadlines or fds take effect.
  void wake();

private:
  struct Watch {
    int fd;
    std::function<void()> on_readable;
  };
  void loop();

  Clock &clock_;
  std::recursive_mutex &machine_lock_;
  std::mutex watches_lock_;
  std::vector<Watch> watches_;
  int wake_fd_;
  bool running_ = false;
  std::thread thread_;
};

} // namespace sable
