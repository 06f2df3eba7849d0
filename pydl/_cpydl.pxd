# Declarations of the C API in csrc/pydl.h, shared by every Cython module.
from libc.stdint cimport int64_t, uint8_t, uint64_t

cdef extern from "pydl.h" nogil:
    ctypedef enum pydl_status:
        PYDL_OK
        PYDL_ERR_NOMEM
        PYDL_ERR_UNSUPPORTED
        PYDL_ERR_INDEX

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
    int pydl_sconv2d_fwd_maxpool2x2(const pydl_conv2d_params *p, const float *x,
                                    const float *w, const float *bias, int relu, float *y,
                                    uint8_t *code, int n_threads)
    int pydl_sconv2d_bwd_maxpool2x2(const pydl_conv2d_params *p, const float *grad_y,
                                    const uint8_t *code, const float *x, const float *w,
                                    float *grad_x, float *grad_w, float *grad_bias,
                                    int n_threads)
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
    int pydl_smaxpool2x2_fwd(int64_t planes, int64_t h, int64_t w, int relu, const float *x,
                             float *y, uint8_t *code, int n_threads)
    int pydl_dmaxpool2x2_fwd(int64_t planes, int64_t h, int64_t w, int relu, const double *x,
                             double *y, uint8_t *code, int n_threads)
    int pydl_smaxpool2x2_bwd(int64_t planes, int64_t h, int64_t w, const float *grad_y,
                             const uint8_t *code, float *grad_x, int n_threads)
    int pydl_dmaxpool2x2_bwd(int64_t planes, int64_t h, int64_t w, const double *grad_y,
                             const uint8_t *code, double *grad_x, int n_threads)
    int pydl_savgpool2d_fwd(const pydl_pool2d_params *p, int count_include_pad,
                            const float *x, float *y, int n_threads)
    int pydl_davgpool2d_fwd(const pydl_pool2d_params *p, int count_include_pad,
                            const double *x, double *y, int n_threads)
    int pydl_savgpool2d_bwd(const pydl_pool2d_params *p, int count_include_pad,
                            const float *grad_y, float *grad_x, int n_threads)
    int pydl_davgpool2d_bwd(const pydl_pool2d_params *p, int count_include_pad,
                            const double *grad_y, double *grad_x, int n_threads)

    # Neural-network layer kernels (csrc/nn/)
    int pydl_srelu_fwd(int64_t n, const float *x, float *y, int n_threads)
    int pydl_drelu_fwd(int64_t n, const double *x, double *y, int n_threads)
    int pydl_srelu_bwd(int64_t n, const float *grad_y, const float *y, float *grad_x,
                       int n_threads)
    int pydl_drelu_bwd(int64_t n, const double *grad_y, const double *y, double *grad_x,
                       int n_threads)
    int pydl_sleaky_relu_fwd(int64_t n, double negative_slope, const float *x, float *y,
                             int n_threads)
    int pydl_dleaky_relu_fwd(int64_t n, double negative_slope, const double *x, double *y,
                             int n_threads)
    int pydl_sleaky_relu_bwd(int64_t n, double negative_slope, const float *grad_y,
                             const float *x, float *grad_x, int n_threads)
    int pydl_dleaky_relu_bwd(int64_t n, double negative_slope, const double *grad_y,
                             const double *x, double *grad_x, int n_threads)
    int pydl_ssigmoid_fwd(int64_t n, const float *x, float *y, int n_threads)
    int pydl_dsigmoid_fwd(int64_t n, const double *x, double *y, int n_threads)
    int pydl_ssigmoid_bwd(int64_t n, const float *grad_y, const float *y, float *grad_x,
                          int n_threads)
    int pydl_dsigmoid_bwd(int64_t n, const double *grad_y, const double *y, double *grad_x,
                          int n_threads)
    int pydl_stanh_fwd(int64_t n, const float *x, float *y, int n_threads)
    int pydl_dtanh_fwd(int64_t n, const double *x, double *y, int n_threads)
    int pydl_stanh_bwd(int64_t n, const float *grad_y, const float *y, float *grad_x,
                       int n_threads)
    int pydl_dtanh_bwd(int64_t n, const double *grad_y, const double *y, double *grad_x,
                       int n_threads)

    int pydl_ssoftmax_fwd(int64_t rows, int64_t cols, const float *x, float *y, int n_threads)
    int pydl_dsoftmax_fwd(int64_t rows, int64_t cols, const double *x, double *y, int n_threads)
    int pydl_ssoftmax_bwd(int64_t rows, int64_t cols, const float *grad_y, const float *y,
                          float *grad_x, int n_threads)
    int pydl_dsoftmax_bwd(int64_t rows, int64_t cols, const double *grad_y, const double *y,
                          double *grad_x, int n_threads)
    int pydl_slog_softmax_fwd(int64_t rows, int64_t cols, const float *x, float *y,
                              int n_threads)
    int pydl_dlog_softmax_fwd(int64_t rows, int64_t cols, const double *x, double *y,
                              int n_threads)
    int pydl_slog_softmax_bwd(int64_t rows, int64_t cols, const float *grad_y, const float *y,
                              float *grad_x, int n_threads)
    int pydl_dlog_softmax_bwd(int64_t rows, int64_t cols, const double *grad_y,
                              const double *y, double *grad_x, int n_threads)

    int pydl_ssoftmax_cross_entropy(int64_t n, int64_t c, const float *logits,
                                    const int64_t *labels, double *loss, float *grad,
                                    int n_threads)
    int pydl_dsoftmax_cross_entropy(int64_t n, int64_t c, const double *logits,
                                    const int64_t *labels, double *loss, double *grad,
                                    int n_threads)
    int pydl_smse_loss(int64_t n, const float *pred, const float *target, double *loss,
                       float *grad, int n_threads)
    int pydl_dmse_loss(int64_t n, const double *pred, const double *target, double *loss,
                       double *grad, int n_threads)
    int pydl_sbinary_cross_entropy_with_logits(int64_t n, const float *logits,
                                               const float *targets, double *loss, float *grad,
                                               int n_threads)
    int pydl_dbinary_cross_entropy_with_logits(int64_t n, const double *logits,
                                               const double *targets, double *loss,
                                               double *grad, int n_threads)

    int pydl_sbias_add_fwd(int64_t n, int64_t c, int64_t s, const float *x, const float *bias,
                           float *y, int n_threads)
    int pydl_dbias_add_fwd(int64_t n, int64_t c, int64_t s, const double *x,
                           const double *bias, double *y, int n_threads)
    int pydl_sbias_add_bwd(int64_t n, int64_t c, int64_t s, const float *grad_y,
                           float *grad_bias, int n_threads)
    int pydl_dbias_add_bwd(int64_t n, int64_t c, int64_t s, const double *grad_y,
                           double *grad_bias, int n_threads)

    int pydl_gather_rows(int64_t rows, int64_t row_bytes, const void *src, int64_t src_rows,
                         const int64_t *index, void *dst, int n_threads)
    int pydl_sdropout_fwd(int64_t n, double p, uint64_t seed, const float *x, float *y,
                          uint8_t *mask, int n_threads)
    int pydl_ddropout_fwd(int64_t n, double p, uint64_t seed, const double *x, double *y,
                          uint8_t *mask, int n_threads)
    int pydl_sdropout_bwd(int64_t n, double p, const float *grad_y, const uint8_t *mask,
                          float *grad_x, int n_threads)
    int pydl_ddropout_bwd(int64_t n, double p, const double *grad_y, const uint8_t *mask,
                          double *grad_x, int n_threads)

    int pydl_sbatch_norm_fwd(int64_t n, int64_t c, int64_t s, const float *x,
                             const float *gamma, const float *beta, float *running_mean,
                             float *running_var, int training, double momentum, double eps,
                             float *y, float *save_mean, float *save_invstd, int n_threads)
    int pydl_dbatch_norm_fwd(int64_t n, int64_t c, int64_t s, const double *x,
                             const double *gamma, const double *beta, double *running_mean,
                             double *running_var, int training, double momentum, double eps,
                             double *y, double *save_mean, double *save_invstd, int n_threads)
    int pydl_sbatch_norm_bwd(int64_t n, int64_t c, int64_t s, const float *grad_y,
                             const float *x, const float *gamma, const float *save_mean,
                             const float *save_invstd, float *grad_x, float *grad_gamma,
                             float *grad_beta, int n_threads)
    int pydl_dbatch_norm_bwd(int64_t n, int64_t c, int64_t s, const double *grad_y,
                             const double *x, const double *gamma, const double *save_mean,
                             const double *save_invstd, double *grad_x, double *grad_gamma,
                             double *grad_beta, int n_threads)

    int pydl_ssgd_update(int64_t n, float *param, const float *grad, float *velocity,
                         double lr, double momentum, double dampening, int nesterov,
                         double weight_decay, int first_step, int n_threads)
    int pydl_dsgd_update(int64_t n, double *param, const double *grad, double *velocity,
                         double lr, double momentum, double dampening, int nesterov,
                         double weight_decay, int first_step, int n_threads)
    int pydl_sadam_update(int64_t n, float *param, const float *grad, float *exp_avg,
                          float *exp_avg_sq, int64_t step, double lr, double beta1,
                          double beta2, double eps, double weight_decay,
                          int decoupled_weight_decay, int n_threads)
    int pydl_dadam_update(int64_t n, double *param, const double *grad, double *exp_avg,
                          double *exp_avg_sq, int64_t step, double lr, double beta1,
                          double beta2, double eps, double weight_decay,
                          int decoupled_weight_decay, int n_threads)
    int pydl_srmsprop_update(int64_t n, float *param, const float *grad, float *square_avg,
                             float *momentum_buffer, double lr, double alpha, double eps,
                             double weight_decay, double momentum, int n_threads)
    int pydl_drmsprop_update(int64_t n, double *param, const double *grad, double *square_avg,
                             double *momentum_buffer, double lr, double alpha, double eps,
                             double weight_decay, double momentum, int n_threads)
