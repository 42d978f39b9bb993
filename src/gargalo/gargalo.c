/*
 * gargalo.c: the small parts of the public API: error strings, option defaults, formats
 * and statistics. Sampling lives in sampler.c, rendering in render*.c.
 */
#include <string.h>

#include "gargalo.h"
#include "session.h"
#include "symbols.h"
#include "ticker.h"

const char *gargalo_strerror(int err)
{
    switch (err) {
    case 0:
        return "success";
#define GARGALO_ERRNO_CASE(name, value, msg)                                                       \
    case value:                                                                                    \
        return msg;
        GARGALO_ERRNO_MAP(GARGALO_ERRNO_CASE)
#undef GARGALO_ERRNO_CASE
    default:
        return "unknown error";
    }
}

int gargalo_preload(void)
{
    if (gg_symbols_preload() != 0)
        return GARGALO_EIO;
    return gg_ticker_prepare();
}

void gargalo_options_init(gargalo_options *opt)
{
    memset(opt, 0, sizeof(*opt));
    opt->clock = GARGALO_CLOCK_WALL;
    opt->interval_us = 0;
    opt->max_interval_us = 2000;
    opt->max_frames = (size_t)4 << 20;
    opt->max_depth = 256;
}

void gargalo_render_options_init(gargalo_render_options *ro)
{
    memset(ro, 0, sizeof(*ro));
    ro->color = -1;
    ro->min_percent = 0.5;
    ro->max_bytes = (size_t)256 << 20;
}

static const struct {
    const char *name;
    const char *extension;
} formats[] = {
    [GARGALO_FORMAT_TEXT] = {"text", "txt"},
    [GARGALO_FORMAT_HTML] = {"html", "html"},
    [GARGALO_FORMAT_SPEEDSCOPE] = {"speedscope", "speedscope.json"},
    [GARGALO_FORMAT_JSON] = {"json", "json"},
    [GARGALO_FORMAT_PPROF] = {"pprof", "pb.gz"},
    [GARGALO_FORMAT_FOLDED] = {"folded", "folded"},
};

int gargalo_format_parse(const char *name, gargalo_format *out)
{
    for (size_t i = 0; name && i < sizeof(formats) / sizeof(formats[0]); i++) {
        if (strcmp(name, formats[i].name) == 0) {
            *out = (gargalo_format)i;
            return 0;
        }
    }
    return GARGALO_EINVAL;
}

const char *gargalo_format_extension(gargalo_format fmt)
{
    if ((unsigned)fmt >= sizeof(formats) / sizeof(formats[0]))
        return NULL;
    return formats[fmt].extension;
}

int gargalo_session_stats(const gargalo_session *s, gargalo_stats *st)
{
    if (!s || !st)
        return GARGALO_EINVAL;
    if (s->state != GG_STOPPED)
        return GARGALO_ESTATE;
    memset(st, 0, sizeof(*st));
    st->duration_ns = s->duration_ns;
    st->cpu_ns = s->cpu_ns;
    st->symbolize_ns = s->symbolize_ns;
    st->samples = s->nsamples;
    st->dropped = s->dropped;
    st->frames = s->nframes;
    st->clock = s->opt.clock;
    for (size_t i = 0; i < s->nsamples; i++)
        st->sampled_ns += s->samples[i].weight_ns;
    return 0;
}
