/*
 * conv_lanes.c -- the framework of the batch-in-lanes convolution
 * (conv_lanes.h): which layers it takes, weight packing, workspaces and
 * threads.
 *
 * Forward and data gradient (cl_run): when the threads can share the
 * image groups evenly, thread t interleaves and computes whole groups in a
 * buffer of its own; otherwise all threads first interleave the input, one
 * (image group, channel) plane each, into one shared lane buffer, then
 * thread t owns a contiguous range of (image group, output row) items and
 * writes those rows of every output channel (pooled: pairs of rows, pooled
 * into one row of the pooled output and its codes).  Weight gradient: one thread
 * per image group, the groups' gradients added in group order.  Each
 * output is summed by one thread in a fixed order, so the result does not
 * depend on the thread count.
 */
#include <stddef.h>
#include <stdint.h>

#include "conv_lanes.h"
#include "parallel.h"
#include "workspace.h"

/* Layers with at most this many (input x output) channel pairs: more
 * channels fill the channels-in-lanes and GEMM kernels well. */
#define PYDL_CL_MAX_CK 1024

/* Interleaving costs about as much as a pass over the source, so a pass
 * with fewer than this many multiply-adds per source element (kout*R*S)
 * only gains while its source is at most PYDL_CL_SMALL_BYTES, mostly in
 * cache. */
#define PYDL_CL_MIN_INTENSITY 64
#define PYDL_CL_SMALL_BYTES ((int64_t)2 << 20)

const pydl_cl_kernels *pydl_cl_kernels_get(void)
{
#ifdef PYDL_HAVE_X86_KERNELS
    if (pydl_isa_get() == PYDL_ISA_AVX512) {
        return &pydl_cl_kernels_avx512;
    }
#endif
    return NULL;
}

/* Batches of fewer than two groups of lanes leave too many lanes, or
 * threads, idle. */
static int cl_takes(const pydl_conv2d_params *p, int64_t kout, int64_t source)
{
    const int64_t bytes = p->n * source * (int64_t)sizeof(float);
    return pydl_cl_kernels_get() != NULL && p->groups == 1 && p->n >= 2 * PYDL_CL_LANES &&
           p->c * p->k <= PYDL_CL_MAX_CK && p->out_h > 0 && p->out_w > 0 &&
           (kout * p->r * p->s >= PYDL_CL_MIN_INTENSITY || bytes <= PYDL_CL_SMALL_BYTES);
}

int pydl_cl_takes_fwd(const pydl_conv2d_params *p)
{
    return cl_takes(p, p->k, p->c * p->h * p->w);
}

int pydl_cl_takes_bwd_data(const pydl_conv2d_params *p)
{
    return p->stride_h == 1 && p->stride_w == 1 &&
           cl_takes(p, p->c, p->k * p->out_h * p->out_w);
}

int pydl_cl_takes_bwd_weight(const pydl_conv2d_params *p)
{
    return p->s <= PYDL_CL_SMAX && cl_takes(p, p->k, p->c * p->h * p->w);
}

/* One pass: dst (n, kout, out_h, out_w) = conv(src (n, cin, h, w), wt)
 * with the row stride, padding and geometry given. */
typedef struct cl_job {
    const float *src;
    int64_t n, w;               /* images; source row length               */
    int64_t sh, pad_top, pad_left;
    int64_t out_h;
    const float *wt, *bias;     /* packed weights (conv_lanes.h), bias or NULL */
    float *dst;
    pydl_cl_geom g;
    /* pooled (pydl_cl_fwd_maxpool2x2): dst is (n, kout, out_h/2, out_w/2),
     * code beside it; NULL for the plain pass */
    uint8_t *code;
    int relu;
    /* pooled source (the data gradient from a pooled grad_y): src is
     * (n, cin, h/2, w/2) with these codes; NULL for a plain source */
    const uint8_t *src_code;
} cl_job;

static int64_t cl_round_up(int64_t v, int64_t m)
{
    return (v + m - 1) / m * m;
}

/* Rows r in [*lo, *hi) of output row oh read lane buffer rows inside
 * [0, h). */
