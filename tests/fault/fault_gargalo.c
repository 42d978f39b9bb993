/*
 * fault_gargalo.c: gargalo's public operations with each of their allocations made to
 * fail in turn (failalloc.h): for N = 1, 2, ... the Nth allocation the operation makes on
 * its thread fails, until an N past its last allocation lets it run through. Every run
 * must end in success with the right output, or in a GARGALO_E* code (GARGALO_ENOMEM,
 * except where another is noted) with nothing left behind: no session handed out, no
 * file (gargalo_render_file), and no leak (LeakSanitizer is asked after each operation).
 *
 *   fault_gargalo          prints one line per operation, then "N passed, M failed"
 *
 * The operations: gargalo_session_load; gargalo_render in each format; gargalo_render_file;
 * gargalo_start, some work, gargalo_stop (with signals, and with the default mechanism).
 * The session loaded and rendered is one recorded here first, which also fills gargalo's
 * process-wide caches (symbols, the pacing thread): faults hit a warm library, as in a
 * server, where a failed first use only means the next use loads again.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "failalloc.h"
#include "gargalo.h"

/* More than any operation here makes: beyond it, an operation that never completes. */
#define FAULT_MAX_POINTS 50000
#define FAULT_ANY_CODE (~0u)

/* Libraries whose own allocations are not failed, only counted apart, because a failure
 * inside them cannot end cleanly whatever gargalo does:
 * - elfutils asserts that its allocations succeed (libdw's dynamicsizehash_concurrent.c,
 *   "resize_coordinator: Assertion `htab->table' failed", under dwfl_module_getsrc),
 *   which aborts the process in gargalo_stop;
 * - jansson's parser ignores a failure to grow the buffer of the token it is reading and
 *   drops that character (lex_save), so gargalo_session_load would load a changed name
 *   or number and succeed. */
static const char *const spare_elfutils[] = {"/libdw.so", "/libelf.so", NULL};
static const char *const spare_elfutils_jansson[] = {"/libdw.so", "/libelf.so", "/libjansson.so",
                                                     NULL};

/* LeakSanitizer's check that can run more than once (weak: absent without ASan). */
extern int __lsan_do_recoverable_leak_check(void) __attribute__((weak));

typedef struct fault_op {
    const char *name;
    /* Runs the operation once, armed; returns its code. */
    int (*run)(void *ctx);
    /* Disarmed again: checks what run left (rc its code) and frees it. 0 when right;
     * otherwise prints why and returns -1. */
    int (*check)(void *ctx, int rc);
    /* Codes besides GARGALO_ENOMEM that a failed allocation may end in, as a mask of
     * bits 1 << -code (FAULT_ANY_CODE: all of them). */
    unsigned accept;
    void *ctx;
    const char *const *spare; /* libraries spared; NULL: elfutils */
} fault_op;

static int passed, failed;

static int fail(const char *what, unsigned long n, const char *why)
{
    printf("FAIL  %s: allocation %lu failed: %s\n", what, n, why);
    return -1;
}

static int code_ok(const fault_op *op, int rc, int fired)
{
    if (!fired)
        return rc == 0;
    return rc == 0 || rc == GARGALO_ENOMEM ||
           (rc < 0 && rc >= GARGALO_EUNAVAIL && (op->accept & (1u << -rc)));
}

/* "N allocation points: how each failure ended (+ allocations spared)". */
static void report(const fault_op *op, unsigned long points, const unsigned long *codes,
                   unsigned long spared)
{
    printf("ok    %s: %lu allocation points;", op->name, points);
    for (int c = 0; c <= -GARGALO_EUNAVAIL; c++)
        if (codes[c])
            printf(" %lu %s;", codes[c], c ? gargalo_strerror(-c) : "absorbed (success)");
    if (spared)
        printf(" %lu more inside spared libraries", spared);
    printf("\n");
}

/* Fails allocation 1, 2, ... of op until it runs through; 0 when every run was right. */
static int fault_loop(const fault_op *op)
{
    unsigned long codes[1 - GARGALO_EUNAVAIL] = {0};
    for (unsigned long n = 1; n <= FAULT_MAX_POINTS; n++) {
        failalloc_arm(n);
        int rc = op->run(op->ctx), fired;
        failalloc_disarm(&fired);
        if (!code_ok(op, rc, fired))
            return fail(op->name, n, fired ? gargalo_strerror(rc) : "failed without a fault");
        if (op->check(op->ctx, rc))
            return fail(op->name, n, "wrong result (above)");
        if (!fired) {
            if (__lsan_do_recoverable_leak_check && __lsan_do_recoverable_leak_check())
                return fail(op->name, n, "leaks (LeakSanitizer's report above)");
            report(op, n - 1, codes, failalloc_spared());
            return 0;
        }
        codes[-rc]++;
    }
    return fail(op->name, FAULT_MAX_POINTS, "still allocating");
}

