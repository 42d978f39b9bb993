/*
 * thread.c: the storage behind thread.h.
 */
#include "thread.h"

__thread struct gg_sampler *gg_thread_current __attribute__((tls_model("initial-exec")));
