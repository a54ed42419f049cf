#include "ui/vnc_server.h"

#include <arpa/inet.h>
#include <rfb/rfb.h>
#include <stdexcept>

#include "devices/i8042.h"
#include "ui/keymap.h"

namespace sable {

namespace {

// RFB pointer button mask bits and the PS/2 mouse's button bits.
constexpr int kVncLeft = 1 << 0, kVncMiddle = 1 << 1, kVncRight = 1 << 2;
constexpr int kVncWheelUp = 1 << 3, kVncWheelDown = 1 << 4;
constexpr uint8_t kPs2Left = 1 << 0, kPs2Right = 1 << 1, kPs2Middle = 1 << 2;

in_addr_t listen_address(const std::string &host) {
  std::string address =
      host.empty() || host == "localhost" ? "127.0.0.1" : host;
  in_addr parsed{};
  if (inet_pton(AF_INET, address.c_str(), &parsed) != 1)
    throw std::runtime_error("-vnc: '" + host +
                             "' is not an IPv4 address (or localhost)");
  return parsed.s_addr;
}

// The surface's pixels are 0x00RRGGBB words: in memory B, G, R, unused on
// a little-endian host, as the server format must say.
void set_surface_format(rfbScreenInfoPtr screen) {
  rfbPixelFormat &format = screen->serverFormat;
  format.redShift = 16;
  format.greenShift = 8;
  format.blueShift = 0;
}

VncServer *server_of(rfbClientPtr client) {
  return static_cast<VncServer *>(client->screen->screenData);
}

} // namespace

VncServer::VncServer(const GuestConsoleLinks &links, Clock &clock,
                     const VncConfig &config)
    : links_(links), renderer_(links.vga, surface_), clock_(clock),
      refresh_timer_(clock, [this] { refresh(); }),
      key_timer_(clock, [this] { deliver_keys(); }) {
  in_addr_t address = listen_address(config.host);
  if (config.display > 65535 - kBasePort)
    throw std::runtime_error("-vnc: display number too large");
  port_ = static_cast<uint16_t>(kBasePort + config.display);
  if (config.password.size() > kMaxPasswordLength)
    throw std::runtime_error("-vnc: VNC passwords are at most 8 characters");

  // Connection chatter stays quiet; errors still reach stderr.
  rfbLogEnable(0);
  surface_.resize(720, 400);
  surface_generation_ = surface_.generation();
  int no_arguments = 0;
  screen_ = rfbGetScreen(&no_arguments, nullptr, int(surface_.width()),
                         int(surface_.height()), 8, 3, 4);
  if (!screen_)
    throw std::runtime_error("-vnc: cannot create the VNC server");
  screen_->desktopName = "Sable";
  screen_->frameBuffer =
      reinterpret_cast<char *>(const_cast<uint32_t *>(surface_.pixels()));
  set_surface_format(screen_);
  screen_->screenData = this;
  screen_->port = port_;
  screen_->ipv6port = 0;
  screen_->listenInterface = address;
  screen_->autoPort = FALSE;
  screen_->httpPort = 0;
  screen_->alwaysShared = TRUE;
  screen_->deferUpdateTime = 0;
  screen_->kbdAddEvent = on_key;
  screen_->ptrAddEvent = on_pointer;
  // The guest draws its own pointer; libvncserver's would cover the screen.
  screen_->cursor = nullptr;
  screen_->newClientHook = [](rfbClientPtr client) {
    on_new_client(client);
    return RFB_CLIENT_ACCEPT;
  };
  if (!config.password.empty()) {
    password_ = config.password;
    password_list_ = {password_.data(), nullptr};
    screen_->authPasswdData = password_list_.data();
    screen_->passwordCheck = rfbCheckPasswordByList;
  }
  rfbInitServer(screen_);
  if (screen_->listenSock == RFB_INVALID_SOCKET) {
    rfbScreenCleanup(screen_);
    throw std::runtime_error("-vnc: cannot listen on " +
                             (config.host.empty() ? "127.0.0.1" : config.host) +
                             ":" + std::to_string(port_) +
                             " (is the port in use?)");
  }
  refresh_timer_.arm_after(0);
}

VncServer::~VncServer() {
  refresh_timer_.cancel();
  key_timer_.cancel();
  rfbShutdownServer(screen_, TRUE);
  rfbScreenCleanup(screen_);
}

void VncServer::refresh() {
  if (screen_->clientHead) {
    renderer_.update(clock_.now_ns());
    publish_surface();
  }
  // Reads every waiting message, not one per client per tick, so typed
  // text arrives at network speed; then sends the updates clients asked for.
  constexpr unsigned kMaxRounds = 256;
  for (unsigned round = 0; round < kMaxRounds; ++round)
    if (rfbCheckFds(screen_, 0) <= 0)
      break;
  rfbProcessEvents(screen_, 0);
  refresh_timer_.arm_after(1000000000ull / kRefreshHz);
}

void VncServer::publish_surface() {
  if (surface_.generation() != surface_generation_) {
    surface_generation_ = surface_.generation();
    rfbNewFramebuffer(
        screen_,
        reinterpret_cast<char *>(const_cast<uint32_t *>(surface_.pixels())),
        int(surface_.width()), int(surface_.height()), 8, 3, 4);
    set_surface_format(screen_);
    rfbMarkRectAsModified(screen_, 0, 0, int(surface_.width()),
                          int(surface_.height()));
    surface_.clear_damage();
    return;
  }
  for (const Surface::Rect &rect : surface_.damage_rects())
    rfbMarkRectAsModified(screen_, int(rect.x), int(rect.y),
                          int(rect.x + rect.width), int(rect.y + rect.height));
  surface_.clear_damage();
}

void VncServer::key_event(bool down, uint32_t keysym) {
  uint16_t code = keysym_to_set1(keysym);
  if (!code)
    return;
  // A guest that never reads its keyboard loses keys, as on hardware.
  constexpr size_t kMaxPendingKeys = 1024;
  if (pending_keys_.size() >= kMaxPendingKeys)
    return;
  pending_keys_.emplace_back(code, down);
  deliver_keys();
}

void VncServer::deliver_keys() {
  // About the time a guest's keyboard interrupt takes to drain the buffer.
  constexpr uint64_t kRetryNs = 2000000;
  std::lock_guard guard(links_.machine_lock);
  while (!pending_keys_.empty() && links_.input.keyboard_ready()) {
    auto [code, down] = pending_keys_.front();
    pending_keys_.pop_front();
    links_.input.key_event(code, down);
  }
  if (!pending_keys_.empty() && !key_timer_.armed())
    key_timer_.arm_after(kRetryNs);
}

void VncServer::pointer_event(int button_mask, int x, int y) {
  int dx = pointer_x_ < 0 ? 0 : x - pointer_x_;
  int dy = pointer_y_ < 0 ? 0 : y - pointer_y_;
  pointer_x_ = x;
  pointer_y_ = y;
  uint8_t buttons = uint8_t((button_mask & kVncLeft ? kPs2Left : 0) |
                            (button_mask & kVncRight ? kPs2Right : 0) |
                            (button_mask & kVncMiddle ? kPs2Middle : 0));
  int dz = (button_mask & kVncWheelDown ? 1 : 0) -
           (button_mask & kVncWheelUp ? 1 : 0);
  std::lock_guard guard(links_.machine_lock);
  links_.input.mouse_event(dx, dy, buttons, dz);
}

void VncServer::on_new_client(rfbClientPtr client) {
  // The surface is not drawn while nobody watches: bring it up to date
  // before the newcomer's first full update.
  VncServer *server = server_of(client);
  server->renderer_.update(server->clock_.now_ns());
  server->publish_surface();
}

void VncServer::on_key(int8_t down, uint32_t keysym, rfbClientPtr client) {
  server_of(client)->key_event(down, keysym);
}

void VncServer::on_pointer(int button_mask, int x, int y, rfbClientPtr client) {
  server_of(client)->pointer_event(button_mask, x, y);
}

} // namespace sable
