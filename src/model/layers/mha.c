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

/* Q, K, V (one [rows, 2NH + NHv] block when fused), O, one score matrix per (example, head),
 * and the fused projection's packed kernel [dq, 2NH + NHv]. */
static size_t scratch(const sc_layer *L, const sc_node *n, int batch) {
    const mha *a = L->impl;
    size_t T = (size_t)lead(&n->in_shape[0]), S = (size_t)lead(&n->in_shape[VI(n)]);
    size_t NH = (size_t)(a->heads * a->key_dim), NHv = (size_t)(a->heads * a->value_dim);
    size_t dq = (size_t)n->in_shape[0].dims[n->in_shape[0].rank - 1];
    return (size_t)batch * (T * NH + S * NH + S * NHv + T * NHv + (size_t)a->heads * T * S)
           + dq * (2 * NH + NHv);
}

typedef struct {
    const mha *a;
    int T, S, N, H, Hv, causal;
    int ldq, ldk, ldv; /* row strides of Q, K, V: NH etc., or 2NH + NHv when fused */
    float scale;
    float *Q, *K, *V;
    const float *bq, *bk, *bv; /* projection biases [N, H] or NULL */
    const float *qm, *vm, *km;
    float *P, *O;
} job;

/* rows x width at stride ld += bias */
static void add_bias(float *x, int rows, int width, int ld, const float *bias) {
    if (!bias) return;
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < width; c++) x[(size_t)r * ld + c] += bias[c];
}

/* One (example, head): its slices of Q, K, V belong to it alone, so their bias is added here,
 * in cache right before use, instead of in a pass over the whole projections. */
static void head(void *ctx, int i) {
    const job *j = ctx;
    const int b = i / j->N, n = i % j->N, T = j->T, S = j->S, H = j->H, Hv = j->Hv;
    float *P = j->P + (size_t)i * T * S;
    float *q = j->Q + (size_t)b * T * j->ldq + (size_t)n * H;
    float *k = j->K + (size_t)b * S * j->ldk + (size_t)n * H;
    float *v = j->V + (size_t)b * S * j->ldv + (size_t)n * Hv;
    add_bias(q, T, H, j->ldq, j->bq ? j->bq + (size_t)n * H : NULL);
    add_bias(k, S, H, j->ldk, j->bk ? j->bk + (size_t)n * H : NULL);
    add_bias(v, S, Hv, j->ldv, j->bv ? j->bv + (size_t)n * Hv : NULL);
    sc_gemm_f32(0, 1, T, S, H, j->scale, q, j->ldq, k, j->ldk, 0.0f, P, S);
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
    const int NHv = j->N * Hv;
    sc_gemm_f32(0, 0, T, Hv, S, 1.0f, P, S, v, j->ldv, 0.0f,
                j->O + (size_t)b * T * NHv + (size_t)n * Hv, NHv);
}

sc_status sc_mha_forward_masked(const sc_layer *L, const sc_node *n, int batch,
                                const float *const *in, const float *const *masks, float *out,
                                float *sc) {
    const mha *a = L->impl;
    const sc_shape *qs = &n->in_shape[0], *vs = &n->in_shape[VI(n)], *ks = &n->in_shape[KI(n)];
    const int T = (int)lead(qs), S = (int)lead(vs), N = (int)a->heads;
    const int H = (int)a->key_dim, Hv = (int)a->value_dim;
    const int NH = N * H, NHv = N * Hv, W3 = 2 * NH + NHv;
    const int dq = (int)qs->dims[qs->rank - 1], dk = (int)ks->dims[ks->rank - 1];
    const int dv = (int)vs->dims[vs->rank - 1];
    const size_t per = a->use_bias ? 2 : 1;
    const float *w[4], *bias[4];
    for (int i = 0; i < 4; i++) {
        w[i] = sc_layer_var(L, i * per)->data;
        bias[i] = a->use_bias ? sc_layer_var(L, i * per + 1)->data : NULL;
    }
    float *Q = sc, *K, *V, *O = Q + (size_t)batch * ((size_t)T * NH + (size_t)S * (NH + NHv));
    float *P = O + (size_t)batch * T * NHv, *packed = P + (size_t)batch * N * T * S;
    int ldq = NH, ldk = NH, ldv = NHv;
    if (in[0] == in[VI(n)] && in[0] == in[KI(n)]) {
        /* self-attention: one GEMM for the three projections over all tokens, the kernels
         * packed side by side ([dq, NH | NH | NHv], a copy of 0.1% of the GEMM's work) */
        for (int r = 0; r < dq; r++) {
            float *row = packed + (size_t)r * W3;
            memcpy(row, w[0] + (size_t)r * NH, (size_t)NH * sizeof(float));
            memcpy(row + NH, w[1] + (size_t)r * NH, (size_t)NH * sizeof(float));
            memcpy(row + 2 * NH, w[2] + (size_t)r * NHv, (size_t)NHv * sizeof(float));
        }
        sc_gemm_f32(0, 0, batch * T, W3, dq, 1.0f, in[0], dq, packed, W3, 0.0f, Q, W3);
        K = Q + NH;
        V = Q + 2 * NH;
        ldq = ldk = ldv = W3;
    } else {
        K = Q + (size_t)batch * T * NH;
        V = K + (size_t)batch * S * NH;
        sc_gemm_f32(0, 0, batch * T, NH, dq, 1.0f, in[0], dq, w[0], NH, 0.0f, Q, NH);
        sc_gemm_f32(0, 0, batch * S, NH, dk, 1.0f, in[KI(n)], dk, w[1], NH, 0.0f, K, NH);
        sc_gemm_f32(0, 0, batch * S, NHv, dv, 1.0f, in[VI(n)], dv, w[2], NHv, 0.0f, V, NHv);
    }
    job j = {.a = a,
             .T = T,
             .S = S,
             .N = N,
             .H = H,
             .Hv = Hv,
             .causal = n->use_causal_mask,
             .ldq = ldq,
             .ldk = ldk,
             .ldv = ldv,
             .scale = (float)(1.0 / sqrt((double)H)),
             .Q = Q,
             .K = K,
             .V = V,
             .bq = bias[0],
             .bk = bias[1],
             .bv = bias[2],
             .qm = masks ? masks[0] : NULL,
             .vm = masks ? masks[VI(n)] : NULL,
             .km = masks ? masks[KI(n)] : NULL,
             .P = P,
             .O = O};
    sc_parallel_for(batch * N, head, &j);
    /* out = O Wo + bo */
    const int M = batch * T, dout = (int)(sc_layer_var(L, 3 * per)->num_elements / NHv);
    if (bias[3])
        for (int r = 0; r < M; r++)
            memcpy(out + (size_t)r * dout, bias[3], (size_t)dout * sizeof(float));
    sc_gemm_f32(0, 0, M, dout, NHv, 1.0f, O, NHv, w[3], dout, bias[3] ? 1.0f : 0.0f, out, dout);
    return SC_OK;
}

static sc_status forward(const sc_layer *L, const sc_node *n, int batch, const float *const *in,
                         float *out, float *sc, sc_error *err) {
    (void)err;
    return sc_mha_forward_masked(L, n, batch, in, NULL, out, sc);
}

const sc_layer_ops sc_layer_multi_head_attention = {
    "MultiHeadAttention", init, infer, scratch, forward, NULL};
