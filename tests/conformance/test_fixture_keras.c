/* tests/conformance/test_fixture_keras.c — real Keras weight files (shared/fixtures cases 10, 11,
 * 12, 18): Keras 3 .weights.h5, two .keras archives and two legacy Keras 2/3 .h5 files. Every
 * value of every dataset is checked against the h5dump output (DECODED_*.txt) kept beside the
 * file, and the MANIFEST's spot values are asserted by name. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "sidecar/keras_weights.h"
#include "support/ckpt_fixture.h"

/* For the byte-flip test, under ASan: a flipped length can make libhdf5 ask malloc for
 * petabytes, and it handles the NULL (ASan would abort instead); and libhdf5 1.10 leaks a few
 * hundred bytes on some failed opens ("actual len exceeds EOA", "addr overflow"), inside the
 * library, after our calls returned an error with nothing left to close. */
const char *__asan_default_options(void);
const char *__asan_default_options(void) { return "allocator_may_return_null=1"; }
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void) { return "leak:libhdf5_serial.so\n"; }

static const char *g_root;

static int have_fixtures(void) { return (g_root = ckf_fixtures()) != NULL; }
static char *fixture(const char *rel) { return ckf_fixture(g_root, rel); }

/* ---- h5dump text: the datasets and their DATA values, by indentation ---------------------- */

#define MAX_DUMP 64

typedef struct {
    char path[256];
    double *v;
    size_t n, cap;
} dump_ds;

typedef struct {
    dump_ds ds[MAX_DUMP];
    size_t n;
} dump;

static size_t indent_of(const char *s) { return strspn(s, " "); }

static void quoted(const char *s, char *out, size_t cap) {
    const char *a = strchr(s, '"'), *b = a ? strchr(a + 1, '"') : NULL;
    assert_non_null(b);
    snprintf(out, cap, "%.*s", (int)(b - a - 1), a + 1);
}

static void add_values(dump_ds *d, const char *line) {
    const char *p = strstr(line, "): ");
    assert_non_null(p);
    p += 3;
    for (;;) {
        char *end;
        double v = strtod(p, &end);
        if (end == p) fail_msg("unparsed value in '%s'", line);
        if (d->n == d->cap) {
            d->cap = d->cap ? d->cap * 2 : 64;
            d->v = realloc(d->v, d->cap * sizeof *d->v);
            assert_non_null(d->v);
        }
        d->v[d->n++] = v;
        p = end;
        if (*p != ',') break;
        p += strspn(p, ", ");
        if (!*p || *p == '\n') break; /* the row continues on the next line */
    }
}

static void parse_dump(const char *path, dump *out) {
    size_t len;
    char *text = (char *)ckf_read(path, &len), *save = NULL;
    char group[16][128];
    size_t group_indent[16], depth = 0, skip_to = SIZE_MAX;
    dump_ds *cur = NULL;
    size_t cur_indent = 0, data_indent = SIZE_MAX;
    memset(out, 0, sizeof *out);
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        size_t ind = indent_of(line);
        const char *c = line + ind;
        if (skip_to != SIZE_MAX) { /* inside an ATTRIBUTE: its strings may hold anything */
            if (ind == skip_to && strcmp(c, "}") == 0) skip_to = SIZE_MAX;
            continue;
        }
        if (strncmp(c, "ATTRIBUTE \"", 11) == 0) {
            skip_to = ind;
        } else if (cur && data_indent != SIZE_MAX) {
            if (ind == data_indent && strcmp(c, "}") == 0)
                data_indent = SIZE_MAX;
            else
                add_values(cur, line);
        } else if (cur) {
            if (strncmp(c, "DATATYPE", 8) == 0) assert_null(strstr(c, "H5T_STRING"));
            if (strcmp(c, "DATA {") == 0) data_indent = ind;
            if (ind == cur_indent && strcmp(c, "}") == 0) cur = NULL;
        } else if (strncmp(c, "GROUP \"", 7) == 0) {
            assert_true(depth < 16);
            quoted(c, group[depth], sizeof group[depth]);
            group_indent[depth++] = ind;
        } else if (strncmp(c, "DATASET \"", 9) == 0) {
            assert_true(out->n < MAX_DUMP);
            cur = &out->ds[out->n++];
            cur_indent = ind;
            char name[128];
            quoted(c, name, sizeof name);
            size_t at = 0;
            for (size_t i = 1; i < depth; i++) /* group[0] is "/" */
                at += (size_t)snprintf(cur->path + at, sizeof cur->path - at, "%s/", group[i]);
            snprintf(cur->path + at, sizeof cur->path - at, "%s", name);
        } else if (depth && ind == group_indent[depth - 1] && strcmp(c, "}") == 0) {
            depth--;
        }
    }
    free(text);
    assert_true(out->n > 0);
}

