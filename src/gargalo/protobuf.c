/*
 * protobuf.c: the protocol buffers encoder of protobuf.h (wire format only: it knows
 * field numbers and wire types, not message definitions).
 */
#include "protobuf.h"

#include <string.h>

enum { GG_PB_VARINT = 0, GG_PB_LEN = 2 };

/* Writes v as a varint at out (room for 10 bytes); returns its length. */
static size_t encode_varint(unsigned char *out, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        out[n++] = (unsigned char)(v | 0x80);
        v >>= 7;
    }
    out[n++] = (unsigned char)v;
    return n;
}

void gg_pb_varint(dynbuf *b, uint64_t v)
{
    unsigned char d[10];
    dynbuf_add(b, d, encode_varint(d, v));
}

static void tag(dynbuf *b, uint32_t field, unsigned wire_type)
{
    gg_pb_varint(b, (uint64_t)field << 3 | wire_type);
}

void gg_pb_uint(dynbuf *b, uint32_t field, uint64_t v)
{
    if (!v)
        return;
    tag(b, field, GG_PB_VARINT);
    gg_pb_varint(b, v);
}

void gg_pb_bytes(dynbuf *b, uint32_t field, const void *p, size_t n)
{
    tag(b, field, GG_PB_LEN);
    gg_pb_varint(b, n);
    dynbuf_add(b, p, n);
}

void gg_pb_string(dynbuf *b, uint32_t field, const char *s)
{
    gg_pb_bytes(b, field, s ? s : "", s ? strlen(s) : 0);
}

size_t gg_pb_begin(dynbuf *b, uint32_t field)
{
    tag(b, field, GG_PB_LEN);
    return b->len;
}

void gg_pb_end(dynbuf *b, size_t mark)
{
    unsigned char d[10];
    size_t body = b->len - mark, k = encode_varint(d, body);
    /* Grow by the length's size first (any bytes will do), then shift the body up. */
    if (b->err || dynbuf_add(b, d, k))
        return;
    memmove(b->data + mark + k, b->data + mark, body);
    memcpy(b->data + mark, d, k);
}

void gg_pb_packed(dynbuf *b, uint32_t field, const uint64_t *v, size_t n)
{
    size_t mark = gg_pb_begin(b, field);
    for (size_t i = 0; i < n; i++)
        gg_pb_varint(b, v[i]);
    gg_pb_end(b, mark);
}
