/*
 * gemm_driver.h -- the GEMM framework (packing, cache blocking, threading),
 * written once for an element type and included by gemm.c once per type.
 *
 * The includer defines, before including:
 *   GEMM_T            element type (float or double)
 *   GEMM_CONFIG       block-size table type (pydl_sgemm_config, ...)
 *   GEMM_CONFIG_GET   function returning the table row of an ISA
 *   GEMM_IN_PLACE_BYTES  operands up to this size are read in place
 *   GEMM_PACK_A, GEMM_PACK_B, GEMM_SCALE_C, GEMM_KC, GEMM_MACRO, GEMM_BLOCKS,
 *   GEMM_FITS_IN_PLACE, GEMM_A_IN_PLACE, GEMM_INPLACE_A, GEMM_SHORT_A_SIZE,
 *   GEMM_SHORT_PACK_A, GEMM_SHORT, GEMM_BUFFERS,
 *   GEMM_BLOCKED, GEMM_SHARED_A, GEMM_SHARED_B, GEMM_THREADED
 *                     names of this file's static functions
 *   GEMM_STRIDED, GEMM_BATCHED, GEMM_BLAS
 *                     names of the public entry points (pydl.h)
 *
 * Loop nest of one thread over its rectangle of C (BLIS numbering):
 *
 *   for jc in n step nc            5th loop: column block of B and C
 *     for pc in k step kc          4th loop: pack B[pc:pc+kc, jc:jc+nc]
 *       for ic in m step mc        3rd loop: pack A[ic:ic+mc, pc:pc+kc]
 *         for jr in nc step nr     2nd loop: micro-panel of B (stays in L1)
 *           for ir in mc step mr   1st loop: micro-panel of A (from L2)
 *             micro-kernel on the mr x nr tile of C
 *
 * kc slices are the same for every thread count, so each element of C is
 * accumulated in the same order whatever the threading: results are bitwise
 * identical on 1 and on N threads.
 */

/* Pack an mc x kc block of A (element (i, p) at a[i*rs + p*cs]) into
 * ceil(mc/mr) micro-panels of mr x kc (ap[p*mr + i] within a panel). */
static void GEMM_PACK_A(const GEMM_CONFIG *cfg, int64_t mc, int64_t kc, const GEMM_T *a,
                        int64_t rs, int64_t cs, GEMM_T *ap)
{
    const int mr = cfg->mr;
    for (int64_t i0 = 0; i0 < mc; i0 += mr) {
        const int64_t mi = mc - i0 < mr ? mc - i0 : mr;
        cfg->pack_a(kc, mi, a + i0 * rs, rs, cs, ap + i0 * kc);
    }
}

/* Pack a kc x nc block of B (element (p, j) at b[p*rs + j*cs]) into
 * ceil(nc/nr) micro-panels of kc x nr (bp[p*nr + j] within a panel).
 * Row-major B is packed a few rows at a time across all panels, so that
 * each row (often on its own page) is visited once per group of rows
 * rather than once per panel. */
static void GEMM_PACK_B(const GEMM_CONFIG *cfg, int64_t kc, int64_t nc, const GEMM_T *b,
                        int64_t rs, int64_t cs, GEMM_T *bp)
{
    const int nr = cfg->nr;
    const int64_t rows = cs == 1 ? PYDL_GEMM_PACK_B_ROWS : kc;
    for (int64_t p0 = 0; p0 < kc; p0 += rows) {
        const int64_t kk = kc - p0 < rows ? kc - p0 : rows;
        for (int64_t j0 = 0; j0 < nc; j0 += nr) {
            const int64_t nj = nc - j0 < nr ? nc - j0 : nr;
            cfg->pack_b(kk, nj, b + p0 * rs + j0 * cs, cs, rs, bp + j0 * kc + p0 * nr);
        }
    }
}

/* C = beta * C on an m x n block (beta == 0 writes zeros without reading). */
static void GEMM_SCALE_C(int64_t m, int64_t n, GEMM_T beta, GEMM_T *c, int64_t rs_c)
{
    for (int64_t i = 0; i < m; i++) {
        GEMM_T *row = c + i * rs_c;
        if (beta == 0) {
            for (int64_t j = 0; j < n; j++) {
                row[j] = 0;
            }
        } else if (beta != 1) {
            for (int64_t j = 0; j < n; j++) {
                row[j] *= beta;
            }
        }
    }
}

/* Depth of the kc slices for a given k: k is cut into ceil(k / kc_max)
 * slices of (nearly) equal depth, so no slice is tiny.  Depends only on k
 * and the ISA's table, never on the thread count. */
static int64_t GEMM_KC(int64_t k, int kc_max)
{
    int64_t slices = (k + kc_max - 1) / kc_max;
    int64_t kc = (k + slices - 1) / slices;
    return (kc + 7) / 8 * 8 < kc_max ? (kc + 7) / 8 * 8 : kc_max;
}

