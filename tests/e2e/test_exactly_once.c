/* Exactly-once outputs (issue 8): a run over three checkpoints with --logdir and --export-best
 * is failed at each of its file writes in turn — a full disk (the write stops half way and
 * fails) and a kill -9 (half a write, then SIGKILL) — through the test-only hook in sc_write_full,
 * then restarted. After the restart there is exactly one TensorBoard event per (metric, step),
 * one journal line per checkpoint, none lost, and the export holds the journal's best.
 * Also: a stop requested mid-evaluation writes nothing for it and returns SC_OK, and `every`
 * without a journal evaluates each checkpoint once. */
#include <dirent.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/fileio.h"
#include "sidecar/eval.h"
#include "sidecar/keras_weights.h"
#include "support/ckpt_fixture.h"
#include "support/event_decoder.h"

#define NCKPT 3

static char *g_dir, *g_ckpts, *g_data, *g_model;

static int run_trainer(const char *const *args) {
    const char *build = getenv("SC_BUILD_DIR");
    if (!build) return -1;
    char *exe = ckf_join(build, "sc_demo_trainer");
    const char *argv[40] = {exe};
    size_t n = 1;
    for (; args[n - 1]; n++) argv[n] = args[n - 1];
    argv[n] = NULL;
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        if (!freopen("/dev/null", "w", stdout)) _exit(126);
        execv(exe, (char *const *)argv);
        _exit(127);
    }
    free(exe);
    int st;
    if (pid < 0 || waitpid(pid, &st, 0) != pid) return -1;
    return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

static int setup(void **state) {
    (void)state;
    g_dir = ckf_mkdtemp();
    g_ckpts = ckf_join(g_dir, "ckpts");
    g_data = ckf_join(g_dir, "eval.npz");
    g_model = ckf_join(g_dir, "model.json");
    const char *a1[] = {"--write-data", g_data, "--write-model", g_model, "--eval-samples",
                        "64",           NULL};
    const char *a2[] = {"--out", g_ckpts,     "--epochs", "3", "--max-to-keep",
                        "0",     "--samples", "64",       NULL};
    return run_trainer(a1) || run_trainer(a2);
}

static int teardown(void **state) {
    (void)state;
    ckf_rmtree(g_dir);
    free(g_ckpts);
    free(g_data);
    free(g_model);
    return 0;
}

/* Everything one evaluator needs, built from the files. */
typedef struct ctx {
    sc_model *model;
    sc_dataset *ds;
    sc_loss *loss;
    sc_metric *metric;
    sc_eval_dataset ed;
    sc_evaluator *ev;
    int stop_at_batch; /* > 0: the callback asks to stop at this batch */
} ctx;

static int stop_cb(void *user, const sc_eval_logs *logs) {
    ctx *c = user;
    if (c->stop_at_batch > 0 && logs->batch + 1 >= c->stop_at_batch) sc_evaluator_stop(c->ev);
    return 0;
}

static sc_status ctx_open(ctx *c, sc_error *err) {
    memset(c, 0, sizeof *c);
    sc_status s;
    if ((s = sc_model_load_keras(g_model, &c->model, err))) return s;
    sc_dataset_params dp = sc_dataset_default_params();
    dp.path = g_data;
    dp.batch_size = 16;
    if ((s = sc_dataset_open(&dp, &c->ds, err))) return s;
    sc_loss_spec ls = sc_loss_default_spec("sparse_categorical_crossentropy");
    if ((s = sc_loss_create(&ls, &c->loss, err))) return s;
    sc_metric_shapes ms = {2, 4, 1, 1};
    if ((s = sc_metric_from_string("accuracy", &ms, "sparse_categorical_crossentropy", 2,
                                   &c->metric, err)))
        return s;
    c->ed =
        (sc_eval_dataset){.data = c->ds, .loss = c->loss, .metrics = &c->metric, .num_metrics = 1};
    return SC_OK;
}

static sc_status ctx_run(ctx *c, const char *logdir, const char *export_dir, int every,
                         sc_error *err) {
    static sc_callback cb;
    cb = (sc_callback){c, NULL, NULL, stop_cb, NULL};
    sc_evaluator_params p = sc_evaluator_default_params();
    p.model = c->model;
    p.checkpoint_dir = g_ckpts;
    p.datasets = &c->ed;
    p.num_datasets = 1;
    p.max_batch = 16;
    p.logdir = logdir;
    p.export_dir = export_dir;
    p.monitor = "accuracy";
    p.every = every;
    p.max_evaluations = NCKPT;
    p.timeout_s = 30; /* a guard: never reached when things work */
    p.callbacks = &cb;
    p.num_callbacks = 1;
    p.log = NULL;
    sc_status s = sc_evaluator_create(&p, &c->ev, err);
    if (s) return s;
    return sc_evaluator_start(c->ev, err);
}

