/*
 * conv2d.c -- 2-D convolution entry points for float and double (pydl.h).
 *
 * The algorithm is written once in conv2d_impl.h and included here once per
 * element type; this file holds the type-independent helpers.
 */
#include <stddef.h>
#include <stdint.h>

#include "conv_direct.h"
#include "conv_lanes.h"
#include "conv_winograd.h"
#include "parallel.h"
#include "pydl.h"
#include "workspace.h"

/* The weight gradient is summed in at most this many fixed chunks of images
 * (then reduced in order), so threads can share the batch without the
 * result depending on how many there are. */
#define PYDL_CONV_WEIGHT_CHUNKS 8

/* 1x1 stride-1 layers of images of at most this many positions run as
 * one batched GEMM sharing the weights (CONV_FWD_POINTWISE): packing the
 * weights once per image costs them more than the products gain (16
 * images, 2 threads: 2048 -> 512 and 512 -> 2048 at 7x7 10-13 % faster;
 * at 14x14 and 16x16 3-7 % slower, as each image's slice is packed again
 * for every block of weights). */
#define PYDL_CONV_SHARED_W_POSITIONS 64

/* Size of a block of the im2col matrix, built and consumed while in cache. */
#define PYDL_CONV_BLOCK_BYTES ((int64_t)1024 * 1024)

/* Largest im2col matrix of a block of whole small images (images whose
 * im2col matrices fit PYDL_CONV_BLOCK_BYTES at least twice).  Blocks are
 * made as big as the batch and this allow, not cache-sized: every block's
 * GEMM packs the weights once more (16 images of 256 -> 512, 3x3 stride 2,
 * 14x14, 2 threads: 1 MB blocks of 2 images 11.6-12.0 ms, 8 images per
 * block 10.5-11.5 ms; 4 images 3.6-3.7 -> 2.8-2.9 ms). */
#define PYDL_CONV_IMAGES_BLOCK_BYTES ((int64_t)8 * 1024 * 1024)

/* Outputs ow in [lo, hi) read input columns ow*stride + off inside [0, w). */
static void conv_valid_range(int64_t out_w, int64_t w, int64_t stride, int64_t off, int64_t *lo,
                             int64_t *hi)
{
    int64_t a = off >= 0 ? 0 : (-off + stride - 1) / stride;
    int64_t b = w - off > 0 ? (w - off + stride - 1) / stride : 0;
    a = a < out_w ? a : out_w;
    b = b < out_w ? b : out_w;
    *lo = a;
    *hi = b > a ? b : a;
}

/* 1x1, stride 1, no padding: the image itself is the im2col matrix. */
static int conv_is_pointwise(const pydl_conv2d_params *p)
{
    return p->r == 1 && p->s == 1 && p->stride_h == 1 && p->stride_w == 1 && p->pad_top == 0 &&
           p->pad_left == 0 && p->out_h == p->h && p->out_w == p->w;
}

/* Output positions per im2col block: the block (C/groups*R*S rows) stays
 * within PYDL_CONV_BLOCK_BYTES, so it is still in cache when the GEMM packs
 * it; a multiple of 16, all positions when they fit. */
static int64_t conv_block_cols(const pydl_conv2d_params *p, size_t elem)
{
    const int64_t crs = p->c / p->groups * p->r * p->s, hwo = p->out_h * p->out_w;
    int64_t cols = PYDL_CONV_BLOCK_BYTES / (crs * (int64_t)elem) / 16 * 16;
    cols = cols < 16 ? 16 : cols;
    return cols < hwo ? cols : hwo;
}

/* Whole images per im2col block when images are small (0 or 1 otherwise:
 * then blocks hold part of one image).  Never for pointwise convolutions,
 * which need no im2col. */
static int64_t conv_images_per_block(const pydl_conv2d_params *p, size_t elem)
{
    if (conv_is_pointwise(p)) {
        return 0;
    }
    const int64_t crs = p->c / p->groups * p->r * p->s, hwo = p->out_h * p->out_w;
    return PYDL_CONV_BLOCK_BYTES / (crs * (int64_t)elem) / (hwo > 0 ? hwo : 1);
}

/* Images per block of CONV_EACH_BLOCK (at least 1): the batch split evenly
 * over the threads, as long as the block's im2col matrix stays within
 * PYDL_CONV_IMAGES_BLOCK_BYTES.  Each block's GEMM packs the weights again,
 * so few big blocks beat many cache-sized ones. */
static int64_t conv_images_per_thread_block(const pydl_conv2d_params *p, size_t elem, int nt)
{
    const int64_t crs = p->c / p->groups * p->r * p->s, hwo = p->out_h * p->out_w;
    const int64_t fit = PYDL_CONV_IMAGES_BLOCK_BYTES / (crs * (int64_t)elem) / (hwo > 0 ? hwo : 1);
    const int64_t share = p->n / nt;
    const int64_t nimg = share < fit ? share : fit;
    return nimg > 1 ? nimg : 1;
}

