/*
 * render_fixture.h: synthetic sessions for the tree and renderer tests, built through the
 * session builders as gargalo_stop would leave them, so no sampling is involved.
 */
#ifndef RENDER_FIXTURE_H
#define RENDER_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gargalo.h"
#include "session.h"

#define FX_MS 1000000u

/* The builders, for tests: the new index, or abort. */
static inline uint32_t fx_frame(gargalo_session *s, const gg_frame *f)
{
    uint32_t idx;
    if (gg_session_add_frame(s, f, &idx))
        abort();
    return idx;
}

/* A sample of thread 0 (made on first use) without labels. */
static inline int fx_sample(gargalo_session *s, uint64_t time_ns, uint64_t weight_ns,
                            uint32_t stack)
{
    uint32_t thread;
    if (!s->nthreads && gg_session_add_thread(s, s->tid, s->thread_name, &thread))
        return GARGALO_ENOMEM;
    return gg_session_add_sample(s, &(gg_sample){time_ns, weight_ns, stack, 0, GG_NO_LABELS});
}

static inline uint32_t fx_stack(gargalo_session *s, const uint32_t *frames, uint32_t depth)
{
    uint32_t idx;
    if (gg_session_add_stack(s, frames, depth, &idx))
        abort();
    return idx;
}

enum {
    FX_MAIN_10,
    FX_MAIN_12,
    FX_HANDLE,
    FX_STEP,
    FX_VDBE,
    FX_CALLBACK,
    FX_MEMCPY,
    FX_PARSE,
    FX_UNKNOWN,
    FX_NFRAMES
};

static inline void fx_frames(gargalo_session *s)
{
    static const gg_frame frames[FX_NFRAMES] = {
        [FX_MAIN_10] = {"main", "/home/dev/app/src/main.c", 10, "app", 0x1100, false, false},
        [FX_MAIN_12] = {"main", "/home/dev/app/src/main.c", 12, "app", 0x1120, false, false},
        [FX_HANDLE] = {"handle_request", "/home/dev/app/src/server.c", 40, "app", 0x2000, false,
                       false},
        [FX_STEP] = {"sqlite3_step", NULL, 0, "libsqlite3.so.0", 0x5000, true, false},
        [FX_VDBE] = {"sqlite3VdbeExec", NULL, 0, "libsqlite3.so.0", 0x6000, true, false},
        [FX_CALLBACK] = {"my_callback", "/home/dev/app/src/cb.c", 7, "app", 0x3000, false, false},
        [FX_MEMCPY] = {"memcpy", NULL, 0, "libc.so.6", 0x7000, true, false},
        [FX_PARSE] = {"parse_json", "/home/dev/app/src/parse.c", 20, "app", 0x4000, false, true},
        [FX_UNKNOWN] = {NULL, NULL, 0, "app", 0x1234, false, false},
    };
    for (uint32_t i = 0; i < FX_NFRAMES; i++)
        if (fx_frame(s, &frames[i]) != i)
            abort();
}

/*
 * 100 samples of 1 ms, interleaved in time:
 *   50  main@10 > handle_request > sqlite3_step > sqlite3VdbeExec
 *   20  main@10 > handle_request > sqlite3_step > sqlite3VdbeExec > my_callback
 *   15  main@12 > parse_json > memcpy
 *   10  main@12 > parse_json
 *    4  main@12 > app+0x1234
 *    1  main@10
 * Grouped: main 100% > handle_request 70% > sqlite3_step [libsqlite3.so.0] (+1 frame)
 * 70% > my_callback 20%; main > parse_json 25% > memcpy [libc.so.6] 15%; main > app+0x1234.
 * fx_session_counts makes the same session with other sample counts per stack.
 */
