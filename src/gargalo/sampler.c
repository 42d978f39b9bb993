/*
 * sampler.c: gargalo_start/stop/session_free: a POSIX timer per profiled thread sends it
 * SIGPROF; the handler unwinds with libunwind into memory mapped before arming. Stop
 * disarms, then symbolizes (symbols.c) and builds the resolved session (session.c).
 * See docs/sampling.md for the design and what user code must expect.
 */
#define _GNU_SOURCE
#include "sampler.h"

#define UNW_LOCAL_ONLY
#include <libunwind.h>

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include "session.h"
#include "symbols.h"
#include "ticker.h"

#if defined(__SANITIZE_THREAD__)
#define GG_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define GG_TSAN 1
#endif
#endif
#ifndef GG_TSAN
#define GG_TSAN 0
#endif

/* Frames the handler asks for beyond max_depth: its own frames and the signal trampoline
 * come first in what unw_backtrace returns and are cut off right away. */
#define GG_SKIP_MAX 16u

enum { GG_RAW_LEAF_IS_PC = 1 }; /* pcs[0] is the interrupted pc, not a return address */

/* Who still needs a sampler whose session was freed on another thread (orphaned) or
 * whose thread exited first (gone). Whichever side comes second frees it; only one side
 * deletes the timer (a deleted timer's id may be reused by a new timer at once). */
enum { GG_LIVE, GG_HANDING, GG_ORPHANED, GG_GONE };

typedef struct gg_raw_sample {
    uint64_t time_ns;   /* session clock since start */
    uint64_t weight_ns; /* session clock since the previous timer signal */
    uint64_t offset;    /* first pc in gg_sampler.pcs, innermost first */
    uint32_t depth;
    uint32_t flags;
} gg_raw_sample;

struct gg_sampler {
    atomic_int running; /* the handler records only while set */
    atomic_int owner;   /* GG_LIVE until an orphan or a thread exit: see above */
    bool warming;       /* the one self-sent warm-up signal is expected */
    bool reblock;       /* SIGPROF was blocked on the thread before start */
    bool ticked;        /* wall clock: signalled by the ticker thread, not a timer */
    gargalo_options opt;
    timer_t timer;
    clockid_t clock;            /* session clock: CLOCK_MONOTONIC or the thread's CPU clock */
    uint64_t start_ns, last_ns; /* on the session clock */
    uint64_t mono_start, cpu_start;
    uint64_t ticks; /* timer signals seen: drives the adaptive interval */
    unsigned interval_us;
    void **pcs; /* mmap'd, max_frames entries */
    size_t pcs_cap, pcs_used;
    gg_raw_sample *recs; /* mmap'd, max_frames entries */
    size_t recs_cap, nrecs;
    size_t dropped;
};

/* The calling thread's running sampler. initial-exec: reading it in the handler must not
 * go through __tls_get_addr, which may allocate in a shared library. */
static __thread struct gg_sampler *gg_current __attribute__((tls_model("initial-exec")));
static __thread bool gg_thread_warm __attribute__((tls_model("initial-exec")));
static pthread_key_t gg_exit_key; /* its destructor cleans up after a thread that exits
                                     with a session still running or orphaned */

unsigned gg_sampler_interval_us(const gargalo_options *opt, uint64_t n)
{
    if (opt->interval_us)
        return opt->interval_us;
    unsigned max = opt->max_interval_us;
    unsigned iv = GG_ADAPT_START_US < max ? GG_ADAPT_START_US : max;
    for (uint64_t k = n / GG_ADAPT_STEP; k > 0 && iv < max; k--)
        iv = iv > max / 2 ? max : iv * 2;
    return iv;
}

/* ---- the signal handler: async-signal-safe code only down to the next marker ---- */

static uint64_t interrupted_pc(const void *ucv)
{
    const ucontext_t *uc = ucv;
#if defined(__x86_64__)
    return (uint64_t)uc->uc_mcontext.gregs[REG_RIP];
#elif defined(__aarch64__)
    return (uint64_t)uc->uc_mcontext.pc;
#else
    (void)uc;
    return 0;
#endif
}

