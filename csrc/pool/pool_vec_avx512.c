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
 *
 * The 2x2 kernels (smax_2x2, smax2x2_code) share pv_taps2x2 (a row pair's 32
 * columns split into the four taps of sixteen windows) and max2x2_avx512.h
 * (the tie and NaN rule, with the chosen tap, and the ReLU after it).
 */
#include <immintrin.h>

#include "max2x2_avx512.h"
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

/* The four taps of sixteen 2x2 windows starting at column 2*j0 of the rows
 * r0 and r1, n >= 1 of them real (the rest read nothing, as zeros). */
static inline void pv_taps2x2(const float *r0, const float *r1, int64_t n, __m512 *a, __m512 *b,
                              __m512 *c, __m512 *d)
{
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26,
                                           28, 30);
    const __m512i odd = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27,
                                          29, 31);
    const __mmask16 m0 = pv_mask(2 * n), m1 = pv_mask(2 * n - 16);
    const __m512 x0 = _mm512_maskz_loadu_ps(m0, r0);
    const __m512 x1 = _mm512_maskz_loadu_ps(m1, r0 + 16);
    const __m512 y0 = _mm512_maskz_loadu_ps(m0, r1);
    const __m512 y1 = _mm512_maskz_loadu_ps(m1, r1 + 16);
    *a = _mm512_permutex2var_ps(x0, even, x1);
    *b = _mm512_permutex2var_ps(x0, odd, x1);
    *c = _mm512_permutex2var_ps(y0, even, y1);
    *d = _mm512_permutex2var_ps(y0, odd, y1);
}

/* smax_2x2, sixteen outputs at a time; the tap's offset in the plane is
 * (tap & 1) + (tap >> 1) * w. */