/* Bytes of an im2col block of `cols` positions (0 when none is needed). */
static size_t conv_col_bytes(const pydl_conv2d_params *p, size_t elem, int64_t cols)
{
    if (conv_is_pointwise(p)) {
        return 0;
    }
    const int64_t crs = p->c / p->groups * p->r * p->s;
    return (size_t)(crs * cols) * elem;
}

static int conv_threads(int n_threads)
{
    return n_threads > 0 ? n_threads : pydl_threads_get();
}

/* Threads take whole images (or chunks) when every thread gets the same
 * number, or enough of them that the imbalance is small; otherwise they
 * share each image's GEMMs.  Either way the arithmetic is the same. */
static int conv_by_image(int64_t items, int nt)
{
    return nt > 1 && items >= nt && (items % nt == 0 || items >= 4 * (int64_t)nt);
}

/* float */
#define CONV_T float
#define CONV_GEMM pydl_sgemm_strided
#define CONV_GEMM_BATCHED pydl_sgemm_batched
#define CONV_IM2COL sconv_im2col
#define CONV_COL2IM sconv_col2im
#define CONV_FWD_IMAGE sconv_fwd_image
#define CONV_FWD_IMAGES sconv_fwd_images
#define CONV_FWD_POINTWISE sconv_fwd_pointwise
#define CONV_EACH_IMAGE sconv_each_image
#define CONV_EACH_BLOCK sconv_each_block
#define CONV_BWD_DATA_IMAGES sconv_bwd_data_images
#define CONV_BWD_DATA_IMAGE sconv_bwd_data_image
#define CONV_WEIGHT_CHUNK sconv_weight_chunk
#define CONV_BWD_BIAS sconv_bwd_bias
#define CONV_FWD sconv_fwd_im2col
#define CONV_BWD_DATA sconv_bwd_data_im2col
#define CONV_BWD_WEIGHT sconv_bwd_weight_im2col
#include "conv2d_impl.h"
#undef CONV_T
#undef CONV_GEMM
#undef CONV_GEMM_BATCHED
#undef CONV_IM2COL
#undef CONV_COL2IM
#undef CONV_FWD_IMAGE
#undef CONV_FWD_IMAGES
#undef CONV_FWD_POINTWISE
#undef CONV_EACH_IMAGE
#undef CONV_EACH_BLOCK
#undef CONV_BWD_DATA_IMAGES
#undef CONV_BWD_DATA_IMAGE
#undef CONV_WEIGHT_CHUNK
#undef CONV_BWD_BIAS
#undef CONV_FWD
#undef CONV_BWD_DATA
#undef CONV_BWD_WEIGHT

/* double */
#define CONV_T double
#define CONV_GEMM pydl_dgemm_strided
#define CONV_GEMM_BATCHED pydl_dgemm_batched
#define CONV_IM2COL dconv_im2col
#define CONV_COL2IM dconv_col2im
#define CONV_FWD_IMAGE dconv_fwd_image
#define CONV_FWD_IMAGES dconv_fwd_images
#define CONV_FWD_POINTWISE dconv_fwd_pointwise
#define CONV_EACH_IMAGE dconv_each_image
#define CONV_EACH_BLOCK dconv_each_block
#define CONV_BWD_DATA_IMAGES dconv_bwd_data_images
#define CONV_BWD_DATA_IMAGE dconv_bwd_data_image
#define CONV_WEIGHT_CHUNK dconv_weight_chunk
#define CONV_BWD_BIAS dconv_bwd_bias
#define CONV_FWD dconv_fwd_im2col
#define CONV_BWD_DATA dconv_bwd_data_im2col
#define CONV_BWD_WEIGHT dconv_bwd_weight_im2col
#include "conv2d_impl.h"

/* Public entry points: float layers with few channels per group take the
 * direct kernels (conv_direct.c), everything else im2col + GEMM.  The
 * choice depends only on the shapes, never on the thread count. */
int pydl_sconv2d_fwd(const pydl_conv2d_params *p, const float *x, const float *w,
                     const float *bias, float *y, int n_threads)
{
    if (pydl_wg_takes_fwd(p)) {
        return pydl_wg_fwd(p, x, w, bias, y, conv_threads(n_threads));
    }
    if (pydl_cl_takes_fwd(p)) {
        const int status = pydl_cl_fwd(p, x, w, bias, y, conv_threads(n_threads));
        if (status != PYDL_ERR_UNSUPPORTED) { /* else the path changed meanwhile */
            return status;
        }
    }
    if (pydl_cd_takes_fwd(p)) {
        return pydl_cd_fwd(p, x, w, bias, y, conv_threads(n_threads));
    }
    return sconv_fwd_im2col(p, x, w, bias, y, n_threads);
}