static void ctx_close(ctx *c) {
    sc_evaluator_free(c->ev);
    sc_metric_free(c->metric);
    sc_loss_free(c->loss);
    sc_dataset_free(c->ds);
    sc_model_free(c->model);
}

/* A whole run in a child process, with the fault armed at write n. Returns the child's
 * exit status (9: killed by the hook's SIGKILL). */
static int child_run(const char *logdir, const char *export_dir, uint64_t n, sc_fault_mode mode) {
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        if (!freopen("/dev/null", "w", stderr)) _exit(126);
        ctx c;
        sc_error err;
        if (ctx_open(&c, &err)) _exit(4);
        sc_fault_inject_write(n, mode);
        sc_status s = ctx_run(&c, logdir, export_dir, 1, &err);
        ctx_close(&c);
        _exit(s == SC_OK ? 0 : 3);
    }
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    if (WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL) return 9;
    assert_true(WIFEXITED(st));
    return WEXITSTATUS(st);
}

/* Counts scalar events per (tag, step) over every event file of logdir/validation. */
static void check_events(const char *logdir, const char *what) {
    char *vdir = ckf_join(logdir, "validation");
    DIR *d = opendir(vdir);
    if (!d) fail_msg("%s: no %s", what, vdir);
    int count[2][NCKPT + 1] = {{0}};
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strstr(e->d_name, "tfevents")) continue;
        char *p = ckf_join(vdir, e->d_name);
        evd_events evs;
        char msg[256];
        if (evd_decode_file(p, &evs, msg, sizeof msg) != 0) {
            /* Only a file whose very first record (the file_version header) was cut short by
             * the crash may fail to decode: it holds no event. */
            struct stat st;
            assert_int_equal(stat(p, &st), 0);
            if (st.st_size >= 64) fail_msg("%s: %s", what, msg);
            free(p);
            continue;
        }
        for (size_t i = 0; i < evs.n; i++)
            for (size_t k = 0; k < evs.ev[i].n_values; k++) {
                int m = !strcmp(evs.ev[i].values[k].tag, "evaluation_loss_vs_iterations") ? 0
                        : !strcmp(evs.ev[i].values[k].tag, "evaluation_accuracy_vs_iterations")
                            ? 1
                            : -1;
                int64_t step = evs.ev[i].step / 2; /* 64 samples / batch 32: 2 steps per epoch */
                if (m < 0 || step < 1 || step > NCKPT || evs.ev[i].step % 2)
                    fail_msg("%s: unexpected event %s at step %lld", what, evs.ev[i].values[k].tag,
                             (long long)evs.ev[i].step);
                count[m][step]++;
            }
        evd_events_free(&evs);
        free(p);
    }
    closedir(d);
    free(vdir);
    for (int m = 0; m < 2; m++)
        for (int s = 1; s <= NCKPT; s++)
            if (count[m][s] != 1)
                fail_msg("%s: %d events for metric %d at checkpoint %d, expected exactly 1", what,
                         count[m][s], m, s);
}

/* One journal line per checkpoint; returns the best accuracy's checkpoint number. */
static int check_journal(const char *logdir, const char *what) {
    char *jp = ckf_join(logdir, "sidecar_journal.jsonl");
    size_t len;
    uint8_t *raw = ckf_read(jp, &len);
    char *data = calloc(1, len + 1); /* NUL-terminated copy */
    if (raw && data) memcpy(data, raw, len);
    free(raw);
    int seen[NCKPT + 1] = {0}, best = -1;
    double best_acc = -1;
    char *line = data;
    while (line && *line) {
        char *nl = strchr(line, '\n');
        if (!nl) fail_msg("%s: torn journal line", what);
        *nl = '\0';
        const char *c = strstr(line, "\"number\":");
        const char *a = strstr(line, "\"accuracy\":");
        if (!c || !a) fail_msg("%s: journal line without number/accuracy: %s", what, line);
        int num = atoi(c + 9);
        double acc = atof(a + 11);
        if (num < 1 || num > NCKPT) fail_msg("%s: journal number %d", what, num);
        seen[num]++;
        if (acc > best_acc) {
            best_acc = acc;
            best = num;
        }
        line = nl + 1;
    }
    for (int i = 1; i <= NCKPT; i++)
        if (seen[i] != 1)
            fail_msg("%s: %d journal lines for ckpt-%d, expected 1", what, seen[i], i);
    free(data);
    free(jp);
    return best;
}