/* The macro-kernel: every micro-tile of an mc x nc block of C from a packed
 * mc x kc block of A and a packed kc x nc block of B (loops 2 and 1). */
static void GEMM_MACRO(const GEMM_CONFIG *cfg, int64_t mc, int64_t nc, int64_t kc, GEMM_T alpha,
                       const GEMM_T *ap, const GEMM_T *bp, GEMM_T beta, GEMM_T *c, int64_t rs_c)
{
    const int mr = cfg->mr, nr = cfg->nr;
    for (int64_t jr = 0; jr < nc; jr += nr) {
        const int64_t nn = nc - jr < nr ? nc - jr : nr;
        for (int64_t ir = 0; ir < mc; ir += mr) {
            const int64_t mm = mc - ir < mr ? mc - ir : mr;
            cfg->ukr(kc, alpha, ap + ir * kc, bp + jr * kc, beta, c + ir * rs_c + jr, rs_c, mm, nn);
        }
    }
}

/* Whether a k x n B is big enough to come from memory rather than cache,
 * so that packing it is worth overlapping with the multiply-adds. */
static int GEMM_STREAMS_B(int64_t k, int64_t n)
{
    return (size_t)k * (size_t)n * sizeof(GEMM_T) >= PYDL_GEMM_STREAM_B_BYTES;
}

/* Micro-panels of B that GEMM_MACRO_PACK packs at a time for an mc-row
 * block of A: enough that their tiles number PYDL_GEMM_STREAM_TILES, so
 * that the next group's prefetches spread thin and its rows are read in
 * longer runs (at most PYDL_GEMM_STREAM_GROUP_MAX panels). */
static int64_t GEMM_STREAM_GROUP(const GEMM_CONFIG *cfg, int64_t mc)
{
    const int64_t tiles = (mc + cfg->mr - 1) / cfg->mr;
    const int64_t group = (PYDL_GEMM_STREAM_TILES + tiles - 1) / tiles;
    return group < PYDL_GEMM_STREAM_GROUP_MAX ? group : PYDL_GEMM_STREAM_GROUP_MAX;
}

/* Prefetch into L2 every cache line of x[0:len], for reading (rw 0) or
 * writing (rw 1; the branch keeps each prefetch's hint a constant). */
static PYDL_GEMM_ALWAYS_INLINE void GEMM_PREFETCH_RUN(const GEMM_T *x, int64_t len, int rw)
{
    const uintptr_t last = (uintptr_t)(x + len - 1);
    for (uintptr_t line = (uintptr_t)x & ~(uintptr_t)63; line <= last; line += 64) {
        if (rw) {
            PYDL_GEMM_PREFETCH((const void *)line, 1);
        } else {
            PYDL_GEMM_PREFETCH((const void *)line, 0);
        }
    }
}

/* Prefetch part `part` of `parts` of the source of a kc x nn block of B
 * (element (p, j) at b[p*rs + j*cs]) and of its packed destination, the
 * bp_len elements at bp.  The source only in the two fast layouts: rows of
 * B (cs == 1) are shared out by p, columns (rs == 1) by j. */
static PYDL_GEMM_ALWAYS_INLINE void GEMM_PREFETCH_B(int64_t kc, int64_t nn, const GEMM_T *b,
                                                    int64_t rs, int64_t cs, const GEMM_T *bp,
                                                    int64_t bp_len, int64_t part, int64_t parts)
{
    if (cs == 1) {
        for (int64_t p = kc * part / parts; p < kc * (part + 1) / parts; p++) {
            GEMM_PREFETCH_RUN(b + p * rs, nn, 0);
        }
    } else if (rs == 1) {
        for (int64_t j = nn * part / parts; j < nn * (part + 1) / parts; j++) {
            GEMM_PREFETCH_RUN(b + j * cs, kc, 0);
        }
    }
    const int64_t e0 = bp_len * part / parts, e1 = bp_len * (part + 1) / parts;
    if (e1 > e0) {
        GEMM_PREFETCH_RUN(bp + e0, e1 - e0, 1);
    }
}

/* GEMM_MACRO that also packs the slice of B it multiplies, `group`
 * micro-panels at a time: each group is packed right after the tiles of
 * the one before it, and while those run, the source of the next group is
 * prefetched, a share per tile.  The packing then copies from L2, and its
 * memory reads overlap the multiply-adds (256x4608 . 4608x3136 on Zen 4:
 * packing B took 11 % of the call, now 5 %; +3-6 % on one thread, +2-5 %
 * on two).  Group g is packed at bp + (g % ring) * group * nr * kc: ring =
 * all the slice's groups keeps them for later blocks of A, ring = 2 keeps
 * only the one in use.  The same packed panels and the same tiles as
 * packing B first: the same arithmetic. */
