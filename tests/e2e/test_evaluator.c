/* End to end: the evaluator against a real trainer process (tools/sc_demo_trainer) writing
 * checkpoints. Keras' own scenarios (1000 samples, batch 32, one epoch, max_evaluations 1, both
 * checkpoint layouts: step 32, the run stops, TensorBoard events at step 32 for the loss and every
 * metric), the hint for an empty directory, a checkpoint without a step, a corrupt checkpoint among
 * good ones, restart safety through the journal, and equality with an offline evaluation. */
#include <dirent.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "sidecar/ckpt_ref.h"
#include "sidecar/compile.h"
#include "sidecar/eval.h"
#include "sidecar/keras_weights.h"
#include "core/fileio.h"
#include "support/ckpt_fixture.h"
#include "support/event_decoder.h"

typedef struct fixture {
    char *dir;
    char *ckpts, *logdir, *data, *model_json;
    sc_model *model;
    sc_dataset *data_ds;
    sc_loss *loss;
    sc_metric *metrics[2];
    char log[16384];
    size_t log_len;
} fixture;

static void capture_log(void *user, const char *line) {
    fixture *f = user;
    int n = snprintf(f->log + f->log_len, sizeof f->log - f->log_len, "%s\n", line);
    if (n > 0 && f->log_len + (size_t)n < sizeof f->log) f->log_len += (size_t)n;
}

static pid_t spawn_trainer(const char *const *args, int wait_for_it) {
    const char *build = getenv("SC_BUILD_DIR");
    if (!build) fail_msg("SC_BUILD_DIR is not set (run through ctest)");
    char *exe = ckf_join(build, "sc_demo_trainer");
    const char *argv[40] = {exe};
    size_t n = 1;
    for (; args[n - 1]; n++) argv[n] = args[n - 1];
    argv[n] = NULL;
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (!freopen("/dev/null", "w", stdout)) _exit(126);
        execv(exe, (char *const *)argv);
        _exit(127);
    }
    free(exe);
    if (wait_for_it) {
        int st;
        assert_int_equal(waitpid(pid, &st, 0), pid);
        assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    }
    return pid;
}

