/* Embedding: out[..., :] = embeddings[id] for each integer id of the input. Ids arrive as
 * floats (the evaluator feeds float32 batches); a non-integral or out-of-range id is an error
 * naming the layer, as TensorFlow raises on CPU — never a silent zero row. */
#include <math.h>
#include <string.h>

#include "core/error.h"
#include "model/layers/layers.h"
#include "model/mask.h"

typedef struct {
    int64_t input_dim, output_dim;
    int mask_zero;
} embedding;

/* mask_zero: the output carries the mask ids != 0 (model/mask.c computes it). */
int sc_embedding_mask_zero(const sc_layer *L) { return ((const embedding *)L->impl)->mask_zero; }

static sc_status init(sc_layer *L, const json_t *cfg, sc_error *err) {
    embedding *e = calloc(1, sizeof *e);
    if (!e) return sc_error_set(err, SC_NO_MEMORY, "out of memory");
    L->impl = e;
    sc_status s;
    if ((s = sc_cfg_int(L, cfg, "input_dim", 0, &e->input_dim, err))) return s;
    if ((s = sc_cfg_int(L, cfg, "output_dim", 0, &e->output_dim, err))) return s;
    if ((s = sc_cfg_bool(L, cfg, "mask_zero", 0, &e->mask_zero, err))) return s;
    if (e->input_dim <= 0 || e->output_dim <= 0)
        return sc_error_set(err, SC_INVALID_ARGUMENT,
                            "layer '%s' (Embedding): input_dim and "
                            "output_dim must be positive",
                            L->name);
    return SC_OK;
}

static sc_status infer(sc_layer *L, sc_node *n, sc_error *err) {
    const embedding *e = L->impl;
    const sc_shape *in = &n->in_shape[0];
    if (n->num_inputs != 1 || in->rank >= SC_MAX_DIMS)
        return sc_error_set(err, SC_INVALID_ARGUMENT, "layer '%s' (Embedding): bad input", L->name);
    if (L->num_vars == 0) {
        sc_shape t = {2, {e->input_dim, e->output_dim}};
        sc_status s = sc_layer_add_variable(L, "embeddings", &t, err);
        if (s) return s;
    }
    n->out_shape = *in;
    n->out_shape.dims[in->rank] = e->output_dim;
    n->out_shape.rank = in->rank + 1;
    return SC_OK;
}

static sc_status forward(const sc_layer *L, const sc_node *n, int batch, const float *const *in,
                         float *out, float *scratch, sc_error *err) {
    (void)scratch;
    const embedding *e = L->impl;
    const float *table = sc_layer_var(L, 0)->data;
    size_t ids = (size_t)batch * (size_t)sc_shape_elems(&n->in_shape[0]);
    size_t row = (size_t)e->output_dim * sizeof(float);
    for (size_t i = 0; i < ids; i++) {
        float v = in[0][i];
        if (!(v >= 0 && v < (float)e->input_dim) || v != floorf(v))
            return sc_error_set(err, SC_INVALID_ARGUMENT,
                                "layer '%s' (Embedding): input %zu is %g, expected an integer in "
                                "[0, %lld)",
                                L->name, i, (double)v, (long long)e->input_dim);
        memcpy(out + i * (size_t)e->output_dim, table + (size_t)v * (size_t)e->output_dim, row);
    }
    return SC_OK;
}

const sc_layer_ops sc_layer_embedding = {"Embedding", init, infer, NULL, forward, NULL};
