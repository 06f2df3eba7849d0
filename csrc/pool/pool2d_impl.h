/*
 * pool2d_impl.h -- max and average pooling, forward and backward, written
 * once for an element type and included by pool2d.c once per type (math,
 * shapes and tie rules: pydl.h).
 *
 * The includer defines POOL_T and the names POOL_MAX_FWD, POOL_MAX_BWD,
 * POOL_AVG_FWD, POOL_AVG_BWD (public) and POOL_MAX_PLANE, POOL_MAX_2X2, POOL_MAX_TAPS,
 * POOL_MAX_PLANE_ROWS, POOL_MAX_WINDOW, POOL_MAX_ROWS, POOL_MAX_COLS_S2,
 * POOL_MAX_ROW_FAST, POOL_AVG_DIVISOR (static), POOL_VEC_FN and POOL_VEC2_FN
 * (the types of the row kernels of pool_vec.h for POOL_T), POOL_VEC_GET()
 * and POOL_VEC2_GET() (the current path's kernels, or NULL).
 * Every function runs over whole planes; thread t owns its planes.
 */

/* "v replaces the best so far b" in row-major window order: strictly
 * greater, or the first NaN (a NaN b is never replaced).  Used by the
 * window-at-a-time loops. */
#define POOL_TAKES(v, b) (((v) > (b)) | (((v) != (v)) & ((b) == (b))))
/* The same choice made walking the taps in reverse order: v (an earlier tap)
 * replaces the best b of the later taps if v >= b (ties go to the earlier
 * tap) or v is NaN (the earliest NaN is taken last); a number never replaces
 * a NaN.  Unlike POOL_TAKES this form vectorises (GCC 12) in the loops over
 * a row of outputs, with 32-bit tap offsets beside float values. */
#define POOL_TAKES_REV(v, b) (((v) >= (b)) | ((v) != (v)))

/* Outputs per chunk of a row in the vectorised loops (tap offsets kept in a
 * local int32 array, then widened into the int64 indices). */
#define POOL_CHUNK 256

/* 2x2 windows, stride 2, no dilation, both rows inside the input: outputs
 * [lo, hi) of one row, hi - lo <= POOL_CHUNK (r0: the window row above,
 * shifted by the left pad; r1 the row below).  Taps d, c, b, a in reverse
 * order; with indices (idx != NULL) idx[ow] = origin + 2 * ow + the chosen
 * tap's offset (0, 1, w or w + 1). */
static void POOL_MAX_2X2(const POOL_T *restrict r0, const POOL_T *restrict r1, int64_t lo,
                         int64_t hi, POOL_T *restrict out, int64_t *restrict idx, int64_t origin,
                         int32_t w)
{
    if (idx == NULL) {
        for (int64_t ow = lo; ow < hi; ow++) {
            const POOL_T a = r0[2 * ow], b = r0[2 * ow + 1], c = r1[2 * ow], d = r1[2 * ow + 1];
            POOL_T m = d;
            m = POOL_TAKES_REV(c, m) ? c : m;
            m = POOL_TAKES_REV(b, m) ? b : m;
            m = POOL_TAKES_REV(a, m) ? a : m;
            out[ow] = m;
        }
        return;
    }
    int32_t code[POOL_CHUNK];
    int32_t *cd = code - lo;
    for (int64_t ow = lo; ow < hi; ow++) {
        const POOL_T a = r0[2 * ow], b = r0[2 * ow + 1], c = r1[2 * ow], d = r1[2 * ow + 1];
        POOL_T m = d;
        int32_t k = w + 1;
        int t = POOL_TAKES_REV(c, m);
        m = t ? c : m;
        k = t ? w : k;
        t = POOL_TAKES_REV(b, m);
        m = t ? b : m;
        k = t ? 1 : k;
        t = POOL_TAKES_REV(a, m);
        m = t ? a : m;
        k = t ? 0 : k;
        out[ow] = m;
        cd[ow] = k;
    }
    for (int64_t ow = lo; ow < hi; ow++) {
        idx[ow] = origin + 2 * ow + (int64_t)cd[ow];
    }
}

/* Any window inside the input horizontally: outputs [lo, hi) of output row
 * oh (hi - lo <= POOL_CHUNK), window rows [i0, i1).  The taps are taken in
 * reverse row-major order over the whole chunk; idx as for POOL_MAX_2X2 with
 * the tap's offset (i*dil_h)*w + j*dil_w from the window's origin. */
