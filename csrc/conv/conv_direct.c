/*
 * conv_direct.c -- the framework of the direct float convolution
 * (contract and kernels: conv_direct.h): which layers take it, padded
 * copies, weight packing, threads.
 *
 * Thread ownership: forward and data gradient, thread t owns whole images
 * (its padded copies and its outputs), or with fewer images than threads,
 * whole (image, group, block of output channels) items, or bands of their
 * output rows; weight gradient, thread t owns
 * whole chunks of images (their padded copies and their partial sums), and
 * the chunk sums are added in chunk order afterwards.  Chunks depend only
 * on N, so results do not depend on the thread count.
 */
#include <stdint.h>
#include <string.h>

#include "conv_direct.h"
#include "workspace.h"

/* Channels per group (outputs) and taps the direct kernels are meant for:
 * beyond these, im2col + GEMM is faster. */
#define PYDL_CD_MAX_OUT_CHANNELS 32
#define PYDL_CD_MAX_TAPS 1024
/* With wide kernels (cd_kernels()->fwd_wide), layers with more channels
 * take the direct path too (forward, weight gradient, data gradient), up
 * to this many taps per group: a block of 2*WV channels' weights then stays
 * in L2. */
#define PYDL_CD_WIDE_MAX_TAPS 2304
/* The wide forward holds up to wp_max positions of one output row per
 * register block; rows shorter than this leave it short of accumulators,
 * and im2col + GEMM is faster (3x3 stride-2 256 -> 512 at 14x14, 2
 * threads: 12.1-12.3 against 14.2-15.3 ms for 16 images, 1.9 against 3.1
 * ms for 2, 1.0-1.2 against 2.7-3.1 ms for 1). */
#define PYDL_CD_WIDE_MIN_OUT_W 8
/* Fixed number of image chunks of the weight gradient (as im2col's). */
#define PYDL_CD_WEIGHT_CHUNKS 8
/* Padded copies per thread stay below this. */
#define PYDL_CD_MAX_PAD_BYTES ((int64_t)8 << 20)
/* Sizes (sides, extents, strides, plane counts) beyond this go to im2col;
 * below it no size product of the direct path overflows. */
#define PYDL_CD_MAX_SIDE ((int64_t)1 << 20)

static const pydl_cd_kernels *cd_kernels(void)
{
#ifdef PYDL_HAVE_X86_KERNELS
    switch (pydl_isa_get()) {
    case PYDL_ISA_AVX512:
        return &pydl_cd_kernels_avx512;
    case PYDL_ISA_AVX2:
        return &pydl_cd_kernels_avx2;
    default:
        break;
    }
#endif
    return &pydl_cd_kernels_ref;
}

static int64_t round_up(int64_t x, int64_t m)
{
    return (x + m - 1) / m * m;
}

/* Vectors per forward register block for rows of out_w outputs: the
 * fewest padded lanes per row, then the widest block. */
static int cd_nv(const pydl_cd_kernels *kr, int64_t out_w)
{
    int best = 1;
    for (int nv = 2; nv <= kr->nv_max; nv++) {
        if (round_up(out_w, (int64_t)nv * kr->v) <= round_up(out_w, (int64_t)best * kr->v)) {
            best = nv;
        }
    }
    return best;
}

/* Positions per register block of the wide forward: the fewest padded
 * positions per row, then the most per block. */
static int cd_wide_p(const pydl_cd_kernels *kr, int64_t out_w)
{
    static const int fewer[] = {12, 10, 8};
    int best = kr->wp_max;
    for (int i = 0; i < 3; i++) {
        if (round_up(out_w, fewer[i]) < round_up(out_w, best)) {
            best = fewer[i];
        }
    }
    return best;
}

/* Positions per register block of the lanes forward with nkv vectors of
 * channels: ACC / nkv, or 8 when that pads rows less. */
static int cd_lanes_p(const pydl_cd_kernels *kr, int nkv, int64_t out_w)
{
    const int full = kr->acc / nkv;
    return 8 < full && round_up(out_w, 8) < round_up(out_w, full) ? 8 : full;
}

