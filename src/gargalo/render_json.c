/*
 * render_json.c: writes gargalo's own session file (version 1); load.c reads it back.
 *
 *   {"gargalo":1, "clock":"wall"|"cpu", "mechanism":"perf"|"signal",
 *    "scope":"thread"|"process", "start_unix_ns", "duration_ns", "cpu_ns", "symbolize_ns",
 *    "dropped", "markers_dropped", "tid", "thread",
 *    "threads":[[tid, name, cpu_ns]],
 *    "frames":[{"function","file","line","module","offset":"0x..","library","inlined"}],
 *    "stacks":[[frame index, root first, ...]],
 *    "labelsets":[[[key, value], ...]],
 *    "samples":[[time_ns, weight_ns, stack, thread, labelset or -1]],
 *    "markers":[[start_ns, end_ns, thread, category, text]],
 *    "modules":[[name, path, build_id, start, end]]}
 * Files written before threads, labels, markers and modules existed have none of those keys and
 * samples of three numbers; gargalo_session_load reads both.
 *
 * Strings may be null when unknown; offset is a hex string because it is a full 64-bit
 * value.
 */
#include <inttypes.h>

#include "render.h"

static void put_field_u64(dynbuf *b, const char *key, uint64_t v)
{
    dynbuf_printf(b, "\"%s\":", key);
    gg_write_u64(b, v);
    dynbuf_putc(b, ',');
}

static void put_header(dynbuf *b, const gargalo_session *s)
{
    dynbuf_printf(b, "{\"gargalo\":1,\"clock\":\"%s\",\"mechanism\":\"%s\",",
                  gg_write_clock_name(s->opt.clock), gg_write_mechanism_name(s->mechanism));
    put_field_u64(b, "start_unix_ns", s->start_unix_ns);
    put_field_u64(b, "duration_ns", s->duration_ns);
    put_field_u64(b, "cpu_ns", s->cpu_ns);
    put_field_u64(b, "symbolize_ns", s->symbolize_ns);
    put_field_u64(b, "dropped", s->dropped);
    put_field_u64(b, "markers_dropped", s->markers_dropped);
    dynbuf_printf(b, "\"scope\":\"%s\",", s->process ? "process" : "thread");
    dynbuf_printf(b, "\"tid\":%ld,\"thread\":", (long)s->tid);
    gg_write_json_str(b, s->thread_name, false);
}

static void put_frame(dynbuf *b, const gg_frame *f)
{
    dynbuf_puts(b, "{\"function\":");
    gg_write_json_str(b, f->function, false);
    dynbuf_puts(b, ",\"file\":");
    gg_write_json_str(b, f->file, false);
    dynbuf_printf(b, ",\"line\":%d,\"module\":", f->line);
    gg_write_json_str(b, f->module, false);
    dynbuf_printf(b, ",\"offset\":\"0x%" PRIx64 "\",\"library\":%s,\"inlined\":%s}", f->offset,
                  f->is_library ? "true" : "false", f->inlined ? "true" : "false");
}

static void put_stack(dynbuf *b, const gargalo_session *s, uint32_t stack)
{
    uint32_t depth;
    const uint32_t *fr = gg_stack_frames(s, stack, &depth);
    dynbuf_putc(b, '[');
    for (uint32_t i = 0; i < depth; i++) {
        if (i)
            dynbuf_putc(b, ',');
        gg_write_u64(b, fr[i]);
    }
    dynbuf_putc(b, ']');
}

static void put_threads(dynbuf *b, const gargalo_session *s)
{
    dynbuf_puts(b, ",\n\"threads\":[");
    for (size_t i = 0; i < s->nthreads; i++) {
        dynbuf_printf(b, "%s[%ld,", i ? ",\n" : "\n", (long)s->threads[i].tid);
        gg_write_json_str(b, s->threads[i].name, false);
        dynbuf_putc(b, ',');
        gg_write_u64(b, s->threads[i].cpu_ns);
        dynbuf_putc(b, ']');
    }
    dynbuf_putc(b, ']');
}

