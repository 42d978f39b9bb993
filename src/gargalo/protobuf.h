/*
 * protobuf.h: a minimal protocol buffers encoder into a dynbuf, enough for one message
 * type written by hand (pprof's profile.proto): varints, tags, length-delimited fields,
 * submessages and packed repeated integers. Only non-negative integers are written.
 */
#ifndef GG_PROTOBUF_H
#define GG_PROTOBUF_H

#include <stddef.h>
#include <stdint.h>

#include "dynbuf.h"

/* Appends v as a base-128 varint. */
void gg_pb_varint(dynbuf *b, uint64_t v);

/* An integer or bool field (wire type 0). Zero is the proto3 default and is not written,
 * as proto3 encoders do; readers see the same value either way. */
void gg_pb_uint(dynbuf *b, uint32_t field, uint64_t v);

/* A length-delimited field holding n bytes (a string or bytes field), written even when
 * empty, since repeated strings keep their positions. */
void gg_pb_bytes(dynbuf *b, uint32_t field, const void *p, size_t n);
/* The same for a C string; NULL is written as "". */
void gg_pb_string(dynbuf *b, uint32_t field, const char *s);

/* Starts a submessage (or any length-delimited field built piece by piece): writes its
 * tag and returns the mark that gg_pb_end takes. Submessages may nest. */
size_t gg_pb_begin(dynbuf *b, uint32_t field);
/* Ends the field begun at mark by putting its length in front of its body. The length
 * is not known in advance, so the body moves by the length's 1 to 10 bytes: cheap for
 * the small messages of a profile, and no second buffer is needed. */
void gg_pb_end(dynbuf *b, size_t mark);

/* A packed repeated integer field: n varints in one length-delimited field. */
void gg_pb_packed(dynbuf *b, uint32_t field, const uint64_t *v, size_t n);

#endif