/* How a forward pass with `outs` output channels per group is blocked:
 * columns in the lanes (blocks of KB channels) for fewer channels than a
 * vector, channels in the lanes up to 4 vectors of them, then the wide
 * kernel (when the ISA has one). */
typedef enum cd_mode { CD_ROWS, CD_LANES, CD_WIDE } cd_mode;

static cd_mode cd_mode_of(const pydl_cd_kernels *kr, int64_t outs)
{
    if (outs > 4 * (int64_t)kr->v && kr->fwd_wide != NULL) {
        return CD_WIDE;
    }
    return outs >= kr->v && outs <= 4 * (int64_t)kr->v ? CD_LANES : CD_ROWS;
}

/* Column stride the kernels of a pass with `outs` output channels per
 * group run at: the layer's for the wide kernels, 1 for the others (which
 * take only layers of column stride 1). */
static int64_t cd_col_stride(const pydl_cd_kernels *kr, const pydl_conv2d_params *p,
                             int64_t outs)
{
    return cd_mode_of(kr, outs) == CD_WIDE ? p->stride_w : 1;
}

/* Geometry of a forward pass of cin-channel planes with the given kernel,
 * strides and output size (column stride sw > 1 only for the wide kernel). */
static pydl_cd_geom cd_geom(const pydl_cd_kernels *kr, int64_t cin, const pydl_conv2d_params *p,
                            int64_t sh, int64_t sw, int64_t out_h, int64_t out_w)
{
    pydl_cd_geom g;
    g.cin = cin;
    g.r = p->r;
    g.s = p->s;
    g.sh = sh;
    g.sw = sw;
    g.dh = p->dil_h;
    g.dw = p->dil_w;
    g.out_h = out_h;
    g.out_w = out_w;
    g.owp = round_up(out_w, kr->v);
    g.ph = (out_h - 1) * sh + (p->r - 1) * p->dil_h + 1;
    /* Columns read past out_w: whole row blocks of every forward kernel
     * (the lanes kernel's blocks divide kr->acc or are 8) and whole
     * vectors. */
    int64_t cols = round_up(out_w, (int64_t)cd_nv(kr, out_w) * kr->v);
    cols = cols > g.owp ? cols : g.owp;
    cols = cols > round_up(out_w, kr->acc) ? cols : round_up(out_w, kr->acc);
    cols = cols > round_up(out_w, 8) ? cols : round_up(out_w, 8);
    if (kr->fwd_wide != NULL) {
        const int64_t wide = round_up(out_w, cd_wide_p(kr, out_w));
        cols = cols > wide ? cols : wide;
    }
    g.pw = (cols - 1) * sw + 1 + (p->s - 1) * p->dil_w;
    return g;
}

/* Whether the direct kernels take a pass with these output channels and
 * taps per group over `planes` input planes per image.  The wide kernels
 * skip 1x1 kernels: with so few taps per output their transposed stores
 * and padded copies cost more than im2col's GEMM (measured: a 64 -> 128,
 * 1x1 stride-2 forward 2.1 ms against 1.4 ms). */
