/* End to end: checkpoints as real training code writes them (tests/support/tf_trackable writes
 * them as TensorFlow does), evaluated by the `sidecar` command, with the step and the metrics
 * compared to a float64 reference computed here:
 *   - tf.train.Checkpoint(step=..., optimizer=<never applied>, net=model) with the model's
 *     compiled Keras 2.11+ optimizer under net/optimizer, two data shards, a variable-length text
 *     model (batch_input_shape [null, null]): `run --every` over three checkpoints, `eval`,
 *     `inspect`, `--step-key`, `--model-root`;
 *   - Checkpoint(model=model, optimizer=LossScaleOptimizer(legacy Adam)): the step from
 *     optimizer/base_optimizer/iter. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "sidecar/checkpoint.h"
#include "sidecar/data.h"
#include "support/ckpt_fixture.h"
#include "support/tf_trackable.h"

#define N 20
#define T 7

static const char *k_text =
    "{\"class_name\": \"Sequential\", \"config\": {\"name\": \"text\", \"layers\": ["
    "{\"class_name\": \"InputLayer\", \"config\": {\"batch_input_shape\": [null, null], "
    "\"dtype\": \"int32\", \"name\": \"tokens\"}},"
    "{\"class_name\": \"Embedding\", \"config\": {\"name\": \"emb\", \"input_dim\": 6, "
    "\"output_dim\": 2}},"
    "{\"class_name\": \"Conv1D\", \"config\": {\"name\": \"conv\", \"filters\": 3, "
    "\"kernel_size\": [2], "
    "\"strides\": [1], \"padding\": \"valid\", \"dilation_rate\": [1], \"activation\": \"relu\"}},"
    "{\"class_name\": \"GlobalMaxPooling1D\", \"config\": {\"name\": \"pool\"}},"
    "{\"class_name\": \"Dense\", \"config\": {\"name\": \"out\", \"units\": 2, \"activation\": "
    "\"softmax\"}}"
    "]}, \"keras_version\": \"2.15.0\", \"backend\": \"tensorflow\"}";

/* The model's variables in Keras order: embeddings [6,2], conv kernel [2,2,3], bias [3], dense
 * kernel [3,2], bias [2]. */
static const int RANK[5] = {2, 3, 1, 2, 1};
static const int64_t SHAPE[5][3] = {{6, 2}, {2, 2, 3}, {3}, {3, 2}, {2}};
static const int64_t COUNT[5] = {12, 12, 3, 6, 2};

typedef struct weights {
    float v[5][12];
} weights;

static weights make_weights(int c) {
    weights w;
    for (int i = 0; i < 5; i++)
        for (int k = 0; k < COUNT[i]; k++)
            w.v[i][k] = (float)((i * 7 + k * 5 + c * 3) % 11 - 5) / 8.0f;
    return w;
}

static float TOK[N * T];
static int32_t LABEL[N];

/* The model in double: mean crossentropy and accuracy over the data. */
static void reference(const weights *w, double *loss, double *acc) {
    double lsum = 0, hits = 0;
    for (int e = 0; e < N; e++) {
        const float *tok = TOK + e * T;
        double pool[3] = {-1e300, -1e300, -1e300};
        for (int t = 0; t + 1 < T; t++)
            for (int f = 0; f < 3; f++) {
                double s = w->v[2][f];
                for (int k = 0; k < 2; k++)
                    for (int c = 0; c < 2; c++)
                        s +=
                            (double)w->v[0][(int)tok[t + k] * 2 + c] * w->v[1][(k * 2 + c) * 3 + f];
                s = s > 0 ? s : 0;
                if (s > pool[f]) pool[f] = s;
            }
        double z[2];
        for (int j = 0; j < 2; j++) {
            z[j] = w->v[4][j];
            for (int f = 0; f < 3; f++) z[j] += pool[f] * w->v[3][f * 2 + j];
        }
        double mx = fmax(z[0], z[1]);
        double lse = mx + log(exp(z[0] - mx) + exp(z[1] - mx));
        lsum += lse - z[LABEL[e]];
        hits += (z[1] > z[0] ? 1 : 0) == LABEL[e];
    }
    *loss = lsum / N;
    *acc = hits / N;
}

