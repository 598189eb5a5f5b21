/* tests/conformance/test_fixture_bundles.c — the bundle reader against real TensorFlow files.
 *
 * For every EXPECTED*.tsv under ../shared/fixtures (one row per tensor, written by a Python
 * decoder: key, dtype, shape, shard, offset, size, masked crc, crc_ok, num_elements, float64
 * sum, first values) the matching checkpoint is opened and every field is compared; every
 * tensor is read whole (CRC verified) and its sum and first values compared. Index-only
 * snapshots must open and list their entries, and reading from them must say which data file
 * is missing. Uses only the public API.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <float.h>
#include <ftw.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sidecar/checkpoint.h"
#include "support/ckpt_fixture.h"

/* Each EXPECTED*.tsv (relative to the fixtures folder) and the prefix it describes (MANIFEST). */
typedef struct bundle_case {
    const char *tsv;
    const char *prefix;
} bundle_case;

#define F01 "01_spd3_titanic_cp_ckpt/"
#define F02 "02_nighthawks_tf_tutorial_cp_epoch/"
#define F05 "05_tf_serving_testdata_savedmodels/"
#define F06 "06_byeongjuncho_two_shard_cp_epoch/"
#define F07 "07_ermesson_keras_tensorboard_efficientdet_events/"
#define F14 "14_tf_rust_examples_keras_savedmodels/"

static const bundle_case k_bundles[] = {
    {F01 "EXPECTED_cp.ckpt.tsv", F01 "training_1/cp.ckpt"},
    {F02 "EXPECTED_cp-0000.ckpt.tsv", F02 "training_2/cp-0000.ckpt"},
    {F05 "saved_model_counter/00000123/EXPECTED_variables.tsv",
     F05 "saved_model_counter/00000123/variables/variables"},
    {F05 "saved_model_half_plus_two_cpu/00000123/EXPECTED_variables.tsv",
     F05 "saved_model_half_plus_two_cpu/00000123/variables/variables"},
    {F05 "saved_model_half_plus_two_tf2_cpu/00000123/EXPECTED_variables.tsv",
     F05 "saved_model_half_plus_two_tf2_cpu/00000123/variables/variables"},
    {F06 "EXPECTED_cp-0000.ckpt.tsv", F06 "training_2/cp-0000.ckpt"},
    {F14 "keras_single_input_saved_model/EXPECTED_variables.tsv",
     F14 "keras_single_input_saved_model/variables/variables"},
};
#define N_BUNDLES (sizeof k_bundles / sizeof k_bundles[0])

/* Snapshots holding the .index without its data; entries as MANIFEST counts them, i.e. with
 * the header entry "" that sc_bundle_num_tensors() does not count. */
typedef struct index_only_case {
    const char *prefix;
    size_t entries;
} index_only_case;

static const index_only_case k_index_only[] = {
    {F02 "training_2/cp-0050.ckpt", 19},   {F02 "training_1/cp.ckpt", 19},
    {F02 "checkpoints/my_checkpoint", 14}, {F02 "saved_model/my_model/variables/variables", 23},
    {F06 "training_2/cp-0050.ckpt", 19},   {F07 "ckpt-2", 972},
};
#define N_INDEX_ONLY (sizeof k_index_only / sizeof k_index_only[0])

/* ---- EXPECTED*.tsv ----------------------------------------------------------------------- */

#define TSV_COLUMNS                                                                                \
    "key\tdtype\tshape\tshard\toffset\tsize\tcrc32c_masked\tcrc_ok\tnum_elements\tsum_"            \
    "float64\tfirst_values"
#define TSV_MAX_RANK 8

typedef struct tsv_row {
    int line;
    const char *key, *dtype, *first; /* point into tsv_file.text */
    int rank;
    int64_t shape[TSV_MAX_RANK];
    long long shard, num_elements;
    unsigned long long offset, size, crc;
    int crc_ok, has_sum;
    double sum;
} tsv_row;

typedef struct tsv_file {
    const char *path;
    char *text;
    tsv_row *rows;
    size_t n;
    int num_shards; /* from the comment line's header={'num_shards': N, ...} */
} tsv_file;

