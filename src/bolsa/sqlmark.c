/*
 * sqlmark.c: statement markers over gargalo's (sqlmark.h).
 */
#include "sqlmark.h"

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

void bolsa_sqlmark_call(const char *what)
{
    gargalo_mark_begin("libpq", what);
}

void bolsa_sqlmark_end(void)
{
    gargalo_mark_end();
}
