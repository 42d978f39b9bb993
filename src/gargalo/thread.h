/*
 * thread.h: the calling thread's running sampler, if any. A leaf: the session code sets
 * it, and a signal handler may read it.
 */
#ifndef GG_THREAD_H
#define GG_THREAD_H

#include <stdatomic.h>

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

#endif
