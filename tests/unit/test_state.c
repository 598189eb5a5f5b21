/* The `checkpoint` state file (FORMATS §2.1), latest_checkpoint (§2.3), resolving user paths
 * and checkpoint numbers (§10.1). */
#include <dirent.h>
#include <ftw.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "sidecar/checkpoint.h"
#include "sidecar/ckpt_ref.h"
#include "core/fileio.h"

/* ---- helpers ------------------------------------------------------------------------------- */

static char *make_tmpdir(void) {
    char tmpl[] = "/tmp/sc_test_state.XXXXXX";
    char *d = mkdtemp(tmpl);
    assert_non_null(d);
    return strdup(d);
}

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb, (void)flag, (void)ftw;
    return remove(p);
}

static void rm_rf(char *dir) {
    assert_int_equal(nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS), 0);
    free(dir);
}

static void write_text(const char *dir, const char *name, const char *text) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
    assert_int_equal(fclose(f), 0);
}

static char *read_text(const char *path) {
    uint8_t *data = NULL;
    size_t len = 0;
    assert_int_equal(sc_read_file(path, &data, &len, NULL), SC_OK);
    return (char *)data;
}

static sc_status parse(const char *text, sc_ckpt_state *st, sc_error *err) {
    return sc_ckpt_state_parse(text, strlen(text), "ckpt/checkpoint", st, err);
}

static const char EXAMPLE[] = "model_checkpoint_path: \"ckpt-3\"\n"
                              "all_model_checkpoint_paths: \"ckpt-1\"\n"
                              "all_model_checkpoint_paths: \"ckpt-2\"\n"
                              "all_model_checkpoint_paths: \"ckpt-3\"\n"
                              "all_model_checkpoint_timestamps: 1700000000.123456\n"
                              "all_model_checkpoint_timestamps: 1700000100.5\n"
                              "all_model_checkpoint_timestamps: 1700000200.0\n"
                              "last_preserved_timestamp: 1699999999.0\n";

/* ---- parsing ------------------------------------------------------------------------------- */

static void test_parse_example(void **state) {
    (void)state;
    sc_ckpt_state st;
    sc_error err;
    assert_int_equal(parse(EXAMPLE, &st, &err), SC_OK);
    assert_string_equal(st.model_checkpoint_path, "ckpt-3");
    assert_int_equal(st.num_paths, 3);
    assert_string_equal(st.all_model_checkpoint_paths[0], "ckpt-1");
    assert_string_equal(st.all_model_checkpoint_paths[1], "ckpt-2");
    assert_string_equal(st.all_model_checkpoint_paths[2], "ckpt-3");
    assert_int_equal(st.num_timestamps, 3);
    assert_true(st.all_model_checkpoint_timestamps[0] == 1700000000.123456);
    assert_true(st.all_model_checkpoint_timestamps[1] == 1700000100.5);
    assert_true(st.all_model_checkpoint_timestamps[2] == 1700000200.0);
    assert_true(st.last_preserved_timestamp == 1699999999.0);
    sc_ckpt_state_clear(&st);
    assert_null(st.model_checkpoint_path);
    assert_int_equal(st.num_paths, 0);
}