static void check_export(const char *export_dir, int best, const char *what) {
    char *st = ckf_join(export_dir, "checkpoint");
    size_t len;
    uint8_t *text = ckf_read(st, &len);
    char want[64];
    snprintf(want, sizeof want, "model_checkpoint_path: \"ckpt-%d\"", best);
    if (!text || !strstr((char *)text, want))
        fail_msg("%s: the export does not name ckpt-%d", what, best);
    free(text);
    free(st);
    /* The exported checkpoint is complete and alone. */
    snprintf(want, sizeof want, "ckpt-%d.index", best);
    char *idx = ckf_join(export_dir, want);
    assert_true(sc_path_exists(idx));
    free(idx);
    assert_int_equal(ckf_count_files(export_dir), 4); /* marker, state, .index, .data */
}

static void test_fail_each_write(void **state) {
    (void)state;
    /* How many writes a clean run makes. */
    char *logdir = ckf_join(g_dir, "clean"), *exp = ckf_join(g_dir, "clean_best");
    ctx c;
    sc_error err;
    assert_int_equal(ctx_open(&c, &err), SC_OK);
    uint64_t before = sc_fault_inject_write(0, SC_FAULT_ENOSPC);
    assert_int_equal(ctx_run(&c, logdir, exp, 1, &err), SC_OK);
    uint64_t writes = sc_fault_inject_write(0, SC_FAULT_ENOSPC) - before;
    ctx_close(&c);
    check_events(logdir, "clean run");
    int best = check_journal(logdir, "clean run");
    check_export(exp, best, "clean run");
    free(logdir);
    free(exp);
    assert_true(writes >= 3 * 3); /* intent, events, journal line per checkpoint at least */
    print_message("a clean run makes %llu writes; failing each in turn\n",
                  (unsigned long long)writes);

    for (int mode = SC_FAULT_ENOSPC; mode <= SC_FAULT_CRASH; mode++)
        for (uint64_t n = 1; n <= writes; n++) {
            char name[64], what[96];
            snprintf(name, sizeof name, "f%d_%llu", mode, (unsigned long long)n);
            snprintf(what, sizeof what, "%s at write %llu",
                     mode == SC_FAULT_CRASH ? "kill -9" : "ENOSPC", (unsigned long long)n);
            logdir = ckf_join(g_dir, name);
            snprintf(name + strlen(name), sizeof name - strlen(name), "_best");
            exp = ckf_join(g_dir, name);
            int rc = child_run(logdir, exp, n, (sc_fault_mode)mode);
            if (rc != (mode == SC_FAULT_CRASH ? 9 : 3)) fail_msg("%s: child exit %d", what, rc);
            /* The restart, without faults. */
            assert_int_equal(ctx_open(&c, &err), SC_OK);
            sc_status s = ctx_run(&c, logdir, exp, 1, &err);
            if (s) fail_msg("%s: restart: %s", what, err.message);
            ctx_close(&c);
            check_events(logdir, what);
            best = check_journal(logdir, what);
            check_export(exp, best, what);
            ckf_rmtree(logdir);
            ckf_rmtree(exp);
        }
}

/* A stop requested in the middle of an evaluation: SC_OK, nothing written for it. */
static void test_stop_busy(void **state) {
    (void)state;
    char *logdir = ckf_join(g_dir, "stopped");
    ctx c;
    sc_error err;
    assert_int_equal(ctx_open(&c, &err), SC_OK);
    c.stop_at_batch = 2;
    assert_int_equal(ctx_run(&c, logdir, NULL, 1, &err), SC_OK);
    assert_int_equal(sc_evaluator_num_evaluated(c.ev), 0);
    ctx_close(&c);
    char *jp = ckf_join(logdir, "sidecar_journal.jsonl");
    size_t len = 99;
    uint8_t *data = ckf_read(jp, &len);
    assert_int_equal(len, 0);
    free(data);
    free(jp);
    char *vdir = ckf_join(logdir, "validation");
    assert_false(sc_path_exists(vdir)); /* no event file at all */
    free(vdir);
    free(logdir);
}

/* Two datasets, a stop requested during the second one's pass: the evaluation is abandoned
 * as a whole. The first dataset's results were complete (its on_test_end ran, Keras' hook), but
 * none of the checkpoint's outputs appear: no journal line, no event file of either dataset, no
 * on_results call (what `--json` prints). Without the stop, on_results gets both datasets
 * once per checkpoint, after the journal line. */
