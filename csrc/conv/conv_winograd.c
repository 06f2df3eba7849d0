/*
 * conv_winograd.c -- float 3x3 stride-1 convolution by F(2x2, 3x3): the
 * transforms and the chunk loop (conv_winograd.h holds the math).
 *
 * Layouts, for a chunk of tc tiles (tile t of the chunk at column t):
 *     v[e*vp + c*tc + t]    input transforms (B^T d B)[e]
 *     m[e*mp + k*tc + t]    their products with the filters, summed over c
 *     u[(e*K + k)*C + c]    filter transforms (G g G^T)[e]
 * with planes vp = wg_plane(C, tc), mp = wg_plane(K, tc) floats apart, so
 * each GEMM M_e = U_e . V_e reads and writes plain row-major matrices.
 * Tiles are numbered image by image, row by row of tiles; a chunk is any
 * range of them, cut into runs that lie in one row of tiles.
 */
#include <stddef.h>
#include <stdint.h>

#include "conv_winograd.h"
#include "gemm/gemm_packed.h"
#include "parallel.h"
#include "workspace.h"

/* Tiles per chunk (at most; chunks are evened out between threads).  Each
 * of the 16 GEMMs of a chunk is K x C times C x tc. */
#define WG_CHUNK 128

/* The weight gradient sums the tiles in this many fixed groups (then adds
 * the groups in order), so threads can share them without the result
 * depending on how many there are. */
#define WG_WEIGHT_GROUPS 4

typedef struct wg_geom {
    int64_t n, c, k;      /* images, input and output channels    */
    int64_t h, w;         /* input plane                          */
    int64_t pt, pl;       /* top and left padding                 */
    int64_t out_h, out_w; /* output plane                         */
    int64_t th, tw;       /* tiles per column and per row of tiles */
} wg_geom;

/* Floats between the 16 planes of a chunk's transforms: rows * tc plus one
 * cache line, so that the 16 streams the transforms write (and read) at
 * once do not all fall in the same L1 set when rows * tc * 4 is a multiple
 * of 4 KiB. */
static int64_t wg_plane(int64_t rows, int64_t tc) { return rows * tc + 16; }

/* Floats between the 16 filter transforms U_e (K x C each): K*C plus one
 * cache line, for the same reason: the filter transform writes all 16 at
 * once, and K*C*4 bytes is often a multiple of the L2's set stride (1 MiB
 * for 512 x 512 filters). */
static int64_t wg_uplane(int64_t k, int64_t c) { return k * c + 16; }

/* The filter transforms of a pass: u as laid out above, and, when not
 * NULL, each U_e packed for the GEMM (packed + e * packed_size floats,
 * gemm_packed.h) for the isa read once at the start of the pass. */
typedef struct wg_filters_t {
    const float *u;
    const float *packed;
    int64_t packed_size;
    pydl_isa isa;
} wg_filters_t;

/* The geometry of the layer's own forward pass. */
static wg_geom wg_geom_of(const pydl_conv2d_params *p)
{
    const wg_geom g = {p->n,     p->c,     p->k, p->h, p->w, p->pad_top, p->pad_left,
                       p->out_h, p->out_w, (p->out_h + 1) / 2, (p->out_w + 1) / 2};
    return g;
}

/* The run of tiles from tile t to t1 or to the end of its row of tiles,
 * whichever comes first: image n, row ti, tiles [j0, j1) of the row. */
static void wg_run_at(const wg_geom *g, int64_t t, int64_t t1, int64_t *n, int64_t *ti,
                      int64_t *j0, int64_t *j1)
{
    const int64_t per_image = g->th * g->tw;
    *n = t / per_image;
    *ti = t % per_image / g->tw;
    *j0 = t % g->tw;
    *j1 = *j0 + (t1 - t < g->tw - *j0 ? t1 - t : g->tw - *j0);
}

static int wg_shape_ok(const pydl_conv2d_params *p)
{
    return p->r == 3 && p->s == 3 && p->stride_h == 1 && p->stride_w == 1 && p->dil_h == 1 &&
           p->dil_w == 1 && p->groups == 1 && p->c >= PYDL_WG_MIN_CHANNELS &&
           p->k >= PYDL_WG_MIN_CHANNELS && p->c * p->k <= PYDL_WG_MAX_FILTERS && p->out_h >= 2 &&
           p->out_w >= 2;
}

