/* Forward passes against TensorFlow.js goldens (tests/golden/data, made by
 * scripts/golden/generate.mjs): every case's model JSON + safetensors weights + inputs must give
 * the recorded predictions within the manifest's tolerance (|got - want| <= atol + rtol |want|,
 * atol = rtol * max|want|; rtol 1e-5, 1e-4 for deep conv stacks). */
#include <jansson.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "sidecar/checkpoint.h"
#include "sidecar/data.h"
#include "sidecar/keras_weights.h"
#include "sidecar/model.h"
#include "sidecar/safetensors.h"
#include "sidecar/tensor.h"

static char g_dir[1024];

static void path_of(char *buf, size_t cap, const char *case_dir, const char *file) {
    snprintf(buf, cap, "%s/%s/%s", g_dir, case_dir, file);
}

/* Loads an .npy as float32 (the int32 inputs of Embedding cases are converted: ids are small). */
static float *load_floats(const char *path, size_t *n) {
    sc_array *a;
    sc_error err;
    if (sc_npy_load(path, &a, &err) != SC_OK) fail_msg("%s", err.message);
    const sc_array_info *info = sc_array_get_info(a);
    float *out = malloc((info->num_elements ? info->num_elements : 1) * sizeof(float));
    assert_non_null(out);
    assert_int_equal(
        sc_convert_to_float32(info->dtype, sc_array_data(a), info->num_elements, out, &err), SC_OK);
    *n = info->num_elements;
    sc_array_free(a);
    return out;
}

enum { VIA_SAFETENSORS, VIA_CKPT_KERAS, VIA_CKPT_MANAGER, VIA_WEIGHTS_H5, VIA_COUNT };
static const char *const k_via[VIA_COUNT] = {"safetensors", "tf-ckpt keras_weights",
                                             "tf-ckpt checkpoint_manager", "keras3 .weights.h5"};

/* Writes the case's weights as a Keras 3 .weights.h5 at the paths weights.json gives (computed
 * by the generator from Keras' naming rules, independently of the engine's). */
static void write_h5(const char *dir, sc_safetensors *st, const char *path) {
    char p[1400];
    path_of(p, sizeof p, dir, "weights.json");
    json_error_t je;
    json_t *wj = json_load_file(p, 0, &je);
    if (!wj) fail_msg("%s: %s", p, je.text);
    sc_h5weights_entry e[64];
    void *bufs[64];
    size_t n = 0;
    const json_t *layers = json_object_get(wj, "layers");
    for (size_t i = 0; i < json_array_size(layers); i++) {
        const json_t *vars = json_object_get(json_array_get(layers, i), "vars");
        for (size_t k = 0; k < json_array_size(vars); k++) {
            const json_t *v = json_array_get(vars, k);
            const sc_tensor_info *t =
                sc_safetensors_find(st, json_string_value(json_object_get(v, "safetensors_key")));
            assert_non_null(t);
            assert_true(n < 64);
            bufs[n] = malloc(t->size ? t->size : 1);
            assert_int_equal(sc_safetensors_read(st, t, bufs[n], t->size, NULL), SC_OK);
            e[n] = (sc_h5weights_entry){json_string_value(json_object_get(v, "keras3_h5_path")),
                                        t->dtype,
                                        t->rank,
                                        t->shape,
                                        bufs[n],
                                        t->size};
            n++;
        }
    }
    sc_error err;
    if (sc_h5weights_write(path, e, n, NULL, 0, &err) != SC_OK) fail_msg("%s", err.message);
    for (size_t i = 0; i < n; i++) free(bufs[i]);
    json_decref(wj);
}

/* Writes the case's weights as a TF checkpoint with our own writer, keyed as Keras 2 does
 * (weights.json gives each variable's layer_with_weights key), at the root or under model/. */
