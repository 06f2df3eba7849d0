/*
 * pool2d_impl.h -- max and average pooling, forward and backward, written
 * once for an element type and included by pool2d.c once per type (math,
 * shapes and tie rules: pydl.h).
 *
 * The includer defines POOL_T and the names POOL_MAX_FWD, POOL_MAX_BWD,
 * POOL_AVG_FWD, POOL_AVG_BWD (public) and POOL_MAX_PLANE, POOL_AVG_DIVISOR
 * (static).
 * Every function runs over whole planes; thread t owns its planes.
 */

/* max(a, v) where a NaN v wins and a NaN a stays. */
#define POOL_MAX_OF(a, v) ((((v) > (a)) | ((v) != (v))) ? (v) : (a))

/* Max pooling of one plane without indices: the window's rows are first
 * reduced into row[] (contiguous, vectorizes), then each output reduces its
 * columns of row[].  Same values as the indexed path (among equal values,
 * e.g. -0.0 and +0.0, it may keep another one than the first). */
static void POOL_MAX_PLANE(const pydl_pool2d_params *p, const pool_axis *cols, const POOL_T *xp,
                           POOL_T *yp, POOL_T *row)
{
    for (int64_t oh = 0; oh < p->out_h; oh++) {
        int64_t i0, i1;
        pool_taps(oh, p->stride_h, p->pad_top, p->dil_h, p->kh, p->h, &i0, &i1);
        const int64_t h0 = oh * p->stride_h - p->pad_top;
        const POOL_T *first = xp + (h0 + i0 * p->dil_h) * p->w;
        for (int64_t iw = 0; iw < p->w; iw++) {
            row[iw] = first[iw];
        }
        for (int64_t i = i0 + 1; i < i1; i++) {
            const POOL_T *r = xp + (h0 + i * p->dil_h) * p->w;
            for (int64_t iw = 0; iw < p->w; iw++) {
                row[iw] = POOL_MAX_OF(row[iw], r[iw]);
            }
        }
        POOL_T *out = yp + oh * p->out_w;
        /* Interior windows, tap by tap over all of them (vectorizable). */
        const POOL_T *r0 = row - p->pad_left;
        if (p->kw == 2 && p->stride_w == 2 && p->dil_w == 1) {
            for (int64_t ow = cols->lo; ow < cols->hi; ow++) {
                out[ow] = POOL_MAX_OF(r0[2 * ow], r0[2 * ow + 1]);
            }
        } else if (p->stride_w == 2 && p->dil_w == 1) {
            for (int64_t ow = cols->lo; ow < cols->hi; ow++) {
                out[ow] = r0[2 * ow];
            }
            for (int64_t j = 1; j < p->kw; j++) {
                for (int64_t ow = cols->lo; ow < cols->hi; ow++) {
                    out[ow] = POOL_MAX_OF(out[ow], r0[2 * ow + j]);
                }
            }
        } else {
            for (int64_t ow = cols->lo; ow < cols->hi; ow++) {
                out[ow] = r0[ow * p->stride_w];
            }
            for (int64_t j = 1; j < p->kw; j++) {
                const POOL_T *rj = r0 + j * p->dil_w;
                for (int64_t ow = cols->lo; ow < cols->hi; ow++) {
                    out[ow] = POOL_MAX_OF(out[ow], rj[ow * p->stride_w]);
                }
            }
        }
        /* Edge windows, clipped. */
        for (int64_t ow = 0; ow < p->out_w; ow++) {
            if (ow == cols->lo) {
                ow = cols->hi;
                if (ow >= p->out_w) {
                    break;
                }
            }
            int64_t j0, j1;
            pool_axis_taps(cols, ow, &j0, &j1);
            const POOL_T *r = row + ow * p->stride_w - p->pad_left;
            POOL_T m = r[j0 * p->dil_w];
            for (int64_t j = j0 + 1; j < j1; j++) {
                m = POOL_MAX_OF(m, r[j * p->dil_w]);
            }
            out[ow] = m;
        }
    }
}

