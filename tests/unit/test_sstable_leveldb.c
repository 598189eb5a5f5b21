/* Our SSTable writer and reader against Debian's libleveldb (1.23) as an independent oracle:
 * leveldb reads what we write (checksums verified, every key found again by Seek through the
 * index), leveldb's TableBuilder writes the same bytes as ours, and we read what it writes
 * (including Snappy blocks). The C++ glue is tests/unit/leveldb_oracle.cc. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "ckpt/sstable.h"
#include "sidecar/checkpoint.h"
#include "support/ckpt_fixture.h"

/* leveldb_oracle.cc */
typedef void (*lvo_visit_fn)(void *ctx, const char *key, size_t key_len, const char *val,
                             size_t val_len);
int lvo_scan(const char *path, lvo_visit_fn visit, void *ctx, char *msg, size_t msg_cap);
int lvo_build(const char *path, size_t n, const char *const *keys, const size_t *key_lens,
              const char *const *vals, const size_t *val_lens, size_t block_size, int snappy,
              char *msg, size_t msg_cap);

/* Entries as one flat list: keys and values copied. */
typedef struct table {
    size_t n, cap;
    char **keys, **vals;
    size_t *klens, *vlens;
} table;

static void table_add(table *t, const void *k, size_t kl, const void *v, size_t vl) {
    if (t->n == t->cap) {
        t->cap = t->cap ? 2 * t->cap : 64;
        t->keys = realloc(t->keys, t->cap * sizeof *t->keys);
        t->vals = realloc(t->vals, t->cap * sizeof *t->vals);
        t->klens = realloc(t->klens, t->cap * sizeof *t->klens);
        t->vlens = realloc(t->vlens, t->cap * sizeof *t->vlens);
    }
    t->keys[t->n] = malloc(kl + 1);
    t->vals[t->n] = malloc(vl + 1);
    memcpy(t->keys[t->n], k, kl);
    memcpy(t->vals[t->n], v, vl);
    t->keys[t->n][kl] = t->vals[t->n][vl] = 0;
    t->klens[t->n] = kl;
    t->vlens[t->n++] = vl;
}

static void table_free(table *t) {
    for (size_t i = 0; i < t->n; i++) {
        free(t->keys[i]);
        free(t->vals[i]);
    }
    free(t->keys);
    free(t->vals);
    free(t->klens);
    free(t->vlens);
    memset(t, 0, sizeof *t);
}

static void lvo_collect(void *ctx, const char *k, size_t kl, const char *v, size_t vl) {
    table_add(ctx, k, kl, v, vl);
}

static sc_status our_collect(void *ctx, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl,
                             sc_error *err) {
    (void)err;
    table_add(ctx, k, kl, v, vl);
    return SC_OK;
}

static void assert_tables_equal(const table *a, const table *b) {
    assert_int_equal(a->n, b->n);
    for (size_t i = 0; i < a->n; i++) {
        assert_int_equal(a->klens[i], b->klens[i]);
        assert_memory_equal(a->keys[i], b->keys[i], a->klens[i]);
        assert_int_equal(a->vlens[i], b->vlens[i]);
        assert_memory_equal(a->vals[i], b->vals[i], a->vlens[i]);
    }
}

/* Reads path with both readers; they must agree. Returns our stats. */
static sc_sst_stats both_read(const char *path, table *out) {
    char msg[256];
    table lv = {0};
    if (lvo_scan(path, lvo_collect, &lv, msg, sizeof msg) != 0) fail_msg("leveldb: %s", msg);
    size_t len;
    uint8_t *data = ckf_read(path, &len);
    sc_sst_stats st;
    sc_error err;
    if (sc_sst_foreach(path, data, len, our_collect, out, &st, &err) != SC_OK)
        fail_msg("%s", err.message);
    assert_tables_equal(&lv, out);
    table_free(&lv);
    free(data);
    return st;
}

static void test_appendix_a4(void **state) {
    (void)state;
    char *dir = ckf_mkdtemp(), *path = ckf_join(dir, "tiny.index");
    ckf_write(path, ckf_tiny_index, CKF_TINY_INDEX_LEN);
    table t = {0};
    both_read(path, &t);
    assert_int_equal(t.n, 4);
    assert_int_equal(t.klens[0], 0);
    assert_string_equal(t.keys[3], "w/.ATTRIBUTES/VARIABLE_VALUE");
    table_free(&t);

    /* The oracle does verify checksums. */
    uint8_t bad[CKF_TINY_INDEX_LEN];
    memcpy(bad, ckf_tiny_index, sizeof bad);
    bad[40] ^= 0x04;
    ckf_write(path, bad, sizeof bad);
    char msg[256];
    assert_int_not_equal(lvo_scan(path, lvo_collect, &t, msg, sizeof msg), 0);
    assert_non_null(strstr(msg, "checksum"));
    table_free(&t);
    free(path);
    ckf_rmtree(dir);
}

