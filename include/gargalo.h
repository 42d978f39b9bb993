/*
 * gargalo.h: an in-process sampling profiler for C.
 *
 * A thread starts a session, does its work, stops it, and renders what was recorded as a
 * call tree (text or one self-contained HTML file), speedscope JSON, or gargalo's own JSON
 * (which can be loaded later and rendered again). Only the profiled thread is interrupted;
 * several threads may each profile themselves at the same time.
 *
 *     gargalo_session *s;
 *     if (gargalo_start(&s, NULL) == 0) {
 *         work();
 *         gargalo_stop(s);
 *         gargalo_render_file(s, GARGALO_FORMAT_HTML, NULL, "profile.html");
 *         gargalo_session_free(s);
 *     }
 *
 * Errors are negative int codes (GARGALO_E*); gargalo_strerror() names them.
 * See docs/sampling.md for how sampling works and what user code must expect.
 */
#ifndef GARGALO_H
#define GARGALO_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Marks what libgargalo exports; everything else in it is built with hidden visibility. */
#if defined(__GNUC__)
#define GARGALO_EXTERN __attribute__((visibility("default")))
#else
#define GARGALO_EXTERN
#endif

/* Error codes: X(name, message). Every function returning int returns 0 or one of these. */
#define GARGALO_ERRNO_MAP(X)                                                                       \
    X(EINVAL, -1, "invalid argument")                                                              \
    X(ENOMEM, -2, "out of memory")                                                                 \
    X(EBUSY, -3, "this thread is already being profiled")                                          \
    X(ESTATE, -4, "session is in the wrong state for this call")                                   \
    X(ETIMER, -5, "could not create or arm the sampling timer")                                    \
    X(ESIGNAL, -6, "could not install the sampling signal handler")                                \
    X(EIO, -7, "could not write the output")                                                       \
    X(EFORMAT, -8, "malformed profile data")                                                       \
    X(ETOOBIG, -9, "output exceeds the size limit")                                                \
    X(EUNAVAIL, -10, "the requested sampling mechanism is not available here")

enum {
#define GARGALO_ERRNO_ENUM(name, value, msg) GARGALO_##name = value,
    GARGALO_ERRNO_MAP(GARGALO_ERRNO_ENUM)
#undef GARGALO_ERRNO_ENUM
};

/* Returns a static, never-NULL message for an error code (also for 0 and unknown codes).
 * Thread-safe and async-signal-safe. */
GARGALO_EXTERN const char *gargalo_strerror(int err);

typedef enum gargalo_clock {
    /* Wall time: time blocked in fsync, sleeps and socket waits counts. The default. */
    GARGALO_CLOCK_WALL = 0,
    /* CPU time of the profiled thread only: blocked time does not count. */
    GARGALO_CLOCK_CPU = 1
} gargalo_clock;

typedef enum gargalo_mechanism {
    /* perf events where the kernel allows them, signals otherwise. The default. */
    GARGALO_MECHANISM_AUTO = 0,
    /* The kernel's perf events: the profiled thread gets no signal, its system calls are
     * never interrupted. gargalo_start fails with GARGALO_EUNAVAIL where refused. */
    GARGALO_MECHANISM_PERF = 1,
    /* SIGPROF to the profiled thread, unwound in the handler. Works everywhere; blocking
     * calls with a timeout may return early with EINTR (docs/sampling.md). */
    GARGALO_MECHANISM_SIGNAL = 2
} gargalo_mechanism;

typedef struct gargalo_options {
    gargalo_clock clock;
    /* Sampling interval in microseconds. 0 (the default) is adaptive: it starts fast so a
     * 10 ms session still has about 100 samples, and slows down as the session grows so a
     * long one costs only a few percent. Any other value is fixed (min 50, max 1000000). */
    unsigned interval_us;
    /* With an adaptive interval: the interval it never grows past (default 2000). */
    unsigned max_interval_us;
    /* Room for raw stack frames, in program counters (default 4 Mi, about 32 MiB of
     * address space, touched only as it fills). When full, later samples are counted in
     * gargalo_stats.dropped and not recorded. */
    size_t max_frames;
    /* Deepest stack recorded; deeper stacks keep their innermost frames (default 256). */
    unsigned max_depth;
    /* How samples are taken (default: GARGALO_MECHANISM_AUTO, which the environment
     * variable GARGALO_MECHANISM=perf|signal may override). */
    gargalo_mechanism mechanism;
} gargalo_options;

