/* keras_nlp (KerasHub) position embeddings, registered as "keras_nlp>..." / "keras_hub>...":
 *   PositionEmbedding(sequence_length): out[..., t, f] = embeddings[t, f] for an input
 *     [..., T, F] (T <= sequence_length; the input's values are not used, only its shape);
 *     variable "embeddings" [sequence_length, F]. No mask (the layer does not support masking).
 *   TokenAndPositionEmbedding(vocabulary_size, sequence_length, embedding_dim, mask_zero):
 *     token_embedding(ids) + position_embedding(that), the token part an Embedding (or
 *     ReversibleEmbedding, whose reverse_embeddings [dim, vocab] exist when tie_weights is false
 *     and are not used going forward); the output's mask is ids != 0 when mask_zero.
 * Both read start_index = 0 (a start_index call argument is refused by name in config.c). */
#include <math.h>
#include <string.h>

#include "core/error.h"
#include "model/layers/layers.h"

typedef struct {
    int64_t seq_len, vocab, dim;
    int token, mask_zero, tie;
} posemb;

static sc_status init(sc_layer *L, const json_t *cfg, sc_error *err) {
    posemb *p = calloc(1, sizeof *p);
    if (!p) return sc_error_set(err, SC_NO_MEMORY, "out of memory");
    L->impl = p;
    p->token = strstr(L->class_name, "TokenAndPositionEmbedding") != NULL;
    sc_status s;
    if ((s = sc_cfg_int(L, cfg, "sequence_length", 0, &p->seq_len, err))) return s;
    if (p->token
        && ((s = sc_cfg_int(L, cfg, "vocabulary_size", 0, &p->vocab, err))
            || (s = sc_cfg_int(L, cfg, "embedding_dim", 0, &p->dim, err))
            || (s = sc_cfg_bool(L, cfg, "mask_zero", 0, &p->mask_zero, err))
            || (s = sc_cfg_bool(L, cfg, "tie_weights", 1, &p->tie, err))))
        return s;
    if (p->seq_len <= 0 || p->seq_len >= SC_MAX_DIM
        || (p->token
            && (p->vocab <= 0 || p->dim <= 0 || p->vocab >= SC_MAX_DIM || p->dim >= SC_MAX_DIM)))
        return sc_error_set(err, SC_INVALID_ARGUMENT,
                            "layer '%s' (%s): sequence_length%s must be positive", L->name,
                            L->class_name, p->token ? ", vocabulary_size and embedding_dim" : "");
    return SC_OK;
}

static sc_status declare(sc_layer *L, const char *name, const char *sub, int index,
                         const sc_shape *shape, sc_error *err) {
    sc_status s = sc_layer_add_variable(L, name, shape, err);
    if (s || !sub) return s;
    sc_variable *v = sc_layer_var(L, L->num_vars - 1);
    v->h5_sub = sub;
    v->h5_index = index;
    return SC_OK;
}

static sc_status infer(sc_layer *L, sc_node *n, sc_error *err) {
    const posemb *p = L->impl;
    const sc_shape *in = &n->in_shape[0];
    /* PositionEmbedding reads [..., T, F]; the token variant reads ids [..., T] */
    int need = p->token ? 1 : 2;
    if (n->num_inputs != 1 || in->rank < need || (p->token && in->rank >= SC_MAX_DIMS))
        return sc_error_set(err, SC_INVALID_ARGUMENT,
                            "layer '%s' (%s): expects one input of rank >= %d (with the batch)",
                            L->name, L->class_name, need + 1);
    int64_t T = in->dims[in->rank - need], F = p->token ? p->dim : in->dims[in->rank - 1];
    if (T > p->seq_len)
        return sc_error_set(err, SC_INVALID_ARGUMENT,
                            "layer '%s' (%s): %lld steps, more than sequence_length %lld", L->name,
                            L->class_name, (long long)T, (long long)p->seq_len);
    if (L->num_vars == 0) {
        sc_shape pos = {2, {p->seq_len, F}}, tok = {2, {p->vocab, p->dim}},
                 rev = {2, {p->dim, p->vocab}};
        sc_status s = SC_OK;
        if (p->token) {
            s = declare(L, "token_embedding/embeddings", "token_embedding", 0, &tok, err);
            if (!s && !p->tie)
                s = declare(L, "token_embedding/reverse_embeddings", "token_embedding", 1, &rev,
                            err);
            if (!s)
                s = declare(L, "position_embedding/embeddings", "position_embedding", 0, &pos, err);
        } else {
            s = declare(L, "embeddings", NULL, 0, &pos, err);
        }
        if (s) return s;
    } else if (sc_layer_var(L, L->num_vars - 1)->shape.dims[1] != F) {
        return sc_error_set(err, SC_INVALID_ARGUMENT, "layer '%s' (%s): called on a new width",
                            L->name, L->class_name);
    }
    n->out_shape = *in;
    if (p->token) n->out_shape.dims[n->out_shape.rank++] = p->dim;
    return SC_OK;
}

static sc_status forward(const sc_layer *L, const sc_node *n, int batch, const float *const *in,
                         float *out, float *scratch, sc_error *err) {
    (void)scratch;
    const posemb *p = L->impl;
    const sc_shape *os = &n->out_shape;
    const size_t T = (size_t)os->dims[os->rank - 2], F = (size_t)os->dims[os->rank - 1];
    const size_t blocks = (size_t)batch * (size_t)sc_shape_elems(os) / (T * F);
    const float *pos = sc_layer_var(L, L->num_vars - 1)->data;
    if (!p->token) {
        for (size_t b = 0; b < blocks; b++) memcpy(out + b * T * F, pos, T * F * sizeof(float));
        return SC_OK;
    }
    const float *table = sc_layer_var(L, 0)->data;
    for (size_t i = 0; i < blocks * T; i++) {
        float v = in[0][i];
        if (!(v >= 0 && v < (float)p->vocab) || v != floorf(v))
            return sc_error_set(err, SC_INVALID_ARGUMENT,
                                "layer '%s' (%s): input %zu is %g, expected an integer in "
                                "[0, %lld)",
                                L->name, L->class_name, i, (double)v, (long long)p->vocab);
        const float *row = table + (size_t)v * F, *pr = pos + (i % T) * F;
        for (size_t f = 0; f < F; f++) out[i * F + f] = row[f] + pr[f];
    }
    return SC_OK;
}

int sc_position_embedding_mask_zero(const sc_layer *L) {
    return ((const posemb *)L->impl)->mask_zero;
}

const sc_layer_ops sc_layer_position_embedding_nlp = {
    "keras_nlp>PositionEmbedding", init, infer, NULL, forward, NULL};
const sc_layer_ops sc_layer_position_embedding_hub = {
    "keras_hub>PositionEmbedding", init, infer, NULL, forward, NULL};
const sc_layer_ops sc_layer_token_position_embedding_nlp = {
    "keras_nlp>TokenAndPositionEmbedding", init, infer, NULL, forward, NULL};
const sc_layer_ops sc_layer_token_position_embedding_hub = {
    "keras_hub>TokenAndPositionEmbedding", init, infer, NULL, forward, NULL};
