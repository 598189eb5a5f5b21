/* tests/unit/test_events_reader.c — reading scalars from TensorBoard event files
 * (sidecar/events.h): both scalar forms, skipped non-scalars, TensorBoard's orphan purge,
 * several files in name order, a truncated or corrupt record, NaN, the reservoir, and the real
 * Keras / TF1 files of ../shared/fixtures (cases 07 and 12). */
#include <dirent.h>
#include <ftw.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "core/pb.h"
#include "core/record.h"
#include "sidecar/events.h"
#include "summary/event.h"
#include "summary/reader_internal.h"
#include "support/ckpt_fixture.h"

/* ---- building event streams ---- */

static void frame(sc_pb_buf *out, sc_pb_buf *ev) {
    uint8_t h[SC_RECORD_HEADER_SIZE], f[SC_RECORD_FOOTER_SIZE];
    sc_record_frame(h, f, ev->data, ev->len);
    sc_pb_put_bytes(out, h, sizeof h);
    sc_pb_put_bytes(out, ev->data, ev->len);
    sc_pb_put_bytes(out, f, sizeof f);
    ev->len = 0;
}

static void file_version(sc_pb_buf *out, const char *v) {
    sc_pb_buf ev = {0};
    sc_pb_put_double(&ev, 1, 1700000000.0);
    sc_pb_put_str(&ev, 3, v);
    frame(out, &ev);
    sc_pb_buf_free(&ev);
}

static void tensor_scalar(sc_pb_buf *out, int64_t step, const char *tag, float v) {
    sc_pb_buf ev = {0};
    sc_event_encode_scalar(&ev, 1700000001.0 + (double)step, step, tag, v);
    frame(out, &ev);
    sc_pb_buf_free(&ev);
}

/* TF1 simple_value; node_name adds a field the byte-compare fast path does not know, so the
 * general decoder reads it. */
static void simple_scalar(sc_pb_buf *out, int64_t step, const char *tag, float v, int node_name) {
    sc_pb_buf ev = {0};
    sc_pb_put_double(&ev, 1, 1700000001.0);
    if (step) sc_pb_put_int(&ev, 2, step);
    size_t sum = sc_pb_begin_sub(&ev, 5), val = sc_pb_begin_sub(&ev, 1);
    sc_pb_put_str(&ev, 1, tag);
    sc_pb_put_float(&ev, 2, v);
    if (node_name) sc_pb_put_str(&ev, 7, "node");
    sc_pb_end_sub(&ev, val);
    sc_pb_end_sub(&ev, sum);
    frame(out, &ev);
    sc_pb_buf_free(&ev);
}

/* A tensor value: rank 0 or 1, float_val form, optional plugin. */
static void tensor_value(sc_pb_buf *out, int64_t step, const char *tag, float v, int rank,
                         const char *plugin) {
    sc_pb_buf ev = {0};
    sc_pb_put_int(&ev, 2, step);
    size_t sum = sc_pb_begin_sub(&ev, 5), val = sc_pb_begin_sub(&ev, 1);
    sc_pb_put_str(&ev, 1, tag);
    size_t t = sc_pb_begin_sub(&ev, 8);
    sc_pb_put_uint(&ev, 1, 1);
    size_t sh = sc_pb_begin_sub(&ev, 2);
    if (rank) {
        size_t d = sc_pb_begin_sub(&ev, 2);
        sc_pb_put_uint(&ev, 1, 1);
        sc_pb_end_sub(&ev, d);
    }
    sc_pb_end_sub(&ev, sh);
    size_t fv = sc_pb_begin_sub(&ev, 5);
    uint32_t bits;
    memcpy(&bits, &v, 4);
    sc_pb_put_fixed32(&ev, bits);
    sc_pb_end_sub(&ev, fv);
    sc_pb_end_sub(&ev, t);
    if (plugin) {
        size_t m = sc_pb_begin_sub(&ev, 9), pd = sc_pb_begin_sub(&ev, 1);
        sc_pb_put_str(&ev, 1, plugin);
        sc_pb_end_sub(&ev, pd);
        sc_pb_end_sub(&ev, m);
    }
    sc_pb_end_sub(&ev, val);
    sc_pb_end_sub(&ev, sum);
    frame(out, &ev);
    sc_pb_buf_free(&ev);
}

