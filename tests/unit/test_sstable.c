/* SSTable writer and reader (FORMATS §1.2): the Appendix A.4 bytes, TF's block rules
 * (restarts, separators, large-entry flush), Snappy blocks, and real fixture indexes. */
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
#include "support/ckpt_fixture.h"

typedef struct kv {
    uint8_t *key, *val;
    size_t klen, vlen;
} kv;

typedef struct kv_list {
    kv *items;
    size_t n, cap;
} kv_list;

static sc_status collect(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val,
                         size_t vlen, sc_error *err) {
    (void)err;
    kv_list *l = ctx;
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 16;
        l->items = realloc(l->items, l->cap * sizeof *l->items);
        assert_non_null(l->items);
    }
    kv *e = &l->items[l->n++];
    e->klen = klen;
    e->vlen = vlen;
    e->key = malloc(klen + 1);
    e->val = malloc(vlen + 1);
    memcpy(e->key, key, klen);
    memcpy(e->val, val, vlen);
    return SC_OK;
}

static void kv_list_free(kv_list *l) {
    for (size_t i = 0; i < l->n; i++) {
        free(l->items[i].key);
        free(l->items[i].val);
    }
    free(l->items);
    memset(l, 0, sizeof *l);
}

static uint32_t le32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t varint(const uint8_t **p) {
    uint64_t v = 0;
    for (int s = 0;; s += 7) {
        uint8_t b = *(*p)++;
        v |= (uint64_t)(b & 0x7f) << s;
        if (!(b & 0x80)) return v;
    }
}

/* A test-local decoder of one (well-formed, uncompressed) block: the entries' shared counts
 * and keys, and the restart array. Independent of src/ckpt/sstable_reader.c. */
typedef struct raw_block {
    size_t n;
    uint32_t shared[4096];
    char keys[4096][96];
    size_t entry_at[4096];
    uint32_t num_restarts;
    uint32_t restarts[512];
} raw_block;

static void decode_block(const uint8_t *b, size_t size, raw_block *out) {
    memset(out, 0, sizeof *out);
    out->num_restarts = le32(b + size - 4);
    assert_true(out->num_restarts <= 512);
    const uint8_t *end = b + size - 4 - 4 * out->num_restarts;
    for (uint32_t i = 0; i < out->num_restarts; i++) out->restarts[i] = le32(end + 4 * i);
    const uint8_t *p = b;
    char prev[96] = "";
    while (p < end) {
        assert_true(out->n < 4096);
        out->entry_at[out->n] = (size_t)(p - b);
        uint32_t shared = (uint32_t)varint(&p), ns = (uint32_t)varint(&p);
        uint32_t vl = (uint32_t)varint(&p);
        assert_true(shared + ns < 96);
        memcpy(out->keys[out->n], prev, shared);
        memcpy(out->keys[out->n] + shared, p, ns);
        out->keys[out->n][shared + ns] = 0;
        memcpy(prev, out->keys[out->n], shared + ns + 1);
        out->shared[out->n++] = shared;
        p += ns + vl;
    }
}

/* The index block of a table via its footer. */
static void decode_index(const uint8_t *t, size_t len, raw_block *out) {
    const uint8_t *f = t + len - 48;
    varint(&f);
    varint(&f);
    uint64_t off = varint(&f), size = varint(&f);
    assert_int_equal(t[off + size], 0); /* uncompressed */
    decode_block(t + off, (size_t)size, out);
}

static void write_table(size_t block_size, int compression, const kv *items, size_t n,
                        uint8_t **out, size_t *out_len) {
    sc_error err;
    sc_sst_writer *w = NULL;
    assert_int_equal(sc_sst_writer_create(block_size, compression, &w, &err), SC_OK);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(
            sc_sst_writer_add(w, items[i].key, items[i].klen, items[i].val, items[i].vlen, &err),
            SC_OK);
    const uint8_t *data;
    size_t len;
    assert_int_equal(sc_sst_writer_finish(w, &data, &len, &err), SC_OK);
    *out = malloc(len);
    memcpy(*out, data, len);
    *out_len = len;
    sc_sst_writer_free(w);
}

static void assert_same_entries(const kv_list *got, const kv *want, size_t n) {
    assert_int_equal(got->n, n);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(got->items[i].klen, want[i].klen);
        assert_memory_equal(got->items[i].key, want[i].key, want[i].klen);
        assert_int_equal(got->items[i].vlen, want[i].vlen);
        if (want[i].vlen) assert_memory_equal(got->items[i].val, want[i].val, want[i].vlen);
    }
}

#define KV(k, v)                                                                                   \
    { (uint8_t *)(k), (uint8_t *)(v), sizeof(k) - 1, sizeof(v) - 1 }