static void cl_rows(const cl_job *job, int64_t oh, int64_t *lo, int64_t *hi)
{
    const int64_t row0 = oh * job->sh - job->pad_top, dh = job->g.dh, h = job->g.h;
    int64_t a = row0 >= 0 ? 0 : (-row0 + dh - 1) / dh;
    int64_t b = h - row0 > 0 ? (h - row0 + dh - 1) / dh : 0;
    a = a < job->g.r ? a : job->g.r;
    b = b < job->g.r ? b : job->g.r;
    *lo = a;
    *hi = b > a ? b : a;
}

/* Fill in the geometry that follows from the layer's: buffer width and row
 * buffer width (conv_lanes.h). */
static void cl_geom_finish(pydl_cl_geom *g)
{
    const int64_t pos = cl_round_up(g->out_w, 12);
    const int64_t full = cl_round_up(g->out_w, PYDL_CL_LANES);
    g->wb = (pos - 1) * g->sw + (g->s - 1) * g->dw + 1;
    g->ywidth = pos > full ? pos : full;
}

/* The buffer columns [pad_left, pad_left + w) that hold source columns,
 * clipped to the buffer. */
static void cl_source_columns(pydl_cl_geom *g, int64_t pad_left, int64_t w)
{
    const int64_t lo = pad_left > 0 ? pad_left : 0, hi = pad_left + w;
    g->col_lo = lo < g->wb ? lo : g->wb;
    g->col_hi = hi < g->wb ? hi : g->wb;
}

/* Interleave image group grp of the source into xt (cin planes). */
static void cl_pack_group(const cl_job *job, const pydl_cl_kernels *kern, int64_t grp,
                          int64_t c0, int64_t c1, float *xt)
{
    const pydl_cl_geom *g = &job->g;
    const int64_t src_image = g->cin * g->h * job->w, first = grp * PYDL_CL_LANES;
    const int64_t lanes = job->n - first < PYDL_CL_LANES ? job->n - first : PYDL_CL_LANES;
    const int64_t pooled_plane = (g->h / 2) * (job->w / 2);
    for (int64_t c = c0; c < c1; c++) {
        float *dst = xt + c * g->h * g->wb * PYDL_CL_LANES;
        if (job->src_code != NULL) {
            const int64_t image = g->cin * pooled_plane, at = first * image + c * pooled_plane;
            kern->unpool(job->src + at, job->src_code + at, image, lanes, g->h, job->w,
                         job->pad_left, g->wb, dst);
        } else {
            kern->pack(job->src + first * src_image + c * g->h * job->w, src_image, lanes, g->h,
                       job->w, job->pad_left, g->wb, dst);
        }
    }
}

/* Output row oh of image group grp from that group's lane buffer xt. */
static void cl_out_row(const cl_job *job, const pydl_cl_kernels *kern, int64_t grp, int64_t oh,
                       const float *xt, float *yrow)
{
    const pydl_cl_geom *g = &job->g;
    const int64_t dst_plane = job->out_h * g->out_w, dst_image = g->kout * dst_plane;
    const int64_t first = grp * PYDL_CL_LANES;
    const int64_t lanes = job->n - first < PYDL_CL_LANES ? job->n - first : PYDL_CL_LANES;
    int64_t lo, hi;
    cl_rows(job, oh, &lo, &hi);
    kern->row(g, xt, job->wt, job->bias, oh * job->sh - job->pad_top, lo, hi, yrow);
    kern->unpack(g, yrow, lanes, dst_image, dst_plane,
                 job->dst + first * dst_image + oh * g->out_w);
}

/* Output rows 2i and 2i + 1 of image group grp, max-pooled into row i of
 * dst and code (yrow holds two row buffers). */
static void cl_out_pooled_row(const cl_job *job, const pydl_cl_kernels *kern, int64_t grp,
                              int64_t i, const float *xt, float *yrow)
{
    const pydl_cl_geom *g = &job->g;
    const int64_t pw = g->out_w / 2, dst_plane = job->out_h / 2 * pw;
    const int64_t dst_image = g->kout * dst_plane, first = grp * PYDL_CL_LANES;
    const int64_t lanes = job->n - first < PYDL_CL_LANES ? job->n - first : PYDL_CL_LANES;
    float *rows[2] = {yrow, yrow + g->kout * g->ywidth * PYDL_CL_LANES};
    for (int64_t t = 0; t < 2; t++) {
        const int64_t oh = 2 * i + t;
        int64_t lo, hi;
        cl_rows(job, oh, &lo, &hi);
        kern->row(g, xt, job->wt, job->bias, oh * job->sh - job->pad_top, lo, hi, rows[t]);
    }
    const int64_t at = first * dst_image + i * pw;
    kern->pool(g, rows[0], rows[1], job->relu, lanes, dst_image, dst_plane, job->dst + at,
               job->code + at);
}

