/*
 * sigring.c: the single-producer, single-consumer ring of sigring.h.
 *
 * A record never wraps: one that does not fit before the end is preceded by a padding
 * record up to the end, and starts again at offset 0.
 */
#define _GNU_SOURCE
#include "sigring.h"

#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "gargalo.h"

int gg_sigring_init(gg_sigring *r, size_t size)
{
    memset(r, 0, sizeof(*r));
    r->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    r->buf = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                  -1, 0);
    r->size = size;
    if (r->wake_fd >= 0 && r->buf != MAP_FAILED)
        return 0;
    if (r->buf == MAP_FAILED)
        r->buf = NULL;
    gg_sigring_free(r);
    return GARGALO_ENOMEM;
}

void gg_sigring_free(gg_sigring *r)
{
    if (!r->size)
        return; /* never set up, or freed already */
    if (r->buf)
        munmap(r->buf, r->size);
    if (r->wake_fd >= 0)
        close(r->wake_fd);
    r->buf = NULL;
    r->wake_fd = -1;
    r->size = 0;
}

/* ---- producer: async-signal-safe ---- */

static void wake(gg_sigring *r, uint64_t used)
{
    uint64_t one = 1;
    if (used >= r->size / 2 && !atomic_exchange_explicit(&r->wake_sent, 1, memory_order_relaxed))
        if (write(r->wake_fd, &one, sizeof(one)) < 0) {
            /* a full eventfd counter: the collector is awake already */
        }
}

void *gg_sigring_reserve(gg_sigring *r, const gg_sigrec *rec, size_t len)
{
    uint64_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
    uint64_t tail = atomic_load_explicit(&r->tail, memory_order_acquire);
    size_t need = (sizeof(*rec) + len + 7) & ~(size_t)7;
    size_t off = head & (r->size - 1), pad = off + need > r->size ? r->size - off : 0;
    if (need + pad > r->size - (head - tail)) {
        r->dropped++;
        return NULL;
    }
    if (pad) { /* a padding record takes us to the end; the record starts at 0 */
        gg_sigrec filler = {.size = (uint32_t)pad, .stack_len = UINT32_MAX};
        memcpy(r->buf + off, &filler, sizeof(uint64_t)); /* size and stack_len */
        off = 0;
    }
    gg_sigrec *dst = (gg_sigrec *)(r->buf + off);
    *dst = *rec;
    dst->size = (uint32_t)need, dst->stack_len = (uint32_t)len;
    r->pending = head + pad + need;
    return dst + 1;
}

void gg_sigring_commit(gg_sigring *r)
{
    uint64_t tail = atomic_load_explicit(&r->tail, memory_order_acquire);
    atomic_store_explicit(&r->head, r->pending, memory_order_release);
    wake(r, r->pending - tail);
}

/* ---- consumer ---- */

void gg_sigring_read(gg_sigring *r, gg_sigring_fn fn, void *ctx)
{
    uint64_t one;
    if (read(r->wake_fd, &one, sizeof(one)) < 0) {
        /* nothing pending: the ring is read anyway, at stop */
    }
    atomic_store_explicit(&r->wake_sent, 0, memory_order_relaxed);
    uint64_t head = atomic_load_explicit(&r->head, memory_order_acquire);
    uint64_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
    while (tail < head) {
        const gg_sigrec *rec = (const gg_sigrec *)(r->buf + (tail & (r->size - 1)));
        if (rec->stack_len != UINT32_MAX)
            fn(ctx, rec, rec + 1);
        tail += rec->size;
    }
    atomic_store_explicit(&r->tail, tail, memory_order_release);
}

void gg_sigring_discard(gg_sigring *r)
{
    uint64_t head = atomic_load_explicit(&r->head, memory_order_acquire);
    atomic_store_explicit(&r->tail, head, memory_order_release);
    r->dropped = 0;
}