static void histogram(sc_pb_buf *out, int64_t step, const char *tag) {
    sc_pb_buf ev = {0};
    sc_pb_put_int(&ev, 2, step);
    size_t sum = sc_pb_begin_sub(&ev, 5), val = sc_pb_begin_sub(&ev, 1);
    sc_pb_put_str(&ev, 1, tag);
    size_t h = sc_pb_begin_sub(&ev, 5);
    sc_pb_put_double(&ev, 1, 0.0);
    sc_pb_end_sub(&ev, h);
    sc_pb_end_sub(&ev, val);
    sc_pb_end_sub(&ev, sum);
    frame(out, &ev);
    sc_pb_buf_free(&ev);
}

static void session_start(sc_pb_buf *out, int64_t step) {
    sc_pb_buf ev = {0};
    sc_pb_put_int(&ev, 2, step);
    size_t sl = sc_pb_begin_sub(&ev, 7);
    sc_pb_put_uint(&ev, 1, 1);
    sc_pb_end_sub(&ev, sl);
    frame(out, &ev);
    sc_pb_buf_free(&ev);
}

static sc_scalars *decode(const sc_pb_buf *b, const sc_events_params *p) {
    sc_scalars *s = NULL;
    assert_int_equal(sc_scalars_create(p, &s, NULL), SC_OK);
    assert_int_equal(sc_scalars_decode(s, "mem", b->data, b->len, NULL), SC_OK);
    return s;
}

static sc_scalar_series find(const sc_scalars *s, const char *tag) {
    for (size_t i = 0; i < sc_scalars_num_series(s); i++)
        if (!strcmp(sc_scalars_series(s, i).tag, tag)) return sc_scalars_series(s, i);
    fail_msg("tag %s not found", tag);
    sc_scalar_series none = {0};
    return none;
}

/* ---- tests ---- */

static void test_both_forms(void **state) {
    (void)state;
    sc_pb_buf b = {0};
    file_version(&b, "brain.Event:2");
    tensor_scalar(&b, 0, "epoch_loss", 0.5f);
    simple_scalar(&b, 0, "loss", 0.25f, 0);
    tensor_scalar(&b, 7, "epoch_loss", 0.375f);
    simple_scalar(&b, 9, "loss", 0.125f, 1);              /* general path */
    tensor_value(&b, 11, "epoch_loss", 0.3125f, 0, NULL); /* float_val form, general path */
    sc_scalars *s = decode(&b, NULL);
    assert_int_equal(sc_scalars_num_series(s), 2);
    assert_string_equal(sc_scalars_series(s, 0).tag, "epoch_loss"); /* order of appearance */
    sc_scalar_series e = find(s, "epoch_loss"), l = find(s, "loss");
    assert_int_equal(e.num_points, 3);
    assert_int_equal(e.points[0].step, 0);
    assert_true(e.points[0].value == 0.5);
    assert_true(e.points[0].wall_time == 1700000001.0);
    assert_int_equal(e.points[1].step, 7);
    assert_true(e.points[1].value == 0.375);
    assert_int_equal(e.points[2].step, 11);
    assert_true(e.points[2].value == 0.3125);
    assert_int_equal(l.num_points, 2);
    assert_true(l.points[0].value == 0.25 && l.points[1].value == 0.125);
    assert_int_equal(l.points[1].step, 9);
    assert_int_equal(e.num_read, 3);
    assert_int_equal(e.last.step, 11);
    assert_true(e.has_finite && e.min.value == 0.3125 && e.max.value == 0.5);
    assert_int_equal(sc_scalars_num_warnings(s), 0);
    assert_int_equal(sc_scalars_num_records(s), 6);
    sc_scalars_free(s);
    sc_pb_buf_free(&b);
}