static inline gargalo_session *fx_session_counts(const int counts[6])
{
    static const uint32_t st[][6] = {
        {4, FX_MAIN_10, FX_HANDLE, FX_STEP, FX_VDBE},
        {5, FX_MAIN_10, FX_HANDLE, FX_STEP, FX_VDBE, FX_CALLBACK},
        {3, FX_MAIN_12, FX_PARSE, FX_MEMCPY},
        {2, FX_MAIN_12, FX_PARSE},
        {2, FX_MAIN_12, FX_UNKNOWN},
        {1, FX_MAIN_10},
    };
    gargalo_session *s = gg_session_new();
    uint32_t thread;
    if (!s || gg_session_add_thread(s, 4242, "worker", &thread))
        abort();
    fx_frames(s);
    for (uint32_t i = 0; i < 6; i++)
        if (fx_stack(s, st[i] + 1, st[i][0]) != i)
            abort();
    int left[6], n = 0;
    memcpy(left, counts, sizeof(left));
    for (int i = 0; i < 6; i++)
        n += counts[i];
    for (uint64_t t = 1, k = 0; t <= (uint64_t)n; k++) {
        if (!left[k % 6])
            continue;
        left[k % 6]--;
        if (fx_sample(s, t * FX_MS, FX_MS, (uint32_t)(k % 6)))
            abort();
        t++;
    }
    gg_session_finish(s);
    s->duration_ns = (uint64_t)n * FX_MS + 500000;
    s->cpu_ns = s->duration_ns / 2;
    s->start_unix_ns = 1700000000000000000u;
    s->symbolize_ns = 3 * FX_MS;
    s->tid = 4242;
    snprintf(s->thread_name, sizeof(s->thread_name), "worker");
    return s;
}

static inline gargalo_session *fx_session(void)
{
    static const int counts[] = {50, 20, 15, 10, 4, 1};
    return fx_session_counts(counts);
}

/* True when stack (frame names root first, joined by ';') is path or goes on below it. */
static inline bool fx_path_under(const char *stack, const char *path)
{
    size_t n = strlen(path);
    return strncmp(stack, path, n) == 0 && (!stack[n] || stack[n] == ';');
}

/* A bigger session shaped like a real program: n samples of 0.1 ms over nfuncs functions,
 * each calling three others (the first most often), stacks 8 to 39 deep, every fifth
 * function in a library, a tenth of the samples on one hot stack. */
static inline gargalo_session *fx_big_session(size_t n, int nfuncs)
{
    gargalo_session *s = gg_session_new();
    uint32_t seed = 12345, frames[40];
    char name[64], file[64];
    if (!s)
        abort();
    for (int i = 0; i < nfuncs; i++) {
        bool lib = i % 5 == 4;
        snprintf(name, sizeof(name), lib ? "lib_func_%d" : "app_func_%d", i);
        snprintf(file, sizeof(file), "/src/app/module%d.c", i % 17);
        gg_frame f = {name,
                      lib ? NULL : file,
                      lib ? 0 : 10 + i,
                      lib ? "libfoo.so.1" : "app",
                      (uint64_t)i * 64,
                      lib,
                      false};
        fx_frame(s, &f);
    }
    for (size_t k = 0; k < n; k++) {
        seed = seed * 1103515245u + 12345u;
        uint32_t r = seed >> 8;
        uint32_t depth = 8 + r % 32;
        if (r % 10 == 0)
            depth = 12; /* a hot stack */
        frames[0] = 0;
        for (uint32_t d = 1; d < depth; d++) {
            seed = seed * 1103515245u + 12345u;
            uint32_t pick = (seed >> 16) % 10, callee = pick < 7 ? 1 : pick < 9 ? 2 : 3;
            frames[d] = r % 10 == 0 ? d : (frames[d - 1] * 7 + callee) % (uint32_t)nfuncs;
        }
        if (fx_sample(s, (k + 1) * 100000, 100000, fx_stack(s, frames, depth)))
            abort();
    }
    gg_session_finish(s);
    s->duration_ns = n * 100000;
    s->cpu_ns = s->duration_ns * 9 / 10;
    return s;
}

/*
 * A process-wide session shaped like a server: the fixture's 100 samples on thread
 * "worker" (4242), labelled route=/a for the first half and route=/b, method=POST for the
 * second; 40 samples of 1 ms on thread "idle" (4343) parked in epoll_wait; and two
 * markers on the worker, an SQL statement inside a request.
 */