static void run_op(const fault_op *op)
{
    failalloc_spare(op->spare ? op->spare : spare_elfutils);
    fflush(stdout);
    if (fault_loop(op) == 0)
        passed++;
    else
        failed++;
    fflush(stdout);
}

/* --- a session to work on ---------------------------------------------------------------- */

static volatile unsigned long sink;

__attribute__((noinline)) static unsigned long spin(unsigned depth)
{
    unsigned long x = depth;
    for (int i = 0; i < 20000; i++)
        x = x * 6364136223846793005u + 1442695040888963407u;
    return depth ? x + spin(depth - 1) : x;
}

/* Busy on this thread for ms milliseconds, in stacks a few frames deep. */
static void work(unsigned ms)
{
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    do {
        sink += spin(4);
        clock_gettime(CLOCK_MONOTONIC, &t);
    } while ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 < ms);
}

/* A real recording, saved as gargalo's JSON (malloc'd), or NULL. */
static char *record_session(size_t *len)
{
    gargalo_session *s;
    char *json = NULL;
    if (gargalo_start(&s, NULL))
        return NULL;
    work(30);
    if (gargalo_stop(s) || gargalo_render(s, GARGALO_FORMAT_JSON, NULL, &json, len))
        json = NULL;
    gargalo_session_free(s);
    return json;
}

/* --- gargalo_session_load ------------------------------------------------------------- */

typedef struct load_ctx {
    const char *json;
    size_t len;
    gargalo_session *s;
} load_ctx;

static int load_run(void *ctx)
{
    load_ctx *c = ctx;
    c->s = NULL;
    return gargalo_session_load(c->json, c->len, &c->s);
}

/* A session loaded despite a fault is the whole session: it saves to the same bytes. */
static int load_check(void *ctx, int rc)
{
    load_ctx *c = ctx;
    if (rc)
        return c->s ? printf("a failed load handed out a session\n"), -1 : 0;
    char *again = NULL;
    size_t len = 0;
    int bad = gargalo_render(c->s, GARGALO_FORMAT_JSON, NULL, &again, &len) || len != c->len ||
              memcmp(again, c->json, len);
    if (bad)
        printf("the loaded session differs from the file\n");
    free(again);
    gargalo_session_free(c->s);
    return bad ? -1 : 0;
}

/* --- gargalo_render ------------------------------------------------------------------- */

typedef struct render_ctx {
    const gargalo_session *s;
    gargalo_format fmt;
    char *want, *out; /* want: rendered without faults */
    size_t want_len, len;
} render_ctx;

static int render_run(void *ctx)
{
    render_ctx *c = ctx;
    c->out = NULL;
    return gargalo_render(c->s, c->fmt, NULL, &c->out, &c->len);
}

static int render_check(void *ctx, int rc)
{
    render_ctx *c = ctx;
    int bad = !rc && (c->len != c->want_len || memcmp(c->out, c->want, c->len));
    if (bad)
        printf("output differs from the one rendered without faults\n");
    if (!rc)
        free(c->out);
    return bad ? -1 : 0;
}

/* --- gargalo_render_file -------------------------------------------------------------- */

typedef struct file_ctx {
    render_ctx r; /* the session, format and the output wanted */
    char dir[64], path[128];
} file_ctx;

static int file_run(void *ctx)
{
    file_ctx *c = ctx;
    return gargalo_render_file(c->r.s, c->r.fmt, NULL, c->path);
}

/* The names in the directory, and the file's content when it is the only one. */
static int file_check(void *ctx, int rc)
{
    file_ctx *c = ctx;
    DIR *d = opendir(c->dir);
    struct dirent *e;
    int names = 0;
    while (d && (e = readdir(d)))
        names += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    if (d)
        closedir(d);
    if (names != (rc == 0))
        return printf("%d files in the directory after %s\n", names, gargalo_strerror(rc)), -1;
    if (rc)
        return 0;
    FILE *f = fopen(c->path, "rb");
    char *got = malloc(c->r.want_len + 1);
    size_t n = f && got ? fread(got, 1, c->r.want_len + 1, f) : 0;
    int bad = n != c->r.want_len || memcmp(got, c->r.want, n);
    if (bad)
        printf("the file is not the whole output\n");
    free(got);
    if (f)
        fclose(f);
    unlink(c->path);
    return bad ? -1 : 0;
}

