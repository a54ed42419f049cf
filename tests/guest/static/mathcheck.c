// Floating-point results of float, double, long double (x87) and SSE code,
// printed as exact bit patterns with the exception flags each operation
// raised. The guest test runs this binary in the emulated Linux guest and on
// the host and requires the same output, byte for byte (see
// tests/guest/math-check.sh for how glibc's CPU-dependent code paths are
// kept the same on both sides).
#define _GNU_SOURCE
#include <cpuid.h>
#include <fenv.h>
#include <float.h>
#include <immintrin.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/platform/x86.h>

// Inputs go through volatile storage so that the compiler cannot fold the
// operations: each one runs at run time, under the rounding mode of the
// moment.
static volatile float vf;
static volatile double vd;
static volatile long double vl;
static float opaque_f(float x) {
  return vf = x, vf;
}
static double opaque_d(double x) {
  return vd = x, vd;
}
static long double opaque_l(long double x) {
  return vl = x, vl;
}

static const int kModes[] = {FE_TONEAREST, FE_DOWNWARD, FE_UPWARD,
                             FE_TOWARDZERO};
static const char *const kModeNames[] = {"near", "down", "up", "zero"};

// The x87 status word's exception bits (IE DE ZE OE UE PE SF) and MXCSR's
// (IE DE ZE OE UE PE), both raw: the denormal flags are not part of fenv.
static void clear_flags(void) {
  uint32_t csr;
  __asm__ volatile("fnclex");
  __asm__ volatile("stmxcsr %0" : "=m"(csr));
  csr &= ~0x3fu;
  __asm__ volatile("ldmxcsr %0" : : "m"(csr));
}

static unsigned flags(void) {
  uint16_t sw;
  uint32_t csr;
  __asm__ volatile("fnstsw %0" : "=m"(sw));
  __asm__ volatile("stmxcsr %0" : "=m"(csr));
  return (sw & 0x7fu) << 8 | (csr & 0x3fu);
}

static uint32_t bits_f(float x) {
  uint32_t b;
  memcpy(&b, &x, 4);
  return b;
}
static uint64_t bits_d(double x) {
  uint64_t b;
  memcpy(&b, &x, 8);
  return b;
}
static void print_bits_l(long double x) {
  uint64_t significand;
  uint16_t sign_exponent;
  memcpy(&significand, &x, 8);
  memcpy(&sign_exponent, (char *)&x + 8, 2);
  printf("%04x:%016llx", sign_exponent, (unsigned long long)significand);
}

static void out_f(const char *what, float x, unsigned f) {
  printf("%s = %a [%08x] fl %04x\n", what, x, bits_f(x), f);
}
static void out_d(const char *what, double x, unsigned f) {
  printf("%s = %a [%016llx] fl %04x\n", what, x, (unsigned long long)bits_d(x),
         f);
}
static void out_l(const char *what, long double x, unsigned f) {
  printf("%s = %La [", what, x);
  print_bits_l(x);
  printf("] fl %04x\n", f);
}
static void out_i(const char *what, long long x, unsigned f) {
  printf("%s = %lld [%016llx] fl %04x\n", what, x, (unsigned long long)x, f);
}

static const double kValues[] = {0.0,        -0.0,      1.0,
                                 -1.0,       0.1,       -2.5,
                                 3.0,        0.5,       1.5,
                                 7.0,        1e-310,    2.2250738585072014e-308,
                                 1e300,      -1e-5,     1e22,
                                 123456.789, INFINITY,  -INFINITY,
                                 NAN,        -NAN,      0x1.fffffep+127,
                                 1e-45,      6.0221e23, 3.14159265358979};
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static void arithmetic(void) {
  // A subset as operand pairs keeps the output a few thousand lines.
  static const double pair_values[] = {1.0,   -0.0,     0.1, 3.0, 1e-310,
                                       1e300, INFINITY, NAN, 7.0, 1e-45};
  for (unsigned m = 0; m < COUNT(kModes); ++m) {
    fesetround(kModes[m]);
    for (unsigned i = 0; i < COUNT(pair_values); ++i) {
      for (unsigned j = 0; j < COUNT(pair_values); ++j) {
        double a = pair_values[i], b = pair_values[j];
        float rf[5];
        double rd[5];
        long double rl[5];
        unsigned ff[5], fd[5], fl[5];
        for (unsigned op = 0; op < 5; ++op) {
          float xf = opaque_f((float)a), yf = opaque_f((float)b);
          clear_flags();
          rf[op] = op == 0   ? xf + yf
                   : op == 1 ? xf - yf
                   : op == 2 ? xf * yf
                   : op == 3 ? xf / yf
                             : sqrtf(xf);
          ff[op] = flags();
          double xd = opaque_d(a), yd = opaque_d(b);
          clear_flags();
          rd[op] = op == 0   ? xd + yd
                   : op == 1 ? xd - yd
                   : op == 2 ? xd * yd
                   : op == 3 ? xd / yd
                             : sqrt(xd);
          fd[op] = flags();
          long double xl = opaque_l(a) / 3, yl = opaque_l(b);
          clear_flags();
          rl[op] = op == 0   ? xl + yl
                   : op == 1 ? xl - yl
                   : op == 2 ? xl * yl
                   : op == 3 ? xl / yl
                             : sqrtl(xl);
          fl[op] = flags();
        }
        printf("arith %s %a %a: f", kModeNames[m], a, b);
        for (unsigned op = 0; op < 5; ++op)
          printf(" %08x/%02x", bits_f(rf[op]), ff[op]);
        printf(" d");
        for (unsigned op = 0; op < 5; ++op)
          printf(" %016llx/%02x", (unsigned long long)bits_d(rd[op]), fd[op]);
        printf(" l");
        for (unsigned op = 0; op < 5; ++op) {
          putchar(' ');
          print_bits_l(rl[op]);
          printf("/%04x", fl[op]);
        }
        putchar('\n');
      }
    }
  }
  fesetround(FE_TONEAREST);
}

