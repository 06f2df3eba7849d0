/*
 * pydl.h -- the public C API of pydl's CPU kernels.
 *
 * Overview
 * --------
 * pydl is a library of deep-learning kernels for the CPU.  Every kernel is a
 * plain C function over raw pointers with explicit sizes and strides: it
 * allocates nothing the caller can see, prints nothing and keeps no state
 * between calls except reusable per-thread scratch memory (workspace.c).
 *
 * Conventions, stated once:
 *   - Matrices are row-major.  Element (i, j) of a matrix with row stride rs
 *     and column stride cs lives at  p[i*rs + j*cs]  (strides in elements,
 *     not bytes; they may be 0 or negative for the *_strided entry points).
 *     With the BLAS-style entry points the column stride is 1 and the row
 *     stride is the leading dimension ld.
 *   - Sizes and strides are int64_t; thread counts are int.
 *   - n_threads <= 0 means "pydl's default" (pydl_threads_get()).
 *   - Results do not depend on the number of threads: each output element is
 *     computed by exactly one thread, with a reduction order that depends
 *     only on the problem shape and the kernel path (ISA).
 *   - Functions that can fail return an int status: PYDL_OK (0) or a
 *     pydl_status code.  Argument validation is the caller's job (the
 *     Python layer does it); the kernels trust their arguments.
 *
 * Example: C (2x2) = A (2x3) * B (3x2), float32.
 *
 *     float a[6] = {1, 2, 3, 4, 5, 6}, b[6] = {1, 0, 0, 1, 1, 1}, c[4];
 *     pydl_sgemm(PYDL_NO_TRANS, PYDL_NO_TRANS, 2, 2, 3,
 *                1.0f, a, 3, b, 2, 0.0f, c, 2, 0);
 *     // c = {4, 5, 10, 11}
 */
#ifndef PYDL_H
#define PYDL_H

#include <stdint.h>

#if defined(PYDL_BUILDING_LIBRARY)
#define PYDL_API __attribute__((visibility("default")))
#else
#define PYDL_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------
 * Status codes
 * ---------------------------------------------------------------------- */
typedef enum pydl_status {
    PYDL_OK = 0,
    PYDL_ERR_NOMEM = 1,       /* a workspace allocation failed             */
    PYDL_ERR_UNSUPPORTED = 2, /* the CPU or the build lacks what was asked */
    PYDL_ERR_INDEX = 3,       /* an index argument is out of range         */
} pydl_status;

/* ------------------------------------------------------------------------
 * CPU features and kernel paths (cpu.c)
 *
 * Every kernel has a portable C path (GENERIC) and may have paths for wider
 * SIMD instruction sets, compiled in their own source files with their own
 * flags.  The best path the CPU supports is chosen on first use; it can be
 * forced (for tests, or to work around a bug) with pydl_isa_set().
 * ---------------------------------------------------------------------- */
typedef enum pydl_isa {
    PYDL_ISA_GENERIC = 0, /* portable C, any CPU                       */
    PYDL_ISA_AVX2 = 1,    /* x86-64 with AVX2 + FMA                    */
    PYDL_ISA_AVX512 = 2,  /* x86-64 with AVX-512 F/DQ/VL (+AVX2, FMA)  */
    PYDL_ISA_COUNT = 3
} pydl_isa;

/* Name of a path: "generic", "avx2", "avx512"; NULL if out of range. */
PYDL_API const char *pydl_isa_name(pydl_isa isa);
/* 1 if this build has kernels for isa and this CPU (and OS) can run them. */
PYDL_API int pydl_isa_supported(pydl_isa isa);
/* The best supported path. */
PYDL_API pydl_isa pydl_isa_best(void);
/* The path the kernels use now (the best one unless pydl_isa_set was called). */
PYDL_API pydl_isa pydl_isa_get(void);
/* Force a path.  Returns PYDL_ERR_UNSUPPORTED (and changes nothing) when the
 * CPU or the build cannot run it. Not meant to be called while kernels run. */
PYDL_API int pydl_isa_set(pydl_isa isa);
/* Space-separated list of the SIMD features this CPU reports, e.g.
 * "sse2 avx avx2 fma avx512f ...".  Empty on non-x86 builds. */
PYDL_API const char *pydl_cpu_features(void);
/* The core clock in GHz, measured now with a chain of dependent integer adds
 * (one per cycle), for benchmarks' share-of-peak figures; ~0.2 s on one
 * core.  0 where no measurement is implemented (non-x86). */
PYDL_API double pydl_cpu_clock_ghz(void);
/* Compiler that built the library, e.g. "GNU 12.2.0". */
PYDL_API const char *pydl_compiler(void);

/* ------------------------------------------------------------------------
 * Threads (threads.c)
 *
 * pydl's kernels run on OpenMP.  The default thread count is OpenMP's
 * (omp_get_max_threads(): OMP_NUM_THREADS, else all cores) until
 * pydl_threads_set is called; tools such as threadpoolctl that set OpenMP's
 * count in a thread limit pydl in that thread.  Built without OpenMP,
 * everything runs on one thread.
 * ---------------------------------------------------------------------- */