static void test_parse_tolerances(void **state) {
    (void)state;
    sc_ckpt_state st;
    sc_error err;
    const char *text =
        "# written by hand\r\n"
        "  last_preserved_timestamp:-inf   # trailing comment\n"
        "all_model_checkpoint_timestamps:1.7e+09;"
        "all_model_checkpoint_timestamps :  inf , all_model_checkpoint_timestamps: -Infinity\n"
        "all_model_checkpoint_timestamps: nan all_model_checkpoint_timestamps: 5\n"
        "all_model_checkpoint_timestamps: .25 all_model_checkpoint_timestamps: 1.5f\n"
        "all_model_checkpoint_timestamps: [1e-3, 2E2]\n"
        "all_model_checkpoint_timestamps: []\n"
        "all_model_checkpoint_paths:'single'\n"
        "all_model_checkpoint_paths: [\"a\", 'b']\n"
        "model_checkpoint_path: \"first\"\n"
        "model_checkpoint_path:\n\n  'sec' \"ond\"   # adjacent literals concatenate\n"
        "last_preserved_timestamp: 42\n";
    assert_int_equal(parse(text, &st, &err), SC_OK);
    assert_string_equal(st.model_checkpoint_path, "second"); /* scalar: last wins */
    assert_int_equal(st.num_paths, 3);                       /* repeated: appends */
    assert_string_equal(st.all_model_checkpoint_paths[0], "single");
    assert_string_equal(st.all_model_checkpoint_paths[1], "a");
    assert_string_equal(st.all_model_checkpoint_paths[2], "b");
    assert_int_equal(st.num_timestamps, 9);
    const double *ts = st.all_model_checkpoint_timestamps;
    assert_true(ts[0] == 1.7e9);
    assert_true(isinf(ts[1]) && ts[1] > 0);
    assert_true(isinf(ts[2]) && ts[2] < 0);
    assert_true(isnan(ts[3]));
    assert_true(ts[4] == 5.0);
    assert_true(ts[5] == 0.25);
    assert_true(ts[6] == 1.5);
    assert_true(ts[7] == 1e-3);
    assert_true(ts[8] == 200.0);
    assert_true(st.last_preserved_timestamp == 42.0);
    sc_ckpt_state_clear(&st);

    /* An empty file (or only comments) is an empty state. */
    assert_int_equal(parse("  # nothing\n\n", &st, &err), SC_OK);
    assert_null(st.model_checkpoint_path);
    assert_int_equal(st.num_paths, 0);
    sc_ckpt_state_clear(&st);
}

static void test_parse_escapes(void **state) {
    (void)state;
    sc_ckpt_state st;
    sc_error err;
    const char *text = "model_checkpoint_path: \"\\101\\x42\\x4\\n\\t\\r\\'\\\"\\\\\\?\\a\\b\\f\\v"
                       "\\0011\\u00e9\\U0001F600'\"\n";
    assert_int_equal(parse(text, &st, &err), SC_OK);
    const char want[] = "AB\x04\n\t\r'\"\\?\a\b\f\v\001"
                        "1\xc3\xa9\xf0\x9f\x98\x80'";
    assert_string_equal(st.model_checkpoint_path, want);
    sc_ckpt_state_clear(&st);
    /* Inside single quotes a double quote needs no escape. */
    assert_int_equal(parse("model_checkpoint_path: 'a\"b'", &st, &err), SC_OK);
    assert_string_equal(st.model_checkpoint_path, "a\"b");
    sc_ckpt_state_clear(&st);
}

static void expect_error(const char *text, const char *needle) {
    sc_ckpt_state st;
    sc_error err;
    memset(&st, 0xAB, sizeof st); /* the parser must not read what was there */
    assert_int_equal(parse(text, &st, &err), SC_INVALID_ARGUMENT);
    assert_int_equal(err.status, SC_INVALID_ARGUMENT);
    if (!strstr(err.message, needle)) fail_msg("message '%s' lacks '%s'", err.message, needle);
    assert_null(st.model_checkpoint_path); /* left cleared */
    assert_int_equal(st.num_paths, 0);
}

static void test_parse_errors(void **state) {
    (void)state;
    expect_error("model_checkpoint_path: \"a\"\n\nbogus_field: 3\n",
                 "ckpt/checkpoint:3: unknown field 'bogus_field'");
    expect_error("model_checkpoint_path \"a\"", "ckpt/checkpoint:1: expected ':' after the field "
                                                "name, found '\"'");
    expect_error("model_checkpoint_path: \"abc", "ckpt/checkpoint:1: expected a closing \", "
                                                 "found end of file");
    expect_error("model_checkpoint_path: \"ab\nc\"", "expected a closing \", found end of line");
    expect_error("\n\nmodel_checkpoint_path: 12", "ckpt/checkpoint:3: expected a quoted string, "
                                                  "found '12'");
    expect_error("last_preserved_timestamp: \"1\"", "expected a number, found '\"'");
    expect_error("last_preserved_timestamp: 1.2.3", "expected a number, found '1.2.3'");
    expect_error("last_preserved_timestamp: abc", "expected a number, found 'abc'");
    expect_error("last_preserved_timestamp:", "expected a number, found end of file");
    expect_error("last_preserved_timestamp: [1]", "expected a number, found '['");
    expect_error("all_model_checkpoint_timestamps: [1 2]", "expected ',' or ']', found '2'");
    expect_error("all_model_checkpoint_timestamps: [1,", "expected a number, found end of file");
    expect_error("model_checkpoint_path: \"a\\qb\"", "expected a known escape");
    expect_error("model_checkpoint_path: \"\\400\"", "expected an octal escape of at most \\377");
    expect_error("model_checkpoint_path: \"\\xZZ\"", "expected hex digits after \\x");
    expect_error("model_checkpoint_path: \"\\u12\"", "expected a valid Unicode escape");
    expect_error("model_checkpoint_path: \"\\ud800\"", "expected a valid Unicode escape");
    expect_error("model_checkpoint_path: \"a\\000b\"", "model_checkpoint_path contains a NUL");
    expect_error(": \"a\"", "ckpt/checkpoint:1: expected a field name, found ':'");
    expect_error("model_checkpoint_path: \"a\" }", "expected a field name, found '}'");
    /* A NUL byte in the text itself. */
    sc_ckpt_state st;
    sc_error err;
    assert_int_equal(sc_ckpt_state_parse("model_checkpoint_path: \"a\"\0x", 28, "f", &st, &err),
                     SC_INVALID_ARGUMENT);
    assert_non_null(strstr(err.message, "f:1: expected a field name, found '\\x00'"));
}

