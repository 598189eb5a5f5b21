/* Merge layers: Add, Subtract, Multiply, Average, Maximum, Minimum and Concatenate (any axis
 * but the batch).
 *
 * The element-wise merges broadcast as Keras 2's _Merge does (tf_keras/layers/merging/
 * base_merge.py): inputs of lower rank get 1s inserted after the batch axis
 * (`tf.expand_dims(x, axis=1)` until the ranks agree), then the op broadcasts like NumPy:
 * EfficientNet's squeeze-excite multiplies [H,W,C] by [1,1,C]. */
#include <string.h>

#include "core/error.h"
#include "core/nanmath.h"
#include "model/layers/layers.h"

typedef enum { M_ADD, M_SUB, M_MUL, M_AVG, M_MAX, M_MIN } merge_op;

/* Input k's shape right-aligned to the output's rank (1s in front). */
static sc_shape aligned(const sc_shape *in, int rank) {
    sc_shape a = {rank, {0}};
    int pad = rank - in->rank;
    for (int d = 0; d < rank; d++) a.dims[d] = d < pad ? 1 : in->dims[d - pad];
    return a;
}

static sc_status merge_infer(sc_layer *L, sc_node *n, sc_error *err) {
    if (n->num_inputs < 2)
        return sc_error_set(err, SC_INVALID_ARGUMENT, "layer '%s' (%s): needs at least 2 inputs",
                            L->name, L->class_name);
    if (strcmp(L->class_name, "Subtract") == 0 && n->num_inputs != 2)
        return sc_error_set(err, SC_INVALID_ARGUMENT,
                            "layer '%s' (Subtract): needs exactly 2 inputs", L->name);
    int rank = 0;
    for (int i = 0; i < n->num_inputs; i++)
        if (n->in_shape[i].rank > rank) rank = n->in_shape[i].rank;
    sc_shape out = {rank, {0}};
    for (int d = 0; d < rank; d++) out.dims[d] = 1;
    for (int i = 0; i < n->num_inputs; i++) {
        sc_shape a = aligned(&n->in_shape[i], rank);
        for (int d = 0; d < rank; d++) {
            if (a.dims[d] == out.dims[d] || a.dims[d] == 1) continue;
            if (out.dims[d] == 1) {
                out.dims[d] = a.dims[d];
                continue;
            }
            char x[128], y[128];
            return sc_error_set(err, SC_INVALID_ARGUMENT,
                                "layer '%s' (%s): inputs of shapes %s and %s do not broadcast",
                                L->name, L->class_name, sc_shape_str(&n->in_shape[0], x, sizeof x),
                                sc_shape_str(&n->in_shape[i], y, sizeof y));
        }
    }
    n->out_shape = out;
    return SC_OK;
}

static float combine(merge_op op, float a, float b) {
    switch (op) {
    case M_ADD:
    case M_AVG:
        return a + b;
    case M_SUB:
        return a - b;
    case M_MUL:
        return a * b;
    case M_MAX:
        return sc_maxf(a, b);
    case M_MIN:
        return sc_minf(a, b);
    }
    return a;
}

/* out (k == 0: =, else op=) input k broadcast to the output shape, one example: an odometer over
 * the output coordinates moving the input offset by its strides (0 on broadcast axes). */
static void broadcast_apply(merge_op op, int k, const sc_shape *os, const sc_shape *is,
                            const float *x, float *out) {
    sc_shape a = aligned(is, os->rank);
    int64_t stride[SC_MAX_DIMS], idx[SC_MAX_DIMS] = {0}, s = 1;
    for (int d = os->rank - 1; d >= 0; d--) {
        stride[d] = a.dims[d] == 1 ? 0 : s;
        s *= a.dims[d];
    }
    int64_t total = sc_shape_elems(os), off = 0;
    for (int64_t i = 0; i < total; i++) {
        out[i] = k == 0 ? x[off] : combine(op, out[i], x[off]);
        for (int d = os->rank - 1; d >= 0; d--) {
            off += stride[d];
            if (++idx[d] < os->dims[d]) break;
            off -= stride[d] * os->dims[d];
            idx[d] = 0;
        }
    }
}

static sc_status merge_forward(const sc_layer *L, const sc_node *n, int batch,
                               const float *const *in, float *out, float *scratch, sc_error *err) {
    (void)scratch;
    (void)err;
    merge_op op = (merge_op)(intptr_t)L->impl;
    size_t total = (size_t)batch * (size_t)sc_shape_elems(&n->out_shape);
    int same = 1;
    for (int k = 0; k < n->num_inputs; k++) same &= sc_shape_equal(&n->in_shape[k], &n->out_shape);
    if (!same) {
        int64_t per = sc_shape_elems(&n->out_shape);
        for (int k = 0; k < n->num_inputs; k++) {
            int64_t per_in = sc_shape_elems(&n->in_shape[k]);
            for (int b = 0; b < batch; b++)
                broadcast_apply(op, k, &n->out_shape, &n->in_shape[k], in[k] + b * per_in,
                                out + b * per);
        }
        if (op == M_AVG)
            for (size_t i = 0; i < total; i++) out[i] /= (float)n->num_inputs;
        return SC_OK;
    }
    memcpy(out, in[0], total * sizeof(float));
    for (int k = 1; k < n->num_inputs; k++) {
        const float *x = in[k];
        switch (op) {
        case M_ADD:
        case M_AVG:
            for (size_t i = 0; i < total; i++) out[i] += x[i];
            break;
        case M_SUB:
            for (size_t i = 0; i < total; i++) out[i] -= x[i];
            break;
        case M_MUL:
            for (size_t i = 0; i < total; i++) out[i] *= x[i];
            break;
        case M_MAX:
            for (size_t i = 0; i < total; i++) out[i] = sc_maxf(out[i], x[i]);
            break;
        case M_MIN:
            for (size_t i = 0; i < total; i++) out[i] = sc_minf(out[i], x[i]);
            break;
        }
    }
    if (op == M_AVG)
        for (size_t i = 0; i < total; i++) out[i] /= (float)n->num_inputs;
    return SC_OK;
}