/* Threads a kernel called from this thread with n_threads <= 0 will use:
 * this thread's OpenMP count if it was changed from OpenMP's default (by
 * pydl_threads_set here, or by another tool), else pydl's setting, else
 * OpenMP's default.  (A tool that sets this thread's count to exactly
 * OpenMP's default is indistinguishable from no change.) */
PYDL_API int pydl_threads_get(void);
/* Set pydl's thread count (n >= 1) for every thread, and OpenMP's count for
 * the calling thread; a no-op without OpenMP. */
PYDL_API void pydl_threads_set(int n);
/* pydl's own setting (0 while none was made) and OpenMP's count for the
 * calling thread; pydl_threads_restore puts both back as they were (a
 * setting of 0 returns to following OpenMP), for scoped changes. */
PYDL_API int pydl_threads_setting(void);
PYDL_API int pydl_threads_here(void);
PYDL_API void pydl_threads_restore(int setting, int here);
/* The _OPENMP date the library was built with (e.g. 201511), 0 if serial. */
PYDL_API int pydl_openmp_version(void);
/* File name of the OpenMP runtime library in use ("" if unknown or serial). */
PYDL_API const char *pydl_openmp_library(void);

/* ------------------------------------------------------------------------
 * GEMM (gemm/gemm.c): general matrix-matrix multiply
 *
 *     C = alpha * op(A) * op(B) + beta * C
 *
 * op(X) = X or X^T.  op(A) is m x k, op(B) is k x n, C is m x n.
 * Any sizes, 0 and 1 included.  When beta == 0, C is write-only: it is never
 * read, so it may hold NaN or garbage.  When k == 0 or alpha == 0, C is
 * scaled by beta (set to 0 if beta == 0) and A and B are not read.
 *
 * Algorithm (Goto / BLIS): each thread walks its part of C in nc-wide
 * column blocks, kc-deep slices of k and mc-tall row blocks, packs the
 * slices of A and B into contiguous micro-panels (per-thread scratch reused
 * across calls) and calls the register-blocked micro-kernel of the chosen
 * ISA on each mr x nr tile (block sizes: gemm/gemm_config.c).  Small
 * products (A and B within 1 MiB in float32, 256 KiB in float64; A
 * row-major or transposed, B row-major) skip the packing: an in-place
 * micro-kernel reads both where they lie, with the same arithmetic.  A B
 * too big for the caches (4 MiB or more) is packed a few panels at a time
 * while the first block of A multiplies them, the next few prefetched
 * meanwhile, so that reading it from memory overlaps the arithmetic.  C is
 * split into one rectangle per thread, or, when C is very tall, into row ranges
 * with the packed blocks of B shared by the team.  Problems below a size
 * threshold run on one thread, so tiny calls never pay for waking the
 * thread pool.  Thread ownership: thread t owns its rectangle (or rows) of
 * C and is the only one that writes it.
 * ---------------------------------------------------------------------- */
typedef enum pydl_trans {
    PYDL_NO_TRANS = 0,
    PYDL_TRANS = 1
} pydl_trans;

/* BLAS-style, row-major: A is m x k (lda >= k) when trans_a == NO_TRANS and
 * k x m (lda >= m) when TRANS; likewise B; C is m x n with ldc >= n. */
PYDL_API int pydl_sgemm(pydl_trans trans_a, pydl_trans trans_b,
                        int64_t m, int64_t n, int64_t k,
                        float alpha, const float *a, int64_t lda,
                        const float *b, int64_t ldb,
                        float beta, float *c, int64_t ldc, int n_threads);
PYDL_API int pydl_dgemm(pydl_trans trans_a, pydl_trans trans_b,
                        int64_t m, int64_t n, int64_t k,
                        double alpha, const double *a, int64_t lda,
                        const double *b, int64_t ldb,
                        double beta, double *c, int64_t ldc, int n_threads);

/* General strides: op(A)(i, p) = a[i*rs_a + p*cs_a], op(B)(p, j) =
 * b[p*rs_b + j*cs_b], C(i, j) = c[i*rs_c + j] (C's columns are contiguous).
 * Transposition is expressed by swapping a matrix's two strides. */
PYDL_API int pydl_sgemm_strided(int64_t m, int64_t n, int64_t k, float alpha,
                                const float *a, int64_t rs_a, int64_t cs_a,
                                const float *b, int64_t rs_b, int64_t cs_b,
                                float beta, float *c, int64_t rs_c,
                                int n_threads);
PYDL_API int pydl_dgemm_strided(int64_t m, int64_t n, int64_t k, double alpha,
                                const double *a, int64_t rs_a, int64_t cs_a,
                                const double *b, int64_t rs_b, int64_t cs_b,
                                double beta, double *c, int64_t rs_c,
                                int n_threads);

/* Batched: for t in [0, batch):  C_t = alpha * A_t * B_t + beta * C_t, where
 * X_t starts at x + t*bs_x (bs_x may be 0 to broadcast one matrix over the
 * batch; bs_c must not be 0 when batch > 1).  Each C_t is computed exactly as
 * the single call would compute it. */
PYDL_API int pydl_sgemm_batched(int64_t batch, int64_t m, int64_t n, int64_t k,
                                float alpha,
                                const float *a, int64_t bs_a, int64_t rs_a, int64_t cs_a,
                                const float *b, int64_t bs_b, int64_t rs_b, int64_t cs_b,
                                float beta, float *c, int64_t bs_c, int64_t rs_c,
                                int n_threads);
