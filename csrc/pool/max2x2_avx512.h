/*
 * max2x2_avx512.h -- the 2x2 max-pooling window rule on sixteen windows at
 * once, for the avx512 kernels that pool (pool_vec_avx512.c, and the
 * convolution that pools its own output, conv_lanes_avx512.c).  Include
 * only from sources compiled with the avx512 path's flags.
 */
#ifndef PYDL_MAX2X2_AVX512_H
#define PYDL_MAX2X2_AVX512_H

#include <immintrin.h>

/* Taps a, b (top row) and c, d taken d, c, b, a with pool2d_impl.h's
 * POOL_TAKES_REV test, (v >= m) or v is NaN, as masks: returns the maximum
 * and sets *tap to the chosen tap (0 = a, 1 = b, 2 = c, 3 = d), so ties go to
 * the first tap in row-major order and a NaN to the first NaN. */
static inline __m512 pydl_max2x2_avx512(__m512 a, __m512 b, __m512 c, __m512 d, __m512i *tap)
{
    __m512 m = d;
    __m512i k = _mm512_set1_epi32(3);
    __mmask16 t = _mm512_cmp_ps_mask(c, m, _CMP_GE_OQ) | _mm512_cmp_ps_mask(c, c, _CMP_UNORD_Q);
    m = _mm512_mask_mov_ps(m, t, c);
    k = _mm512_mask_mov_epi32(k, t, _mm512_set1_epi32(2));
    t = _mm512_cmp_ps_mask(b, m, _CMP_GE_OQ) | _mm512_cmp_ps_mask(b, b, _CMP_UNORD_Q);
    m = _mm512_mask_mov_ps(m, t, b);
    k = _mm512_mask_mov_epi32(k, t, _mm512_set1_epi32(1));
    t = _mm512_cmp_ps_mask(a, m, _CMP_GE_OQ) | _mm512_cmp_ps_mask(a, a, _CMP_UNORD_Q);
    m = _mm512_mask_mov_ps(m, t, a);
    *tap = _mm512_mask_mov_epi32(k, t, _mm512_setzero_si512());
    return m;
}

/* ReLU after the pool, as pydl_smaxpool2x2_fwd with relu: the code 4 where
 * the maximum m is not > 0, and 0 where it is < 0 (-0 and NaN stay, as
 * pydl_srelu_fwd). */
static inline __m512 pydl_max2x2_relu_avx512(__m512 m, __m512i *tap)
{
    const __m512 zero = _mm512_setzero_ps();
    *tap = _mm512_mask_mov_epi32(_mm512_set1_epi32(4), _mm512_cmp_ps_mask(m, zero, _CMP_GT_OQ),
                                 *tap);
    return _mm512_mask_mov_ps(m, _mm512_cmp_ps_mask(m, zero, _CMP_LT_OQ), zero);
}

#endif /* PYDL_MAX2X2_AVX512_H */
