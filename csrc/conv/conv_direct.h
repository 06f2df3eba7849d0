/*
 * conv_direct.h -- direct float convolution for layers with few channels
 * per group (LeNet-sized and depthwise layers), where im2col + GEMM spends
 * more time copying and on half-empty micro-tiles than on arithmetic.
 *
 * The framework (conv_direct.c: padding copies, weight packing, threads)
 * is portable; the register-blocked kernels (conv_direct_impl.h) are
 * compiled once per ISA and chosen at run time, as for GEMM.
 *
 * Kernel contract
 * ---------------
 * A "padded plane" is an input plane copied into a zero-filled ph x pw
 * array with its top-left element at (pad_top, pad_left); pw leaves room
 * for whole vectors past the last output column, so kernels never test
 * bounds while reading.
 *
 * fwd_block computes, for the kb <= KB output channels of one packed weight
 * block and every output (oh, ow) of one image and group,
 *     y[k][oh][ow] = sum over c < cin, r < R, s < S (in that order) of
 *                    wp[((c*R + r)*S + s)*KB + k] * xp[c][oh*sh + r*dh][ow + s*dw]
 * then adds bias[k] (bias may be NULL); y[k] is at y + k*y_plane.
 * fwd_lanes computes the same with the output channels in the lanes: wp
 * holds, per tap, nkv vectors of weights (channels zero-padded), and
 * kb <= nkv*V; the positions of a row go in blocks of `positions`: ACC / nkv,
 * or 8 when 8 is fewer and pads the row less.
 *
 * bwd_weight_block adds, for the kb <= KBW*V output channels of one group
 * and every c < cin, r < R, s < S,
 *     part[k][c][r][s] += sum over images, oh, ow of gyt[oh][ow][k] * xp[c][oh*sh + r*dh][ow + s*dw]
 * where gyt is the group's grad_y with the channels innermost (lanes),
 * zero-padded to a whole number of vectors, gy_image floats per image.
 * Each sum runs over images, rows and columns in order, one lane per
 * channel.  bwd_weight_rows computes the same for kb <= KBR channels with
 * the columns in lanes instead (for layers with fewer channels than a
 * vector): gyp holds grad_y planes with rows zero-padded to owp, and the
 * lanes are added in order at the end.  Either way the result depends
 * only on the shapes.
 *
 * fwd_wide (optional, NULL when an ISA has none) computes the forward for
 * kb <= 2*WV output channels of a block packed like fwd_lanes' (per tap,
 * 2*WV weights) with positions in blocks of `positions` (8, 10, 12 or
 * wp_max) and any column stride: xp[c][oh*sh + r*dh][ow*sw + s*dw].  It is
 * meant for layers with many channels, where each block's weights stay in
 * L2 and two wide vectors of them serve 2*positions multiply-adds.
 * bwd_weight_wide (with fwd_wide) is bwd_weight_block for kb <= 2*WV
 * channels whose gyt holds 2*WV lanes per position, with column stride sw.
 */
#ifndef PYDL_CONV_DIRECT_H
#define PYDL_CONV_DIRECT_H

#include <stdint.h>

#include "pydl.h"

/* Largest kernel width the weight-gradient kernels handle. */
#define PYDL_CD_SMAX 7

typedef struct pydl_cd_geom {
    int64_t cin, r, s;          /* input channels (of one group), kernel size   */
    int64_t sh, dh, dw;         /* row stride, dilations                        */
    int64_t sw;                 /* column stride (1 except in the wide kernels)  */
    int64_t ph, pw;             /* padded plane size                            */
    int64_t out_h, out_w;       /* output plane size                            */
    int64_t owp;                /* padded grad_y row length (bwd_weight_rows)   */
} pydl_cd_geom;

typedef struct pydl_cd_kernels {
    int v;      /* floats per vector                               */
    int kb;     /* output channels per forward register block       */
    int nv_max; /* vectors along a row per forward register block   */
    int acc;    /* accumulators of the channels-in-lanes forward    */
    int kbw;    /* most vectors of channels per weight-gradient block */
    int kbr;    /* channels per row-vector weight-gradient block      */
    void (*fwd_block)(const pydl_cd_geom *g, int nv, const float *xp, const float *wp,
                      const float *bias, int64_t kb, float *y, int64_t y_plane);
    void (*fwd_lanes)(const pydl_cd_geom *g, int nkv, int positions, const float *xp,
                      const float *wp,
                      const float *bias, int64_t kb, float *y, int64_t y_plane);
    void (*bwd_weight_block)(const pydl_cd_geom *g, int64_t images, int64_t x_image,
                             int64_t gy_image, const float *xp, const float *gyt, int64_t kb,
                             float *part);
    void (*bwd_weight_rows)(const pydl_cd_geom *g, int64_t images, int64_t x_image,
                            int64_t gy_image, const float *xp, const float *gyp, int64_t kb,
                            float *part);
    int wv;     /* floats per wide vector (0: no wide forward)     */
    int wp_max; /* most positions per wide register block          */
    void (*fwd_wide)(const pydl_cd_geom *g, int positions, const float *xp, const float *wp,
                     const float *bias, int64_t kb, float *y, int64_t y_plane);
    void (*bwd_weight_wide)(const pydl_cd_geom *g, int64_t images, int64_t x_image,
                            int64_t gy_image, const float *xp, const float *gyt, int64_t kb,
                            float *part);
} pydl_cd_kernels;

extern const pydl_cd_kernels pydl_cd_kernels_ref;
#ifdef PYDL_HAVE_X86_KERNELS
extern const pydl_cd_kernels pydl_cd_kernels_avx2;
extern const pydl_cd_kernels pydl_cd_kernels_avx512;
#endif

/* Whether the direct path takes this convolution (forward and weight
 * gradient; the data gradient has its own test). */
int pydl_cd_takes_fwd(const pydl_conv2d_params *p);
int pydl_cd_takes_bwd_data(const pydl_conv2d_params *p);
int pydl_cd_takes_bwd_weight(const pydl_conv2d_params *p);

int pydl_cd_fwd(const pydl_conv2d_params *p, const float *x, const float *w, const float *bias,
                float *y, int nt);
int pydl_cd_bwd_data(const pydl_conv2d_params *p, const float *grad_y, const float *w,
                     float *grad_x, int nt);
int pydl_cd_bwd_weight(const pydl_conv2d_params *p, const float *grad_y, const float *x,
                       float *grad_w, int nt);

#endif /* PYDL_CONV_DIRECT_H */
