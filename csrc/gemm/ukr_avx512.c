/*
 * ukr_avx512.c -- AVX-512 GEMM micro-kernels.  Compiled with -mavx512f
 * -mavx512dq -mavx512vl -mfma and called only when the CPU has them (cpu.c).
 * Contract: ukernels.h.
 *
 * sgemm 12x32: 12 rows x 2 zmm of 16 floats = 24 accumulators; per step of k
 * two loads of B, twelve broadcasts of A, 24 FMAs (one load and 12 FMAs
 * when the tile is at most 16 columns wide; 4 or 8 rows on short edge
 * tiles).  An in-place variant reads A with any strides, and B with any
 * row stride, where they lie;
 * on an edge tile it masks the loads of B, which may be the caller's own
 * matrix.  dgemm 12x16: the same shape with 8 doubles per zmm.  Column
 * edges use masked stores; row edges simply skip the rows past m.
 *
 * Software prefetch, the same in the packed kernels (a row of the packed B
 * micro-panel is 128 bytes in both, 32 floats or 16 doubles; the in-place
 * kernel prefetches only the C tile):
 *   - The next B micro-panel, which starts right after this one (b + k
 *     rows).  The macro-kernel uses it for its next column of tiles, and on
 *     that first use it would come from L3 or memory.  Each step of k asks
 *     for two of its lines, so one call brings all of it into L2 (the T2
 *     hint measured best); the calls after the first find it there.
 *   - The C tile, C_PREFETCH_STEPS steps before the end of the k loop.
 *     Prefetched at the start, it was evicted from L1 again by the streaming
 *     A and B panels (one 1024-deep dgemm call reads 224 KB of them).
 * Float64 N = 4096 on one Zen 4 core: 50.7-51.8 -> 53.0-53.8 GFLOP/s
 * (bench/README.md); each of the two alone gave about a third of that.
 */
#include <immintrin.h>
#include <stdint.h>

#include "ukernels.h"

#define C_PREFETCH_STEPS 48

/* Two lines of row p of the next B micro-panel.  Integer arithmetic: after
 * the last panel the address lies past the packed buffer, which a prefetch
 * may touch (it never faults) but C pointer arithmetic may not reach. */
static inline __attribute__((always_inline)) void prefetch_next_b(uintptr_t next_b, int64_t p)
{
    const uintptr_t line = next_b + (uintptr_t)p * 128;
    _mm_prefetch((const char *)line, _MM_HINT_T2);
    _mm_prefetch((const char *)(line + 64), _MM_HINT_T2);
}

/* The first and last byte of each of the first m rows of a C tile. */
static inline __attribute__((always_inline)) void
prefetch_c_tile(const void *c, int64_t rs_bytes, int64_t m, int64_t row_bytes)
{
#pragma GCC unroll 12
    for (int i = 0; i < 12; i++) {
        if (i < m) {
            _mm_prefetch((const char *)c + i * rs_bytes, _MM_HINT_T0);
            _mm_prefetch((const char *)c + i * rs_bytes + row_bytes - 1, _MM_HINT_T0);
        }
    }
}

/* The step of k after which the C tile is prefetched. */
static inline int64_t c_prefetch_step(int64_t k)
{
    return k > C_PREFETCH_STEPS ? k - C_PREFETCH_STEPS : 0;
}

static inline __mmask16 mask16(int64_t n)
{
    return n >= 16 ? (__mmask16)0xFFFF : n <= 0 ? (__mmask16)0 : (__mmask16)((1u << n) - 1);
}

/* acc += A(i, p) * B(p, j) for p0 <= p < p1 and the first `rows` (4, 8
 * or 12) rows, with A(i, p) at row[i][p * cs_a] and B(p, j) at
 * b[p*rs_b + j], one FMA per p in increasing p.  W is the number of zmm
 * columns computed: 2, or 1 when n <= 16 (the right half of the panel is
 * zero padding, or not there).  `masked`: columns past n are not read (B
 * is the caller's matrix, not a zero-padded panel).  `next`: prefetch the
 * next packed panel.  Every variant gives bit-identical rows. */