static void free_dump(dump *d) {
    for (size_t i = 0; i < d->n; i++) free(d->ds[i].v);
}

/* Reads tensor t as doubles (float32/64 and int64 are all these files hold). */
static double *read_doubles(sc_h5weights *h, const sc_tensor_info *t) {
    size_t n = (size_t)t->num_elements;
    uint8_t *raw = malloc(t->size ? t->size : 1);
    double *v = calloc(n ? n : 1, sizeof *v);
    assert_true(raw && v);
    sc_error err;
    sc_status s = sc_h5weights_read(h, t, raw, t->size, &err);
    if (s != SC_OK) fail_msg("%s", err.message);
    for (size_t i = 0; i < n; i++) {
        if (t->dtype == SC_DT_FLOAT) {
            float f;
            memcpy(&f, raw + 4 * i, 4);
            v[i] = f;
        } else if (t->dtype == SC_DT_DOUBLE) {
            memcpy(&v[i], raw + 8 * i, 8);
        } else if (t->dtype == SC_DT_INT64) {
            int64_t x;
            memcpy(&x, raw + 8 * i, 8);
            v[i] = (double)x;
        } else {
            fail_msg("%s: unexpected dtype %s", t->key, sc_dtype_name(t->dtype));
        }
    }
    free(raw);
    return v;
}

/* The listing is exactly the dump's datasets, in strcmp order, with the dump's values (h5dump
 * prints 6 significant digits). */
static void check_against_dump(sc_h5weights *h, const char *dump_rel) {
    char *dp = fixture(dump_rel);
    dump d;
    parse_dump(dp, &d);
    assert_int_equal(sc_h5weights_num_tensors(h), d.n);
    for (size_t i = 1; i < sc_h5weights_num_tensors(h); i++)
        assert_true(strcmp(sc_h5weights_tensor(h, i - 1)->key, sc_h5weights_tensor(h, i)->key) < 0);
    for (size_t i = 0; i < d.n; i++) {
        const sc_tensor_info *t = sc_h5weights_find(h, d.ds[i].path);
        if (!t) fail_msg("%s: dataset '%s' of the dump is not listed", dp, d.ds[i].path);
        assert_int_equal(t->num_elements, (int64_t)d.ds[i].n);
        double *v = read_doubles(h, t);
        for (size_t k = 0; k < d.ds[i].n; k++) {
            double want = d.ds[i].v[k];
            if (fabs(v[k] - want) > 6e-6 * fabs(want))
                fail_msg("%s[%zu] = %.9g, h5dump says %.9g", t->key, k, v[k], want);
        }
        free(v);
    }
    free_dump(&d);
    free(dp);
}

static const sc_tensor_info *expect(sc_h5weights *h, const char *key, sc_dtype dt, int rank,
                                    int64_t d0, int64_t d1) {
    const sc_tensor_info *t = sc_h5weights_find(h, key);
    if (!t) fail_msg("%s: no tensor '%s'", sc_h5weights_path(h), key);
    assert_int_equal(t->dtype, dt);
    assert_int_equal(t->rank, rank);
    if (rank > 0) assert_int_equal(t->shape[0], d0);
    if (rank > 1) assert_int_equal(t->shape[1], d1);
    assert_int_equal(t->size, (uint64_t)t->num_elements * sc_dtype_size(dt));
    assert_int_equal(t->offset, 0);
    return t;
}