static void GEMM_MACRO_PACK(const GEMM_CONFIG *cfg, int64_t mc, int64_t nc, int64_t kc,
                            GEMM_T alpha, const GEMM_T *ap, const GEMM_T *b, int64_t rs_b,
                            int64_t cs_b, GEMM_T *bp, int64_t group, int64_t ring, GEMM_T beta,
                            GEMM_T *c, int64_t rs_c)
{
    const int mr = cfg->mr, nr = cfg->nr;
    const int64_t tiles = (mc + mr - 1) / mr;
    const int64_t width = group * nr;
    GEMM_PACK_B(cfg, kc, nc < width ? nc : width, b, rs_b, cs_b, bp);
    for (int64_t jg = 0, g = 0; jg < nc; jg += width, g++) {
        const int64_t ng = nc - jg < width ? nc - jg : width;
        const int64_t jn = jg + width;
        const int64_t ng_next = nc - jn < width ? nc - jn : width;
        const GEMM_T *blk = bp + g % ring * width * kc;
        GEMM_T *next = bp + (g + 1) % ring * width * kc;
        const int64_t next_len = (ng_next + nr - 1) / nr * nr * kc;
        const int64_t parts = tiles * ((ng + nr - 1) / nr);
        int64_t q = 0;
        for (int64_t jr = 0; jr < ng; jr += nr) {
            const int64_t nn = ng - jr < nr ? ng - jr : nr;
            for (int64_t ir = 0; ir < mc; ir += mr, q++) {
                const int64_t mm = mc - ir < mr ? mc - ir : mr;
                if (jn < nc) {
                    GEMM_PREFETCH_B(kc, ng_next, b + jn * cs_b, rs_b, cs_b, next, next_len, q,
                                    parts);
                }
                cfg->ukr(kc, alpha, ap + ir * kc, blk + jr * kc, beta, c + ir * rs_c + jg + jr,
                         rs_c, mm, nn);
            }
        }
        if (jn < nc) {
            GEMM_PACK_B(cfg, kc, ng_next, b + jn * cs_b, rs_b, cs_b, next);
        }
    }
}

/* Sizes of the packed blocks for an m x n x k product. */
static void GEMM_BLOCKS(const GEMM_CONFIG *cfg, int64_t m, int64_t n, int64_t k,
                        int64_t *mc, int64_t *kc, int64_t *nc)
{
    *kc = GEMM_KC(k, cfg->kc);
    *mc = m < cfg->mc ? (m + cfg->mr - 1) / cfg->mr * cfg->mr : cfg->mc;
    *nc = n < cfg->nc ? (n + cfg->nr - 1) / cfg->nr * cfg->nr : cfg->nc;
}

/* Elements of GEMM_SHORT's packed A (mc x k) when GEMM_BLOCKED takes
 * GEMM_SHORT for an m x k A (any n wider than one micro-panel), else 0. */
static int64_t GEMM_SHORT_A_SIZE(const GEMM_CONFIG *cfg, int64_t m, int64_t k)
{
    int64_t mc_max, kc_max, nc_max;
    GEMM_BLOCKS(cfg, m, 1, k, &mc_max, &kc_max, &nc_max);
    const int fits =
        m <= mc_max && (size_t)(mc_max * k) * sizeof(GEMM_T) <= PYDL_GEMM_L2_BLOCK_BYTES;
    return fits ? mc_max * k : 0;
}

/* A packed as GEMM_SHORT packs it (mc x k floats, mc = GEMM_BLOCKS's): the
 * slice of depth pc at ap + mc * pc. */
static void GEMM_SHORT_PACK_A(const GEMM_CONFIG *cfg, int64_t m, int64_t k, const GEMM_T *a,
                              int64_t rs_a, int64_t cs_a, GEMM_T *ap)
{
    int64_t mc, kc_max, nc_max;
    GEMM_BLOCKS(cfg, m, 1, k, &mc, &kc_max, &nc_max);
    for (int64_t pc = 0; pc < k; pc += kc_max) {
        const int64_t kc = k - pc < kc_max ? k - pc : kc_max;
        GEMM_PACK_A(cfg, m, kc, a + pc * cs_a, rs_a, cs_a, ap + mc * pc);
    }
}

/* One thread, a short C (one block of rows) whose whole packed A fits in
 * L2: A is packed once for all of k.  A B that streams from memory
 * (GEMM_STREAMS_B) is packed a few panels at a time as the tiles use it
 * (GEMM_MACRO_PACK with two groups in flight); a B in cache is packed in
 * small, L2-sized blocks (a big packed block would only be read once per
 * row block, from L3).  Same kc slices, so the same arithmetic, as
 * GEMM_BLOCKED.  packed_a: A already packed by GEMM_SHORT_PACK_A, or NULL
 * to pack it here. */
