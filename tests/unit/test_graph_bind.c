/* The model anywhere and the step from the optimizer that trained it (FORMATS §3.7), on
 * checkpoints written as TensorFlow writes them (tests/support/tf_trackable: breadth-first node
 * ids and keys, .OPTIMIZER_SLOT keys, the serialized object graph): tf.train.Checkpoint(net=...)
 * beside an unused root optimizer, an old optimizer reached through the model, both
 * LossScaleOptimizer forms, two objects holding the model, a SavedModel keyed by
 * trainable_variables/N, a GAN's two optimizers, --step-key, two shards. */
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
#include "sidecar/model.h"
#include "support/ckpt_fixture.h"
#include "support/tf_trackable.h"

#define VV "/.ATTRIBUTES/VARIABLE_VALUE"

/* InputLayer [4] -> Dense(3) -> Dense(2): variables [4,3] [3] [3,2] [2]. */
static const char *k_model =
    "{\"class_name\": \"Sequential\", \"config\": {\"name\": \"sequential\", \"layers\": ["
    "{\"class_name\": \"InputLayer\", \"config\": {\"batch_input_shape\": [null, 4], \"name\": "
    "\"in\"}},"
    "{\"class_name\": \"Dense\", \"config\": {\"name\": \"dense\", \"units\": 3, \"activation\": "
    "\"relu\"}},"
    "{\"class_name\": \"Dense\", \"config\": {\"name\": \"dense_1\", \"units\": 2, \"activation\": "
    "\"softmax\"}}"
    "]}}";

static const int64_t SHAPES[4][2] = {{4, 3}, {3, 0}, {3, 2}, {2, 0}};
static const int RANKS[4] = {2, 1, 2, 1};

typedef struct mdl {
    int obj, vars[4];
} mdl;

/* A Keras 2 Sequential as it tracks itself: layer_with_weights-K and layer-K to each Dense
 * (kernel, bias), every value `base + i/100`. */
static mdl add_model_at(tft *t, int obj, float base) {
    mdl m;
    float v[12];
    m.obj = obj;
    for (int l = 0; l < 2; l++) {
        int layer = tft_obj(t);
        char name[32];
        snprintf(name, sizeof name, "layer_with_weights-%d", l);
        tft_edge(t, m.obj, name, layer);
        snprintf(name, sizeof name, "layer-%d", l);
        tft_edge(t, m.obj, name, layer);
        for (int k = 0; k < 2; k++) {
            int i = 2 * l + k;
            for (int j = 0; j < 12; j++) v[j] = base + (float)j / 100;
            m.vars[i] = tft_var_f32(t, RANKS[i], SHAPES[i], v);
            tft_edge(t, layer, k ? "bias" : "kernel", m.vars[i]);
        }
    }
    return m;
}

static mdl add_model(tft *t, float base) { return add_model_at(t, tft_obj(t), base); }

static int add_new_opt(tft *t, int64_t step, const mdl *trained) {
    return tft_adam(t, step, trained ? trained->vars : NULL, trained ? 4 : 0);
}

typedef struct result {
    sc_status bind, describe;
    char model_root[256];
    int64_t step;
    char step_key[512];
    float first[4]; /* first value of each variable */
    char key0[512]; /* the key variable 0 took */
    char msg[SC_ERROR_MESSAGE_MAX];
} result;

static result evaluate(const char *prefix, const char *model_root, const char *step_key,
                       int use_model_nodes) {
    result r;
    memset(&r, 0, sizeof r);
    sc_error err;
    sc_model *m = NULL;
    sc_bundle *b = NULL;
    if (sc_model_load_keras_json(k_model, strlen(k_model), "model", &m, &err) != SC_OK)
        fail_msg("%s", err.message);
    if (sc_bundle_open(prefix, &b, &err) != SC_OK) fail_msg("%s", err.message);
    sc_bind_params bp = {model_root};
    sc_bind_report rep;
    r.bind = sc_model_bind_bundle_ex(m, b, &bp, &rep, &err);
    if (r.bind != SC_OK) {
        snprintf(r.msg, sizeof r.msg, "%s", err.message);
    } else {
        assert_non_null(rep.model_root);
        assert_non_null(rep.var_nodes);
        snprintf(r.model_root, sizeof r.model_root, "%s", rep.model_root);
        snprintf(r.key0, sizeof r.key0, "%s", rep.entries[0].key);
        for (int i = 0; i < 4; i++) r.first[i] = sc_model_variable(m, (size_t)i)->data[0];
    }
    sc_step_params sp = {step_key, use_model_nodes ? rep.var_nodes : NULL,
                         use_model_nodes && rep.var_nodes ? rep.num_entries : 0};
    sc_ckpt_info info;
    r.describe = sc_ckpt_describe_ex(b, &sp, &info, &err);
    if (r.describe == SC_OK) {
        r.step = info.step;
        snprintf(r.step_key, sizeof r.step_key, "%s", info.step_key ? info.step_key : "");
    } else if (r.bind == SC_OK) {
        snprintf(r.msg, sizeof r.msg, "%s", err.message);
    }
    sc_bind_report_clear(&rep);
    sc_bundle_free(b);
    sc_model_free(m);
    return r;
}

