/*
 * optim_impl.h -- in-place optimizer updates (SGD, Adam/AdamW, RMSprop),
 * written once for an element type and included by optim.c once per type
 * (math: pydl.h).
 *
 * The includer defines NN_T, NN_SQRT (sqrt for that type) and the public
 * names OPT_SGD, OPT_ADAM, OPT_RMSPROP.
 *
 * Each element is updated on its own, in NN_T arithmetic with the
 * hyper-parameters rounded to NN_T, in the order of operations of PyTorch's
 * single-tensor implementation.  Thread t owns whole NN_BLOCK blocks of every
 * buffer.
 */

int OPT_SGD(int64_t n, NN_T *param, const NN_T *grad, NN_T *velocity, double lr,
            double momentum, double dampening, int nesterov, double weight_decay,
            int first_step, int n_threads)
{
    const int nt = nn_threads(n * NN_COST_CHEAP * 2, n_threads);
    const int64_t nb = nn_blocks(n);
    const NN_T neg_lr = (NN_T)(-lr), mom = (NN_T)momentum, keep = (NN_T)(1.0 - dampening);
    const NN_T wd = (NN_T)weight_decay;
    const int use_wd = weight_decay != 0.0, use_mom = momentum != 0.0;
    (void)nt; /* used only by OpenMP pragmas */
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
    for (int64_t b = 0; b < nb; b++) {
        const int64_t lo = b * NN_BLOCK, hi = nn_min64(n, lo + NN_BLOCK);
        for (int64_t i = lo; i < hi; i++) {
            const NN_T p = param[i];
            NN_T g = grad[i];
            if (use_wd) {
                g = g + wd * p;
            }
            if (use_mom) {
                const NN_T buf = first_step ? g : velocity[i] * mom + keep * g;
                velocity[i] = buf;
                g = nesterov ? g + mom * buf : buf;
            }
            param[i] = p + neg_lr * g;
        }
    }
    return PYDL_OK;
}

int OPT_ADAM(int64_t n, NN_T *param, const NN_T *grad, NN_T *exp_avg, NN_T *exp_avg_sq,
             int64_t step, double lr, double beta1, double beta2, double eps, double weight_decay,
             int decoupled_weight_decay, int n_threads)
{
    const int nt = nn_threads(n * NN_COST_MATH, n_threads);
    const int64_t nb = nn_blocks(n);
    const double bias_correction1 = 1.0 - pow(beta1, (double)step);
    const double bias_correction2 = 1.0 - pow(beta2, (double)step);
    const NN_T neg_step_size = (NN_T)(-(lr / bias_correction1));
    const NN_T bc2_sqrt = (NN_T)sqrt(bias_correction2);
    const NN_T w1 = (NN_T)(1.0 - beta1), b2 = (NN_T)beta2, w2 = (NN_T)(1.0 - beta2);
    const NN_T e = (NN_T)eps, wd = (NN_T)weight_decay, decay = (NN_T)(1.0 - lr * weight_decay);
    const int use_wd = weight_decay != 0.0;
    const int lerp_low = w1 < (NN_T)0.5; /* PyTorch's lerp formula choice */
    (void)nt;
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
    for (int64_t b = 0; b < nb; b++) {
        const int64_t lo = b * NN_BLOCK, hi = nn_min64(n, lo + NN_BLOCK);
        for (int64_t i = lo; i < hi; i++) {
            NN_T p = param[i], g = grad[i];
            if (use_wd) {
                if (decoupled_weight_decay) {
                    p = p * decay;
                } else {
                    g = g + wd * p;
                }
            }
            /* m = lerp(m, g, 1 - beta1); v = v*beta2 + (1 - beta2)*g*g */
            const NN_T m0 = exp_avg[i];
            const NN_T m = lerp_low ? m0 + w1 * (g - m0) : g - (g - m0) * ((NN_T)1 - w1);
            const NN_T v = exp_avg_sq[i] * b2 + (w2 * g) * g;
            exp_avg[i] = m;
            exp_avg_sq[i] = v;
            const NN_T denom = NN_SQRT(v) / bc2_sqrt + e;
            param[i] = p + neg_step_size * (m / denom);
        }
    }
    return PYDL_OK;
}

int OPT_RMSPROP(int64_t n, NN_T *param, const NN_T *grad, NN_T *square_avg, NN_T *momentum_buffer,
                double lr, double alpha, double eps, double weight_decay, double momentum,
                int n_threads)
{
    const int nt = nn_threads(n * NN_COST_MATH, n_threads);
    const int64_t nb = nn_blocks(n);
    const NN_T neg_lr = (NN_T)(-lr), a = (NN_T)alpha, w = (NN_T)(1.0 - alpha);
    const NN_T e = (NN_T)eps, wd = (NN_T)weight_decay, mom = (NN_T)momentum;
    const int use_wd = weight_decay != 0.0, use_mom = momentum > 0.0;
    (void)nt;
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
    for (int64_t b = 0; b < nb; b++) {
        const int64_t lo = b * NN_BLOCK, hi = nn_min64(n, lo + NN_BLOCK);
        for (int64_t i = lo; i < hi; i++) {
            const NN_T p = param[i];
            NN_T g = grad[i];
            if (use_wd) {
                g = g + wd * p;
            }
            const NN_T v = square_avg[i] * a + (w * g) * g;
            square_avg[i] = v;
            const NN_T avg = NN_SQRT(v) + e;
            if (use_mom) {
                const NN_T buf = momentum_buffer[i] * mom + g / avg;
                momentum_buffer[i] = buf;
                param[i] = p + neg_lr * buf;
            } else {
                param[i] = p + neg_lr * (g / avg);
            }
        }
    }
    return PYDL_OK;
}
