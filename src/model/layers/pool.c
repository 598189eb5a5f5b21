/* Pooling, channels_last: MaxPooling1D/2D, AveragePooling1D/2D (TensorFlow's average excludes
 * the padded cells from the count), GlobalAverage/GlobalMax Pooling1D/2D (keepdims kept). */
#include <math.h>
#include <string.h>

#include "core/nanmath.h"
#include "model/layers/conv_geom.h"
#include "model/layers/engine_info.h"
#include "model/layers/layers.h"

typedef struct {
    int rank, is_max;
    int64_t k[2], s[2];
    sc_padding pad;
    sc_conv_geom g;
} pool;

static sc_status pool_init(sc_layer *L, const json_t *cfg, int rank, int is_max, sc_error *err) {
    pool *p = calloc(1, sizeof *p);
    if (!p) return sc_error_set(err, SC_NO_MEMORY, "out of memory");
    L->impl = p;
    p->rank = rank;
    p->is_max = is_max;
    const int64_t two[2] = {2, 2};
    sc_status s;
    if ((s = sc_cfg_ints(L, cfg, "pool_size", rank, two, p->k, err))) return s;
    /* strides: null (or absent) means the pool size */
    if ((s = sc_cfg_ints(L, cfg, "strides", rank, p->k, p->s, err))) return s;
    if ((s = sc_parse_padding(L, cfg, 0, &p->pad, err))) return s;
    if ((s = sc_cfg_channels_last(L, cfg, err))) return s;
    if (p->k[0] <= 0 || p->k[rank - 1] <= 0 || p->s[0] <= 0 || p->s[rank - 1] <= 0)
        return sc_error_set(err, SC_INVALID_ARGUMENT,
                            "layer '%s' (%s): pool_size and strides must "
                            "be positive",
                            L->name, L->class_name);
    return SC_OK;
}

#define POOL_INIT(fn, rank, mx)                                                                    \
    static sc_status fn(sc_layer *L, const json_t *cfg, sc_error *err) {                           \
        return pool_init(L, cfg, rank, mx, err);                                                   \
    }
POOL_INIT(max1_init, 1, 1)
POOL_INIT(max2_init, 2, 1)
POOL_INIT(avg1_init, 1, 0)
POOL_INIT(avg2_init, 2, 0)

static sc_status pool_infer(sc_layer *L, sc_node *n, sc_error *err) {
    pool *p = L->impl;
    const sc_shape *in = &n->in_shape[0];
    if (n->num_inputs != 1 || in->rank != p->rank + 1)
        return sc_error_set(err, SC_INVALID_ARGUMENT,
                            "layer '%s' (%s): expects one input of rank %d", L->name, L->class_name,
                            p->rank + 1);
    sc_conv_geom g;
    if (p->rank == 1)
        g = (sc_conv_geom){1, in->dims[0], in->dims[1], 1, p->k[0], 1, p->s[0], 1, 1, 0, 0, 0, 0};
    else
        g = (sc_conv_geom){
            in->dims[0], in->dims[1], in->dims[2], p->k[0], p->k[1], p->s[0], p->s[1],
            1,           1,           0,           0,       0,       0};
    sc_status s = sc_conv_geom_init(L, &g, p->pad, err);
    if (s) return s;
    if (L->num_nodes > 0 && memcmp(&p->g, &g, sizeof g) != 0)
        return sc_error_set(err, SC_UNIMPLEMENTED,
                            "layer '%s' (%s): shared with a different input "
                            "shape",
                            L->name, L->class_name);
    p->g = g;
    n->out_shape = p->rank == 1 ? (sc_shape){2, {g.ow, g.c}} : (sc_shape){3, {g.oh, g.ow, g.c}};
    return SC_OK;
}

/* Max over the window of one output cell: a branch-free loop over channels per window cell,
 * which the compiler vectorizes (restrict: out and in never overlap). */
