/* Attention (Luong) and AdditiveAttention (Bahdanau), Keras 2.15 (tf_keras/layers/attention/):
 * inputs [query [Tq, d], value [Tv, dv], key [Tv, d] (default value)];
 *   Attention dot:     scores = q k^T (* scale when use_scale)
 *   Attention concat:  scores = w * sum_d tanh(scale (q_i + k_j)) (scale only when use_scale)
 *   Additive:          scores = sum_d scale_d tanh(q_i + k_j) (scale only when use_scale)
 * then softmax over the keys and out = weights v. Dropout is off at evaluation. Masked inputs,
 * use_causal_mask and return_attention_scores are refused (model/mask.c, config.c). */
#include <math.h>
#include <string.h>

#include "core/error.h"
#include "model/layers/layers.h"
#include "tensor/gemm.h"

typedef struct {
    int additive, concat, use_scale;
} attn;

static sc_status init(sc_layer *L, const json_t *cfg, sc_error *err) {
    attn *a = calloc(1, sizeof *a);
    if (!a) return sc_error_set(err, SC_NO_MEMORY, "out of memory");
    L->impl = a;
    a->additive = !strcmp(L->class_name, "AdditiveAttention");
    const char *mode = "dot";
    int causal;
    sc_status s;
    if ((s = sc_cfg_bool(L, cfg, "use_scale", a->additive, &a->use_scale, err))
        || (s = sc_cfg_bool(L, cfg, "causal", 0, &causal, err))
        || (!a->additive && (s = sc_cfg_str(L, cfg, "score_mode", "dot", &mode, err))))
        return s;
    if (causal)
        return sc_error_set(err, SC_UNIMPLEMENTED, "layer '%s' (%s): causal=True is not supported",
                            L->name, L->class_name);
    if (strcmp(mode, "dot") && strcmp(mode, "concat"))
        return sc_error_set(err, SC_UNIMPLEMENTED,
                            "layer '%s' (%s): score_mode '%s' is not "
                            "supported (dot, concat are)",
                            L->name, L->class_name, mode);
    a->concat = !strcmp(mode, "concat");
    return SC_OK;
}

static sc_status infer(sc_layer *L, sc_node *n, sc_error *err) {
    const attn *a = L->impl;
    const sc_shape *q = &n->in_shape[0], *v = &n->in_shape[1], *k = &n->in_shape[n->num_inputs - 1];
    if (n->num_inputs < 2 || n->num_inputs > 3 || q->rank != 2 || v->rank != 2 || k->rank != 2
        || k->dims[0] != v->dims[0] || k->dims[1] != q->dims[1] || q->dims[0] <= 0
        || v->dims[0] <= 0)
        return sc_error_set(err, SC_INVALID_ARGUMENT,
                            "layer '%s' (%s): expects [query [Tq, d], "
                            "value [Tv, dv]] or [query, value, key [Tv, d]]",
                            L->name, L->class_name);
    if (L->num_vars == 0) {
        /* AdditiveAttention's scale has the value's width (tf_keras build), which must equal d */
        sc_shape scalar = {0, {0}}, vec = {1, {v->dims[1]}};
        if (a->additive && a->use_scale && v->dims[1] != q->dims[1])
            return sc_error_set(err, SC_INVALID_ARGUMENT,
                                "layer '%s' (AdditiveAttention): value "
                                "width %lld differs from the query's %lld",
                                L->name, (long long)v->dims[1], (long long)q->dims[1]);
        sc_status s = SC_OK;
        if (a->use_scale) s = sc_layer_add_variable(L, "scale", a->additive ? &vec : &scalar, err);
        if (!s && a->concat) s = sc_layer_add_variable(L, "concat_score_weight", &scalar, err);
        if (s) return s;
    }
    n->out_shape = (sc_shape){2, {q->dims[0], v->dims[1]}};
    return SC_OK;
}

static size_t scratch(const sc_layer *L, const sc_node *n, int batch) {
    (void)L;
    (void)batch;
    return (size_t)n->in_shape[0].dims[0] * (size_t)n->in_shape[1].dims[0];
}

static sc_status forward(const sc_layer *L, const sc_node *n, int batch, const float *const *in,
                         float *out, float *sc, sc_error *err) {
    (void)err;
    const attn *a = L->impl;
    const int Tq = (int)n->in_shape[0].dims[0], Tv = (int)n->in_shape[1].dims[0];
    const int d = (int)n->in_shape[0].dims[1], dv = (int)n->in_shape[1].dims[1];
    const float *scale = a->use_scale ? sc_layer_var(L, 0)->data : NULL;
    const float cw = a->concat ? sc_layer_var(L, a->use_scale ? 1 : 0)->data[0] : 1.0f;
    for (int b = 0; b < batch; b++) {
        const float *q = in[0] + (size_t)b * Tq * d, *v = in[1] + (size_t)b * Tv * dv;
        const float *k = in[n->num_inputs - 1] + (size_t)b * Tv * d;
        if (!a->additive && !a->concat) {
            sc_gemm_f32(0, 1, Tq, Tv, d, scale ? scale[0] : 1.0f, q, d, k, d, 0.0f, sc, Tv);
        } else {
            for (int i = 0; i < Tq; i++)
                for (int j = 0; j < Tv; j++) {
                    float s = 0.0f;
                    for (int c = 0; c < d; c++) {
                        float x = q[i * d + c] + k[j * d + c];
                        if (a->additive)
                            s += (scale ? scale[c] : 1.0f) * tanhf(x);
                        else
                            s += tanhf(scale ? scale[0] * x : x);
                    }
                    sc[i * Tv + j] = a->concat ? cw * s : s;
                }
        }
        sc_activation_apply(SC_ACT_SOFTMAX, sc, (size_t)Tq, (size_t)Tv);
        sc_gemm_f32(0, 0, Tq, dv, Tv, 1.0f, sc, Tv, v, dv, 0.0f, out + (size_t)b * Tq * dv, dv);
    }
    return SC_OK;
}

const sc_layer_ops sc_layer_attention = {"Attention", init, infer, scratch, forward, NULL};
const sc_layer_ops sc_layer_additive_attention = {
    "AdditiveAttention", init, infer, scratch, forward, NULL};