static int setup(void **state) {
    *state = ckf_mkdtemp();
    return 0;
}
static int teardown(void **state) {
    ckf_rmtree(*state);
    return 0;
}

/* tf.train.Checkpoint(net=model, optimizer=unused, step=...) with the compiled model's own
 * optimizer under net/optimizer: kwargs in sorted order, save_counter added by save(). */
static void write_net_ckpt(const char *prefix, int shards) {
    tft *t = tft_new();
    mdl net = add_model(t, 1.0f);
    tft_edge(t, 0, "net", net.obj);
    tft_edge(t, 0, "optimizer", add_new_opt(t, 0, NULL));
    tft_edge(t, 0, "save_counter", tft_var_i64(t, 3));
    tft_edge(t, 0, "step", tft_var_i64(t, 1));
    tft_edge(t, net.obj, "optimizer", add_new_opt(t, 120, &net));
    tft_write(t, prefix, shards);
    tft_free(t);
}

static void test_net_root_and_unused_optimizer(void **state) {
    char *prefix = ckf_join(*state, "ckpt-3");
    write_net_ckpt(prefix, 1);
    result r = evaluate(prefix, NULL, NULL, 1);
    assert_int_equal(r.bind, SC_OK);
    assert_string_equal(r.model_root, "net");
    assert_string_equal(r.key0, "net/layer_with_weights-0/kernel" VV);
    assert_true(r.first[0] == 1.0f && r.first[3] == 1.0f);
    assert_int_equal(r.describe, SC_OK);
    assert_int_equal(r.step, 120); /* never 0 from the root optimizer that trained nothing */
    assert_string_equal(r.step_key, "net/optimizer/_iterations" VV);
    /* Without the model: the optimizer holding slot lists still wins over the idle one. */
    r = evaluate(prefix, NULL, NULL, 0);
    assert_int_equal(r.step, 120);
    /* The plain describe agrees, and says where the model's layers are. */
    sc_bundle *b;
    sc_ckpt_info info;
    assert_int_equal(sc_bundle_open(prefix, &b, NULL), SC_OK);
    assert_int_equal(sc_ckpt_describe(b, &info, NULL), SC_OK);
    assert_int_equal(info.step, 120);
    assert_int_equal(info.layout, SC_LAYOUT_CHECKPOINT_MANAGER);
    assert_true(info.model_path_found);
    assert_string_equal(info.model_path, "net");
    sc_bundle_free(b);
    free(prefix);
}

static void test_step_key_override(void **state) {
    char *prefix = ckf_join(*state, "ckpt-3");
    write_net_ckpt(prefix, 1);
    result r = evaluate(prefix, NULL, "step", 1);
    assert_int_equal(r.describe, SC_OK);
    assert_int_equal(r.step, 1);
    assert_string_equal(r.step_key, "step" VV);
    r = evaluate(prefix, NULL, "optimizer/_iterations" VV, 1); /* a full key */
    assert_int_equal(r.step, 0);
    r = evaluate(prefix, NULL, "net/optimizer/_iterations", 1); /* a graph path */
    assert_int_equal(r.step, 120);
    r = evaluate(prefix, NULL, "net/layer_with_weights-0/kernel", 1);
    assert_int_equal(r.describe, SC_INVALID_ARGUMENT);
    r = evaluate(prefix, NULL, "nope/iter", 1);
    assert_int_equal(r.describe, SC_NOT_FOUND);
    assert_non_null(strstr(r.msg, "'nope/iter'"));
    free(prefix);
}

static void test_two_shards(void **state) {
    char *prefix = ckf_join(*state, "cp-0001.ckpt");
    write_net_ckpt(prefix, 2);
    sc_bundle *b;
    assert_int_equal(sc_bundle_open(prefix, &b, NULL), SC_OK);
    assert_int_equal(sc_bundle_num_shards(b), 2);
    sc_bundle_free(b);
    result r = evaluate(prefix, NULL, NULL, 1);
    assert_int_equal(r.bind, SC_OK);
    assert_int_equal(r.step, 120);
    free(prefix);
}

