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
    int pydl_threads_setting()
    int pydl_threads_here()
    void pydl_threads_restore(int setting, int here)
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

    ctypedef struct pydl_conv2d_params:
        int64_t n, c, h, w
        int64_t k, r, s
        int64_t groups
        int64_t stride_h, stride_w
        int64_t pad_top, pad_left
        int64_t dil_h, dil_w
        int64_t out_h, out_w

    int pydl_sconv2d_fwd(const pydl_conv2d_params *p, const float *x, const float *w,
                         const float *bias, float *y, int n_threads)
    int pydl_dconv2d_fwd(const pydl_conv2d_params *p, const double *x, const double *w,
                         const double *bias, double *y, int n_threads)
    int pydl_sconv2d_bwd_data(const pydl_conv2d_params *p, const float *grad_y,
                              const float *w, float *grad_x, int n_threads)
    int pydl_dconv2d_bwd_data(const pydl_conv2d_params *p, const double *grad_y,
                              const double *w, double *grad_x, int n_threads)
    int pydl_sconv2d_bwd_weight(const pydl_conv2d_params *p, const float *grad_y,
                                const float *x, float *grad_w, float *grad_bias, int n_threads)
    int pydl_dconv2d_bwd_weight(const pydl_conv2d_params *p, const double *grad_y,
                                const double *x, double *grad_w, double *grad_bias,
                                int n_threads)

    ctypedef struct pydl_pool2d_params:
        int64_t planes, h, w
        int64_t kh, kw
        int64_t stride_h, stride_w
        int64_t pad_top, pad_left, pad_bottom, pad_right
        int64_t dil_h, dil_w
        int64_t out_h, out_w

    int pydl_smaxpool2d_fwd(const pydl_pool2d_params *p, const float *x, float *y,
                            int64_t *indices, int n_threads)
    int pydl_dmaxpool2d_fwd(const pydl_pool2d_params *p, const double *x, double *y,
                            int64_t *indices, int n_threads)
    int pydl_smaxpool2d_bwd(const pydl_pool2d_params *p, const float *grad_y,
                            const int64_t *indices, float *grad_x, int n_threads)
    int pydl_dmaxpool2d_bwd(const pydl_pool2d_params *p, const double *grad_y,
                            const int64_t *indices, double *grad_x, int n_threads)
    int pydl_savgpool2d_fwd(const pydl_pool2d_params *p, int count_include_pad,
                            const float *x, float *y, int n_threads)
    int pydl_davgpool2d_fwd(const pydl_pool2d_params *p, int count_include_pad,
                            const double *x, double *y, int n_threads)
    int pydl_savgpool2d_bwd(const pydl_pool2d_params *p, int count_include_pad,
                            const float *grad_y, float *grad_x, int n_threads)
    int pydl_davgpool2d_bwd(const pydl_pool2d_params *p, int count_include_pad,
                            const double *grad_y, double *grad_x, int n_threads)
