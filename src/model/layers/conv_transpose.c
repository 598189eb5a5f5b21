/* Conv1DTranspose and Conv2DTranspose, channels_last (Keras 2 conv{1,2}d_transpose.py over TF's
 * conv2d_transpose = the gradient of conv2d with respect to its input).
 *
 * Kernel [kh, kw, filters, in_channels] (1D: [k, filters, in]); its rows (a, b, f) of length
 * in_channels make one GEMM per image: col[pixel, (a, b, f)] = x[pixel, :] . kernel[a, b, f, :],
 * then each col entry is added at output (i*s + a*d - pad, j*s + b*d - pad).
 * Output length (keras conv_utils.deconv_output_length, kernel extent ke = (k-1) d + 1):
 *   output_padding None: valid in*s + max(ke - s, 0), same in*s;
 *   else (in-1)*s + ke - 2*pad + output_padding, pad = ke/2 (same) or 0 (valid).
 * The leading padding is TF's for the forward conv from that output back to the input:
 *   same: max((in-1)*s + ke - out, 0) / 2; valid: 0. */
#include <string.h>

#include "core/error.h"
#include "model/layers/layers.h"
#include "tensor/gemm.h"

typedef struct {
    int rank;
    int64_t filters, k[2], s[2], d[2], op[2];
    int has_op, same, use_bias;
} tconv;

static sc_status init(sc_layer *L, const json_t *cfg, int rank, sc_error *err) {
    tconv *c = calloc(1, sizeof *c);
    if (!c) return sc_error_set(err, SC_NO_MEMORY, "out of memory");
    L->impl = c;
    c->rank = rank;
    const int64_t one[2] = {1, 1};
    const char *pad;
    sc_status s;
    if ((s = sc_cfg_int(L, cfg, "filters", 0, &c->filters, err))
        || (s = sc_cfg_ints(L, cfg, "kernel_size", rank, one, c->k, err))
        || (s = sc_cfg_ints(L, cfg, "strides", rank, one, c->s, err))
        || (s = sc_cfg_ints(L, cfg, "dilation_rate", rank, one, c->d, err))
        || (s = sc_cfg_str(L, cfg, "padding", "valid", &pad, err))
        || (s = sc_cfg_bool(L, cfg, "use_bias", 1, &c->use_bias, err))
        || (s = sc_cfg_channels_last(L, cfg, err)))
        return s;
    const json_t *op = json_object_get(cfg, "output_padding");
    if (op && !json_is_null(op)) {
        if ((s = sc_cfg_ints(L, cfg, "output_padding", rank, one, c->op, err))) return s;
        c->has_op = 1;
    }
    if (strcmp(pad, "same") && strcmp(pad, "valid"))
        return sc_error_set(err, SC_UNIMPLEMENTED, "layer '%s' (%s): padding '%s' is not supported",
                            L->name, L->class_name, pad);
    c->same = !strcmp(pad, "same");
    for (int i = 0; i < rank; i++)
        if (c->k[i] <= 0 || c->s[i] <= 0 || c->d[i] <= 0 || c->k[i] > 4096 || c->s[i] > 4096
            || c->d[i] > 4096 || (c->has_op && (c->op[i] < 0 || c->op[i] >= c->s[i])))
            return sc_error_set(err, SC_INVALID_ARGUMENT,
                                "layer '%s' (%s): bad kernel_size, "
                                "strides, dilation_rate or output_padding",
                                L->name, L->class_name);
    if (c->filters <= 0 || c->filters > (1 << 24))
        return sc_error_set(err, SC_INVALID_ARGUMENT, "layer '%s' (%s): bad filters", L->name,
                            L->class_name);
    return sc_cfg_activation(L, cfg, err);
}
static sc_status init1(sc_layer *L, const json_t *cfg, sc_error *err) {
    return init(L, cfg, 1, err);
}
static sc_status init2(sc_layer *L, const json_t *cfg, sc_error *err) {
    return init(L, cfg, 2, err);
}

static int64_t out_len(const tconv *c, int i, int64_t in) {
    int64_t ke = (c->k[i] - 1) * c->d[i] + 1;
    if (!c->has_op)
        return c->same ? in * c->s[i] : in * c->s[i] + (ke > c->s[i] ? ke - c->s[i] : 0);
    return (in - 1) * c->s[i] + ke - 2 * (c->same ? ke / 2 : 0) + c->op[i];
}

static int64_t pad_before(const tconv *c, int i, int64_t in, int64_t out) {
    int64_t ke = (c->k[i] - 1) * c->d[i] + 1, total = (in - 1) * c->s[i] + ke - out;
    return c->same && total > 0 ? total / 2 : 0;
}

/* Spatial dims of the node's input as [H, W] (1D: H = 1). */
static void hw(const tconv *c, const sc_shape *s, int64_t *H, int64_t *W) {
    *H = c->rank == 2 ? s->dims[0] : 1;
    *W = s->dims[c->rank - 1];
}