/* ---- writing ------------------------------------------------------------------------------- */

static void test_write_example_exact(void **state) {
    (void)state;
    char *dir = make_tmpdir();
    sc_ckpt_state st;
    sc_error err;
    assert_int_equal(parse(EXAMPLE, &st, &err), SC_OK);
    assert_int_equal(sc_ckpt_state_write(dir, &st, &err), SC_OK);
    char path[4096];
    snprintf(path, sizeof path, "%s/checkpoint", dir);
    char *text = read_text(path);
    assert_string_equal(text, EXAMPLE);
    free(text);
    sc_ckpt_state_clear(&st);

    /* Keras save_weights form: no timestamps; proto3 defaults are omitted. Overwrites. */
    char *paths[] = {"cp.ckpt"};
    sc_ckpt_state k = {"cp.ckpt", paths, 1, NULL, 0, 0.0};
    assert_int_equal(sc_ckpt_state_write(dir, &k, &err), SC_OK);
    text = read_text(path);
    assert_string_equal(text, "model_checkpoint_path: \"cp.ckpt\"\n"
                              "all_model_checkpoint_paths: \"cp.ckpt\"\n");
    free(text);

    /* Atomic: only the final file remains in the directory. */
    DIR *d = opendir(dir);
    assert_non_null(d);
    int entries = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) continue;
        assert_string_equal(de->d_name, "checkpoint");
        entries++;
    }
    closedir(d);
    assert_int_equal(entries, 1);
    rm_rf(dir);
}

/* Writes one timestamp and returns what the writer printed for it. */
static void check_double_text(const char *dir, double v, const char *want) {
    sc_ckpt_state st = {NULL, NULL, 0, &v, 1, 0.0};
    sc_error err;
    assert_int_equal(sc_ckpt_state_write(dir, &st, &err), SC_OK);
    char path[4096], line[128];
    snprintf(path, sizeof path, "%s/checkpoint", dir);
    snprintf(line, sizeof line, "all_model_checkpoint_timestamps: %s\n", want);
    char *text = read_text(path);
    assert_string_equal(text, line);
    free(text);
}

static void test_write_doubles_like_python(void **state) {
    (void)state;
    char *dir = make_tmpdir();
    /* Expected strings are Python's repr() of the same doubles. */
    check_double_text(dir, 0.0, "0.0");
    check_double_text(dir, -0.0, "-0.0");
    check_double_text(dir, 100.0, "100.0");
    check_double_text(dir, -2.5, "-2.5");
    check_double_text(dir, 0.1, "0.1");
    check_double_text(dir, 1.0 / 3.0, "0.3333333333333333");
    check_double_text(dir, 0.0001, "0.0001");
    check_double_text(dir, 0.00001, "1e-05");
    check_double_text(dir, 1.234e-7, "1.234e-07");
    check_double_text(dir, 9999999999999998.0, "9999999999999998.0");
    check_double_text(dir, 1e16, "1e+16");
    check_double_text(dir, 123456789012345678.0, "1.2345678901234568e+17");
    check_double_text(dir, 1.5e300, "1.5e+300");
    check_double_text(dir, 5e-324, "5e-324");
    check_double_text(dir, 1700000000.123456, "1700000000.123456");
    check_double_text(dir, INFINITY, "inf");
    check_double_text(dir, -INFINITY, "-inf");
    check_double_text(dir, NAN, "nan");
    rm_rf(dir);
}

