/*
 * loss_impl.h -- losses with their gradients (mean reduction), written once
 * for an element type and included by loss.c once per type (math: pydl.h).
 *
 * The includer defines NN_T, NN_EXP, NN_FABS, NN_LOG1P for that type and the
 * public names LOSS_SOFTMAX_CE, LOSS_MSE, LOSS_BCE_LOGITS.
 *
 * Each loss sums its terms in double over at most NN_MAX_CHUNKS chunks whose
 * bounds depend only on the sizes (rows for the cross-entropy, elements
 * otherwise); thread t owns whole chunks (their gradient entries and their
 * partial sum), and the partial sums are added in chunk order, so the loss
 * does not depend on the thread count.  Every element is read before its
 * gradient is written, so the gradient may overwrite an input.
 */

int LOSS_SOFTMAX_CE(int64_t n, int64_t c, const NN_T *logits, const int64_t *labels,
                    double *loss, NN_T *grad, int n_threads)
{
    double parts[NN_MAX_CHUNKS];
    int64_t per;
    const int64_t chunks = nn_chunks(n, 1, &per);
    const int nt = nn_threads(n * c * NN_COST_MATH, n_threads);
    const NN_T inv_n = (NN_T)(1.0 / (double)n);
    (void)nt; /* used only by OpenMP pragmas */
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
    for (int64_t k = 0; k < chunks; k++) {
        const int64_t r0 = k * per, r1 = nn_min64(n, r0 + per);
        double acc = 0.0;
        for (int64_t r = r0; r < r1; r++) {
            const NN_T *xr = logits + r * c;
            NN_T *gr = grad + r * c;
            const int64_t label = labels[r];
            const NN_T x_label = xr[label]; /* before gr (maybe xr) is written */
            NN_T m = xr[0];
            for (int64_t j = 1; j < c; j++) {
                m = xr[j] > m ? xr[j] : m;
            }
            double sum = 0.0;
            for (int64_t j = 0; j < c; j++) {
                const NN_T e = NN_EXP(xr[j] - m);
                gr[j] = e;
                sum += (double)e;
            }
            /* -log_softmax[label] = (m - x_label) + log(sum): finite for any
             * finite logits, since sum >= 1. */
            acc += ((double)m - (double)x_label) + log(sum);
            const NN_T scale = (NN_T)(1.0 / (sum * (double)n));
#pragma omp simd
            for (int64_t j = 0; j < c; j++) {
                gr[j] *= scale;
            }
            gr[label] -= inv_n;
        }
        parts[k] = acc;
    }
    double total = 0.0;
    for (int64_t k = 0; k < chunks; k++) {
        total += parts[k];
    }
    *loss = total / (double)n;
    return PYDL_OK;
}

int LOSS_MSE(int64_t n, const NN_T *pred, const NN_T *target, double *loss, NN_T *grad,
             int n_threads)
{
    double parts[NN_MAX_CHUNKS];
    int64_t per;
    const int64_t chunks = nn_chunks(n, NN_BLOCK, &per);
    const int nt = nn_threads(n * NN_COST_CHEAP * 2, n_threads);
    const NN_T scale = (NN_T)(2.0 / (double)n);
    (void)nt;
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
    for (int64_t k = 0; k < chunks; k++) {
        const int64_t lo = k * per, hi = nn_min64(n, lo + per);
        double acc = 0.0;
        for (int64_t i = lo; i < hi; i++) {
            const NN_T p = pred[i], t = target[i];
            const double d = (double)p - (double)t;
            acc += d * d;
            grad[i] = (p - t) * scale;
        }
        parts[k] = acc;
    }
    double total = 0.0;
    for (int64_t k = 0; k < chunks; k++) {
        total += parts[k];
    }
    *loss = total / (double)n;
    return PYDL_OK;
}

int LOSS_BCE_LOGITS(int64_t n, const NN_T *logits, const NN_T *targets, double *loss,
                    NN_T *grad, int n_threads)
{
    double parts[NN_MAX_CHUNKS];
    int64_t per;
    const int64_t chunks = nn_chunks(n, NN_BLOCK, &per);
    const int nt = nn_threads(n * NN_COST_MATH * 2, n_threads);
    const NN_T inv_n = (NN_T)(1.0 / (double)n);
    (void)nt;
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
    for (int64_t k = 0; k < chunks; k++) {
        const int64_t lo = k * per, hi = nn_min64(n, lo + per);
        double acc = 0.0;
        for (int64_t i = lo; i < hi; i++) {
            const NN_T x = logits[i], t = targets[i];
            const NN_T e = NN_EXP(-NN_FABS(x)); /* in (0, 1]: no overflow */
            const NN_T r = (NN_T)1 / ((NN_T)1 + e);
            const NN_T sig = x >= (NN_T)0 ? r : e * r;
            const double relu = x > (NN_T)0 ? (double)x : 0.0;
            acc += relu - (double)x * (double)t + (double)NN_LOG1P(e);
            grad[i] = (sig - t) * inv_n;
        }
        parts[k] = acc;
    }
    double total = 0.0;
    for (int64_t k = 0; k < chunks; k++) {
        total += parts[k];
    }
    *loss = total / (double)n;
    return PYDL_OK;
}