typedef struct mdl {
    int obj, vars[5];
} mdl;

/* A Keras 2 Sequential as it tracks itself: layer_with_weights-K / layer-K edges. */
static mdl add_model(tft *t, const weights *w) {
    mdl m;
    m.obj = tft_obj(t);
    static const char *names[5] = {"embeddings", "kernel", "bias", "kernel", "bias"};
    int lw[3], v = 0;
    for (int l = 0; l < 4; l++) {
        int layer = tft_obj(t);
        char e[32];
        if (l != 2) { /* the pooling layer has no weights */
            int k = l < 2 ? l : 2;
            lw[k] = layer;
            snprintf(e, sizeof e, "layer_with_weights-%d", k);
            tft_edge(t, m.obj, e, layer);
        }
        snprintf(e, sizeof e, "layer-%d", l);
        tft_edge(t, m.obj, e, layer);
    }
    for (int k = 0; k < 3; k++)
        for (int j = 0; j < (k == 0 ? 1 : 2); j++, v++) {
            m.vars[v] = tft_var_f32(t, RANK[v], SHAPE[v], w->v[v]);
            tft_edge(t, lw[k], names[v], m.vars[v]);
        }
    return m;
}

static int add_new_opt(tft *t, int64_t step, const mdl *trained) {
    return tft_adam(t, step, trained ? trained->vars : NULL, trained ? 5 : 0);
}

static void write_state(const char *dir, int n) {
    char *paths[8];
    sc_ckpt_state st;
    memset(&st, 0, sizeof st);
    for (int i = 0; i < n; i++) {
        paths[i] = malloc(16);
        snprintf(paths[i], 16, "ckpt-%d", i + 1);
    }
    st.model_checkpoint_path = paths[n - 1];
    st.all_model_checkpoint_paths = paths;
    st.num_paths = (size_t)n;
    sc_error err;
    if (sc_ckpt_state_write(dir, &st, &err) != SC_OK) fail_msg("%s", err.message);
    for (int i = 0; i < n; i++) free(paths[i]);
}

typedef struct env {
    char *dir, *model, *data;
} env;

static int setup(void **state) {
    env *e = calloc(1, sizeof *e);
    e->dir = ckf_mkdtemp();
    e->model = ckf_join(e->dir, "model.json");
    e->data = ckf_join(e->dir, "eval.npz");
    ckf_write(e->model, k_text, strlen(k_text));
    for (int i = 0; i < N * T; i++) TOK[i] = (float)((i * 7 + i / 5) % 6);
    for (int i = 0; i < N; i++) LABEL[i] = (i * 3) % 5 < 2;
    int32_t tok32[N * T];
    for (int i = 0; i < N * T; i++) tok32[i] = (int32_t)TOK[i];
    sc_npz_writer *w;
    sc_error err;
    const int64_t xs[2] = {N, T}, ys[1] = {N};
    if (sc_npz_writer_create(e->data, 0, &w, &err) != SC_OK
        || sc_npz_writer_add(w, "x", SC_DT_INT32, 2, xs, tok32, sizeof tok32, &err) != SC_OK
        || sc_npz_writer_add(w, "y", SC_DT_INT32, 1, ys, LABEL, sizeof LABEL, &err) != SC_OK
        || sc_npz_writer_close(w, &err) != SC_OK)
        fail_msg("%s", err.message);
    sc_npz_writer_free(w);
    *state = e;
    return 0;
}

static int teardown(void **state) {
    env *e = *state;
    free(e->model);
    free(e->data);
    ckf_rmtree(e->dir);
    free(e);
    return 0;
}

