/*
 * batchnorm.c -- batch normalisation over axis 1 of (N, C) or (N, C, H, W)
 * inputs, forward and backward, for float and double (pydl.h).  The kernels
 * are written once in batchnorm_impl.h and included here once per element
 * type.
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "nn_common.h"
#include "pydl.h"

/* float */
#define NN_T float
#define BN_SUM sbn_sum
#define BN_SUM_SQDEV sbn_sum_sqdev
#define BN_SUM_PRODDEV sbn_sum_proddev
#define BN_FWD pydl_sbatch_norm_fwd
#define BN_BWD pydl_sbatch_norm_bwd
#include "batchnorm_impl.h"
#undef NN_T
#undef BN_SUM
#undef BN_SUM_SQDEV
#undef BN_SUM_PRODDEV
#undef BN_FWD
#undef BN_BWD

/* double */
#define NN_T double
#define BN_SUM dbn_sum
#define BN_SUM_SQDEV dbn_sum_sqdev
#define BN_SUM_PRODDEV dbn_sum_proddev
#define BN_FWD pydl_dbatch_norm_fwd
#define BN_BWD pydl_dbatch_norm_bwd
#include "batchnorm_impl.h"
