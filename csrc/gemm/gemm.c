/*
 * gemm.c -- GEMM entry points for float and double (see pydl.h).
 *
 * The framework is written once in gemm_driver.h and included here once per
 * element type; this file adds the type-independent threading decisions.
 */
#include <stdint.h>

#include "parallel.h"
#include "pydl.h"
#include "gemm_packed.h"
#include "ukernels.h"
#include "workspace.h"

/* Below this many multiply-adds (m*n*k) a product runs on one thread: waking
 * the pool costs more than it saves.  Above it, each extra thread must get at
 * least this much work. */
#define PYDL_GEMM_MIN_WORK_PER_THREAD ((int64_t)1 << 16)

/* Threads share packed B (and split the rows of C) when C has at least
 * PYDL_GEMM_SHARED_B_MIN_TILES micro-tile rows per thread, or half as many
 * and k of at least PYDL_GEMM_SHARED_B_MIN_K; otherwise they split C into
 * rectangles, each thread packing its own operands.  Rectangles pack one
 * operand twice, which cost N = 1024 (2 threads: float64 100.4 -> 105.9,
 * float32 204.5 -> 208.2 GFLOP/s with shared B); shared B pays two barriers
 * per slice of k, which cost the shallow (64x784)^T . (64x256) (199 against
 * 195 GFLOP/s in rectangles). */
#define PYDL_GEMM_SHARED_B_MIN_TILES 64
#define PYDL_GEMM_SHARED_B_MIN_K 256

/* Rows of a row-major B packed across all panels at a time. */
#define PYDL_GEMM_PACK_B_ROWS 16

/* A B of at least this many bytes is taken to come from memory, and one
 * thread packs each slice of it a few panels at a time while its first
 * block of A multiplies them (GEMM_MACRO_PACK).  Zen 4, one thread,
 * 256 x n x k float32: B of 4 MiB the same speed either way, 8-32 MiB
 * +4-8 %; B in cache (up to 2 MiB) 2-4 % slower packed that way. */
#define PYDL_GEMM_STREAM_B_BYTES ((size_t)4 << 20)

/* Such a B is packed a group of micro-panels at a time, as many as give
 * PYDL_GEMM_STREAM_TILES tiles of C, at most PYDL_GEMM_STREAM_GROUP_MAX
 * panels (GEMM_STREAM_GROUP).  Zen 4, one thread, float32: 64x576 .
 * 576x100352 (6 tiles a panel) 77.7 -> 78.3 GFLOP/s with groups of 4
 * panels instead of 1, 75.0 -> 81.7 on the avx2 path; 256x4608 .
 * 4608x3136 (16 tiles) 1-3 % slower in groups of 4. */
#define PYDL_GEMM_STREAM_TILES 16
#define PYDL_GEMM_STREAM_GROUP_MAX 4

/* A product whose A and B together have at most this many bytes is read
 * in place, without packing (GEMM_A_IN_PLACE), unless A's rows (columns,
 * for a transposed A) lie a multiple of PYDL_GEMM_SET_STRIDE_BYTES apart:
 * the in-place kernel's rows of A would then share one set of L1 and evict
 * each other.  Zen 4 (1 MiB of L2), GFLOP/s packed -> in place, medians of
 * 5-8 process pairs:
 *   float32: 64^3 on one thread 66.9 -> 87.4, on two 81.5 -> 115.4;
 *     64x256x784 (1 MiB) 91.7 -> 107.2 and 174.2 -> 204.1; 20x300x800 on
 *     two threads 145.2 -> 180.7; 512 KiB as the limit gained less on
 *     every product between the two.
 *   float64, whose packing costs less per multiply-add: 64^3 46.2 -> 49.6
 *     and 66.0 -> 72.4, but 784x256x64 (532 KB) 52.5 -> 49.8 and
 *     102.6 -> 97.6, hence 256 KiB.
 *   Rows of A 4 KiB apart, float32 128x128x1024 on two threads: 152 -> 124. */
#define PYDL_SGEMM_IN_PLACE_BYTES ((size_t)1024 * 1024)
#define PYDL_DGEMM_IN_PLACE_BYTES ((size_t)256 * 1024)
#define PYDL_GEMM_SET_STRIDE_BYTES ((size_t)4096)

