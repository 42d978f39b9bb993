/*
 * jsonalloc.h: jansson's allocations, watched. jansson 2.14 does not always report an
 * allocation that failed: its parser reads it as a syntax error, or drops the character
 * it was saving and goes on (lex_save), and json_dumps leaves out an object key it could
 * not append and still returns the text. bolsa gives jansson an allocator that marks the
 * thread when an allocation fails, so that code about to trust what jansson produced can
 * ask whether memory ran out meanwhile:
 *     bolsa_jsonalloc_watch();
 *     char *text = json_dumps(body, 0);
 *     if (text && bolsa_jsonalloc_failed()) ... the text may be wrong: out of memory
 */
#ifndef BOLSA_JSONALLOC_H
#define BOLSA_JSONALLOC_H

/* Clears the calling thread's mark. */
void bolsa_jsonalloc_watch(void);
/* 1 when an allocation of jansson's failed on the calling thread since its last watch. */
int bolsa_jsonalloc_failed(void);

#endif
