/*
 * ukr_avx2.c -- AVX2 + FMA GEMM micro-kernels.  Compiled with -mavx2 -mfma
 * and called only when the CPU has both (cpu.c).  Contract: ukernels.h.
 *
 * sgemm 6x16: 6 rows x 2 ymm of 8 floats = 12 accumulators; dgemm 6x8: the
 * same with 4 doubles per ymm.  Column edges of C go through a small
 * buffer; the in-place variant reads A with any strides, and B with any
 * row stride, where they lie, with masked loads of B on edge tiles.
 */
#include <immintrin.h>

#include "lanes_avx2.h"
#include "ukernels.h"

/* acc = sum over p < k of A(i, p) * B(p, j), with A(i, p) at
 * a[i*rs_a + p*cs_a] (rows past m are read from row 0 and never stored) and
 * B(p, j) at b[p*rs_b + j], one FMA per p in increasing p: the packed and
 * the in-place kernels below compute bit-identical tiles.  `masked`: columns
 * past n are not read (B is the caller's matrix, not a zero-padded panel). */
static inline __attribute__((always_inline)) void
sgemm_6x16_loop(int64_t k, const float *restrict a, int64_t rs_a, int64_t cs_a, int64_t m,
                const float *restrict b, int64_t rs_b, int64_t n, __m256 acc[6][2],
                const int masked)
{
    const float *row[6];
#pragma GCC unroll 6
    for (int i = 0; i < 6; i++) {
        row[i] = a + (i < m ? i : 0) * rs_a;
        acc[i][0] = _mm256_setzero_ps();
        acc[i][1] = _mm256_setzero_ps();
    }
    const __m256i k0 = lanes_ps(n), k1 = lanes_ps(n - 8);
#pragma GCC unroll 4
    for (int64_t p = 0; p < k; p++) {
        const __m256 b0 = masked ? _mm256_maskload_ps(b, k0) : _mm256_loadu_ps(b);
        const __m256 b1 = masked ? _mm256_maskload_ps(b + 8, k1) : _mm256_loadu_ps(b + 8);
#pragma GCC unroll 6
        for (int i = 0; i < 6; i++) {
            const __m256 ai = _mm256_broadcast_ss(row[i] + p * cs_a);
            acc[i][0] = _mm256_fmadd_ps(ai, b0, acc[i][0]);
            acc[i][1] = _mm256_fmadd_ps(ai, b1, acc[i][1]);
        }
        b += rs_b;
    }
}

/* C tile = alpha * acc + beta * C (C not read when beta == 0). */
static inline __attribute__((always_inline)) void
sgemm_6x16_store(__m256 acc[6][2], float alpha, float beta, float *restrict c, int64_t rs_c,
                 int64_t m, int64_t n)
{
    const __m256 va = _mm256_set1_ps(alpha);
    const __m256 vb = _mm256_set1_ps(beta);
    if (n == 16) {
#pragma GCC unroll 6
        for (int i = 0; i < 6; i++) {
            if (i < m) {
                float *row = c + i * rs_c;
                __m256 r0 = _mm256_mul_ps(va, acc[i][0]);
                __m256 r1 = _mm256_mul_ps(va, acc[i][1]);
                if (beta != 0) {
                    r0 = _mm256_fmadd_ps(vb, _mm256_loadu_ps(row), r0);
                    r1 = _mm256_fmadd_ps(vb, _mm256_loadu_ps(row + 8), r1);
                }
                _mm256_storeu_ps(row, r0);
                _mm256_storeu_ps(row + 8, r1);
            }
        }
        return;
    }
    /* Column edge: go through a small buffer (masked stores are slow on
     * some AVX2 CPUs). */
    float tile[16];
#pragma GCC unroll 6
    for (int i = 0; i < 6; i++) {
        if (i < m) {
            float *row = c + i * rs_c;
            __m256 r0 = _mm256_mul_ps(va, acc[i][0]);
            __m256 r1 = _mm256_mul_ps(va, acc[i][1]);
            if (beta != 0) {
                for (int64_t j = 0; j < n; j++) {
                    tile[j] = row[j];
                }
                r0 = _mm256_fmadd_ps(vb, _mm256_loadu_ps(tile), r0);
                r1 = _mm256_fmadd_ps(vb, _mm256_loadu_ps(tile + 8), r1);
            }
            _mm256_storeu_ps(tile, r0);
            _mm256_storeu_ps(tile + 8, r1);
            for (int64_t j = 0; j < n; j++) {
                row[j] = tile[j];
            }
        }
    }
}

/* Fetch the C tile while the loop runs; it is read (beta != 0) or written
 * only at the end. */
static inline __attribute__((always_inline)) void
prefetch_c_6(const void *c, int64_t rs_bytes, int64_t m, int64_t tile_bytes)
{
#pragma GCC unroll 6
    for (int i = 0; i < 6; i++) {
        if (i < m) {
            _mm_prefetch((const char *)c + i * rs_bytes, _MM_HINT_T0);
            _mm_prefetch((const char *)c + i * rs_bytes + tile_bytes - 1, _MM_HINT_T0);
        }
    }
}

void pydl_sgemm_ukr_avx2_6x16(int64_t k, float alpha, const float *restrict a,
                              const float *restrict b, float beta, float *restrict c,
                              int64_t rs_c, int64_t m, int64_t n)
{
    __m256 acc[6][2];
    prefetch_c_6(c, rs_c * 4, m, 64);
    sgemm_6x16_loop(k, a, 1, 6, 6, b, 16, n, acc, 0);
    sgemm_6x16_store(acc, alpha, beta, c, rs_c, m, n);
}

