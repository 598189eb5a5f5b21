/* keras.applications ResNet50, MobileNetV2 and EfficientNetB0 (with and without top) from their
 * tf.keras 2.15 `to_json()` configs (tests/golden/applications, written by
 * scripts/applications/make_configs.py from the application source), bound from a TF checkpoint
 * written through the object graph as Keras 2 writes a Functional model (model.save_weights
 * layout and tf.train.Checkpoint/CheckpointManager layout) and from a .weights.h5, run on three
 * seeded images, compared with the float64 NumPy forward pass (make_reference.py):
 * |got - want| <= atol + rtol |want| with rtol 1e-4 (deep stacks, issue 11), atol = rtol *
 * max|want|. The weights (23.6M values for ResNet50) are regenerated here from weights.json by
 * the same counter-based generator, never stored.
 *
 * Also: the check fails when a layer is computed wrongly (ReLU6 without its clip, a wrong BN
 * epsilon, hard_sigmoid for sigmoid in EfficientNet's squeeze-excite), and `sidecar eval` on MobileNetV2 from an .npz
 * gives the reference's loss and accuracy. */
#include <jansson.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <cmocka.h>

#include "sidecar/checkpoint.h"
#include "sidecar/data.h"
#include "sidecar/keras_weights.h"
#include "sidecar/model.h"
#include "sidecar/tensor.h"
#include "support/app_weights.h"
#include "support/ckpt_fixture.h"

#define RTOL 1e-4

static char g_root[1024];
static char *g_tmp;

typedef struct {
    double *v;
    size_t n;
    int64_t dims[4];
    int rank;
} darray;

static darray load_npy(const char *model, const char *file) {
    char p[1200];
    snprintf(p, sizeof p, "%s/%s/%s", g_root, model, file);
    sc_array *a;
    sc_error err;
    if (sc_npy_load(p, &a, &err) != SC_OK) fail_msg("%s", err.message);
    const sc_array_info *info = sc_array_get_info(a);
    darray d = {malloc(info->num_elements * sizeof(double)), info->num_elements, {0}, info->rank};
    assert_non_null(d.v);
    for (int i = 0; i < info->rank && i < 4; i++) d.dims[i] = info->shape[i];
    if (info->dtype == SC_DT_DOUBLE) {
        memcpy(d.v, sc_array_data(a), d.n * sizeof(double));
    } else {
        assert_int_equal(info->dtype, SC_DT_FLOAT);
        const float *f = sc_array_data(a);
        for (size_t i = 0; i < d.n; i++) d.v[i] = f[i];
    }
    sc_array_free(a);
    return d;
}

static char *read_text(const char *model, const char *file, size_t *len) {
    char p[1200];
    snprintf(p, sizeof p, "%s/%s/%s", g_root, model, file);
    uint8_t *b = ckf_read(p, len);
    char *s = malloc(*len + 1); /* NUL-terminated, for strstr */
    assert_non_null(s);
    memcpy(s, b, *len);
    s[*len] = '\0';
    free(b);
    return s;
}

enum { VIA_CKPT_SAVE_WEIGHTS, VIA_CKPT_MANAGER, VIA_WEIGHTS_H5, VIA_COUNT };
static const char *const k_via[VIA_COUNT] = {"tf-ckpt model.save_weights",
                                             "tf-ckpt CheckpointManager", ".weights.h5"};

/* Binds `json` (the model config, maybe altered) from the file written for `via`, runs the
 * images and returns the worst |diff| / tolerance against y.npy. */
