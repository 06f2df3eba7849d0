/*
 * maxpool2x2.c -- 2x2 stride-2 max pooling with a compact in-window code per
 * output, and its backward, for float and double (pydl.h).  The row loops
 * and drivers are written once in maxpool2x2_impl.h and included here once
 * per element type; float rows go through the path's vector kernels
 * (pool_vec.h) where there are some.
 */
#include <stddef.h>
#include <stdint.h>

#include "parallel.h"
#include "pool_vec.h"
#include "pydl.h"

/* The tap rule of pool2d_impl.h's POOL_TAKES_REV: walking the taps in
 * reverse, an earlier tap v replaces the best b if v >= b or v is NaN. */
#define MP_TAKES_REV(v, b) (((v) >= (b)) | ((v) != (v)))

pydl_smax2x2_code_fwd_fn pydl_pool_smax2x2_code_fwd_get(void)
{
#ifdef PYDL_HAVE_X86_KERNELS
    if (pydl_isa_get() == PYDL_ISA_AVX512) {
        return pydl_smax2x2_code_fwd_avx512;
    }
#endif
    return NULL;
}

pydl_smax2x2_code_bwd_fn pydl_pool_smax2x2_code_bwd_get(void)
{
#ifdef PYDL_HAVE_X86_KERNELS
    if (pydl_isa_get() == PYDL_ISA_AVX512) {
        return pydl_smax2x2_code_bwd_avx512;
    }
#endif
    return NULL;
}

/* Threads for a call over `elements` input elements: one when small. */
static int mp_threads(int64_t elements, int n_threads)
{
    const int nt = n_threads > 0 ? n_threads : pydl_threads_get();
    return elements < ((int64_t)1 << 15) ? 1 : nt;
}

/* Output rows [*r0, *r1) of the calling thread, out of rows: thread t of
 * the team owns a contiguous range. */
static void mp_rows(int64_t rows, int64_t *r0, int64_t *r1)
{
    const int t = pydl_omp_thread_num(), team = pydl_omp_num_threads();
    *r0 = rows * t / team;
    *r1 = rows * (t + 1) / team;
}

/* No vector row kernels for double: their types, and always none. */
typedef void (*mp_dfwd_fn)(const double *x, int64_t h, int64_t w, int64_t r0, int64_t r1,
                           int relu, double *y, uint8_t *code);
typedef void (*mp_dbwd_fn)(const double *grad_y, const uint8_t *code, int64_t h, int64_t w,
                           int64_t r0, int64_t r1, int64_t n_codes, double *grad_x);

/* float */
#define MP_T float
#define MP_FWD pydl_smaxpool2x2_fwd
#define MP_BWD pydl_smaxpool2x2_bwd
#define MP_ROWS_FWD smp_rows_fwd
#define MP_ROWS_BWD smp_rows_bwd
#define MP_VEC_FWD_FN pydl_smax2x2_code_fwd_fn
#define MP_VEC_BWD_FN pydl_smax2x2_code_bwd_fn
#define MP_VEC_FWD() pydl_pool_smax2x2_code_fwd_get()
#define MP_VEC_BWD() pydl_pool_smax2x2_code_bwd_get()
#include "maxpool2x2_impl.h"
#undef MP_T
#undef MP_FWD
#undef MP_BWD
#undef MP_ROWS_FWD
#undef MP_ROWS_BWD
#undef MP_VEC_FWD_FN
#undef MP_VEC_BWD_FN
#undef MP_VEC_FWD
#undef MP_VEC_BWD

/* double */
#define MP_T double
#define MP_FWD pydl_dmaxpool2x2_fwd
#define MP_BWD pydl_dmaxpool2x2_bwd
#define MP_ROWS_FWD dmp_rows_fwd
#define MP_ROWS_BWD dmp_rows_bwd
#define MP_VEC_FWD_FN mp_dfwd_fn
#define MP_VEC_BWD_FN mp_dbwd_fn
#define MP_VEC_FWD() ((mp_dfwd_fn)NULL)
#define MP_VEC_BWD() ((mp_dbwd_fn)NULL)
#include "maxpool2x2_impl.h"
