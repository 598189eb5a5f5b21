/* End to end: the demo trainer (tools/sc_demo_trainer.c) run as a real process. Its checkpoints
 * must read back with the project's own readers exactly as a CheckpointManager's or a Keras
 * ModelCheckpoint's would: layout, training step, state file, max_to_keep deletions. Its model
 * JSON and eval split must load, and the last checkpoint must classify the eval split well above
 * chance. The trainer is found through SC_BUILD_DIR (set by ctest). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "sidecar/checkpoint.h"
#include "sidecar/data.h"
#include "sidecar/model.h"
#include "support/ckpt_fixture.h"

#define ATTR       "/.ATTRIBUTES/VARIABLE_VALUE"
#define MAX_EPOCHS 16

typedef struct epoch_line {
    long long epoch, step;
    double loss, accuracy;
    char checkpoint[1024];
} epoch_line;

/* Runs the trainer with args (NULL-terminated, without argv[0]); returns its exit code and its
 * stdout (malloc'd, NUL-terminated) in *out when out is not NULL. stderr passes through, so a
 * failing run explains itself in the test log. */
static int run_trainer(const char *const *args, char **out) {
    const char *build = getenv("SC_BUILD_DIR");
    if (!build) fail_msg("SC_BUILD_DIR is not set (run through ctest)");
    char *exe = ckf_join(build, "sc_demo_trainer");
    if (access(exe, X_OK) != 0) fail_msg("%s: not built (target sc_demo_trainer)", exe);
    const char *argv[32] = {exe};
    size_t argc = 1;
    while (args[argc - 1]) {
        assert_true(argc < 31);
        argv[argc] = args[argc - 1];
        argc++;
    }
    argv[argc] = NULL;

    int fds[2];
    assert_int_equal(pipe(fds), 0);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(fds[1], STDOUT_FILENO);
        close(fds[0]);
        close(fds[1]);
        execv(exe, (char *const *)argv);
        _exit(127);
    }
    close(fds[1]);
    size_t len = 0, cap = 4096;
    char *buf = malloc(cap);
    assert_non_null(buf);
    for (;;) {
        if (cap - len < 1024) assert_non_null(buf = realloc(buf, cap *= 2));
        ssize_t n = read(fds[0], buf + len, cap - len - 1);
        assert_true(n >= 0);
        if (n == 0) break;
        len += (size_t)n;
    }
    buf[len] = '\0';
    close(fds[0]);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    free(exe);
    if (out)
        *out = buf;
    else
        free(buf);
    assert_true(WIFEXITED(status));
    return WEXITSTATUS(status);
}

/* Parses every stdout line; each must be an epoch line. */
static size_t parse_lines(const char *out, epoch_line *rows, size_t max) {
    size_t n = 0;
    for (const char *p = out; *p;) {
        const char *nl = strchr(p, '\n');
        assert_non_null(nl);
        assert_true(n < max);
        epoch_line *r = &rows[n++];
        int used = 0;
        assert_int_equal(sscanf(p, "epoch %lld step %lld loss %lf accuracy %lf checkpoint %1023s%n",
                                &r->epoch, &r->step, &r->loss, &r->accuracy, r->checkpoint, &used),
                         5);
        assert_ptr_equal(p + used, nl);
        p = nl + 1;
    }
    return n;
}

static int exists(const char *dir, const char *name) {
    char *p = ckf_join(dir, name);
    int ok = access(p, F_OK) == 0;
    free(p);
    return ok;
}

static void assert_ckpt_files(const char *dir, int n, int present) {
    char name[64];
    snprintf(name, sizeof name, "ckpt-%d.index", n);
    assert_int_equal(exists(dir, name), present);
    snprintf(name, sizeof name, "ckpt-%d.data-00000-of-00001", n);
    assert_int_equal(exists(dir, name), present);
}

static sc_bundle *open_ckpt(const char *dir, int n) {
    char name[64];
    sc_bundle *b = NULL;
    sc_error err;
    snprintf(name, sizeof name, "ckpt-%d", n);
    char *prefix = ckf_join(dir, name);
    if (sc_bundle_open(prefix, &b, &err) != SC_OK) fail_msg("%s", err.message);
    free(prefix);
    return b;
}