PYDL_API int pydl_dgemm_batched(int64_t batch, int64_t m, int64_t n, int64_t k,
                                double alpha,
                                const double *a, int64_t bs_a, int64_t rs_a, int64_t cs_a,
                                const double *b, int64_t bs_b, int64_t rs_b, int64_t cs_b,
                                double beta, double *c, int64_t bs_c, int64_t rs_c,
                                int n_threads);

/* ------------------------------------------------------------------------
 * 2-D convolution (conv/conv2d.c), NCHW
 *
 *   y[n, k, oh, ow] = bias[k] + sum_{c, r, s} w[k, c, r, s] *
 *                     x[n, g*Cg + c, oh*sh - pt + r*dh, ow*sw - pl + s*dw]
 *
 * a cross-correlation (as in PyTorch and ONNX), where g = k / Kg is the
 * group of output channel k, Cg = C / groups, Kg = K / groups, and x reads
 * as 0 outside the image (padding).  Shapes: x (N, C, H, W), w (K, Cg, R, S),
 * bias (K), y (N, K, out_h, out_w); all C-contiguous.  The bottom and right
 * padding are implied by out_h and out_w.
 *
 * Algorithm: im2col + GEMM.  The (Cg*R*S) x (out_h*out_w) im2col matrix of
 * an image group is built in blocks of output positions of about 1 MiB
 * (forward and backward-data), each consumed by the GEMM while still in
 * cache, in per-thread workspaces of bounded size.  Small images go several
 * to a block and one GEMM: one block per thread, its share of the batch, up
 * to 8 MiB of im2col, as every block's GEMM packs the weights again.  The weight
 * gradient builds whole images' matrices.  1x1 stride-1 unpadded
 * convolutions skip im2col (a plain GEMM; for one group and images of at
 * most 64 positions, one batched GEMM over the images, whose weights each
 * thread packs once).  Threads take whole images or blocks when there are
 * enough of them, else they share each GEMM.  Thread ownership: an image's
 * (or block's) outputs are written by the thread that owns it; the weight
 * gradient is summed over at most 8 fixed chunks of images (per-chunk
 * buffers) and the chunks are added in order, so results are identical on
 * any number of threads.
 *
 * float32 layers with few channels per group (LeNet-sized, depthwise) take
 * direct kernels instead (conv/conv_direct.c): the input is copied into
 * zero-padded planes and register-blocked kernels, compiled per kernel
 * path, accumulate each output over (c, r, s) in order, with the columns
 * or the output channels in the vector lanes.  All passes: at most 32
 * output channels and 1024 taps (C/groups*R*S) per group, unit column
 * stride, not 1x1 stride 1, padded copies of one image within 8 MiB per
 * thread; data gradient: also stride 1, at least one vector of input
 * channels per group, pad_top <= (R-1)*dh and pad_left <= (S-1)*dw;
 * weight gradient: kernel width <= 7.  On kernel paths with wide kernels
 * (avx512), layers with more than 32 output channels per group take direct
 * kernels too (forward and weight gradient; the data gradient when it has
 * more than 32 input channels per group), with any column stride, kernels
 * larger than 1x1 and up to 2304 taps per group (the forward only for
 * output rows of at least 8; shorter ones go faster by im2col + GEMM): two zmm of output channels
 * in the lanes times up to 14 output positions (forward) or up to 12 taps
 * (weight gradient: 4 channels x 3 columns, 2 x 5, or the kernel width).
 * float32 3x3 stride-1 convolutions without dilation or groups, with at
 * least 64 input and 64 output channels and C*K <= 512*512, take Winograd's F(2x2, 3x3)
 * instead, all three passes (conv/conv_winograd.h): 16 GEMMs over
 * transformed 4x4 tiles, 2.25x fewer multiply-adds; the weight gradient
 * sums the tiles in 4 fixed groups, added in order; rounding errors stay
 * within a few times those of the direct sum, but an infinite input gives
 * NaN (not inf) in the outputs whose windows hold it.
 * On the avx512 path, float32 layers of at least 32 images with few
 * channels (C*K <= 1024, one group) take the batch-in-lanes kernels
 * (conv/conv_lanes.h) before the direct ones: 16 images are interleaved
 * element by element, so one zmm holds one element of 16 images and every
 * multiply-add serves them all with one broadcast weight.  Forward, the
 * weight gradient (kernel width <= 7; each group of 16 images summed by
 * one thread, the groups added in order; the bias gradient summed in
 * double from the same interleaved grad_y, also when it is asked for
 * alone) and, at stride 1, the data
 * gradient (a forward pass over grad_y with the filters flipped); passes
 * with fewer than 64 multiply-adds per source element (K*R*S, or C*R*S for
 * the data gradient) only while their source is at most 2 MiB.  Each
 * output is summed over (c, r, s) in order, as in the direct kernels, but
 * over the taps that can read the input only: taps whose rows (or, for a
 * whole block of positions, columns) lie in the padding are skipped, where
 * the other kernels multiply by the padding's zeros.  So a NaN or inf weight
 * (or, in the weight gradient, grad_y element) that meets only padding
 * gives NaN on those kernels and nothing here; NaN and inf in x (and in
 * grad_y for the data gradient) reach the same outputs on every path.
 * The choice
 * depends only on the shapes and the kernel path, never on the thread count.
 * ---------------------------------------------------------------------- */
