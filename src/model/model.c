/* model/model.c — sc_model accessors, variables, config helpers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "model/model_internal.h"

int64_t sc_shape_elems(const sc_shape *s) {
    int64_t n = 1;
    for (int i = 0; i < s->rank; i++)
        if (s->dims[i] < 0 || __builtin_mul_overflow(n, s->dims[i], &n)) return -1;
    return n;
}

sc_status sc_check_shape(const sc_layer *L, const sc_shape *s, sc_error *err) {
    int64_t n = sc_shape_elems(s);
    for (int i = 0; i < s->rank; i++)
        if (s->dims[i] > SC_MAX_DIM) n = -1;
    if (n < 0 || n > SC_MAX_ELEMS) {
        char buf[160];
        return sc_error_set(err, SC_INVALID_ARGUMENT,
                            "layer '%s' (%s): output shape %s is %s (at "
                            "most %lld elements per example, each dimension below 2^31)",
                            L->name, L->class_name, sc_shape_str(s, buf, sizeof buf),
                            n < 0 ? "invalid or overflows" : "too large", (long long)SC_MAX_ELEMS);
    }
    return SC_OK;
}

int sc_shape_equal(const sc_shape *a, const sc_shape *b) {
    if (a->rank != b->rank) return 0;
    for (int i = 0; i < a->rank; i++)
        if (a->dims[i] != b->dims[i]) return 0;
    return 1;
}

const char *sc_shape_str(const sc_shape *s, char *buf, size_t cap) {
    size_t pos = 0;
    pos += (size_t)snprintf(buf + pos, cap - pos, "[");
    for (int i = 0; i < s->rank && pos < cap; i++)
        pos +=
            (size_t)snprintf(buf + pos, cap - pos, "%s%lld", i ? "," : "", (long long)s->dims[i]);
    if (pos < cap) snprintf(buf + pos, cap - pos, "]");
    return buf;
}

sc_status sc_layer_add_variable(sc_layer *L, const char *name, const sc_shape *shape,
                                sc_error *err) {
    sc_model *m = L->model;
    if (L->num_vars == 0) L->first_var = m->num_vars;
    /* A layer's variables are contiguous: it declares them all within one call. */
    if (L->first_var + L->num_vars != m->num_vars)
        return sc_error_set(err, SC_INVALID_ARGUMENT,
                            "layer '%s': variables declared out of order (shared layer called "
                            "with a new shape?)",
                            L->name);
    if (m->num_vars == m->cap_vars) {
        size_t cap = m->cap_vars ? m->cap_vars * 2 : 16;
        sc_variable *v = realloc(m->vars, cap * sizeof *v);
        if (!v) return sc_error_set(err, SC_NO_MEMORY, "out of memory");
        m->vars = v;
        m->cap_vars = cap;
    }
    int64_t n = sc_shape_elems(shape);
    if (n < 0 || n > ((int64_t)1 << 40))
        return sc_error_set(err, SC_INVALID_ARGUMENT, "layer '%s': variable '%s' has a bad size",
                            L->name, name);
    sc_variable *v = &m->vars[m->num_vars];
    memset(v, 0, sizeof *v);
    v->layer = L->name;
    v->name = strdup(name);
    v->index = (int)L->num_vars;
    v->h5_index = v->index;
    v->layer_with_weights = -1;
    v->layer_index = L->index;
    v->shape = *shape;
    v->num_elements = n;
    v->data = calloc((size_t)(n ? n : 1), sizeof(float));
    if (!v->name || !v->data) {
        free((void *)v->name);
        free(v->data);
        return sc_error_set(err, SC_NO_MEMORY, "layer '%s': out of memory for '%s'", L->name, name);
    }
    m->num_vars++;
    L->num_vars++;
    return SC_OK;
}

void sc_model_free(sc_model *m) {
    if (!m) return;
    for (size_t i = 0; i < m->num_layers; i++) {
        sc_layer *L = m->layers[i];
        if (L->ops && L->ops->destroy)
            L->ops->destroy(L);
        else
            free(L->impl);
        free(L->name);
        free(L->class_name);
        free(L->h5_name);
        free(L->ckpt_path);
        free(L);
    }
    for (size_t i = 0; i < m->num_vars; i++) {
        free((void *)m->vars[i].name);
        free(m->vars[i].data);
    }
    for (size_t i = 0; i < m->num_inputs; i++) free(m->input_names[i]);
    free(m->input_names);
    if (m->output_names)
        for (size_t i = 0; i < m->num_outputs; i++) free(m->output_names[i]);
    free(m->output_names);
    free(m->layers);
    free(m->nodes);
    free(m->tensors);
    free(m->vars);
    free(m->inputs);
    free(m->outputs);
    free(m->bind_tmp);
    free(m->input_decl);
    free(m->name);
    free(m);
}

