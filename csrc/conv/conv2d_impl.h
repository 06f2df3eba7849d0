/*
 * conv2d_impl.h -- 2-D convolution by im2col + GEMM, written once for an
 * element type and included by conv2d.c once per type (see pydl.h for the
 * math and the shapes).
 *
 * The includer defines:
 *   CONV_T          element type
 *   CONV_GEMM       pydl_sgemm_strided or pydl_dgemm_strided
 *   CONV_GEMM_BATCHED  pydl_sgemm_batched or pydl_dgemm_batched
 *   CONV_IM2COL, CONV_COL2IM, CONV_FWD_IMAGE, CONV_FWD_IMAGES, CONV_BWD_DATA_IMAGE,
 *   CONV_BWD_DATA_IMAGES, CONV_EACH_IMAGE, CONV_EACH_BLOCK,
 *   CONV_WEIGHT_CHUNK, CONV_BWD_BIAS, CONV_FWD_POINTWISE,
 *   CONV_FWD, CONV_BWD_DATA, CONV_BWD_WEIGHT   names of this file's static
 *                   functions (conv2d.c wraps the last three in the public
 *                   entry points)
 */

/* The columns [q0, q1) (output positions q = oh*out_w + ow) of one image
 * group's im2col matrix, as a (cg*R*S) x (q1 - q0) block with row stride ld:
 *   col[((c*R + r)*S + s) * ld + q - q0] = x[c][ih][iw]  (0 in the padding)
 * with ih = oh*sh - pt + r*dh and iw = ow*sw - pl + s*dw. */
static void CONV_IM2COL(const pydl_conv2d_params *p, int64_t cg, const CONV_T *x, int64_t q0,
                        int64_t q1, CONV_T *col, int64_t ld)
{
    const int64_t plane = p->h * p->w;
    const int64_t oh0 = q0 / p->out_w, oh1 = (q1 - 1) / p->out_w;
    for (int64_t r = 0; r < p->r; r++) {
        for (int64_t s = 0; s < p->s; s++) {
            /* Columns ow in [lo, hi) read inside the image, for every
             * channel and output row. */
            int64_t lo, hi;
            const int64_t off_w = s * p->dil_w - p->pad_left;
            conv_valid_range(p->out_w, p->w, p->stride_w, off_w, &lo, &hi);
            for (int64_t c = 0; c < cg; c++) {
                CONV_T *dst = col + ((c * p->r + r) * p->s + s) * ld - q0;
                const CONV_T *src = x + c * plane;
                for (int64_t oh = oh0; oh <= oh1; oh++) {
                    const int64_t a = oh == oh0 ? q0 - oh * p->out_w : 0;
                    const int64_t b = q1 - oh * p->out_w < p->out_w ? q1 - oh * p->out_w : p->out_w;
                    const int64_t ih = oh * p->stride_h - p->pad_top + r * p->dil_h;
                    CONV_T *d = dst + oh * p->out_w;
                    if (ih < 0 || ih >= p->h) {
                        for (int64_t ow = a; ow < b; ow++) {
                            d[ow] = 0;
                        }
                        continue;
                    }
                    const CONV_T *row = src + ih * p->w + off_w;
                    const int64_t va = a > lo ? a : lo, vb = b < hi ? b : hi;
                    for (int64_t ow = a; ow < va && ow < b; ow++) {
                        d[ow] = 0;
                    }
                    if (p->stride_w == 1) {
                        for (int64_t ow = va; ow < vb; ow++) {
                            d[ow] = row[ow];
                        }
                    } else {
                        for (int64_t ow = va; ow < vb; ow++) {
                            d[ow] = row[ow * p->stride_w];
                        }
                    }
                    for (int64_t ow = vb > a ? vb : a; ow < b; ow++) {
                        d[ow] = 0;
                    }
                }
            }
        }
    }
}

/* The adjoint of CONV_IM2COL on columns [q0, q1): x[c][ih][iw] +=
 * col[(c, r, s) * ld + q - q0] over every (c, r, s, q) in a fixed order; x
 * must be zeroed by the caller before the first block. */
