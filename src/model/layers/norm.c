/* BatchNormalization (inference: moving statistics) and LayerNormalization, over the last axis.
 *   BN: y = (x - moving_mean) * gamma / sqrt(moving_variance + eps) + beta
 *   LN: y = (x - mean) / sqrt(var + eps) * gamma + beta, mean/var over the last axis (biased);
 *       Keras 3 rms_scaling: y = x / sqrt(mean(x^2) + eps) * gamma. */
#include <math.h>
#include <string.h>

#include "core/error.h"
#include "model/layers/engine_info.h"
#include "model/layers/layers.h"

typedef struct {
    int64_t axis;
    double eps;
    int center, scale, rms;
} norm;

/* Only the channel (last) axis: Keras 2 writes it as [3], Keras 3 as -1 or 3. */
static sc_status last_axis_only(sc_layer *L, const sc_node *n, int64_t axis, sc_error *err) {
    int rank = n->in_shape[0].rank; /* without batch: Keras' axis r+... counts the batch */
    if (axis == -1 || axis == rank) return SC_OK;
    return sc_error_set(err, SC_UNIMPLEMENTED,
                        "layer '%s' (%s): axis %lld is not supported (only "
                        "the last axis)",
                        L->name, L->class_name, (long long)axis);
}

static sc_status norm_init(sc_layer *L, const json_t *cfg, double def_eps, sc_error *err) {
    norm *p = calloc(1, sizeof *p);
    if (!p) return sc_error_set(err, SC_NO_MEMORY, "out of memory");
    L->impl = p;
    const json_t *ax = json_object_get(cfg, "axis");
    if (json_is_array(ax) && json_array_size(ax) != 1)
        return sc_error_set(err, SC_UNIMPLEMENTED,
                            "layer '%s' (%s): normalizing over several axes "
                            "is not supported",
                            L->name, L->class_name);
    sc_status s;
    if ((s = sc_cfg_int(L, cfg, "axis", -1, &p->axis, err))) return s;
    if ((s = sc_cfg_double(L, cfg, "epsilon", def_eps, &p->eps, err))) return s;
    if ((s = sc_cfg_bool(L, cfg, "center", 1, &p->center, err))) return s;
    if ((s = sc_cfg_bool(L, cfg, "scale", 1, &p->scale, err))) return s;
    if ((s = sc_cfg_bool(L, cfg, "rms_scaling", 0, &p->rms, err))) return s;
    int renorm = 0;
    if ((s = sc_cfg_bool(L, cfg, "renorm", 0, &renorm, err))) return s;
    (void)renorm; /* renorm changes training only; inference uses the moving statistics */
    return SC_OK;
}

static sc_status bn_init(sc_layer *L, const json_t *cfg, sc_error *err) {
    return norm_init(L, cfg, 1e-3, err);
}
static sc_status ln_init(sc_layer *L, const json_t *cfg, sc_error *err) {
    return norm_init(L, cfg, 1e-3, err);
}

static sc_status norm_infer(sc_layer *L, sc_node *n, int bn, sc_error *err) {
    norm *p = L->impl;
    sc_status s = sc_infer_same_shape_features(L, n, err);
    if (s || (s = last_axis_only(L, n, p->axis, err))) return s;
    if (L->num_vars) return SC_OK;
    sc_shape c = {1, {n->in_shape[0].dims[n->in_shape[0].rank - 1]}};
    if (p->scale && (s = sc_layer_add_variable(L, "gamma", &c, err))) return s;
    if (p->center && !p->rms && (s = sc_layer_add_variable(L, "beta", &c, err))) return s;
    if (bn && (s = sc_layer_add_variable(L, "moving_mean", &c, err))) return s;
    if (bn && (s = sc_layer_add_variable(L, "moving_variance", &c, err))) return s;
    return SC_OK;
}

