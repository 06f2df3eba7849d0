/*
 * gemm_packed.h -- a float GEMM whose A is packed once and then used for many
 * products, inside the library (conv_winograd.c: the filter transforms of a
 * layer, the same for every chunk of tiles).
 *
 * Only for an A small enough to stay packed in L2 as one block (the form
 * pydl_sgemm_strided itself uses for it, on one thread):
 *   pydl_sgemm_packed_a_size(isa, m, k)  floats of packed A for an m x k A,
 *                                        or 0 when it does not fit that form;
 *   pydl_sgemm_pack_a_once(isa, ...)     pack A(i, p) = a[i*rs_a + p*cs_a];
 *   pydl_sgemm_with_packed_a(isa, ...)   C = alpha * A * B + beta * C on the
 *                                        calling thread, B(p, j) =
 *                                        b[p*rs_b + j*cs_b], C(i, j) at
 *                                        c[i*rs_c + j].
 * The product is bit for bit pydl_sgemm_strided's on one thread; isa must be
 * the same for the packing and the products (pass pydl_isa_get() read once).
 */
#ifndef PYDL_GEMM_PACKED_H
#define PYDL_GEMM_PACKED_H

#include <stdint.h>

#include "pydl.h"

int64_t pydl_sgemm_packed_a_size(pydl_isa isa, int64_t m, int64_t k);
void pydl_sgemm_pack_a_once(pydl_isa isa, int64_t m, int64_t k, const float *a, int64_t rs_a,
                            int64_t cs_a, float *ap);
int pydl_sgemm_with_packed_a(pydl_isa isa, int64_t m, int64_t n, int64_t k, float alpha,
                             const float *ap, const float *b, int64_t rs_b, int64_t cs_b,
                             float beta, float *c, int64_t rs_c);

#endif /* PYDL_GEMM_PACKED_H */
