/* Layers that move data without arithmetic: Permute, RepeatVector, ZeroPadding2D, Cropping2D,
 * UpSampling2D (nearest). channels_last. */
#include <math.h>
#include <string.h>

#include "core/error.h"
#include "model/layers/layers.h"

typedef struct {
    int64_t
        a[4]; /* Permute: dims (1-based); RepeatVector: n; padding/cropping: t, b, l, r; up: h, w */
} shape_op;

static shape_op *new_op(sc_layer *L, sc_error *err) {
    shape_op *p = calloc(1, sizeof *p);
    if (!p) sc_error_set(err, SC_NO_MEMORY, "out of memory");
    L->impl = p;
    return p;
}

/* ---- Permute ---- */
static sc_status permute_init(sc_layer *L, const json_t *cfg, sc_error *err) {
    shape_op *p = new_op(L, err);
    if (!p) return SC_NO_MEMORY;
    const json_t *d = json_object_get(cfg, "dims");
    size_t n = json_array_size(d);
    if (!json_is_array(d) || n == 0 || n > 4)
        return sc_error_set(err, SC_INVALID_ARGUMENT, "layer '%s' (Permute): bad dims", L->name);
    for (size_t i = 0; i < n; i++) p->a[i] = json_integer_value(json_array_get(d, i));
    return SC_OK;
}

static sc_status permute_infer(sc_layer *L, sc_node *n, sc_error *err) {
    const shape_op *p = L->impl;
    const sc_shape *in = &n->in_shape[0];
    int seen = 0;
    n->out_shape.rank = in->rank;
    for (int i = 0; i < in->rank; i++) {
        int64_t d = p->a[i];
        if (in->rank > 4 || d < 1 || d > in->rank || (seen & (1 << d)))
            return sc_error_set(err, SC_INVALID_ARGUMENT,
                                "layer '%s' (Permute): dims are not a "
                                "permutation of 1..%d",
                                L->name, in->rank);
        seen |= 1 << d;
        n->out_shape.dims[i] = in->dims[d - 1];
    }
    return SC_OK;
}

static sc_status permute_forward(const sc_layer *L, const sc_node *n, int batch,
                                 const float *const *in, float *out, float *scratch,
                                 sc_error *err) {
    (void)scratch;
    (void)err;
    const shape_op *p = L->impl;
    const sc_shape *s = &n->in_shape[0];
    int r = s->rank;
    int64_t in_stride[4], total = sc_shape_elems(s);
    int64_t acc = 1;
    for (int i = r - 1; i >= 0; i--) {
        in_stride[i] = acc;
        acc *= s->dims[i];
    }
    for (int b = 0; b < batch; b++) {
        const float *x = in[0] + b * total;
        float *y = out + b * total;
        int64_t idx[4] = {0, 0, 0, 0}; /* index over the output dims */
        for (int64_t o = 0; o < total; o++) {
            int64_t src = 0;
            for (int i = 0; i < r; i++) src += idx[i] * in_stride[p->a[i] - 1];
            y[o] = x[src];
            for (int i = r - 1; i >= 0; i--) {
                if (++idx[i] < n->out_shape.dims[i]) break;
                idx[i] = 0;
            }
        }
    }
    return SC_OK;
}

/* ---- RepeatVector ---- */
static sc_status repeat_init(sc_layer *L, const json_t *cfg, sc_error *err) {
    shape_op *p = new_op(L, err);
    if (!p) return SC_NO_MEMORY;
    sc_status s = sc_cfg_int(L, cfg, "n", 0, &p->a[0], err);
    if (!s && p->a[0] <= 0)
        s = sc_error_set(err, SC_INVALID_ARGUMENT, "layer '%s' (RepeatVector): n must be > 0",
                         L->name);
    return s;
}

static sc_status repeat_infer(sc_layer *L, sc_node *n, sc_error *err) {
    const shape_op *p = L->impl;
    if (n->in_shape[0].rank != 1)
        return sc_error_set(err, SC_INVALID_ARGUMENT,
                            "layer '%s' (RepeatVector): expects a [features] "
                            "input",
                            L->name);
    n->out_shape = (sc_shape){2, {p->a[0], n->in_shape[0].dims[0]}};
    return SC_OK;
}

