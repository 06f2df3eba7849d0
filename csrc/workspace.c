/* workspace.c -- per-thread scratch buffers (see workspace.h). */
#define _GNU_SOURCE
#include "workspace.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

typedef struct thread_ws {
    void *ptr[PYDL_WS_COUNT];
    size_t size[PYDL_WS_COUNT];
} thread_ws;

static pthread_key_t ws_key;
static pthread_once_t ws_once = PTHREAD_ONCE_INIT;

static void ws_free(void *p)
{
    thread_ws *ws = p;
    for (int i = 0; i < PYDL_WS_COUNT; i++) {
        free(ws->ptr[i]);
    }
    free(ws);
}

static void ws_init_key(void) { pthread_key_create(&ws_key, ws_free); }

void *pydl_workspace(pydl_ws_slot slot, size_t bytes)
{
    if (bytes == 0) {
        bytes = 1; /* a valid, unused pointer rather than NULL (= no memory) */
    }
    pthread_once(&ws_once, ws_init_key);
    thread_ws *ws = pthread_getspecific(ws_key);
    if (ws == NULL) {
        ws = calloc(1, sizeof *ws);
        if (ws == NULL || pthread_setspecific(ws_key, ws) != 0) {
            free(ws);
            return NULL;
        }
    }
    if (ws->size[slot] >= bytes) {
        return ws->ptr[slot];
    }
    /* Grow geometrically so a slowly growing sequence of sizes reallocates
     * only a few times; large buffers ask for transparent huge pages. */
    size_t want = bytes + bytes / 4;
    const size_t huge = (size_t)2 << 20;
    size_t align = want >= huge ? huge : 64;
    want = (want + align - 1) / align * align;
    void *p = NULL;
    if (posix_memalign(&p, align, want) != 0) {
        return NULL;
    }
#ifdef MADV_HUGEPAGE
    if (align == huge) {
        madvise(p, want, MADV_HUGEPAGE);
    }
#endif
    free(ws->ptr[slot]);
    ws->ptr[slot] = p;
    ws->size[slot] = want;
    return p;
}
