/*
 * roster.c: the roster of roster.h. Each function frame is matched against the wait
 * calls once, each distinct stack is looked at once, and each sample adds its weight to
 * its thread and to the call it is parked in.
 */
#include "roster.h"

#include <stdlib.h>
#include <string.h>

/* The wait calls, by the name glibc's debug information gives them once the prefixes of
 * its internal aliases are taken off (___pthread_cond_wait, __GI___poll, __libc_read)
 * and its 64-bit time variants' suffixes too (__futex_abstimed_wait_common64,
 * __clock_nanosleep_time64). */
static const char *const wait_calls[] = {"epoll_wait",
                                         "epoll_pwait",
                                         "epoll_pwait2",
                                         "poll",
                                         "ppoll",
                                         "select",
                                         "pselect",
                                         "pselect6",
                                         "futex_wait",
                                         "futex_abstimed_wait_common",
                                         "futex_abstimed_wait_cancelable",
                                         "lll_lock_wait",
                                         "lll_lock_wait_private",
                                         "pthread_cond_wait",
                                         "pthread_cond_timedwait",
                                         "pthread_cond_clockwait",
                                         "pthread_cond_wait_common",
                                         "pthread_join",
                                         "pthread_timedjoin_np",
                                         "pthread_clockjoin_ex",
                                         "sem_wait",
                                         "sem_timedwait",
                                         "sem_clockwait",
                                         "do_futex_wait",
                                         "nanosleep",
                                         "clock_nanosleep",
                                         "sleep",
                                         "usleep",
                                         "pause",
                                         "sigwait",
                                         "sigwaitinfo",
                                         "sigtimedwait",
                                         "sigsuspend",
                                         "accept",
                                         "accept4",
                                         "read",
                                         "recv",
                                         "recvfrom",
                                         "recvmsg",
                                         "wait",
                                         "waitpid",
                                         "wait4",
                                         "waitid",
                                         "msgrcv",
                                         "io_getevents"};
#define NCALLS (sizeof(wait_calls) / sizeof(wait_calls[0]))

const char *gg_roster_call_name(uint32_t call)
{
    return call < NCALLS ? wait_calls[call] : "?";
}

void gg_roster_thread_name(dynbuf *b, const gg_thread *t)
{
    if (t->name[0])
        dynbuf_printf(b, "%s (%ld)", t->name, (long)t->tid);
    else
        dynbuf_printf(b, "thread %ld", (long)t->tid);
}

/* The name without the prefixes of glibc's internal aliases. */
static const char *plain_name(const char *name)
{
    while (*name == '_')
        name++;
    if (strncmp(name, "GI_", 3) == 0 || strncmp(name, "libc_", 5) == 0) {
        name = strchr(name, '_') + 1;
        while (*name == '_')
            name++;
    }
    return name;
}

/* Which wait call a function is, or GG_ROSTER_NONE. */
static uint32_t wait_call(const gg_frame *f)
{
    const char *name = f->function ? plain_name(f->function) : NULL;
    for (uint32_t i = 0; name && i < NCALLS; i++) {
        size_t n = strlen(wait_calls[i]);
        if (strncmp(name, wait_calls[i], n) == 0 &&
            (!name[n] || !strcmp(name + n, "64") || !strcmp(name + n, "_time64")))
            return i;
    }
    return GG_ROSTER_NONE;
}

/* A leaf of gargalo's own making (resolve.c): "[blocked] read fd 3: pipe", "[off-CPU:
 * ...]". It says what the thread waited on, not where: the frames above it do. */
static bool synthetic(const gg_frame *f)
{
    return f->module && strcmp(f->module, GG_ROSTER_SYNTHETIC_MODULE) == 0;
}

/* The wait call a stack is parked in: the outermost one of its innermost library run,
 * gargalo's own leaves looked through. */