static int GEMM_SHORT(const GEMM_CONFIG *cfg, int64_t m, int64_t n, int64_t k, GEMM_T alpha,
                      const GEMM_T *a, int64_t rs_a, int64_t cs_a, const GEMM_T *packed_a,
                      const GEMM_T *b, int64_t rs_b, int64_t cs_b,
                      GEMM_T beta, GEMM_T *c, int64_t rs_c)
{
    int64_t mc, kc_max, nc_max;
    GEMM_BLOCKS(cfg, m, n, k, &mc, &kc_max, &nc_max);
    const int stream_b = GEMM_STREAMS_B(k, n);
    /* columns per block: an L2-sized block of packed B, or, streaming B
     * through two groups of panels, an L2-sized block of C (the kc slices
     * each read it again) */
    const int64_t bytes_per_col = (int64_t)sizeof(GEMM_T) * (stream_b ? m : kc_max);
    int64_t nc_blk = PYDL_GEMM_L2_BLOCK_BYTES / bytes_per_col / cfg->nr * cfg->nr;
    nc_blk = nc_blk < cfg->nr ? cfg->nr : nc_blk > nc_max ? nc_max : nc_blk;
    const GEMM_T *ap = packed_a;
    if (ap == NULL) {
        GEMM_T *own = pydl_workspace(PYDL_WS_GEMM_A, (size_t)(mc * k) * sizeof(GEMM_T));
        if (own == NULL) {
            return PYDL_ERR_NOMEM;
        }
        GEMM_SHORT_PACK_A(cfg, m, k, a, rs_a, cs_a, own);
        ap = own;
    }
    const int64_t group = GEMM_STREAM_GROUP(cfg, m);
    const int64_t bp_cols = stream_b ? 2 * group * cfg->nr : nc_blk;
    GEMM_T *bp = pydl_workspace(PYDL_WS_GEMM_B, (size_t)(bp_cols * kc_max) * sizeof(GEMM_T));
    if (bp == NULL) {
        return PYDL_ERR_NOMEM;
    }
    for (int64_t jc = 0; jc < n; jc += nc_blk) {
        const int64_t nc = n - jc < nc_blk ? n - jc : nc_blk;
        for (int64_t pc = 0; pc < k; pc += kc_max) {
            const int64_t kc = k - pc < kc_max ? k - pc : kc_max;
            const GEMM_T beta_pc = pc == 0 ? beta : (GEMM_T)1;
            const GEMM_T *b_pc = b + pc * rs_b + jc * cs_b;
            if (stream_b) {
                GEMM_MACRO_PACK(cfg, m, nc, kc, alpha, ap + mc * pc, b_pc, rs_b, cs_b, bp,
                                group, 2, beta_pc, c + jc, rs_c);
            } else {
                GEMM_PACK_B(cfg, kc, nc, b_pc, rs_b, cs_b, bp);
                GEMM_MACRO(cfg, m, nc, kc, alpha, ap + mc * pc, bp, beta_pc, c + jc, rs_c);
            }
        }
    }
    return PYDL_OK;
}

/* Whether operands of this many elements are small enough for the
 * in-place micro-kernel to read them where they lie: they stay in L1/L2,
 * and packing them would cost more than it saves. */
static int GEMM_FITS_IN_PLACE(int64_t elements)
{
    return (size_t)elements * sizeof(GEMM_T) <= GEMM_IN_PLACE_BYTES;
}

/* Whether GEMM_BLOCKED reads A in place (GEMM_INPLACE_A): C no wider than
 * one micro-panel and A row-major (each element of A is used only n times,
 * so packing it would cost more than it saves), or a small product
 * (GEMM_FITS_IN_PLACE of A and B) with B row-major and A row-major or
 * transposed, its rows (or columns) not a multiple of
 * PYDL_GEMM_SET_STRIDE_BYTES apart. */
static int GEMM_A_IN_PLACE(const GEMM_CONFIG *cfg, int64_t m, int64_t n, int64_t k,
                           int64_t rs_a, int64_t cs_a, int64_t cs_b)
{
    if (cfg->ukr_inplace == NULL) {
        return 0;
    }
    if (cs_a == 1 && n <= cfg->nr) {
        return 1;
    }
    const int64_t far = cs_a == 1 ? rs_a : rs_a == 1 ? cs_a : 0;
    return far > 0 && cs_b == 1 && GEMM_FITS_IN_PLACE((m + n) * k) &&
           (size_t)far * sizeof(GEMM_T) % PYDL_GEMM_SET_STRIDE_BYTES != 0;
}

/* One thread, A read in place by the in-place micro-kernel (where
 * GEMM_A_IN_PLACE says).  A small row-major B under a short C (at most
 * PYDL_GEMM_B_IN_PLACE_TILES tiles tall) is read in place too; any other B
 * is packed one micro-panel at a time.  Same kc slices, so the
 * same arithmetic, as GEMM_BLOCKED. */