static int arm(struct gg_sampler *sp, unsigned us)
{
    struct itimerspec its;
    its.it_interval.tv_sec = us / 1000000;
    its.it_interval.tv_nsec = (long)(us % 1000000) * 1000;
    its.it_value = its.it_interval;
    return timer_settime(sp->timer, 0, &its, NULL);
}

/* The current stack's return addresses, innermost first. unw_backtrace is the fast path
 * (a per-thread cache of frame layouts). Under TSan that cache's thread-exit destructor
 * locks a mutex after TSan has torn the thread down and crashes, so step uncached. */
static int unwind(void **buf, int max)
{
#if GG_TSAN
    unw_context_t ctx;
    unw_cursor_t cur;
    unw_word_t ip;
    int n = 0;
    if (unw_getcontext(&ctx) != 0 || unw_init_local(&cur, &ctx) != 0)
        return 0;
    do {
        if (n >= max || unw_get_reg(&cur, UNW_REG_IP, &ip) != 0)
            break;
        buf[n++] = (void *)(uintptr_t)ip;
    } while (unw_step(&cur) > 0);
    return n;
#else
    return unw_backtrace(buf, max);
#endif
}

/* Unwinds into the buffer at pcs_used and cuts the handler's own frames: everything
 * before the interrupted pc. When the pc is not found (TSan delivers signals late, from
 * its own frames), keeps the whole stack; gargalo_stop cuts it by symbol instead. */
static void record_stack(struct gg_sampler *sp, uint64_t now, const void *uc)
{
    void **buf = sp->pcs + sp->pcs_used;
    uint64_t pc = interrupted_pc(uc);
    int n = unwind(buf, (int)(sp->opt.max_depth + GG_SKIP_MAX));
    uint32_t flags = 0, depth = n > 0 ? (uint32_t)n : 0;
    for (uint32_t i = 0; pc && i < depth && i < GG_SKIP_MAX; i++) {
        if ((uint64_t)(uintptr_t)buf[i] != pc)
            continue;
        depth -= i;
        if (depth > sp->opt.max_depth)
            depth = sp->opt.max_depth;
        memmove(buf, buf + i, depth * sizeof(*buf));
        flags = GG_RAW_LEAF_IS_PC;
        break;
    }
    if (depth == 0 && pc) { /* unwinding failed: keep at least where the thread was */
        buf[0] = (void *)(uintptr_t)pc;
        depth = 1;
        flags = GG_RAW_LEAF_IS_PC;
    }
    sp->recs[sp->nrecs++] =
        (gg_raw_sample){now - sp->start_ns, now - sp->last_ns, sp->pcs_used, depth, flags};
    sp->pcs_used += depth;
}

static void take_sample(struct gg_sampler *sp, const void *uc)
{
    struct timespec ts;
    clock_gettime(sp->clock, &ts);
    uint64_t now = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
    if (sp->nrecs < sp->recs_cap && sp->pcs_cap - sp->pcs_used >= sp->opt.max_depth + GG_SKIP_MAX)
        record_stack(sp, now, uc);
    else
        sp->dropped++;
    sp->last_ns = now;
    if (!sp->ticked && !sp->opt.interval_us) { /* the ticker adapts its own interval */
        unsigned next = gg_sampler_interval_us(&sp->opt, ++sp->ticks);
        if (next != sp->interval_us) {
            sp->interval_us = next;
            arm(sp, next);
        }
    }
}

static void gg_sampler_on_signal(int sig, siginfo_t *si, void *uc)
{
    int saved_errno = errno;
    struct gg_sampler *sp = gg_current;
    if (!sp) {
        /* not profiled, or a signal still pending from a stopped session */
    } else if ((si->si_code == SI_TIMER || si->si_code == SI_QUEUE) &&
               si->si_value.sival_ptr == sp &&
               atomic_load_explicit(&sp->running, memory_order_relaxed)) {
        take_sample(sp, uc);
    } else if (sp->warming && si->si_code == SI_TKILL) {
        /* warm-up: the first unwind from a signal frame on this thread, outside any
         * lock the user code could hold; also faults in the buffer's first page */
        unwind(sp->pcs, (int)GG_SKIP_MAX);
    }
    errno = saved_errno;
}

