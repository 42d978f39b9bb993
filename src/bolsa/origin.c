/*
 * origin.c: the same-origin check of requests that change data or profile. The server's
 * own origin is http(s)://<the Host header the client sent>: bolsa does not know the name
 * it is reached by (a proxy, a port forward), but the client does, and a browser's Origin
 * names the page that made the request.
 */
#include "origin.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* A host name and port, as in an Origin or a Host header. */
typedef struct bolsa_authority {
    char name[256]; /* without the brackets of an IPv6 literal */
    unsigned port;
} bolsa_authority;

/* The port after the host name: digits only, 1 to 65535. */
static int bolsa_authority_port(const char *s, size_t len, unsigned *port)
{
    unsigned v = 0;
    if (len == 0 || len > 5)
        return 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    *port = v;
    return v >= 1 && v <= 65535;
}

/* Parses "name", "name:port", "[v6]" or "[v6]:port" of len bytes; 0 when malformed. */
static int bolsa_authority_parse(const char *s, size_t len, unsigned default_port,
                                 bolsa_authority *a)
{
    const char *name = s, *end;
    if (len > 0 && s[0] == '[') {
        end = memchr(s, ']', len);
        name = s + 1;
    } else {
        end = memchr(s, ':', len);
        end = end ? end : s + len;
    }
    size_t name_len = end ? (size_t)(end - name) : 0;
    if (!end || name_len == 0 || name_len >= sizeof(a->name) || memchr(name, '@', name_len))
        return 0;
    memcpy(a->name, name, name_len);
    a->name[name_len] = '\0';
    const char *rest = end + (s[0] == '[');
    a->port = default_port;
    if (rest == s + len)
        return 1;
    return *rest == ':' && bolsa_authority_port(rest + 1, (size_t)(s + len - rest - 1), &a->port);
}

/* The usual names of this machine's loopback server. Not all of 127.0.0.0/8: another
 * local program may listen on 127.0.0.2 with the same port. */
static int bolsa_origin_loopback_name(const char *name)
{
    return !strcasecmp(name, "localhost") || !strcmp(name, "127.0.0.1") || !strcmp(name, "::1");
}

int bolsa_origin_is_own(const char *origin, const char *host)
{
    unsigned default_port;
    size_t skip;
    if (!strncasecmp(origin, "http://", 7))
        default_port = 80, skip = 7;
    else if (!strncasecmp(origin, "https://", 8))
        default_port = 443, skip = 8;
    else
        return 0; /* "null" (a sandboxed page, a file://), or another scheme */
    bolsa_authority o, h;
    const char *oa = origin + skip;
    if (!host || strpbrk(oa, "/?#") || !bolsa_authority_parse(oa, strlen(oa), default_port, &o) ||
        !bolsa_authority_parse(host, strlen(host), default_port, &h))
        return 0;
    if (o.port != h.port)
        return 0;
    return !strcasecmp(o.name, h.name) ||
           (bolsa_origin_loopback_name(o.name) && bolsa_origin_loopback_name(h.name));
}

bolsa_errcode bolsa_origin_check(const bolsa_request *req, bolsa_error *err)
{
    /* The browser's own verdict, which also covers what sends no Origin (an <img>, a
     * link): "same-site" is refused too, as another port of the same host is same-site. */
    const char *site = bolsa_request_header(req, "Sec-Fetch-Site");
    if (site && strcmp(site, "same-origin") && strcmp(site, "none"))
        return bolsa_error_set(err, BOLSA_E_CROSS_ORIGIN, "header", "sec-fetch-site",
                               "A request from another site (Sec-Fetch-Site: %.40s) may not "
                               "change data or be profiled",
                               site);
    const char *origin = bolsa_request_header(req, "Origin");
    if (origin && !bolsa_origin_is_own(origin, bolsa_request_header(req, "Host")))
        return bolsa_error_set(err, BOLSA_E_CROSS_ORIGIN, "header", "origin",
                               "A request from another origin (%.200s) may not change data or "
                               "be profiled",
                               origin);
    return BOLSA_E_OK;
}
