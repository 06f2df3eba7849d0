/*
 * gather.c -- rows of an array gathered by index (pydl.h): the mini-batch
 * of a training epoch, taken from a large array in shuffled order.
 *
 * The rows are copied in parallel (thread t owns a contiguous range of the
 * output rows): random rows of a large array are read at memory latency, so
 * two threads keep twice as many reads in flight.
 */
#include <stdint.h>
#include <string.h>

#include "nn_common.h"
#include "pydl.h"

int pydl_gather_rows(int64_t rows, int64_t row_bytes, const void *src, int64_t src_rows,
                     const int64_t *index, void *dst, int n_threads)
{
    for (int64_t i = 0; i < rows; i++) {
        if (index[i] < 0 || index[i] >= src_rows) {
            return PYDL_ERR_INDEX;
        }
    }
    const int nt = nn_threads(rows * row_bytes, n_threads); /* bytes, as elements */
    const char *s = (const char *)src;
    char *d = (char *)dst;
    (void)nt; /* used only by OpenMP pragmas */
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
    for (int64_t i = 0; i < rows; i++) {
        memcpy(d + i * row_bytes, s + index[i] * row_bytes, (size_t)row_bytes);
    }
    return PYDL_OK;
}
