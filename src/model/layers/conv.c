/* Conv1D and Conv2D, channels_last: im2col into a bounded scratch buffer, then one GEMM per
 * chunk of images with the kernel [kh*kw*c, filters] (Keras stores (kh, kw, c, f), which is
 * that matrix row-major). A 1x1, stride-1 convolution skips im2col: the input already is the
 * matrix. */
#include <string.h>

#include "model/layers/conv_geom.h"
#include "model/layers/engine_info.h"
#include "model/layers/layers.h"
#include "tensor/gemm.h"

/* Scratch per chunk: 512 KiB of im2col rows (and a GEMM output of the same order) stay in L2;
 * OpenBLAS is as fast on these chunks as on the whole batch (bench_forward, README). */
#define SCRATCH_TARGET_FLOATS (1u << 17)

typedef struct {
    int rank; /* 1 or 2 spatial dims */
    int64_t filters;
    int64_t k[2], s[2], d[2];
    sc_padding pad;
    int use_bias;
    sc_conv_geom g; /* filled by infer (one geometry: a shared conv must keep its shape) */
} conv;

static sc_status conv_init(sc_layer *L, const json_t *cfg, int rank, sc_error *err) {
    conv *c = calloc(1, sizeof *c);
    if (!c) return sc_error_set(err, SC_NO_MEMORY, "out of memory");
    L->impl = c;
    c->rank = rank;
    const int64_t one[2] = {1, 1};
    sc_status s;
    int64_t groups;
    if ((s = sc_cfg_int(L, cfg, "filters", 0, &c->filters, err))) return s;
    if ((s = sc_cfg_ints(L, cfg, "kernel_size", rank, one, c->k, err))) return s;
    if ((s = sc_cfg_ints(L, cfg, "strides", rank, one, c->s, err))) return s;
    if ((s = sc_cfg_ints(L, cfg, "dilation_rate", rank, one, c->d, err))) return s;
    if ((s = sc_parse_padding(L, cfg, rank == 1, &c->pad, err))) return s;
    if ((s = sc_cfg_bool(L, cfg, "use_bias", 1, &c->use_bias, err))) return s;
    if ((s = sc_cfg_int(L, cfg, "groups", 1, &groups, err))) return s;
    if ((s = sc_cfg_channels_last(L, cfg, err))) return s;
    if (groups != 1)
        return sc_error_set(err, SC_UNIMPLEMENTED, "layer '%s' (%s): groups=%lld is not supported",
                            L->name, L->class_name, (long long)groups);
    if (c->filters <= 0 || c->k[0] <= 0 || c->k[rank - 1] <= 0 || c->s[0] <= 0
        || c->s[rank - 1] <= 0 || c->d[0] <= 0 || c->d[rank - 1] <= 0)
        return sc_error_set(err, SC_INVALID_ARGUMENT,
                            "layer '%s' (%s): filters, kernel_size, strides and dilation_rate must "
                            "be positive",
                            L->name, L->class_name);
    if ((c->s[0] > 1 || c->s[rank - 1] > 1) && (c->d[0] > 1 || c->d[rank - 1] > 1))
        return sc_error_set(
            err, SC_INVALID_ARGUMENT,
            "layer '%s' (%s): strides > 1 with dilation_rate > 1 (Keras rejects it)", L->name,
            L->class_name);
    return sc_cfg_activation(L, cfg, err);
}

static sc_status conv1d_init(sc_layer *L, const json_t *cfg, sc_error *err) {
    return conv_init(L, cfg, 1, err);
}
static sc_status conv2d_init(sc_layer *L, const json_t *cfg, sc_error *err) {
    return conv_init(L, cfg, 2, err);
}

static sc_status conv_infer(sc_layer *L, sc_node *n, sc_error *err) {
    conv *c = L->impl;
    const sc_shape *in = &n->in_shape[0];
    if (n->num_inputs != 1 || in->rank != c->rank + 1)
        return sc_error_set(err, SC_INVALID_ARGUMENT,
                            "layer '%s' (%s): expects one input of rank %d "
                            "(plus batch)",
                            L->name, L->class_name, c->rank + 1);
    sc_conv_geom g = {0};
    if (c->rank == 1) {
        g = (sc_conv_geom){1, in->dims[0], in->dims[1], 1, c->k[0], 1, c->s[0],
                           1, c->d[0],     0,           0, 0,       0};
    } else {
        g = (sc_conv_geom){
            in->dims[0], in->dims[1], in->dims[2], c->k[0], c->k[1], c->s[0], c->s[1],
            c->d[0],     c->d[1],     0,           0,       0,       0};
    }
    sc_status s = sc_conv_geom_init(L, &g, c->pad, err);
    if (s) return s;
    if (L->num_vars == 0) {
        sc_shape k = c->rank == 1 ? (sc_shape){3, {c->k[0], g.c, c->filters}}
                                  : (sc_shape){4, {c->k[0], c->k[1], g.c, c->filters}};
        sc_shape b = {1, {c->filters}};
        if ((s = sc_layer_add_variable(L, "kernel", &k, err))) return s;
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
    if (c->rank == 1)
        n->out_shape = (sc_shape){2, {g.ow, c->filters}};
    else
        n->out_shape = (sc_shape){3, {g.oh, g.ow, c->filters}};
    return SC_OK;
}

static int is_pointwise(const conv *c) {
    const sc_conv_geom *g = &c->g;
    return g->kh == 1 && g->kw == 1 && g->sh == 1 && g->sw == 1 && g->pt == 0 && g->pl == 0;
}

static int64_t images_per_chunk(const conv *c, int batch) {
    const sc_conv_geom *g = &c->g;
    int64_t per = g->oh * g->ow * g->kh * g->kw * g->c;
    int64_t n = per > 0 ? (int64_t)SCRATCH_TARGET_FLOATS / per : batch;
    if (n < 1) n = 1;
    return n < batch ? n : batch;
}

static size_t conv_scratch(const sc_layer *L, const sc_node *n, int batch) {
    (void)n;
    const conv *c = L->impl;
    if (is_pointwise(c)) return 0;
    const sc_conv_geom *g = &c->g;
    return (size_t)(images_per_chunk(c, batch) * g->oh * g->ow * g->kh * g->kw * g->c);
}

/* Copies n floats. Runs are short (kw*c: 3 floats for a 1-channel 3x3 kernel), so a memcpy
 * call per run costs more than the copy; GCC turns a plain loop into such a call, hence the
 * 8-wide body the compiler keeps inline. */
static inline void copy_run(float *restrict dst, const float *restrict src, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        float t[8];
        for (int k = 0; k < 8; k++) t[k] = src[i + k];
        for (int k = 0; k < 8; k++) dst[i + k] = t[k];
    }
    switch (n - i) {
    case 7: dst[i + 6] = src[i + 6]; /* fall through */
    case 6: dst[i + 5] = src[i + 5]; /* fall through */
    case 5: dst[i + 4] = src[i + 4]; /* fall through */
    case 4: dst[i + 3] = src[i + 3]; /* fall through */
    case 3: dst[i + 2] = src[i + 2]; /* fall through */
    case 2: dst[i + 1] = src[i + 1]; /* fall through */
    case 1: dst[i] = src[i];         /* fall through */
    default: break;
    }
}

