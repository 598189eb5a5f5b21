/* tests/unit/test_keras_h5.c — .weights.h5 round trips through sc_h5weights_write (every dtype,
 * scalars, empty tensors, nested and empty groups, name attributes), file images in memory,
 * .keras archives built with libzip, and damaged inputs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>
#include <zip.h>

#include "ckpt/h5_guard.h"
#include "sidecar/keras_weights.h"
#include "support/ckpt_fixture.h"

/* The sample file: entries deliberately out of key order. */
static const float k_kernel[12] = {-1, -.5f, 0, .5f, 1, 1.5f, 2, 2.5f, 3, 3.5f, 4, 1e-3f};
static const uint16_t k_half[4] = {0x3c00, 0xc000, 0x7bff, 0x0001}; /* 1, -2, 65504, 2^-24 */
static const double k_f64[8] = {1e300, -1e-300, 0, -0.0, 3.25, 1.0 / 3, 7, -8};
static const int64_t k_iter = 5850;
static const float k_lr = 0.001f;
static const uint8_t k_bool[3] = {1, 0, 1};
static const uint16_t k_bf16[2] = {0x3f80, 0xc040}; /* 1, -3 */
static const uint8_t k_u8[3] = {0, 128, 255};
static const int16_t k_i16[2] = {-32768, 7};
static const uint64_t k_u64[1] = {UINT64_C(0xfedcba9876543210)};
static const int64_t s_3x4[2] = {3, 4}, s_4[1] = {4}, s_2x2x2[3] = {2, 2, 2}, s_3[1] = {3},
                     s_2[1] = {2}, s_0x3[2] = {0, 3}, s_1[1] = {1};

#define E(key, dt, rank, shape, obj)                                                               \
    { key, dt, rank, shape, &(obj), sizeof(obj) }
static const sc_h5weights_entry k_entries[] = {
    E("optimizer/vars/1", SC_DT_FLOAT, 0, NULL, k_lr),
    E("layers/dense_1/vars/0", SC_DT_DOUBLE, 3, s_2x2x2, k_f64),
    E("layers/dense/vars/1", SC_DT_HALF, 1, s_4, k_half),
    E("layers/dense/vars/0", SC_DT_FLOAT, 2, s_3x4, k_kernel),
    E("optimizer/vars/0", SC_DT_INT64, 0, NULL, k_iter),
    E("layers/dense_1/vars/1", SC_DT_BOOL, 1, s_3, k_bool),
    E("layers/embedding/vars/0", SC_DT_BFLOAT16, 1, s_2, k_bf16),
    {"layers/dense/vars/10", SC_DT_FLOAT, 2, s_0x3, NULL, 0},
    E("misc/deep/er/still/u8", SC_DT_UINT8, 1, s_3, k_u8),
    E("misc/i16", SC_DT_INT16, 1, s_2, k_i16),
    E("misc/u64", SC_DT_UINT64, 1, s_1, k_u64),
};
#define N_ENTRIES (sizeof k_entries / sizeof k_entries[0])

static const sc_h5weights_group k_groups[] = {
    {"vars", "sequential", NULL, NULL},           /* the root model's empty vars */
    {"layers/dense/vars", "dense_6", NULL, NULL}, /* Keras 3.1x: name on vars, path name differs */
    {"layers/dropout/vars", NULL, NULL, NULL},    /* Keras <= 3.3: empty vars, no attribute */
    {"layers/flatten", "flatten", NULL, NULL},    /* a group with only a name attribute */
};

/* strcmp order of the keys above ('/' sorts before '_', "10" before "1x"). */
static const char *const k_sorted[] = {"layers/dense/vars/0",
                                       "layers/dense/vars/1",
                                       "layers/dense/vars/10",
                                       "layers/dense_1/vars/0",
                                       "layers/dense_1/vars/1",
                                       "layers/embedding/vars/0",
                                       "misc/deep/er/still/u8",
                                       "misc/i16",
                                       "misc/u64",
                                       "optimizer/vars/0",
                                       "optimizer/vars/1"};

typedef struct {
    char *dir, *h5;
} fixture;