/* Unit u of image group grp: output row u, or pooled row u. */
static void cl_out_unit(const cl_job *job, const pydl_cl_kernels *kern, int64_t grp, int64_t u,
                        const float *xt, float *yrow)
{
    if (job->code != NULL) {
        cl_out_pooled_row(job, kern, grp, u, xt, yrow);
    } else {
        cl_out_row(job, kern, grp, u, xt, yrow);
    }
}

/* When the threads can share the image groups evenly, thread t interleaves
 * and computes whole groups in its own buffer (no waiting, and the buffer
 * stays in its cache); otherwise all threads interleave into one buffer,
 * wait, and share the (group, row) items. */
static int cl_run(const cl_job *job, const pydl_cl_kernels *kern, int nt)
{
    const pydl_cl_geom *g = &job->g;
    const int64_t groups = (job->n + PYDL_CL_LANES - 1) / PYDL_CL_LANES;
    const int64_t xgroup = g->cin * g->h * g->wb * PYDL_CL_LANES;
    const int64_t units = job->code != NULL ? job->out_h / 2 : job->out_h;
    const size_t ybytes = (size_t)((job->code != NULL ? 2 : 1) * g->kout * g->ywidth *
                                   PYDL_CL_LANES) * sizeof(float);
    int status = PYDL_OK;
    if (groups % nt == 0) {
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
        for (int64_t grp = 0; grp < groups; grp++) {
            float *xt = pydl_workspace(PYDL_WS_CONV_COL, (size_t)xgroup * sizeof(float));
            float *yrow = pydl_workspace(PYDL_WS_CONV_OUT, ybytes);
            if (xt == NULL || yrow == NULL) {
#pragma omp atomic write
                status = PYDL_ERR_NOMEM;
                continue;
            }
            cl_pack_group(job, kern, grp, 0, g->cin, xt);
            for (int64_t u = 0; u < units; u++) {
                cl_out_unit(job, kern, grp, u, xt, yrow);
            }
        }
        return status;
    }
    float *xt = pydl_workspace(PYDL_WS_CONV_COL, (size_t)(groups * xgroup) * sizeof(float));
    if (xt == NULL) {
        return PYDL_ERR_NOMEM;
    }
#pragma omp parallel num_threads(nt) if (nt > 1)
    {
#pragma omp for schedule(static)
        for (int64_t item = 0; item < groups * g->cin; item++) {
            const int64_t grp = item / g->cin, c = item % g->cin;
            cl_pack_group(job, kern, grp, c, c + 1, xt + grp * xgroup);
        }
        float *yrow = pydl_workspace(PYDL_WS_CONV_OUT, ybytes);
        if (yrow == NULL) {
#pragma omp atomic write
            status = PYDL_ERR_NOMEM;
        }
#pragma omp for schedule(static)
        for (int64_t item = 0; item < groups * units; item++) {
            if (yrow != NULL) {
                const int64_t grp = item / units;
                cl_out_unit(job, kern, grp, item % units, xt + grp * xgroup, yrow);
            }
        }
    }
    return status;
}

/* The forward pass, plain (code NULL: y as pydl_sconv2d_fwd) or pooled
 * (y and code as pydl_sconv2d_fwd_maxpool2x2). */
static int cl_fwd(const pydl_conv2d_params *p, const float *x, const float *w, const float *bias,
                  int relu, float *y, uint8_t *code, int nt)
{
    /* the table read once: NULL if another thread changed the path since
     * the caller's choice */
    const pydl_cl_kernels *kern = pydl_cl_kernels_get();
    if (kern == NULL) {
        return PYDL_ERR_UNSUPPORTED;
    }
    const int64_t crs = p->c * p->r * p->s;
    float *wt = pydl_workspace(PYDL_WS_WG_FILTERS, (size_t)(crs * p->k) * sizeof(float));
    if (wt == NULL) {
        return PYDL_ERR_NOMEM;
    }
    for (int64_t k = 0; k < p->k; k++) {
        for (int64_t i = 0; i < crs; i++) {
            wt[i * p->k + k] = w[k * crs + i];
        }
    }
    cl_job job = {
        .src = x, .n = p->n, .w = p->w, .sh = p->stride_h, .pad_top = p->pad_top,
        .pad_left = p->pad_left, .out_h = p->out_h, .wt = wt, .bias = bias, .dst = y,
        .g = {.cin = p->c, .kout = p->k, .r = p->r, .s = p->s, .sw = p->stride_w,
              .dh = p->dil_h, .dw = p->dil_w, .h = p->h, .out_w = p->out_w},
        .code = code, .relu = relu,
    };
    cl_geom_finish(&job.g);
    cl_source_columns(&job.g, job.pad_left, job.w);
    return cl_run(&job, kern, nt);
}

