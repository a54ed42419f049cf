// Usage: vnc-check [--timeout S] [--clients N] [--refused] VGABIOS HOST:PORT
//                  STEP...
// A VNC client (libvncclient) that checks what a server shows and types
// into it. Steps run in order:
//   expect:TEXT  wait until every client's screen shows TEXT (in the font
//                of the VGA BIOS image VGABIOS)
//   type:TEXT    type TEXT as key presses on the first client
//   enter        press Return
//   save:FILE    write the first client's screen to FILE as a PPM image
// The password, if the server asks, comes from $SABLE_VNC_PASSWORD.
// --refused: the connection must fail (a wrong password) instead.
// Exits 0 when every step passed, 1 naming the step that did not.

#include <rfb/rfbclient.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "screen_text.h"

using sable::test::Image;

namespace {

using Clock = std::chrono::steady_clock;

constexpr uint32_t kKeysymReturn = 0xff0d;
constexpr uint32_t kKeysymShiftL = 0xffe1;

char *password_from_environment(rfbClient *) {
  const char *password = std::getenv("SABLE_VNC_PASSWORD");
  return strdup(password ? password : "");
}

void quiet(const char *, ...) {}

Image screen_of(const rfbClient *client) {
  Image image;
  image.width = unsigned(client->width);
  image.height = unsigned(client->height);
  image.pixels.resize(size_t(image.width) * image.height);
  const uint32_t *source =
      reinterpret_cast<const uint32_t *>(client->frameBuffer);
  const rfbPixelFormat &f = client->format;
  for (size_t i = 0; i < image.pixels.size(); ++i) {
    uint32_t p = source[i];
    uint32_t r = (p >> f.redShift) & f.redMax,
             g = (p >> f.greenShift) & f.greenMax,
             b = (p >> f.blueShift) & f.blueMax;
    image.pixels[i] = r << 16 | g << 8 | b;
  }
  return image;
}

bool save_ppm(const Image &image, const std::string &path) {
  FILE *out = std::fopen(path.c_str(), "wb");
  if (!out) {
    std::printf("vnc-check: cannot write %s\n", path.c_str());
    return false;
  }
  std::fprintf(out, "P6\n%u %u\n255\n", image.width, image.height);
  for (uint32_t pixel : image.pixels) {
    uint8_t rgb[3] = {uint8_t(pixel >> 16), uint8_t(pixel >> 8),
                      uint8_t(pixel)};
    std::fwrite(rgb, 1, 3, out);
  }
  return std::fclose(out) == 0;
}

// Asks each server for what changed and handles what it sent, waiting up
// to `wait_us` on each.
bool pump(std::vector<rfbClient *> &clients, int wait_us) {
  for (rfbClient *client : clients) {
    SendIncrementalFramebufferUpdateRequest(client);
    int ready = WaitForMessage(client, unsigned(wait_us));
    if (ready < 0 || (ready > 0 && !HandleRFBServerMessage(client))) {
      std::printf("vnc-check: the server closed the connection\n");
      return false;
    }
  }
  return true;
}

bool shifted(char c) {
  return (c >= 'A' && c <= 'Z') || std::strchr("~!@#$%^&*()_+{}|:\"<>?", c);
}

void press(rfbClient *client, uint32_t keysym) {
  SendKeyEvent(client, keysym, TRUE);
  SendKeyEvent(client, keysym, FALSE);
}

void type(rfbClient *client, const std::string &text) {
  for (char c : text) {
    bool shift = shifted(c);
    if (shift)
      SendKeyEvent(client, kKeysymShiftL, TRUE);
    press(client, uint32_t(uint8_t(c)));
    if (shift)
      SendKeyEvent(client, kKeysymShiftL, FALSE);
  }
}

rfbClient *connect(const std::string &host, int port) {
  rfbClient *client = rfbGetClient(8, 3, 4);
  client->GetPassword = password_from_environment;
  client->serverHost = strdup(host.c_str());
  client->serverPort = port;
  client->canHandleNewFBSize = TRUE;
  int no_arguments = 0;
  if (!rfbInitClient(client, &no_arguments, nullptr))
    return nullptr; // rfbInitClient freed it
  return client;
}

} // namespace

