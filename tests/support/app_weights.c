/* tests/support/app_weights.c — see app_weights.h. */
#include "support/app_weights.h"

#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "sidecar/keras_weights.h"
#include "support/tf_trackable.h"

static uint32_t lowbias32(uint32_t x) {
    x ^= x >> 16;
    x *= 0x7feb352du;
    x ^= x >> 15;
    x *= 0x846ca68bu;
    x ^= x >> 16;
    return x;
}

static uint32_t fnv1a(const char *s) {
    uint32_t h = 0x811c9dc5u;
    for (; *s; s++) h = (h ^ (uint8_t)*s) * 0x01000193u;
    return h;
}

static float value_at(uint32_t seed, double center, double amplitude, uint32_t i) {
    uint32_t u = lowbias32(lowbias32(i) ^ seed) >> 8;
    double t = ((double)u - 8388608.0) / 8388608.0;
    /* Two roundings as NumPy does them: a contracted multiply-add would round once. */
    volatile double p = amplitude * t;
    return (float)(center + p);
}

float app_weights_value(const char *seed, double center, double amplitude, uint32_t i) {
    return value_at(fnv1a(seed), center, amplitude, i);
}

static char *dup_str(const json_t *j) {
    const char *s = json_string_value(j);
    assert_non_null(s);
    char *d = strdup(s);
    assert_non_null(d);
    return d;
}

app_weights *app_weights_load(const char *weights_json) {
    json_error_t je;
    json_t *root = json_load_file(weights_json, 0, &je);
    if (!root) fail_msg("%s: %s", weights_json, je.text);
    const json_t *layers = json_object_get(root, "layers");
    app_weights *w = calloc(1, sizeof *w);
    assert_non_null(w);
    w->num_layers = (int)json_integer_value(json_object_get(root, "keras2_num_layers"));
    w->num_weighted = (int)json_array_size(layers);
    assert_true(w->num_layers > 0 && w->num_weighted > 0);
    w->layer_index = calloc((size_t)w->num_weighted, sizeof *w->layer_index);
    size_t cap = 0;
    for (size_t i = 0; i < json_array_size(layers); i++)
        cap += json_array_size(json_object_get(json_array_get(layers, i), "vars"));
    w->vars = calloc(cap, sizeof *w->vars);
    assert_true(w->layer_index && w->vars);
    for (size_t i = 0; i < json_array_size(layers); i++) {
        const json_t *l = json_array_get(layers, i);
        int k = (int)json_integer_value(json_object_get(l, "keras2_layer_with_weights"));
        assert_int_equal(k, (int)i);
        w->layer_index[k] = (int)json_integer_value(json_object_get(l, "keras2_layer_index"));
        const json_t *vars = json_object_get(l, "vars");
        for (size_t j = 0; j < json_array_size(vars); j++) {
            const json_t *v = json_array_get(vars, j);
            app_var *a = &w->vars[w->n++];
            a->layer = dup_str(json_object_get(l, "name"));
            a->name = dup_str(json_object_get(v, "name"));
            a->ckpt_key = dup_str(json_object_get(v, "keras2_checkpoint_key"));
            a->h5_path = dup_str(json_object_get(v, "keras3_h5_path"));
            a->layer_with_weights = k;
            const json_t *shape = json_object_get(v, "shape");
            a->rank = (int)json_array_size(shape);
            assert_true(a->rank <= 4);
            size_t count = 1;
            for (int d = 0; d < a->rank; d++) {
                a->shape[d] = json_integer_value(json_array_get(shape, (size_t)d));
                count *= (size_t)a->shape[d];
            }
            if (strcmp(json_string_value(json_object_get(v, "dtype")), "int64") == 0) {
                assert_int_equal(count, 1);
                a->dtype = SC_DT_INT64;
                a->size = 8;
                a->data = malloc(8);
                assert_non_null(a->data);
                *(int64_t *)a->data = json_integer_value(json_object_get(v, "value"));
                continue;
            }
            a->dtype = SC_DT_FLOAT;
            a->size = count * sizeof(float);
            float *f = malloc(a->size ? a->size : 1);
            assert_non_null(f);
            uint32_t seed = fnv1a(json_string_value(json_object_get(v, "seed")));
            double c = json_number_value(json_object_get(v, "center"));
            double amp = json_number_value(json_object_get(v, "amplitude"));
            assert_true(amp > 0);
            for (size_t e = 0; e < count; e++) f[e] = value_at(seed, c, amp, (uint32_t)e);
            a->data = f;
            w->total_values += count;
        }
    }
    json_decref(root);
    return w;
}

