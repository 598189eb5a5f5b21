/* Activation layers: Activation(name), ReLU(max_value, negative_slope, threshold),
 * LeakyReLU(alpha | negative_slope), ELU(alpha), Softmax(axis=-1). Layers whose activation is a
 * plain Keras activation set L->act and copy; the runner applies L->act after every layer. */
#include <math.h>
#include <string.h>

#include "core/error.h"
#include "model/layers/engine_info.h"
#include "model/layers/layers.h"

typedef struct {
    double max_value; /* < 0: none */
    double slope;
    double threshold;
} relu_params;

static sc_status activation_init(sc_layer *L, const json_t *cfg, sc_error *err) {
    return sc_cfg_activation(L, cfg, err);
}

static sc_status relu_init(sc_layer *L, const json_t *cfg, sc_error *err) {
    relu_params *p = calloc(1, sizeof *p);
    if (!p) return sc_error_set(err, SC_NO_MEMORY, "out of memory");
    L->impl = p;
    sc_status s;
    if ((s = sc_cfg_double(L, cfg, "max_value", -1.0, &p->max_value, err))) return s;
    if ((s = sc_cfg_double(L, cfg, "negative_slope", 0.0, &p->slope, err))) return s;
    return sc_cfg_double(L, cfg, "threshold", 0.0, &p->threshold, err);
}

static sc_status leaky_init(sc_layer *L, const json_t *cfg, sc_error *err) {
    relu_params *p = calloc(1, sizeof *p);
    if (!p) return sc_error_set(err, SC_NO_MEMORY, "out of memory");
    L->impl = p;
    p->max_value = -1.0;
    /* Keras 2 names the slope `alpha`, Keras 3 `negative_slope`; both default to 0.3. */
    sc_status s = sc_cfg_double(L, cfg, "alpha", 0.3, &p->slope, err);
    if (!s && json_object_get(cfg, "negative_slope"))
        s = sc_cfg_double(L, cfg, "negative_slope", 0.3, &p->slope, err);
    return s;
}

/* Keras: x >= max_value -> max_value; threshold <= x < max_value -> x;
 * x < threshold -> negative_slope * (x - threshold). */
static sc_status relu_forward(const sc_layer *L, const sc_node *n, int batch,
                              const float *const *in, float *out, float *scratch, sc_error *err) {
    (void)scratch;
    (void)err;
    const relu_params *p = L->impl;
    size_t total = (size_t)batch * (size_t)sc_shape_elems(&n->in_shape[0]);
    const float mx = p->max_value >= 0 ? (float)p->max_value : INFINITY;
    const float slope = (float)p->slope, th = (float)p->threshold;
    const float *x = in[0];
    for (size_t i = 0; i < total; i++) {
        float v = x[i];
        out[i] = v >= mx ? mx : v >= th ? v : slope * (v - th);
    }
    return SC_OK;
}

static sc_status elu_init(sc_layer *L, const json_t *cfg, sc_error *err) {
    double *alpha = malloc(sizeof *alpha);
    if (!alpha) return sc_error_set(err, SC_NO_MEMORY, "out of memory");
    L->impl = alpha;
    return sc_cfg_double(L, cfg, "alpha", 1.0, alpha, err);
}

static sc_status elu_forward(const sc_layer *L, const sc_node *n, int batch, const float *const *in,
                             float *out, float *scratch, sc_error *err) {
    (void)scratch;
    (void)err;
    const float alpha = (float)*(const double *)L->impl;
    size_t total = (size_t)batch * (size_t)sc_shape_elems(&n->in_shape[0]);
    for (size_t i = 0; i < total; i++) {
        float v = in[0][i];
        out[i] = v > 0 ? v : alpha * expm1f(v);
    }
    return SC_OK;
}

static sc_status softmax_init(sc_layer *L, const json_t *cfg, sc_error *err) {
    int64_t axis;
    sc_status s = sc_cfg_int(L, cfg, "axis", -1, &axis, err);
    if (s) return s;
    /* Only the last axis (the default and by far the common case); rank is unknown here, so a
     * positive axis is checked in infer. */
    L->impl = malloc(sizeof(int64_t));
    if (!L->impl) return sc_error_set(err, SC_NO_MEMORY, "out of memory");
    *(int64_t *)L->impl = axis;
    L->act = SC_ACT_SOFTMAX;
    return SC_OK;
}

static sc_status softmax_infer(sc_layer *L, sc_node *n, sc_error *err) {
    sc_status s = sc_infer_same_shape(L, n, err);
    if (s) return s;
    int64_t axis = *(int64_t *)L->impl;
    if (axis != -1 && axis != n->in_shape[0].rank)
        return sc_error_set(err, SC_UNIMPLEMENTED,
                            "layer '%s' (Softmax): axis %lld is not supported (only the last axis)",
                            L->name, (long long)axis);
    return SC_OK;
}

const sc_layer_ops sc_layer_activation = {"Activation", activation_init, sc_infer_same_shape,
                                          NULL,         sc_forward_copy, NULL};
const sc_layer_ops sc_layer_relu = {"ReLU", relu_init,    sc_infer_same_shape,
                                    NULL,   relu_forward, NULL};
const sc_layer_ops sc_layer_leaky_relu = {"LeakyReLU", leaky_init,   sc_infer_same_shape,
                                          NULL,        relu_forward, NULL};
const sc_layer_ops sc_layer_elu = {"ELU", elu_init, sc_infer_same_shape, NULL, elu_forward, NULL};
const sc_layer_ops sc_layer_softmax = {"Softmax", softmax_init,    softmax_infer,
                                       NULL,      sc_forward_copy, NULL};

/* For the oneDNN plan (engine_info.h): an Activation('relu'/'relu6') or a ReLU layer that is
 * exactly relu or relu6 (no slope, no threshold), as that activation. */
int sc_relu_engine_act(const sc_layer *L, sc_activation *act) {
    if (L->ops == &sc_layer_activation && (L->act == SC_ACT_RELU || L->act == SC_ACT_RELU6)) {
        *act = L->act;
        return 1;
    }
    if (L->ops != &sc_layer_relu) return 0;
    const relu_params *p = L->impl;
    if (p->slope != 0.0 || p->threshold != 0.0) return 0;
    if (p->max_value < 0)
        *act = SC_ACT_RELU;
    else if (p->max_value == 6.0)
        *act = SC_ACT_RELU6;
    else
        return 0;
    return 1;
}