int POOL_MAX_FWD(const pydl_pool2d_params *p, const POOL_T *x, POOL_T *y, int64_t *indices,
                 int n_threads)
{
    const int64_t in_plane = p->h * p->w, out_plane = p->out_h * p->out_w;
    const int nt = pool_threads(p, n_threads);
    (void)nt; /* used only by OpenMP pragmas */
    const pool_axis cols = pool_axis_make(p->out_w, p->stride_w, p->pad_left, p->dil_w, p->kw, p->w);
    if (indices == NULL) {
        int status = PYDL_OK;
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
        for (int64_t pl = 0; pl < p->planes; pl++) {
            /* this thread's row buffer (allocated once, then reused) */
            POOL_T *row = pydl_workspace(PYDL_WS_POOL_ROW, (size_t)p->w * sizeof(POOL_T));
            if (row == NULL) {
#pragma omp atomic write
                status = PYDL_ERR_NOMEM;
                continue;
            }
            POOL_MAX_PLANE(p, &cols, x + pl * in_plane, y + pl * out_plane, row);
        }
        return status;
    }
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
    for (int64_t pl = 0; pl < p->planes; pl++) {
        const POOL_T *xp = x + pl * in_plane;
        POOL_T *yp = y + pl * out_plane;
        int64_t *ip = indices + pl * out_plane;
        for (int64_t oh = 0; oh < p->out_h; oh++) {
            int64_t i0, i1;
            pool_taps(oh, p->stride_h, p->pad_top, p->dil_h, p->kh, p->h, &i0, &i1);
            for (int64_t ow = 0; ow < p->out_w; ow++) {
                int64_t j0, j1;
                pool_axis_taps(&cols, ow, &j0, &j1);
                const int64_t h0 = oh * p->stride_h - p->pad_top;
                const int64_t w0 = ow * p->stride_w - p->pad_left;
                /* First tap, then strict > (first maximum wins); a NaN
                 * replaces a number and then stays. */
                int64_t best_at = (h0 + i0 * p->dil_h) * p->w + w0 + j0 * p->dil_w;
                POOL_T best = xp[best_at];
                for (int64_t i = i0; i < i1; i++) {
                    const POOL_T *row = xp + (h0 + i * p->dil_h) * p->w + w0;
                    for (int64_t j = j0; j < j1; j++) {
                        const POOL_T v = row[j * p->dil_w];
                        if (v > best || (v != v && best == best)) { /* first NaN wins */
                            best = v;
                            best_at = (h0 + i * p->dil_h) * p->w + w0 + j * p->dil_w;
                        }
                    }
                }
                yp[oh * p->out_w + ow] = best;
                ip[oh * p->out_w + ow] = best_at;
            }
        }
    }
    return PYDL_OK;
}

int POOL_MAX_BWD(const pydl_pool2d_params *p, const POOL_T *grad_y, const int64_t *indices,
                 POOL_T *grad_x, int n_threads)
{
    const int64_t in_plane = p->h * p->w, out_plane = p->out_h * p->out_w;
    const int nt = pool_threads(p, n_threads);
    (void)nt; /* used only by OpenMP pragmas */
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
    for (int64_t pl = 0; pl < p->planes; pl++) {
        POOL_T *gx = grad_x + pl * in_plane;
        const POOL_T *gy = grad_y + pl * out_plane;
        const int64_t *ip = indices + pl * out_plane;
        for (int64_t i = 0; i < in_plane; i++) {
            gx[i] = 0;
        }
        for (int64_t o = 0; o < out_plane; o++) {
            gx[ip[o]] += gy[o];
        }
    }
    return PYDL_OK;
}

/* Divisor of window (oh, ow): its taps inside the padded input, or inside
 * the input only. */
static POOL_T POOL_AVG_DIVISOR(const pydl_pool2d_params *p, const pool_axis *rows,
                               const pool_axis *cols, int count_include_pad, int64_t oh, int64_t ow)
{
    if (oh >= rows->lo && oh < rows->hi && ow >= cols->lo && ow < cols->hi) {
        return (POOL_T)(p->kh * p->kw); /* the window lies inside the input */
    }
    if (count_include_pad) {
        const int64_t rows =
            pool_count_in(oh * p->stride_h, p->dil_h, p->kh, p->h + p->pad_top + p->pad_bottom);
        const int64_t cols =
            pool_count_in(ow * p->stride_w, p->dil_w, p->kw, p->w + p->pad_left + p->pad_right);
        return (POOL_T)(rows * cols);
    }
    int64_t i0, i1, j0, j1;
    pool_taps(oh, p->stride_h, p->pad_top, p->dil_h, p->kh, p->h, &i0, &i1);
    pool_taps(ow, p->stride_w, p->pad_left, p->dil_w, p->kw, p->w, &j0, &j1);
    return (POOL_T)((i1 - i0) * (j1 - j0));
}

