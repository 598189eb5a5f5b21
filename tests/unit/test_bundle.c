/* TensorBundle writer and reader (FORMATS §1.3-1.7): Appendix A.4 bytes, round trips of every
 * numeric dtype at ranks 0-5, empty and string tensors, several shards, many index blocks,
 * entries the writer never makes (unknown dtypes, slices, big endian), and writer errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>
#include <cmocka.h>

#include "ckpt/sstable.h"
#include "core/crc32c.h"
#include "sidecar/checkpoint.h"
#include "support/ckpt_fixture.h"

typedef struct fx {
    char *dir;
    char *prefix;
} fx;

static int setup(void **state) {
    fx *f = calloc(1, sizeof *f);
    f->dir = ckf_mkdtemp();
    f->prefix = ckf_join(f->dir, "ckpt-1");
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fx *f = *state;
    ckf_rmtree(f->dir);
    free(f->prefix);
    free(f);
    return 0;
}

static char *file_of(const fx *f, const char *suffix) {
    char *p = malloc(strlen(f->prefix) + strlen(suffix) + 1);
    sprintf(p, "%s%s", f->prefix, suffix);
    return p;
}

static sc_bundle *open_ok(const char *prefix) {
    sc_bundle *b = NULL;
    sc_error err;
    sc_status s = sc_bundle_open(prefix, &b, &err);
    if (s != SC_OK) fail_msg("sc_bundle_open: %s", err.message);
    return b;
}

static void test_appendix_a4(void **state) {
    fx *f = *state;
    ckf_write_tiny(f->prefix);
    char *ip = file_of(f, ".index"), *dp = file_of(f, ".data-00000-of-00001");
    size_t len;
    uint8_t *data = ckf_read(ip, &len);
    assert_int_equal(len, CKF_TINY_INDEX_LEN);
    assert_memory_equal(data, ckf_tiny_index, CKF_TINY_INDEX_LEN);
    free(data);
    data = ckf_read(dp, &len);
    assert_int_equal(len, CKF_TINY_DATA_LEN);
    assert_memory_equal(data, ckf_tiny_data, CKF_TINY_DATA_LEN);
    free(data);
    assert_int_equal(ckf_count_files(f->dir), 2); /* no temporary files left */

    sc_bundle *b = open_ok(f->prefix);
    assert_string_equal(sc_bundle_prefix(b), f->prefix);
    assert_int_equal(sc_bundle_num_shards(b), 1);
    assert_int_equal(sc_bundle_num_tensors(b), 3);
    assert_string_equal(sc_bundle_tensor(b, 0)->key, "_CHECKPOINTABLE_OBJECT_GRAPH");
    assert_null(sc_bundle_tensor(b, 3));
    const sc_tensor_info *w = sc_bundle_find(b, "w/.ATTRIBUTES/VARIABLE_VALUE");
    assert_non_null(w);
    assert_int_equal(w->dtype, SC_DT_FLOAT);
    assert_int_equal(w->rank, 1);
    assert_int_equal(w->shape[0], 2);
    assert_int_equal(w->num_elements, 2);
    assert_int_equal(w->offset, 0);
    assert_int_equal(w->size, 8);
    assert_int_equal(w->masked_crc32c, 0x35e53c59u);
    float fv[2];
    sc_error err;
    assert_int_equal(sc_bundle_read(b, w, fv, sizeof fv, &err), SC_OK);
    assert_true(fv[0] == 1.0f && fv[1] == 2.0f);
    const sc_tensor_info *st = sc_bundle_find(b, "step/.ATTRIBUTES/VARIABLE_VALUE");
    int64_t step = 0;
    assert_int_equal(st->rank, 0);
    assert_int_equal(st->num_elements, 1);
    assert_int_equal(sc_bundle_read(b, st, &step, sizeof step, &err), SC_OK);
    assert_int_equal(step, 7);
    const sc_tensor_info *g = sc_bundle_find(b, "_CHECKPOINTABLE_OBJECT_GRAPH");
    uint8_t raw[10];
    sc_bytes item;
    assert_int_equal(g->offset, 16);
    assert_int_equal(sc_bundle_read(b, g, raw, sizeof raw, &err), SC_OK);
    assert_int_equal(sc_bundle_decode_strings(g, raw, g->size, &item, &err), SC_OK);
    assert_int_equal(item.size, 5);
    assert_memory_equal(item.data, "hello", 5);
    /* Not keys: prefixes, separators, the header key. */
    assert_null(sc_bundle_find(b, "w"));
    assert_null(sc_bundle_find(b, "x"));
    assert_null(sc_bundle_find(b, ""));
    assert_null(sc_bundle_find(b, "w/.ATTRIBUTES/VARIABLE_VALUE/"));
    uint8_t small[4];
    assert_int_equal(sc_bundle_read(b, w, small, sizeof small, &err), SC_INVALID_ARGUMENT);
    sc_bundle_free(b);
    free(ip);
    free(dp);
}

