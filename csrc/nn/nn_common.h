/*
 * nn_common.h -- what the neural-network kernels of csrc/nn/ share: the work
 * split, the thread decision and the fixed-order sums.
 *
 * Work split.  Element-wise kernels walk their n elements in blocks of
 * NN_BLOCK (the last one shorter); a block is one work item, processed by one
 * thread with the same code whatever the thread count, so every element gets
 * the same bits on 1 or many threads.  Reductions (the losses) sum their
 * terms in at most NN_MAX_CHUNKS chunks whose bounds depend only on n, each
 * summed in order in double, then add the chunk sums in order.
 *
 * Threads.  A call whose work (elements, times a cost weight) is below
 * NN_PARALLEL_WORK runs on the calling thread alone: tiny tensors are common
 * in training and waking the thread pool costs microseconds.
 */
#ifndef PYDL_NN_COMMON_H
#define PYDL_NN_COMMON_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "parallel.h"
#include "pydl.h"

#define NN_BLOCK ((int64_t)4096)       /* elements per work item              */
#define NN_MAX_CHUNKS 64               /* chunks of a reduction               */
#define NN_PARALLEL_WORK ((int64_t)1 << 16) /* below this, one thread        */

/* Cost weights: elements of a cheap op (an add, a compare) count 1, those of
 * an op with a transcendental function or a hash count NN_COST_MATH. */
#define NN_COST_CHEAP ((int64_t)1)
#define NN_COST_MATH ((int64_t)8)

/* Threads for a call with `work` weighted elements. */
static inline int nn_threads(int64_t work, int n_threads)
{
    if (work < NN_PARALLEL_WORK) {
        return 1;
    }
    return n_threads > 0 ? n_threads : pydl_threads_get();
}

/* c ? a : b as a bitwise AND/OR on the bits (c is 0 or 1).  GCC (12) turns a
 * plain select whose arms need a multiply, or whose condition is an integer
 * load, into a branch (it sinks the multiply into it: with trapping math a
 * multiply is not speculated), which does not vectorise and mispredicts on
 * random signs; this form vectorises and gives the same bits. */
static inline float nn_sel_f(uint32_t c, float a, float b)
{
    uint32_t ua, ub;
    const uint32_t m = (uint32_t)0 - c;
    memcpy(&ua, &a, sizeof ua);
    memcpy(&ub, &b, sizeof ub);
    ua = (ua & m) | (ub & ~m);
    memcpy(&a, &ua, sizeof a);
    return a;
}

static inline double nn_sel_d(uint32_t c, double a, double b)
{
    uint64_t ua, ub;
    const uint64_t m = (uint64_t)0 - (uint64_t)c;
    memcpy(&ua, &a, sizeof ua);
    memcpy(&ub, &b, sizeof ub);
    ua = (ua & m) | (ub & ~m);
    memcpy(&a, &ua, sizeof a);
    return a;
}

/* exp(x) for float, branch-free so that loops calling it vectorise (libm's
 * expf is a scalar call): x = n ln2 + r, |r| <= ln2/2, exp(r) by Cephes'
 * expf polynomial (relative error about 1e-7, a few ulp at most), times
 * 2^n built in the exponent bits in two halves (so that results in the
 * subnormal range come out right).  exp(NaN) = NaN, exp(+inf) = +inf,
 * exp(x < -104) = 0 (x is clamped to [-104, 89], where the result is 0 or
 * +inf anyway). */
static inline float nn_expf(float x)
{
    const float magic = 12582912.0f; /* 1.5 * 2^23: adding it rounds to an integer */
    /* comparisons are false for NaN: it passes; nn_sel_f, since GCC turns a
     * plain select before FP arithmetic into branches (as for nn_sel_f) */
    x = nn_sel_f((uint32_t)(x > 89.0f), 89.0f, x);
    x = nn_sel_f((uint32_t)(x < -104.0f), -104.0f, x);
    const float t = x * 1.44269504088896341f + magic;
    const float fn = t - magic; /* n = round(x / ln2), exact */
    uint32_t tb, mb;
    memcpy(&tb, &t, sizeof tb);
    memcpy(&mb, &magic, sizeof mb);
    const int32_t n = (int32_t)(tb - mb); /* the integer n, from t's low bits */
    float r = x - fn * 0.693359375f;      /* ln2 in two parts (Cody-Waite) */
    r = r - fn * -2.12194440e-4f;
    const float z = r * r;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * z + r + 1.0f;
    const int32_t n1 = n >> 1, n2 = n - n1; /* each in [-76, 64]: normal scales */
    const uint32_t b1 = (uint32_t)(n1 + 127) << 23, b2 = (uint32_t)(n2 + 127) << 23;
    float s1, s2;
    memcpy(&s1, &b1, sizeof s1);
    memcpy(&s2, &b2, sizeof s2);
    return p * s1 * s2;
}

/* tanh(x) for float, branch-free (as nn_expf): Cephes' tanhf, an odd
 * polynomial for |x| < 0.625, else 1 - 2 / (exp(2|x|) + 1) with x's sign
 * (relative error a few 1e-7).  tanh(NaN) = NaN, tanh(+-inf) = +-1. */
static inline float nn_tanhf(float x)
{
    const float a = fabsf(x);
    const float z = x * x;
    float p = -5.70498872745e-3f;
    p = p * z + 2.06390887954e-2f;
    p = p * z - 5.37397155531e-2f;
    p = p * z + 1.33314422036e-1f;
    p = p * z - 3.33332819422e-1f;
    p = p * z * x + x;
    const float e = nn_expf(a + a);
    const float t = 1.0f - 2.0f / (e + 1.0f);
    /* x's sign on both (odd function; keeps tanh(-0) = -0) */
    return copysignf(nn_sel_f((uint32_t)(a < 0.625f), p, t), x);
}

static inline int64_t nn_min64(int64_t a, int64_t b) { return a < b ? a : b; }

/* Number of NN_BLOCK blocks of n elements. */
static inline int64_t nn_blocks(int64_t n) { return (n + NN_BLOCK - 1) / NN_BLOCK; }

/* A reduction over `items` (elements or rows) with at least `min_items` per
 * chunk: the chunk count (1..NN_MAX_CHUNKS, 0 when items == 0) and, through
 * *per, the items of each chunk but the last. */
static inline int64_t nn_chunks(int64_t items, int64_t min_items, int64_t *per)
{
    if (items <= 0) {
        *per = 0;
        return 0;
    }
    int64_t chunks = (items + min_items - 1) / min_items;
    chunks = chunks < NN_MAX_CHUNKS ? chunks : NN_MAX_CHUNKS;
    *per = (items + chunks - 1) / chunks;
    return (items + *per - 1) / *per;
}

#endif /* PYDL_NN_COMMON_H */
