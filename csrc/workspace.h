/*
 * workspace.h -- per-thread scratch memory reused across kernel calls.
 *
 * A page fault costs microseconds on the VMs pydl runs on, so kernels never
 * allocate multi-MB buffers per call: each OS thread (Python thread or
 * OpenMP worker) owns one buffer per slot, grown on demand, kept for the
 * next call and freed when the thread exits.
 */
#ifndef PYDL_WORKSPACE_H
#define PYDL_WORKSPACE_H

#include <stddef.h>

typedef enum pydl_ws_slot {
    PYDL_WS_GEMM_A = 0, /* packed block of A */
    PYDL_WS_GEMM_B = 1, /* packed block of B */
    PYDL_WS_CONV_COL = 2, /* im2col matrix of one image; Winograd input transforms */
    PYDL_WS_CONV_PARTS = 3, /* per-chunk weight gradients (convolution) */
    PYDL_WS_POOL_ROW = 4, /* one reduced input row and its halves (pooling) */
    PYDL_WS_CONV_OUT = 5, /* GEMM output of a block of small images; Winograd products */
    PYDL_WS_WG_FILTERS = 6, /* Winograd filter transforms (convolution) */
    PYDL_WS_WG_ROWS = 7, /* Winograd row transforms and edge rows */
    PYDL_WS_CL_GRAD = 8, /* grad_y with the batch in lanes (convolution weight gradient) */
    PYDL_WS_WG_PACKED = 9, /* Winograd filter transforms packed for the GEMM */
    PYDL_WS_COUNT = 10
} pydl_ws_slot;

/* A 64-byte-aligned buffer of at least `bytes` bytes owned by the calling
 * thread, or NULL if memory is exhausted.  Contents are not preserved across
 * calls that grow it. */
void *pydl_workspace(pydl_ws_slot slot, size_t bytes);

#endif /* PYDL_WORKSPACE_H */