static inline gargalo_session *fx_rich_session(void)
{
    gargalo_session *s = fx_session();
    uint32_t idle, wait, a, b, epoll_stack;
    const gg_frame epoll = {"epoll_wait", NULL, 0, "libc.so.6", 0x8000, true, false};
    const gg_label la[] = {{"route", "/a"}}, lb[] = {{"route", "/b"}, {"method", "POST"}};
    if (gg_session_add_thread(s, 4343, "idle", &idle) || gg_session_add_labelset(s, la, 1, &a) ||
        gg_session_add_labelset(s, lb, 2, &b))
        abort();
    for (size_t i = 0; i < s->nsamples; i++)
        s->samples[i].labels = i < 50 ? a : b;
    wait = fx_frame(s, &epoll);
    epoll_stack = fx_stack(s, (const uint32_t[]){FX_MAIN_10, wait}, 2);
    for (uint64_t t = 1; t <= 40; t++)
        if (gg_session_add_sample(
                s, &(gg_sample){100 * FX_MS + t * FX_MS, FX_MS, epoll_stack, idle, GG_NO_LABELS}))
            abort();
    s->threads[0].cpu_ns = 90 * FX_MS;
    s->threads[idle].cpu_ns = 0;
    if (gg_session_add_marker(s, &(gg_marker){10 * FX_MS, 60 * FX_MS, "request", "POST /b", 0}) ||
        gg_session_add_marker(
            s, &(gg_marker){20 * FX_MS, 50 * FX_MS, "sql", "INSERT INTO t VALUES (?)", 0}))
        abort();
    s->process = true;
    s->markers_dropped = 3;
    s->duration_ns = 140 * FX_MS;
    gg_session_finish(s);
    return s;
}

/* A thread of a made-up process-wide session (fx_threads_session): up to three stacks
 * ("a;b;c", root first; a name starting with '!' is a libc function), each with a count
 * of 1 ms samples, and the CPU time the thread used. */
typedef struct fx_thread_spec {
    const char *name;
    pid_t tid;
    uint64_t cpu_ms;
    const char *stacks[3];
    int counts[3];
} fx_thread_spec;

static inline uint32_t fx_named_frame(gargalo_session *s, const char *name, size_t len)
{
    char buf[128];
    bool lib = name[0] == '!';
    snprintf(buf, sizeof(buf), "%.*s", (int)(len - lib), name + lib);
    gg_frame f = {buf, lib ? NULL : "/src/app.c", 0, lib ? "libc.so.6" : "app", 0, lib, false};
    return fx_frame(s, &f);
}

static inline uint32_t fx_spelled_stack(gargalo_session *s, const char *spelling)
{
    uint32_t fr[32], depth = 0;
    for (const char *p = spelling; *p && depth < 32; depth++) {
        size_t len = strcspn(p, ";");
        fr[depth] = fx_named_frame(s, p, len);
        p += len + (p[len] == ';');
    }
    return fx_stack(s, fr, depth);
}

/* A process-wide session of up to 16 threads, their samples interleaved in time as a
 * ticker would take them, lasting duration_ms. */
static inline gargalo_session *fx_threads_session(const fx_thread_spec *sp, size_t n,
                                                  uint64_t duration_ms)
{
    gargalo_session *s = gg_session_new();
    uint32_t th[16], st[16][3];
    int left[16][3];
    uint64_t t = 0;
    for (size_t i = 0; i < n && i < 16; i++) {
        if (!s || gg_session_add_thread(s, sp[i].tid, sp[i].name, &th[i]))
            abort();
        s->threads[th[i]].cpu_ns = sp[i].cpu_ms * FX_MS;
        for (int k = 0; k < 3; k++) {
            st[i][k] = sp[i].stacks[k] ? fx_spelled_stack(s, sp[i].stacks[k]) : 0;
            left[i][k] = sp[i].stacks[k] ? sp[i].counts[k] : 0;
        }
    }
    for (bool more = true; more;) {
        more = false;
        for (size_t i = 0; i < n && i < 16; i++)
            for (int k = 0; k < 3; k++)
                if (left[i][k]-- > 0) {
                    gg_sample sm = {++t * FX_MS, FX_MS, st[i][k], th[i], GG_NO_LABELS};
                    if (gg_session_add_sample(s, &sm))
                        abort();
                    more = true;
                }
    }
    gg_session_finish(s);
    s->process = true;
    s->duration_ns = duration_ms * FX_MS;
    return s;
}

