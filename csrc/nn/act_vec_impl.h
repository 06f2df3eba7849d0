/*
 * act_vec_impl.h -- the float sigmoid and tanh loops (act_vec.h), written
 * once and included once per kernel path.  The includer defines
 * ACT_VEC_SIGMOID, ACT_VEC_TANH, ACT_VEC_EXP_SHIFT, ACT_VEC_LSM_BWD (static
 * names) and ACT_VEC_TABLE (the pydl_act_kernels table's name).
 */
#include "act_vec.h"
#include "nn_common.h"

static void ACT_VEC_SIGMOID(int64_t lo, int64_t hi, const float *x, float *y)
{
#pragma omp simd
    for (int64_t i = lo; i < hi; i++) {
        /* e = exp(-|v|) never overflows: 1/(1+e) for v >= 0, e/(1+e) below. */
        const float v = x[i];
        const float e = nn_expf(-fabsf(v));
        const float r = 1.0f / (1.0f + e);
        y[i] = nn_sel_f((uint32_t)(v >= 0.0f), r, e * r);
    }
}

static void ACT_VEC_TANH(int64_t lo, int64_t hi, const float *x, float *y)
{
#pragma omp simd
    for (int64_t i = lo; i < hi; i++) {
        y[i] = nn_tanhf(x[i]);
    }
}

static void ACT_VEC_EXP_SHIFT(int64_t lo, int64_t hi, const float *x, float m, float *y)
{
#pragma omp simd
    for (int64_t i = lo; i < hi; i++) {
        y[i] = nn_expf(x[i] - m);
    }
}

static void ACT_VEC_LSM_BWD(int64_t lo, int64_t hi, const float *g, const float *y, float s,
                            float *gx)
{
#pragma omp simd
    for (int64_t i = lo; i < hi; i++) {
        gx[i] = g[i] - nn_expf(y[i]) * s;
    }
}

const pydl_act_kernels ACT_VEC_TABLE = {ACT_VEC_SIGMOID, ACT_VEC_TANH, ACT_VEC_EXP_SHIFT,
                                        ACT_VEC_LSM_BWD};