int pydl_cl_fwd(const pydl_conv2d_params *p, const float *x, const float *w, const float *bias,
                float *y, int nt)
{
    return cl_fwd(p, x, w, bias, 0, y, NULL, nt);
}

int pydl_cl_fwd_maxpool2x2(const pydl_conv2d_params *p, const float *x, const float *w,
                           const float *bias, int relu, float *y, uint8_t *code, int nt)
{
    if (p->out_h < 2 || p->out_w < 2) {
        return PYDL_OK; /* no window */
    }
    return cl_fwd(p, x, w, bias, relu, y, code, nt);
}

/* Stride 1: grad_x[c][ih][iw] = sum over k, r, s of
 * grad_y[k][ih + pad_top - r*dh][iw + pad_left - s*dw] w[k][c][r][s], a
 * forward pass over grad_y with padding (R-1)*dh - pad_top (and likewise
 * for columns) and the filters flipped, input and output channels
 * swapped. */
static int cl_bwd_data(const pydl_conv2d_params *p, const float *grad_y, const uint8_t *code,
                       const float *w, float *grad_x, int nt)
{
    const pydl_cl_kernels *kern = pydl_cl_kernels_get(); /* as in cl_fwd */
    if (kern == NULL) {
        return PYDL_ERR_UNSUPPORTED;
    }
    const int64_t rs = p->r * p->s;
    float *wt = pydl_workspace(PYDL_WS_WG_FILTERS, (size_t)(rs * p->k * p->c) * sizeof(float));
    if (wt == NULL) {
        return PYDL_ERR_NOMEM;
    }
    for (int64_t k = 0; k < p->k; k++) {
        for (int64_t c = 0; c < p->c; c++) {
            for (int64_t t = 0; t < rs; t++) {
                wt[(k * rs + t) * p->c + c] = w[(k * p->c + c) * rs + rs - 1 - t];
            }
        }
    }
    cl_job job = {
        .src = grad_y, .n = p->n, .w = p->out_w, .sh = 1,
        .pad_top = (p->r - 1) * p->dil_h - p->pad_top,
        .pad_left = (p->s - 1) * p->dil_w - p->pad_left, .out_h = p->h, .wt = wt,
        .bias = NULL, .dst = grad_x,
        .g = {.cin = p->k, .kout = p->c, .r = p->r, .s = p->s, .sw = 1, .dh = p->dil_h,
              .dw = p->dil_w, .h = p->out_h, .out_w = p->w},
        .src_code = code,
    };
    cl_geom_finish(&job.g);
    cl_source_columns(&job.g, job.pad_left, job.w);
    return cl_run(&job, kern, nt);
}

int pydl_cl_bwd_data(const pydl_conv2d_params *p, const float *grad_y, const float *w,
                     float *grad_x, int nt)
{
    return cl_bwd_data(p, grad_y, NULL, w, grad_x, nt);
}

int pydl_cl_bwd_data_pooled(const pydl_conv2d_params *p, const float *grad_y,
                            const uint8_t *code, const float *w, float *grad_x, int nt)
{
    return cl_bwd_data(p, grad_y, code, w, grad_x, nt);
}

/* Each image group's gradients are computed by one thread (which
 * interleaves that group's x and grad_y into its own buffers, still in its
 * cache) and kept apart; the groups' gradients are then added in group
 * order, so the result does not depend on the thread count.  The bias
 * gradient is summed from the interleaved grad_y (in double, lane_sum),
 * also when it is the only one asked for, so it is the same either way. */