static uint64_t lcg(uint64_t *s) {
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return *s >> 33;
}

static const sc_dtype numeric[] = {
    SC_DT_FLOAT,  SC_DT_DOUBLE, SC_DT_HALF,  SC_DT_BFLOAT16,  SC_DT_INT8,
    SC_DT_INT16,  SC_DT_INT32,  SC_DT_INT64, SC_DT_UINT8,     SC_DT_UINT16,
    SC_DT_UINT32, SC_DT_UINT64, SC_DT_BOOL,  SC_DT_COMPLEX64, SC_DT_COMPLEX128,
};
#define NUM_NUMERIC (sizeof numeric / sizeof numeric[0])

/* Every numeric dtype at every rank 0..5, random bytes (bool: 0/1), in two writers' worth of
 * shapes including a 0-sized dimension. */
static void test_roundtrip_numeric(void **state) {
    fx *f = *state;
    static const int64_t dims[5] = {3, 2, 1, 4, 2};
    sc_error err;
    sc_bundle_writer *w = NULL;
    assert_int_equal(sc_bundle_writer_create(f->prefix, NULL, &w, &err), SC_OK);
    uint64_t seed = 42;
    uint8_t *payload[NUM_NUMERIC][7];
    size_t sizes[NUM_NUMERIC][7];
    char key[64];
    for (size_t d = 0; d < NUM_NUMERIC; d++) {
        size_t es = sc_dtype_size(numeric[d]);
        assert_true(es > 0);
        for (int r = 0; r <= 6; r++) {
            /* r == 6: rank 3 with a zero dimension (an empty tensor). */
            int64_t shape[5];
            int rank = r == 6 ? 3 : r;
            size_t n = 1;
            for (int i = 0; i < rank; i++) {
                shape[i] = r == 6 && i == 1 ? 0 : dims[i];
                n *= (size_t)shape[i];
            }
            sizes[d][r] = n * es;
            payload[d][r] = malloc(sizes[d][r] + 1);
            for (size_t i = 0; i < sizes[d][r]; i++)
                payload[d][r][i] =
                    numeric[d] == SC_DT_BOOL ? (uint8_t)(lcg(&seed) & 1) : (uint8_t)lcg(&seed);
            snprintf(key, sizeof key, "%s/r%d", sc_dtype_name(numeric[d]), r);
            assert_int_equal(sc_bundle_writer_add(w, key, numeric[d], rank, shape, payload[d][r],
                                                  sizes[d][r], 0, &err),
                             SC_OK);
        }
    }
    assert_int_equal(sc_bundle_writer_finish(w, &err), SC_OK);
    sc_bundle_writer_free(w);

    sc_bundle *b = open_ok(f->prefix);
    assert_int_equal(sc_bundle_num_tensors(b), NUM_NUMERIC * 7);
    for (size_t i = 1; i < sc_bundle_num_tensors(b); i++)
        assert_true(strcmp(sc_bundle_tensor(b, i - 1)->key, sc_bundle_tensor(b, i)->key) < 0);
    for (size_t d = 0; d < NUM_NUMERIC; d++) {
        for (int r = 0; r <= 6; r++) {
            snprintf(key, sizeof key, "%s/r%d", sc_dtype_name(numeric[d]), r);
            const sc_tensor_info *t = sc_bundle_find(b, key);
            assert_non_null(t);
            int rank = r == 6 ? 3 : r;
            assert_int_equal(t->dtype, numeric[d]);
            assert_int_equal(t->rank, rank);
            for (int i = 0; i < rank; i++)
                assert_int_equal(t->shape[i], r == 6 && i == 1 ? 0 : dims[i]);
            assert_int_equal(t->size, sizes[d][r]);
            assert_int_equal(t->num_elements, (int64_t)(sizes[d][r] / sc_dtype_size(numeric[d])));
            assert_int_equal(t->num_slices, 0);
            assert_int_equal(t->masked_crc32c,
                             sc_crc32c_mask(sc_crc32c(payload[d][r], sizes[d][r])));
            uint8_t *out = malloc(sizes[d][r] + 1);
            assert_int_equal(sc_bundle_read(b, t, out, sizes[d][r], &err), SC_OK);
            if (sizes[d][r]) assert_memory_equal(out, payload[d][r], sizes[d][r]);
            free(out);
            free(payload[d][r]);
        }
    }
    sc_bundle_free(b);
}

