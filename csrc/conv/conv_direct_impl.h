/*
 * conv_direct_impl.h -- the direct-convolution kernels (contract:
 * conv_direct.h), written once with GCC/Clang vector extensions and
 * compiled once per ISA by conv_direct_<isa>.c, which defines:
 *   CD_V        floats per vector
 *   CD_KB       output channels per forward register block
 *   CD_NV       most vectors along a row per forward block (1..4)
 *   CD_ACC      accumulators of the channels-in-lanes forward (a multiple
 *               of 12, so that 1 to 4 vectors of channels divide it)
 *   CD_KBW      most vectors of output channels per weight-gradient block
 *   CD_KBR      output channels per row-vector weight-gradient block
 *   CD_FWD_BLOCK, CD_FWD_LANES, CD_BWD_WEIGHT_BLOCK, CD_BWD_WEIGHT_ROWS,
 *   CD_KERNELS  names
 * and, for the wide forward (layers with many output channels; optional):
 *   CD_WV       floats per wide vector (two of them per register block)
 *   CD_WP_MAX   most positions per wide block (14: 28 accumulators)
 *   CD_FWD_WIDE, CD_BWD_WEIGHT_WIDE names
 * Register use: CD_KB * CD_NV forward accumulators, CD_KBW (or CD_KBR)
 * times the kernel width weight-gradient accumulators.
 */
#include <string.h>

#include "conv_direct.h"

typedef float cd_vec __attribute__((vector_size(CD_V * sizeof(float))));
typedef int32_t cd_ivec __attribute__((vector_size(CD_V * sizeof(int32_t))));

