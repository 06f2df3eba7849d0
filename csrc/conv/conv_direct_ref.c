/* conv_direct_ref.c -- direct-convolution kernels, portable (128-bit vectors). */
#define CD_V 4
#define CD_KB 4
#define CD_NV 2
#define CD_ACC 12
#define CD_KBW 1
#define CD_KBR 1
#define CD_FWD_BLOCK pydl_cd_fwd_block_ref
#define CD_FWD_LANES pydl_cd_fwd_lanes_ref
#define CD_BWD_WEIGHT_BLOCK pydl_cd_bwd_weight_block_ref
#define CD_BWD_WEIGHT_ROWS pydl_cd_bwd_weight_rows_ref
#define CD_KERNELS pydl_cd_kernels_ref
#include "conv_direct_impl.h"
