/*
 * softmax.c -- softmax and log-softmax over the last axis, forward and
 * backward, for float and double (pydl.h).  The kernels are written once in
 * softmax_impl.h and included here once per element type.  Float runs its
 * exponential loops from the current kernel path's table (act_vec.h).
 */
#include <math.h>
#include <stdint.h>

#include "act_vec.h"
#include "nn_common.h"
#include "pydl.h"

/* float */
#define NN_T float
#define NN_EXP nn_expf
#define SM_VEC_FLOAT 1 /* the exponential loops: pydl_act_kernels_get() */
#define SM_ROW_MAX ssoftmax_row_max
#define SM_ACC4 ssoftmax_acc4
#define SM_DOT4 ssoftmax_dot4
#define SM_SOFTMAX_FWD pydl_ssoftmax_fwd
#define SM_SOFTMAX_BWD pydl_ssoftmax_bwd
#define SM_LOG_SOFTMAX_FWD pydl_slog_softmax_fwd
#define SM_LOG_SOFTMAX_BWD pydl_slog_softmax_bwd
#include "softmax_impl.h"
#undef NN_T
#undef NN_EXP
#undef SM_VEC_FLOAT
#undef SM_ROW_MAX
#undef SM_ACC4
#undef SM_DOT4
#undef SM_SOFTMAX_FWD
#undef SM_SOFTMAX_BWD
#undef SM_LOG_SOFTMAX_FWD
#undef SM_LOG_SOFTMAX_BWD

/* double */
#define NN_T double
#define NN_EXP exp
#define SM_ROW_MAX dsoftmax_row_max
#define SM_ACC4 dsoftmax_acc4
#define SM_DOT4 dsoftmax_dot4
#define SM_SOFTMAX_FWD pydl_dsoftmax_fwd
#define SM_SOFTMAX_BWD pydl_dsoftmax_bwd
#define SM_LOG_SOFTMAX_FWD pydl_dlog_softmax_fwd
#define SM_LOG_SOFTMAX_BWD pydl_dlog_softmax_bwd
#include "softmax_impl.h"