/* ---- end of signal handler code ---- */

static void sampler_free(struct gg_sampler *sp);

/* Stops whatever sends this sampler its signals: the ticker, or the CPU-time timer. */
static void source_delete(struct gg_sampler *sp)
{
    if (sp->ticked)
        gg_ticker_remove(sp);
    else
        timer_delete(sp->timer);
}

/* Runs on a thread that exits while it still has a sampler: a session never stopped (its
 * timer would fire on forever) or one orphaned since. */
static void on_thread_exit(void *arg)
{
    struct gg_sampler *sp = arg;
    int live = GG_LIVE;
    atomic_store(&sp->running, 0);
    gg_current = NULL;
    atomic_signal_fence(memory_order_seq_cst);
    if (atomic_compare_exchange_strong(&sp->owner, &live, GG_GONE)) {
        source_delete(sp); /* the session still holds sp: gargalo_session_free frees */
        return;
    }
    while (atomic_load(&sp->owner) == GG_HANDING)
        sched_yield();
    sampler_free(sp);
}

/* A foreign SIGPROF handler is not chained: its owner (another profiler, setitimer) would
 * get our timer signals and we its. So gargalo_start fails instead, and tries again next
 * time (the foreign handler may be gone by then). */
static bool foreign_handler(const struct sigaction *sa)
{
    if (sa->sa_flags & SA_SIGINFO)
        return sa->sa_sigaction != gg_sampler_on_signal;
    return sa->sa_handler != SIG_DFL && sa->sa_handler != SIG_IGN;
}

static pthread_once_t gg_init_once = PTHREAD_ONCE_INIT;
static int gg_init_err;

static void init_once(void)
{
    void *warm[32];
#if !GG_TSAN
    /* The default, process-wide cache takes a lock and masks signals around every use;
     * one cache per thread needs neither, which matters inside a signal handler. */
    unw_set_caching_policy(unw_local_addr_space, UNW_CACHE_PER_THREAD);
#endif
    unwind(warm, 32); /* libunwind initializes itself here, not in a handler */
    if (pthread_key_create(&gg_exit_key, on_thread_exit) != 0)
        gg_init_err = GARGALO_ENOMEM;
}

/* Installs the handler once per process; afterwards only checks it is still ours. */
static int install_handler(void)
{
    static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    static atomic_int installed;
    struct sigaction cur, sa;
    int rc = 0;
    pthread_once(&gg_init_once, init_once);
    if (gg_init_err)
        return gg_init_err;
    if (sigaction(SIGPROF, NULL, &cur) != 0 || foreign_handler(&cur))
        return GARGALO_ESIGNAL;
    if (atomic_load(&installed))
        return 0;
    pthread_mutex_lock(&lock);
    if (!atomic_load(&installed)) {
        memset(&sa, 0, sizeof(sa));
        sa.sa_sigaction = gg_sampler_on_signal;
        sa.sa_flags = SA_SIGINFO | SA_RESTART;
        sigemptyset(&sa.sa_mask);
        if (sigaction(SIGPROF, &sa, NULL) == 0)
            atomic_store(&installed, 1);
        else
            rc = GARGALO_ESIGNAL;
    }
    pthread_mutex_unlock(&lock);
    return rc;
}

static int check_options(const gargalo_options *in, gargalo_options *o)
{
    gargalo_options def;
    gargalo_options_init(&def);
    *o = in ? *in : def;
    if (o->clock != GARGALO_CLOCK_WALL && o->clock != GARGALO_CLOCK_CPU)
        return GARGALO_EINVAL;
    if (o->interval_us &&
        (o->interval_us < GG_INTERVAL_MIN_US || o->interval_us > GG_INTERVAL_MAX_US))
        return GARGALO_EINVAL;
    if (!o->max_interval_us) /* zero members mean the defaults */
        o->max_interval_us = def.max_interval_us;
    if (o->max_interval_us < GG_INTERVAL_MIN_US || o->max_interval_us > GG_INTERVAL_MAX_US)
        return GARGALO_EINVAL;
    if (!o->max_depth)
        o->max_depth = def.max_depth;
    if (!o->max_frames)
        o->max_frames = def.max_frames;
    if (o->max_depth > GG_DEPTH_MAX || o->max_frames < o->max_depth + GG_SKIP_MAX ||
        o->max_frames > ((size_t)1 << 32))
        return GARGALO_EINVAL;
    return 0;
}

