/* SeparableConv1D, channels_last (tf_keras separable_conv1d.py: TF's separable_conv2d on
 * [B, 1, steps, C]). depthwise_kernel [k, C, mult], pointwise_kernel [1, C*mult, filters], bias
 * [filters]. The depthwise step is a direct loop (mult outputs per channel); the pointwise step
 * is one GEMM over all output steps of the batch. padding valid / same / causal as Conv1D. */
#include <string.h>

#include "model/layers/conv_geom.h"
#include "model/layers/layers.h"
#include "tensor/gemm.h"

typedef struct {
    int64_t filters, k, s, d, mult;
    sc_padding pad;
    int use_bias;
} sep1;

static sc_status init(sc_layer *L, const json_t *cfg, sc_error *err) {
    sep1 *c = calloc(1, sizeof *c);
    if (!c) return sc_error_set(err, SC_NO_MEMORY, "out of memory");
    L->impl = c;
    const int64_t one = 1;
    sc_status s;
    if ((s = sc_cfg_int(L, cfg, "filters", 0, &c->filters, err))
        || (s = sc_cfg_ints(L, cfg, "kernel_size", 1, &one, &c->k, err))
        || (s = sc_cfg_ints(L, cfg, "strides", 1, &one, &c->s, err))
        || (s = sc_cfg_ints(L, cfg, "dilation_rate", 1, &one, &c->d, err))
        || (s = sc_cfg_int(L, cfg, "depth_multiplier", 1, &c->mult, err))
        || (s = sc_parse_padding(L, cfg, 1, &c->pad, err))
        || (s = sc_cfg_bool(L, cfg, "use_bias", 1, &c->use_bias, err))
        || (s = sc_cfg_channels_last(L, cfg, err)))
        return s;
    if (c->filters <= 0 || c->k <= 0 || c->s <= 0 || c->d <= 0 || c->mult <= 0
        || c->filters > (1 << 24) || c->k > 4096 || c->s > 4096 || c->d > 4096 || c->mult > 4096)
        return sc_error_set(err, SC_INVALID_ARGUMENT,
                            "layer '%s' (SeparableConv1D): filters, "
                            "kernel_size, strides, dilation_rate and depth_multiplier must be in "
                            "1..4096",
                            L->name);
    return sc_cfg_activation(L, cfg, err);
}

static sc_status infer(sc_layer *L, sc_node *n, sc_error *err) {
    const sep1 *c = L->impl;
    const sc_shape *in = &n->in_shape[0];
    if (n->num_inputs != 1 || in->rank != 2 || in->dims[0] <= 0 || in->dims[1] <= 0)
        return sc_error_set(err, SC_INVALID_ARGUMENT,
                            "layer '%s' (SeparableConv1D): expects one "
                            "input [steps, channels]",
                            L->name);
    int64_t C = in->dims[1], pb;
    if (L->num_vars == 0) {
        sc_shape dk = {3, {c->k, C, c->mult}}, pk = {3, {1, C * c->mult, c->filters}};
        sc_shape b = {1, {c->filters}};
        sc_status s = sc_layer_add_variable(L, "depthwise_kernel", &dk, err);
        if (!s) s = sc_layer_add_variable(L, "pointwise_kernel", &pk, err);
        if (!s && c->use_bias) s = sc_layer_add_variable(L, "bias", &b, err);
        if (s) return s;
    } else if (sc_layer_var(L, 0)->shape.dims[1] != C) {
        return sc_error_set(err, SC_INVALID_ARGUMENT,
                            "layer '%s' (SeparableConv1D): called on %lld "
                            "channels, built for %lld",
                            L->name, (long long)C, (long long)sc_layer_var(L, 0)->shape.dims[1]);
    }
    int64_t out = sc_out_dim(in->dims[0], c->k, c->s, c->d, c->pad, &pb);
    if (out <= 0)
        return sc_error_set(err, SC_INVALID_ARGUMENT,
                            "layer '%s' (SeparableConv1D): %lld steps are "
                            "fewer than the window",
                            L->name, (long long)in->dims[0]);
    n->out_shape = (sc_shape){2, {out, c->filters}};
    return SC_OK;
}

static size_t scratch(const sc_layer *L, const sc_node *n, int batch) {
    const sep1 *c = L->impl;
    return (size_t)batch * (size_t)n->out_shape.dims[0]
           * (size_t)(n->in_shape[0].dims[1] * c->mult);
}

static sc_status forward(const sc_layer *L, const sc_node *n, int batch, const float *const *in,
                         float *out, float *dw, sc_error *err) {
    (void)err;
    const sep1 *c = L->impl;
    int64_t T = n->in_shape[0].dims[0], C = n->in_shape[0].dims[1], O = n->out_shape.dims[0], pb;
    sc_out_dim(T, c->k, c->s, c->d, c->pad, &pb);
    const int64_t M = c->mult, CM = C * M, F = c->filters;
    const float *dk = sc_layer_var(L, 0)->data, *pk = sc_layer_var(L, 1)->data;
    for (int b = 0; b < batch; b++)
        for (int64_t o = 0; o < O; o++) {
            float *d = dw + ((size_t)b * O + o) * CM;
            memset(d, 0, (size_t)CM * sizeof(float));
            for (int64_t t = 0; t < c->k; t++) {
                int64_t i = o * c->s + t * c->d - pb;
                if (i < 0 || i >= T) continue;
                const float *x = in[0] + ((size_t)b * T + i) * C, *w = dk + t * CM;
                for (int64_t ch = 0; ch < C; ch++)
                    for (int64_t m = 0; m < M; m++) d[ch * M + m] += x[ch] * w[ch * M + m];
            }
        }
    float beta = 0.0f;
    if (c->use_bias) {
        const float *bias = sc_layer_var(L, 2)->data;
        for (size_t r = 0; r < (size_t)batch * O; r++)
            memcpy(out + r * F, bias, (size_t)F * sizeof(float));
        beta = 1.0f;
    }
    sc_gemm_f32(0, 0, (int)(batch * O), (int)F, (int)CM, 1.0f, dw, (int)CM, pk, (int)F, beta, out,
                (int)F);
    return SC_OK;
}

const sc_layer_ops sc_layer_separable_conv1d = {"SeparableConv1D", init,    infer,
                                                scratch,           forward, NULL};
