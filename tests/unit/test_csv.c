/* tests/unit/test_csv.c — CSV reader: quoting, line endings, column selection, labels,
 * rewinding and the message for a bad cell. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>

#include "sidecar/data.h"
#include "unit/data_testutil.h"

static char *g_dir;
static char g_path[600];

static int setup(void **state) {
    (void)state;
    g_dir = tu_mkdtemp();
    if (!g_dir) return -1;
    tu_path(g_path, sizeof g_path, g_dir, "t.csv");
    return 0;
}

static int teardown(void **state) {
    (void)state;
    tu_rmdir(g_dir);
    return 0;
}

static sc_csv_reader *open_csv(const char *text, const sc_csv_params *p) {
    assert_int_equal(tu_write(g_path, text, strlen(text)), 0);
    sc_csv_reader *r;
    sc_error err;
    sc_status s = sc_csv_reader_create(g_path, p, &r, &err);
    if (s != SC_OK) fail_msg("%s", err.message);
    return r;
}

static void expect_row(sc_csv_reader *r, const double *want, size_t n, double label,
                       uint64_t line) {
    const double *v;
    double l = -999;
    sc_error err;
    sc_status s = sc_csv_reader_next(r, &v, &l, &err);
    if (s != SC_OK) fail_msg("%s", err.message);
    assert_non_null(v);
    for (size_t i = 0; i < n; i++) assert_true(v[i] == want[i] || (isnan(v[i]) && isnan(want[i])));
    if (!isnan(label)) assert_true(l == label);
    assert_int_equal(sc_csv_reader_line(r), line);
}

static void expect_end(sc_csv_reader *r) {
    const double *v = (const double *)1;
    sc_error err;
    assert_int_equal(sc_csv_reader_next(r, &v, NULL, &err), SC_OK);
    assert_null(v);
}

static void test_quotes_and_line_endings(void **state) {
    (void)state;
    /* Quoted delimiters, doubled quotes, a quoted newline, CRLF, a blank line, a BOM and no
     * newline at the end. Name is never parsed as a number. */
    const char *text = "\xef\xbb\xbfId,Name,Fare,Survived\r\n"
                       "1,\"Braund, Mr. Owen \"\"Harris\"\"\",7.25,0\r\n"
                       "\r\n"
                       "2,\"two\nlines\",71.2833,1\r\n"
                       "3,plain,  8.05 ,1\n"
                       "4,\"\",1e3,0";
    static const char *const cols[] = {"Fare", "Id"};
    sc_csv_params p = sc_csv_default_params();
    p.columns = cols;
    p.num_columns = 2;
    p.label_column = "Survived";
    sc_csv_reader *r = open_csv(text, &p);
    assert_int_equal(sc_csv_reader_num_columns(r), 2);
    assert_string_equal(sc_csv_reader_column_name(r, 0), "Fare");
    assert_string_equal(sc_csv_reader_column_name(r, 1), "Id");
    assert_null(sc_csv_reader_column_name(r, 2));
    for (int pass = 0; pass < 2; pass++) {
        expect_row(r, (const double[]){7.25, 1}, 2, 0, 2);
        expect_row(r, (const double[]){71.2833, 2}, 2, 1, 4);
        expect_row(r, (const double[]){8.05, 3}, 2, 1, 6);
        expect_row(r, (const double[]){1000, 4}, 2, 0, 7);
        expect_end(r);
        expect_end(r);
        sc_error err;
        assert_int_equal(sc_csv_reader_rewind(r, &err), SC_OK);
    }
    sc_csv_reader_free(r);
}

static void test_default_columns(void **state) {
    (void)state;
    /* No column list: every column but the label, in header order. Tab delimiter. */
    sc_csv_params p = sc_csv_default_params();
    p.delimiter = '\t';
    p.label_column = "y";
    sc_csv_reader *r = open_csv("a\ty\tb\n1\t0\t-2.5\n", &p);
    assert_int_equal(sc_csv_reader_num_columns(r), 2);
    assert_string_equal(sc_csv_reader_column_name(r, 1), "b");
    expect_row(r, (const double[]){1, -2.5}, 2, 0, 2);
    expect_end(r);
    sc_csv_reader_free(r);
    /* No label, defaults: all columns. */
    r = open_csv("a,b\n\"3\",4\n", NULL);
    assert_int_equal(sc_csv_reader_num_columns(r), 2);
    expect_row(r, (const double[]){3, 4}, 2, NAN, 2);
    expect_end(r);
    sc_csv_reader_free(r);
    sc_csv_reader_free(NULL);
}

