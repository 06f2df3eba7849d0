/*
 * conv_lanes_avx512.c -- the batch-in-lanes kernels of conv_lanes.h for the
 * avx512 path: one zmm holds one element of 16 images.
 *
 * row: output channels go in blocks of kb <= 8 and positions in blocks of
 * 24 / kb (at most 6), halved at the edge of wide padding where that skips
 * more taps; each tap loads the block's input vectors once and multiplies
 * them by kb broadcast weights into kb x positions accumulators.
 * pack and unpack move 16 x 16 blocks between images and lanes with an
 * in-register transpose; their row ends use masked loads and stores, which
 * touch no memory in masked-off lanes.  pool max-pools two rows on the
 * lanes before unpacking (a quarter of the data).
 */
#include <immintrin.h>

#include "conv_lanes.h"
#include "pool/max2x2_avx512.h"

static inline __mmask16 cl_mask(int64_t n)
{
    return n >= 16 ? (__mmask16)0xFFFF : n <= 0 ? (__mmask16)0 : (__mmask16)((1u << n) - 1);
}

/* In place: v[i] lane j becomes v[j] lane i. */
static inline void cl_transpose16(__m512 v[16])
{
    __m512 a[16], b[16];
    for (int i = 0; i < 16; i += 2) {
        a[i] = _mm512_unpacklo_ps(v[i], v[i + 1]);
        a[i + 1] = _mm512_unpackhi_ps(v[i], v[i + 1]);
    }
    /* b[4g + m], 128-bit lane q: rows 4g..4g+3 of column 4q + m */
    for (int g = 0; g < 4; g++) {
        const __m512d lo = _mm512_castps_pd(a[4 * g]), hi = _mm512_castps_pd(a[4 * g + 1]);
        const __m512d lo2 = _mm512_castps_pd(a[4 * g + 2]), hi2 = _mm512_castps_pd(a[4 * g + 3]);
        b[4 * g + 0] = _mm512_castpd_ps(_mm512_unpacklo_pd(lo, lo2));
        b[4 * g + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(lo, lo2));
        b[4 * g + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(hi, hi2));
        b[4 * g + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(hi, hi2));
    }
    for (int m = 0; m < 4; m++) {
        const __m512 c0 = _mm512_shuffle_f32x4(b[m], b[4 + m], 0x44);
        const __m512 c1 = _mm512_shuffle_f32x4(b[m], b[4 + m], 0xEE);
        const __m512 d0 = _mm512_shuffle_f32x4(b[8 + m], b[12 + m], 0x44);
        const __m512 d1 = _mm512_shuffle_f32x4(b[8 + m], b[12 + m], 0xEE);
        v[m] = _mm512_shuffle_f32x4(c0, d0, 0x88);
        v[4 + m] = _mm512_shuffle_f32x4(c0, d0, 0xDD);
        v[8 + m] = _mm512_shuffle_f32x4(c1, d1, 0x88);
        v[12 + m] = _mm512_shuffle_f32x4(c1, d1, 0xDD);
    }
}

static void cl_pack_avx512(const float *src, int64_t image, int64_t lanes, int64_t h, int64_t w,
                           int64_t pad_left, int64_t wb, float *xt)
{
    for (int64_t row = 0; row < h; row++) {
        float *out = xt + row * wb * 16;
        for (int64_t j0 = 0; j0 < wb; j0 += 16) {
            /* buffer columns j0 + i read source columns j0 + i - pad_left */
            const int64_t c0 = j0 - pad_left;
            __mmask16 m = cl_mask(w - c0);
            if (c0 < 0) {
                m &= (__mmask16)~cl_mask(-c0);
            }
            __m512 v[16];
            for (int64_t l = 0; l < 16; l++) {
                v[l] = l < lanes && m != 0
                           ? _mm512_maskz_loadu_ps(m, src + l * image + row * w + c0)
                           : _mm512_setzero_ps();
            }
            cl_transpose16(v);
            /* masked rather than a loop to wb: a variable-length loop of
             * stores becomes a memcpy from the stack */
            const int64_t cols = wb - j0;
            for (int i = 0; i < 16; i++) {
                _mm512_mask_storeu_ps(out + (j0 + i) * 16, i < cols ? 0xFFFF : 0, v[i]);
            }
        }
    }
}

