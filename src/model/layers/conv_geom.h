/* Convolution and pooling geometry, TensorFlow's rules (channels_last). Internal.
 *   valid: out = floor((in - (k-1)*d - 1) / s) + 1
 *   same:  out = ceil(in / s); total padding max((out-1)*s + (k-1)*d + 1 - in, 0), the odd pixel
 *          at the bottom/right
 *   causal (Conv1D): (k-1)*d zeros on the left, then valid */
#ifndef SC_MODEL_CONV_GEOM_H
#define SC_MODEL_CONV_GEOM_H

#include <stdint.h>
#include <string.h>

#include "core/error.h"
#include "model/model_internal.h"

typedef enum { SC_PAD_VALID, SC_PAD_SAME, SC_PAD_CAUSAL } sc_padding;

typedef struct sc_conv_geom {
    int64_t h, w, c; /* input */
    int64_t kh, kw;  /* window */
    int64_t sh, sw;  /* strides */
    int64_t dh, dw;  /* dilation */
    int64_t oh, ow;  /* output */
    int64_t pt, pl;  /* padding before (top, left) */
} sc_conv_geom;

static inline sc_status sc_parse_padding(const sc_layer *L, const json_t *cfg, int allow_causal,
                                         sc_padding *out, sc_error *err) {
    const char *p;
    sc_status s = sc_cfg_str(L, cfg, "padding", "valid", &p, err);
    if (s) return s;
    if (strcmp(p, "valid") == 0)
        *out = SC_PAD_VALID;
    else if (strcmp(p, "same") == 0)
        *out = SC_PAD_SAME;
    else if (allow_causal && strcmp(p, "causal") == 0)
        *out = SC_PAD_CAUSAL;
    else
        return sc_error_set(err, SC_UNIMPLEMENTED, "layer '%s' (%s): padding '%s' is not supported",
                            L->name, L->class_name, p);
    return SC_OK;
}

static inline int64_t sc_out_dim(int64_t in, int64_t k, int64_t s, int64_t d, sc_padding p,
                                 int64_t *pad_before) {
    int64_t eff = (k - 1) * d + 1;
    *pad_before = 0;
    if (p == SC_PAD_SAME) {
        int64_t out = (in + s - 1) / s;
        int64_t total = (out - 1) * s + eff - in;
        *pad_before = total > 0 ? total / 2 : 0;
        return out;
    }
    if (p == SC_PAD_CAUSAL) {
        *pad_before = eff - 1;
        in += eff - 1;
    }
    return in >= eff ? (in - eff) / s + 1 : 0;
}

static inline sc_status sc_conv_geom_init(const sc_layer *L, sc_conv_geom *g, sc_padding p,
                                          sc_error *err) {
    /* Sizes come from the model's JSON: with every term in [1, 2^31) the arithmetic of
     * sc_out_dim stays far inside int64. */
    const int64_t v[8] = {g->h, g->w, g->kh, g->kw, g->sh, g->sw, g->dh, g->dw};
    for (int i = 0; i < 8; i++)
        if (v[i] < 1 || v[i] >= SC_MAX_DIM)
            return sc_error_set(err, SC_INVALID_ARGUMENT,
                                "layer '%s' (%s): input, kernel, stride and dilation sizes must be "
                                "between 1 and 2^31 - 1, got %lld",
                                L->name, L->class_name, (long long)v[i]);
    g->oh = sc_out_dim(g->h, g->kh, g->sh, g->dh, p, &g->pt);
    g->ow = sc_out_dim(g->w, g->kw, g->sw, g->dw, p, &g->pl);
    if (g->oh <= 0 || g->ow <= 0)
        return sc_error_set(err, SC_INVALID_ARGUMENT,
                            "layer '%s' (%s): input %lldx%lld is smaller than the window %lldx%lld",
                            L->name, L->class_name, (long long)g->h, (long long)g->w,
                            (long long)g->kh, (long long)g->kw);
    return SC_OK;
}

#endif