static void max_cell(float *restrict o, const float *restrict img, const sc_conv_geom *g,
                     int64_t h0, int64_t h1, int64_t w0, int64_t w1) {
    const int64_t C = g->c;
    const float *x = img + (h0 * g->w + w0) * C;
    for (int64_t c = 0; c < C; c++) o[c] = x[c];
    for (int64_t ih = h0; ih < h1; ih++)
        for (int64_t iw = ih == h0 ? w0 + 1 : w0; iw < w1; iw++) {
            x = img + (ih * g->w + iw) * C;
            for (int64_t c = 0; c < C; c++) o[c] = sc_maxf(o[c], x[c]);
        }
}

static void avg_cell(float *restrict o, const float *restrict img, const sc_conv_geom *g,
                     int64_t h0, int64_t h1, int64_t w0, int64_t w1) {
    const int64_t C = g->c;
    for (int64_t c = 0; c < C; c++) o[c] = 0.0f;
    for (int64_t ih = h0; ih < h1; ih++)
        for (int64_t iw = w0; iw < w1; iw++) {
            const float *x = img + (ih * g->w + iw) * C;
            for (int64_t c = 0; c < C; c++) o[c] += x[c];
        }
    float inv = 1.0f / (float)((h1 - h0) * (w1 - w0));
    for (int64_t c = 0; c < C; c++) o[c] *= inv;
}

static sc_status pool_forward(const sc_layer *L, const sc_node *n, int batch,
                              const float *const *in, float *out, float *scratch, sc_error *err) {
    (void)n;
    (void)scratch;
    (void)err;
    const pool *p = L->impl;
    const sc_conv_geom *g = &p->g;
    const int64_t C = g->c;
    for (int b = 0; b < batch; b++) {
        const float *img = in[0] + (int64_t)b * g->h * g->w * C;
        for (int64_t oh = 0; oh < g->oh; oh++)
            for (int64_t ow = 0; ow < g->ow; ow++) {
                float *o = out + (((int64_t)b * g->oh + oh) * g->ow + ow) * C;
                int64_t h0 = oh * g->sh - g->pt, w0 = ow * g->sw - g->pl;
                int64_t h1 = h0 + g->kh, w1 = w0 + g->kw;
                if (h0 < 0) h0 = 0;
                if (w0 < 0) w0 = 0;
                if (h1 > g->h) h1 = g->h;
                if (w1 > g->w) w1 = g->w;
                if (p->is_max)
                    max_cell(o, img, g, h0, h1, w0, w1);
                else
                    avg_cell(o, img, g, h0, h1, w0, w1);
            }
    }
    return SC_OK;
}

/* ---- global pooling ---- */

typedef struct {
    int rank, is_max, keepdims;
} gpool;

static sc_status gpool_init(sc_layer *L, const json_t *cfg, int rank, int is_max, sc_error *err) {
    gpool *p = calloc(1, sizeof *p);
    if (!p) return sc_error_set(err, SC_NO_MEMORY, "out of memory");
    L->impl = p;
    p->rank = rank;
    p->is_max = is_max;
    sc_status s = sc_cfg_bool(L, cfg, "keepdims", 0, &p->keepdims, err);
    return s ? s : sc_cfg_channels_last(L, cfg, err);
}

#define GPOOL_INIT(fn, rank, mx)                                                                   \
    static sc_status fn(sc_layer *L, const json_t *cfg, sc_error *err) {                           \
        return gpool_init(L, cfg, rank, mx, err);                                                  \
    }
GPOOL_INIT(gmax1_init, 1, 1)
GPOOL_INIT(gmax2_init, 2, 1)
GPOOL_INIT(gavg1_init, 1, 0)
GPOOL_INIT(gavg2_init, 2, 0)

static sc_status gpool_infer(sc_layer *L, sc_node *n, sc_error *err) {
    const gpool *p = L->impl;
    const sc_shape *in = &n->in_shape[0];
    if (n->num_inputs != 1 || in->rank != p->rank + 1)
        return sc_error_set(err, SC_INVALID_ARGUMENT,
                            "layer '%s' (%s): expects one input of rank %d", L->name, L->class_name,
                            p->rank + 1);
    int64_t C = in->dims[in->rank - 1];
    if (p->keepdims) {
        n->out_shape.rank = in->rank;
        for (int i = 0; i < in->rank - 1; i++) n->out_shape.dims[i] = 1;
        n->out_shape.dims[in->rank - 1] = C;
    } else {
        n->out_shape = (sc_shape){1, {C}};
    }
    return SC_OK;
}