typedef struct pydl_conv2d_params {
    int64_t n, c, h, w;      /* input (N, C, H, W)                 */
    int64_t k, r, s;         /* weight (K, C/groups, R, S)         */
    int64_t groups;          /* C and K are multiples of it        */
    int64_t stride_h, stride_w;
    int64_t pad_top, pad_left;
    int64_t dil_h, dil_w;
    int64_t out_h, out_w;    /* output (N, K, out_h, out_w)        */
} pydl_conv2d_params;

/* y = conv(x, w) + bias (bias may be NULL). */
PYDL_API int pydl_sconv2d_fwd(const pydl_conv2d_params *p, const float *x, const float *w,
                              const float *bias, float *y, int n_threads);
PYDL_API int pydl_dconv2d_fwd(const pydl_conv2d_params *p, const double *x, const double *w,
                              const double *bias, double *y, int n_threads);
/* grad_x = d(sum grad_y * y) / dx, shape of x (overwritten). */
PYDL_API int pydl_sconv2d_bwd_data(const pydl_conv2d_params *p, const float *grad_y,
                                   const float *w, float *grad_x, int n_threads);
PYDL_API int pydl_dconv2d_bwd_data(const pydl_conv2d_params *p, const double *grad_y,
                                   const double *w, double *grad_x, int n_threads);
/* grad_w (shape of w) and grad_bias (K), overwritten; either may be NULL
 * (not computed). */
PYDL_API int pydl_sconv2d_bwd_weight(const pydl_conv2d_params *p, const float *grad_y,
                                     const float *x, float *grad_w, float *grad_bias,
                                     int n_threads);
PYDL_API int pydl_dconv2d_bwd_weight(const pydl_conv2d_params *p, const double *grad_y,
                                     const double *x, double *grad_w, double *grad_bias,
                                     int n_threads);

/* The forward pass, then (relu != 0) ReLU, then 2x2 stride-2 max pooling
 * with one-byte codes, in one pass: y (N, K, out_h/2, out_w/2) and code
 * (same shape) are what pydl_smaxpool2x2_fwd(relu) gives on the output of
 * pydl_sconv2d_fwd, bit for bit, without writing that output (the
 * Conv2D -> ReLU -> MaxPool2D step of a Sequential).  Only where the
 * batch-in-lanes kernels take the layer (the avx512 path, at least 32
 * images, few channels): elsewhere it returns PYDL_ERR_UNSUPPORTED and
 * writes nothing (run the two calls instead). */
PYDL_API int pydl_sconv2d_fwd_maxpool2x2(const pydl_conv2d_params *p, const float *x,
                                         const float *w, const float *bias, int relu, float *y,
                                         uint8_t *code, int n_threads);
/* Its backward: grad_y and code are pooled ((N, K, out_h/2, out_w/2), from
 * pydl_sconv2d_fwd_maxpool2x2); grad_x, grad_w and grad_bias (each may be
 * NULL: not computed) are what pydl_sconv2d_bwd_data and
 * pydl_sconv2d_bwd_weight give, bit for bit, on the full-size gradient that
 * pydl_smaxpool2x2_bwd makes of them, without writing it.  Only where the
 * batch-in-lanes kernels take both gradients asked for: elsewhere it returns
 * PYDL_ERR_UNSUPPORTED and writes nothing (also when another thread changes
 * the kernel path during the call, then perhaps after writing grad_x). */
PYDL_API int pydl_sconv2d_bwd_maxpool2x2(const pydl_conv2d_params *p, const float *grad_y,
                                         const uint8_t *code, const float *x, const float *w,
                                         float *grad_x, float *grad_w, float *grad_bias,
                                         int n_threads);

/* ------------------------------------------------------------------------
 * 2-D pooling (pool/pool2d.c), NCHW
 *
 * Window (oh, ow) covers input rows oh*sh - pt + i*dh (i < kh) and columns
 * ow*sw - pl + j*dw (j < kw).  planes = N*C; each (h x w) input plane maps
 * to an (out_h x out_w) output plane.  Thread ownership: thread t owns whole
 * planes (inputs and outputs), so results do not depend on the thread count.
 * ---------------------------------------------------------------------- */
typedef struct pydl_pool2d_params {
    int64_t planes, h, w;
    int64_t kh, kw;
    int64_t stride_h, stride_w;
    int64_t pad_top, pad_left, pad_bottom, pad_right;
    int64_t dil_h, dil_w;
    int64_t out_h, out_w;
} pydl_pool2d_params;