const char *sc_model_name(const sc_model *m) { return m->name; }
int sc_model_keras_version(const sc_model *m) { return m->keras3 ? 3 : 2; }
size_t sc_model_num_layers(const sc_model *m) { return m->num_layers; }
size_t sc_model_num_inputs(const sc_model *m) { return m->num_inputs; }
size_t sc_model_num_outputs(const sc_model *m) { return m->num_outputs; }
const char *sc_model_input_name(const sc_model *m, size_t i) { return m->input_names[i]; }
sc_shape sc_model_input_shape(const sc_model *m, size_t i) {
    return m->input_decl ? m->input_decl[i] : m->tensors[m->inputs[i]].shape;
}
static const sc_node *output_node(const sc_model *m, size_t i) {
    int p = m->tensors[m->outputs[i]].producer;
    return p >= 0 ? &m->nodes[p] : NULL;
}
const char *sc_model_output_name(const sc_model *m, size_t i) {
    if (m->output_names) return m->output_names[i];
    const sc_node *n = output_node(m, i);
    return n ? n->layer->name : m->input_names[0];
}
sc_shape sc_model_output_shape(const sc_model *m, size_t i) {
    return m->tensors[m->outputs[i]].shape;
}
const char *sc_model_output_activation(const sc_model *m, size_t i) {
    const sc_node *n = output_node(m, i);
    /* a layer's activation applies to its first output only (an RNN's states have none) */
    int first = n && n->output == m->outputs[i];
    return sc_activation_name(first ? n->layer->act : SC_ACT_LINEAR);
}
size_t sc_model_num_variables(const sc_model *m) { return m->num_vars; }
/* A mutable variable may be written through: runners must reorder the weights again. */
sc_variable *sc_model_variable(sc_model *m, size_t i) {
    if (i >= m->num_vars) return NULL;
    m->weights_gen++;
    return &m->vars[i];
}
sc_variable *sc_model_find_variable(sc_model *m, const char *layer, const char *name) {
    for (size_t i = 0; i < m->num_vars; i++)
        if (strcmp(m->vars[i].layer, layer) == 0 && strcmp(m->vars[i].name, name) == 0) {
            m->weights_gen++;
            return &m->vars[i];
        }
    return NULL;
}

/* ---- config helpers ---- */

/* Integers from a model's JSON are bounded so that shape arithmetic on them (products of two,
 * sums of a few) cannot overflow int64; no real layer option comes near 2^31. */
static int cfg_int_ok(json_int_t v) { return v > -SC_MAX_DIM && v < SC_MAX_DIM; }

sc_status sc_cfg_int(const sc_layer *L, const json_t *cfg, const char *key, int64_t def,
                     int64_t *out, sc_error *err) {
    const json_t *v = json_object_get(cfg, key);
    if (!v || json_is_null(v)) {
        *out = def;
        return SC_OK;
    }
    if (json_is_array(v) && json_array_size(v) == 1) v = json_array_get(v, 0); /* Keras 2: [3] */
    if (json_is_integer(v) && cfg_int_ok(json_integer_value(v))) {
        *out = json_integer_value(v);
        return SC_OK;
    }
    return sc_error_set(err, SC_INVALID_ARGUMENT,
                        "layer '%s' (%s): option '%s' must be an integer "
                        "of magnitude below 2^31",
                        L->name, L->class_name, key);
}

sc_status sc_cfg_bool(const sc_layer *L, const json_t *cfg, const char *key, int def, int *out,
                      sc_error *err) {
    const json_t *v = json_object_get(cfg, key);
    if (!v || json_is_null(v)) {
        *out = def;
        return SC_OK;
    }
    if (!json_is_boolean(v))
        return sc_error_set(err, SC_INVALID_ARGUMENT,
                            "layer '%s' (%s): option '%s' must be true or false", L->name,
                            L->class_name, key);
    *out = json_is_true(v);
    return SC_OK;
}

