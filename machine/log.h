#pragma once
// Diagnostics selected with -d and redirected with -D, as in QEMU.

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <string>

namespace sable {

enum LogCategory : uint32_t {
  LOG_GUEST_ERRORS = 1u << 0,
  LOG_UNIMP = 1u << 1,
  LOG_INT = 1u << 2,
  LOG_EXEC = 1u << 3,
  LOG_IN_ASM = 1u << 4,
  LOG_CPU = 1u << 5,
  LOG_IOPORT = 1u << 6,
};

// Parses a comma-separated -d list ("guest_errors,int", "help" handled by
// the caller); returns false and names the bad item in `error`.
bool parse_log_items(const std::string &items, uint32_t &mask,
                     std::string &error);
std::string log_items_help();

void set_log_mask(uint32_t mask);
// Returns false with a message when the file cannot be opened.
bool set_log_file(const std::string &path, std::string &error);

extern std::atomic<uint32_t> g_log_mask;
inline bool log_enabled(uint32_t category) {
  return (g_log_mask.load(std::memory_order_relaxed) & category) != 0;
}

void log_write(const char *format, ...) __attribute__((format(printf, 1, 2)));

// Always printed (to stderr, and to the -D file when one is set).
void warn(const char *format, ...) __attribute__((format(printf, 1, 2)));

} // namespace sable

#define SABLE_LOG(category, ...)                                               \
  do {                                                                         \
    if (::sable::log_enabled(category))                                        \
      ::sable::log_write(__VA_ARGS__);                                         \
  } while (0)

// Logs the first occurrence at this call site only; for unimplemented
// features a guest may hit in a loop.
#define SABLE_LOG_ONCE(category, ...)                                          \
  do {                                                                         \
    static std::atomic<bool> sable_logged_{false};                             \
    if (::sable::log_enabled(category) && !sable_logged_.exchange(true))       \
      ::sable::log_write(__VA_ARGS__);                                         \
  } while (0)

#define SABLE_WARN_ONCE(...)                                                   \
  do {                                                                         \
    static std::atomic<bool> sable_warned_{false};                             \
    if (!sable_warned_.exchange(true))                                         \
      ::sable::warn(__VA_ARGS__);                                              \
  } while (0)