static void *map_lazy(size_t bytes)
{
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                   -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

static void sampler_free(struct gg_sampler *sp)
{
    if (sp->pcs)
        munmap(sp->pcs, sp->pcs_cap * sizeof(*sp->pcs));
    if (sp->recs)
        munmap(sp->recs, sp->recs_cap * sizeof(*sp->recs));
    free(sp);
}

/* The raw buffers are reserved, not committed: pages appear as samples fill them. */
static struct gg_sampler *sampler_new(const gargalo_options *o)
{
    struct gg_sampler *sp = calloc(1, sizeof(*sp));
    if (!sp)
        return NULL;
    sp->opt = *o;
    sp->pcs_cap = sp->recs_cap = o->max_frames;
    sp->pcs = map_lazy(sp->pcs_cap * sizeof(*sp->pcs));
    sp->recs = map_lazy(sp->recs_cap * sizeof(*sp->recs));
    if (!sp->pcs || !sp->recs) {
        sampler_free(sp);
        return NULL;
    }
    sp->clock = o->clock == GARGALO_CLOCK_CPU ? CLOCK_THREAD_CPUTIME_ID : CLOCK_MONOTONIC;
    sp->ticked = o->clock == GARGALO_CLOCK_WALL;
    return sp;
}

/* A thread whose session was freed elsewhere still points at its sampler (a late signal
 * may read it); the thread itself frees it at its next start. */
static int claim_thread(void)
{
    struct gg_sampler *sp = gg_current;
    if (!sp)
        return 0;
    int st;
    while ((st = atomic_load(&sp->owner)) == GG_HANDING)
        sched_yield();
    if (st != GG_ORPHANED)
        return GARGALO_EBUSY;
    gg_current = NULL;
    atomic_signal_fence(memory_order_seq_cst);
    pthread_setspecific(gg_exit_key, NULL);
    sampler_free(sp);
    return 0;
}

static void unblock_sigprof(struct gg_sampler *sp)
{
    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIGPROF);
    pthread_sigmask(SIG_UNBLOCK, &set, &old);
    sp->reblock = sigismember(&old, SIGPROF) == 1;
}

/* Sends the thread one SIGPROF of its own, delivered before pthread_kill returns, so the
 * first unwind through a signal frame happens here and not inside user code. */
static void warm_up_thread(struct gg_sampler *sp)
{
    if (gg_thread_warm)
        return;
    sp->warming = true;
    gg_current = sp;
    atomic_signal_fence(memory_order_seq_cst);
    pthread_kill(pthread_self(), SIGPROF);
    gg_current = NULL;
    atomic_signal_fence(memory_order_seq_cst);
    sp->warming = false;
    gg_thread_warm = true;
}

/* CPU-clock sessions get a timer on the thread's CPU clock; wall-clock ones need none:
 * the ticker thread signals them. */
static int create_source(struct gg_sampler *sp)
{
    if (sp->ticked)
        return 0;
    struct sigevent sev;
    memset(&sev, 0, sizeof(sev));
    sev.sigev_notify = SIGEV_THREAD_ID;
    sev.sigev_signo = SIGPROF;
    sev.sigev_value.sival_ptr = sp;
    sev._sigev_un._tid = gettid(); /* sigev_notify_thread_id, unnamed in glibc 2.36 */
    return timer_create(sp->clock, &sev, &sp->timer) == 0 ? 0 : GARGALO_ETIMER;
}

static int start_source(struct gg_sampler *sp)
{
    if (sp->ticked)
        return gg_ticker_add(sp, gettid(), &sp->opt);
    return arm(sp, sp->interval_us) == 0 ? 0 : GARGALO_ETIMER;
}