sc_status sc_cfg_double(const sc_layer *L, const json_t *cfg, const char *key, double def,
                        double *out, sc_error *err) {
    const json_t *v = json_object_get(cfg, key);
    if (!v || json_is_null(v)) {
        *out = def;
        return SC_OK;
    }
    if (!json_is_number(v))
        return sc_error_set(err, SC_INVALID_ARGUMENT,
                            "layer '%s' (%s): option '%s' must be a number", L->name, L->class_name,
                            key);
    *out = json_number_value(v);
    return SC_OK;
}

sc_status sc_cfg_ints(const sc_layer *L, const json_t *cfg, const char *key, int n,
                      const int64_t *def, int64_t *out, sc_error *err) {
    const json_t *v = json_object_get(cfg, key);
    if (!v || json_is_null(v)) {
        for (int i = 0; i < n; i++) out[i] = def[i];
        return SC_OK;
    }
    if (json_is_integer(v)) {
        if (!cfg_int_ok(json_integer_value(v))) goto bad;
        for (int i = 0; i < n; i++) out[i] = json_integer_value(v);
        return SC_OK;
    }
    if (json_is_array(v) && json_array_size(v) == (size_t)n) {
        for (int i = 0; i < n; i++) {
            const json_t *e = json_array_get(v, (size_t)i);
            if (!json_is_integer(e) || !cfg_int_ok(json_integer_value(e))) goto bad;
            out[i] = json_integer_value(e);
        }
        return SC_OK;
    }
bad:
    return sc_error_set(err, SC_INVALID_ARGUMENT,
                        "layer '%s' (%s): option '%s' must be an integer or a list of %d integers "
                        "(each of magnitude below 2^31)",
                        L->name, L->class_name, key, n);
}

sc_status sc_cfg_str(const sc_layer *L, const json_t *cfg, const char *key, const char *def,
                     const char **out, sc_error *err) {
    const json_t *v = json_object_get(cfg, key);
    if (!v || json_is_null(v)) {
        *out = def;
        return SC_OK;
    }
    if (!json_is_string(v))
        return sc_error_set(err, SC_INVALID_ARGUMENT,
                            "layer '%s' (%s): option '%s' must be a string", L->name, L->class_name,
                            key);
    *out = json_string_value(v);
    return SC_OK;
}

sc_status sc_cfg_activation(sc_layer *L, const json_t *cfg, sc_error *err) {
    return sc_cfg_activation_key(L, cfg, "activation", "linear", &L->act, err);
}

sc_status sc_cfg_activation_key(const sc_layer *L, const json_t *cfg, const char *key,
                                const char *def, sc_activation *out, sc_error *err) {
    const json_t *v = json_object_get(cfg, key);
    const char *name = def;
    if (v && json_is_string(v)) {
        name = json_string_value(v);
    } else if (v && json_is_object(v)) {
        /* A serialized function: {"class_name": "gelu", "config": {"approximate": true}}. */
        const json_t *cn = json_object_get(v, "class_name");
        const json_t *c = json_object_get(v, "config");
        name = json_is_string(cn) ? json_string_value(cn) : "";
        if (strcmp(name, "function") == 0 && json_is_string(c)) name = json_string_value(c);
        /* A registered function "package>name": the package is the user's, the name is ours. */
        const char *gt = strchr(name, '>');
        if (gt) name = gt + 1;
        const json_t *approx = json_is_object(c) ? json_object_get(c, "approximate") : NULL;
        if (strcmp(name, "gelu") == 0 && approx && json_is_true(approx)) name = "gelu_approximate";
    } else if (v && !json_is_null(v)) {
        return sc_error_set(err, SC_INVALID_ARGUMENT, "layer '%s' (%s): option '%s' must be a name",
                            L->name, L->class_name, key);
    }
    if (sc_activation_from_name(name, L->model->keras3, out) != 0)
        return sc_error_set(err, SC_UNIMPLEMENTED, "layer '%s' (%s): %s '%s' is not supported",
                            L->name, L->class_name, key, name);
    return SC_OK;
}

sc_status sc_cfg_channels_last(const sc_layer *L, const json_t *cfg, sc_error *err) {
    const char *df = NULL;
    sc_status s = sc_cfg_str(L, cfg, "data_format", "channels_last", &df, err);
    if (s) return s;
    if (strcmp(df, "channels_last") != 0)
        return sc_error_set(
            err, SC_UNIMPLEMENTED,
            "layer '%s' (%s): data_format '%s' is not supported (only channels_last)", L->name,
            L->class_name, df);
    return SC_OK;
}