static void assert_shape(sc_bundle *b, const char *key, int rank, int64_t d0, int64_t d1) {
    const sc_tensor_info *t = sc_bundle_find(b, key);
    if (!t) fail_msg("%s: no tensor '%s'", sc_bundle_prefix(b), key);
    assert_int_equal(t->dtype, SC_DT_FLOAT);
    assert_int_equal(t->rank, rank);
    assert_int_equal(t->shape[0], d0);
    if (rank == 2) assert_int_equal(t->shape[1], d1);
}

static void assert_model_keys(sc_bundle *b, const char *root) {
    char key[256];
    snprintf(key, sizeof key, "%slayer_with_weights-0/kernel" ATTR, root);
    assert_shape(b, key, 2, 16, 32);
    snprintf(key, sizeof key, "%slayer_with_weights-0/bias" ATTR, root);
    assert_shape(b, key, 1, 32, 0);
    snprintf(key, sizeof key, "%slayer_with_weights-1/kernel" ATTR, root);
    assert_shape(b, key, 2, 32, 4);
    snprintf(key, sizeof key, "%slayer_with_weights-1/bias" ATTR, root);
    assert_shape(b, key, 1, 4, 0);
}

/* Loads x [n,16] float32 and y [n] int64 from the .npz. */
static void load_eval(const char *path, sc_array **x, sc_array **y) {
    sc_npz *z = NULL;
    sc_error err;
    if (sc_npz_open(path, &z, &err) != SC_OK) fail_msg("%s", err.message);
    assert_int_equal(sc_npz_num_arrays(z), 2);
    assert_string_equal(sc_npz_array_name(z, 0), "x");
    assert_string_equal(sc_npz_array_name(z, 1), "y");
    if (sc_npz_load(z, "x", x, &err) != SC_OK || sc_npz_load(z, "y", y, &err) != SC_OK)
        fail_msg("%s", err.message);
    sc_npz_free(z);
    const sc_array_info *xi = sc_array_get_info(*x), *yi = sc_array_get_info(*y);
    assert_int_equal(xi->dtype, SC_DT_FLOAT);
    assert_int_equal(xi->rank, 2);
    assert_int_equal(xi->shape[1], 16);
    assert_int_equal(yi->dtype, SC_DT_INT64);
    assert_int_equal(yi->rank, 1);
    assert_int_equal(yi->shape[0], xi->shape[0]);
}

/* Accuracy of the model JSON with the checkpoint's weights on the eval split, through the same
 * path the evaluator takes (load JSON, bind bundle, run). */
static double eval_accuracy(const char *model_json, sc_bundle *b, const char *npz,
                            sc_ckpt_layout want_layout) {
    sc_model *m = NULL;
    sc_runner *r = NULL;
    sc_array *x = NULL, *y = NULL;
    sc_bind_report rep;
    sc_error err;
    memset(&rep, 0, sizeof rep);
    if (sc_model_load_keras(model_json, &m, &err) != SC_OK) fail_msg("%s", err.message);
    assert_int_equal(sc_model_num_inputs(m), 1);
    assert_int_equal(sc_model_input_shape(m, 0).dims[0], 16);
    assert_int_equal(sc_model_output_shape(m, 0).dims[0], 4);
    assert_string_equal(sc_model_output_activation(m, 0), "softmax");
    if (sc_model_bind_bundle(m, b, &rep, &err) != SC_OK) fail_msg("%s", err.message);
    assert_int_equal(rep.layout, want_layout);
    assert_int_equal(rep.num_unused, 0);
    sc_bind_report_clear(&rep);

    load_eval(npz, &x, &y);
    int n = (int)sc_array_num_rows(x);
    const float *xs = sc_array_data(x);
    const int64_t *ys = sc_array_data(y);
    if (sc_runner_create(m, n, &r, &err) != SC_OK
        || sc_runner_run(r, n, (const float *const *)&xs, &err) != SC_OK)
        fail_msg("%s", err.message);
    const float *p = sc_runner_output(r, 0);
    int correct = 0;
    for (int i = 0; i < n; i++) {
        int best = 0;
        float sum = p[i * 4];
        for (int k = 1; k < 4; k++) {
            sum += p[i * 4 + k];
            if (p[i * 4 + k] > p[i * 4 + best]) best = k;
        }
        assert_float_equal(sum, 1.0f, 1e-4f);
        correct += best == ys[i];
    }
    sc_runner_free(r);
    sc_array_free(x);
    sc_array_free(y);
    sc_model_free(m);
    return (double)correct / n;
}

