/* tests/unit/dataset_testutil.h — data sets for the sc_dataset tests (header-only): Examples
 * built with the project's protobuf writer, TFRecord files written with its writer, and a
 * helper that reads a whole pass. Example i holds x = xval(i, e) for e < DT_X, label i % 7 and
 * weight wval(i), all exact in float32. */
#ifndef SC_TESTS_DATASET_TESTUTIL_H
#define SC_TESTS_DATASET_TESTUTIL_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/pb.h"
#include "sidecar/data.h"
#include "sidecar/dataset.h"

#define DT_X 4

static inline float dt_xval(uint64_t i, size_t e) { return (float)i * 0.5f + (float)e * 0.25f; }
static inline float dt_yval(uint64_t i) { return (float)(i % 7); }
static inline float dt_wval(uint64_t i) { return (float)(i % 3) + 0.5f; }

/* One map entry of an Example's Features; kind is the Feature field (1 bytes, 2 float, 3 int64),
 * list the serialized list message. */
static inline void dt_put_feature(sc_pb_buf *b, const char *name, uint32_t kind, const void *list,
                                  size_t list_len) {
    size_t entry = sc_pb_begin_sub(b, 1);
    sc_pb_put_str(b, 1, name);
    size_t feature = sc_pb_begin_sub(b, 2);
    sc_pb_put_lenfield(b, kind, list, list_len);
    sc_pb_end_sub(b, feature);
    sc_pb_end_sub(b, entry);
}

static inline void dt_put_floats(sc_pb_buf *b, const char *name, const float *v, size_t n) {
    sc_pb_buf list = {0};
    sc_pb_put_lenfield(&list, 1, v, n * sizeof *v); /* packed; the host is little-endian */
    dt_put_feature(b, name, 2, list.data, list.len);
    sc_pb_buf_free(&list);
}

static inline void dt_put_int64s(sc_pb_buf *b, const char *name, const int64_t *v, size_t n) {
    sc_pb_buf packed = {0}, list = {0};
    for (size_t i = 0; i < n; i++) sc_pb_put_varint(&packed, (uint64_t)v[i]);
    sc_pb_put_lenfield(&list, 1, packed.data, packed.len);
    dt_put_feature(b, name, 3, list.data, list.len);
    sc_pb_buf_free(&packed);
    sc_pb_buf_free(&list);
}

static inline void dt_put_bytes(sc_pb_buf *b, const char *name, const void *v, size_t n) {
    sc_pb_buf list = {0};
    sc_pb_put_lenfield(&list, 1, v, n);
    dt_put_feature(b, name, 1, list.data, list.len);
    sc_pb_buf_free(&list);
}

/* Example i: "x" float_list[DT_X], "y" int64_list[1], "w" float_list[1]; the feature named
 * `skip` (may be NULL) is left out. */
static inline void dt_example(sc_pb_buf *b, uint64_t i, const char *skip) {
    float x[DT_X], w = dt_wval(i);
    int64_t y = (int64_t)(i % 7);
    for (size_t e = 0; e < DT_X; e++) x[e] = dt_xval(i, e);
    b->len = 0;
    size_t features = sc_pb_begin_sub(b, 1);
    if (!skip || strcmp(skip, "x")) dt_put_floats(b, "x", x, DT_X);
    if (!skip || strcmp(skip, "y")) dt_put_int64s(b, "y", &y, 1);
    if (!skip || strcmp(skip, "w")) dt_put_floats(b, "w", &w, 1);
    sc_pb_end_sub(b, features);
}

/* Writes examples [first, first + count) to path; example `missing_at` (or UINT64_MAX) lacks
 * feature "x". Returns 0 on success. */
static inline int dt_write_tfrecord(const char *path, sc_compression c, uint64_t first,
                                    uint64_t count, uint64_t missing_at) {
    sc_tfrecord_writer *w = NULL;
    sc_pb_buf b = {0};
    int rc = -1;
    if (sc_tfrecord_writer_create(path, c, &w, NULL) != SC_OK) return -1;
    for (uint64_t i = first; i < first + count; i++) {
        dt_example(&b, i, i == missing_at ? "x" : NULL);
        if (b.failed || sc_tfrecord_writer_write(w, b.data, b.len, NULL) != SC_OK) goto out;
    }
    rc = sc_tfrecord_writer_close(w, NULL) == SC_OK ? 0 : -1;
out:
    sc_tfrecord_writer_free(w);
    sc_pb_buf_free(&b);
    return rc;
}

/* A whole pass, flattened: inputs[0] into xs (cap examples of xe values), labels[0] into ys,
 * weights into ws (either may be NULL). Checks the batch invariants on the way. Returns the
 * number of examples; *batches gets the batch count; *status the first non-OK status (or OK). */
typedef struct dt_pass {
    size_t examples, batches, last_n;
    sc_status status;
    sc_error err;
    int bad_invariant; /* a batch broke an invariant: index out of order, n > batch size */
} dt_pass;

static inline dt_pass dt_read_pass(sc_dataset *ds, size_t bs, size_t xe, size_t cap, float *xs,
                                   float *ys, float *ws) {
    dt_pass r;
    memset(&r, 0, sizeof r);
    sc_batch b;
    for (;;) {
        r.status = sc_dataset_next(ds, &b, &r.err);
        if (r.status != SC_OK || b.n == 0) break;
        if (b.index != (int64_t)r.batches || b.n > bs || r.examples + b.n > cap || b.source == NULL)
            r.bad_invariant = 1;
        if (r.examples + b.n > cap) break;
        if (xs) memcpy(xs + r.examples * xe, b.inputs[0], b.n * xe * sizeof(float));
        if (ys) memcpy(ys + r.examples, b.labels[0], b.n * sizeof(float));
        if (ws) {
            if (!b.weights)
                r.bad_invariant = 1;
            else
                memcpy(ws + r.examples, b.weights, b.n * sizeof(float));
        }
        r.examples += b.n;
        r.batches++;
        r.last_n = b.n;
    }
    return r;
}

#endif