static void test_write_parse_round_trip(void **state) {
    (void)state;
    char *dir = make_tmpdir();
    /* Every non-NUL byte value in a path, and doubles across the whole range. */
    char all[256];
    for (int i = 1; i < 256; i++) all[i - 1] = (char)i;
    all[255] = '\0';
    char *paths[] = {all, "/abs/ckpt-1", "it's \"quoted\""};
    double ts[200];
    uint64_t x = 0x9E3779B97F4A7C15u; /* xorshift64*, fixed seed */
    for (size_t i = 0; i < 200; i++) {
        do {
            x ^= x >> 12, x ^= x << 25, x ^= x >> 27;
            uint64_t bits = x * 0x2545F4914F6CDD1Du;
            memcpy(&ts[i], &bits, sizeof bits);
        } while (isnan(ts[i]) || isinf(ts[i]));
    }
    sc_ckpt_state st = {all, paths, 3, ts, 200, 1699999999.25};
    sc_error err;
    assert_int_equal(sc_ckpt_state_write(dir, &st, &err), SC_OK);
    sc_ckpt_state back;
    assert_int_equal(sc_ckpt_state_read(dir, &back, &err), SC_OK);
    assert_string_equal(back.model_checkpoint_path, all);
    assert_int_equal(back.num_paths, 3);
    for (size_t i = 0; i < 3; i++)
        assert_string_equal(back.all_model_checkpoint_paths[i], paths[i]);
    assert_int_equal(back.num_timestamps, 200);
    assert_memory_equal(back.all_model_checkpoint_timestamps, ts, sizeof ts);
    assert_true(back.last_preserved_timestamp == 1699999999.25);
    sc_ckpt_state_clear(&back);
    rm_rf(dir);
}

/* ---- latest_checkpoint and resolve ---------------------------------------------------------- */

static void test_read_missing(void **state) {
    (void)state;
    char *dir = make_tmpdir();
    sc_ckpt_state st;
    sc_error err;
    assert_int_equal(sc_ckpt_state_read(dir, &st, &err), SC_NOT_FOUND);
    char want[8400];
    snprintf(want, sizeof want, "no checkpoint state file %s/checkpoint", dir);
    assert_string_equal(err.message, want);
    char *p = NULL;
    assert_int_equal(sc_latest_checkpoint(dir, &p, &err), SC_NOT_FOUND);
    assert_string_equal(err.message, want);
    assert_null(p);
    rm_rf(dir);
}

static void test_latest_checkpoint(void **state) {
    (void)state;
    char *dir = make_tmpdir();
    char *p = NULL;
    sc_error err;
    char want[8400];

    /* Relative: joined to the directory, accepted because the .index exists. */
    write_text(dir, "checkpoint", "model_checkpoint_path: \"ckpt-3\"\n");
    write_text(dir, "ckpt-3.index", "");
    assert_int_equal(sc_latest_checkpoint(dir, &p, &err), SC_OK);
    snprintf(want, sizeof want, "%s/ckpt-3", dir);
    assert_string_equal(p, want);
    free(p);

    /* Absolute: kept as written. */
    char text[4400];
    snprintf(text, sizeof text, "model_checkpoint_path: \"%s/ckpt-3\"\n", dir);
    write_text(dir, "checkpoint", text);
    assert_int_equal(sc_latest_checkpoint(dir, &p, &err), SC_OK);
    assert_string_equal(p, want);
    free(p);
    write_text(dir, "checkpoint", "model_checkpoint_path: \"/nonexistent/machine/ckpt-3\"\n");
    assert_int_equal(sc_latest_checkpoint(dir, &p, &err), SC_NOT_FOUND);
    assert_non_null(strstr(err.message, "/nonexistent/machine/ckpt-3.index does not exist"));

    /* A prefix without .index (only data written so far). */
    write_text(dir, "checkpoint", "model_checkpoint_path: \"ckpt-4\"\n");
    write_text(dir, "ckpt-4.data-00000-of-00001", "");
    assert_int_equal(sc_latest_checkpoint(dir, &p, &err), SC_NOT_FOUND);
    assert_null(p);
    snprintf(want, sizeof want, "%s/ckpt-4.index does not exist", dir);
    assert_non_null(strstr(err.message, want));

    /* Empty path and garbage. */
    write_text(dir, "checkpoint", "all_model_checkpoint_paths: \"ckpt-3\"\n");
    assert_int_equal(sc_latest_checkpoint(dir, &p, &err), SC_INVALID_ARGUMENT);
    assert_non_null(strstr(err.message, "model_checkpoint_path is empty"));
    write_text(dir, "checkpoint", "\x89PNG\r\n\x1a\n");
    assert_int_equal(sc_latest_checkpoint(dir, &p, &err), SC_INVALID_ARGUMENT);
    snprintf(want, sizeof want, "%s/checkpoint:1: expected a field name", dir);
    assert_non_null(strstr(err.message, want));
    assert_null(p);
    rm_rf(dir);
}

