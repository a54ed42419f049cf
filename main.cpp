#include "machine/main.h"

int main(int argc, char **argv) {
  return sable::sable_main(argc, argv);
}
