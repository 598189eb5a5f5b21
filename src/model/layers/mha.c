/* MultiHeadAttention, Keras 2.15 (tf_keras/layers/attention/multi_head_attention.py) and Keras 3
 * (keras/src/layers/attention/multi_head_attention.py), at evaluation (dropout off):
 *   q = x_q Wq + bq  [T, N, H]     k = x_k Wk + bk  [S, N, H]     v = x_v Wv + bv  [S, N, Hv]
 *   scores[n, t, s] = (q[t, n] / sqrt(H)) . k[s, n]
 *   masked softmax over s, o[t, n] = sum_s p[n, t, s] v[s, n],  y = o Wo + bo  [T, output_shape]
 * Inputs [query, value] or [query, value, key] (key defaults to value); T and S are the
 * products of the inputs' axes between batch and features, i.e. the default attention_axes
 * (other attention_axes are refused). The four projections are EinsumDense sublayers in Keras;
 * here each is one GEMM over all tokens of the batch, then one pair of GEMMs per (example, head),
 * run side by side on the engine's threads.
 * Masks (Keras 2.15 _compute_attention_mask): keep[t, s] = qmask[t] & vmask[s] & kmask[s]
 * (& s <= t with use_causal_mask); the Softmax layer then adds -1e9 to the dropped scores
 * (softmax_robust_masking: sets them to -1e9), in float32 as Keras does, so a fully masked row
 * comes out uniform as in Keras. The output carries the query's mask (model/mask.c). */
#include <math.h>
#include <string.h>

#include "core/error.h"
#include "model/layers/layers.h"
#include "tensor/gemm.h"
#include "tensor/parallel.h"
#include "tensor/softmax.h"

#define MAX_OUT 6

typedef struct {
    int64_t heads, key_dim, value_dim;
    int use_bias, robust;
    int64_t out_dims[MAX_OUT]; /* output_shape; n_out == 0: the query's last dim */
    int n_out;
    int64_t axes[SC_MAX_DIMS]; /* attention_axes as written, n_axes == 0: default */
    int n_axes;
    int keras3;
} mha;

static const char *const k_sub[4] = {"_query_dense", "_key_dense", "_value_dense", "_output_dense"};
/* Keras 3 .weights.h5 names the sublayers by their public properties (query_dense, ...). */
static const char *const k_h5[4] = {"query_dense", "key_dense", "value_dense", "output_dense"};

static sc_status init(sc_layer *L, const json_t *cfg, sc_error *err) {
    mha *a = calloc(1, sizeof *a);
    if (!a) return sc_error_set(err, SC_NO_MEMORY, "out of memory");
    L->impl = a;
    a->keras3 = L->model->keras3;
    sc_status s;
    if ((s = sc_cfg_int(L, cfg, "num_heads", 0, &a->heads, err))
        || (s = sc_cfg_int(L, cfg, "key_dim", 0, &a->key_dim, err))
        || (s = sc_cfg_int(L, cfg, "value_dim", 0, &a->value_dim, err))
        || (s = sc_cfg_bool(L, cfg, "use_bias", 1, &a->use_bias, err))
        || (s = sc_cfg_bool(L, cfg, "softmax_robust_masking", 0, &a->robust, err))
        || (s = sc_cfg_dims(L, cfg, "output_shape", MAX_OUT, a->out_dims, &a->n_out, err))
        || (s = sc_cfg_dims(L, cfg, "attention_axes", SC_MAX_DIMS, a->axes, &a->n_axes, err)))
        return s;
    if (a->value_dim == 0) a->value_dim = a->key_dim;
    if (a->heads <= 0 || a->key_dim <= 0 || a->value_dim < 0 || a->heads >= SC_MAX_DIM
        || a->key_dim >= SC_MAX_DIM || a->value_dim >= SC_MAX_DIM)
        return sc_error_set(err, SC_INVALID_ARGUMENT,
                            "layer '%s' (MultiHeadAttention): num_heads and key_dim must be > 0",
                            L->name);
    for (int i = 0; i < a->n_out; i++)
        if (a->out_dims[i] < 0)
            return sc_error_set(err, SC_INVALID_ARGUMENT,
                                "layer '%s' (MultiHeadAttention): output_shape has an unknown "
                                "dimension",
                                L->name);
    return SC_OK;
}

/* The default attention_axes, or the same axes written out (Keras 3 also accepts negative
 * ones, counted on the projected rank less one). */
static int default_axes(const mha *a, int per_rank) {
    if (a->n_axes == 0) return 1;
    if (a->n_axes != per_rank - 1) return 0;
    int R = per_rank + 2; /* projected [batch, axes..., heads, dim] */
    for (int i = 0; i < a->n_axes; i++) {
        int64_t ax = a->axes[i];
        if (ax < 0 && a->keras3) ax += R - 1;
        if (ax != i + 1) return 0;
    }
    return 1;
}

