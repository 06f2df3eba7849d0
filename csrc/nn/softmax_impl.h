/*
 * softmax_impl.h -- softmax and log-softmax over the rows of a matrix,
 * forward and backward, written once for an element type and included by
 * softmax.c once per type (math: pydl.h).
 *
 * The includer defines NN_T, NN_EXP (exp for that type), SM_VEC_FLOAT for
 * float (the exponential loops then run pydl_act_kernels_get()'s, act_vec.h)
 * and the public names
 * SM_SOFTMAX_FWD, SM_SOFTMAX_BWD, SM_LOG_SOFTMAX_FWD, SM_LOG_SOFTMAX_BWD, and
 * the static names SM_ROW_MAX, SM_ACC4, SM_DOT4.
 *
 * Thread t owns whole rows; a row's sums run in double, in four interleaved
 * partial sums (columns j mod 4) added as (s0 + s1) + (s2 + s3), an order
 * fixed by the row length, so the results do not depend on the thread
 * count.  A row is read before it is written, so an output may be one of the
 * inputs.  The exponentials are computed a chunk of SM_CHUNK columns at a
 * time (vectorised for float) before they are summed.
 */

#define SM_CHUNK 256 /* a multiple of 4 */

/* acc[j mod 4] += v[j] for j < n, in order (n <= SM_CHUNK or any n). */
static void SM_ACC4(const NN_T *v, int64_t n, double acc[4])
{
    double s0 = acc[0], s1 = acc[1], s2 = acc[2], s3 = acc[3];
    int64_t j = 0;
    for (; j + 4 <= n; j += 4) {
        s0 += (double)v[j];
        s1 += (double)v[j + 1];
        s2 += (double)v[j + 2];
        s3 += (double)v[j + 3];
    }
    s0 += j < n ? (double)v[j] : 0.0;
    s1 += j + 1 < n ? (double)v[j + 1] : 0.0;
    s2 += j + 2 < n ? (double)v[j + 2] : 0.0;
    acc[0] = s0;
    acc[1] = s1;
    acc[2] = s2;
    acc[3] = s3;
}

/* sum of a[j] * b[j] (in double) in the same four partial sums. */
static double SM_DOT4(const NN_T *a, const NN_T *b, int64_t n)
{
    double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0;
    int64_t j = 0;
    for (; j + 4 <= n; j += 4) {
        s0 += (double)a[j] * (double)b[j];
        s1 += (double)a[j + 1] * (double)b[j + 1];
        s2 += (double)a[j + 2] * (double)b[j + 2];
        s3 += (double)a[j + 3] * (double)b[j + 3];
    }
    s0 += j < n ? (double)a[j] * (double)b[j] : 0.0;
    s1 += j + 1 < n ? (double)a[j + 1] * (double)b[j + 1] : 0.0;
    s2 += j + 2 < n ? (double)a[j + 2] * (double)b[j + 2] : 0.0;
    return (s0 + s1) + (s2 + s3);
}

/* Largest element of a row of n >= 1 (NaN in the row makes the row NaN
 * later anyway, through the exponentials). */
static NN_T SM_ROW_MAX(const NN_T *x, int64_t n)
{
    NN_T m = x[0];
#pragma omp simd reduction(max : m)
    for (int64_t j = 1; j < n; j++) {
        m = x[j] > m ? x[j] : m;
    }
    return m;
}

int SM_SOFTMAX_FWD(int64_t rows, int64_t cols, const NN_T *x, NN_T *y, int n_threads)
{
    const int nt = nn_threads(rows * cols * NN_COST_MATH, n_threads);
    (void)nt; /* used only by OpenMP pragmas */
    if (cols <= 0) {
        return PYDL_OK;
    }
#ifdef SM_VEC_FLOAT
    const pydl_act_kernels *kr = pydl_act_kernels_get();
#endif
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
    for (int64_t r = 0; r < rows; r++) {
        const NN_T *xr = x + r * cols;
        NN_T *yr = y + r * cols;
        const NN_T m = SM_ROW_MAX(xr, cols);
        double acc[4] = {0.0, 0.0, 0.0, 0.0};
        for (int64_t c0 = 0; c0 < cols; c0 += SM_CHUNK) {
            const int64_t c1 = nn_min64(cols, c0 + SM_CHUNK);
#ifdef SM_VEC_FLOAT
            kr->exp_shift(c0, c1, xr, m, yr);
#else
#pragma omp simd
            for (int64_t j = c0; j < c1; j++) {
                yr[j] = NN_EXP(xr[j] - m);
            }
#endif
            SM_ACC4(yr + c0, c1 - c0, acc);
        }
        const double sum = (acc[0] + acc[1]) + (acc[2] + acc[3]);
        const NN_T inv = (NN_T)(1.0 / sum);
#pragma omp simd
        for (int64_t j = 0; j < cols; j++) {
            yr[j] *= inv;
        }
    }
    return PYDL_OK;
}