static sc_status gpool_forward(const sc_layer *L, const sc_node *n, int batch,
                               const float *const *in, float *out, float *scratch, sc_error *err) {
    (void)scratch;
    (void)err;
    const gpool *p = L->impl;
    const sc_shape *s = &n->in_shape[0];
    int64_t C = s->dims[s->rank - 1], cells = sc_shape_elems(s) / C;
    for (int b = 0; b < batch; b++) {
        const float *x = in[0] + b * cells * C;
        float *o = out + b * C;
        for (int64_t c = 0; c < C; c++) o[c] = p->is_max ? -INFINITY : 0.0f;
        for (int64_t i = 0; i < cells; i++, x += C)
            if (p->is_max)
                for (int64_t c = 0; c < C; c++) o[c] = sc_maxf(o[c], x[c]);
            else
                for (int64_t c = 0; c < C; c++) o[c] += x[c];
        if (!p->is_max)
            for (int64_t c = 0; c < C; c++) o[c] /= (float)cells;
    }
    return SC_OK;
}

const sc_layer_ops sc_layer_max_pooling1d = {"MaxPooling1D", max1_init,    pool_infer,
                                             NULL,           pool_forward, NULL};
const sc_layer_ops sc_layer_max_pooling2d = {"MaxPooling2D", max2_init,    pool_infer,
                                             NULL,           pool_forward, NULL};
const sc_layer_ops sc_layer_average_pooling1d = {"AveragePooling1D", avg1_init, pool_infer, NULL,
                                                 pool_forward,       NULL};
const sc_layer_ops sc_layer_average_pooling2d = {"AveragePooling2D", avg2_init, pool_infer, NULL,
                                                 pool_forward,       NULL};
const sc_layer_ops sc_layer_global_max_pooling1d = {
    "GlobalMaxPooling1D", gmax1_init, gpool_infer, NULL, gpool_forward, NULL};
const sc_layer_ops sc_layer_global_max_pooling2d = {
    "GlobalMaxPooling2D", gmax2_init, gpool_infer, NULL, gpool_forward, NULL};
const sc_layer_ops sc_layer_global_average_pooling1d = {
    "GlobalAveragePooling1D", gavg1_init, gpool_infer, NULL, gpool_forward, NULL};
const sc_layer_ops sc_layer_global_average_pooling2d = {
    "GlobalAveragePooling2D", gavg2_init, gpool_infer, NULL, gpool_forward, NULL};

/* For the oneDNN plan (engine_info.h): local pooling as its geometry, global pooling as one
 * window over the whole input (1-D inputs as height 1). */
int sc_pool_engine_info(const sc_layer *L, const sc_node *n, sc_conv_geom *g, int *is_max,
                        int *global) {
    if (L->ops == &sc_layer_max_pooling1d || L->ops == &sc_layer_max_pooling2d
        || L->ops == &sc_layer_average_pooling1d || L->ops == &sc_layer_average_pooling2d) {
        const pool *p = L->impl;
        *g = p->g;
        *is_max = p->is_max;
        *global = 0;
        return 1;
    }
    if (L->ops != &sc_layer_global_max_pooling1d && L->ops != &sc_layer_global_max_pooling2d
        && L->ops != &sc_layer_global_average_pooling1d
        && L->ops != &sc_layer_global_average_pooling2d)
        return 0;
    const gpool *p = L->impl;
    const sc_shape *s = &n->in_shape[0];
    int64_t h = s->rank == 3 ? s->dims[0] : 1, w = s->dims[s->rank - 2], c = s->dims[s->rank - 1];
    *g = (sc_conv_geom){h, w, c, h, w, 1, 1, 1, 1, 1, 1, 0, 0};
    *is_max = p->is_max;
    *global = 1;
    return 1;
}
