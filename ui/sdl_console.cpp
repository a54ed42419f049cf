#include "ui/sdl_console.h"

#include <SDL.h>
#include <cstdlib>
#include <future>
#include <stdexcept>
#include <string>

#include "devices/i8042.h"
#include "ui/keymap.h"

namespace sable {

namespace {

constexpr const char *kTitle = "Sable";
constexpr unsigned kInitialWidth = 720, kInitialHeight = 400;

uint8_t ps2_buttons(uint32_t sdl_buttons) {
  return uint8_t((sdl_buttons & SDL_BUTTON_LMASK ? 1 : 0) |
                 (sdl_buttons & SDL_BUTTON_RMASK ? 2 : 0) |
                 (sdl_buttons & SDL_BUTTON_MMASK ? 4 : 0));
}

} // namespace

SdlConsole::SdlConsole(const GuestConsoleLinks &links, Clock &clock)
    : links_(links), clock_(clock), renderer_(links.vga, surface_) {
  std::promise<void> opened;
  std::future<void> result = opened.get_future();
  // SDL's video and event functions must all run on the thread that
  // initialized video: the console's own.
  thread_ = std::thread([this, &opened] {
    try {
      open_window();
    } catch (...) {
      close_window();
      opened.set_exception(std::current_exception());
      return;
    }
    opened.set_value();
    run();
    close_window();
  });
  try {
    result.get();
  } catch (...) {
    thread_.join();
    throw;
  }
}

SdlConsole::~SdlConsole() {
  running_ = false;
  thread_.join();
}

void SdlConsole::open_window() {
  // Ctrl-C and SIGTERM keep ending sable as without a window.
  SDL_SetHint(SDL_HINT_NO_SIGNAL_HANDLERS, "1");
  // Closing the window is the power button; SDL must not turn it into a
  // quit as well.
  SDL_SetHint(SDL_HINT_QUIT_ON_LAST_WINDOW_CLOSE, "0");
  if (SDL_InitSubSystem(SDL_INIT_VIDEO) != 0)
    throw std::runtime_error(std::string("-display sdl: ") + SDL_GetError());
  // Without a display SDL falls back to drivers that show nothing; a user
  // who wants one asks for it by name in SDL_VIDEODRIVER.
  std::string driver = SDL_GetCurrentVideoDriver();
  if ((driver == "offscreen" || driver == "dummy") &&
      !std::getenv("SDL_VIDEODRIVER"))
    throw std::runtime_error(
        "-display sdl: no display to open a window on (is DISPLAY set?)");
  window_ =
      SDL_CreateWindow(kTitle, SDL_WINDOWPOS_UNDEFINED, SDL_WINDOWPOS_UNDEFINED,
                       kInitialWidth, kInitialHeight, SDL_WINDOW_RESIZABLE);
  if (!window_)
    throw std::runtime_error(std::string("-display sdl: ") + SDL_GetError());
  sdl_renderer_ = SDL_CreateRenderer(window_, -1, 0);
  if (!sdl_renderer_)
    throw std::runtime_error(std::string("-display sdl: ") + SDL_GetError());
  surface_.resize(kInitialWidth, kInitialHeight);
  recreate_texture();
}

void SdlConsole::close_window() {
  if (texture_)
    SDL_DestroyTexture(texture_);
  if (sdl_renderer_)
    SDL_DestroyRenderer(sdl_renderer_);
  if (window_)
    SDL_DestroyWindow(window_);
  texture_ = nullptr;
  sdl_renderer_ = nullptr;
  window_ = nullptr;
  SDL_QuitSubSystem(SDL_INIT_VIDEO);
}

void SdlConsole::run() {
  constexpr uint64_t kFrameNs = 1000000000ull / kRefreshHz;
  uint64_t next_frame = clock_.now_ns();
  while (running_) {
    uint64_t now = clock_.now_ns();
    int wait_ms = next_frame > now ? int((next_frame - now) / 1000000) : 0;
    SDL_Event event;
    if (SDL_WaitEventTimeout(&event, wait_ms)) {
      handle(event);
      while (SDL_PollEvent(&event))
        handle(event);
    }
    if (clock_.now_ns() >= next_frame) {
      refresh();
      next_frame = clock_.now_ns() + kFrameNs;
    }
  }
}

void SdlConsole::refresh() {
  {
    std::lock_guard guard(links_.machine_lock);
    renderer_.update(clock_.now_ns());
  }
  if (surface_.generation() != surface_generation_) {
    recreate_texture();
    if (!fullscreen_)
      SDL_SetWindowSize(window_, int(surface_.width()), int(surface_.height()));
  }
  for (const Surface::Rect &rect : surface_.damage_rects()) {
    SDL_Rect area{int(rect.x), int(rect.y), int(rect.width), int(rect.height)};
    SDL_UpdateTexture(texture_, &area, surface_.row(rect.y) + rect.x,
                      int(surface_.width() * sizeof(uint32_t)));
    needs_present_ = true;
  }
  surface_.clear_damage();
  if (!needs_present_)
    return;
  SDL_SetRenderDrawColor(sdl_renderer_, 0, 0, 0, 255);
  SDL_RenderClear(sdl_renderer_);
  SDL_RenderCopy(sdl_renderer_, texture_, nullptr, nullptr);
  SDL_RenderPresent(sdl_renderer_);
  needs_present_ = false;
}

void SdlConsole::recreate_texture() {
  if (texture_)
    SDL_DestroyTexture(texture_);
  surface_generation_ = surface_.generation();
  unsigned width = std::max(surface_.width(), 1u);
  unsigned height = std::max(surface_.height(), 1u);
  texture_ =
      SDL_CreateTexture(sdl_renderer_, SDL_PIXELFORMAT_RGB888,
                        SDL_TEXTUREACCESS_STREAMING, int(width), int(height));
  if (!texture_)
    throw std::runtime_error(std::string("-display sdl: ") + SDL_GetError());
  // Scales the guest screen to the window, keeping its aspect ratio.
  SDL_RenderSetLogicalSize(sdl_renderer_, int(width), int(height));
  surface_.damage(0, 0, surface_.width(), surface_.height());
  needs_present_ = true;
}

void SdlConsole::handle(const SDL_Event &event) {
  switch (event.type) {
  case SDL_QUIT:
    close_requested();
    break;
  case SDL_WINDOWEVENT:
    switch (event.window.event) {
    case SDL_WINDOWEVENT_CLOSE:
      close_requested();
      break;
    case SDL_WINDOWEVENT_FOCUS_LOST:
      release_keys();
      break;
    case SDL_WINDOWEVENT_EXPOSED:
    case SDL_WINDOWEVENT_SIZE_CHANGED:
      needs_present_ = true;
      break;
    }
    break;
  case SDL_KEYDOWN:
  case SDL_KEYUP:
    handle_key(event.key);
    break;
  case SDL_MOUSEBUTTONDOWN:
    if (!grabbed_) {
      // The grabbing click is the host's, not the guest's.
      set_grab(true);
      break;
    }
    [[fallthrough]];
  case SDL_MOUSEBUTTONUP:
    if (grabbed_) {
      std::lock_guard guard(links_.machine_lock);
      links_.input.mouse_event(
          0, 0, ps2_buttons(SDL_GetMouseState(nullptr, nullptr)));
    }
    break;
  case SDL_MOUSEMOTION:
    if (grabbed_) {
      std::lock_guard guard(links_.machine_lock);
      links_.input.mouse_event(event.motion.xrel, event.motion.yrel,
                               ps2_buttons(event.motion.state));
    }
    break;
  case SDL_MOUSEWHEEL:
    if (grabbed_) {
      int away = event.wheel.direction == SDL_MOUSEWHEEL_FLIPPED
                     ? -event.wheel.y
                     : event.wheel.y;
      std::lock_guard guard(links_.machine_lock);
      links_.input.mouse_event(
          0, 0, ps2_buttons(SDL_GetMouseState(nullptr, nullptr)), -away);
    }
    break;
  }
}

void SdlConsole::handle_key(const SDL_KeyboardEvent &key) {
  if (hot_key(key))
    return;
  uint16_t code = usb_usage_to_set1(key.keysym.scancode);
  if (code)
    send_key(code, key.state == SDL_PRESSED);
}

bool SdlConsole::hot_key(const SDL_KeyboardEvent &key) {
  SDL_Keymod mods = SDL_GetModState();
  if (!(mods & KMOD_CTRL) || !(mods & KMOD_ALT))
    return false;
  if (key.keysym.scancode != SDL_SCANCODE_G &&
      key.keysym.scancode != SDL_SCANCODE_F)
    return false;
  if (key.state == SDL_PRESSED && !key.repeat) {
    if (key.keysym.scancode == SDL_SCANCODE_G)
      set_grab(false);
    else
      toggle_fullscreen();
  }
  return true;
}

void SdlConsole::send_key(uint16_t code, bool pressed) {
  if (pressed)
    pressed_keys_.insert(code);
  else
    pressed_keys_.erase(code);
  std::lock_guard guard(links_.machine_lock);
  links_.input.key_event(code, pressed);
}

void SdlConsole::release_keys() {
  std::lock_guard guard(links_.machine_lock);
  for (uint16_t code : pressed_keys_)
    links_.input.key_event(code, false);
  pressed_keys_.clear();
}

void SdlConsole::set_grab(bool grabbed) {
  grabbed_ = grabbed;
  SDL_SetRelativeMouseMode(grabbed ? SDL_TRUE : SDL_FALSE);
  update_title();
}

void SdlConsole::toggle_fullscreen() {
  fullscreen_ = !fullscreen_;
  SDL_SetWindowFullscreen(window_,
                          fullscreen_ ? SDL_WINDOW_FULLSCREEN_DESKTOP : 0);
  if (!fullscreen_)
    SDL_SetWindowSize(window_, int(surface_.width()), int(surface_.height()));
  needs_present_ = true;
}

void SdlConsole::close_requested() {
  if (power_button_pressed_) {
    links_.quit();
    return;
  }
  power_button_pressed_ = true;
  {
    std::lock_guard guard(links_.machine_lock);
    links_.power_button();
  }
  update_title();
}

void SdlConsole::update_title() {
  std::string title = kTitle;
  if (grabbed_)
    title += " - Ctrl-Alt-G releases the mouse";
  if (power_button_pressed_)
    title += " - power button pressed; close again to quit";
  SDL_SetWindowTitle(window_, title.c_str());
}

} // namespace sable
