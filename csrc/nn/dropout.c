/*
 * dropout.c -- inverted dropout with a counter-based random stream, for
 * float and double (pydl.h).  The kernels are written once in
 * dropout_impl.h and included here once per element type; this file holds
 * the random stream they share.
 */
#include <math.h>
#include <stdint.h>

#include "nn_common.h"
#include "pydl.h"

#define DROPOUT_GAMMA UINT64_C(0x9E3779B97F4A7C15) /* SplitMix64's increment */

/* SplitMix64's output function applied to state z + gamma (Steele, Lea and
 * Flood 2014): the first output of a SplitMix64 generator seeded with z. */
static inline uint64_t dropout_splitmix64(uint64_t z)
{
    z += DROPOUT_GAMMA;
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

/* ceil(p * 2^53): element i is kept iff the top 53 bits of its hash, as an
 * integer u in [0, 2^53), satisfy u >= ceil(p * 2^53), i.e. u / 2^53 >= p. */
static inline uint64_t dropout_threshold(double p)
{
    return (uint64_t)ceil(p * 9007199254740992.0);
}

/* Keep bit of element i: output i of the SplitMix64 generator seeded with
 * key = splitmix64(seed), i.e. splitmix64(key + i * gamma).  u >= threshold
 * is computed as the sign of u - threshold (both are below 2^54), which
 * vectorises where a 64-bit unsigned compare does not (SSE2). */
static inline uint32_t dropout_keep(uint64_t key, uint64_t i, uint64_t threshold)
{
    const uint64_t u = dropout_splitmix64(key + i * DROPOUT_GAMMA) >> 11;
    return (uint32_t)(((u - threshold) >> 63) ^ 1u);
}

/* float */
#define NN_T float
#define NN_SEL nn_sel_f
#define DROP_FWD pydl_sdropout_fwd
#define DROP_BWD pydl_sdropout_bwd
#include "dropout_impl.h"
#undef NN_T
#undef NN_SEL
#undef DROP_FWD
#undef DROP_BWD

/* double */
#define NN_T double
#define NN_SEL nn_sel_d
#define DROP_FWD pydl_ddropout_fwd
#define DROP_BWD pydl_ddropout_bwd
#include "dropout_impl.h"
