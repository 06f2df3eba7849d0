/*
 * dropout_impl.h -- inverted dropout, forward and backward, written once for
 * an element type and included by dropout.c once per type (math and the
 * random stream: pydl.h).
 *
 * The includer defines NN_T, NN_SEL (nn_sel_f or nn_sel_d: a branch-free
 * select) and the public names DROP_FWD, DROP_BWD.
 *
 * Element i's keep/drop decision is a pure function of (seed, i), so thread t
 * may own any blocks (it owns whole NN_BLOCK blocks) and the mask does not
 * depend on the thread count.  An output may be one of the inputs.
 */

int DROP_FWD(int64_t n, double p, uint64_t seed, const NN_T *x, NN_T *y, uint8_t *mask,
             int n_threads)
{
    const int nt = nn_threads(n * NN_COST_MATH, n_threads);
    const int64_t nb = nn_blocks(n);
    const uint64_t key = dropout_splitmix64(seed);
    const uint64_t threshold = dropout_threshold(p);
    const NN_T scale = (NN_T)(1.0 / (1.0 - p));
    (void)nt; /* used only by OpenMP pragmas */
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
    for (int64_t b = 0; b < nb; b++) {
        const int64_t lo = b * NN_BLOCK, hi = nn_min64(n, lo + NN_BLOCK);
#pragma omp simd
        for (int64_t i = lo; i < hi; i++) {
            const uint32_t keep = dropout_keep(key, (uint64_t)i, threshold);
            const NN_T v = x[i] * scale;
            mask[i] = (uint8_t)keep;
            y[i] = NN_SEL(keep, v, (NN_T)0);
        }
    }
    return PYDL_OK;
}

int DROP_BWD(int64_t n, double p, const NN_T *grad_y, const uint8_t *mask, NN_T *grad_x,
             int n_threads)
{
    const int nt = nn_threads(n * NN_COST_CHEAP, n_threads);
    const int64_t nb = nn_blocks(n);
    const NN_T scale = (NN_T)(1.0 / (1.0 - p));
    (void)nt;
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
    for (int64_t b = 0; b < nb; b++) {
        const int64_t lo = b * NN_BLOCK, hi = nn_min64(n, lo + NN_BLOCK);
#pragma omp simd
        for (int64_t i = lo; i < hi; i++) {
            /* Loaded and scaled unconditionally, selected branch-free. */
            grad_x[i] = NN_SEL((uint32_t)(mask[i] != 0), grad_y[i] * scale, (NN_T)0);
        }
    }
    return PYDL_OK;
}
