/*
 * options.h: the defaults and bounds of gargalo_options and gargalo_render_options, their
 * validation, and the adaptive interval policy. A leaf: it calls nothing else of gargalo,
 * so every module may ask it.
 */
#ifndef GG_OPTIONS_H
#define GG_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gargalo.h"

/* The adaptive interval (interval_us == 0) starts here and doubles every GG_ADAPT_STEP
 * samples until it reaches max_interval_us. At 80 us a 10 ms session gets about 110
 * samples; after about a quarter second the interval is 2 ms. */
#define GG_ADAPT_START_US 80u
#define GG_ADAPT_STEP 100u

/* Bounds of the options: outside them gargalo_start answers GARGALO_EINVAL. */
#define GG_INTERVAL_MIN_US 50u
#define GG_INTERVAL_MAX_US 1000000u
#define GG_DEPTH_MAX 65536u
/* Room the raw buffer keeps beyond max_depth for one stack: a signal handler's own frames
 * come first in what it unwinds and are cut off after. */
#define GG_DEPTH_SLACK 16u

#define GG_RENDER_MAX_BYTES ((size_t)256 << 20)

/* Copies in (or the defaults when NULL) to out, fills members left at zero with their
 * defaults, and checks the bounds. Returns 0 or GARGALO_EINVAL. */
int gg_options_check(const gargalo_options *in, gargalo_options *out);

/* The same for render options, the filters' syntax included. Returns 0 or GARGALO_EINVAL. */
int gg_render_options_check(const gargalo_render_options *in, gargalo_render_options *out);

/* Whether tag is "key=value" with a non-empty key (split at the first '='); *key_len,
 * unless NULL, is then the key's length. */
bool gg_render_tag_split(const char *tag, size_t *key_len);

/* The sampling interval, in microseconds, after n samples under options opt (checked).
 * Pure and async-signal-safe. */
unsigned gg_options_interval_us(const gargalo_options *opt, uint64_t n);

#endif
