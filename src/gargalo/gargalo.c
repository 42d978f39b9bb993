/*
 * gargalo.c: the small parts of the public API: error strings and format names. Options
 * live in options.c, sampling in sampler.c, rendering in render*.c.
 */
#include <string.h>

#include "gargalo.h"

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