/* B is read in place too only when at most this many tiles of C use each of
 * its micro-panels; a taller C packs each panel once, where it stays in L1
 * (B's rows in place, 1 KiB apart, fall into few sets of L1 and come from
 * L2 for every tile).  Zen 4, float32 (784x64)^T . (64x256), GFLOP/s, B in
 * place -> packed: avx512 99.8 -> 105.3, avx2 84.1 -> 99.9 (one thread);
 * 64x800 . 800x300 and 128x1000 . 1000x128 gain 5-28 % in place. */
#define PYDL_GEMM_B_IN_PLACE_TILES 16

/* A packed block meant to stay in a core's L2 cache (GEMM_SHORT). */
#define PYDL_GEMM_L2_BLOCK_BYTES ((int64_t)192 * 1024)

/* Prefetch into L2 for reading (rw 0) or writing (rw 1), where the
 * compiler has it.  GEMM_PREFETCH_B, which does nothing else, must be
 * inlined: GCC counts a prefetch as no effect and drops calls to a
 * function made only of prefetches. */
#if defined(__GNUC__) || defined(__clang__)
#define PYDL_GEMM_PREFETCH(ptr, rw) __builtin_prefetch((ptr), (rw), 2)
#define PYDL_GEMM_ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define PYDL_GEMM_PREFETCH(ptr, rw) ((void)(ptr))
#define PYDL_GEMM_ALWAYS_INLINE inline
#endif

/* Threads for an m x n x k product with `tiles` micro-tiles in C. */
static int pydl_gemm_threads(int64_t m, int64_t n, int64_t k, int64_t tiles, int n_threads)
{
    int64_t nt = n_threads > 0 ? n_threads : pydl_threads_get();
    const int64_t work = m * n * k;
    const int64_t by_work = work / PYDL_GEMM_MIN_WORK_PER_THREAD;
    if (nt > by_work) {
        nt = by_work;
    }
    if (nt > tiles) {
        nt = tiles;
    }
    return nt < 1 ? 1 : (int)nt;
}

/* Choose the tm x tn grid of thread rectangles (tm * tn == nt) with the least
 * estimated time for the busiest thread: its multiply-adds (at ~32 per
 * cycle) plus the elements of A and B it packs (~2 per cycle). */
static void pydl_gemm_grid(int nt, int64_t m_tiles, int64_t n_tiles, int mr, int nr, int64_t k,
                           int *tm_out, int *tn_out)
{
    double best = -1.0;
    *tm_out = 1;
    *tn_out = nt;
    for (int tm = 1; tm <= nt; tm++) {
        if (nt % tm != 0) {
            continue;
        }
        const int tn = nt / tm;
        const double rm = (double)((m_tiles + tm - 1) / tm) * mr;
        const double rn = (double)((n_tiles + tn - 1) / tn) * nr;
        const double cost = rm * rn * (double)k / 32.0 + (rm + rn) * (double)k / 2.0;
        if (best < 0 || cost < best) {
            best = cost;
            *tm_out = tm;
            *tn_out = tn;
        }
    }
}

/* float */
#define GEMM_T float
#define GEMM_CONFIG pydl_sgemm_config
#define GEMM_CONFIG_GET pydl_sgemm_config_get
#define GEMM_PACK_A sgemm_pack_a
#define GEMM_PACK_B sgemm_pack_b
#define GEMM_SCALE_C sgemm_scale_c
#define GEMM_KC sgemm_kc
#define GEMM_MACRO sgemm_macro
#define GEMM_MACRO_PACK sgemm_macro_pack
#define GEMM_PREFETCH_B sgemm_prefetch_b
#define GEMM_PREFETCH_RUN sgemm_prefetch_run
#define GEMM_STREAM_GROUP sgemm_stream_group
#define GEMM_STREAMS_B sgemm_streams_b
#define GEMM_BLOCKS sgemm_blocks
#define GEMM_IN_PLACE_BYTES PYDL_SGEMM_IN_PLACE_BYTES
#define GEMM_FITS_IN_PLACE sgemm_fits_in_place
#define GEMM_A_IN_PLACE sgemm_a_in_place
#define GEMM_INPLACE_A sgemm_inplace_a
#define GEMM_SHORT_A_SIZE sgemm_short_a_size
#define GEMM_SHORT_PACK_A sgemm_short_pack_a
#define GEMM_SHORT sgemm_short
#define GEMM_BUFFERS sgemm_buffers
#define GEMM_BLOCKED sgemm_blocked
#define GEMM_SHARED_A sgemm_shared_a
#define GEMM_SHARED_B sgemm_shared_b
#define GEMM_THREADED sgemm_threaded
#define GEMM_STRIDED pydl_sgemm_strided
#define GEMM_BATCHED pydl_sgemm_batched
#define GEMM_BLAS pydl_sgemm
#include "gemm_driver.h"
#undef GEMM_T
#undef GEMM_CONFIG
#undef GEMM_CONFIG_GET
#undef GEMM_PACK_A
#undef GEMM_PACK_B
#undef GEMM_SCALE_C
#undef GEMM_KC
#undef GEMM_MACRO
#undef GEMM_MACRO_PACK
#undef GEMM_PREFETCH_B
#undef GEMM_PREFETCH_RUN
#undef GEMM_STREAM_GROUP
#undef GEMM_STREAMS_B
#undef GEMM_BLOCKS
#undef GEMM_IN_PLACE_BYTES
#undef GEMM_FITS_IN_PLACE
#undef GEMM_A_IN_PLACE
#undef GEMM_INPLACE_A
#undef GEMM_SHORT_A_SIZE
#undef GEMM_SHORT_PACK_A
#undef GEMM_SHORT
#undef GEMM_BUFFERS
#undef GEMM_BLOCKED
#undef GEMM_SHARED_A
#undef GEMM_SHARED_B
#undef GEMM_THREADED
#undef GEMM_STRIDED
#undef GEMM_BATCHED
#undef GEMM_BLAS