static int cd_shapes_ok(const pydl_conv2d_params *p, int64_t out_channels, int64_t taps,
                        int64_t planes)
{
    const pydl_cd_kernels *kr = cd_kernels();
    const int wide = cd_mode_of(kr, out_channels) == CD_WIDE;
    if (wide && p->r * p->s == 1) {
        return 0;
    }
    const int64_t max_outs = wide ? PYDL_CD_MAX_SIDE : PYDL_CD_MAX_OUT_CHANNELS;
    const int64_t max_taps = wide ? PYDL_CD_WIDE_MAX_TAPS : PYDL_CD_MAX_TAPS;
    if (p->n <= 0 || p->out_h <= 0 || p->out_w <= 0 || out_channels > max_outs ||
        taps > max_taps || p->h > PYDL_CD_MAX_SIDE || p->w > PYDL_CD_MAX_SIDE ||
        p->out_h > PYDL_CD_MAX_SIDE || p->out_w > PYDL_CD_MAX_SIDE ||
        (p->r - 1) * p->dil_h > PYDL_CD_MAX_SIDE || (p->s - 1) * p->dil_w > PYDL_CD_MAX_SIDE ||
        p->stride_h > PYDL_CD_MAX_SIDE || p->stride_w > PYDL_CD_MAX_SIDE ||
        planes > PYDL_CD_MAX_SIDE) {
        return 0; /* also keeps the size products below from overflowing */
    }
    const pydl_cd_geom g = cd_geom(kr, 1, p, p->stride_h, cd_col_stride(kr, p, out_channels),
                                   p->out_h, p->out_w);
    if (g.ph > PYDL_CD_MAX_SIDE || g.pw > PYDL_CD_MAX_SIDE) {
        return 0;
    }
    /* each factor is below 2^22: the plane's bytes fit easily, and the
     * plane count is compared by division */
    const int64_t plane_bytes = (g.ph + p->h) * (g.pw + p->w) * (int64_t)sizeof(float);
    return planes <= PYDL_CD_MAX_PAD_BYTES / plane_bytes;
}

/* 1x1 stride-1 layers are a plain GEMM (no im2col to save). */
static int cd_pointwise(const pydl_conv2d_params *p)
{
    return p->r == 1 && p->s == 1 && p->stride_h == 1 && p->stride_w == 1;
}

int pydl_cd_takes_fwd(const pydl_conv2d_params *p)
{
    const pydl_cd_kernels *kr = cd_kernels();
    const int64_t cg = p->c / p->groups, kg = p->k / p->groups;
    if (cd_mode_of(kr, kg) == CD_WIDE && p->out_w < PYDL_CD_WIDE_MIN_OUT_W) {
        return 0;
    }
    return cd_col_stride(kr, p, kg) == p->stride_w && !cd_pointwise(p) &&
           cd_shapes_ok(p, kg, cg * p->r * p->s, p->c);
}

int pydl_cd_takes_bwd_data(const pydl_conv2d_params *p)
{
    /* The data gradient is a stride-1 forward pass over grad_y padded by
     * the kernel extent minus the padding, which must not be negative. */
    const int64_t cg = p->c / p->groups, kg = p->k / p->groups;
    /* Its outputs are the input channels: fewer than a vector of them per
     * group would leave most lanes idle. */
    return cg >= cd_kernels()->v && !cd_pointwise(p) && p->stride_h == 1 && p->stride_w == 1 &&
           p->pad_top <= (p->r - 1) * p->dil_h &&
           p->pad_left <= (p->s - 1) * p->dil_w && cd_shapes_ok(p, cg, kg * p->r * p->s, p->k);
}

int pydl_cd_takes_bwd_weight(const pydl_conv2d_params *p)
{
    const int64_t cg = p->c / p->groups, kg = p->k / p->groups;
    return cd_col_stride(cd_kernels(), p, kg) == p->stride_w && !cd_pointwise(p) &&
           p->s <= PYDL_CD_SMAX &&
           cd_shapes_ok(p, kg, cg * p->r * p->s, p->c + p->k);
}

/* dst (ph x pw, zero-filled) with src (h x w) placed at (top, left);
 * parts of src outside dst are dropped. */
static void cd_pad_plane(const float *src, int64_t h, int64_t w, int64_t top, int64_t left,
                         float *dst, int64_t ph, int64_t pw)
{
    const int64_t j0 = left > 0 ? left : 0;
    const int64_t j1 = left + w < pw ? left + w : pw;
    for (int64_t i = 0; i < ph; i++) {
        float *row = dst + i * pw;
        const int64_t ih = i - top;
        if (ih < 0 || ih >= h || j1 <= j0) {
            memset(row, 0, (size_t)pw * sizeof(float));
            continue;
        }
        memset(row, 0, (size_t)j0 * sizeof(float));
        memcpy(row + j0, src + ih * w + (j0 - left), (size_t)(j1 - j0) * sizeof(float));
        memset(row + j1, 0, (size_t)(pw - j1) * sizeof(float));
    }
}