int SM_SOFTMAX_BWD(int64_t rows, int64_t cols, const NN_T *grad_y, const NN_T *y, NN_T *grad_x,
                   int n_threads)
{
    const int nt = nn_threads(rows * cols * NN_COST_CHEAP * 2, n_threads);
    (void)nt;
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
    for (int64_t r = 0; r < rows; r++) {
        const NN_T *gr = grad_y + r * cols, *yr = y + r * cols;
        NN_T *gx = grad_x + r * cols;
        const NN_T d = (NN_T)SM_DOT4(gr, yr, cols);
#pragma omp simd
        for (int64_t j = 0; j < cols; j++) {
            gx[j] = yr[j] * (gr[j] - d);
        }
    }
    return PYDL_OK;
}

int SM_LOG_SOFTMAX_FWD(int64_t rows, int64_t cols, const NN_T *x, NN_T *y, int n_threads)
{
    const int nt = nn_threads(rows * cols * NN_COST_MATH, n_threads);
    (void)nt;
    if (cols <= 0) {
        return PYDL_OK;
    }
#ifdef SM_VEC_FLOAT
    const pydl_act_kernels *kr = pydl_act_kernels_get();
#endif
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
    for (int64_t r = 0; r < rows; r++) {
        const NN_T *xr = x + r * cols;
        NN_T *yr = y + r * cols;
        const NN_T m = SM_ROW_MAX(xr, cols);
        double acc[4] = {0.0, 0.0, 0.0, 0.0};
        NN_T e[SM_CHUNK]; /* y may be x: the exponentials go to a local buffer */
        for (int64_t c0 = 0; c0 < cols; c0 += SM_CHUNK) {
            const int64_t c1 = nn_min64(cols, c0 + SM_CHUNK);
#ifdef SM_VEC_FLOAT
            kr->exp_shift(0, c1 - c0, xr + c0, m, e);
#else
#pragma omp simd
            for (int64_t j = c0; j < c1; j++) {
                e[j - c0] = NN_EXP(xr[j] - m);
            }
#endif
            SM_ACC4(e, c1 - c0, acc);
        }
        const double sum = (acc[0] + acc[1]) + (acc[2] + acc[3]);
        const NN_T lse = (NN_T)log(sum);
#pragma omp simd
        for (int64_t j = 0; j < cols; j++) {
            yr[j] = (xr[j] - m) - lse;
        }
    }
    return PYDL_OK;
}

int SM_LOG_SOFTMAX_BWD(int64_t rows, int64_t cols, const NN_T *grad_y, const NN_T *y,
                       NN_T *grad_x, int n_threads)
{
    const int nt = nn_threads(rows * cols * NN_COST_MATH, n_threads);
    (void)nt;
#ifdef SM_VEC_FLOAT
    const pydl_act_kernels *kr = pydl_act_kernels_get();
#endif
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
    for (int64_t r = 0; r < rows; r++) {
        const NN_T *gr = grad_y + r * cols, *yr = y + r * cols;
        NN_T *gx = grad_x + r * cols;
        double acc[4] = {0.0, 0.0, 0.0, 0.0};
        SM_ACC4(gr, cols, acc);
        const NN_T s = (NN_T)((acc[0] + acc[1]) + (acc[2] + acc[3]));
#ifdef SM_VEC_FLOAT
        kr->lsm_bwd(0, cols, gr, yr, s, gx);
#else
#pragma omp simd
        for (int64_t j = 0; j < cols; j++) {
            gx[j] = gr[j] - NN_EXP(yr[j]) * s;
        }
#endif
    }
    return PYDL_OK;
}

#undef SM_CHUNK
