/* tests/conformance/test_fixture_events.c — real TensorBoard event files (Keras TF2 tensor
 * scalars and TF1 simple_value scalars) decoded by the independent test decoder, then the same
 * scalars written by our writer and compared field by field, and for TF2 byte by byte. */
#include <dirent.h>
#include <ftw.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <setjmp.h>
#include <cmocka.h>

#include "sidecar/summary.h"
#include "support/event_decoder.h"
#include "support/ckpt_fixture.h"

#define KERAS_TF2_DIR "07_ermesson_keras_tensorboard_efficientdet_events/validation"
#define KERAS_TF1_FILE                                                                             \
    "12_0xdaksh_keras2_h5_json_and_tf1_events/Graph/"                                              \
    "events.out.tfevents.1498485909.DESKTOP-GTSE0SD"
#define MAX_FILES 16

static double fixed_clock(void *ctx) { return *(const double *)ctx; }

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

/* A temporary directory per test, removed by teardown even when an assertion fails. */
static int setup(void **state) {
    char *dir = strdup("/tmp/sc_fixture_events_XXXXXX");
    if (!dir || !mkdtemp(dir)) {
        free(dir);
        return -1;
    }
    *state = dir;
    return 0;
}

static int teardown(void **state) {
    nftw(*state, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
    free(*state);
    return 0;
}

/* $SC_FIXTURES/rel, or a cmocka skip when it is not there. */
static void fixture_path(char *out, size_t n, const char *rel) {
    const char *root = ckf_fixtures();
    if (!root) skip();
    char *p = ckf_fixture(root, rel);
    snprintf(out, n, "%s", p);
    free(p);
}

static void decode_or_fail(const char *path, evd_events *ev) {
    char msg[512];
    if (evd_decode_file(path, ev, msg, sizeof msg)) fail_msg("%s", msg);
}

static int cmp_names(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The *.v2 event files of dir, sorted as TensorBoard orders them. */
static size_t list_v2(const char *dir, char *names[MAX_FILES]) {
    DIR *d = opendir(dir);
    assert_non_null(d);
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (!strstr(e->d_name, "tfevents") || l < 3 || strcmp(e->d_name + l - 3, ".v2")) continue;
        assert_true(n < MAX_FILES);
        names[n] = strdup(e->d_name);
        assert_non_null(names[n]);
        n++;
    }
    closedir(d);
    qsort(names, n, sizeof names[0], cmp_names);
    return n;
}

/* Our writer given the real file's creation time, then every scalar of ev with the same tag,
 * step, value and wall_time. Returns the path of our file (malloc'd). */
static char *rewrite(const char *tmpdir, const evd_events *ev, const char *host) {
    double created = ev->ev[0].wall_time;
    sc_summary_writer_params p = sc_summary_writer_default_params();
    p.hostname = host;
    p.clock = fixed_clock;
    p.clock_ctx = &created;
    sc_summary_writer *w = NULL;
    sc_error err;
    sc_status s = sc_summary_writer_create(tmpdir, &p, &w, &err);
    if (s != SC_OK) fail_msg("%s", err.message);
    for (size_t i = 1; i < ev->n; i++) {
        const evd_event *e = &ev->ev[i];
        if (e->what != EVD_WHAT_SUMMARY) continue;
        assert_int_equal(e->n_values, 1);
        float v;
        assert_int_equal(evd_scalar(&e->values[0], &v), 0);
        s = sc_summary_write_scalar(w, e->values[0].tag, e->step, v, e->wall_time, &err);
        if (s != SC_OK) fail_msg("%s", err.message);
    }
    if (sc_summary_writer_flush(w, &err) != SC_OK) fail_msg("%s", err.message);
    char *path = strdup(sc_summary_writer_path(w));
    assert_non_null(path);
    sc_summary_writer_free(w);
    return path;
}

static void assert_tf2_scalar(const evd_value *v) {
    assert_int_equal(v->kind, EVD_VALUE_TENSOR);
    assert_int_equal(v->dtype, 1); /* DT_FLOAT */
    assert_true(v->has_shape);
    assert_int_equal(v->rank, 0);
    assert_true(v->has_content);
    assert_int_equal(v->content_len, 4);
    assert_int_equal(v->float_val_count, 0);
    assert_true(v->has_metadata);
    assert_non_null(v->plugin_name);
    assert_string_equal(v->plugin_name, "scalars");
}

static int has_prefix(const char *s, const char *p) { return strncmp(s, p, strlen(p)) == 0; }
static int has_suffix(const char *s, const char *x) {
    size_t ls = strlen(s), lx = strlen(x);
    return ls >= lx && strcmp(s + ls - lx, x) == 0;
}

static void check_keras_tf2_file(const char *path, const char *name, int is_last,
                                 const char *tmpdir) {
    evd_events real;
    decode_or_fail(path, &real);
    assert_int_equal(real.n, 21);

    /* Record 0: file_version stamped with the whole seconds of the name. */
    const evd_event *fv = &real.ev[0];
    assert_int_equal(fv->what, EVD_WHAT_FILE_VERSION);
    assert_string_equal(fv->file_version, "brain.Event:2");
    double secs = strtod(name + strlen("events.out.tfevents."), NULL);
    assert_true(fv->wall_time == secs);

    /* Per epoch: five evaluation_* at the iteration count, then five epoch_* at the epoch. */
    static const int64_t eval_step[2] = {186, 372};
    float eval_loss[2] = {0, 0};
    for (size_t i = 1; i < real.n; i++) {
        const evd_event *e = &real.ev[i];
        size_t epoch = (i - 1) / 10, k = (i - 1) % 10;
        assert_int_equal(e->what, EVD_WHAT_SUMMARY);
        assert_int_equal(e->n_values, 1);
        const evd_value *v = &e->values[0];
        assert_tf2_scalar(v);
        if (k < 5) {
            assert_true(has_prefix(v->tag, "evaluation_") && has_suffix(v->tag, "_vs_iterations"));
            assert_int_equal(e->step, eval_step[epoch]);
            if (strcmp(v->tag, "evaluation_loss_vs_iterations") == 0)
                assert_int_equal(evd_scalar(v, &eval_loss[epoch]), 0);
        } else {
            assert_true(has_prefix(v->tag, "epoch_"));
            assert_int_equal(e->step, (int64_t)epoch);
        }
    }
    if (is_last) {
        assert_true(eval_loss[0] == 1.1485269f);
        assert_true(eval_loss[1] == 1.0345614f);
    }

    /* Ours, given the same inputs: the same fields, and in fact the same file. */
    char *ours_path = rewrite(tmpdir, &real, "Ermesson");
    evd_events ours;
    decode_or_fail(ours_path, &ours);
    assert_int_equal(ours.n, real.n);
    assert_true(ours.ev[0].wall_time == real.ev[0].wall_time);
    assert_string_equal(ours.ev[0].file_version, real.ev[0].file_version);
    for (size_t i = 1; i < real.n; i++) {
        const evd_event *a = &real.ev[i], *b = &ours.ev[i];
        const evd_value *va = &a->values[0], *vb = &b->values[0];
        assert_true(a->wall_time == b->wall_time);
        assert_int_equal(a->step, b->step);
        assert_int_equal(b->n_values, 1);
        assert_string_equal(va->tag, vb->tag);
        assert_tf2_scalar(vb);
        assert_int_equal(va->dtype, vb->dtype);
        assert_int_equal(va->rank, vb->rank);
        assert_memory_equal(va->content, vb->content, 4);
        assert_string_equal(va->plugin_name, vb->plugin_name);
        assert_int_equal(a->payload_len, b->payload_len);
    }
    uint8_t *rb, *ob;
    size_t rl, ol;
    char msg[512];
    if (evd_read_file(path, &rb, &rl, msg, sizeof msg)) fail_msg("%s", msg);
    if (evd_read_file(ours_path, &ob, &ol, msg, sizeof msg)) fail_msg("%s", msg);
    assert_int_equal(ol, rl);
    assert_memory_equal(ob, rb, rl);
    free(rb);
    free(ob);
    evd_events_free(&ours);
    evd_events_free(&real);
    free(ours_path);
}

static void test_keras_tf2_validation_events(void **state) {
    char dir[1024];
    fixture_path(dir, sizeof dir, KERAS_TF2_DIR);
    char *names[MAX_FILES];
    size_t n = list_v2(dir, names);
    assert_int_equal(n, 6);
    for (size_t i = 0; i < n; i++) {
        char path[1400];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        char tmpdir[64];
        snprintf(tmpdir, sizeof tmpdir, "%s/%zu", (const char *)*state, i);
        check_keras_tf2_file(path, names[i], i == n - 1, tmpdir);
        free(names[i]);
    }
}

static void test_tf1_simple_value_events(void **state) {
    char path[1024];
    fixture_path(path, sizeof path, KERAS_TF1_FILE);
    evd_events real;
    decode_or_fail(path, &real);
    assert_int_equal(real.n, 13);
    assert_int_equal(real.ev[0].what, EVD_WHAT_FILE_VERSION);
    assert_string_equal(real.ev[0].file_version, "brain.Event:2");
    assert_true(real.ev[0].wall_time == 1498485909.0);
    assert_int_equal(real.ev[1].what, EVD_WHAT_GRAPH_DEF);
    assert_int_equal(real.ev[2].what, EVD_WHAT_META_GRAPH_DEF);
    assert_true(real.ev[1].what_len > 100000 && real.ev[2].what_len > 100000);
    for (size_t i = 3; i < 13; i++) {
        const evd_event *e = &real.ev[i];
        assert_int_equal(e->what, EVD_WHAT_SUMMARY);
        assert_int_equal(e->step, (int64_t)((i - 3) / 2));
        assert_int_equal(e->n_values, 1);
        const evd_value *v = &e->values[0];
        assert_string_equal(v->tag, (i - 3) % 2 == 0 ? "loss" : "acc");
        assert_int_equal(v->kind, EVD_VALUE_SIMPLE); /* TF1: simple_value, no metadata */
        assert_false(v->has_metadata);
    }
    assert_true(real.ev[3].values[0].simple_value == 0.0073153311f);
    assert_true(real.ev[4].values[0].simple_value == 0.99901688f);

    /* We write TF2 tensor form for the same tags: TensorBoard reads both as the same scalar
     * (FORMATS §6.5), so the float32 bits must match the simple_value exactly. */
    char *ours_path = rewrite(*state, &real, "DESKTOP-GTSE0SD");
    evd_events ours;
    decode_or_fail(ours_path, &ours);
    assert_int_equal(ours.n, 11); /* the graphs are not ours to write */
    for (size_t i = 3; i < 13; i++) {
        const evd_event *a = &real.ev[i], *b = &ours.ev[i - 2];
        assert_true(a->wall_time == b->wall_time);
        assert_int_equal(a->step, b->step);
        assert_string_equal(a->values[0].tag, b->values[0].tag);
        assert_tf2_scalar(&b->values[0]);
        float fa, fb;
        assert_int_equal(evd_scalar(&a->values[0], &fa), 0);
        assert_int_equal(evd_scalar(&b->values[0], &fb), 0);
        assert_memory_equal(&fa, &fb, sizeof fa);
    }
    evd_events_free(&ours);
    evd_events_free(&real);
    free(ours_path);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_keras_tf2_validation_events, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tf1_simple_value_events, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
