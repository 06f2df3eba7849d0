/*
 * loss.c -- softmax cross-entropy, mean squared error and binary
 * cross-entropy with logits, each returning the loss and its gradient, for
 * float and double (pydl.h).  The kernels are written once in loss_impl.h
 * and included here once per element type.
 */
#include <math.h>
#include <stdint.h>

#include "nn_common.h"
#include "pydl.h"

/* float */
#define NN_T float
#define NN_EXP expf
#define NN_FABS fabsf
#define NN_LOG1P log1pf
#define LOSS_SOFTMAX_CE pydl_ssoftmax_cross_entropy
#define LOSS_MSE pydl_smse_loss
#define LOSS_BCE_LOGITS pydl_sbinary_cross_entropy_with_logits
#include "loss_impl.h"
#undef NN_T
#undef NN_EXP
#undef NN_FABS
#undef NN_LOG1P
#undef LOSS_SOFTMAX_CE
#undef LOSS_MSE
#undef LOSS_BCE_LOGITS

/* double */
#define NN_T double
#define NN_EXP exp
#define NN_FABS fabs
#define NN_LOG1P log1p
#define LOSS_SOFTMAX_CE pydl_dsoftmax_cross_entropy
#define LOSS_MSE pydl_dmse_loss
#define LOSS_BCE_LOGITS pydl_dbinary_cross_entropy_with_logits
#include "loss_impl.h"
