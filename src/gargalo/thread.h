/*
 * thread.h: the calling thread's running sampler, if any, and which threads are
 * gargalo's own. A leaf: the session code sets them, a signal handler may read them.
 */
#ifndef GG_THREAD_H
#define GG_THREAD_H

#include <stdatomic.h>
#include <stdbool.h>
#include <sys/types.h>

struct gg_sampler;

/* initial-exec: reading it in a signal handler must not go through __tls_get_addr, which
 * may allocate in a shared library. */
extern __thread struct gg_sampler *gg_thread_current __attribute__((tls_model("initial-exec")));

static inline struct gg_sampler *gg_thread_sampler(void)
{
    return gg_thread_current;
}

/* Sets it; a signal arriving on this thread afterwards sees the new value. */
static inline void gg_thread_set_sampler(struct gg_sampler *sp)
{
    gg_thread_current = sp;
    atomic_signal_fence(memory_order_seq_cst);
}

/* gargalo's own threads (the collector, the ticker) say so when they start, from inside:
 * a process-wide session samples the program, not them. */
void gg_thread_mark_helper(void);
bool gg_thread_is_helper(pid_t tid);

#endif
