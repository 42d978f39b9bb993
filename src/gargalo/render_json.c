/*
 * render_json.c: writes gargalo's own session file (version 1); load.c reads it back.
 *
 *   {"gargalo":1, "clock":"wall"|"cpu", "mechanism":"perf"|"signal", "start_unix_ns",
 *    "duration_ns", "cpu_ns", "symbolize_ns", "dropped", "tid", "thread",
 *    "frames":[{"function","file","line","module","offset":"0x..","library","inlined"}],
 *    "stacks":[[frame index, root first, ...]], "samples":[[time_ns, weight_ns, stack]]}
 *
 * Strings may be null when unknown; offset is a hex string because it is a full 64-bit
 * value. The loader trusts nothing: any type, range or index error is GARGALO_EFORMAT.
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

int gg_render_json(const gargalo_session *s, const gargalo_render_options *ro, dynbuf *b)
{
    put_header(b, s);
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
    dynbuf_puts(b, "],\n\"samples\":[");
    for (size_t i = 0; i < s->nsamples; i++) {
        const gg_sample *sm = &s->samples[i];
        dynbuf_puts(b, i ? ",\n[" : "\n[");
        gg_write_u64(b, sm->time_ns);
        dynbuf_putc(b, ',');
        gg_write_u64(b, sm->weight_ns);
        dynbuf_putc(b, ',');
        gg_write_u64(b, sm->stack);
        dynbuf_putc(b, ']');
    }
    dynbuf_puts(b, "]}\n");
    return 0;
}
