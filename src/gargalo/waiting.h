/*
 * waiting.h: what a session's threads were blocked on (private). A wall-clock sample that
 * found its thread inside a blocking system call ends in a leaf of gargalo's own making
 * (resolve.c, blocked.c): "[blocked] CALL fd N: WHAT", WHAT describing the descriptor as
 * it was at stop ("pipe", "tcp 127.0.0.1:5432", a file's path), or "[blocked] CALL" when
 * the call named none. This sums those samples per descriptor, for the renderers' "blocked
 * on" tables: each descriptor, the calls that waited on it, their time and samples.
 */
#ifndef GG_WAITING_H
#define GG_WAITING_H

#include <stddef.h>
#include <stdint.h>

#include "session.h"

#define GG_WAIT_NONE UINT32_MAX
/* How every such leaf begins. */
#define GG_WAIT_PREFIX "[blocked] "

/* One call that waited on a descriptor: the name is not NUL-terminated (it lies in the
 * leaf's name). */
typedef struct gg_wait_call {
    const char *name;
    size_t len;
    uint64_t ns, samples;
} gg_wait_call;

/* One descriptor (fd and description) that samples were blocked on; or, for calls that
 * named no descriptor, one call (fd -1, what NULL). */
typedef struct gg_wait {
    int32_t fd;
    const char *what;  /* in the leaf's name */
    uint64_t ns;       /* the summed weight of its samples */
    uint64_t samples;  /* how many */
    size_t first_call; /* its calls in gg_waits.calls, most time first */
    size_t ncalls;
} gg_wait;

typedef struct gg_waits {
    gg_wait *w; /* most time first (ties: by description, then fd) */
    size_t n;
    gg_wait_call *calls;
    size_t ncalls;
    uint32_t *of_stack; /* per stack of the session: the wait its leaf is, or GG_WAIT_NONE */
} gg_waits;

/* Sums a stopped session's blocked samples. Returns 0 or GARGALO_ENOMEM (out empty). */
int gg_waits_build(gg_waits *out, const gargalo_session *s);
void gg_waits_free(gg_waits *out);

#endif
