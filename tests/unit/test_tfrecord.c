/* tests/unit/test_tfrecord.c — TFRecord framing vectors and writer/reader round trips. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/record.h"
#include "sidecar/data.h"
#include "unit/data_testutil.h"

#define BIG_RECORD (300 * 1024) /* larger than the 256 KiB read and inflate buffers */

static const sc_compression ALL[] = {SC_COMPRESSION_NONE, SC_COMPRESSION_ZLIB, SC_COMPRESSION_GZIP};

/* Record i of the standard test set: sizes vary, several are empty, one is BIG_RECORD. */
static size_t record_size(size_t i) {
    if (i % 17 == 0) return 0;
    if (i == 40) return BIG_RECORD;
    uint64_t s = i * 7919 + 1;
    return (size_t)(tu_rand(&s) % 600);
}

static void fill_record(uint8_t *buf, size_t n, size_t i) {
    uint64_t s = i + 12345;
    for (size_t k = 0; k < n; k++) buf[k] = (uint8_t)(tu_rand(&s) >> 56);
}

static void write_records(const char *path, sc_compression c, size_t n) {
    sc_tfrecord_writer *w;
    sc_error err;
    uint8_t *buf = malloc(BIG_RECORD);
    assert_non_null(buf);
    assert_int_equal(sc_tfrecord_writer_create(path, c, &w, &err), SC_OK);
    for (size_t i = 0; i < n; i++) {
        fill_record(buf, record_size(i), i);
        assert_int_equal(sc_tfrecord_writer_write(w, buf, record_size(i), &err), SC_OK);
    }
    assert_int_equal(sc_tfrecord_writer_close(w, &err), SC_OK);
    assert_int_equal(sc_tfrecord_writer_write(w, buf, 1, &err), SC_INVALID_ARGUMENT);
    sc_tfrecord_writer_free(w);
    free(buf);
}

/* Reads every record and checks it against the standard set; returns the count. */
static size_t check_records(sc_tfrecord_reader *r, size_t expected) {
    uint8_t *want = malloc(BIG_RECORD);
    assert_non_null(want);
    sc_error err;
    const uint8_t *p;
    size_t len, i = 0;
    uint64_t offset = 0;
    for (;;) {
        assert_int_equal(sc_tfrecord_reader_index(r), i);
        assert_int_equal(sc_tfrecord_reader_offset(r), offset);
        assert_int_equal(sc_tfrecord_reader_next(r, &p, &len, &err), SC_OK);
        if (!p) break;
        assert_true(i < expected);
        assert_int_equal(len, record_size(i));
        fill_record(want, len, i);
        assert_memory_equal(p, want, len);
        offset += 16 + len;
        i++;
    }
    assert_int_equal(len, 0);
    /* The end is sticky. */
    assert_int_equal(sc_tfrecord_reader_next(r, &p, &len, &err), SC_OK);
    assert_null(p);
    free(want);
    return i;
}

static void test_frame_vectors(void **state) {
    (void)state;
    uint8_t h[12], f[4];
    static const uint8_t h0[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0x29, 0x03, 0x98, 0x07};
    static const uint8_t h24[12] = {0x18, 0, 0, 0, 0, 0, 0, 0, 0xa3, 0x7f, 0x4b, 0x22};
    sc_record_frame(h, f, "", 0);
    assert_memory_equal(h, h0, 12);
    uint8_t payload[24] = {0};
    sc_record_frame(h, f, payload, 24);
    assert_memory_equal(h, h24, 12);

    /* The writer emits exactly these bytes, and the reader accepts them. */
    char *dir = tu_mkdtemp(), path[600];
    assert_non_null(dir);
    tu_path(path, sizeof path, dir, "v.tfrecord");
    sc_tfrecord_writer *w;
    sc_error err;
    assert_int_equal(sc_tfrecord_writer_create(path, SC_COMPRESSION_NONE, &w, &err), SC_OK);
    assert_int_equal(sc_tfrecord_writer_write(w, NULL, 0, &err), SC_OK);
    assert_int_equal(sc_tfrecord_writer_write(w, payload, 24, &err), SC_OK);
    assert_int_equal(sc_tfrecord_writer_close(w, &err), SC_OK);
    sc_tfrecord_writer_free(w);
    size_t n;
    uint8_t *bytes = tu_read(path, &n);
    assert_non_null(bytes);
    assert_int_equal(n, 16 + 16 + 24);
    assert_memory_equal(bytes, h0, 12);
    assert_memory_equal(bytes + 16, h24, 12);
    free(bytes);

    sc_tfrecord_reader *r;
    const uint8_t *p;
    size_t len;
    assert_int_equal(sc_tfrecord_reader_create(path, NULL, &r, &err), SC_OK);
    assert_int_equal(sc_tfrecord_reader_compression(r), SC_COMPRESSION_NONE);
    assert_int_equal(sc_tfrecord_reader_next(r, &p, &len, &err), SC_OK);
    assert_non_null(p); /* an empty record is not the end */
    assert_int_equal(len, 0);
    assert_int_equal(sc_tfrecord_reader_next(r, &p, &len, &err), SC_OK);
    assert_int_equal(len, 24);
    assert_memory_equal(p, payload, 24);
    assert_int_equal(sc_tfrecord_reader_next(r, &p, &len, &err), SC_OK);
    assert_null(p);
    sc_tfrecord_reader_free(r);
    tu_rmdir(dir);
}

