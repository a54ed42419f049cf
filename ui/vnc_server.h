#pragma once
// The VNC console: an RFB server (libvncserver) showing the VGA's surface
// and feeding the clients' keys and pointer to the i8042. Any number of
// clients share the screen.
//
// Everything runs on the event loop thread under the machine lock: a timer
// at kRefreshHz renders the VGA into the surface, which is the server's
// framebuffer, marks the damaged rectangles modified and serves the
// clients. Rendering is skipped while no client is connected.

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "devices/vga_render.h"
#include "machine/clock.h"
#include "ui/guest_console.h"
#include "ui/surface.h"

typedef struct _rfbScreenInfo *rfbScreenInfoPtr;
typedef struct _rfbClientRec *rfbClientPtr;

namespace sable {

struct VncConfig {
  std::string host; // IPv4 address or "localhost"; "" = 127.0.0.1
  unsigned display = 0;
  std::string password; // "" = no authentication
};

class VncServer {
public:
  static constexpr unsigned kBasePort = 5900;
  static constexpr unsigned kRefreshHz = 30;
  // libvncserver's classic VNC authentication compares at most 8 bytes.
  static constexpr size_t kMaxPasswordLength = 8;

  // Throws std::runtime_error when the address is bad or the port taken.
  VncServer(const GuestConsoleLinks &links, Clock &clock,
            const VncConfig &config);
  ~VncServer();
  VncServer(const VncServer &) = delete;
  VncServer &operator=(const VncServer &) = delete;

  uint16_t port() const { return port_; }

private:
  void refresh();
  void publish_surface();
  void key_event(bool down, uint32_t keysym);
  void deliver_keys();
  void pointer_event(int button_mask, int x, int y);

  static void on_new_client(rfbClientPtr client);
  static void on_key(int8_t down, uint32_t keysym, rfbClientPtr client);
  static void on_pointer(int button_mask, int x, int y, rfbClientPtr client);

  GuestConsoleLinks links_;
  Surface surface_;
  VgaRenderer renderer_;
  Clock &clock_;
  Timer refresh_timer_;
  // Key events wait here for room in the keyboard's 16-byte buffer: a
  // client pasting or typing fast sends faster than a guest reads.
  std::deque<std::pair<uint16_t, bool>> pending_keys_;
  Timer key_timer_;
  uint16_t port_ = 0;
  rfbScreenInfoPtr screen_ = nullptr;
  uint64_t surface_generation_ = 0;
  // The password list libvncserver checks against (NULL-terminated).
  std::string password_;
  std::vector<char *> password_list_;
  // The last pointer position, to turn absolute VNC positions into the
  // PS/2 mouse's relative motion.
  int pointer_x_ = -1, pointer_y_ = -1;
};

} // namespace sable