static void fused(void) {
  static const double triples[][3] = {
      {0.1, 10.0, -1.0},
      {1.0 + 0x1p-52, 1.0 - 0x1p-53, -1.0},
      {0x1p-1000, 0x1p-100, 0x1p-1074},
      {1e308, 10.0, -0x1.fffffffffffffp+1023},
      {INFINITY, 0.0, 1.0},
      {3.0, 1.0 / 3.0, -1.0},
      {-0.0, 0.0, -0.0},
      {0x1.fffffffffffffp+1023, 2.0, -0x1.fffffffffffffp+1023}};
  char what[64];
  for (unsigned m = 0; m < COUNT(kModes); ++m) {
    fesetround(kModes[m]);
    for (unsigned i = 0; i < COUNT(triples); ++i) {
      double a = opaque_d(triples[i][0]), b = opaque_d(triples[i][1]),
             c = opaque_d(triples[i][2]);
      clear_flags();
      double d = fma(a, b, c);
      snprintf(what, sizeof what, "fma %s #%u", kModeNames[m], i);
      out_d(what, d, flags());
      clear_flags();
      float f = fmaf((float)a, (float)b, (float)c);
      snprintf(what, sizeof what, "fmaf %s #%u", kModeNames[m], i);
      out_f(what, f, flags());
      clear_flags();
      long double l = fmal(opaque_l(a) / 3, b, c);
      snprintf(what, sizeof what, "fmal %s #%u", kModeNames[m], i);
      out_l(what, l, flags());
    }
  }
  fesetround(FE_TONEAREST);
}

