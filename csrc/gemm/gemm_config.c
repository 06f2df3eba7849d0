/*
 * gemm_config.c -- block sizes and micro-kernels, one row per ISA.
 * The only place GEMM tuning knobs live (see ukernels.h for their meaning).
 */
#include "ukernels.h"

/* avx512 sgemm: kc = 1024 and mc = 192 (a 768 KB block of A and a 128 KB
 * sliver of B in a 1 MB L2), once the micro-kernel prefetched the next B
 * sliver: N = 2048 and 4096 on Zen 4 +4-5 % against kc = 384, mc = 240. */
static const pydl_sgemm_config sgemm_table[PYDL_ISA_COUNT] = {
    /*                    mr  nr   mc   kc    nc  micro-kernel                  packers A, B,
     *                                                                 in-place micro-kernel or NULL */
    [PYDL_ISA_GENERIC] = { 4, 16, 128, 256, 2048, pydl_sgemm_ukr_ref_4x16,     pydl_spack_ref_4,
                                                                               pydl_spack_ref_16},
#ifdef PYDL_HAVE_X86_KERNELS
    [PYDL_ISA_AVX2]    = { 6, 16, 144, 512, 4096, pydl_sgemm_ukr_avx2_6x16,    pydl_spack_avx2_6,
                                                                               pydl_spack_avx2_16,
                                                                pydl_sgemm_ukr_avx2_6x16_inplace},
    [PYDL_ISA_AVX512]  = {12, 32, 192, 1024, 4096, pydl_sgemm_ukr_avx512_12x32, pydl_spack_avx512_12,
                                                                               pydl_spack_avx512_32,
                                                               pydl_sgemm_ukr_avx512_12x32_inplace},
#endif
};

/* avx512 dgemm: kc = 1024 halves the passes over C against 512 (N = 4096 on
 * Zen 4: +6 %); mc = 108 keeps the 864 KB block of A and a 128 KB sliver of
 * B together inside a 1 MB L2. */
static const pydl_dgemm_config dgemm_table[PYDL_ISA_COUNT] = {
    /*                    mr  nr   mc   kc    nc  micro-kernel                  packers A, B,
     *                                                             in-place micro-kernel or NULL */
    [PYDL_ISA_GENERIC] = { 4,  8, 128, 256, 2048, pydl_dgemm_ukr_ref_4x8,      pydl_dpack_ref_4,
                                                                               pydl_dpack_ref_8},
#ifdef PYDL_HAVE_X86_KERNELS
    [PYDL_ISA_AVX2]    = { 6,  8, 144, 384, 4096, pydl_dgemm_ukr_avx2_6x8,     pydl_dpack_avx2_6,
                                                                               pydl_dpack_avx2_8,
                                                                 pydl_dgemm_ukr_avx2_6x8_inplace},
    [PYDL_ISA_AVX512]  = {12, 16, 108, 1024, 4096, pydl_dgemm_ukr_avx512_12x16, pydl_dpack_avx512_12,
                                                                               pydl_dpack_avx512_16,
                                                             pydl_dgemm_ukr_avx512_12x16_inplace},
#endif
};

const pydl_sgemm_config *pydl_sgemm_config_get(pydl_isa isa)
{
    const pydl_sgemm_config *cfg = &sgemm_table[isa];
    return cfg->ukr ? cfg : &sgemm_table[PYDL_ISA_GENERIC];
}

const pydl_dgemm_config *pydl_dgemm_config_get(pydl_isa isa)
{
    const pydl_dgemm_config *cfg = &dgemm_table[isa];
    return cfg->ukr ? cfg : &dgemm_table[PYDL_ISA_GENERIC];
}
