/* Rescaling (y = x * scale + offset, per channel when given lists) and Normalization over the
 * last axis:
 *   y = (x - mean) / max(sqrt(variance), 1e-7)        (invert: y = x * sqrt(variance) + mean)
 * Statistics come from the config when given there ("mean": [...], "variance": [...]), otherwise
 * from the layer's variables mean, variance, count (what adapt() fills). */
#include <math.h>
#include <string.h>

#include "core/error.h"
#include "model/layers/layers.h"

/* scale and offset: a number, or a list broadcast along the last axis as TF broadcasts the
 * constant tensor Keras makes of it (EfficientNet's stem, built with weights="imagenet", has
 * Rescaling([1/sqrt(0.229), 1/sqrt(0.224), 1/sqrt(0.225)])). */
typedef struct {
    float *scale, *offset;
    size_t ns, no; /* 1 for a number */
} rescaling;

static sc_status rescale_value(sc_layer *L, const json_t *cfg, const char *key, double def,
                               float **out, size_t *n, sc_error *err) {
    const json_t *v = json_object_get(cfg, key);
    *n = json_is_array(v) ? json_array_size(v) : 1;
    if (*n == 0)
        return sc_error_set(err, SC_INVALID_ARGUMENT, "layer '%s' (Rescaling): '%s' is empty",
                            L->name, key);
    *out = malloc(*n * sizeof(float));
    if (!*out) return sc_error_set(err, SC_NO_MEMORY, "out of memory");
    if (!json_is_array(v)) {
        double d;
        sc_status s = sc_cfg_double(L, cfg, key, def, &d, err);
        (*out)[0] = (float)d;
        return s;
    }
    for (size_t i = 0; i < *n; i++) {
        const json_t *e = json_array_get(v, i);
        if (!json_is_number(e))
            return sc_error_set(err, SC_UNIMPLEMENTED,
                                "layer '%s' (Rescaling): '%s' must be a number or a flat list of "
                                "numbers (one per channel)",
                                L->name, key);
        (*out)[i] = (float)json_number_value(e);
    }
    return SC_OK;
}

static sc_status rescale_init(sc_layer *L, const json_t *cfg, sc_error *err) {
    rescaling *r = calloc(1, sizeof *r);
    if (!r) return sc_error_set(err, SC_NO_MEMORY, "out of memory");
    L->impl = r;
    sc_status s = rescale_value(L, cfg, "scale", 1.0, &r->scale, &r->ns, err);
    return s ? s : rescale_value(L, cfg, "offset", 0.0, &r->offset, &r->no, err);
}

static void rescale_destroy(sc_layer *L) {
    rescaling *r = L->impl;
    if (!r) return;
    free(r->scale);
    free(r->offset);
    free(r);
}

static sc_status rescale_infer(sc_layer *L, sc_node *n, sc_error *err) {
    const rescaling *r = L->impl;
    const sc_shape *s = &n->in_shape[0];
    int64_t c = s->rank ? s->dims[s->rank - 1] : 1;
    if ((r->ns != 1 && (int64_t)r->ns != c) || (r->no != 1 && (int64_t)r->no != c))
        return sc_error_set(err, SC_INVALID_ARGUMENT,
                            "layer '%s' (Rescaling): %zu scales and %zu offsets for an input of "
                            "%lld channels",
                            L->name, r->ns, r->no, (long long)c);
    return sc_infer_same_shape(L, n, err);
}

static sc_status rescale_forward(const sc_layer *L, const sc_node *n, int batch,
                                 const float *const *in, float *out, float *scratch,
                                 sc_error *err) {
    (void)scratch;
    (void)err;
    const rescaling *r = L->impl;
    size_t total = (size_t)batch * (size_t)sc_shape_elems(&n->in_shape[0]);
    if (r->ns == 1 && r->no == 1) {
        const float sc = r->scale[0], of = r->offset[0];
        for (size_t i = 0; i < total; i++) out[i] = in[0][i] * sc + of;
        return SC_OK;
    }
    const sc_shape *s = &n->in_shape[0];
    size_t c = (size_t)(s->rank ? s->dims[s->rank - 1] : 1);
    for (size_t i = 0; i < total; i++) {
        size_t ch = i % c;
        out[i] = in[0][i] * r->scale[r->ns == 1 ? 0 : ch] + r->offset[r->no == 1 ? 0 : ch];
    }
    return SC_OK;
}