typedef struct two_ctx {
    sc_evaluator *ev;
    int stop; /* 1: stop at batch 1 of dataset "second" */
    int test_ends, results_calls, results_datasets;
    size_t journal_lines_seen; /* journal lines present when on_results ran (last call) */
    const char *journal;
} two_ctx;

static int two_batch_end(void *user, const sc_eval_logs *logs) {
    two_ctx *t = user;
    if (t->stop && logs->batch == 1 && strcmp(logs->dataset, "second") == 0)
        sc_evaluator_stop(t->ev);
    return 0;
}

static int two_test_end(void *user, const sc_eval_logs *logs) {
    (void)logs;
    ((two_ctx *)user)->test_ends++;
    return 0;
}

static size_t count_lines(const char *path) {
    size_t len = 0, n = 0;
    uint8_t *data = ckf_read(path, &len);
    for (size_t i = 0; data && i < len; i++) n += data[i] == '\n';
    free(data);
    return n;
}

static void two_results(void *user, const sc_eval_logs *logs, size_t num) {
    two_ctx *t = user;
    t->results_calls++;
    t->results_datasets += (int)num;
    assert_int_equal(num, 2);
    assert_string_equal(logs[0].dataset, "first");
    assert_string_equal(logs[1].dataset, "second");
    assert_true(logs[0].num >= 2 && logs[1].num >= 2); /* loss and accuracy */
    t->journal_lines_seen = count_lines(t->journal);
}

static void run_two(const char *logdir, two_ctx *t) {
    ctx a, b;
    sc_error err;
    assert_int_equal(ctx_open(&a, &err), SC_OK);
    assert_int_equal(ctx_open(&b, &err), SC_OK);
    sc_eval_dataset eds[2] = {a.ed, b.ed};
    eds[0].name = "first";
    eds[1].name = "second";
    char *jp = ckf_join(logdir, "sidecar_journal.jsonl");
    t->journal = jp;
    sc_callback cb = {t, NULL, NULL, two_batch_end, two_test_end};
    sc_evaluator_params p = sc_evaluator_default_params();
    p.model = a.model;
    p.checkpoint_dir = g_ckpts;
    p.datasets = eds;
    p.num_datasets = 2;
    p.max_batch = 16;
    p.logdir = logdir;
    p.every = 1;
    p.max_evaluations = NCKPT;
    p.timeout_s = 30; /* a guard: never reached when things work */
    p.callbacks = &cb;
    p.num_callbacks = 1;
    p.on_results = two_results;
    p.results_user = t;
    if (sc_evaluator_create(&p, &t->ev, &err)) fail_msg("%s", err.message);
    if (sc_evaluator_start(t->ev, &err)) fail_msg("%s", err.message);
    sc_evaluator_free(t->ev);
    t->ev = NULL;
    ctx_close(&a);
    ctx_close(&b);
    t->journal = NULL;
    free(jp);
}

static void test_stop_second_dataset(void **state) {
    (void)state;
    char *logdir = ckf_join(g_dir, "two_stopped");
    two_ctx t = {.stop = 1};
    run_two(logdir, &t);
    assert_int_equal(t.test_ends, 1); /* "first" finished, "second" never did */
    assert_int_equal(t.results_calls, 0);
    char *jp = ckf_join(logdir, "sidecar_journal.jsonl");
    assert_int_equal(count_lines(jp), 0);
    free(jp);
    for (int d = 0; d < 2; d++) {
        char *vdir = ckf_join(logdir, d ? "validation_second" : "validation_first");
        assert_false(sc_path_exists(vdir)); /* no event file of either dataset */
        free(vdir);
    }
    free(logdir);

    logdir = ckf_join(g_dir, "two_complete");
    two_ctx u = {.stop = 0};
    run_two(logdir, &u);
    assert_int_equal(u.test_ends, 2 * NCKPT);
    assert_int_equal(u.results_calls, NCKPT);
    assert_int_equal(u.results_datasets, 2 * NCKPT);
    assert_int_equal(u.journal_lines_seen, NCKPT); /* called after the journal line */
    free(logdir);
}

/* every without a journal: each checkpoint once, however often the watcher reports them. */
static void test_every_without_logdir(void **state) {
    (void)state;
    ctx c;
    sc_error err;
    assert_int_equal(ctx_open(&c, &err), SC_OK);
    assert_int_equal(ctx_run(&c, NULL, NULL, 1, &err), SC_OK);
    assert_int_equal(sc_evaluator_num_evaluated(c.ev), NCKPT);
    ctx_close(&c);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stop_busy),
        cmocka_unit_test(test_stop_second_dataset),
        cmocka_unit_test(test_every_without_logdir),
        cmocka_unit_test(test_fail_each_write),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