int main(int argc, char **argv) {
  // Progress shows up in a test log even when a timeout kills the client.
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  int timeout_s = 60;
  unsigned client_count = 1;
  bool expect_refused = false;
  int i = 1;
  for (; i < argc && argv[i][0] == '-'; ++i) {
    std::string option = argv[i];
    if (option == "--timeout" && i + 1 < argc)
      timeout_s = std::atoi(argv[++i]);
    else if (option == "--clients" && i + 1 < argc)
      client_count = unsigned(std::atoi(argv[++i]));
    else if (option == "--refused")
      expect_refused = true;
    else
      break;
  }
  if (i + 1 >= argc) {
    std::fprintf(stderr, "usage: vnc-check [--timeout S] [--clients N] "
                         "[--refused] VGABIOS HOST:PORT STEP...\n");
    return 2;
  }
  sable::test::Font font;
  try {
    font = sable::test::vga_bios_font(argv[i++]);
  } catch (const std::exception &e) {
    std::fprintf(stderr, "vnc-check: %s\n", e.what());
    return 2;
  }
  std::string address = argv[i++];
  size_t colon = address.rfind(':');
  std::string host = address.substr(0, colon);
  int port = std::atoi(address.c_str() + colon + 1);
  // libvncclient's own messages (also each refused attempt while the
  // server starts) stay quiet; this program says what failed.
  rfbClientLog = quiet;
  rfbClientErr = quiet;

  // The server may still be starting: retry the first connection.
  std::vector<rfbClient *> clients;
  Clock::time_point deadline = Clock::now() + std::chrono::seconds(timeout_s);
  while (clients.size() < client_count) {
    rfbClient *client = connect(host, port);
    if (client) {
      clients.push_back(client);
      continue;
    }
    if (expect_refused) {
      std::printf("vnc-check: connection refused, as expected\n");
      return 0;
    }
    if (Clock::now() > deadline) {
      std::printf("vnc-check: cannot connect to %s\n", address.c_str());
      return 1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  if (expect_refused) {
    std::printf("vnc-check: the server accepted the connection\n");
    return 1;
  }
  std::printf("vnc-check: %zu client(s) connected, %dx%d\n", clients.size(),
              clients[0]->width, clients[0]->height);

  for (; i < argc; ++i) {
    std::string step = argv[i];
    if (step.rfind("expect:", 0) == 0) {
      std::string text = step.substr(7);
      deadline = Clock::now() + std::chrono::seconds(timeout_s);
      for (;;) {
        if (!pump(clients, 200000))
          return 1;
        bool everywhere = true;
        for (rfbClient *client : clients)
          everywhere =
              everywhere &&
              sable::test::find_text(screen_of(client), font, text).found;
        if (everywhere)
          break;
        if (Clock::now() > deadline) {
          std::printf("vnc-check: timed out after %d s waiting for '%s'\n",
                      timeout_s, text.c_str());
          return 1;
        }
      }
      std::printf("vnc-check: every client shows '%s'\n", text.c_str());
    } else if (step.rfind("type:", 0) == 0) {
      type(clients[0], step.substr(5));
    } else if (step.rfind("save:", 0) == 0) {
      // What has arrived within a second.
      for (unsigned round = 0; round < 5; ++round)
        if (!pump(clients, 200000))
          return 1;
      if (!save_ppm(screen_of(clients[0]), step.substr(5)))
        return 1;
    } else if (step == "enter") {
      press(clients[0], kKeysymReturn);
    } else {
      std::fprintf(stderr, "vnc-check: unknown step '%s'\n", step.c_str());
      return 2;
    }
  }
  for (rfbClient *client : clients)
    rfbClientCleanup(client);
  return 0;
}
