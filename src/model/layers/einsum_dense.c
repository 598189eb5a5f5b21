/* EinsumDense (Keras 2.15 tf_keras/layers/core/einsum_dense.py, Keras 3 the same math):
 *   y = act(einsum(equation, x, kernel) + bias)
 * Supported: the equations that are one matrix product, which covers those MultiHeadAttention
 * builds and the common user ones (ab,bc->ac  abc,cd->abd  abc,cde->abde  abcd,cde->abe
 * ...b,bc->...c): the input is [free..., contracted...], the output [free..., new...] with the
 * free letters in the input's order, the kernel [contracted..., new...] (or [new...,
 * contracted...], read transposed). Anything else (a kernel letter shared with the output, an
 * input axis summed away, permuted output axes, an ellipsis on the right) is refused by name.
 * Shapes follow Keras' _analyze_split_string: the kernel takes the input's contracted dims and
 * the output_shape's new dims; the bias covers the output from its first bias axis on, 1 on the
 * axes not in bias_axes. */
#include <string.h>

#include "core/error.h"
#include "model/layers/layers.h"
#include "tensor/gemm.h"

#define MAXL 12

typedef struct {
    char in[MAXL + 1], w[MAXL + 1], out[MAXL + 1], bias_axes[MAXL + 1];
    int left_elided, has_bias, trans_b;
    int n_free, n_con, n_new; /* letters of each kind in the explicit specs */
    int64_t partial[MAXL];    /* output_shape from the config, -1 for null */
    int n_partial;
    /* from infer: per-example output dims and the bias' reach */
    int out_rank;
    int64_t out_dims[SC_MAX_DIMS];
    int bias_first;                   /* first per-example output axis the bias covers */
    int64_t bias_stride[SC_MAX_DIMS]; /* per output axis from bias_first: 0 where broadcast */
    int64_t bias_tail;                /* elements of one output example from bias_first on */
    int64_t K, N;                     /* contracted and new sizes */
} einsum;

sc_status sc_cfg_dims(const sc_layer *L, const json_t *cfg, const char *key, int max, int64_t *out,
                      int *n, sc_error *err) {
    const json_t *v = json_object_get(cfg, key);
    *n = 0;
    if (!v || json_is_null(v)) return SC_OK;
    if (json_is_integer(v)) {
        out[(*n)++] = json_integer_value(v);
    } else if (json_is_array(v) && json_array_size(v) <= (size_t)max) {
        for (size_t i = 0; i < json_array_size(v); i++) {
            const json_t *e = json_array_get(v, i);
            if (json_is_null(e))
                out[(*n)++] = -1;
            else if (json_is_integer(e))
                out[(*n)++] = json_integer_value(e);
            else
                goto bad;
        }
    } else {
        goto bad;
    }
    for (int i = 0; i < *n; i++)
        if (out[i] == 0 || out[i] < -1 || out[i] >= SC_MAX_DIM) goto bad;
    return SC_OK;
bad:
    return sc_error_set(err, SC_INVALID_ARGUMENT,
                        "layer '%s' (%s): option '%s' must be an integer or a list of at most %d "
                        "positive integers or nulls",
                        L->name, L->class_name, key, max);
}

static int letters_ok(const char *s) {
    for (const char *p = s; *p; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z'))) return 0;
        if (strchr(p + 1, *p)) return 0; /* a letter twice in one operand */
    }
    return 1;
}

/* Splits "in,w->out" (with an optional "..." leading both in and out). */
static int split(einsum *e, const char *eq) {
    const char *comma = strchr(eq, ','), *arrow = strstr(eq, "->");
    if (!comma || !arrow || arrow < comma) return 0;
    size_t li = (size_t)(comma - eq), lw = (size_t)(arrow - comma - 1), lo = strlen(arrow + 2);
    const char *in = eq, *out = arrow + 2;
    if (li >= 3 && !strncmp(in, "...", 3) && lo >= 3 && !strncmp(out, "...", 3)) {
        e->left_elided = 1;
        in += 3, li -= 3, out += 3, lo -= 3;
    }
    if (!li || !lw || !lo || li > MAXL || lw > MAXL || lo > MAXL) return 0;
    memcpy(e->in, in, li);
    memcpy(e->w, comma + 1, lw);
    memcpy(e->out, out, lo);
    e->in[li] = e->w[lw] = e->out[lo] = '\0';
    return letters_ok(e->in) && letters_ok(e->w) && letters_ok(e->out);
}

