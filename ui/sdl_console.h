#pragma once
// The SDL2 window console: shows the VGA's surface scaled to the window
// (aspect kept), follows mode changes by resizing the window, and sends
// keys (as set-1 scancodes) and relative mouse motion to the i8042.
//
// Hot keys, with Ctrl and Alt held: G releases the mouse grab (a click in
// the window grabs it), F toggles fullscreen. Closing the window presses
// the ACPI power button; closing it again quits.
//
// SDL runs on a thread of its own, which initializes video, pumps events
// and draws; it takes the machine lock only to render the VGA into the
// surface and to feed input.

#include <atomic>
#include <cstdint>
#include <set>
#include <thread>

#include "devices/vga_render.h"
#include "machine/clock.h"
#include "ui/guest_console.h"
#include "ui/surface.h"

struct SDL_Window;
struct SDL_Renderer;
struct SDL_Texture;
union SDL_Event;
struct SDL_KeyboardEvent;

namespace sable {

class SdlConsole {
public:
  static constexpr unsigned kRefreshHz = 60;

  // Opens the window; throws std::runtime_error when SDL cannot (no X
  // display, for instance).
  SdlConsole(const GuestConsoleLinks &links, Clock &clock);
  ~SdlConsole();
  SdlConsole(const SdlConsole &) = delete;
  SdlConsole &operator=(const SdlConsole &) = delete;

private:
  void run();
  void open_window();
  void close_window();
  void handle(const SDL_Event &event);
  void handle_key(const SDL_KeyboardEvent &key);
  bool hot_key(const SDL_KeyboardEvent &key);
  void send_key(uint16_t code, bool pressed);
  void release_keys();
  void set_grab(bool grabbed);
  void toggle_fullscreen();
  void close_requested();
  void update_title();
  void refresh();
  void recreate_texture();

  GuestConsoleLinks links_;
  Clock &clock_;
  Surface surface_;
  VgaRenderer renderer_;
  uint64_t surface_generation_ = 0;

  SDL_Window *window_ = nullptr;
  SDL_Renderer *sdl_renderer_ = nullptr;
  SDL_Texture *texture_ = nullptr;
  bool needs_present_ = true;
  bool grabbed_ = false;
  bool fullscreen_ = false;
  bool power_button_pressed_ = false;
  // Keys the guest saw go down, released when the window loses focus so
  // none stays stuck.
  std::set<uint16_t> pressed_keys_;

  std::atomic<bool> running_{true};
  std::thread thread_;
};

} // namespace sable