typedef struct {
    int invert;
    const json_t *cfg_mean, *cfg_var; /* only during init */
    float *mean, *var;                /* from the config; else the variables */
    size_t n;
} normalization;

static sc_status read_list(sc_layer *L, const json_t *v, const char *key, float **out, size_t *n,
                           sc_error *err) {
    size_t len = json_is_array(v) ? json_array_size(v) : 1;
    if (*n && len != *n && len != 1)
        return sc_error_set(err, SC_INVALID_ARGUMENT,
                            "layer '%s' (Normalization): '%s' has %zu "
                            "values, expected %zu",
                            L->name, key, len, *n);
    *out = malloc(len * sizeof(float));
    if (!*out) return sc_error_set(err, SC_NO_MEMORY, "out of memory");
    for (size_t i = 0; i < len; i++) {
        const json_t *e = json_is_array(v) ? json_array_get(v, i) : v;
        if (!json_is_number(e))
            return sc_error_set(err, SC_INVALID_ARGUMENT,
                                "layer '%s' (Normalization): '%s' must be "
                                "numbers",
                                L->name, key);
        (*out)[i] = (float)json_number_value(e);
    }
    if (len > *n) *n = len;
    return SC_OK;
}

static void norm_destroy(sc_layer *L) {
    normalization *p = L->impl;
    if (p) {
        free(p->mean);
        free(p->var);
    }
    free(p);
}

static sc_status norm_init(sc_layer *L, const json_t *cfg, sc_error *err) {
    normalization *p = calloc(1, sizeof *p);
    if (!p) return sc_error_set(err, SC_NO_MEMORY, "out of memory");
    L->impl = p;
    sc_status s = sc_cfg_bool(L, cfg, "invert", 0, &p->invert, err);
    if (s) return s;
    const json_t *ax = json_object_get(cfg, "axis");
    int64_t axis = -1;
    if (json_is_array(ax) && json_array_size(ax) == 1)
        axis = json_integer_value(json_array_get(ax, 0));
    else if (json_is_integer(ax))
        axis = json_integer_value(ax);
    else if (ax && !json_is_null(ax))
        return sc_error_set(err, SC_UNIMPLEMENTED,
                            "layer '%s' (Normalization): axis over several "
                            "dimensions is not supported",
                            L->name);
    if (axis != -1 && !(ax && json_is_null(ax))) p->n = 0; /* checked against the rank in infer */
    p->cfg_mean = json_object_get(cfg, "mean");
    p->cfg_var = json_object_get(cfg, "variance");
    if (p->cfg_mean && !json_is_null(p->cfg_mean)) {
        if ((s = read_list(L, p->cfg_mean, "mean", &p->mean, &p->n, err))) return s;
        if ((s = read_list(L, p->cfg_var, "variance", &p->var, &p->n, err))) return s;
    }
    return SC_OK;
}

static sc_status norm_infer(sc_layer *L, sc_node *n, sc_error *err) {
    normalization *p = L->impl;
    sc_status s = sc_infer_same_shape_features(L, n, err);
    if (s) return s;
    int64_t C = n->in_shape[0].dims[n->in_shape[0].rank - 1];
    if (p->mean) {
        if (p->n != 1 && (int64_t)p->n != C)
            return sc_error_set(err, SC_INVALID_ARGUMENT,
                                "layer '%s' (Normalization): %zu statistics "
                                "for %lld channels",
                                L->name, p->n, (long long)C);
        return SC_OK;
    }
    if (L->num_vars) return SC_OK;
    sc_shape c = {1, {C}}, scalar = {0, {0}};
    if ((s = sc_layer_add_variable(L, "mean", &c, err))) return s;
    if ((s = sc_layer_add_variable(L, "variance", &c, err))) return s;
    return sc_layer_add_variable(L, "count", &scalar, err);
}