int pydl_wg_takes_fwd(const pydl_conv2d_params *p) { return wg_shape_ok(p); }

int pydl_wg_takes_bwd_weight(const pydl_conv2d_params *p) { return wg_shape_ok(p); }

int pydl_wg_takes_bwd_data(const pydl_conv2d_params *p)
{
    return wg_shape_ok(p) && p->h >= 2 && p->w >= 2;
}

/* Row kk of the 16 U_e (u0 = u + kk * ci) from the n filters at f0 +
 * cc * step (cc < n, each 3x3; flip: rotated by 180 degrees), one filter
 * per lane.  G's halves are exact in binary. */
static inline __attribute__((always_inline)) void
wg_filter_row(const float *f0, int64_t step, const int flip, int64_t n, int64_t plane,
              float *restrict u0)
{
#pragma omp simd
    for (int64_t cc = 0; cc < n; cc++) {
        const float *f = f0 + cc * step;
        float g[9], t[4][3];
        for (int i = 0; i < 9; i++) {
            g[i] = f[flip ? 8 - i : i];
        }
        for (int j = 0; j < 3; j++) { /* t = G g, column by column */
            const float a = g[j], b = g[3 + j], d = g[6 + j];
            t[0][j] = a;
            t[1][j] = 0.5f * (a + b + d);
            t[2][j] = 0.5f * (a - b + d);
            t[3][j] = d;
        }
        for (int i = 0; i < 4; i++) { /* U = t G^T, row by row */
            const float a = t[i][0], b = t[i][1], d = t[i][2];
            u0[(i * 4 + 0) * plane + cc] = a;
            u0[(i * 4 + 1) * plane + cc] = 0.5f * (a + b + d);
            u0[(i * 4 + 2) * plane + cc] = 0.5f * (a - b + d);
            u0[(i * 4 + 3) * plane + cc] = d;
        }
    }
}

/* u from the filters w (K, C, 3, 3): filter (kq, cq) goes to output channel
 * kq and input channel cq, or, flipped by 180 degrees (flip), to output
 * channel cq and input channel kq, of U_e at u + e * wg_uplane(K, C).
 * Each row of U_e is written in order (the filters it reads are 9 floats
 * apart, or 9C when flipped). */
static void wg_filters(const float *w, int64_t k, int64_t c, int flip, float *u, int nt)
{
    const int64_t ko = flip ? c : k, ci = flip ? k : c, plane = wg_uplane(k, c);
    (void)nt; /* used only by OpenMP pragmas */
    /* thread t owns rows kk of its share (and the u entries they give) */
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1 && k * c >= 4096)
    for (int64_t kk = 0; kk < ko; kk++) {
        if (flip) {
            wg_filter_row(w + kk * 9, c * 9, 1, ci, plane, u + kk * ci);
        } else {
            wg_filter_row(w + kk * c * 9, 9, 0, ci, plane, u + kk * ci);
        }
    }
}

/* Input transforms of channel c for tiles [j0, j1) of row ti of image n,
 * at chunk columns off.. of v.  Tiles whose 4 columns lie inside the input
 * read it in place; the others (at most one or two per edge) test each
 * column.
 * scratch: the rows' horizontal transforms (16 * (j1 - j0) floats). */