static void CONV_COL2IM(const pydl_conv2d_params *p, int64_t cg, const CONV_T *col, int64_t q0,
                        int64_t q1, int64_t ld, CONV_T *x)
{
    const int64_t nq = ld, plane = p->h * p->w;
    const int64_t oh0 = q0 / p->out_w, oh1 = (q1 - 1) / p->out_w;
    for (int64_t c = 0; c < cg; c++) {
        for (int64_t r = 0; r < p->r; r++) {
            for (int64_t s = 0; s < p->s; s++) {
                const CONV_T *src = col + ((c * p->r + r) * p->s + s) * nq - q0;
                int64_t lo, hi;
                const int64_t off_w = s * p->dil_w - p->pad_left;
                conv_valid_range(p->out_w, p->w, p->stride_w, off_w, &lo, &hi);
                for (int64_t oh = oh0; oh <= oh1; oh++) {
                    const int64_t ih = oh * p->stride_h - p->pad_top + r * p->dil_h;
                    if (ih < 0 || ih >= p->h) {
                        continue;
                    }
                    const int64_t a = oh == oh0 ? q0 - oh * p->out_w : 0;
                    const int64_t b = q1 - oh * p->out_w < p->out_w ? q1 - oh * p->out_w : p->out_w;
                    const int64_t va = a > lo ? a : lo, vb = b < hi ? b : hi;
                    CONV_T *row = x + c * plane + ih * p->w + off_w;
                    const CONV_T *srow = src + oh * p->out_w;
                    for (int64_t ow = va; ow < vb; ow++) {
                        row[ow * p->stride_w] += srow[ow];
                    }
                }
            }
        }
    }
}

/* Forward of image n (all groups), GEMMs on gemm_threads threads.  Without
 * col (pointwise) the image is the GEMM's B; otherwise B is built block by
 * block of output positions, each block small enough to stay in cache
 * between im2col and the GEMM. */
static int CONV_FWD_IMAGE(const pydl_conv2d_params *p, const CONV_T *x, const CONV_T *w,
                          const CONV_T *bias, CONV_T *y, CONV_T *col, int gemm_threads)
{
    const int64_t cg = p->c / p->groups, kg = p->k / p->groups;
    const int64_t crs = cg * p->r * p->s, hwo = p->out_h * p->out_w;
    const int64_t block = col != NULL ? conv_block_cols(p, sizeof(CONV_T)) : hwo;
    int status = PYDL_OK;
    for (int64_t g = 0; g < p->groups && status == PYDL_OK; g++) {
        const CONV_T *xg = x + g * cg * p->h * p->w;
        for (int64_t q0 = 0; q0 < hwo && status == PYDL_OK; q0 += block) {
            const int64_t q1 = hwo - q0 < block ? hwo : q0 + block;
            const CONV_T *bmat = xg + q0;
            int64_t rs_b = hwo;
            if (col != NULL) {
                CONV_IM2COL(p, cg, xg, q0, q1, col, q1 - q0);
                bmat = col;
                rs_b = q1 - q0;
            }
            status = CONV_GEMM(kg, q1 - q0, crs, 1, w + g * kg * crs, crs, 1, bmat, rs_b, 1, 0,
                               y + g * kg * hwo + q0, hwo, gemm_threads);
            /* the bias, while the block of outputs is still in cache */
            for (int64_t k = 0; bias != NULL && k < kg; k++) {
                CONV_T *out = y + (g * kg + k) * hwo;
                for (int64_t q = q0; q < q1; q++) {
                    out[q] += bias[g * kg + k];
                }
            }
        }
    }
    return status;
}

/* Backward-data of image n: grad_x (zeroed here) from grad_y, block by
 * block of output positions as in the forward. */
