/*
 * render.h: the renderers behind gargalo_render (private), one per format. render.c picks
 * one and handles files; what they share to write names, numbers and JSON is write.h's.
 */
#ifndef GG_RENDER_H
#define GG_RENDER_H

#include "dynbuf.h"
#include "gargalo.h"
#include "options.h"
#include "session.h"
#include "write.h"

/* Each appends one whole document for a stopped session to b, with ro already checked
 * and holding defaults. They return 0 or an error of their own (GARGALO_ENOMEM); what the
 * buffer could not take stays in it, for gargalo_render to report. */
int gg_render_text(const gargalo_session *s, const gargalo_render_options *ro, dynbuf *b);
int gg_render_html(const gargalo_session *s, const gargalo_render_options *ro, dynbuf *b);
int gg_render_speedscope(const gargalo_session *s, const gargalo_render_options *ro, dynbuf *b);
int gg_render_json(const gargalo_session *s, const gargalo_render_options *ro, dynbuf *b);
int gg_render_pprof(const gargalo_session *s, const gargalo_render_options *ro, dynbuf *b);
int gg_render_folded(const gargalo_session *s, const gargalo_render_options *ro, dynbuf *b);

#endif