static uint32_t parked_in(const gargalo_session *s, const uint32_t *call, uint32_t stack)
{
    uint32_t depth, found = GG_ROSTER_NONE;
    const uint32_t *fr = gg_stack_frames(s, stack, &depth);
    while (depth > 0 && synthetic(&s->frames[fr[depth - 1]]))
        depth--;
    for (uint32_t i = depth; i-- > 0;) {
        if (call[fr[i]] != GG_ROSTER_NONE)
            found = call[fr[i]];
        if (!s->frames[fr[i]].is_library || (i > 0 && !s->frames[fr[i - 1]].is_library))
            break;
    }
    return found;
}

/* Per stack of s, the wait call it is parked in, or GG_ROSTER_NONE. */
static uint32_t *parked_stacks(const gargalo_session *s)
{
    uint32_t *call = malloc((s->nframes ? s->nframes : 1) * sizeof(*call));
    uint32_t *parked = malloc((s->nstacks ? s->nstacks : 1) * sizeof(*parked));
    for (size_t i = 0; call && parked && i < s->nframes; i++)
        call[i] = wait_call(&s->frames[i]);
    for (size_t i = 0; call && parked && i < s->nstacks; i++)
        parked[i] = parked_in(s, call, (uint32_t)i);
    free(call);
    if (!call) {
        free(parked);
        return NULL;
    }
    return parked;
}

/* Adds each sample's weight to its thread, and to the wait call it is parked in
 * (waiting[thread * NCALLS + call]). */
static void weigh(gg_roster *r, const gargalo_session *s, const uint32_t *parked, uint64_t *waiting)
{
    for (size_t i = 0; i < s->nsamples; i++) {
        const gg_sample *sm = &s->samples[i];
        gg_roster_thread *t = &r->threads[sm->thread];
        t->weight_ns += sm->weight_ns;
        t->samples++;
        if (parked[sm->stack] != GG_ROSTER_NONE)
            waiting[(size_t)sm->thread * NCALLS + parked[sm->stack]] += sm->weight_ns;
    }
}

/* Where each thread is parked most, and whether it is idle. */
static void judge(gg_roster *r, const gargalo_session *s, const uint64_t *waiting)
{
    for (size_t t = 0; t < s->nthreads; t++) {
        gg_roster_thread *th = &r->threads[t];
        const uint64_t *w = waiting + t * NCALLS;
        uint64_t sum = 0, best = 0;
        th->parked = GG_ROSTER_NONE;
        th->rank = GG_ROSTER_NONE;
        for (uint32_t c = 0; c < NCALLS; c++) {
            sum += w[c];
            if (w[c] > best)
                best = w[c], th->parked = c;
        }
        th->idle = sum > 0 && (double)sum >= GG_ROSTER_IDLE_SHARE * (double)th->weight_ns &&
                   (double)s->threads[t].cpu_ns <= GG_ROSTER_IDLE_CPU * (double)s->duration_ns;
    }
}

typedef struct gg_rank_key {
    bool idle;
    uint64_t cpu_ns, weight_ns;
    uint32_t thread;
} gg_rank_key;

/* Busy before idle; then more CPU time, more weight, the lower index. */
static int rank_cmp(const void *pa, const void *pb)
{
    const gg_rank_key *a = pa, *b = pb;
    if (a->idle != b->idle)
        return a->idle ? 1 : -1;
    if (a->cpu_ns != b->cpu_ns)
        return a->cpu_ns > b->cpu_ns ? -1 : 1;
    if (a->weight_ns != b->weight_ns)
        return a->weight_ns > b->weight_ns ? -1 : 1;
    return (a->thread > b->thread) - (a->thread < b->thread);
}