static void conversions(void) {
  static const double inputs[] = {2.5,          -2.5,          3.5,    0.5,
                                  -0.5,         1.49999999,    1e10,   -1e10,
                                  2147483647.5, -2147483648.5, 0x1p63, -0x1p63,
                                  1e19,         4294967295.5,  NAN,    INFINITY,
                                  16777217.0,   0x1p53 + 1,    -0.0,   1e-310};
  static const long long integers[] = {16777217,
                                       -16777219,
                                       (1ll << 53) + 1,
                                       (1ll << 62) + 3,
                                       -((1ll << 60) + 1),
                                       0x7fffffffffffffffll,
                                       -0x7fffffffffffffffll - 1,
                                       123456789};
  char what[96];
  for (unsigned m = 0; m < COUNT(kModes); ++m) {
    fesetround(kModes[m]);
    const char *mode = kModeNames[m];
    for (unsigned i = 0; i < COUNT(inputs); ++i) {
      double x = opaque_d(inputs[i]);
      long double xl = opaque_l(inputs[i]);
      float xf = opaque_f((float)inputs[i]);
#define CONVERT_I(label, expression)                                           \
  do {                                                                         \
    clear_flags();                                                             \
    long long r = (expression);                                                \
    unsigned f_ = flags();                                                     \
    snprintf(what, sizeof what, "%s %s %a", label, mode, x);                   \
    out_i(what, r, f_);                                                        \
  } while (0)
#define CONVERT_D(label, expression)                                           \
  do {                                                                         \
    clear_flags();                                                             \
    double r = (expression);                                                   \
    unsigned f_ = flags();                                                     \
    snprintf(what, sizeof what, "%s %s %a", label, mode, x);                   \
    out_d(what, r, f_);                                                        \
  } while (0)
#define CONVERT_L(label, expression)                                           \
  do {                                                                         \
    clear_flags();                                                             \
    long double r = (expression);                                              \
    unsigned f_ = flags();                                                     \
    snprintf(what, sizeof what, "%s %s %a", label, mode, x);                   \
    out_l(what, r, f_);                                                        \
  } while (0)
      // Out-of-range conversions are undefined in C; the intrinsics give
      // the instructions' defined "integer indefinite" results instead.
      CONVERT_I("cvttsd2si", _mm_cvttsd_si64(_mm_set_sd(x)));
      CONVERT_I("cvtsd2si", _mm_cvtsd_si64(_mm_set_sd(x)));
      CONVERT_I("cvttsd2si32", _mm_cvttsd_si32(_mm_set_sd(x)));
      CONVERT_I("cvtsd2si32", _mm_cvtsd_si32(_mm_set_sd(x)));
      CONVERT_I("cvtss2si", _mm_cvtss_si64(_mm_set_ss(xf)));
      CONVERT_I("cvttss2si", _mm_cvttss_si32(_mm_set_ss(xf)));
      CONVERT_I("lrint", lrint(x));
      CONVERT_I("lrintf", lrintf(xf));
      CONVERT_I("llrintl", llrintl(xl));
      CONVERT_I("lround", lround(x));
      CONVERT_I("llroundl", llroundl(xl));
      if (fabs(x) < 0x1p62) {
        CONVERT_I("(long long)l", (long long)xl);
        CONVERT_I("(unsigned)d", (long long)(unsigned)x);
      }
      if (x >= 0 && x < 0x1p63)
        CONVERT_I("(unsigned long)d", (long long)(unsigned long)x);
      CONVERT_D("rint", rint(x));
      CONVERT_D("nearbyint", nearbyint(x));
      CONVERT_D("floor", floor(x));
      CONVERT_D("ceil", ceil(x));
      CONVERT_D("trunc", trunc(x));
      CONVERT_D("round", round(x));
      CONVERT_D("roundeven", roundeven(x));
      CONVERT_D("(float)d", (double)(float)x);
      CONVERT_D("(float)(d/3)", (double)(float)(x / 3));
      CONVERT_D("(double)(l/3)", (double)(xl / 3));
      CONVERT_L("rintl", rintl(xl / 3 * 7));
      CONVERT_L("floorl", floorl(xl / 3 * 7));
      CONVERT_L("truncl", truncl(xl / 3 * 7));
      CONVERT_L("nearbyintl", nearbyintl(xl * 1.25L));
    }
    for (unsigned i = 0; i < COUNT(integers); ++i) {
      long long n = integers[i];
      volatile long long vn = n;
      volatile unsigned long long vu = (unsigned long long)n;
      clear_flags();
      float f = (float)vn;
      unsigned ff = flags();
      clear_flags();
      double d = (double)vn;
      unsigned fd = flags();
      clear_flags();
      double du = (double)vu;
      unsigned fdu = flags();
      clear_flags();
      float fu = (float)vu;
      unsigned ffu = flags();
      clear_flags();
      long double l = (long double)vu;
      unsigned fl = flags();
      printf("int %s %lld: f %08x/%02x d %016llx/%02x ud %016llx/%02x "
             "uf %08x/%02x ul ",
             mode, n, bits_f(f), ff, (unsigned long long)bits_d(d), fd,
             (unsigned long long)bits_d(du), fdu, bits_f(fu), ffu);
      print_bits_l(l);
      printf("/%04x\n", fl);
      __m128 packed = _mm_cvtepi32_ps(
          _mm_set_epi32((int)n, (int)(n >> 32), (int)(n >> 8), (int)(n >> 3)));
      float lanes[4];
      _mm_storeu_ps(lanes, packed);
      printf("cvtdq2ps %s %lld: %08x %08x %08x %08x fl %02x\n", mode, n,
             bits_f(lanes[0]), bits_f(lanes[1]), bits_f(lanes[2]),
             bits_f(lanes[3]), flags() & 0x3f);
    }
    __m128d pd = _mm_set_pd(opaque_d(-2.5), opaque_d(1e-320));
    __m128 ps = _mm_cvtpd_ps(_mm_mul_pd(pd, _mm_set1_pd(opaque_d(1.0 / 3))));
    __m128i pi = _mm_cvtps_epi32(_mm_set_ps(opaque_f(2.5f), -1.5f, 3e9f, 0.5f));
    __m128i ti =
        _mm_cvttpd_epi32(_mm_set_pd(opaque_d(-7.9), opaque_d(2147483648.0)));
    printf("packed cvt %s: %016llx %08x %08x %08x %08x %08x %08x\n", mode,
           (unsigned long long)_mm_cvtsi128_si64(_mm_castps_si128(ps)),
           _mm_extract_epi16(pi, 0) | _mm_extract_epi16(pi, 1) << 16,
           _mm_extract_epi16(pi, 2) | _mm_extract_epi16(pi, 3) << 16,
           _mm_extract_epi16(pi, 4) | _mm_extract_epi16(pi, 5) << 16,
           _mm_extract_epi16(pi, 6) | _mm_extract_epi16(pi, 7) << 16,
           _mm_extract_epi16(ti, 0) | _mm_extract_epi16(ti, 1) << 16,
           _mm_extract_epi16(ti, 2) | _mm_extract_epi16(ti, 3) << 16);
  }
  fesetround(FE_TONEAREST);
}