static void write_bundle(const char *dir, sc_safetensors *st, const char *prefix,
                         const char *root) {
    char p[1400];
    path_of(p, sizeof p, dir, "weights.json");
    json_error_t je;
    json_t *wj = json_load_file(p, 0, &je);
    if (!wj) fail_msg("%s: %s", p, je.text);
    sc_bundle_writer *w;
    sc_error err;
    assert_int_equal(sc_bundle_writer_create(prefix, NULL, &w, &err), SC_OK);
    const json_t *layers = json_object_get(wj, "layers");
    for (size_t i = 0; i < json_array_size(layers); i++) {
        const json_t *vars = json_object_get(json_array_get(layers, i), "vars");
        for (size_t k = 0; k < json_array_size(vars); k++) {
            const json_t *v = json_array_get(vars, k);
            const char *skey = json_string_value(json_object_get(v, "safetensors_key"));
            const char *ckey = json_string_value(json_object_get(v, "keras2_checkpoint_key"));
            const sc_tensor_info *t = sc_safetensors_find(st, skey);
            assert_non_null(t);
            void *buf = malloc(t->size ? t->size : 1);
            assert_int_equal(sc_safetensors_read(st, t, buf, t->size, &err), SC_OK);
            char key[600];
            snprintf(key, sizeof key, "%s%s", root, ckey);
            assert_int_equal(
                sc_bundle_writer_add(w, key, t->dtype, t->rank, t->shape, buf, t->size, 0, &err),
                SC_OK);
            free(buf);
        }
    }
    int64_t step = 7;
    assert_int_equal(sc_bundle_writer_add(w, "optimizer/iter/.ATTRIBUTES/VARIABLE_VALUE",
                                          SC_DT_INT64, 0, NULL, &step, 8, 0, &err),
                     SC_OK);
    assert_int_equal(sc_bundle_writer_finish(w, &err), SC_OK);
    sc_bundle_writer_free(w);
    json_decref(wj);
}

static int run_case(const json_t *c, int via, const char *tmpdir) {
    const char *dir = json_string_value(json_object_get(c, "dir"));
    const json_t *files = json_object_get(c, "files");
    const json_t *tol = json_object_get(c, "tolerance");
    double rtol = json_number_value(json_object_get(tol, "rtol"));
    int batch = (int)json_integer_value(json_object_get(c, "batch"));
    char p[1400];
    sc_error err;
    sc_model *m;
    sc_safetensors *st;
    sc_bind_report rep;
    path_of(p, sizeof p, dir, json_string_value(json_object_get(files, "model")));
    if (sc_model_load_keras(p, &m, &err) != SC_OK) {
        print_message("  %s: load: %s\n", dir, err.message);
        return 1;
    }
    path_of(p, sizeof p, dir, json_string_value(json_object_get(files, "weights")));
    assert_int_equal(sc_safetensors_open(p, &st, &err), SC_OK);
    sc_status bs;
    sc_bundle *bundle = NULL;
    if (via == VIA_SAFETENSORS) {
        bs = sc_model_bind_safetensors(m, st, &rep, &err);
    } else if (via == VIA_WEIGHTS_H5) {
        char h5path[1200];
        snprintf(h5path, sizeof h5path, "%s/%s.weights.h5", tmpdir, dir);
        write_h5(dir, st, h5path);
        sc_h5weights *h;
        assert_int_equal(sc_h5weights_open(h5path, &h, &err), SC_OK);
        bs = sc_model_bind_h5weights(m, h, &rep, &err);
        sc_h5weights_free(h);
    } else {
        char prefix[1200];
        snprintf(prefix, sizeof prefix, "%s/%s-%d", tmpdir, dir, via);
        write_bundle(dir, st, prefix, via == VIA_CKPT_MANAGER ? "model/" : "");
        assert_int_equal(sc_bundle_open(prefix, &bundle, &err), SC_OK);
        bs = sc_model_bind_bundle(m, bundle, &rep, &err);
        if (bs == SC_OK)
            assert_int_equal(rep.layout, via == VIA_CKPT_MANAGER ? SC_LAYOUT_CHECKPOINT_MANAGER
                                                                 : SC_LAYOUT_KERAS_WEIGHTS);
    }
    if (bs != SC_OK) {
        print_message("  %s via %s: bind: %s\n", dir, k_via[via], err.message);
        sc_bind_report_clear(&rep);
        sc_bundle_free(bundle);
        sc_safetensors_free(st);
        sc_model_free(m);
        return 1;
    }
    /* Every tensor of the file was taken by some variable. */
    assert_int_equal(rep.num_unused, 0);
    sc_bind_report_clear(&rep);
    const json_t *ins = json_object_get(files, "inputs"), *outs = json_object_get(files, "outputs");
    size_t nin = sc_model_num_inputs(m);
    assert_int_equal(json_array_size(ins), nin);
    const float **x = calloc(nin, sizeof *x);
    for (size_t i = 0; i < nin; i++) {
        /* Find the file for model input i by name. */
        const char *name = sc_model_input_name(m, i);
        const json_t *e = NULL;
        for (size_t k = 0; k < json_array_size(ins); k++)
            if (strcmp(json_string_value(json_object_get(json_array_get(ins, k), "input")), name)
                == 0)
                e = json_array_get(ins, k);
        if (!e) fail_msg("%s: no input file for model input '%s'", dir, name);
        path_of(p, sizeof p, dir, json_string_value(json_object_get(e, "file")));
        size_t n;
        x[i] = load_floats(p, &n);
        sc_shape s = sc_model_input_shape(m, i);
        assert_int_equal(n, (size_t)batch * (size_t)sc_model_input_shape(m, i).dims[0]
                                * (n / ((size_t)batch * (size_t)s.dims[0])));
    }
    sc_runner *r;
    assert_int_equal(sc_runner_create(m, batch, &r, &err), SC_OK);
    int failed = 0;
    if (sc_runner_run(r, batch, x, &err) != SC_OK) {
        print_message("  %s: run: %s\n", dir, err.message);
        failed = 1;
    }
    for (size_t o = 0; !failed && o < sc_model_num_outputs(m); o++) {
        const char *name = sc_model_output_name(m, o);
        const json_t *e = NULL;
        for (size_t k = 0; k < json_array_size(outs); k++)
            if (strcmp(json_string_value(json_object_get(json_array_get(outs, k), "output")), name)
                == 0)
                e = json_array_get(outs, k);
        if (!e) fail_msg("%s: no golden for output '%s'", dir, name);
        double atol = json_number_value(json_object_get(e, "atol"));
        path_of(p, sizeof p, dir, json_string_value(json_object_get(e, "file")));
        size_t n;
        float *want = load_floats(p, &n);
        const float *got = sc_runner_output(r, o);
        assert_int_equal(n,
                         (size_t)batch * (size_t)sc_model_output_shape(m, o).dims[0]
                             * (n / ((size_t)batch * (size_t)sc_model_output_shape(m, o).dims[0])));
        double worst = 0;
        size_t wi = 0;
        for (size_t i = 0; i < n; i++) {
            double d = fabs((double)got[i] - want[i]) / (atol + rtol * fabs(want[i]));
            if (!(d <= worst)) {
                worst = d;
                wi = i;
            }
        }
        print_message("  %-24s %-27s output %-12s worst |diff|/tolerance = %.3f\n", dir, k_via[via],
                      name, worst);
        if (!(worst <= 1.0)) {
            print_message("  %s: output '%s'[%zu] = %.9g, golden %.9g\n", dir, name, wi, got[wi],
                          want[wi]);
            failed = 1;
        }
        free(want);
    }
    for (size_t i = 0; i < nin; i++) free((void *)x[i]);
    free(x);
    sc_runner_free(r);
    sc_bundle_free(bundle);
    sc_safetensors_free(st);
    sc_model_free(m);
    return failed;
}

