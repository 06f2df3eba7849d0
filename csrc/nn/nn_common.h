/*
 * nn_common.h -- what the neural-network kernels of csrc/nn/ share: the work
 * split, the thread decision and the fixed-order sums.
 *
 * Work split.  Element-wise kernels walk their n elements in blocks of
 * NN_BLOCK (the last one shorter); a block is one work item, processed by one
 * thread with the same code whatever the thread count, so every element gets
 * the same bits on 1 or many threads.  Reductions (the losses) sum their
 * terms in at most NN_MAX_CHUNKS chunks whose bounds depend only on n, each
 * summed in order in double, then add the chunk sums in order.
 *
 * Threads.  A call whose work (elements, times a cost weight) is below
 * NN_PARALLEL_WORK runs on the calling thread alone: tiny tensors are common
 * in training and waking the thread pool costs microseconds.
 */
#ifndef PYDL_NN_COMMON_H
#define PYDL_NN_COMMON_H

#include <stdint.h>

#include "parallel.h"
#include "pydl.h"

#define NN_BLOCK ((int64_t)4096)       /* elements per work item              */
#define NN_MAX_CHUNKS 64               /* chunks of a reduction               */
#define NN_PARALLEL_WORK ((int64_t)1 << 16) /* below this, one thread        */

/* Cost weights: elements of a cheap op (an add, a compare) count 1, those of
 * an op with a transcendental function or a hash count NN_COST_MATH. */
#define NN_COST_CHEAP ((int64_t)1)
#define NN_COST_MATH ((int64_t)8)

/* Threads for a call with `work` weighted elements. */
static inline int nn_threads(int64_t work, int n_threads)
{
    if (work < NN_PARALLEL_WORK) {
        return 1;
    }
    return n_threads > 0 ? n_threads : pydl_threads_get();
}

static inline int64_t nn_min64(int64_t a, int64_t b) { return a < b ? a : b; }

/* Number of NN_BLOCK blocks of n elements. */
static inline int64_t nn_blocks(int64_t n) { return (n + NN_BLOCK - 1) / NN_BLOCK; }

/* A reduction over `items` (elements or rows) with at least `min_items` per
 * chunk: the chunk count (1..NN_MAX_CHUNKS, 0 when items == 0) and, through
 * *per, the items of each chunk but the last. */
static inline int64_t nn_chunks(int64_t items, int64_t min_items, int64_t *per)
{
    if (items <= 0) {
        *per = 0;
        return 0;
    }
    int64_t chunks = (items + min_items - 1) / min_items;
    chunks = chunks < NN_MAX_CHUNKS ? chunks : NN_MAX_CHUNKS;
    *per = (items + chunks - 1) / chunks;
    return (items + *per - 1) / *per;
}

#endif /* PYDL_NN_COMMON_H */
