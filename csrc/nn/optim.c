/*
 * optim.c -- optimizer updates in place (SGD with momentum/Nesterov, Adam and
 * AdamW, RMSprop), PyTorch's algorithms, for float and double (pydl.h).  The
 * kernels are written once in optim_impl.h and included here once per
 * element type.
 */
#include <math.h>
#include <stdint.h>

#include "nn_common.h"
#include "pydl.h"

/* float */
#define NN_T float
#define NN_SQRT sqrtf
#define OPT_SGD pydl_ssgd_update
#define OPT_ADAM pydl_sadam_update
#define OPT_RMSPROP pydl_srmsprop_update
#include "optim_impl.h"
#undef NN_T
#undef NN_SQRT
#undef OPT_SGD
#undef OPT_ADAM
#undef OPT_RMSPROP

/* double */
#define NN_T double
#define NN_SQRT sqrt
#define OPT_SGD pydl_dsgd_update
#define OPT_ADAM pydl_dadam_update
#define OPT_RMSPROP pydl_drmsprop_update
#include "optim_impl.h"