static inline cd_vec cd_load(const float *p)
{
    cd_vec v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* Every lane = *p (a broadcast load; x - 0 folds to x, x + 0 would not). */
static inline cd_vec cd_splat(const float *p)
{
    return *p - (cd_vec){0};
}

/* One register block of outputs: rows of nv vectors, CD_KB channels. */
static inline __attribute__((always_inline)) void
cd_fwd_rows(const pydl_cd_geom *g, const int nv, const float *xp, const float *wp,
            const float *bias, int64_t kb, float *y, int64_t y_plane)
{
    const int64_t plane = g->ph * g->pw, step = (int64_t)nv * CD_V;
    for (int64_t oh = 0; oh < g->out_h; oh++) {
        for (int64_t ow0 = 0; ow0 < g->out_w; ow0 += step) {
            cd_vec acc[CD_KB][CD_NV];
            for (int k = 0; k < CD_KB; k++) {
                for (int j = 0; j < nv; j++) {
                    acc[k][j] = (cd_vec){0};
                }
            }
            const float *wt = wp;
            for (int64_t c = 0; c < g->cin; c++) {
                for (int64_t r = 0; r < g->r; r++) {
                    const float *row = xp + c * plane + (oh * g->sh + r * g->dh) * g->pw + ow0;
                    for (int64_t s = 0; s < g->s; s++, wt += CD_KB) {
                        cd_vec xv[CD_NV];
                        for (int j = 0; j < nv; j++) {
                            xv[j] = cd_load(row + s * g->dw + j * CD_V);
                        }
                        for (int k = 0; k < CD_KB; k++) {
                            const cd_vec wv = cd_splat(wt + k);
                            for (int j = 0; j < nv; j++) {
                                acc[k][j] += wv * xv[j];
                            }
                        }
                    }
                }
            }
            for (int64_t k = 0; k < kb; k++) {
                const float b = bias != NULL ? bias[k] : 0.0f;
                float *out = y + k * y_plane + oh * g->out_w + ow0;
                for (int j = 0; j < nv; j++) {
                    const cd_vec v = acc[k][j] + b;
                    const int64_t o = (int64_t)j * CD_V;
                    const int64_t n = g->out_w - ow0 - o < CD_V ? g->out_w - ow0 - o : CD_V;
                    if (n == CD_V) {
                        memcpy(out + o, &v, sizeof v);
                        continue;
                    }
                    float lanes[CD_V];
                    memcpy(lanes, &v, sizeof v);
                    for (int64_t i = 0; i < n; i++) {
                        out[o + i] = lanes[i];
                    }
                }
            }
        }
    }
}

void CD_FWD_BLOCK(const pydl_cd_geom *g, int nv, const float *xp, const float *wp,
                  const float *bias, int64_t kb, float *y, int64_t y_plane)
{
    switch (nv) {
    case 1:
        cd_fwd_rows(g, 1, xp, wp, bias, kb, y, y_plane);
        break;
#if CD_NV >= 2
    case 2:
        cd_fwd_rows(g, 2, xp, wp, bias, kb, y, y_plane);
        break;
#endif
#if CD_NV >= 3
    case 3:
        cd_fwd_rows(g, 3, xp, wp, bias, kb, y, y_plane);
        break;
#endif
#if CD_NV >= 4
    default:
        cd_fwd_rows(g, 4, xp, wp, bias, kb, y, y_plane);
        break;
#endif
    }
}

/* One row block of the forward with output channels in lanes: P <= CD_ACC
 * / nkv positions of nkv vectors of channels. */
static inline __attribute__((always_inline)) void
cd_fwd_lanes_nkv(const pydl_cd_geom *g, const int nkv, const int P, const float *xp,
                 const float *wl, const float *bias, int64_t kb, float *y, int64_t y_plane)
{
    const int64_t plane = g->ph * g->pw, lanes = (int64_t)nkv * CD_V;
    for (int64_t oh = 0; oh < g->out_h; oh++) {
        for (int64_t ow0 = 0; ow0 < g->out_w; ow0 += P) {
            cd_vec acc[CD_ACC];
            for (int i = 0; i < P * nkv; i++) {
                acc[i] = (cd_vec){0};
            }
            const float *wt = wl;
            for (int64_t c = 0; c < g->cin; c++) {
                for (int64_t r = 0; r < g->r; r++) {
                    const float *row = xp + c * plane + (oh * g->sh + r * g->dh) * g->pw + ow0;
                    for (int64_t s = 0; s < g->s; s++, wt += lanes) {
                        cd_vec wv[4];
                        for (int j = 0; j < nkv; j++) {
                            wv[j] = cd_load(wt + j * CD_V);
                        }
                        for (int q = 0; q < P; q++) {
                            const cd_vec xb = cd_splat(row + q + s * g->dw);
                            for (int j = 0; j < nkv; j++) {
                                acc[q * nkv + j] += xb * wv[j];
                            }
                        }
                    }
                }
            }
            float tile[CD_ACC * CD_V];
            memcpy(tile, acc, (size_t)(P * nkv) * sizeof(cd_vec));
            const int64_t np = g->out_w - ow0 < P ? g->out_w - ow0 : P;
            for (int64_t k = 0; k < kb; k++) {
                const float b = bias != NULL ? bias[k] : 0.0f;
                float *out = y + k * y_plane + oh * g->out_w + ow0;
                for (int64_t q = 0; q < np; q++) {
                    out[q] = tile[q * lanes + k] + b;
                }
            }
        }
    }
}

void CD_FWD_LANES(const pydl_cd_geom *g, int nkv, int positions, const float *xp,
                  const float *wl, const float *bias, int64_t kb, float *y, int64_t y_plane)
{
    /* positions is CD_ACC / nkv, or 8 (fewer, when it pads the row less) */
    const int short_rows = positions == 8 && 8 < CD_ACC / nkv;
    switch (nkv) {
    case 1:
        if (short_rows) {
            cd_fwd_lanes_nkv(g, 1, 8, xp, wl, bias, kb, y, y_plane);
        } else {
            cd_fwd_lanes_nkv(g, 1, CD_ACC, xp, wl, bias, kb, y, y_plane);
        }
        break;
    case 2:
        if (short_rows) {
            cd_fwd_lanes_nkv(g, 2, 8, xp, wl, bias, kb, y, y_plane);
        } else {
            cd_fwd_lanes_nkv(g, 2, CD_ACC / 2, xp, wl, bias, kb, y, y_plane);
        }
        break;
    case 3:
        cd_fwd_lanes_nkv(g, 3, CD_ACC / 3, xp, wl, bias, kb, y, y_plane);
        break;
    default:
        cd_fwd_lanes_nkv(g, 4, CD_ACC / 4, xp, wl, bias, kb, y, y_plane);
        break;
    }
}

/* Weight gradient of one group, output channels in lanes: nkv vectors of
 * channels (gyt holds, per image and output position, the group's
 * channels zero-padded to nkv * CD_V). */
static inline __attribute__((always_inline)) void
cd_bwd_weight_lanes(const pydl_cd_geom *g, const int nkv, const int sk, int64_t images,
                    int64_t x_image, int64_t gy_image, const float *xp, const float *gyt,
                    int64_t kb, float *part)
{
    const int64_t plane = g->ph * g->pw, rs = g->r * g->s, lanes = (int64_t)nkv * CD_V;
    const int64_t width = sk ? sk : g->s; /* a constant when sk != 0 */
    for (int64_t c = 0; c < g->cin; c++) {
        for (int64_t r = 0; r < g->r; r++) {
            cd_vec acc[PYDL_CD_SMAX][CD_KBW];
            for (int s = 0; s < PYDL_CD_SMAX; s++) {
                for (int j = 0; j < nkv; j++) {
                    acc[s][j] = (cd_vec){0};
                }
            }
            for (int64_t n = 0; n < images; n++) {
                const float *xn = xp + n * x_image + c * plane + r * g->dh * g->pw;
                const float *gn = gyt + n * gy_image;
                for (int64_t oh = 0; oh < g->out_h; oh++) {
                    const float *row = xn + oh * g->sh * g->pw;
                    const float *grow = gn + oh * g->out_w * lanes;
                    for (int64_t ow = 0; ow < g->out_w; ow++) {
                        cd_vec gv[CD_KBW];
                        for (int j = 0; j < nkv; j++) {
                            gv[j] = cd_load(grow + ow * lanes + j * CD_V);
                        }
                        for (int s = 0; s < PYDL_CD_SMAX; s++) {
                            if (s < width) {
                                const cd_vec xv = cd_splat(row + ow + s * g->dw);
                                for (int j = 0; j < nkv; j++) {
                                    acc[s][j] += xv * gv[j];
                                }
                            }
                        }
                    }
                }
            }
            for (int64_t s = 0; s < g->s; s++) {
                float out[CD_KBW * CD_V];
                memcpy(out, acc[s], (size_t)nkv * sizeof(cd_vec));
                for (int64_t k = 0; k < kb; k++) {
                    part[(k * g->cin + c) * rs + r * g->s + s] += out[k];
                }
            }
        }
    }
}

/* cd_bwd_weight_lanes with the common kernel widths 3 and 5 as constants. */
static inline __attribute__((always_inline)) void
cd_bwd_weight_lanes_s(const pydl_cd_geom *g, const int nkv, int64_t images, int64_t x_image,
                      int64_t gy_image, const float *xp, const float *gyt, int64_t kb,
                      float *part)
{
    if (g->s == 5) {
        cd_bwd_weight_lanes(g, nkv, 5, images, x_image, gy_image, xp, gyt, kb, part);
    } else if (g->s == 3) {
        cd_bwd_weight_lanes(g, nkv, 3, images, x_image, gy_image, xp, gyt, kb, part);
    } else {
        cd_bwd_weight_lanes(g, nkv, 0, images, x_image, gy_image, xp, gyt, kb, part);
    }
}

void CD_BWD_WEIGHT_BLOCK(const pydl_cd_geom *g, int64_t images, int64_t x_image,
                         int64_t gy_image, const float *xp, const float *gyt, int64_t kb,
                         float *part)
{
    switch ((kb + CD_V - 1) / CD_V) {
    case 1:
        cd_bwd_weight_lanes_s(g, 1, images, x_image, gy_image, xp, gyt, kb, part);
        break;
#if CD_KBW >= 2
    case 2:
        cd_bwd_weight_lanes_s(g, 2, images, x_image, gy_image, xp, gyt, kb, part);
        break;
#endif
#if CD_KBW >= 3
    case 3:
        cd_bwd_weight_lanes_s(g, 3, images, x_image, gy_image, xp, gyt, kb, part);
        break;
#endif
#if CD_KBW >= 4
    default:
        cd_bwd_weight_lanes_s(g, 4, images, x_image, gy_image, xp, gyt, kb, part);
        break;
#endif
    }
}

/* One vector of columns of the row-vector weight gradient: acc[k][s] +=
 * gv[k] * x[ow0 + s*dw ..], the input lanes masked by `tail` if masked. */
static inline __attribute__((always_inline)) void
cd_bww_vector(const pydl_cd_geom *g, const int sk, const float *row, const float *grow,
              int64_t gy_plane, int64_t kb, int64_t ow0, const int masked, cd_ivec tail,
              cd_vec acc[CD_KBR][PYDL_CD_SMAX])
{
    const int64_t width = sk ? sk : g->s; /* a constant when sk != 0 */
    cd_vec gv[CD_KBR];
    for (int k = 0; k < CD_KBR; k++) {
        gv[k] = k < kb ? cd_load(grow + k * gy_plane + ow0) : (cd_vec){0};
    }
    for (int s = 0; s < PYDL_CD_SMAX; s++) {
        if (s < width) {
            cd_vec xv = cd_load(row + ow0 + s * g->dw);
            if (masked) {
                xv = (cd_vec)((cd_ivec)xv & tail);
            }
            for (int k = 0; k < CD_KBR; k++) {
                acc[k][s] += gv[k] * xv;
            }
        }
    }
}

static inline __attribute__((always_inline)) void
cd_bwd_weight_rows(const pydl_cd_geom *g, const int sk, int64_t images, int64_t x_image,
                   int64_t gy_image, const float *xp, const float *gyp, int64_t kb, float *part)
{
    const int64_t plane = g->ph * g->pw, gy_plane = g->out_h * g->owp;
    const int64_t rs = g->r * g->s, last = g->owp - CD_V;
    /* The last vector's lanes past out_w hold zero gradients: mask the
     * input there too, or 0 * inf would put NaN into the sums. */
    cd_ivec tail;
    for (int i = 0; i < CD_V; i++) {
        tail[i] = last + i < g->out_w ? -1 : 0;
    }
    for (int64_t c = 0; c < g->cin; c++) {
        for (int64_t r = 0; r < g->r; r++) {
            cd_vec acc[CD_KBR][PYDL_CD_SMAX];
            for (int k = 0; k < CD_KBR; k++) {
                for (int s = 0; s < PYDL_CD_SMAX; s++) {
                    acc[k][s] = (cd_vec){0};
                }
            }
            for (int64_t n = 0; n < images; n++) {
                const float *xn = xp + n * x_image + c * plane + r * g->dh * g->pw;
                const float *gn = gyp + n * gy_image;
                for (int64_t oh = 0; oh < g->out_h; oh++) {
                    const float *row = xn + oh * g->sh * g->pw;
                    const float *grow = gn + oh * g->owp;
                    for (int64_t ow0 = 0; ow0 < last; ow0 += CD_V) {
                        cd_bww_vector(g, sk, row, grow, gy_plane, kb, ow0, 0, tail, acc);
                    }
                    cd_bww_vector(g, sk, row, grow, gy_plane, kb, last, 1, tail, acc);
                }
            }
            for (int64_t k = 0; k < kb; k++) {
                for (int64_t s = 0; s < g->s; s++) {
                    float lanes[CD_V];
                    memcpy(lanes, &acc[k][s], sizeof lanes);
                    float sum = 0.0f;
                    for (int i = 0; i < CD_V; i++) {
                        sum += lanes[i];
                    }
                    part[(k * g->cin + c) * rs + r * g->s + s] += sum;
                }
            }
        }
    }
}

void CD_BWD_WEIGHT_ROWS(const pydl_cd_geom *g, int64_t images, int64_t x_image,
                        int64_t gy_image, const float *xp, const float *gyp, int64_t kb,
                        float *part)
{
    /* the common kernel widths 3 and 5 as constants */
    if (g->s == 5) {
        cd_bwd_weight_rows(g, 5, images, x_image, gy_image, xp, gyp, kb, part);
    } else if (g->s == 3) {
        cd_bwd_weight_rows(g, 3, images, x_image, gy_image, xp, gyp, kb, part);
    } else {
        cd_bwd_weight_rows(g, 0, images, x_image, gy_image, xp, gyp, kb, part);
    }
}

#ifdef CD_WV
typedef float cd_wvec __attribute__((vector_size(CD_WV * sizeof(float))));

static inline cd_wvec cd_wload(const float *p)
{
    cd_wvec v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* The wide forward: P positions (columns sw apart) x two wide vectors of
 * output channels per register block, the sum over every tap in registers. */
static inline __attribute__((always_inline)) void
cd_fwd_wide_p(const pydl_cd_geom *g, const int P, const float *xp, const float *wp,
              const float *bias, int64_t kb, float *y, int64_t y_plane)
{
    const int64_t plane = g->ph * g->pw, lanes = 2 * CD_WV;
    for (int64_t oh = 0; oh < g->out_h; oh++) {
        for (int64_t ow0 = 0; ow0 < g->out_w; ow0 += P) {
            cd_wvec acc[CD_WP_MAX][2];
            for (int q = 0; q < P; q++) {
                acc[q][0] = (cd_wvec){0};
                acc[q][1] = (cd_wvec){0};
            }
            const float *wt = wp;
            for (int64_t c = 0; c < g->cin; c++) {
                for (int64_t r = 0; r < g->r; r++) {
                    const float *row =
                        xp + c * plane + (oh * g->sh + r * g->dh) * g->pw + ow0 * g->sw;
                    for (int64_t s = 0; s < g->s; s++, wt += lanes) {
                        const cd_wvec w0 = cd_wload(wt), w1 = cd_wload(wt + CD_WV);
                        const float *x = row + s * g->dw;
                        for (int q = 0; q < P; q++) {
                            const cd_wvec xb = x[q * g->sw] - (cd_wvec){0};
                            acc[q][0] += xb * w0;
                            acc[q][1] += xb * w1;
                        }
                    }
                }
            }
            float tile[CD_WP_MAX * 2 * CD_WV];
            memcpy(tile, acc, (size_t)P * sizeof acc[0]);
            const int64_t np = g->out_w - ow0 < P ? g->out_w - ow0 : P;
            for (int64_t k = 0; k < kb; k++) {
                const float b = bias != NULL ? bias[k] : 0.0f;
                float *out = y + k * y_plane + oh * g->out_w + ow0;
                for (int64_t q = 0; q < np; q++) {
                    out[q] = tile[q * lanes + k] + b;
                }
            }
        }
    }
}

void CD_FWD_WIDE(const pydl_cd_geom *g, int positions, const float *xp, const float *wp,
                 const float *bias, int64_t kb, float *y, int64_t y_plane)
{
    switch (positions) {
    case 8:
        cd_fwd_wide_p(g, 8, xp, wp, bias, kb, y, y_plane);
        break;
    case 10:
        cd_fwd_wide_p(g, 10, xp, wp, bias, kb, y, y_plane);
        break;
    case 12:
        cd_fwd_wide_p(g, 12, xp, wp, bias, kb, y, y_plane);
        break;
    default:
        cd_fwd_wide_p(g, CD_WP_MAX, xp, wp, bias, kb, y, y_plane);
        break;
    }
}
/* The wide weight gradient for kernel width sk (0: g->s at run time, at
 * most PYDL_CD_SMAX) and CB input channels per register block: CB x width
 * taps x two wide vectors of output channels, summed over every image and
 * position in order. */
static inline __attribute__((always_inline)) void
cd_bww_wide(const pydl_cd_geom *g, const int sk, const int CB, int64_t images, int64_t x_image,
            int64_t gy_image, const float *xp, const float *gyt, int64_t kb, float *part)
{
    const int64_t plane = g->ph * g->pw, rs = g->r * g->s, lanes = 2 * CD_WV;
    const int64_t width = sk ? sk : g->s; /* a constant when sk != 0 */
    for (int64_t c0 = 0; c0 < g->cin; c0 += CB) {
        const int64_t nc = g->cin - c0 < CB ? g->cin - c0 : CB;
        for (int64_t r = 0; r < g->r; r++) {
            /* channels past the last are read from c0 and never stored */
            const float *xc[CB];
            cd_wvec acc[CB][PYDL_CD_SMAX][2];
            for (int cb = 0; cb < CB; cb++) {
                xc[cb] = xp + (c0 + (cb < nc ? cb : 0)) * plane + r * g->dh * g->pw;
                for (int s = 0; s < PYDL_CD_SMAX; s++) {
                    acc[cb][s][0] = (cd_wvec){0};
                    acc[cb][s][1] = (cd_wvec){0};
                }
            }
            for (int64_t n = 0; n < images; n++) {
                for (int64_t oh = 0; oh < g->out_h; oh++) {
                    const int64_t o = n * x_image + oh * g->sh * g->pw;
                    const float *grow = gyt + n * gy_image + oh * g->out_w * lanes;
                    for (int64_t ow = 0; ow < g->out_w; ow++) {
                        const cd_wvec g0 = cd_wload(grow + ow * lanes);
                        const cd_wvec g1 = cd_wload(grow + ow * lanes + CD_WV);
                        const int64_t ox = o + ow * g->sw;
                        for (int cb = 0; cb < CB; cb++) {
                            for (int s = 0; s < PYDL_CD_SMAX; s++) {
                                if (s < width) {
                                    const cd_wvec xb = xc[cb][ox + s * g->dw] - (cd_wvec){0};
                                    acc[cb][s][0] += xb * g0;
                                    acc[cb][s][1] += xb * g1;
                                }
                            }
                        }
                    }
                }
            }
            for (int64_t cb = 0; cb < nc; cb++) {
                for (int64_t s = 0; s < width; s++) {
                    float out[2 * CD_WV];
                    memcpy(out, acc[cb][s], sizeof out);
                    for (int64_t k = 0; k < kb; k++) {
                        part[(k * g->cin + c0 + cb) * rs + r * g->s + s] += out[k];
                    }
                }
            }
        }
    }
}

void CD_BWD_WEIGHT_WIDE(const pydl_cd_geom *g, int64_t images, int64_t x_image,
                        int64_t gy_image, const float *xp, const float *gyt, int64_t kb,
                        float *part)
{
    /* the common kernel widths 3 and 5 as constants, 12 or 10 taps a block */
    if (g->s == 3) {
        cd_bww_wide(g, 3, 4, images, x_image, gy_image, xp, gyt, kb, part);
    } else if (g->s == 5) {
        cd_bww_wide(g, 5, 2, images, x_image, gy_image, xp, gyt, kb, part);
    } else {
        cd_bww_wide(g, 0, 1, images, x_image, gy_image, xp, gyt, kb, part);
    }
}
#define CD_WIDE_FIELDS CD_WV, CD_WP_MAX, CD_FWD_WIDE, CD_BWD_WEIGHT_WIDE
#else
#define CD_WIDE_FIELDS 0, 0, NULL, NULL
#endif

const pydl_cd_kernels CD_KERNELS = {CD_V,         CD_KB,        CD_NV,
                                    CD_ACC,       CD_KBW,       CD_KBR,
                                    CD_FWD_BLOCK, CD_FWD_LANES, CD_BWD_WEIGHT_BLOCK,
                                    CD_BWD_WEIGHT_ROWS, CD_WIDE_FIELDS};
