/*
 * conv_winograd.h -- float 3x3 stride-1 convolution by Winograd's minimal
 * filtering F(2x2, 3x3) (Lavin and Gray, "Fast Algorithms for Convolutional
 * Neural Networks", 2016), for layers with many channels.
 *
 * Each 2x2 block of outputs (a tile) of one image and output channel is
 *     Y = A^T [ sum over c of (G g_kc G^T) .* (B^T d_c B) ] A
 * where d_c is the 4x4 input patch of channel c under the tile (padding
 * reads 0), g_kc the 3x3 filter, .* the elementwise product, and
 *     B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1],
 *     G   = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1],
 *     A^T = [1 1 1 0; 0 1 -1 -1].
 * So a convolution becomes 16 GEMMs, one per element e of the 4x4 tiles:
 *     M_e (K x T) = U_e (K x C) . V_e (C x T)
 * over the T tiles, with 2.25x fewer multiply-adds than the direct sum.
 * Tiles go in chunks (a fixed number per chunk, so the workspaces do not
 * grow with the batch): input transform into V, the 16 GEMMs on one
 * thread, output transform (plus bias) into y.  The weight gradient
 * transforms grad_y's tiles too and sums GEMMs over the tiles (below).  Thread ownership: thread t
 * owns whole chunks of tiles and the outputs they cover; U (the filters'
 * transforms) is computed once per call by the calling thread.  Every
 * output is the same sum whatever the thread count or chunking.
 *
 * Rounding differs from the direct sum (the transforms add and halve
 * values): errors stay within a few times those of the direct sum.  The
 * transforms also add and subtract neighbouring inputs: an infinite input
 * gives NaN (inf - inf) where the direct sum gives inf, and inputs within
 * a factor ~16 of FLT_MAX may overflow where the direct sum does not.
 */
#ifndef PYDL_CONV_WINOGRAD_H
#define PYDL_CONV_WINOGRAD_H

#include "pydl.h"

/* Whether the Winograd path takes this float convolution: 3x3, stride 1,
 * no dilation, one group, at least PYDL_WG_MIN_CHANNELS input and output
 * channels, at most PYDL_WG_MAX_FILTERS filters (C*K: the filter
 * transforms take 64 bytes each and as much again packed for the GEMMs,
 * the weight gradient's group sums 4 times that: 16, 16 and 64 MiB of
 * workspace at 512 x 512), outputs (and, for the data gradient, inputs) at
 * least 2x2. */
#define PYDL_WG_MIN_CHANNELS 64
#define PYDL_WG_MAX_FILTERS (512 * 512)
int pydl_wg_takes_fwd(const pydl_conv2d_params *p);
int pydl_wg_takes_bwd_data(const pydl_conv2d_params *p);
int pydl_wg_takes_bwd_weight(const pydl_conv2d_params *p);

int pydl_wg_fwd(const pydl_conv2d_params *p, const float *x, const float *w, const float *bias,
                float *y, int nt);
/* grad_x as a forward pass over grad_y padded by 2 - pad (negative: rows
 * or columns skipped), with the filters flipped and their input and output
 * channels swapped. */
int pydl_wg_bwd_data(const pydl_conv2d_params *p, const float *grad_y, const float *w,
                     float *grad_x, int nt);

/* grad_w[k][c] = G^T [ sum over tiles t of (A gy_kt A^T) .* (B^T d_ct B) ] G:
 * 16 GEMMs GT_e (K x T) . V_e^T (T x C), the tiles summed in fixed groups. */
int pydl_wg_bwd_weight(const pydl_conv2d_params *p, const float *grad_y, const float *x,
                       float *grad_w, int nt);

#endif /* PYDL_CONV_WINOGRAD_H */
