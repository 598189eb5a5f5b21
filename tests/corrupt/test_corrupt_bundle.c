/* Corrupt, truncated and half-written bundles: every failure is a status naming the file (and
 * the tensor), never a crash or an over-read (run under ASan+UBSan). Starts from the Appendix
 * A.4 bundle, whose layout is known: data block [0, 154) + trailer, metaindex [159, 167) +
 * trailer, index block [172, 187) + trailer, footer [192, 240). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "ckpt/sstable.h"
#include "core/crc32c.h"
#include "sidecar/checkpoint.h"
#include "support/ckpt_fixture.h"

enum { DATA_BLOCK = 0, DATA_SIZE = 154, META_BLOCK = 159, INDEX_BLOCK = 172, INDEX_SIZE = 15 };

typedef struct fx {
    char *dir, *prefix, *index, *data;
} fx;

static int setup(void **state) {
    fx *f = calloc(1, sizeof *f);
    f->dir = ckf_mkdtemp();
    f->prefix = ckf_join(f->dir, "tiny");
    f->index = ckf_join(f->dir, "tiny.index");
    f->data = ckf_join(f->dir, "tiny.data-00000-of-00001");
    ckf_write_tiny(f->prefix);
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fx *f = *state;
    ckf_rmtree(f->dir);
    free(f->prefix);
    free(f->index);
    free(f->data);
    free(f);
    return 0;
}

static sc_status try_open(const fx *f, sc_error *err) {
    sc_bundle *b = NULL;
    sc_status s = sc_bundle_open(f->prefix, &b, err);
    assert_true((s == SC_OK) == (b != NULL));
    sc_bundle_free(b);
    return s;
}

/* Opens and reads every tensor; any status is fine, crashing is not. */
static sc_status open_and_read_all(const fx *f, sc_error *err) {
    sc_bundle *b = NULL;
    sc_status s = sc_bundle_open(f->prefix, &b, err);
    if (s != SC_OK) return s;
    for (size_t i = 0; i < sc_bundle_num_tensors(b); i++) {
        const sc_tensor_info *t = sc_bundle_tensor(b, i);
        if (t->size > 4096) continue;
        uint8_t buf[4096];
        sc_bytes items[16];
        if (sc_bundle_read(b, t, buf, sizeof buf, err) == SC_OK && t->dtype == SC_DT_STRING
            && t->num_elements <= 16)
            (void)sc_bundle_decode_strings(t, buf, (size_t)t->size, items, err);
    }
    sc_bundle_free(b);
    return SC_OK;
}

static void put_le32(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

/* Recomputes a block's trailer CRC so that a corruption reaches the block decoder. */
static void fix_crc(uint8_t *t, size_t off, size_t size) {
    put_le32(t + off + size + 1, sc_crc32c_mask(sc_crc32c(t + off, size + 1)));
}

static void expect_open_fails(const fx *f, const uint8_t *bytes, size_t len, sc_status want,
                              const char *needle) {
    ckf_write(f->index, bytes, len);
    sc_error err;
    assert_int_equal(try_open(f, &err), want);
    assert_non_null(strstr(err.message, f->index));
    if (needle && !strstr(err.message, needle))
        fail_msg("message \"%s\" lacks \"%s\"", err.message, needle);
}

static void test_truncated_index(void **state) {
    fx *f = *state;
    static const size_t cuts[] = {0, 1, 47, 48, 100, 154, 191, 192, 200, 239};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++)
        expect_open_fails(f, ckf_tiny_index, cuts[i], SC_DATA_LOSS, NULL);
    /* The same bytes with the last byte cut are "not an SSTable" (the magic moved). */
    expect_open_fails(f, ckf_tiny_index, 239, SC_DATA_LOSS, "not an SSTable");
}