static double run_model(const char *model, const char *json, size_t len, int via,
                        const char *file) {
    sc_model *m;
    sc_error err;
    if (sc_model_load_keras_json(json, len, model, &m, &err) != SC_OK)
        fail_msg("%s: load: %s", model, err.message);
    sc_bind_report rep;
    sc_status s;
    sc_bundle *b = NULL;
    if (via == VIA_WEIGHTS_H5) {
        sc_h5weights *h;
        if (sc_h5weights_open(file, &h, &err) != SC_OK) fail_msg("%s", err.message);
        s = sc_model_bind_h5weights(m, h, &rep, &err);
        sc_h5weights_free(h);
    } else {
        if (sc_bundle_open(file, &b, &err) != SC_OK) fail_msg("%s", err.message);
        s = sc_model_bind_bundle(m, b, &rep, &err);
        if (s == SC_OK)
            assert_int_equal(rep.layout, via == VIA_CKPT_MANAGER ? SC_LAYOUT_CHECKPOINT_MANAGER
                                                                 : SC_LAYOUT_KERAS_WEIGHTS);
    }
    if (s != SC_OK) fail_msg("%s via %s: bind: %s", model, k_via[via], err.message);
    /* Every tensor of the file was taken by some variable (the optimizer's aside). */
    if (via != VIA_CKPT_MANAGER) assert_int_equal(rep.num_unused, 0);
    sc_bind_report_clear(&rep);
    sc_bundle_free(b);

    darray x = load_npy(model, "x.npy"), y = load_npy(model, "y.npy");
    int batch = (int)x.dims[0];
    float *xf = malloc(x.n * sizeof(float));
    assert_non_null(xf);
    for (size_t i = 0; i < x.n; i++) xf[i] = (float)x.v[i];
    sc_runner *r;
    assert_int_equal(sc_runner_create(m, batch, &r, &err), SC_OK);
    const float *in[1] = {xf};
    if (sc_runner_run(r, batch, in, &err) != SC_OK) fail_msg("%s: run: %s", model, err.message);
    assert_int_equal(sc_model_num_outputs(m), 1);
    sc_shape os = sc_model_output_shape(m, 0);
    size_t per = 1;
    for (int d = 0; d < os.rank; d++) per *= (size_t)os.dims[d];
    assert_int_equal(y.n, (size_t)batch * per);
    const float *got = sc_runner_output(r, 0);
    double maxw = 0;
    for (size_t i = 0; i < y.n; i++) maxw = fmax(maxw, fabs(y.v[i]));
    double worst = 0;
    size_t wi = 0;
    for (size_t i = 0; i < y.n; i++) {
        double d = fabs((double)got[i] - y.v[i]) / (RTOL * maxw + RTOL * fabs(y.v[i]));
        if (!(d <= worst)) {
            worst = d;
            wi = i;
        }
    }
    print_message("  %-21s %-27s worst |diff|/tolerance = %.4f (output[%zu] = %.9g, want %.9g)\n",
                  model, k_via[via], worst, wi, got[wi], y.v[wi]);
    sc_runner_free(r);
    sc_model_free(m);
    free(xf);
    free(x.v);
    free(y.v);
    return worst;
}

/* Writes the weight files of `model` into g_tmp (only_via >= 0: only that one), unless an
 * earlier test of this run wrote them already (ResNet50's are 94 MB each). */
static void write_weights(const char *model, char paths[VIA_COUNT][1200], int only_via) {
    int missing = 0;
    for (int via = 0; via < VIA_COUNT; via++) {
        snprintf(paths[via], 1200, "%s/%s-%d%s", g_tmp, model, via,
                 via == VIA_WEIGHTS_H5 ? ".weights.h5" : "");
        char probe[1300];
        snprintf(probe, sizeof probe, "%s%s", paths[via], via == VIA_WEIGHTS_H5 ? "" : ".index");
        FILE *f = (only_via < 0 || via == only_via) ? fopen(probe, "rb") : NULL;
        if (f)
            fclose(f);
        else if (only_via < 0 || via == only_via)
            missing = 1;
    }
    if (!missing) return;
    char p[1200];
    snprintf(p, sizeof p, "%s/%s/weights.json", g_root, model);
    app_weights *w = app_weights_load(p);
    print_message("  %s: %zu variables, %zu values generated\n", model, w->n, w->total_values);
    for (int via = 0; via < VIA_COUNT; via++) {
        if (only_via >= 0 && via != only_via) continue;
        if (via == VIA_WEIGHTS_H5)
            app_weights_write_h5(w, paths[via]);
        else
            app_weights_write_ckpt(w, paths[via], via == VIA_CKPT_MANAGER);
    }
    app_weights_free(w);
}

static void check_model(const char *model) {
    char paths[VIA_COUNT][1200];
    write_weights(model, paths, -1);
    size_t len;
    char *json = read_text(model, "model.json", &len);
    for (int via = 0; via < VIA_COUNT; via++)
        if (!(run_model(model, json, len, via, paths[via]) <= 1.0))
            fail_msg("%s via %s: outputs differ from the float64 reference", model, k_via[via]);
    free(json);
}

