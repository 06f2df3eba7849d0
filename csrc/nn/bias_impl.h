/*
 * bias_impl.h -- per-channel bias add and its gradient, written once for an
 * element type and included by bias.c once per type (math: pydl.h).
 *
 * The includer defines NN_T and the public names BIAS_ADD_FWD, BIAS_ADD_BWD
 * and the static name BIAS_SUM.
 *
 * Layout: x is (n, c, s) C-contiguous (s = the product of the spatial sizes,
 * 1 for a matrix).  Thread ownership: forward, whole row blocks (s == 1) or
 * whole (n, c) planes; backward, whole blocks of BIAS_COLS channels (s == 1)
 * or whole channels, each summed in an order fixed by the shape.
 */

/* Sum of p[0..len) in double: four interleaved partial sums (element i goes
 * to sum i % 4), added as (s0 + s1) + (s2 + s3). */
static inline double BIAS_SUM(const NN_T *p, int64_t len)
{
    double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0;
    int64_t i = 0;
    for (; i + 4 <= len; i += 4) {
        s0 += (double)p[i];
        s1 += (double)p[i + 1];
        s2 += (double)p[i + 2];
        s3 += (double)p[i + 3];
    }
    for (; i < len; i++) {
        s0 += (double)p[i];
    }
    return (s0 + s1) + (s2 + s3);
}

int BIAS_ADD_FWD(int64_t n, int64_t c, int64_t s, const NN_T *x, const NN_T *bias, NN_T *y,
                 int n_threads)
{
    const int nt = nn_threads(n * c * s * NN_COST_CHEAP, n_threads);
    (void)nt; /* used only by OpenMP pragmas */
    if (c <= 0 || s <= 0) {
        return PYDL_OK;
    }
    if (s == 1) {
        const int64_t per = c >= NN_BLOCK ? 1 : NN_BLOCK / c;
        const int64_t blocks = (n + per - 1) / per;
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
        for (int64_t b = 0; b < blocks; b++) {
            const int64_t r1 = nn_min64(n, (b + 1) * per);
            for (int64_t r = b * per; r < r1; r++) {
                const NN_T *xr = x + r * c;
                NN_T *yr = y + r * c;
#pragma omp simd
                for (int64_t j = 0; j < c; j++) {
                    yr[j] = xr[j] + bias[j];
                }
            }
        }
        return PYDL_OK;
    }
    const int64_t planes = n * c;
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
    for (int64_t pl = 0; pl < planes; pl++) {
        const NN_T b = bias[pl % c];
        const NN_T *xp = x + pl * s;
        NN_T *yp = y + pl * s;
#pragma omp simd
        for (int64_t j = 0; j < s; j++) {
            yp[j] = xp[j] + b;
        }
    }
    return PYDL_OK;
}

int BIAS_ADD_BWD(int64_t n, int64_t c, int64_t s, const NN_T *grad_y, NN_T *grad_bias,
                 int n_threads)
{
    const int nt = nn_threads(n * c * s * NN_COST_CHEAP, n_threads);
    (void)nt;
    if (s == 1) {
        /* Columns in blocks: grad_bias[j] = sum over rows in row order. */
        const int64_t blocks = (c + BIAS_COLS - 1) / BIAS_COLS;
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
        for (int64_t b = 0; b < blocks; b++) {
            const int64_t j0 = b * BIAS_COLS, w = nn_min64(c - j0, BIAS_COLS);
            double acc[BIAS_COLS];
            for (int64_t j = 0; j < w; j++) {
                acc[j] = 0.0;
            }
            for (int64_t r = 0; r < n; r++) {
                const NN_T *gr = grad_y + r * c + j0;
#pragma omp simd
                for (int64_t j = 0; j < w; j++) {
                    acc[j] += (double)gr[j];
                }
            }
            for (int64_t j = 0; j < w; j++) {
                grad_bias[j0 + j] = (NN_T)acc[j];
            }
        }
        return PYDL_OK;
    }
    /* One channel at a time: the planes of n = 0, 1, ... in order. */
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
    for (int64_t ch = 0; ch < c; ch++) {
        double acc = 0.0;
        for (int64_t r = 0; r < n; r++) {
            acc += BIAS_SUM(grad_y + (r * c + ch) * s, s);
        }
        grad_bias[ch] = (NN_T)acc;
    }
    return PYDL_OK;
}