/* The letters' roles, or 0 when the product is not one GEMM. */
static int classify(einsum *e) {
    int li = (int)strlen(e->in), lw = (int)strlen(e->w), lo = (int)strlen(e->out);
    int i = 0;
    while (i < li && strchr(e->out, e->in[i]) && !strchr(e->w, e->in[i])) i++;
    e->n_free = i;
    while (i < li && strchr(e->w, e->in[i]) && !strchr(e->out, e->in[i])) i++;
    e->n_con = i - e->n_free;
    if (i != li || e->n_con == 0) return 0;
    if (!e->left_elided && e->n_free == 0) return 0; /* the batch axis must be free */
    e->n_new = lo - e->n_free;
    if (e->n_new < 0 || strncmp(e->out, e->in, (size_t)e->n_free)) return 0;
    for (int k = e->n_free; k < lo; k++)
        if (strchr(e->in, e->out[k])) return 0;
    if (lw != e->n_con + e->n_new) return 0;
    const char *con = e->in + e->n_free, *nw = e->out + e->n_free;
    if (!strncmp(e->w, con, (size_t)e->n_con) && !strncmp(e->w + e->n_con, nw, (size_t)e->n_new))
        e->trans_b = 0;
    else if (!strncmp(e->w, nw, (size_t)e->n_new)
             && !strncmp(e->w + e->n_new, con, (size_t)e->n_con))
        e->trans_b = 1;
    else
        return 0;
    return 1;
}

static sc_status init(sc_layer *L, const json_t *cfg, sc_error *err) {
    einsum *e = calloc(1, sizeof *e);
    if (!e) return sc_error_set(err, SC_NO_MEMORY, "out of memory");
    L->impl = e;
    const char *eq = NULL, *bias = NULL;
    sc_status s;
    if ((s = sc_cfg_str(L, cfg, "equation", NULL, &eq, err))
        || (s = sc_cfg_str(L, cfg, "bias_axes", NULL, &bias, err))
        || (s = sc_cfg_dims(L, cfg, "output_shape", MAXL, e->partial, &e->n_partial, err)))
        return s;
    if (!eq)
        return sc_error_set(err, SC_INVALID_ARGUMENT, "layer '%s' (EinsumDense): no equation",
                            L->name);
    if (!split(e, eq) || !classify(e))
        return sc_error_set(err, SC_UNIMPLEMENTED,
                            "layer '%s' (EinsumDense): equation '%s' is not supported (supported: "
                            "one matrix product, input [free..., contracted...] -> output "
                            "[free..., new...], kernel [contracted..., new...], e.g. abc,cde->abde "
                            "or ...b,bc->...c)",
                            L->name, eq);
    if (bias && *bias) {
        if (strlen(bias) > MAXL || !letters_ok(bias))
            return sc_error_set(err, SC_INVALID_ARGUMENT,
                                "layer '%s' (EinsumDense): bad bias_axes '%s'", L->name, bias);
        for (const char *p = bias; *p; p++)
            if (!strchr(e->out, *p))
                return sc_error_set(err, SC_INVALID_ARGUMENT,
                                    "layer '%s' (EinsumDense): bias axis '%c' is not in the "
                                    "output spec '%s'",
                                    L->name, *p, e->out);
        strcpy(e->bias_axes, bias);
        e->has_bias = 1;
    }
    return sc_cfg_activation(L, cfg, err);
}