static void round_trip(sc_compression c, size_t buffer_size) {
    char *dir = tu_mkdtemp(), path[600];
    assert_non_null(dir);
    tu_path(path, sizeof path, dir, "r.tfrecord");
    write_records(path, c, 200);
    sc_compression modes[2] = {c, SC_COMPRESSION_AUTO};
    for (int m = 0; m < 2; m++) {
        sc_tfrecord_params p = sc_tfrecord_default_params();
        p.compression = modes[m];
        if (buffer_size) p.buffer_size = buffer_size;
        sc_tfrecord_reader *r;
        sc_error err;
        assert_int_equal(sc_tfrecord_reader_create(path, &p, &r, &err), SC_OK);
        assert_int_equal(sc_tfrecord_reader_compression(r), c);
        assert_int_equal(check_records(r, 200), 200);
        /* A second evaluation pass sees the same records. */
        assert_int_equal(sc_tfrecord_reader_rewind(r, &err), SC_OK);
        assert_int_equal(check_records(r, 200), 200);
        sc_tfrecord_reader_free(r);
    }
    tu_rmdir(dir);
}

static void test_round_trip_plain(void **state) {
    (void)state;
    round_trip(SC_COMPRESSION_NONE, 0);
    round_trip(SC_COMPRESSION_NONE, 4096);
}

static void test_round_trip_zlib(void **state) {
    (void)state;
    round_trip(SC_COMPRESSION_ZLIB, 0);
    round_trip(SC_COMPRESSION_ZLIB, 4096);
}

static void test_round_trip_gzip(void **state) {
    (void)state;
    round_trip(SC_COMPRESSION_GZIP, 0);
    round_trip(SC_COMPRESSION_GZIP, 4096);
}

static void test_stream_headers(void **state) {
    (void)state;
    char *dir = tu_mkdtemp(), path[600];
    assert_non_null(dir);
    tu_path(path, sizeof path, dir, "h.tfrecord");
    write_records(path, SC_COMPRESSION_GZIP, 3);
    size_t n;
    uint8_t *b = tu_read(path, &n);
    assert_non_null(b);
    /* gzip magic, deflate, no flags, mtime 0 (FORMATS §4.2). */
    static const uint8_t gz[8] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0};
    assert_memory_equal(b, gz, 8);
    free(b);
    write_records(path, SC_COMPRESSION_ZLIB, 3);
    b = tu_read(path, &n);
    assert_non_null(b);
    assert_int_equal(b[0], 0x78);
    assert_int_equal(((b[0] << 8) | b[1]) % 31, 0);
    free(b);
    tu_rmdir(dir);
}

static void test_empty_files(void **state) {
    (void)state;
    char *dir = tu_mkdtemp(), path[600];
    assert_non_null(dir);
    tu_path(path, sizeof path, dir, "e.tfrecord");
    sc_error err;
    const uint8_t *p;
    size_t len;
    for (int written = 0; written < 2; written++) {
        for (size_t m = 0; m < 3; m++) {
            if (written)
                write_records(path, ALL[m], 0); /* a finished stream, no records */
            else
                assert_int_equal(tu_write(path, "", 0), 0); /* zero bytes */
            for (int mode = 0; mode < 2; mode++) {
                sc_tfrecord_params prm = sc_tfrecord_default_params();
                prm.compression = mode ? SC_COMPRESSION_AUTO : ALL[m];
                sc_tfrecord_reader *r;
                assert_int_equal(sc_tfrecord_reader_create(path, &prm, &r, &err), SC_OK);
                assert_int_equal(sc_tfrecord_reader_next(r, &p, &len, &err), SC_OK);
                assert_null(p);
                assert_int_equal(sc_tfrecord_reader_index(r), 0);
                sc_tfrecord_reader_free(r);
            }
        }
    }
    tu_rmdir(dir);
}

