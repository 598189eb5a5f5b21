/* DepthwiseConv2D and SeparableConv2D (channels_last).
 * Depthwise: out[.., c*dm + m] = sum over the window of in[.., c] * k[kh, kw, c, m] + bias.
 * Separable: the depthwise result (no bias) into scratch, then a 1x1 GEMM with the pointwise
 * kernel [c*dm, filters] plus bias. */
#include <string.h>

#include "model/layers/conv_geom.h"
#include "model/layers/engine_info.h"
#include "model/layers/layers.h"
#include "tensor/gemm.h"

typedef struct {
    int separable;
    int64_t dm, filters;
    int64_t k[2], s[2], d[2];
    sc_padding pad;
    int use_bias;
    sc_conv_geom g;
} dwconv;

static sc_status dw_init_common(sc_layer *L, const json_t *cfg, int separable, sc_error *err) {
    dwconv *c = calloc(1, sizeof *c);
    if (!c) return sc_error_set(err, SC_NO_MEMORY, "out of memory");
    L->impl = c;
    c->separable = separable;
    const int64_t one[2] = {1, 1};
    sc_status s;
    if ((s = sc_cfg_int(L, cfg, "depth_multiplier", 1, &c->dm, err))) return s;
    if (separable && (s = sc_cfg_int(L, cfg, "filters", 0, &c->filters, err))) return s;
    if ((s = sc_cfg_ints(L, cfg, "kernel_size", 2, one, c->k, err))) return s;
    if ((s = sc_cfg_ints(L, cfg, "strides", 2, one, c->s, err))) return s;
    if ((s = sc_cfg_ints(L, cfg, "dilation_rate", 2, one, c->d, err))) return s;
    if ((s = sc_parse_padding(L, cfg, 0, &c->pad, err))) return s;
    if ((s = sc_cfg_bool(L, cfg, "use_bias", 1, &c->use_bias, err))) return s;
    if ((s = sc_cfg_channels_last(L, cfg, err))) return s;
    if (c->dm <= 0 || (separable && c->filters <= 0) || c->k[0] <= 0 || c->k[1] <= 0 || c->s[0] <= 0
        || c->s[1] <= 0 || c->d[0] <= 0 || c->d[1] <= 0)
        return sc_error_set(err, SC_INVALID_ARGUMENT,
                            "layer '%s' (%s): sizes, strides and rates must be positive", L->name,
                            L->class_name);
    return sc_cfg_activation(L, cfg, err);
}

static sc_status dw_init(sc_layer *L, const json_t *cfg, sc_error *err) {
    return dw_init_common(L, cfg, 0, err);
}
static sc_status sep_init(sc_layer *L, const json_t *cfg, sc_error *err) {
    return dw_init_common(L, cfg, 1, err);
}

static sc_status dw_infer(sc_layer *L, sc_node *n, sc_error *err) {
    dwconv *c = L->impl;
    const sc_shape *in = &n->in_shape[0];
    if (n->num_inputs != 1 || in->rank != 3)
        return sc_error_set(err, SC_INVALID_ARGUMENT,
                            "layer '%s' (%s): expects one [h, w, c] input", L->name, L->class_name);
    sc_conv_geom g = {in->dims[0], in->dims[1], in->dims[2], c->k[0], c->k[1], c->s[0], c->s[1],
                      c->d[0],     c->d[1],     0,           0,       0,       0};
    sc_status s = sc_conv_geom_init(L, &g, c->pad, err);
    if (s) return s;
    int64_t mid = g.c * c->dm, outc = c->separable ? c->filters : mid;
    if (L->num_vars == 0) {
        sc_shape dk = {4, {c->k[0], c->k[1], g.c, c->dm}};
        sc_shape pk = {4, {1, 1, mid, c->filters}};
        sc_shape b = {1, {outc}};
        if ((s = sc_layer_add_variable(L, "depthwise_kernel", &dk, err))) return s;
        if (c->separable && (s = sc_layer_add_variable(L, "pointwise_kernel", &pk, err))) return s;
        if (c->use_bias && (s = sc_layer_add_variable(L, "bias", &b, err))) return s;
        c->g = g;
    } else if (L->num_nodes == 0 && g.c == c->g.c) {
        c->g = g; /* the model's free input dims took new sizes (sc_model_set_input_shapes) */
    } else if (memcmp(&c->g, &g, sizeof g) != 0) {
        return sc_error_set(err, SC_UNIMPLEMENTED,
                            "layer '%s' (%s): shared with a different input "
                            "shape",
                            L->name, L->class_name);
    }
    n->out_shape = (sc_shape){3, {g.oh, g.ow, outc}};
    return SC_OK;
}