static void wg_input_run(const wg_geom *g, const float *x, int64_t c, int64_t n, int64_t ti,
                         int64_t j0, int64_t j1, int64_t off, int64_t tc, float *restrict v,
                         float *restrict hb)
{
    const int64_t q = j1 - j0, col0 = 2 * j0 - g->pl;
    /* tiles [lo, hi) of the run are inside: 0 <= col0 + 2j, col0 + 2j + 3 < w */
    int64_t lo = col0 < 0 ? (1 - col0) / 2 : 0;
    int64_t hi = g->w - 4 - col0 >= 0 ? (g->w - 4 - col0) / 2 + 1 : 0;
    lo = lo < q ? lo : q;
    hi = hi < q ? hi : q;
    hi = hi > lo ? hi : lo;
    const float *plane = x + (n * g->c + c) * g->h * g->w;
    for (int64_t i = 0; i < 4; i++) {
        const int64_t ih = 2 * ti - g->pt + i;
        float *h0 = hb + (i * 4) * q, *h1 = h0 + q, *h2 = h1 + q, *h3 = h2 + q;
        if (ih < 0 || ih >= g->h) {
            for (int64_t j = 0; j < 4 * q; j++) {
                h0[j] = 0.0f;
            }
            continue;
        }
        const float *src = plane + ih * g->w + col0; /* src[2j + t]: column t of tile j */
#pragma omp simd
        for (int64_t j = lo; j < hi; j++) { /* d B, one row of the patch */
            const float d0 = src[2 * j], d1 = src[2 * j + 1];
            const float d2 = src[2 * j + 2], d3 = src[2 * j + 3];
            h0[j] = d0 - d2;
            h1[j] = d1 + d2;
            h2[j] = d2 - d1;
            h3[j] = d1 - d3;
        }
        for (int64_t j = 0; j < q; j++) {
            if (j == lo) {
                j = hi;
                if (j >= q) {
                    break;
                }
            }
            float d[4];
            for (int64_t t = 0; t < 4; t++) {
                const int64_t col = col0 + 2 * j + t;
                d[t] = col >= 0 && col < g->w ? src[2 * j + t] : 0.0f;
            }
            h0[j] = d[0] - d[2];
            h1[j] = d[1] + d[2];
            h2[j] = d[2] - d[1];
            h3[j] = d[1] - d[3];
        }
    }
    for (int64_t j = 0; j < 4; j++) { /* B^T (d B), one column */
        const float *r0 = hb + j * q, *r1 = r0 + 4 * q, *r2 = r1 + 4 * q, *r3 = r2 + 4 * q;
        const int64_t vp = wg_plane(g->c, tc);
        float *v0 = v + j * vp + c * tc + off, *v1 = v0 + 4 * vp;
        float *v2 = v1 + 4 * vp, *v3 = v2 + 4 * vp;
#pragma omp simd
        for (int64_t t = 0; t < q; t++) {
            v0[t] = r0[t] - r2[t];
            v1[t] = r1[t] + r2[t];
            v2[t] = r2[t] - r1[t];
            v3[t] = r1[t] - r3[t];
        }
    }
}

/* Input transforms of tiles [t0, t1) into v (chunk columns 0..), channel
 * by channel, so that each input plane is walked in order. */
static void wg_input_chunk(const wg_geom *g, const float *x, int64_t t0, int64_t t1, int64_t tc,
                           float *v, float *scratch)
{
    for (int64_t c = 0; c < g->c; c++) {
        for (int64_t t = t0; t < t1;) {
            int64_t n, ti, j0, j1;
            wg_run_at(g, t, t1, &n, &ti, &j0, &j1);
            wg_input_run(g, x, c, n, ti, j0, j1, t - t0, tc, v, scratch);
            t += j1 - j0;
        }
    }
}

/* Output transforms (plus bias) of output channel k for the same run into
 * y; the right column and bottom row of tiles past the output are dropped:
 * such a run goes through scratch (two output rows of 2 * (j1 - j0)
 * floats), the others straight into y. */
static void wg_output_run(const wg_geom *g, const float *m, int64_t k, int64_t n, int64_t ti,
                          int64_t j0, int64_t j1, int64_t off, int64_t tc, const float *bias,
                          float *restrict y, float *restrict scratch)
{
    const int64_t q = j1 - j0, oh = 2 * ti, ow = 2 * j0;
    const int64_t cols = g->out_w - ow < 2 * q ? g->out_w - ow : 2 * q;
    const int inside = cols == 2 * q && oh + 1 < g->out_h;
    const int64_t plane = wg_plane(g->k, tc);
    const float bk = bias != NULL ? bias[k] : 0.0f;
    const float *mk = m + k * tc + off;
    float *yk = y + ((n * g->k + k) * g->out_h + oh) * g->out_w + ow;
    float *restrict o0 = inside ? yk : scratch;
    float *restrict o1 = inside ? yk + g->out_w : scratch + 2 * q;
#pragma omp simd
    for (int64_t t = 0; t < q; t++) {
        float s0[4], s1[4];
        for (int j = 0; j < 4; j++) { /* A^T M, column j */
            const float a = mk[j * plane + t], b = mk[(4 + j) * plane + t];
            const float c = mk[(8 + j) * plane + t], d = mk[(12 + j) * plane + t];
            s0[j] = a + b + c;
            s1[j] = b - c - d;
        }
        o0[2 * t] = s0[0] + s0[1] + s0[2] + bk; /* (A^T M) A */
        o0[2 * t + 1] = s0[1] - s0[2] - s0[3] + bk;
        o1[2 * t] = s1[0] + s1[1] + s1[2] + bk;
        o1[2 * t + 1] = s1[1] - s1[2] - s1[3] + bk;
    }
    if (!inside) {
        for (int64_t j = 0; j < cols; j++) {
            yk[j] = o0[j];
        }
        for (int64_t j = 0; oh + 1 < g->out_h && j < cols; j++) {
            yk[g->out_w + j] = o1[j];
        }
    }
}