static inline __attribute__((always_inline)) void
sgemm_12x32_steps(int64_t p0, int64_t p1, const float *const row[12], int64_t cs_a,
                  const float *restrict b, int64_t rs_b, int64_t n, uintptr_t next_b,
                  __m512 acc[12][2], int w, const int rows, const int masked,
                  const int next)
{
    const __mmask16 k0 = mask16(n), k1 = mask16(n - 16);
    if (w == 1) {
#pragma GCC unroll 4
        for (int64_t p = p0; p < p1; p++) {
            const __m512 b0 = masked ? _mm512_maskz_loadu_ps(k0, b + p * rs_b)
                                     : _mm512_loadu_ps(b + p * rs_b);
            if (next) {
                prefetch_next_b(next_b, p);
            }
#pragma GCC unroll 12
            for (int i = 0; i < rows; i++) {
                acc[i][0] = _mm512_fmadd_ps(_mm512_set1_ps(row[i][p * cs_a]), b0, acc[i][0]);
            }
        }
        return;
    }
#pragma GCC unroll 4
    for (int64_t p = p0; p < p1; p++) {
        const __m512 b0 = masked ? _mm512_maskz_loadu_ps(k0, b + p * rs_b)
                                 : _mm512_loadu_ps(b + p * rs_b);
        const __m512 b1 = masked ? _mm512_maskz_loadu_ps(k1, b + p * rs_b + 16)
                                 : _mm512_loadu_ps(b + p * rs_b + 16);
        if (next) {
            prefetch_next_b(next_b, p);
        }
#pragma GCC unroll 12
        for (int i = 0; i < rows; i++) {
            const __m512 ai = _mm512_set1_ps(row[i][p * cs_a]);
            acc[i][0] = _mm512_fmadd_ps(ai, b0, acc[i][0]);
            acc[i][1] = _mm512_fmadd_ps(ai, b1, acc[i][1]);
        }
    }
}

/* acc = sum over p < k of A(i, p) * B(p, j), with A(i, p) at
 * a[i*rs_a + p*cs_a] and B as sgemm_12x32_steps reads it, prefetching as
 * the file's header says (the next B panel only if `next`).  Rows of A
 * past a_rows are read from row 0 and never stored: a packed panel passes
 * all 12 (its padding is there, and constant offsets from one pointer
 * leave registers free), A in place passes m. */
static inline __attribute__((always_inline)) void
sgemm_12x32_loop(int64_t k, const float *restrict a, int64_t rs_a, int64_t cs_a, int64_t m,
                 const int64_t a_rows, const float *restrict b, int64_t rs_b, int64_t n,
                 __m512 acc[12][2], int w, const int rows, const int masked, const int next,
                 const float *c, int64_t rs_c)
{
    const float *row[12];
#pragma GCC unroll 12
    for (int i = 0; i < 12; i++) {
        row[i] = a + (i < a_rows ? i : 0) * rs_a;
        acc[i][0] = _mm512_setzero_ps();
        acc[i][1] = _mm512_setzero_ps();
    }
    const uintptr_t next_b = (uintptr_t)b + (uintptr_t)k * 128;
    const int64_t tail = c_prefetch_step(k);
    sgemm_12x32_steps(0, tail, row, cs_a, b, rs_b, n, next_b, acc, w, rows, masked, next);
    prefetch_c_tile(c, rs_c * 4, m, 128);
    sgemm_12x32_steps(tail, k, row, cs_a, b, rs_b, n, next_b, acc, w, rows, masked, next);
}

/* sgemm_12x32_loop with only the rows an edge tile needs (m <= 4 or 8:
 * e.g. the last tile of M = 64 would otherwise compute 8 padding rows). */