#define MERGE_INIT(fn, op)                                                                         \
    static sc_status fn(sc_layer *L, const json_t *cfg, sc_error *err) {                           \
        (void)cfg;                                                                                 \
        (void)err;                                                                                 \
        L->impl = (void *)(intptr_t)(op);                                                          \
        return SC_OK;                                                                              \
    }
MERGE_INIT(add_init, M_ADD)
MERGE_INIT(sub_init, M_SUB)
MERGE_INIT(mul_init, M_MUL)
MERGE_INIT(avg_init, M_AVG)
MERGE_INIT(max_init, M_MAX)
MERGE_INIT(min_init, M_MIN)

/* impl is an enum value, not memory */
static void no_free(sc_layer *L) { (void)L; }

/* ---- Concatenate ---- */

static sc_status concat_init(sc_layer *L, const json_t *cfg, sc_error *err) {
    int64_t axis;
    sc_status s = sc_cfg_int(L, cfg, "axis", -1, &axis, err);
    if (s) return s;
    L->impl = (void *)(intptr_t)axis;
    return SC_OK;
}

static int concat_axis(const sc_layer *L, int rank) {
    int64_t a = (int64_t)(intptr_t)L->impl;
    return (int)(a < 0 ? rank + a : a - 1); /* Keras' axis counts the batch dimension */
}

static sc_status concat_infer(sc_layer *L, sc_node *n, sc_error *err) {
    const sc_shape *s0 = &n->in_shape[0];
    int ax = concat_axis(L, s0->rank);
    if (n->num_inputs < 1 || ax < 0 || ax >= s0->rank)
        return sc_error_set(err, SC_INVALID_ARGUMENT,
                            "layer '%s' (Concatenate): bad axis %lld for "
                            "rank %d",
                            L->name, (long long)(intptr_t)L->impl, s0->rank + 1);
    n->out_shape = *s0;
    for (int i = 1; i < n->num_inputs; i++) {
        const sc_shape *s = &n->in_shape[i];
        int ok = s->rank == s0->rank;
        for (int d = 0; ok && d < s0->rank; d++) ok = d == ax || s->dims[d] == s0->dims[d];
        if (!ok) {
            char a[128], b[128];
            return sc_error_set(err, SC_INVALID_ARGUMENT,
                                "layer '%s' (Concatenate): shapes %s and "
                                "%s do not match outside the axis",
                                L->name, sc_shape_str(s0, a, sizeof a),
                                sc_shape_str(s, b, sizeof b));
        }
        n->out_shape.dims[ax] += s->dims[ax];
    }
    return SC_OK;
}

static sc_status concat_forward(const sc_layer *L, const sc_node *n, int batch,
                                const float *const *in, float *out, float *scratch, sc_error *err) {
    (void)scratch;
    (void)err;
    const int ax = concat_axis(L, n->out_shape.rank);
    int64_t outer = batch, inner_out = 1;
    for (int d = 0; d < ax; d++) outer *= n->out_shape.dims[d];
    for (int d = ax; d < n->out_shape.rank; d++) inner_out *= n->out_shape.dims[d];
    int64_t off = 0;
    for (int k = 0; k < n->num_inputs; k++) {
        int64_t inner = 1;
        for (int d = ax; d < n->in_shape[k].rank; d++) inner *= n->in_shape[k].dims[d];
        for (int64_t o = 0; o < outer; o++)
            memcpy(out + o * inner_out + off, in[k] + o * inner, (size_t)inner * sizeof(float));
        off += inner;
    }
    return SC_OK;
}

const sc_layer_ops sc_layer_add = {"Add", add_init, merge_infer, NULL, merge_forward, no_free};
const sc_layer_ops sc_layer_subtract = {"Subtract", sub_init,      merge_infer,
                                        NULL,       merge_forward, no_free};
const sc_layer_ops sc_layer_multiply = {"Multiply", mul_init,      merge_infer,
                                        NULL,       merge_forward, no_free};
const sc_layer_ops sc_layer_average = {"Average", avg_init,      merge_infer,
                                       NULL,      merge_forward, no_free};
const sc_layer_ops sc_layer_maximum = {"Maximum", max_init,      merge_infer,
                                       NULL,      merge_forward, no_free};
const sc_layer_ops sc_layer_minimum = {"Minimum", min_init,      merge_infer,
                                       NULL,      merge_forward, no_free};
const sc_layer_ops sc_layer_concatenate = {"Concatenate", concat_init,    concat_infer,
                                           NULL,          concat_forward, no_free};
