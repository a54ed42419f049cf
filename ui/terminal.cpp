#include "ui/terminal.h"

#include <csignal>
#include <cstdlib>
#include <initializer_list>
#include <termios.h>
#include <unistd.h>

namespace sable {

namespace {

termios g_saved;
volatile sig_atomic_t g_raw = 0;

void restore_on_signal(int signal) {
  terminal_restore();
  std::signal(signal, SIG_DFL);
  std::raise(signal);
}

} // namespace

void terminal_restore() {
  if (g_raw) {
    tcsetattr(STDIN_FILENO, TCSANOW, &g_saved);
    g_raw = 0;
  }
}

void terminal_enter_raw(bool keep_signals) {
  if (g_raw || !isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &g_saved) != 0)
    return;
  termios raw = g_saved;
  raw.c_iflag &=
      ~(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR | ICRNL | IXON);
  raw.c_lflag &= ~(ECHO | ECHONL | ICANON | IEXTEN);
  if (!keep_signals)
    raw.c_lflag &= ~ISIG;
  raw.c_cc[VMIN] = 1;
  raw.c_cc[VTIME] = 0;
  if (tcsetattr(STDIN_FILENO, TCSANOW, &raw) != 0)
    return;
  g_raw = 1;
  std::atexit(terminal_restore);
  for (int signal : {SIGTERM, SIGHUP, SIGINT, SIGQUIT, SIGSEGV, SIGABRT, SIGBUS,
                     SIGFPE, SIGILL})
    std::signal(signal, restore_on_signal);
}

} // namespace sable
