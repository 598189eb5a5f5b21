/* tests/unit/test_report.c — downsampling (report/downsample.h) and the HTML page of
 * sc_report_render: charts per tag, points per run, checkpoint names from the journal, the best
 * ring, the log toggle, NaN, warnings, the page budget, nothing loaded from the network. */
#include <ftw.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "report/downsample.h"
#include "sidecar/report.h"
#include "sidecar/summary.h"

static void test_downsample(void **state) {
    (void)state;
    size_t idx[1000], idx2[1000];
    assert_int_equal(sc_downsample(5, 10, 1, idx), 5);
    for (size_t i = 0; i < 5; i++) assert_int_equal(idx[i], i);
    assert_int_equal(sc_downsample(10000, 100, 7, idx), 100);
    assert_int_equal(idx[0], 0);
    assert_int_equal(idx[99], 9999);
    for (size_t i = 1; i < 100; i++) assert_true(idx[i] > idx[i - 1]);
    assert_int_equal(sc_downsample(10000, 100, 7, idx2), 100);
    assert_memory_equal(idx, idx2, sizeof idx[0] * 100); /* deterministic */
    sc_downsample(10000, 100, 8, idx2);
    assert_memory_not_equal(idx, idx2, sizeof idx[0] * 100); /* the seed matters */
    /* Uniform: over many seeds every interior decile gets about a tenth. */
    size_t bins[10] = {0};
    for (uint64_t seed = 0; seed < 200; seed++) {
        sc_downsample(1000, 52, seed, idx);
        for (size_t i = 1; i < 51; i++) bins[(idx[i] - 1) * 10 / 998]++;
    }
    for (int b = 0; b < 10; b++) assert_in_range(bins[b], 800, 1200); /* expected 1000 */
    assert_int_equal(sc_downsample(10, 1, 0, idx), 2);                /* first and last at least */
    assert_int_equal(idx[1], 9);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static double clk(void *ctx) { return *(double *)ctx; }

static void write_run(const char *dir, const char *tag, int n, double (*f)(int), int nan_at) {
    double t = 1700000000.0;
    sc_summary_writer_params p = sc_summary_writer_default_params();
    p.hostname = "test";
    p.clock = clk;
    p.clock_ctx = &t;
    sc_summary_writer *w;
    assert_int_equal(sc_summary_writer_create(dir, &p, &w, NULL), SC_OK);
    for (int i = 0; i < n; i++)
        assert_int_equal(sc_summary_write_scalar(w, tag, (int64_t)(i + 1) * 32,
                                                 i == nan_at ? NAN : (float)f(i), t + i, NULL),
                         SC_OK);
    sc_summary_writer_free(w);
}

static double decay(int i) { return 2.0 * exp(-0.5 * i); } /* spans decades */
static double rising(int i) { return 0.3 + 0.05 * i; }

static size_t count(const char *s, const char *needle) {
    size_t n = 0;
    for (const char *p = s; (p = strstr(p, needle)); p += strlen(needle)) n++;
    return n;
}

/* The text of the element that starts at the first `start` after `from`, up to `end`. */
static char *slice(const char *from, const char *start, const char *end) {
    const char *a = strstr(from, start);
    assert_non_null(a);
    const char *b = strstr(a, end);
    assert_non_null(b);
    return strndup(a, (size_t)(b - a));
}

static void test_page(void **state) {
    (void)state;
    char dir[] = "/tmp/sc_report_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char sub[256], path[300];
    snprintf(sub, sizeof sub, "%s/validation", dir);
    write_run(sub, "evaluation_loss_vs_iterations", 12, decay, -1);
    snprintf(sub, sizeof sub, "%s/validation_b", dir);
    write_run(sub, "evaluation_loss_vs_iterations", 8, decay, 3);
    snprintf(sub, sizeof sub, "%s/keras/validation", dir);
    write_run(sub, "evaluation_accuracy_vs_iterations", 10, rising, -1);
    /* The journal names the checkpoints of validation/ and validation_b/. */
    snprintf(path, sizeof path, "%s/sidecar_journal.jsonl", dir);
    FILE *j = fopen(path, "w");
    assert_non_null(j);
    for (int i = 0; i < 12; i++)
        fprintf(j, "{\"checkpoint\": \"ckpt-%d\", \"step\": %d, \"metrics\": {}}\n", i + 1,
                (i + 1) * 32);
    fclose(j);
    /* A corrupt event file in its own run. */
    snprintf(sub, sizeof sub, "%s/broken", dir);
    mkdir(sub, 0755);
    snprintf(path, sizeof path, "%s/events.out.tfevents.1700000000.x", sub);
    j = fopen(path, "w");
    fputs("this is not a TFRecord file", j);
    fclose(j);

    sc_report_params p = sc_report_default_params();
    p.monitor = "accuracy";
    char *html;
    size_t len;
    sc_report_stats st;
    assert_int_equal(sc_report_render(dir, &p, &html, &len, &st, NULL), SC_OK);
    assert_int_equal(strlen(html), len);
    assert_int_equal(st.runs, 4);
    assert_int_equal(st.charts, 2);
    assert_int_equal(st.series, 3);
    assert_int_equal(st.points_read, 30);
    assert_int_equal(st.points_drawn, 30);
    assert_int_equal(st.warnings, 1);
    assert_non_null(strstr(html, "events.out.tfevents.1700000000.x")); /* the warning names it */
    /* Self-contained: no URL, no external script, style or font. */
    assert_null(strstr(html, "http://"));
    assert_null(strstr(html, "https://"));
    assert_null(strstr(html, "<script"));
    assert_null(strstr(html, "@import"));
    assert_null(strstr(html, "url("));
    assert_null(strstr(html, "http-equiv=\"refresh\""));

    /* The loss chart: two runs, 12 and 8 points, checkpoint names, a NaN, a log toggle. */
    char *loss = slice(html, "data-tag=\"evaluation_loss_vs_iterations\"", "</section>");
    char *lin = slice(loss, "<svg class=\"plot lin\"", "</svg>");
    char *v = slice(lin, "data-run=\"validation\"", "</g>");
    assert_non_null(strstr(v, "data-n=\"12\""));
    assert_int_equal(count(v, "<circle"), 12);
    assert_non_null(strstr(v, "checkpoint ckpt-12</title>"));
    free(v);
    v = slice(lin, "data-run=\"validation_b\"", "</g>");
    assert_int_equal(count(v, "<circle"), 8);
    assert_int_equal(count(v, "class=\"nan\""), 1);
    assert_non_null(strstr(v, "step 128: NaN"));
    free(v);
    assert_non_null(strstr(loss, "class=\"logt\"")); /* 2 .. 0.008 spans decades */
    assert_non_null(strstr(loss, "<svg class=\"plot log\""));
    assert_null(strstr(loss, "class=\"best\"")); /* monitor is accuracy */
    free(lin);
    free(loss);

    /* The accuracy chart: best ring at the highest value, no log toggle. */
    char *acc = slice(html, "data-tag=\"evaluation_accuracy_vs_iterations\"", "</section>");
    assert_null(strstr(acc, "class=\"logt\""));
    assert_int_equal(count(acc, "class=\"best\""), 1);
    assert_non_null(
        strstr(acc, "best (highest) "
                    "evaluation_accuracy_vs_iterations&#10;keras/validation&#10;step 320: 0.75"));
    free(acc);
    /* The table: latest and best per run and tag. */
    assert_non_null(strstr(html, "<td class=\"num\">0.75</td><td class=\"num\">320</td>"));
    free(html);

    /* The page budget: at most max_points per series. */
    p.max_points = 5;
    p.refresh_s = 5;
    assert_int_equal(sc_report_render(dir, &p, &html, &len, &st, NULL), SC_OK);
    assert_int_equal(st.points_read, 30);
    assert_int_equal(st.points_drawn, 15);
    assert_non_null(strstr(html, "<meta http-equiv=\"refresh\" content=\"5\">"));
    free(html);

    /* Atomic write, and errors. */
    snprintf(path, sizeof path, "%s/out.html", dir);
    assert_int_equal(sc_report_write(dir, path, NULL, NULL, NULL), SC_OK);
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    assert_true(sb.st_size > 1000);
    sc_error err;
    assert_int_equal(sc_report_render("/nonexistent/logs", NULL, &html, &len, NULL, &err),
                     SC_NOT_FOUND);
    assert_non_null(strstr(err.message, "/nonexistent/logs"));
    assert_int_equal(sc_report_write(dir, "/nonexistent/dir/r.html", NULL, NULL, &err), SC_IO);
    assert_non_null(strstr(err.message, "/nonexistent/dir/r.html"));
    nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_downsample),
        cmocka_unit_test(test_page),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