/* Max pooling: y = max over the window's input elements (padding is -inf;
 * a NaN in the window gives NaN, the first NaN in row-major window order).
 * If indices is not NULL it receives the flat index ih*w + iw of the chosen
 * element in its input plane: ties go to the first element in row-major
 * window order, and a window holding a NaN gives the first NaN's index.  The
 * value is the same with and without indices (bit for bit for 2x2 windows
 * of horizontal stride 2; otherwise up to the sign of a zero and a NaN's
 * payload: among equal values the path without indices, which reduces the
 * window's rows first, may keep another one).  Every window must hold at
 * least one input element (the Python layer checks).  Algorithm: per output
 * row, the taps are taken over a chunk of outputs at a time with
 * branch-free selects (2x2 stride-2 windows in one pass); clipped edge
 * windows one at a time.  Without indices, the window's rows are reduced
 * first, and float windows 3 columns wide at column stride 2 (at most 3
 * rows) go through the path's vector row kernel where there is one
 * (pool/pool_vec.h); a row holding a NaN is redone with the NaN rule.
 * Returns PYDL_ERR_NOMEM if the row buffer of the path without indices
 * cannot be had. */
PYDL_API int pydl_smaxpool2d_fwd(const pydl_pool2d_params *p, const float *x, float *y,
                                 int64_t *indices, int n_threads);
PYDL_API int pydl_dmaxpool2d_fwd(const pydl_pool2d_params *p, const double *x, double *y,
                                 int64_t *indices, int n_threads);
/* grad_x[plane][indices[o]] += grad_y[o] for every output o of the plane;
 * grad_x is overwritten (zeroed first).  Overlapping windows accumulate in
 * output order.  Every index is checked first: if one lies outside
 * [0, h*w), grad_x is not written and PYDL_ERR_INDEX is returned. */
PYDL_API int pydl_smaxpool2d_bwd(const pydl_pool2d_params *p, const float *grad_y,
                                 const int64_t *indices, float *grad_x, int n_threads);
PYDL_API int pydl_dmaxpool2d_bwd(const pydl_pool2d_params *p, const double *grad_y,
                                 const int64_t *indices, double *grad_x, int n_threads);
/* 2x2 max pooling at stride 2 without padding, with a compact in-window
 * code (pool/maxpool2x2.c): the pooling layer's path, which keeps one byte
 * per output for its backward instead of an int64 index.  x is planes
 * planes of h x w (h, w >= 2); y and code are planes x (h/2) x (w/2)
 * (an odd last row or column lies in no window).  Window (i, j) takes the
 * maximum of x[2i][2j], x[2i][2j+1], x[2i+1][2j], x[2i+1][2j+1] (taps 0 to
 * 3) with the tie and NaN rule of pydl_smaxpool2d_fwd, and code = the tap
 * chosen.  With relu != 0, y = relu(max) as pydl_srelu_fwd gives, and code =
 * 4 where max is not > 0 (ReLU passes no gradient there).
 * Backward: grad_x is overwritten: 0 + grad_y[o] at the tap of window o,
 * +0 everywhere else (also at every tap of a window of code 4 or more).
 * So the pair gives, bit for bit, what pydl_smaxpool2d_fwd with indices and
 * pydl_smaxpool2d_bwd give (after pydl_srelu_fwd / pydl_srelu_bwd on y for
 * relu != 0).  Thread t owns a contiguous range of the output rows and the
 * two input rows under each (plus a plane's odd last row). */
PYDL_API int pydl_smaxpool2x2_fwd(int64_t planes, int64_t h, int64_t w, int relu,
                                  const float *x, float *y, uint8_t *code, int n_threads);
PYDL_API int pydl_dmaxpool2x2_fwd(int64_t planes, int64_t h, int64_t w, int relu,
                                  const double *x, double *y, uint8_t *code, int n_threads);
PYDL_API int pydl_smaxpool2x2_bwd(int64_t planes, int64_t h, int64_t w, const float *grad_y,
                                  const uint8_t *code, float *grad_x, int n_threads);
PYDL_API int pydl_dmaxpool2x2_bwd(int64_t planes, int64_t h, int64_t w, const double *grad_y,
                                  const uint8_t *code, double *grad_x, int n_threads);
/* Average pooling: y = sum of the window's input elements / divisor, where
 * divisor counts the window positions inside the padded input
 * (count_include_pad != 0) or inside the input only. */
PYDL_API int pydl_savgpool2d_fwd(const pydl_pool2d_params *p, int count_include_pad,
                                 const float *x, float *y, int n_threads);
PYDL_API int pydl_davgpool2d_fwd(const pydl_pool2d_params *p, int count_include_pad,
                                 const double *x, double *y, int n_threads);
/* grad_x = sum over windows of grad_y / divisor (overwritten). */
PYDL_API int pydl_savgpool2d_bwd(const pydl_pool2d_params *p, int count_include_pad,
                                 const float *grad_y, float *grad_x, int n_threads);
PYDL_API int pydl_davgpool2d_bwd(const pydl_pool2d_params *p, int count_include_pad,
                                 const double *grad_y, double *grad_x, int n_threads);

