/*
 * ukernels.h -- the GEMM micro-kernel contract, the per-ISA block sizes and
 * the micro-kernels' declarations.
 *
 * The contract (every micro-kernel, every ISA, float and double)
 * --------------------------------------------------------------
 *   void ukr(int64_t k, T alpha, const T *a, const T *b, T beta,
 *            T *c, int64_t rs_c, int64_t m, int64_t n);
 *
 * computes an MR x NR tile
 *
 *     C[i][j] = alpha * sum_{p<k} a[p*MR + i] * b[p*NR + j] + beta * C[i][j]
 *
 * for i < m <= MR and j < n <= NR, with C[i][j] at c[i*rs_c + j].
 *   - a is a packed micro-panel of A: k columns of MR values (column p holds
 *     A[0..MR-1][p]); b is a packed micro-panel of B: k rows of NR values.
 *     Rows/columns beyond m/n are zero-padded by the packing routines.
 *   - The sum runs over p in increasing order, one fused multiply-add per p
 *     and element: results do not depend on where a tile sits in C.
 *   - beta == 0: C is never read (it may hold NaN).  Only the m x n corner
 *     of the tile is written; edge handling is the micro-kernel's job.
 *   - k may be 0 (then C = beta * C as above).
 *   - A kernel may prefetch the memory just past b: the macro-kernel's next
 *     B micro-panel, when there is one (prefetches never fault).
 *   - Packed buffers start 64-byte aligned, but a panel inside them is
 *     aligned only when mr*kc (A) or nr*kc (B) elements fill whole cache
 *     lines: kernels use unaligned loads.  c has no alignment guarantee.
 */
#ifndef PYDL_GEMM_UKERNELS_H
#define PYDL_GEMM_UKERNELS_H

#include <stdint.h>

#include "pydl.h"

typedef void (*pydl_sgemm_ukr)(int64_t k, float alpha, const float *a, const float *b,
                               float beta, float *c, int64_t rs_c, int64_t m, int64_t n);
typedef void (*pydl_dgemm_ukr)(int64_t k, double alpha, const double *a, const double *b,
                               double beta, double *c, int64_t rs_c, int64_t m, int64_t n);

/* In-place variant (optional): the same tile and the same arithmetic, bit
 * for bit, but the operands are read where they are.  A(i, p) is at
 * a[i*rs_a + p*cs_a] for i < m (rows past m are never read): the caller's
 * A, row-major (cs_a = 1) or transposed (rs_a = 1).  B(p, j) is at
 * b[p*rs_b + j] for j < n (columns past n are never read): a packed
 * micro-panel (rs_b = NR) or the caller's row-major B.  It does not
 * prefetch past b.  Used where packing would cost more than it saves: C
 * no wider than one micro-panel, and products small enough to stay in
 * L1/L2. */
typedef void (*pydl_sgemm_ukr_inplace)(int64_t k, float alpha, const float *a, int64_t rs_a,
                                       int64_t cs_a, const float *b, int64_t rs_b, float beta,
                                       float *c, int64_t rs_c, int64_t m, int64_t n);
typedef void (*pydl_dgemm_ukr_inplace)(int64_t k, double alpha, const double *a, int64_t rs_a,
                                       int64_t cs_a, const double *b, int64_t rs_b,
                                       double beta, double *c, int64_t rs_c, int64_t m,
                                       int64_t n);

/* Micro-panel packers (contract: pack_impl.h): dst[p*R + i] =
 * x[i*rs_i + p*rs_p] for i < mn <= R, p < k; zero for mn <= i < R. */
typedef void (*pydl_spack)(int64_t k, int64_t mn, const float *x, int64_t rs_i, int64_t rs_p,
                           float *dst);
typedef void (*pydl_dpack)(int64_t k, int64_t mn, const double *x, int64_t rs_i, int64_t rs_p,
                           double *dst);

/* Block sizes of one ISA (BLIS naming):
 *   mr x nr  micro-tile, held in registers
 *   kc       depth of a packed slice: one tile streams an mr x kc sliver of
 *            A and a kc x nr sliver of B (in L1 when small, from L2 when
 *            kc is deep: the avx512 kernels prefetch the next B sliver)
 *   mc       rows of the packed A block (mc x kc, kept in L2)
 *   nc       columns of the packed B block (kc x nc, kept in L3)
 * mc must be a multiple of mr and nc a multiple of nr.  pack_a packs
 * micro-panels of width mr, pack_b of width nr; ukr_inplace may be NULL. */