static int start_sampling(struct gg_sampler *sp)
{
    int rc = create_source(sp);
    if (rc)
        return rc;
    sp->mono_start = gg_clock_ns(CLOCK_MONOTONIC);
    sp->cpu_start = gg_clock_ns(CLOCK_THREAD_CPUTIME_ID);
    sp->start_ns = sp->last_ns = sp->clock == CLOCK_MONOTONIC ? sp->mono_start : sp->cpu_start;
    sp->interval_us = gg_sampler_interval_us(&sp->opt, 0);
    gg_current = sp;
    atomic_store(&sp->running, 1);
    atomic_signal_fence(memory_order_seq_cst);
    if ((rc = start_source(sp))) {
        atomic_store(&sp->running, 0);
        gg_current = NULL;
        if (!sp->ticked)
            timer_delete(sp->timer);
    }
    return rc;
}

static void restore_mask(const struct gg_sampler *sp)
{
    if (sp->reblock) {
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGPROF);
        pthread_sigmask(SIG_BLOCK, &set, NULL);
    }
}

/* Order matters: the handler must stop looking at sp (TLS cleared) before the timer goes,
 * and both before sp can be freed. A signal still pending finds gg_current NULL. */
static void disarm(struct gg_sampler *sp)
{
    atomic_store(&sp->running, 0);
    gg_current = NULL;
    atomic_signal_fence(memory_order_seq_cst);
    source_delete(sp);
    pthread_setspecific(gg_exit_key, NULL);
    restore_mask(sp);
}

static void describe_thread(gargalo_session *s, const gargalo_options *o)
{
    s->opt = *o;
    s->tid = gettid();
    pthread_getname_np(pthread_self(), s->thread_name, sizeof(s->thread_name));
    s->start_unix_ns = gg_clock_ns(CLOCK_REALTIME);
}

int gargalo_start(gargalo_session **out, const gargalo_options *opt)
{
    gargalo_options o;
    int rc;
    if (!out)
        return GARGALO_EINVAL;
    *out = NULL;
    if ((rc = check_options(opt, &o)) || (rc = install_handler()) || (rc = claim_thread()))
        return rc;
    gargalo_session *s = gg_session_new();
    struct gg_sampler *sp = s ? sampler_new(&o) : NULL;
    if (!sp) {
        free(s);
        return GARGALO_ENOMEM;
    }
    describe_thread(s, &o);
    unblock_sigprof(sp);
    warm_up_thread(sp);
    if ((rc = start_sampling(sp))) {
        restore_mask(sp);
        sampler_free(sp);
        free(s);
        return rc;
    }
    pthread_setspecific(gg_exit_key, sp);
    s->sampler = sp;
    s->state = GG_RUNNING;
    *out = s;
    return 0;
}

/* ---- resolution: raw program counters to the session's frames and stacks ---- */

typedef struct gg_pc_slot {
    uintptr_t key;  /* pc << 1 | is_return */
    uint32_t first; /* in gg_resolver.idx */
    uint32_t count; /* 0: empty */
} gg_pc_slot;

/* Per-stop memo: each distinct pc is symbolized and added to the session once. */
typedef struct gg_resolver {
    gargalo_session *s;
    gg_pc_slot *map;
    size_t cap, used;
    uint32_t *idx; /* session frame indices, root first per pc */
    size_t nidx, idx_cap;
    uint32_t *stack;
    size_t nstack, stack_cap;
    bool have_handler; /* handler identity below is known */
    const char *handler_module;
    uint64_t handler_offset;
} gg_resolver;

static int grow_u32(uint32_t **arr, size_t *cap, size_t need)
{
    if (need <= *cap)
        return 0;
    size_t ncap = *cap ? *cap : 256;
    while (ncap < need)
        ncap *= 2;
    uint32_t *p = realloc(*arr, ncap * sizeof(*p));
    if (!p)
        return GARGALO_ENOMEM;
    *arr = p;
    *cap = ncap;
    return 0;
}