/* ------------------------------------------------------------------------
 * Neural-network layer kernels (nn/): activations, softmax, losses, bias,
 * dropout, batch normalisation, optimizer updates
 *
 * Shared rules.  Every array is C-contiguous.  Element-wise functions take
 * n elements of any tensor; "an output may be an input" means the output
 * pointer may equal one of the input pointers (exactly, not a partial
 * overlap).  Work is split into fixed blocks of 4096 elements, whole rows or
 * whole channels, and a reduction sums in double in an order fixed by the
 * shape (losses: at most 64 chunks of rows or elements, each summed in
 * order, then the chunks in order), so results are bitwise identical on any
 * number of threads.  Calls with little work (about 64K elements, fewer for
 * ops with exp/tanh) run on the calling thread only.  Scalar parameters are
 * doubles, rounded to the element type where they multiply elements.
 * Thread ownership: thread t owns whole blocks (element-wise ops, dropout,
 * optimizers), whole rows (softmax), whole chunks of rows or elements
 * (losses), whole row blocks, planes or channels (bias), whole channels
 * (batch norm).  Every function returns PYDL_OK.  Float exponentials and
 * tanh (sigmoid, tanh, softmax, log-softmax) are pydl's own branch-free,
 * vectorised ones (relative error about 1e-7; a path, e.g. avx512, may
 * differ from another in the last bit, never a thread count from another);
 * double uses libm.
 * ---------------------------------------------------------------------- */

/* ReLU: y = max(x, 0) (NaN stays NaN); backward from the output:
 * grad_x = grad_y where y > 0, else 0.  Output may be an input. */
PYDL_API int pydl_srelu_fwd(int64_t n, const float *x, float *y, int n_threads);
PYDL_API int pydl_drelu_fwd(int64_t n, const double *x, double *y, int n_threads);
PYDL_API int pydl_srelu_bwd(int64_t n, const float *grad_y, const float *y, float *grad_x,
                            int n_threads);
PYDL_API int pydl_drelu_bwd(int64_t n, const double *grad_y, const double *y, double *grad_x,
                            int n_threads);

/* Leaky ReLU: y = x if x > 0 else negative_slope * x; backward from the
 * input: grad_x = grad_y if x > 0 else negative_slope * grad_y. */
PYDL_API int pydl_sleaky_relu_fwd(int64_t n, double negative_slope, const float *x, float *y,
                                  int n_threads);
PYDL_API int pydl_dleaky_relu_fwd(int64_t n, double negative_slope, const double *x, double *y,
                                  int n_threads);
PYDL_API int pydl_sleaky_relu_bwd(int64_t n, double negative_slope, const float *grad_y,
                                  const float *x, float *grad_x, int n_threads);
PYDL_API int pydl_dleaky_relu_bwd(int64_t n, double negative_slope, const double *grad_y,
                                  const double *x, double *grad_x, int n_threads);

/* Sigmoid: y = 1 / (1 + exp(-x)), computed from e = exp(-|x|) as 1/(1+e)
 * (x >= 0) or e/(1+e) (x < 0), so no exp overflows; backward from the
 * output: grad_x = grad_y * y * (1 - y). */
PYDL_API int pydl_ssigmoid_fwd(int64_t n, const float *x, float *y, int n_threads);
PYDL_API int pydl_dsigmoid_fwd(int64_t n, const double *x, double *y, int n_threads);
PYDL_API int pydl_ssigmoid_bwd(int64_t n, const float *grad_y, const float *y, float *grad_x,
                               int n_threads);
PYDL_API int pydl_dsigmoid_bwd(int64_t n, const double *grad_y, const double *y, double *grad_x,
                               int n_threads);

/* tanh: y = tanh(x); backward from the output: grad_x = grad_y * (1 - y^2). */
PYDL_API int pydl_stanh_fwd(int64_t n, const float *x, float *y, int n_threads);
PYDL_API int pydl_dtanh_fwd(int64_t n, const double *x, double *y, int n_threads);
PYDL_API int pydl_stanh_bwd(int64_t n, const float *grad_y, const float *y, float *grad_x,
                            int n_threads);
PYDL_API int pydl_dtanh_bwd(int64_t n, const double *grad_y, const double *y, double *grad_x,
                            int n_threads);

/* Softmax over each row of a (rows, cols) matrix (the last axis of a
 * tensor): y[r, j] = exp(x[r, j] - m_r) / sum_k exp(x[r, k] - m_r), m_r the
 * row maximum (so no exp overflows; a NaN or +inf in a row gives NaN).
 * Backward from the output: grad_x = y * (grad_y - sum_k grad_y[k] y[k]). */
PYDL_API int pydl_ssoftmax_fwd(int64_t rows, int64_t cols, const float *x, float *y,
                               int n_threads);
PYDL_API int pydl_dsoftmax_fwd(int64_t rows, int64_t cols, const double *x, double *y,
                               int n_threads);
PYDL_API int pydl_ssoftmax_bwd(int64_t rows, int64_t cols, const float *grad_y, const float *y,
                               float *grad_x, int n_threads);
PYDL_API int pydl_dsoftmax_bwd(int64_t rows, int64_t cols, const double *grad_y,
                               const double *y, double *grad_x, int n_threads);
/* Log-softmax per row: y = (x - m_r) - log(sum_k exp(x[r, k] - m_r));
 * backward from the output: grad_x = grad_y - exp(y) * sum_k grad_y[k]. */
PYDL_API int pydl_slog_softmax_fwd(int64_t rows, int64_t cols, const float *x, float *y,
                                   int n_threads);
PYDL_API int pydl_dlog_softmax_fwd(int64_t rows, int64_t cols, const double *x, double *y,
                                   int n_threads);
PYDL_API int pydl_slog_softmax_bwd(int64_t rows, int64_t cols, const float *grad_y,
                                   const float *y, float *grad_x, int n_threads);