static int g_stderr_too; /* 1: cli() returns stderr after stdout */

/* Runs the CLI; returns stdout (malloc'd) and the exit status. */
static char *cli(int *rc, const char *fmt, ...) {
    const char *exe = getenv("SC_CLI");
    if (!exe) fail_msg("SC_CLI is not set (run through ctest)");
    char args[4096], cmd[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof cmd, "'%s' %s %s", exe, args, g_stderr_too ? "2>&1" : "2>/dev/null");
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t cap = 1 << 16, len = 0;
    char *out = malloc(cap);
    size_t n;
    while ((n = fread(out + len, 1, cap - 1 - len, p)) > 0) len += n;
    out[len] = '\0';
    int st = pclose(p);
    *rc = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    return out;
}

/* Checks one --json line: {"checkpoint": ".../ckpt-C", "step": S, "metrics": {...}}. */
static const char *check_line(const char *line, int c, int64_t step) {
    char want[32];
    snprintf(want, sizeof want, "ckpt-%d\"", c);
    const char *nl = strchr(line, '\n');
    assert_non_null(nl);
    char one[1024];
    snprintf(one, sizeof one, "%.*s", (int)(nl - line), line);
    if (!strstr(one, want)) fail_msg("expected checkpoint %d in: %s", c, one);
    const char *sp = strstr(one, "\"step\":"), *lp = strstr(one, "\"loss\":"),
               *ap = strstr(one, "\"accuracy\":");
    assert_non_null(sp);
    assert_non_null(lp);
    assert_non_null(ap);
    assert_int_equal(strtoll(sp + 7, NULL, 10), step);
    weights w = make_weights(c);
    double loss, acc;
    reference(&w, &loss, &acc);
    double got_loss = strtod(lp + 7, NULL), got_acc = strtod(ap + 11, NULL);
    print_message("ckpt-%d step %lld: loss %.9g accuracy %.9g; float64 reference %.9g %.9g\n", c,
                  (long long)step, got_loss, got_acc, loss, acc);
    if (fabs(got_loss - loss) > 1e-5 * fmax(1, fabs(loss)) || fabs(got_acc - acc) > 1e-6)
        fail_msg("checkpoint %d: loss %.9g accuracy %.9g, reference %.9g %.9g", c, got_loss,
                 got_acc, loss, acc);
    return nl + 1;
}

