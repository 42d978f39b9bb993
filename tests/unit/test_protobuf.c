/*
 * test_protobuf.c: the protocol buffers encoder read back by an independent reader:
 * varints at every length boundary, tags, strings, nested submessages whose lengths
 * need one, two and three bytes, packed lists, and failures that leave no half field.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "gargalo.h"
#include "options.h"
#include "protobuf.h"
#include "pb_reader.h"

static const uint64_t edges[] = {
    0,         1, 127, 128, 16383, 16384, (1u << 21) - 1, 1u << 21, UINT32_MAX, (uint64_t)1 << 63,
    UINT64_MAX};
#define NEDGES (sizeof(edges) / sizeof(edges[0]))

/* The number of 7-bit groups v needs: its varint length. */
static size_t groups(uint64_t v)
{
    size_t n = 1;
    while (v >>= 7)
        n++;
    return n;
}

static void test_varints(void **state)
{
    for (size_t i = 0; i < NEDGES; i++) {
        dynbuf b;
        dynbuf_init(&b, GG_RENDER_MAX_BYTES);
        gg_pb_varint(&b, edges[i]);
        assert_int_equal(b.len, groups(edges[i]));
        const uint8_t *p = (const uint8_t *)b.data;
        assert_int_equal(pb_read_varint(&p, p + b.len), edges[i]);
        dynbuf_free(&b);
    }
}

static void test_fields(void **state)
{
    dynbuf b;
    dynbuf_init(&b, GG_RENDER_MAX_BYTES);
    gg_pb_uint(&b, 1, 0); /* the default: not written */
    gg_pb_uint(&b, 2, 300);
    gg_pb_uint(&b, 1000, UINT64_MAX);
    gg_pb_string(&b, 3, "héllo");
    gg_pb_string(&b, 4, NULL);
    gg_pb_bytes(&b, 5, "a\0b", 3);
    const uint8_t *p = (const uint8_t *)b.data, *end = p + b.len;
    pb_field f;
    assert_true(pb_next(&p, end, &f));
    assert_true(f.number == 2 && f.wire == 0 && f.v == 300);
    assert_true(pb_next(&p, end, &f));
    assert_true(f.number == 1000 && f.wire == 0 && f.v == UINT64_MAX);
    assert_true(pb_next(&p, end, &f));
    assert_true(f.number == 3 && f.wire == 2 && f.len == strlen("héllo"));
    assert_memory_equal(f.p, "héllo", f.len);
    assert_true(pb_next(&p, end, &f));
    assert_true(f.number == 4 && f.wire == 2 && f.len == 0); /* empty, but present */
    assert_true(pb_next(&p, end, &f));
    assert_true(f.number == 5 && f.len == 3 && memcmp(f.p, "a\0b", 3) == 0);
    assert_false(pb_next(&p, end, &f));
    dynbuf_free(&b);
}

/* A submessage holding one bytes field of n bytes, inside an outer one, then a field
 * after both, so that a wrong length would misplace it. */
static void nested(size_t n)
{
    char *body = malloc(n + 1);
    memset(body, 'x', n);
    dynbuf b;
    dynbuf_init(&b, GG_RENDER_MAX_BYTES);
    size_t outer = gg_pb_begin(&b, 1);
    size_t inner = gg_pb_begin(&b, 2);
    gg_pb_bytes(&b, 3, body, n);
    gg_pb_end(&b, inner);
    gg_pb_end(&b, outer);
    gg_pb_uint(&b, 4, 7);
    assert_int_equal(b.err, 0);
    const uint8_t *p = (const uint8_t *)b.data, *end = p + b.len;
    pb_field o, i, leaf, after;
    assert_true(pb_next(&p, end, &o) && o.number == 1 && o.wire == 2);
    const uint8_t *q = o.p;
    assert_true(pb_next(&q, o.p + o.len, &i) && i.number == 2);
    assert_false(pb_next(&q, o.p + o.len, &i));
    q = i.p;
    assert_true(pb_next(&q, i.p + i.len, &leaf) && leaf.number == 3 && leaf.len == n);
    assert_memory_equal(leaf.p, body, n);
    assert_true(pb_next(&p, end, &after) && after.number == 4 && after.v == 7);
    assert_false(pb_next(&p, end, &after));
    dynbuf_free(&b);
    free(body);
}

static void test_nested_lengths(void **state)
{
    static const size_t sizes[] = {0, 1, 120, 124, 125, 126, 127, 128, 16375, 16380, 16384, 70000};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
        nested(sizes[i]);
}

static void test_packed(void **state)
{
    dynbuf b;
    dynbuf_init(&b, GG_RENDER_MAX_BYTES);
    gg_pb_packed(&b, 9, edges, NEDGES);
    gg_pb_packed(&b, 10, edges, 0);
    const uint8_t *p = (const uint8_t *)b.data, *end = p + b.len;
    pb_field f;
    size_t n;
    assert_true(pb_next(&p, end, &f) && f.number == 9 && f.wire == 2);
    uint64_t *v = pb_packed(&f, &n);
    assert_int_equal(n, NEDGES);
    assert_memory_equal(v, edges, sizeof(edges));
    free(v);
    assert_true(pb_next(&p, end, &f) && f.number == 10 && f.len == 0);
    dynbuf_free(&b);
}

/* Past the buffer's cap: the error sticks and ending a message touches nothing. */
static void test_too_big(void **state)
{
    dynbuf b;
    dynbuf_init(&b, 64);
    size_t m = gg_pb_begin(&b, 1);
    for (int i = 0; i < 40; i++)
        gg_pb_uint(&b, 2, 1000);
    gg_pb_end(&b, m);
    assert_int_equal(b.err, DYNBUF_TOOBIG);
    assert_true(b.len <= 64);
    dynbuf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_varints),        cmocka_unit_test(test_fields),
        cmocka_unit_test(test_nested_lengths), cmocka_unit_test(test_packed),
        cmocka_unit_test(test_too_big),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
