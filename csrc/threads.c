/* threads.c -- pydl's thread count and OpenMP runtime information. */
#define _GNU_SOURCE
#include "pydl.h"

#ifdef _OPENMP
#include <dlfcn.h>
#include <omp.h>

int pydl_threads_get(void) { return omp_get_max_threads(); }

void pydl_threads_set(int n)
{
    if (n >= 1) {
        omp_set_num_threads(n);
    }
}

int pydl_openmp_version(void) { return _OPENMP; }

const char *pydl_openmp_library(void)
{
    Dl_info info;
    if (dladdr((void *)&omp_get_max_threads, &info) && info.dli_fname) {
        return info.dli_fname;
    }
    return "";
}

#else

int pydl_threads_get(void) { return 1; }
void pydl_threads_set(int n) { (void)n; }
int pydl_openmp_version(void) { return 0; }
const char *pydl_openmp_library(void) { return ""; }

#endif