/* Positions [ow0, ow0 + P) of output channels [k0, k0 + KB). */
static inline __attribute__((always_inline)) void
cl_tile(const pydl_cl_geom *g, const int KB, const int P, const float *xt, const float *wt,
        const float *bias, int64_t row0, int64_t r_lo, int64_t r_hi, int64_t k0, int64_t ow0,
        float *yrow)
{
    __m512 acc[8][6];
    for (int i = 0; i < KB; i++) {
        const __m512 b0 = bias != NULL ? _mm512_set1_ps(bias[k0 + i]) : _mm512_setzero_ps();
        for (int j = 0; j < P; j++) {
            acc[i][j] = b0;
        }
    }
    /* taps s < s_lo or >= s_hi read only zero columns for every position */
    const int64_t first = ow0 * g->sw, last = (ow0 + P - 1) * g->sw;
    int64_t s_lo = first >= g->col_lo ? 0 : (g->col_lo - last + g->dw - 1) / g->dw;
    int64_t s_hi = g->col_hi > first ? (g->col_hi - 1 - first) / g->dw + 1 : 0;
    s_lo = s_lo > 0 ? s_lo : 0;
    s_hi = s_hi < g->s ? s_hi : g->s;
    const int64_t plane = g->h * g->wb * 16, col = first * 16;
    for (int64_t c = 0; c < g->cin; c++) {
        for (int64_t r = r_lo; r < r_hi; r++) {
            const float *in = xt + c * plane + (row0 + r * g->dh) * g->wb * 16 + col;
            const float *wr = wt + (c * g->r + r) * g->s * g->kout + k0;
            for (int64_t s = s_lo; s < s_hi; s++) {
                __m512 xv[6];
                for (int j = 0; j < P; j++) {
                    xv[j] = _mm512_loadu_ps(in + (j * g->sw + s * g->dw) * 16);
                }
                for (int i = 0; i < KB; i++) {
                    const __m512 wv = _mm512_set1_ps(wr[s * g->kout + i]);
                    for (int j = 0; j < P; j++) {
                        acc[i][j] = _mm512_fmadd_ps(wv, xv[j], acc[i][j]);
                    }
                }
            }
        }
    }
    for (int i = 0; i < KB; i++) {
        for (int j = 0; j < P; j++) {
            _mm512_storeu_ps(yrow + ((k0 + i) * g->ywidth + ow0 + j) * 16, acc[i][j]);
        }
    }
}

/* Taps of a tile of P positions from ow0 that read a source column
 * (cl_tile's s_lo, s_hi), times P. */
static inline int64_t cl_tile_taps(const pydl_cl_geom *g, int64_t ow0, int64_t P)
{
    const int64_t first = ow0 * g->sw, last = (ow0 + P - 1) * g->sw;
    int64_t s_lo = first >= g->col_lo ? 0 : (g->col_lo - last + g->dw - 1) / g->dw;
    int64_t s_hi = g->col_hi > first ? (g->col_hi - 1 - first) / g->dw + 1 : 0;
    s_lo = s_lo > 0 ? s_lo : 0;
    s_hi = s_hi < g->s ? s_hi : g->s;
    return s_hi > s_lo ? (s_hi - s_lo) * P : 0;
}

/* All positions of channels [k0, k0 + KB), P = 24 / KB at a time; a tile
 * at the edge of the source columns (padding) runs as two halves when they
 * skip more taps between them than the whole tile can (the data gradient's
 * wide padding). */
