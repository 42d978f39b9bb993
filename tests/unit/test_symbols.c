/*
 * test_symbols.c: addresses resolve to function, file and line (static and inlined
 * functions of this file, libc through its debug file), or at least to module+offset;
 * system libraries are marked; the per-address cache answers the same thing twice.
 */
#define _GNU_SOURCE
#include <link.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "symbols.h"
#include "sampler_testlib.h"
#include "isolate.h"

/* The frame count of pc, or -1 when resolving failed. */
static int resolve(uintptr_t pc, bool is_return, const gg_frame **f)
{
    uint32_t n;
    return gg_symbols_resolve(pc, is_return, f, &n) ? -1 : (int)n;
}

static volatile uint64_t sink;
static int inlined_call_line;

static const int leaf_first_line = __LINE__ + 2;
static GG_NOINLINE void static_leaf(uint64_t ns)
{
    tl_spin_ns(CLOCK_MONOTONIC, ns);
}
static const int leaf_last_line = __LINE__;

static inline __attribute__((always_inline)) void inlined_spin(uint64_t ns)
{
    uint64_t end = tl_now_ns(CLOCK_MONOTONIC) + ns;
    while (tl_now_ns(CLOCK_MONOTONIC) < end)
        sink = sink * 3 + 1;
}

static GG_NOINLINE void calls_inlined(uint64_t ns)
{
    inlined_spin(ns);
    inlined_call_line = __LINE__ - 1; /* the line of the call just above */
}

static int by_value_slowly(const void *a, const void *b)
{
    volatile uint64_t x = 0;
    for (int i = 0; i < 2000; i++)
        x += (uint64_t)i;
    return (*(const int *)a > *(const int *)b) - (*(const int *)a < *(const int *)b);
}

