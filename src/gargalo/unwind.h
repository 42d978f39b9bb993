/*
 * unwind.h: unwinding a stack that is not the caller's own: from a thread's registers
 * and a copy of the top of its stack, as the kernel hands them over with a perf sample.
 * libunwind's remote interface does the work; this module gives it the memory (the copy
 * for the stack, the loaded code for unwind tables) and the registers.
 */
#ifndef GG_UNWIND_H
#define GG_UNWIND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "perf.h"
#include "raw.h"

/* Unwinds from regs (GG_REG_* order) and stack, a copy of len bytes of the thread's stack
 * from regs[GG_REG_SP] up. Writes up to max program counters, innermost first: pcs[0] is
 * where the thread was, the others are return addresses. Returns how many were written
 * (at least 1); a stack that goes deeper than the copy ends where the copy does.
 * Call it only inside gg_unwind_frozen. Thread-safe; not for signal handlers. */
uint32_t gg_unwind_copy(const uint64_t *regs, const void *stack, size_t len, void **pcs,
                        uint32_t max);

/* The same into the next slot of raw (not committed yet): returns the depth written, or
 * 0 when raw has no room (counted in raw->dropped). */
uint32_t gg_unwind_into(gg_raw *raw, const uint64_t *regs, const void *stack, size_t len);

/* The registers of a ucontext_t (a signal's, or getcontext's) in GG_REG_* order.
 * Async-signal-safe. */
void gg_unwind_context_regs(const void *uc, uint64_t *regs);

/* Unwinds the calling thread's stack once, so the first samples find libunwind's caches
 * and the unwind tables of the common code ready. */
void gg_unwind_warm(void);

/* Copies n bytes at addr when they lie in a loaded segment (code, its data, its unwind
 * tables): true, or false without reading. Call inside gg_unwind_frozen. */
bool gg_unwind_read(uintptr_t addr, void *out, size_t n);

/* Runs fn(ctx) while no library can be unloaded (the loader's lock held), as unwinding
 * reads the unwind tables of loaded code in place. fn must not load or unload libraries
 * and should be short: other threads' dlopen waits meanwhile. */
void gg_unwind_frozen(void (*fn)(void *), void *ctx);

#endif