static void test_net_root_text_model(void **state) {
    env *e = *state;
    char *run = ckf_join(e->dir, "run");
    assert_int_equal(mkdir(run, 0700), 0);
    for (int c = 1; c <= 3; c++) {
        tft *t = tft_new();
        weights w = make_weights(c);
        mdl net = add_model(t, &w);
        /* tf.train.Checkpoint(step=..., optimizer=opt, net=net): kwargs sorted; save_counter
         * added by the first save(). The optimizer passed to the Checkpoint never ran. */
        tft_edge(t, 0, "net", net.obj);
        tft_edge(t, 0, "optimizer", add_new_opt(t, 0, NULL));
        tft_edge(t, 0, "step", tft_var_i64(t, 1000 + c));
        tft_edge(t, 0, "save_counter", tft_var_i64(t, c));
        tft_edge(t, net.obj, "optimizer", add_new_opt(t, 10 * c, &net));
        char name[32];
        snprintf(name, sizeof name, "ckpt-%d", c);
        char *prefix = ckf_join(run, name);
        tft_write(t, prefix, 2);
        free(prefix);
        tft_free(t);
    }
    write_state(run, 3);
    const char *common = "--loss sparse_categorical_crossentropy --metrics accuracy --json";
    int rc;
    char *out = cli(&rc,
                    "run --checkpoint-dir '%s' --model '%s' --data '%s' %s --every "
                    "--max-evaluations 3",
                    run, e->model, e->data, common);
    assert_int_equal(rc, 0);
    const char *p = out;
    for (int c = 1; c <= 3; c++) p = check_line(p, c, 10 * c);
    assert_string_equal(p, "");
    free(out);

    out = cli(&rc, "eval '%s/ckpt-2' --model='%s' --data='%s' %s", run, e->model, e->data, common);
    assert_int_equal(rc, 0);
    check_line(out, 2, 20);
    free(out);
    out = cli(&rc, "eval '%s/ckpt-2' --model '%s' --data '%s' %s --step-key step --model-root=net",
              run, e->model, e->data, common);
    assert_int_equal(rc, 0);
    check_line(out, 2, 1002);
    free(out);
    /* The log says which key gave the step and why that optimizer. */
    g_stderr_too = 1;
    out =
        cli(&rc, "eval '%s/ckpt-2' --model '%s' --data '%s' --loss sparse_categorical_crossentropy",
            run, e->model, e->data);
    g_stderr_too = 0;
    assert_int_equal(rc, 0);
    assert_non_null(strstr(out, "Training step read from 'net/optimizer/_iterations/.ATTRIBUTES/"
                                "VARIABLE_VALUE' (the optimizer whose slot variables belong to the "
                                "model)"));
    free(out);
    out = cli(&rc, "eval '%s/ckpt-2' --model '%s' --data '%s' %s --model-root nope", run, e->model,
              e->data, common);
    assert_int_equal(rc, 1);
    free(out);

    out = cli(&rc, "inspect '%s/ckpt-3'", run);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(out, "layout   checkpoint_manager, model under 'net'\n"));
    assert_non_null(strstr(out, "step     30, from net/optimizer/_iterations ("));
    assert_non_null(strstr(out, "shards   2\n"));
    free(out);
    out = cli(&rc, "inspect '%s/ckpt-3' --model '%s'", run, e->model);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(out, "found    model under 'net'"));
    free(out);
    free(run);
}

/* Checkpoint(model=model, optimizer=LossScaleOptimizer(Adam)) with Keras 2.4-2.10's wrapper. */
static void test_loss_scale_optimizer(void **state) {
    env *e = *state;
    char *run = ckf_join(e->dir, "lso");
    assert_int_equal(mkdir(run, 0700), 0);
    static const float zeros[12] = {0}, scale = 32768.0f;
    tft *t = tft_new();
    weights w = make_weights(1);
    mdl m = add_model(t, &w);
    int lso = tft_obj(t), base = tft_obj(t), ls = tft_obj(t);
    tft_edge(t, 0, "model", m.obj);
    tft_edge(t, 0, "optimizer", lso);
    tft_edge(t, lso, "base_optimizer", base);
    tft_edge(t, lso, "loss_scale", ls);
    tft_edge(t, base, "iter", tft_var_i64(t, 77));
    tft_edge(t, ls, "current_loss_scale", tft_var_f32(t, 0, NULL, &scale));
    tft_edge(t, ls, "good_steps", tft_var_i64(t, 5));
    for (int i = 0; i < 5; i++) /* Adam's m only: the slots of a LossScale-wrapped optimizer */
        tft_slot(t, base, m.vars[i], "m", tft_var_f32(t, RANK[i], SHAPE[i], zeros));
    char *prefix = ckf_join(run, "ckpt-1");
    tft_write(t, prefix, 1);
    tft_free(t);
    int rc;
    char *out = cli(&rc,
                    "eval '%s' --model '%s' --data '%s' --loss sparse_categorical_crossentropy "
                    "--metrics accuracy --json",
                    prefix, e->model, e->data);
    assert_int_equal(rc, 0);
    check_line(out, 1, 77);
    free(out);
    free(prefix);
    free(run);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_net_root_text_model, setup, teardown),
        cmocka_unit_test_setup_teardown(test_loss_scale_optimizer, setup, teardown),
    };
    return cmocka_run_group_tests_name("graph_checkpoints", tests, NULL, NULL);
}