static void put_labelsets(dynbuf *b, const gargalo_session *s)
{
    dynbuf_puts(b, "],\n\"labelsets\":[");
    for (size_t i = 0; i < s->nlabelsets; i++) {
        uint32_t n;
        const gg_label *l = gg_labelset_labels(s, (uint32_t)i, &n);
        dynbuf_puts(b, i ? ",\n[" : "\n[");
        for (uint32_t k = 0; k < n; k++) {
            dynbuf_puts(b, k ? ",[" : "[");
            gg_write_json_str(b, l[k].key, false);
            dynbuf_putc(b, ',');
            gg_write_json_str(b, l[k].value, false);
            dynbuf_putc(b, ']');
        }
        dynbuf_putc(b, ']');
    }
}

static void put_sample(dynbuf *b, const gg_sample *sm)
{
    gg_write_u64(b, sm->time_ns);
    dynbuf_putc(b, ',');
    gg_write_u64(b, sm->weight_ns);
    dynbuf_putc(b, ',');
    gg_write_u64(b, sm->stack);
    dynbuf_putc(b, ',');
    gg_write_u64(b, sm->thread);
    if (sm->labels == GG_NO_LABELS) {
        dynbuf_puts(b, ",-1");
    } else {
        dynbuf_putc(b, ',');
        gg_write_u64(b, sm->labels);
    }
}

static void put_markers(dynbuf *b, const gargalo_session *s)
{
    dynbuf_puts(b, "],\n\"markers\":[");
    for (size_t i = 0; i < s->nmarkers; i++) {
        const gg_marker *m = &s->markers[i];
        dynbuf_puts(b, i ? ",\n[" : "\n[");
        gg_write_u64(b, m->start_ns);
        dynbuf_putc(b, ',');
        gg_write_u64(b, m->end_ns);
        dynbuf_printf(b, ",%" PRIu32 ",", m->thread);
        gg_write_json_str(b, m->category, false);
        dynbuf_putc(b, ',');
        gg_write_json_str(b, m->text, false);
        dynbuf_putc(b, ']');
    }
}

static void put_modules(dynbuf *b, const gargalo_session *s)
{
    dynbuf_puts(b, "],\n\"modules\":[");
    for (size_t i = 0; i < s->nmodules; i++) {
        const gg_module *m = &s->modules[i];
        dynbuf_puts(b, i ? ",\n[" : "\n[");
        gg_write_json_str(b, m->name, false);
        dynbuf_putc(b, ',');
        gg_write_json_str(b, m->path, false);
        dynbuf_putc(b, ',');
        gg_write_json_str(b, m->build_id, false);
        dynbuf_printf(b, ",\"0x%" PRIx64 "\",\"0x%" PRIx64 "\"]", m->start, m->end);
    }
}

int gg_render_json(const gargalo_session *s, const gargalo_render_options *ro, dynbuf *b)
{
    put_header(b, s);
    put_threads(b, s);
    dynbuf_puts(b, ",\n\"frames\":[");
    for (size_t i = 0; i < s->nframes; i++) {
        dynbuf_puts(b, i ? ",\n" : "\n");
        put_frame(b, &s->frames[i]);
    }
    dynbuf_puts(b, "],\n\"stacks\":[");
    for (size_t i = 0; i < s->nstacks; i++) {
        dynbuf_puts(b, i ? ",\n" : "\n");
        put_stack(b, s, (uint32_t)i);
    }
    put_labelsets(b, s);
    dynbuf_puts(b, "],\n\"samples\":[");
    for (size_t i = 0; i < s->nsamples; i++) {
        dynbuf_puts(b, i ? ",\n[" : "\n[");
        put_sample(b, &s->samples[i]);
        dynbuf_putc(b, ']');
    }
    put_markers(b, s);
    put_modules(b, s);
    dynbuf_puts(b, "]}\n");
    return 0;
}