static sc_status repeat_forward(const sc_layer *L, const sc_node *n, int batch,
                                const float *const *in, float *out, float *scratch, sc_error *err) {
    (void)scratch;
    (void)err;
    const shape_op *p = L->impl;
    int64_t f = n->in_shape[0].dims[0];
    for (int b = 0; b < batch; b++)
        for (int64_t k = 0; k < p->a[0]; k++)
            memcpy(out + (b * p->a[0] + k) * f, in[0] + b * f, (size_t)f * sizeof(float));
    return SC_OK;
}

/* ---- ZeroPadding2D / Cropping2D: ((top, bottom), (left, right)) or (h, w) or n ---- */
static sc_status pairs(sc_layer *L, const json_t *cfg, const char *key, int64_t out[4],
                       sc_error *err) {
    const json_t *v = json_object_get(cfg, key);
    if (json_is_integer(v)) {
        out[0] = out[1] = out[2] = out[3] = json_integer_value(v);
    } else if (json_is_array(v) && json_array_size(v) == 2
               && json_is_integer(json_array_get(v, 0))) {
        out[0] = out[1] = json_integer_value(json_array_get(v, 0));
        out[2] = out[3] = json_integer_value(json_array_get(v, 1));
    } else if (json_is_array(v) && json_array_size(v) == 2) {
        for (int i = 0; i < 2; i++) {
            const json_t *pr = json_array_get(v, (size_t)i);
            if (!json_is_array(pr) || json_array_size(pr) != 2) goto bad;
            out[2 * i] = json_integer_value(json_array_get(pr, 0));
            out[2 * i + 1] = json_integer_value(json_array_get(pr, 1));
        }
    } else {
        goto bad;
    }
    for (int i = 0; i < 4; i++)
        if (out[i] < 0) goto bad;
    return sc_cfg_channels_last(L, cfg, err);
bad:
    return sc_error_set(err, SC_INVALID_ARGUMENT, "layer '%s' (%s): bad '%s'", L->name,
                        L->class_name, key);
}

static sc_status zpad_init(sc_layer *L, const json_t *cfg, sc_error *err) {
    shape_op *p = new_op(L, err);
    return p ? pairs(L, cfg, "padding", p->a, err) : SC_NO_MEMORY;
}
static sc_status crop_init(sc_layer *L, const json_t *cfg, sc_error *err) {
    shape_op *p = new_op(L, err);
    return p ? pairs(L, cfg, "cropping", p->a, err) : SC_NO_MEMORY;
}

static sc_status pad_crop_infer(sc_layer *L, sc_node *n, sc_error *err) {
    const shape_op *p = L->impl;
    const sc_shape *in = &n->in_shape[0];
    int crop = strncmp(L->class_name, "Cropping", 8) == 0;
    if (in->rank != 3)
        return sc_error_set(err, SC_INVALID_ARGUMENT, "layer '%s' (%s): expects [h, w, c]", L->name,
                            L->class_name);
    int64_t dh = p->a[0] + p->a[1], dw = p->a[2] + p->a[3];
    n->out_shape = *in;
    n->out_shape.dims[0] += crop ? -dh : dh;
    n->out_shape.dims[1] += crop ? -dw : dw;
    if (n->out_shape.dims[0] <= 0 || n->out_shape.dims[1] <= 0)
        return sc_error_set(err, SC_INVALID_ARGUMENT, "layer '%s' (Cropping2D): crops everything",
                            L->name);
    return SC_OK;
}

static sc_status pad_crop_forward(const sc_layer *L, const sc_node *n, int batch,
                                  const float *const *in, float *out, float *scratch,
                                  sc_error *err) {
    (void)scratch;
    (void)err;
    const shape_op *p = L->impl;
    int crop = strncmp(L->class_name, "Cropping", 8) == 0;
    const sc_shape *si = &n->in_shape[0], *so = &n->out_shape;
    int64_t C = si->dims[2];
    size_t in_img = (size_t)sc_shape_elems(si), out_img = (size_t)sc_shape_elems(so);
    for (int b = 0; b < batch; b++) {
        const float *x = in[0] + b * in_img;
        float *y = out + b * out_img;
        if (!crop) memset(y, 0, out_img * sizeof(float));
        int64_t rows = crop ? so->dims[0] : si->dims[0], cols = crop ? so->dims[1] : si->dims[1];
        for (int64_t r = 0; r < rows; r++) {
            const float *src =
                crop ? x + ((r + p->a[0]) * si->dims[1] + p->a[2]) * C : x + r * si->dims[1] * C;
            float *dst =
                crop ? y + r * so->dims[1] * C : y + ((r + p->a[0]) * so->dims[1] + p->a[2]) * C;
            memcpy(dst, src, (size_t)(cols * C) * sizeof(float));
        }
    }
    return SC_OK;
}

