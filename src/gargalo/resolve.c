/*
 * resolve.c: raw program counters to the session's frames, stacks and samples (resolve.h).
 *
 * Each distinct pc is symbolized and added to the session once per stop (a memo from pc
 * to the session frames it became), so the cost follows the distinct addresses, not the
 * samples.
 */
#include "resolve.h"

#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "blocked.h"
#include "grow.h"
#include "symbols.h"

/* Every frame of a gg_raw stack that the handler did not cut sits within this many of the
 * leaf: the handler's own frames, the signal trampoline and a sanitizer's interceptors. */
#define GG_STRIP_SEARCH 64u

typedef struct gg_memo_entry {
    uintptr_t key;  /* pc << 1 | is_return */
    uint32_t first; /* in gg_resolver.idx */
    uint32_t count;
} gg_memo_entry;

typedef struct gg_resolver {
    gargalo_session *s;
    gg_memo_entry *memo;
    size_t nmemo, memo_cap;
    gg_index by_key; /* key -> memo entry */
    uint32_t *idx;   /* session frame indices, root first per pc */
    size_t nidx, idx_cap;
    uint32_t *stack; /* the stack being built */
    size_t nstack, stack_cap;
    uintptr_t handler_pc;
    bool have_handler; /* the handler's identity below is known */
    const char *handler_module;
    uint64_t handler_offset;
    struct {            /* "[blocked] ..." leaves by call and descriptor: describing */
        int32_t nr, fd; /* a socket reads /proc/net/tcp, and a busy server's blocked */
        uint32_t frame; /* samples are thousands (17 s for 13,000 before this cache) */
        bool set;
    } blocked[256];
} gg_resolver;

/* Symbolizes one pc into session frames (root first) and remembers them. */
static int memo_fill(gg_resolver *r, uintptr_t key, uint64_t h, uint32_t *entry)
{
    const gg_frame *f;
    uint32_t n;
    int rc = gg_symbols_resolve(key >> 1, key & 1, &f, &n);
    if (!rc)
        rc = GG_GROW(&r->idx, &r->idx_cap, r->nidx + n);
    if (!rc)
        rc = GG_GROW(&r->memo, &r->memo_cap, r->nmemo + 1);
    for (uint32_t i = n; i-- > 0 && !rc;)
        rc = gg_session_add_frame(r->s, &f[i], &r->idx[r->nidx + (n - 1 - i)]);
    if (!rc)
        rc = gg_index_put(&r->by_key, h, (uint32_t)r->nmemo);
    if (rc)
        return rc;
    r->memo[r->nmemo] = (gg_memo_entry){key, (uint32_t)r->nidx, n};
    r->nidx += n;
    *entry = (uint32_t)r->nmemo++;
    return 0;
}

static bool same_key(const void *ctx, uint32_t value, const void *key)
{
    const gg_resolver *r = ctx;
    return r->memo[value].key == *(const uintptr_t *)key;
}

/* Appends the frames of pc, root first, to the stack being built. */
static int push_pc(gg_resolver *r, uintptr_t pc, bool is_return)
{
    uintptr_t key = pc << 1 | (is_return ? 1 : 0);
    uint64_t h = gg_hash_u64(key);
    uint32_t e = gg_index_get(&r->by_key, h, same_key, r, &key);
    int rc = e == GG_INDEX_NONE ? memo_fill(r, key, h, &e) : 0;
    if (!rc)
        rc = GG_GROW(&r->stack, &r->stack_cap, r->nstack + r->memo[e].count);
    if (rc)
        return rc;
    memcpy(r->stack + r->nstack, r->idx + r->memo[e].first, r->memo[e].count * sizeof(uint32_t));
    r->nstack += r->memo[e].count;
    return 0;
}

/* The real function holding pc (the last, outermost frame of its expansion), or NULL. */
static const gg_frame *outer_frame(uintptr_t pc, bool is_return, int *rc)
{
    const gg_frame *f;
    uint32_t n = 0;
    *rc = gg_symbols_resolve(pc, is_return, &f, &n);
    return *rc || n == 0 ? NULL : &f[n - 1];
}

static bool has_prefix(const char *s, const char *const *prefixes, size_t n)
{
    for (size_t i = 0; s && i < n; i++)
        if (strncmp(s, prefixes[i], strlen(prefixes[i])) == 0)
            return true;
    return false;
}

