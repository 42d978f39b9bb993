/*
 * fuzz_session.c: gargalo_session_load on any bytes, then every renderer on what it
 * loaded. A saved session is a file a user may hand over from anywhere, so the loader
 * promises to trust nothing (load.c). Checked:
 *   - a refusal is GARGALO_EFORMAT (or GARGALO_ENOMEM) and hands out no session;
 *   - a loaded session has statistics and renders in every format, with and without the
 *     library frames folded, to NUL-free text of the length reported;
 *   - speedscope output is JSON, and gargalo's own JSON loads again and renders to the
 *     same bytes (saving is stable after one round).
 */
#include <jansson.h>

#include "fuzz.h"
#include "gargalo.h"

static char *render(const gargalo_session *s, gargalo_format fmt, int show_all, size_t *len)
{
    gargalo_render_options ro;
    gargalo_render_options_init(&ro);
    ro.show_all = show_all;
    char *out = NULL;
    int rc = gargalo_render(s, fmt, &ro, &out, len);
    FUZZ_CHECK(rc == 0, "format %d (show_all %d): %s", fmt, show_all, gargalo_strerror(rc));
    FUZZ_CHECK(strlen(out) == *len, "format %d: length %zu, text %zu", fmt, *len, strlen(out));
    return out;
}

/* gargalo's JSON of s loads back and saves to the same bytes. */
static void check_round_trip(const char *json, size_t len)
{
    gargalo_session *again = NULL;
    int rc = gargalo_session_load(json, len, &again);
    FUZZ_CHECK(rc == 0, "own output refused: %s", gargalo_strerror(rc));
    size_t len2;
    char *json2 = render(again, GARGALO_FORMAT_JSON, 0, &len2);
    FUZZ_CHECK(len2 == len && !memcmp(json, json2, len), "saved twice, %zu and %zu bytes", len,
               len2);
    free(json2);
    gargalo_session_free(again);
}

static void check_renders(const gargalo_session *s)
{
    for (int fmt = GARGALO_FORMAT_TEXT; fmt <= GARGALO_FORMAT_JSON; fmt++) {
        for (int show_all = 0; show_all < 2; show_all++) {
            size_t len;
            char *out = render(s, (gargalo_format)fmt, show_all, &len);
            if (fmt == GARGALO_FORMAT_SPEEDSCOPE) {
                json_t *v = json_loadb(out, len, 0, NULL);
                FUZZ_CHECK(v != NULL, "speedscope output is not JSON");
                json_decref(v);
            }
            if (fmt == GARGALO_FORMAT_JSON && !show_all)
                check_round_trip(out, len);
            free(out);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    gargalo_session *s = NULL;
    int rc = gargalo_session_load((const char *)data, size, &s);
    if (rc) {
        FUZZ_CHECK(rc == GARGALO_EFORMAT || rc == GARGALO_ENOMEM, "refused with %s",
                   gargalo_strerror(rc));
        FUZZ_CHECK(s == NULL, "a refused load handed out a session");
        return 0;
    }
    gargalo_stats st;
    FUZZ_CHECK(gargalo_session_stats(s, &st) == 0, "no statistics");
    check_renders(s);
    gargalo_session_free(s);
    return 0;
}
