/*
 * render_diff_html.h: the differential call tree as one self-contained HTML page
 * (private; gargalo_diff_render's HTML format).
 */
#ifndef GG_RENDER_DIFF_HTML_H
#define GG_RENDER_DIFF_HTML_H

#include "dynbuf.h"
#include "diff.h"

/* Appends the whole page for d, titled title, with ro already holding defaults (its
 * min_percent hides the nodes under that share on both sides). Returns 0 or b's error. */
int gg_render_diff_html(const gg_diff *d, const gargalo_render_options *ro, const char *title,
                        dynbuf *b);

#endif