static int setup(void **state) {
    fixture *f = calloc(1, sizeof *f);
    f->dir = ckf_mkdtemp();
    f->h5 = ckf_join(f->dir, "model.weights.h5");
    sc_error err;
    sc_status s = sc_h5weights_write(f->h5, k_entries, N_ENTRIES, k_groups,
                                     sizeof k_groups / sizeof k_groups[0], &err);
    if (s != SC_OK) fail_msg("%s", err.message);
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fixture *f = *state;
    free(f->h5);
    ckf_rmtree(f->dir);
    free(f);
    return 0;
}

static const sc_h5weights_entry *entry(const char *key) {
    for (size_t i = 0; i < N_ENTRIES; i++)
        if (strcmp(k_entries[i].key, key) == 0) return &k_entries[i];
    return NULL;
}

/* Every listed tensor matches what was written, in key order, byte for byte. */
static void check_contents(sc_h5weights *h) {
    sc_error err;
    assert_int_equal(sc_h5weights_num_tensors(h), N_ENTRIES);
    for (size_t i = 0; i < N_ENTRIES; i++) {
        const sc_tensor_info *t = sc_h5weights_tensor(h, i);
        assert_string_equal(t->key, k_sorted[i]);
        assert_int_equal(t->key_len, strlen(k_sorted[i]));
        assert_ptr_equal(sc_h5weights_find(h, k_sorted[i]), t);
        const sc_h5weights_entry *e = entry(t->key);
        assert_non_null(e);
        assert_int_equal(t->dtype, e->dtype);
        assert_int_equal(t->rank, e->rank);
        int64_t n = 1;
        for (int d = 0; d < e->rank; d++) {
            assert_int_equal(t->shape[d], e->shape[d]);
            n *= e->shape[d];
        }
        assert_int_equal(t->num_elements, n);
        assert_int_equal(t->size, e->size);
        assert_int_equal(t->offset, 0);
        assert_int_equal(t->shard_id, 0);
        uint8_t buf[128];
        memset(buf, 0xa5, sizeof buf);
        sc_status s = sc_h5weights_read(h, t, buf, sizeof buf, &err);
        if (s != SC_OK) fail_msg("%s", err.message);
        if (e->size) assert_memory_equal(buf, e->data, e->size);
        assert_int_equal(buf[e->size], 0xa5); /* nothing written past t->size */
    }
    assert_null(sc_h5weights_tensor(h, N_ENTRIES));
    assert_null(sc_h5weights_find(h, "layers/dropout/vars"));
    assert_null(sc_h5weights_find(h, "layers/dense/vars"));
    assert_null(sc_h5weights_find(h, "/layers/dense/vars/0"));
    assert_string_equal(sc_h5weights_group_name(h, "layers/dense"), "dense_6");
    assert_string_equal(sc_h5weights_group_name(h, "layers/dense/vars"), "dense_6");
    assert_string_equal(sc_h5weights_group_name(h, "layers/flatten"), "flatten");
    assert_string_equal(sc_h5weights_group_name(h, ""), "sequential");
    assert_null(sc_h5weights_group_name(h, "layers/dropout"));
    assert_null(sc_h5weights_group_name(h, "layers/dense_1"));
    assert_null(sc_h5weights_group_name(h, "nowhere"));
}

static void test_round_trip(void **state) {
    fixture *f = *state;
    sc_h5weights *h;
    sc_error err;
    sc_status s = sc_h5weights_open(f->h5, &h, &err);
    if (s != SC_OK) fail_msg("%s", err.message);
    assert_string_equal(sc_h5weights_path(h), f->h5);
    check_contents(h);
    /* The file is plain HDF5 at offset 0, as h5py writes it. */
    size_t len;
    uint8_t *raw = ckf_read(f->h5, &len);
    assert_memory_equal(raw, "\x89HDF\r\n\x1a\n", 8);
    free(raw);
    /* Nothing but the file is left in the directory (the temporary was renamed). */
    assert_int_equal(ckf_count_files(f->dir), 1);
    /* No timestamps (1 s resolution, hence the pause): the same input gives the same bytes. */
    sleep(1);
    char *again = ckf_join(f->dir, "again.weights.h5");
    assert_int_equal(sc_h5weights_write(again, k_entries, N_ENTRIES, k_groups,
                                        sizeof k_groups / sizeof k_groups[0], &err),
                     SC_OK);
    size_t len2;
    uint8_t *raw2 = ckf_read(again, &len2);
    raw = ckf_read(f->h5, &len);
    assert_int_equal(len2, len);
    assert_memory_equal(raw2, raw, len);
    free(raw);
    free(raw2);
    free(again);
    sc_h5weights_free(h);
    sc_h5weights_free(NULL);
}

