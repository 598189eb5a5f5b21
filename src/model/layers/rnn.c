/* SimpleRNN, LSTM, GRU and Bidirectional (Keras 2 semantics; recurrence in rnn_cell.c).
 *
 * Keys (FORMATS §3.6): an RNN's variables are its cell's, `<layer>/cell/kernel` in a Keras 2 TF
 * checkpoint and `layers/<lstm>/cell/vars/<i>` in a Keras 3 .weights.h5; Bidirectional adds
 * `forward_layer/` and `backward_layer/` in front. Bidirectional reverses the backward layer's
 * output sequence back into input time order before merging (tf_keras bidirectional.py). */
#include <string.h>

#include "core/error.h"
#include "model/layers/rnn_cell.h"
#include "model/mask.h"

static sc_status seq_input(const sc_layer *L, const sc_node *n, int64_t *T, int64_t *F,
                           sc_error *err) {
    if (n->num_inputs != 1 || n->in_shape[0].rank != 2 || n->in_shape[0].dims[0] <= 0
        || n->in_shape[0].dims[1] <= 0)
        return sc_error_set(err, SC_INVALID_ARGUMENT,
                            "layer '%s' (%s): expects one input of shape "
                            "[timesteps, features] with known sizes",
                            L->name, L->class_name);
    *T = n->in_shape[0].dims[0];
    *F = n->in_shape[0].dims[1];
    return SC_OK;
}

static sc_status check_in_dim(const sc_layer *L, int64_t F, sc_error *err) {
    if (sc_layer_var(L, 0)->shape.dims[0] != F)
        return sc_error_set(err, SC_INVALID_ARGUMENT,
                            "layer '%s' (%s): called on %lld features, "
                            "built for %lld",
                            L->name, L->class_name, (long long)F,
                            (long long)sc_layer_var(L, 0)->shape.dims[0]);
    return SC_OK;
}

/* ---- SimpleRNN / LSTM / GRU ---- */

static sc_status rnn_init(sc_layer *L, const json_t *cfg, sc_error *err) {
    sc_rnn_cfg *r = calloc(1, sizeof *r);
    if (!r) return sc_error_set(err, SC_NO_MEMORY, "out of memory");
    L->impl = r;
    return sc_rnn_parse(L, L->class_name, cfg, r, err);
}

static sc_status rnn_infer(sc_layer *L, sc_node *n, sc_error *err) {
    const sc_rnn_cfg *r = L->impl;
    int64_t T = 0, F = 0;
    sc_status s = seq_input(L, n, &T, &F, err);
    if (s) return s;
    if (L->num_vars == 0) {
        if ((s = sc_rnn_declare(L, r, "", "cell", F, err))) return s;
    } else if ((s = check_in_dim(L, F, err))) {
        return s;
    }
    n->out_shape = r->return_sequences ? (sc_shape){2, {T, r->units}} : (sc_shape){1, {r->units}};
    n->num_outputs = 1;
    if (r->return_state) {
        n->num_outputs = 1 + sc_rnn_num_states(r);
        for (int k = 1; k < n->num_outputs; k++) n->more_shapes[k - 1] = (sc_shape){1, {r->units}};
    }
    return SC_OK;
}

static size_t rnn_scratch(const sc_layer *L, const sc_node *n, int batch) {
    return sc_rnn_scratch(L->impl, batch, (int)n->in_shape[0].dims[0]);
}

static sc_status rnn_forward(const sc_layer *L, const sc_node *n, int batch, const float *const *in,
                             float *out, float *scratch, sc_error *err) {
    return sc_rnn_forward_masked(L, n, batch, in, NULL, out, scratch, err);
}

const sc_layer_ops sc_layer_simple_rnn = {"SimpleRNN", rnn_init,    rnn_infer,
                                          rnn_scratch, rnn_forward, NULL};
const sc_layer_ops sc_layer_lstm = {"LSTM", rnn_init, rnn_infer, rnn_scratch, rnn_forward, NULL};
const sc_layer_ops sc_layer_gru = {"GRU", rnn_init, rnn_infer, rnn_scratch, rnn_forward, NULL};

/* ---- Bidirectional ---- */

typedef enum { MERGE_CONCAT, MERGE_SUM, MERGE_MUL, MERGE_AVE, MERGE_NONE } merge_mode;

typedef struct {
    sc_rnn_cfg fw, bw;
    merge_mode merge;
    int nfw; /* variables of the forward layer */
} bidir;

/* {"class_name": "LSTM", "config": {...}} (Keras 2 and 3 both) into r. */
static sc_status parse_wrapped(const sc_layer *L, const json_t *obj, const char *key, sc_rnn_cfg *r,
                               sc_error *err) {
    const json_t *cn = json_object_get(obj, "class_name"), *cfg = json_object_get(obj, "config");
    if (!json_is_string(cn) || !json_is_object(cfg))
        return sc_error_set(err, SC_INVALID_ARGUMENT,
                            "layer '%s' (%s): option '%s' must be a "
                            "serialized layer with class_name and config",
                            L->name, L->class_name, key);
    return sc_rnn_parse(L, json_string_value(cn), cfg, r, err);
}