static void POOL_MAX_TAPS(const pydl_pool2d_params *p, const POOL_T *restrict xp, int64_t oh,
                          int64_t i0, int64_t i1, int64_t lo, int64_t hi, POOL_T *restrict out,
                          int64_t *restrict idx)
{
    const int64_t w = p->w, sw = p->stride_w, dw = p->dil_w, kw = p->kw;
    const int64_t origin = (oh * p->stride_h - p->pad_top) * w - p->pad_left;
    const POOL_T *x0 = xp + origin;
    int32_t code[POOL_CHUNK];
    int32_t *cd = code - lo;
    for (int64_t i = i1 - 1; i >= i0; i--) {
        for (int64_t j = kw - 1; j >= 0; j--) {
            const int64_t rel = i * p->dil_h * w + j * dw;
            const POOL_T *restrict r = x0 + rel;
            const int32_t k = (int32_t)rel;
            if (i == i1 - 1 && j == kw - 1) {
                for (int64_t ow = lo; ow < hi; ow++) {
                    out[ow] = r[ow * sw];
                    cd[ow] = k;
                }
            } else if (idx == NULL) {
                for (int64_t ow = lo; ow < hi; ow++) {
                    const POOL_T v = r[ow * sw], b = out[ow];
                    out[ow] = POOL_TAKES_REV(v, b) ? v : b;
                }
            } else {
                for (int64_t ow = lo; ow < hi; ow++) {
                    const POOL_T v = r[ow * sw], b = out[ow];
                    const int t = POOL_TAKES_REV(v, b);
                    out[ow] = t ? v : b;
                    cd[ow] = t ? k : cd[ow];
                }
            }
        }
    }
    if (idx != NULL) {
        for (int64_t ow = lo; ow < hi; ow++) {
            idx[ow] = origin + ow * sw + (int64_t)cd[ow];
        }
    }
}

/* One window, clipped to the input (edge windows): first tap, then the
 * POOL_TAKES rule in row-major order. */
static void POOL_MAX_WINDOW(const pydl_pool2d_params *p, const pool_axis *cols, const POOL_T *xp,
                            int64_t oh, int64_t i0, int64_t i1, int64_t ow, POOL_T *out,
                            int64_t *idx)
{
    int64_t j0, j1;
    pool_axis_taps(cols, ow, &j0, &j1);
    const int64_t h0 = oh * p->stride_h - p->pad_top;
    const int64_t w0 = ow * p->stride_w - p->pad_left;
    int64_t best_at = (h0 + i0 * p->dil_h) * p->w + w0 + j0 * p->dil_w;
    POOL_T best = xp[best_at];
    for (int64_t i = i0; i < i1; i++) {
        const int64_t at = (h0 + i * p->dil_h) * p->w + w0;
        for (int64_t j = j0; j < j1; j++) {
            const POOL_T v = xp[at + j * p->dil_w];
            if (POOL_TAKES(v, best)) {
                best = v;
                best_at = at + j * p->dil_w;
            }
        }
    }
    out[ow] = best;
    if (idx != NULL) {
        idx[ow] = best_at;
    }
}

/* max(a, v) where a NaN v wins and a NaN a stays. */
#define POOL_MAX_OF(a, v) ((((v) > (a)) | ((v) != (v))) ? (v) : (a))

/* max with the NaN rule of POOL_MAX_OF for inputs known to hold no NaN:
 * the form that compiles to a single vector max instruction. */
#define POOL_MAX_NUM(a, v) ((v) > (a) ? (v) : (a))

/* row[iw] = max over the window rows [i0, i1) of output row oh (a NaN wins).
 * Returns whether any of those rows holds a NaN: then row[] was reduced
 * with the NaN-aware rule, else with plain maxima (cheaper: the common case). */