/* Code of the runtime that delivers a signal: the trampoline, a sanitizer. */
static bool is_runtime_frame(const gg_frame *f)
{
    static const char *const mods[] = {"libtsan", "libasan", "libubsan", "libclang_rt"};
    static const char *const fns[] = {"__restore_rt", "__tsan",           "_ZN6__tsan",
                                      "__sanitizer",  "_ZN11__sanitizer", "__interceptor_"};
    return has_prefix(f->module, mods, sizeof(mods) / sizeof(mods[0])) ||
           has_prefix(f->function, fns, sizeof(fns) / sizeof(fns[0]));
}

static bool is_handler(const gg_resolver *r, const gg_frame *f)
{
    return f && f->module == r->handler_module && f->offset == r->handler_offset;
}

/* How many leaf-side frames of a stack its source could not cut belong to the handler
 * (up to it) and to the runtime that called it (TSan, the trampoline). */
static int strip_count(gg_resolver *r, void *const *pcs, uint32_t depth, uint32_t *skip)
{
    int rc = 0;
    if (!r->have_handler) {
        const gg_frame *h = outer_frame(r->handler_pc, false, &rc);
        if (!h || !h->function)
            return rc;
        r->handler_module = h->module, r->handler_offset = h->offset, r->have_handler = true;
    }
    uint32_t last = 0, limit = depth < GG_STRIP_SEARCH ? depth : GG_STRIP_SEARCH;
    for (uint32_t i = 0; i < limit && !rc; i++)
        if (is_handler(r, outer_frame((uintptr_t)pcs[i], true, &rc)))
            last = i + 1;
    for (const gg_frame *f; last && last < depth && !rc; last++)
        if (!(f = outer_frame((uintptr_t)pcs[last], true, &rc)) || !is_runtime_frame(f))
            break;
    *skip = last;
    return rc;
}

/* Appends a frame of gargalo's own making as the leaf of the stack being built. */
static int push_synthetic(gg_resolver *r, const char *function)
{
    gg_frame f = {.function = function, .module = "[kernel]"};
    uint32_t idx;
    int rc = gg_session_add_frame(r->s, &f, &idx);
    if (!rc)
        rc = GG_GROW(&r->stack, &r->stack_cap, r->nstack + 1);
    if (!rc)
        r->stack[r->nstack++] = idx;
    return rc;
}

/* The "[blocked] call fd N: what" leaf, described once per call and descriptor in a stop:
 * the description is of the descriptor as it is now, whichever sample asks. */
static int push_blocked(gg_resolver *r, int32_t nr, int32_t fd)
{
    size_t slot =
        ((uint32_t)fd * 31u + (uint32_t)nr) % (sizeof(r->blocked) / sizeof(r->blocked[0]));
    if (r->blocked[slot].set && r->blocked[slot].nr == nr && r->blocked[slot].fd == fd) {
        int rc = GG_GROW(&r->stack, &r->stack_cap, r->nstack + 1);
        if (!rc)
            r->stack[r->nstack++] = r->blocked[slot].frame;
        return rc;
    }
    char name[384];
    gg_blocked_describe(nr, fd, name, sizeof(name));
    int rc = push_synthetic(r, name);
    if (!rc) {
        r->blocked[slot].nr = nr;
        r->blocked[slot].fd = fd;
        r->blocked[slot].frame = r->stack[r->nstack - 1];
        r->blocked[slot].set = true;
    }
    return rc;
}

/* Off-CPU time whose own stack the kernel would not give (perf_event_paranoid 2) hangs
 * under the last stack seen on the CPU, below a leaf that says so; blocked time gets a
 * leaf naming the call and its descriptor: "[blocked] fdatasync fd 7: .../bolsa.db-wal". */
static int push_leaves(gg_resolver *r, const gg_raw_sample *rec)
{
    int rc = 0;
    if (rec->flags & GG_RAW_STACK_GUESSED)
        rc = push_synthetic(r, "[off-CPU: where it blocked is unknown]");
    if (!rc && (rec->flags & GG_RAW_BLOCKED))
        rc = push_blocked(r, rec->syscall_nr, rec->fd);
    return rc;
}