static void test_flipped_blocks_and_magic(void **state) {
    fx *f = *state;
    uint8_t t[CKF_TINY_INDEX_LEN];
    memcpy(t, ckf_tiny_index, sizeof t);
    t[20] ^= 0x01;
    expect_open_fails(f, t, sizeof t, SC_DATA_LOSS, "data block 0 (file offset 0");
    memcpy(t, ckf_tiny_index, sizeof t);
    t[INDEX_BLOCK + 3] ^= 0x01;
    expect_open_fails(f, t, sizeof t, SC_DATA_LOSS, "index block");
    memcpy(t, ckf_tiny_index, sizeof t);
    t[DATA_BLOCK + DATA_SIZE] = 2; /* compression type 2 (with a valid CRC) */
    fix_crc(t, DATA_BLOCK, DATA_SIZE);
    expect_open_fails(f, t, sizeof t, SC_DATA_LOSS, "compression type 2");
    memcpy(t, ckf_tiny_index, sizeof t);
    t[CKF_TINY_INDEX_LEN - 1] ^= 0xff;
    expect_open_fails(f, t, sizeof t, SC_DATA_LOSS, "not an SSTable");
    /* An index handle past the end of the file. */
    memcpy(t, ckf_tiny_index, sizeof t);
    t[192 + 3] = 0xff, t[192 + 4] = 0x7f;
    expect_open_fails(f, t, sizeof t, SC_DATA_LOSS, "outside the file");
    /* Index entry value that is not a block handle (CRC fixed up). */
    memcpy(t, ckf_tiny_index, sizeof t);
    t[INDEX_BLOCK + 5] = 0x9a; /* handle "00 9a 9a": size varint runs into the restart array */
    t[INDEX_BLOCK + 6] = 0x81;
    fix_crc(t, INDEX_BLOCK, INDEX_SIZE);
    expect_open_fails(f, t, sizeof t, SC_DATA_LOSS, NULL);
    /* An entry header in the data block that claims more bytes than the block has. */
    memcpy(t, ckf_tiny_index, sizeof t);
    t[DATA_BLOCK + 11] = 0x7f; /* value length of the second entry */
    fix_crc(t, DATA_BLOCK, DATA_SIZE);
    expect_open_fails(f, t, sizeof t, SC_DATA_LOSS, "block offset 9");
    /* num_restarts too large for the block. */
    memcpy(t, ckf_tiny_index, sizeof t);
    put_le32(t + DATA_BLOCK + DATA_SIZE - 4, 1000);
    fix_crc(t, DATA_BLOCK, DATA_SIZE);
    expect_open_fails(f, t, sizeof t, SC_DATA_LOSS, "restarts");
}

/* Keys out of order (swap the first letters of two entries, CRC fixed): binary search would
 * silently fail on such a table, so the reader refuses it. */
static void test_keys_out_of_order(void **state) {
    fx *f = *state;
    uint8_t t[CKF_TINY_INDEX_LEN];
    memcpy(t, ckf_tiny_index, sizeof t);
    t[100 + 3] = 'a'; /* "w/..." becomes "a/...", now before "step/..." */
    fix_crc(t, DATA_BLOCK, DATA_SIZE);
    expect_open_fails(f, t, sizeof t, SC_DATA_LOSS, "does not sort after");
}

