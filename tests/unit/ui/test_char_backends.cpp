#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <chrono>
#include <mutex>
#include <netinet/in.h>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

#include "machine/clock.h"
#include "machine/event_loop.h"
#include "ui/stdio_backend.h"
#include "ui/tcp_backend.h"

using namespace sable;

namespace {

class FifoFrontend : public CharFrontend {
public:
  explicit FifoFrontend(size_t capacity) : capacity(capacity) {}
  size_t can_receive() override { return capacity - received.size(); }
  void receive(const uint8_t *data, size_t size) override {
    received.append(reinterpret_cast<const char *>(data), size);
  }
  size_t capacity;
  std::string received;
};

struct Loop {
  Clock clock;
  std::recursive_mutex lock;
  EventLoop loop{clock, lock};
};

template <typename Predicate> bool eventually(Predicate done) {
  for (int i = 0; i < 400; ++i) {
    if (done())
      return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return false;
}

} // namespace

TEST_CASE("mon:stdio: Ctrl-A x quits, Ctrl-A Ctrl-A sends one Ctrl-A") {
  Loop l;
  int in[2], out[2];
  REQUIRE(pipe(in) == 0);
  REQUIRE(pipe(out) == 0);
  bool quit = false;
  StdioBackend backend(
      l.loop, true, [&] { quit = true; }, in[0], out[1]);
  FifoFrontend uart(64);
  backend.set_frontend(&uart);
  const uint8_t typed[] = {'l', 's', 0x01, 0x01, '\r', 0x01, 'x'};
  backend.typed(typed, sizeof typed);
  CHECK(uart.received == std::string("ls\x01\r"));
  CHECK(quit);
  for (int fd : {in[0], in[1], out[0], out[1]})
    close(fd);
}

TEST_CASE("plain stdio passes Ctrl-A through and holds input the FIFO lacks "
          "room for") {
  Loop l;
  int in[2], out[2];
  REQUIRE(pipe(in) == 0);
  REQUIRE(pipe(out) == 0);
  StdioBackend backend(l.loop, false, nullptr, in[0], out[1]);
  FifoFrontend uart(2);
  backend.set_frontend(&uart);
  const uint8_t typed[] = {0x01, 'x', 'y'};
  backend.typed(typed, sizeof typed);
  CHECK(uart.received == std::string("\x01x"));
  uart.capacity = 16;
  backend.frontend_ready();
  CHECK(uart.received == std::string("\x01xy"));
  backend.write(reinterpret_cast<const uint8_t *>("out"), 3);
  char buffer[8] = {};
  CHECK(read(out[0], buffer, sizeof buffer) == 3);
  CHECK(std::string(buffer) == "out");
  for (int fd : {in[0], in[1], out[0], out[1]})
    close(fd);
}

TEST_CASE("tcp server backend exchanges bytes with a connected client") {
  Loop l;
  TcpServerBackend backend(l.loop, "127.0.0.1", 0, false);
  FifoFrontend uart(64);
  backend.set_frontend(&uart);
  l.loop.start();

  int client = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(backend.port());
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(connect(client, reinterpret_cast<sockaddr *>(&address),
                  sizeof address) == 0);
  REQUIRE(send(client, "hi", 2, 0) == 2);
  CHECK(eventually([&] {
    std::lock_guard guard(l.lock);
    return uart.received == "hi";
  }));
  CHECK(eventually([&] {
    {
      std::lock_guard guard(l.lock);
      backend.write(reinterpret_cast<const uint8_t *>("!"), 1);
    }
    char c;
    return recv(client, &c, 1, MSG_DONTWAIT) == 1 && c == '!';
  }));
  close(client);
  l.loop.stop();
}