/* Tiles [t0, t1) (t1 - t0 <= tc): transforms, the 16 GEMMs on
 * gemm_threads threads, inverse transforms into y. */
static int wg_chunk(const wg_geom *g, const float *x, const wg_filters_t *f, const float *bias,
                    float *y, int64_t t0, int64_t t1, int64_t tc, float *v, float *m,
                    float *scratch, int gemm_threads)
{
    wg_input_chunk(g, x, t0, t1, tc, v, scratch);
    for (int64_t e = 0; e < 16; e++) {
        const float *ve = v + e * wg_plane(g->c, tc);
        float *me = m + e * wg_plane(g->k, tc);
        const int s =
            f->packed != NULL && gemm_threads == 1
                ? pydl_sgemm_with_packed_a(f->isa, g->k, t1 - t0, g->c, 1.0f,
                                           f->packed + e * f->packed_size, ve, tc, 1, 0.0f, me,
                                           tc)
                : pydl_sgemm_strided(g->k, t1 - t0, g->c, 1.0f,
                                     f->u + e * wg_uplane(g->k, g->c), g->c, 1, ve, tc, 1,
                                     0.0f, me, tc, gemm_threads);
        if (s != PYDL_OK) {
            return s;
        }
    }
    /* output channel by output channel, so that each plane of y is walked
     * in order */
    for (int64_t k = 0; k < g->k; k++) {
        for (int64_t t = t0; t < t1;) {
            int64_t n, ti, j0, j1;
            wg_run_at(g, t, t1, &n, &ti, &j0, &j1);
            wg_output_run(g, m, k, n, ti, j0, j1, t - t0, tc, bias, y, scratch);
            t += j1 - j0;
        }
    }
    return PYDL_OK;
}

/* Every chunk of tiles; threads own whole chunks when there are at least
 * as many as threads, else they share each chunk's GEMMs. */
/* Chunks of at most WG_CHUNK tiles (a multiple of nt when there are at
 * least nt), and *tc tiles per chunk. */
static int64_t wg_chunks(const wg_geom *g, int nt, int64_t *tc)
{
    const int64_t tiles = g->n * g->th * g->tw;
    int64_t chunks = (tiles + WG_CHUNK - 1) / WG_CHUNK;
    if (nt > 1 && chunks >= nt) {
        chunks = (chunks + nt - 1) / nt * nt;
    }
    *tc = (tiles + chunks - 1) / chunks;
    return (tiles + *tc - 1) / *tc;
}

/* Whether wg_run's GEMMs run one per thread (then they can use packed
 * filters). */
static int wg_gemms_one_per_thread(const wg_geom *g, int nt)
{
    int64_t tc;
    return nt <= 1 || wg_chunks(g, nt, &tc) >= nt;
}

