/*
 * softmax_impl.h -- softmax and log-softmax over the rows of a matrix,
 * forward and backward, written once for an element type and included by
 * softmax.c once per type (math: pydl.h).
 *
 * The includer defines NN_T, NN_EXP (exp for that type) and the public names
 * SM_SOFTMAX_FWD, SM_SOFTMAX_BWD, SM_LOG_SOFTMAX_FWD, SM_LOG_SOFTMAX_BWD, and
 * the static name SM_ROW_MAX.
 *
 * Thread t owns whole rows; a row's sums run in double, in column order, so
 * the results do not depend on the thread count.  A row is read before it is
 * written, so an output may be one of the inputs.
 */

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
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
    for (int64_t r = 0; r < rows; r++) {
        const NN_T *xr = x + r * cols;
        NN_T *yr = y + r * cols;
        const NN_T m = SM_ROW_MAX(xr, cols);
        double sum = 0.0;
        for (int64_t j = 0; j < cols; j++) {
            const NN_T e = NN_EXP(xr[j] - m);
            yr[j] = e;
            sum += (double)e;
        }
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
        double dot = 0.0;
        for (int64_t j = 0; j < cols; j++) {
            dot += (double)gr[j] * (double)yr[j];
        }
        const NN_T d = (NN_T)dot;
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
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
    for (int64_t r = 0; r < rows; r++) {
        const NN_T *xr = x + r * cols;
        NN_T *yr = y + r * cols;
        const NN_T m = SM_ROW_MAX(xr, cols);
        double sum = 0.0;
        for (int64_t j = 0; j < cols; j++) {
            sum += (double)NN_EXP(xr[j] - m);
        }
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
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
    for (int64_t r = 0; r < rows; r++) {
        const NN_T *gr = grad_y + r * cols, *yr = y + r * cols;
        NN_T *gx = grad_x + r * cols;
        double sum = 0.0;
        for (int64_t j = 0; j < cols; j++) {
            sum += (double)gr[j];
        }
        const NN_T s = (NN_T)sum;
        for (int64_t j = 0; j < cols; j++) {
            gx[j] = gr[j] - NN_EXP(yr[j]) * s;
        }
    }
    return PYDL_OK;
}