/* float GEMM with A packed once (gemm_packed.h) */
int64_t pydl_sgemm_packed_a_size(pydl_isa isa, int64_t m, int64_t k)
{
    return m > 0 && k > 0 ? sgemm_short_a_size(pydl_sgemm_config_get(isa), m, k) : 0;
}

void pydl_sgemm_pack_a_once(pydl_isa isa, int64_t m, int64_t k, const float *a, int64_t rs_a,
                            int64_t cs_a, float *ap)
{
    sgemm_short_pack_a(pydl_sgemm_config_get(isa), m, k, a, rs_a, cs_a, ap);
}

int pydl_sgemm_with_packed_a(pydl_isa isa, int64_t m, int64_t n, int64_t k, float alpha,
                             const float *ap, const float *b, int64_t rs_b, int64_t cs_b,
                             float beta, float *c, int64_t rs_c)
{
    if (m <= 0 || n <= 0) {
        return PYDL_OK;
    }
    return sgemm_short(pydl_sgemm_config_get(isa), m, n, k, alpha, NULL, 0, 0, ap, b, rs_b,
                       cs_b, beta, c, rs_c);
}

/* double */
#define GEMM_T double
#define GEMM_CONFIG pydl_dgemm_config
#define GEMM_CONFIG_GET pydl_dgemm_config_get
#define GEMM_PACK_A dgemm_pack_a
#define GEMM_PACK_B dgemm_pack_b
#define GEMM_SCALE_C dgemm_scale_c
#define GEMM_KC dgemm_kc
#define GEMM_MACRO dgemm_macro
#define GEMM_MACRO_PACK dgemm_macro_pack
#define GEMM_PREFETCH_B dgemm_prefetch_b
#define GEMM_PREFETCH_RUN dgemm_prefetch_run
#define GEMM_STREAM_GROUP dgemm_stream_group
#define GEMM_STREAMS_B dgemm_streams_b
#define GEMM_BLOCKS dgemm_blocks
#define GEMM_IN_PLACE_BYTES PYDL_DGEMM_IN_PLACE_BYTES
#define GEMM_FITS_IN_PLACE dgemm_fits_in_place
#define GEMM_A_IN_PLACE dgemm_a_in_place
#define GEMM_INPLACE_A dgemm_inplace_a
#define GEMM_SHORT_A_SIZE dgemm_short_a_size
#define GEMM_SHORT_PACK_A dgemm_short_pack_a
#define GEMM_SHORT dgemm_short
#define GEMM_BUFFERS dgemm_buffers
#define GEMM_BLOCKED dgemm_blocked
#define GEMM_SHARED_A dgemm_shared_a
#define GEMM_SHARED_B dgemm_shared_b
#define GEMM_THREADED dgemm_threaded
#define GEMM_STRIDED pydl_dgemm_strided
#define GEMM_BATCHED pydl_dgemm_batched
#define GEMM_BLAS pydl_dgemm
#include "gemm_driver.h"