static sc_status bidir_init(sc_layer *L, const json_t *cfg, sc_error *err) {
    bidir *d = calloc(1, sizeof *d);
    if (!d) return sc_error_set(err, SC_NO_MEMORY, "out of memory");
    L->impl = d;
    sc_status s = parse_wrapped(L, json_object_get(cfg, "layer"), "layer", &d->fw, err);
    if (s) return s;
    const json_t *bl = json_object_get(cfg, "backward_layer");
    if (bl && !json_is_null(bl)) {
        if ((s = parse_wrapped(L, bl, "backward_layer", &d->bw, err))) return s;
        if (d->bw.go_backwards == d->fw.go_backwards)
            return sc_error_set(err, SC_INVALID_ARGUMENT,
                                "layer '%s' (Bidirectional): "
                                "backward_layer must have go_backwards opposite to layer's",
                                L->name);
    } else {
        d->bw = d->fw; /* Keras builds it from the same config with go_backwards flipped */
        d->bw.go_backwards = !d->fw.go_backwards;
    }
    if (d->bw.return_sequences != d->fw.return_sequences)
        return sc_error_set(err, SC_INVALID_ARGUMENT,
                            "layer '%s' (Bidirectional): forward and "
                            "backward layers differ in return_sequences",
                            L->name);
    const json_t *mm = json_object_get(cfg, "merge_mode");
    const char *m = json_is_string(mm)       ? json_string_value(mm)
                    : mm && json_is_null(mm) ? "None"
                                             : "concat";
    if (!strcmp(m, "concat"))
        d->merge = MERGE_CONCAT;
    else if (!strcmp(m, "sum"))
        d->merge = MERGE_SUM;
    else if (!strcmp(m, "mul"))
        d->merge = MERGE_MUL;
    else if (!strcmp(m, "ave"))
        d->merge = MERGE_AVE;
    else if (!strcmp(m, "None"))
        d->merge = MERGE_NONE;
    else
        return sc_error_set(err, SC_UNIMPLEMENTED,
                            "layer '%s' (Bidirectional): merge_mode '%s' is "
                            "not supported (concat, sum, mul, ave, None are)",
                            L->name, m);
    if (d->bw.return_state != d->fw.return_state || d->bw.kind != d->fw.kind)
        return sc_error_set(err, SC_INVALID_ARGUMENT,
                            "layer '%s' (Bidirectional): forward and "
                            "backward layers differ in class or return_state",
                            L->name);
    if (d->merge != MERGE_CONCAT && d->merge != MERGE_NONE && d->fw.units != d->bw.units)
        return sc_error_set(err, SC_INVALID_ARGUMENT,
                            "layer '%s' (Bidirectional): merge_mode '%s' "
                            "needs equal units in both directions",
                            L->name, m);
    return SC_OK;
}

static sc_status bidir_infer(sc_layer *L, sc_node *n, sc_error *err) {
    bidir *d = L->impl;
    int64_t T = 0, F = 0;
    sc_status s = seq_input(L, n, &T, &F, err);
    if (s) return s;
    if (L->num_vars == 0) {
        if ((s = sc_rnn_declare(L, &d->fw, "forward_layer/", "forward_layer/cell", F, err)))
            return s;
        d->nfw = (int)L->num_vars;
        if ((s = sc_rnn_declare(L, &d->bw, "backward_layer/", "backward_layer/cell", F, err)))
            return s;
    } else if ((s = check_in_dim(L, F, err))) {
        return s;
    }
    int64_t w = d->merge == MERGE_CONCAT ? d->fw.units + d->bw.units : d->fw.units;
    n->out_shape = d->fw.return_sequences ? (sc_shape){2, {T, w}} : (sc_shape){1, {w}};
    n->num_outputs = 1;
    if (d->merge == MERGE_NONE) {
        int64_t ub = d->bw.units;
        n->more_shapes[n->num_outputs++ - 1] =
            d->fw.return_sequences ? (sc_shape){2, {T, ub}} : (sc_shape){1, {ub}};
    }
    if (d->fw.return_state)
        for (int dir = 0; dir < 2; dir++)
            for (int k = 0; k < sc_rnn_num_states(&d->fw); k++)
                n->more_shapes[n->num_outputs++ - 1] =
                    (sc_shape){1, {dir ? d->bw.units : d->fw.units}};
    return SC_OK;
}

static size_t bidir_scratch(const sc_layer *L, const sc_node *n, int batch) {
    const bidir *d = L->impl;
    int T = (int)n->in_shape[0].dims[0];
    size_t a = sc_rnn_scratch(&d->fw, batch, T), b = sc_rnn_scratch(&d->bw, batch, T);
    size_t steps = d->fw.return_sequences ? (size_t)T : 1;
    size_t y2 = d->merge == MERGE_CONCAT || d->merge == MERGE_NONE
                    ? 0
                    : (size_t)batch * steps * (size_t)d->bw.units;
    return (a > b ? a : b) + y2;
}

/* out[0] the merged output (merge None: out[0] forward, out[1] backward), then the states
 * when return_state (forward's, then backward's). */