typedef long double (*LongUnary)(long double);
typedef long double (*LongBinary)(long double, long double);
typedef double (*DoubleUnary)(double);
typedef double (*DoubleBinary)(double, double);
typedef float (*FloatUnary)(float);
typedef float (*FloatBinary)(float, float);

static long double lgammal_only(long double x) {
  return lgammal(x);
}
static double lgamma_only(double x) {
  return lgamma(x);
}
static float lgammaf_only(float x) {
  return lgammaf(x);
}

// Functions whose glibc implementation ends in an x87 transcendental
// instruction (FSIN, FCOS, FPTAN, FPATAN, F2XM1, FYL2X, FYL2XP1) print
// "x87t" first: those instructions' results are the processor's own
// approximation, within one unit in the last place (SDM), and whether an
// exact result raises the precision flag differs between processors.
// tests/guest/math-compare.py allows exactly these two differences there.
static int uses_x87_transcendental(const char *name) {
  static const char *const names[] = {
      "sinl",  "cosl",   "tanl", "atanl",   "asinl",  "expl",
      "exp2l", "expm1l", "logl", "log2l",   "log10l", "log1pl",
      "sinhl", "tanhl",  "erfl", "lgammal", "atan2l", "powl"};
  for (unsigned i = 0; i < sizeof names / sizeof names[0]; ++i)
    if (strcmp(name, names[i]) == 0)
      return 1;
  return 0;
}

static void long_double_functions(void) {
  static const struct {
    const char *name;
    LongUnary f;
  } unary[] = {{"sinl", sinl},     {"cosl", cosl},
               {"tanl", tanl},     {"atanl", atanl},
               {"asinl", asinl},   {"expl", expl},
               {"exp2l", exp2l},   {"expm1l", expm1l},
               {"logl", logl},     {"log2l", log2l},
               {"log10l", log10l}, {"log1pl", log1pl},
               {"sqrtl", sqrtl},   {"cbrtl", cbrtl},
               {"sinhl", sinhl},   {"tanhl", tanhl},
               {"erfl", erfl},     {"lgammal", lgammal_only},
               {"logbl", logbl},   {"significandl", significandl}};
  static const struct {
    const char *name;
    LongBinary f;
  } binary[] = {{"atan2l", atan2l},
                {"powl", powl},
                {"fmodl", fmodl},
                {"remainderl", remainderl},
                {"hypotl", hypotl}};
  static const long double inputs[] = {0.0L,
                                       -0.0L,
                                       0.5L,
                                       -0.75L,
                                       1.0L,
                                       2.0L,
                                       10.0L,
                                       -3.25L,
                                       1e-4L,
                                       100.0L,
                                       1e4000L,
                                       1e-4940L,
                                       3.14159265358979323846L,
                                       1.57079632679489661923L,
                                       1e18L,
                                       6.5e4L,
                                       INFINITY,
                                       NAN};
  char what[96];
  for (unsigned m = 0; m < COUNT(kModes); ++m) {
    fesetround(kModes[m]);
    for (unsigned k = 0; k < COUNT(unary); ++k) {
      for (unsigned i = 0; i < COUNT(inputs); ++i) {
        long double x = opaque_l(inputs[i]);
        clear_flags();
        long double r = unary[k].f(x);
        unsigned f = flags();
        snprintf(what, sizeof what, "%s%s %s %La",
                 uses_x87_transcendental(unary[k].name) ? "x87t " : "",
                 unary[k].name, kModeNames[m], x);
        out_l(what, r, f);
      }
    }
    for (unsigned k = 0; k < COUNT(binary); ++k) {
      for (unsigned i = 0; i < COUNT(inputs); i += 2) {
        for (unsigned j = 1; j < COUNT(inputs); j += 3) {
          long double x = opaque_l(inputs[i]), y = opaque_l(inputs[j]);
          clear_flags();
          long double r = binary[k].f(x, y);
          unsigned f = flags();
          snprintf(what, sizeof what, "%s%s %s %La %La",
                   uses_x87_transcendental(binary[k].name) ? "x87t " : "",
                   binary[k].name, kModeNames[m], x, y);
          out_l(what, r, f);
        }
      }
    }
    long double x = opaque_l(-7.375L);
    int exponent, quotient;
    long double mantissa = frexpl(x, &exponent);
    long double integral;
    long double fraction = modfl(x / 3, &integral);
    long double rq = remquol(x, opaque_l(2.25L), &quotient);
    printf("frexpl/modfl/remquol/ldexpl/scalbnl %s: ", kModeNames[m]);
    print_bits_l(mantissa);
    printf(" %d ", exponent);
    print_bits_l(fraction);
    putchar(' ');
    print_bits_l(integral);
    putchar(' ');
    print_bits_l(rq);
    printf(" %d ", quotient);
    print_bits_l(ldexpl(x / 3, -16400));
    putchar(' ');
    print_bits_l(scalbnl(x, 12345));
    putchar('\n');
  }
  fesetround(FE_TONEAREST);
}

