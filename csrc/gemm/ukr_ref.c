/*
 * ukr_ref.c -- portable C micro-kernels (the GENERIC path, and the only
 * path on non-x86 builds).  Contract: ukernels.h.  Plain loops over a small
 * accumulator array that compilers vectorize with the baseline ISA.
 */
#include "ukernels.h"

#define SMR 4
#define SNR 16

void pydl_sgemm_ukr_ref_4x16(int64_t k, float alpha, const float *restrict a,
                             const float *restrict b, float beta, float *restrict c,
                             int64_t rs_c, int64_t m, int64_t n)
{
    float acc[SMR][SNR] = {{0}};
    for (int64_t p = 0; p < k; p++) {
        for (int i = 0; i < SMR; i++) {
            const float ai = a[p * SMR + i];
            for (int j = 0; j < SNR; j++) {
                acc[i][j] += ai * b[p * SNR + j];
            }
        }
    }
    for (int64_t i = 0; i < m; i++) {
        float *row = c + i * rs_c;
        for (int64_t j = 0; j < n; j++) {
            row[j] = beta == 0 ? alpha * acc[i][j] : alpha * acc[i][j] + beta * row[j];
        }
    }
}

#define DMR 4
#define DNR 8

void pydl_dgemm_ukr_ref_4x8(int64_t k, double alpha, const double *restrict a,
                            const double *restrict b, double beta, double *restrict c,
                            int64_t rs_c, int64_t m, int64_t n)
{
    double acc[DMR][DNR] = {{0}};
    for (int64_t p = 0; p < k; p++) {
        for (int i = 0; i < DMR; i++) {
            const double ai = a[p * DMR + i];
            for (int j = 0; j < DNR; j++) {
                acc[i][j] += ai * b[p * DNR + j];
            }
        }
    }
    for (int64_t i = 0; i < m; i++) {
        double *row = c + i * rs_c;
        for (int64_t j = 0; j < n; j++) {
            row[j] = beta == 0 ? alpha * acc[i][j] : alpha * acc[i][j] + beta * row[j];
        }
    }
}