static int map_grow(gg_resolver *r)
{
    if (r->cap && (r->used + 1) * 4 < r->cap * 3)
        return 0;
    size_t ncap = r->cap ? r->cap * 2 : 1024;
    gg_pc_slot *m = calloc(ncap, sizeof(*m));
    if (!m)
        return GARGALO_ENOMEM;
    for (size_t i = 0; i < r->cap; i++) {
        if (!r->map[i].count)
            continue;
        size_t j = (r->map[i].key * 0x9e3779b97f4a7c15u >> 20) & (ncap - 1);
        while (m[j].count)
            j = (j + 1) & (ncap - 1);
        m[j] = r->map[i];
    }
    free(r->map);
    r->map = m;
    r->cap = ncap;
    return 0;
}

/* Symbolizes one pc into session frames (root first) and remembers them. */
static int memo_fill(gg_resolver *r, gg_pc_slot *slot, uintptr_t key)
{
    const gg_frame *f;
    int n = gg_symbols_resolve(key >> 1, key & 1, &f);
    if (n < 0 || grow_u32(&r->idx, &r->idx_cap, r->nidx + (size_t)n))
        return GARGALO_ENOMEM;
    for (int i = n; i-- > 0;) {
        int64_t id = gg_session_add_frame(r->s, &f[i]);
        if (id < 0)
            return GARGALO_ENOMEM;
        r->idx[r->nidx + (size_t)(n - 1 - i)] = (uint32_t)id;
    }
    *slot = (gg_pc_slot){key, (uint32_t)r->nidx, (uint32_t)n};
    r->nidx += (size_t)n;
    r->used++;
    return 0;
}

/* Appends the frames of pc, root first, to the stack being built. */
static int push_pc(gg_resolver *r, uintptr_t pc, bool is_return)
{
    uintptr_t key = pc << 1 | (is_return ? 1 : 0);
    if (map_grow(r))
        return GARGALO_ENOMEM;
    size_t mask = r->cap - 1, i = (key * 0x9e3779b97f4a7c15u >> 20) & mask;
    while (r->map[i].count && r->map[i].key != key)
        i = (i + 1) & mask;
    int rc = r->map[i].count ? 0 : memo_fill(r, &r->map[i], key);
    if (rc || grow_u32(&r->stack, &r->stack_cap, r->nstack + r->map[i].count))
        return rc ? rc : GARGALO_ENOMEM;
    memcpy(r->stack + r->nstack, r->idx + r->map[i].first, r->map[i].count * sizeof(uint32_t));
    r->nstack += r->map[i].count;
    return 0;
}

/* The real function holding pc (the last, outermost frame of its expansion). */
static const gg_frame *outer_frame(uintptr_t pc, bool is_return, int *rc)
{
    const gg_frame *f;
    int n = gg_symbols_resolve(pc, is_return, &f);
    *rc = n < 0 ? GARGALO_ENOMEM : 0;
    return n > 0 ? &f[n - 1] : NULL;
}

static bool is_runtime_frame(const gg_frame *f)
{
    static const char *const mods[] = {"libtsan", "libasan", "libubsan", "libclang_rt"};
    static const char *const fns[] = {"__restore_rt", "__tsan",           "_ZN6__tsan",
                                      "__sanitizer",  "_ZN11__sanitizer", "__interceptor_"};
    for (size_t i = 0; f->module && i < sizeof(mods) / sizeof(mods[0]); i++)
        if (strncmp(f->module, mods[i], strlen(mods[i])) == 0)
            return true;
    for (size_t i = 0; f->function && i < sizeof(fns) / sizeof(fns[0]); i++)
        if (strncmp(f->function, fns[i], strlen(fns[i])) == 0)
            return true;
    return false;
}

/* For a stack the handler could not cut: how many leaf-side frames belong to the sampler
 * (up to its handler) and to the runtime that called it (TSan, the trampoline). */