static inline __attribute__((always_inline)) void
cl_block(const pydl_cl_geom *g, const int KB, const int P, const float *xt, const float *wt,
         const float *bias, int64_t row0, int64_t r_lo, int64_t r_hi, int64_t k0, float *yrow)
{
    for (int64_t ow0 = 0; ow0 < g->out_w; ow0 += P) {
        if (P % 2 == 0 &&
            cl_tile_taps(g, ow0, P / 2) + cl_tile_taps(g, ow0 + P / 2, P / 2) <
                cl_tile_taps(g, ow0, P)) {
            cl_tile(g, KB, P / 2, xt, wt, bias, row0, r_lo, r_hi, k0, ow0, yrow);
            cl_tile(g, KB, P / 2, xt, wt, bias, row0, r_lo, r_hi, k0, ow0 + P / 2, yrow);
        } else {
            cl_tile(g, KB, P, xt, wt, bias, row0, r_lo, r_hi, k0, ow0, yrow);
        }
    }
}

static void cl_row_avx512(const pydl_cl_geom *g, const float *xt, const float *wt,
                          const float *bias, int64_t row0, int64_t r_lo, int64_t r_hi,
                          float *yrow)
{
    for (int64_t k0 = 0; k0 < g->kout; k0 += 8) {
        switch (g->kout - k0 < 8 ? g->kout - k0 : 8) {
        case 1:
            cl_block(g, 1, 6, xt, wt, bias, row0, r_lo, r_hi, k0, yrow);
            break;
        case 2:
            cl_block(g, 2, 6, xt, wt, bias, row0, r_lo, r_hi, k0, yrow);
            break;
        case 3:
            cl_block(g, 3, 6, xt, wt, bias, row0, r_lo, r_hi, k0, yrow);
            break;
        case 4:
            cl_block(g, 4, 6, xt, wt, bias, row0, r_lo, r_hi, k0, yrow);
            break;
        case 5:
            cl_block(g, 5, 4, xt, wt, bias, row0, r_lo, r_hi, k0, yrow);
            break;
        case 6:
            cl_block(g, 6, 4, xt, wt, bias, row0, r_lo, r_hi, k0, yrow);
            break;
        case 7:
            cl_block(g, 7, 3, xt, wt, bias, row0, r_lo, r_hi, k0, yrow);
            break;
        default:
            if (g->out_w % 3 != 0 && g->out_w % 2 == 0) {
                cl_block(g, 8, 2, xt, wt, bias, row0, r_lo, r_hi, k0, yrow);
            } else {
                cl_block(g, 8, 3, xt, wt, bias, row0, r_lo, r_hi, k0, yrow);
            }
            break;
        }
    }
}

/* Rows of at most 8 outputs go two channels per transpose: lane l of
 * channel k in the low half of v[l], of channel k + 1 in the high half. */
static void cl_unpack_avx512(const pydl_cl_geom *g, const float *yrow, int64_t lanes,
                             int64_t image, int64_t plane, float *y)
{
    int64_t k = 0;
    if (g->out_w <= 8) {
        const __mmask8 m = (__mmask8)((1u << g->out_w) - 1);
        for (; k + 1 < g->kout; k += 2) {
            __m512 v[16];
            for (int i = 0; i < 8; i++) {
                v[i] = _mm512_loadu_ps(yrow + (k * g->ywidth + i) * 16);
                v[8 + i] = _mm512_loadu_ps(yrow + ((k + 1) * g->ywidth + i) * 16);
            }
            cl_transpose16(v);
            for (int64_t l = 0; l < lanes; l++) {
                float *out = y + l * image + k * plane;
                _mm256_mask_storeu_ps(out, m, _mm512_castps512_ps256(v[l]));
                _mm256_mask_storeu_ps(out + plane, m, _mm512_extractf32x8_ps(v[l], 1));
            }
        }
    }
    for (; k < g->kout; k++) {
        for (int64_t ow0 = 0; ow0 < g->out_w; ow0 += 16) {
            __m512 v[16];
            for (int i = 0; i < 16; i++) {
                v[i] = _mm512_loadu_ps(yrow + (k * g->ywidth + ow0 + i) * 16);
            }
            cl_transpose16(v);
            const __mmask16 m = cl_mask(g->out_w - ow0);
            for (int64_t l = 0; l < lanes; l++) {
                _mm512_mask_storeu_ps(y + l * image + k * plane + ow0, m, v[l]);
            }
        }
    }
}