/* Fills *opt (caller-owned, not NULL) with the defaults above. Thread-safe. */
GARGALO_EXTERN void gargalo_options_init(gargalo_options *opt);

typedef struct gargalo_session gargalo_session;

/* Starts profiling the calling thread. On success *out is a new session owned by the
 * caller (free it with gargalo_session_free). opt may be NULL for the defaults.
 * Allocates and warms up everything sampling needs before the first sample.
 * With perf events (the default where the kernel allows them) the thread runs no code of
 * gargalo's while sampled: the kernel copies its registers and the top of its stack, and
 * a gargalo thread unwinds them. With signals, a handler that never allocates, locks or
 * does I/O unwinds in the thread, and blocking calls with a timeout may return EINTR.
 * docs/sampling.md says what each mechanism costs and what user code can observe.
 * Errors: GARGALO_EINVAL (bad options), GARGALO_EBUSY (thread already profiled),
 * GARGALO_ENOMEM, GARGALO_ETIMER, GARGALO_ESIGNAL, GARGALO_EUNAVAIL (the mechanism asked
 * for is refused here).
 * Thread-safe: any number of threads may each run their own session at once.
 * Not async-signal-safe. */
GARGALO_EXTERN int gargalo_start(gargalo_session **out, const gargalo_options *opt);

/* Starts profiling every thread of the process: the threads running now and those they
 * create while the session runs (perf events; with signals, the threads running now and
 * those seen when the ticker looks again, every 10 ms). Each sample keeps its thread's id
 * and name. Only one process-wide session runs at a time (GARGALO_EBUSY); per-thread
 * sessions may run beside it. gargalo_stop may be called from any thread. Errors: those
 * of gargalo_start. Not async-signal-safe. */
GARGALO_EXTERN int gargalo_start_process(gargalo_session **out, const gargalo_options *opt);

/* Stops sampling and resolves every recorded address to function, file and line (cached
 * process-wide, so later sessions resolve faster). Must be called on the thread that
 * started the session. After it the session is self-contained and may be rendered from
 * any thread. Errors: GARGALO_EINVAL, GARGALO_ESTATE (not running or wrong thread),
 * GARGALO_ENOMEM (resolving ran out of memory: the session is stopped and keeps only its
 * statistics). Not async-signal-safe. */
GARGALO_EXTERN int gargalo_stop(gargalo_session *s);

/* One session across many units of work on one thread, such as a server's worker serving
 * requests, keeping only some of them (the slow ones): gargalo_start once; at each
 * request's start gargalo_rewind; at its end gargalo_stop (to keep it: then start anew
 * for the next) or gargalo_pause (not worth keeping). With signals and the wall clock
 * neither rewind nor pause makes a system call (about 0.07 us the pair), where starting and
 * freeing a session for every request would cost tens of microseconds or more.
 *
 * gargalo_pause: stops recording on a running per-thread session of the calling thread:
 * with signals its thread gets none until the next gargalo_rewind (an idle worker is not
 * woken); with perf events the kernel may still sample the thread, and gargalo drops those
 * samples unread. A paused session can only be rewound or freed (gargalo_stop on it is
 * GARGALO_ESTATE). Errors: GARGALO_EINVAL (NULL), GARGALO_ESTATE (not running on this
 * thread, or a process-wide session). Not async-signal-safe. */
GARGALO_EXTERN int gargalo_pause(gargalo_session *s);

/* Forgets everything a running (or paused) per-thread session of the calling thread
 * recorded, samples, markers and label changes, and starts it again from now, recording:
 * what gargalo_stop then returns is as if gargalo_start had been called now, with the
 * same options (an adaptive interval starts over too), but for one statistic: with signals
 * and the wall clock, gargalo_stats.cpu_ns counts from the first sample after the rewind
 * (reading the thread's CPU clock at the rewind itself is a system call), so the CPU time
 * of up to one interval is left out; and with signals the first sample after a rewind
 * may come up to 5 ms later than the interval says (the pacing thread looks at rewound
 * sessions every 5 ms rather than waking for each), its weight covering the time since the
 * rewind. The thread's current labels carry over. Errors: as gargalo_pause. Not
 * async-signal-safe. */
GARGALO_EXTERN int gargalo_rewind(gargalo_session *s);