static int wg_run(const wg_geom *g, const float *x, const wg_filters_t *f, const float *bias,
                  float *y, int nt)
{
    const int64_t tiles = g->n * g->th * g->tw;
    int64_t tc;
    const int64_t chunks = wg_chunks(g, nt, &tc);
    const size_t vbytes = (size_t)(16 * wg_plane(g->c, tc)) * sizeof(float);
    const size_t mbytes = (size_t)(16 * wg_plane(g->k, tc)) * sizeof(float);
    const int64_t q = g->tw < tc ? g->tw : tc;
    const size_t sbytes = (size_t)(16 * q) * sizeof(float);
    int status = PYDL_OK;
    if (nt > 1 && chunks >= nt) {
#pragma omp parallel for schedule(static) num_threads(nt)
        for (int64_t ch = 0; ch < chunks; ch++) {
            float *v = pydl_workspace(PYDL_WS_CONV_COL, vbytes);
            float *m = pydl_workspace(PYDL_WS_CONV_OUT, mbytes);
            float *s = pydl_workspace(PYDL_WS_WG_ROWS, sbytes);
            const int64_t t0 = ch * tc, t1 = t0 + tc < tiles ? t0 + tc : tiles;
            const int st = v == NULL || m == NULL || s == NULL
                               ? PYDL_ERR_NOMEM
                               : wg_chunk(g, x, f, bias, y, t0, t1, tc, v, m, s, 1);
            if (st != PYDL_OK) {
#pragma omp atomic write
                status = st;
            }
        }
        return status;
    }
    float *v = pydl_workspace(PYDL_WS_CONV_COL, vbytes);
    float *m = pydl_workspace(PYDL_WS_CONV_OUT, mbytes);
    float *s = pydl_workspace(PYDL_WS_WG_ROWS, sbytes);
    if (v == NULL || m == NULL || s == NULL) {
        return PYDL_ERR_NOMEM;
    }
    for (int64_t ch = 0; ch < chunks && status == PYDL_OK; ch++) {
        const int64_t t0 = ch * tc, t1 = t0 + tc < tiles ? t0 + tc : tiles;
        status = wg_chunk(g, x, f, bias, y, t0, t1, tc, v, m, s, nt);
    }
    return status;
}

/* Gradient transforms A gy A^T of output channel k for the run (as
 * wg_input_run), at chunk columns off.. of gt (laid out as m).  Outputs
 * past the edge (the dropped part of the last tiles) read 0: such a run is
 * copied into scratch (two rows of 2 * (j1 - j0) floats) first. */
static void wg_grad_run(const wg_geom *g, const float *gy, int64_t k, int64_t n, int64_t ti,
                        int64_t j0, int64_t j1, int64_t off, int64_t tc, float *restrict gt,
                        float *restrict scratch)
{
    const int64_t q = j1 - j0, oh = 2 * ti, ow = 2 * j0;
    const int64_t cols = g->out_w - ow < 2 * q ? g->out_w - ow : 2 * q;
    const int64_t plane = wg_plane(g->k, tc);
    const float *src = gy + ((n * g->k + k) * g->out_h + oh) * g->out_w + ow;
    const float *r0 = src, *r1 = src + g->out_w;
    if (cols < 2 * q || oh + 1 >= g->out_h) { /* the run's tiles pass the edge */
        float *restrict z0 = scratch, *restrict z1 = scratch + 2 * q;
        for (int64_t j = 0; j < 2 * q; j++) {
            z0[j] = j < cols ? src[j] : 0.0f;
            z1[j] = j < cols && oh + 1 < g->out_h ? src[g->out_w + j] : 0.0f;
        }
        r0 = z0;
        r1 = z1;
    }
    float *gk = gt + k * tc + off;
#pragma omp simd
    for (int64_t t = 0; t < q; t++) {
        const float a = r0[2 * t], b = r0[2 * t + 1], c = r1[2 * t], d = r1[2 * t + 1];
        /* u = A g: rows g0, g0 + g1, g0 - g1, -g1 */
        const float u[4][2] = {{a, b}, {a + c, b + d}, {a - c, b - d}, {-c, -d}};
        for (int i = 0; i < 4; i++) { /* (A g) A^T, row i */
            gk[(i * 4 + 0) * plane + t] = u[i][0];
            gk[(i * 4 + 1) * plane + t] = u[i][0] + u[i][1];
            gk[(i * 4 + 2) * plane + t] = u[i][0] - u[i][1];
            gk[(i * 4 + 3) * plane + t] = -u[i][1];
        }
    }
}

/* Tiles [t0, t1) of one reduction group, chunk by chunk (tc tiles at most):
 * part_e (K x C) = sum over the group's tiles of GT_e . V_e^T, the first
 * chunk overwriting part. */