static void test_resnet50(void **state) {
    (void)state;
    check_model("resnet50");
}
static void test_mobilenetv2(void **state) {
    (void)state;
    check_model("mobilenetv2");
}
static void test_efficientnetb0(void **state) {
    (void)state;
    check_model("efficientnetb0");
}
static void test_efficientnetb0_notop(void **state) {
    (void)state;
    check_model("efficientnetb0_notop");
}

/* The generator agrees with the Python side on known values (scripts/applications/
 * make_reference.py generate("Conv1/kernel", 0, 1, ...)[:3] and [1000]). */
static void test_generator_values(void **state) {
    (void)state;
    static const float want[4] = {-0x1.a1ab4p-5f, -0x1.7e4588p-1f, 0x1.4bf5ecp-1f,
                                  -0x1.9e81cp-2f};
    const uint32_t idx[4] = {0, 1, 2, 1000};
    for (int i = 0; i < 4; i++)
        assert_true(app_weights_value("Conv1/kernel", 0.0, 1.0, idx[i]) == want[i]);
}

/* Replaces every occurrence of `from` by `to` in json (malloc'd result). */
static char *replace_all(const char *json, const char *from, const char *to, int *count) {
    size_t lf = strlen(from), lt = strlen(to), n = 0;
    for (const char *p = strstr(json, from); p; p = strstr(p + lf, from)) n++;
    char *out = malloc(strlen(json) + n * (lt > lf ? lt - lf : 0) + 1), *o = out;
    assert_non_null(out);
    const char *p = json;
    for (const char *q = strstr(p, from); q; q = strstr(p, from)) {
        memcpy(o, p, (size_t)(q - p));
        o += q - p;
        memcpy(o, to, lt);
        o += lt;
        p = q + lf;
    }
    strcpy(o, p);
    *count = (int)n;
    return out;
}

/* The comparison catches a wrongly computed layer: the same weights with a config altered the
 * way a bug would alter the computation must fail it, by a wide factor. */