/* Weight gradient of channels [k0, k0 + KB) (S = kernel width). */
static inline __attribute__((always_inline)) void
cl_weight_block(const pydl_cl_geom *g, const int S, const int KB, int64_t groups, int64_t out_h,
                int64_t sh, int64_t pad_top, const float *xt, int64_t x_group, const float *gt,
                int64_t gy_group, int64_t c, int64_t r, int64_t k0, float *gw)
{
    __m512 acc[8][PYDL_CL_SMAX];
    for (int i = 0; i < KB; i++) {
        for (int s = 0; s < S; s++) {
            acc[i][s] = _mm512_setzero_ps();
        }
    }
    const int64_t gplane = out_h * g->out_w * 16, kv = g->kout - k0;
    for (int64_t grp = 0; grp < groups; grp++) {
        for (int64_t oh = 0; oh < out_h; oh++) {
            const int64_t row = oh * sh + r * g->dh - pad_top;
            if (row < 0 || row >= g->h) {
                continue;
            }
            const float *xr = xt + grp * x_group + (c * g->h + row) * g->wb * 16;
            const float *gr = gt + grp * gy_group + k0 * gplane + oh * g->out_w * 16;
            for (int64_t ow = 0; ow < g->out_w; ow++) {
                __m512 xv[PYDL_CL_SMAX];
                for (int s = 0; s < S; s++) {
                    xv[s] = _mm512_loadu_ps(xr + (ow * g->sw + s * g->dw) * 16);
                }
                for (int i = 0; i < KB; i++) {
                    const __m512 gv = i < kv ? _mm512_loadu_ps(gr + i * gplane + ow * 16)
                                             : _mm512_setzero_ps();
                    for (int s = 0; s < S; s++) {
                        acc[i][s] = _mm512_fmadd_ps(gv, xv[s], acc[i][s]);
                    }
                }
            }
        }
    }
    for (int i = 0; i < KB && i < kv; i++) {
        for (int s = 0; s < S; s++) {
            gw[(((k0 + i) * g->cin + c) * g->r + r) * S + s] = _mm512_reduce_add_ps(acc[i][s]);
        }
    }
}

/* A last block of at most half the channels takes the half-height variant
 * (half the multiply-adds on zero channels). */
static void cl_weight_avx512(const pydl_cl_geom *g, int64_t groups, int64_t out_h, int64_t sh,
                             int64_t pad_top, const float *xt, int64_t x_group, const float *gt,
                             int64_t gy_group, int64_t c, int64_t r, int64_t k0, float *gw)
{
    const int64_t kb = pydl_cl_weight_kb(g->s), half = g->kout - k0 <= kb / 2;
    /* (kernel width, channels per block): full blocks, then the half variant */
    switch (g->s * 2 + half) {
    case 2:
        cl_weight_block(g, 1, 8, groups, out_h, sh, pad_top, xt, x_group, gt, gy_group, c, r,
                        k0, gw);
        break;
    case 3:
        cl_weight_block(g, 1, 4, groups, out_h, sh, pad_top, xt, x_group, gt, gy_group, c, r,
                        k0, gw);
        break;
    case 4:
        cl_weight_block(g, 2, 8, groups, out_h, sh, pad_top, xt, x_group, gt, gy_group, c, r,
                        k0, gw);
        break;
    case 5:
        cl_weight_block(g, 2, 4, groups, out_h, sh, pad_top, xt, x_group, gt, gy_group, c, r,
                        k0, gw);
        break;
    case 6:
        cl_weight_block(g, 3, 8, groups, out_h, sh, pad_top, xt, x_group, gt, gy_group, c, r,
                        k0, gw);
        break;
    case 7:
        cl_weight_block(g, 3, 4, groups, out_h, sh, pad_top, xt, x_group, gt, gy_group, c, r,
                        k0, gw);
        break;
    case 8:
        cl_weight_block(g, 4, 6, groups, out_h, sh, pad_top, xt, x_group, gt, gy_group, c, r,
                        k0, gw);
        break;
    case 9:
        cl_weight_block(g, 4, 3, groups, out_h, sh, pad_top, xt, x_group, gt, gy_group, c, r,
                        k0, gw);
        break;
    case 10:
        cl_weight_block(g, 5, 4, groups, out_h, sh, pad_top, xt, x_group, gt, gy_group, c, r,
                        k0, gw);
        break;
    case 11:
        cl_weight_block(g, 5, 2, groups, out_h, sh, pad_top, xt, x_group, gt, gy_group, c, r,
                        k0, gw);
        break;
    case 12:
        cl_weight_block(g, 6, 4, groups, out_h, sh, pad_top, xt, x_group, gt, gy_group, c, r,
                        k0, gw);
        break;
    case 13:
        cl_weight_block(g, 6, 2, groups, out_h, sh, pad_top, xt, x_group, gt, gy_group, c, r,
                        k0, gw);
        break;
    case 14:
        cl_weight_block(g, 7, 3, groups, out_h, sh, pad_top, xt, x_group, gt, gy_group, c, r,
                        k0, gw);
        break;
    default:
        cl_weight_block(g, 7, 1, groups, out_h, sh, pad_top, xt, x_group, gt, gy_group, c, r,
                        k0, gw);
        break;
    }
}