static void tsv_free(tsv_file *f) {
    free(f->text);
    free(f->rows);
    memset(f, 0, sizeof *f);
}

static int parse_ull(const char *s, unsigned long long *out) {
    char *end;
    if (!*s || *s == '-') return 0;
    *out = strtoull(s, &end, 10);
    return *end == '\0';
}

static int parse_ll(const char *s, long long *out) {
    char *end;
    if (!*s) return 0;
    *out = strtoll(s, &end, 10);
    return *end == '\0';
}

/* "scalar", "64", "784x512". */
static int parse_shape(char *s, tsv_row *r) {
    r->rank = 0;
    if (!strcmp(s, "scalar")) return 1;
    for (char *dim; (dim = strsep(&s, "x")) != NULL;) {
        long long v;
        if (r->rank == TSV_MAX_RANK || !parse_ll(dim, &v) || v < 0) return 0;
        r->shape[r->rank++] = v;
    }
    return 1;
}

static int parse_row(char *line, tsv_row *r) {
    char *field[11];
    int nf = 0;
    for (char *f; nf < 11 && (f = strsep(&line, "\t")) != NULL;) field[nf++] = f;
    if (nf != 11 || line != NULL) return 0;
    r->key = field[0];
    r->dtype = field[1];
    r->first = field[10];
    r->has_sum = field[9][0] != '\0';
    r->sum = r->has_sum ? strtod(field[9], NULL) : 0.0;
    r->crc_ok = !strcmp(field[7], "True");
    return parse_shape(field[2], r) && parse_ll(field[3], &r->shard)
           && parse_ull(field[4], &r->offset) && parse_ull(field[5], &r->size)
           && parse_ull(field[6], &r->crc) && parse_ll(field[8], &r->num_elements)
           && (r->crc_ok || !strcmp(field[7], "False"));
}

static int tsv_load(const char *path, tsv_file *f) {
    memset(f, 0, sizeof *f);
    f->path = path;
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        print_error("cannot open %s\n", path);
        return -1;
    }
    size_t cap = 0, len = 0, nread;
    char chunk[65536];
    while ((nread = fread(chunk, 1, sizeof chunk, fp)) > 0) {
        if (len + nread + 1 > cap) {
            cap = 2 * (len + nread + 1);
            f->text = realloc(f->text, cap);
            assert_non_null(f->text);
        }
        memcpy(f->text + len, chunk, nread);
        len += nread;
    }
    fclose(fp);
    if (!f->text) return -1;
    f->text[len] = '\0';

    size_t lines = 1;
    for (size_t i = 0; i < len; i++) lines += f->text[i] == '\n';
    f->rows = calloc(lines, sizeof *f->rows);
    assert_non_null(f->rows);

    char *rest = f->text;
    int lineno = 0;
    for (char *line; (line = strsep(&rest, "\n")) != NULL;) {
        lineno++;
        if (lineno == 1) {
            const char *ns = strstr(line, "'num_shards': ");
            if (line[0] != '#' || !ns) goto bad;
            f->num_shards = atoi(ns + strlen("'num_shards': "));
        } else if (lineno == 2) {
            if (strcmp(line, TSV_COLUMNS) != 0) goto bad;
        } else if (line[0] != '\0') {
            f->rows[f->n].line = lineno;
            if (!parse_row(line, &f->rows[f->n])) goto bad;
            f->n++;
        }
    }
    return 0;
bad:
    print_error("%s:%d: unexpected line (has the TSV format changed?)\n", path, lineno);
    tsv_free(f);
    return -1;
}

/* ---- comparing a bundle with its rows ----------------------------------------------------- */

#define EXPECT(cond, ...)                                                                          \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            print_error("%s:%d: %s: ", tsv->path, row->line, row->key);                            \
            print_error(__VA_ARGS__);                                                              \
            print_error("\n");                                                                     \
            failures++;                                                                            \
        }                                                                                          \
    } while (0)