static void test_broken_layers_fail(void **state) {
    (void)state;
    static const struct {
        const char *model, *from, *to, *what;
    } cases[] = {
        {"mobilenetv2", "\"max_value\": 6.0", "\"max_value\": null", "ReLU6 without its clip"},
        {"resnet50", "\"epsilon\": 1.001e-05", "\"epsilon\": 0.001", "BN epsilon 1e-3, not 1.001e-5"},
        {"efficientnetb0", "\"activation\": \"sigmoid\"", "\"activation\": \"hard_sigmoid\"",
         "hard_sigmoid gates in squeeze-excite"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        char paths[VIA_COUNT][1200];
        write_weights(cases[c].model, paths, VIA_CKPT_SAVE_WEIGHTS);
        size_t len;
        char *json = read_text(cases[c].model, "model.json", &len);
        int n;
        char *bad = replace_all(json, cases[c].from, cases[c].to, &n);
        assert_true(n > 0);
        double worst = run_model(cases[c].model, bad, strlen(bad), VIA_CKPT_SAVE_WEIGHTS,
                                 paths[VIA_CKPT_SAVE_WEIGHTS]);
        print_message("  %s with %s (%d edits): worst |diff|/tolerance = %.3g\n", cases[c].model,
                      cases[c].what, n, worst);
        assert_true(worst > 10.0);
        free(bad);
        free(json);
    }
}


/* `sidecar eval` on MobileNetV2 (the inverted-residual blocks) from an .npz: the logged loss and
 * accuracy are those of the float64 reference's probabilities. The checkpoint is the
 * tf.train.Checkpoint(model, optimizer) a training job writes (the evaluator needs the
 * optimizer's step). Labels: the reference's top
 * class for images 0 and 1, the next class for image 2 (accuracy 2/3). */
static void test_cli_eval_mobilenetv2(void **state) {
    (void)state;
    const char *exe = getenv("SC_CLI");
    if (!exe) fail_msg("SC_CLI is not set (run through ctest)");
    char paths[VIA_COUNT][1200];
    write_weights("mobilenetv2", paths, VIA_CKPT_MANAGER);
    darray x = load_npy("mobilenetv2", "x.npy"), y = load_npy("mobilenetv2", "y.npy");
    int batch = (int)x.dims[0], classes = (int)y.dims[1];
    assert_int_equal(batch, 3);
    int32_t labels[3];
    double want_loss = 0;
    for (int b = 0; b < batch; b++) {
        const double *p = y.v + (size_t)b * (size_t)classes;
        int top = 0, second = -1;
        for (int c = 1; c < classes; c++)
            if (p[c] > p[top]) top = c;
        for (int c = 0; c < classes; c++)
            if (c != top && (second < 0 || p[c] > p[second])) second = c;
        /* The top class must be clear, or float32 could pick another. */
        assert_true(p[top] - p[second] > 1e-3 * p[top]);
        labels[b] = b < 2 ? top : (top + 1) % classes;
        want_loss -= log(p[labels[b]]) / batch;
    }
    const double want_acc = 2.0 / 3.0;
    float *xf = malloc(x.n * sizeof(float));
    assert_non_null(xf);
    for (size_t i = 0; i < x.n; i++) xf[i] = (float)x.v[i];
    char npz[1200], model[1200], cmd[4000];
    snprintf(npz, sizeof npz, "%s/mobilenetv2_eval.npz", g_tmp);
    snprintf(model, sizeof model, "%s/mobilenetv2/model.json", g_root);
    sc_npz_writer *w;
    sc_error err;
    const int64_t lshape[1] = {batch};
    assert_int_equal(sc_npz_writer_create(npz, 0, &w, &err), SC_OK);
    assert_int_equal(sc_npz_writer_add(w, "x", SC_DT_FLOAT, 4, x.dims, xf, x.n * sizeof(float), &err),
                     SC_OK);
    assert_int_equal(sc_npz_writer_add(w, "y", SC_DT_INT32, 1, lshape, labels, sizeof labels, &err),
                     SC_OK);
    assert_int_equal(sc_npz_writer_close(w, &err), SC_OK);
    sc_npz_writer_free(w);
    snprintf(cmd, sizeof cmd,
             "'%s' eval '%s' --model '%s' --data '%s' --loss sparse_categorical_crossentropy "
             "--metrics accuracy --json",
             exe, paths[VIA_CKPT_MANAGER], model, npz);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    char line[4096] = "";
    size_t len = fread(line, 1, sizeof line - 1, p);
    line[len] = '\0';
    int st = pclose(p);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) fail_msg("sidecar eval failed (%d): %s", st, line);
    json_error_t je;
    json_t *j = json_loads(line, JSON_DISABLE_EOF_CHECK, &je);
    if (!j) fail_msg("not JSON: %s (%s)", line, je.text);
    const json_t *m = json_object_get(j, "metrics");
    double loss = json_number_value(json_object_get(m, "loss"));
    double acc = json_number_value(json_object_get(m, "accuracy"));
    print_message("  sidecar eval mobilenetv2: loss %.9g accuracy %.9g; float64 reference %.9g "
                  "%.9g (|diff| %.2g)\n",
                  loss, acc, want_loss, want_acc, fabs(loss - want_loss));
    assert_true(fabs(loss - want_loss) <= RTOL * fabs(want_loss));
    assert_true(fabs(acc - want_acc) <= 1e-6);
    json_decref(j);
    free(xf);
    free(x.v);
    free(y.v);
}

int main(void) {
    const char *src = getenv("SC_SOURCE_DIR");
    snprintf(g_root, sizeof g_root, "%s/tests/golden/applications", src ? src : ".");
    g_tmp = ckf_mkdtemp();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_generator_values),  cmocka_unit_test(test_mobilenetv2),
        cmocka_unit_test(test_efficientnetb0),    cmocka_unit_test(test_efficientnetb0_notop),
        cmocka_unit_test(test_resnet50),          cmocka_unit_test(test_broken_layers_fail),
        cmocka_unit_test(test_cli_eval_mobilenetv2),
    };
    int rc = cmocka_run_group_tests_name("applications", tests, NULL, NULL);
    ckf_rmtree(g_tmp);
    return rc;
}