static void test_resolve(void **state) {
    (void)state;
    char *dir = make_tmpdir();
    char path[4096], want[8400];
    char *p = NULL;
    sc_error err;
    write_text(dir, "ckpt-7.index", "");
    mkdir(strcat(strcpy(path, dir), "/run"), 0700);
    write_text(path, "checkpoint", "model_checkpoint_path: \"../ckpt-7\"\n");
    mkdir(strcat(strcpy(path, dir), "/sm"), 0700);
    mkdir(strcat(strcpy(path, dir), "/sm/variables"), 0700);
    write_text(path, "variables.index", "");

    /* A prefix. */
    snprintf(path, sizeof path, "%s/ckpt-7", dir);
    assert_int_equal(sc_ckpt_resolve(path, &p, &err), SC_OK);
    assert_string_equal(p, path);
    free(p);
    /* The .index file itself. */
    snprintf(want, sizeof want, "%s/ckpt-7", dir);
    snprintf(path, sizeof path, "%s/ckpt-7.index", dir);
    assert_int_equal(sc_ckpt_resolve(path, &p, &err), SC_OK);
    assert_string_equal(p, want);
    free(p);
    /* A directory with a state file. */
    snprintf(path, sizeof path, "%s/run", dir);
    snprintf(want, sizeof want, "%s/run/../ckpt-7", dir);
    assert_int_equal(sc_ckpt_resolve(path, &p, &err), SC_OK);
    assert_string_equal(p, want);
    free(p);
    /* A SavedModel. */
    snprintf(path, sizeof path, "%s/sm", dir);
    snprintf(want, sizeof want, "%s/sm/variables/variables", dir);
    assert_int_equal(sc_ckpt_resolve(path, &p, &err), SC_OK);
    assert_string_equal(p, want);
    free(p);
    /* A directory whose state file names a missing checkpoint: that reason is reported. */
    snprintf(path, sizeof path, "%s/run", dir);
    write_text(path, "checkpoint", "model_checkpoint_path: \"gone-9\"\n");
    assert_int_equal(sc_ckpt_resolve(path, &p, &err), SC_NOT_FOUND);
    assert_non_null(strstr(err.message, "gone-9.index does not exist"));
    /* Nothing at all. */
    snprintf(path, sizeof path, "%s/nothing", dir);
    assert_int_equal(sc_ckpt_resolve(path, &p, &err), SC_NOT_FOUND);
    assert_null(p);
    snprintf(want, sizeof want, "%s: not a checkpoint (tried %s.index", path, path);
    assert_non_null(strstr(err.message, want));
    assert_non_null(strstr(err.message, "variables/variables.index"));
    snprintf(path, sizeof path, "%s/missing.index", dir);
    assert_int_equal(sc_ckpt_resolve(path, &p, &err), SC_NOT_FOUND);
    rm_rf(dir);
}

static void test_ckpt_number(void **state) {
    (void)state;
    assert_int_equal(sc_ckpt_number("ckpt-12"), 12);
    assert_int_equal(sc_ckpt_number("/runs/a/ckpt-3"), 3);
    assert_int_equal(sc_ckpt_number("ckpt"), -1);
    assert_int_equal(sc_ckpt_number("ckpt-"), -1);
    assert_int_equal(sc_ckpt_number("a-b-7"), 7);
    assert_int_equal(sc_ckpt_number("x-00012"), 12);
    assert_int_equal(sc_ckpt_number("x-0"), 0);
    assert_int_equal(sc_ckpt_number("cp-0050.ckpt"), -1); /* Keras' int() would raise */
    assert_int_equal(sc_ckpt_number("/runs/my-dir/ckpt"), -1);
    assert_int_equal(sc_ckpt_number("/runs/my-1/ckpt"), -1); /* a dash in a directory only */
    assert_int_equal(sc_ckpt_number("ckpt--5"), 5);
    assert_int_equal(sc_ckpt_number("ckpt-+5"), -1);
    assert_int_equal(sc_ckpt_number("ckpt- 5"), -1);
    assert_int_equal(sc_ckpt_number(""), -1);
    assert_int_equal(sc_ckpt_number("dir-3/"), -1);
    assert_int_equal(sc_ckpt_number("ckpt-9223372036854775807"), INT64_MAX);
    assert_int_equal(sc_ckpt_number("ckpt-9223372036854775808"), -1);
    assert_int_equal(sc_ckpt_number("ckpt-99999999999999999999999"), -1);
}