static sc_status infer(sc_layer *L, sc_node *n, sc_error *err) {
    const tconv *c = L->impl;
    const sc_shape *in = &n->in_shape[0];
    if (n->num_inputs != 1 || in->rank != c->rank + 1 || in->dims[c->rank] <= 0)
        return sc_error_set(err, SC_INVALID_ARGUMENT,
                            "layer '%s' (%s): expects one input of rank %d", L->name, L->class_name,
                            c->rank + 1);
    int64_t C = in->dims[c->rank];
    if (L->num_vars == 0) {
        sc_shape k = c->rank == 2 ? (sc_shape){4, {c->k[0], c->k[1], c->filters, C}}
                                  : (sc_shape){3, {c->k[0], c->filters, C}};
        sc_shape b = {1, {c->filters}};
        sc_status s = sc_layer_add_variable(L, "kernel", &k, err);
        if (!s && c->use_bias) s = sc_layer_add_variable(L, "bias", &b, err);
        if (s) return s;
    } else if (sc_layer_var(L, 0)->shape.dims[c->rank + 1] != C) {
        return sc_error_set(err, SC_INVALID_ARGUMENT,
                            "layer '%s' (%s): called on %lld channels, "
                            "built for %lld",
                            L->name, L->class_name, (long long)C,
                            (long long)sc_layer_var(L, 0)->shape.dims[c->rank + 1]);
    }
    n->out_shape.rank = in->rank;
    for (int i = 0; i < c->rank; i++) {
        n->out_shape.dims[i] = out_len(c, i, in->dims[i]);
        if (n->out_shape.dims[i] <= 0 || n->out_shape.dims[i] > ((int64_t)1 << 24))
            return sc_error_set(err, SC_INVALID_ARGUMENT, "layer '%s' (%s): output size %lld",
                                L->name, L->class_name, (long long)n->out_shape.dims[i]);
    }
    n->out_shape.dims[c->rank] = c->filters;
    return SC_OK;
}

static size_t scratch(const sc_layer *L, const sc_node *n, int batch) {
    (void)batch;
    const tconv *c = L->impl;
    int64_t H, W;
    hw(c, &n->in_shape[0], &H, &W);
    int64_t taps = c->rank == 2 ? c->k[0] * c->k[1] : c->k[0];
    return (size_t)(H * W) * (size_t)(taps * c->filters); /* one image's col */
}

static sc_status forward(const sc_layer *L, const sc_node *n, int batch, const float *const *in,
                         float *out, float *col, sc_error *err) {
    (void)err;
    const tconv *c = L->impl;
    int64_t H, W, OH, OW, C = n->in_shape[0].dims[c->rank], F = c->filters;
    hw(c, &n->in_shape[0], &H, &W);
    hw(c, &n->out_shape, &OH, &OW);
    const int wi = c->rank - 1, two = c->rank == 2; /* config index of W; 1D has H = 1 */
    const int64_t kh = two ? c->k[0] : 1, sh = two ? c->s[0] : 1, dh = two ? c->d[0] : 1;
    const int64_t kw = c->k[wi], sw = c->s[wi], dw = c->d[wi];
    const int64_t ph = two ? pad_before(c, 0, H, OH) : 0, pw = pad_before(c, wi, W, OW);
    const float *kernel = sc_layer_var(L, 0)->data,
                *bias = c->use_bias ? sc_layer_var(L, 1)->data : NULL;
    const int64_t K = kh * kw * F;
    for (int b = 0; b < batch; b++) {
        const float *x = in[0] + (size_t)b * H * W * C;
        float *y = out + (size_t)b * OH * OW * F;
        sc_gemm_f32(0, 1, (int)(H * W), (int)K, (int)C, 1.0f, x, (int)C, kernel, (int)C, 0.0f, col,
                    (int)K);
        for (int64_t p = 0; p < OH * OW; p++)
            for (int64_t f = 0; f < F; f++) y[p * F + f] = bias ? bias[f] : 0.0f;
        for (int64_t i = 0; i < H; i++)
            for (int64_t a = 0; a < kh; a++) {
                int64_t oy = i * sh + a * dh - ph;
                if (oy < 0 || oy >= OH) continue;
                for (int64_t j = 0; j < W; j++)
                    for (int64_t bb = 0; bb < kw; bb++) {
                        int64_t ox = j * sw + bb * dw - pw;
                        if (ox < 0 || ox >= OW) continue;
                        const float *src = col + (i * W + j) * K + (a * kw + bb) * F;
                        float *dst = y + (oy * OW + ox) * F;
                        for (int64_t f = 0; f < F; f++) dst[f] += src[f];
                    }
            }
    }
    return SC_OK;
}

const sc_layer_ops sc_layer_conv1d_transpose = {"Conv1DTranspose", init1,   infer,
                                                scratch,           forward, NULL};
const sc_layer_ops sc_layer_conv2d_transpose = {"Conv2DTranspose", init2,   infer,
                                                scratch,           forward, NULL};
