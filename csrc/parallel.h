/*
 * parallel.h -- the one place kernels touch the OpenMP runtime.
 *
 * Kernels use `#pragma omp ...` freely (ignored in a serial build) but call
 * OpenMP functions only through these guarded helpers, so the library
 * builds and runs, on one thread, without OpenMP.
 */
#ifndef PYDL_PARALLEL_H
#define PYDL_PARALLEL_H

#ifdef _OPENMP
#include <omp.h>
static inline int pydl_omp_thread_num(void) { return omp_get_thread_num(); }
static inline int pydl_omp_num_threads(void) { return omp_get_num_threads(); }
#else
static inline int pydl_omp_thread_num(void) { return 0; }
static inline int pydl_omp_num_threads(void) { return 1; }
#endif

#endif /* PYDL_PARALLEL_H */