/* CheckpointManager layout, max_to_keep 2, 6 epochs of 1000 samples in batches of 32. */
static void test_manager_layout(void **state) {
    (void)state;
    char *dir = ckf_mkdtemp(), *run = ckf_join(dir, "run");
    char *npz = ckf_join(dir, "eval.npz"), *json = ckf_join(dir, "model.json"), *out = NULL;
    const char *args[] = {"--out",
                          run,
                          "--epochs",
                          "6",
                          "--max-to-keep",
                          "2",
                          "--samples",
                          "1000",
                          "--batch-size",
                          "32",
                          "--seed",
                          "7",
                          "--write-data",
                          npz,
                          "--write-model",
                          json,
                          NULL};
    assert_int_equal(run_trainer(args, &out), 0);
    epoch_line rows[MAX_EPOCHS];
    assert_int_equal(parse_lines(out, rows, MAX_EPOCHS), 6);
    for (int i = 0; i < 6; i++) {
        char want[64];
        snprintf(want, sizeof want, "/run/ckpt-%d", i + 1);
        assert_int_equal(rows[i].epoch, i + 1);
        assert_int_equal(rows[i].step, 32 * (i + 1));
        assert_string_equal(rows[i].checkpoint + strlen(dir), want);
    }
    /* learning: seeded, so these hold exactly as they did when written */
    assert_true(rows[5].accuracy > rows[0].accuracy + 0.2);
    assert_true(rows[5].loss < rows[0].loss);
    for (int i = 1; i < 6; i++) assert_true(rows[i].loss < rows[i - 1].loss);

    for (int n = 1; n <= 4; n++) assert_ckpt_files(run, n, 0);
    for (int n = 5; n <= 6; n++) assert_ckpt_files(run, n, 1);
    assert_int_equal(ckf_count_files(run), 5); /* checkpoint + 2 x (index, data) */

    sc_ckpt_state st;
    sc_error err;
    if (sc_ckpt_state_read(run, &st, &err) != SC_OK) fail_msg("%s", err.message);
    assert_string_equal(st.model_checkpoint_path, "ckpt-6");
    assert_int_equal(st.num_paths, 2);
    assert_string_equal(st.all_model_checkpoint_paths[0], "ckpt-5");
    assert_string_equal(st.all_model_checkpoint_paths[1], "ckpt-6");
    assert_int_equal(st.num_timestamps, 2);
    assert_true(st.all_model_checkpoint_timestamps[0] <= st.all_model_checkpoint_timestamps[1]);
    assert_true(st.last_preserved_timestamp > 0.0);
    assert_true(st.last_preserved_timestamp <= st.all_model_checkpoint_timestamps[0]);
    sc_ckpt_state_clear(&st);

    char *latest = NULL;
    if (sc_latest_checkpoint(run, &latest, &err) != SC_OK) fail_msg("%s", err.message);
    assert_string_equal(latest, rows[5].checkpoint);
    free(latest);

    sc_bundle *b = open_ckpt(run, 6);
    sc_ckpt_info info;
    if (sc_ckpt_describe(b, &info, &err) != SC_OK) fail_msg("%s", err.message);
    assert_int_equal(info.layout, SC_LAYOUT_CHECKPOINT_MANAGER);
    assert_int_equal(info.step, 192);
    assert_int_equal(info.step_source, SC_STEP_OPTIMIZER_ITERATIONS);
    assert_int_equal(info.save_counter, 6);
    assert_int_equal(info.file_number, 6);
    assert_int_equal(info.has_object_graph, 0);
    assert_model_keys(b, "model/");
    assert_null(sc_bundle_find(b, "optimizer/iter" ATTR));
    assert_non_null(sc_bundle_find(b, "optimizer/_learning_rate" ATTR));
    assert_int_equal(sc_bundle_num_tensors(b), 7);

    /* chance is 0.25; the trained model generalises to the held-out split */
    assert_true(eval_accuracy(json, b, npz, SC_LAYOUT_CHECKPOINT_MANAGER) > 0.7);
    sc_bundle_free(b);
    free(out);
    free(run);
    free(npz);
    free(json);
    ckf_rmtree(dir);
}

