/*
 * pool2d.c -- 2-D max and average pooling for float and double (pydl.h).
 *
 * The kernels are written once in pool2d_impl.h and included here once per
 * element type; this file holds the window arithmetic they share.
 */
#include <stddef.h>
#include <stdint.h>

#include "parallel.h"
#include "pydl.h"

/* Taps t in [t0, t1) of a window whose tap t reads position
 * o*stride - pad + t*dil, kept to those inside [0, size). */
static void pool_taps(int64_t o, int64_t stride, int64_t pad, int64_t dil, int64_t k,
                      int64_t size, int64_t *t0, int64_t *t1)
{
    const int64_t start = o * stride - pad;
    int64_t a = start >= 0 ? 0 : (-start + dil - 1) / dil;
    int64_t b = size - 1 - start >= 0 ? (size - 1 - start) / dil + 1 : 0;
    a = a < k ? a : k;
    b = b < k ? b : k;
    *t0 = a;
    *t1 = b > a ? b : a;
}

/* Taps of a window starting at start >= 0 (padded coordinates) that fall
 * inside [0, size). */
static int64_t pool_count_in(int64_t start, int64_t dil, int64_t k, int64_t size)
{
    if (start > size - 1) {
        return 0;
    }
    const int64_t n = (size - 1 - start) / dil + 1;
    return n < k ? n : k;
}

/* Threads for a pooling call: one when the whole call is small. */
static int pool_threads(const pydl_pool2d_params *p, int n_threads)
{
    const int nt = n_threads > 0 ? n_threads : pydl_threads_get();
    const int64_t work = p->planes * (p->h * p->w + p->out_h * p->out_w * p->kh * p->kw);
    return work < ((int64_t)1 << 15) ? 1 : nt;
}

/* float */
#define POOL_T float
#define POOL_MAX_FWD pydl_smaxpool2d_fwd
#define POOL_MAX_BWD pydl_smaxpool2d_bwd
#define POOL_AVG_FWD pydl_savgpool2d_fwd
#define POOL_AVG_BWD pydl_savgpool2d_bwd
#define POOL_AVG_DIVISOR spool_avg_divisor
#include "pool2d_impl.h"
#undef POOL_T
#undef POOL_MAX_FWD
#undef POOL_MAX_BWD
#undef POOL_AVG_FWD
#undef POOL_AVG_BWD
#undef POOL_AVG_DIVISOR

/* double */
#define POOL_T double
#define POOL_MAX_FWD pydl_dmaxpool2d_fwd
#define POOL_MAX_BWD pydl_dmaxpool2d_bwd
#define POOL_AVG_FWD pydl_davgpool2d_fwd
#define POOL_AVG_BWD pydl_davgpool2d_bwd
#define POOL_AVG_DIVISOR dpool_avg_divisor
#include "pool2d_impl.h"