/* ---- ZeroPadding1D / Cropping1D: (left, right) or n, over [steps, c] = the 2D case on
 * [1, steps, c] ---- */
static sc_status pair1(sc_layer *L, const json_t *cfg, const char *key, sc_error *err) {
    shape_op *p = new_op(L, err);
    if (!p) return SC_NO_MEMORY;
    const json_t *v = json_object_get(cfg, key);
    if (!v) { /* Keras' default: 1 on each side */
        p->a[2] = p->a[3] = 1;
    } else if (json_is_integer(v)) {
        p->a[2] = p->a[3] = json_integer_value(v);
    } else if (json_is_array(v) && json_array_size(v) == 2 && json_is_integer(json_array_get(v, 0))
               && json_is_integer(json_array_get(v, 1))) {
        p->a[2] = json_integer_value(json_array_get(v, 0));
        p->a[3] = json_integer_value(json_array_get(v, 1));
    } else {
        p->a[2] = -1;
    }
    if (p->a[2] < 0 || p->a[3] < 0)
        return sc_error_set(err, SC_INVALID_ARGUMENT, "layer '%s' (%s): bad '%s'", L->name,
                            L->class_name, key);
    return SC_OK;
}
static sc_status zpad1_init(sc_layer *L, const json_t *cfg, sc_error *err) {
    return pair1(L, cfg, "padding", err);
}
static sc_status crop1_init(sc_layer *L, const json_t *cfg, sc_error *err) {
    return pair1(L, cfg, "cropping", err);
}

/* The node seen as the 2D case: [steps, c] -> [1, steps, c]. */
static sc_node as_2d(const sc_node *n) {
    sc_node m = *n;
    m.in_shape[0] = (sc_shape){3, {1, n->in_shape[0].dims[0], n->in_shape[0].dims[1]}};
    m.out_shape = (sc_shape){3, {1, n->out_shape.dims[0], n->out_shape.dims[1]}};
    return m;
}

static sc_status pad_crop1_infer(sc_layer *L, sc_node *n, sc_error *err) {
    if (n->in_shape[0].rank != 2)
        return sc_error_set(err, SC_INVALID_ARGUMENT, "layer '%s' (%s): expects [steps, c]",
                            L->name, L->class_name);
    sc_node m = as_2d(n);
    sc_status s = pad_crop_infer(L, &m, err);
    n->out_shape = (sc_shape){2, {m.out_shape.dims[1], m.out_shape.dims[2]}};
    return s;
}

static sc_status pad_crop1_forward(const sc_layer *L, const sc_node *n, int batch,
                                   const float *const *in, float *out, float *scratch,
                                   sc_error *err) {
    sc_node m = as_2d(n);
    return pad_crop_forward(L, &m, batch, in, out, scratch, err);
}

/* ---- UpSampling2D ---- */
static sc_status up_init(sc_layer *L, const json_t *cfg, sc_error *err) {
    shape_op *p = new_op(L, err);
    if (!p) return SC_NO_MEMORY;
    const int64_t two[2] = {2, 2};
    const char *interp = NULL;
    sc_status s = sc_cfg_ints(L, cfg, "size", 2, two, p->a, err);
    if (!s) s = sc_cfg_str(L, cfg, "interpolation", "nearest", &interp, err);
    if (!s) s = sc_cfg_channels_last(L, cfg, err);
    if (s) return s;
    p->a[2] = strcmp(interp, "bilinear") == 0;
    if (strcmp(interp, "nearest") != 0 && !p->a[2])
        return sc_error_set(err, SC_UNIMPLEMENTED,
                            "layer '%s' (UpSampling2D): interpolation '%s' is "
                            "not supported (nearest and bilinear are)",
                            L->name, interp);
    if (p->a[0] <= 0 || p->a[1] <= 0)
        return sc_error_set(err, SC_INVALID_ARGUMENT, "layer '%s' (UpSampling2D): bad size",
                            L->name);
    return SC_OK;
}

static sc_status up_infer(sc_layer *L, sc_node *n, sc_error *err) {
    const shape_op *p = L->impl;
    if (n->in_shape[0].rank != 3)
        return sc_error_set(err, SC_INVALID_ARGUMENT,
                            "layer '%s' (UpSampling2D): expects [h, w, c]", L->name);
    n->out_shape = n->in_shape[0];
    n->out_shape.dims[0] *= p->a[0];
    n->out_shape.dims[1] *= p->a[1];
    return SC_OK;
}