static void test_non_scalars_skipped(void **state) {
    (void)state;
    sc_pb_buf b = {0};
    file_version(&b, "brain.Event:2");
    histogram(&b, 1, "weights");
    tensor_value(&b, 1, "vector", 1.0f, 1, NULL);       /* rank 1 */
    tensor_value(&b, 1, "hist", 2.0f, 0, "histograms"); /* another plugin: tag excluded */
    simple_scalar(&b, 2, "hist", 3.0f, 0);              /* ... also later values */
    tensor_value(&b, 1, "acc", 0.75f, 0, "scalars");
    sc_scalars *s = decode(&b, NULL);
    assert_int_equal(sc_scalars_num_series(s), 1);
    assert_string_equal(sc_scalars_series(s, 0).tag, "acc");
    assert_int_equal(sc_scalars_series(s, 0).num_points, 1);
    assert_int_equal(sc_scalars_num_warnings(s), 0);
    sc_scalars_free(s);
    sc_pb_buf_free(&b);
}

/* TF1 files (version 1): a step below the most recent one purges that tag's later points. */
static void test_purge_out_of_order_v1(void **state) {
    (void)state;
    sc_pb_buf b = {0};
    file_version(&b, "brain.Event:1");
    for (int i = 0; i < 5; i++) {
        simple_scalar(&b, i, "a", (float)i, 0);
        simple_scalar(&b, i, "b", (float)i, 0);
    }
    simple_scalar(&b, 2, "a", 20.0f, 0); /* the restarted writer */
    sc_scalars *s = decode(&b, NULL);
    sc_scalar_series a = find(s, "a"), bb = find(s, "b");
    assert_int_equal(a.num_points, 3);
    assert_int_equal(a.points[2].step, 2);
    assert_true(a.points[2].value == 20.0);
    assert_int_equal(bb.num_points, 5); /* other tags keep theirs */
    assert_int_equal(sc_scalars_num_purged(s), 3);
    sc_scalars_free(s);

    sc_events_params p = sc_events_default_params();
    p.purge_orphaned = 0;
    s = decode(&b, &p);
    assert_int_equal(find(s, "a").num_points, 6);
    sc_scalars_free(s);
    sc_pb_buf_free(&b);
}

/* Version 2 files: out-of-order steps are kept; a SessionLog START purges every tag. */
static void test_purge_session_start_v2(void **state) {
    (void)state;
    sc_pb_buf b = {0};
    file_version(&b, "brain.Event:2");
    for (int i = 0; i < 5; i++) tensor_scalar(&b, i, "a", (float)i);
    tensor_scalar(&b, 2, "a", 20.0f);
    sc_scalars *s = decode(&b, NULL);
    assert_int_equal(find(s, "a").num_points, 6);
    sc_scalars_free(s);
    session_start(&b, 3);
    tensor_scalar(&b, 3, "a", 30.0f);
    s = decode(&b, NULL);
    sc_scalar_series a = find(s, "a");
    assert_int_equal(a.num_points, 5); /* 0 1 2 2(20) then 3(30) */
    assert_int_equal(a.points[4].step, 3);
    assert_true(a.points[4].value == 30.0);
    assert_true(a.last.value == 30.0);
    sc_scalars_free(s);
    sc_pb_buf_free(&b);
}

static void test_nan_kept(void **state) {
    (void)state;
    sc_pb_buf b = {0};
    tensor_scalar(&b, 1, "loss", 1.0f);
    tensor_scalar(&b, 2, "loss", NAN);
    tensor_scalar(&b, 3, "loss", INFINITY);
    sc_scalars *s = decode(&b, NULL);
    sc_scalar_series l = find(s, "loss");
    assert_int_equal(l.num_points, 3);
    assert_true(isnan(l.points[1].value));
    assert_true(isinf(l.points[2].value));
    assert_true(l.has_finite && l.min.value == 1.0 && l.max.value == 1.0);
    assert_true(isinf(l.last.value));
    sc_scalars_free(s);
    sc_pb_buf_free(&b);
}

/* ---- files ---- */

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static void write_bytes(const char *dir, const char *name, const void *d, size_t n) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(d, 1, n, f), n);
    fclose(f);
}

static int g_warned;
static void count_warn(void *user, const char *msg) {
    (void)user;
    (void)msg;
    g_warned++;
}