static uint64_t load_le(const uint8_t *p, size_t n) {
    uint64_t v = 0;
    for (size_t i = n; i-- > 0;) v = (v << 8) | p[i];
    return v;
}

/* Element i of a numeric payload as a double; 0 (and *ok = 0) for a type this test does not
 * know, so that such a fixture fails loudly instead of being passed over. */
static double element(sc_dtype dt, const uint8_t *buf, size_t i, int *ok) {
    uint32_t u32;
    uint64_t u64;
    float f;
    double d;
    *ok = 1;
    switch (dt) {
    case SC_DT_FLOAT:
        u32 = (uint32_t)load_le(buf + 4 * i, 4);
        memcpy(&f, &u32, 4);
        return f;
    case SC_DT_DOUBLE:
        u64 = load_le(buf + 8 * i, 8);
        memcpy(&d, &u64, 8);
        return d;
    case SC_DT_INT32: return (int32_t)(uint32_t)load_le(buf + 4 * i, 4);
    case SC_DT_INT64: return (double)(int64_t)load_le(buf + 8 * i, 8);
    default: *ok = 0; return 0.0;
    }
}

static int check_numeric(const tsv_file *tsv, const tsv_row *row, const sc_tensor_info *t,
                         const uint8_t *buf) {
    int failures = 0, ok = 1;
    double sum = 0.0, sum_abs = 0.0;
    for (int64_t i = 0; i < t->num_elements && ok; i++) {
        double v = element(t->dtype, buf, (size_t)i, &ok);
        sum += v;
        sum_abs += fabs(v);
    }
    EXPECT(ok, "dtype %s is not handled by this test", sc_dtype_name(t->dtype));
    if (!ok) return failures;
    /* 1e-6 relative, plus the worst rounding error of a float64 sum in another order. */
    double tol = 1e-6 * fabs(row->sum) + (double)t->num_elements * DBL_EPSILON * sum_abs;
    EXPECT(row->has_sum && fabs(sum - row->sum) <= tol, "sum %.17g, expected %.17g", sum, row->sum);

    char *copy = strdup(row->first), *rest = copy;
    assert_non_null(copy);
    size_t j = 0;
    for (char *tok; (tok = strsep(&rest, ",")) != NULL; j++) {
        EXPECT((int64_t)j < t->num_elements, "more first values than elements");
        if ((int64_t)j >= t->num_elements) break;
        double got = element(t->dtype, buf, j, &ok);
        if (t->dtype == SC_DT_FLOAT) {
            /* The TSV prints the float32 value's exact double expansion. */
            EXPECT((float)strtod(tok, NULL) == (float)got, "value %zu is %.9g, expected %s", j, got,
                   tok);
        } else if (t->dtype == SC_DT_INT64 || t->dtype == SC_DT_INT32) {
            EXPECT(strtoll(tok, NULL, 10) == (long long)got, "value %zu is %.0f, expected %s", j,
                   got, tok);
        } else {
            EXPECT(strtod(tok, NULL) == got, "value %zu is %.17g, expected %s", j, got, tok);
        }
    }
    EXPECT(j > 0, "no first values in the TSV");
    free(copy);
    return failures;
}

/* first_values of a string tensor: "strlen=[3602]" (element lengths, leading elements). */
static int check_strings(const tsv_file *tsv, const tsv_row *row, const sc_tensor_info *t,
                         const uint8_t *buf) {
    int failures = 0;
    sc_error err;
    EXPECT(!strncmp(row->first, "strlen=[", 8), "first_values '%s' is not strlen=[...]",
           row->first);
    if (strncmp(row->first, "strlen=[", 8) != 0 || t->num_elements <= 0) return failures;
    sc_bytes *items = calloc((size_t)t->num_elements, sizeof *items);
    assert_non_null(items);
    sc_status st = sc_bundle_decode_strings(t, buf, (size_t)t->size, items, &err);
    EXPECT(st == SC_OK, "decode_strings: %s", err.message);
    const char *p = row->first + 8;
    for (int64_t j = 0; st == SC_OK && *p && *p != ']'; j++) {
        char *end;
        unsigned long long want = strtoull(p, &end, 10);
        EXPECT(j < t->num_elements, "more lengths than elements");
        if (j >= t->num_elements || end == p) break;
        EXPECT(items[j].size == want, "string %" PRId64 " is %zu bytes, expected %llu", j,
               items[j].size, want);
        p = *end == ',' ? end + 1 : end;
    }
    free(items);
    return failures;
}

