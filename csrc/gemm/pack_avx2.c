/* pack_avx2.c -- AVX2 packers for the AVX2 path (contract: pack_impl.h). */
#include "pack_impl.h"
#include "ukernels.h"

void pydl_spack_avx2_6(int64_t k, int64_t mn, const float *x, int64_t rs_i, int64_t rs_p, float *dst)
{
    spack_avx2(k, mn, x, rs_i, rs_p, dst, 6);
}

void pydl_spack_avx2_16(int64_t k, int64_t mn, const float *x, int64_t rs_i, int64_t rs_p, float *dst)
{
    spack_avx2(k, mn, x, rs_i, rs_p, dst, 16);
}

void pydl_dpack_avx2_6(int64_t k, int64_t mn, const double *x, int64_t rs_i, int64_t rs_p, double *dst)
{
    dpack_avx2(k, mn, x, rs_i, rs_p, dst, 6);
}

void pydl_dpack_avx2_8(int64_t k, int64_t mn, const double *x, int64_t rs_i, int64_t rs_p, double *dst)
{
    dpack_avx2(k, mn, x, rs_i, rs_p, dst, 8);
}