static sc_status bidir_forward_masked(const sc_layer *L, const sc_node *n, int batch,
                                      const float *const *in, const float *mask, float *const *out,
                                      float *scratch) {
    const bidir *d = L->impl;
    const int zero = d->fw.return_sequences; /* tf_keras force_zero_output_for_mask */
    int T = (int)n->in_shape[0].dims[0], F = (int)n->in_shape[0].dims[1];
    const sc_variable *fv = sc_layer_var(L, 0), *bv = sc_layer_var(L, (size_t)d->nfw);
    int uf = (int)d->fw.units, ub = (int)d->bw.units;
    int first_state = d->merge == MERGE_NONE ? 2 : 1, ns = sc_rnn_num_states(&d->fw);
    float *const *fs = d->fw.return_state ? out + first_state : NULL;
    float *const *bs = d->fw.return_state ? out + first_state + ns : NULL;
    if (d->merge == MERGE_NONE) {
        sc_rnn_run(&d->fw, fv, batch, T, F, in[0], mask, zero, out[0], uf, 0, scratch, fs);
        sc_rnn_run(&d->bw, bv, batch, T, F, in[0], mask, zero, out[1], ub, 1, scratch, bs);
        return SC_OK;
    }
    if (d->merge == MERGE_CONCAT) {
        sc_rnn_run(&d->fw, fv, batch, T, F, in[0], mask, zero, out[0], uf + ub, 0, scratch, fs);
        sc_rnn_run(&d->bw, bv, batch, T, F, in[0], mask, zero, out[0] + uf, uf + ub, 1, scratch,
                   bs);
        return SC_OK;
    }
    size_t steps = d->fw.return_sequences ? (size_t)T : 1,
           total = (size_t)batch * steps * (size_t)uf;
    float *y = out[0], *y2 = scratch, *work = scratch + total;
    sc_rnn_run(&d->fw, fv, batch, T, F, in[0], mask, zero, y, uf, 0, work, fs);
    sc_rnn_run(&d->bw, bv, batch, T, F, in[0], mask, zero, y2, ub, 1, work, bs);
    for (size_t i = 0; i < total; i++) {
        switch (d->merge) {
        case MERGE_SUM: y[i] += y2[i]; break;
        case MERGE_MUL: y[i] *= y2[i]; break;
        default: y[i] = (y[i] + y2[i]) / 2; break; /* ave */
        }
    }
    return SC_OK;
}

static sc_status bidir_forward(const sc_layer *L, const sc_node *n, int batch,
                               const float *const *in, float *out, float *scratch, sc_error *err) {
    (void)err;
    return bidir_forward_masked(L, n, batch, in, NULL, &out, scratch);
}

const sc_layer_ops sc_layer_bidirectional = {"Bidirectional", bidir_init,    bidir_infer,
                                             bidir_scratch,   bidir_forward, NULL};

/* ---- masks (model/mask.h) ---- */

int sc_rnn_returns_sequences(const sc_layer *L) {
    if (L->ops == &sc_layer_bidirectional) return ((const bidir *)L->impl)->fw.return_sequences;
    return ((const sc_rnn_cfg *)L->impl)->return_sequences;
}

int sc_rnn_output_masked(const sc_layer *L, int k) {
    if (!sc_rnn_returns_sequences(L)) return 0;
    if (L->ops == &sc_layer_bidirectional && ((const bidir *)L->impl)->merge == MERGE_NONE)
        return k < 2;
    return k == 0;
}

sc_status sc_layer_forward_multi(const sc_layer *L, const sc_node *n, int batch,
                                 const float *const *in, const float *mask, float *const *out,
                                 float *scratch, sc_error *err) {
    if (L->ops == &sc_layer_bidirectional)
        return bidir_forward_masked(L, n, batch, in, mask, out, scratch);
    if (L->ops != &sc_layer_simple_rnn && L->ops != &sc_layer_lstm && L->ops != &sc_layer_gru)
        return sc_error_set(err, SC_INVALID_ARGUMENT, "layer '%s' (%s): several outputs",
                            L->name, L->class_name);
    const sc_rnn_cfg *r = L->impl;
    sc_rnn_run(r, sc_layer_var(L, 0), batch, (int)n->in_shape[0].dims[0],
               (int)n->in_shape[0].dims[1], in[0], mask, 0, out[0], (int)r->units, 0, scratch,
               out + 1);
    return SC_OK;
}

sc_status sc_rnn_forward_masked(const sc_layer *L, const sc_node *n, int batch,
                                const float *const *in, const float *mask, float *out,
                                float *scratch, sc_error *err) {
    (void)err;
    if (L->ops == &sc_layer_bidirectional)
        return bidir_forward_masked(L, n, batch, in, mask, &out, scratch);
    const sc_rnn_cfg *r = L->impl;
    /* A lone RNN keeps zero_output_for_mask=False: a masked step repeats the previous output. */
    sc_rnn_run(r, sc_layer_var(L, 0), batch, (int)n->in_shape[0].dims[0],
               (int)n->in_shape[0].dims[1], in[0], mask, 0, out, (int)r->units, 0, scratch, NULL);
    return SC_OK;
}