static int check_row(sc_bundle *b, const tsv_file *tsv, const tsv_row *row) {
    int failures = 0;
    const sc_tensor_info *t = sc_bundle_find(b, row->key);
    EXPECT(t != NULL, "key missing from the bundle");
    if (!t) return failures;
    EXPECT(t->key_len == strlen(row->key), "key_len %zu", t->key_len);
    EXPECT(!strcmp(sc_dtype_name(t->dtype), row->dtype), "dtype %s, expected %s",
           sc_dtype_name(t->dtype), row->dtype);
    EXPECT(t->rank == row->rank, "rank %d, expected %d", t->rank, row->rank);
    for (int d = 0; d < t->rank && d < row->rank; d++)
        EXPECT(t->shape[d] == row->shape[d], "dim %d is %" PRId64 ", expected %" PRId64, d,
               t->shape[d], row->shape[d]);
    EXPECT(t->shard_id == row->shard, "shard %d, expected %lld", (int)t->shard_id, row->shard);
    EXPECT(t->offset == row->offset, "offset %" PRIu64 ", expected %llu", t->offset, row->offset);
    EXPECT(t->size == row->size, "size %" PRIu64 ", expected %llu", t->size, row->size);
    EXPECT(t->masked_crc32c == row->crc, "crc %u, expected %llu", t->masked_crc32c, row->crc);
    EXPECT(t->num_elements == row->num_elements, "num_elements %" PRId64 ", expected %lld",
           t->num_elements, row->num_elements);
    EXPECT(t->num_slices == 0, "num_slices %d", t->num_slices);
    if (failures) return failures;

    uint8_t *buf = malloc(t->size ? (size_t)t->size : 1);
    assert_non_null(buf);
    sc_error err;
    sc_status st = sc_bundle_read(b, t, buf, (size_t)t->size, &err);
    if (!row->crc_ok) {
        EXPECT(st == SC_DATA_LOSS, "read gave %s, expected DATA_LOSS", sc_status_name(st));
    } else {
        EXPECT(st == SC_OK, "read: %s: %s", sc_status_name(st), err.message);
        if (st == SC_OK)
            failures += t->dtype == SC_DT_STRING ? check_strings(tsv, row, t, buf)
                                                 : check_numeric(tsv, row, t, buf);
    }
    free(buf);
    return failures;
}

/* Returns the number of mismatches (each printed). */
static int check_bundle_against_tsv(sc_bundle *b, const tsv_file *tsv) {
    int failures = 0;
    const tsv_row *row = &(tsv_row){.line = 1, .key = "(header)"};
    EXPECT(sc_bundle_num_shards(b) == tsv->num_shards, "num_shards %d, expected %d",
           (int)sc_bundle_num_shards(b), tsv->num_shards);
    EXPECT(sc_bundle_num_tensors(b) == tsv->n, "%zu tensors, expected %zu",
           sc_bundle_num_tensors(b), tsv->n);
    for (size_t i = 1; i < sc_bundle_num_tensors(b); i++) {
        const sc_tensor_info *a = sc_bundle_tensor(b, i - 1), *c = sc_bundle_tensor(b, i);
        size_t m = a->key_len < c->key_len ? a->key_len : c->key_len;
        int cmp = memcmp(a->key, c->key, m);
        EXPECT(cmp < 0 || (cmp == 0 && a->key_len < c->key_len), "keys out of order at %zu", i);
    }
    for (size_t i = 0; i < tsv->n; i++) failures += check_row(b, tsv, &tsv->rows[i]);
    return failures;
}

/* ------------------------------------------------------------------------------------------ */

