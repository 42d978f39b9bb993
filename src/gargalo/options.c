/*
 * options.c: option defaults, validation and the adaptive interval (options.h).
 */
#include "options.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static gargalo_mechanism gg_env_mechanism = GARGALO_MECHANISM_AUTO;

static void read_env(void)
{
    const char *v = getenv("GARGALO_MECHANISM");
    if (v && strcmp(v, "perf") == 0)
        gg_env_mechanism = GARGALO_MECHANISM_PERF;
    else if (v && strcmp(v, "signal") == 0)
        gg_env_mechanism = GARGALO_MECHANISM_SIGNAL;
}

/* GARGALO_MECHANISM=perf|signal chooses for sessions that leave the choice to gargalo. */
static gargalo_mechanism env_mechanism(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, read_env);
    return gg_env_mechanism;
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
    ro->max_bytes = GG_RENDER_MAX_BYTES;
}

static bool interval_ok(unsigned us)
{
    return us >= GG_INTERVAL_MIN_US && us <= GG_INTERVAL_MAX_US;
}

int gg_options_check(const gargalo_options *in, gargalo_options *o)
{
    gargalo_options def;
    gargalo_options_init(&def);
    *o = in ? *in : def;
    if (!o->max_interval_us)
        o->max_interval_us = def.max_interval_us;
    if (!o->max_depth)
        o->max_depth = def.max_depth;
    if (!o->max_frames)
        o->max_frames = def.max_frames;
    if (o->clock != GARGALO_CLOCK_WALL && o->clock != GARGALO_CLOCK_CPU)
        return GARGALO_EINVAL;
    if ((unsigned)o->mechanism > GARGALO_MECHANISM_SIGNAL)
        return GARGALO_EINVAL;
    if (o->mechanism == GARGALO_MECHANISM_AUTO)
        o->mechanism = env_mechanism();
    if ((o->interval_us && !interval_ok(o->interval_us)) || !interval_ok(o->max_interval_us))
        return GARGALO_EINVAL;
    if (o->max_depth > GG_DEPTH_MAX || o->max_frames < o->max_depth + GG_DEPTH_SLACK ||
        o->max_frames > ((size_t)1 << 32))
        return GARGALO_EINVAL;
    return 0;
}

int gg_render_options_check(const gargalo_render_options *in, gargalo_render_options *o)
{
    gargalo_render_options_init(o);
    if (!in)
        return 0;
    *o = *in;
    if (!(o->min_percent >= 0)) /* also rejects NaN */
        return GARGALO_EINVAL;
    if ((o->tag && !gg_render_tag_split(o->tag, NULL)) || o->thread < 0)
        return GARGALO_EINVAL;
    if (!o->max_bytes)
        o->max_bytes = GG_RENDER_MAX_BYTES;
    return 0;
}

bool gg_render_tag_split(const char *tag, size_t *key_len)
{
    const char *eq = strchr(tag, '=');
    if (!eq || eq == tag)
        return false;
    if (key_len)
        *key_len = (size_t)(eq - tag);
    return true;
}

unsigned gg_options_interval_us(const gargalo_options *opt, uint64_t n)
{
    if (opt->interval_us)
        return opt->interval_us;
    unsigned max = opt->max_interval_us;
    unsigned iv = GG_ADAPT_START_US < max ? GG_ADAPT_START_US : max;
    for (uint64_t k = n / GG_ADAPT_STEP; k > 0 && iv < max; k--)
        iv = iv > max / 2 ? max : iv * 2;
    return iv;
}