int pydl_cl_bwd_weight(const pydl_conv2d_params *p, const float *grad_y, const uint8_t *code,
                       const float *x, float *grad_w, float *grad_bias, int nt)
{
    const pydl_cl_kernels *kern = pydl_cl_kernels_get(); /* as in cl_fwd */
    if (kern == NULL) {
        return PYDL_ERR_UNSUPPORTED;
    }
    pydl_cl_geom g = {.cin = p->c, .kout = p->k, .r = p->r, .s = p->s, .sw = p->stride_w,
                      .dh = p->dil_h, .dw = p->dil_w, .h = p->h, .out_w = p->out_w};
    cl_geom_finish(&g);
    const int64_t groups = (p->n + PYDL_CL_LANES - 1) / PYDL_CL_LANES;
    const int64_t kb = pydl_cl_weight_kb(p->s);
    const int64_t xplane = p->h * g.wb * PYDL_CL_LANES, x_group = p->c * xplane;
    const int64_t hwo = p->out_h * p->out_w, gplane = hwo * PYDL_CL_LANES;
    const int64_t gy_group = p->k * gplane;
    const int64_t x_image = p->c * p->h * p->w, gy_image = p->k * hwo;
    const int64_t size = grad_w != NULL ? p->k * p->c * p->r * p->s : 0;
    /* per group: the weight gradient (floats), then the bias sums (doubles) */
    const size_t wbytes = ((size_t)(groups * size) * sizeof(float) + 63) / 64 * 64;
    char *scratch = pydl_workspace(PYDL_WS_CONV_PARTS,
                                   wbytes + (size_t)(groups * p->k) * sizeof(double));
    if (scratch == NULL) {
        return PYDL_ERR_NOMEM;
    }
    float *parts = (float *)scratch;
    double *bias_parts = (double *)(scratch + wbytes);
    int status = PYDL_OK;
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1 && groups > 1)
    for (int64_t grp = 0; grp < groups; grp++) {
        float *xt = pydl_workspace(PYDL_WS_CONV_COL, (size_t)x_group * sizeof(float));
        float *gt = pydl_workspace(PYDL_WS_CL_GRAD, (size_t)gy_group * sizeof(float));
        if (xt == NULL || gt == NULL) {
#pragma omp atomic write
            status = PYDL_ERR_NOMEM;
            continue;
        }
        const int64_t first = grp * PYDL_CL_LANES;
        const int64_t lanes = p->n - first < PYDL_CL_LANES ? p->n - first : PYDL_CL_LANES;
        const int64_t pooled = (p->out_h / 2) * (p->out_w / 2), pooled_image = p->k * pooled;
        for (int64_t k = 0; k < p->k; k++) {
            if (code != NULL) {
                const int64_t at = first * pooled_image + k * pooled;
                kern->unpool(grad_y + at, code + at, pooled_image, lanes, p->out_h, p->out_w, 0,
                             p->out_w, gt + k * gplane);
            } else {
                kern->pack(grad_y + first * gy_image + k * hwo, gy_image, lanes, p->out_h,
                           p->out_w, 0, p->out_w, gt + k * gplane);
            }
            if (grad_bias != NULL) {
                bias_parts[grp * p->k + k] = kern->lane_sum(gt + k * gplane, hwo);
            }
        }
        if (grad_w == NULL) {
            continue;
        }
        for (int64_t c = 0; c < p->c; c++) {
            kern->pack(x + first * x_image + c * p->h * p->w, x_image, lanes, p->h, p->w,
                       p->pad_left, g.wb, xt + c * xplane);
        }
        for (int64_t c = 0; c < p->c; c++) {
            for (int64_t r = 0; r < p->r; r++) {
                for (int64_t k0 = 0; k0 < p->k; k0 += kb) {
                    kern->weight(&g, 1, p->out_h, p->stride_h, p->pad_top, xt, x_group, gt,
                                 gy_group, c, r, k0, parts + grp * size);
                }
            }
        }
    }
    if (status != PYDL_OK) {
        return status;
    }
    for (int64_t i = 0; i < size; i++) {
        float sum = parts[i];
        for (int64_t grp = 1; grp < groups; grp++) {
            sum += parts[grp * size + i];
        }
        grad_w[i] = sum;
    }
    for (int64_t k = 0; grad_bias != NULL && k < p->k; k++) {
        double sum = bias_parts[k];
        for (int64_t grp = 1; grp < groups; grp++) {
            sum += bias_parts[grp * p->k + k];
        }
        grad_bias[k] = (float)sum;
    }
    return PYDL_OK;
}
