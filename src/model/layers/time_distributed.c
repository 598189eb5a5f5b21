/* TimeDistributed: the wrapped layer applied to every timestep, i.e. to [B*T, ...] as one batch
 * (every supported inner layer treats batch rows independently, so this equals Keras' per-step
 * loop). The inner layer is a private sc_layer; its variables are the wrapper's, keyed
 * `<layer>/layer/kernel` (Keras 2 TF checkpoint) and `layers/<time_distributed>/layer/vars/<i>`
 * (Keras 3 .weights.h5), FORMATS §3.6. The inner activation moves to the wrapper, so the runner
 * applies it (and keeps its logits) as for any layer. */
#include <stdio.h>
#include <string.h>

#include "core/error.h"
#include "model/layers/layers.h"

typedef struct {
    sc_layer inner;
} tdist;

static void destroy(sc_layer *L) {
    tdist *d = L->impl;
    if (!d) return;
    sc_layer *I = &d->inner;
    if (I->ops && I->ops->destroy)
        I->ops->destroy(I);
    else
        free(I->impl);
    free(I->name);
    free(I->class_name);
    free(d);
}

static sc_status init(sc_layer *L, const json_t *cfg, sc_error *err) {
    tdist *d = calloc(1, sizeof *d);
    if (!d) return sc_error_set(err, SC_NO_MEMORY, "out of memory");
    L->impl = d;
    const json_t *obj = json_object_get(cfg, "layer");
    const json_t *cn = json_object_get(obj, "class_name"), *icfg = json_object_get(obj, "config");
    if (!json_is_string(cn) || !json_is_object(icfg))
        return sc_error_set(err, SC_INVALID_ARGUMENT,
                            "layer '%s' (TimeDistributed): option 'layer' "
                            "must be a serialized layer with class_name and config",
                            L->name);
    const char *cls = json_string_value(cn);
    const sc_layer_ops *ops = sc_layer_lookup(cls);
    if (!ops || ops == &sc_layer_time_distributed || ops == &sc_layer_bidirectional
        || ops == &sc_layer_lstm || ops == &sc_layer_gru || ops == &sc_layer_simple_rnn)
        return sc_error_set(err, SC_UNIMPLEMENTED,
                            "layer '%s' (TimeDistributed): wrapped class '%s' "
                            "is not supported",
                            L->name, cls);
    const json_t *nm = json_object_get(icfg, "name");
    sc_layer *I = &d->inner;
    I->ops = ops;
    I->model = L->model;
    I->index = L->index;
    I->weights_index = -1;
    I->parent = L->parent;
    I->name = strdup(json_is_string(nm) ? json_string_value(nm) : L->name);
    I->class_name = strdup(cls);
    if (!I->name || !I->class_name) return sc_error_set(err, SC_NO_MEMORY, "out of memory");
    if (ops->init) {
        sc_status s = ops->init(I, icfg, err);
        if (s) return sc_error_prefix(err, s, "layer '%s' (TimeDistributed)", L->name);
    }
    L->act = I->act;
    I->act = SC_ACT_LINEAR;
    return SC_OK;
}

/* The inner call: the outer shapes without the time axis. */
static sc_status inner_node(const sc_layer *L, const sc_node *n, sc_node *in, sc_error *err) {
    const tdist *d = L->impl;
    const sc_shape *s = &n->in_shape[0];
    if (n->num_inputs != 1 || s->rank < 2 || s->dims[0] <= 0)
        return sc_error_set(err, SC_INVALID_ARGUMENT,
                            "layer '%s' (TimeDistributed): expects one "
                            "input of rank >= 2 with a known number of timesteps",
                            L->name);
    memset(in, 0, sizeof *in);
    in->layer = (sc_layer *)&d->inner;
    in->num_inputs = 1;
    in->in_shape[0].rank = s->rank - 1;
    for (int i = 1; i < s->rank; i++) in->in_shape[0].dims[i - 1] = s->dims[i];
    in->out_shape.rank = n->out_shape.rank - 1;
    for (int i = 1; i < n->out_shape.rank; i++) in->out_shape.dims[i - 1] = n->out_shape.dims[i];
    return SC_OK;
}

static sc_status infer(sc_layer *L, sc_node *n, sc_error *err) {
    tdist *d = L->impl;
    sc_layer *I = &d->inner;
    sc_node in;
    n->out_shape.rank = 1; /* inner_node strips the time axis of both shapes */
    sc_status s = inner_node(L, n, &in, err);
    if (s) return s;
    size_t before = I->num_vars;
    if ((s = I->ops->infer(I, &in, err))) return s;
    if (in.out_shape.rank + 1 > SC_MAX_DIMS)
        return sc_error_set(err, SC_INVALID_ARGUMENT,
                            "layer '%s' (TimeDistributed): output rank "
                            "too large",
                            L->name);
    n->out_shape.rank = in.out_shape.rank + 1;
    n->out_shape.dims[0] = n->in_shape[0].dims[0];
    for (int i = 0; i < in.out_shape.rank; i++) n->out_shape.dims[i + 1] = in.out_shape.dims[i];
    if (before == 0 && I->num_vars > 0) {
        /* The inner layer's variables become the wrapper's, named by their checkpoint path. */
        L->first_var = I->first_var;
        L->num_vars = I->num_vars;
        for (size_t i = 0; i < I->num_vars; i++) {
            sc_variable *v = sc_layer_var(I, i);
            char name[256];
            snprintf(name, sizeof name, "layer/%s", v->name);
            char *nn = strdup(name);
            if (!nn) return sc_error_set(err, SC_NO_MEMORY, "out of memory");
            free((void *)v->name);
            v->name = nn;
            v->layer = L->name;
            v->h5_sub = "layer";
        }
    }
    return SC_OK;
}

static size_t scratch(const sc_layer *L, const sc_node *n, int batch) {
    const tdist *d = L->impl;
    sc_node in;
    if (!d->inner.ops->scratch_floats || inner_node(L, n, &in, NULL)) return 0;
    return d->inner.ops->scratch_floats(&d->inner, &in, batch * (int)n->in_shape[0].dims[0]);
}

static sc_status forward(const sc_layer *L, const sc_node *n, int batch, const float *const *in,
                         float *out, float *scr, sc_error *err) {
    const tdist *d = L->impl;
    sc_node inn;
    sc_status s = inner_node(L, n, &inn, err);
    if (s) return s;
    return d->inner.ops->forward(&d->inner, &inn, batch * (int)n->in_shape[0].dims[0], in, out, scr,
                                 err);
}

const sc_layer_ops sc_layer_time_distributed = {"TimeDistributed", init,    infer,
                                                scratch,           forward, destroy};