/* Optional, at start-up: reads the symbol tables and debug information of the program and
 * of every library loaded now, so that the first gargalo_stop does not pay for it (tens
 * of milliseconds with libc's debug file), and starts the thread that paces wall-clock
 * sessions, so that the first session is sampled from its start. Later calls load what
 * is missing anyway. Errors: GARGALO_EIO when /proc/self/maps cannot be read,
 * GARGALO_ETIMER when the thread cannot be started. Thread-safe. */
GARGALO_EXTERN int gargalo_preload(void);

/* Frees a session, stopping it first if it is still running (on its own thread).
 * NULL is a no-op. */
GARGALO_EXTERN void gargalo_session_free(gargalo_session *s);

typedef struct gargalo_stats {
    uint64_t duration_ns;  /* wall time from start to stop */
    uint64_t cpu_ns;       /* CPU time used by the profiled thread in that span */
    uint64_t sampled_ns;   /* sum of all sample weights */
    uint64_t symbolize_ns; /* time gargalo_stop spent resolving addresses */
    size_t samples;        /* samples recorded */
    size_t dropped;        /* samples lost because the frame buffer was full */
    size_t frames;         /* distinct frames after symbolization */
    gargalo_clock clock;
    gargalo_mechanism mechanism; /* what took the samples: _PERF or _SIGNAL */
    int process;                 /* 1: every thread of the process (gargalo_start_process) */
    size_t threads;              /* threads sampled */
    size_t markers;              /* marked intervals recorded */
    size_t markers_dropped;      /* marked intervals lost because their buffer was full */
} gargalo_stats;

/* Fills *st (caller-owned) for a stopped or loaded session. Errors: GARGALO_EINVAL,
 * GARGALO_ESTATE. Thread-safe; reads the session only. */
GARGALO_EXTERN int gargalo_session_stats(const gargalo_session *s, gargalo_stats *st);

/* ---- labels and markers: what a thread is doing, joined to its samples ---- */

/* Most labels one thread carries at once; longest key or value kept (longer ones are cut). */
#define GARGALO_MAX_LABELS 8
#define GARGALO_LABEL_MAX 63

/* Sets key=value on the calling thread: every sample of this thread taken from now on, by
 * any session, carries it (pprof sample labels, a filter of renderers), until it is set
 * again or cleared. key and value are copied. Errors: GARGALO_EINVAL (NULL or empty key),
 * GARGALO_ENOMEM (GARGALO_MAX_LABELS keys already set). Cheap (no system call, no lock
 * but while a session samples this thread); thread-safe; not async-signal-safe. */
GARGALO_EXTERN int gargalo_label_set(const char *key, const char *value);
/* Clears one key on the calling thread, or every key when key is NULL. */
GARGALO_EXTERN void gargalo_label_clear(const char *key);

/* Marks an interval of the calling thread, such as one SQL statement: begin, do the work,
 * end. Sessions sampling this thread record it (category and text copied, text cut at
 * 1 KiB) with its start and end, without any signal, in a bounded buffer: when that is
 * full, intervals are dropped and counted (gargalo_stats.markers_dropped). Markers nest
 * up to 16 deep: deeper ones are not recorded, and each end still closes its own begin;
 * an end without a begin is ignored. Cheap (a clock read and a copy while a session
 * samples the thread; a few nanoseconds otherwise); thread-safe; not async-signal-safe. */
GARGALO_EXTERN void gargalo_mark_begin(const char *category, const char *text);
GARGALO_EXTERN void gargalo_mark_end(void);

typedef enum gargalo_format {
    GARGALO_FORMAT_TEXT = 0,   /* call tree for a terminal */
    GARGALO_FORMAT_HTML,       /* one self-contained, offline HTML page */
    GARGALO_FORMAT_SPEEDSCOPE, /* speedscope's sampled-profile JSON */
    GARGALO_FORMAT_JSON,       /* gargalo's own session JSON, loadable again */
    GARGALO_FORMAT_PPROF,      /* pprof's profile.proto, gzip-compressed (binary) */
    GARGALO_FORMAT_FOLDED      /* collapsed stacks: "root;...;leaf nanoseconds" lines */
} gargalo_format;

/* Parses "text", "html", "speedscope", "json", "pprof" or "folded" (NULL is refused).
 * Returns 0 or GARGALO_EINVAL. Thread-safe. */