static int GEMM_INPLACE_A(const GEMM_CONFIG *cfg, int64_t m, int64_t n, int64_t k,
                          GEMM_T alpha, const GEMM_T *a, int64_t rs_a, int64_t cs_a,
                          const GEMM_T *b, int64_t rs_b, int64_t cs_b, GEMM_T beta, GEMM_T *c,
                          int64_t rs_c)
{
    const int64_t kc_max = GEMM_KC(k, cfg->kc);
    const int b_in_place = cs_b == 1 && GEMM_FITS_IN_PLACE(n * k) &&
                           m <= (int64_t)PYDL_GEMM_B_IN_PLACE_TILES * cfg->mr;
    GEMM_T *bp = NULL;
    if (!b_in_place) {
        bp = pydl_workspace(PYDL_WS_GEMM_B, (size_t)(cfg->nr * kc_max) * sizeof(GEMM_T));
        if (bp == NULL) {
            return PYDL_ERR_NOMEM;
        }
    }
    for (int64_t jr = 0; jr < n; jr += cfg->nr) {
        const int64_t nn = n - jr < cfg->nr ? n - jr : cfg->nr;
        for (int64_t pc = 0; pc < k; pc += kc_max) {
            const int64_t kc = k - pc < kc_max ? k - pc : kc_max;
            const GEMM_T beta_pc = pc == 0 ? beta : (GEMM_T)1;
            const GEMM_T *b_pc = b + pc * rs_b + jr * cs_b;
            int64_t rs_bp = rs_b;
            if (!b_in_place) {
                GEMM_PACK_B(cfg, kc, nn, b_pc, rs_b, cs_b, bp);
                b_pc = bp;
                rs_bp = cfg->nr;
            }
            for (int64_t ir = 0; ir < m; ir += cfg->mr) {
                const int64_t mm = m - ir < cfg->mr ? m - ir : cfg->mr;
                cfg->ukr_inplace(kc, alpha, a + ir * rs_a + pc * cs_a, rs_a, cs_a, b_pc, rs_bp,
                                 beta_pc, c + ir * rs_c + jr, rs_c, mm, nn);
            }
        }
    }
    return PYDL_OK;
}

/* This thread's packing buffers for mc x kc blocks of A and kc x nc blocks
 * of B; PYDL_ERR_NOMEM if either cannot be had. */
static int GEMM_BUFFERS(int64_t mc, int64_t kc, int64_t nc, GEMM_T **ap, GEMM_T **bp)
{
    *ap = pydl_workspace(PYDL_WS_GEMM_A, (size_t)(mc * kc) * sizeof(GEMM_T));
    *bp = pydl_workspace(PYDL_WS_GEMM_B, (size_t)(nc * kc) * sizeof(GEMM_T));
    return *ap != NULL && *bp != NULL ? PYDL_OK : PYDL_ERR_NOMEM;
}

/* One thread, C[0:m, 0:n], with this thread's own packing buffers.
 * Returns PYDL_ERR_NOMEM if the scratch cannot be had. */
static int GEMM_BLOCKED(const GEMM_CONFIG *cfg, int64_t m, int64_t n, int64_t k, GEMM_T alpha,
                        const GEMM_T *a, int64_t rs_a, int64_t cs_a,
                        const GEMM_T *b, int64_t rs_b, int64_t cs_b,
                        GEMM_T beta, GEMM_T *c, int64_t rs_c)
{
    if (GEMM_A_IN_PLACE(cfg, m, n, k, rs_a, cs_a, cs_b)) {
        return GEMM_INPLACE_A(cfg, m, n, k, alpha, a, rs_a, cs_a, b, rs_b, cs_b, beta, c, rs_c);
    }
    if (GEMM_SHORT_A_SIZE(cfg, m, k) > 0) {
        return GEMM_SHORT(cfg, m, n, k, alpha, a, rs_a, cs_a, NULL, b, rs_b, cs_b, beta, c,
                          rs_c);
    }
    int64_t mc_max, kc_max, nc_max;
    GEMM_BLOCKS(cfg, m, n, k, &mc_max, &kc_max, &nc_max);
    GEMM_T *ap, *bp;
    if (GEMM_BUFFERS(mc_max, kc_max, nc_max, &ap, &bp) != PYDL_OK) {
        return PYDL_ERR_NOMEM;
    }
    /* B from memory: the first block of A packs each slice of it */
    const int stream_b = GEMM_STREAMS_B(k, n);
    for (int64_t jc = 0; jc < n; jc += nc_max) {
        const int64_t nc = n - jc < nc_max ? n - jc : nc_max;
        for (int64_t pc = 0; pc < k; pc += kc_max) {
            const int64_t kc = k - pc < kc_max ? k - pc : kc_max;
            const GEMM_T beta_pc = pc == 0 ? beta : (GEMM_T)1;
            const GEMM_T *b_pc = b + pc * rs_b + jc * cs_b;
            if (!stream_b) {
                GEMM_PACK_B(cfg, kc, nc, b_pc, rs_b, cs_b, bp);
            }
            for (int64_t ic = 0; ic < m; ic += mc_max) {
                const int64_t mc = m - ic < mc_max ? m - ic : mc_max;
                GEMM_PACK_A(cfg, mc, kc, a + ic * rs_a + pc * cs_a, rs_a, cs_a, ap);
                if (stream_b && ic == 0) {
                    const int64_t group = GEMM_STREAM_GROUP(cfg, mc);
                    const int64_t width = group * cfg->nr;
                    GEMM_MACRO_PACK(cfg, mc, nc, kc, alpha, ap, b_pc, rs_b, cs_b, bp, group,
                                    (nc + width - 1) / width, beta_pc, c + jc, rs_c);
                } else {
                    GEMM_MACRO(cfg, mc, nc, kc, alpha, ap, bp, beta_pc, c + ic * rs_c + jc,
                               rs_c);
                }
            }
        }
    }
    return PYDL_OK;
}