static void test_strings(void **state) {
    fx *f = *state;
    char big[300];
    memset(big, 'z', sizeof big); /* a 2-byte varint length */
    const sc_bytes items[4] = {{(const uint8_t *)"", 0},
                               {(const uint8_t *)"a", 1},
                               {(const uint8_t *)"hello\0world", 11},
                               {(const uint8_t *)big, sizeof big}};
    const int64_t shape22[2] = {2, 2}, shape0[1] = {0};
    const sc_bytes empty = {(const uint8_t *)"", 0};
    sc_error err;
    sc_bundle_writer *w = NULL;
    assert_int_equal(sc_bundle_writer_create(f->prefix, NULL, &w, &err), SC_OK);
    assert_int_equal(sc_bundle_writer_add_strings(w, "s22", 2, shape22, items, 0, &err), SC_OK);
    assert_int_equal(sc_bundle_writer_add_strings(w, "none", 1, shape0, NULL, 0, &err), SC_OK);
    assert_int_equal(sc_bundle_writer_add_strings(w, "blank", 0, NULL, &empty, 0, &err), SC_OK);
    assert_int_equal(sc_bundle_writer_finish(w, &err), SC_OK);
    sc_bundle_writer_free(w);

    sc_bundle *b = open_ok(f->prefix);
    const sc_tensor_info *t = sc_bundle_find(b, "s22");
    assert_int_equal(t->dtype, SC_DT_STRING);
    assert_int_equal(t->num_elements, 4);
    assert_int_equal(t->size, 1 + 1 + 1 + 2 + 4 + 0 + 1 + 11 + 300);
    uint8_t raw[512];
    sc_bytes got[4];
    assert_int_equal(sc_bundle_read(b, t, raw, sizeof raw, &err), SC_OK);
    assert_int_equal(sc_bundle_decode_strings(t, raw, t->size, got, &err), SC_OK);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(got[i].size, items[i].size);
        if (items[i].size) assert_memory_equal(got[i].data, items[i].data, items[i].size);
    }
    /* The length checksum is the masked CRC of the lengths as 4-byte LE integers. */
    const uint8_t lens[16] = {0, 0, 0, 0, 1, 0, 0, 0, 11, 0, 0, 0, 0x2c, 1, 0, 0};
    uint32_t c = sc_crc32c(lens, sizeof lens);
    uint32_t stored =
        (uint32_t)raw[5] | (uint32_t)raw[6] << 8 | (uint32_t)raw[7] << 16 | (uint32_t)raw[8] << 24;
    assert_int_equal(stored, sc_crc32c_mask(c));

    t = sc_bundle_find(b, "none");
    assert_int_equal(t->num_elements, 0);
    assert_int_equal(t->size, 4); /* just the length checksum */
    assert_int_equal(sc_bundle_read(b, t, raw, sizeof raw, &err), SC_OK);
    assert_int_equal(sc_bundle_decode_strings(t, raw, t->size, got, &err), SC_OK);
    t = sc_bundle_find(b, "blank");
    assert_int_equal(t->size, 5);
    assert_int_equal(sc_bundle_read(b, t, raw, sizeof raw, &err), SC_OK);
    assert_int_equal(sc_bundle_decode_strings(t, raw, t->size, got, &err), SC_OK);
    assert_int_equal(got[0].size, 0);
    /* Not a string tensor. */
    sc_tensor_info fake = *t;
    fake.dtype = SC_DT_FLOAT;
    assert_int_equal(sc_bundle_decode_strings(&fake, raw, 5, got, &err), SC_INVALID_ARGUMENT);
    sc_bundle_free(b);
}

static void test_three_shards(void **state) {
    fx *f = *state;
    sc_bundle_writer_params p = sc_bundle_writer_default_params();
    assert_int_equal(p.num_shards, 1);
    assert_int_equal(p.block_size, 262144);
    p.num_shards = 3;
    sc_error err;
    sc_bundle_writer *w = NULL;
    assert_int_equal(sc_bundle_writer_create(f->prefix, &p, &w, &err), SC_OK);
    int32_t v[12];
    const int64_t shape[1] = {3};
    char key[32];
    for (int i = 0; i < 12; i++) v[i] = i * 1000 - 7;
    for (int i = 0; i < 4; i++) {
        snprintf(key, sizeof key, "t%d", i);
        assert_int_equal(sc_bundle_writer_add(w, key, SC_DT_INT32, 1, shape, v + 3 * i,
                                              3 * sizeof(int32_t), i % 3, &err),
                         SC_OK);
    }
    assert_int_equal(sc_bundle_writer_add(w, "bad", SC_DT_INT32, 1, shape, v, 12, 3, &err),
                     SC_INVALID_ARGUMENT);
    assert_int_equal(sc_bundle_writer_finish(w, &err), SC_OK);
    sc_bundle_writer_free(w);
    for (int s = 0; s < 3; s++) {
        char suffix[40];
        snprintf(suffix, sizeof suffix, ".data-%05d-of-00003", s);
        char *path = file_of(f, suffix);
        assert_int_equal(access(path, R_OK), 0);
        free(path);
    }
    assert_int_equal(ckf_count_files(f->dir), 4);
    sc_bundle *b = open_ok(f->prefix);
    assert_int_equal(sc_bundle_num_shards(b), 3);
    for (int i = 0; i < 4; i++) {
        snprintf(key, sizeof key, "t%d", i);
        const sc_tensor_info *t = sc_bundle_find(b, key);
        assert_int_equal(t->shard_id, i % 3);
        assert_int_equal(t->offset, i == 3 ? 12 : 0);
        int32_t out[3];
        assert_int_equal(sc_bundle_read(b, t, out, sizeof out, &err), SC_OK);
        assert_memory_equal(out, v + 3 * i, sizeof out);
    }
    sc_bundle_free(b);
}

