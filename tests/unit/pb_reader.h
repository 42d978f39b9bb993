/*
 * pb_reader.h: a protocol buffers wire-format reader for the tests, written apart from
 * the encoder so that each checks the other: fields one by one, varints, packed lists,
 * and gunzip (zlib's inflate) for pprof's compressed files. Malformed input fails the test.
 */
#ifndef PB_READER_H
#define PB_READER_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <zlib.h>

typedef struct pb_field {
    uint32_t number;
    unsigned wire;    /* 0 varint, 2 length-delimited (the only two the encoder writes) */
    uint64_t v;       /* wire 0: the value */
    const uint8_t *p; /* wire 2: the bytes */
    size_t len;
} pb_field;

static inline uint64_t pb_read_varint(const uint8_t **p, const uint8_t *end)
{
    uint64_t v = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
        if (*p >= end)
            fail_msg("varint runs past the end");
        uint8_t byte = *(*p)++;
        v |= (uint64_t)(byte & 0x7f) << shift;
        if (!(byte & 0x80))
            return v;
    }
    fail_msg("varint longer than 10 bytes");
    return 0;
}

/* Reads the field at *p into f; false at the end of the message. */
static inline bool pb_next(const uint8_t **p, const uint8_t *end, pb_field *f)
{
    if (*p >= end)
        return false;
    *f = (pb_field){0};
    uint64_t key = pb_read_varint(p, end);
    f->number = (uint32_t)(key >> 3);
    f->wire = (unsigned)(key & 7);
    if (f->wire == 0) {
        f->v = pb_read_varint(p, end);
    } else if (f->wire == 2) {
        f->len = (size_t)pb_read_varint(p, end);
        if (f->len > (size_t)(end - *p))
            fail_msg("field %u: length %zu past the end", f->number, f->len);
        f->p = *p;
        *p += f->len;
    } else {
        fail_msg("field %u: unexpected wire type %u", f->number, f->wire);
    }
    return true;
}

/* The varints of a packed field, into a malloc'd array; *n their count. */
static inline uint64_t *pb_packed(const pb_field *f, size_t *n)
{
    const uint8_t *p = f->p, *end = f->p + f->len;
    uint64_t *v = malloc((f->len + 1) * sizeof(*v));
    *n = 0;
    while (p < end)
        v[(*n)++] = pb_read_varint(&p, end);
    return v;
}

/* Decompresses a whole gzip stream; the result is malloc'd. */
static inline uint8_t *pb_gunzip(const void *in, size_t n, size_t *out_len)
{
    z_stream z = {0};
    size_t cap = n * 4 + 1024;
    uint8_t *out = malloc(cap);
    if (inflateInit2(&z, 15 + 16) != Z_OK)
        fail_msg("inflateInit2");
    z.next_in = (Bytef *)in;
    z.avail_in = (uInt)n;
    int rc;
    do {
        if (z.total_out == cap)
            out = realloc(out, cap *= 2);
        z.next_out = out + z.total_out;
        z.avail_out = (uInt)(cap - z.total_out);
        rc = inflate(&z, Z_NO_FLUSH);
    } while (rc == Z_OK);
    if (rc != Z_STREAM_END || z.avail_in != 0)
        fail_msg("not one whole gzip stream (inflate: %d)", rc);
    *out_len = z.total_out;
    inflateEnd(&z);
    return out;
}

#endif