static const kv a4_entries[] = {
    KV("", "\x08\x01\x1a\x02\x08\x01"),
    KV("_CHECKPOINTABLE_OBJECT_GRAPH", "\x08\x07\x12\x00\x20\x10\x28\x0a\x35\xec\xe0\xc0\x29"),
    KV("step/.ATTRIBUTES/VARIABLE_VALUE", "\x08\x09\x12\x00\x20\x08\x28\x08\x35\xbb\xd7\x9f\x11"),
    KV("w/.ATTRIBUTES/VARIABLE_VALUE",
       "\x08\x01\x12\x04\x12\x02\x08\x02\x28\x08\x35\x59\x3c\xe5\x35"),
};

static void test_appendix_a4_bytes(void **state) {
    (void)state;
    uint8_t *t;
    size_t len;
    write_table(0, SC_SST_NO_COMPRESSION, a4_entries, 4, &t, &len);
    assert_int_equal(len, CKF_TINY_INDEX_LEN);
    assert_memory_equal(t, ckf_tiny_index, CKF_TINY_INDEX_LEN);
    kv_list got = {0};
    sc_sst_stats st;
    sc_error err;
    assert_int_equal(
        sc_sst_foreach("a4", ckf_tiny_index, CKF_TINY_INDEX_LEN, collect, &got, &st, &err), SC_OK);
    assert_same_entries(&got, a4_entries, 4);
    assert_int_equal(st.num_data_blocks, 1);
    assert_int_equal(st.num_entries, 4);
    assert_int_equal(st.num_snappy_blocks, 0);
    kv_list_free(&got);
    free(t);
}

static void test_empty_table(void **state) {
    (void)state;
    uint8_t *t;
    size_t len;
    write_table(0, SC_SST_NO_COMPRESSION, NULL, 0, &t, &len);
    /* metaindex (8 + 5), index (8 + 5), footer (48) */
    assert_int_equal(len, 13 + 13 + 48);
    static const uint8_t empty_block[8] = {0, 0, 0, 0, 1, 0, 0, 0};
    assert_memory_equal(t, empty_block, 8);
    assert_memory_equal(t + 13, empty_block, 8);
    kv_list got = {0};
    sc_sst_stats st;
    sc_error err;
    assert_int_equal(sc_sst_foreach("empty", t, len, collect, &got, &st, &err), SC_OK);
    assert_int_equal(got.n, 0);
    assert_int_equal(st.num_data_blocks, 0);
    free(t);
}

/* 2000 keys with long shared prefixes, 256-byte blocks: many blocks, restarts every 16. */
static void test_many_blocks_prefix_compression(void **state) {
    (void)state;
    enum { N = 2000 };
    kv *items = calloc(N, sizeof *items);
    size_t raw_bytes = 0;
    for (size_t i = 0; i < N; i++) {
        char k[96];
        int kl = snprintf(k, sizeof k, "model/layer_with_weights-%04zu/kernel/.ATTRIBUTES/V", i);
        items[i].klen = (size_t)kl;
        items[i].key = (uint8_t *)strdup(k);
        items[i].vlen = i % 37;
        items[i].val = malloc(items[i].vlen + 1);
        for (size_t j = 0; j < items[i].vlen; j++) items[i].val[j] = (uint8_t)(i * 31 + j);
        raw_bytes += items[i].klen + items[i].vlen;
    }
    uint8_t *t;
    size_t len;
    write_table(256, SC_SST_NO_COMPRESSION, items, N, &t, &len);
    assert_true(len < raw_bytes); /* prefix compression took effect */
    kv_list got = {0};
    sc_sst_stats st;
    sc_error err;
    assert_int_equal(sc_sst_foreach("many", t, len, collect, &got, &st, &err), SC_OK);
    assert_same_entries(&got, items, N);
    assert_true(st.num_data_blocks > 50);

    /* Every data block: restart at each 16th entry, shared = 0 exactly there. */
    raw_block *idx = malloc(sizeof *idx), *blk = malloc(sizeof *blk);
    decode_index(t, len, idx);
    assert_int_equal(idx->n, st.num_data_blocks);
    assert_int_equal(idx->num_restarts, idx->n); /* index: restart interval 1 */
    size_t total = 0, shared_entries = 0;
    for (size_t b = 0; b < idx->n; b++) assert_int_equal(idx->shared[b], 0);
    /* Walk the data blocks in file order: they are contiguous from offset 0. */
    size_t off = 0;
    for (size_t b = 0; b < idx->n; b++) {
        /* The block handle is the value of index entry b. */
        const uint8_t *f = t + len - 48;
        varint(&f);
        varint(&f);
        uint64_t ioff = varint(&f);
        const uint8_t *e = t + ioff + idx->entry_at[b];
        varint(&e);
        uint64_t ns = varint(&e), vl = varint(&e);
        e += ns;
        const uint8_t *h = e;
        uint64_t boff = varint(&h), bsize = varint(&h);
        assert_int_equal(h - e, vl);
        assert_int_equal(boff, off);
        decode_block(t + boff, (size_t)bsize, blk);
        assert_int_equal(blk->num_restarts, (blk->n + 15) / 16);
        for (size_t i = 0; i < blk->n; i++) {
            if (i % 16 == 0) {
                assert_int_equal(blk->shared[i], 0);
                assert_int_equal(blk->restarts[i / 16], blk->entry_at[i]);
            } else {
                shared_entries += blk->shared[i] > 0;
            }
            assert_memory_equal(blk->keys[i], items[total + i].key, items[total + i].klen);
        }
        /* The separator is >= the block's last key and < the next block's first key. */
        const char *last = blk->keys[blk->n - 1];
        assert_true(strcmp(idx->keys[b], last) >= 0);
        total += blk->n;
        if (total < N) assert_true(strcmp(idx->keys[b], (const char *)items[total].key) < 0);
        off = (size_t)(boff + bsize + 5);
    }
    assert_int_equal(total, N);
    assert_true(shared_entries > N / 2);
    free(idx);
    free(blk);
    kv_list_free(&got);
    free(t);
    for (size_t i = 0; i < N; i++) {
        free(items[i].key);
        free(items[i].val);
    }
    free(items);
}

