/*
 * render.h: the renderers behind gargalo_render (private), one per format, and the few
 * helpers they share so that every format writes names, numbers and JSON the same way.
 */
#ifndef GG_RENDER_H
#define GG_RENDER_H

#include <stdbool.h>
#include <stdint.h>

#include "gargalo.h"
#include "buf.h"
#include "session.h"

/* Each appends one whole document for a stopped session to b, with ro already holding
 * defaults. They return 0 or the first error (GARGALO_ENOMEM, GARGALO_ETOOBIG). */
int gg_render_text(const gargalo_session *s, const gargalo_render_options *ro, gg_buf *b);
int gg_render_html(const gargalo_session *s, const gargalo_render_options *ro, gg_buf *b);
int gg_render_speedscope(const gargalo_session *s, const gargalo_render_options *ro, gg_buf *b);
int gg_render_json(const gargalo_session *s, const gargalo_render_options *ro, gg_buf *b);
int gg_render_pprof(const gargalo_session *s, const gargalo_render_options *ro, gg_buf *b);
int gg_render_folded(const gargalo_session *s, const gargalo_render_options *ro, gg_buf *b);

/* Copies ro (or the defaults, when NULL) into o, filling fields left at zero. Returns 0,
 * or GARGALO_EINVAL for an option out of range. */
int gg_render_resolve_options(const gargalo_render_options *ro, gargalo_render_options *o);

/* "wall" or "cpu". */
const char *gg_render_clock_name(gargalo_clock clock);
/* The title to show: ro->title, or "gargalo profile". */
const char *gg_render_title(const gargalo_render_options *ro);

/* Appends v in decimal, faster than printf for the long number arrays. */
void gg_render_u64(gg_buf *b, uint64_t v);
/* Appends n comma-separated numbers read from an array of structs: the unsigned field of
 * width bytes (4 or 8) at offset in each element of stride bytes. A 4-byte field holding
 * UINT32_MAX (none) is written as -1. Digits go through a local buffer, as these
 * columns run to millions of numbers. */
void gg_render_column(gg_buf *b, const void *base, size_t n, size_t stride, size_t offset,
                      size_t width);
/* Appends s as a quoted JSON string, or null when s is NULL. Bytes that are not valid
 * UTF-8 become U+FFFD so any JSON parser accepts the output. With html, '<' is written
 * as \u003c so the string cannot close the <script> element holding it. */
void gg_render_json_str(gg_buf *b, const char *s, bool html);

#endif