/* Keras' own scenario: 1000 samples, batch 32, one epoch -> step ceil(1000/32) = 32. */
static void test_keras_layout_one_epoch(void **state) {
    (void)state;
    char *dir = ckf_mkdtemp(), *out = NULL;
    const char *args[] = {"--out",        dir,        "--layout", "keras",     "--optimizer",
                          "legacy",       "--epochs", "1",        "--samples", "1000",
                          "--batch-size", "32",       NULL};
    assert_int_equal(run_trainer(args, &out), 0);
    epoch_line rows[MAX_EPOCHS];
    assert_int_equal(parse_lines(out, rows, MAX_EPOCHS), 1);
    assert_int_equal(rows[0].step, 32);

    sc_bundle *b = open_ckpt(dir, 1);
    sc_ckpt_info info;
    sc_error err;
    if (sc_ckpt_describe(b, &info, &err) != SC_OK) fail_msg("%s", err.message);
    assert_int_equal(info.layout, SC_LAYOUT_KERAS_WEIGHTS);
    assert_int_equal(info.step, 32);
    assert_int_equal(info.step_source, SC_STEP_OPTIMIZER_ITER);
    assert_int_equal(info.save_counter, -1);
    assert_model_keys(b, "");
    assert_null(sc_bundle_find(b, "model/layer_with_weights-0/kernel" ATTR));
    assert_null(sc_bundle_find(b, "optimizer/_iterations" ATTR));
    assert_non_null(sc_bundle_find(b, "optimizer/learning_rate" ATTR));
    sc_bundle_free(b);

    sc_ckpt_state st;
    if (sc_ckpt_state_read(dir, &st, &err) != SC_OK) fail_msg("%s", err.message);
    assert_string_equal(st.model_checkpoint_path, "ckpt-1");
    assert_int_equal(st.num_paths, 1);
    assert_int_equal(st.num_timestamps, 0);
    assert_true(st.last_preserved_timestamp == 0.0);
    sc_ckpt_state_clear(&st);
    free(out);
    ckf_rmtree(dir);
}

/* ModelCheckpoint keeps every ckpt-{epoch} but the state file names only the latest. */
static void test_keras_layout_keeps_every_file(void **state) {
    (void)state;
    char *dir = ckf_mkdtemp(), *out = NULL;
    const char *args[] = {
        "--out", dir,         "--layout", "keras",        "--epochs", "3", "--steps-per-epoch",
        "10",    "--samples", "100",      "--batch-size", "16",       NULL};
    assert_int_equal(run_trainer(args, &out), 0);
    epoch_line rows[MAX_EPOCHS];
    assert_int_equal(parse_lines(out, rows, MAX_EPOCHS), 3);
    for (int i = 0; i < 3; i++) assert_int_equal(rows[i].step, 10 * (i + 1));
    for (int n = 1; n <= 3; n++) assert_ckpt_files(dir, n, 1);

    sc_ckpt_state st;
    sc_error err;
    if (sc_ckpt_state_read(dir, &st, &err) != SC_OK) fail_msg("%s", err.message);
    assert_string_equal(st.model_checkpoint_path, "ckpt-3");
    assert_int_equal(st.num_paths, 1);
    assert_string_equal(st.all_model_checkpoint_paths[0], "ckpt-3");
    sc_ckpt_state_clear(&st);

    sc_bundle *b = open_ckpt(dir, 3);
    sc_ckpt_info info;
    if (sc_ckpt_describe(b, &info, &err) != SC_OK) fail_msg("%s", err.message);
    assert_int_equal(info.step, 30);
    assert_int_equal(info.step_source, SC_STEP_OPTIMIZER_ITERATIONS);
    sc_bundle_free(b);
    free(out);
    ckf_rmtree(dir);
}

/* --max-to-keep 0 is max_to_keep=None: everything stays listed, with a timestamp each. */
static void test_manager_keep_all(void **state) {
    (void)state;
    char *dir = ckf_mkdtemp();
    const char *args[] = {"--out", dir,         "--epochs", "3", "--max-to-keep",
                          "0",     "--samples", "64",       NULL};
    assert_int_equal(run_trainer(args, NULL), 0);
    for (int n = 1; n <= 3; n++) assert_ckpt_files(dir, n, 1);
    sc_ckpt_state st;
    sc_error err;
    if (sc_ckpt_state_read(dir, &st, &err) != SC_OK) fail_msg("%s", err.message);
    assert_int_equal(st.num_paths, 3);
    assert_int_equal(st.num_timestamps, 3);
    assert_string_equal(st.all_model_checkpoint_paths[0], "ckpt-1");
    sc_ckpt_state_clear(&st);
    ckf_rmtree(dir);
}

