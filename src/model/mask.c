/* Keras 2 masks through the graph (see mask.h), and the Masking layer. */
#include <math.h>
#include <string.h>

#include "core/error.h"
#include "model/layers/layers.h"
#include "model/mask.h"

/* Layers whose Keras 2 class sets supports_masking and keeps the default compute_mask (the
 * input mask passes unchanged): core, activation, dropout/noise and normalization layers. */
static const char *const k_pass[] = {
    "Dense",
    "Activation",
    "ReLU",
    "LeakyReLU",
    "ELU",
    "Softmax",
    "PReLU",
    "Dropout",
    "SpatialDropout1D",
    "GaussianNoise",
    "GaussianDropout",
    "AlphaDropout",
    "ActivityRegularization",
    "BatchNormalization",
    "LayerNormalization",
    "TimeDistributed",
};
static const char *const k_merge[] = {"Add",     "Subtract", "Multiply",   "Average",
                                      "Maximum", "Minimum",  "Concatenate"};
static const char *const k_rnn[] = {"SimpleRNN", "LSTM", "GRU", "Bidirectional"};

static int in_list(const char *cls, const char *const *list, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!strcmp(cls, list[i])) return 1;
    return 0;
}
#define IN(cls, list) in_list(cls, list, sizeof list / sizeof list[0])

size_t sc_mask_len(const sc_model *m, int t) {
    const sc_shape *s = &m->tensors[t].shape;
    if (s->rank == 0) return 1;
    int64_t last = s->dims[s->rank - 1];
    return last > 0 ? (size_t)(sc_shape_elems(s) / last) : 0;
}

static int any_masked_input(const sc_model *m, const sc_node *n) {
    for (int k = 0; k < n->num_inputs; k++)
        if (m->tensors[n->inputs[k]].has_mask) return 1;
    return 0;
}

/* Concatenate's axis as an index into the per-example shape. */
static int concat_axis(const sc_node *n) {
    int64_t a = (int64_t)(intptr_t)n->layer->impl;
    int rank = n->out_shape.rank;
    return (int)(a < 0 ? rank + a : a - 1);
}

sc_status sc_mask_plan(sc_model *m, sc_error *err) {
    for (size_t t = 0; t < m->num_tensors; t++) m->tensors[t].has_mask = 0;
    for (size_t i = 0; i < m->num_nodes; i++) {
        const sc_node *n = &m->nodes[i];
        const char *cls = n->layer->class_name;
        int in = any_masked_input(m, n), out = 0;
        if (!strcmp(cls, "Embedding"))
            out = sc_embedding_mask_zero(n->layer);
        else if (strstr(cls, ">TokenAndPositionEmbedding"))
            out = sc_position_embedding_mask_zero(n->layer);
        else if (!strcmp(cls, "Masking"))
            out = 1;
        else if (IN(cls, k_rnn)) {
            for (int k = 1; k < n->num_outputs; k++)
                m->tensors[n->output + k].has_mask = in && sc_rnn_output_masked(n->layer, k);
            out = in && sc_rnn_output_masked(n->layer, 0);
        } else if (IN(cls, k_pass) || IN(cls, k_merge))
            out = in;
        else if (!strcmp(cls, "MultiHeadAttention")) /* Keras: the output takes the query's */
            out = m->tensors[n->inputs[0]].has_mask;
        else if (in && (!strcmp(cls, "Attention") || !strcmp(cls, "AdditiveAttention")))
            return sc_error_set(err, SC_UNIMPLEMENTED,
                                "layer '%s' (%s): masked inputs are not "
                                "supported",
                                n->layer->name, cls);
        if (out && !strcmp(cls, "Concatenate") && concat_axis(n) != n->out_shape.rank - 1
            && !(concat_axis(n) == 0 && n->out_shape.rank == 2))
            return sc_error_set(err, SC_UNIMPLEMENTED,
                                "layer '%s' (Concatenate): masked inputs "
                                "concatenated along axis %d are not supported (the last axis or "
                                "the time axis of sequences are)",
                                n->layer->name, concat_axis(n) + 1);
        m->tensors[n->output].has_mask = out;
    }
    return SC_OK;
}

int sc_mask_uses(const sc_model *m, const sc_node *n) {
    const char *cls = n->layer->class_name;
    return any_masked_input(m, n)
           && (IN(cls, k_rnn) || !strcmp(cls, "GlobalAveragePooling1D")
               || !strcmp(cls, "MultiHeadAttention"));
}

/* Keras 2 GlobalAveragePooling1D.call with a mask: sum(x * mask, 1) / sum(mask, 1). All steps
 * masked gives 0/0 = NaN, as in Keras. */
