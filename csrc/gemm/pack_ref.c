/* pack_ref.c -- portable packers for the GENERIC path (contract: pack_impl.h). */
#include "pack_impl.h"
#include "ukernels.h"

void pydl_spack_ref_4(int64_t k, int64_t mn, const float *x, int64_t rs_i, int64_t rs_p, float *dst)
{
    spack_scalar(k, mn, x, rs_i, rs_p, dst, 4);
}

void pydl_spack_ref_16(int64_t k, int64_t mn, const float *x, int64_t rs_i, int64_t rs_p, float *dst)
{
    spack_scalar(k, mn, x, rs_i, rs_p, dst, 16);
}

void pydl_dpack_ref_4(int64_t k, int64_t mn, const double *x, int64_t rs_i, int64_t rs_p, double *dst)
{
    dpack_scalar(k, mn, x, rs_i, rs_p, dst, 4);
}

void pydl_dpack_ref_8(int64_t k, int64_t mn, const double *x, int64_t rs_i, int64_t rs_p, double *dst)
{
    dpack_scalar(k, mn, x, rs_i, rs_p, dst, 8);
}