static uint8_t *read_data_file(const char *dir, int n, size_t *len) {
    char name[64];
    snprintf(name, sizeof name, "ckpt-%d.data-00000-of-00001", n);
    char *p = ckf_join(dir, name);
    uint8_t *d = ckf_read(p, len);
    free(p);
    return d;
}

/* A seed fixes the data, the initial weights and the shuffling; another seed changes them. */
static void test_seed_reproducible(void **state) {
    (void)state;
    char *dir = ckf_mkdtemp();
    char *a = ckf_join(dir, "a"), *b = ckf_join(dir, "b"), *c = ckf_join(dir, "c");
    const char *args[] = {"--out",     a,     "--layout", "keras", "--epochs", "2",
                          "--samples", "200", "--seed",   "3",     NULL};
    assert_int_equal(run_trainer(args, NULL), 0);
    args[1] = b;
    assert_int_equal(run_trainer(args, NULL), 0);
    args[1] = c;
    args[9] = "4";
    assert_int_equal(run_trainer(args, NULL), 0);
    size_t la, lb, lc;
    uint8_t *da = read_data_file(a, 2, &la), *db = read_data_file(b, 2, &lb),
            *dc = read_data_file(c, 2, &lc);
    assert_int_equal(la, lb);
    assert_memory_equal(da, db, la);
    assert_int_equal(la, lc);
    assert_memory_not_equal(da, dc, la);
    free(da);
    free(db);
    free(dc);
    free(a);
    free(b);
    free(c);
    ckf_rmtree(dir);
}

/* --write-data alone writes the split and trains nothing. */
static void test_write_data_only(void **state) {
    (void)state;
    char *dir = ckf_mkdtemp(), *npz = ckf_join(dir, "eval.npz"), *out = NULL;
    const char *args[] = {"--write-data", npz, "--eval-samples", "100", NULL};
    assert_int_equal(run_trainer(args, &out), 0);
    assert_string_equal(out, "");
    assert_int_equal(ckf_count_files(dir), 1);
    sc_array *x = NULL, *y = NULL;
    load_eval(npz, &x, &y);
    assert_int_equal(sc_array_num_rows(x), 100);
    const int64_t *ys = sc_array_data(y);
    int seen[4] = {0};
    for (int i = 0; i < 100; i++) {
        assert_in_range(ys[i], 0, 3);
        seen[ys[i]] = 1;
    }
    assert_int_equal(seen[0] + seen[1] + seen[2] + seen[3], 4);
    sc_array_free(x);
    sc_array_free(y);
    free(out);
    free(npz);
    ckf_rmtree(dir);
}

static void test_bad_usage(void **state) {
    (void)state;
    char *dir = ckf_mkdtemp();
    const char *none[] = {NULL};
    const char *unknown[] = {"--out", dir, "--frobnicate", "1", NULL};
    const char *zero_epochs[] = {"--out", dir, "--epochs", "0", NULL};
    const char *bad_layout[] = {"--out", dir, "--layout", "saver", NULL};
    const char *keras_keep[] = {"--out", dir, "--layout", "keras", "--max-to-keep", "3", NULL};
    const char *missing[] = {"--out", NULL};
    assert_int_equal(run_trainer(none, NULL), 2);
    assert_int_equal(run_trainer(unknown, NULL), 2);
    assert_int_equal(run_trainer(zero_epochs, NULL), 2);
    assert_int_equal(run_trainer(bad_layout, NULL), 2);
    assert_int_equal(run_trainer(keras_keep, NULL), 2);
    assert_int_equal(run_trainer(missing, NULL), 2);
    assert_int_equal(ckf_count_files(dir), 0);

    /* a second run into a directory that already has a state file is refused */
    const char *ok[] = {"--out", dir, "--epochs", "1", "--samples", "32", NULL};
    assert_int_equal(run_trainer(ok, NULL), 0);
    assert_int_equal(run_trainer(ok, NULL), 1);
    ckf_rmtree(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_manager_layout),
        cmocka_unit_test(test_keras_layout_one_epoch),
        cmocka_unit_test(test_keras_layout_keeps_every_file),
        cmocka_unit_test(test_manager_keep_all),
        cmocka_unit_test(test_seed_reproducible),
        cmocka_unit_test(test_write_data_only),
        cmocka_unit_test(test_bad_usage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