static int CONV_BWD_DATA_IMAGE(const pydl_conv2d_params *p, const CONV_T *grad_y,
                               const CONV_T *w, const CONV_T *unused_bias, CONV_T *grad_x,
                               CONV_T *col, int gemm_threads)
{
    (void)unused_bias; /* same signature as CONV_FWD_IMAGE, for CONV_EACH_IMAGE */
    const int64_t cg = p->c / p->groups, kg = p->k / p->groups;
    const int64_t crs = cg * p->r * p->s, hwo = p->out_h * p->out_w;
    const int64_t block = col != NULL ? conv_block_cols(p, sizeof(CONV_T)) : hwo;
    int status = PYDL_OK;
    for (int64_t g = 0; g < p->groups && status == PYDL_OK; g++) {
        CONV_T *gx = grad_x + g * cg * p->h * p->w;
        if (col != NULL) {
            for (int64_t i = 0; i < cg * p->h * p->w; i++) {
                gx[i] = 0;
            }
        }
        for (int64_t q0 = 0; q0 < hwo && status == PYDL_OK; q0 += block) {
            const int64_t q1 = hwo - q0 < block ? hwo : q0 + block;
            /* grad_col (crs x nq) = W_g^T (crs x kg) . grad_y_g[:, q0:q1] */
            CONV_T *dst = col != NULL ? col : gx + q0;
            status = CONV_GEMM(crs, q1 - q0, kg, 1, w + g * kg * crs, 1, crs,
                               grad_y + g * kg * hwo + q0, hwo, 1, 0, dst,
                               col != NULL ? q1 - q0 : hwo, gemm_threads);
            if (col != NULL) {
                CONV_COL2IM(p, cg, col, q0, q1, q1 - q0, gx);
            }
        }
    }
    return status;
}

/* Weight gradient of images [n0, n1) into part (shape of w, overwritten):
 * part_g = sum over n ascending of grad_y_g[n] (kg x hwo) . col_n^T (hwo x crs). */
static int CONV_WEIGHT_CHUNK(const pydl_conv2d_params *p, const CONV_T *grad_y,
                             const CONV_T *x, int64_t n0, int64_t n1, CONV_T *part,
                             CONV_T *col, int gemm_threads)
{
    const int64_t cg = p->c / p->groups, kg = p->k / p->groups;
    const int64_t crs = cg * p->r * p->s, hwo = p->out_h * p->out_w;
    const int64_t x_image = p->c * p->h * p->w, y_image = p->k * hwo;
    /* One block per image: here the positions are the GEMM's depth, and
     * short depths would re-read the weight gradient too often. */
    const int64_t block = hwo;
    int status = PYDL_OK;
    for (int64_t n = n0; n < n1 && status == PYDL_OK; n++) {
        for (int64_t g = 0; g < p->groups && status == PYDL_OK; g++) {
            const CONV_T *xg = x + n * x_image + g * cg * p->h * p->w;
            for (int64_t q0 = 0; q0 < hwo && status == PYDL_OK; q0 += block) {
                const int64_t q1 = hwo - q0 < block ? hwo : q0 + block;
                const CONV_T *bmat = xg + q0;
                int64_t cs_b = hwo;
                if (col != NULL) {
                    CONV_IM2COL(p, cg, xg, q0, q1, col, q1 - q0);
                    bmat = col;
                    cs_b = q1 - q0;
                }
                status = CONV_GEMM(kg, crs, q1 - q0, 1, grad_y + n * y_image + g * kg * hwo + q0,
                                   hwo, 1, bmat, 1, cs_b, n == n0 && q0 == 0 ? 0 : 1,
                                   part + g * kg * crs, crs, gemm_threads);
            }
        }
    }
    return status;
}

/* Forward of the small images [n0, n1), whose im2col matrices fit one
 * block side by side: per group, one GEMM for all of them into out
 * (kg x nimg*hwo), then copied to y with the bias added. */
