/*
 * pool_vec.h -- hand-vectorised max-pooling row kernels for the ISA paths
 * (pool_vec_avx512.c, compiled with that path's flags in CMakeLists.txt).
 * pool2d.c asks pydl_pool_smax_s2k3_get() and pydl_pool_smax_2x2_get(), and
 * maxpool2x2.c the pydl_pool_smax2x2_code_*_get() pair, for the kernels of
 * the current path (pydl_isa_get()); NULL means none, and the
 * portable loops of pool2d_impl.h run instead.
 *
 * smax_s2k3: the interior of one output row of a float max-pool with a
 * window 3 columns wide, column stride 2, no column dilation:
 *     out[ow] = max over r in {a, b, c}, t in {0, 1, 2} of r[2*ow + t],
 *     for ow in [lo, hi).
 * a, b, c are the window's input rows, already shifted by the left padding
 * (pass one row twice, or three times, for a window of 2 or 1 rows).  The
 * kernel reads r[2*lo .. 2*hi] of each row and nothing else.  It returns 0,
 * or 1 when one of the elements it read is NaN: out[lo, hi) is then
 * unspecified and the caller redoes the row with the NaN rule (pydl.h).
 */
#ifndef PYDL_POOL_VEC_H
#define PYDL_POOL_VEC_H

#include <stdint.h>

typedef int (*pydl_smax_s2k3_fn)(const float *a, const float *b, const float *c, int64_t lo,
                                 int64_t hi, float *out);

/* smax_2x2: 2x2 windows at column stride 2, with or without indices, the
 * contract of pool2d_impl.h's POOL_MAX_2X2 exactly (same taps in the same
 * order with the same comparisons, so the same values and indices):
 *     out[ow] = max of r0[2*ow], r0[2*ow + 1], r1[2*ow], r1[2*ow + 1],
 *     idx[ow] = origin + 2*ow + (0, 1, w or w + 1) for the chosen tap,
 * for ow in [lo, hi); idx may be NULL. */
typedef void (*pydl_smax_2x2_fn)(const float *r0, const float *r1, int64_t lo, int64_t hi,
                                 float *out, int64_t *idx, int64_t origin, int32_t w);

/* smax2x2_code: output rows [r0, r1) of pydl_smaxpool2x2_fwd / _bwd
 * (pydl.h; x or grad_x of h x w planes, row r being window row r % (h/2) of
 * plane r / (h/2)), the contract of maxpool2x2_impl.h's row loops exactly
 * (the same values, codes and gradients, bit for bit):
 *   fwd: y and code of those rows; reads the two input rows under each and
 *        nothing else;
 *   bwd: the input rows under those rows (and a plane's odd last row after
 *        its last output row) of grad_x, from grad_y and code; code holds
 *        n_codes bytes, all of which it may read. */
typedef void (*pydl_smax2x2_code_fwd_fn)(const float *x, int64_t h, int64_t w, int64_t r0,
                                         int64_t r1, int relu, float *y, uint8_t *code);
typedef void (*pydl_smax2x2_code_bwd_fn)(const float *grad_y, const uint8_t *code, int64_t h,
                                         int64_t w, int64_t r0, int64_t r1, int64_t n_codes,
                                         float *grad_x);

/* The kernels of the current path, or NULL (pool2d.c, maxpool2x2.c). */
pydl_smax_s2k3_fn pydl_pool_smax_s2k3_get(void);
pydl_smax_2x2_fn pydl_pool_smax_2x2_get(void);
pydl_smax2x2_code_fwd_fn pydl_pool_smax2x2_code_fwd_get(void);
pydl_smax2x2_code_bwd_fn pydl_pool_smax2x2_code_bwd_get(void);

#ifdef PYDL_HAVE_X86_KERNELS
int pydl_smax_s2k3_avx512(const float *a, const float *b, const float *c, int64_t lo,
                          int64_t hi, float *out);
void pydl_smax_2x2_avx512(const float *r0, const float *r1, int64_t lo, int64_t hi, float *out,
                          int64_t *idx, int64_t origin, int32_t w);
void pydl_smax2x2_code_fwd_avx512(const float *x, int64_t h, int64_t w, int64_t r0, int64_t r1,
                                  int relu, float *y, uint8_t *code);
void pydl_smax2x2_code_bwd_avx512(const float *grad_y, const uint8_t *code, int64_t h,
                                  int64_t w, int64_t r0, int64_t r1, int64_t n_codes,
                                  float *grad_x);
#endif

#endif /* PYDL_POOL_VEC_H */