static void test_files_in_order_and_truncation(void **state) {
    (void)state;
    char dir[] = "/tmp/sc_evreader_XXXXXX";
    assert_non_null(mkdtemp(dir));
    sc_pb_buf a = {0}, b = {0}, c = {0};
    file_version(&a, "brain.Event:2");
    tensor_scalar(&a, 1, "m", 1.0f);
    tensor_scalar(&a, 2, "m", 2.0f);
    file_version(&b, "brain.Event:2");
    tensor_scalar(&b, 3, "m", 3.0f);
    size_t keep = b.len;
    tensor_scalar(&b, 4, "m", 4.0f);
    file_version(&c, "brain.Event:2");
    tensor_scalar(&c, 5, "m", 5.0f);
    size_t bad_at = c.len;
    tensor_scalar(&c, 6, "m", 6.0f);
    tensor_scalar(&c, 7, "m", 7.0f);
    c.data[bad_at + SC_RECORD_HEADER_SIZE + 20] ^= 0x40; /* a flipped bit in record 2 */
    /* Written in the reverse of name order: the name decides. */
    write_bytes(dir, "events.out.tfevents.1700000300.h.v2", c.data, c.len);
    write_bytes(dir, "events.out.tfevents.1700000200.h.v2", b.data, b.len - 5); /* cut short */
    write_bytes(dir, "events.out.tfevents.1700000100.h.v2", a.data, a.len);
    write_bytes(dir, "notes.txt", "x", 1);
    sc_events_params p = sc_events_default_params();
    p.warn = count_warn;
    g_warned = 0;
    sc_scalars *s;
    size_t nf = 0;
    assert_int_equal(sc_scalars_create(&p, &s, NULL), SC_OK);
    assert_int_equal(sc_scalars_add_dir(s, dir, &nf, NULL), SC_OK);
    assert_int_equal(nf, 3);
    sc_scalar_series m = find(s, "m");
    assert_int_equal(m.num_points, 4); /* 1 2 | 3 (4 cut) | 5 (6 corrupt, 7 after it) */
    int64_t want[] = {1, 2, 3, 5};
    for (int i = 0; i < 4; i++) assert_int_equal(m.points[i].step, want[i]);
    assert_int_equal(sc_scalars_num_warnings(s), 2);
    assert_int_equal(g_warned, 2);
    const char *w0 = sc_scalars_warning(s, 0), *w1 = sc_scalars_warning(s, 1);
    assert_non_null(strstr(w0, "events.out.tfevents.1700000200.h.v2"));
    assert_non_null(strstr(w0, "cut short"));
    char at[32];
    snprintf(at, sizeof at, "byte %zu", keep);
    assert_non_null(strstr(w0, at));
    assert_non_null(strstr(w1, "events.out.tfevents.1700000300.h.v2"));
    assert_non_null(strstr(w1, "record 2"));
    assert_non_null(strstr(w1, "CRC"));
    sc_scalars_free(s);
    sc_error err;
    assert_int_equal(sc_scalars_create(NULL, &s, NULL), SC_OK);
    assert_int_equal(sc_scalars_add_file(s, "/nonexistent/events.out.tfevents.1", &err),
                     SC_NOT_FOUND);
    assert_non_null(strstr(err.message, "/nonexistent/events.out.tfevents.1"));
    sc_scalars_free(s);
    sc_pb_buf_free(&a);
    sc_pb_buf_free(&b);
    sc_pb_buf_free(&c);
    nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

static void test_reservoir(void **state) {
    (void)state;
    sc_pb_buf b = {0};
    file_version(&b, "brain.Event:2");
    for (int i = 0; i < 10000; i++) tensor_scalar(&b, i * 10, "x", (float)(i % 977) - 3.0f);
    sc_events_params p = sc_events_default_params();
    p.max_points = 100;
    sc_scalars *s = decode(&b, &p), *s2 = decode(&b, &p);
    sc_scalar_series x = find(s, "x"), y = find(s2, "x");
    assert_int_equal(x.num_points, 100);
    assert_int_equal(x.num_read, 10000);
    assert_int_equal(x.points[0].step, 0);      /* first kept */
    assert_int_equal(x.points[99].step, 99990); /* newest kept */
    for (size_t i = 1; i < x.num_points; i++) assert_true(x.points[i].step > x.points[i - 1].step);
    assert_true(x.min.value == -3.0 && x.max.value == 973.0); /* over every point */
    assert_int_equal(x.last.step, 99990);
    assert_memory_equal(x.points, y.points, 100 * sizeof *x.points); /* deterministic */
    /* Spread: about half the kept points in each half of the run. */
    size_t first_half = 0;
    for (size_t i = 0; i < x.num_points; i++) first_half += x.points[i].step < 50000;
    assert_in_range(first_half, 30, 70);
    sc_scalars_free(s);
    sc_scalars_free(s2);
    sc_pb_buf_free(&b);
}

/* ---- the real files (../shared/fixtures) ---- */

static void test_fixture_keras_validation(void **state) {
    (void)state;
    const char *fx = ckf_fixtures();
    if (!fx) skip();
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/07_ermesson_keras_tensorboard_efficientdet_events/validation",
             fx);
    char **names;
    size_t n;
    assert_int_equal(sc_events_list_dir(dir, &names, &n, NULL), SC_OK);
    sc_scalars *s;
    assert_int_equal(sc_scalars_create(NULL, &s, NULL), SC_OK);
    size_t files = 0;
    for (size_t i = 0; i < n; i++) {
        size_t l = strlen(names[i]);
        if (l > 3 && !strcmp(names[i] + l - 3, ".v2")) { /* not the DECODED.txt notes */
            char path[1400];
            snprintf(path, sizeof path, "%s/%s", dir, names[i]);
            assert_int_equal(sc_scalars_add_file(s, path, NULL), SC_OK);
            files++;
        }
        free(names[i]);
    }
    free(names);
    assert_int_equal(files, 6);
    assert_int_equal(sc_scalars_num_warnings(s), 0);
    assert_int_equal(sc_scalars_num_series(s), 10); /* 5 evaluation_*, 5 epoch_* */
    sc_scalar_series ev = find(s, "evaluation_loss_vs_iterations"), ep = find(s, "epoch_loss");
    /* Six restarted writers, version-2 files: TensorBoard purges nothing. */
    assert_int_equal(ev.num_points, 12);
    assert_int_equal(ep.num_points, 12);
    assert_int_equal(ev.points[10].step, 186);
    assert_float_equal(ev.points[10].value, 1.1485269, 1e-6);
    assert_int_equal(ev.points[11].step, 372);
    assert_float_equal(ev.points[11].value, 1.0345614, 1e-6);
    assert_int_equal(ep.points[10].step, 0);
    assert_float_equal(ep.points[10].value, 1.1485269, 1e-6);
    assert_int_equal(ep.points[11].step, 1);
    assert_float_equal(ep.last.value, 1.0345614, 1e-6);
    sc_scalars_free(s);
}

