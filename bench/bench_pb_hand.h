/* bench_pb_hand.h — the hand-written BundleEntryProto codec measured by bench_pb, on core/pb.h,
 * written the way src/ckpt/bundle_reader.c (parse_entry) and bundle_writer.c do it: decoding
 * fills a caller-owned struct (no allocation; dims into a fixed array), encoding appends to a
 * reused sc_pb_buf following proto3 (default scalars omitted, the shape always written).
 *
 * Header-only so that bench_pb stays one translation unit; the functions are noinline so their
 * code keeps its own symbols, which bench_pb sums to report the codec's code size.
 */
#ifndef SC_BENCH_PB_HAND_H
#define SC_BENCH_PB_HAND_H

#include <stdint.h>

#include "core/pb.h"

#define HAND_MAX_RANK 8

typedef struct hand_entry {
    int32_t dtype;
    int rank;
    int64_t dims[HAND_MAX_RANK];
    int32_t shard_id;
    int64_t offset;
    int64_t size;
    uint32_t crc32c;
    int num_slices;
} hand_entry;

#define HAND_NOINLINE __attribute__((noinline))

HAND_NOINLINE static int hand_decode_int32(sc_pb_reader *r, int wire, int32_t *v) {
    uint64_t u;
    if (wire != SC_PB_VARINT || sc_pb_read_varint64(r, &u)) return -1;
    int64_t s = (int64_t)u;
    if (s < INT32_MIN || s > INT32_MAX) return -1;
    *v = (int32_t)s;
    return 0;
}

HAND_NOINLINE static int hand_decode_shape(sc_pb_reader *r, hand_entry *e) {
    uint32_t f;
    int w, rc;
    while ((rc = sc_pb_next(r, &f, &w)) == 1) {
        if (f == 2 && w == SC_PB_LEN) {
            sc_pb_reader d;
            uint64_t size = 0;
            if (sc_pb_read_sub(r, &d) || e->rank == HAND_MAX_RANK) return -1;
            while ((rc = sc_pb_next(&d, &f, &w)) == 1) {
                if (f == 1 && w == SC_PB_VARINT)
                    rc = sc_pb_read_varint64(&d, &size);
                else
                    rc = sc_pb_skip(&d, w);
                if (rc) return -1;
            }
            if (rc < 0 || (int64_t)size < 0) return -1;
            e->dims[e->rank++] = (int64_t)size;
        } else if (f == 3 && w == SC_PB_VARINT) {
            uint64_t unknown;
            if (sc_pb_read_varint64(r, &unknown) || unknown) return -1;
        } else if (sc_pb_skip(r, w)) {
            return -1;
        }
    }
    return rc;
}

/* Returns 0, or -1 on malformed input. */
HAND_NOINLINE static int hand_decode_entry(const uint8_t *data, size_t n, hand_entry *e) {
    sc_pb_reader r = sc_pb_reader_init(data, n);
    uint32_t f;
    int w, rc;
    uint64_t u;
    *e = (hand_entry){0};
    while ((rc = sc_pb_next(&r, &f, &w)) == 1) {
        switch (f) {
        case 1: rc = hand_decode_int32(&r, w, &e->dtype); break;
        case 2: {
            sc_pb_reader s;
            rc = w == SC_PB_LEN ? sc_pb_read_sub(&r, &s) : -1;
            if (rc == 0) rc = hand_decode_shape(&s, e);
            break;
        }
        case 3: rc = hand_decode_int32(&r, w, &e->shard_id); break;
        case 4:
        case 5:
            rc = w == SC_PB_VARINT ? sc_pb_read_varint64(&r, &u) : -1;
            if (rc == 0) *(f == 4 ? &e->offset : &e->size) = (int64_t)u;
            break;
        case 6: rc = w == SC_PB_I32 ? sc_pb_read_fixed32(&r, &e->crc32c) : -1; break;
        case 7:
            rc = w == SC_PB_LEN ? sc_pb_skip(&r, w) : -1;
            e->num_slices++;
            break;
        default: rc = sc_pb_skip(&r, w);
        }
        if (rc) return -1;
    }
    return rc;
}

/* Appends the encoding of e to b; check b->failed once at the end. */
HAND_NOINLINE static void hand_encode_entry(const hand_entry *e, sc_pb_buf *b) {
    if (e->dtype) sc_pb_put_int(b, 1, e->dtype);
    size_t shape = sc_pb_begin_sub(b, 2);
    for (int i = 0; i < e->rank; i++) {
        size_t dim = sc_pb_begin_sub(b, 2);
        if (e->dims[i]) sc_pb_put_int(b, 1, e->dims[i]);
        sc_pb_end_sub(b, dim);
    }
    sc_pb_end_sub(b, shape);
    if (e->shard_id) sc_pb_put_int(b, 3, e->shard_id);
    if (e->offset) sc_pb_put_int(b, 4, e->offset);
    if (e->size) sc_pb_put_int(b, 5, e->size);
    if (e->crc32c) {
        sc_pb_put_key(b, 6, SC_PB_I32);
        sc_pb_put_fixed32(b, e->crc32c);
    }
}

#endif
