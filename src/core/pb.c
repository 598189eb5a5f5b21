/* core/pb.c — protocol-buffer wire format by hand (FORMATS §0.2). */
#include <stdlib.h>
#include <string.h>

#include "core/pb.h"

int sc_pb_read_varint64(sc_pb_reader *r, uint64_t *v) {
    uint64_t x = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (r->p >= r->end) return -1;
        uint8_t b = *r->p++;
        /* The 10th byte may carry only the top bit of a 64-bit value. */
        if (shift == 63 && b > 1) return -1;
        x |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *v = x;
            return 0;
        }
    }
    return -1;
}

int sc_pb_read_varint32(sc_pb_reader *r, uint32_t *v) {
    uint64_t x;
    if (sc_pb_read_varint64(r, &x) || x > UINT32_MAX) return -1;
    *v = (uint32_t)x;
    return 0;
}

int sc_pb_next(sc_pb_reader *r, uint32_t *field, int *wire) {
    if (r->p >= r->end) return 0;
    uint64_t key;
    if (sc_pb_read_varint64(r, &key)) return -1;
    uint64_t f = key >> 3;
    int w = (int)(key & 7);
    if (f == 0 || f > 536870911u) return -1; /* field numbers are 1 .. 2^29-1 */
    if (w != SC_PB_VARINT && w != SC_PB_I64 && w != SC_PB_LEN && w != SC_PB_I32) return -1;
    *field = (uint32_t)f;
    *wire = w;
    return 1;
}

int sc_pb_skip(sc_pb_reader *r, int wire) {
    uint64_t v;
    const uint8_t *d;
    size_t n;
    switch (wire) {
    case SC_PB_VARINT: return sc_pb_read_varint64(r, &v);
    case SC_PB_I64:
        if (r->end - r->p < 8) return -1;
        r->p += 8;
        return 0;
    case SC_PB_I32:
        if (r->end - r->p < 4) return -1;
        r->p += 4;
        return 0;
    case SC_PB_LEN: return sc_pb_read_len(r, &d, &n);
    }
    return -1;
}

int sc_pb_read_len(sc_pb_reader *r, const uint8_t **data, size_t *n) {
    uint64_t len;
    if (sc_pb_read_varint64(r, &len)) return -1;
    if (len > (uint64_t)(r->end - r->p)) return -1;
    *data = r->p;
    *n = (size_t)len;
    r->p += len;
    return 0;
}

int sc_pb_read_sub(sc_pb_reader *r, sc_pb_reader *sub) {
    const uint8_t *d;
    size_t n;
    if (sc_pb_read_len(r, &d, &n)) return -1;
    *sub = sc_pb_reader_init(d, n);
    return 0;
}

int sc_pb_read_fixed32(sc_pb_reader *r, uint32_t *v) {
    if (r->end - r->p < 4) return -1;
    const uint8_t *p = r->p;
    *v = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
    r->p += 4;
    return 0;
}

int sc_pb_read_fixed64(sc_pb_reader *r, uint64_t *v) {
    uint32_t lo, hi;
    if (sc_pb_read_fixed32(r, &lo) || sc_pb_read_fixed32(r, &hi)) return -1;
    *v = (uint64_t)hi << 32 | lo;
    return 0;
}

/* ---- writing ---- */

void sc_pb_buf_free(sc_pb_buf *b) {
    free(b->data);
    memset(b, 0, sizeof *b);
}

static int reserve(sc_pb_buf *b, size_t n) {
    if (b->failed) return -1;
    if (n <= b->cap - b->len) return 0;
    size_t want = b->len + n;
    if (want < b->len) goto fail;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < want) {
        if (cap > SIZE_MAX / 2) goto fail;
        cap *= 2;
    }
    uint8_t *d = realloc(b->data, cap);
    if (!d) goto fail;
    b->data = d;
    b->cap = cap;
    return 0;
fail:
    b->failed = 1;
    return -1;
}

void sc_pb_put_bytes(sc_pb_buf *b, const void *data, size_t n) {
    if (n == 0 || reserve(b, n)) return;
    memcpy(b->data + b->len, data, n);
    b->len += n;
}

void sc_pb_put_varint(sc_pb_buf *b, uint64_t v) {
    uint8_t tmp[10];
    size_t n = 0;
    do {
        tmp[n++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
        v >>= 7;
    } while (v);
    sc_pb_put_bytes(b, tmp, n);
}

void sc_pb_put_fixed32(sc_pb_buf *b, uint32_t v) {
    uint8_t tmp[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    sc_pb_put_bytes(b, tmp, 4);
}

void sc_pb_put_fixed64(sc_pb_buf *b, uint64_t v) {
    sc_pb_put_fixed32(b, (uint32_t)v);
    sc_pb_put_fixed32(b, (uint32_t)(v >> 32));
}

void sc_pb_put_key(sc_pb_buf *b, uint32_t field, int wire) {
    sc_pb_put_varint(b, (uint64_t)field << 3 | (uint64_t)wire);
}

void sc_pb_put_uint(sc_pb_buf *b, uint32_t field, uint64_t v) {
    sc_pb_put_key(b, field, SC_PB_VARINT);
    sc_pb_put_varint(b, v);
}

void sc_pb_put_int(sc_pb_buf *b, uint32_t field, int64_t v) {
    sc_pb_put_uint(b, field, (uint64_t)v); /* two's complement: negatives take 10 bytes */
}

void sc_pb_put_lenfield(sc_pb_buf *b, uint32_t field, const void *data, size_t n) {
    sc_pb_put_key(b, field, SC_PB_LEN);
    sc_pb_put_varint(b, n);
    sc_pb_put_bytes(b, data, n);
}

void sc_pb_put_str(sc_pb_buf *b, uint32_t field, const char *s) {
    sc_pb_put_lenfield(b, field, s, strlen(s));
}

void sc_pb_put_double(sc_pb_buf *b, uint32_t field, double v) {
    uint64_t u;
    memcpy(&u, &v, 8);
    sc_pb_put_key(b, field, SC_PB_I64);
    sc_pb_put_fixed64(b, u);
}

void sc_pb_put_float(sc_pb_buf *b, uint32_t field, float v) {
    uint32_t u;
    memcpy(&u, &v, 4);
    sc_pb_put_key(b, field, SC_PB_I32);
    sc_pb_put_fixed32(b, u);
}

/* The length of a sub-message is unknown until it is written. Reserve one byte for it (most
 * sub-messages are < 128 bytes) and move the body if the varint turns out longer. */
size_t sc_pb_begin_sub(sc_pb_buf *b, uint32_t field) {
    sc_pb_put_key(b, field, SC_PB_LEN);
    uint8_t zero = 0;
    sc_pb_put_bytes(b, &zero, 1);
    return b->len; /* body starts here */
}

void sc_pb_end_sub(sc_pb_buf *b, size_t mark) {
    if (b->failed) return;
    size_t body = b->len - mark;
    uint8_t tmp[10];
    size_t n = 0;
    uint64_t v = body;
    do {
        tmp[n++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
        v >>= 7;
    } while (v);
    if (n > 1) {
        if (reserve(b, n - 1)) return;
        memmove(b->data + mark + n - 1, b->data + mark, body);
        b->len += n - 1;
    }
    memcpy(b->data + mark - 1, tmp, n);
}