/* One thread, the products t in [t0, t1) of a batch that shares A (the
 * general path of GEMM_BLOCKED, C no wider than one block): each block of
 * A is packed once for all of them, then each B_t's slice is packed and
 * multiplied in turn, so that a small n does not pay for packing the whole
 * of A once per product.  The same blocks and micro-kernels as
 * GEMM_BLOCKED: bit for bit its products. */
static int GEMM_SHARED_A(const GEMM_CONFIG *cfg, int64_t t0, int64_t t1, int64_t m, int64_t n,
                         int64_t k, GEMM_T alpha, const GEMM_T *a, int64_t rs_a, int64_t cs_a,
                         const GEMM_T *b, int64_t bs_b, int64_t rs_b, int64_t cs_b,
                         GEMM_T beta, GEMM_T *c, int64_t bs_c, int64_t rs_c)
{
    int64_t mc_max, kc_max, nc_max;
    GEMM_BLOCKS(cfg, m, n, k, &mc_max, &kc_max, &nc_max);
    GEMM_T *ap, *bp;
    if (GEMM_BUFFERS(mc_max, kc_max, nc_max, &ap, &bp) != PYDL_OK) {
        return PYDL_ERR_NOMEM;
    }
    for (int64_t pc = 0; pc < k; pc += kc_max) {
        const int64_t kc = k - pc < kc_max ? k - pc : kc_max;
        const GEMM_T beta_pc = pc == 0 ? beta : (GEMM_T)1;
        for (int64_t ic = 0; ic < m; ic += mc_max) {
            const int64_t mc = m - ic < mc_max ? m - ic : mc_max;
            GEMM_PACK_A(cfg, mc, kc, a + ic * rs_a + pc * cs_a, rs_a, cs_a, ap);
            for (int64_t t = t0; t < t1; t++) {
                GEMM_PACK_B(cfg, kc, n, b + t * bs_b + pc * rs_b, rs_b, cs_b, bp);
                GEMM_MACRO(cfg, mc, n, kc, alpha, ap, bp, beta_pc, c + t * bs_c + ic * rs_c,
                           rs_c);
            }
        }
    }
    return PYDL_OK;
}

/* Threads share each packed block of B: for every (jc, pc) block the team
 * packs B together (thread t packs its share of the micro-panels), waits,
 * then thread t computes the rows [i0, i1) of C it owns (packing its own
 * blocks of A), and waits again before B is repacked.  Used when C has
 * enough rows for every thread, so B is packed once and not once per
 * thread. */
static int GEMM_SHARED_B(const GEMM_CONFIG *cfg, int64_t m, int64_t n, int64_t k, GEMM_T alpha,
                         const GEMM_T *a, int64_t rs_a, int64_t cs_a,
                         const GEMM_T *b, int64_t rs_b, int64_t cs_b,
                         GEMM_T beta, GEMM_T *c, int64_t rs_c, int nt)
{
    int64_t mc_max, kc_max, nc_max;
    GEMM_BLOCKS(cfg, m, n, k, &mc_max, &kc_max, &nc_max);
    GEMM_T *bp = pydl_workspace(PYDL_WS_GEMM_B, (size_t)(nc_max * kc_max) * sizeof(GEMM_T));
    if (bp == NULL) {
        return PYDL_ERR_NOMEM;
    }
    const int64_t m_tiles = (m + cfg->mr - 1) / cfg->mr;
    int status = PYDL_OK;
#pragma omp parallel num_threads(nt)
    {
        const int t = pydl_omp_thread_num(), team = pydl_omp_num_threads();
        const int64_t i0 = m_tiles * t / team * cfg->mr;
        const int64_t i1_tile = m_tiles * (t + 1) / team * cfg->mr;
        const int64_t i1 = i1_tile < m ? i1_tile : m;
        const int64_t my_mc = i1 - i0 < mc_max ? (i1 - i0 + cfg->mr - 1) / cfg->mr * cfg->mr : mc_max;
        GEMM_T *ap = pydl_workspace(PYDL_WS_GEMM_A, (size_t)(my_mc * kc_max) * sizeof(GEMM_T));
        if (ap == NULL) {
#pragma omp atomic write
            status = PYDL_ERR_NOMEM;
        }
#pragma omp barrier
        for (int64_t jc = 0; jc < n && status == PYDL_OK; jc += nc_max) {
            const int64_t nc = n - jc < nc_max ? n - jc : nc_max;
            const int64_t panels = (nc + cfg->nr - 1) / cfg->nr;
            const int64_t p0 = panels * t / team, p1 = panels * (t + 1) / team;
            const int64_t j0 = p0 * cfg->nr, j1 = p1 * cfg->nr < nc ? p1 * cfg->nr : nc;
            for (int64_t pc = 0; pc < k; pc += kc_max) {
                const int64_t kc = k - pc < kc_max ? k - pc : kc_max;
                const GEMM_T beta_pc = pc == 0 ? beta : (GEMM_T)1;
                if (j1 > j0) {
                    GEMM_PACK_B(cfg, kc, j1 - j0, b + pc * rs_b + (jc + j0) * cs_b, rs_b, cs_b,
                                bp + j0 * kc);
                }
#pragma omp barrier
                for (int64_t ic = i0; ic < i1; ic += my_mc) {
                    const int64_t mc = i1 - ic < my_mc ? i1 - ic : my_mc;
                    GEMM_PACK_A(cfg, mc, kc, a + ic * rs_a + pc * cs_a, rs_a, cs_a, ap);
                    GEMM_MACRO(cfg, mc, nc, kc, alpha, ap, bp, beta_pc, c + ic * rs_c + jc, rs_c);
                }
#pragma omp barrier
            }
        }
    }
    return status;
}