static sc_status norm_forward(const sc_layer *L, const sc_node *n, int batch,
                              const float *const *in, float *out, float *scratch, sc_error *err) {
    (void)scratch;
    (void)err;
    const normalization *p = L->impl;
    const sc_shape *s = &n->in_shape[0];
    int64_t C = s->dims[s->rank - 1], rows = batch * sc_shape_elems(s) / C;
    const float *mean = p->mean ? p->mean : sc_layer_var(L, 0)->data;
    const float *var = p->mean ? p->var : sc_layer_var(L, 1)->data;
    int64_t step = p->mean && p->n == 1 ? 0 : 1;
    for (int64_t r = 0; r < rows; r++)
        for (int64_t c = 0; c < C; c++) {
            float sd = fmaxf(sqrtf(var[c * step]), 1e-7f);
            float x = in[0][r * C + c];
            out[r * C + c] = p->invert ? x * sd + mean[c * step] : (x - mean[c * step]) / sd;
        }
    return SC_OK;
}

/* ---- PReLU: y = x > 0 ? x : alpha * x, alpha shaped like the input with shared axes 1 ---- */

static sc_status prelu_infer(sc_layer *L, sc_node *n, sc_error *err) {
    sc_status s = sc_infer_same_shape(L, n, err);
    if (s || L->num_vars) return s;
    sc_shape a = n->in_shape[0];
    const json_t *shared = L->impl; /* the config's shared_axes, kept by prelu_init */
    for (size_t i = 0; i < json_array_size(shared); i++) {
        int64_t ax = json_integer_value(json_array_get(shared, i));
        if (ax < 1 || ax > a.rank)
            return sc_error_set(err, SC_INVALID_ARGUMENT,
                                "layer '%s' (PReLU): bad shared axis %lld", L->name, (long long)ax);
        a.dims[ax - 1] = 1;
    }
    return sc_layer_add_variable(L, "alpha", &a, err);
}

static sc_status prelu_init(sc_layer *L, const json_t *cfg, sc_error *err) {
    const json_t *shared = json_object_get(cfg, "shared_axes");
    if (shared && !json_is_null(shared) && !json_is_array(shared))
        return sc_error_set(err, SC_INVALID_ARGUMENT,
                            "layer '%s' (PReLU): shared_axes must be a list", L->name);
    L->impl = json_is_array(shared) ? json_incref((json_t *)shared) : NULL;
    return SC_OK;
}

static void prelu_destroy(sc_layer *L) { json_decref(L->impl); }

static sc_status prelu_forward(const sc_layer *L, const sc_node *n, int batch,
                               const float *const *in, float *out, float *scratch, sc_error *err) {
    (void)scratch;
    (void)err;
    const sc_variable *av = sc_layer_var(L, 0);
    const sc_shape *s = &n->in_shape[0];
    int64_t per = sc_shape_elems(s);
    /* alpha index for element i: each coordinate, 0 where the axis is shared */
    for (int b = 0; b < batch; b++)
        for (int64_t i = 0; i < per; i++) {
            int64_t rem = i, ai = 0, mul = 1;
            for (int d = s->rank - 1; d >= 0; d--) {
                int64_t coord = rem % s->dims[d];
                rem /= s->dims[d];
                if (av->shape.dims[d] != 1) ai += coord * mul;
                mul *= av->shape.dims[d];
            }
            float x = in[0][b * per + i];
            out[b * per + i] = x > 0 ? x : av->data[ai] * x;
        }
    return SC_OK;
}

const sc_layer_ops sc_layer_rescaling = {"Rescaling", rescale_init,    rescale_infer,
                                         NULL,        rescale_forward, rescale_destroy};
const sc_layer_ops sc_layer_normalization = {"Normalization", norm_init,   norm_infer, NULL,
                                             norm_forward,    norm_destroy};
const sc_layer_ops sc_layer_prelu = {"PReLU", prelu_init,    prelu_infer,
                                     NULL,    prelu_forward, prelu_destroy};
