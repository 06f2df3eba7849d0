/*
 * pack_impl.h -- micro-panel packing, written once and included by the
 * pack_<isa>.c files, which compile it with their ISA's flags and a constant
 * panel width R for each packer they define.
 *
 * The packing contract (every packer, every ISA)
 * ----------------------------------------------
 *   void pack(int64_t k, int64_t mn, const T *x, int64_t rs_i, int64_t rs_p, T *dst);
 *
 *     dst[p*R + i] = x[i*rs_i + p*rs_p]   for i < mn <= R and p < k
 *     dst[p*R + i] = 0                    for mn <= i < R
 *
 * An A micro-panel is packed with i = row of A and p = column (R = MR); a B
 * micro-panel with i = column of B and p = row (R = NR).  Two layouts are
 * fast: x contiguous along i (rs_i == 1, a plain copy per p) and x contiguous
 * along p (rs_p == 1, a transpose, done in 8x8 / 4x4 register blocks on
 * AVX2).  Any other strides take the scalar loop.
 */
#include <stdint.h>

#if defined(__AVX2__)
#include <immintrin.h>

#include "lanes_avx2.h"
#endif

/* Rows to prefetch ahead when packing a panel whose rows are far apart. */
#define PACK_PREFETCH_ROWS 16
#if defined(__GNUC__) || defined(__clang__)
#define PACK_PREFETCH(ptr) __builtin_prefetch((ptr), 0, 3)
#else
#define PACK_PREFETCH(ptr) ((void)(ptr))
#endif

static inline void spack_scalar(int64_t k, int64_t mn, const float *x, int64_t rs_i,
                                int64_t rs_p, float *restrict dst, const int R)
{
    if (rs_i == 1 && mn == R) {
        /* One short run per p, rows far apart: prefetch rows ahead, as the
         * hardware prefetcher does not follow large strides. */
        for (int64_t p = 0; p < k; p++) {
            if (p + PACK_PREFETCH_ROWS < k) {
                PACK_PREFETCH(x + (p + PACK_PREFETCH_ROWS) * rs_p);
            }
            for (int i = 0; i < R; i++) {
                dst[p * R + i] = x[p * rs_p + i];
            }
        }
        return;
    }
    for (int64_t p = 0; p < k; p++) {
        for (int i = 0; i < R; i++) {
            dst[p * R + i] = i < mn ? x[i * rs_i + p * rs_p] : 0;
        }
    }
}

static inline void dpack_scalar(int64_t k, int64_t mn, const double *x, int64_t rs_i,
                                int64_t rs_p, double *restrict dst, const int R)
{
    if (rs_i == 1 && mn == R) {
        /* One short run per p, rows far apart: prefetch rows ahead, as the
         * hardware prefetcher does not follow large strides. */
        for (int64_t p = 0; p < k; p++) {
            if (p + PACK_PREFETCH_ROWS < k) {
                PACK_PREFETCH(x + (p + PACK_PREFETCH_ROWS) * rs_p);
            }
            for (int i = 0; i < R; i++) {
                dst[p * R + i] = x[p * rs_p + i];
            }
        }
        return;
    }
    for (int64_t p = 0; p < k; p++) {
        for (int i = 0; i < R; i++) {
            dst[p * R + i] = i < mn ? x[i * rs_i + p * rs_p] : 0;
        }
    }
}

#if defined(__AVX2__)

/* In-register transpose: r[q] becomes column q of the 8x8 block. */
static inline void transpose8_ps(__m256 r[8])
{
    const __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
    const __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
    const __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
    const __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
    const __m256 s0 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(1, 0, 1, 0));
    const __m256 s1 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(3, 2, 3, 2));
    const __m256 s2 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(1, 0, 1, 0));
    const __m256 s3 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(3, 2, 3, 2));
    const __m256 s4 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(1, 0, 1, 0));
    const __m256 s5 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(3, 2, 3, 2));
    const __m256 s6 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(1, 0, 1, 0));
    const __m256 s7 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(3, 2, 3, 2));
    r[0] = _mm256_permute2f128_ps(s0, s4, 0x20);
    r[1] = _mm256_permute2f128_ps(s1, s5, 0x20);
    r[2] = _mm256_permute2f128_ps(s2, s6, 0x20);
    r[3] = _mm256_permute2f128_ps(s3, s7, 0x20);
    r[4] = _mm256_permute2f128_ps(s0, s4, 0x31);
    r[5] = _mm256_permute2f128_ps(s1, s5, 0x31);
    r[6] = _mm256_permute2f128_ps(s2, s6, 0x31);
    r[7] = _mm256_permute2f128_ps(s3, s7, 0x31);
}