/* A bundle from our writer: 3 shards, strings, 96-byte blocks (hundreds of data blocks). */
static void test_bundle_index(void **state) {
    (void)state;
    char *dir = ckf_mkdtemp(), *prefix = ckf_join(dir, "ckpt-7");
    char *index = ckf_join(dir, "ckpt-7.index");
    sc_bundle_writer_params p = sc_bundle_writer_default_params();
    p.num_shards = 3;
    p.block_size = 96;
    sc_bundle_writer *w = NULL;
    sc_error err;
    assert_int_equal(sc_bundle_writer_create(prefix, &p, &w, &err), SC_OK);
    char key[128];
    for (int i = 0; i < 300; i++) {
        const int64_t shape[2] = {i % 5, 2};
        float v[8] = {(float)i};
        snprintf(key, sizeof key, "model/layer_with_weights-%d/%s/.ATTRIBUTES/VARIABLE_VALUE",
                 i / 3,
                 i % 3 == 0   ? "kernel"
                 : i % 3 == 1 ? "bias"
                              : "gamma");
        assert_int_equal(sc_bundle_writer_add(w, key, SC_DT_FLOAT, 2, shape, v,
                                              (size_t)(i % 5) * 2 * sizeof(float), i % 3, &err),
                         SC_OK);
    }
    const sc_bytes s[2] = {{(const uint8_t *)"graph", 5}, {(const uint8_t *)"", 0}};
    const int64_t shape[1] = {2};
    assert_int_equal(
        sc_bundle_writer_add_strings(w, "_CHECKPOINTABLE_OBJECT_GRAPH", 1, shape, s, 1, &err),
        SC_OK);
    assert_int_equal(sc_bundle_writer_finish(w, &err), SC_OK);
    sc_bundle_writer_free(w);
    table t = {0};
    sc_sst_stats st = both_read(index, &t);
    assert_int_equal(t.n, 302);
    assert_true(st.num_data_blocks > 100);
    table_free(&t);
    free(index);
    free(prefix);
    ckf_rmtree(dir);
}

static void make_entries(table *t, size_t n, int compressible) {
    char key[96], val[200];
    for (size_t i = 0; i < n; i++) {
        /* Sorted: per layer, bias/0..6 then kernel/0..6. */
        int kl = snprintf(key, sizeof key, "layer_%03zu/%s/%zu", i / 14,
                          i % 14 < 7 ? "bias" : "kernel", i % 7);
        size_t vl = (i * 37) % 150;
        for (size_t j = 0; j < vl; j++) val[j] = compressible ? 'x' : (char)(i * 131 + j * 7);
        table_add(t, key, (size_t)kl, val, vl);
    }
}

/* leveldb's TableBuilder (restart interval 16, bytewise comparator, no filter) follows the same
 * rules as TF's: without Snappy and without oversized entries the files are byte-identical. */
static void test_same_bytes_as_leveldb(void **state) {
    (void)state;
    char *dir = ckf_mkdtemp(), *path = ckf_join(dir, "lv.sst");
    table in = {0};
    make_entries(&in, 700, 0);
    static const size_t block_sizes[] = {256, 4096, 262144};
    for (size_t b = 0; b < 3; b++) {
        char msg[256];
        if (lvo_build(path, in.n, (const char *const *)in.keys, in.klens,
                      (const char *const *)in.vals, in.vlens, block_sizes[b], 0, msg, sizeof msg)
            != 0)
            fail_msg("leveldb build: %s", msg);
        size_t lv_len;
        uint8_t *lv = ckf_read(path, &lv_len);
        sc_sst_writer *w = NULL;
        sc_error err;
        assert_int_equal(sc_sst_writer_create(block_sizes[b], SC_SST_NO_COMPRESSION, &w, &err),
                         SC_OK);
        for (size_t i = 0; i < in.n; i++)
            assert_int_equal(
                sc_sst_writer_add(w, in.keys[i], in.klens[i], in.vals[i], in.vlens[i], &err),
                SC_OK);
        const uint8_t *ours;
        size_t len;
        assert_int_equal(sc_sst_writer_finish(w, &ours, &len, &err), SC_OK);
        assert_int_equal(len, lv_len);
        assert_memory_equal(ours, lv, len);
        sc_sst_writer_free(w);
        free(lv);
    }
    table_free(&in);
    free(path);
    ckf_rmtree(dir);
}

/* Tables written by leveldb, Snappy-compressed, read by us; and our Snappy tables by leveldb. */
static void test_snappy_both_ways(void **state) {
    (void)state;
    char *dir = ckf_mkdtemp(), *path = ckf_join(dir, "lv.sst");
    table in = {0}, got = {0};
    make_entries(&in, 500, 1);
    char msg[256];
    if (lvo_build(path, in.n, (const char *const *)in.keys, in.klens, (const char *const *)in.vals,
                  in.vlens, 1024, 1, msg, sizeof msg)
        != 0)
        fail_msg("leveldb build: %s", msg);
    sc_sst_stats st = both_read(path, &got);
    assert_tables_equal(&in, &got);
    assert_true(st.num_snappy_blocks > 5);
    table_free(&got);

    sc_sst_writer *w = NULL;
    sc_error err;
    assert_int_equal(sc_sst_writer_create(1024, SC_SST_SNAPPY, &w, &err), SC_OK);
    for (size_t i = 0; i < in.n; i++)
        assert_int_equal(
            sc_sst_writer_add(w, in.keys[i], in.klens[i], in.vals[i], in.vlens[i], &err), SC_OK);
    const uint8_t *ours;
    size_t len;
    assert_int_equal(sc_sst_writer_finish(w, &ours, &len, &err), SC_OK);
    ckf_write(path, ours, len);
    sc_sst_writer_free(w);
    st = both_read(path, &got);
    assert_tables_equal(&in, &got);
    assert_true(st.num_snappy_blocks > 5);
    table_free(&got);
    table_free(&in);
    free(path);
    ckf_rmtree(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_appendix_a4),
        cmocka_unit_test(test_bundle_index),
        cmocka_unit_test(test_same_bytes_as_leveldb),
        cmocka_unit_test(test_snappy_both_ways),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