static GG_NOINLINE void sort_in_libc(void)
{
    int v[4096];
    for (int i = 0; i < 4096; i++)
        v[i] = (i * 7919) % 4096;
    qsort(v, 4096, sizeof(v[0]), by_value_slowly);
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = s ? strlen(s) : 0, m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

static const char *exe_name(void)
{
    static char buf[4096];
    ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
    assert_true(n > 0);
    buf[n] = 0;
    return strrchr(buf, '/') + 1;
}

static void test_static_function_file_line(void **state)
{
    const gg_frame *f;
    gg_symbols_lock();
    int n = resolve((uintptr_t)static_leaf, false, &f);
    assert_int_equal(n, 1);
    assert_string_equal(f[0].function, "static_leaf");
    assert_true(ends_with(f[0].file, "tests/unit/test_symbols.c"));
    assert_true(f[0].line >= leaf_first_line && f[0].line <= leaf_last_line);
    assert_string_equal(f[0].module, exe_name());
    assert_false(f[0].is_library);
    assert_false(f[0].inlined);
    gg_symbols_unlock();
}

/* A profile of static_leaf: its samples' leaf frame is in static_leaf or what it inlined. */
static void test_profiled_static_function(void **state)
{
    gargalo_session *s;
    assert_int_equal(gargalo_start(&s, NULL), 0);
    static_leaf(20000000);
    assert_int_equal(gargalo_stop(s), 0);
    size_t in_leaf = 0, lines_ok = 0;
    for (size_t i = 0; i < s->nsamples; i++) {
        if (!tl_stack_has(s, s->samples[i].stack, "static_leaf"))
            continue;
        in_leaf++;
        uint32_t depth;
        const uint32_t *fr = gg_stack_frames(s, s->samples[i].stack, &depth);
        for (uint32_t j = 0; j < depth; j++) {
            const gg_frame *f = &s->frames[fr[j]];
            if (tl_frame_is(s, fr[j], "static_leaf") && ends_with(f->file, "test_symbols.c") &&
                f->line >= leaf_first_line && f->line <= leaf_last_line)
                lines_ok++;
        }
    }
    printf("static_leaf: %zu of %zu samples, %zu with its file:line\n", in_leaf, s->nsamples,
           lines_ok);
    assert_true(in_leaf >= s->nsamples * 9 / 10 || tl_late_signals(s));
    assert_int_equal(lines_ok, in_leaf);
    gargalo_session_free(s);
}

/* The inlined function shows as its own frame, marked inlined, under its caller, which
 * sits at the call's line. */
static void test_inlined_frame(void **state)
{
    gargalo_session *s;
    assert_int_equal(gargalo_start(&s, NULL), 0);
    calls_inlined(20000000);
    assert_int_equal(gargalo_stop(s), 0);
    size_t found = 0;
    for (size_t i = 0; i < s->nsamples; i++) {
        uint32_t depth;
        const uint32_t *fr = gg_stack_frames(s, s->samples[i].stack, &depth);
        for (uint32_t j = 1; j < depth; j++) {
            const gg_frame *f = &s->frames[fr[j]], *caller = &s->frames[fr[j - 1]];
            if (!tl_frame_is(s, fr[j], "inlined_spin"))
                continue;
            assert_true(f->inlined);
            assert_true(ends_with(f->file, "test_symbols.c"));
            assert_true(tl_frame_is(s, fr[j - 1], "calls_inlined"));
            assert_false(caller->inlined);
            assert_int_equal(caller->line, inlined_call_line);
            found++;
        }
    }
    printf("inlined_spin: in %zu of %zu samples\n", found, s->nsamples);
    assert_true(found >= s->nsamples / 2 || tl_late_signals(s));
    gargalo_session_free(s);
}

/* libc frames have names (from libc6-dbg or the symbol table) and count as library. */
static void test_libc_frames(void **state)
{
    gargalo_session *s;
    assert_int_equal(gargalo_start(&s, NULL), 0);
    sort_in_libc();
    assert_int_equal(gargalo_stop(s), 0);
    size_t in_cmp = 0, with_libc = 0;
    const char *libc_fn = NULL;
    for (size_t i = 0; i < s->nsamples; i++) {
        if (!tl_stack_has(s, s->samples[i].stack, "by_value_slowly"))
            continue;
        in_cmp++;
        uint32_t depth;
        const uint32_t *fr = gg_stack_frames(s, s->samples[i].stack, &depth);
        for (uint32_t j = 0; j < depth; j++) {
            const gg_frame *f = &s->frames[fr[j]];
            if (strncmp(f->module, "libc.so", 7) == 0 && f->function &&
                strstr(f->function, "sort")) {
                assert_true(f->is_library);
                libc_fn = f->function;
                with_libc++;
                break;
            }
        }
    }
    printf("qsort: %zu samples in the comparator, %zu of them under libc's %s\n", in_cmp, with_libc,
           libc_fn ? libc_fn : "(none)");
    if (!GG_TEST_TSAN) { /* TSan samples a comparator without libc calls late */
        /* sanitizers' qsort interceptors call the comparator themselves too */
        assert_true(in_cmp > 0);
        assert_true(with_libc >= in_cmp / 2);
        assert_true(tl_stack_has(s, s->samples[0].stack, "sort_in_libc"));
    }
    gargalo_session_free(s);
}

static void test_libc_function_by_address(void **state)
{
    const gg_frame *f;
    gg_symbols_lock();
    /* strverscmp: a libc function no sanitizer intercepts */
    int n = resolve((uintptr_t)strverscmp, false, &f);
    assert_true(n >= 1);
    assert_non_null(f[n - 1].function);
    assert_non_null(strstr(f[n - 1].function, "strverscmp"));
    assert_true(strncmp(f[n - 1].module, "libc.so", 7) == 0);
    assert_true(f[n - 1].is_library);
    gg_symbols_unlock();
}

/* Code without a symbol still says where it is: module and offset from the load base. */
static void test_unknown_address(void **state)
{
    const gg_frame *f;
    uintptr_t phdr = (uintptr_t)getauxval(AT_PHDR); /* in the executable, no symbol */
    gg_symbols_lock();
    int n = resolve(phdr, false, &f);
    assert_int_equal(n, 1);
    assert_null(f[0].function);
    assert_string_equal(f[0].module, exe_name());
    assert_true(f[0].offset < phdr); /* relative to the (PIE) load base */
    printf("program headers: %s+0x%llx\n", f[0].module, (unsigned long long)f[0].offset);

    /* outside every module: anonymous memory far from any file mapping (libdwfl counts
     * anonymous memory right after a library's mappings as part of it, like .bss) */
    char *anon = mmap((void *)(uintptr_t)0x100000000000, 4096, PROT_READ,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (anon != MAP_FAILED) {
        n = resolve((uintptr_t)anon + 16, false, &f);
        assert_int_equal(n, 1);
        assert_null(f[0].function);
        assert_string_equal(f[0].module, "[unknown]");
        assert_int_equal(f[0].offset, (uintptr_t)anon + 16);
        munmap(anon, 4096);
    }
    gg_symbols_unlock();
}

static void test_return_address_is_looked_up_before(void **state)
{
    const gg_frame *f;
    gg_symbols_lock();
    /* a return address is looked up one byte earlier: here, the function's first byte */
    int n = resolve((uintptr_t)static_leaf + 1, true, &f);
    assert_true(n >= 1);
    assert_string_equal(f[n - 1].function, "static_leaf");
    gg_symbols_unlock();
}

static void test_cache_survives_reset(void **state)
{
    const gg_frame *f;
    uint64_t t0 = tl_now_ns(CLOCK_MONOTONIC);
    gg_symbols_lock();
    assert_int_equal(resolve((uintptr_t)static_leaf, false, &f), 1);
    gg_symbols_unlock();
    uint64_t t1 = tl_now_ns(CLOCK_MONOTONIC);
    gg_symbols_reset();
    gg_symbols_lock();
    assert_int_equal(resolve((uintptr_t)static_leaf, false, &f), 1);
    assert_string_equal(f[0].function, "static_leaf");
    gg_symbols_unlock();
    printf("cached lookup %.1f us, after reset %.1f us\n", (t1 - t0) / 1e3,
           (tl_now_ns(CLOCK_MONOTONIC) - t1) / 1e3);
}

static void test_system_paths(void **state)
{
    assert_true(gg_symbols_is_system_path("/usr/lib/x86_64-linux-gnu/libc.so.6"));
    assert_true(gg_symbols_is_system_path("/lib/x86_64-linux-gnu/libpq.so.5"));
    assert_true(gg_symbols_is_system_path("/lib64/ld-linux-x86-64.so.2"));
    assert_true(gg_symbols_is_system_path("/usr/lib64/libsqlite3.so"));
    assert_false(gg_symbols_is_system_path("/usr/local/lib/libfoo.so"));
    assert_false(gg_symbols_is_system_path("/work/main/build/bolsa"));
    assert_false(gg_symbols_is_system_path("/usr/libexec/x"));
    assert_false(gg_symbols_is_system_path(NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_static_function_file_line),
        cmocka_unit_test(test_profiled_static_function),
        cmocka_unit_test(test_inlined_frame),
        cmocka_unit_test(test_libc_frames),
        cmocka_unit_test(test_libc_function_by_address),
        cmocka_unit_test(test_unknown_address),
        cmocka_unit_test(test_return_address_is_looked_up_before),
        cmocka_unit_test(test_cache_survives_reset),
        cmocka_unit_test(test_system_paths),
    };
    return isolate_run_group_tests(tests, NULL, NULL);
}