typedef struct pydl_sgemm_config {
    int mr, nr, mc, kc, nc;
    pydl_sgemm_ukr ukr;
    pydl_spack pack_a, pack_b;
    pydl_sgemm_ukr_inplace ukr_inplace;
} pydl_sgemm_config;

typedef struct pydl_dgemm_config {
    int mr, nr, mc, kc, nc;
    pydl_dgemm_ukr ukr;
    pydl_dpack pack_a, pack_b;
    pydl_dgemm_ukr_inplace ukr_inplace;
} pydl_dgemm_config;

/* The table row for an ISA (gemm_config.c). */
const pydl_sgemm_config *pydl_sgemm_config_get(pydl_isa isa);
const pydl_dgemm_config *pydl_dgemm_config_get(pydl_isa isa);

/* Micro-kernels, named <type>gemm_ukr_<isa>_<MR>x<NR>. */
void pydl_sgemm_ukr_ref_4x16(int64_t k, float alpha, const float *a, const float *b,
                             float beta, float *c, int64_t rs_c, int64_t m, int64_t n);
void pydl_dgemm_ukr_ref_4x8(int64_t k, double alpha, const double *a, const double *b,
                            double beta, double *c, int64_t rs_c, int64_t m, int64_t n);

/* Packers, named <type>pack_<isa>_<R>. */
#define PYDL_SPACK_PROTO(name) \
    void name(int64_t k, int64_t mn, const float *x, int64_t rs_i, int64_t rs_p, float *dst)
#define PYDL_DPACK_PROTO(name) \
    void name(int64_t k, int64_t mn, const double *x, int64_t rs_i, int64_t rs_p, double *dst)
PYDL_SPACK_PROTO(pydl_spack_ref_4);
PYDL_SPACK_PROTO(pydl_spack_ref_16);
PYDL_DPACK_PROTO(pydl_dpack_ref_4);
PYDL_DPACK_PROTO(pydl_dpack_ref_8);

#ifdef PYDL_HAVE_X86_KERNELS
PYDL_SPACK_PROTO(pydl_spack_avx2_6);
PYDL_SPACK_PROTO(pydl_spack_avx2_16);
PYDL_DPACK_PROTO(pydl_dpack_avx2_6);
PYDL_DPACK_PROTO(pydl_dpack_avx2_8);
PYDL_SPACK_PROTO(pydl_spack_avx512_12);
PYDL_SPACK_PROTO(pydl_spack_avx512_32);
PYDL_DPACK_PROTO(pydl_dpack_avx512_12);
PYDL_DPACK_PROTO(pydl_dpack_avx512_16);

void pydl_sgemm_ukr_avx2_6x16(int64_t k, float alpha, const float *a, const float *b,
                              float beta, float *c, int64_t rs_c, int64_t m, int64_t n);
void pydl_sgemm_ukr_avx2_6x16_inplace(int64_t k, float alpha, const float *a, int64_t rs_a,
                                      int64_t cs_a, const float *b, int64_t rs_b, float beta,
                                      float *c, int64_t rs_c, int64_t m, int64_t n);
void pydl_dgemm_ukr_avx2_6x8(int64_t k, double alpha, const double *a, const double *b,
                             double beta, double *c, int64_t rs_c, int64_t m, int64_t n);
void pydl_dgemm_ukr_avx2_6x8_inplace(int64_t k, double alpha, const double *a, int64_t rs_a,
                                     int64_t cs_a, const double *b, int64_t rs_b, double beta,
                                     double *c, int64_t rs_c, int64_t m, int64_t n);
void pydl_sgemm_ukr_avx512_12x32(int64_t k, float alpha, const float *a, const float *b,
                                 float beta, float *c, int64_t rs_c, int64_t m, int64_t n);
void pydl_sgemm_ukr_avx512_12x32_inplace(int64_t k, float alpha, const float *a,
                                         int64_t rs_a, int64_t cs_a, const float *b,
                                         int64_t rs_b, float beta, float *c, int64_t rs_c,
                                         int64_t m, int64_t n);
void pydl_dgemm_ukr_avx512_12x16(int64_t k, double alpha, const double *a, const double *b,
                                 double beta, double *c, int64_t rs_c, int64_t m, int64_t n);
void pydl_dgemm_ukr_avx512_12x16_inplace(int64_t k, double alpha, const double *a,
                                         int64_t rs_a, int64_t cs_a, const double *b,
                                         int64_t rs_b, double beta, double *c, int64_t rs_c,
                                         int64_t m, int64_t n);
#endif

#endif /* PYDL_GEMM_UKERNELS_H */