static double value(sc_h5weights *h, const char *key, size_t i) {
    const sc_tensor_info *t = sc_h5weights_find(h, key);
    assert_non_null(t);
    assert_true((int64_t)i < t->num_elements);
    double *v = read_doubles(h, t), r = v[i];
    free(v);
    return r;
}

static sc_h5weights *open_h5(const char *rel, char **path) {
    *path = fixture(rel);
    sc_h5weights *h;
    sc_error err;
    sc_status s = sc_h5weights_open(*path, &h, &err);
    if (s != SC_OK) fail_msg("%s", err.message);
    return h;
}

static void test_case10_weights_h5(void **state) {
    (void)state;
    if (!have_fixtures()) skip();
    char *path;
    sc_h5weights *h = open_h5("10_shivaspark_keras3_weights_h5_with_json/model.weights.h5", &path);
    assert_int_equal(sc_h5weights_num_tensors(h), 20);
    assert_string_equal(sc_h5weights_tensor(h, 0)->key, "layers/dense/vars/0");
    expect(h, "layers/dense/vars/0", SC_DT_FLOAT, 2, 8, 12);
    expect(h, "layers/dense/vars/1", SC_DT_FLOAT, 1, 12, 0);
    expect(h, "layers/dense_1/vars/0", SC_DT_FLOAT, 2, 12, 8);
    expect(h, "layers/dense_2/vars/0", SC_DT_FLOAT, 2, 8, 1);
    expect(h, "optimizer/vars/0", SC_DT_INT64, 0, 0, 0);
    expect(h, "optimizer/vars/1", SC_DT_FLOAT, 0, 0, 0);
    expect(h, "optimizer/vars/13", SC_DT_FLOAT, 1, 1, 0);
    assert_string_equal(sc_h5weights_tensor(h, 19)->key, "optimizer/vars/9");
    assert_true(value(h, "optimizer/vars/0", 0) == 5850);
    assert_true(value(h, "optimizer/vars/1", 0) == (double)0.001f);
    assert_true(fabs(value(h, "layers/dense/vars/1", 0) - 0.472743) < 1e-6);
    assert_true(fabs(value(h, "layers/dense/vars/1", 1) - -0.576465) < 1e-6);
    assert_true(fabs(value(h, "layers/dense/vars/1", 2) - 0.461907) < 1e-6);
    assert_true(fabs(value(h, "layers/dense_2/vars/1", 0) - -0.707221) < 1e-6);
    assert_string_equal(sc_h5weights_group_name(h, "layers/dense"), "dense");
    assert_string_equal(sc_h5weights_group_name(h, "layers/dense_2"), "dense_2");
    assert_string_equal(sc_h5weights_group_name(h, "optimizer"), "adam");
    assert_string_equal(sc_h5weights_group_name(h, ""), "sequential");
    check_against_dump(h, "10_shivaspark_keras3_weights_h5_with_json/DECODED_h5dump.txt");
    /* The same bytes as a file image list and read identically. */
    size_t len;
    uint8_t *raw = ckf_read(path, &len);
    sc_h5weights *m;
    sc_error err;
    assert_int_equal(sc_h5weights_open_memory(raw, len, "image", &m, &err), SC_OK);
    free(raw);
    assert_int_equal(sc_h5weights_num_tensors(m), 20);
    for (size_t i = 0; i < 20; i++) {
        const sc_tensor_info *a = sc_h5weights_tensor(h, i), *b = sc_h5weights_tensor(m, i);
        assert_string_equal(a->key, b->key);
        double *va = read_doubles(h, a), *vb = read_doubles(m, b);
        assert_memory_equal(va, vb, (size_t)a->num_elements * sizeof *va);
        free(va);
        free(vb);
    }
    sc_h5weights_free(m);
    sc_h5weights_free(h);
    free(path);
}

static json_t *parse_json(const char *text, const char *what) {
    json_error_t je;
    json_t *j = json_loads(text, 0, &je);
    if (!j) fail_msg("%s: %s (line %d)", what, je.text, je.line);
    return j;
}

