/* BatchNormalization folding and NaN handling of the oneDNN plan (model/dnnl_plan_internal.h).
 *
 * Folding: a BatchNormalization right after a Dense/Conv/DepthwiseConv2D/SeparableConv2D
 * (linear activation, output read by nothing else) computes per output channel c
 *   y = (z - mean[c]) * s[c] + beta[c],  s[c] = gamma[c] / sqrt(var[c] + eps)
 * on the convolution's z = W * x + b, which is the convolution with W'[.., c] = W[.., c] s[c]
 * and b'[c] = (b[c] - mean[c]) s[c] + beta[c]. s[c] is computed as TensorFlow's fused
 * inference kernel does (float rsqrt, then gamma); the new bias in double. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "model/dnnl_plan_internal.h"
#include "model/layers/engine_info.h"

/* An exponent of all ones (NaN or inf), 16 floats at a time in 16-byte GCC/Clang vectors
 * (SSE2 on any x86-64; the -O2 build does not vectorise the scalar loop, and on the
 * small-batch path the scan of a Dense's input cost as much as the rest of the call's
 * overhead). */
typedef int32_t v4i __attribute__((vector_size(16)));

int sc_dnnl_all_finite(const float *x, size_t n) {
    const int32_t e = 0x7f800000;
    const v4i ev = {e, e, e, e};
    v4i b0 = {0, 0, 0, 0}, b1 = b0, b2 = b0, b3 = b0;
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        v4i v[4];
        memcpy(v, &x[i], sizeof v);
        b0 |= (v[0] & ev) == ev;
        b1 |= (v[1] & ev) == ev;
        b2 |= (v[2] & ev) == ev;
        b3 |= (v[3] & ev) == ev;
    }
    v4i b = b0 | b1 | b2 | b3;
    int32_t any = b[0] | b[1] | b[2] | b[3];
    for (; i < n; i++) {
        int32_t u;
        memcpy(&u, &x[i], sizeof u);
        any |= (u & e) == e;
    }
    return !any;
}

/* Index of the folded kernel among the layer's variables: the pointwise one of a separable
 * convolution, else the first. */
static size_t kernel_var(const node_plan *np) { return np->kind == KIND_SEP ? 1 : 0; }

void sc_dnnl_stage_weights(const sc_dnnl_plan *p, size_t i, int k, const float **w,
                           const float **b) {
    const node_plan *np = &p->nodes[i];
    const sc_layer *L = p->m->nodes[i].layer;
    *w = *b = NULL;
    if (np->kind == KIND_POOL) return;
    if (np->kind == KIND_SEP && k == 0) { /* the depthwise stage: no bias */
        *w = sc_layer_var(L, 0)->data;
        return;
    }
    if (np->bn >= 0) {
        *w = np->fw;
        *b = np->fb;
        return;
    }
    size_t kv = kernel_var(np);
    *w = sc_layer_var(L, kv)->data;
    if (L->num_vars > kv + 1) *b = sc_layer_var(L, kv + 1)->data;
}

void sc_dnnl_fold(sc_dnnl_plan *p, size_t i) {
    node_plan *np = &p->nodes[i];
    const sc_layer *L = p->m->nodes[i].layer;
    const sc_layer *bn = p->m->nodes[np->bn].layer;
    const float *gamma, *beta, *mean, *var;
    float eps;
    sc_bn_engine_params(bn, &gamma, &beta, &mean, &var, &eps);
    size_t kv = kernel_var(np), F = (size_t)np->F;
    const float *w = sc_layer_var(L, kv)->data;
    const float *b = L->num_vars > kv + 1 ? sc_layer_var(L, kv + 1)->data : NULL;
    for (size_t c = 0; c < F; c++) {
        float s = 1.0f / sqrtf(var[c] + eps);
        np->fb[c] = gamma ? s * gamma[c] : s;
    }
    for (size_t k = 0; k < np->fw_n; k++) np->fw[k] = w[k] * np->fb[k % F];
    for (size_t c = 0; c < F; c++)
        np->fb[c] = (float)(((double)(b ? b[c] : 0.0f) - (double)mean[c]) * (double)np->fb[c]
                            + (beta ? (double)beta[c] : 0.0));
}

/* Offset of element (b, h, w, c) of a [batch, H, W, C] tensor, NHWC or nChw16c (C a multiple
 * of 16 there). */
static size_t at(int blocked, int64_t b, int64_t h, int64_t w, int64_t c, int64_t H, int64_t W,
                 int64_t C) {
    if (!blocked) return (size_t)(((b * H + h) * W + w) * C + c);
    return (size_t)((((b * (C / 16) + c / 16) * H + h) * W + w) * 16 + c % 16);
}

void sc_dnnl_maxpool_nan(const node_plan *np, int batch, const float *in, float *out) {
    const sc_conv_geom *g = &np->g;
    for (int64_t b = 0; b < batch; b++)
        for (int64_t h = 0; h < g->h; h++)
            for (int64_t w = 0; w < g->w; w++)
                for (int64_t c = 0; c < g->c; c++) {
                    if (!isnan(in[at(np->in_blocked, b, h, w, c, g->h, g->w, g->c)])) continue;
                    if (np->global) {
                        out[b * g->c + c] = NAN; /* [batch, C] in both layouts */
                        continue;
                    }
                    /* outputs o with o*s - pad <= h < o*s - pad + k */
                    int64_t h0 = h + g->pt - g->kh + 1, w0 = w + g->pl - g->kw + 1;
                    h0 = h0 > 0 ? (h0 + g->sh - 1) / g->sh : 0;
                    w0 = w0 > 0 ? (w0 + g->sw - 1) / g->sw : 0;
                    int64_t h1 = (h + g->pt) / g->sh, w1 = (w + g->pl) / g->sw;
                    if (h1 >= g->oh) h1 = g->oh - 1;
                    if (w1 >= g->ow) w1 = g->ow - 1;
                    for (int64_t oh = h0; oh <= h1; oh++)
                        for (int64_t ow = w0; ow <= w1; ow++)
                            out[at(np->out_blocked, b, oh, ow, c, g->oh, g->ow, g->c)] = NAN;
                }
}