/* tf.train.Checkpoint(model=model, optimizer=idle) with the legacy optimizer that trained the
 * model reached through it: model/optimizer/iter, slots keyed .OPTIMIZER_SLOT/model/optimizer/m. */
static void test_old_optimizer_through_model(void **state) {
    char *prefix = ckf_join(*state, "ckpt-1");
    tft *t = tft_new();
    mdl m = add_model(t, 2.0f);
    tft_edge(t, 0, "model", m.obj);
    tft_edge(t, 0, "optimizer", tft_adam_legacy(t, 0, NULL, 0));
    tft_edge(t, m.obj, "optimizer", tft_adam_legacy(t, 50, m.vars, 4));
    tft_write(t, prefix, 1);
    tft_free(t);
    sc_bundle *b;
    assert_int_equal(sc_bundle_open(prefix, &b, NULL), SC_OK);
    assert_non_null(sc_bundle_find(
        b, "model/layer_with_weights-0/kernel/.OPTIMIZER_SLOT/model/optimizer/m" VV));
    sc_bundle_free(b);
    result r = evaluate(prefix, NULL, NULL, 1);
    assert_int_equal(r.bind, SC_OK);
    assert_string_equal(r.model_root, "model");
    assert_true(r.first[2] == 2.0f);
    assert_int_equal(r.step, 50);
    assert_string_equal(r.step_key, "model/optimizer/iter" VV);
    free(prefix);
}

/* Keras 2.4-2.10 LossScaleOptimizer: the wrapped optimizer is `base_optimizer`. */
static void test_loss_scale_base_optimizer(void **state) {
    char *prefix = ckf_join(*state, "ckpt-1");
    static const float scale = 32768.0f;
    tft *t = tft_new();
    mdl m = add_model(t, 3.0f);
    int lso = tft_obj(t), ls = tft_obj(t);
    tft_edge(t, 0, "model", m.obj);
    tft_edge(t, 0, "optimizer", lso);
    tft_edge(t, lso, "base_optimizer", tft_adam_legacy(t, 77, m.vars, 4));
    tft_edge(t, lso, "loss_scale", ls);
    tft_edge(t, ls, "current_loss_scale", tft_var_f32(t, 0, NULL, &scale));
    tft_edge(t, ls, "good_steps", tft_var_i64(t, 5));
    tft_write(t, prefix, 1);
    tft_free(t);
    result r = evaluate(prefix, NULL, NULL, 1);
    assert_int_equal(r.bind, SC_OK);
    assert_int_equal(r.step, 77);
    assert_string_equal(r.step_key, "optimizer/base_optimizer/iter" VV);
    sc_bundle *b;
    assert_int_equal(sc_bundle_open(prefix, &b, NULL), SC_OK);
    assert_non_null(sc_bundle_find(
        b, "model/layer_with_weights-1/bias/.OPTIMIZER_SLOT/optimizer/base_optimizer/v" VV));
    sc_bundle_free(b);
    free(prefix);
}

/* Keras 2.11+ LossScaleOptimizerV3: the inner optimizer's own keys beside loss_scale/. */
static void test_loss_scale_v3(void **state) {
    char *prefix = ckf_join(*state, "ckpt-1");
    static const float scale = 32768.0f;
    tft *t = tft_new();
    mdl m = add_model(t, 3.0f);
    int opt = add_new_opt(t, 88, &m), ls = tft_obj(t);
    tft_edge(t, 0, "model", m.obj);
    tft_edge(t, 0, "optimizer", opt);
    tft_edge(t, opt, "loss_scale", ls);
    tft_edge(t, ls, "current_loss_scale", tft_var_f32(t, 0, NULL, &scale));
    tft_edge(t, ls, "good_steps", tft_var_i64(t, 5));
    tft_write(t, prefix, 1);
    tft_free(t);
    result r = evaluate(prefix, NULL, NULL, 1);
    assert_int_equal(r.step, 88);
    assert_string_equal(r.step_key, "optimizer/_iterations" VV);
    free(prefix);
}

