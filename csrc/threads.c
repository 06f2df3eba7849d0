/* threads.c -- pydl's thread count and OpenMP runtime information. */
#define _GNU_SOURCE
#include "pydl.h"

#ifdef _OPENMP
#include <dlfcn.h>
#include <omp.h>

/* pydl's own setting (0: none), shared by all threads, and OpenMP's default
 * thread count as it was when the library was loaded. */
static int pydl_setting = 0;
static int omp_default = 0;

__attribute__((constructor)) static void read_omp_default(void)
{
    omp_default = omp_get_max_threads();
}

/* OpenMP's thread count is per calling thread.  A thread whose count is
 * still OpenMP's default follows pydl's setting (if any); a thread whose
 * count was changed -- by pydl_threads_set in that thread, or by a tool
 * such as threadpoolctl -- keeps its own. */
int pydl_threads_get(void)
{
    const int here = omp_get_max_threads();
    const int setting = __atomic_load_n(&pydl_setting, __ATOMIC_RELAXED);
    return setting > 0 && here == omp_default ? setting : here;
}

void pydl_threads_set(int n)
{
    if (n >= 1) {
        __atomic_store_n(&pydl_setting, n, __ATOMIC_RELAXED);
        omp_set_num_threads(n);
    }
}

int pydl_threads_setting(void) { return __atomic_load_n(&pydl_setting, __ATOMIC_RELAXED); }

void pydl_threads_restore(int setting, int here)
{
    __atomic_store_n(&pydl_setting, setting > 0 ? setting : 0, __ATOMIC_RELAXED);
    if (here >= 1) {
        omp_set_num_threads(here);
    }
}

int pydl_threads_here(void) { return omp_get_max_threads(); }

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
int pydl_threads_setting(void) { return 0; }
void pydl_threads_restore(int setting, int here) { (void)setting; (void)here; }
int pydl_threads_here(void) { return 1; }
int pydl_openmp_version(void) { return 0; }
const char *pydl_openmp_library(void) { return ""; }

#endif