void pydl_smax_2x2_avx512(const float *r0, const float *r1, int64_t lo, int64_t hi, float *out,
                          int64_t *idx, int64_t origin, int32_t w)
{
    const __m512i step = _mm512_setr_epi64(0, 2, 4, 6, 8, 10, 12, 14);
    for (int64_t ow = lo; ow < hi; ow += 16) {
        const int64_t n = hi - ow, i = 2 * ow;
        const __mmask16 mo = pv_mask(n);
        __m512 a, b, c, d;
        __m512i tap;
        pv_taps2x2(r0 + i, r1 + i, n, &a, &b, &c, &d);
        const __m512 m = pydl_max2x2_avx512(a, b, c, d, &tap);
        _mm512_mask_storeu_ps(out + ow, mo, m);
        if (idx != NULL) {
            const __m512i k = _mm512_add_epi32(
                _mm512_and_si512(tap, _mm512_set1_epi32(1)),
                _mm512_mullo_epi32(_mm512_srli_epi32(tap, 1), _mm512_set1_epi32(w)));
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

/* smax2x2_code forward, sixteen outputs of a row at a time: the window
 * rule, then the ReLU (max2x2_avx512.h).  The masks of a row's last (or
 * only) block are the same on every row. */
void pydl_smax2x2_code_fwd_avx512(const float *x, int64_t h, int64_t w, int64_t r0, int64_t r1,
                                  int relu, float *y, uint8_t *code)
{
    const int64_t out_h = h / 2, n = w / 2, last = (n - 1) / 16 * 16;
    const __mmask16 mo_last = pv_mask(n - last);
    const float *top = x + (r0 / out_h) * h * w + (r0 % out_h) * 2 * w;
    int64_t i = r0 % out_h;
    for (int64_t r = r0; r < r1; r++) {
        float *out = y + r * n;
        uint8_t *cd = code + r * n;
        for (int64_t j = 0; j < n; j += 16) {
            const __mmask16 mo = j == last ? mo_last : (__mmask16)0xFFFF;
            __m512 a, b, c, d;
            __m512i tap;
            pv_taps2x2(top + 2 * j, top + w + 2 * j, n - j, &a, &b, &c, &d);
            __m512 m = pydl_max2x2_avx512(a, b, c, d, &tap);
            if (relu) {
                m = pydl_max2x2_relu_avx512(m, &tap);
            }
            if (r * n + j + 16 <= r1 * n) {
                /* whole stores; lanes past the row land in this call's next
                 * row, written after */
                _mm512_storeu_ps(out + j, m);
                _mm_storeu_si128((__m128i *)(cd + j), _mm512_cvtepi32_epi8(tap));
            } else {
                _mm512_mask_storeu_ps(out + j, mo, m);
                _mm512_mask_cvtepi32_storeu_epi8(cd + j, mo, tap);
            }
        }
        top += 2 * w; /* the next window row: two rows down, or the next plane */
        if (++i == out_h) {
            i = 0;
            top += (h % 2) * w;
        }
    }
}

/* smax2x2_code backward, sixteen outputs of a row at a time: v = g + 0 kept
 * in the lanes whose code is the tap (+0 in the others), the two taps of a
 * window row interleaved into its 32 columns. */
void pydl_smax2x2_code_bwd_avx512(const float *grad_y, const uint8_t *code, int64_t h,
                                  int64_t w, int64_t r0, int64_t r1, int64_t n_codes,
                                  float *grad_x)
{
    const __m512i lo = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
    const __m512i hi = _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30,
                                         15, 31);
    const __m512 zero = _mm512_setzero_ps();
    const int64_t out_h = h / 2, n = w / 2;
    float *x0 = grad_x + (r0 / out_h) * h * w + (r0 % out_h) * 2 * w;
    int64_t i = r0 % out_h;
    for (int64_t r = r0; r < r1; r++) {
        float *x1 = x0 + w;
        const float *g = grad_y + r * n;
        const uint8_t *cd = code + r * n;
        for (int64_t j = 0; j < n; j += 16) {
            const int64_t left = n - j;
            const __mmask16 mo = pv_mask(left), m0 = pv_mask(2 * left),
                            m1 = pv_mask(2 * left - 16);
            __m128i c8;
            if (r * n + j + 16 <= n_codes) { /* lanes past the row read, not used */
                c8 = _mm_loadu_si128((const __m128i *)(cd + j));
            } else {
                uint8_t tail[16] = {0};
                for (int64_t t = 0; t < left; t++) {
                    tail[t] = cd[j + t];
                }
                c8 = _mm_loadu_si128((const __m128i *)tail);
            }
            const __m512i k = _mm512_cvtepu8_epi32(c8);
            const __m512 v = _mm512_add_ps(_mm512_maskz_loadu_ps(mo, g + j), zero);
            const __m512 pa =
                _mm512_maskz_mov_ps(_mm512_cmpeq_epi32_mask(k, _mm512_set1_epi32(0)), v);
            const __m512 pb =
                _mm512_maskz_mov_ps(_mm512_cmpeq_epi32_mask(k, _mm512_set1_epi32(1)), v);
            const __m512 pc =
                _mm512_maskz_mov_ps(_mm512_cmpeq_epi32_mask(k, _mm512_set1_epi32(2)), v);
            const __m512 pd =
                _mm512_maskz_mov_ps(_mm512_cmpeq_epi32_mask(k, _mm512_set1_epi32(3)), v);
            _mm512_mask_storeu_ps(x0 + 2 * j, m0, _mm512_permutex2var_ps(pa, lo, pb));
            _mm512_mask_storeu_ps(x1 + 2 * j, m0, _mm512_permutex2var_ps(pc, lo, pd));
            if (left > 8) {
                _mm512_mask_storeu_ps(x0 + 2 * j + 16, m1, _mm512_permutex2var_ps(pa, hi, pb));
                _mm512_mask_storeu_ps(x1 + 2 * j + 16, m1, _mm512_permutex2var_ps(pc, hi, pd));
            }
        }
        if (w % 2 == 1) {
            x0[w - 1] = 0;
            x1[w - 1] = 0;
        }
        x0 += 2 * w;
        if (++i == out_h) {
            i = 0;
            if (h % 2 == 1) { /* the plane's last row lies in no window */
                for (int64_t j = 0; j < w; j++) {
                    x0[j] = 0;
                }
                x0 += w;
            }
        }
    }
}
