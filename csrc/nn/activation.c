/*
 * activation.c -- ReLU, leaky ReLU, sigmoid and tanh, forward and backward,
 * for float and double (pydl.h).  The kernels are written once in
 * activation_impl.h and included here once per element type.  Float
 * sigmoid and tanh use pydl's branch-free exp and tanh (nn_common.h) in
 * loops compiled per kernel path (act_vec.h); double uses libm's.
 */
#include <math.h>
#include <stdint.h>

#include "act_vec.h"
#include "nn_common.h"
#include "pydl.h"

/* The generic path's float loops with an exponential (act_vec.h). */
#define ACT_VEC_SIGMOID act_vec_sigmoid_ref
#define ACT_VEC_TANH act_vec_tanh_ref
#define ACT_VEC_EXP_SHIFT act_vec_exp_shift_ref
#define ACT_VEC_LSM_BWD act_vec_lsm_bwd_ref
#define ACT_VEC_TABLE pydl_act_kernels_ref
#include "act_vec_impl.h"
#undef ACT_VEC_SIGMOID
#undef ACT_VEC_TANH
#undef ACT_VEC_EXP_SHIFT
#undef ACT_VEC_LSM_BWD
#undef ACT_VEC_TABLE

/* The float loops of the current kernel path (also used by softmax.c). */
const pydl_act_kernels *pydl_act_kernels_get(void)
{
#ifdef PYDL_HAVE_X86_KERNELS
    switch (pydl_isa_get()) {
    case PYDL_ISA_AVX512:
        return &pydl_act_kernels_avx512;
    case PYDL_ISA_AVX2:
        return &pydl_act_kernels_avx2;
    default:
        break;
    }
#endif
    return &pydl_act_kernels_ref;
}

/* float */
#define NN_T float
#define NN_EXP nn_expf
#define NN_FABS fabsf
#define NN_TANH nn_tanhf
#define NN_SEL nn_sel_f
#define ACT_VEC_FLOAT 1 /* sigmoid and tanh: act_kernels() */
#define ACT_RELU_FWD pydl_srelu_fwd
#define ACT_RELU_BWD pydl_srelu_bwd
#define ACT_LEAKY_RELU_FWD pydl_sleaky_relu_fwd
#define ACT_LEAKY_RELU_BWD pydl_sleaky_relu_bwd
#define ACT_SIGMOID_FWD pydl_ssigmoid_fwd
#define ACT_SIGMOID_BWD pydl_ssigmoid_bwd
#define ACT_TANH_FWD pydl_stanh_fwd
#define ACT_TANH_BWD pydl_stanh_bwd
#include "activation_impl.h"
#undef NN_T
#undef NN_EXP
#undef NN_FABS
#undef NN_TANH
#undef NN_SEL
#undef ACT_VEC_FLOAT
#undef ACT_RELU_FWD
#undef ACT_RELU_BWD
#undef ACT_LEAKY_RELU_FWD
#undef ACT_LEAKY_RELU_BWD
#undef ACT_SIGMOID_FWD
#undef ACT_SIGMOID_BWD
#undef ACT_TANH_FWD
#undef ACT_TANH_BWD

/* double */
#define NN_T double
#define NN_EXP exp
#define NN_FABS fabs
#define NN_TANH tanh
#define NN_SEL nn_sel_d
#define ACT_RELU_FWD pydl_drelu_fwd
#define ACT_RELU_BWD pydl_drelu_bwd
#define ACT_LEAKY_RELU_FWD pydl_dleaky_relu_fwd
#define ACT_LEAKY_RELU_BWD pydl_dleaky_relu_bwd
#define ACT_SIGMOID_FWD pydl_dsigmoid_fwd
#define ACT_SIGMOID_BWD pydl_dsigmoid_bwd
#define ACT_TANH_FWD pydl_dtanh_fwd
#define ACT_TANH_BWD pydl_dtanh_bwd
#include "activation_impl.h"