/* Packed-weight layout of a forward pass: per group, `blocks` blocks of
 * taps x width floats. */
static void cd_layout(const pydl_cd_kernels *kr, int64_t outs, int64_t *width, int64_t *blocks)
{
    const cd_mode mode = cd_mode_of(kr, outs);
    if (mode == CD_WIDE) {
        *width = 2 * (int64_t)kr->wv;
        *blocks = (outs + *width - 1) / *width;
    } else if (mode == CD_LANES) {
        *width = round_up(outs, kr->v);
        *blocks = 1;
    } else {
        *width = kr->kb;
        *blocks = (outs + kr->kb - 1) / kr->kb;
    }
}

/* The forward framework shared by the forward pass and the data gradient:
 * images of `planes` channels (in groups of g->cin) at `in` (in_h x in_w
 * each, placed at (top, left) in the padded planes), packed weights wp
 * (cd_layout: per group and block, g->cin*R*S taps of `width` weights),
 * outputs of `outs` channels per group into `out`. */
static int cd_forward(const pydl_cd_kernels *kr, const pydl_cd_geom *g, int64_t n_images,
                      int64_t groups, const float *in, int64_t in_h, int64_t in_w, int64_t top,
                      int64_t left, const float *wp, int64_t outs, const float *bias, float *out,
                      int nt)
{
    const int64_t planes = groups * g->cin, plane = g->ph * g->pw;
    const int64_t taps = g->cin * g->r * g->s, out_plane = g->out_h * g->out_w;
    int64_t width, kblocks;
    cd_layout(kr, outs, &width, &kblocks);
    const cd_mode mode = cd_mode_of(kr, outs);
    const int nv = cd_nv(kr, g->out_w);
    /* Work items: whole images when there are enough for every thread,
     * else (image, group, block of outputs), each padding its own planes,
     * and those cut into bands of output rows if still too few. */
    const int64_t per_image = n_images >= nt ? 1 : groups * kblocks;
    const int64_t bands0 = n_images * per_image >= nt ? 1 : nt;
    const int64_t bands = bands0 < g->out_h ? bands0 : g->out_h;
    const int64_t items = n_images * per_image * bands;
    int status = PYDL_OK;
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1 && items > 1)
    for (int64_t it = 0; it < items; it++) {
        const int64_t n = it / (per_image * bands);
        const int64_t unit = it / bands % per_image, band = it % bands;
        const int64_t first = per_image == 1 ? 0 : unit;
        const int64_t last = per_image == 1 ? groups * kblocks : first + 1;
        const int64_t p0 = per_image == 1 ? 0 : first / kblocks * g->cin;
        const int64_t p1 = per_image == 1 ? planes : p0 + g->cin;
        pydl_cd_geom gb = *g;
        const int64_t oh0 = g->out_h * band / bands, oh1 = g->out_h * (band + 1) / bands;
        gb.out_h = oh1 - oh0;
        float *xp = pydl_workspace(PYDL_WS_CONV_COL, (size_t)(planes * plane) * sizeof(float));
        if (xp == NULL) {
#pragma omp atomic write
            status = PYDL_ERR_NOMEM;
            continue;
        }
        for (int64_t c = p0; c < p1; c++) {
            cd_pad_plane(in + (n * planes + c) * in_h * in_w, in_h, in_w, top, left,
                         xp + c * plane, g->ph, g->pw);
        }
        for (int64_t blk = first; blk < last; blk++) {
            const int64_t gi = blk / kblocks, kb = blk % kblocks;
            const int64_t k0 = gi * outs + kb * width;
            const int64_t nk = outs - kb * width < width ? outs - kb * width : width;
            const float *xg = xp + gi * g->cin * plane + oh0 * g->sh * g->pw;
            const float *wb = wp + blk * taps * width;
            const float *bb = bias != NULL ? bias + k0 : NULL;
            float *yb = out + (n * groups * outs + k0) * out_plane + oh0 * g->out_w;
            if (mode == CD_WIDE) {
                kr->fwd_wide(&gb, cd_wide_p(kr, g->out_w), xg, wb, bb, nk, yb, out_plane);
            } else if (mode == CD_LANES) {
                const int nkv = (int)(width / kr->v);
                kr->fwd_lanes(&gb, nkv, cd_lanes_p(kr, nkv, g->out_w), xg, wb, bb, nk, yb,
                              out_plane);
            } else {
                kr->fwd_block(&gb, nv, xg, wb, bb, nk, yb, out_plane);
            }
        }
    }
    return status;
}