int POOL_AVG_FWD(const pydl_pool2d_params *p, int count_include_pad, const POOL_T *x, POOL_T *y,
                 int n_threads)
{
    const int64_t in_plane = p->h * p->w, out_plane = p->out_h * p->out_w;
    const int nt = pool_threads(p, n_threads);
    (void)nt; /* used only by OpenMP pragmas */
    const pool_axis rows = pool_axis_make(p->out_h, p->stride_h, p->pad_top, p->dil_h, p->kh, p->h);
    const pool_axis cols = pool_axis_make(p->out_w, p->stride_w, p->pad_left, p->dil_w, p->kw, p->w);
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
    for (int64_t pl = 0; pl < p->planes; pl++) {
        const POOL_T *xp = x + pl * in_plane;
        POOL_T *yp = y + pl * out_plane;
        for (int64_t oh = 0; oh < p->out_h; oh++) {
            int64_t i0, i1;
            pool_taps(oh, p->stride_h, p->pad_top, p->dil_h, p->kh, p->h, &i0, &i1);
            const int64_t h0 = oh * p->stride_h - p->pad_top;
            for (int64_t ow = 0; ow < p->out_w; ow++) {
                int64_t j0, j1;
                pool_axis_taps(&cols, ow, &j0, &j1);
                const int64_t w0 = ow * p->stride_w - p->pad_left;
                POOL_T sum = 0;
                for (int64_t i = i0; i < i1; i++) {
                    const POOL_T *row = xp + (h0 + i * p->dil_h) * p->w + w0;
                    for (int64_t j = j0; j < j1; j++) {
                        sum += row[j * p->dil_w];
                    }
                }
                yp[oh * p->out_w + ow] = sum / POOL_AVG_DIVISOR(p, &rows, &cols, count_include_pad, oh, ow);
            }
        }
    }
    return PYDL_OK;
}

int POOL_AVG_BWD(const pydl_pool2d_params *p, int count_include_pad, const POOL_T *grad_y,
                 POOL_T *grad_x, int n_threads)
{
    const int64_t in_plane = p->h * p->w, out_plane = p->out_h * p->out_w;
    const int nt = pool_threads(p, n_threads);
    (void)nt; /* used only by OpenMP pragmas */
    const pool_axis rows = pool_axis_make(p->out_h, p->stride_h, p->pad_top, p->dil_h, p->kh, p->h);
    const pool_axis cols = pool_axis_make(p->out_w, p->stride_w, p->pad_left, p->dil_w, p->kw, p->w);
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
    for (int64_t pl = 0; pl < p->planes; pl++) {
        POOL_T *gx = grad_x + pl * in_plane;
        const POOL_T *gy = grad_y + pl * out_plane;
        for (int64_t i = 0; i < in_plane; i++) {
            gx[i] = 0;
        }
        for (int64_t oh = 0; oh < p->out_h; oh++) {
            int64_t i0, i1;
            pool_taps(oh, p->stride_h, p->pad_top, p->dil_h, p->kh, p->h, &i0, &i1);
            const int64_t h0 = oh * p->stride_h - p->pad_top;
            for (int64_t ow = 0; ow < p->out_w; ow++) {
                int64_t j0, j1;
                pool_axis_taps(&cols, ow, &j0, &j1);
                const int64_t w0 = ow * p->stride_w - p->pad_left;
                const POOL_T g =
                    gy[oh * p->out_w + ow] / POOL_AVG_DIVISOR(p, &rows, &cols, count_include_pad, oh, ow);
                for (int64_t i = i0; i < i1; i++) {
                    POOL_T *row = gx + (h0 + i * p->dil_h) * p->w + w0;
                    for (int64_t j = j0; j < j1; j++) {
                        row[j * p->dil_w] += g;
                    }
                }
            }
        }
    }
    return PYDL_OK;
}

#undef POOL_MAX_OF
