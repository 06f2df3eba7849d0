/*
 * pool_vec_avx512.c -- the max-pooling row kernels of pool_vec.h for the
 * avx512 path.
 *
 * smax_s2k3, sixteen outputs at a time: the three rows' 32 inputs are
 * reduced vertically into two zmm, split into even and odd columns with one
 * permute each (taps 0 and 1), and the even columns shifted by one lane
 * with the 33rd input (tap 2).  NaN is only detected here (unordered compares
 * into a mask); the caller handles it.  Tails use masked loads (padding
 * lanes read nothing) and a masked store.
 */
#include <immintrin.h>

#include "pool_vec.h"

static inline __mmask16 pv_mask(int64_t n)
{
    return n >= 16 ? (__mmask16)0xFFFF : n <= 0 ? (__mmask16)0 : (__mmask16)((1u << n) - 1);
}

int pydl_smax_s2k3_avx512(const float *a, const float *b, const float *c, int64_t lo,
                          int64_t hi, float *out)
{
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26,
                                           28, 30);
    const __m512i odd = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27,
                                          29, 31);
    /* lanes 1..15 of the first operand, then lane 0 of the second */
    const __m512i next = _mm512_setr_epi32(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
                                           16);
    const __m512 ninf = _mm512_set1_ps(-__builtin_inff());
    __mmask16 nan = 0;
    int64_t ow = lo;
    for (; ow < hi; ow += 16) {
        /* n outputs left read 2n + 1 inputs */
        const int64_t i = 2 * ow, n = hi - ow, in = 2 * n + 1;
        const __mmask16 m0 = pv_mask(in), m1 = pv_mask(in - 16), m2 = pv_mask(in - 32);
        const __m512 a0 = _mm512_mask_loadu_ps(ninf, m0, a + i);
        const __m512 b0 = _mm512_mask_loadu_ps(ninf, m0, b + i);
        const __m512 c0 = _mm512_mask_loadu_ps(ninf, m0, c + i);
        const __m512 a1 = _mm512_mask_loadu_ps(ninf, m1, a + i + 16);
        const __m512 b1 = _mm512_mask_loadu_ps(ninf, m1, b + i + 16);
        const __m512 c1 = _mm512_mask_loadu_ps(ninf, m1, c + i + 16);
        const __m512 a2 = _mm512_mask_loadu_ps(ninf, m2, a + i + 32);
        const __m512 b2 = _mm512_mask_loadu_ps(ninf, m2, b + i + 32);
        const __m512 c2 = _mm512_mask_loadu_ps(ninf, m2, c + i + 32);
        nan |= _mm512_cmp_ps_mask(a0, b0, _CMP_UNORD_Q) | _mm512_cmp_ps_mask(c0, c0, _CMP_UNORD_Q) |
               _mm512_cmp_ps_mask(a1, b1, _CMP_UNORD_Q) | _mm512_cmp_ps_mask(c1, c1, _CMP_UNORD_Q) |
               _mm512_cmp_ps_mask(a2, b2, _CMP_UNORD_Q) | _mm512_cmp_ps_mask(c2, c2, _CMP_UNORD_Q);
        const __m512 v0 = _mm512_max_ps(_mm512_max_ps(a0, b0), c0);
        const __m512 v1 = _mm512_max_ps(_mm512_max_ps(a1, b1), c1);
        const __m512 v2 = _mm512_max_ps(_mm512_max_ps(a2, b2), c2);
        const __m512 t0 = _mm512_permutex2var_ps(v0, even, v1); /* r[i + 2k]     */
        const __m512 t1 = _mm512_permutex2var_ps(v0, odd, v1);  /* r[i + 2k + 1] */
        /* r[i + 2k + 2]: lane 15 comes from r[i + 32] (v2), the last lanes of
         * a tail from -inf padding that is never stored */
        const __m512 t2 = _mm512_permutex2var_ps(t0, next, v2);
        const __m512 y = _mm512_max_ps(_mm512_max_ps(t0, t1), t2);
        _mm512_mask_storeu_ps(out + ow, pv_mask(n), y);
    }
    return nan != 0;
}

/* smax_2x2, sixteen outputs at a time: each row's 32 inputs split into even
 * and odd columns (taps a, b above, c, d below); the taps are taken d, c,
 * b, a with POOL_TAKES_REV's test, (v >= m) or v is NaN, as masks. */
void pydl_smax_2x2_avx512(const float *r0, const float *r1, int64_t lo, int64_t hi, float *out,
                          int64_t *idx, int64_t origin, int32_t w)
{
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26,
                                           28, 30);
    const __m512i odd = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27,
                                          29, 31);
    const __m512i step = _mm512_setr_epi64(0, 2, 4, 6, 8, 10, 12, 14);
    for (int64_t ow = lo; ow < hi; ow += 16) {
        const int64_t n = hi - ow, i = 2 * ow;
        const __mmask16 m0 = pv_mask(2 * n), m1 = pv_mask(2 * n - 16), mo = pv_mask(n);
        const __m512 x0 = _mm512_maskz_loadu_ps(m0, r0 + i);
        const __m512 x1 = _mm512_maskz_loadu_ps(m1, r0 + i + 16);
        const __m512 y0 = _mm512_maskz_loadu_ps(m0, r1 + i);
        const __m512 y1 = _mm512_maskz_loadu_ps(m1, r1 + i + 16);
        const __m512 a = _mm512_permutex2var_ps(x0, even, x1);
        const __m512 b = _mm512_permutex2var_ps(x0, odd, x1);
        const __m512 c = _mm512_permutex2var_ps(y0, even, y1);
        const __m512 d = _mm512_permutex2var_ps(y0, odd, y1);
        __m512 m = d;
        __m512i k = _mm512_set1_epi32(w + 1);
        __mmask16 t =
            _mm512_cmp_ps_mask(c, m, _CMP_GE_OQ) | _mm512_cmp_ps_mask(c, c, _CMP_UNORD_Q);
        m = _mm512_mask_mov_ps(m, t, c);
        k = _mm512_mask_mov_epi32(k, t, _mm512_set1_epi32(w));
        t = _mm512_cmp_ps_mask(b, m, _CMP_GE_OQ) | _mm512_cmp_ps_mask(b, b, _CMP_UNORD_Q);
        m = _mm512_mask_mov_ps(m, t, b);
        k = _mm512_mask_mov_epi32(k, t, _mm512_set1_epi32(1));
        t = _mm512_cmp_ps_mask(a, m, _CMP_GE_OQ) | _mm512_cmp_ps_mask(a, a, _CMP_UNORD_Q);
        m = _mm512_mask_mov_ps(m, t, a);
        k = _mm512_mask_mov_epi32(k, t, _mm512_setzero_si512());
        _mm512_mask_storeu_ps(out + ow, mo, m);
        if (idx != NULL) {
            const __m512i base = _mm512_add_epi64(_mm512_set1_epi64(origin + i), step);
            const __m512i lo8 = _mm512_cvtepi32_epi64(_mm512_castsi512_si256(k));
            const __m512i hi8 = _mm512_cvtepi32_epi64(_mm512_extracti64x4_epi64(k, 1));
            _mm512_mask_storeu_epi64(idx + ow, (__mmask8)mo, _mm512_add_epi64(base, lo8));
            _mm512_mask_storeu_epi64(idx + ow + 8, (__mmask8)(mo >> 8),
                                     _mm512_add_epi64(_mm512_add_epi64(base, _mm512_set1_epi64(16)),
                                                      hi8));
        }
    }
}