static void double_functions(void) {
  static const struct {
    const char *name;
    DoubleUnary f;
  } unary[] = {{"exp", exp},
               {"exp2", exp2},
               {"expm1", expm1},
               {"log", log},
               {"log2", log2},
               {"log10", log10},
               {"log1p", log1p},
               {"sin", sin},
               {"cos", cos},
               {"tan", tan},
               {"asin", asin},
               {"acos", acos},
               {"atan", atan},
               {"sinh", sinh},
               {"cosh", cosh},
               {"tanh", tanh},
               {"asinh", asinh},
               {"acosh", acosh},
               {"atanh", atanh},
               {"cbrt", cbrt},
               {"erf", erf},
               {"erfc", erfc},
               {"lgamma", lgamma_only},
               {"tgamma", tgamma},
               {"j0", j0},
               {"y1", y1}};
  static const struct {
    const char *name;
    DoubleBinary f;
  } binary[] = {
      {"pow", pow},   {"atan2", atan2},         {"hypot", hypot},
      {"fmod", fmod}, {"remainder", remainder}, {"nextafter", nextafter},
      {"fdim", fdim}, {"copysign", copysign}};
  static const struct {
    const char *name;
    FloatUnary f;
  } unary_f[] = {{"expf", expf},   {"exp2f", exp2f}, {"logf", logf},
                 {"log2f", log2f}, {"sinf", sinf},   {"cosf", cosf},
                 {"tanf", tanf},   {"atanf", atanf}, {"sinhf", sinhf},
                 {"cbrtf", cbrtf}, {"erff", erff},   {"lgammaf", lgammaf_only},
                 {"sqrtf", sqrtf}, {"asinf", asinf}, {"tanhf", tanhf}};
  static const struct {
    const char *name;
    FloatBinary f;
  } binary_f[] = {
      {"powf", powf}, {"atan2f", atan2f}, {"hypotf", hypotf}, {"fmodf", fmodf}};
  char what[96];
  for (unsigned m = 0; m < COUNT(kModes); ++m) {
    fesetround(kModes[m]);
    const char *mode = kModeNames[m];
    for (unsigned k = 0; k < COUNT(unary); ++k) {
      for (unsigned i = 0; i < COUNT(kValues); ++i) {
        double x = opaque_d(kValues[i]);
        clear_flags();
        double r = unary[k].f(x);
        unsigned f = flags();
        snprintf(what, sizeof what, "%s %s %a", unary[k].name, mode, x);
        out_d(what, r, f);
      }
    }
    for (unsigned k = 0; k < COUNT(binary); ++k) {
      for (unsigned i = 0; i < COUNT(kValues); i += 2) {
        for (unsigned j = 1; j < COUNT(kValues); j += 3) {
          double x = opaque_d(kValues[i]), y = opaque_d(kValues[j]);
          clear_flags();
          double r = binary[k].f(x, y);
          unsigned f = flags();
          snprintf(what, sizeof what, "%s %s %a %a", binary[k].name, mode, x,
                   y);
          out_d(what, r, f);
        }
      }
    }
    for (unsigned k = 0; k < COUNT(unary_f); ++k) {
      for (unsigned i = 0; i < COUNT(kValues); ++i) {
        float x = opaque_f((float)kValues[i]);
        clear_flags();
        float r = unary_f[k].f(x);
        unsigned f = flags();
        snprintf(what, sizeof what, "%s %s %a", unary_f[k].name, mode, x);
        out_f(what, r, f);
      }
    }
    for (unsigned k = 0; k < COUNT(binary_f); ++k) {
      for (unsigned i = 0; i < COUNT(kValues); i += 3) {
        for (unsigned j = 2; j < COUNT(kValues); j += 3) {
          float x = opaque_f((float)kValues[i]),
                y = opaque_f((float)kValues[j]);
          clear_flags();
          float r = binary_f[k].f(x, y);
          unsigned f = flags();
          snprintf(what, sizeof what, "%s %s %a %a", binary_f[k].name, mode, x,
                   y);
          out_f(what, r, f);
        }
      }
    }
    double s, c;
    sincos(opaque_d(1e22), &s, &c);
    printf("sincos %s 1e22: %016llx %016llx\n", mode,
           (unsigned long long)bits_d(s), (unsigned long long)bits_d(c));
  }
  fesetround(FE_TONEAREST);
}