static void test_tensor_bytes(void **state) {
    fx *f = *state;
    static const struct {
        size_t at;
        uint8_t xor_;
        const char *key, *needle;
    } cases[] = {
        {0, 0x01, "w/.ATTRIBUTES/VARIABLE_VALUE", "CRC mismatch"},
        {15, 0x80, "step/.ATTRIBUTES/VARIABLE_VALUE", "CRC mismatch"},
        {17, 0x01, "_CHECKPOINTABLE_OBJECT_GRAPH", "length checksum mismatch"},
        {22, 0x20, "_CHECKPOINTABLE_OBJECT_GRAPH", "CRC mismatch"},
        {16, 0x03, "_CHECKPOINTABLE_OBJECT_GRAPH", "stored bytes"}, /* length 5 -> 6 */
        {16, 0x80, "_CHECKPOINTABLE_OBJECT_GRAPH", "string 0:"},    /* runaway varint */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t d[CKF_TINY_DATA_LEN];
        memcpy(d, ckf_tiny_data, sizeof d);
        d[cases[i].at] ^= cases[i].xor_;
        ckf_write(f->data, d, sizeof d);
        sc_bundle *b = NULL;
        sc_error err;
        assert_int_equal(sc_bundle_open(f->prefix, &b, &err), SC_OK);
        for (size_t k = 0; k < sc_bundle_num_tensors(b); k++) {
            const sc_tensor_info *t = sc_bundle_tensor(b, k);
            uint8_t buf[16];
            sc_status s = sc_bundle_read(b, t, buf, sizeof buf, &err);
            if (strcmp(t->key, cases[i].key) != 0) {
                assert_int_equal(s, SC_OK); /* the other tensors are intact */
                continue;
            }
            assert_int_equal(s, SC_DATA_LOSS);
            assert_non_null(strstr(err.message, f->data));
            assert_non_null(strstr(err.message, cases[i].key));
            if (!strstr(err.message, cases[i].needle))
                fail_msg("case %zu: \"%s\" lacks \"%s\"", i, err.message, cases[i].needle);
        }
        sc_bundle_free(b);
    }
}

static void test_missing_and_short_shard(void **state) {
    fx *f = *state;
    sc_bundle *b = NULL;
    sc_error err;
    assert_int_equal(unlink(f->data), 0);
    assert_int_equal(sc_bundle_open(f->prefix, &b, &err), SC_OK); /* data is not touched */
    const sc_tensor_info *w = sc_bundle_find(b, "w/.ATTRIBUTES/VARIABLE_VALUE");
    float v[2];
    assert_int_equal(sc_bundle_read(b, w, v, sizeof v, &err), SC_UNAVAILABLE);
    assert_non_null(strstr(err.message, f->data));
    sc_bundle_free(b);

    /* 20 of 26 bytes: w and step are there, the object graph is cut. */
    ckf_write(f->data, ckf_tiny_data, 20);
    assert_int_equal(sc_bundle_open(f->prefix, &b, &err), SC_OK);
    w = sc_bundle_find(b, "w/.ATTRIBUTES/VARIABLE_VALUE");
    assert_int_equal(sc_bundle_read(b, w, v, sizeof v, &err), SC_OK);
    const sc_tensor_info *g = sc_bundle_find(b, "_CHECKPOINTABLE_OBJECT_GRAPH");
    uint8_t buf[10];
    assert_int_equal(sc_bundle_read(b, g, buf, sizeof buf, &err), SC_UNAVAILABLE);
    assert_non_null(strstr(err.message, f->data));
    assert_non_null(strstr(err.message, "_CHECKPOINTABLE_OBJECT_GRAPH"));
    sc_bundle_free(b);

    /* A missing .index is NOT_FOUND. */
    assert_int_equal(unlink(f->index), 0);
    assert_int_equal(sc_bundle_open(f->prefix, &b, &err), SC_NOT_FOUND);
    assert_null(b);
}

static void raw_entry(const fx *f, const uint8_t *entry, size_t len) {
    static const uint8_t header[] = {0x08, 0x01, 0x1a, 0x02, 0x08, 0x01};
    const char *keys[] = {"k"};
    const uint8_t *entries[] = {entry};
    ckf_write_raw_index(f->prefix, header, sizeof header, 1, keys, entries, &len);
}

