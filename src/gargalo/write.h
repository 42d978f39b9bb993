/*
 * write.h: what the renderers share so that every format writes numbers, names and JSON
 * the same way. Every writer appends to a dynbuf and leaves failures in it (sticky);
 * gg_write_error turns them into gargalo's error codes once, at the end.
 */
#ifndef GG_WRITE_H
#define GG_WRITE_H

#include <stdbool.h>
#include <stdint.h>

#include "dynbuf.h"
#include "gargalo.h"
#include "session.h"

/* 0, or the buffer's first failure as GARGALO_ENOMEM or GARGALO_ETOOBIG. */
int gg_write_error(const dynbuf *b);

/* "wall" or "cpu". */
const char *gg_write_clock_name(gargalo_clock clock);
/* "perf" or "signal". */
const char *gg_write_mechanism_name(gargalo_mechanism m);
/* The title to show: ro->title, or "gargalo profile". */
const char *gg_write_title(const gargalo_render_options *ro);

/* Appends v in decimal, faster than printf for the long number arrays. */
void gg_write_u64(dynbuf *b, uint64_t v);
/* Appends n comma-separated numbers read from an array of structs: the unsigned field of
 * width bytes (4 or 8) at offset in each element of stride bytes. A 4-byte field holding
 * UINT32_MAX (none) is written as -1. Digits go through a local buffer, as these
 * columns run to millions of numbers. */
void gg_write_column(dynbuf *b, const void *base, size_t n, size_t stride, size_t offset,
                     size_t width);
/* Appends s as a quoted JSON string, or null when s is NULL. Bytes that are not valid
 * UTF-8 become U+FFFD so any JSON parser accepts the output. With html, '<' is written
 * as \u003c so the string cannot close the <script> element holding it. */
void gg_write_json_str(dynbuf *b, const char *s, bool html);
/* Appends s with &, <, >, " and ' escaped for HTML text and attributes. */
void gg_write_html(dynbuf *b, const char *s);

/* Appends the display name of one frame: its function, or "module+0xOFFSET". */
void gg_write_frame_name(dynbuf *b, const gg_frame *f);
/* The same, followed by " [module]" for a named function of a library. */
void gg_write_frame_label(dynbuf *b, const gg_frame *f);

#endif
