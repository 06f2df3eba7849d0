/*
 * act_vec.h -- the float loops with an exponential (sigmoid, tanh, and the
 * softmax ones), compiled once per kernel path (ISA): act_vec_impl.h
 * included by activation.c (generic, baseline flags), act_vec_avx2.c and
 * act_vec_avx512.c (their own flags, CMakeLists).  pydl_act_kernels_get()
 * gives the table of the current path (pydl_isa_get()).
 *
 * Each function computes its output for i in [lo, hi) with pydl's
 * branch-free nn_expf / nn_tanhf (nn_common.h); the paths differ only in
 * vector width and in FMA contraction, so results may differ between paths
 * in the last bit, never between thread counts.  An output may be an input.
 */
#ifndef PYDL_ACT_VEC_H
#define PYDL_ACT_VEC_H

#include <stdint.h>

typedef struct pydl_act_kernels {
    void (*sigmoid)(int64_t lo, int64_t hi, const float *x, float *y);
    void (*tanh)(int64_t lo, int64_t hi, const float *x, float *y);
    /* y[i] = exp(x[i] - m) */
    void (*exp_shift)(int64_t lo, int64_t hi, const float *x, float m, float *y);
    /* gx[i] = g[i] - exp(y[i]) * s (log-softmax backward) */
    void (*lsm_bwd)(int64_t lo, int64_t hi, const float *g, const float *y, float s,
                    float *gx);
} pydl_act_kernels;

/* The table of the current kernel path (activation.c). */
const pydl_act_kernels *pydl_act_kernels_get(void);

extern const pydl_act_kernels pydl_act_kernels_ref;
#ifdef PYDL_HAVE_X86_KERNELS
extern const pydl_act_kernels pydl_act_kernels_avx2;
extern const pydl_act_kernels pydl_act_kernels_avx512;
#endif

#endif /* PYDL_ACT_VEC_H */