static sc_status count_entry(void *ctx, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl,
                             sc_error *err) {
    (void)ctx, (void)k, (void)kl, (void)v, (void)vl, (void)err;
    return SC_OK;
}

#define KEY_FMT "model/layer_with_weights-%d/kernel/.ATTRIBUTES/VARIABLE_VALUE"

/* 64-byte blocks: each index entry covers a block or two; every key still found. */
static void test_many_index_blocks(void **state) {
    fx *f = *state;
    enum { N = 400 };
    sc_bundle_writer_params p = sc_bundle_writer_default_params();
    p.block_size = 64;
    sc_error err;
    sc_bundle_writer *w = NULL;
    assert_int_equal(sc_bundle_writer_create(f->prefix, &p, &w, &err), SC_OK);
    char key[96];
    /* Added in reverse so the writer has to sort. */
    for (int i = N - 1; i >= 0; i--) {
        float x = (float)i;
        snprintf(key, sizeof key, KEY_FMT, i);
        assert_int_equal(sc_bundle_writer_add(w, key, SC_DT_FLOAT, 0, NULL, &x, 4, 0, &err), SC_OK);
    }
    assert_int_equal(sc_bundle_writer_finish(w, &err), SC_OK);
    sc_bundle_writer_free(w);

    char *ip = file_of(f, ".index");
    size_t len;
    uint8_t *data = ckf_read(ip, &len);
    sc_sst_stats st;
    assert_int_equal(sc_sst_foreach(ip, data, len, count_entry, NULL, &st, &err), SC_OK);
    assert_int_equal(st.num_entries, N + 1);
    assert_true(st.num_data_blocks > N / 4);
    free(data);
    free(ip);

    sc_bundle *b = open_ok(f->prefix);
    assert_int_equal(sc_bundle_num_tensors(b), N);
    for (int i = 0; i < N; i++) {
        snprintf(key, sizeof key, KEY_FMT, i);
        const sc_tensor_info *t = sc_bundle_find(b, key);
        assert_non_null(t);
        float x;
        assert_int_equal(sc_bundle_read(b, t, &x, sizeof x, &err), SC_OK);
        assert_true(x == (float)i);
        snprintf(key, sizeof key, "model/layer_with_weights-%d/kernel", i);
        assert_null(sc_bundle_find(b, key));
    }
    sc_bundle_free(b);
}

static void test_writer_errors(void **state) {
    fx *f = *state;
    sc_error err;
    sc_bundle_writer *w = NULL;
    sc_bundle_writer_params p = sc_bundle_writer_default_params();
    p.num_shards = 0;
    assert_int_equal(sc_bundle_writer_create(f->prefix, &p, &w, &err), SC_INVALID_ARGUMENT);
    assert_null(w);
    assert_int_equal(sc_bundle_writer_create("/nonexistent-dir/x/ckpt", NULL, &w, &err), SC_IO);
    assert_non_null(strstr(err.message, "/nonexistent-dir/x/ckpt.data-00000-of-00001"));

    assert_int_equal(sc_bundle_writer_create(f->prefix, NULL, &w, &err), SC_OK);
    const int64_t shape[2] = {2, 2}, neg[1] = {-1};
    float v[4] = {0};
    assert_int_equal(sc_bundle_writer_add(w, "a", SC_DT_FLOAT, 2, shape, v, sizeof v, 0, &err),
                     SC_OK);
    assert_int_equal(sc_bundle_writer_add(w, "a", SC_DT_FLOAT, 2, shape, v, sizeof v, 0, &err),
                     SC_INVALID_ARGUMENT);
    assert_non_null(strstr(err.message, "'a'"));
    assert_int_equal(sc_bundle_writer_add(w, "b", SC_DT_FLOAT, 2, shape, v, 12, 0, &err),
                     SC_INVALID_ARGUMENT);
    assert_int_equal(sc_bundle_writer_add(w, "c", SC_DT_FLOAT, 1, neg, v, 0, 0, &err),
                     SC_INVALID_ARGUMENT);
    assert_int_equal(sc_bundle_writer_add(w, "", SC_DT_FLOAT, 0, NULL, v, 4, 0, &err),
                     SC_INVALID_ARGUMENT);
    assert_int_equal(sc_bundle_writer_add(w, "d", SC_DT_STRING, 0, NULL, v, 4, 0, &err),
                     SC_INVALID_ARGUMENT);
    assert_int_equal(sc_bundle_writer_add(w, "e", SC_DT_FLOAT, 0, NULL, v, 4, -1, &err),
                     SC_INVALID_ARGUMENT);
    assert_int_equal(sc_bundle_writer_finish(w, &err), SC_OK);
    assert_int_equal(sc_bundle_writer_add(w, "f", SC_DT_FLOAT, 0, NULL, v, 4, 0, &err),
                     SC_INVALID_ARGUMENT);
    assert_int_equal(sc_bundle_writer_finish(w, &err), SC_INVALID_ARGUMENT);
    sc_bundle_writer_free(w);
    sc_bundle *b = open_ok(f->prefix);
    assert_int_equal(sc_bundle_num_tensors(b), 1);
    sc_bundle_free(b);
    sc_bundle_writer_free(NULL);
    sc_bundle_free(NULL);
}