static void masked_mean(const sc_node *n, int batch, const float *x, const float *mask,
                        float *out) {
    int64_t T = n->in_shape[0].dims[0], C = n->in_shape[0].dims[1];
    for (int b = 0; b < batch; b++) {
        float *o = out + (size_t)b * C, den = 0.0f;
        for (int64_t c = 0; c < C; c++) o[c] = 0.0f;
        for (int64_t t = 0; t < T; t++) {
            float w = mask[(size_t)b * T + t];
            const float *xr = x + ((size_t)b * T + t) * C;
            for (int64_t c = 0; c < C; c++) o[c] += xr[c] * w;
            den += w;
        }
        for (int64_t c = 0; c < C; c++) o[c] /= den;
    }
}

sc_status sc_mask_forward(const sc_node *n, int batch, const float *const *in,
                          const float *const *in_masks, float *out, float *scratch, sc_error *err) {
    if (!strcmp(n->layer->class_name, "GlobalAveragePooling1D")) {
        masked_mean(n, batch, in[0], in_masks[0], out);
        return SC_OK;
    }
    if (!strcmp(n->layer->class_name, "MultiHeadAttention"))
        return sc_mha_forward_masked(n->layer, n, batch, in, in_masks, out, scratch);
    return sc_rnn_forward_masked(n->layer, n, batch, in, in_masks[0], out, scratch, err);
}

void sc_mask_compute(const sc_model *m, const sc_node *n, int t, int batch, const float *const *in,
                     const float *const *in_masks, float *out_mask) {
    const char *cls = n->layer->class_name;
    size_t len = (size_t)batch * sc_mask_len(m, t);
    if (!strcmp(cls, "Embedding") || strstr(cls, ">TokenAndPositionEmbedding")) { /* ids != 0 */
        for (size_t i = 0; i < len; i++) out_mask[i] = in[0][i] != 0.0f;
        return;
    }
    if (!strcmp(cls, "Masking")) { /* any(x != mask_value, axis=-1) */
        const float value = *(const float *)n->layer->impl;
        size_t C = (size_t)n->in_shape[0].dims[n->in_shape[0].rank - 1];
        for (size_t i = 0; i < len; i++) {
            float keep = 0.0f;
            for (size_t c = 0; c < C; c++) keep = in[0][i * C + c] != value ? 1.0f : keep;
            out_mask[i] = keep;
        }
        return;
    }
    if (!strcmp(cls, "Concatenate") && concat_axis(n) == 0 && n->out_shape.rank == 2) {
        /* Along time: the masks are concatenated (an input without one counts as all kept). */
        size_t T = (size_t)n->out_shape.dims[0], off = 0;
        for (int k = 0; k < n->num_inputs; k++) {
            size_t Tk = (size_t)n->in_shape[k].dims[0];
            for (int b = 0; b < batch; b++)
                for (size_t t = 0; t < Tk; t++)
                    out_mask[(size_t)b * T + off + t] =
                        in_masks[k] ? in_masks[k][(size_t)b * Tk + t] : 1.0f;
            off += Tk;
        }
        return;
    }
    if (!strcmp(cls, "MultiHeadAttention")) {
        memcpy(out_mask, in_masks[0], len * sizeof(float));
        return;
    }
    /* Pass-through and merges: the AND of the inputs' masks (merges: of those present). */
    for (size_t i = 0; i < len; i++) out_mask[i] = 1.0f;
    for (int k = 0; k < n->num_inputs; k++)
        if (in_masks[k])
            for (size_t i = 0; i < len; i++)
                out_mask[i] = out_mask[i] != 0.0f && in_masks[k][i] != 0.0f;
}

/* ---- Masking: out = x * any(x != mask_value, axis=-1) ---- */

static sc_status masking_init(sc_layer *L, const json_t *cfg, sc_error *err) {
    float *v = calloc(1, sizeof *v);
    if (!v) return sc_error_set(err, SC_NO_MEMORY, "out of memory");
    L->impl = v;
    double d;
    sc_status s = sc_cfg_double(L, cfg, "mask_value", 0.0, &d, err);
    *v = (float)d;
    return s;
}

static sc_status masking_forward(const sc_layer *L, const sc_node *n, int batch,
                                 const float *const *in, float *out, float *scratch,
                                 sc_error *err) {
    (void)scratch;
    (void)err;
    const float value = *(const float *)L->impl;
    const sc_shape *s = &n->in_shape[0];
    size_t C = s->rank ? (size_t)s->dims[s->rank - 1] : 1;
    size_t rows = C ? (size_t)batch * (size_t)sc_shape_elems(s) / C : 0;
    for (size_t i = 0; i < rows; i++) {
        const float *x = in[0] + i * C;
        int keep = 0;
        for (size_t c = 0; c < C; c++) keep |= x[c] != value;
        for (size_t c = 0; c < C; c++) out[i * C + c] = keep ? x[c] : 0.0f;
    }
    return SC_OK;
}

/* The mask reduces the last axis, which an input of scalars lacks besides the batch. */
const sc_layer_ops sc_layer_masking = {"Masking", masking_init,    sc_infer_same_shape_features,
                                       NULL,      masking_forward, NULL};