static void test_open_memory(void **state) {
    fixture *f = *state;
    size_t len;
    uint8_t *raw = ckf_read(f->h5, &len);
    sc_h5weights *a, *b;
    sc_error err;
    sc_status s = sc_h5weights_open_memory(raw, len, "image-a", &a, &err);
    if (s != SC_OK) fail_msg("%s", err.message);
    /* A second image of different content open at the same time stays distinct. */
    const float other = 42;
    const sc_h5weights_entry e = {"optimizer/vars/1", SC_DT_FLOAT, 0, NULL, &other, 4};
    char *p2 = ckf_join(f->dir, "other.weights.h5");
    assert_int_equal(sc_h5weights_write(p2, &e, 1, NULL, 0, &err), SC_OK);
    size_t len2;
    uint8_t *raw2 = ckf_read(p2, &len2);
    s = sc_h5weights_open_memory(raw2, len2, "image-b", &b, &err);
    if (s != SC_OK) fail_msg("%s", err.message);
    memset(raw, 0, len); /* the images were copied */
    free(raw);
    free(raw2);
    assert_string_equal(sc_h5weights_path(a), "image-a");
    check_contents(a);
    assert_int_equal(sc_h5weights_num_tensors(b), 1);
    float v = 0;
    assert_int_equal(sc_h5weights_read(b, sc_h5weights_tensor(b, 0), &v, 4, &err), SC_OK);
    assert_true(v == 42.0f);
    sc_h5weights_free(a);
    sc_h5weights_free(b);
    free(p2);
}

static void test_read_needs_room(void **state) {
    fixture *f = *state;
    sc_h5weights *h;
    sc_error err;
    assert_int_equal(sc_h5weights_open(f->h5, &h, &err), SC_OK);
    const sc_tensor_info *t = sc_h5weights_find(h, "layers/dense/vars/0");
    float buf[12];
    assert_int_equal(sc_h5weights_read(h, t, buf, sizeof buf - 1, &err), SC_INVALID_ARGUMENT);
    assert_non_null(strstr(err.message, "layers/dense/vars/0"));
    assert_non_null(strstr(err.message, "need 48"));
    /* Empty tensors need no room at all. */
    assert_int_equal(
        sc_h5weights_read(h, sc_h5weights_find(h, "layers/dense/vars/10"), NULL, 0, &err), SC_OK);
    sc_h5weights_free(h);
}

static void test_writer_rejects(void **state) {
    fixture *f = *state;
    char *p = ckf_join(f->dir, "bad.weights.h5");
    const float two[2] = {1, 2};
    sc_h5weights_entry e[2] = {{"a/b", SC_DT_FLOAT, 1, s_3, two, sizeof two},
                               {"a/c", SC_DT_FLOAT, 1, s_2, two, sizeof two}};
    sc_error err;
    assert_int_equal(sc_h5weights_write(p, e, 2, NULL, 0, &err), SC_INVALID_ARGUMENT);
    assert_non_null(strstr(err.message, "'a/b'"));
    e[0].shape = s_2;
    e[1].key = "a/b";
    assert_int_equal(sc_h5weights_write(p, e, 2, NULL, 0, &err), SC_INVALID_ARGUMENT);
    assert_non_null(strstr(err.message, "given twice"));
    e[1].key = "/abs";
    assert_int_equal(sc_h5weights_write(p, e, 2, NULL, 0, &err), SC_INVALID_ARGUMENT);
    e[1].key = "a/c";
    e[1].dtype = SC_DT_STRING;
    assert_int_equal(sc_h5weights_write(p, e, 2, NULL, 0, &err), SC_INVALID_ARGUMENT);
    assert_non_null(strstr(err.message, "string"));
    assert_int_equal(ckf_count_files(f->dir), 1); /* no file, no temporary */
    free(p);
}