static void test_empty_cells(void **state) {
    (void)state;
    sc_csv_params p = sc_csv_default_params();
    sc_error err;
    const double *v;
    sc_csv_reader *r = open_csv("a,b\n1,\n", &p);
    assert_int_equal(sc_csv_reader_next(r, &v, NULL, &err), SC_INVALID_ARGUMENT);
    char want[800];
    snprintf(want, sizeof want, "%s: line 2, column 'b': expected a number, found ''", g_path);
    assert_string_equal(err.message, want);
    sc_csv_reader_free(r);
    p.allow_empty = 1;
    p.empty_value = -1;
    r = open_csv("a,b\n1,\n,2", &p);
    expect_row(r, (const double[]){1, -1}, 2, NAN, 2);
    expect_row(r, (const double[]){-1, 2}, 2, NAN, 3);
    expect_end(r);
    sc_csv_reader_free(r);
}

static void test_bad_input(void **state) {
    (void)state;
    sc_error err;
    const double *v;
    char want[800];
    sc_csv_reader *r = open_csv("a,b,c\n1,2,3\n4,x1,6\n7,8,9\n", NULL);
    expect_row(r, (const double[]){1, 2, 3}, 3, NAN, 2);
    assert_int_equal(sc_csv_reader_next(r, &v, NULL, &err), SC_INVALID_ARGUMENT);
    assert_null(v);
    snprintf(want, sizeof want, "%s: line 3, column 'b': expected a number, found 'x1'", g_path);
    assert_string_equal(err.message, want);
    expect_row(r, (const double[]){7, 8, 9}, 3, NAN, 4); /* the next row still reads */
    sc_csv_reader_free(r);

    r = open_csv("a,b\n1,2,3\n", NULL);
    assert_int_equal(sc_csv_reader_next(r, &v, NULL, &err), SC_INVALID_ARGUMENT);
    assert_non_null(strstr(err.message, "line 2 has 3 fields, the header has 2"));
    sc_csv_reader_free(r);

    r = open_csv("a,b\n1,\"2\n", NULL);
    assert_int_equal(sc_csv_reader_next(r, &v, NULL, &err), SC_DATA_LOSS);
    assert_non_null(strstr(err.message, "line 2: quoted field never closed"));
    sc_csv_reader_free(r);

    r = open_csv("a,b\n1,\"2\"x\n", NULL);
    assert_int_equal(sc_csv_reader_next(r, &v, NULL, &err), SC_DATA_LOSS);
    assert_non_null(strstr(err.message, "after a closing quote"));
    sc_csv_reader_free(r);

    sc_csv_params p = sc_csv_default_params();
    static const char *const cols[] = {"a", "nope"};
    p.columns = cols;
    p.num_columns = 2;
    assert_int_equal(tu_write(g_path, "a,b\n1,2\n", 8), 0);
    assert_int_equal(sc_csv_reader_create(g_path, &p, &r, &err), SC_INVALID_ARGUMENT);
    assert_null(r);
    assert_non_null(strstr(err.message, "no column 'nope' (columns present: a, b)"));
    assert_int_equal(tu_write(g_path, "", 0), 0);
    assert_int_equal(sc_csv_reader_create(g_path, NULL, &r, &err), SC_INVALID_ARGUMENT);
    tu_path(want, sizeof want, g_dir, "missing.csv");
    assert_int_equal(sc_csv_reader_create(want, NULL, &r, &err), SC_NOT_FOUND);
}

static void test_long_rows(void **state) {
    (void)state;
    /* Rows longer than the read buffer, and many columns: buffers grow and are reused. */
    size_t cols = 3000, cap = cols * 12 + 64;
    char *text = malloc(cap * 3);
    assert_non_null(text);
    size_t n = 0;
    for (size_t c = 0; c < cols; c++) n += (size_t)sprintf(text + n, c ? ",c%zu" : "c%zu", c);
    text[n++] = '\n';
    for (int row = 0; row < 2; row++) {
        for (size_t c = 0; c < cols; c++)
            n += (size_t)sprintf(text + n, c ? ",%zu.5" : "%zu.5", c * 10 + (size_t)row);
        text[n++] = '\n';
    }
    text[n] = '\0';
    sc_csv_reader *r = open_csv(text, NULL);
    assert_int_equal(sc_csv_reader_num_columns(r), cols);
    for (int row = 0; row < 2; row++) {
        const double *v;
        sc_error err;
        assert_int_equal(sc_csv_reader_next(r, &v, NULL, &err), SC_OK);
        assert_non_null(v);
        for (size_t c = 0; c < cols; c++) assert_true(v[c] == (double)(c * 10 + (size_t)row) + 0.5);
    }
    expect_end(r);
    sc_csv_reader_free(r);
    free(text);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quotes_and_line_endings),
        cmocka_unit_test(test_default_columns),
        cmocka_unit_test(test_empty_cells),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_long_rows),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
