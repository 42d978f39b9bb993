/*
 * thread.c: the storage behind thread.h.
 */
#define _GNU_SOURCE
#include "thread.h"

#include <unistd.h>

#define GG_HELPERS 4

static _Atomic pid_t gg_helpers[GG_HELPERS];
static atomic_uint gg_next_helper; /* round robin: after a fork the old ones are stale */

__thread struct gg_sampler *gg_thread_current __attribute__((tls_model("initial-exec")));

void gg_thread_mark_helper(void)
{
    atomic_store(&gg_helpers[atomic_fetch_add(&gg_next_helper, 1) % GG_HELPERS], gettid());
}

bool gg_thread_is_helper(pid_t tid)
{
    for (int i = 0; i < GG_HELPERS; i++)
        if (atomic_load(&gg_helpers[i]) == tid)
            return true;
    return false;
}
