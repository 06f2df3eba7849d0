/*
 * maxpool2x2_impl.h -- 2x2 stride-2 max pooling with in-window codes,
 * forward and backward (math: pydl.h, pydl_smaxpool2x2_fwd), written once for
 * an element type and included by maxpool2x2.c once per type.
 *
 * The includer defines MP_T, the public names MP_FWD and MP_BWD, the names of
 * this file's static row loops MP_ROWS_FWD and MP_ROWS_BWD, the types
 * MP_VEC_FWD_FN and MP_VEC_BWD_FN of the path's row kernels (pool_vec.h),
 * and MP_VEC_FWD() and MP_VEC_BWD(), which return them, or NULL.
 *
 * Output row r (of all planes' out_h rows) is window row r % out_h of plane
 * r / out_h: it reads that plane's input rows 2*(r % out_h) and the next, and
 * backward writes those two rows of grad_x (and, after a plane's last output
 * row, an odd last input row).  Thread t owns a contiguous range of r
 * (mp_rows) and the rows of grad_x under it.
 */

/* Output rows [r0, r1) (pool_vec.h, smax2x2_code fwd): taps d, c, b, a
 * taken in reverse with MP_TAKES_REV, as pool2d_impl.h's POOL_MAX_2X2, so the
 * same values and taps. */
static void MP_ROWS_FWD(const MP_T *restrict x, int64_t h, int64_t w, int64_t r0, int64_t r1,
                        int relu, MP_T *restrict y, uint8_t *restrict code)
{
    const int64_t out_h = h / 2, n = w / 2;
    const MP_T *r0p = x + (r0 / out_h) * h * w + (r0 % out_h) * 2 * w;
    int64_t i = r0 % out_h;
    for (int64_t r = r0; r < r1; r++) {
        const MP_T *r1p = r0p + w;
        MP_T *out = y + r * n;
        uint8_t *cd = code + r * n;
        for (int64_t j = 0; j < n; j++) {
            const MP_T a = r0p[2 * j], b = r0p[2 * j + 1], c = r1p[2 * j], d = r1p[2 * j + 1];
            MP_T m = d;
            int k = 3;
            int t = MP_TAKES_REV(c, m);
            m = t ? c : m;
            k = t ? 2 : k;
            t = MP_TAKES_REV(b, m);
            m = t ? b : m;
            k = t ? 1 : k;
            t = MP_TAKES_REV(a, m);
            m = t ? a : m;
            k = t ? 0 : k;
            if (relu) {
                k = m > (MP_T)0 ? k : 4;
                m = m < (MP_T)0 ? (MP_T)0 : m;
            }
            out[j] = m;
            cd[j] = (uint8_t)k;
        }
        r0p += 2 * w; /* the next window row: two rows down, or the next plane */
        if (++i == out_h) {
            i = 0;
            r0p += (h % 2) * w;
        }
    }
}

/* The gradient of output rows [r0, r1) (pool_vec.h, smax2x2_code bwd): 0 + g
 * at the chosen tap, +0 at the other taps, an odd last column and an odd
 * last row of a plane. */
static void MP_ROWS_BWD(const MP_T *restrict grad_y, const uint8_t *restrict code, int64_t h,
                        int64_t w, int64_t r0, int64_t r1, int64_t n_codes,
                        MP_T *restrict grad_x)
{
    (void)n_codes;
    const int64_t out_h = h / 2, n = w / 2;
    MP_T *x0 = grad_x + (r0 / out_h) * h * w + (r0 % out_h) * 2 * w;
    int64_t i = r0 % out_h;
    for (int64_t r = r0; r < r1; r++) {
        MP_T *x1 = x0 + w;
        const MP_T *g = grad_y + r * n;
        const uint8_t *cd = code + r * n;
        for (int64_t j = 0; j < n; j++) {
            const MP_T v = g[j] + (MP_T)0;
            const int k = cd[j];
            x0[2 * j] = k == 0 ? v : (MP_T)0;
            x0[2 * j + 1] = k == 1 ? v : (MP_T)0;
            x1[2 * j] = k == 2 ? v : (MP_T)0;
            x1[2 * j + 1] = k == 3 ? v : (MP_T)0;
        }
        if (w % 2 == 1) {
            x0[w - 1] = 0;
            x1[w - 1] = 0;
        }
        x0 += 2 * w;
        if (++i == out_h) {
            i = 0;
            if (h % 2 == 1) {
                for (int64_t j = 0; j < w; j++) {
                    x0[j] = 0;
                }
                x0 += w;
            }
        }
    }
}

int MP_FWD(int64_t planes, int64_t h, int64_t w, int relu, const MP_T *x, MP_T *y,
           uint8_t *code, int n_threads)
{
    const int64_t rows = planes * (h / 2);
    if (rows <= 0 || w / 2 <= 0) {
        return PYDL_OK;
    }
    const MP_VEC_FWD_FN vec = MP_VEC_FWD();
    const int nt = mp_threads(planes * h * w, n_threads);
    (void)nt; /* used only by OpenMP pragmas */
#pragma omp parallel num_threads(nt) if (nt > 1)
    {
        int64_t r0, r1;
        mp_rows(rows, &r0, &r1);
        if (vec != NULL) {
            vec(x, h, w, r0, r1, relu, y, code);
        } else {
            MP_ROWS_FWD(x, h, w, r0, r1, relu, y, code);
        }
    }
    return PYDL_OK;
}

int MP_BWD(int64_t planes, int64_t h, int64_t w, const MP_T *grad_y, const uint8_t *code,
           MP_T *grad_x, int n_threads)
{
    const int64_t rows = planes * (h / 2), n_codes = rows * (w / 2);
    if (n_codes <= 0) {
        for (int64_t i = 0; i < planes * h * w; i++) {
            grad_x[i] = 0;
        }
        return PYDL_OK;
    }
    const MP_VEC_BWD_FN vec = MP_VEC_BWD();
    const int nt = mp_threads(planes * h * w, n_threads);
    (void)nt;
#pragma omp parallel num_threads(nt) if (nt > 1)
    {
        int64_t r0, r1;
        mp_rows(rows, &r0, &r1);
        if (vec != NULL) {
            vec(grad_y, code, h, w, r0, r1, n_codes, grad_x);
        } else {
            MP_ROWS_BWD(grad_y, code, h, w, r0, r1, n_codes, grad_x);
        }
    }
    return PYDL_OK;
}