static int POOL_MAX_ROWS(const pydl_pool2d_params *p, const POOL_T *xp, int64_t oh, int64_t i0,
                         int64_t i1, POOL_T *restrict row)
{
    const int64_t h0 = oh * p->stride_h - p->pad_top, w = p->w;
    const POOL_T *first = xp + (h0 + i0 * p->dil_h) * w;
    int nan = 0;
    if (i1 - i0 == 3) {
        /* the common 3-row window in one pass; isunordered(a, b) flags a
         * NaN in either */
        const POOL_T *r1 = first + p->dil_h * w, *r2 = first + 2 * p->dil_h * w;
        for (int64_t iw = 0; iw < w; iw++) {
            const POOL_T a = first[iw], b = r1[iw], c = r2[iw];
            const POOL_T m = POOL_MAX_NUM(a, b);
            row[iw] = POOL_MAX_NUM(m, c);
            nan |= __builtin_isunordered(a, b) | __builtin_isunordered(c, c);
        }
    } else if (i1 - i0 == 2) {
        const POOL_T *r1 = first + p->dil_h * w;
        for (int64_t iw = 0; iw < w; iw++) {
            row[iw] = POOL_MAX_NUM(first[iw], r1[iw]);
            nan |= __builtin_isunordered(first[iw], r1[iw]);
        }
    } else {
        for (int64_t iw = 0; iw < w; iw++) {
            row[iw] = first[iw];
            nan |= first[iw] != first[iw];
        }
        for (int64_t i = i0 + 1; i < i1; i++) {
            const POOL_T *r = xp + (h0 + i * p->dil_h) * w;
            for (int64_t iw = 0; iw < w; iw++) {
                row[iw] = POOL_MAX_NUM(row[iw], r[iw]);
                nan |= r[iw] != r[iw];
            }
        }
    }
    if (nan) {
        for (int64_t iw = 0; iw < w; iw++) {
            row[iw] = first[iw];
        }
        for (int64_t i = i0 + 1; i < i1; i++) {
            const POOL_T *r = xp + (h0 + i * p->dil_h) * w;
            for (int64_t iw = 0; iw < w; iw++) {
                row[iw] = POOL_MAX_OF(row[iw], r[iw]);
            }
        }
    }
    return nan;
}

/* Interior outputs [cols->lo, cols->hi) of stride 2, no dilation, from a
 * reduced row without NaN: the row is split once into its even (ev) and odd
 * (od) elements, then every tap is a contiguous pass over them. */
static void POOL_MAX_COLS_S2(const pydl_pool2d_params *p, const pool_axis *cols,
                             const POOL_T *restrict row, POOL_T *restrict ev,
                             POOL_T *restrict od, POOL_T *restrict out)
{
    const int64_t w = p->w;
    for (int64_t k = 0; 2 * k + 1 < w; k++) {
        ev[k] = row[2 * k];
        od[k] = row[2 * k + 1];
    }
    if (w % 2 == 1) {
        ev[w / 2] = row[w - 1];
    }
    /* tap j reads row[2*ow + t], t = j - pad_left (>= -2*ow inside) */
    for (int64_t j = 0; j < p->kw; j++) {
        const int64_t t = j - p->pad_left;
        const POOL_T *src = t % 2 == 0 ? ev : od;
        const int64_t off = t % 2 == 0 ? t / 2 : (t - 1) / 2;
        if (j == 0) {
            for (int64_t ow = cols->lo; ow < cols->hi; ow++) {
                out[ow] = src[ow + off];
            }
        } else {
            for (int64_t ow = cols->lo; ow < cols->hi; ow++) {
                out[ow] = POOL_MAX_NUM(out[ow], src[ow + off]);
            }
        }
    }
}

/* Output row oh through the path's vector kernel (pool_vec.h: windows 3
 * columns wide at column stride 2, at most 3 rows [i0, i1)), edge windows
 * here.  Returns 0, leaving the row to the portable loops, when the kernel
 * met a NaN. */
static int POOL_MAX_ROW_FAST(const pydl_pool2d_params *p, const pool_axis *cols,
                             POOL_VEC_FN fast, const POOL_T *xp, int64_t oh, int64_t i0,
                             int64_t i1, POOL_T *restrict out)
{
    const int64_t w = p->w, h0 = oh * p->stride_h - p->pad_top;
    const POOL_T *r[3];
    for (int64_t i = 0; i < 3; i++) {
        const int64_t at = i0 + i < i1 ? i0 + i : i1 - 1;
        r[i] = xp + (h0 + at * p->dil_h) * w;
    }
    if (fast(r[0] - p->pad_left, r[1] - p->pad_left, r[2] - p->pad_left, cols->lo, cols->hi,
             out)) {
        return 0;
    }
    for (int64_t ow = pool_skip(0, cols->lo, cols->hi); ow < p->out_w;
         ow = pool_skip(ow + 1, cols->lo, cols->hi)) {
        int64_t j0, j1;
        pool_axis_taps(cols, ow, &j0, &j1);
        const int64_t w0 = ow * p->stride_w - p->pad_left;
        /* plain maxima (branch-free) and a NaN flag; the NaN rule if set */
        POOL_T m = r[0][w0 + j0];
        int nan = 0;
        for (int64_t i = 0; i < 3; i++) {
            for (int64_t j = j0; j < j1; j++) {
                const POOL_T v = r[i][w0 + j];
                m = POOL_MAX_NUM(m, v);
                nan |= v != v;
            }
        }
        if (nan) {
            for (int64_t i = 0; i < 3; i++) {
                for (int64_t j = j0; j < j1; j++) {
                    m = POOL_MAX_OF(m, r[i][w0 + j]);
                }
            }
        }
        out[ow] = m;
    }
    return 1;
}