static int CONV_FWD_IMAGES(const pydl_conv2d_params *p, const CONV_T *x, const CONV_T *w,
                           const CONV_T *bias, CONV_T *y, int64_t n0, int64_t n1, CONV_T *col,
                           CONV_T *out, int gemm_threads)
{
    const int64_t cg = p->c / p->groups, kg = p->k / p->groups;
    const int64_t crs = cg * p->r * p->s, hwo = p->out_h * p->out_w;
    const int64_t x_image = p->c * p->h * p->w, y_image = p->k * hwo, nq = (n1 - n0) * hwo;
    int status = PYDL_OK;
    for (int64_t g = 0; g < p->groups && status == PYDL_OK; g++) {
        for (int64_t n = n0; n < n1; n++) {
            CONV_IM2COL(p, cg, x + n * x_image + g * cg * p->h * p->w, 0, hwo,
                        col + (n - n0) * hwo, nq);
        }
        status = CONV_GEMM(kg, nq, crs, 1, w + g * kg * crs, crs, 1, col, nq, 1, 0, out, nq,
                           gemm_threads);
        for (int64_t n = n0; n < n1; n++) {
            for (int64_t k = 0; k < kg; k++) {
                const CONV_T b = bias != NULL ? bias[g * kg + k] : 0;
                const CONV_T *src = out + k * nq + (n - n0) * hwo;
                CONV_T *dst = y + n * y_image + (g * kg + k) * hwo;
                for (int64_t i = 0; i < hwo; i++) {
                    dst[i] = src[i] + b;
                }
            }
        }
    }
    return status;
}

/* Data gradient of the small images [n0, n1), as CONV_FWD_IMAGES: per
 * group, their grad_y side by side in buf (kg x nimg*hwo), one GEMM for
 * all their im2col gradients (col = W_g^T buf), then col2im image by
 * image into grad_x (zeroed here). */
static int CONV_BWD_DATA_IMAGES(const pydl_conv2d_params *p, const CONV_T *grad_y,
                                const CONV_T *w, const CONV_T *unused_bias, CONV_T *grad_x,
                                int64_t n0, int64_t n1, CONV_T *col, CONV_T *buf,
                                int gemm_threads)
{
    (void)unused_bias; /* same signature as CONV_FWD_IMAGES, for CONV_EACH_BLOCK */
    const int64_t cg = p->c / p->groups, kg = p->k / p->groups;
    const int64_t crs = cg * p->r * p->s, hwo = p->out_h * p->out_w;
    const int64_t x_image = p->c * p->h * p->w, y_image = p->k * hwo, nq = (n1 - n0) * hwo;
    int status = PYDL_OK;
    for (int64_t g = 0; g < p->groups && status == PYDL_OK; g++) {
        for (int64_t n = n0; n < n1; n++) {
            for (int64_t k = 0; k < kg; k++) {
                const CONV_T *src = grad_y + n * y_image + (g * kg + k) * hwo;
                CONV_T *dst = buf + k * nq + (n - n0) * hwo;
                for (int64_t i = 0; i < hwo; i++) {
                    dst[i] = src[i];
                }
            }
        }
        status = CONV_GEMM(crs, nq, kg, 1, w + g * kg * crs, 1, crs, buf, nq, 1, 0, col, nq,
                           gemm_threads);
        for (int64_t n = n0; n < n1 && status == PYDL_OK; n++) {
            CONV_T *gx = grad_x + n * x_image + g * cg * p->h * p->w;
            for (int64_t i = 0; i < cg * p->h * p->w; i++) {
                gx[i] = 0;
            }
            CONV_COL2IM(p, cg, col + (n - n0) * hwo, 0, hwo, nq, gx);
        }
    }
    return status;
}

/* Run one image op (CONV_FWD_IMAGE or CONV_BWD_DATA_IMAGE) on every image:
 * image n reads in + n*in_image and writes out + n*out_image.  Threads own
 * whole images when there are enough of them (each with its own im2col
 * workspace and a one-thread GEMM), else they share each image's GEMMs. */