static int strip_count(gg_resolver *r, void *const *pcs, uint32_t depth, uint32_t *skip)
{
    int rc = 0;
    if (!r->have_handler) {
        const gg_frame *h = outer_frame((uintptr_t)gg_sampler_on_signal, false, &rc);
        if (!h || !h->function)
            return rc;
        r->handler_module = h->module, r->handler_offset = h->offset, r->have_handler = true;
    }
    uint32_t last = 0, limit = depth < 4 * GG_SKIP_MAX ? depth : 4 * GG_SKIP_MAX;
    for (uint32_t i = 0; i < limit && !rc; i++) {
        const gg_frame *f = outer_frame((uintptr_t)pcs[i], true, &rc);
        if (f && f->module == r->handler_module && f->offset == r->handler_offset)
            last = i + 1;
    }
    for (const gg_frame *f; last && last < depth && !rc; last++)
        if (!(f = outer_frame((uintptr_t)pcs[last], true, &rc)) || !is_runtime_frame(f))
            break;
    *skip = last;
    return rc;
}

static int resolve_sample(gg_resolver *r, const struct gg_sampler *sp, const gg_raw_sample *rec)
{
    void *const *pcs = sp->pcs + rec->offset;
    bool leaf_is_pc = rec->flags & GG_RAW_LEAF_IS_PC;
    uint32_t skip = 0, end = rec->depth;
    int rc = leaf_is_pc ? 0 : strip_count(r, pcs, rec->depth, &skip);
    if (rc)
        return rc;
    if (end - skip > sp->opt.max_depth)
        end = skip + sp->opt.max_depth; /* keep the innermost frames */
    r->nstack = 0;
    for (uint32_t i = end; i-- > skip && !rc;)
        rc = push_pc(r, (uintptr_t)pcs[i], !(leaf_is_pc && i == skip));
    int64_t st = rc ? -1 : gg_session_add_stack(r->s, r->stack, (uint32_t)r->nstack);
    if (st < 0)
        return GARGALO_ENOMEM;
    return gg_session_add_sample(r->s, rec->time_ns, rec->weight_ns, (uint32_t)st);
}

static int resolve(gargalo_session *s, const struct gg_sampler *sp)
{
    uint64_t t0 = gg_clock_ns(CLOCK_MONOTONIC);
    gg_resolver r = {.s = s};
    int rc = 0;
    gg_symbols_lock();
    for (size_t i = 0; i < sp->nrecs && !rc; i++)
        rc = resolve_sample(&r, sp, &sp->recs[i]);
    gg_symbols_unlock();
    free(r.map);
    free(r.idx);
    free(r.stack);
    s->symbolize_ns = gg_clock_ns(CLOCK_MONOTONIC) - t0;
    return rc;
}

int gargalo_stop(gargalo_session *s)
{
    if (!s)
        return GARGALO_EINVAL;
    struct gg_sampler *sp = s->sampler;
    if (s->state != GG_RUNNING || !sp || s->tid != gettid() || gg_current != sp)
        return GARGALO_ESTATE;
    disarm(sp);
    s->duration_ns = gg_clock_ns(CLOCK_MONOTONIC) - sp->mono_start;
    s->cpu_ns = gg_clock_ns(CLOCK_THREAD_CPUTIME_ID) - sp->cpu_start;
    s->dropped = sp->dropped;
    int rc = resolve(s, sp);
    s->sampler = NULL;
    s->state = GG_STOPPED;
    sampler_free(sp);
    if (rc) /* a half-built profile would mislead: keep the statistics only */
        gg_session_free_resolved(s);
    gg_session_finish(s);
    return rc;
}

/* Freed on another thread: stop the timer (timer ids are process-wide) but leave the
 * sampler alive, since a signal may be running on the owner right now. */
static void orphan(struct gg_sampler *sp)
{
    int live = GG_LIVE;
    atomic_store(&sp->running, 0);
    if (atomic_compare_exchange_strong(&sp->owner, &live, GG_HANDING)) {
        source_delete(sp);
        atomic_store(&sp->owner, GG_ORPHANED);
    } else { /* GG_GONE: the thread has exited and deleted the timer */
        sampler_free(sp);
    }
}

void gargalo_session_free(gargalo_session *s)
{
    if (!s)
        return;
    struct gg_sampler *sp = s->sampler;
    if (sp && s->tid == gettid() && gg_current == sp) {
        disarm(sp);
        sampler_free(sp);
    } else if (sp) {
        orphan(sp);
    }
    gg_session_free_resolved(s);
    free(s);
}
