// The guest-side CPU benchmark of bench/linux-boot: integer arithmetic,
// random memory reads (a dependent pointer chase over 32 MiB, one cache
// line per step) and sequential memory reads (passes over the same 32 MiB),
// each timed inside the guest with clock_gettime(CLOCK_MONOTONIC).
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

enum {
  kIntegerIterations = 20 * 1000 * 1000,
  kRegionBytes = 32 << 20,
  kLine = 64,
  kLines = kRegionBytes / kLine,
  kChaseSteps = 4 * 1000 * 1000,
  kSequentialPasses = 4,
};

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static uint64_t integer_work(void) {
  uint64_t x = 88172645463325252ull, sum = 0;
  for (uint32_t i = 0; i < kIntegerIterations; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    sum += (x * 2654435761u) ^ (x >> (i & 31)) ^ (x % 1000003u);
  }
  return sum;
}

int main(void) {
  uint64_t *region = malloc(kRegionBytes);
  uint32_t *order = malloc(kLines * sizeof *order);
  if (!region || !order) {
    fprintf(stderr, "cpubench: out of memory\n");
    return 1;
  }
  // One random cycle through every line (Sattolo's algorithm), so the
  // chase visits all of them before it repeats.
  uint64_t seed = 0x9e3779b97f4a7c15ull;
  for (uint32_t i = 0; i < kLines; ++i)
    order[i] = i;
  for (uint32_t i = kLines - 1; i > 0; --i) {
    seed = seed * 6364136223846793005ull + 1442695040888963407ull;
    uint32_t j = (uint32_t)((seed >> 33) % i);
    uint32_t t = order[i];
    order[i] = order[j];
    order[j] = t;
  }
  const size_t words_per_line = kLine / sizeof(uint64_t);
  for (uint32_t i = 0; i < kLines; ++i)
    for (size_t w = 0; w < words_per_line; ++w)
      region[(size_t)order[i] * words_per_line + w] =
          (uint64_t)order[(i + 1) % kLines] * words_per_line;

  double start = now();
  uint64_t integer_sum = integer_work();
  double integer_s = now() - start;

  start = now();
  uint64_t at = 0;
  for (uint32_t step = 0; step < kChaseSteps; ++step)
    at = region[at];
  double random_s = now() - start;

  start = now();
  uint64_t sequential_sum = 0;
  for (int pass = 0; pass < kSequentialPasses; ++pass)
    for (size_t i = 0; i < kRegionBytes / sizeof(uint64_t); ++i)
      sequential_sum += region[i];
  double sequential_s = now() - start;

  printf("cpubench: integer %.3f s (%d iterations, checksum %llx)\n", integer_s,
         kIntegerIterations, (unsigned long long)integer_sum);
  printf("cpubench: random-memory %.3f s (%d dependent reads over %d MiB, "
         "ended at %llx)\n",
         random_s, kChaseSteps, kRegionBytes >> 20, (unsigned long long)at);
  printf("cpubench: sequential-memory %.3f s (%d passes over %d MiB, "
         "checksum %llx)\n",
         sequential_s, kSequentialPasses, kRegionBytes >> 20,
         (unsigned long long)sequential_sum);
  fflush(stdout);
  free(order);
  free(region);
  return 0;
}
