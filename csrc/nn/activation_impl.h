/*
 * activation_impl.h -- element-wise activations and their gradients, written
 * once for an element type and included by activation.c once per type (math:
 * pydl.h).
 *
 * The includer defines NN_T, the math functions NN_EXP, NN_FABS, NN_TANH and
 * the select NN_SEL (nn_common.h) for that type, ACT_VEC_FLOAT for float
 * (sigmoid and tanh then run pydl_act_kernels_get()'s loops, act_vec.h), and the
 * public names ACT_RELU_FWD, ACT_RELU_BWD, ACT_LEAKY_RELU_FWD, ACT_LEAKY_RELU_BWD,
 * ACT_SIGMOID_FWD, ACT_SIGMOID_BWD, ACT_TANH_FWD, ACT_TANH_BWD.
 *
 * Every function walks NN_BLOCK-element blocks; thread t owns whole blocks
 * (inputs read and outputs written), so an output may be one of the inputs.
 */

int ACT_RELU_FWD(int64_t n, const NN_T *x, NN_T *y, int n_threads)
{
    const int nt = nn_threads(n * NN_COST_CHEAP, n_threads);
    const int64_t nb = nn_blocks(n);
    (void)nt; /* used only by OpenMP pragmas */
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
    for (int64_t b = 0; b < nb; b++) {
        const int64_t lo = b * NN_BLOCK, hi = nn_min64(n, lo + NN_BLOCK);
#pragma omp simd
        for (int64_t i = lo; i < hi; i++) {
            y[i] = x[i] < (NN_T)0 ? (NN_T)0 : x[i]; /* NaN stays NaN */
        }
    }
    return PYDL_OK;
}

int ACT_RELU_BWD(int64_t n, const NN_T *grad_y, const NN_T *y, NN_T *grad_x, int n_threads)
{
    const int nt = nn_threads(n * NN_COST_CHEAP, n_threads);
    const int64_t nb = nn_blocks(n);
    (void)nt;
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
    for (int64_t b = 0; b < nb; b++) {
        const int64_t lo = b * NN_BLOCK, hi = nn_min64(n, lo + NN_BLOCK);
#pragma omp simd
        for (int64_t i = lo; i < hi; i++) {
            /* Both operands loaded unconditionally, so the select is
             * branch-free and vectorises (a conditional load is not). */
            const NN_T g = grad_y[i];
            grad_x[i] = y[i] > (NN_T)0 ? g : (NN_T)0;
        }
    }
    return PYDL_OK;
}

int ACT_LEAKY_RELU_FWD(int64_t n, double negative_slope, const NN_T *x, NN_T *y, int n_threads)
{
    const int nt = nn_threads(n * NN_COST_CHEAP, n_threads);
    const int64_t nb = nn_blocks(n);
    const NN_T slope = (NN_T)negative_slope;
    (void)nt;
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
    for (int64_t b = 0; b < nb; b++) {
        const int64_t lo = b * NN_BLOCK, hi = nn_min64(n, lo + NN_BLOCK);
#pragma omp simd
        for (int64_t i = lo; i < hi; i++) {
            /* a branch-free select (NN_SEL: GCC makes a branch of v > 0 ? v :
             * v * slope) */
            const NN_T v = x[i];
            y[i] = NN_SEL((uint32_t)(v > (NN_T)0), v, v * slope);
        }
    }
    return PYDL_OK;
}

int ACT_LEAKY_RELU_BWD(int64_t n, double negative_slope, const NN_T *grad_y, const NN_T *x,
                       NN_T *grad_x, int n_threads)
{
    const int nt = nn_threads(n * NN_COST_CHEAP, n_threads);
    const int64_t nb = nn_blocks(n);
    const NN_T slope = (NN_T)negative_slope;
    (void)nt;
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
    for (int64_t b = 0; b < nb; b++) {
        const int64_t lo = b * NN_BLOCK, hi = nn_min64(n, lo + NN_BLOCK);
#pragma omp simd
        for (int64_t i = lo; i < hi; i++) {
            const NN_T g = grad_y[i]; /* branch-free, as above */
            grad_x[i] = NN_SEL((uint32_t)(x[i] > (NN_T)0), g, g * slope);
        }
    }
    return PYDL_OK;
}

int ACT_SIGMOID_FWD(int64_t n, const NN_T *x, NN_T *y, int n_threads)
{
    const int nt = nn_threads(n * NN_COST_MATH, n_threads);
    const int64_t nb = nn_blocks(n);
    (void)nt;
#ifdef ACT_VEC_FLOAT
    const pydl_act_kernels *kr = pydl_act_kernels_get();
#endif
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
    for (int64_t b = 0; b < nb; b++) {
        const int64_t lo = b * NN_BLOCK, hi = nn_min64(n, lo + NN_BLOCK);
#ifdef ACT_VEC_FLOAT
        kr->sigmoid(lo, hi, x, y);
#else
#pragma omp simd
        for (int64_t i = lo; i < hi; i++) {
            /* e = exp(-|v|) never overflows: 1/(1+e) for v >= 0, e/(1+e) below. */
            const NN_T v = x[i];
            const NN_T e = NN_EXP(-NN_FABS(v));
            const NN_T r = (NN_T)1 / ((NN_T)1 + e);
            y[i] = NN_SEL((uint32_t)(v >= (NN_T)0), r, e * r);
        }
#endif
    }
    return PYDL_OK;
}

int ACT_SIGMOID_BWD(int64_t n, const NN_T *grad_y, const NN_T *y, NN_T *grad_x, int n_threads)
{
    const int nt = nn_threads(n * NN_COST_CHEAP, n_threads);
    const int64_t nb = nn_blocks(n);
    (void)nt;
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
    for (int64_t b = 0; b < nb; b++) {
        const int64_t lo = b * NN_BLOCK, hi = nn_min64(n, lo + NN_BLOCK);
#pragma omp simd
        for (int64_t i = lo; i < hi; i++) {
            const NN_T s = y[i];
            grad_x[i] = grad_y[i] * (s * ((NN_T)1 - s));
        }
    }
    return PYDL_OK;
}

int ACT_TANH_FWD(int64_t n, const NN_T *x, NN_T *y, int n_threads)
{
    const int nt = nn_threads(n * NN_COST_MATH, n_threads);
    const int64_t nb = nn_blocks(n);
    (void)nt;
#ifdef ACT_VEC_FLOAT
    const pydl_act_kernels *kr = pydl_act_kernels_get();
#endif
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
    for (int64_t b = 0; b < nb; b++) {
        const int64_t lo = b * NN_BLOCK, hi = nn_min64(n, lo + NN_BLOCK);
#ifdef ACT_VEC_FLOAT
        kr->tanh(lo, hi, x, y);
#else
#pragma omp simd
        for (int64_t i = lo; i < hi; i++) {
            y[i] = NN_TANH(x[i]);
        }
#endif
    }
    return PYDL_OK;
}

int ACT_TANH_BWD(int64_t n, const NN_T *grad_y, const NN_T *y, NN_T *grad_x, int n_threads)
{
    const int nt = nn_threads(n * NN_COST_CHEAP, n_threads);
    const int64_t nb = nn_blocks(n);
    (void)nt;
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
    for (int64_t b = 0; b < nb; b++) {
        const int64_t lo = b * NN_BLOCK, hi = nn_min64(n, lo + NN_BLOCK);
#pragma omp simd
        for (int64_t i = lo; i < hi; i++) {
            const NN_T t = y[i];
            grad_x[i] = grad_y[i] * ((NN_T)1 - t * t);
        }
    }
    return PYDL_OK;
}