/* Entries with impossible numbers: DATA_LOSS naming the tensor, at open or at read. */
static void test_bad_entries(void **state) {
    fx *f = *state;
    static const struct {
        uint8_t bytes[24];
        size_t len;
        int at_open;
        const char *needle;
    } cases[] = {
        /* offset 2^63 - 4, size 8 */
        {{0x08, 0x01, 0x12, 0x00, 0x20, 0xfc, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 0x28,
          0x08},
         16,
         1,
         "overflows"},
        /* size -1 */
        {{0x08, 0x01, 0x12, 0x00, 0x28, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01},
         15,
         1,
         "overflows"},
        /* shard_id 1 of 1 */
        {{0x08, 0x01, 0x12, 0x00, 0x18, 0x01, 0x28, 0x04}, 8, 1, "shard_id 1"},
        /* dimension -1 */
        {{0x08, 0x01, 0x12, 0x0d, 0x12, 0x0b, 0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
          0xff, 0x01},
         17,
         1,
         "negative"},
        /* [2^62, 4]: element count overflows */
        {{0x08, 0x01, 0x12, 0x10, 0x12, 0x0a, 0x08, 0x80, 0x80, 0x80,
          0x80, 0x80, 0x80, 0x80, 0x80, 0x40, 0x12, 0x02, 0x08, 0x04},
         20,
         1,
         "overflows"},
        /* unknown rank */
        {{0x08, 0x01, 0x12, 0x02, 0x18, 0x01}, 6, 1, "unknown rank"},
        /* truncated field */
        {{0x08, 0x01, 0x12, 0x05, 0x12}, 5, 1, "malformed"},
        /* float [3] stored in 8 bytes */
        {{0x08, 0x01, 0x12, 0x04, 0x12, 0x02, 0x08, 0x03, 0x28, 0x08}, 10, 0, "expected 3"},
        /* 8 bytes wanted at offset 1 TiB */
        {{0x08, 0x09, 0x12, 0x00, 0x20, 0x80, 0x80, 0x80, 0x80, 0x80, 0x20, 0x28, 0x08},
         13,
         0,
         "needs bytes"},
    };
    ckf_write(f->data, ckf_tiny_data, sizeof ckf_tiny_data);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        raw_entry(f, cases[i].bytes, cases[i].len);
        sc_bundle *b = NULL;
        sc_error err;
        sc_status s = sc_bundle_open(f->prefix, &b, &err);
        if (!cases[i].at_open) {
            assert_int_equal(s, SC_OK);
            uint8_t buf[16];
            s = sc_bundle_read(b, sc_bundle_tensor(b, 0), buf, sizeof buf, &err);
            assert_true(s == SC_DATA_LOSS || s == SC_UNAVAILABLE);
            sc_bundle_free(b);
        } else {
            assert_int_equal(s, SC_DATA_LOSS);
        }
        if (!strstr(err.message, "'k'") || !strstr(err.message, cases[i].needle))
            fail_msg("case %zu: \"%s\" lacks 'k' or \"%s\"", i, err.message, cases[i].needle);
    }
}

/* Every byte of the index, flipped three ways. Bytes covered by a CRC the reader checks (data
 * block, index block) and the magic must be detected; any other flip may pass, but nothing
 * may crash or read out of bounds. */
static void test_every_index_byte(void **state) {
    fx *f = *state;
    static const uint8_t flips[] = {0x01, 0x80, 0xff};
    uint8_t t[CKF_TINY_INDEX_LEN];
    for (size_t i = 0; i < CKF_TINY_INDEX_LEN; i++) {
        int covered = i < DATA_SIZE + 5 || (i >= INDEX_BLOCK && i < INDEX_BLOCK + INDEX_SIZE + 5)
                      || i >= CKF_TINY_INDEX_LEN - 8;
        for (size_t k = 0; k < sizeof flips; k++) {
            memcpy(t, ckf_tiny_index, sizeof t);
            t[i] ^= flips[k];
            ckf_write(f->index, t, sizeof t);
            sc_error err;
            sc_status s = open_and_read_all(f, &err);
            if (covered && s == SC_OK)
                fail_msg("flip %02x at byte %zu went unnoticed", flips[k], i);
            if (s != SC_OK) assert_non_null(strstr(err.message, "tiny"));
        }
    }
}

/* Every byte of the data and index blocks flipped with the CRC recomputed, so the corruption
 * reaches the block and entry decoders. */
