/*
 * ukr_avx512.c -- AVX-512 GEMM micro-kernels.  Compiled with -mavx512f
 * -mavx512dq -mavx512vl -mfma and called only when the CPU has them (cpu.c).
 * Contract: ukernels.h.
 *
 * sgemm 12x32: 12 rows x 2 zmm of 16 floats = 24 accumulators; per step of k
 * two loads of B, twelve broadcasts of A, 24 FMAs.  dgemm 12x16: the same
 * shape with 8 doubles per zmm.  Column edges use masked loads and stores;
 * row edges simply skip the rows past m.
 */
#include <immintrin.h>

#include "ukernels.h"

static inline __mmask16 mask16(int64_t n)
{
    return n >= 16 ? (__mmask16)0xFFFF : n <= 0 ? (__mmask16)0 : (__mmask16)((1u << n) - 1);
}

void pydl_sgemm_ukr_avx512_12x32(int64_t k, float alpha, const float *restrict a,
                                 const float *restrict b, float beta, float *restrict c,
                                 int64_t rs_c, int64_t m, int64_t n)
{
    __m512 acc[12][2];
#pragma GCC unroll 12
    for (int i = 0; i < 12; i++) {
        acc[i][0] = _mm512_setzero_ps();
        acc[i][1] = _mm512_setzero_ps();
    }
#pragma GCC unroll 12
    for (int i = 0; i < 12; i++) {
        if (i < m) {
            _mm_prefetch((const char *)(c + i * rs_c), _MM_HINT_T0);
            _mm_prefetch((const char *)(c + i * rs_c + 31), _MM_HINT_T0);
        }
    }
#pragma GCC unroll 4
    for (int64_t p = 0; p < k; p++) {
        const __m512 b0 = _mm512_loadu_ps(b);
        const __m512 b1 = _mm512_loadu_ps(b + 16);
#pragma GCC unroll 12
        for (int i = 0; i < 12; i++) {
            const __m512 ai = _mm512_set1_ps(a[i]);
            acc[i][0] = _mm512_fmadd_ps(ai, b0, acc[i][0]);
            acc[i][1] = _mm512_fmadd_ps(ai, b1, acc[i][1]);
        }
        a += 12;
        b += 32;
    }
    const __mmask16 k0 = mask16(n), k1 = mask16(n - 16);
    const __m512 va = _mm512_set1_ps(alpha);
    const __m512 vb = _mm512_set1_ps(beta);
#pragma GCC unroll 12
    for (int i = 0; i < 12; i++) {
        if (i < m) {
            float *row = c + i * rs_c;
            __m512 r0 = _mm512_mul_ps(va, acc[i][0]);
            __m512 r1 = _mm512_mul_ps(va, acc[i][1]);
            if (beta != 0) {
                r0 = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(k0, row), r0);
                r1 = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(k1, row + 16), r1);
            }
            _mm512_mask_storeu_ps(row, k0, r0);
            _mm512_mask_storeu_ps(row + 16, k1, r1);
        }
    }
}

static inline __mmask8 mask8(int64_t n)
{
    return n >= 8 ? (__mmask8)0xFF : n <= 0 ? (__mmask8)0 : (__mmask8)((1u << n) - 1);
}

void pydl_dgemm_ukr_avx512_12x16(int64_t k, double alpha, const double *restrict a,
                                 const double *restrict b, double beta, double *restrict c,
                                 int64_t rs_c, int64_t m, int64_t n)
{
    __m512d acc[12][2];
#pragma GCC unroll 12
    for (int i = 0; i < 12; i++) {
        acc[i][0] = _mm512_setzero_pd();
        acc[i][1] = _mm512_setzero_pd();
    }
#pragma GCC unroll 12
    for (int i = 0; i < 12; i++) {
        if (i < m) {
            _mm_prefetch((const char *)(c + i * rs_c), _MM_HINT_T0);
            _mm_prefetch((const char *)(c + i * rs_c + 15), _MM_HINT_T0);
        }
    }
#pragma GCC unroll 4
    for (int64_t p = 0; p < k; p++) {
        const __m512d b0 = _mm512_loadu_pd(b);
        const __m512d b1 = _mm512_loadu_pd(b + 8);
#pragma GCC unroll 12
        for (int i = 0; i < 12; i++) {
            const __m512d ai = _mm512_set1_pd(a[i]);
            acc[i][0] = _mm512_fmadd_pd(ai, b0, acc[i][0]);
            acc[i][1] = _mm512_fmadd_pd(ai, b1, acc[i][1]);
        }
        a += 12;
        b += 16;
    }
    const __mmask8 k0 = mask8(n), k1 = mask8(n - 8);
    const __m512d va = _mm512_set1_pd(alpha);
    const __m512d vb = _mm512_set1_pd(beta);
#pragma GCC unroll 12
    for (int i = 0; i < 12; i++) {
        if (i < m) {
            double *row = c + i * rs_c;
            __m512d r0 = _mm512_mul_pd(va, acc[i][0]);
            __m512d r1 = _mm512_mul_pd(va, acc[i][1]);
            if (beta != 0) {
                r0 = _mm512_fmadd_pd(vb, _mm512_maskz_loadu_pd(k0, row), r0);
                r1 = _mm512_fmadd_pd(vb, _mm512_maskz_loadu_pd(k1, row + 8), r1);
            }
            _mm512_mask_storeu_pd(row, k0, r0);
            _mm512_mask_storeu_pd(row + 8, k1, r1);
        }
    }
}