PYDL_API int pydl_dlog_softmax_bwd(int64_t rows, int64_t cols, const double *grad_y,
                                   const double *y, double *grad_x, int n_threads);

/* Softmax cross-entropy, forward and backward in one pass: logits (n, c),
 * labels (n) in [0, c) (the caller checks), n >= 1:
 *     *loss = (1/n) sum_i [ log sum_j exp(logits[i, j]) - logits[i, labels[i]] ]
 *     grad[i, j] = (softmax(logits)[i, j] - (j == labels[i])) / n
 * computed with the row maximum subtracted (finite for any finite logits).
 * grad (n, c) may be logits. */
PYDL_API int pydl_ssoftmax_cross_entropy(int64_t n, int64_t c, const float *logits,
                                         const int64_t *labels, double *loss, float *grad,
                                         int n_threads);
PYDL_API int pydl_dsoftmax_cross_entropy(int64_t n, int64_t c, const double *logits,
                                         const int64_t *labels, double *loss, double *grad,
                                         int n_threads);
/* Mean squared error over n >= 1 elements: *loss = (1/n) sum (pred - target)^2,
 * grad = 2 (pred - target) / n.  grad may be pred or target. */
PYDL_API int pydl_smse_loss(int64_t n, const float *pred, const float *target, double *loss,
                            float *grad, int n_threads);
PYDL_API int pydl_dmse_loss(int64_t n, const double *pred, const double *target, double *loss,
                            double *grad, int n_threads);
/* Binary cross-entropy on logits x with targets t, n >= 1 elements:
 *     *loss = (1/n) sum [ max(x, 0) - x t + log1p(exp(-|x|)) ]
 *     grad = (sigmoid(x) - t) / n
 * (stable for any x).  grad may be logits or targets. */
PYDL_API int pydl_sbinary_cross_entropy_with_logits(int64_t n, const float *logits,
                                                    const float *targets, double *loss,
                                                    float *grad, int n_threads);
PYDL_API int pydl_dbinary_cross_entropy_with_logits(int64_t n, const double *logits,
                                                    const double *targets, double *loss,
                                                    double *grad, int n_threads);

/* Bias over axis 1 of x (n, c, s), s = product of the trailing (spatial)
 * sizes, 1 for a matrix: y[r, ch, i] = x[r, ch, i] + bias[ch] (y may be x).
 * Backward: grad_bias[ch] = sum over r and i of grad_y[r, ch, i], summed in
 * double (rows in order for s == 1; else planes r = 0.. in order, each plane
 * in four interleaved partial sums). */
PYDL_API int pydl_sbias_add_fwd(int64_t n, int64_t c, int64_t s, const float *x,
                                const float *bias, float *y, int n_threads);
PYDL_API int pydl_dbias_add_fwd(int64_t n, int64_t c, int64_t s, const double *x,
                                const double *bias, double *y, int n_threads);
PYDL_API int pydl_sbias_add_bwd(int64_t n, int64_t c, int64_t s, const float *grad_y,
                                float *grad_bias, int n_threads);
PYDL_API int pydl_dbias_add_bwd(int64_t n, int64_t c, int64_t s, const double *grad_y,
                                double *grad_bias, int n_threads);

/* Rows gathered by index: dst row i = src row index[i] (rows of row_bytes
 * bytes; src has src_rows of them), for i < rows.  Every index is checked
 * first: if one lies outside [0, src_rows), dst is not written and
 * PYDL_ERR_INDEX is returned.  Thread t owns a range of dst rows. */
PYDL_API int pydl_gather_rows(int64_t rows, int64_t row_bytes, const void *src, int64_t src_rows,
                              const int64_t *index, void *dst, int n_threads);

/* Inverted dropout, 0 <= p < 1: mask[i] = 1 (kept) or 0, y[i] = x[i] * mask[i]
 * * (1 / (1 - p)) (y may be x).  The stream is counter-based: with
 * splitmix64(z) the first output of a SplitMix64 generator of state z,
 * key = splitmix64(seed) and h_i = splitmix64(key + i * 0x9E3779B97F4A7C15)
 * (output i of the generator of state key), element i is kept iff
 * (h_i >> 11) >= ceil(p * 2^53).  The mask depends only on (seed, i, p).
 * Backward: grad_x = grad_y * mask / (1 - p) (grad_x may be grad_y). */
PYDL_API int pydl_sdropout_fwd(int64_t n, double p, uint64_t seed, const float *x, float *y,
                               uint8_t *mask, int n_threads);
PYDL_API int pydl_ddropout_fwd(int64_t n, double p, uint64_t seed, const double *x, double *y,
                               uint8_t *mask, int n_threads);
PYDL_API int pydl_sdropout_bwd(int64_t n, double p, const float *grad_y, const uint8_t *mask,
                               float *grad_x, int n_threads);
PYDL_API int pydl_ddropout_bwd(int64_t n, double p, const double *grad_y, const uint8_t *mask,
                               double *grad_x, int n_threads);