/* Two objects hold the whole model (an EMA copy): an error naming both, unless told. */
static void test_two_candidates(void **state) {
    char *prefix = ckf_join(*state, "ckpt-1");
    tft *t = tft_new();
    mdl ema = add_model(t, 5.0f), m = add_model(t, 1.0f);
    tft_edge(t, 0, "ema", ema.obj);
    tft_edge(t, 0, "model", m.obj);
    tft_edge(t, m.obj, "optimizer", add_new_opt(t, 9, &m));
    tft_write(t, prefix, 1);
    tft_free(t);
    result r = evaluate(prefix, NULL, NULL, 1);
    assert_int_equal(r.bind, SC_INVALID_ARGUMENT);
    assert_non_null(strstr(r.msg, "'ema'"));
    assert_non_null(strstr(r.msg, "'model'"));
    assert_non_null(strstr(r.msg, "--model-root"));
    r = evaluate(prefix, "model", NULL, 1);
    assert_int_equal(r.bind, SC_OK);
    assert_true(r.first[0] == 1.0f);
    r = evaluate(prefix, "ema", NULL, 1);
    assert_int_equal(r.bind, SC_OK);
    assert_true(r.first[0] == 5.0f);
    r = evaluate(prefix, "nope", NULL, 1);
    assert_int_equal(r.bind, SC_NOT_FOUND);
    assert_non_null(strstr(r.msg, "'nope'"));
    free(prefix);
}

/* A SavedModel's variables/: list attributes reached first key the variables as
 * trainable_variables/N; the graph still has the layers' kernel and bias edges. */
static void test_saved_model_list_keys(void **state) {
    char *dir = ckf_join(*state, "variables");
    char *prefix = ckf_join(dir, "variables");
    assert_int_equal(mkdir(dir, 0700), 0);
    tft *t = tft_new();
    int tv = tft_obj(t);
    tft_edge(t, 0, "trainable_variables", tv); /* tracked before the layers */
    mdl m = add_model_at(t, 0, 4.0f);          /* the root is the model itself */
    for (int i = 0; i < 4; i++) {
        char n[8];
        snprintf(n, sizeof n, "%d", i);
        tft_edge(t, tv, n, m.vars[i]);
    }
    tft_write(t, prefix, 1);
    tft_free(t);
    result r = evaluate(prefix, NULL, NULL, 1);
    assert_int_equal(r.bind, SC_OK);
    assert_string_equal(r.model_root, "");
    assert_string_equal(r.key0, "trainable_variables/0" VV);
    assert_true(r.first[0] == 4.0f && r.first[3] == 4.0f);
    free(prefix);
    free(dir);
}

/* A GAN: each optimizer trained its own model; evaluating the generator takes the generator's
 * step (the optimizer whose slots belong to it), not the first optimizer found. */
static void test_gan_two_trained_optimizers(void **state) {
    char *prefix = ckf_join(*state, "ckpt-1");
    static const int64_t dshape[2][2] = {{2, 1}, {1, 0}};
    static const float dv[2] = {9, 9};
    tft *t = tft_new();
    int disc = tft_obj(t), dl = tft_obj(t);
    int dvars[2] = {tft_var_f32(t, 2, dshape[0], dv), tft_var_f32(t, 1, dshape[1], dv)};
    tft_edge(t, disc, "layer_with_weights-0", dl);
    tft_edge(t, dl, "kernel", dvars[0]);
    tft_edge(t, dl, "bias", dvars[1]);
    mdl gen = add_model(t, 6.0f);
    tft_edge(t, 0, "discriminator", disc);
    tft_edge(t, 0, "discriminator_optimizer", tft_adam_legacy(t, 9, dvars, 2));
    tft_edge(t, 0, "generator", gen.obj);
    tft_edge(t, 0, "generator_optimizer", tft_adam_legacy(t, 7, gen.vars, 4));
    tft_write(t, prefix, 1);
    tft_free(t);
    result r = evaluate(prefix, NULL, NULL, 1);
    assert_int_equal(r.bind, SC_OK);
    assert_string_equal(r.model_root, "generator");
    assert_int_equal(r.step, 7);
    assert_string_equal(r.step_key, "generator_optimizer/iter" VV);
    free(prefix);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_net_root_and_unused_optimizer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_step_key_override, setup, teardown),
        cmocka_unit_test_setup_teardown(test_two_shards, setup, teardown),
        cmocka_unit_test_setup_teardown(test_old_optimizer_through_model, setup, teardown),
        cmocka_unit_test_setup_teardown(test_loss_scale_base_optimizer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_loss_scale_v3, setup, teardown),
        cmocka_unit_test_setup_teardown(test_two_candidates, setup, teardown),
        cmocka_unit_test_setup_teardown(test_saved_model_list_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gan_two_trained_optimizers, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