/* Pack weights for cd_forward: wp[gi][blk][t][j] = weight of output
 * o = blk*width + j (0 past outs) and tap t of group gi, read from w as a
 * convolution weight (flip = 0: w[gi*outs + o][t], taps = C/groups*R*S) or
 * as the flipped, transposed weight of the data gradient (flip = 1: taps
 * run over (k, r, s) and read w[gi*kg + k][o][R-1-r][S-1-s]). */
static float *cd_pack(const pydl_cd_kernels *kr, const pydl_conv2d_params *p, const float *w,
                      int64_t outs, int64_t taps, int flip)
{
    const int64_t rs = p->r * p->s, kg = p->k / p->groups, cg = p->c / p->groups;
    int64_t width, blocks;
    cd_layout(kr, outs, &width, &blocks);
    float *wp = pydl_workspace(PYDL_WS_CONV_OUT,
                               (size_t)(p->groups * blocks * taps * width) * sizeof(float));
    if (wp == NULL) {
        return NULL;
    }
    for (int64_t gi = 0; gi < p->groups; gi++) {
        for (int64_t b = 0; b < blocks; b++) {
            float *blk = wp + (gi * blocks + b) * taps * width;
            for (int64_t t = 0; t < taps; t++) {
                for (int64_t j = 0; j < width; j++) {
                    const int64_t o = b * width + j;
                    float v = 0.0f;
                    if (o < outs) {
                        v = flip ? w[((gi * kg + t / rs) * cg + o) * rs + (rs - 1 - t % rs)]
                                 : w[(gi * outs + o) * taps + t];
                    }
                    blk[t * width + j] = v;
                }
            }
        }
    }
    return wp;
}

int pydl_cd_fwd(const pydl_conv2d_params *p, const float *x, const float *w, const float *bias,
                float *y, int nt)
{
    const pydl_cd_kernels *kr = cd_kernels();
    const int64_t cg = p->c / p->groups, kg = p->k / p->groups;
    const pydl_cd_geom g =
        cd_geom(kr, cg, p, p->stride_h, cd_col_stride(kr, p, kg), p->out_h, p->out_w);
    const float *wp = cd_pack(kr, p, w, kg, cg * p->r * p->s, 0);
    if (wp == NULL) {
        return PYDL_ERR_NOMEM;
    }
    return cd_forward(kr, &g, p->n, p->groups, x, p->h, p->w, p->pad_top, p->pad_left, wp, kg,
                      bias, y, nt);
}

int pydl_cd_bwd_data(const pydl_conv2d_params *p, const float *grad_y, const float *w,
                     float *grad_x, int nt)
{
    /* grad_x[c][ih][iw] = sum over k, r, s of grad_y[k][ih + pt - r*dh][iw + pl - s*dw]
     * * w[k][c][r][s]: a stride-1 forward pass over grad_y padded by
     * (R-1)*dh - pt on top and (S-1)*dw - pl on the left, with the weights
     * flipped and input and output channels swapped. */
    const pydl_cd_kernels *kr = cd_kernels();
    const int64_t cg = p->c / p->groups, kg = p->k / p->groups;
    const pydl_cd_geom g = cd_geom(kr, kg, p, 1, 1, p->h, p->w);
    const float *wp = cd_pack(kr, p, w, cg, kg * p->r * p->s, 1);
    if (wp == NULL) {
        return PYDL_ERR_NOMEM;
    }
    return cd_forward(kr, &g, p->n, p->groups, grad_y, p->out_h, p->out_w,
                      (p->r - 1) * p->dil_h - p->pad_top, (p->s - 1) * p->dil_w - p->pad_left,
                      wp, cg, NULL, grad_x, nt);
}