/* Rows (oh, ow) x columns (kh, kw, c) of one image. Without dilation the kw*c values of one
 * kernel row are contiguous in the NHWC image: one run per (oh, ow, kh) when the row is inside
 * the image, element-wise only at the padded borders. */
static void im2col(const sc_conv_geom *g, const float *img, float *col) {
    const int64_t run = g->kw * g->c;
    for (int64_t oh = 0; oh < g->oh; oh++)
        for (int64_t ow = 0; ow < g->ow; ow++) {
            int64_t iw0 = ow * g->sw - g->pl;
            int inside_w = g->dw == 1 && iw0 >= 0 && iw0 + g->kw <= g->w;
            for (int64_t kh = 0; kh < g->kh; kh++) {
                int64_t ih = oh * g->sh - g->pt + kh * g->dh;
                if (ih < 0 || ih >= g->h) {
                    memset(col, 0, (size_t)run * sizeof(float));
                } else if (inside_w) {
                    copy_run(col, img + (ih * g->w + iw0) * g->c, run);
                } else {
                    for (int64_t kw = 0; kw < g->kw; kw++) {
                        int64_t iw = iw0 + kw * g->dw;
                        if (iw < 0 || iw >= g->w)
                            memset(col + kw * g->c, 0, (size_t)g->c * sizeof(float));
                        else
                            copy_run(col + kw * g->c, img + (ih * g->w + iw) * g->c, g->c);
                    }
                }
                col += run;
            }
        }
}

static sc_status conv_forward(const sc_layer *L, const sc_node *n, int batch,
                              const float *const *in, float *out, float *scratch, sc_error *err) {
    (void)n;
    (void)err;
    const conv *c = L->impl;
    const sc_conv_geom *g = &c->g;
    const float *kernel = sc_layer_var(L, 0)->data;
    const float *bias = c->use_bias ? sc_layer_var(L, 1)->data : NULL;
    const int F = (int)c->filters, K = (int)(g->kh * g->kw * g->c);
    const int64_t pix = g->oh * g->ow, img_in = g->h * g->w * g->c;
    const int64_t chunk = images_per_chunk(c, batch);
    const int fused = sc_layer_fuses_activation(L);
    for (int64_t b0 = 0; b0 < batch; b0 += chunk) {
        int64_t nb = batch - b0 < chunk ? batch - b0 : chunk;
        const float *a = in[0] + b0 * img_in;
        if (!is_pointwise(c)) {
            for (int64_t b = 0; b < nb; b++)
                im2col(g, in[0] + (b0 + b) * img_in, scratch + b * pix * K);
            a = scratch;
        }
        float *o = out + b0 * pix * F;
        int M = (int)(nb * pix);
        if (bias)
            for (int i = 0; i < M; i++) memcpy(o + (size_t)i * F, bias, (size_t)F * sizeof(float));
        sc_gemm_f32(0, 0, M, F, K, 1.0f, a, K, kernel, F, bias ? 1.0f : 0.0f, o, F);
        if (fused) sc_activation_apply(L->act, o, (size_t)M, (size_t)F);
    }
    return SC_OK;
}

int sc_layer_fuses_activation(const sc_layer *L) {
    return (L->ops == &sc_layer_conv1d || L->ops == &sc_layer_conv2d) && L->act != SC_ACT_SOFTMAX
           && L->act != SC_ACT_SIGMOID;
}

const sc_layer_ops sc_layer_conv1d = {"Conv1D",     conv1d_init,  conv_infer,
                                      conv_scratch, conv_forward, NULL};
const sc_layer_ops sc_layer_conv2d = {"Conv2D",     conv2d_init,  conv_infer,
                                      conv_scratch, conv_forward, NULL};

int sc_conv_engine_geometry(const sc_layer *L, sc_conv_geom *g) {
    if (L->ops != &sc_layer_conv1d && L->ops != &sc_layer_conv2d) return 0;
    *g = ((const conv *)L->impl)->g;
    return 1;
}