/* One entry per block (block_size 1) exposes every separator TF would choose. */
static void test_separators(void **state) {
    (void)state;
    static const kv items[] = {
        KV("", "0"),    KV("abc", "1"), KV("abx", "2"),          KV("abxyz", "3"),
        KV("abz", "4"), KV("ac", "5"),  KV("\xff\xff\x01", "6"),
    };
    static const char *const want[] = {
        "",             /* the empty key is a prefix of everything: unchanged */
        "abd",          /* bump 'c' (still < 'x'), cut */
        "abx",          /* a prefix of the next key: unchanged */
        "aby",          /* 'x' + 1 < 'z' */
        "abz",          /* vs "ac": 'b' + 1 is not < 'c': unchanged */
        "b",            /* 'a' + 1 < 0xff */
        "\xff\xff\x02", /* short successor of the last key */
    };
    uint8_t *t;
    size_t len;
    write_table(1, SC_SST_NO_COMPRESSION, items, 7, &t, &len);
    raw_block *idx = malloc(sizeof *idx);
    decode_index(t, len, idx);
    assert_int_equal(idx->n, 7);
    for (size_t i = 0; i < 7; i++) assert_string_equal(idx->keys[i], want[i]);
    kv_list got = {0};
    sc_error err;
    assert_int_equal(sc_sst_foreach("sep", t, len, collect, &got, NULL, &err), SC_OK);
    assert_same_entries(&got, items, 7);
    kv_list_free(&got);
    free(t);

    /* A last key of only 0xff bytes has no successor: it is used as is. */
    static const kv ff[] = {KV("\xff\xff", "x")};
    write_table(0, SC_SST_NO_COMPRESSION, ff, 1, &t, &len);
    decode_index(t, len, idx);
    assert_int_equal(idx->n, 1);
    assert_string_equal(idx->keys[0], "\xff\xff");
    free(t);
    free(idx);
}

/* TF flushes the open block before an entry with key + value >= 2 * block_size. */
static void test_large_entry_gets_own_block(void **state) {
    (void)state;
    static uint8_t big[200];
    memset(big, 'v', sizeof big);
    kv items[3] = {KV("a", "x"), {(uint8_t *)"b", big, 1, sizeof big}, KV("c", "y")};
    uint8_t *t;
    size_t len;
    write_table(64, SC_SST_NO_COMPRESSION, items, 3, &t, &len);
    kv_list got = {0};
    sc_sst_stats st;
    sc_error err;
    assert_int_equal(sc_sst_foreach("large", t, len, collect, &got, &st, &err), SC_OK);
    assert_same_entries(&got, items, 3);
    /* {a} {b} {c}: without the rule "a" and "b" would share a block (2 blocks). */
    assert_int_equal(st.num_data_blocks, 3);
    kv_list_free(&got);
    free(t);

    /* Just under the threshold (key + value = 127 < 128): no early flush. */
    items[1].vlen = 126;
    write_table(64, SC_SST_NO_COMPRESSION, items, 3, &t, &len);
    assert_int_equal(sc_sst_foreach("large", t, len, collect, &got, &st, &err), SC_OK);
    assert_int_equal(st.num_data_blocks, 2);
    kv_list_free(&got);
    free(t);
}