// Precision control, masked special cases, NaN payloads, denormals and
// MXCSR's flush-to-zero and denormals-are-zero.
static void edge_cases(void) {
  static const uint16_t precision_controls[] = {0x007f, 0x027f, 0x037f};
  for (unsigned p = 0; p < COUNT(precision_controls); ++p) {
    for (unsigned m = 0; m < 4; ++m) {
      uint16_t cw = precision_controls[p] | (uint16_t)(m << 10);
      long double x = opaque_l(1.0L), y = opaque_l(3.0L),
                  z = opaque_l(1e-4940L);
      __asm__ volatile("fldcw %0" : : "m"(cw));
      clear_flags();
      long double q = x / y;
      long double s = sqrtl(y);
      long double tiny = z * y / 7;
      long double sum = y + 0x1p-30L;
      unsigned f = flags();
      uint16_t standard = 0x037f;
      __asm__ volatile("fldcw %0" : : "m"(standard));
      printf("x87 cw %04x:", cw);
      long double results[] = {q, s, tiny, sum};
      for (unsigned i = 0; i < 4; ++i) {
        putchar(' ');
        print_bits_l(results[i]);
      }
      printf(" fl %04x\n", f);
    }
  }

  uint64_t payload_bits = 0x7ff4000000000123ull; // signalling, payload 0x123
  double snan;
  memcpy(&snan, &payload_bits, 8);
  double qnan = opaque_d(NAN) * -1;
  double sn = opaque_d(snan);
  clear_flags();
  double r1 = sn + 1.0;
  unsigned f1 = flags();
  clear_flags();
  double r2 = qnan + sn;
  unsigned f2 = flags();
  clear_flags();
  long double r3 = (long double)sn;
  unsigned f3 = flags();
  clear_flags();
  float r4 = (float)sn;
  unsigned f4 = flags();
  out_d("snan+1", r1, f1);
  out_d("-qnan+snan", r2, f2);
  out_l("(long double)snan", r3, f3);
  out_f("(float)snan", r4, f4);

  long double inf = opaque_l(INFINITY), zero = opaque_l(0.0L);
  clear_flags();
  long double inf_minus_inf = inf - inf;
  unsigned fi = flags();
  clear_flags();
  long double zero_times_inf = zero * inf;
  unsigned fz = flags();
  clear_flags();
  long double zero_by_zero = zero / zero;
  unsigned fzz = flags();
  clear_flags();
  long double one_by_zero = opaque_l(-1.0L) / zero;
  unsigned fo = flags();
  out_l("inf-inf", inf_minus_inf, fi);
  out_l("0*inf", zero_times_inf, fz);
  out_l("0/0", zero_by_zero, fzz);
  out_l("-1/0", one_by_zero, fo);

  // An unnormal (integer bit clear, exponent nonzero) is invalid on x87.
  long double unnormal;
  uint64_t unnormal_significand = 0x4000000000000000ull;
  uint16_t unnormal_exponent = 0x3fff;
  memcpy(&unnormal, &unnormal_significand, 8);
  memcpy((char *)&unnormal + 8, &unnormal_exponent, 2);
  memset((char *)&unnormal + 10, 0, sizeof unnormal - 10);
  clear_flags();
  long double un = opaque_l(unnormal) + 1;
  out_l("unnormal+1", un, flags());

  static const uint32_t csr_modes[] = {0x1f80, 0x9f80, 0x1fc0, 0x9fc0};
  for (unsigned i = 0; i < COUNT(csr_modes); ++i) {
    uint32_t csr = csr_modes[i];
    __asm__ volatile("ldmxcsr %0" : : "m"(csr));
    double tiny = opaque_d(0x1p-1070);
    float tiny_f = opaque_f(0x1p-140f);
    double a = tiny * 0.75;
    double b = opaque_d(0x1p-1020) * 0x1p-20;
    double c = tiny + 0.0;
    float d = tiny_f * 3;
    float e = (float)opaque_d(0x1p-130);
    unsigned f = flags();
    uint32_t standard = 0x1f80;
    __asm__ volatile("ldmxcsr %0" : : "m"(standard));
    printf("mxcsr %08x: %016llx %016llx %016llx %08x %08x fl %02x\n", csr,
           (unsigned long long)bits_d(a), (unsigned long long)bits_d(b),
           (unsigned long long)bits_d(c), bits_f(d), bits_f(e), f & 0x3f);
  }
}

static void print_vector(const char *what, __m128i v) {
  uint32_t lanes[4];
  _mm_storeu_si128((__m128i *)lanes, v);
  printf("%s: %08x %08x %08x %08x\n", what, lanes[0], lanes[1], lanes[2],
         lanes[3]);
}