/* An unfinished writer removes every file it made; the directory is as before. */
static void test_unfinished_writer_cleans_up(void **state) {
    fx *f = *state;
    sc_bundle_writer_params p = sc_bundle_writer_default_params();
    p.num_shards = 2;
    sc_error err;
    sc_bundle_writer *w = NULL;
    assert_int_equal(sc_bundle_writer_create(f->prefix, &p, &w, &err), SC_OK);
    int64_t x = 1;
    assert_int_equal(sc_bundle_writer_add(w, "x", SC_DT_INT64, 0, NULL, &x, 8, 1, &err), SC_OK);
    assert_int_equal(ckf_count_files(f->dir), 2); /* the two .tempstate data files */
    sc_bundle_writer_free(w);
    assert_int_equal(ckf_count_files(f->dir), 0);
    sc_bundle *b = NULL;
    assert_int_equal(sc_bundle_open(f->prefix, &b, &err), SC_NOT_FOUND);
    assert_null(b);
}

/* Entries the writer does not make: unknown dtypes are listed; variant checks its CRC only;
 * a sliced entry opens but does not read. */
static void test_unusual_entries(void **state) {
    fx *f = *state;
    static const uint8_t header[] = {0x08, 0x01, 0x1a, 0x02, 0x08, 0x01};
    uint8_t blob[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    uint32_t m = sc_crc32c_mask(sc_crc32c(blob, 12));
    uint8_t variant[] = {0x08,
                         21,
                         0x12,
                         0x00,
                         0x28,
                         12,
                         0x35,
                         (uint8_t)m,
                         (uint8_t)(m >> 8),
                         (uint8_t)(m >> 16),
                         (uint8_t)(m >> 24)};
    uint8_t unknown[] = {0x08, 99, 0x12, 0x04, 0x12, 0x02, 0x08, 0x03, 0x28, 12};
    uint8_t resource[] = {0x08, 20, 0x12, 0x00};
    /* float [4] made of 2 slices (extent {start 0, length 2} etc.; contents not used). */
    uint8_t sliced[] = {0x08, 0x01, 0x12, 0x04, 0x12, 0x02, 0x08, 0x04, 0x3a, 0x04, 0x0a,
                        0x02, 0x10, 0x02, 0x3a, 0x06, 0x0a, 0x04, 0x08, 0x02, 0x10, 0x02};
    const char *keys[] = {"res", "sliced", "unk", "var"};
    const uint8_t *entries[] = {resource, sliced, unknown, variant};
    const size_t lens[] = {sizeof resource, sizeof sliced, sizeof unknown, sizeof variant};
    ckf_write_raw_index(f->prefix, header, sizeof header, 4, keys, entries, lens);
    char *dp = file_of(f, ".data-00000-of-00001");
    ckf_write(dp, blob, sizeof blob);
    free(dp);

    sc_bundle *b = open_ok(f->prefix);
    sc_error err;
    uint8_t out[12];
    const sc_tensor_info *t = sc_bundle_find(b, "unk");
    assert_int_equal((int)t->dtype, 99);
    assert_int_equal(t->rank, 1);
    assert_int_equal(t->num_elements, 3);
    assert_int_equal(t->size, 12);
    assert_int_equal((int)sc_bundle_find(b, "res")->dtype, SC_DT_RESOURCE);
    t = sc_bundle_find(b, "var");
    assert_int_equal(t->dtype, SC_DT_VARIANT);
    assert_int_equal(sc_bundle_read(b, t, out, sizeof out, &err), SC_OK);
    assert_memory_equal(out, blob, 12);
    t = sc_bundle_find(b, "sliced");
    assert_int_equal(t->num_slices, 2);
    assert_int_equal(t->num_elements, 4);
    assert_int_equal(sc_bundle_read(b, t, out, sizeof out, &err), SC_UNIMPLEMENTED);
    assert_non_null(strstr(err.message, "'sliced'"));
    sc_bundle_free(b);
}

static sc_status open_with_header(const fx *f, const uint8_t *h, size_t n, sc_error *err) {
    ckf_write_raw_index(f->prefix, h, n, 0, NULL, NULL, NULL);
    sc_bundle *b = NULL;
    sc_status s = sc_bundle_open(f->prefix, &b, err);
    if (s == SC_OK) assert_int_equal(sc_bundle_num_tensors(b), 0);
    sc_bundle_free(b);
    return s;
}

static void test_header_checks(void **state) {
    fx *f = *state;
    sc_error err;
    static const uint8_t ok[] = {0x08, 0x02, 0x1a, 0x02, 0x08, 0x01};
    static const uint8_t big[] = {0x08, 0x01, 0x10, 0x01, 0x1a, 0x02, 0x08, 0x01};
    static const uint8_t min_consumer[] = {0x08, 0x01, 0x1a, 0x04, 0x08, 0x01, 0x10, 0x02};
    static const uint8_t bad_packed[] = {0x08, 0x01, 0x1a, 0x05, 0x08, 0x01, 0x1a, 0x01, 0x01};
    static const uint8_t bad_plain[] = {0x08, 0x01, 0x1a, 0x06, 0x18, 0x03, 0x18, 0x01, 0x08, 0x01};
    static const uint8_t neg_producer[] = {0x08, 0x01, 0x1a, 0x0b, 0x08, 0xff, 0xff, 0xff,
                                           0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
    static const uint8_t garbage[] = {0x08};
    assert_int_equal(open_with_header(f, ok, sizeof ok, &err), SC_OK);
    assert_int_equal(open_with_header(f, big, sizeof big, &err), SC_UNIMPLEMENTED);
    assert_non_null(strstr(err.message, "BIG"));
    assert_int_equal(open_with_header(f, min_consumer, sizeof min_consumer, &err),
                     SC_UNIMPLEMENTED);
    assert_int_equal(open_with_header(f, bad_packed, sizeof bad_packed, &err), SC_UNIMPLEMENTED);
    assert_int_equal(open_with_header(f, bad_plain, sizeof bad_plain, &err), SC_UNIMPLEMENTED);
    assert_int_equal(open_with_header(f, neg_producer, sizeof neg_producer, &err),
                     SC_UNIMPLEMENTED);
    assert_int_equal(open_with_header(f, garbage, sizeof garbage, &err), SC_DATA_LOSS);
    assert_non_null(strstr(err.message, ".index"));
}

static sc_status grab_entry(void *ctx, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl,
                            sc_error *err) {
    (void)err;
    uint8_t *out = ctx; /* [0] = length, then the bytes; entries of key "e" and "" */
    if ((kl == 1 && k[0] == 'e') || kl == 0) {
        uint8_t *slot = kl ? out + 64 : out;
        assert_true(vl < 63);
        slot[0] = (uint8_t)vl;
        memcpy(slot + 1, v, vl);
    }
    return SC_OK;
}

/* proto3 encoding: the shape is always written (here one dimension of size 0, itself an
 * empty Dim), zero offset and size are omitted, shard and num_shards are written. */
static void test_entry_encoding(void **state) {
    fx *f = *state;
    sc_bundle_writer_params p = sc_bundle_writer_default_params();
    p.num_shards = 2;
    sc_error err;
    sc_bundle_writer *w = NULL;
    assert_int_equal(sc_bundle_writer_create(f->prefix, &p, &w, &err), SC_OK);
    const int64_t shape[1] = {0};
    assert_int_equal(sc_bundle_writer_add(w, "e", SC_DT_FLOAT, 1, shape, NULL, 0, 1, &err), SC_OK);
    assert_int_equal(sc_bundle_writer_finish(w, &err), SC_OK);
    sc_bundle_writer_free(w);
    char *ip = file_of(f, ".index");
    size_t len;
    uint8_t *data = ckf_read(ip, &len);
    uint8_t got[128] = {0};
    assert_int_equal(sc_sst_foreach(ip, data, len, grab_entry, got, NULL, &err), SC_OK);
    static const uint8_t header[] = {0x08, 0x02, 0x1a, 0x02, 0x08, 0x01};
    static const uint8_t entry[] = {0x08, 0x01, 0x12, 0x02, 0x12, 0x00, 0x18,
                                    0x01, 0x35, 0xd8, 0xea, 0x82, 0xa2};
    assert_int_equal(got[0], sizeof header);
    assert_memory_equal(got + 1, header, sizeof header);
    assert_int_equal(got[64], sizeof entry);
    assert_memory_equal(got + 65, entry, sizeof entry);
    free(data);
    free(ip);
    sc_bundle *b = open_ok(f->prefix);
    const sc_tensor_info *t = sc_bundle_find(b, "e");
    assert_int_equal(t->num_elements, 0);
    assert_int_equal(sc_bundle_read(b, t, NULL, 0, &err), SC_OK);
    sc_bundle_free(b);
}

/* A tensor spanning several read chunks (and a partial last one): every chunk is CRC'd, so a
 * flipped byte deep inside is caught. */
static void test_large_tensor(void **state) {
    fx *f = *state;
    enum { N = 300007 };
    float *v = malloc(N * sizeof *v), *out = malloc(N * sizeof *out);
    for (int i = 0; i < N; i++) v[i] = (float)i * 0.5f;
    const int64_t shape[2] = {N, 1};
    sc_error err;
    sc_bundle_writer *w = NULL;
    assert_int_equal(sc_bundle_writer_create(f->prefix, NULL, &w, &err), SC_OK);
    int64_t one = 1;
    assert_int_equal(sc_bundle_writer_add(w, "first", SC_DT_INT64, 0, NULL, &one, 8, 0, &err),
                     SC_OK);
    assert_int_equal(
        sc_bundle_writer_add(w, "big", SC_DT_FLOAT, 2, shape, v, N * sizeof *v, 0, &err), SC_OK);
    assert_int_equal(sc_bundle_writer_finish(w, &err), SC_OK);
    sc_bundle_writer_free(w);
    sc_bundle *b = open_ok(f->prefix);
    const sc_tensor_info *t = sc_bundle_find(b, "big");
    assert_int_equal(t->offset, 8);
    assert_int_equal(sc_bundle_read(b, t, out, N * sizeof *out, &err), SC_OK);
    assert_memory_equal(out, v, N * sizeof *v);
    sc_bundle_free(b);

    char *dp = file_of(f, ".data-00000-of-00001");
    size_t len;
    uint8_t *data = ckf_read(dp, &len);
    data[8 + 3 * 100000 * 4 + 1] ^= 0x10; /* in the fifth 256 KiB chunk */
    ckf_write(dp, data, len);
    b = open_ok(f->prefix);
    t = sc_bundle_find(b, "big");
    assert_int_equal(sc_bundle_read(b, t, out, N * sizeof *out, &err), SC_DATA_LOSS);
    assert_non_null(strstr(err.message, "'big'"));
    assert_non_null(strstr(err.message, "CRC mismatch"));
    sc_bundle_free(b);
    free(data);
    free(dp);
    free(v);
    free(out);
}

/* A write that fails (here: over RLIMIT_FSIZE, EFBIG) is SC_IO naming the temporary file; the
 * writer then refuses to go on, and freeing it leaves nothing behind. */
static void test_write_failure(void **state) {
    fx *f = *state;
    struct rlimit old, lim;
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    void (*old_handler)(int) = signal(SIGXFSZ, SIG_IGN);
    lim = old;
    lim.rlim_cur = 1 << 16;
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
    sc_error err;
    sc_bundle_writer *w = NULL;
    assert_int_equal(sc_bundle_writer_create(f->prefix, NULL, &w, &err), SC_OK);
    const int64_t shape[1] = {1 << 15};
    float *v = calloc(1 << 15, sizeof *v);
    assert_int_equal(sc_bundle_writer_add(w, "ok", SC_DT_FLOAT, 1, shape, v, 1 << 17, 0, &err),
                     SC_IO);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    signal(SIGXFSZ, old_handler);
    assert_non_null(strstr(err.message, ".data-00000-of-00001.tempstate"));
    assert_non_null(strstr(err.message, "'ok'"));
    assert_int_equal(sc_bundle_writer_add(w, "b", SC_DT_FLOAT, 0, NULL, v, 4, 0, &err),
                     SC_INVALID_ARGUMENT);
    assert_int_equal(sc_bundle_writer_finish(w, &err), SC_INVALID_ARGUMENT);
    sc_bundle_writer_free(w);
    free(v);
    assert_int_equal(ckf_count_files(f->dir), 0);
}

typedef struct reader_arg {
    sc_bundle *b;
    int failures;
} reader_arg;

static void *read_everything(void *p) {
    reader_arg *a = p;
    for (int rep = 0; rep < 20; rep++)
        for (size_t i = 0; i < sc_bundle_num_tensors(a->b); i++) {
            const sc_tensor_info *t = sc_bundle_tensor(a->b, i);
            int32_t out[64];
            sc_error err;
            if (sc_bundle_read(a->b, t, out, sizeof out, &err) != SC_OK || out[0] != (int32_t)i)
                a->failures++;
        }
    return NULL;
}

/* Concurrent reads of one bundle (distinct buffers), racing on the lazy shard opens. */
static void test_concurrent_reads(void **state) {
    fx *f = *state;
    sc_bundle_writer_params p = sc_bundle_writer_default_params();
    p.num_shards = 4;
    sc_error err;
    sc_bundle_writer *w = NULL;
    assert_int_equal(sc_bundle_writer_create(f->prefix, &p, &w, &err), SC_OK);
    const int64_t shape[1] = {64};
    for (int i = 0; i < 16; i++) {
        int32_t v[64];
        for (int j = 0; j < 64; j++) v[j] = i + j * 1000;
        char key[16];
        snprintf(key, sizeof key, "t%02d", i);
        assert_int_equal(
            sc_bundle_writer_add(w, key, SC_DT_INT32, 1, shape, v, sizeof v, i % 4, &err), SC_OK);
    }
    assert_int_equal(sc_bundle_writer_finish(w, &err), SC_OK);
    sc_bundle_writer_free(w);
    sc_bundle *b = open_ok(f->prefix);
    pthread_t th[4];
    reader_arg args[4];
    for (int i = 0; i < 4; i++) {
        args[i] = (reader_arg){b, 0};
        assert_int_equal(pthread_create(&th[i], NULL, read_everything, &args[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
        assert_int_equal(args[i].failures, 0);
    }
    sc_bundle_free(b);
}

/* Real TF checkpoints (skipped without ../shared/fixtures). */
static void test_fixture_bundles(void **state) {
    (void)state;
    const char *root = ckf_fixtures();
    if (!root) skip();
    sc_error err;
    char *p = ckf_join(root, "01_spd3_titanic_cp_ckpt/training_1/cp.ckpt");
    sc_bundle *b = open_ok(p);
    assert_int_equal(sc_bundle_num_tensors(b), 30);
    int64_t iter = 0;
    const sc_tensor_info *t = sc_bundle_find(b, "optimizer/iter/.ATTRIBUTES/VARIABLE_VALUE");
    assert_int_equal(sc_bundle_read(b, t, &iter, sizeof iter, &err), SC_OK);
    assert_int_equal(iter, 2300);
    for (size_t i = 0; i < sc_bundle_num_tensors(b); i++) {
        t = sc_bundle_tensor(b, i);
        void *buf = malloc(t->size + 1);
        if (sc_bundle_read(b, t, buf, t->size, &err) != SC_OK) fail_msg("%s", err.message);
        free(buf);
    }
    sc_bundle_free(b);
    free(p);

    p = ckf_join(root, "05_tf_serving_testdata_savedmodels/saved_model_half_plus_two_tf2_cpu/"
                       "00000123/variables/variables");
    b = open_ok(p);
    float a = 0;
    t = sc_bundle_find(b, "a/.ATTRIBUTES/VARIABLE_VALUE");
    assert_int_equal(sc_bundle_read(b, t, &a, sizeof a, &err), SC_OK);
    assert_true(a == 0.5f);
    sc_bundle_free(b);
    free(p);

    p = ckf_join(root, "06_byeongjuncho_two_shard_cp_epoch/training_2/cp-0000.ckpt");
    b = open_ok(p);
    assert_int_equal(sc_bundle_num_shards(b), 2);
    for (size_t i = 0; i < sc_bundle_num_tensors(b); i++) {
        t = sc_bundle_tensor(b, i);
        void *buf = malloc(t->size + 1);
        if (sc_bundle_read(b, t, buf, t->size, &err) != SC_OK) fail_msg("%s", err.message);
        free(buf);
    }
    sc_bundle_free(b);
    free(p);

    /* Index only: the data shard is missing. */
    p = ckf_join(root, "02_nighthawks_tf_tutorial_cp_epoch/training_2/cp-0050.ckpt");
    b = open_ok(p);
    t = sc_bundle_tensor(b, 0);
    void *buf = malloc(t->size + 1);
    assert_int_equal(sc_bundle_read(b, t, buf, t->size, &err), SC_UNAVAILABLE);
    assert_non_null(strstr(err.message, "cp-0050.ckpt.data-00000-of-00001"));
    free(buf);
    sc_bundle_free(b);
    free(p);
}

int main(void) {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_appendix_a4),
        T(test_roundtrip_numeric),
        T(test_strings),
        T(test_three_shards),
        T(test_many_index_blocks),
        T(test_writer_errors),
        T(test_unfinished_writer_cleans_up),
        T(test_unusual_entries),
        T(test_header_checks),
        T(test_entry_encoding),
        T(test_large_tensor),
        T(test_write_failure),
        T(test_concurrent_reads),
        T(test_fixture_bundles),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