static size_t dw_scratch(const sc_layer *L, const sc_node *n, int batch) {
    (void)n;
    const dwconv *c = L->impl;
    return c->separable ? (size_t)batch * (size_t)(c->g.oh * c->g.ow * c->g.c * c->dm) : 0;
}

/* Depthwise part for one image: out[oh, ow, c*dm + m]; bias optional. */
static void depthwise(const dwconv *c, const float *img, const float *k, const float *bias,
                      float *out) {
    const sc_conv_geom *g = &c->g;
    const int64_t C = g->c, dm = c->dm, oc = C * dm;
    for (int64_t oh = 0; oh < g->oh; oh++)
        for (int64_t ow = 0; ow < g->ow; ow++) {
            float *o = out + (oh * g->ow + ow) * oc;
            if (bias)
                memcpy(o, bias, (size_t)oc * sizeof(float));
            else
                memset(o, 0, (size_t)oc * sizeof(float));
            for (int64_t kh = 0; kh < g->kh; kh++) {
                int64_t ih = oh * g->sh - g->pt + kh * g->dh;
                if (ih < 0 || ih >= g->h) continue;
                for (int64_t kw = 0; kw < g->kw; kw++) {
                    int64_t iw = ow * g->sw - g->pl + kw * g->dw;
                    if (iw < 0 || iw >= g->w) continue;
                    const float *x = img + (ih * g->w + iw) * C;
                    const float *kk = k + (kh * g->kw + kw) * oc; /* [c, dm] */
                    for (int64_t ci = 0; ci < C; ci++)
                        for (int64_t m = 0; m < dm; m++) o[ci * dm + m] += x[ci] * kk[ci * dm + m];
                }
            }
        }
}

static sc_status dw_forward(const sc_layer *L, const sc_node *n, int batch, const float *const *in,
                            float *out, float *scratch, sc_error *err) {
    (void)n;
    (void)err;
    const dwconv *c = L->impl;
    const sc_conv_geom *g = &c->g;
    const float *dk = sc_layer_var(L, 0)->data;
    const int64_t img_in = g->h * g->w * g->c, pix = g->oh * g->ow, mid = g->c * c->dm;
    if (!c->separable) {
        const float *bias = c->use_bias ? sc_layer_var(L, 1)->data : NULL;
        for (int b = 0; b < batch; b++)
            depthwise(c, in[0] + b * img_in, dk, bias, out + b * pix * mid);
        return SC_OK;
    }
    const float *pk = sc_layer_var(L, 1)->data;
    const float *bias = c->use_bias ? sc_layer_var(L, 2)->data : NULL;
    for (int b = 0; b < batch; b++)
        depthwise(c, in[0] + b * img_in, dk, NULL, scratch + b * pix * mid);
    const int M = (int)(batch * pix), F = (int)c->filters;
    if (bias)
        for (int i = 0; i < M; i++) memcpy(out + (size_t)i * F, bias, (size_t)F * sizeof(float));
    sc_gemm_f32(0, 0, M, F, (int)mid, 1.0f, scratch, (int)mid, pk, F, bias ? 1.0f : 0.0f, out, F);
    return SC_OK;
}

const sc_layer_ops sc_layer_depthwise_conv2d = {"DepthwiseConv2D", dw_init,    dw_infer,
                                                dw_scratch,        dw_forward, NULL};
const sc_layer_ops sc_layer_separable_conv2d = {"SeparableConv2D", sep_init,   dw_infer,
                                                dw_scratch,        dw_forward, NULL};

/* For the oneDNN plan (engine_info.h). */
int sc_dw_engine_info(const sc_layer *L, sc_conv_geom *g, int64_t *dm, int *separable) {
    if (L->ops != &sc_layer_depthwise_conv2d && L->ops != &sc_layer_separable_conv2d) return 0;
    const dwconv *c = L->impl;
    *g = c->g;
    *dm = c->dm;
    *separable = c->separable;
    return 1;
}