static void sse2(void) {
  __m128 a = _mm_set_ps(opaque_f(1.5f), -0.0f, NAN, 3.0f);
  __m128 b = _mm_set_ps(opaque_f(-2.25f), 0.0f, 1.0f, NAN);
  clear_flags();
  print_vector("minps", _mm_castps_si128(_mm_min_ps(a, b)));
  print_vector("maxps", _mm_castps_si128(_mm_max_ps(a, b)));
  print_vector("cmpunordps", _mm_castps_si128(_mm_cmpunord_ps(a, b)));
  print_vector("cmpltps", _mm_castps_si128(_mm_cmplt_ps(a, b)));
  print_vector("sqrtps", _mm_castps_si128(_mm_sqrt_ps(b)));
  print_vector("addps", _mm_castps_si128(_mm_add_ps(a, b)));
  print_vector("divps", _mm_castps_si128(_mm_div_ps(a, b)));
  printf("sse2 float flags %02x\n", flags() & 0x3f);
  // RCPPS and RSQRTPS approximations are implementation-specific; the
  // software CPU computes them with the host's instruction, so they match.
  __m128 positive = _mm_set_ps(opaque_f(3.0f), 0.1f, 1e-3f, 12345.0f);
  print_vector("rcpps", _mm_castps_si128(_mm_rcp_ps(positive)));
  print_vector("rsqrtps", _mm_castps_si128(_mm_rsqrt_ps(positive)));
  __m128d x = _mm_set_pd(opaque_d(1.0 / 3), -1e300);
  __m128d y = _mm_set_pd(opaque_d(3.0), 1e300);
  clear_flags();
  print_vector("mulpd", _mm_castpd_si128(_mm_mul_pd(x, y)));
  print_vector("minpd", _mm_castpd_si128(_mm_min_pd(x, y)));
  print_vector("sqrtpd", _mm_castpd_si128(_mm_sqrt_pd(x)));
  printf("comisd lt %d ucomisd eq %d flags %02x\n", _mm_comilt_sd(x, y),
         _mm_ucomieq_sd(_mm_set_sd(NAN), y), flags() & 0x3f);

  __m128i i = _mm_set_epi32((int)0x80007fff, 0x12345678, -5, 0x7fff8001);
  __m128i j =
      _mm_set_epi32(0x00020003, (int)0xfedcba98, 0x7fffffff, 0x00018000);
  print_vector("madd", _mm_madd_epi16(i, j));
  print_vector("mulhi", _mm_mulhi_epi16(i, j));
  print_vector("mulhu", _mm_mulhi_epu16(i, j));
  print_vector("mul_epu32", _mm_mul_epu32(i, j));
  print_vector("sad", _mm_sad_epu8(i, j));
  print_vector("avg", _mm_avg_epu8(i, j));
  print_vector("packs32", _mm_packs_epi32(i, j));
  print_vector("packus16", _mm_packus_epi16(i, j));
  print_vector("adds16", _mm_adds_epi16(i, j));
  print_vector("subs_epu8", _mm_subs_epu8(i, j));
  print_vector("sra32", _mm_srai_epi32(i, 7));
  print_vector("sll64", _mm_sll_epi64(i, _mm_cvtsi32_si128(13)));
  print_vector("unpacklo8", _mm_unpacklo_epi8(i, j));
  print_vector("unpackhi64", _mm_unpackhi_epi64(i, j));
  print_vector("shuffle32", _mm_shuffle_epi32(i, 0x1b));
  print_vector("shufflehi", _mm_shufflehi_epi16(i, 0x72));
  print_vector("shufps", _mm_castps_si128(_mm_shuffle_ps(
                             _mm_castsi128_ps(i), _mm_castsi128_ps(j), 0x4e)));
  print_vector("bsrli", _mm_srli_si128(i, 5));
  print_vector("cmpgt8", _mm_cmpgt_epi8(i, j));
  printf("movemask %04x %x\n", _mm_movemask_epi8(i),
         _mm_movemask_ps(_mm_castsi128_ps(j)));
}

