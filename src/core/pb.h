/* core/pb.h — protocol-buffer wire format, by hand (FORMATS §0.2). Internal.
 *
 * Reading: a cursor over a byte range. sc_pb_next() yields (field, wire type) pairs; the caller
 * reads the value with the matching getter or skips it. Every getter checks bounds and returns
 * 0 on success, -1 on malformed input (the cursor is then unusable); the caller turns that into
 * an SC_DATA_LOSS naming the file and the message. No allocation.
 *
 * Writing: an append-only growable buffer. Allocation failure is sticky (buf.failed) and checked
 * once at the end, which keeps encoders linear.
 */
#ifndef SC_CORE_PB_H
#define SC_CORE_PB_H

#include <stddef.h>
#include <stdint.h>

enum { SC_PB_VARINT = 0, SC_PB_I64 = 1, SC_PB_LEN = 2, SC_PB_I32 = 5 };

typedef struct sc_pb_reader {
    const uint8_t *p;
    const uint8_t *end;
} sc_pb_reader;

static inline sc_pb_reader sc_pb_reader_init(const void *data, size_t n) {
    sc_pb_reader r = {(const uint8_t *)data, (const uint8_t *)data + n};
    return r;
}
static inline int sc_pb_done(const sc_pb_reader *r) { return r->p >= r->end; }

/* Raw varints, usable outside protos too (SSTable blocks use them). */
int sc_pb_read_varint64(sc_pb_reader *r, uint64_t *v);
int sc_pb_read_varint32(sc_pb_reader *r, uint32_t *v); /* rejects values >= 2^32 */

/* Next field key. Returns 1 with *field and *wire set, 0 at the end of input, -1 on a malformed
 * key (field 0, groups, wire types 6/7). */
int sc_pb_next(sc_pb_reader *r, uint32_t *field, int *wire);
/* Skips the value of a field of the given wire type. */
int sc_pb_skip(sc_pb_reader *r, int wire);
/* Length-delimited value: a view into the input. */
int sc_pb_read_len(sc_pb_reader *r, const uint8_t **data, size_t *n);
/* A sub-message: a reader over its bytes. */
int sc_pb_read_sub(sc_pb_reader *r, sc_pb_reader *sub);
int sc_pb_read_fixed32(sc_pb_reader *r, uint32_t *v);
int sc_pb_read_fixed64(sc_pb_reader *r, uint64_t *v);

typedef struct sc_pb_buf {
    uint8_t *data;
    size_t len;
    size_t cap;
    int failed; /* an allocation failed; contents are incomplete */
} sc_pb_buf;

void sc_pb_buf_free(sc_pb_buf *b);
void sc_pb_put_bytes(sc_pb_buf *b, const void *data, size_t n);
void sc_pb_put_varint(sc_pb_buf *b, uint64_t v);
void sc_pb_put_fixed32(sc_pb_buf *b, uint32_t v);
void sc_pb_put_fixed64(sc_pb_buf *b, uint64_t v);
void sc_pb_put_key(sc_pb_buf *b, uint32_t field, int wire);
/* Field helpers following proto3 (callers skip default scalars themselves where proto3 would). */
void sc_pb_put_uint(sc_pb_buf *b, uint32_t field, uint64_t v); /* varint field */
void sc_pb_put_int(sc_pb_buf *b, uint32_t field,
                   int64_t v); /* int32/int64: negatives take 10 bytes */
void sc_pb_put_lenfield(sc_pb_buf *b, uint32_t field, const void *data, size_t n);
void sc_pb_put_str(sc_pb_buf *b, uint32_t field, const char *s);
void sc_pb_put_double(sc_pb_buf *b, uint32_t field, double v);
void sc_pb_put_float(sc_pb_buf *b, uint32_t field, float v);
/* Sub-message written in place: begin returns a mark, end patches the length. */
size_t sc_pb_begin_sub(sc_pb_buf *b, uint32_t field);
void sc_pb_end_sub(sc_pb_buf *b, size_t mark);

#endif