/* Input positions: [query, value, key]; value defaults to the query, key to the value. */
#define VI(n) ((n)->num_inputs >= 2 ? 1 : 0)
#define KI(n) ((n)->num_inputs == 3 ? 2 : VI(n))

static int64_t lead(const sc_shape *s) {
    int64_t n = 1;
    for (int i = 0; i + 1 < s->rank; i++) n *= s->dims[i];
    return n;
}

static sc_status declare(sc_layer *L, int sub, const char *what, const sc_shape *shape,
                         sc_error *err) {
    char name[64];
    snprintf(name, sizeof name, "%s/%s", k_sub[sub], what);
    sc_status s = sc_layer_add_variable(L, name, shape, err);
    if (s) return s;
    sc_variable *v = sc_layer_var(L, L->num_vars - 1);
    v->h5_sub = k_h5[sub];
    v->h5_index = !strcmp(what, "bias");
    return SC_OK;
}

static sc_status infer(sc_layer *L, sc_node *n, sc_error *err) {
    const mha *a = L->impl;
    const sc_shape *q = &n->in_shape[0], *v = &n->in_shape[VI(n)], *k = &n->in_shape[KI(n)];
    int ok = n->num_inputs >= 1 && n->num_inputs <= 3 && q->rank >= 2 && v->rank == q->rank
             && k->rank == v->rank;
    for (int i = 0; ok && i + 1 < v->rank; i++) ok = k->dims[i] == v->dims[i];
    if (!ok)
        return sc_error_set(err, SC_INVALID_ARGUMENT,
                            "layer '%s' (MultiHeadAttention): expects query [T..., dim], value "
                            "[S..., dim_v] and optionally key [S..., dim_k] of the same rank "
                            "(>= 3 with the batch), key and value alike but for the last axis",
                            L->name);
    if (!default_axes(a, q->rank))
        return sc_error_set(err, SC_UNIMPLEMENTED,
                            "layer '%s' (MultiHeadAttention): attention_axes other than the "
                            "default (every axis between batch and features) are not supported",
                            L->name);
    const int64_t N = a->heads, H = a->key_dim, Hv = a->value_dim;
    int64_t dq = q->dims[q->rank - 1], dv = v->dims[v->rank - 1], dk = k->dims[k->rank - 1];
    int64_t out_last[MAX_OUT] = {dq};
    int n_out = a->n_out ? a->n_out : 1;
    if (a->n_out) memcpy(out_last, a->out_dims, sizeof out_last);
    if (q->rank - 1 + n_out > SC_MAX_DIMS || N * H >= SC_MAX_DIM || N * Hv >= SC_MAX_DIM)
        return sc_error_set(err, SC_UNIMPLEMENTED,
                            "layer '%s' (MultiHeadAttention): output rank or heads too large",
                            L->name);
    if (L->num_vars == 0) {
        sc_shape qk = {3, {dq, N, H}}, kk = {3, {dk, N, H}}, vk = {3, {dv, N, Hv}};
        sc_shape nb = {2, {N, H}}, vb = {2, {N, Hv}}, ok_ = {2 + n_out, {N, Hv}}, ob = {n_out, {0}};
        for (int i = 0; i < n_out; i++) ok_.dims[2 + i] = ob.dims[i] = out_last[i];
        const sc_shape *kernels[4] = {&qk, &kk, &vk, &ok_}, *biases[4] = {&nb, &nb, &vb, &ob};
        for (int i = 0; i < 4; i++) {
            sc_status s = declare(L, i, "kernel", kernels[i], err);
            if (!s && a->use_bias) s = declare(L, i, "bias", biases[i], err);
            if (s) return s;
        }
    } else {
        size_t per = a->use_bias ? 2 : 1;
        if (sc_layer_var(L, 0)->shape.dims[0] != dq || sc_layer_var(L, per)->shape.dims[0] != dk
            || sc_layer_var(L, 2 * per)->shape.dims[0] != dv)
            return sc_error_set(err, SC_INVALID_ARGUMENT,
                                "layer '%s' (MultiHeadAttention): called on new feature widths",
                                L->name);
    }
    n->out_shape.rank = q->rank - 1 + n_out;
    for (int i = 0; i + 1 < q->rank; i++) n->out_shape.dims[i] = q->dims[i];
    for (int i = 0; i < n_out; i++) n->out_shape.dims[q->rank - 1 + i] = out_last[i];
    return sc_check_shape(L, &n->out_shape, err);
}

/* Q, K, V, O and one score matrix per (example, head). */
static size_t scratch(const sc_layer *L, const sc_node *n, int batch) {
    const mha *a = L->impl;
    size_t T = (size_t)lead(&n->in_shape[0]), S = (size_t)lead(&n->in_shape[VI(n)]);
    size_t NH = (size_t)(a->heads * a->key_dim), NHv = (size_t)(a->heads * a->value_dim);
    return (size_t)batch * (T * NH + S * NH + S * NHv + T * NHv + (size_t)a->heads * T * S);
}