static const char *fixtures_or_skip(void) {
    const char *root = ckf_fixtures();
    if (!root) skip();
    return root;
}

static void join(char *out, size_t cap, const char *root, const char *rel) {
    int n = snprintf(out, cap, "%s/%s", root, rel);
    assert_true(n > 0 && (size_t)n < cap);
}

/* ---- every EXPECTED*.tsv has a row in k_bundles, and every row has its tsv ---------------- */

static size_t g_root_len;
static int g_unmapped;

static int visit(const char *path, const struct stat *sb, int type, struct FTW *ftw) {
    (void)sb;
    (void)type;
    const char *base = path + ftw->base;
    if (strncmp(base, "EXPECTED", 8) != 0 || strlen(base) < 4
        || strcmp(base + strlen(base) - 4, ".tsv") != 0)
        return 0;
    const char *rel = path + g_root_len + 1;
    for (size_t i = 0; i < N_BUNDLES; i++)
        if (!strcmp(rel, k_bundles[i].tsv)) return 0;
    print_error("%s has no entry in k_bundles (add its checkpoint prefix)\n", rel);
    g_unmapped++;
    return 0;
}

static void test_every_tsv_is_mapped(void **state) {
    (void)state;
    const char *root = fixtures_or_skip();
    char path[4096];
    g_root_len = strlen(root);
    g_unmapped = 0;
    assert_int_equal(nftw(root, visit, 16, FTW_PHYS), 0);
    assert_int_equal(g_unmapped, 0);
    for (size_t i = 0; i < N_BUNDLES; i++) {
        join(path, sizeof path, root, k_bundles[i].tsv);
        if (access(path, R_OK) != 0) fail_msg("k_bundles names %s, which is not there", path);
    }
}

/* ---- one bundle against its EXPECTED tsv ---------------------------------------------------- */

static void test_bundle(void **state) {
    const bundle_case *c = *state;
    const char *root = fixtures_or_skip();
    char tsv_path[4096], prefix[4096];
    join(tsv_path, sizeof tsv_path, root, c->tsv);
    join(prefix, sizeof prefix, root, c->prefix);

    tsv_file tsv;
    assert_int_equal(tsv_load(tsv_path, &tsv), 0);

    sc_error err;
    sc_bundle *b = NULL;
    sc_status st = sc_bundle_open(prefix, &b, &err);
    if (st != SC_OK)
        fail_msg("sc_bundle_open(%s): %s: %s", prefix, sc_status_name(st), err.message);

    int failures = check_bundle_against_tsv(b, &tsv);
    sc_bundle_free(b);
    tsv_free(&tsv);
    assert_int_equal(failures, 0);
}

/* ---- index without data ------------------------------------------------------------------- */

static void test_index_only(void **state) {
    const index_only_case *c = *state;
    const char *root = fixtures_or_skip();
    char prefix[4096], shard_name[64];
    join(prefix, sizeof prefix, root, c->prefix);

    sc_error err;
    sc_bundle *b = NULL;
    sc_status st = sc_bundle_open(prefix, &b, &err);
    if (st != SC_OK)
        fail_msg("sc_bundle_open(%s): %s: %s", prefix, sc_status_name(st), err.message);
    assert_int_equal(sc_bundle_num_tensors(b), c->entries - 1);
    /* Case 07's index block key is the separator "p", which is not a tensor. */
    assert_null(sc_bundle_find(b, "p"));
    assert_non_null(sc_bundle_find(b, "_CHECKPOINTABLE_OBJECT_GRAPH"));

    const sc_tensor_info *t = NULL;
    for (size_t i = 0; i < sc_bundle_num_tensors(b) && !t; i++)
        if (sc_bundle_tensor(b, i)->size > 0 && sc_bundle_tensor(b, i)->num_slices == 0)
            t = sc_bundle_tensor(b, i);
    assert_non_null(t);
    uint8_t *buf = malloc(t->size);
    assert_non_null(buf);
    st = sc_bundle_read(b, t, buf, t->size, &err);
    free(buf);
    assert_int_equal(st, SC_UNAVAILABLE);
    const char *base = strrchr(c->prefix, '/') ? strrchr(c->prefix, '/') + 1 : c->prefix;
    snprintf(shard_name, sizeof shard_name, "%s.data-%05d-of-%05d", base, (int)t->shard_id,
             (int)sc_bundle_num_shards(b));
    if (!strstr(err.message, shard_name))
        fail_msg("expected the message to name %s, got: %s", shard_name, err.message);
    sc_bundle_free(b);
}

