/*
 * symbols.h: resolves code addresses of this process to functions, files and lines.
 *
 * One process-wide cache (elfutils libdwfl underneath), guarded by a mutex: resolve.c
 * resolves every stack of a session inside one gg_symbols_lock/gg_symbols_unlock pair.
 * Not for signal handlers: it allocates, locks and reads files.
 */
#ifndef GG_SYMBOLS_H
#define GG_SYMBOLS_H

#include <stdbool.h>
#include <stdint.h>

#include "session.h"

/* Take and release the cache. Every other gg_symbols_* call except reset needs it held. */
void gg_symbols_lock(void);
void gg_symbols_unlock(void);

/* Resolves the code address pc. A return address (is_return) is looked up as pc - 1, so
 * the line is the call's, not the next statement's. Sets *frames to the *n (>= 1) frames
 * found, innermost first: the inlined functions (inlined = true), then the function they
 * were inlined into. Never fails to name a location: an address without a symbol gets
 * only module and offset. Returns 0 or GARGALO_ENOMEM.
 * The frames and their strings belong to the cache and stay valid until the next
 * gg_symbols_resolve or gg_symbols_unlock; copy them (gg_session_add_frame does). */
int gg_symbols_resolve(uintptr_t pc, bool is_return, const gg_frame **frames, uint32_t *n);

/* What the cache knows of the module named name (a frame's module): 0, or GARGALO_EINVAL
 * when it has described no frame of such a module. The strings belong to the cache, as
 * for gg_symbols_resolve. */
int gg_symbols_module(const char *name, gg_module *out);

/* Reads the module list, then every module's symbols and debug information, so later
 * resolutions find them loaded (takes the lock itself). Returns 0, or GARGALO_EIO when
 * the module list could not be read (GARGALO_ENOMEM when libdwfl could not start). */
int gg_symbols_preload(void);

/* Empties the cache and closes the debug information (takes the lock itself). The next
 * resolution starts cold: for tests and measurements, or after heavy dlclose use. */
void gg_symbols_reset(void);

/* True for a module path inside the system library directories (/lib, /usr/lib, /lib64,
 * /usr/lib64), whose frames renderers may fold. */
bool gg_symbols_is_system_path(const char *path);

#endif
