/* conv_direct_avx512.c -- direct-convolution kernels for AVX-512VL (32
 * registers: 8 channels x 3 ymm vectors of accumulators, as 256-bit vectors
 * keep the short rows of small layers from running half-empty; the wide
 * forward of layers with many channels holds 2 zmm of channels x up to 14
 * positions). */
#define CD_V 8
#define CD_KB 8
#define CD_NV 3
#define CD_ACC 24
#define CD_KBW 3
#define CD_KBR 3
#define CD_FWD_BLOCK pydl_cd_fwd_block_avx512
#define CD_FWD_LANES pydl_cd_fwd_lanes_avx512
#define CD_BWD_WEIGHT_BLOCK pydl_cd_bwd_weight_block_avx512
#define CD_BWD_WEIGHT_ROWS pydl_cd_bwd_weight_rows_avx512
#define CD_WV 16
#define CD_WP_MAX 14
#define CD_FWD_WIDE pydl_cd_fwd_wide_avx512
#define CD_BWD_WEIGHT_WIDE pydl_cd_bwd_weight_wide_avx512
#define CD_KERNELS pydl_cd_kernels_avx512
#include "conv_direct_impl.h"