void app_weights_free(app_weights *w) {
    if (!w) return;
    for (size_t i = 0; i < w->n; i++) {
        app_var *a = &w->vars[i];
        free(a->layer);
        free(a->name);
        free(a->ckpt_key);
        free(a->h5_path);
        free(a->data);
    }
    free(w->vars);
    free(w->layer_index);
    free(w);
}

void app_weights_write_ckpt(const app_weights *w, const char *prefix, int manager) {
    tft *t = tft_new();
    int model = manager ? tft_obj(t) : 0;
    int *layer_obj = calloc((size_t)w->num_layers, sizeof *layer_obj);
    int *var_obj = calloc(w->n ? w->n : 1, sizeof *var_obj);
    assert_true(layer_obj && var_obj);
    /* Functional._layer_checkpoint_dependencies: for each layer in model.layers order,
     * layer_with_weights-K (if it has weights), then layer-N. */
    int k = 0;
    for (int n = 0; n < w->num_layers; n++) {
        layer_obj[n] = tft_obj(t);
        char e[48];
        if (k < w->num_weighted && w->layer_index[k] == n) {
            snprintf(e, sizeof e, "layer_with_weights-%d", k);
            tft_edge(t, model, e, layer_obj[n]);
            k++;
        }
        snprintf(e, sizeof e, "layer-%d", n);
        tft_edge(t, model, e, layer_obj[n]);
    }
    assert_int_equal(k, w->num_weighted);
    for (size_t i = 0; i < w->n; i++) {
        const app_var *a = &w->vars[i];
        var_obj[i] = a->dtype == SC_DT_INT64
                         ? tft_var_i64(t, *(const int64_t *)a->data)
                         : tft_var_f32(t, a->rank, a->shape, (const float *)a->data);
        int lo = layer_obj[w->layer_index[a->layer_with_weights]];
        tft_edge(t, lo, a->name, var_obj[i]);
        /* Keras 2 Normalization keeps add_weight("mean") in self.adapt_mean: Layer.__setattr__
         * (sticky_attribute_assignment) adds a second edge to the same variable. */
        if (strcmp(a->name, "mean") == 0 || strcmp(a->name, "variance") == 0) {
            char alias[32];
            snprintf(alias, sizeof alias, "adapt_%s", a->name);
            tft_edge(t, lo, alias, var_obj[i]);
        }
    }
    if (manager) {
        tft_edge(t, 0, "model", model);
        tft_edge(t, 0, "optimizer", tft_adam(t, 7, NULL, 0));
        tft_edge(t, 0, "save_counter", tft_var_i64(t, 1));
    }
    tft_write(t, prefix, manager ? 2 : 1);
    /* The object graph gave each variable the key Keras 2 gives it. */
    for (size_t i = 0; i < w->n; i++) {
        char want[600];
        snprintf(want, sizeof want, "%s%s", manager ? "model/" : "", w->vars[i].ckpt_key);
        assert_string_equal(tft_key(t, var_obj[i]), want);
    }
    free(layer_obj);
    free(var_obj);
    tft_free(t);
}

void app_weights_write_h5(const app_weights *w, const char *path) {
    sc_h5weights_entry *e = calloc(w->n ? w->n : 1, sizeof *e);
    assert_non_null(e);
    for (size_t i = 0; i < w->n; i++) {
        const app_var *a = &w->vars[i];
        e[i] = (sc_h5weights_entry){a->h5_path, a->dtype, a->rank, a->shape, a->data, a->size};
    }
    sc_error err;
    if (sc_h5weights_write(path, e, w->n, NULL, 0, &err) != SC_OK) fail_msg("%s", err.message);
    free(e);
}