static int resolve_stack(gg_resolver *r, const gg_raw *raw, const gg_raw_sample *rec,
                         uint32_t max_depth, uint32_t *stack)
{
    void *const *pcs = raw->pcs + rec->offset;
    bool leaf_is_pc = rec->flags & GG_RAW_LEAF_IS_PC;
    uint32_t skip = 0, end = rec->depth;
    int rc = leaf_is_pc || !r->handler_pc ? 0 : strip_count(r, pcs, rec->depth, &skip);
    if (end - skip > max_depth)
        end = skip + max_depth; /* keep the innermost frames */
    r->nstack = 0;
    for (uint32_t i = end; i-- > skip && !rc;)
        rc = push_pc(r, (uintptr_t)pcs[i], !(leaf_is_pc && i == skip));
    if (!rc)
        rc = push_leaves(r, rec);
    return rc ? rc : gg_session_add_stack(r->s, r->stack, (uint32_t)r->nstack, stack);
}

static int resolve_sample(gg_resolver *r, const gg_raw *raw, const gg_raw_sample *rec,
                          uint32_t max_depth)
{
    gg_sample sm = {rec->time_ns, rec->weight_ns, 0, 0, GG_NO_LABELS};
    int rc = resolve_stack(r, raw, rec, max_depth, &sm.stack);
    if (!rc)
        rc = gg_session_add_thread(r->s, rec->tid, NULL, &sm.thread);
    if (!rc && !(rec->flags & GG_RAW_OFF_CPU))
        r->s->threads[sm.thread].cpu_ns += rec->weight_ns;
    return rc ? rc : gg_session_add_sample(r->s, &sm);
}

typedef struct gg_when {
    uint64_t mono_ns;
    size_t index;
} gg_when;

static int by_time(const void *a, const void *b)
{
    const gg_when *x = a, *y = b;
    if (x->mono_ns != y->mono_ns)
        return x->mono_ns < y->mono_ns ? -1 : 1;
    return x->index < y->index ? -1 : 1; /* stable */
}

/* The raw samples in time order: each thread's come in order, but not the threads'. */
static gg_when *time_order(const gg_raw *raw, bool sort)
{
    gg_when *order = malloc((raw->nrecs ? raw->nrecs : 1) * sizeof(*order));
    for (size_t i = 0; order && i < raw->nrecs; i++)
        order[i] = (gg_when){raw->recs[i].mono_ns, i};
    if (order && sort)
        qsort(order, raw->nrecs, sizeof(*order), by_time);
    return order;
}

/* Every raw sample, in time order, then the labels and markers joined to them. */
static int resolve_all(gg_resolver *r, const gg_raw *raw, uint32_t max_depth, gg_eventlog *log,
                       uint64_t mono_start)
{
    gg_when *order = time_order(raw, r->s->process);
    uint64_t *mono = malloc((raw->nrecs ? raw->nrecs : 1) * sizeof(*mono));
    pid_t *tids = malloc((raw->nrecs ? raw->nrecs : 1) * sizeof(*tids));
    int rc = order && mono && tids ? 0 : GARGALO_ENOMEM;
    for (size_t i = 0; i < raw->nrecs && !rc; i++) {
        const gg_raw_sample *rec = &raw->recs[order[i].index];
        mono[i] = rec->mono_ns, tids[i] = rec->tid;
        rc = resolve_sample(r, raw, rec, max_depth);
    }
    if (!rc && log)
        rc = gg_events_join(r->s, log, mono_start, mono, tids);
    free(order), free(mono), free(tids);
    return rc;
}

/* Describes every module the session's frames name (pprof's mappings need them). */
static int add_modules(gargalo_session *s)
{
    int rc = 0;
    for (size_t i = 0; i < s->nframes && !rc; i++) {
        gg_module m;
        if (gg_symbols_module(s->frames[i].module, &m) == 0)
            rc = gg_session_add_module(s, &m);
    }
    return rc;
}

int gg_resolve(gargalo_session *s, const gg_raw *raw, uint32_t max_depth, uintptr_t handler_pc,
               gg_eventlog *log, uint64_t mono_start)
{
    uint64_t t0 = gg_clock_ns(CLOCK_MONOTONIC);
    gg_resolver r = {.s = s, .handler_pc = handler_pc};
    uint32_t thread;
    int rc = s->process ? 0 : gg_session_add_thread(s, s->tid, s->thread_name, &thread);
    gg_symbols_lock();
    if (!rc)
        rc = resolve_all(&r, raw, max_depth, log, mono_start);
    if (!rc)
        rc = add_modules(s);
    gg_symbols_unlock();
    free(r.memo);
    gg_index_free(&r.by_key);
    free(r.idx);
    free(r.stack);
    s->symbolize_ns = gg_clock_ns(CLOCK_MONOTONIC) - t0;
    return rc;
}