int pydl_sconv2d_fwd_maxpool2x2(const pydl_conv2d_params *p, const float *x, const float *w,
                                const float *bias, int relu, float *y, uint8_t *code,
                                int n_threads)
{
    if (pydl_wg_takes_fwd(p) || !pydl_cl_takes_fwd(p)) {
        return PYDL_ERR_UNSUPPORTED;
    }
    return pydl_cl_fwd_maxpool2x2(p, x, w, bias, relu, y, code, conv_threads(n_threads));
}

int pydl_sconv2d_bwd_data(const pydl_conv2d_params *p, const float *grad_y, const float *w,
                          float *grad_x, int n_threads)
{
    if (pydl_wg_takes_bwd_data(p)) {
        return pydl_wg_bwd_data(p, grad_y, w, grad_x, conv_threads(n_threads));
    }
    if (pydl_cl_takes_bwd_data(p)) {
        const int status = pydl_cl_bwd_data(p, grad_y, w, grad_x, conv_threads(n_threads));
        if (status != PYDL_ERR_UNSUPPORTED) { /* else the path changed meanwhile */
            return status;
        }
    }
    if (pydl_cd_takes_bwd_data(p)) {
        return pydl_cd_bwd_data(p, grad_y, w, grad_x, conv_threads(n_threads));
    }
    return sconv_bwd_data_im2col(p, grad_y, w, grad_x, n_threads);
}

int pydl_sconv2d_bwd_weight(const pydl_conv2d_params *p, const float *grad_y, const float *x,
                            float *grad_w, float *grad_bias, int n_threads)
{
    if (pydl_cl_takes_bwd_weight(p)) {
        const int status = pydl_cl_bwd_weight(p, grad_y, NULL, x, grad_w, grad_bias,
                                              conv_threads(n_threads));
        if (status != PYDL_ERR_UNSUPPORTED) { /* else the path changed meanwhile */
            return status;
        }
    }
    if (grad_w == NULL) {
        sconv_bwd_bias(p, grad_y, grad_bias, conv_threads(n_threads));
        return PYDL_OK;
    }
    if (pydl_wg_takes_bwd_weight(p)) {
        const int status = pydl_wg_bwd_weight(p, grad_y, x, grad_w, conv_threads(n_threads));
        sconv_bwd_bias(p, grad_y, grad_bias, conv_threads(n_threads));
        return status;
    }
    if (pydl_cd_takes_bwd_weight(p)) {
        const int status = pydl_cd_bwd_weight(p, grad_y, x, grad_w, conv_threads(n_threads));
        sconv_bwd_bias(p, grad_y, grad_bias, conv_threads(n_threads));
        return status;
    }
    return sconv_bwd_weight_im2col(p, grad_y, x, grad_w, grad_bias, n_threads);
}

int pydl_sconv2d_bwd_maxpool2x2(const pydl_conv2d_params *p, const float *grad_y,
                                const uint8_t *code, const float *x, const float *w,
                                float *grad_x, float *grad_w, float *grad_bias, int n_threads)
{
    const int weights = grad_w != NULL || grad_bias != NULL;
    if ((weights && !pydl_cl_takes_bwd_weight(p)) ||
        (grad_x != NULL && (pydl_wg_takes_bwd_data(p) || !pydl_cl_takes_bwd_data(p)))) {
        return PYDL_ERR_UNSUPPORTED;
    }
    const int nt = conv_threads(n_threads);
    int status = PYDL_OK;
    if (grad_x != NULL) {
        status = pydl_cl_bwd_data_pooled(p, grad_y, code, w, grad_x, nt);
    }
    if (status == PYDL_OK && weights) {
        status = pydl_cl_bwd_weight(p, grad_y, code, x, grad_w, grad_bias, nt);
    }
    return status;
}

int pydl_dconv2d_fwd(const pydl_conv2d_params *p, const double *x, const double *w,
                     const double *bias, double *y, int n_threads)
{
    return dconv_fwd_im2col(p, x, w, bias, y, n_threads);
}

int pydl_dconv2d_bwd_data(const pydl_conv2d_params *p, const double *grad_y, const double *w,
                          double *grad_x, int n_threads)
{
    return dconv_bwd_data_im2col(p, grad_y, w, grad_x, n_threads);
}

int pydl_dconv2d_bwd_weight(const pydl_conv2d_params *p, const double *grad_y,
                            const double *x, double *grad_w, double *grad_bias, int n_threads)
{
    if (grad_w == NULL) {
        dconv_bwd_bias(p, grad_y, grad_bias, conv_threads(n_threads));
        return PYDL_OK;
    }
    return dconv_bwd_weight_im2col(p, grad_y, x, grad_w, grad_bias, n_threads);
}