/* dst[rows, width] = x[rows, din] W + b */
static void project(const float *x, int rows, int din, const sc_variable *W, const sc_variable *b,
                    float *dst) {
    int width = (int)(W->num_elements / din);
    if (b)
        for (int r = 0; r < rows; r++)
            memcpy(dst + (size_t)r * width, b->data, (size_t)width * sizeof(float));
    sc_gemm_f32(0, 0, rows, width, din, 1.0f, x, din, W->data, width, b ? 1.0f : 0.0f, dst, width);
}

typedef struct {
    const mha *a;
    int T, S, N, H, Hv, causal;
    float scale;
    const float *Q, *K, *V, *qm, *vm, *km;
    float *P, *O;
} job;

static void head(void *ctx, int i) {
    const job *j = ctx;
    const int b = i / j->N, n = i % j->N, T = j->T, S = j->S;
    const int NH = j->N * j->H, NHv = j->N * j->Hv;
    float *P = j->P + (size_t)i * T * S;
    sc_gemm_f32(0, 1, T, S, j->H, j->scale, j->Q + (size_t)b * T * NH + (size_t)n * j->H, NH,
                j->K + (size_t)b * S * NH + (size_t)n * j->H, NH, 0.0f, P, S);
    if (j->qm || j->vm || j->km || j->causal) {
        const float *qm = j->qm ? j->qm + (size_t)b * T : NULL;
        const float *vm = j->vm ? j->vm + (size_t)b * S : NULL;
        const float *km = j->km ? j->km + (size_t)b * S : NULL;
        for (int t = 0; t < T; t++) {
            float *row = P + (size_t)t * S;
            int qkeep = !qm || qm[t] != 0.0f;
            for (int s = 0; s < S; s++) {
                int keep = qkeep && (!vm || vm[s] != 0.0f) && (!km || km[s] != 0.0f)
                           && (!j->causal || s <= t);
                if (keep) continue;
                /* Softmax: inputs += (1 - mask) * -1e9 (float32), or where(mask, x, -1e9) */
                row[s] = j->a->robust ? -1e9f : row[s] + -1e9f;
            }
        }
    }
    sc_softmax_rows_f32(P, (size_t)T, (size_t)S, (size_t)S);
    sc_gemm_f32(0, 0, T, j->Hv, S, 1.0f, P, S, j->V + (size_t)b * S * NHv + (size_t)n * j->Hv, NHv,
                0.0f, j->O + (size_t)b * T * NHv + (size_t)n * j->Hv, NHv);
}

sc_status sc_mha_forward_masked(const sc_layer *L, const sc_node *n, int batch,
                                const float *const *in, const float *const *masks, float *out,
                                float *sc) {
    const mha *a = L->impl;
    const sc_shape *qs = &n->in_shape[0], *vs = &n->in_shape[VI(n)], *ks = &n->in_shape[KI(n)];
    const int T = (int)lead(qs), S = (int)lead(vs), N = (int)a->heads;
    const int H = (int)a->key_dim, Hv = (int)a->value_dim;
    const size_t NH = (size_t)N * H, NHv = (size_t)N * Hv;
    float *Q = sc, *K = Q + (size_t)batch * T * NH, *V = K + (size_t)batch * S * NH;
    float *O = V + (size_t)batch * S * NHv, *P = O + (size_t)batch * T * NHv;
    const size_t per = a->use_bias ? 2 : 1;
    const sc_variable *w[4], *bias[4];
    for (int i = 0; i < 4; i++) {
        w[i] = sc_layer_var(L, i * per);
        bias[i] = a->use_bias ? sc_layer_var(L, i * per + 1) : NULL;
    }
    project(in[0], batch * T, (int)qs->dims[qs->rank - 1], w[0], bias[0], Q);
    project(in[KI(n)], batch * S, (int)ks->dims[ks->rank - 1], w[1], bias[1], K);
    project(in[VI(n)], batch * S, (int)vs->dims[vs->rank - 1], w[2], bias[2], V);
    job j = {a,
             T,
             S,
             N,
             H,
             Hv,
             n->use_causal_mask,
             (float)(1.0 / sqrt((double)H)),
             Q,
             K,
             V,
             masks ? masks[0] : NULL,
             masks ? masks[VI(n)] : NULL,
             masks ? masks[KI(n)] : NULL,
             P,
             O};
    sc_parallel_for(batch * N, head, &j);
    project(O, batch * T, (int)NHv, w[3], bias[3], out);
    return SC_OK;
}

static sc_status forward(const sc_layer *L, const sc_node *n, int batch, const float *const *in,
                         float *out, float *sc, sc_error *err) {
    (void)err;
    return sc_mha_forward_masked(L, n, batch, in, NULL, out, sc);
}

const sc_layer_ops sc_layer_multi_head_attention = {
    "MultiHeadAttention", init, infer, scratch, forward, NULL};
