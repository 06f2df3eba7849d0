/* act_vec_avx2.c -- the float loops with an exponential for the avx2 path
 * (act_vec.h), compiled with that path's flags (CMakeLists.txt). */
#define ACT_VEC_SIGMOID act_vec_sigmoid_avx2
#define ACT_VEC_TANH act_vec_tanh_avx2
#define ACT_VEC_EXP_SHIFT act_vec_exp_shift_avx2
#define ACT_VEC_LSM_BWD act_vec_lsm_bwd_avx2
#define ACT_VEC_TABLE pydl_act_kernels_avx2
#include "act_vec_impl.h"