static sc_keras_archive *open_archive(const char *rel, const char *config_rel,
                                      const char *meta_rel) {
    char *path = fixture(rel);
    sc_keras_archive *ar;
    sc_error err;
    sc_status s = sc_keras_archive_open(path, &ar, &err);
    if (s != SC_OK) fail_msg("%s", err.message);
    /* config.json and metadata.json are the files extracted beside the archive, byte for byte. */
    char *cp = fixture(config_rel);
    size_t clen, len;
    uint8_t *want = ckf_read(cp, &len);
    const char *config = sc_keras_archive_config(ar, &clen);
    assert_int_equal(clen, len);
    assert_memory_equal(config, want, len);
    assert_int_equal(config[clen], '\0');
    free(want);
    free(cp);
    if (meta_rel) {
        char *mp = fixture(meta_rel);
        want = ckf_read(mp, &len);
        assert_int_equal(strlen(sc_keras_archive_metadata(ar)), len);
        assert_memory_equal(sc_keras_archive_metadata(ar), want, len);
        free(want);
        free(mp);
    }
    free(path);
    return ar;
}

static void test_case11_keras_archive(void **state) {
    (void)state;
    if (!have_fixtures()) skip();
    sc_keras_archive *ar = open_archive(
        "11_aamaninamdar_keras_zip_and_legacy_h5/my_model.keras",
        "11_aamaninamdar_keras_zip_and_legacy_h5/DECODED_my_model.keras.config.json",
        "11_aamaninamdar_keras_zip_and_legacy_h5/DECODED_my_model.keras.metadata.json");
    json_t *meta = parse_json(sc_keras_archive_metadata(ar), "metadata.json");
    assert_string_equal(json_string_value(json_object_get(meta, "keras_version")), "3.11.1");
    json_decref(meta);
    json_t *cfg = parse_json(sc_keras_archive_config(ar, NULL), "config.json");
    assert_string_equal(json_string_value(json_object_get(cfg, "class_name")), "Sequential");
    json_t *layers = json_object_get(json_object_get(cfg, "config"), "layers");
    assert_int_equal(json_array_size(layers), 4); /* InputLayer + 3 Dense */
    const char *dense_names[] = {"dense_6", "dense_7", "dense_8"};
    const char *paths[] = {"layers/dense", "layers/dense_1", "layers/dense_2"};
    sc_h5weights *h = sc_keras_archive_weights(ar);
    for (size_t i = 0; i < 3; i++) {
        json_t *l = json_array_get(layers, i + 1);
        assert_string_equal(json_string_value(json_object_get(l, "class_name")), "Dense");
        const char *name = json_string_value(json_object_get(json_object_get(l, "config"), "name"));
        assert_string_equal(name, dense_names[i]);
        /* Path names are not layer names; the vars group's attribute links the two. */
        assert_string_equal(sc_h5weights_group_name(h, paths[i]), name);
    }
    json_decref(cfg);
    assert_int_equal(sc_h5weights_num_tensors(h), 20);
    expect(h, "layers/dense/vars/0", SC_DT_FLOAT, 2, 12, 64);
    expect(h, "layers/dense_1/vars/0", SC_DT_FLOAT, 2, 64, 32);
    expect(h, "layers/dense_2/vars/1", SC_DT_FLOAT, 1, 1, 0);
    expect(h, "optimizer/vars/0", SC_DT_INT64, 0, 0, 0);
    assert_true(value(h, "optimizer/vars/0", 0) == 3500);
    assert_true(value(h, "optimizer/vars/1", 0) == (double)0.01f);
    check_against_dump(
        h,
        "11_aamaninamdar_keras_zip_and_legacy_h5/DECODED_my_model.keras.model.weights.h5dump.txt");
    sc_keras_archive_free(ar);
}