/* Batch normalisation over axis 1 of x (n, c, s) (s = H*W, or 1), with
 * m = n*s elements per channel:
 *   training != 0: mean_c and var_c = the batch mean and biased variance of
 *     channel c (two passes, in double); running_mean and running_var (c),
 *     if not NULL, become (1 - momentum) * running + momentum * batch, with
 *     the unbiased variance var_c * m / (m - 1) (m >= 2; the caller checks);
 *   training == 0: mean_c = running_mean[c], var_c = running_var[c].
 *   y = (x - mean_c) * invstd_c * gamma[c] + beta[c], invstd_c =
 *   1 / sqrt(var_c + eps); gamma / beta NULL mean 1 / 0.
 *   save_mean[c] = mean_c and save_invstd[c] = invstd_c.  y may be x.
 * Backward (training mode), from save_mean and save_invstd:
 *   xhat = (x - mean_c) * invstd_c
 *   grad_beta[c]  = sum grad_y,   grad_gamma[c] = sum grad_y * xhat
 *   grad_x = gamma[c] * invstd_c * (grad_y - grad_beta[c] / m
 *                                   - xhat * grad_gamma[c] / m)
 *   Any of grad_x, grad_gamma, grad_beta may be NULL (not computed);
 *   grad_x may be grad_y or x. */
PYDL_API int pydl_sbatch_norm_fwd(int64_t n, int64_t c, int64_t s, const float *x,
                                  const float *gamma, const float *beta, float *running_mean,
                                  float *running_var, int training, double momentum, double eps,
                                  float *y, float *save_mean, float *save_invstd, int n_threads);
PYDL_API int pydl_dbatch_norm_fwd(int64_t n, int64_t c, int64_t s, const double *x,
                                  const double *gamma, const double *beta, double *running_mean,
                                  double *running_var, int training, double momentum, double eps,
                                  double *y, double *save_mean, double *save_invstd,
                                  int n_threads);
PYDL_API int pydl_sbatch_norm_bwd(int64_t n, int64_t c, int64_t s, const float *grad_y,
                                  const float *x, const float *gamma, const float *save_mean,
                                  const float *save_invstd, float *grad_x, float *grad_gamma,
                                  float *grad_beta, int n_threads);
PYDL_API int pydl_dbatch_norm_bwd(int64_t n, int64_t c, int64_t s, const double *grad_y,
                                  const double *x, const double *gamma, const double *save_mean,
                                  const double *save_invstd, double *grad_x, double *grad_gamma,
                                  double *grad_beta, int n_threads);

/* Optimizer steps, in place on n-element buffers, PyTorch's single-tensor
 * algorithms (torch.optim), in the element type's arithmetic:
 *
 * SGD: g = grad + weight_decay * param; if momentum != 0:
 *   velocity = g on the first step, else momentum * velocity + (1 - dampening) * g,
 *   and g = g + momentum * velocity (nesterov) or velocity;
 *   param = param - lr * g.  velocity is not touched (may be NULL) when
 *   momentum == 0.
 * Adam (step >= 1 counts this update): if weight_decay != 0, param *= 1 -
 *   lr * weight_decay (decoupled, AdamW) or g = grad + weight_decay * param;
 *   exp_avg = lerp(exp_avg, g, 1 - beta1); exp_avg_sq = beta2 * exp_avg_sq +
 *   (1 - beta2) g^2; param -= lr / (1 - beta1^step) * exp_avg /
 *   (sqrt(exp_avg_sq) / sqrt(1 - beta2^step) + eps).
 * RMSprop: g = grad + weight_decay * param; square_avg = alpha * square_avg +
 *   (1 - alpha) g^2; avg = sqrt(square_avg) + eps; if momentum > 0:
 *   momentum_buffer = momentum * momentum_buffer + g / avg, param -= lr *
 *   momentum_buffer; else param -= lr * g / avg (momentum_buffer may then be
 *   NULL). */
PYDL_API int pydl_ssgd_update(int64_t n, float *param, const float *grad, float *velocity,
                              double lr, double momentum, double dampening, int nesterov,
                              double weight_decay, int first_step, int n_threads);
PYDL_API int pydl_dsgd_update(int64_t n, double *param, const double *grad, double *velocity,
                              double lr, double momentum, double dampening, int nesterov,
                              double weight_decay, int first_step, int n_threads);
PYDL_API int pydl_sadam_update(int64_t n, float *param, const float *grad, float *exp_avg,
                               float *exp_avg_sq, int64_t step, double lr, double beta1,
                               double beta2, double eps, double weight_decay,
                               int decoupled_weight_decay, int n_threads);
PYDL_API int pydl_dadam_update(int64_t n, double *param, const double *grad, double *exp_avg,
                               double *exp_avg_sq, int64_t step, double lr, double beta1,
                               double beta2, double eps, double weight_decay,
                               int decoupled_weight_decay, int n_threads);
PYDL_API int pydl_srmsprop_update(int64_t n, float *param, const float *grad, float *square_avg,
                                  float *momentum_buffer, double lr, double alpha, double eps,
                                  double weight_decay, double momentum, int n_threads);
PYDL_API int pydl_drmsprop_update(int64_t n, double *param, const double *grad,
                                  double *square_avg, double *momentum_buffer, double lr,
                                  double alpha, double eps, double weight_decay, double momentum,
                                  int n_threads);

#ifdef __cplusplus
}
#endif
#endif /* PYDL_H */
