/*
 * failalloc.c: malloc, calloc, realloc and the functions that allocate without calling
 * them under a sanitizer (strdup, strndup, the aligned ones), each first asking the
 * calling thread's countdown whether this is the allocation to fail.
 *
 * Underneath is the allocator the program would otherwise use: ASan's (or TSan's), whose
 * entry points their runtimes export as __interceptor_*, so that leaks and misuse are
 * still caught; glibc's __libc_* functions without a sanitizer. free is not replaced:
 * the next definition in lookup order, the sanitizer's or glibc's, matches these.
 * Built with -fno-builtin, so that the compiler never turns the calls here back into
 * calls of the functions being defined, and without sanitizers: ASan's runtime allocates
 * while it starts, before the shadow memory its checks read exists.
 */
#define _GNU_SOURCE
#include "failalloc.h"

#include <dlfcn.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* A sanitizer's allocator, when one is loaded (weak: NULL otherwise). */
extern void *__interceptor_malloc(size_t n) __attribute__((weak));
extern void *__interceptor_calloc(size_t k, size_t n) __attribute__((weak));
extern void *__interceptor_realloc(void *p, size_t n) __attribute__((weak));
extern void *__interceptor_memalign(size_t align, size_t n) __attribute__((weak));
/* glibc's own. */
extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t k, size_t n);
extern void *__libc_realloc(void *p, size_t n);
extern void *__libc_memalign(size_t align, size_t n);

/* One thread's countdown. Initial-exec TLS: no allocation to reach it. */
static __thread struct {
    int armed, fired;
    unsigned long target, seen, spared;
} fa;

static const char *const *fa_spare_names;

void failalloc_spare(const char *const *names)
{
    fa_spare_names = names;
}

unsigned long failalloc_spared(void)
{
    return fa.spared;
}

void failalloc_arm(unsigned long n)
{
    fa.armed = 1;
    fa.fired = 0;
    fa.target = n;
    fa.seen = fa.spared = 0;
}

unsigned long failalloc_disarm(int *fired)
{
    fa.armed = 0;
    *fired = fa.fired;
    return fa.seen;
}

/* 1 when the code at caller belongs to a shared object to spare. dladdr allocates
 * nothing; it is asked only on an armed thread. */
static int fa_spared(const void *caller)
{
    Dl_info info;
    if (!fa_spare_names || !dladdr(caller, &info) || !info.dli_fname)
        return 0;
    for (const char *const *n = fa_spare_names; *n; n++)
        if (strstr(info.dli_fname, *n))
            return 1;
    return 0;
}

/* Counts one allocation, asked for by the code at caller; 1 when it is the one to fail. */
static int fa_fail(const void *caller)
{
    if (!fa.armed)
        return 0;
    if (fa_spared(caller)) {
        fa.spared++;
        return 0;
    }
    if (++fa.seen != fa.target)
        return 0;
    fa.fired = 1;
    errno = ENOMEM;
    return 1;
}

/* The entry points pass on who called them, so that a library's strdup is its own. */
#define CALLER __builtin_return_address(0)

static void *fa_malloc(size_t n, const void *caller)
{
    if (fa_fail(caller))
        return NULL;
    return __interceptor_malloc ? __interceptor_malloc(n) : __libc_malloc(n);
}

/* realloc(p, 0) frees rather than allocates, so it is not a point to fail. */
static void *fa_realloc(void *p, size_t n, const void *caller)
{
    if (n && fa_fail(caller))
        return NULL;
    return __interceptor_realloc ? __interceptor_realloc(p, n) : __libc_realloc(p, n);
}

static void *fa_memalign(size_t align, size_t n, const void *caller)
{
    if (fa_fail(caller))
        return NULL;
    return __interceptor_memalign ? __interceptor_memalign(align, n) : __libc_memalign(align, n);
}

static char *fa_strndup(const char *s, size_t max, const void *caller)
{
    size_t n = strnlen(s, max);
    char *p = fa_malloc(n + 1, caller);
    if (!p)
        return NULL;
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

void *malloc(size_t n)
{
    return fa_malloc(n, CALLER);
}

void *calloc(size_t k, size_t n)
{
    if (fa_fail(CALLER))
        return NULL;
    return __interceptor_calloc ? __interceptor_calloc(k, n) : __libc_calloc(k, n);
}

void *realloc(void *p, size_t n)
{
    return fa_realloc(p, n, CALLER);
}

void *reallocarray(void *p, size_t k, size_t n)
{
    if (n && k > SIZE_MAX / n) {
        errno = ENOMEM;
        return NULL;
    }
    return fa_realloc(p, k * n, CALLER);
}

void *memalign(size_t align, size_t n)
{
    return fa_memalign(align, n, CALLER);
}

void *aligned_alloc(size_t align, size_t n)
{
    return fa_memalign(align, n, CALLER);
}

int posix_memalign(void **out, size_t align, size_t n)
{
    if (align < sizeof(void *) || (align & (align - 1)))
        return EINVAL;
    void *p = fa_memalign(align, n, CALLER);
    if (!p)
        return ENOMEM;
    *out = p;
    return 0;
}

char *strndup(const char *s, size_t max)
{
    return fa_strndup(s, max, CALLER);
}

char *strdup(const char *s)
{
    return fa_strndup(s, SIZE_MAX, CALLER);
}

/* glibc's internal names, which ASan also intercepts. */
char *__strdup(const char *s)
{
    return fa_strndup(s, SIZE_MAX, CALLER);
}

char *__strndup(const char *s, size_t max)
{
    return fa_strndup(s, max, CALLER);
}