static inline void transpose4_pd(__m256d r[4])
{
    const __m256d t0 = _mm256_unpacklo_pd(r[0], r[1]), t1 = _mm256_unpackhi_pd(r[0], r[1]);
    const __m256d t2 = _mm256_unpacklo_pd(r[2], r[3]), t3 = _mm256_unpackhi_pd(r[2], r[3]);
    r[0] = _mm256_permute2f128_pd(t0, t2, 0x20);
    r[1] = _mm256_permute2f128_pd(t1, t3, 0x20);
    r[2] = _mm256_permute2f128_pd(t0, t2, 0x31);
    r[3] = _mm256_permute2f128_pd(t1, t3, 0x31);
}

static inline void spack_avx2(int64_t k, int64_t mn, const float *x, int64_t rs_i, int64_t rs_p,
                              float *restrict dst, const int R)
{
    if (rs_p != 1 || rs_i == 1) {
        spack_scalar(k, mn, x, rs_i, rs_p, dst, R);
        return;
    }
    /* Chunks of 8 rows, last chunk first: a partial chunk (w < 8 rows) is
     * stored with full-width stores whose spill into the next column is
     * overwritten by the chunks that follow; only the panel's very last
     * column needs a (slow) masked store. */
    int64_t p = 0;
    for (; p + 8 <= k; p += 8) {
        for (int i0 = (R - 1) / 8 * 8; i0 >= 0; i0 -= 8) {
            __m256 r[8];
            for (int i = 0; i < 8; i++) {
                r[i] = i0 + i < mn ? _mm256_loadu_ps(x + (i0 + i) * rs_i + p) : _mm256_setzero_ps();
            }
            transpose8_ps(r);
            const int w = R - i0 < 8 ? R - i0 : 8;
            for (int q = 0; q < 8; q++) {
                if (w < 8 && p + q == k - 1) {
                    _mm256_maskstore_ps(dst + (p + q) * R + i0, lanes_ps(w), r[q]);
                } else {
                    _mm256_storeu_ps(dst + (p + q) * R + i0, r[q]);
                }
            }
        }
    }
    if (p < k) {
        spack_scalar(k - p, mn, x + p, rs_i, 1, dst + p * R, R);
    }
}

static inline void dpack_avx2(int64_t k, int64_t mn, const double *x, int64_t rs_i, int64_t rs_p,
                              double *restrict dst, const int R)
{
    if (rs_p != 1 || rs_i == 1) {
        dpack_scalar(k, mn, x, rs_i, rs_p, dst, R);
        return;
    }
    int64_t p = 0;
    for (; p + 4 <= k; p += 4) {
        for (int i0 = (R - 1) / 4 * 4; i0 >= 0; i0 -= 4) {
            __m256d r[4];
            for (int i = 0; i < 4; i++) {
                r[i] = i0 + i < mn ? _mm256_loadu_pd(x + (i0 + i) * rs_i + p) : _mm256_setzero_pd();
            }
            transpose4_pd(r);
            const int w = R - i0 < 4 ? R - i0 : 4;
            for (int q = 0; q < 4; q++) {
                if (w < 4 && p + q == k - 1) {
                    _mm256_maskstore_pd(dst + (p + q) * R + i0, lanes_pd(w), r[q]);
                } else {
                    _mm256_storeu_pd(dst + (p + q) * R + i0, r[q]);
                }
            }
        }
    }
    if (p < k) {
        dpack_scalar(k - p, mn, x + p, rs_i, 1, dst + p * R, R);
    }
}

#endif /* __AVX2__ */
