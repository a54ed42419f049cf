#include "machine/main.h"

#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "machine/log.h"
#include "machine/machine.h"
#include "machine/options.h"

namespace sable {

int sable_main(int argc, char **argv) {
  Options options;
  try {
    options = parse_options(std::vector<std::string>(argv + 1, argv + argc));
  } catch (const UsageError &e) {
    std::string message = e.what();
    // Help lists (-d help, -device help) are answers, not errors.
    bool is_list = message.find('\n') != std::string::npos ||
                   message.rfind("supported ", 0) == 0;
    std::fprintf(is_list ? stdout : stderr, is_list ? "%s\n" : "sable: %s\n",
                 message.c_str());
    return is_list ? 0 : 1;
  }
  if (options.show_help) {
    std::fputs(usage_text().c_str(), stdout);
    return 0;
  }
  if (options.show_version) {
    std::printf("sable version %s\n", SABLE_VERSION);
    return 0;
  }
  set_log_mask(options.log_mask);
  std::string error;
  if (!options.log_file.empty() && !set_log_file(options.log_file, error)) {
    std::fprintf(stderr, "sable: -D: %s\n", error.c_str());
    return 1;
  }
  try {
    Machine machine(options);
    return machine.run();
  } catch (const std::exception &e) {
    std::fprintf(stderr, "sable: %s\n", e.what());
    return 1;
  }
}

} // namespace sable
