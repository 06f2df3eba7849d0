/*
 * conv_lanes.h -- float convolution with the batch in the vector lanes, for
 * layers with few channels (LeNet-sized), where channels are too few to
 * fill a vector or a GEMM micro-tile but a batch of 16 images is not.
 *
 * Sixteen images are interleaved, element by element, into a "lane buffer"
 * xt[c][row][col][16]; every multiply-add then serves 16 images at once
 * with one weight broadcast, whatever the channel counts.  The forward pass,
 * the weight gradient and, for stride 1, the data gradient (a forward pass
 * over grad_y with the filters flipped and channels swapped) run this way.
 *
 * The framework (conv_lanes.c: weight packing, workspaces, threads) is
 * portable; the kernels (interleave, row, de-interleave, weight, sum, pool,
 * unpool) exist for the avx512 path only (conv_lanes_avx512.c).  pydl_cl_kernels_get() returns
 * NULL on other paths, and the layer takes another algorithm there.
 *
 * Kernel contract
 * ---------------
 * pack interleaves `lanes` <= 16 images: lane l of xt[row][j] is
 * src[l*image + row*w + j - pad_left], 0 outside [0, w) and for lanes
 * >= `lanes`, for every row < h and j < wb.  src rows are w floats apart.
 *
 * row computes one output row of every output channel:
 *     yrow[k][ow][l] = bias[k] + sum over c < cin, r in [r_lo, r_hi),
 *                      s < S (in that order) of
 *                      wt[((c*R + r)*S + s)*kout + k] *
 *                      xt[c][row0 + r*dh][ow*sw + s*dw][l]
 * for k < kout, ow < pos (pos is out_w rounded up to a whole register
 * block, at most out_w rounded up to 12), l < 16; bias may be NULL (0).
 * Rows row0 + r*dh lie in [0, h) for r in [r_lo, r_hi); xt planes are
 * h*wb*16 floats apart and wb covers every column read.  Columns outside
 * [col_lo, col_hi) are zero: row may skip taps that read only those.
 * yrow[k] is ywidth*16 floats long.
 *
 * unpack is pack's inverse for one output row: y[l*image + k*plane + ow] =
 * yrow[k][ow][l] for l < lanes, k < kout, ow < out_w; it reads yrow
 * positions up to out_w rounded up to 16, so ywidth >= that.
 *
 * weight computes the weight gradient of input channel c, kernel row r and
 * output channels [k0, k0 + kb), kb = pydl_cl_weight_kb(S) (those < kout):
 *     gw[((k*cin + c)*R + r)*S + s] = sum over lanes l of (sum over image
 *         groups i < groups, rows oh < out_h with row = oh*sh + r*dh -
 *         pad_top in [0, h), columns ow < out_w, in that order, of
 *         gt[i][k][oh][ow][l] * xt[i][c][row][ow*sw + s*dw][l])
 * for s < S.  gt holds grad_y interleaved like xt (pack with pad_left 0,
 * wb = out_w), kout planes of out_h*out_w*16 floats per image group; groups
 * of xt and gt are x_group and gy_group floats apart.
 *
 * pool is unpack for the pooled form (pydl_sconv2d_fwd_maxpool2x2): from
 * two consecutive output rows yrow0 (row 2i) and yrow1 (row 2i + 1) of every
 * channel, the 2x2 stride-2 max pool (then ReLU if relu) of lane l's windows
 * (yrow0[k][2j], yrow0[k][2j + 1], yrow1[k][2j], yrow1[k][2j + 1]) with the
 * rule, values and codes of pydl_smaxpool2x2_fwd, written de-interleaved to
 * y[l*image + k*plane + j] and code[l*image + k*plane + j] for l < lanes,
 * k < kout, j < out_w / 2.  It reads yrow positions below 2 * (out_w / 2).
 *
 * unpool is pack for a source given pooled (pydl_sconv2d_bwd_maxpool2x2):
 * the source plane of lane l, h x w, is the gradient that
 * pydl_smaxpool2x2_bwd makes of g and code (pooled planes of (h/2) x (w/2)
 * at l*image): 0 + g[i][j] at the tap code[i][j] of window (i, j), +0
 * elsewhere and in an odd last row or column.
 *
 * lane_sum returns the sum of all count*16 floats at xt, in double: lane l
 * of vector i added to partial sum i % 4 of lane l, in order of i; the
 * partial sums added as (0 + 1) + (2 + 3); then the lanes added in order
 * 0, 1, ..., 15.
 */
