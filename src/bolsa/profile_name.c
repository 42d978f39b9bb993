/*
 * profile_name.c: making and reading profile file names (profile_name.h). Reading is
 * strict, part by part: a name is bolsa's only if every part is what bolsa writes, so
 * the page of profiles serves no other file of the directory.
 */
#include "profile_name.h"

#include <stdio.h>
#include <string.h>

#include "gargalo.h"

int bolsa_profile_ext_known(const char *ext)
{
    static const gargalo_format formats[] = {GARGALO_FORMAT_TEXT,       GARGALO_FORMAT_HTML,
                                             GARGALO_FORMAT_SPEEDSCOPE, GARGALO_FORMAT_JSON,
                                             GARGALO_FORMAT_PPROF,      GARGALO_FORMAT_FOLDED};
    for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
        const char *known = gargalo_format_extension(formats[i]);
        if (known && strcmp(ext, known) == 0)
            return 1;
    }
    return 0;
}

const char *bolsa_profile_content_type(const char *ext)
{
    if (!strcmp(ext, "html"))
        return "text/html; charset=utf-8";
    if (!strcmp(ext, "txt") || !strcmp(ext, "folded"))
        return "text/plain; charset=utf-8";
    if (!strcmp(ext, "json") || !strcmp(ext, "speedscope.json"))
        return "application/json";
    return "application/octet-stream";
}

static int is_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* --- making ---------------------------------------------------------------------------- */

/* The method as the name has it: A-Z, up to 16, else "OTHER". */
static const char *name_method(const char *method)
{
    size_t n = method ? strlen(method) : 0;
    if (n == 0 || n > 16)
        return "OTHER";
    for (size_t i = 0; i < n; i++)
        if (method[i] < 'A' || method[i] > 'Z')
            return "OTHER";
    return method;
}

/* The route as the name has it: no leading '/', every other character but A-Z, a-z and
 * 0-9 as '_', cut at BOLSA_PROFILE_ROUTE_MAX; "unmatched" for none. */
static void name_route(const char *route, char out[BOLSA_PROFILE_ROUTE_MAX + 1])
{
    size_t o = 0;
    if (route && route[0] == '/')
        route++;
    for (; route && *route && o < BOLSA_PROFILE_ROUTE_MAX; route++)
        out[o++] = is_alnum(*route) ? *route : '_';
    out[o] = '\0';
    if (o == 0)
        snprintf(out, BOLSA_PROFILE_ROUTE_MAX + 1, "%s", route ? "_" : "unmatched");
}

int bolsa_profile_name_make(char *out, size_t size, unsigned long long ms, unsigned long n,
                            const bolsa_profile_meta *meta, const char *ext)
{
    char route[BOLSA_PROFILE_ROUTE_MAX + 1];
    name_route(meta->route, route);
    int status = meta->status >= 100 && meta->status <= 599 ? meta->status : 500;
    int len = snprintf(out, size, "profile-%llu-%lu-%s-%s-%s-%d-%llums-%llusamples.%s", ms, n,
                       strcmp(meta->how, "slow") ? "asked" : "slow", name_method(meta->method),
                       route, status, (unsigned long long)meta->duration_ms,
                       (unsigned long long)meta->samples, ext);
    return len > 0 && (size_t)len < size ? 0 : -1;
}

/* --- reading --------------------------------------------------------------------------- */

/* What is left of a name to read. */
typedef struct cursor {
    const char *p;
    int bad;
} cursor;

/* Digits (1 to 19 of them, so no overflow); bad otherwise. */
static unsigned long long take_number(cursor *c)
{
    unsigned long long v = 0;
    size_t n = 0;
    while (c->p[n] >= '0' && c->p[n] <= '9' && n < 19)
        v = v * 10 + (unsigned long long)(c->p[n++] - '0');
    c->bad |= n == 0 || (c->p[n] >= '0' && c->p[n] <= '9');
    c->p += n;
    return v;
}

static void take_literal(cursor *c, const char *lit)
{
    size_t n = strlen(lit);
    if (!c->bad && strncmp(c->p, lit, n) == 0)
        c->p += n;
    else
        c->bad = 1;
}

/* A word of A-Z, a-z, 0-9 and '_' (1 to size-1 of them) into out. */
static void take_word(cursor *c, char *out, size_t size)
{
    size_t n = 0;
    while (!c->bad && n + 1 < size && (is_alnum(c->p[n]) || c->p[n] == '_'))
        n++;
    c->bad |= n == 0 || is_alnum(c->p[n]) || c->p[n] == '_';
    memcpy(out, c->p, n);
    out[n] = '\0';
    c->p += n;
}

/* The route part back into a route: "/api/v1/transaction", or "" for "unmatched". */
static void route_of(const char *word, char out[BOLSA_PROFILE_ROUTE_MAX + 2])
{
    size_t o = 0;
    if (strcmp(word, "_") == 0)
        out[o++] = '/';
    else if (strcmp(word, "unmatched") != 0)
        for (out[o++] = '/'; *word; word++)
            out[o++] = *word == '_' ? '/' : *word;
    out[o] = '\0';
}

/* The part after profile-<ms>-<n>-: how, method, route, status, duration, samples. */
static void take_described(cursor *c, bolsa_profile_info *info)
{
    char route[BOLSA_PROFILE_ROUTE_MAX + 1] = "";
    take_word(c, info->how, sizeof(info->how));
    c->bad |= strcmp(info->how, "asked") && strcmp(info->how, "slow");
    take_literal(c, "-");
    take_word(c, info->method, sizeof(info->method));
    take_literal(c, "-");
    take_word(c, route, sizeof(route));
    route_of(route, info->route);
    take_literal(c, "-");
    info->status = (int)take_number(c);
    c->bad |= info->status < 100 || info->status > 599;
    take_literal(c, "-");
    info->duration_ms = take_number(c);
    take_literal(c, "ms-");
    info->samples = take_number(c);
    take_literal(c, "samples");
    info->described = 1;
}

int bolsa_profile_name_parse(const char *name, bolsa_profile_info *info)
{
    memset(info, 0, sizeof(*info));
    if (strlen(name) >= BOLSA_PROFILE_NAME_MAX)
        return 0;
    cursor c = {name, 0};
    take_literal(&c, "profile-");
    info->ms = take_number(&c);
    take_literal(&c, "-");
    info->n = take_number(&c);
    if (!c.bad && *c.p == '-') {
        c.p++;
        take_described(&c, info);
    }
    take_literal(&c, ".");
    if (c.bad || strlen(c.p) >= sizeof(info->ext) || !bolsa_profile_ext_known(c.p))
        return 0;
    memcpy(info->ext, c.p, strlen(c.p) + 1);
    return 1;
}
