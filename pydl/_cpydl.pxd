# Declarations of the C API in csrc/pydl.h, shared by every Cython module.
from libc.stdint cimport int64_t

cdef extern from "pydl.h" nogil:
    ctypedef enum pydl_status:
        PYDL_OK
        PYDL_ERR_NOMEM
        PYDL_ERR_UNSUPPORTED

    ctypedef enum pydl_isa:
        PYDL_ISA_GENERIC
        PYDL_ISA_AVX2
        PYDL_ISA_AVX512
        PYDL_ISA_COUNT

    const char *pydl_isa_name(pydl_isa isa)
    int pydl_isa_supported(pydl_isa isa)
    pydl_isa pydl_isa_best()
    pydl_isa pydl_isa_get()
    int pydl_isa_set(pydl_isa isa)
    const char *pydl_cpu_features()
    const char *pydl_compiler()
    double pydl_cpu_clock_ghz()

    int pydl_threads_get()
    void pydl_threads_set(int n)
    int pydl_openmp_version()
    const char *pydl_openmp_library()

    int pydl_sgemm_batched(int64_t batch, int64_t m, int64_t n, int64_t k, float alpha,
                           const float *a, int64_t bs_a, int64_t rs_a, int64_t cs_a,
                           const float *b, int64_t bs_b, int64_t rs_b, int64_t cs_b,
                           float beta, float *c, int64_t bs_c, int64_t rs_c, int n_threads)
    int pydl_dgemm_batched(int64_t batch, int64_t m, int64_t n, int64_t k, double alpha,
                           const double *a, int64_t bs_a, int64_t rs_a, int64_t cs_a,
                           const double *b, int64_t bs_b, int64_t rs_b, int64_t cs_b,
                           double beta, double *c, int64_t bs_c, int64_t rs_c, int n_threads)