/*
 * A session of one thread blocked in system calls, its samples of 1 ms interleaved in
 * time, 100 in all (the leaves as resolve.c makes them, in module "[kernel]"):
 *   30  main > handle_request > sqlite3_step > [blocked] fdatasync fd 7: .../bolsa.db-wal
 *    8  main > handle_request > sqlite3_step > [blocked] pwrite64 fd 7: .../bolsa.db-wal
 *   20  main > handle_request > PQgetResult > poll > [blocked] poll fd 9: tcp 127.0.0.1:5432
 *   10  main > reader > read > [blocked] read fd 3: pipe
 *    5  main > reader > read > [blocked] read fd 5: pipe
 *    4  main > handle_request > [blocked] futex
 *   23  main > handle_request
 * So: fd 7 38 ms (fdatasync 30, pwrite64 8), fd 9 20 ms, fd 3 10 ms, fd 5 5 ms, futex
 * (no descriptor) 4 ms.
 */
enum { FX_BLOCKED_STACKS = 7 };

static inline gargalo_session *fx_blocked_session(void)
{
    static const char *const leaves[FX_BLOCKED_STACKS] = {
        "[blocked] fdatasync fd 7: .../bolsa.db-wal",
        "[blocked] pwrite64 fd 7: .../bolsa.db-wal",
        "[blocked] poll fd 9: tcp 127.0.0.1:5432",
        "[blocked] read fd 3: pipe",
        "[blocked] read fd 5: pipe",
        "[blocked] futex",
        NULL};
    static const char *const callers[FX_BLOCKED_STACKS] = {"main;handle_request;!sqlite3_step",
                                                           "main;handle_request;!sqlite3_step",
                                                           "main;handle_request;!PQgetResult;!poll",
                                                           "main;reader;!read",
                                                           "main;reader;!read",
                                                           "main;handle_request",
                                                           "main;handle_request"};
    static const int counts[FX_BLOCKED_STACKS] = {30, 8, 20, 10, 5, 4, 23};
    gargalo_session *s = gg_session_new();
    uint32_t thread, st[FX_BLOCKED_STACKS], fr[16], depth;
    int left[FX_BLOCKED_STACKS];
    if (!s || gg_session_add_thread(s, 77, "blocky", &thread))
        abort();
    for (int i = 0; i < FX_BLOCKED_STACKS; i++) {
        st[i] = fx_spelled_stack(s, callers[i]);
        const uint32_t *base = gg_stack_frames(s, st[i], &depth);
        memcpy(fr, base, depth * sizeof(*fr));
        if (leaves[i]) {
            gg_frame leaf = {leaves[i], NULL, 0, "[kernel]", 0, false, false};
            fr[depth++] = fx_frame(s, &leaf);
            st[i] = fx_stack(s, fr, depth);
        }
        left[i] = counts[i];
    }
    for (uint64_t t = 1, k = 0; t <= 100; k++)
        if (left[k % FX_BLOCKED_STACKS]-- > 0 &&
            fx_sample(s, t++ * FX_MS, FX_MS, st[k % FX_BLOCKED_STACKS]))
            abort();
    gg_session_finish(s);
    s->duration_ns = 100 * FX_MS;
    s->cpu_ns = 23 * FX_MS;
    s->tid = 77;
    snprintf(s->thread_name, sizeof(s->thread_name), "blocky");
    return s;
}

#endif