static int wg_weight_group(const wg_geom *g, const float *x, const float *gy, int64_t t0,
                           int64_t t1, int64_t tc, float *v, float *gt, float *scratch,
                           float *part, int gemm_threads)
{
    for (int64_t c0 = t0; c0 < t1; c0 += tc) {
        const int64_t c1 = c0 + tc < t1 ? c0 + tc : t1;
        wg_input_chunk(g, x, c0, c1, tc, v, scratch);
        for (int64_t k = 0; k < g->k; k++) {
            for (int64_t t = c0; t < c1;) {
                int64_t n, ti, j0, j1;
                wg_run_at(g, t, c1, &n, &ti, &j0, &j1);
                wg_grad_run(g, gy, k, n, ti, j0, j1, t - c0, tc, gt, scratch);
                t += j1 - j0;
            }
        }
        for (int64_t e = 0; e < 16; e++) {
            const int s = pydl_sgemm_strided(g->k, g->c, c1 - c0, 1.0f,
                                             gt + e * wg_plane(g->k, tc), tc, 1,
                                             v + e * wg_plane(g->c, tc), 1, tc,
                                             c0 == t0 ? 0.0f : 1.0f,
                                             part + e * g->k * g->c, g->c, gemm_threads);
            if (s != PYDL_OK) {
                return s;
            }
        }
    }
    return PYDL_OK;
}

/* grad_w[k][c] = G^T (sum over groups of part[k][c]) G: the groups are
 * added in order into the first one, then each sum is transformed. */
static void wg_weight_finish(const wg_geom *g, float *parts, int64_t groups, float *grad_w,
                             int nt)
{
    const int64_t kc = g->k * g->c, total = 16 * kc;
    (void)nt; /* used only by OpenMP pragmas */
    /* thread t owns a range of the sums, then output channels k of its share */
#pragma omp parallel num_threads(nt) if (nt > 1 && kc >= 4096)
    {
#pragma omp for schedule(static)
        for (int64_t b = 0; b < (total + 4095) / 4096; b++) {
            const int64_t lo = b * 4096, hi = lo + 4096 < total ? lo + 4096 : total;
            for (int64_t r = 1; r < groups; r++) {
                const float *pr = parts + r * total;
#pragma omp simd
                for (int64_t i = lo; i < hi; i++) {
                    parts[i] += pr[i];
                }
            }
        }
#pragma omp for schedule(static)
        for (int64_t k = 0; k < g->k; k++) {
            const float *m = parts + k * g->c;
#pragma omp simd
            for (int64_t c = 0; c < g->c; c++) {
                float t[3][4]; /* G^T M, G^T = [1 1/2 1/2 0; 0 1/2 -1/2 0; 0 1/2 1/2 1] */
                for (int j = 0; j < 4; j++) {
                    const float a = m[j * kc + c], b = m[(4 + j) * kc + c];
                    const float cc = m[(8 + j) * kc + c], d = m[(12 + j) * kc + c];
                    t[0][j] = a + 0.5f * (b + cc);
                    t[1][j] = 0.5f * (b - cc);
                    t[2][j] = 0.5f * (b + cc) + d;
                }
                float *out = grad_w + (k * g->c + c) * 9;
                for (int i = 0; i < 3; i++) { /* (G^T M) G */
                    const float a = t[i][0], b = t[i][1], cc = t[i][2], d = t[i][3];
                    out[i * 3 + 0] = a + 0.5f * (b + cc);
                    out[i * 3 + 1] = 0.5f * (b - cc);
                    out[i * 3 + 2] = 0.5f * (b + cc) + d;
                }
            }
        }
    }
}