static void test_every_block_byte_past_crc(void **state) {
    fx *f = *state;
    uint8_t t[CKF_TINY_INDEX_LEN];
    static const struct {
        size_t off, size;
    } blocks[] = {{DATA_BLOCK, DATA_SIZE}, {INDEX_BLOCK, INDEX_SIZE}};
    size_t rejected = 0, tried = 0;
    for (size_t bl = 0; bl < 2; bl++)
        for (size_t i = 0; i < blocks[bl].size; i++)
            for (unsigned x = 1; x < 256; x <<= 1) {
                memcpy(t, ckf_tiny_index, sizeof t);
                t[blocks[bl].off + i] ^= (uint8_t)x;
                fix_crc(t, blocks[bl].off, blocks[bl].size);
                ckf_write(f->index, t, sizeof t);
                sc_error err;
                sc_status s = open_and_read_all(f, &err);
                tried++;
                if (s == SC_OK) continue;
                /* Malformed structure, or a header that now says BIG endian / a new version. */
                assert_true(s == SC_DATA_LOSS || s == SC_UNIMPLEMENTED);
                rejected++;
            }
    /* Key bytes and tensor sizes may change harmlessly; structure bytes may not. */
    assert_true(rejected > tried / 8);
}

static sc_status ignore(void *ctx, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl,
                        sc_error *err) {
    (void)ctx, (void)k, (void)kl, (void)v, (void)vl, (void)err;
    return SC_OK;
}

/* Snappy blocks with corrupted compressed bytes (CRC recomputed): DATA_LOSS or a consistent
 * table, never a crash; a length header claiming too much is refused. */
static void test_snappy_corruption(void **state) {
    (void)state;
    sc_error err;
    sc_sst_writer *w = NULL;
    assert_int_equal(sc_sst_writer_create(0, SC_SST_SNAPPY, &w, &err), SC_OK);
    char key[32], val[64];
    memset(val, 'q', sizeof val);
    for (int i = 0; i < 20; i++) {
        snprintf(key, sizeof key, "key/%03d", i);
        assert_int_equal(sc_sst_writer_add(w, key, strlen(key), val, sizeof val, &err), SC_OK);
    }
    const uint8_t *data;
    size_t len;
    assert_int_equal(sc_sst_writer_finish(w, &data, &len, &err), SC_OK);
    uint8_t *t = malloc(len);
    memcpy(t, data, len);
    sc_sst_writer_free(w);
    sc_sst_stats st;
    assert_int_equal(sc_sst_foreach("snappy", t, len, ignore, NULL, &st, &err), SC_OK);
    assert_int_equal(st.num_snappy_blocks, 1);
    /* The data block starts at 0; its size is the first index entry's handle. */
    const uint8_t *f = t + len - 48;
    size_t moff = 0;
    for (int s = 0; s == 0 || f[-1] & 0x80; s += 7) moff |= (size_t)(*f++ & 0x7f) << s;
    assert_int_equal(*f, 8); /* the empty metaindex follows the data block directly */
    size_t dsize = moff - 5;
    for (size_t i = 0; i < dsize; i++)
        for (unsigned x = 1; x < 256; x <<= 1) {
            uint8_t *c = malloc(len);
            memcpy(c, t, len);
            c[i] ^= (uint8_t)x;
            fix_crc(c, 0, dsize);
            sc_status s = sc_sst_foreach("snappy", c, len, ignore, NULL, NULL, &err);
            if (s != SC_OK) {
                assert_int_equal(s, SC_DATA_LOSS);
                assert_non_null(strstr(err.message, "snappy: "));
            }
            free(c);
        }
    /* Uncompressed length varint claiming 2^28 bytes from a few dozen. */
    t[0] = 0x80, t[1] = 0x80, t[2] = 0x80, t[3] = 0x80;
    t[4] = 0x01;
    fix_crc(t, 0, dsize);
    assert_int_equal(sc_sst_foreach("snappy", t, len, ignore, NULL, NULL, &err), SC_DATA_LOSS);
    assert_non_null(strstr(err.message, "claims"));
    free(t);
}

int main(void) {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_truncated_index),
        T(test_flipped_blocks_and_magic),
        T(test_keys_out_of_order),
        T(test_tensor_bytes),
        T(test_missing_and_short_shard),
        T(test_bad_entries),
        T(test_every_index_byte),
        T(test_every_block_byte_past_crc),
        cmocka_unit_test(test_snappy_corruption),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
