#include "machine/log.h"

#include <cstdarg>
#include <cstring>
#include <mutex>
#include <sstream>

namespace sable {

std::atomic<uint32_t> g_log_mask{0};

namespace {

struct LogItem {
  const char *name;
  uint32_t bit;
  const char *help;
};

constexpr LogItem kItems[] = {
    {"guest_errors", LOG_GUEST_ERRORS, "guest actions that are invalid"},
    {"unimp", LOG_UNIMP, "features the guest used that sable lacks"},
    {"int", LOG_INT, "interrupts and exceptions delivered"},
    {"exec", LOG_EXEC, "each translation block executed"},
    {"in_asm", LOG_IN_ASM, "guest code decoded, disassembled"},
    {"cpu", LOG_CPU, "CPU registers before each block"},
    {"ioport", LOG_IOPORT, "port I/O accesses"},
};

std::mutex g_log_lock;
FILE *g_log_file = nullptr;

FILE *log_stream() {
  return g_log_file ? g_log_file : stderr;
}

} // namespace

bool parse_log_items(const std::string &items, uint32_t &mask,
                     std::string &error) {
  mask = 0;
  std::stringstream list(items);
  std::string item;
  while (std::getline(list, item, ',')) {
    bool found = false;
    for (const LogItem &known : kItems) {
      if (item == known.name) {
        mask |= known.bit;
        found = true;
      }
    }
    if (!found) {
      error = "unknown log item '" + item + "' (try -d help)";
      return false;
    }
  }
  return true;
}

std::string log_items_help() {
  std::string text = "Log items (comma separated):\n";
  for (const LogItem &known : kItems)
    text += std::string("  ") + known.name +
            std::string(14 - std::strlen(known.name), ' ') + known.help + "\n";
  return text;
}

void set_log_mask(uint32_t mask) {
  g_log_mask.store(mask);
}

bool set_log_file(const std::string &path, std::string &error) {
  FILE *f = std::fopen(path.c_str(), "w");
  if (!f) {
    error = "cannot open log file '" + path + "': " + std::strerror(errno);
    return false;
  }
  std::lock_guard guard(g_log_lock);
  if (g_log_file)
    std::fclose(g_log_file);
  g_log_file = f;
  return true;
}

void log_write(const char *format, ...) {
  std::lock_guard guard(g_log_lock);
  va_list args;
  va_start(args, format);
  std::vfprintf(log_stream(), format, args);
  va_end(args);
  std::fflush(log_stream());
}

void warn(const char *format, ...) {
  std::lock_guard guard(g_log_lock);
  va_list args;
  va_start(args, format);
  std::fputs("sable: warning: ", stderr);
  std::vfprintf(stderr, format, args);
  std::fputc('\n', stderr);
  va_end(args);
  if (g_log_file) {
    va_start(args, format);
    std::fputs("warning: ", g_log_file);
    std::vfprintf(g_log_file, format, args);
    std::fputc('\n', g_log_file);
    std::fflush(g_log_file);
    va_end(args);
  }
}

} // namespace sable