static int rank_threads(gg_roster *r, const gargalo_session *s)
{
    gg_rank_key *k = malloc((s->nthreads ? s->nthreads : 1) * sizeof(*k));
    r->order = malloc((s->nthreads ? s->nthreads : 1) * sizeof(*r->order));
    if (!k || !r->order) {
        free(k);
        return GARGALO_ENOMEM;
    }
    for (uint32_t t = 0; t < s->nthreads; t++) {
        const gg_roster_thread *th = &r->threads[t];
        if (th->samples)
            k[r->n++] = (gg_rank_key){th->idle, s->threads[t].cpu_ns, th->weight_ns, t};
        r->nidle += th->samples && th->idle;
    }
    qsort(k, r->n, sizeof(*k), rank_cmp);
    for (uint32_t i = 0; i < r->n; i++) {
        r->order[i] = k[i].thread;
        r->threads[k[i].thread].rank = i;
    }
    free(k);
    return 0;
}

void gg_roster_free(gg_roster *r)
{
    free(r->threads);
    free(r->order);
    memset(r, 0, sizeof(*r));
}

int gg_roster_build(gg_roster *r, const gargalo_session *s)
{
    memset(r, 0, sizeof(*r));
    uint32_t *parked = parked_stacks(s);
    uint64_t *waiting = calloc(s->nthreads ? s->nthreads * NCALLS : 1, sizeof(*waiting));
    r->threads = calloc(s->nthreads ? s->nthreads : 1, sizeof(*r->threads));
    int rc = parked && waiting && r->threads ? 0 : GARGALO_ENOMEM;
    if (!rc) {
        weigh(r, s, parked, waiting);
        judge(r, s, waiting);
        rc = rank_threads(r, s);
    }
    free(parked), free(waiting);
    if (rc)
        gg_roster_free(r);
    return rc;
}

size_t gg_roster_groups(const gg_roster *r, gg_roster_group *out)
{
    size_t n = 0;
    for (size_t i = r->n - r->nidle; i < r->n; i++) {
        const gg_roster_thread *t = &r->threads[r->order[i]];
        size_t g = 0;
        while (g < n && out[g].call != t->parked)
            g++;
        if (g == n)
            out[n++] = (gg_roster_group){.call = t->parked, .first = i};
        out[g].threads++;
        out[g].weight_ns += t->weight_ns;
        out[g].samples += t->samples;
    }
    return n;
}

/* How many of g's threads, from its first on, have the name of the thread at place `at`;
 * 0 when one before `at` has it already. */
static size_t same_name(const gargalo_session *s, const gg_roster *r, const gg_roster_group *g,
                        size_t at)
{
    const gg_thread *t = &s->threads[r->order[at]];
    size_t n = 0;
    for (size_t i = g->first; i < r->n; i++) {
        const gg_thread *u = &s->threads[r->order[i]];
        if (!r->threads[r->order[i]].idle || r->threads[r->order[i]].parked != g->call ||
            (t->name[0] ? strcmp(u->name, t->name) != 0 : u != t))
            continue;
        if (i < at)
            return 0;
        n++;
    }
    return n;
}

void gg_roster_group_label(dynbuf *b, const gargalo_session *s, const gg_roster *r,
                           const gg_roster_group *g)
{
    size_t listed = 0, more = 0;
    dynbuf_printf(b, "%zu idle thread%s: parked in %s", g->threads, g->threads == 1 ? "" : "s",
                  gg_roster_call_name(g->call));
    for (size_t i = g->first; i < r->n; i++) {
        size_t n = r->threads[r->order[i]].parked == g->call ? same_name(s, r, g, i) : 0;
        if (!n || (listed == GG_ROSTER_IDLE_NAMES && (more += n)))
            continue;
        dynbuf_puts(b, listed++ ? ", " : " (");
        const gg_thread *t = &s->threads[r->order[i]];
        if (t->name[0])
            dynbuf_puts(b, t->name);
        else
            gg_roster_thread_name(b, t);
        if (n > 1)
            dynbuf_printf(b, " ×%zu", n);
    }
    if (more)
        dynbuf_printf(b, " and %zu more", more);
    dynbuf_putc(b, ')');
}