/* The whole product on up to n_threads threads.  Tall C: threads split the
 * rows and share packed B (GEMM_SHARED_B).  Otherwise C is cut into a
 * tm x tn grid of rectangles on micro-tile boundaries; thread t owns
 * rectangle (t / tn, t % tn), packs its own A and B, and touches nothing
 * else. */
static int GEMM_THREADED(const GEMM_CONFIG *cfg, int64_t m, int64_t n, int64_t k, GEMM_T alpha,
                         const GEMM_T *a, int64_t rs_a, int64_t cs_a,
                         const GEMM_T *b, int64_t rs_b, int64_t cs_b,
                         GEMM_T beta, GEMM_T *c, int64_t rs_c, int n_threads)
{
    const int64_t m_tiles = (m + cfg->mr - 1) / cfg->mr;
    const int64_t n_tiles = (n + cfg->nr - 1) / cfg->nr;
    int nt = pydl_gemm_threads(m, n, k, m_tiles * n_tiles, n_threads);
    if (nt <= 1) {
        return GEMM_BLOCKED(cfg, m, n, k, alpha, a, rs_a, cs_a, b, rs_b, cs_b, beta, c, rs_c);
    }
    const int64_t shared_b_tiles = (int64_t)PYDL_GEMM_SHARED_B_MIN_TILES * nt;
    if (m_tiles >= shared_b_tiles ||
        (2 * m_tiles >= shared_b_tiles && k >= PYDL_GEMM_SHARED_B_MIN_K)) {
        return GEMM_SHARED_B(cfg, m, n, k, alpha, a, rs_a, cs_a, b, rs_b, cs_b, beta, c, rs_c,
                             nt);
    }
    int status = PYDL_OK;
#pragma omp parallel num_threads(nt)
    {
        const int t = pydl_omp_thread_num();
        int tm, tn;
        pydl_gemm_grid(pydl_omp_num_threads(), m_tiles, n_tiles, cfg->mr, cfg->nr, k, &tm, &tn);
        if (t < tm * tn) {
            const int64_t ti = t / tn, tj = t % tn;
            const int64_t i0 = m_tiles * ti / tm * cfg->mr;
            const int64_t i1 = m_tiles * (ti + 1) / tm * cfg->mr;
            const int64_t j0 = n_tiles * tj / tn * cfg->nr;
            const int64_t j1 = n_tiles * (tj + 1) / tn * cfg->nr;
            const int64_t mi = (i1 < m ? i1 : m) - i0, nj = (j1 < n ? j1 : n) - j0;
            if (mi > 0 && nj > 0) {
                int s = GEMM_BLOCKED(cfg, mi, nj, k, alpha, a + i0 * rs_a, rs_a, cs_a,
                                     b + j0 * cs_b, rs_b, cs_b, beta, c + i0 * rs_c + j0, rs_c);
                if (s != PYDL_OK) {
#pragma omp atomic write
                    status = s;
                }
            }
        }
    }
    return status;
}

int GEMM_STRIDED(int64_t m, int64_t n, int64_t k, GEMM_T alpha,
                 const GEMM_T *a, int64_t rs_a, int64_t cs_a,
                 const GEMM_T *b, int64_t rs_b, int64_t cs_b,
                 GEMM_T beta, GEMM_T *c, int64_t rs_c, int n_threads)
{
    if (m <= 0 || n <= 0) {
        return PYDL_OK;
    }
    if (k <= 0 || alpha == 0) {
        GEMM_SCALE_C(m, n, beta, c, rs_c);
        return PYDL_OK;
    }
    const GEMM_CONFIG *cfg = GEMM_CONFIG_GET(pydl_isa_get());
    return GEMM_THREADED(cfg, m, n, k, alpha, a, rs_a, cs_a, b, rs_b, cs_b, beta, c, rs_c,
                         n_threads);
}

