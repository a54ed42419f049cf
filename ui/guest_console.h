#pragma once
// What a graphical console (SDL window, VNC server) is connected to: the
// VGA it shows, the keyboard controller it types into, and the machine's
// power button and exit.

#include <functional>
#include <mutex>

namespace sable {

class I8042;
class Vga;

struct GuestConsoleLinks {
  // Held while reading the VGA and while feeding input.
  std::recursive_mutex &machine_lock;
  const Vga &vga;
  I8042 &input;
  // Called with the machine lock held.
  std::function<void()> power_button;
  // Thread-safe.
  std::function<void()> quit;
};

} // namespace sable
