/*
 * gzip.c: gzip-compresses a buffer with zlib's deflate, a chunk at a time, so that the
 * output grows through the capped dynbuf like any other renderer's.
 */
#include "gzip.h"

#include <limits.h>
#include <zlib.h>

#include "gargalo.h"
#include "write.h"

/* windowBits 15 is deflate's largest window; adding 16 asks zlib for a gzip header and
 * trailer instead of zlib's own. */
#define GG_GZIP_WINDOW_BITS (15 + 16)
#define GG_GZIP_MEM_LEVEL 8

/* Runs deflate until it has consumed its input (or, with Z_FINISH, ended the stream),
 * moving each chunk of output into out: deflate has more to give only while it fills
 * the whole chunk. */
static int pump(z_stream *z, int flush, dynbuf *out)
{
    unsigned char chunk[16384];
    int zrc;
    do {
        z->next_out = chunk;
        z->avail_out = sizeof(chunk);
        zrc = deflate(z, flush);
        if (zrc == Z_STREAM_ERROR) /* a misused stream: a bug, not a condition */
            return GARGALO_EINVAL;
        if (dynbuf_add(out, chunk, sizeof(chunk) - z->avail_out))
            return gg_write_error(out);
    } while (z->avail_out == 0);
    return 0;
}

int gg_gzip(const void *in, size_t n, dynbuf *out)
{
    z_stream z = {0};
    if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, GG_GZIP_WINDOW_BITS, GG_GZIP_MEM_LEVEL,
                     Z_DEFAULT_STRATEGY) != Z_OK)
        return GARGALO_ENOMEM;
    const unsigned char *p = in;
    int rc = 0;
    /* avail_in is an unsigned int: feed larger inputs in pieces. */
    while (!rc && n > 0) {
        uInt piece = n > UINT_MAX / 2 ? UINT_MAX / 2 : (uInt)n;
        z.next_in = (Bytef *)p;
        z.avail_in = piece;
        rc = pump(&z, Z_NO_FLUSH, out);
        p += piece, n -= piece;
    }
    if (!rc)
        rc = pump(&z, Z_FINISH, out);
    deflateEnd(&z);
    return rc;
}
