/*
 * sqlmark.c: statement markers over gargalo's (sqlmark.h).
 */
#include "sqlmark.h"

#include <stdlib.h>
#include <string.h>

#include "gargalo.h"

void bolsa_sqlmark_begin_text(const char *normalized)
{
    gargalo_mark_begin("sql", normalized ? normalized : "?");
}

void bolsa_sqlmark_begin(const char *sql, bolsa_sql_dialect dialect)
{
    char text[BOLSA_SQLTEXT_MAX + 1];
    bolsa_sqltext_normalize(sql, dialect, text);
    gargalo_mark_begin("sql", text);
}

/* Keeps sql and its text in the cache's next entry; returns the text kept, or NULL. */
static const char *cache_put(bolsa_sqlmark_cache *cache, const char *sql, const char *text)
{
    unsigned i = cache->next;
    char *sql_copy = strdup(sql), *text_copy = strdup(text);
    if (!sql_copy || !text_copy) {
        free(sql_copy);
        free(text_copy);
        return NULL;
    }
    free(cache->entry[i].sql);
    free(cache->entry[i].text);
    cache->entry[i].sql = sql_copy;
    cache->entry[i].text = text_copy;
    cache->next = (i + 1) % BOLSA_SQLMARK_CACHE;
    return text_copy;
}

const char *bolsa_sqlmark_text(bolsa_sqlmark_cache *cache, const char *sql,
                               bolsa_sql_dialect dialect)
{
    for (unsigned i = 0; i < BOLSA_SQLMARK_CACHE && cache->entry[i].sql; i++)
        if (strcmp(cache->entry[i].sql, sql) == 0)
            return cache->entry[i].text;
    char text[BOLSA_SQLTEXT_MAX + 1];
    bolsa_sqltext_normalize(sql, dialect, text);
    return cache_put(cache, sql, text);
}

void bolsa_sqlmark_begin_cached(bolsa_sqlmark_cache *cache, const char *sql,
                                bolsa_sql_dialect dialect)
{
    bolsa_sqlmark_begin_text(bolsa_sqlmark_text(cache, sql, dialect));
}

void bolsa_sqlmark_cache_free(bolsa_sqlmark_cache *cache)
{
    for (unsigned i = 0; i < BOLSA_SQLMARK_CACHE; i++) {
        free(cache->entry[i].sql);
        free(cache->entry[i].text);
    }
    memset(cache, 0, sizeof(*cache));
}

void bolsa_sqlmark_call(const char *what)
{
    gargalo_mark_begin("libpq", what);
}

void bolsa_sqlmark_end(void)
{
    gargalo_mark_end();
}