/* ---- real files ---------------------------------------------------------------------------- */

static const char *fixtures(void) {
    const char *f = getenv("SC_FIXTURES");
    struct stat sb;
    if (!f || stat(f, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        printf("SKIPPED: %s not found (conformance needs ../shared/fixtures)\n",
               f ? f : "$SC_FIXTURES");
        return NULL;
    }
    return f;
}

static void test_fixture_state_files(void **state) {
    (void)state;
    const char *fx = fixtures();
    if (!fx) skip();
    char dir[4096], want[8400];
    char *p = NULL;
    sc_error err;
    /* 01: the state file names cp.ckpt2, which is not there (a real case). */
    snprintf(dir, sizeof dir, "%s/01_spd3_titanic_cp_ckpt/training_1", fx);
    assert_int_equal(sc_latest_checkpoint(dir, &p, &err), SC_NOT_FOUND);
    snprintf(want, sizeof want, "%s/cp.ckpt2.index does not exist", dir);
    assert_non_null(strstr(err.message, want));
    snprintf(want, sizeof want, "%s/cp.ckpt", dir);
    assert_int_equal(sc_ckpt_resolve(want, &p, &err), SC_OK);
    assert_string_equal(p, want);
    free(p);
    /* 02: cp-0050.ckpt has its .index (data absent): latest_checkpoint accepts it, as TF does. */
    snprintf(dir, sizeof dir, "%s/02_nighthawks_tf_tutorial_cp_epoch/training_2", fx);
    assert_int_equal(sc_latest_checkpoint(dir, &p, &err), SC_OK);
    snprintf(want, sizeof want, "%s/cp-0050.ckpt", dir);
    assert_string_equal(p, want);
    assert_int_equal(sc_ckpt_number(p), -1);
    free(p);
    /* 05: a SavedModel directory. */
    snprintf(dir, sizeof dir,
             "%s/05_tf_serving_testdata_savedmodels/"
             "saved_model_half_plus_two_tf2_cpu/00000123",
             fx);
    assert_int_equal(sc_ckpt_resolve(dir, &p, &err), SC_OK);
    snprintf(want, sizeof want, "%s/variables/variables", dir);
    assert_string_equal(p, want);
    free(p);
}

/* ---- the typed checkpoint reference (one classification for the whole program) ---------- */

static void test_ckpt_kinds(void **state) {
    (void)state;
    assert_int_equal(sc_ckpt_file_kind("a/ckpt-3.weights.h5"), SC_CKPT_KERAS_WEIGHTS);
    assert_int_equal(sc_ckpt_file_kind("ckpt-3.h5"), SC_CKPT_LEGACY_H5);
    assert_int_equal(sc_ckpt_file_kind("m.hdf5"), SC_CKPT_LEGACY_H5);
    assert_int_equal(sc_ckpt_file_kind("m.keras"), SC_CKPT_KERAS_ARCHIVE);
    assert_int_equal(sc_ckpt_file_kind("m.safetensors"), SC_CKPT_SAFETENSORS);
    assert_int_equal(sc_ckpt_file_kind("ckpt-3"), SC_CKPT_NONE);
    assert_int_equal(sc_ckpt_file_kind("ckpt-3.index"), SC_CKPT_NONE);
    assert_int_equal(sc_ckpt_file_kind("ckpt-3.h5.tmp"), SC_CKPT_NONE);
    assert_string_equal(sc_ckpt_file_ext("x-1.weights.h5"), ".weights.h5");
    assert_int_equal(sc_ckpt_ref_number(SC_CKPT_KERAS_WEIGHTS, "d/ckpt-12.weights.h5"), 12);
    assert_int_equal(sc_ckpt_ref_number(SC_CKPT_LEGACY_H5, "d/ckpt-07.h5"), 7);
    assert_int_equal(sc_ckpt_ref_number(SC_CKPT_SAVED_MODEL, "d/ckpt-05/"), 5);
    assert_int_equal(sc_ckpt_ref_number(SC_CKPT_BUNDLE, "d/ckpt-9"), 9);
    assert_int_equal(sc_ckpt_ref_number(SC_CKPT_BUNDLE, "d/cp-0050.ckpt"), -1);
    assert_int_equal(sc_ckpt_ref_number(SC_CKPT_SAFETENSORS, ".safetensors"), -1);
    assert_string_equal(sc_ckpt_kind_name(SC_CKPT_SAVED_MODEL), "saved_model");
}

static void test_ckpt_ref_resolve(void **state) {
    (void)state;
    char *dir = make_tmpdir();
    char path[4096];
    sc_ckpt_ref ref;
    sc_error err;
    /* A weight file: classified by its name, but it must exist. */
    snprintf(path, sizeof path, "%s/ckpt-4.h5", dir);
    assert_int_equal(sc_ckpt_ref_resolve(path, &ref, &err), SC_NOT_FOUND);
    assert_non_null(strstr(err.message, "ckpt-4.h5"));
    write_text(dir, "ckpt-4.h5", "HDF");
    assert_int_equal(sc_ckpt_ref_resolve(path, &ref, &err), SC_OK);
    assert_int_equal(ref.kind, SC_CKPT_LEGACY_H5);
    assert_int_equal(ref.number, 4);
    assert_string_equal(ref.path, path);
    sc_ckpt_ref_clear(&ref);
    assert_null(ref.path);
    /* A SavedModel directory (trailing '/' dropped) and its bundle prefix. */
    snprintf(path, sizeof path, "%s/ckpt-06", dir);
    assert_int_equal(mkdir(path, 0755), 0);
    snprintf(path, sizeof path, "%s/ckpt-06/variables", dir);
    assert_int_equal(mkdir(path, 0755), 0);
    write_text(path, "variables.index", "idx");
    snprintf(path, sizeof path, "%s/ckpt-06", dir);
    write_text(path, "saved_model.pb", "pb");
    snprintf(path, sizeof path, "%s/ckpt-06/", dir);
    assert_int_equal(sc_ckpt_ref_resolve(path, &ref, &err), SC_OK);
    assert_int_equal(ref.kind, SC_CKPT_SAVED_MODEL);
    assert_int_equal(ref.number, 6);
    snprintf(path, sizeof path, "%s/ckpt-06", dir);
    assert_string_equal(ref.path, path);
    char *prefix;
    assert_int_equal(sc_ckpt_ref_bundle_prefix(&ref, &prefix, &err), SC_OK);
    snprintf(path, sizeof path, "%s/ckpt-06/variables/variables", dir);
    assert_string_equal(prefix, path);
    free(prefix);
    sc_ckpt_ref_clear(&ref);
    /* A prefix: a bundle; a weight file has no bundle prefix. */
    write_text(dir, "ckpt-8.index", "idx");
    snprintf(path, sizeof path, "%s/ckpt-8", dir);
    assert_int_equal(sc_ckpt_ref_resolve(path, &ref, &err), SC_OK);
    assert_int_equal(ref.kind, SC_CKPT_BUNDLE);
    assert_int_equal(ref.number, 8);
    sc_ckpt_ref_clear(&ref);
    sc_ckpt_ref w = {SC_CKPT_SAFETENSORS, "x.safetensors", -1};
    assert_int_equal(sc_ckpt_ref_bundle_prefix(&w, &prefix, &err), SC_INVALID_ARGUMENT);
    rm_rf(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_example),
        cmocka_unit_test(test_parse_tolerances),
        cmocka_unit_test(test_parse_escapes),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_write_example_exact),
        cmocka_unit_test(test_write_doubles_like_python),
        cmocka_unit_test(test_write_parse_round_trip),
        cmocka_unit_test(test_read_missing),
        cmocka_unit_test(test_latest_checkpoint),
        cmocka_unit_test(test_resolve),
        cmocka_unit_test(test_ckpt_number),
        cmocka_unit_test(test_ckpt_kinds),
        cmocka_unit_test(test_ckpt_ref_resolve),
        cmocka_unit_test(test_fixture_state_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