static void reap(pid_t pid) {
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

static int setup(void **state) {
    fixture *f = calloc(1, sizeof *f);
    f->dir = ckf_mkdtemp();
    f->ckpts = ckf_join(f->dir, "ckpts");
    f->logdir = ckf_join(f->dir, "logs");
    f->data = ckf_join(f->dir, "eval.npz");
    f->model_json = ckf_join(f->dir, "model.json");
    const char *args[] = {"--write-data", f->data, "--write-model", f->model_json, NULL};
    spawn_trainer(args, 1);
    sc_error err;
    assert_int_equal(sc_model_load_keras(f->model_json, &f->model, &err), SC_OK);
    sc_dataset_params dp = sc_dataset_default_params();
    dp.path = f->data;
    dp.batch_size = 32;
    assert_int_equal(sc_dataset_open(&dp, &f->data_ds, &err), SC_OK);
    sc_loss_spec ls = sc_loss_default_spec("sparse_categorical_crossentropy");
    assert_int_equal(sc_loss_create(&ls, &f->loss, &err), SC_OK);
    sc_metric_shapes ms = {2, 4, 1, 1};
    assert_int_equal(sc_metric_from_string("accuracy", &ms, "sparse_categorical_crossentropy", 2,
                                           &f->metrics[0], &err),
                     SC_OK);
    sc_metric_spec auc = sc_metric_default_spec("SparseTopKCategoricalAccuracy");
    auc.k = 2;
    auc.name = "top2";
    assert_int_equal(sc_metric_create(&auc, &f->metrics[1], &err), SC_OK);
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fixture *f = *state;
    sc_metric_free(f->metrics[0]);
    sc_metric_free(f->metrics[1]);
    sc_loss_free(f->loss);
    sc_dataset_free(f->data_ds);
    sc_model_free(f->model);
    ckf_rmtree(f->dir);
    free(f->ckpts);
    free(f->logdir);
    free(f->data);
    free(f->model_json);
    free(f);
    return 0;
}

static sc_eval_dataset g_eds;

static sc_evaluator_params params(fixture *f, const char *logdir) {
    g_eds = (sc_eval_dataset){
        .data = f->data_ds, .loss = f->loss, .metrics = f->metrics, .num_metrics = 2};
    sc_evaluator_params p = sc_evaluator_default_params();
    p.model = f->model;
    p.checkpoint_dir = f->ckpts;
    p.datasets = &g_eds;
    p.num_datasets = 1;
    p.logdir = logdir;
    p.log = capture_log;
    p.log_user = f;
    p.retry_delay_ms = 20;
    p.timeout_s = 60; /* a failure guard, never reached when things work */
    f->log_len = 0;
    f->log[0] = '\0';
    return p;
}

/* The validation event file's scalars: tag -> (step, value). */
static int find_scalar(const char *logdir, const char *sub, const char *tag, int64_t step,
                       float *v) {
    char *vdir = ckf_join(logdir, sub);
    DIR *d = opendir(vdir);
    assert_non_null(d);
    struct dirent *e;
    int found = 0;
    while ((e = readdir(d)))
        if (strstr(e->d_name, "tfevents")) {
            char *p = ckf_join(vdir, e->d_name);
            evd_events evs;
            char msg[256];
            assert_int_equal(evd_decode_file(p, &evs, msg, sizeof msg), 0);
            for (size_t i = 0; i < evs.n; i++)
                for (size_t k = 0; k < evs.ev[i].n_values; k++)
                    if (!strcmp(evs.ev[i].values[k].tag, tag) && evs.ev[i].step == step
                        && evd_scalar(&evs.ev[i].values[k], v) == 0)
                        found++;
            evd_events_free(&evs);
            free(p);
        }
    closedir(d);
    free(vdir);
    return found;
}

static void keras_scenario(fixture *f, const char *layout) {
    const char *args[] = {
        "--out", f->ckpts,   "--layout", layout,       "--samples", "1000", "--batch-size",
        "32",    "--epochs", "1",        "--sleep-ms", "0",         NULL};
    sc_evaluator_params p = params(f, f->logdir);
    p.max_evaluations = 1;
    sc_evaluator *ev;
    sc_error err;
    assert_int_equal(sc_evaluator_create(&p, &ev, &err), SC_OK);
    pid_t trainer = spawn_trainer(args, 0); /* writes while the evaluator waits */
    assert_int_equal(sc_evaluator_start(ev, &err), SC_OK);
    reap(trainer);
    assert_int_equal(sc_evaluator_num_evaluated(ev), 1);
    sc_evaluator_free(ev);
    assert_non_null(
        strstr(f->log, "Evaluation starts: Model weights loaded from latest checkpoint file"));
    assert_non_null(strstr(f->log, "ckpt-1"));
    assert_non_null(strstr(f->log, "End of evaluation. Metrics: loss="));
    assert_non_null(strstr(f->log, "Last checkpoint evaluated. SidecarEvaluator stops."));
    float loss, acc, top2;
    assert_int_equal(
        find_scalar(f->logdir, "validation", "evaluation_loss_vs_iterations", 32, &loss), 1);
    assert_int_equal(
        find_scalar(f->logdir, "validation", "evaluation_accuracy_vs_iterations", 32, &acc), 1);
    assert_int_equal(
        find_scalar(f->logdir, "validation", "evaluation_top2_vs_iterations", 32, &top2), 1);
    assert_true(loss > 0 && acc >= 0 && acc <= 1 && top2 >= acc);

    /* The same checkpoint evaluated offline gives the same numbers. */
    char *ck = ckf_join(f->ckpts, "ckpt-1");
    sc_evaluator_params q = params(f, NULL);
    assert_int_equal(sc_evaluator_create(&q, &ev, &err), SC_OK);
    assert_int_equal(sc_evaluator_evaluate(ev, ck, &err), SC_OK);
    sc_evaluator_free(ev);
    free(ck);
    assert_non_null(strstr(f->log, "End of evaluation. Metrics: loss="));
    char want[64];
    snprintf(want, sizeof want, "accuracy=%.9g", (double)acc);
    assert_non_null(strstr(f->log, want));
}

static void test_keras_checkpoint_manager(void **state) { keras_scenario(*state, "manager"); }
static void test_keras_model_checkpoint(void **state) { keras_scenario(*state, "keras"); }

static void test_empty_dir_hint(void **state) {
    fixture *f = *state;
    sc_evaluator_params p = params(f, NULL);
    p.hint_after_s = 0.2;
    p.timeout_s = 0.6;
    sc_evaluator *ev;
    sc_error err;
    assert_int_equal(sc_evaluator_create(&p, &ev, &err), SC_OK);
    assert_int_equal(sc_evaluator_start(ev, &err), SC_OK);
    assert_int_equal(sc_evaluator_num_evaluated(ev), 0);
    sc_evaluator_free(ev);
    assert_non_null(strstr(f->log, "No checkpoints appear to be found after"));
    assert_non_null(strstr(f->log, "ModelCheckpoint(save_weights_only=True)"));
    assert_non_null(strstr(f->log, "No new checkpoint for"));
}

static void test_no_step(void **state) {
    fixture *f = *state;
    assert_int_equal(mkdir(f->ckpts, 0755), 0);
    char *prefix = ckf_join(f->ckpts, "ckpt-1");
    sc_bundle_writer *w;
    sc_error err;
    assert_int_equal(sc_bundle_writer_create(prefix, NULL, &w, &err), SC_OK);
    float zeros[16 * 32] = {0};
    const int64_t k0[2] = {16, 32}, b0[1] = {32}, k1[2] = {32, 4}, b1[1] = {4};
    const char *keys[4] = {"layer_with_weights-0/kernel", "layer_with_weights-0/bias",
                           "layer_with_weights-1/kernel", "layer_with_weights-1/bias"};
    const int64_t *shapes[4] = {k0, b0, k1, b1};
    const int ranks[4] = {2, 1, 2, 1};
    const size_t sizes[4] = {16 * 32 * 4, 32 * 4, 32 * 4 * 4, 4 * 4};
    for (int i = 0; i < 4; i++) {
        char key[128];
        snprintf(key, sizeof key, "%s/.ATTRIBUTES/VARIABLE_VALUE", keys[i]);
        assert_int_equal(sc_bundle_writer_add(w, key, SC_DT_FLOAT, ranks[i], shapes[i], zeros,
                                              sizes[i], 0, &err),
                         SC_OK);
    }
    assert_int_equal(sc_bundle_writer_finish(w, &err), SC_OK);
    sc_bundle_writer_free(w);
    sc_ckpt_state st = {0};
    char *paths[1] = {"ckpt-1"};
    st.model_checkpoint_path = "ckpt-1";
    st.all_model_checkpoint_paths = paths;
    st.num_paths = 1;
    assert_int_equal(sc_ckpt_state_write(f->ckpts, &st, &err), SC_OK);
    sc_evaluator_params p = params(f, NULL);
    sc_evaluator *ev;
    assert_int_equal(sc_evaluator_create(&p, &ev, &err), SC_OK);
    assert_int_equal(sc_evaluator_start(ev, &err), SC_NOT_FOUND);
    assert_non_null(strstr(err.message, "Variable `iterations` cannot be loaded"));
    assert_non_null(strstr(err.message, "ckpt-1"));
    sc_evaluator_free(ev);
    free(prefix);
}

/* ckpt-2's data is corrupted: skipped with a message naming it; 1 and 3 are evaluated. Then a
 * restart with a higher max_evaluations evaluates only what the journal lacks. */
static void test_corrupt_and_restart(void **state) {
    fixture *f = *state;
    const char *args[] = {"--out", f->ckpts, "--epochs", "4", "--max-to-keep", "0", NULL};
    spawn_trainer(args, 1);
    char *data2 = ckf_join(f->ckpts, "ckpt-2.data-00000-of-00001");
    size_t len;
    uint8_t *bytes = ckf_read(data2, &len);
    bytes[len / 2] ^= 0x40;
    ckf_write(data2, bytes, len);
    free(bytes);
    sc_evaluator_params p = params(f, f->logdir);
    p.every = 1;
    p.max_evaluations = 3;
    p.retries = 2;
    sc_evaluator *ev;
    sc_error err;
    assert_int_equal(sc_evaluator_create(&p, &ev, &err), SC_OK);
    assert_int_equal(sc_evaluator_start(ev, &err), SC_OK);
    assert_int_equal(sc_evaluator_num_evaluated(ev), 2);
    sc_evaluator_free(ev);
    assert_non_null(strstr(f->log, "Skipping checkpoint"));
    assert_non_null(strstr(f->log, "ckpt-2.data-00000-of-00001"));
    assert_non_null(strstr(f->log, "CRC"));
    /* Restart: ckpt-1 and ckpt-3 are in the journal; only ckpt-4 is new. */
    p = params(f, f->logdir);
    p.every = 1;
    p.max_evaluations = 4;
    assert_int_equal(sc_evaluator_create(&p, &ev, &err), SC_OK);
    assert_int_equal(sc_evaluator_start(ev, &err), SC_OK);
    assert_int_equal(sc_evaluator_num_evaluated(ev), 1); /* ckpt-2 still corrupt: skipped again */
    sc_evaluator_free(ev);
    char *journal = ckf_join(f->logdir, "sidecar_journal.jsonl");
    uint8_t *raw = ckf_read(journal, &len);
    char *j = malloc(len + 1); /* ckf_read's buffer is not a C string */
    assert_non_null(j);
    memcpy(j, raw, len);
    j[len] = '\0';
    free(raw);
    int lines = 0;
    for (size_t i = 0; i < len; i++) lines += j[i] == '\n';
    assert_int_equal(lines, 3);
    assert_non_null(strstr(j, "\"checkpoint\":\"ckpt-1\""));
    assert_non_null(strstr(j, "\"checkpoint\":\"ckpt-3\""));
    assert_non_null(strstr(j, "\"checkpoint\":\"ckpt-4\""));
    assert_null(strstr(j, "\"checkpoint\":\"ckpt-2\""));
    free(j);
    free(journal);
    free(data2);
}

/* Keras 3 training writes `ckpt-N.weights.h5` in place, with no state file: the evaluator notices
 * the file, binds it (layers/dense[_1]/vars/i), takes the step from optimizer/vars/0, and stops
 * by the number in the name. The weights come from a trainer checkpoint, so the metrics must
 * equal that checkpoint's. */
static void test_keras3_weights_file(void **state) {
    fixture *f = *state;
    char *tf = ckf_join(f->dir, "tf");
    const char *args[] = {"--out", tf, "--epochs", "2", "--max-to-keep", "0", NULL};
    spawn_trainer(args, 1);
    char *prefix = ckf_join(tf, "ckpt-2");
    sc_bundle *b;
    sc_error err;
    assert_int_equal(sc_bundle_open(prefix, &b, &err), SC_OK);
    const char *keys[4][2] = {
        {"model/layer_with_weights-0/kernel/.ATTRIBUTES/VARIABLE_VALUE", "layers/dense/vars/0"},
        {"model/layer_with_weights-0/bias/.ATTRIBUTES/VARIABLE_VALUE", "layers/dense/vars/1"},
        {"model/layer_with_weights-1/kernel/.ATTRIBUTES/VARIABLE_VALUE", "layers/dense_1/vars/0"},
        {"model/layer_with_weights-1/bias/.ATTRIBUTES/VARIABLE_VALUE", "layers/dense_1/vars/1"}};
    sc_h5weights_entry e[5];
    void *bufs[4];
    for (int i = 0; i < 4; i++) {
        const sc_tensor_info *t = sc_bundle_find(b, keys[i][0]);
        assert_non_null(t);
        bufs[i] = malloc(t->size);
        assert_int_equal(sc_bundle_read(b, t, bufs[i], t->size, &err), SC_OK);
        e[i] = (sc_h5weights_entry){keys[i][1], t->dtype, t->rank, t->shape, bufs[i], t->size};
    }
    int64_t it = 64; /* the trainer's step after 2 epochs of 32 batches */
    e[4] = (sc_h5weights_entry){"optimizer/vars/0", SC_DT_INT64, 0, NULL, &it, 8};
    assert_int_equal(mkdir(f->ckpts, 0755), 0);
    char *h5 = ckf_join(f->ckpts, "ckpt-2.weights.h5");
    if (sc_h5weights_write(h5, e, 5, NULL, 0, &err) != SC_OK) fail_msg("%s", err.message);
    for (int i = 0; i < 4; i++) free(bufs[i]);
    sc_bundle_free(b);
    sc_evaluator_params p = params(f, f->logdir);
    p.max_evaluations = 2;
    sc_evaluator *ev;
    assert_int_equal(sc_evaluator_create(&p, &ev, &err), SC_OK);
    assert_int_equal(sc_evaluator_start(ev, &err), SC_OK);
    assert_int_equal(sc_evaluator_num_evaluated(ev), 1);
    sc_evaluator_free(ev);
    assert_non_null(strstr(f->log, "ckpt-2.weights.h5"));
    assert_non_null(strstr(f->log, "Last checkpoint evaluated."));
    float acc_h5, acc_tf;
    assert_int_equal(
        find_scalar(f->logdir, "validation", "evaluation_accuracy_vs_iterations", 64, &acc_h5), 1);
    /* The same weights from the TF checkpoint, offline. */
    char *logs2 = ckf_join(f->dir, "logs_tf");
    sc_evaluator_params q = params(f, logs2);
    assert_int_equal(sc_evaluator_create(&q, &ev, &err), SC_OK);
    assert_int_equal(sc_evaluator_evaluate(ev, prefix, &err), SC_OK);
    sc_evaluator_free(ev);
    assert_int_equal(
        find_scalar(logs2, "validation", "evaluation_accuracy_vs_iterations", 64, &acc_tf), 1);
    assert_true(acc_h5 == acc_tf);
    free(logs2);
    free(h5);
    free(prefix);
    free(tf);
}

/* Keras 2 HDF5 (FORMATS §7.4/§7.5), written with libhdf5 as h5py writes it, from the trainer's
 * ckpt-2 weights. full: model.save("m.h5") (model_config/training_config at the root, weights
 * under model_weights/, the step in optimizer_weights/Adam/iter:0); else save_weights (weights
 * at the root, no step). k3 1: Keras 3's legacy names "<layer>/sequential/<layer>/<var>" (no
 * ":0"), as in its model.save("m.h5"); 2: standalone Keras <= 2.3's step counter name. */
static void write_legacy_h5(fixture *f, const char *tf_prefix, const char *path, int full, int k3) {
    static const char *const tf_keys[4] = {
        "model/layer_with_weights-0/kernel/.ATTRIBUTES/VARIABLE_VALUE",
        "model/layer_with_weights-0/bias/.ATTRIBUTES/VARIABLE_VALUE",
        "model/layer_with_weights-1/kernel/.ATTRIBUTES/VARIABLE_VALUE",
        "model/layer_with_weights-1/bias/.ATTRIBUTES/VARIABLE_VALUE"};
    static const char *const layer[4] = {"dense", "dense", "dense_1", "dense_1"};
    static const char *const var[4] = {"kernel", "bias", "kernel", "bias"};
    sc_bundle *b;
    sc_error err;
    assert_int_equal(sc_bundle_open(tf_prefix, &b, &err), SC_OK);
    sc_h5weights_entry e[5];
    void *bufs[4];
    char keys[4][128];
    for (int i = 0; i < 4; i++) {
        const sc_tensor_info *t = sc_bundle_find(b, tf_keys[i]);
        assert_non_null(t);
        bufs[i] = malloc(t->size);
        assert_int_equal(sc_bundle_read(b, t, bufs[i], t->size, &err), SC_OK);
        snprintf(keys[i], sizeof keys[i], "%s%s/%s/%s%s", full ? "model_weights/" : "", layer[i],
                 k3 == 1 ? "sequential" : layer[i], k3 == 1 ? layer[i] : var[i],
                 k3 == 1 ? "" : ":0");
        if (k3 == 1)
            snprintf(keys[i] + strlen(keys[i]), sizeof keys[i] - strlen(keys[i]), "/%s", var[i]);
        e[i] = (sc_h5weights_entry){keys[i], t->dtype, t->rank, t->shape, bufs[i], t->size};
    }
    int64_t it = 64; /* the trainer's step after 2 epochs of 32 batches */
    /* The counter as each writer names it (FORMATS §7.5): Keras 3 legacy, standalone Keras <= 2.3
     * (k3 == 2), tf.keras OptimizerV2. */
    e[4] = (sc_h5weights_entry){k3 == 1   ? "optimizer_weights/adam/iteration"
                                : k3 == 2 ? "optimizer_weights/training/Adam/iterations:0"
                                          : "optimizer_weights/Adam/iter:0",
                                SC_DT_INT64,
                                0,
                                NULL,
                                &it,
                                8};
    uint8_t *json;
    size_t len;
    assert_int_equal(sc_read_file(f->model_json, &json, &len, &err), SC_OK);
    const char *tc = "{\"loss\": \"sparse_categorical_crossentropy\", \"metrics\": [\"accuracy\"], "
                     "\"weighted_metrics\": null, \"loss_weights\": null, \"optimizer_config\": "
                     "{\"class_name\": \"Adam\", \"config\": {\"name\": \"Adam\"}}}";
    sc_h5weights_group g[3] = {{"", NULL, "model_config", (const char *)json},
                               {"", NULL, "training_config", tc},
                               {"", NULL, "keras_version",
                                k3 == 1   ? "3.11.1"
                                : k3 == 2 ? "2.3.1"
                                          : "2.15.0"}};
    if (sc_h5weights_write(path, e, full ? 5 : 4, g, full ? 3 : 0, &err) != SC_OK)
        fail_msg("%s", err.message);
    free(json);
    for (int i = 0; i < 4; i++) free(bufs[i]);
    sc_bundle_free(b);
}

static void legacy_h5_scenario(fixture *f, int k3) {
    char *tf = ckf_join(f->dir, "tf");
    const char *args[] = {"--out", tf, "--epochs", "2", "--max-to-keep", "0", NULL};
    spawn_trainer(args, 1);
    char *prefix = ckf_join(tf, "ckpt-2");
    assert_int_equal(mkdir(f->ckpts, 0755), 0);
    char *h5 = ckf_join(f->ckpts, "ckpt-2.h5");
    write_legacy_h5(f, prefix, h5, 1, k3);

    /* The file carries the model and the compile config: no model JSON needed. */
    sc_ckpt_ref ref;
    sc_error err;
    assert_int_equal(sc_ckpt_ref_resolve(h5, &ref, &err), SC_OK);
    assert_int_equal(ref.kind, SC_CKPT_LEGACY_H5);
    assert_int_equal(ref.number, 2);
    sc_keras_config kc;
    if (sc_ckpt_keras_config(&ref, &kc, &err) != SC_OK) fail_msg("%s", err.message);
    assert_non_null(strstr(kc.source, "model_config"));
    sc_model *m;
    if (sc_model_load_keras_json(kc.model_json, strlen(kc.model_json), kc.source, &m, &err))
        fail_msg("%s", err.message);
    assert_int_equal(sc_model_num_inputs(m), 1);
    sc_model_free(m);
    sc_compile_shapes cs = {
        .pred_rank = 2, .pred_last_dim = 4, .true_rank = 1, .true_last_dim = 1, .keras_version = 2};
    sc_compiled c;
    if (sc_compile_from_json(kc.compile_json, strlen(kc.compile_json), kc.source, &cs, &c, &err))
        fail_msg("%s", err.message);
    assert_non_null(c.loss);
    assert_int_equal(c.num_metrics, 1);
    sc_compiled_clear(&c);
    sc_keras_config_clear(&kc);

    /* Watched like the other Keras files; the step from optimizer_weights. */
    sc_evaluator_params p = params(f, f->logdir);
    p.max_evaluations = 2;
    sc_evaluator *ev;
    assert_int_equal(sc_evaluator_create(&p, &ev, &err), SC_OK);
    assert_int_equal(sc_evaluator_start(ev, &err), SC_OK);
    assert_int_equal(sc_evaluator_num_evaluated(ev), 1);
    sc_evaluator_free(ev);
    assert_non_null(strstr(f->log, "ckpt-2.h5"));
    assert_non_null(strstr(f->log, "Last checkpoint evaluated."));
    float acc_h5, acc_tf, loss_h5, loss_tf;
    assert_int_equal(
        find_scalar(f->logdir, "validation", "evaluation_accuracy_vs_iterations", 64, &acc_h5), 1);
    assert_int_equal(
        find_scalar(f->logdir, "validation", "evaluation_loss_vs_iterations", 64, &loss_h5), 1);
    /* The same weights from the TF checkpoint give the same numbers. */
    char *logs2 = ckf_join(f->dir, "logs_tf");
    sc_evaluator_params q = params(f, logs2);
    assert_int_equal(sc_evaluator_create(&q, &ev, &err), SC_OK);
    assert_int_equal(sc_evaluator_evaluate(ev, prefix, &err), SC_OK);
    sc_evaluator_free(ev);
    assert_int_equal(
        find_scalar(logs2, "validation", "evaluation_accuracy_vs_iterations", 64, &acc_tf), 1);
    assert_int_equal(
        find_scalar(logs2, "validation", "evaluation_loss_vs_iterations", 64, &loss_tf), 1);
    assert_true(acc_h5 == acc_tf);
    assert_true(loss_h5 == loss_tf);

    /* save_weights("w.h5"): weights at the root, no config, no step (the name's number). */
    char *w = ckf_join(f->dir, "weights-7.h5");
    write_legacy_h5(f, prefix, w, 0, k3);
    sc_ckpt_ref_clear(&ref);
    assert_int_equal(sc_ckpt_ref_resolve(w, &ref, &err), SC_OK);
    assert_int_equal(sc_ckpt_keras_config(&ref, &kc, &err), SC_NOT_FOUND);
    assert_non_null(strstr(err.message, "give --model"));
    char *logs3 = ckf_join(f->dir, "logs_w");
    sc_evaluator_params r = params(f, logs3);
    assert_int_equal(sc_evaluator_create(&r, &ev, &err), SC_OK);
    if (sc_evaluator_evaluate_ref(ev, &ref, &err)) fail_msg("%s", err.message);
    sc_evaluator_free(ev);
    float acc_w;
    assert_int_equal(
        find_scalar(logs3, "validation", "evaluation_accuracy_vs_iterations", 7, &acc_w), 1);
    assert_true(acc_w == acc_tf);
    sc_ckpt_ref_clear(&ref);
    free(logs3);
    free(w);
    free(logs2);
    free(h5);
    free(prefix);
    free(tf);
}

static void test_legacy_h5_keras2(void **state) { legacy_h5_scenario(*state, 0); }
static void test_legacy_h5_keras3_names(void **state) { legacy_h5_scenario(*state, 1); }
static void test_legacy_h5_keras23_counter(void **state) { legacy_h5_scenario(*state, 2); }

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_keras_checkpoint_manager, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keras_model_checkpoint, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_dir_hint, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_step, setup, teardown),
        cmocka_unit_test_setup_teardown(test_corrupt_and_restart, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keras3_weights_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_legacy_h5_keras2, setup, teardown),
        cmocka_unit_test_setup_teardown(test_legacy_h5_keras3_names, setup, teardown),
        cmocka_unit_test_setup_teardown(test_legacy_h5_keras23_counter, setup, teardown),
    };
    return cmocka_run_group_tests_name("evaluator", tests, NULL, NULL);
}
