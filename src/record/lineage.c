/*
 * lineage.c: a descendant of the recorded process leaves the recording (lineage.h).
 */
#define _GNU_SOURCE
#include "lineage.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Whether one LD_PRELOAD entry (len bytes at p) is the preloaded object, by file name. */
static bool is_ours(const char *p, size_t len)
{
    size_t k = strlen(WIRE_PRELOAD_NAME);
    return len >= k && memcmp(p + len - k, WIRE_PRELOAD_NAME, k) == 0 &&
           (len == k || p[len - k - 1] == '/');
}

/* LD_PRELOAD without the preloaded object: its entries are separated by spaces or
 * colons; the others are kept, in order, separated by colons. */
static void drop_preload(void)
{
    const char *v = getenv("LD_PRELOAD");
    char *kept = v ? malloc(strlen(v) + 1) : NULL;
    if (!kept)
        return;
    size_t n = 0;
    for (const char *p = v; *p;) {
        size_t len = strcspn(p, ": ");
        if (len && !is_ours(p, len)) {
            if (n)
                kept[n++] = ':';
            memcpy(kept + n, p, len);
            n += len;
        }
        p += len + (p[len] != '\0');
    }
    kept[n] = '\0';
    if (n)
        setenv("LD_PRELOAD", kept, 1);
    else
        unsetenv("LD_PRELOAD");
    free(kept);
}

void lineage_leave(const wire_setup *st)
{
    if (st->ino && wire_socket_ino(st->fd) == st->ino)
        close(st->fd);
    unsetenv(WIRE_ENV);
    drop_preload();
}