static int CONV_EACH_IMAGE(const pydl_conv2d_params *p,
                           int (*op)(const pydl_conv2d_params *, const CONV_T *, const CONV_T *,
                                     const CONV_T *, CONV_T *, CONV_T *, int),
                           const CONV_T *in, int64_t in_image, const CONV_T *w,
                           const CONV_T *bias, CONV_T *out, int64_t out_image, int nt)
{
    const size_t col_bytes = conv_col_bytes(p, sizeof(CONV_T), conv_block_cols(p, sizeof(CONV_T)));
    int status = PYDL_OK;
    if (conv_by_image(p->n, nt)) {
#pragma omp parallel for schedule(static) num_threads(nt)
        for (int64_t n = 0; n < p->n; n++) {
            CONV_T *col = col_bytes ? pydl_workspace(PYDL_WS_CONV_COL, col_bytes) : NULL;
            int s = col_bytes && col == NULL
                        ? PYDL_ERR_NOMEM
                        : op(p, in + n * in_image, w, bias, out + n * out_image, col, 1);
            if (s != PYDL_OK) {
#pragma omp atomic write
                status = s;
            }
        }
        return status;
    }
    CONV_T *col = col_bytes ? pydl_workspace(PYDL_WS_CONV_COL, col_bytes) : NULL;
    if (col_bytes && col == NULL) {
        return PYDL_ERR_NOMEM;
    }
    for (int64_t n = 0; n < p->n && status == PYDL_OK; n++) {
        status = op(p, in + n * in_image, w, bias, out + n * out_image, col, nt);
    }
    return status;
}

/* Run a block op (CONV_FWD_IMAGES or CONV_BWD_DATA_IMAGES) on small
 * images, several to a block (conv_images_per_thread_block: one block per
 * thread when the batch and PYDL_CONV_IMAGES_BLOCK_BYTES allow), each with
 * its own im2col workspace and buf_bytes_per_image * images of scratch.
 * Threads own whole blocks of images when there are enough, else they
 * share each block's GEMMs.  (The blocking does not change any output's
 * arithmetic.) */
static int CONV_EACH_BLOCK(const pydl_conv2d_params *p,
                           int (*op)(const pydl_conv2d_params *, const CONV_T *, const CONV_T *,
                                     const CONV_T *, CONV_T *, int64_t, int64_t, CONV_T *,
                                     CONV_T *, int),
                           const CONV_T *in, const CONV_T *w, const CONV_T *bias, CONV_T *out,
                           size_t buf_bytes_per_image, int nt)
{
    const int64_t nimg = conv_images_per_thread_block(p, sizeof(CONV_T), nt);
    const int64_t blocks = (p->n + nimg - 1) / nimg, hwo = p->out_h * p->out_w;
    const size_t cbytes = conv_col_bytes(p, sizeof(CONV_T), nimg * hwo);
    const size_t bbytes = buf_bytes_per_image * (size_t)nimg;
    int status = PYDL_OK;
    if (conv_by_image(blocks, nt)) {
        /* Thread t owns whole blocks of images and their outputs. */
#pragma omp parallel for schedule(static) num_threads(nt)
        for (int64_t bl = 0; bl < blocks; bl++) {
            CONV_T *col = pydl_workspace(PYDL_WS_CONV_COL, cbytes);
            CONV_T *buf = pydl_workspace(PYDL_WS_CONV_OUT, bbytes);
            const int64_t n0 = bl * nimg, n1 = n0 + nimg < p->n ? n0 + nimg : p->n;
            int s = col == NULL || buf == NULL ? PYDL_ERR_NOMEM
                                               : op(p, in, w, bias, out, n0, n1, col, buf, 1);
            if (s != PYDL_OK) {
#pragma omp atomic write
                status = s;
            }
        }
        return status;
    }
    /* Too few blocks to share out: the threads share each GEMM. */
    CONV_T *col = pydl_workspace(PYDL_WS_CONV_COL, cbytes);
    CONV_T *buf = pydl_workspace(PYDL_WS_CONV_OUT, bbytes);
    if (col == NULL || buf == NULL) {
        return PYDL_ERR_NOMEM;
    }
    for (int64_t bl = 0; bl < blocks && status == PYDL_OK; bl++) {
        const int64_t n0 = bl * nimg, n1 = n0 + nimg < p->n ? n0 + nimg : p->n;
        status = op(p, in, w, bias, out, n0, n1, col, buf, nt);
    }
    return status;
}