static int wg_conv(const wg_geom *g, const float *x, const float *w, int flip, const float *bias,
                   float *y, int nt)
{
    float *u = pydl_workspace(PYDL_WS_WG_FILTERS,
                              (size_t)(16 * wg_uplane(g->k, g->c)) * sizeof(float));
    if (u == NULL) {
        return PYDL_ERR_NOMEM;
    }
    /* w is (K, C, 3, 3) as stored: for the data gradient its K is g's c */
    wg_filters(w, flip ? g->c : g->k, flip ? g->k : g->c, flip, u, nt);
    /* Each U_e packed once for the GEMMs of every chunk, when they run one
     * per thread in the form that keeps A packed (gemm_packed.h). */
    wg_filters_t f = {u, NULL, 0, pydl_isa_get()};
    f.packed_size = wg_gemms_one_per_thread(g, nt)
                        ? (pydl_sgemm_packed_a_size(f.isa, g->k, g->c) + 15) / 16 * 16
                        : 0;
    float *packed = f.packed_size > 0 ? pydl_workspace(PYDL_WS_WG_PACKED,
                                                       (size_t)(16 * f.packed_size) *
                                                           sizeof(float))
                                      : NULL;
    if (packed != NULL) {
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
        for (int64_t e = 0; e < 16; e++) {
            pydl_sgemm_pack_a_once(f.isa, g->k, g->c, u + e * wg_uplane(g->k, g->c), g->c, 1,
                                   packed + e * f.packed_size);
        }
        f.packed = packed;
    }
    return wg_run(g, x, &f, bias, y, nt);
}

int pydl_wg_fwd(const pydl_conv2d_params *p, const float *x, const float *w, const float *bias,
                float *y, int nt)
{
    const wg_geom g = wg_geom_of(p);
    return wg_conv(&g, x, w, 0, bias, y, nt);
}

int pydl_wg_bwd_data(const pydl_conv2d_params *p, const float *grad_y, const float *w,
                     float *grad_x, int nt)
{
    /* grad_x[c][ih][iw] = sum over k, r, s of grad_y[k][ih + pt - r][iw + pl - s] w[k][c][r][s]:
     * a forward pass over grad_y (K channels, out_h x out_w) padded by
     * 2 - pt and 2 - pl (a negative padding skips rows or columns), giving C
     * channels of h x w, with flipped filters. */
    const wg_geom g = {p->n,     p->k,     p->c, p->out_h, p->out_w, 2 - p->pad_top, 2 - p->pad_left,
                       p->h,     p->w,     (p->h + 1) / 2, (p->w + 1) / 2};
    return wg_conv(&g, grad_y, w, 1, NULL, grad_x, nt);
}

int pydl_wg_bwd_weight(const pydl_conv2d_params *p, const float *grad_y, const float *x,
                       float *grad_w, int nt)
{
    const wg_geom g = wg_geom_of(p);
    const int64_t tiles = g.n * g.th * g.tw, groups = WG_WEIGHT_GROUPS;
    const int64_t per_group = (tiles + groups - 1) / groups;
    const int64_t tc = per_group < WG_CHUNK ? per_group : WG_CHUNK;
    const size_t vbytes = (size_t)(16 * wg_plane(g.c, tc)) * sizeof(float);
    const size_t gbytes = (size_t)(16 * wg_plane(g.k, tc)) * sizeof(float);
    const int64_t q = g.tw < tc ? g.tw : tc;
    const size_t sbytes = (size_t)(16 * q) * sizeof(float);
    float *parts = pydl_workspace(PYDL_WS_CONV_PARTS, (size_t)(groups * 16 * g.k * g.c) *
                                                          sizeof(float));
    if (parts == NULL) {
        return PYDL_ERR_NOMEM;
    }
    int status = PYDL_OK;
    /* thread t owns whole groups of tiles and their partial sums */
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
    for (int64_t r = 0; r < groups; r++) {
        float *part = parts + r * 16 * g.k * g.c;
        const int64_t t0 = r * per_group < tiles ? r * per_group : tiles;
        const int64_t t1 = t0 + per_group < tiles ? t0 + per_group : tiles;
        if (t1 == t0) {
            for (int64_t i = 0; i < 16 * g.k * g.c; i++) {
                part[i] = 0.0f;
            }
            continue;
        }
        float *v = pydl_workspace(PYDL_WS_CONV_COL, vbytes);
        float *gt = pydl_workspace(PYDL_WS_CONV_OUT, gbytes);
        float *s = pydl_workspace(PYDL_WS_WG_ROWS, sbytes);
        const int st = v == NULL || gt == NULL || s == NULL
                           ? PYDL_ERR_NOMEM
                           : wg_weight_group(&g, x, grad_y, t0, t1, tc, v, gt, s, part, 1);
        if (st != PYDL_OK) {
#pragma omp atomic write
            status = st;
        }
    }
    if (status == PYDL_OK) {
        wg_weight_finish(&g, parts, groups, grad_w, nt);
    }
    return status;
}