static void test_case18_nested_container(void **state) {
    (void)state;
    if (!have_fixtures()) skip();
    const char *dir = "18_keras3_testdata_nested_container_keras/";
    sc_keras_archive *ar =
        open_archive("18_keras3_testdata_nested_container_keras/pre_pr22362_nested_container.keras",
                     "18_keras3_testdata_nested_container_keras/config.json", NULL);
    json_t *meta = parse_json(sc_keras_archive_metadata(ar), "metadata.json");
    assert_string_equal(json_string_value(json_object_get(meta, "keras_version")), "3.15.0");
    json_decref(meta);
    json_t *cfg = parse_json(sc_keras_archive_config(ar, NULL), "config.json");
    assert_string_equal(json_string_value(json_object_get(cfg, "registered_name")),
                        "legacy_nested_container>NestedDenseModel");
    json_decref(cfg);
    sc_h5weights *h = sc_keras_archive_weights(ar);
    static const char *const keys[] = {"layers/dense/vars/0", "layers/dense_1/vars/0",
                                       "layers/dense_2/vars/0", "layers/dense_3/vars/0",
                                       "layers/dense_3/vars/1"};
    static const double fill[] = {0.1, 0.2, 0.3, 0.5, 0};
    static const int64_t rows[] = {4, 4, 4, 4, 2}, cols[] = {4, 4, 4, 2, 0};
    assert_int_equal(sc_h5weights_num_tensors(h), 5);
    for (size_t i = 0; i < 5; i++) {
        const sc_tensor_info *t = sc_h5weights_tensor(h, i);
        assert_string_equal(t->key, keys[i]);
        expect(h, keys[i], SC_DT_FLOAT, i == 4 ? 1 : 2, rows[i], cols[i]);
        double *v = read_doubles(h, t);
        for (int64_t k = 0; k < t->num_elements; k++) assert_true(v[k] == (double)(float)fill[i]);
        free(v);
    }
    assert_null(sc_h5weights_find(h, "optimizer/vars/0"));
    assert_string_equal(sc_h5weights_group_name(h, "layers/dense"), "d_0");
    assert_string_equal(sc_h5weights_group_name(h, "layers/dense_2"), "d_2");
    assert_string_equal(sc_h5weights_group_name(h, "layers/dense_3"), "dense");
    assert_string_equal(sc_h5weights_group_name(h, ""), "nested_dense_model");
    check_against_dump(h, "18_keras3_testdata_nested_container_keras/DECODED_h5dump.txt");
    /* The member extracted beside the archive reads the same from disk. */
    char rel[256], *path;
    snprintf(rel, sizeof rel, "%smodel.weights.h5.extracted", dir);
    sc_h5weights *x = open_h5(rel, &path);
    assert_int_equal(sc_h5weights_num_tensors(x), 5);
    check_against_dump(x, "18_keras3_testdata_nested_container_keras/DECODED_h5dump.txt");
    sc_h5weights_free(x);
    free(path);
    sc_keras_archive_free(ar);
}

/* Single-byte damage anywhere in a real file: every open either succeeds or reports
 * DATA_LOSS, and every listed tensor then reads or reports DATA_LOSS; nothing crashes or hangs.
 * (Listing never reads HDF5's global heap, the part libhdf5 trusts; see keras_weights.h.) */
static void test_case18_byte_flips(void **state) {
    (void)state;
    if (!have_fixtures()) skip();
    char *path = fixture("18_keras3_testdata_nested_container_keras/model.weights.h5.extracted");
    size_t len;
    uint8_t *raw = ckf_read(path, &len);
    size_t opened = 0, rejected = 0;
    for (size_t i = 0; i < len; i += 11) {
        raw[i] ^= 0x5a;
        sc_h5weights *h;
        sc_error err;
        sc_status s = sc_h5weights_open_memory(raw, len, "flipped", &h, &err);
        raw[i] ^= 0x5a;
        if (s != SC_OK) {
            if (s != SC_DATA_LOSS) fail_msg("flip at %zu: status %d: %s", i, s, err.message);
            rejected++;
            continue;
        }
        opened++;
        for (size_t k = 0; k < sc_h5weights_num_tensors(h); k++) {
            const sc_tensor_info *t = sc_h5weights_tensor(h, k);
            float buf[16];
            if (t->size > sizeof buf) continue; /* a flipped dimension; the size is checked */
            s = sc_h5weights_read(h, t, buf, sizeof buf, &err);
            if (s != SC_OK && s != SC_DATA_LOSS && s != SC_UNIMPLEMENTED)
                fail_msg("flip at %zu: '%s': status %d: %s", i, t->key, s, err.message);
        }
        sc_h5weights_free(h);
    }
    assert_true(opened > 0); /* flips in the float data change values, not structure */
    assert_true(rejected > 0);
    free(raw);
    free(path);
}