/* Output channels per block of the weight gradient with channels in the
 * lanes: kbw vectors, or two wide vectors for the wide kernel. */
static int64_t cd_weight_block(const pydl_cd_kernels *kr, int64_t kg)
{
    return cd_mode_of(kr, kg) == CD_WIDE ? 2 * (int64_t)kr->wv : (int64_t)kr->kbw * kr->v;
}

/* grad_y floats per image as the weight-gradient kernels read it: planes
 * with rows padded to owp (rows kernel, fewer channels per group than a
 * vector), or per group and block of channels (cd_weight_block),
 * [position][lane] with the block's channels padded to whole vectors (to
 * the whole block for the wide kernel). */
static int64_t cd_weight_gy_image(const pydl_cd_kernels *kr, const pydl_conv2d_params *p,
                                  const pydl_cd_geom *g, int rows)
{
    const int64_t kg = p->k / p->groups, block = cd_weight_block(kr, kg);
    if (rows) {
        return p->k * p->out_h * g->owp;
    }
    if (cd_mode_of(kr, kg) == CD_WIDE) {
        return p->groups * p->out_h * p->out_w * round_up(kg, block);
    }
    const int64_t full = kg / block, rest = kg - full * block;
    return p->groups * p->out_h * p->out_w * (full * block + round_up(rest, kr->v));
}

/* Images [n0, n0 + nimg) of a chunk: grad_y rearranged into gyb, then
 * their weight gradient added to part, group by group and block by block
 * of output channels. */
static void cd_weight_chunk(const pydl_cd_kernels *kr, const pydl_conv2d_params *p,
                            const pydl_cd_geom *g, int rows, const float *grad_y, int64_t n0,
                            int64_t nimg, const float *xp, int64_t x_image, float *gyb,
                            float *part)
{
    const int64_t cg = p->c / p->groups, kg = p->k / p->groups, rs = p->r * p->s;
    const int64_t hwo = p->out_h * p->out_w, plane = g->ph * g->pw;
    const int64_t gy_image = cd_weight_gy_image(kr, p, g, rows);
    if (rows) {
        const int64_t gy_plane = p->out_h * g->owp;
        for (int64_t n = 0; n < nimg; n++) {
            for (int64_t k = 0; k < p->k; k++) {
                cd_pad_plane(grad_y + ((n0 + n) * p->k + k) * hwo, p->out_h, p->out_w, 0, 0,
                             gyb + n * gy_image + k * gy_plane, p->out_h, g->owp);
            }
        }
        for (int64_t gi = 0; gi < p->groups; gi++) {
            for (int64_t k0 = 0; k0 < kg; k0 += kr->kbr) {
                const int64_t nk = kg - k0 < kr->kbr ? kg - k0 : kr->kbr;
                kr->bwd_weight_rows(g, nimg, x_image, gy_image, xp + gi * cg * plane,
                                    gyb + (gi * kg + k0) * gy_plane, nk,
                                    part + (gi * kg + k0) * cg * rs);
            }
        }
        return;
    }
    const int wide = cd_mode_of(kr, kg) == CD_WIDE;
    const int64_t block = cd_weight_block(kr, kg);
    float *seg = gyb;
    for (int64_t gi = 0; gi < p->groups; gi++) {
        for (int64_t k0 = 0; k0 < kg; k0 += block) {
            const int64_t nk = kg - k0 < block ? kg - k0 : block;
            const int64_t lanes = wide ? block : round_up(nk, kr->v);
            for (int64_t n = 0; n < nimg; n++) {
                const float *src = grad_y + ((n0 + n) * p->k + gi * kg + k0) * hwo;
                float *dst = seg + n * hwo * lanes;
                for (int64_t q = 0; q < hwo; q++) {
                    for (int64_t k = 0; k < lanes; k++) {
                        dst[q * lanes + k] = k < nk ? src[k * hwo + q] : 0.0f;
                    }
                }
            }
            (wide ? kr->bwd_weight_wide : kr->bwd_weight_block)(
                g, nimg, x_image, hwo * lanes, xp + gi * cg * plane, seg, nk,
                part + (gi * kg + k0) * cg * rs);
            seg += nimg * hwo * lanes;
        }
    }
}