/* Vectors i = 4q + j go to partial sums j (four chains, not one: the adds'
 * latency would bound a single one). */
static double cl_lane_sum_avx512(const float *xt, int64_t count)
{
    __m512d lo[4], hi[4];
    for (int j = 0; j < 4; j++) {
        lo[j] = _mm512_setzero_pd();
        hi[j] = _mm512_setzero_pd();
    }
    int64_t i = 0;
    for (; i + 4 <= count; i += 4) {
        for (int j = 0; j < 4; j++) {
            const __m512 v = _mm512_loadu_ps(xt + (i + j) * 16);
            lo[j] = _mm512_add_pd(lo[j], _mm512_cvtps_pd(_mm512_castps512_ps256(v)));
            hi[j] = _mm512_add_pd(hi[j], _mm512_cvtps_pd(_mm512_extractf32x8_ps(v, 1)));
        }
    }
    for (int j = 0; j < 3; j++) {
        if (i + j < count) {
            const __m512 v = _mm512_loadu_ps(xt + (i + j) * 16);
            lo[j] = _mm512_add_pd(lo[j], _mm512_cvtps_pd(_mm512_castps512_ps256(v)));
            hi[j] = _mm512_add_pd(hi[j], _mm512_cvtps_pd(_mm512_extractf32x8_ps(v, 1)));
        }
    }
    double lane[16];
    _mm512_storeu_pd(lane, _mm512_add_pd(_mm512_add_pd(lo[0], lo[1]), _mm512_add_pd(lo[2], lo[3])));
    _mm512_storeu_pd(lane + 8,
                     _mm512_add_pd(_mm512_add_pd(hi[0], hi[1]), _mm512_add_pd(hi[2], hi[3])));
    double sum = 0.0;
    for (int l = 0; l < 16; l++) {
        sum += lane[l];
    }
    return sum;
}

/* pool (conv_lanes.h): sixteen pooled positions of a channel at a time,
 * the window rule of max2x2_avx512.h on the lanes, then the values and the
 * codes (as 32-bit lanes) transposed to the images and stored, the codes
 * narrowed to bytes. */