static inline __attribute__((always_inline)) void
sgemm_12x32_rows(int64_t k, const float *restrict a, int64_t rs_a, int64_t cs_a, int64_t m,
                 const int64_t a_rows, const float *restrict b, int64_t rs_b, int64_t n,
                 __m512 acc[12][2], const int masked, const int next, const float *c,
                 int64_t rs_c)
{
    const int w = n <= 16 ? 1 : 2;
    if (m <= 4) {
        sgemm_12x32_loop(k, a, rs_a, cs_a, m, a_rows, b, rs_b, n, acc, w, 4, masked, next, c,
                         rs_c);
    } else if (m <= 8) {
        sgemm_12x32_loop(k, a, rs_a, cs_a, m, a_rows, b, rs_b, n, acc, w, 8, masked, next, c,
                         rs_c);
    } else {
        sgemm_12x32_loop(k, a, rs_a, cs_a, m, a_rows, b, rs_b, n, acc, w, 12, masked, next, c,
                         rs_c);
    }
}

/* C tile = alpha * acc + beta * C (C not read when beta == 0); masked
 * stores at the column edge. */
static inline __attribute__((always_inline)) void
sgemm_12x32_store(__m512 acc[12][2], float alpha, float beta, float *restrict c, int64_t rs_c,
                  int64_t m, int64_t n)
{
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

void pydl_sgemm_ukr_avx512_12x32(int64_t k, float alpha, const float *restrict a,
                                 const float *restrict b, float beta, float *restrict c,
                                 int64_t rs_c, int64_t m, int64_t n)
{
    __m512 acc[12][2];
    sgemm_12x32_rows(k, a, 1, 12, m, 12, b, 32, n, acc, 0, 1, c, rs_c);
    sgemm_12x32_store(acc, alpha, beta, c, rs_c, m, n);
}

void pydl_sgemm_ukr_avx512_12x32_inplace(int64_t k, float alpha, const float *restrict a,
                                         int64_t rs_a, int64_t cs_a, const float *restrict b,
                                         int64_t rs_b, float beta, float *restrict c,
                                         int64_t rs_c, int64_t m, int64_t n)
{
    __m512 acc[12][2];
    if (n >= 32) {
        sgemm_12x32_rows(k, a, rs_a, cs_a, m, m, b, rs_b, n, acc, 0, 0, c, rs_c);
    } else {
        sgemm_12x32_rows(k, a, rs_a, cs_a, m, m, b, rs_b, n, acc, 1, 0, c, rs_c);
    }
    sgemm_12x32_store(acc, alpha, beta, c, rs_c, m, n);
}

static inline __mmask8 mask8(int64_t n)
{
    return n >= 8 ? (__mmask8)0xFF : n <= 0 ? (__mmask8)0 : (__mmask8)((1u << n) - 1);
}

/* acc += A(i, p) * B(p, j) for p0 <= p < p1 and the first `rows` (4, 8
 * or 12) rows, with A(i, p) at row[i][p * cs_a] and B(p, j) at
 * b[p*rs_b + j], one FMA per p in increasing p; `masked` and `next` as in
 * sgemm_12x32_steps.  Every variant gives bit-identical rows. */
static inline __attribute__((always_inline)) void
dgemm_12x16_steps(int64_t p0, int64_t p1, const double *const row[12], int64_t cs_a,
                  const double *restrict b, int64_t rs_b, int64_t n, uintptr_t next_b,
                  __m512d acc[12][2], const int rows, const int masked, const int next)
{
    const __mmask8 k0 = mask8(n), k1 = mask8(n - 8);
#pragma GCC unroll 4
    for (int64_t p = p0; p < p1; p++) {
        const __m512d b0 = masked ? _mm512_maskz_loadu_pd(k0, b + p * rs_b)
                                  : _mm512_loadu_pd(b + p * rs_b);
        const __m512d b1 = masked ? _mm512_maskz_loadu_pd(k1, b + p * rs_b + 8)
                                  : _mm512_loadu_pd(b + p * rs_b + 8);
        if (next) {
            prefetch_next_b(next_b, p);
        }
#pragma GCC unroll 12
        for (int i = 0; i < rows; i++) {
            const __m512d ai = _mm512_set1_pd(row[i][p * cs_a]);
            acc[i][0] = _mm512_fmadd_pd(ai, b0, acc[i][0]);
            acc[i][1] = _mm512_fmadd_pd(ai, b1, acc[i][1]);
        }
    }
}

/* acc = sum over p < k of A(i, p) * B(p, j), A, a_rows and B as in
 * sgemm_12x32_loop, prefetching as the file's header says. */
static inline __attribute__((always_inline)) void
dgemm_12x16_loop(int64_t k, const double *restrict a, int64_t rs_a, int64_t cs_a, int64_t m,
                 const int64_t a_rows, const double *restrict b, int64_t rs_b, int64_t n,
                 __m512d acc[12][2], const int rows, const int masked, const int next,
                 const double *c, int64_t rs_c)
{
    const double *row[12];
#pragma GCC unroll 12
    for (int i = 0; i < 12; i++) {
        row[i] = a + (i < a_rows ? i : 0) * rs_a;
        acc[i][0] = _mm512_setzero_pd();
        acc[i][1] = _mm512_setzero_pd();
    }
    const uintptr_t next_b = (uintptr_t)b + (uintptr_t)k * 128;
    const int64_t tail = c_prefetch_step(k);
    dgemm_12x16_steps(0, tail, row, cs_a, b, rs_b, n, next_b, acc, rows, masked, next);
    prefetch_c_tile(c, rs_c * 8, m, 128);
    dgemm_12x16_steps(tail, k, row, cs_a, b, rs_b, n, next_b, acc, rows, masked, next);
}

/* dgemm_12x16_loop with only the rows an edge tile needs. */
static inline __attribute__((always_inline)) void
dgemm_12x16_rows(int64_t k, const double *restrict a, int64_t rs_a, int64_t cs_a, int64_t m,
                 const int64_t a_rows, const double *restrict b, int64_t rs_b, int64_t n,
                 __m512d acc[12][2], const int masked, const int next, const double *c,
                 int64_t rs_c)
{
    if (m <= 4) {
        dgemm_12x16_loop(k, a, rs_a, cs_a, m, a_rows, b, rs_b, n, acc, 4, masked, next, c,
                         rs_c);
    } else if (m <= 8) {
        dgemm_12x16_loop(k, a, rs_a, cs_a, m, a_rows, b, rs_b, n, acc, 8, masked, next, c,
                         rs_c);
    } else {
        dgemm_12x16_loop(k, a, rs_a, cs_a, m, a_rows, b, rs_b, n, acc, 12, masked, next, c,
                         rs_c);
    }
}

/* C tile = alpha * acc + beta * C (C not read when beta == 0); masked
 * stores at the column edge. */
static inline __attribute__((always_inline)) void
dgemm_12x16_store(__m512d acc[12][2], double alpha, double beta, double *restrict c,
                  int64_t rs_c, int64_t m, int64_t n)
{
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

void pydl_dgemm_ukr_avx512_12x16(int64_t k, double alpha, const double *restrict a,
                                 const double *restrict b, double beta, double *restrict c,
                                 int64_t rs_c, int64_t m, int64_t n)
{
    __m512d acc[12][2];
    dgemm_12x16_rows(k, a, 1, 12, m, 12, b, 16, n, acc, 0, 1, c, rs_c);
    dgemm_12x16_store(acc, alpha, beta, c, rs_c, m, n);
}

void pydl_dgemm_ukr_avx512_12x16_inplace(int64_t k, double alpha, const double *restrict a,
                                         int64_t rs_a, int64_t cs_a, const double *restrict b,
                                         int64_t rs_b, double beta, double *restrict c,
                                         int64_t rs_c, int64_t m, int64_t n)
{
    __m512d acc[12][2];
    if (n >= 16) {
        dgemm_12x16_rows(k, a, rs_a, cs_a, m, m, b, rs_b, n, acc, 0, 0, c, rs_c);
    } else {
        dgemm_12x16_rows(k, a, rs_a, cs_a, m, m, b, rs_b, n, acc, 1, 0, c, rs_c);
    }
    dgemm_12x16_store(acc, alpha, beta, c, rs_c, m, n);
}