/* --- gargalo_start and gargalo_stop --------------------------------------------------- */

typedef struct session_ctx {
    gargalo_options opt;
    gargalo_session *s;
    int started;
} session_ctx;

static int session_run(void *ctx)
{
    session_ctx *c = ctx;
    c->s = NULL;
    int rc = gargalo_start(&c->s, &c->opt);
    c->started = rc == 0;
    if (rc)
        return rc;
    work(3);
    return gargalo_stop(c->s);
}

/* A session that failed to stop still has its statistics; one that stopped renders. */
static int session_check(void *ctx, int rc)
{
    session_ctx *c = ctx;
    if (!c->started)
        return c->s ? printf("a failed start handed out a session\n"), -1 : 0;
    gargalo_stats st;
    char *text = NULL;
    size_t len;
    int bad = gargalo_session_stats(c->s, &st) != 0;
    if (!bad && !rc)
        bad = gargalo_render(c->s, GARGALO_FORMAT_TEXT, NULL, &text, &len) != 0;
    if (bad)
        printf("a session that went through the fault is unusable\n");
    free(text);
    gargalo_session_free(c->s);
    return bad ? -1 : 0;
}

/* --- the operations ------------------------------------------------------------------- */

static void run_renders(const gargalo_session *s)
{
    static const char *const names[] = {"gargalo_render text", "gargalo_render html",
                                        "gargalo_render speedscope", "gargalo_render json"};
    for (int fmt = GARGALO_FORMAT_TEXT; fmt <= GARGALO_FORMAT_JSON; fmt++) {
        render_ctx c = {.s = s, .fmt = (gargalo_format)fmt};
        if (gargalo_render(s, c.fmt, NULL, &c.want, &c.want_len)) {
            printf("FAIL  %s: no output even without faults\n", names[fmt]);
            failed++;
            continue;
        }
        run_op(
            &(fault_op){.name = names[fmt], .run = render_run, .check = render_check, .ctx = &c});
        free(c.want);
    }
}

static void run_render_file(const gargalo_session *s)
{
    file_ctx c = {.r = {.s = s, .fmt = GARGALO_FORMAT_HTML}};
    snprintf(c.dir, sizeof(c.dir), "/tmp/gargalo-fault-XXXXXX");
    if (!mkdtemp(c.dir) || gargalo_render(s, c.r.fmt, NULL, &c.r.want, &c.r.want_len)) {
        printf("FAIL  gargalo_render_file: no directory or output to compare\n");
        failed++;
        return;
    }
    snprintf(c.path, sizeof(c.path), "%s/profile.html", c.dir);
    run_op(&(fault_op){
        .name = "gargalo_render_file html", .run = file_run, .check = file_check, .ctx = &c});
    free(c.r.want);
    rmdir(c.dir);
}

/* Starting may also fail for want of a thread or timer (their memory is allocated too),
 * which gargalo reports as such: any of its codes is a clean failure there. */
static void run_sessions(void)
{
    session_ctx c = {0};
    fault_op op = {.run = session_run, .check = session_check, .accept = FAULT_ANY_CODE, .ctx = &c};
    gargalo_options_init(&c.opt);
    c.opt.mechanism = GARGALO_MECHANISM_SIGNAL;
    op.name = "gargalo_start/stop, signals";
    run_op(&op);
    gargalo_options_init(&c.opt);
    op.name = "gargalo_start/stop, default mechanism";
    run_op(&op);
}

int main(void)
{
    size_t len;
    char *json = record_session(&len);
    gargalo_session *s = NULL;
    if (!json || gargalo_session_load(json, len, &s)) {
        printf("could not record a session to work on\nfault-gargalo: 0 passed, 1 failed\n");
        return 1;
    }
    load_ctx lc = {.json = json, .len = len};
    /* jansson's parser never reports running out of memory as such: a failed allocation
     * reads as a syntax error, or as no error at all, which gargalo can only take for a
     * malformed file. Both codes are clean failures here. */
    run_op(&(fault_op){.name = "gargalo_session_load",
                       .run = load_run,
                       .check = load_check,
                       .ctx = &lc,
                       .spare = spare_elfutils_jansson});
    run_renders(s);
    run_render_file(s);
    run_sessions();
    gargalo_session_free(s);
    free(json);
    printf("fault-gargalo: %d passed, %d failed\n", passed, failed);
    return failed != 0;
}