static sc_status infer(sc_layer *L, sc_node *n, sc_error *err) {
    einsum *e = L->impl;
    const sc_shape *x = &n->in_shape[0];
    int li = (int)strlen(e->in), lo = (int)strlen(e->out);
    /* per-example axes before the explicit ones (left ellipsis: Keras' elided - 1) */
    int pre = e->left_elided ? x->rank - li : 0;
    int want_partial = e->left_elided ? lo : lo - 1;
    if (n->num_inputs != 1 || pre < 0 || (!e->left_elided && x->rank != li - 1)
        || e->n_partial != want_partial)
        return sc_error_set(err, SC_INVALID_ARGUMENT,
                            "layer '%s' (EinsumDense): input of rank %d (with the batch) and "
                            "output_shape of %d dims do not fit equation %s%s,%s->%s%s",
                            L->name, x->rank + 1, e->n_partial, e->left_elided ? "..." : "", e->in,
                            e->w, e->left_elided ? "..." : "", e->out);
    /* explicit letter k of in/out sits at per-example axis pre + k - (batch letter ? 1 : 0) */
    int shift = e->left_elided ? pre : -1;
    e->out_rank = pre + lo + (e->left_elided ? 0 : -1);
    if (e->out_rank > SC_MAX_DIMS || e->out_rank < 1)
        return sc_error_set(err, SC_UNIMPLEMENTED, "layer '%s' (EinsumDense): output rank %d",
                            L->name, e->out_rank + 1);
    for (int a = 0; a < pre; a++) e->out_dims[a] = x->dims[a];
    int64_t K = 1, N = 1;
    for (int k = 0; k < lo; k++) {
        int axis = k + shift;
        int64_t p = e->partial[e->left_elided ? k : k - 1 < 0 ? 0 : k - 1];
        int64_t d;
        if (k < e->n_free) {
            if (axis < 0) continue; /* the batch letter */
            d = x->dims[axis];
            if (p > 0 && p != d)
                return sc_error_set(err, SC_INVALID_ARGUMENT,
                                    "layer '%s' (EinsumDense): output_shape says %lld at axis "
                                    "'%c', the input has %lld",
                                    L->name, (long long)p, e->out[k], (long long)d);
        } else {
            if (p < 0)
                return sc_error_set(err, SC_INVALID_ARGUMENT,
                                    "layer '%s' (EinsumDense): output_shape leaves the new axis "
                                    "'%c' unknown",
                                    L->name, e->out[k]);
            d = p;
            N *= d;
        }
        e->out_dims[axis] = d;
    }
    for (int k = e->n_free; k < li; k++) K *= x->dims[k + shift];
    e->K = K;
    e->N = N;
    if (e->has_bias) {
        int first = lo;
        for (const char *c = e->bias_axes; *c; c++) {
            int k = (int)(strchr(e->out, *c) - e->out);
            if (k < first) first = k;
        }
        if (first + shift < 0)
            return sc_error_set(err, SC_INVALID_ARGUMENT,
                                "layer '%s' (EinsumDense): a bias along the batch axis", L->name);
        e->bias_first = first + shift;
        e->bias_tail = 1;
        int64_t stride = 1;
        for (int a = e->out_rank - 1; a >= e->bias_first; a--) {
            int k = a - shift;
            int on = strchr(e->bias_axes, e->out[k]) != NULL;
            e->bias_stride[a] = on ? stride : 0;
            if (on) stride *= e->out_dims[a];
            e->bias_tail *= e->out_dims[a];
        }
    }
    if (L->num_vars == 0) {
        sc_shape ks = {(int)strlen(e->w), {0}}, bs = {lo - e->bias_first + shift, {0}};
        for (int k = 0; k < ks.rank; k++) {
            const char *c = strchr(e->in, e->w[k]);
            ks.dims[k] = c ? x->dims[(c - e->in) + shift]
                           : e->out_dims[(strchr(e->out, e->w[k]) - e->out) + shift];
        }
        sc_status s = sc_layer_add_variable(L, "kernel", &ks, err);
        if (!s && e->has_bias) {
            for (int a = e->bias_first; a < e->out_rank; a++)
                bs.dims[a - e->bias_first] = e->bias_stride[a] ? e->out_dims[a] : 1;
            s = sc_layer_add_variable(L, "bias", &bs, err);
        }
        if (s) return s;
    } else if (sc_layer_var(L, 0)->num_elements != K * N) {
        return sc_error_set(err, SC_INVALID_ARGUMENT,
                            "layer '%s' (EinsumDense): called on a new input shape", L->name);
    }
    n->out_shape.rank = e->out_rank;
    for (int a = 0; a < e->out_rank; a++) n->out_shape.dims[a] = e->out_dims[a];
    return sc_check_shape(L, &n->out_shape, err);
}

static size_t scratch(const sc_layer *L, const sc_node *n, int batch) {
    (void)n;
    (void)batch;
    const einsum *e = L->impl;
    return e->has_bias ? (size_t)e->bias_tail : 0;
}

static sc_status forward(const sc_layer *L, const sc_node *n, int batch, const float *const *in,
                         float *out, float *sc, sc_error *err) {
    (void)err;
    const einsum *e = L->impl;
    const int64_t per = sc_shape_elems(&n->out_shape);
    const int K = (int)e->K, N = (int)e->N;
    const int M = (int)((int64_t)batch * per / N);
    float beta = 0.0f;
    if (e->has_bias) {
        /* the bias broadcast over the output's tail from its first axis, then one copy per row
         * of that tail: the GEMM adds onto it */
        const float *b = sc_layer_var(L, 1)->data;
        int64_t idx[SC_MAX_DIMS] = {0};
        for (int64_t j = 0; j < e->bias_tail; j++) {
            int64_t off = 0;
            for (int a = e->bias_first; a < e->out_rank; a++) off += idx[a] * e->bias_stride[a];
            sc[j] = b[off];
            for (int a = e->out_rank - 1; a >= e->bias_first; a--) {
                if (++idx[a] < e->out_dims[a]) break;
                idx[a] = 0;
            }
        }
        size_t rows = (size_t)batch * (size_t)per / (size_t)e->bias_tail;
        for (size_t r = 0; r < rows; r++)
            memcpy(out + r * (size_t)e->bias_tail, sc, (size_t)e->bias_tail * sizeof(float));
        beta = 1.0f;
    }
    const float *kernel = sc_layer_var(L, 0)->data;
    sc_gemm_f32(0, e->trans_b, M, N, K, 1.0f, in[0], K, kernel, e->trans_b ? K : N, beta, out, N);
    return SC_OK;
}

const sc_layer_ops sc_layer_einsum_dense = {"EinsumDense", init, infer, scratch, forward, NULL};