/* ---- the state files ---------------------------------------------------------------------- */

static void test_state_names_missing_prefix(void **state) {
    (void)state;
    const char *root = fixtures_or_skip();
    char dir[4096];
    char *prefix = NULL;
    sc_error err;
    /* 01's `checkpoint` says cp.ckpt2, which the snapshot does not hold. */
    join(dir, sizeof dir, root, F01 "training_1");
    sc_status st = sc_latest_checkpoint(dir, &prefix, &err);
    assert_int_equal(st, SC_NOT_FOUND);
    assert_null(prefix);
    if (!strstr(err.message, "cp.ckpt2"))
        fail_msg("expected the message to name cp.ckpt2, got: %s", err.message);

    /* 02's names cp-0050.ckpt, whose .index is there (its data is not: latest_checkpoint only
     * looks at the .index, as TensorFlow's does). */
    join(dir, sizeof dir, root, F02 "training_2");
    st = sc_latest_checkpoint(dir, &prefix, &err);
    if (st != SC_OK) fail_msg("sc_latest_checkpoint(%s): %s", dir, err.message);
    const char *want = "/training_2/cp-0050.ckpt";
    assert_true(strlen(prefix) >= strlen(want));
    assert_string_equal(prefix + strlen(prefix) - strlen(want), want);
    free(prefix);
}

static void test_describe_step(void **state) {
    (void)state;
    const char *root = fixtures_or_skip();
    static const struct {
        const char *prefix;
        int64_t step;
        sc_step_source source;
    } k_cases[] = {
        {F01 "training_1/cp.ckpt", 2300, SC_STEP_OPTIMIZER_ITER},
        {F14 "keras_single_input_saved_model/variables/variables", 1, SC_STEP_OPTIMIZER_ITER},
    };
    for (size_t i = 0; i < sizeof k_cases / sizeof k_cases[0]; i++) {
        char prefix[4096];
        sc_error err;
        sc_bundle *b = NULL;
        sc_ckpt_info info;
        join(prefix, sizeof prefix, root, k_cases[i].prefix);
        if (sc_bundle_open(prefix, &b, &err) != SC_OK) fail_msg("open %s: %s", prefix, err.message);
        if (sc_ckpt_describe(b, &info, &err) != SC_OK)
            fail_msg("describe %s: %s", prefix, err.message);
        assert_int_equal(info.step, k_cases[i].step);
        assert_int_equal(info.step_source, k_cases[i].source);
        assert_int_equal(info.has_object_graph, 1);
        sc_bundle_free(b);
    }
}

int main(void) {
    struct CMUnitTest tests[N_BUNDLES + N_INDEX_ONLY + 3];
    size_t n = 0;
    tests[n++] =
        (struct CMUnitTest){"every_tsv_is_mapped", test_every_tsv_is_mapped, NULL, NULL, NULL};
    for (size_t i = 0; i < N_BUNDLES; i++)
        tests[n++] =
            (struct CMUnitTest){k_bundles[i].tsv, test_bundle, NULL, NULL, (void *)&k_bundles[i]};
    for (size_t i = 0; i < N_INDEX_ONLY; i++)
        tests[n++] = (struct CMUnitTest){k_index_only[i].prefix, test_index_only, NULL, NULL,
                                         (void *)&k_index_only[i]};
    tests[n++] = (struct CMUnitTest){"state_names_missing_prefix", test_state_names_missing_prefix,
                                     NULL, NULL, NULL};
    tests[n++] = (struct CMUnitTest){"describe_step", test_describe_step, NULL, NULL, NULL};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