static sc_status up_forward(const sc_layer *L, const sc_node *n, int batch, const float *const *in,
                            float *out, float *scratch, sc_error *err) {
    (void)scratch;
    (void)err;
    const shape_op *p = L->impl;
    const sc_shape *si = &n->in_shape[0], *so = &n->out_shape;
    int64_t C = si->dims[2];
    if (p->a[2]) {
        sc_resize_bilinear(in[0], batch, si->dims[0], si->dims[1], C, so->dims[0], so->dims[1],
                           out);
        return SC_OK;
    }
    for (int b = 0; b < batch; b++)
        for (int64_t oh = 0; oh < so->dims[0]; oh++)
            for (int64_t ow = 0; ow < so->dims[1]; ow++)
                memcpy(out + ((b * so->dims[0] + oh) * so->dims[1] + ow) * C,
                       in[0] + ((b * si->dims[0] + oh / p->a[0]) * si->dims[1] + ow / p->a[1]) * C,
                       (size_t)C * sizeof(float));
    return SC_OK;
}

const sc_layer_ops sc_layer_permute = {"Permute", permute_init,    permute_infer,
                                       NULL,      permute_forward, NULL};
const sc_layer_ops sc_layer_repeat_vector = {"RepeatVector", repeat_init,    repeat_infer,
                                             NULL,           repeat_forward, NULL};
const sc_layer_ops sc_layer_zero_padding2d = {"ZeroPadding2D",  zpad_init, pad_crop_infer, NULL,
                                              pad_crop_forward, NULL};
const sc_layer_ops sc_layer_cropping2d = {"Cropping2D", crop_init,        pad_crop_infer,
                                          NULL,         pad_crop_forward, NULL};
const sc_layer_ops sc_layer_up_sampling2d = {"UpSampling2D", up_init,    up_infer,
                                             NULL,           up_forward, NULL};
const sc_layer_ops sc_layer_zero_padding1d = {"ZeroPadding1D",   zpad1_init, pad_crop1_infer, NULL,
                                              pad_crop1_forward, NULL};
const sc_layer_ops sc_layer_cropping1d = {"Cropping1D", crop1_init,        pad_crop1_infer,
                                          NULL,         pad_crop1_forward, NULL};

/* TF's resize_bilinear with half_pixel_centers=True, align_corners=False (tf.image.resize, which
 * Keras 2 UpSampling2D(interpolation="bilinear") calls), in float32 as TF's CPU kernel:
 * src = (dst + 0.5) * (in / out) - 0.5, neighbours clamped to the image, weights from the
 * unclamped floor. */
void sc_resize_bilinear(const float *x, int batch, int64_t H, int64_t W, int64_t C, int64_t OH,
                        int64_t OW, float *y) {
    const float sh = (float)H / (float)OH, sw = (float)W / (float)OW;
    for (int b = 0; b < batch; b++)
        for (int64_t oh = 0; oh < OH; oh++) {
            float fy = ((float)oh + 0.5f) * sh - 0.5f, y0f = floorf(fy), ly = fy - y0f;
            int64_t y0 = y0f < 0 ? 0 : (int64_t)y0f, y1 = (int64_t)ceilf(fy);
            if (y1 > H - 1) y1 = H - 1;
            if (y1 < 0) y1 = 0;
            for (int64_t ow = 0; ow < OW; ow++) {
                float fx = ((float)ow + 0.5f) * sw - 0.5f, x0f = floorf(fx), lx = fx - x0f;
                int64_t x0 = x0f < 0 ? 0 : (int64_t)x0f, x1 = (int64_t)ceilf(fx);
                if (x1 > W - 1) x1 = W - 1;
                if (x1 < 0) x1 = 0;
                const float *img = x + (size_t)b * H * W * C;
                const float *tl = img + (y0 * W + x0) * C, *tr = img + (y0 * W + x1) * C;
                const float *bl = img + (y1 * W + x0) * C, *br = img + (y1 * W + x1) * C;
                float *o = y + (((size_t)b * OH + oh) * OW + ow) * C;
                for (int64_t c = 0; c < C; c++) {
                    float top = tl[c] + (tr[c] - tl[c]) * lx, bot = bl[c] + (br[c] - bl[c]) * lx;
                    o[c] = top + (bot - top) * ly;
                }
            }
        }
}
