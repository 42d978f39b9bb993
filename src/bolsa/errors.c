/*
 * errors.c: the service's error table made callable: status and type of each code, and
 * the FastAPI-shaped JSON body of an error. The table itself lives in errors.h.
 */
#include "errors.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "timing.h"

#include "jsonalloc.h"

static const struct {
    int status;
    const char *type;
} bolsa_error_table[] = {
#define BOLSA_ERROR_ROW(name, status, type) {status, type},
    BOLSA_ERROR_MAP(BOLSA_ERROR_ROW)
#undef BOLSA_ERROR_ROW
};

#define BOLSA_ERROR_COUNT (sizeof(bolsa_error_table) / sizeof(bolsa_error_table[0]))

/* Copies a loc part, truncating: a client-chosen field name may be longer than the slot. */
static void bolsa_error_loc(char *dst, const char *src)
{
    if (src)
        snprintf(dst, sizeof(((bolsa_error *)0)->loc[0]), "%s", src);
}

bolsa_errcode bolsa_error_set(bolsa_error *err, bolsa_errcode code, const char *loc0,
                              const char *loc1, const char *fmt, ...)
{
    /* The first error wins: it is the one closest to the cause. */
    if (!err || err->code != BOLSA_E_OK)
        return code;
    memset(err, 0, sizeof(*err));
    err->code = code;
    bolsa_error_loc(err->loc[0], loc0);
    bolsa_error_loc(err->loc[1], loc1);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
    return code;
}

/* Appends s to the NUL-terminated text in dst[0..size), cutting it to fit. */
static void bolsa_error_append(char *dst, size_t size, const char *s)
{
    size_t len = strlen(dst);
    size_t n = len + 1 < size ? strnlen(s, size - 1 - len) : 0;
    memcpy(dst + len, s, n);
    dst[len + n] = '\0';
}

void bolsa_error_context(bolsa_error *err, const char *fmt, ...)
{
    if (!err || err->code == BOLSA_E_OK)
        return;
    char msg[sizeof(err->msg)];
    memcpy(msg, err->msg, sizeof(msg));
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
    /* Too long a context leaves no room for the message: the context then comes first. */
    bolsa_error_append(err->msg, sizeof(err->msg), ": ");
    bolsa_error_append(err->msg, sizeof(err->msg), msg);
}

int bolsa_error_status(bolsa_errcode code)
{
    if ((unsigned)code >= BOLSA_ERROR_COUNT)
        return 500;
    return bolsa_error_table[code].status;
}

const char *bolsa_error_type(bolsa_errcode code)
{
    if ((unsigned)code >= BOLSA_ERROR_COUNT)
        return "internal_error";
    return bolsa_error_table[code].type;
}

/* A JSON string of s; a field name cut mid-character by truncation is not valid UTF-8, so
 * then every non-ASCII byte becomes '?' rather than losing the whole error body. */
static json_t *bolsa_error_text(const char *s)
{
    json_t *j = json_string(s);
    if (j)
        return j;
    char copy[BOLSA_ERROR_MSG_MAX];
    size_t i = 0;
    for (; s[i] && i < sizeof(copy) - 1; i++)
        copy[i] = (unsigned char)s[i] < 0x80 ? s[i] : '?';
    copy[i] = '\0';
    return json_string(copy);
}

/* FastAPI's loc mixes strings and list indexes ("ativos", 2); an all-digit part is an index. */
static json_t *bolsa_error_loc_json(const char *part)
{
    size_t n = strspn(part, "0123456789");
    if (n > 0 && n < 10 && part[n] == '\0')
        return json_integer(strtoll(part, NULL, 10));
    return bolsa_error_text(part);
}

/* --- concealing what the server knows ---------------------------------------------- */

/* What a client is told instead of a server-side error's own message. */
static const char *bolsa_error_plain(bolsa_errcode code)
{
    switch (code) {
    case BOLSA_E_DB_UNAVAILABLE:
        return "The database is unavailable";
    case BOLSA_E_DB_ERROR:
        return "The database could not complete the request";
    case BOLSA_E_NOMEM:
        return "The server ran out of memory";
    default:
        return "The server could not complete the request";
    }
}

/* 64 random bits as 16 hex digits: enough that two errors never share an id. */
static void bolsa_error_new_id(char id[BOLSA_ERROR_ID_SIZE])
{
    static const char hex[] = "0123456789abcdef";
    uint64_t r;
    if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r))
        r = bolsa_now_ns() * 0x9e3779b97f4a7c15ULL; /* no entropy yet: still distinct */
    for (int i = 0; i < 16; i++, r >>= 4)
        id[i] = hex[r & 15];
    id[16] = '\0';
}

/* Logs the concealed message as one line, in one write(2) so that concurrent requests'
 * lines never mix; line breaks in a driver's message become spaces. */
static void bolsa_error_log(const bolsa_error *err, const char *request)
{
    char line[BOLSA_ERROR_MSG_MAX + 256];
    int n = snprintf(line, sizeof(line), "bolsa: error %s: %.120s: %s: %s", err->id, request,
                     bolsa_error_type(err->code), err->msg);
    size_t len = n < 0 ? 0 : (size_t)n < sizeof(line) - 1 ? (size_t)n : sizeof(line) - 2;
    for (size_t i = 0; i < len; i++)
        line[i] = line[i] == '\n' || line[i] == '\r' ? ' ' : line[i];
    line[len++] = '\n';
    if (write(STDERR_FILENO, line, len) < 0) {
        /* nowhere left to report a failed log write */
    }
}

void bolsa_error_conceal(bolsa_error *err, const char *request)
{
    if (!err || bolsa_error_status(err->code) < 500 || err->id[0])
        return;
    bolsa_error_new_id(err->id);
    bolsa_error_log(err, request ? request : "-");
    snprintf(err->msg, sizeof(err->msg), "%s", bolsa_error_plain(err->code));
}

/* --- JSON ------------------------------------------------------------------------------ */

/* The message, with the id after it when the detail went to the log. */
static json_t *bolsa_error_msg_json(const bolsa_error *err)
{
    if (!err->id[0])
        return bolsa_error_text(err->msg);
    char msg[BOLSA_ERROR_MSG_MAX + 32];
    snprintf(msg, sizeof(msg), "%s (error id %s)", err->msg, err->id);
    return bolsa_error_text(msg);
}

json_t *bolsa_error_item(const bolsa_error *err)
{
    bolsa_jsonalloc_watch();
    json_t *loc = json_array();
    for (int i = 0; loc && i < 3 && err->loc[i][0]; i++)
        json_array_append_new(loc, bolsa_error_loc_json(err->loc[i]));
    json_t *item = json_pack("{s:o, s:o, s:s}", "loc", loc, "msg", bolsa_error_msg_json(err),
                             "type", bolsa_error_type(err->code));
    if (item && err->id[0] &&
        json_object_set_new(item, "ctx", json_pack("{s:s}", "error_id", err->id))) {
        json_decref(item);
        return NULL;
    }
    return item;
}

char *bolsa_error_json(const bolsa_error *err)
{
    json_t *item = bolsa_error_item(err);
    json_t *body = json_pack("{s:[o]}", "detail", item);
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    if (text && bolsa_jsonalloc_failed()) {
        free(text);
        text = NULL;
    }
    return text;
}
