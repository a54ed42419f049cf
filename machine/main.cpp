#include "machine/main.h"

#include <cstdio>

namespace sable {

int sable_main(int, char **) {
  std::fprintf(stderr, "sable: no engine yet\n");
  return 1;
}

} // namespace sable