static void test_key_order_enforced(void **state) {
    (void)state;
    sc_error err;
    sc_sst_writer *w = NULL;
    assert_int_equal(sc_sst_writer_create(0, SC_SST_NO_COMPRESSION, &w, &err), SC_OK);
    assert_int_equal(sc_sst_writer_add(w, "b", 1, "1", 1, &err), SC_OK);
    assert_int_equal(sc_sst_writer_add(w, "b", 1, "2", 1, &err), SC_INVALID_ARGUMENT);
    assert_int_equal(sc_sst_writer_add(w, "a", 1, "2", 1, &err), SC_INVALID_ARGUMENT);
    assert_non_null(strstr(err.message, "does not sort after"));
    assert_int_equal(sc_sst_writer_add(w, "ba", 2, "2", 1, &err), SC_OK);
    const uint8_t *data;
    size_t len;
    assert_int_equal(sc_sst_writer_finish(w, &data, &len, &err), SC_OK);
    assert_int_equal(sc_sst_writer_add(w, "c", 1, "3", 1, &err), SC_INVALID_ARGUMENT);
    sc_sst_writer_free(w);
    assert_int_equal(sc_sst_writer_create(0, 7, &w, &err), SC_INVALID_ARGUMENT);
    assert_null(w);
}

static void test_snappy_blocks(void **state) {
    (void)state;
    enum { N = 300 };
    kv items[N];
    for (size_t i = 0; i < N; i++) {
        char k[64];
        items[i].klen = (size_t)snprintf(k, sizeof k, "var/%05zu", i);
        items[i].key = (uint8_t *)strdup(k);
        items[i].vlen = 100; /* very compressible */
        items[i].val = malloc(100);
        memset(items[i].val, (int)('a' + i % 26), 100);
    }
    uint8_t *t;
    size_t len;
    write_table(1024, SC_SST_SNAPPY, items, N, &t, &len);
    kv_list got = {0};
    sc_sst_stats st;
    sc_error err;
    assert_int_equal(sc_sst_foreach("snappy", t, len, collect, &got, &st, &err), SC_OK);
    assert_same_entries(&got, items, N);
    assert_true(st.num_data_blocks > 10);
    assert_int_equal(st.num_snappy_blocks, st.num_data_blocks);
    kv_list_free(&got);
    free(t);
    for (size_t i = 0; i < N; i++) {
        free(items[i].key);
        free(items[i].val);
    }
}

/* Real TF-written indexes: raw and Snappy blocks, 972 entries with separator "p". */
static void test_fixture_indexes(void **state) {
    (void)state;
    const char *root = getenv("SC_FIXTURES");
    if (!root || access(root, F_OK) != 0) {
        printf("SKIPPED: %s not found (conformance needs ../shared/fixtures)\n",
               root ? root : "$SC_FIXTURES");
        skip();
    }
    static const struct {
        const char *path;
        size_t entries; /* header included */
        int snappy;
    } cases[] = {
        {"01_spd3_titanic_cp_ckpt/training_1/cp.ckpt.index", 31, 0},
        {"05_tf_serving_testdata_savedmodels/saved_model_half_plus_two_tf2_cpu/00000123/variables/"
         "variables.index",
         5, 1},
        {"05_tf_serving_testdata_savedmodels/saved_model_half_plus_two_cpu/00000123/variables/"
         "variables.index",
         6, 1},
        {"07_ermesson_keras_tensorboard_efficientdet_events/ckpt-2.index", 972, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *p = ckf_join(root, cases[i].path);
        size_t len;
        uint8_t *t = ckf_read(p, &len);
        kv_list got = {0};
        sc_sst_stats st;
        sc_error err;
        sc_status s = sc_sst_foreach(p, t, len, collect, &got, &st, &err);
        if (s != SC_OK) fail_msg("%s", err.message);
        assert_int_equal(got.n, cases[i].entries);
        assert_int_equal(got.items[0].klen, 0);
        assert_int_equal(st.num_snappy_blocks > 0, cases[i].snappy);
        kv_list_free(&got);
        free(t);
        free(p);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_appendix_a4_bytes),
        cmocka_unit_test(test_empty_table),
        cmocka_unit_test(test_many_blocks_prefix_compression),
        cmocka_unit_test(test_separators),
        cmocka_unit_test(test_large_entry_gets_own_block),
        cmocka_unit_test(test_key_order_enforced),
        cmocka_unit_test(test_snappy_blocks),
        cmocka_unit_test(test_fixture_indexes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