/* A 1x1 stride-1 layer of small images (one group): y_n = W . x_n for all
 * images as one batched GEMM, which packs W once per thread instead of once
 * per image, then the bias.  (The same products as one GEMM per image.) */
static int CONV_FWD_POINTWISE(const pydl_conv2d_params *p, const CONV_T *x, const CONV_T *w,
                              const CONV_T *bias, CONV_T *y, int nt)
{
    const int64_t hw = p->h * p->w;
    const int status = CONV_GEMM_BATCHED(p->n, p->k, hw, p->c, 1, w, 0, p->c, 1, x, p->c * hw,
                                         hw, 1, 0, y, p->k * hw, hw, nt);
    if (status != PYDL_OK || bias == NULL) {
        return status;
    }
    (void)nt; /* used only by OpenMP pragmas */
    /* thread t owns planes nk of its share */
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
    for (int64_t nk = 0; nk < p->n * p->k; nk++) {
        CONV_T *plane = y + nk * hw;
        const CONV_T b = bias[nk % p->k];
        for (int64_t i = 0; i < hw; i++) {
            plane[i] += b;
        }
    }
    return PYDL_OK;
}

static int CONV_FWD(const pydl_conv2d_params *p, const CONV_T *x, const CONV_T *w, const CONV_T *bias,
             CONV_T *y, int n_threads)
{
    const int64_t x_image = p->c * p->h * p->w, y_image = p->k * p->out_h * p->out_w;
    const int nt = conv_threads(n_threads);
    if (p->n <= 0) {
        return PYDL_OK;
    }
    if (conv_is_pointwise(p) && p->groups == 1 && p->h * p->w <= PYDL_CONV_SHARED_W_POSITIONS) {
        return CONV_FWD_POINTWISE(p, x, w, bias, y, nt);
    }
    if (conv_images_per_block(p, sizeof(CONV_T)) >= 2) {
        const size_t obytes = (size_t)(p->k / p->groups * p->out_h * p->out_w) * sizeof(CONV_T);
        return CONV_EACH_BLOCK(p, CONV_FWD_IMAGES, x, w, bias, y, obytes, nt);
    }
    return CONV_EACH_IMAGE(p, CONV_FWD_IMAGE, x, x_image, w, bias, y, y_image, nt);
}

static int CONV_BWD_DATA(const pydl_conv2d_params *p, const CONV_T *grad_y, const CONV_T *w,
                  CONV_T *grad_x, int n_threads)
{
    const int64_t x_image = p->c * p->h * p->w, y_image = p->k * p->out_h * p->out_w;
    const int nt = conv_threads(n_threads);
    if (p->n <= 0) {
        return PYDL_OK;
    }
    if (conv_images_per_block(p, sizeof(CONV_T)) >= 2) {
        const size_t bbytes = (size_t)(p->k / p->groups * p->out_h * p->out_w) * sizeof(CONV_T);
        return CONV_EACH_BLOCK(p, CONV_BWD_DATA_IMAGES, grad_y, w, NULL, grad_x, bbytes, nt);
    }
    return CONV_EACH_IMAGE(p, CONV_BWD_DATA_IMAGE, grad_y, y_image, w, NULL, grad_x, x_image, nt);
}

/* grad_bias[k] = sum over n and positions of grad_y[n][k], in double, in
 * 8 interleaved partial sums (position i goes to sum i % 8, images in
 * order) added pairwise at the end: the order depends only on the shape,
 * and the 8 independent chains run at vector speed.  Nothing when
 * grad_bias is NULL. */