static void test_fixture_tf1_simple_values(void **state) {
    (void)state;
    const char *fx = ckf_fixtures();
    if (!fx) skip();
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/12_0xdaksh_keras2_h5_json_and_tf1_events/Graph", fx);
    sc_scalars *s;
    size_t nf;
    assert_int_equal(sc_scalars_create(NULL, &s, NULL), SC_OK);
    assert_int_equal(sc_scalars_add_dir(s, dir, &nf, NULL), SC_OK);
    assert_int_equal(nf, 1);
    assert_int_equal(sc_scalars_num_warnings(s), 0);
    assert_int_equal(sc_scalars_num_records(s), 13); /* graph_def and meta_graph_def skipped */
    assert_int_equal(sc_scalars_num_series(s), 2);
    sc_scalar_series loss = find(s, "loss"), acc = find(s, "acc");
    assert_int_equal(loss.num_points, 5);
    assert_int_equal(acc.num_points, 5);
    for (int i = 0; i < 5; i++) assert_int_equal(loss.points[i].step, i);
    assert_float_equal(loss.points[0].value, 0.0073153311, 1e-9);
    assert_float_equal(acc.points[0].value, 0.99901688, 1e-7);
    sc_scalars_free(s);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_both_forms),
        cmocka_unit_test(test_non_scalars_skipped),
        cmocka_unit_test(test_purge_out_of_order_v1),
        cmocka_unit_test(test_purge_session_start_v2),
        cmocka_unit_test(test_nan_kept),
        cmocka_unit_test(test_files_in_order_and_truncation),
        cmocka_unit_test(test_reservoir),
        cmocka_unit_test(test_fixture_keras_validation),
        cmocka_unit_test(test_fixture_tf1_simple_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
