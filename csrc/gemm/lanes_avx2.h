/*
 * lanes_avx2.h -- AVX2 lane masks for masked loads and stores, shared by the
 * packers (pack_impl.h) and the AVX2 micro-kernels.  Include only from code
 * compiled with AVX2.
 */
#ifndef PYDL_GEMM_LANES_AVX2_H
#define PYDL_GEMM_LANES_AVX2_H

#include <immintrin.h>
#include <stdint.h>

/* Mask with the first n 32-bit lanes set (n clamped to 0..8). */
static inline __m256i lanes_ps(int64_t n)
{
    const int w = n < 0 ? 0 : n > 8 ? 8 : (int)n;
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(w), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

/* Mask with the first n 64-bit lanes set (n clamped to 0..4). */
static inline __m256i lanes_pd(int64_t n)
{
    const int w = n < 0 ? 0 : n > 4 ? 4 : (int)n;
    return _mm256_cmpgt_epi64(_mm256_set1_epi64x(w), _mm256_setr_epi64x(0, 1, 2, 3));
}

#endif /* PYDL_GEMM_LANES_AVX2_H */