/* Files h5py or other writers could produce that sc_h5weights_write never does, made with
 * libhdf5 directly. */
static void test_foreign_layouts(void **state) {
    fixture *f = *state;
    char *p = ckf_join(f->dir, "foreign.h5");
    hid_t file = H5Fcreate(p, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    assert_true(file >= 0);
    hsize_t d3[1] = {3}, d6[2] = {2, 3}, chunk[2] = {1, 3};
    hid_t s3 = H5Screate_simple(1, d3, NULL), s6 = H5Screate_simple(2, d6, NULL);
    /* Big-endian float32: read back little-endian. */
    const float be[3] = {1.5f, -2.25f, 1e-20f};
    hid_t ds = H5Dcreate2(file, "be", H5T_IEEE_F32BE, s3, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    assert_int_equal(H5Dwrite(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, be), 0);
    H5Dclose(ds);
    /* Chunked + gzip int32 (h5py with compression="gzip"). */
    const int32_t gz[6] = {1, -2, 3, -4, 5, 2147483647};
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_chunk(dcpl, 2, chunk);
    H5Pset_deflate(dcpl, 6);
    H5Gclose(H5Gcreate2(file, "g", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
    ds = H5Dcreate2(file, "g/gz", H5T_STD_I32BE, s6, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    assert_true(ds >= 0);
    assert_int_equal(H5Dwrite(ds, H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, gz), 0);
    H5Dclose(ds);
    H5Pclose(dcpl);
    /* bfloat16 stored as uint16 with Keras' dtype attribute. */
    const uint16_t bf[3] = {0x3f80, 0x4000, 0xbf80};
    ds = H5Dcreate2(file, "bf", H5T_STD_U16LE, s3, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    H5Dwrite(ds, H5T_NATIVE_UINT16, H5S_ALL, H5S_ALL, H5P_DEFAULT, bf);
    hid_t st = H5Tcopy(H5T_C_S1), sc = H5Screate(H5S_SCALAR);
    H5Tset_size(st, 9); /* a fixed-length attribute this time */
    hid_t a = H5Acreate2(ds, "dtype", st, sc, H5P_DEFAULT, H5P_DEFAULT);
    assert_int_equal(H5Awrite(a, st, "bfloat16"), 0);
    H5Aclose(a);
    H5Dclose(ds);
    /* A fixed-string dataset: listed, not readable as a tensor. */
    ds = H5Dcreate2(file, "text", st, sc, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    H5Dwrite(ds, st, H5S_ALL, H5S_ALL, H5P_DEFAULT, "abcdefgh");
    H5Dclose(ds);
    /* A null dataspace, and links that must not be followed. */
    hid_t sn = H5Screate(H5S_NULL);
    ds = H5Dcreate2(file, "null", H5T_IEEE_F32LE, sn, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    H5Dclose(ds);
    assert_int_equal(H5Lcreate_soft("/be", file, "soft", H5P_DEFAULT, H5P_DEFAULT), 0);
    assert_int_equal(H5Lcreate_external(f->h5, "/layers", file, "ext", H5P_DEFAULT, H5P_DEFAULT),
                     0);
    H5Sclose(sn);
    H5Sclose(sc);
    H5Tclose(st);
    H5Sclose(s3);
    H5Sclose(s6);
    assert_int_equal(H5Fclose(file), 0);

    sc_h5weights *h;
    sc_error err;
    sc_status s = sc_h5weights_open(p, &h, &err);
    if (s != SC_OK) fail_msg("%s", err.message);
    static const char *const keys[] = {"be", "bf", "g/gz", "null", "text"};
    assert_int_equal(sc_h5weights_num_tensors(h), 5);
    for (size_t i = 0; i < 5; i++) assert_string_equal(sc_h5weights_tensor(h, i)->key, keys[i]);
    uint8_t buf[64];
    const sc_tensor_info *t = sc_h5weights_find(h, "be");
    assert_int_equal(t->dtype, SC_DT_FLOAT);
    assert_int_equal(sc_h5weights_read(h, t, buf, sizeof buf, &err), SC_OK);
    assert_memory_equal(buf, be, sizeof be); /* the host is little-endian */
    t = sc_h5weights_find(h, "g/gz");
    assert_int_equal(t->dtype, SC_DT_INT32);
    assert_int_equal(t->size, 24);
    assert_int_equal(sc_h5weights_read(h, t, buf, sizeof buf, &err), SC_OK);
    assert_memory_equal(buf, gz, sizeof gz);
    t = sc_h5weights_find(h, "bf");
    assert_int_equal(t->dtype, SC_DT_BFLOAT16);
    assert_int_equal(sc_h5weights_read(h, t, buf, sizeof buf, &err), SC_OK);
    assert_memory_equal(buf, bf, sizeof bf);
    t = sc_h5weights_find(h, "null");
    assert_int_equal(t->rank, 0);
    assert_int_equal(t->num_elements, 0);
    assert_int_equal(t->size, 0);
    t = sc_h5weights_find(h, "text");
    assert_int_equal(t->dtype, SC_DT_STRING);
    assert_int_equal(t->size, 0);
    assert_int_equal(sc_h5weights_read(h, t, buf, sizeof buf, &err), SC_UNIMPLEMENTED);
    assert_non_null(strstr(err.message, "'/text'"));
    sc_h5weights_free(h);
    free(p);
}

/* h5py locks the file while it writes; a reader arriving then must hear "retry", not
 * "corrupt". flock locks belong to the open file description, so this process can hold one. */
static void test_locked_by_writer(void **state) {
    fixture *f = *state;
    const char *locking = getenv("HDF5_USE_FILE_LOCKING");
    if (locking && strcmp(locking, "FALSE") == 0) skip(); /* the user turned locks off */
    int fd = open(f->h5, O_RDWR);
    assert_true(fd >= 0);
    assert_int_equal(flock(fd, LOCK_EX | LOCK_NB), 0);
    sc_h5weights *h;
    sc_error err;
    assert_int_equal(sc_h5weights_open(f->h5, &h, &err), SC_UNAVAILABLE);
    assert_non_null(strstr(err.message, "retry"));
    assert_int_equal(flock(fd, LOCK_UN), 0);
    assert_int_equal(sc_h5weights_open(f->h5, &h, &err), SC_OK);
    sc_h5weights_free(h);
    close(fd);
}

static void expect_data_loss(const char *path, const char *label) {
    sc_h5weights *h = (sc_h5weights *)1;
    sc_error err;
    sc_status s = sc_h5weights_open(path, &h, &err);
    if (s != SC_DATA_LOSS) fail_msg("%s: status %d: %s", label, s, err.message);
    assert_null(h);
    assert_non_null(strstr(err.message, path));
}

static void test_corrupt_files(void **state) {
    fixture *f = *state;
    size_t len;
    uint8_t *raw = ckf_read(f->h5, &len);
    char *p = ckf_join(f->dir, "cut.weights.h5");
    const size_t cuts[] = {0, 8, 100, 512, len / 2, len - 1};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        ckf_write(p, raw, cuts[i]);
        char label[64];
        snprintf(label, sizeof label, "cut at %zu", cuts[i]);
        expect_data_loss(p, label);
        sc_h5weights *h = (sc_h5weights *)1;
        sc_error err;
        assert_int_equal(sc_h5weights_open_memory(raw, cuts[i], "img", &h, &err), SC_DATA_LOSS);
        assert_null(h);
        assert_non_null(strstr(err.message, "img"));
    }
    /* HDF5's own diagnosis is carried in the message. */
    sc_h5weights *h;
    sc_error err;
    ckf_write(p, raw, len / 2);
    assert_int_equal(sc_h5weights_open(p, &h, &err), SC_DATA_LOSS);
    assert_non_null(strstr(err.message, "truncated"));
    /* Seeded random bytes, with and without a valid signature in front. */
    uint8_t junk[4096];
    uint64_t x = 0x9e3779b97f4a7c15u;
    for (size_t i = 0; i < sizeof junk; i++) {
        x = x * 6364136223846793005u + 1442695040888963407u;
        junk[i] = (uint8_t)(x >> 56);
    }
    ckf_write(p, junk, sizeof junk);
    expect_data_loss(p, "random bytes");
    memcpy(junk, raw, 8);
    ckf_write(p, junk, sizeof junk);
    expect_data_loss(p, "signature + random bytes");
    char *missing = ckf_join(f->dir, "absent.weights.h5");
    assert_int_equal(sc_h5weights_open(missing, &h, &err), SC_NOT_FOUND);
    assert_non_null(strstr(err.message, "absent.weights.h5"));
    assert_int_equal(sc_h5weights_open(f->dir, &h, &err), SC_INVALID_ARGUMENT);
    free(missing);
    free(p);
    free(raw);
}

static uint64_t le64(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v |= (uint64_t)p[i] << (8 * i);
    return v;
}

/* A local heap whose free list loops back on itself: libhdf5 1.10.8 reads such a list forever,
 * allocating a node per step (a fuzzed 14 KB file reached 13 GB, see
 * tests/fuzz/crashes/fuzz_h5weights/hdf5-heap-free-list-loop.weights.h5). The sample file's
 * first local heap with a free block gets that block pointed at itself; opening it, from a
 * path or from memory, must fail at once naming the heap. */
static void test_looping_heap_free_list(void **state) {
    fixture *f = *state;
    size_t len;
    uint8_t *raw = ckf_read(f->h5, &len);
    uint64_t at = 0;
    assert_int_equal(sc_h5_heap_loops(raw, len, &at), 0); /* the file as written is sound */
    /* Heap (superblock v0, 8-byte sizes and addresses): "HEAP" 0 0 0 0, data segment size,
     * first free block, data segment address; a free block: next free block, its size. */
    size_t heap = 0;
    uint64_t first = 1;
    for (size_t i = 0; i + 32 <= len && first == 1; i++) {
        if (memcmp(raw + i, "HEAP", 4) != 0 || raw[i + 4] != 0) continue;
        uint64_t size = le64(raw + i + 8), head = le64(raw + i + 16), seg = le64(raw + i + 24);
        if (head != 1 && head < size && seg + head + 16 <= len) {
            heap = i;
            first = head;
            uint8_t *block = raw + seg + head;
            assert_int_equal(le64(block), 1); /* the last (only) free block */
            for (int b = 0; b < 8; b++) block[b] = (uint8_t)(head >> (8 * b));
        }
    }
    if (first == 1) fail_msg("the sample file has no local heap with a free block");
    assert_int_equal(sc_h5_heap_loops(raw, len, &at), 1);
    assert_int_equal(at, heap);
    char *p = ckf_join(f->dir, "loop.weights.h5");
    ckf_write(p, raw, len);
    char want[64];
    snprintf(want, sizeof want, "local heap at byte %zu loops", heap);
    sc_h5weights *h = (sc_h5weights *)1;
    sc_error err;
    assert_int_equal(sc_h5weights_open(p, &h, &err), SC_DATA_LOSS);
    assert_null(h);
    assert_non_null(strstr(err.message, "loop.weights.h5"));
    if (!strstr(err.message, want)) fail_msg("'%s' lacks '%s'", err.message, want);
    h = (sc_h5weights *)1;
    assert_int_equal(sc_h5weights_open_memory(raw, len, "img", &h, &err), SC_DATA_LOSS);
    assert_null(h);
    if (!strstr(err.message, want)) fail_msg("'%s' lacks '%s'", err.message, want);
    free(p);
    free(raw);
}

static void put_le64(uint8_t *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}

/* The check reads files in 1 MiB chunks: a looping heap is found wherever it lies, also across
 * a chunk boundary, from a file and from memory; the same bytes with the loop cut are sound. */
static void test_heap_loop_anywhere(void **state) {
    fixture *f = *state;
    const size_t n = (3u << 20) + 100;
    const size_t offs[] = {600, (1u << 20) - 2, 1u << 20, (2u << 20) - 3, n - 200};
    uint8_t *b = calloc(1, n);
    assert_non_null(b);
    char *p = ckf_join(f->dir, "heap.h5");
    for (size_t i = 0; i < sizeof offs / sizeof offs[0]; i++) {
        memset(b, 0, n);
        memcpy(b, "\x89HDF\r\n\x1a\n", 8); /* superblock v0, 8-byte addresses and lengths */
        b[13] = b[14] = 8;
        uint8_t *h = b + offs[i];
        memcpy(h, "HEAP", 4);
        put_le64(h + 8, 88);            /* data segment size */
        put_le64(h + 16, 16);           /* first free block */
        put_le64(h + 24, offs[i] + 32); /* data segment address */
        put_le64(h + 32 + 16, 48);      /* block 16 (16 bytes) -> block 48 */
        put_le64(h + 32 + 24, 16);
        put_le64(h + 32 + 48, 16); /* block 48 (16 bytes) -> block 16: the loop */
        put_le64(h + 32 + 56, 16);
        for (int cut = 0; cut < 2; cut++) {
            if (cut) put_le64(h + 32 + 48, 1); /* block 48 is the last */
            ckf_write(p, b, n);
            uint64_t at = 0, at_fd = 0;
            int fd = open(p, O_RDONLY);
            assert_true(fd >= 0);
            assert_int_equal(sc_h5_heap_loops(b, n, &at), !cut);
            assert_int_equal(sc_h5_heap_loops_fd(fd, n, &at_fd), !cut);
            close(fd);
            if (!cut) {
                assert_int_equal(at, offs[i]);
                assert_int_equal(at_fd, offs[i]);
            }
        }
    }
    free(p);
    free(b);
}

/* A zip with the given members (NULL data = skip); stored like Keras unless deflate. */
static void make_zip(const char *path, const char *const *names, const void *const *data,
                     const size_t *lens, size_t n, int deflate) {
    int code;
    zip_t *za = zip_open(path, ZIP_CREATE | ZIP_TRUNCATE, &code);
    assert_non_null(za);
    for (size_t i = 0; i < n; i++) {
        zip_source_t *src = zip_source_buffer(za, data[i], lens[i], 0);
        assert_non_null(src);
        zip_int64_t idx = zip_file_add(za, names[i], src, ZIP_FL_OVERWRITE);
        assert_true(idx >= 0);
        assert_int_equal(zip_set_file_compression(za, (zip_uint64_t)idx,
                                                  deflate ? ZIP_CM_DEFLATE : ZIP_CM_STORE, 0),
                         0);
    }
    assert_int_equal(zip_close(za), 0);
}

static const char k_config[] = "{\"class_name\": \"Sequential\", \"config\": {\"name\": \"s\"}}";
static const char k_meta[] =
    "{\"keras_version\": \"3.11.1\", \"date_saved\": \"2026-11-30@08:00:00\"}";

static void test_archive(void **state) {
    fixture *f = *state;
    size_t len;
    uint8_t *raw = ckf_read(f->h5, &len);
    char *zp = ckf_join(f->dir, "model.keras");
    const char *names[] = {"metadata.json", "config.json", "model.weights.h5"};
    const void *data[] = {k_meta, k_config, raw};
    const size_t lens[] = {strlen(k_meta), strlen(k_config), len};
    for (int deflate = 0; deflate <= 1; deflate++) {
        make_zip(zp, names, data, lens, 3, deflate);
        sc_keras_archive *ar;
        sc_error err;
        sc_status s = sc_keras_archive_open(zp, &ar, &err);
        if (s != SC_OK) fail_msg("%s", err.message);
        size_t clen = 0;
        assert_string_equal(sc_keras_archive_config(ar, &clen), k_config);
        assert_int_equal(clen, strlen(k_config));
        assert_string_equal(sc_keras_archive_metadata(ar), k_meta);
        assert_string_equal(sc_keras_archive_path(ar), zp);
        sc_h5weights *h = sc_keras_archive_weights(ar);
        char want[700];
        snprintf(want, sizeof want, "%s:model.weights.h5", zp);
        assert_string_equal(sc_h5weights_path(h), want);
        check_contents(h);
        sc_keras_archive_free(ar);
    }
    /* metadata.json is optional. */
    make_zip(zp, names + 1, data + 1, lens + 1, 2, 0);
    sc_keras_archive *ar;
    sc_error err;
    assert_int_equal(sc_keras_archive_open(zp, &ar, &err), SC_OK);
    assert_null(sc_keras_archive_metadata(ar));
    sc_keras_archive_free(ar);
    sc_keras_archive_free(NULL);
    free(zp);
    free(raw);
}

static void expect_archive_error(const char *path, sc_status want, const char *needle) {
    sc_keras_archive *ar = (sc_keras_archive *)1;
    sc_error err;
    sc_status s = sc_keras_archive_open(path, &ar, &err);
    if (s != want) fail_msg("%s: status %d, expected %d: %s", needle, s, want, err.message);
    assert_null(ar);
    assert_non_null(strstr(err.message, path));
    if (!strstr(err.message, needle)) fail_msg("'%s' not in '%s'", needle, err.message);
}

static void test_archive_errors(void **state) {
    fixture *f = *state;
    size_t len;
    uint8_t *raw = ckf_read(f->h5, &len);
    char *zp = ckf_join(f->dir, "bad.keras");
    const char *names[] = {"metadata.json", "config.json", "model.weights.h5"};
    const void *data[] = {k_meta, k_config, raw};
    size_t lens[] = {strlen(k_meta), strlen(k_config), len};
    make_zip(zp, names, data, lens, 2, 0);
    expect_archive_error(zp, SC_NOT_FOUND, "model.weights.h5");
    const char *npz[] = {"config.json", "model.weights.npz"};
    make_zip(zp, npz, data + 1, lens + 1, 2, 0);
    expect_archive_error(zp, SC_UNIMPLEMENTED, "model.weights.h5");
    const char *no_config[] = {"metadata.json", "model.weights.h5"};
    const void *no_config_data[] = {k_meta, raw};
    const size_t no_config_lens[] = {lens[0], len};
    make_zip(zp, no_config, no_config_data, no_config_lens, 2, 0);
    expect_archive_error(zp, SC_NOT_FOUND, "config.json");
    lens[2] = len / 2; /* a truncated weights member */
    make_zip(zp, names, data, lens, 3, 0);
    expect_archive_error(zp, SC_DATA_LOSS, "model.weights.h5");
    ckf_write(zp, raw, len); /* HDF5, not a zip */
    expect_archive_error(zp, SC_DATA_LOSS, "zip");
    /* A zip cut short loses its central directory. */
    lens[2] = len;
    make_zip(zp, names, data, lens, 3, 0);
    size_t zlen;
    uint8_t *z = ckf_read(zp, &zlen);
    ckf_write(zp, z, zlen - 30);
    expect_archive_error(zp, SC_DATA_LOSS, "zip");
    /* A stored member whose bytes no longer match its CRC. */
    uint8_t *hit = memmem(z, zlen, k_config, strlen(k_config));
    assert_non_null(hit);
    hit[2] ^= 0x20; /* "class_name" -> "Class_name": still JSON, wrong CRC */
    ckf_write(zp, z, zlen);
    expect_archive_error(zp, SC_DATA_LOSS, "CRC");
    free(z);
    char *missing = ckf_join(f->dir, "absent.keras");
    expect_archive_error(missing, SC_NOT_FOUND, "absent.keras");
    free(missing);
    free(zp);
    free(raw);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_memory, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_needs_room, setup, teardown),
        cmocka_unit_test_setup_teardown(test_writer_rejects, setup, teardown),
        cmocka_unit_test_setup_teardown(test_foreign_layouts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_corrupt_files, setup, teardown),
        cmocka_unit_test_setup_teardown(test_looping_heap_free_list, setup, teardown),
        cmocka_unit_test_setup_teardown(test_heap_loop_anywhere, setup, teardown),
        cmocka_unit_test_setup_teardown(test_locked_by_writer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_archive, setup, teardown),
        cmocka_unit_test_setup_teardown(test_archive_errors, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
