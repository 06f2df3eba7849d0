/*
 * bias.c -- per-channel bias add (axis 1) and its gradient, for float and
 * double (pydl.h).  The kernels are written once in bias_impl.h and included
 * here once per element type.
 */
#include <stdint.h>

#include "nn_common.h"
#include "pydl.h"

/* Channels per work item of the matrix (s == 1) gradient: one stack buffer
 * of double sums per item. */
#define BIAS_COLS 256

/* float */
#define NN_T float
#define BIAS_SUM sbias_sum
#define BIAS_ADD_FWD pydl_sbias_add_fwd
#define BIAS_ADD_BWD pydl_sbias_add_bwd
#include "bias_impl.h"
#undef NN_T
#undef BIAS_SUM
#undef BIAS_ADD_FWD
#undef BIAS_ADD_BWD

/* double */
#define NN_T double
#define BIAS_SUM dbias_sum
#define BIAS_ADD_FWD pydl_dbias_add_fwd
#define BIAS_ADD_BWD pydl_dbias_add_bwd
#include "bias_impl.h"
