/* conv_direct_avx2.c -- direct-convolution kernels for AVX2 + FMA (16 ymm
 * registers: 4 channels x 2 vectors of accumulators). */
#define CD_V 8
#define CD_KB 4
#define CD_NV 2
#define CD_ACC 12
#define CD_KBW 1
#define CD_KBR 1
#define CD_FWD_BLOCK pydl_cd_fwd_block_avx2
#define CD_FWD_LANES pydl_cd_fwd_lanes_avx2
#define CD_BWD_WEIGHT_BLOCK pydl_cd_bwd_weight_block_avx2
#define CD_BWD_WEIGHT_ROWS pydl_cd_bwd_weight_rows_avx2
#define CD_KERNELS pydl_cd_kernels_avx2
#include "conv_direct_impl.h"