/* Every case of one manifest through every weight source; returns the failures. */
static int run_manifest(const char *sub, size_t min_cases) {
    const char *src = getenv("SC_SOURCE_DIR");
    snprintf(g_dir, sizeof g_dir, "%s/tests/golden/%s", src ? src : ".", sub);
    char mpath[1100];
    snprintf(mpath, sizeof mpath, "%s/MANIFEST.json", g_dir);
    json_error_t je;
    json_t *man = json_load_file(mpath, 0, &je);
    if (!man) fail_msg("%s: %s", mpath, je.text);
    const json_t *cases = json_object_get(man, "cases");
    assert_true(json_array_size(cases) >= min_cases);
    char tmp[] = "/tmp/sc_golden_XXXXXX";
    assert_non_null(mkdtemp(tmp));
    int failures = 0;
    for (int via = 0; via < VIA_COUNT; via++)
        for (size_t i = 0; i < json_array_size(cases); i++)
            failures += run_case(json_array_get(cases, i), via, tmp);
    json_decref(man);
    char cmd[100];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    assert_int_equal(system(cmd), 0);
    return failures;
}

/* tfjs goldens (scripts/golden/generate.mjs). */
static void test_goldens(void **state) {
    (void)state;
    assert_int_equal(run_manifest("data", 10), 0);
}

/* MultiHeadAttention, EinsumDense and a Transformer encoder: float64 NumPy references
 * (scripts/golden/attention_cases.py), tfjs having none of these layers. */
static void test_attention_goldens(void **state) {
    (void)state;
    assert_int_equal(run_manifest("data_mha", 5), 0);
}

/* return_state and Bidirectional merge_mode=None: float64 NumPy references
 * (scripts/golden/rnn_numpy.py). */
static void test_goldens_rnn_numpy(void **state) {
    (void)state;
    assert_int_equal(run_manifest("data_rnn", 3), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_goldens),
                                       cmocka_unit_test(test_goldens_rnn_numpy),
                                       cmocka_unit_test(test_attention_goldens)};
    return cmocka_run_group_tests_name("model_golden", tests, NULL, NULL);
}