static sc_status bn_infer(sc_layer *L, sc_node *n, sc_error *err) {
    return norm_infer(L, n, 1, err);
}
static sc_status ln_infer(sc_layer *L, sc_node *n, sc_error *err) {
    return norm_infer(L, n, 0, err);
}

static sc_status bn_forward(const sc_layer *L, const sc_node *n, int batch, const float *const *in,
                            float *out, float *scratch, sc_error *err) {
    (void)scratch;
    (void)err;
    const norm *p = L->impl;
    size_t v = 0;
    const float *gamma = p->scale ? sc_layer_var(L, v++)->data : NULL;
    const float *beta = p->center ? sc_layer_var(L, v++)->data : NULL;
    const float *mean = sc_layer_var(L, v++)->data, *var = sc_layer_var(L, v++)->data;
    const sc_shape *s = &n->in_shape[0];
    int64_t C = s->dims[s->rank - 1], rows = batch * sc_shape_elems(s) / C;
    const float eps = (float)p->eps;
    for (int64_t r = 0; r < rows; r++) {
        const float *x = in[0] + r * C;
        float *y = out + r * C;
        for (int64_t c = 0; c < C; c++) {
            /* TF's fused inference kernel: scale = gamma * rsqrt(var + eps) */
            float inv = 1.0f / sqrtf(var[c] + eps);
            if (gamma) inv *= gamma[c];
            y[c] = (x[c] - mean[c]) * inv + (beta ? beta[c] : 0.0f);
        }
    }
    return SC_OK;
}

static sc_status ln_forward(const sc_layer *L, const sc_node *n, int batch, const float *const *in,
                            float *out, float *scratch, sc_error *err) {
    (void)scratch;
    (void)err;
    const norm *p = L->impl;
    size_t v = 0;
    const float *gamma = p->scale ? sc_layer_var(L, v++)->data : NULL;
    const float *beta = p->center && !p->rms ? sc_layer_var(L, v++)->data : NULL;
    const sc_shape *s = &n->in_shape[0];
    int64_t C = s->dims[s->rank - 1], rows = batch * sc_shape_elems(s) / C;
    for (int64_t r = 0; r < rows; r++) {
        const float *x = in[0] + r * C;
        float *y = out + r * C;
        /* Statistics in double: a float sum loses digits over wide rows. */
        double mean = 0, var = 0;
        if (!p->rms) {
            for (int64_t c = 0; c < C; c++) mean += x[c];
            mean /= (double)C;
        }
        for (int64_t c = 0; c < C; c++) var += ((double)x[c] - mean) * ((double)x[c] - mean);
        var /= (double)C;
        float inv = (float)(1.0 / sqrt(var + p->eps));
        for (int64_t c = 0; c < C; c++) {
            float t = ((float)(x[c] - mean)) * inv;
            if (gamma) t *= gamma[c];
            y[c] = t + (beta ? beta[c] : 0.0f);
        }
    }
    return SC_OK;
}

const sc_layer_ops sc_layer_batch_normalization = {"BatchNormalization", bn_init, bn_infer, NULL,
                                                   bn_forward,           NULL};
const sc_layer_ops sc_layer_layer_normalization = {"LayerNormalization", ln_init, ln_infer, NULL,
                                                   ln_forward,           NULL};

/* For the oneDNN plan (engine_info.h): the inference statistics of a BatchNormalization
 * (gamma, beta NULL when the layer has none). */
int sc_bn_engine_params(const sc_layer *L, const float **gamma, const float **beta,
                        const float **mean, const float **var, float *eps) {
    if (L->ops != &sc_layer_batch_normalization) return 0;
    const norm *p = L->impl;
    size_t v = 0;
    *gamma = p->scale ? sc_layer_var(L, v++)->data : NULL;
    *beta = p->center ? sc_layer_var(L, v++)->data : NULL;
    *mean = sc_layer_var(L, v++)->data;
    *var = sc_layer_var(L, v++)->data;
    *eps = (float)p->eps;
    return 1;
}
