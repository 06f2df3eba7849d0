/* cpu.c -- CPU feature detection and the choice of kernel path (ISA). */
#define _GNU_SOURCE
#include "pydl.h"

#include <pthread.h>
#include <string.h>
#include <time.h>

#ifndef PYDL_COMPILER
#define PYDL_COMPILER "unknown"
#endif

static const char *const isa_names[PYDL_ISA_COUNT] = {"generic", "avx2", "avx512"};

/* -1 until first use; then the path in force. */
static int current_isa = -1;

const char *pydl_isa_name(pydl_isa isa)
{
    if ((int)isa < 0 || isa >= PYDL_ISA_COUNT) {
        return NULL;
    }
    return isa_names[isa];
}

int pydl_isa_supported(pydl_isa isa)
{
    switch (isa) {
    case PYDL_ISA_GENERIC:
        return 1;
#if defined(PYDL_HAVE_X86_KERNELS) && (defined(__GNUC__) || defined(__clang__))
    /* __builtin_cpu_supports also checks that the OS saves the wide
     * registers (XCR0), so a kernel chosen here cannot raise SIGILL. */
    case PYDL_ISA_AVX2:
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case PYDL_ISA_AVX512:
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
               __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx2") &&
               __builtin_cpu_supports("fma");
#endif
    default:
        return 0;
    }
}

pydl_isa pydl_isa_best(void)
{
    for (int isa = PYDL_ISA_COUNT - 1; isa > 0; isa--) {
        if (pydl_isa_supported((pydl_isa)isa)) {
            return (pydl_isa)isa;
        }
    }
    return PYDL_ISA_GENERIC;
}

pydl_isa pydl_isa_get(void)
{
    int isa = __atomic_load_n(&current_isa, __ATOMIC_RELAXED);
    if (isa < 0) {
        isa = (int)pydl_isa_best();
        int unset = -1; /* the first caller's choice wins; all choose alike */
        __atomic_compare_exchange_n(&current_isa, &unset, isa, 0, __ATOMIC_RELAXED,
                                    __ATOMIC_RELAXED);
    }
    return (pydl_isa)__atomic_load_n(&current_isa, __ATOMIC_RELAXED);
}

int pydl_isa_set(pydl_isa isa)
{
    if (!pydl_isa_supported(isa)) {
        return PYDL_ERR_UNSUPPORTED;
    }
    __atomic_store_n(&current_isa, (int)isa, __ATOMIC_RELAXED);
    return PYDL_OK;
}

static char features[256];

static void fill_features(void)
{
    char *buf = features;
#if defined(PYDL_HAVE_X86_KERNELS) && (defined(__GNUC__) || defined(__clang__))
    {
        __builtin_cpu_init();
        /* Each name is checked with __builtin_cpu_supports (string literal
         * required, hence one line each). */
        struct { const char *name; int on; } f[] = {
            {"sse2", __builtin_cpu_supports("sse2")},
            {"sse4.2", __builtin_cpu_supports("sse4.2")},
            {"avx", __builtin_cpu_supports("avx")},
            {"avx2", __builtin_cpu_supports("avx2")},
            {"fma", __builtin_cpu_supports("fma")},
            {"avx512f", __builtin_cpu_supports("avx512f")},
            {"avx512dq", __builtin_cpu_supports("avx512dq")},
            {"avx512cd", __builtin_cpu_supports("avx512cd")},
            {"avx512bw", __builtin_cpu_supports("avx512bw")},
            {"avx512vl", __builtin_cpu_supports("avx512vl")},
            {"avx512vnni", __builtin_cpu_supports("avx512vnni")},
        };
        for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
            if (f[i].on) {
                if (buf[0] != '\0') {
                    strcat(buf, " ");
                }
                strcat(buf, f[i].name);
            }
        }
    }
#else
    (void)buf;
#endif
}

const char *pydl_cpu_features(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, fill_features);
    return features;
}

const char *pydl_compiler(void) { return PYDL_COMPILER; }

double pydl_cpu_clock_ghz(void)
{
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    /* A chain of dependent integer adds retires one add per cycle. */
    const int64_t iters = 20 * 1000 * 1000;
    struct timespec t0, t1;
    uint64_t x = 0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int64_t i = 0; i < iters; i++) {
        __asm__ volatile("add $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\t"
                         "add $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\t"
                         "add $1, %0\n\tadd $1, %0"
                         : "+r"(x));
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    const double s = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    return s > 0 ? (double)x / s * 1e-9 : 0.0;
#else
    return 0.0;
#endif
}