void pydl_sgemm_ukr_avx2_6x16_inplace(int64_t k, float alpha, const float *restrict a,
                                      int64_t rs_a, int64_t cs_a, const float *restrict b,
                                      int64_t rs_b, float beta, float *restrict c,
                                      int64_t rs_c, int64_t m, int64_t n)
{
    __m256 acc[6][2];
    prefetch_c_6(c, rs_c * 4, m, 64);
    if (n >= 16) {
        sgemm_6x16_loop(k, a, rs_a, cs_a, m, b, rs_b, n, acc, 0);
    } else {
        sgemm_6x16_loop(k, a, rs_a, cs_a, m, b, rs_b, n, acc, 1);
    }
    sgemm_6x16_store(acc, alpha, beta, c, rs_c, m, n);
}

/* sgemm_6x16_loop for double: 6 rows x 2 ymm of 4 doubles. */
static inline __attribute__((always_inline)) void
dgemm_6x8_loop(int64_t k, const double *restrict a, int64_t rs_a, int64_t cs_a, int64_t m,
               const double *restrict b, int64_t rs_b, int64_t n, __m256d acc[6][2],
               const int masked)
{
    const double *row[6];
#pragma GCC unroll 6
    for (int i = 0; i < 6; i++) {
        row[i] = a + (i < m ? i : 0) * rs_a;
        acc[i][0] = _mm256_setzero_pd();
        acc[i][1] = _mm256_setzero_pd();
    }
    const __m256i k0 = lanes_pd(n), k1 = lanes_pd(n - 4);
#pragma GCC unroll 4
    for (int64_t p = 0; p < k; p++) {
        const __m256d b0 = masked ? _mm256_maskload_pd(b, k0) : _mm256_loadu_pd(b);
        const __m256d b1 = masked ? _mm256_maskload_pd(b + 4, k1) : _mm256_loadu_pd(b + 4);
#pragma GCC unroll 6
        for (int i = 0; i < 6; i++) {
            const __m256d ai = _mm256_broadcast_sd(row[i] + p * cs_a);
            acc[i][0] = _mm256_fmadd_pd(ai, b0, acc[i][0]);
            acc[i][1] = _mm256_fmadd_pd(ai, b1, acc[i][1]);
        }
        b += rs_b;
    }
}

/* C tile = alpha * acc + beta * C (C not read when beta == 0). */
static inline __attribute__((always_inline)) void
dgemm_6x8_store(__m256d acc[6][2], double alpha, double beta, double *restrict c,
                int64_t rs_c, int64_t m, int64_t n)
{
    const __m256d va = _mm256_set1_pd(alpha);
    const __m256d vb = _mm256_set1_pd(beta);
    if (n == 8) {
#pragma GCC unroll 6
        for (int i = 0; i < 6; i++) {
            if (i < m) {
                double *row = c + i * rs_c;
                __m256d r0 = _mm256_mul_pd(va, acc[i][0]);
                __m256d r1 = _mm256_mul_pd(va, acc[i][1]);
                if (beta != 0) {
                    r0 = _mm256_fmadd_pd(vb, _mm256_loadu_pd(row), r0);
                    r1 = _mm256_fmadd_pd(vb, _mm256_loadu_pd(row + 4), r1);
                }
                _mm256_storeu_pd(row, r0);
                _mm256_storeu_pd(row + 4, r1);
            }
        }
        return;
    }
    double tile[8];
#pragma GCC unroll 6
    for (int i = 0; i < 6; i++) {
        if (i < m) {
            double *row = c + i * rs_c;
            __m256d r0 = _mm256_mul_pd(va, acc[i][0]);
            __m256d r1 = _mm256_mul_pd(va, acc[i][1]);
            if (beta != 0) {
                for (int64_t j = 0; j < n; j++) {
                    tile[j] = row[j];
                }
                r0 = _mm256_fmadd_pd(vb, _mm256_loadu_pd(tile), r0);
                r1 = _mm256_fmadd_pd(vb, _mm256_loadu_pd(tile + 4), r1);
            }
            _mm256_storeu_pd(tile, r0);
            _mm256_storeu_pd(tile + 4, r1);
            for (int64_t j = 0; j < n; j++) {
                row[j] = tile[j];
            }
        }
    }
}

void pydl_dgemm_ukr_avx2_6x8(int64_t k, double alpha, const double *restrict a,
                             const double *restrict b, double beta, double *restrict c,
                             int64_t rs_c, int64_t m, int64_t n)
{
    __m256d acc[6][2];
    prefetch_c_6(c, rs_c * 8, m, 64);
    dgemm_6x8_loop(k, a, 1, 6, 6, b, 8, n, acc, 0);
    dgemm_6x8_store(acc, alpha, beta, c, rs_c, m, n);
}

void pydl_dgemm_ukr_avx2_6x8_inplace(int64_t k, double alpha, const double *restrict a,
                                     int64_t rs_a, int64_t cs_a, const double *restrict b,
                                     int64_t rs_b, double beta, double *restrict c,
                                     int64_t rs_c, int64_t m, int64_t n)
{
    __m256d acc[6][2];
    prefetch_c_6(c, rs_c * 8, m, 64);
    if (n >= 8) {
        dgemm_6x8_loop(k, a, rs_a, cs_a, m, b, rs_b, n, acc, 0);
    } else {
        dgemm_6x8_loop(k, a, rs_a, cs_a, m, b, rs_b, n, acc, 1);
    }
    dgemm_6x8_store(acc, alpha, beta, c, rs_c, m, n);
}
