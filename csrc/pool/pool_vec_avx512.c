/*
 * pool_vec_avx512.c -- the max-pooling row kernel of pool_vec.h for the
 * avx512 path.  Sixteen outputs at a time: the three rows' 32 inputs are
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