static void CONV_BWD_BIAS(const pydl_conv2d_params *p, const CONV_T *grad_y, CONV_T *grad_bias,
                          int nt)
{
    const int64_t hwo = p->out_h * p->out_w;
    if (grad_bias == NULL) {
        return;
    }
#pragma omp parallel for schedule(static) num_threads(nt) if (p->n * p->k * hwo > 65536)
    for (int64_t k = 0; k < p->k; k++) {
        double part[8] = {0, 0, 0, 0, 0, 0, 0, 0};
        for (int64_t n = 0; n < p->n; n++) {
            const CONV_T *plane = grad_y + (n * p->k + k) * hwo;
            int64_t i = 0;
            for (; i + 8 <= hwo; i += 8) {
                for (int j = 0; j < 8; j++) {
                    part[j] += plane[i + j];
                }
            }
            for (int j = 0; i + j < hwo; j++) {
                part[j] += plane[i + j];
            }
        }
        grad_bias[k] = (CONV_T)(((part[0] + part[1]) + (part[2] + part[3])) +
                                ((part[4] + part[5]) + (part[6] + part[7])));
    }
}

static int CONV_BWD_WEIGHT(const pydl_conv2d_params *p, const CONV_T *grad_y, const CONV_T *x,
                    CONV_T *grad_w, CONV_T *grad_bias, int n_threads)
{
    const int64_t w_size = p->k * (p->c / p->groups) * p->r * p->s;
    const int64_t hwo = p->out_h * p->out_w;
    const size_t col_bytes = conv_col_bytes(p, sizeof(CONV_T), hwo);
    const int nt = conv_threads(n_threads);
    /* Fixed chunks of images (their number depends on N only); chunk c's sum
     * goes to part[c], then the parts are added in chunk order. */
    const int64_t chunks = p->n < PYDL_CONV_WEIGHT_CHUNKS ? p->n : PYDL_CONV_WEIGHT_CHUNKS;
    int status = PYDL_OK;
    if (chunks <= 0) {
        for (int64_t i = 0; i < w_size; i++) {
            grad_w[i] = 0;
        }
    } else {
        CONV_T *parts = grad_w;
        if (chunks > 1) {
            parts = pydl_workspace(PYDL_WS_CONV_PARTS, (size_t)(chunks * w_size) * sizeof(CONV_T));
            if (parts == NULL) {
                return PYDL_ERR_NOMEM;
            }
        }
        if (conv_by_image(chunks, nt)) {
#pragma omp parallel for schedule(static) num_threads(nt)
            for (int64_t ch = 0; ch < chunks; ch++) {
                CONV_T *col = col_bytes ? pydl_workspace(PYDL_WS_CONV_COL, col_bytes) : NULL;
                int s = col_bytes && col == NULL
                            ? PYDL_ERR_NOMEM
                            : CONV_WEIGHT_CHUNK(p, grad_y, x, p->n * ch / chunks,
                                                p->n * (ch + 1) / chunks, parts + ch * w_size,
                                                col, 1);
                if (s != PYDL_OK) {
#pragma omp atomic write
                    status = s;
                }
            }
        } else {
            CONV_T *col = col_bytes ? pydl_workspace(PYDL_WS_CONV_COL, col_bytes) : NULL;
            if (col_bytes && col == NULL) {
                return PYDL_ERR_NOMEM;
            }
            for (int64_t ch = 0; ch < chunks && status == PYDL_OK; ch++) {
                status = CONV_WEIGHT_CHUNK(p, grad_y, x, p->n * ch / chunks,
                                           p->n * (ch + 1) / chunks, parts + ch * w_size, col, nt);
            }
        }
        if (status != PYDL_OK) {
            return status;
        }
        if (chunks > 1) {
#pragma omp parallel for schedule(static) num_threads(nt) if (w_size > 4096)
            for (int64_t i = 0; i < w_size; i++) {
                CONV_T acc = parts[i];
                for (int64_t ch = 1; ch < chunks; ch++) {
                    acc += parts[ch * w_size + i];
                }
                grad_w[i] = acc;
            }
        }
    }
    CONV_BWD_BIAS(p, grad_y, grad_bias, nt);
    return status;
}