int pydl_cd_bwd_weight(const pydl_conv2d_params *p, const float *grad_y, const float *x,
                       float *grad_w, int nt)
{
    const pydl_cd_kernels *kr = cd_kernels();
    const int64_t cg = p->c / p->groups, kg = p->k / p->groups, rs = p->r * p->s;
    const int64_t w_size = p->k * cg * rs;
    const int rows = kg < kr->v;
    const pydl_cd_geom g =
        cd_geom(kr, cg, p, p->stride_h, cd_col_stride(kr, p, kg), p->out_h, p->out_w);
    const int64_t plane = g.ph * g.pw, x_image = p->c * plane;
    const int64_t gy_image = cd_weight_gy_image(kr, p, &g, rows);
    const int64_t chunks = p->n < PYDL_CD_WEIGHT_CHUNKS ? p->n : PYDL_CD_WEIGHT_CHUNKS;
    float *parts = pydl_workspace(PYDL_WS_CONV_PARTS, (size_t)(chunks * w_size) * sizeof(float));
    if (parts == NULL) {
        return PYDL_ERR_NOMEM;
    }
    /* Images padded at a time: as many as fit PYDL_CD_MAX_PAD_BYTES (at
     * least one), so the workspace does not grow with the batch; fixed by
     * the shapes, so the order of the sums is too. */
    int64_t sub = PYDL_CD_MAX_PAD_BYTES / ((x_image + gy_image) * (int64_t)sizeof(float));
    sub = sub < 1 ? 1 : sub;
    int status = PYDL_OK;
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1 && chunks > 1)
    for (int64_t ch = 0; ch < chunks; ch++) {
        const int64_t n0 = p->n * ch / chunks, n1 = p->n * (ch + 1) / chunks;
        const int64_t most = n1 - n0 < sub ? n1 - n0 : sub;
        float *xp = pydl_workspace(PYDL_WS_CONV_COL,
                                   (size_t)(most * (x_image + gy_image)) * sizeof(float));
        if (xp == NULL) {
#pragma omp atomic write
            status = PYDL_ERR_NOMEM;
            continue;
        }
        float *part = parts + ch * w_size;
        memset(part, 0, (size_t)w_size * sizeof(float));
        for (int64_t b0 = n0; b0 < n1; b0 += sub) {
            const int64_t nimg = n1 - b0 < sub ? n1 - b0 : sub;
            for (int64_t n = 0; n < nimg; n++) {
                for (int64_t c = 0; c < p->c; c++) {
                    cd_pad_plane(x + ((b0 + n) * p->c + c) * p->h * p->w, p->h, p->w,
                                 p->pad_top, p->pad_left, xp + n * x_image + c * plane, g.ph,
                                 g.pw);
                }
            }
            cd_weight_chunk(kr, p, &g, rows, grad_y, b0, nimg, xp, x_image, xp + nimg * x_image,
                            part);
        }
    }
    if (status != PYDL_OK) {
        return status;
    }
    for (int64_t i = 0; i < w_size; i++) {
        float acc = parts[i];
        for (int64_t ch = 1; ch < chunks; ch++) {
            acc += parts[ch * w_size + i];
        }
        grad_w[i] = acc;
    }
    return PYDL_OK;
}