static void cl_pool_avx512(const pydl_cl_geom *g, const float *yrow0, const float *yrow1,
                           int relu, int64_t lanes, int64_t image, int64_t plane, float *y,
                           uint8_t *code)
{
    const int64_t pw = g->out_w / 2;
    for (int64_t k = 0; k < g->kout; k++) {
        const float *t0 = yrow0 + k * g->ywidth * 16, *t1 = yrow1 + k * g->ywidth * 16;
        for (int64_t j0 = 0; j0 < pw; j0 += 16) {
            const int64_t n = pw - j0 < 16 ? pw - j0 : 16;
            __m512 v[16], c[16];
            for (int64_t j = 0; j < 16; j++) {
                if (j < n) {
                    const int64_t at = 2 * (j0 + j) * 16;
                    __m512i tap;
                    __m512 m = pydl_max2x2_avx512(_mm512_loadu_ps(t0 + at),
                                                  _mm512_loadu_ps(t0 + at + 16),
                                                  _mm512_loadu_ps(t1 + at),
                                                  _mm512_loadu_ps(t1 + at + 16), &tap);
                    if (relu) {
                        m = pydl_max2x2_relu_avx512(m, &tap);
                    }
                    v[j] = m;
                    c[j] = _mm512_castsi512_ps(tap);
                } else {
                    v[j] = _mm512_setzero_ps();
                    c[j] = _mm512_setzero_ps();
                }
            }
            cl_transpose16(v);
            cl_transpose16(c);
            const __mmask16 m = cl_mask(n);
            for (int64_t l = 0; l < lanes; l++) {
                const int64_t at = l * image + k * plane + j0;
                _mm512_mask_storeu_ps(y + at, m, v[l]);
                _mm512_mask_cvtepi32_storeu_epi8(code + at, m, _mm512_castps_si512(c[l]));
            }
        }
    }
}

/* unpool (conv_lanes.h): source rows 2i and 2i + 1 from pooled row i:
 * sixteen pooled columns of the images transposed into the lanes once,
 * values and codes (widened to 32 bits), then in each lane the value kept
 * at the window's column of the chosen tap and +0 at the others, in both
 * rows.  The rows are zeroed first, which covers the padding columns, an
 * odd last column and an odd last row. */
static void cl_unpool_avx512(const float *g, const uint8_t *code, int64_t image, int64_t lanes,
                             int64_t h, int64_t w, int64_t pad_left, int64_t wb, float *xt)
{
    const int64_t ph = h / 2, pw = w / 2;
    const __m512 zero = _mm512_setzero_ps();
    for (int64_t j = 0; j < h * wb; j++) {
        _mm512_storeu_ps(xt + j * 16, zero);
    }
    for (int64_t i = 0; i < ph; i++) {
        float *out0 = xt + 2 * i * wb * 16, *out1 = out0 + wb * 16;
        for (int64_t j0 = 0; j0 < pw; j0 += 16) {
            const int64_t n = pw - j0 < 16 ? pw - j0 : 16;
            const __mmask16 m = cl_mask(n);
            __m512 v[16], c[16];
            for (int64_t l = 0; l < 16; l++) {
                if (l < lanes) {
                    const int64_t at = l * image + i * pw + j0;
                    uint8_t bytes[16] = {0};
                    for (int64_t t = 0; t < n; t++) {
                        bytes[t] = code[at + t];
                    }
                    v[l] = _mm512_maskz_loadu_ps(m, g + at);
                    c[l] = _mm512_castsi512_ps(
                        _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)bytes)));
                } else {
                    v[l] = zero;
                    c[l] = zero;
                }
            }
            cl_transpose16(v);
            cl_transpose16(c);
            for (int64_t j = 0; j < n; j++) {
                const __m512i k = _mm512_castps_si512(c[j]);
                const __m512 val = _mm512_add_ps(v[j], zero);
                const int64_t col = pad_left + 2 * (j0 + j);
                for (int t = 0; t < 2; t++) { /* the window's columns */
                    if (col + t >= 0 && col + t < wb) {
                        const __m512i top = _mm512_set1_epi32(t), bottom = _mm512_set1_epi32(2 + t);
                        _mm512_storeu_ps(out0 + (col + t) * 16,
                                         _mm512_maskz_mov_ps(_mm512_cmpeq_epi32_mask(k, top), val));
                        _mm512_storeu_ps(out1 + (col + t) * 16,
                                         _mm512_maskz_mov_ps(_mm512_cmpeq_epi32_mask(k, bottom),
                                                             val));
                    }
                }
            }
        }
    }
}

const pydl_cl_kernels pydl_cl_kernels_avx512 = {
    .pack = cl_pack_avx512,
    .row = cl_row_avx512,
    .unpack = cl_unpack_avx512,
    .weight = cl_weight_avx512,
    .lane_sum = cl_lane_sum_avx512,
    .pool = cl_pool_avx512,
    .unpool = cl_unpool_avx512,
};