/* Max pooling of one plane without indices, any window but 2x2 stride 2:
 * the window's rows are first reduced into row[] (contiguous, vectorizes),
 * then each output reduces its columns of row[].  Same values as the
 * indexed path, up to the sign of a zero and a NaN's payload (among equal
 * values, e.g. -0.0 and +0.0, it may keep another one than the first).
 * buf holds 2*w + 2 elements (row[], and its even and odd halves). */
static void POOL_MAX_PLANE_ROWS(const pydl_pool2d_params *p, const pool_axis *rows,
                                const pool_axis *cols, POOL_VEC_FN fast, const POOL_T *xp,
                                POOL_T *yp, POOL_T *buf)
{
    POOL_T *row = buf, *ev = buf + p->w, *od = buf + p->w + (p->w + 1) / 2 + 1;
    for (int64_t oh = 0; oh < p->out_h; oh++) {
        int64_t i0, i1;
        pool_axis_taps(rows, oh, &i0, &i1);
        POOL_T *out = yp + oh * p->out_w;
        if (fast != NULL && POOL_MAX_ROW_FAST(p, cols, fast, xp, oh, i0, i1, out)) {
            continue;
        }
        const int nan = POOL_MAX_ROWS(p, xp, oh, i0, i1, row);
        /* Interior windows, tap by tap over all of them (vectorizable). */
        const POOL_T *r0 = row - p->pad_left;
        if (!nan && p->stride_w == 2 && p->dil_w == 1) {
            POOL_MAX_COLS_S2(p, cols, row, ev, od, out);
        } else if (p->kw == 2 && p->stride_w == 2 && p->dil_w == 1) {
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
                if (nan) {
                    for (int64_t ow = cols->lo; ow < cols->hi; ow++) {
                        out[ow] = POOL_MAX_OF(out[ow], rj[ow * p->stride_w]);
                    }
                } else {
                    for (int64_t ow = cols->lo; ow < cols->hi; ow++) {
                        out[ow] = POOL_MAX_NUM(out[ow], rj[ow * p->stride_w]);
                    }
                }
            }
        }
        /* Edge windows, clipped. */
        for (int64_t ow = pool_skip(0, cols->lo, cols->hi); ow < p->out_w;
             ow = pool_skip(ow + 1, cols->lo, cols->hi)) {
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

/* Max pooling of one plane, with indices (ip != NULL) or without.  Row by
 * row of outputs: the interior columns [cols->lo, cols->hi) (whole windows
 * horizontally) go POOL_CHUNK outputs at a time through POOL_MAX_2X2 or
 * POOL_MAX_TAPS (vectorised, branch-free selects); the clipped edge columns,
 * and every window when a window's tap offsets do not fit in int32
 * (vec == 0), go one window at a time.  Both make the same choice (pydl.h),
 * so values and indices do not depend on the path. */
static void POOL_MAX_PLANE(const pydl_pool2d_params *p, const pool_axis *rows,
                           const pool_axis *cols, int vec, POOL_VEC2_FN vec2, const POOL_T *xp,
                           POOL_T *yp, int64_t *ip)
{
    const int64_t w = p->w;
    const int64_t lo = vec ? cols->lo : 0, hi = vec ? cols->hi : 0;
    const int fast2 = p->kw == 2 && p->stride_w == 2 && p->dil_w == 1 && p->dil_h == 1;
    for (int64_t oh = 0; oh < p->out_h; oh++) {
        int64_t i0, i1;
        pool_axis_taps(rows, oh, &i0, &i1);
        POOL_T *out = yp + oh * p->out_w;
        int64_t *idx = ip == NULL ? NULL : ip + oh * p->out_w;
        for (int64_t c0 = lo; c0 < hi; c0 += POOL_CHUNK) {
            const int64_t c1 = pool_min64(hi, c0 + POOL_CHUNK);
            if (fast2 && i1 - i0 == 2) {
                const int64_t origin = (oh * p->stride_h - p->pad_top + i0) * w - p->pad_left;
                if (vec2 != NULL) {
                    vec2(xp + origin, xp + origin + w, c0, c1, out, idx, origin, (int32_t)w);
                } else {
                    POOL_MAX_2X2(xp + origin, xp + origin + w, c0, c1, out, idx, origin,
                                 (int32_t)w);
                }
            } else {
                POOL_MAX_TAPS(p, xp, oh, i0, i1, c0, c1, out, idx);
            }
        }
        /* Edge windows, clipped (all windows when vec == 0). */
        for (int64_t ow = pool_skip(0, lo, hi); ow < p->out_w;
             ow = pool_skip(ow + 1, lo, hi)) {
            POOL_MAX_WINDOW(p, cols, xp, oh, i0, i1, ow, out, idx);
        }
    }
}

int POOL_MAX_FWD(const pydl_pool2d_params *p, const POOL_T *x, POOL_T *y, int64_t *indices,
                 int n_threads)
{
    const int64_t in_plane = p->h * p->w, out_plane = p->out_h * p->out_w;
    const int nt = pool_threads(p, n_threads);
    (void)nt; /* used only by OpenMP pragmas */
    const pool_axis rows = pool_axis_make(p->out_h, p->stride_h, p->pad_top, p->dil_h, p->kh, p->h);
    const pool_axis cols = pool_axis_make(p->out_w, p->stride_w, p->pad_left, p->dil_w, p->kw, p->w);
    /* the vectorised loops keep a window's tap offsets in int32 */
    const int vec = (p->kh - 1) * p->dil_h * p->w + (p->kw - 1) * p->dil_w < INT32_MAX &&
                    p->w < INT32_MAX;
    const int fast2 = p->kh == 2 && p->kw == 2 && p->stride_w == 2 && p->dil_h == 1 &&
                      p->dil_w == 1;
    if (indices == NULL && !fast2) {
        /* the path's row kernel, for windows it handles (pool_vec.h) */
        const POOL_VEC_FN fast = p->kw == 3 && p->stride_w == 2 && p->dil_w == 1 && p->kh <= 3
                                     ? POOL_VEC_GET()
                                     : NULL;
        int status = PYDL_OK;
        /* thread t owns whole planes (inputs read, outputs written) */
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
        for (int64_t pl = 0; pl < p->planes; pl++) {
            /* this thread's row buffer (allocated once, then reused) */
            POOL_T *row =
                pydl_workspace(PYDL_WS_POOL_ROW, (size_t)(2 * p->w + 2) * sizeof(POOL_T));
            if (row == NULL) {
#pragma omp atomic write
                status = PYDL_ERR_NOMEM;
                continue;
            }
            POOL_MAX_PLANE_ROWS(p, &rows, &cols, fast, x + pl * in_plane, y + pl * out_plane,
                                row);
        }
        return status;
    }
    /* the path's 2x2 kernel (pool_vec.h), or the portable POOL_MAX_2X2 */
    const POOL_VEC2_FN vec2 = POOL_VEC2_GET();
    /* thread t owns whole planes (inputs read, outputs and indices written) */
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
    for (int64_t pl = 0; pl < p->planes; pl++) {
        POOL_MAX_PLANE(p, &rows, &cols, vec, vec2, x + pl * in_plane, y + pl * out_plane,
                       indices == NULL ? NULL : indices + pl * out_plane);
    }
    return PYDL_OK;
}

int POOL_MAX_BWD(const pydl_pool2d_params *p, const POOL_T *grad_y, const int64_t *indices,
                 POOL_T *grad_x, int n_threads)
{
    const int64_t in_plane = p->h * p->w, out_plane = p->out_h * p->out_w;
    const int64_t total = p->planes * out_plane;
    const int nt = pool_threads(p, n_threads);
    int bad = 0;
    (void)nt; /* used only by OpenMP pragmas */
#pragma omp parallel num_threads(nt) if (nt > 1)
    {
        /* First every index is checked (any thread split; an OR), so that
         * grad_x is left untouched when one is out of range. */
#pragma omp for schedule(static) reduction(| : bad)
        for (int64_t b = 0; b < (total + 4095) / 4096; b++) {
            const int64_t lo = b * 4096, hi = pool_min64(total, lo + 4096);
            /* v is in [0, in_plane) iff neither v nor in_plane - 1 - v has
             * the top bit set (in unsigned arithmetic, which wraps): OR them
             * all and test the bit once (vectorises, unlike a 64-bit
             * unsigned compare on SSE2). */
            uint64_t m = 0;
            for (int64_t o = lo; o < hi; o++) {
                const uint64_t v = (uint64_t)indices[o];
                m |= v | ((uint64_t)(in_plane - 1) - v);
            }
            bad |= (int)(m >> 63);
        }
        /* (the reduction's barrier: every thread sees the final bad) */
        if (!bad) {
            /* thread t owns whole planes of grad_x */
#pragma omp for schedule(static)
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
        }
    }
    return bad ? PYDL_ERR_INDEX : PYDL_OK;
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

#undef POOL_TAKES
#undef POOL_MAX_OF
#undef POOL_MAX_NUM
#undef POOL_TAKES_REV
#undef POOL_CHUNK