static void test_concatenated_gzip_members(void **state) {
    (void)state;
    char *dir = tu_mkdtemp(), a[600], b[600], cat[600];
    assert_non_null(dir);
    tu_path(a, sizeof a, dir, "a.gz");
    tu_path(b, sizeof b, dir, "b.gz");
    tu_path(cat, sizeof cat, dir, "cat.gz");
    write_records(a, SC_COMPRESSION_GZIP, 30);
    /* Second member: records 30..59 of the standard set, so the whole is records 0..59. */
    sc_tfrecord_writer *w;
    sc_error err;
    uint8_t *buf = malloc(BIG_RECORD);
    assert_non_null(buf);
    assert_int_equal(sc_tfrecord_writer_create(b, SC_COMPRESSION_GZIP, &w, &err), SC_OK);
    for (size_t i = 30; i < 60; i++) {
        fill_record(buf, record_size(i), i);
        assert_int_equal(sc_tfrecord_writer_write(w, buf, record_size(i), &err), SC_OK);
    }
    assert_int_equal(sc_tfrecord_writer_close(w, &err), SC_OK);
    sc_tfrecord_writer_free(w);
    free(buf);
    size_t na, nb;
    uint8_t *ba = tu_read(a, &na), *bb = tu_read(b, &nb), *both = malloc(na + nb);
    assert_non_null(ba);
    assert_non_null(bb);
    assert_non_null(both);
    memcpy(both, ba, na);
    memcpy(both + na, bb, nb);
    assert_int_equal(tu_write(cat, both, na + nb), 0);
    free(ba);
    free(bb);
    free(both);
    for (int mode = 0; mode < 2; mode++) {
        sc_tfrecord_params p = sc_tfrecord_default_params();
        p.compression = mode ? SC_COMPRESSION_AUTO : SC_COMPRESSION_GZIP;
        p.buffer_size = 4096; /* member boundary lands inside a read chunk */
        sc_tfrecord_reader *r;
        assert_int_equal(sc_tfrecord_reader_create(cat, &p, &r, &err), SC_OK);
        assert_int_equal(check_records(r, 60), 60);
        sc_tfrecord_reader_free(r);
    }
    tu_rmdir(dir);
}

static void test_options(void **state) {
    (void)state;
    char *dir = tu_mkdtemp(), path[600];
    assert_non_null(dir);
    tu_path(path, sizeof path, dir, "o.tfrecord");
    sc_error err;
    sc_tfrecord_writer *w = (sc_tfrecord_writer *)1;
    assert_int_equal(sc_tfrecord_writer_create(path, SC_COMPRESSION_AUTO, &w, &err),
                     SC_INVALID_ARGUMENT);
    assert_null(w);

    sc_tfrecord_reader *r = (sc_tfrecord_reader *)1;
    tu_path(path, sizeof path, dir, "missing.tfrecord");
    assert_int_equal(sc_tfrecord_reader_create(path, NULL, &r, &err), SC_NOT_FOUND);
    assert_null(r);
    assert_non_null(strstr(err.message, "missing.tfrecord"));

    /* A record above max_record_size is refused before any allocation. */
    tu_path(path, sizeof path, dir, "o.tfrecord");
    write_records(path, SC_COMPRESSION_ZLIB, 3); /* sizes 0, x, y with y < 600 */
    sc_tfrecord_params p = sc_tfrecord_default_params();
    p.max_record_size = 10;
    const uint8_t *rec;
    size_t len;
    assert_int_equal(sc_tfrecord_reader_create(path, &p, &r, &err), SC_OK);
    assert_int_equal(sc_tfrecord_reader_next(r, &rec, &len, &err), SC_OK); /* empty: fine */
    assert_true(record_size(1) > 10);
    assert_int_equal(sc_tfrecord_reader_next(r, &rec, &len, &err), SC_UNIMPLEMENTED);
    assert_null(rec);
    assert_non_null(strstr(err.message, "record 1 at byte 16"));
    assert_non_null(strstr(err.message, "exceeds the maximum record size 10"));
    /* Errors are sticky until rewind. */
    assert_int_equal(sc_tfrecord_reader_next(r, &rec, &len, &err), SC_UNIMPLEMENTED);
    assert_int_equal(sc_tfrecord_reader_rewind(r, &err), SC_OK);
    assert_int_equal(sc_tfrecord_reader_next(r, &rec, &len, &err), SC_OK);
    assert_non_null(rec);
    assert_int_equal(len, 0);
    sc_tfrecord_reader_free(r);
    sc_tfrecord_reader_free(NULL);
    sc_tfrecord_writer_free(NULL);
    assert_string_equal(sc_compression_name(SC_COMPRESSION_GZIP), "gzip");
    assert_string_equal(sc_compression_name((sc_compression)42), "unknown");
    tu_rmdir(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_frame_vectors),
        cmocka_unit_test(test_round_trip_plain),
        cmocka_unit_test(test_round_trip_zlib),
        cmocka_unit_test(test_round_trip_gzip),
        cmocka_unit_test(test_stream_headers),
        cmocka_unit_test(test_empty_files),
        cmocka_unit_test(test_concatenated_gzip_members),
        cmocka_unit_test(test_options),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