GARGALO_EXTERN int gargalo_format_parse(const char *name, gargalo_format *out);
/* The usual file name suffix for a format: "txt", "html", "speedscope.json", "json",
 * "pb.gz", "folded"; a static string, or NULL for an unknown format. Thread-safe. */
GARGALO_EXTERN const char *gargalo_format_extension(gargalo_format fmt);

typedef struct gargalo_render_options {
    /* Show every frame. By default consecutive frames of system libraries (libc,
     * libsqlite3, libpq, ...) are folded into one node named after the first function
     * called, as pyinstrument hides library frames. */
    int show_all;
    /* Text only: ANSI colours. -1 (default) means "if the output is a terminal" for
     * gargalo_render_file to stdout, otherwise off. */
    int color;
    /* Text only: hide nodes under this share of the total, in percent (default 0.5). */
    double min_percent;
    /* Title shown in the HTML page and speedscope; NULL for "gargalo profile". */
    const char *title;
    /* Largest output accepted, in bytes (default 256 MiB). */
    size_t max_bytes;
    /* gargalo_diff_render only: compare each node's share of its session's total instead
     * of its time, for sessions of different lengths. */
    int normalize;
    /* Filters, applied the same way by every format (and to both sessions of a diff):
     * tag "key=value" keeps only the samples carrying that label (gargalo_label_set; the
     * value may be empty); NULL (default) keeps all. A tag without '=' or with an empty
     * key is GARGALO_EINVAL. */
    const char *tag;
    /* thread keeps only the samples of the thread with this id (and its markers); 0
     * (default) keeps all. A negative id, or one the session has no thread of, is
     * GARGALO_EINVAL. */
    long thread;
} gargalo_render_options;

/* Fills *ro (caller-owned, not NULL) with the defaults above. Thread-safe. */
GARGALO_EXTERN void gargalo_render_options_init(gargalo_render_options *ro);

/* Renders a stopped or loaded session. On success *out is a malloc'd, NUL-terminated
 * buffer owned by the caller (free()) and *len its length without the NUL (pprof's
 * output is binary and may hold NUL bytes before the end: use *len).
 * ro may be NULL for the defaults. Errors: GARGALO_EINVAL, GARGALO_ESTATE, GARGALO_ENOMEM,
 * GARGALO_ETOOBIG. Thread-safe for distinct sessions; a session may be rendered from
 * several threads at once. */
GARGALO_EXTERN int gargalo_render(const gargalo_session *s, gargalo_format fmt,
                                  const gargalo_render_options *ro, char **out, size_t *len);

/* Renders into path atomically: a temporary file in the same directory, then rename, so
 * a reader never sees a partial file. path "-" writes to stdout.
 * Errors: those of gargalo_render, and GARGALO_EIO. */
GARGALO_EXTERN int gargalo_render_file(const gargalo_session *s, gargalo_format fmt,
                                       const gargalo_render_options *ro, const char *path);

/* Renders what changed from session before to session after (both stopped or loaded):
 * their call trees merged by function from the root, as the text tree merges stacks,
 * each node with its time in both and the change, siblings largest change first. fmt is
 * GARGALO_FORMAT_TEXT ("before -> after (change)" lines in the text tree's layout),
 * GARGALO_FORMAT_HTML (one self-contained page, what grew in red, what shrank in green)
 * or GARGALO_FORMAT_FOLDED ("stack before after" lines, as flamegraph's difffolded.pl
 * writes them). ro->normalize compares shares of each session's total instead of times
 * (folded: the before weights are scaled to the after total); show_all, min_percent,
 * color and title apply as in gargalo_render. Output as in gargalo_render.
 * Errors: GARGALO_EINVAL (also for any other format), GARGALO_ESTATE, GARGALO_ENOMEM,
 * GARGALO_ETOOBIG. Thread-safe; reads the sessions only. */
GARGALO_EXTERN int gargalo_diff_render(const gargalo_session *before, const gargalo_session *after,
                                       gargalo_format fmt, const gargalo_render_options *ro,
                                       char **out, size_t *len);

/* Loads a session saved with GARGALO_FORMAT_JSON. On success *out is a new stopped
 * session owned by the caller. Errors: GARGALO_EINVAL, GARGALO_EFORMAT, GARGALO_ENOMEM. */
GARGALO_EXTERN int gargalo_session_load(const char *json, size_t len, gargalo_session **out);

#ifdef __cplusplus
}
#endif
#endif /* GARGALO_H */
