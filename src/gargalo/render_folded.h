/*
 * render_folded.h: a session's collapsed stacks (private), as the folded renderer writes
 * them and the diff compares them: each distinct stack once, as the text of its frame
 * names, root first, separated by ';', with the samples' summed weight.
 */
#ifndef GG_RENDER_FOLDED_H
#define GG_RENDER_FOLDED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dynbuf.h"
#include "session.h"

typedef struct gg_folded_line {
    const char *stack; /* not NUL-terminated: len bytes */
    size_t len;
    size_t at;          /* stack's offset in gg_folded.text, while building */
    uint64_t weight_ns; /* summed weight of its samples */
} gg_folded_line;

typedef struct gg_folded {
    dynbuf text;           /* every stack's text, back to back */
    gg_folded_line *lines; /* in byte order of their stacks, each stack once */
    size_t n;
    uint64_t total_ns; /* the session's summed sample weight */
} gg_folded;

/* Collapses the stacks of a stopped session. Unless show_all, each run of library frames
 * becomes its outermost function, as in the call tree, so that stacks differing only
 * inside a run, or only in lines, merge. With threads, a process-wide session's stacks
 * start with their thread, "name (tid)" (one line per thread and stack). A ';' in a name
 * becomes ':', a line break or other control character a space. Returns 0,
 * GARGALO_ENOMEM or GARGALO_ETOOBIG (the text is capped at max bytes); on failure f is
 * left empty. Free with gg_folded_free. */
int gg_folded_build(gg_folded *f, const gargalo_session *s, bool show_all, bool threads,
                    size_t max);
void gg_folded_free(gg_folded *f);

/* The name of a stack without frames (the unwinder found none). */
#define GG_FOLDED_NO_FRAMES "(no frames)"

#endif
