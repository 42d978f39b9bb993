/*
 * gzip.h: gzip compression of a whole buffer with zlib, for formats that travel
 * compressed (pprof's profile.pb.gz).
 */
#ifndef GG_GZIP_H
#define GG_GZIP_H

#include <stddef.h>

#include "dynbuf.h"

/* Appends the gzip stream of in[0..n) to out. Returns 0, GARGALO_ENOMEM, or out's error
 * (GARGALO_ETOOBIG when the compressed bytes pass out's cap). */
int gg_gzip(const void *in, size_t n, dynbuf *out);

#endif