#ifndef PYDL_CONV_LANES_H
#define PYDL_CONV_LANES_H

#include <stdint.h>

#include "pydl.h"

#define PYDL_CL_LANES 16

typedef struct pydl_cl_geom {
    int64_t cin, kout, r, s; /* channels in and out, kernel size          */
    int64_t sw, dh, dw;      /* column stride, dilations                  */
    int64_t h, wb;           /* lane buffer rows and columns              */
    int64_t col_lo, col_hi;  /* its columns that hold source columns      */
    int64_t out_w, ywidth;   /* output row length, row buffer width       */
} pydl_cl_geom;

typedef struct pydl_cl_kernels {
    void (*pack)(const float *src, int64_t image, int64_t lanes, int64_t h, int64_t w,
                 int64_t pad_left, int64_t wb, float *xt);
    void (*row)(const pydl_cl_geom *g, const float *xt, const float *wt, const float *bias,
                int64_t row0, int64_t r_lo, int64_t r_hi, float *yrow);
    void (*unpack)(const pydl_cl_geom *g, const float *yrow, int64_t lanes, int64_t image,
                   int64_t plane, float *y);
    void (*weight)(const pydl_cl_geom *g, int64_t groups, int64_t out_h, int64_t sh,
                   int64_t pad_top, const float *xt, int64_t x_group, const float *gt,
                   int64_t gy_group, int64_t c, int64_t r, int64_t k0, float *gw);
    double (*lane_sum)(const float *xt, int64_t count);
    void (*pool)(const pydl_cl_geom *g, const float *yrow0, const float *yrow1, int relu,
                 int64_t lanes, int64_t image, int64_t plane, float *y, uint8_t *code);
    void (*unpool)(const float *g, const uint8_t *code, int64_t image, int64_t lanes, int64_t h,
                   int64_t w, int64_t pad_left, int64_t wb, float *xt);
} pydl_cl_kernels;

/* Output channels per weight-gradient block (conv_lanes.h): kb x S
 * accumulators, at most 24. */
static inline int64_t pydl_cl_weight_kb(int64_t s)
{
    return s >= 3 ? 24 / s : 8;
}

/* Widest kernel the weight gradient handles. */
#define PYDL_CL_SMAX 7

#ifdef PYDL_HAVE_X86_KERNELS
extern const pydl_cl_kernels pydl_cl_kernels_avx512;
#endif

/* The kernels of the current path, or NULL. */
const pydl_cl_kernels *pydl_cl_kernels_get(void);

/* Whether this path takes the forward pass, the data or weight gradient. */
int pydl_cl_takes_fwd(const pydl_conv2d_params *p);
int pydl_cl_takes_bwd_data(const pydl_conv2d_params *p);
int pydl_cl_takes_bwd_weight(const pydl_conv2d_params *p);

int pydl_cl_fwd(const pydl_conv2d_params *p, const float *x, const float *w, const float *bias,
                float *y, int nt);
/* The forward pass pooled: pydl_sconv2d_fwd_maxpool2x2 (pydl.h). */
int pydl_cl_fwd_maxpool2x2(const pydl_conv2d_params *p, const float *x, const float *w,
                           const float *bias, int relu, float *y, uint8_t *code, int nt);
int pydl_cl_bwd_data(const pydl_conv2d_params *p, const float *grad_y, const float *w,
                     float *grad_x, int nt);
/* grad_w and grad_bias (either may be NULL, not both): the bias from the
 * interleaved grad_y, so the same with or without grad_w.  With code not
 * NULL, grad_y is pooled (pydl_sconv2d_bwd_maxpool2x2), and likewise for
 * the data gradient. */
int pydl_cl_bwd_weight(const pydl_conv2d_params *p, const float *grad_y, const uint8_t *code,
                       const float *x, float *grad_w, float *grad_bias, int nt);
int pydl_cl_bwd_data_pooled(const pydl_conv2d_params *p, const float *grad_y,
                            const uint8_t *code, const float *w, float *grad_x, int nt);

#endif /* PYDL_CONV_LANES_H */