__attribute__((target("sse4.1,ssse3,sse3"))) static void sse4(void) {
  __m128 a = _mm_set_ps(opaque_f(1.5f), 2.5f, -3.5f, 0.1f);
  __m128 b = _mm_set_ps(opaque_f(4.0f), -1.0f, 0.5f, 7.0f);
  print_vector("haddps", _mm_castps_si128(_mm_hadd_ps(a, b)));
  print_vector("addsubps", _mm_castps_si128(_mm_addsub_ps(a, b)));
  print_vector("dpps", _mm_castps_si128(_mm_dp_ps(a, b, 0xf3)));
  print_vector("blendvps", _mm_castps_si128(_mm_blendv_ps(a, b, a)));
  for (int mode = 0; mode < 5; ++mode) {
    __m128 r = mode == 0   ? _mm_round_ps(a, _MM_FROUND_TO_NEAREST_INT)
               : mode == 1 ? _mm_round_ps(a, _MM_FROUND_TO_NEG_INF)
               : mode == 2 ? _mm_round_ps(a, _MM_FROUND_TO_POS_INF)
               : mode == 3 ? _mm_round_ps(a, _MM_FROUND_TO_ZERO)
                           : _mm_round_ps(a, _MM_FROUND_CUR_DIRECTION);
    print_vector("roundps", _mm_castps_si128(r));
  }
  __m128d d = _mm_set_pd(opaque_d(-2.5), 1e300);
  print_vector("roundpd", _mm_castpd_si128(_mm_round_pd(d, _MM_FROUND_FLOOR)));
  print_vector("dppd", _mm_castpd_si128(_mm_dp_pd(d, d, 0x31)));
  __m128i i = _mm_set_epi32((int)0x80007fff, 0x12345678, -5, 0x7fff8001);
  __m128i j =
      _mm_set_epi32(0x00020003, (int)0xfedcba98, 0x7fffffff, 0x00018000);
  print_vector("pshufb", _mm_shuffle_epi8(i, j));
  print_vector("pmaddubsw", _mm_maddubs_epi16(i, j));
  print_vector("pmulhrsw", _mm_mulhrs_epi16(i, j));
  print_vector("palignr", _mm_alignr_epi8(i, j, 7));
  print_vector("pminsd", _mm_min_epi32(i, j));
  print_vector("pmulld", _mm_mullo_epi32(i, j));
  print_vector("pmuldq", _mm_mul_epi32(i, j));
  print_vector("packusdw", _mm_packus_epi32(i, j));
  print_vector("pmovsxbw", _mm_cvtepi8_epi16(i));
  print_vector("mpsadbw", _mm_mpsadbw_epu8(i, j, 5));
  print_vector("phminposuw", _mm_minpos_epu16(j));
  print_vector("insertps", _mm_castps_si128(_mm_insert_ps(a, b, 0x9a)));
  printf("ptest %d %d extractps %08x\n", _mm_testz_si128(i, j),
         _mm_testc_si128(i, i), _mm_extract_ps(a, 2));
}

// Decimal conversions of glibc (which use the current rounding mode).
static void printing(void) {
  static const long double values[] = {
      1.0L / 3,  LDBL_MAX, LDBL_MIN, LDBL_TRUE_MIN, 3.14159265358979323846L,
      -1e-4000L, 0.1L};
  for (unsigned m = 0; m < COUNT(kModes); ++m) {
    fesetround(kModes[m]);
    for (unsigned i = 0; i < COUNT(values); ++i) {
      long double x = opaque_l(values[i]);
      printf("printl %s %.30Lg | %.20Le | %.3Lf\n", kModeNames[m], x, x,
             x < 1e30L ? x : 0.0L);
      double d = opaque_d((double)values[i]);
      printf("printd %s %.17g | %.40e\n", kModeNames[m], d, d);
    }
    static const char *const texts[] = {
        "0.1",
        "1e-4950",
        "2.5e-324",
        "0x1.fffp+16383",
        "1.00000000000000011102230246251565404236316680908203125",
        "123456789012345678901234567890",
        "nan(0x123)",
        "-inf"};
    for (unsigned i = 0; i < COUNT(texts); ++i) {
      long double l = strtold(texts[i], NULL);
      double d = strtod(texts[i], NULL);
      float f = strtof(texts[i], NULL);
      printf("strto %s %s: ", kModeNames[m], texts[i]);
      print_bits_l(l);
      printf(" %016llx %08x\n", (unsigned long long)bits_d(d), bits_f(f));
    }
  }
  fesetround(FE_TONEAREST);
}

int main(void) {
  // The features glibc's ifunc resolvers see: host and guest must agree for
  // their libm code paths (and so their results) to be the same.
  printf("mathcheck: begin\n");
  printf("glibc features: SSE2 %d SSSE3 %d SSE4_1 %d SSE4_2 %d AVX %d AVX2 %d "
         "FMA %d FMA4 %d\n",
         CPU_FEATURE_ACTIVE(SSE2), CPU_FEATURE_ACTIVE(SSSE3),
         CPU_FEATURE_ACTIVE(SSE4_1), CPU_FEATURE_ACTIVE(SSE4_2),
         CPU_FEATURE_ACTIVE(AVX), CPU_FEATURE_ACTIVE(AVX2),
         CPU_FEATURE_ACTIVE(FMA), CPU_FEATURE_ACTIVE(FMA4));
  arithmetic();
  fused();
  conversions();
  long_double_functions();
  double_functions();
  edge_cases();
  sse2();
  // The processor's own CPUID bits, not glibc's view (which tunables and
  // the vendor string change): this part tests the instructions themselves.
  unsigned eax, ebx, ecx, edx;
  if (__get_cpuid(1, &eax, &ebx, &ecx, &edx) && (ecx & bit_SSE4_1) &&
      (ecx & bit_SSSE3) && (ecx & bit_SSE3))
    sse4();
  else
    printf("no SSE4.1\n");
  printing();
  printf("mathcheck: end\n");
  return 0;
}