/* Legacy files are out of the binder's scope, but they are HDF5 and must list and read. */
static void test_case11_legacy_full_model_h5(void **state) {
    (void)state;
    if (!have_fixtures()) skip();
    char *path;
    sc_h5weights *h = open_h5("11_aamaninamdar_keras_zip_and_legacy_h5/model.h5", &path);
    assert_int_equal(sc_h5weights_num_tensors(h), 20);
    assert_string_equal(sc_h5weights_tensor(h, 0)->key,
                        "model_weights/dense_3/sequential_1/dense_3/bias");
    expect(h, "model_weights/dense_3/sequential_1/dense_3/kernel", SC_DT_FLOAT, 2, 12, 64);
    expect(h, "optimizer_weights/adam/iteration", SC_DT_INT64, 0, 0, 0);
    assert_true(value(h, "optimizer_weights/adam/iteration", 0) == 3750);
    assert_null(sc_h5weights_group_name(h, "model_weights/dense_3"));
    check_against_dump(h, "11_aamaninamdar_keras_zip_and_legacy_h5/DECODED_model.h5.h5dump.txt");
    sc_h5weights_free(h);
    free(path);
}

static void test_case12_keras2_weights_h5(void **state) {
    (void)state;
    if (!have_fixtures()) skip();
    char *path;
    sc_h5weights *h = open_h5("12_0xdaksh_keras2_h5_json_and_tf1_events/model.h5", &path);
    assert_int_equal(sc_h5weights_num_tensors(h), 10);
    expect(h, "dense_1/dense_1/kernel:0", SC_DT_FLOAT, 2, 30, 16);
    expect(h, "dense_1/dense_1/bias:0", SC_DT_FLOAT, 1, 16, 0);
    expect(h, "dense_5/dense_5/kernel:0", SC_DT_FLOAT, 2, 24, 1);
    assert_true(fabs(value(h, "dense_5/dense_5/bias:0", 0) - 1.55324) < 1e-5);
    for (size_t i = 0; i < 10; i++) /* the Dropout group holds nothing */
        assert_null(strstr(sc_h5weights_tensor(h, i)->key, "dropout"));
    check_against_dump(h, "12_0xdaksh_keras2_h5_json_and_tf1_events/DECODED_h5dump.txt");
    sc_h5weights_free(h);
    free(path);
}

/* A JSON file is not HDF5, a .keras is not a bare HDF5 file, and an HDF5 file is not a zip. */
static void test_wrong_kinds(void **state) {
    (void)state;
    if (!have_fixtures()) skip();
    char *json = fixture("10_shivaspark_keras3_weights_h5_with_json/model.json");
    char *keras = fixture("11_aamaninamdar_keras_zip_and_legacy_h5/my_model.keras");
    char *h5 = fixture("10_shivaspark_keras3_weights_h5_with_json/model.weights.h5");
    sc_h5weights *h;
    sc_keras_archive *ar;
    sc_error err;
    assert_int_equal(sc_h5weights_open(json, &h, &err), SC_DATA_LOSS);
    assert_non_null(strstr(err.message, "model.json"));
    assert_int_equal(sc_h5weights_open(keras, &h, &err), SC_DATA_LOSS);
    assert_int_equal(sc_keras_archive_open(h5, &ar, &err), SC_DATA_LOSS);
    assert_non_null(strstr(err.message, "model.weights.h5"));
    free(json);
    free(keras);
    free(h5);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_case10_weights_h5),
        cmocka_unit_test(test_case11_keras_archive),
        cmocka_unit_test(test_case18_nested_container),
        cmocka_unit_test(test_case18_byte_flips),
        cmocka_unit_test(test_case11_legacy_full_model_h5),
        cmocka_unit_test(test_case12_keras2_weights_h5),
        cmocka_unit_test(test_wrong_kinds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
