/*
 * pool2d.c -- 2-D max and average pooling for float and double (pydl.h).
 *
 * The kernels are written once in pool2d_impl.h and included here once per
 * element type; this file holds the window arithmetic they share.
 */
#include <stddef.h>
#include <stdint.h>

#include "parallel.h"
#include "pool_vec.h"
#include "pydl.h"
#include "workspace.h"

pydl_smax_s2k3_fn pydl_pool_smax_s2k3_get(void)
{
#ifdef PYDL_HAVE_X86_KERNELS
    if (pydl_isa_get() == PYDL_ISA_AVX512) {
        return pydl_smax_s2k3_avx512;
    }
#endif
    return NULL;
}

pydl_smax_2x2_fn pydl_pool_smax_2x2_get(void)
{
#ifdef PYDL_HAVE_X86_KERNELS
    if (pydl_isa_get() == PYDL_ISA_AVX512) {
        return pydl_smax_2x2_avx512;
    }
#endif
    return NULL;
}

/* No vector row kernels for double: their types, and always none. */
typedef int (*pool_dmax_s2k3_fn)(const double *a, const double *b, const double *c, int64_t lo,
                                 int64_t hi, double *out);
typedef void (*pool_dmax_2x2_fn)(const double *r0, const double *r1, int64_t lo, int64_t hi,
                                 double *out, int64_t *idx, int64_t origin, int32_t w);

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

/* Outputs o in [lo, hi) have all k taps inside [0, size): there the tap
 * range is [0, k) without pool_taps's divisions. */
typedef struct pool_axis {
    int64_t stride, pad, dil, k, size, lo, hi;
} pool_axis;

static pool_axis pool_axis_make(int64_t out, int64_t stride, int64_t pad, int64_t dil, int64_t k,
                                int64_t size)
{
    pool_axis a = {stride, pad, dil, k, size, 0, 0};
    const int64_t last = size - 1 - (k - 1) * dil + pad; /* o*stride <= last */
    a.lo = (pad + stride - 1) / stride;
    a.hi = last >= 0 ? last / stride + 1 : 0;
    a.lo = a.lo < out ? a.lo : out;
    a.hi = a.hi < out ? a.hi : out;
    a.hi = a.hi > a.lo ? a.hi : a.lo;
    return a;
}

static inline void pool_axis_taps(const pool_axis *a, int64_t o, int64_t *t0, int64_t *t1)
{
    if (o >= a->lo && o < a->hi) {
        *t0 = 0;
        *t1 = a->k;
    } else {
        pool_taps(o, a->stride, a->pad, a->dil, a->k, a->size, t0, t1);
    }
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

static inline int64_t pool_min64(int64_t a, int64_t b) { return a < b ? a : b; }

/* ow, or hi if ow lies in the interior [lo, hi) that the vector loops
 * cover: for (ow = pool_skip(0, lo, hi); ow < out_w; ow = pool_skip(ow + 1,
 * lo, hi)) visits the edge columns only. */
static inline int64_t pool_skip(int64_t ow, int64_t lo, int64_t hi)
{
    return ow >= lo && ow < hi ? hi : ow;
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
#define POOL_MAX_PLANE spool_max_plane
#define POOL_MAX_PLANE_ROWS spool_max_plane_rows
#define POOL_MAX_2X2 spool_max_2x2
#define POOL_MAX_TAPS spool_max_taps
#define POOL_MAX_WINDOW spool_max_window
#define POOL_MAX_ROWS spool_max_rows
#define POOL_MAX_COLS_S2 spool_max_cols_s2
#define POOL_MAX_ROW_FAST spool_max_row_fast
#define POOL_VEC_FN pydl_smax_s2k3_fn
#define POOL_VEC_GET() pydl_pool_smax_s2k3_get()
#define POOL_VEC2_FN pydl_smax_2x2_fn
#define POOL_VEC2_GET() pydl_pool_smax_2x2_get()
#include "pool2d_impl.h"
#undef POOL_T
#undef POOL_MAX_FWD
#undef POOL_MAX_BWD
#undef POOL_AVG_FWD
#undef POOL_AVG_BWD
#undef POOL_AVG_DIVISOR
#undef POOL_MAX_PLANE
#undef POOL_MAX_PLANE_ROWS
#undef POOL_MAX_2X2
#undef POOL_MAX_TAPS
#undef POOL_MAX_WINDOW
#undef POOL_MAX_ROWS
#undef POOL_MAX_COLS_S2
#undef POOL_MAX_ROW_FAST
#undef POOL_VEC_FN
#undef POOL_VEC_GET
#undef POOL_VEC2_FN
#undef POOL_VEC2_GET

/* double */
#define POOL_T double
#define POOL_MAX_FWD pydl_dmaxpool2d_fwd
#define POOL_MAX_BWD pydl_dmaxpool2d_bwd
#define POOL_AVG_FWD pydl_davgpool2d_fwd
#define POOL_AVG_BWD pydl_davgpool2d_bwd
#define POOL_AVG_DIVISOR dpool_avg_divisor
#define POOL_MAX_PLANE dpool_max_plane
#define POOL_MAX_PLANE_ROWS dpool_max_plane_rows
#define POOL_MAX_2X2 dpool_max_2x2
#define POOL_MAX_TAPS dpool_max_taps
#define POOL_MAX_WINDOW dpool_max_window
#define POOL_MAX_ROWS dpool_max_rows
#define POOL_MAX_COLS_S2 dpool_max_cols_s2
#define POOL_MAX_ROW_FAST dpool_max_row_fast
#define POOL_VEC_FN pool_dmax_s2k3_fn
#define POOL_VEC_GET() ((pool_dmax_s2k3_fn)NULL)
#define POOL_VEC2_FN pool_dmax_2x2_fn
#define POOL_VEC2_GET() ((pool_dmax_2x2_fn)NULL)
#include "pool2d_impl.h"
