/* pack_avx512.c -- packers for the AVX-512 path (contract: pack_impl.h).
 * The transposes use the AVX2 register blocks, which every AVX-512 CPU has. */
#include "pack_impl.h"
#include "ukernels.h"

void pydl_spack_avx512_12(int64_t k, int64_t mn, const float *x, int64_t rs_i, int64_t rs_p, float *dst)
{
    spack_avx2(k, mn, x, rs_i, rs_p, dst, 12);
}

void pydl_spack_avx512_32(int64_t k, int64_t mn, const float *x, int64_t rs_i, int64_t rs_p, float *dst)
{
    spack_avx2(k, mn, x, rs_i, rs_p, dst, 32);
}

void pydl_dpack_avx512_12(int64_t k, int64_t mn, const double *x, int64_t rs_i, int64_t rs_p, double *dst)
{
    dpack_avx2(k, mn, x, rs_i, rs_p, dst, 12);
}

void pydl_dpack_avx512_16(int64_t k, int64_t mn, const double *x, int64_t rs_i, int64_t rs_p, double *dst)
{
    dpack_avx2(k, mn, x, rs_i, rs_p, dst, 16);
}