int GEMM_BATCHED(int64_t batch, int64_t m, int64_t n, int64_t k, GEMM_T alpha,
                 const GEMM_T *a, int64_t bs_a, int64_t rs_a, int64_t cs_a,
                 const GEMM_T *b, int64_t bs_b, int64_t rs_b, int64_t cs_b,
                 GEMM_T beta, GEMM_T *c, int64_t bs_c, int64_t rs_c, int n_threads)
{
    if (batch <= 0 || m <= 0 || n <= 0) {
        return PYDL_OK;
    }
    if (k <= 0 || alpha == 0) {
        for (int64_t t = 0; t < batch; t++) {
            GEMM_SCALE_C(m, n, beta, c + t * bs_c, rs_c);
        }
        return PYDL_OK;
    }
    const GEMM_CONFIG *cfg = GEMM_CONFIG_GET(pydl_isa_get());
    const int64_t tiles = ((m + cfg->mr - 1) / cfg->mr) * ((n + cfg->nr - 1) / cfg->nr);
    const int nt_one = pydl_gemm_threads(m, n, k, tiles, n_threads);
    /* threads for the products spread over them (thread t owns C_t for
     * its share of t) */
    int nt = pydl_gemm_threads(m * batch, n, k, tiles * batch, n_threads);
    nt = nt < batch ? nt : (int)batch;
    int status = PYDL_OK;
    int64_t mc_max, kc_max, nc_max;
    GEMM_BLOCKS(cfg, m, n, k, &mc_max, &kc_max, &nc_max);
    const int in_place = GEMM_A_IN_PLACE(cfg, m, n, k, rs_a, cs_a, cs_b);
    /* products spread over as many threads as one product would use, and
     * evenly, at least two per thread (with one, there is nothing to share
     * and GEMM_SHARED_A's re-packing of B per block of A is pure loss:
     * float64 N = 4096 on one thread ran at 39 instead of 53 GFLOP/s) */
    const int even = nt >= nt_one && batch >= 2 * (int64_t)nt &&
                     (batch % nt == 0 || batch >= 4 * (int64_t)nt);
    if (bs_a == 0 && n <= nc_max && !in_place && GEMM_SHORT_A_SIZE(cfg, m, k) == 0 && even) {
        /* A shared and too big to stay packed: each thread packs it once for
         * its contiguous share of the products, rather than the threads
         * packing it again for every product */
#pragma omp parallel num_threads(nt) if (nt > 1)
        {
            const int t = pydl_omp_thread_num(), team = pydl_omp_num_threads();
            const int s = GEMM_SHARED_A(cfg, batch * t / team, batch * (t + 1) / team, m, n, k,
                                        alpha, a, rs_a, cs_a, b, bs_b, rs_b, cs_b, beta, c,
                                        bs_c, rs_c);
            if (s != PYDL_OK) {
#pragma omp atomic write
                status = s;
            }
        }
        return status;
    }
    if (nt_one > 1 || batch == 1) {
        /* Each product is big enough to use every thread by itself. */
        for (int64_t t = 0; t < batch && status == PYDL_OK; t++) {
            status = GEMM_THREADED(cfg, m, n, k, alpha, a + t * bs_a, rs_a, cs_a,
                                   b + t * bs_b, rs_b, cs_b, beta, c + t * bs_c, rs_c, nt_one);
        }
        return status;
    }
    /* Small products: one thread per product. */
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
    for (int64_t t = 0; t < batch; t++) {
        int s = GEMM_BLOCKED(cfg, m, n, k, alpha, a + t * bs_a, rs_a, cs_a,
                             b + t * bs_b, rs_b, cs_b, beta, c + t * bs_c, rs_c);
        if (s != PYDL_OK) {
#pragma omp atomic write
            status = s;
        }
    }
    return status;
}

int GEMM_BLAS(pydl_trans trans_a, pydl_trans trans_b, int64_t m, int64_t n, int64_t k,
              GEMM_T alpha, const GEMM_T *a, int64_t lda, const GEMM_T *b, int64_t ldb,
              GEMM_T beta, GEMM_T *c, int64_t ldc, int n_threads)
{
    const int64_t rs_a = trans_a == PYDL_TRANS ? 1 : lda, cs_a = trans_a == PYDL_TRANS ? lda : 1;
    const int64_t rs_b = trans_b == PYDL_TRANS ? 1 : ldb, cs_b = trans_b == PYDL_TRANS ? ldb : 1;
    return GEMM_STRIDED(m, n, k, alpha, a, rs_a, cs_a, b, rs_b, cs_b, beta, c, ldc, n_threads);
}
