/*
 * batchnorm_impl.h -- batch normalisation, forward (training or inference)
 * and backward (training), written once for an element type and included by
 * batchnorm.c once per type (math: pydl.h).
 *
 * The includer defines NN_T and the public names BN_FWD, BN_BWD and the
 * static names BN_SUM, BN_SUM_SQDEV, BN_SUM_PRODDEV.
 *
 * Layout: x is (n, c, s) C-contiguous (s = H*W, or 1 for an (N, C) input);
 * channel ch is the n planes x[r, ch, :] of s elements.  Thread ownership:
 * thread t owns whole channels (their statistics, parameters and outputs);
 * a channel's sums run in double over the planes r = 0, 1, ... in order,
 * each plane in four interleaved partial sums, so the results do not depend
 * on the thread count.  A channel is fully read before it is written, so an
 * output may be one of the inputs.
 */

/* Sums of a plane of len elements in double, element i into partial sum
 * i % 4, returned as (s0 + s1) + (s2 + s3). */
static inline double BN_SUM(const NN_T *p, int64_t len)
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

/* sum (p[i] - mean)^2 */
static inline double BN_SUM_SQDEV(const NN_T *p, int64_t len, double mean)
{
    double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0;
    int64_t i = 0;
    for (; i + 4 <= len; i += 4) {
        const double d0 = (double)p[i] - mean, d1 = (double)p[i + 1] - mean;
        const double d2 = (double)p[i + 2] - mean, d3 = (double)p[i + 3] - mean;
        s0 += d0 * d0;
        s1 += d1 * d1;
        s2 += d2 * d2;
        s3 += d3 * d3;
    }
    for (; i < len; i++) {
        const double d = (double)p[i] - mean;
        s0 += d * d;
    }
    return (s0 + s1) + (s2 + s3);
}

/* sum g[i] * (x[i] - mean) */
static inline double BN_SUM_PRODDEV(const NN_T *g, const NN_T *x, int64_t len, double mean)
{
    double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0;
    int64_t i = 0;
    for (; i + 4 <= len; i += 4) {
        s0 += (double)g[i] * ((double)x[i] - mean);
        s1 += (double)g[i + 1] * ((double)x[i + 1] - mean);
        s2 += (double)g[i + 2] * ((double)x[i + 2] - mean);
        s3 += (double)g[i + 3] * ((double)x[i + 3] - mean);
    }
    for (; i < len; i++) {
        s0 += (double)g[i] * ((double)x[i] - mean);
    }
    return (s0 + s1) + (s2 + s3);
}

int BN_FWD(int64_t n, int64_t c, int64_t s, const NN_T *x, const NN_T *gamma, const NN_T *beta,
           NN_T *running_mean, NN_T *running_var, int training, double momentum, double eps,
           NN_T *y, NN_T *save_mean, NN_T *save_invstd, int n_threads)
{
    const int64_t m = n * s; /* elements per channel */
    const int nt = nn_threads(n * c * s * NN_COST_CHEAP * 3, n_threads);
    (void)nt; /* used only by OpenMP pragmas */
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
    for (int64_t ch = 0; ch < c; ch++) {
        double mean, invstd;
        if (training) {
            double sum = 0.0;
            for (int64_t r = 0; r < n; r++) {
                sum += BN_SUM(x + (r * c + ch) * s, s);
            }
            mean = sum / (double)m;
            double sq = 0.0;
            for (int64_t r = 0; r < n; r++) {
                sq += BN_SUM_SQDEV(x + (r * c + ch) * s, s, mean);
            }
            const double var = sq / (double)m; /* biased: normalises the batch */
            invstd = 1.0 / sqrt(var + eps);
            if (running_mean != NULL) {
                running_mean[ch] =
                    (NN_T)((1.0 - momentum) * (double)running_mean[ch] + momentum * mean);
            }
            if (running_var != NULL) {
                const double unbiased = m > 1 ? sq / (double)(m - 1) : var;
                running_var[ch] =
                    (NN_T)((1.0 - momentum) * (double)running_var[ch] + momentum * unbiased);
            }
        } else {
            mean = (double)running_mean[ch];
            invstd = 1.0 / sqrt((double)running_var[ch] + eps);
        }
        save_mean[ch] = (NN_T)mean;
        save_invstd[ch] = (NN_T)invstd;
        const double scale = (gamma != NULL ? (double)gamma[ch] : 1.0) * invstd;
        const double shift = beta != NULL ? (double)beta[ch] : 0.0;
        for (int64_t r = 0; r < n; r++) {
            const NN_T *xp = x + (r * c + ch) * s;
            NN_T *yp = y + (r * c + ch) * s;
#pragma omp simd
            for (int64_t i = 0; i < s; i++) {
                yp[i] = (NN_T)(((double)xp[i] - mean) * scale + shift);
            }
        }
    }
    return PYDL_OK;
}

int BN_BWD(int64_t n, int64_t c, int64_t s, const NN_T *grad_y, const NN_T *x, const NN_T *gamma,
           const NN_T *save_mean, const NN_T *save_invstd, NN_T *grad_x, NN_T *grad_gamma,
           NN_T *grad_beta, int n_threads)
{
    const int64_t m = n * s;
    const int nt = nn_threads(n * c * s * NN_COST_CHEAP * 3, n_threads);
    (void)nt;
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
    for (int64_t ch = 0; ch < c; ch++) {
        const double mean = (double)save_mean[ch], invstd = (double)save_invstd[ch];
        double sum_g = 0.0, sum_gx = 0.0;
        for (int64_t r = 0; r < n; r++) {
            const int64_t off = (r * c + ch) * s;
            sum_g += BN_SUM(grad_y + off, s);
            sum_gx += BN_SUM_PRODDEV(grad_y + off, x + off, s, mean);
        }
        /* grad_x = gamma*invstd * (g - mean(g) - xhat * mean(g * xhat)),
         * xhat = (x - mean) * invstd. */
        const double k = (gamma != NULL ? (double)gamma[ch] : 1.0) * invstd;
        const double mean_g = m > 0 ? sum_g / (double)m : 0.0;
        const double coef = m > 0 ? invstd * invstd * sum_gx / (double)m : 0.0;
        if (grad_x != NULL) {
            for (int64_t r = 0; r < n; r++) {
                const int64_t off = (r * c + ch) * s;
                const NN_T *gp = grad_y + off, *xp = x + off;
                NN_T *gxp = grad_x + off;
#pragma omp simd
                for (int64_t i = 0; i < s; i++) {
                    gxp[i] = (NN_T)(k * (((double)gp[i] - mean_g) - ((double)xp[i] - mean) * coef));
                }
            }
        }
        if (grad_gamma != NULL) {
            grad_gamma[ch] = (NN_T)(sum_gx * invstd);
        }
        if (grad_beta != NULL) {
            grad_beta[ch] = (NN_T)sum_g;
        }
    }
    return PYDL_OK;
}
