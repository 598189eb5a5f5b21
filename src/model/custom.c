/* model/custom.c — a model written in C (sc_model_create_custom): one node whose layer calls the
 * user's forward function, with the model's variables as its named parameters. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "model/model_internal.h"

typedef struct {
    sc_custom_model_params p; /* strings and arrays below are owned copies or borrowed as noted */
    const float **vars;       /* [num_variables] data pointers, stable once created */
} custom;

static sc_status custom_infer(sc_layer *L, sc_node *n, sc_error *err) {
    (void)err;
    const custom *c = L->impl;
    n->out_shape = c->p.output_shape;
    return SC_OK;
}

static size_t custom_scratch(const sc_layer *L, const sc_node *n, int batch) {
    (void)n;
    const custom *c = L->impl;
    return (size_t)batch * c->p.scratch_floats;
}

static sc_status custom_forward(const sc_layer *L, const sc_node *n, int batch,
                                const float *const *in, float *out, float *scratch, sc_error *err) {
    (void)n;
    const custom *c = L->impl;
    sc_status s = c->p.forward(c->p.user, batch, in, c->vars, out, scratch, err);
    return s ? sc_error_prefix(err, s, "model '%s' (written in C)", L->name) : SC_OK;
}

static void custom_destroy(sc_layer *L) {
    custom *c = L->impl;
    if (!c) return;
    free(c->vars);
    free(c);
}

static const sc_layer_ops k_custom_ops = {"(C function)", NULL,           custom_infer,
                                          custom_scratch, custom_forward, custom_destroy};

sc_status sc_model_create_custom(const sc_custom_model_params *p, sc_model **out, sc_error *err) {
    *out = NULL;
    if (!p->forward || p->num_inputs == 0 || p->num_inputs > SC_MAX_NODE_INPUTS || !p->input_shapes
        || (p->num_variables && (!p->variable_names || !p->variable_shapes)))
        return sc_error_set(err, SC_INVALID_ARGUMENT,
                            "custom model '%s': a forward function, 1 to %d input shapes and a "
                            "name and shape per variable are required",
                            p->name ? p->name : "", SC_MAX_NODE_INPUTS);
    sc_model *m = calloc(1, sizeof *m);
    sc_layer *L = calloc(1, sizeof *L);
    custom *c = calloc(1, sizeof *c);
    sc_status s = SC_NO_MEMORY;
    if (!m || !L || !c) goto oom;
    m->name = strdup(p->name ? p->name : "custom");
    m->layers = malloc(sizeof *m->layers);
    m->tensors = calloc(p->num_inputs + 1, sizeof *m->tensors);
    m->inputs = malloc(p->num_inputs * sizeof *m->inputs);
    m->input_names = calloc(p->num_inputs, sizeof *m->input_names);
    m->outputs = malloc(sizeof *m->outputs);
    m->nodes = calloc(1, sizeof *m->nodes);
    if (!m->name || !m->layers || !m->tensors || !m->inputs || !m->input_names || !m->outputs
        || !m->nodes)
        goto oom;
    m->layers[m->num_layers++] = L;
    L->model = m;
    L->ops = &k_custom_ops;
    L->impl = c;
    c->p = *p;
    L->name = strdup(m->name);
    L->class_name = strdup("custom");
    L->weights_index = -1;
    if (!L->name || !L->class_name) goto oom;
    if (p->output_activation && sc_activation_from_name(p->output_activation, 0, &L->act) != 0) {
        s = sc_error_set(err, SC_INVALID_ARGUMENT,
                         "custom model '%s': unknown output activation "
                         "'%s'",
                         m->name, p->output_activation);
        goto fail;
    }
    /* One node: inputs 0..n-1 -> tensor n. */
    sc_node *node = &m->nodes[0];
    node->layer = L;
    node->num_inputs = (int)p->num_inputs;
    for (size_t i = 0; i < p->num_inputs; i++) {
        char nm[32];
        snprintf(nm, sizeof nm, i ? "x%zu" : "x", i);
        m->input_names[i] = strdup(p->input_names ? p->input_names[i] : nm);
        if (!m->input_names[i]) goto oom;
        m->tensors[i] = (sc_tensor_slot){p->input_shapes[i], -1, 0, 0, 0};
        m->inputs[i] = (int)i;
        node->inputs[i] = (int)i;
        node->in_shape[i] = p->input_shapes[i];
        m->num_inputs++;
    }
    node->out_shape = p->output_shape;
    node->output = (int)p->num_inputs;
    node->num_outputs = 1;
    m->tensors[p->num_inputs] = (sc_tensor_slot){p->output_shape, 0, 1, 0, 0};
    m->num_tensors = p->num_inputs + 1;
    m->num_nodes = 1;
    m->outputs[0] = (int)p->num_inputs;
    m->num_outputs = 1;
    for (size_t v = 0; v < p->num_variables; v++)
        if ((s = sc_layer_add_variable(L, p->variable_names[v], &p->variable_shapes[v], err)))
            goto fail;
    c->vars = calloc(p->num_variables ? p->num_variables : 1, sizeof *c->vars);
    if (!c->vars) goto oom;
    for (size_t v = 0; v < p->num_variables; v++) {
        c->vars[v] = m->vars[v].data;
        m->vars[v].h5_group = "";
    }
    /* The copies in c->p must not point at the caller's arrays after this call. */
    c->p.input_names = NULL;
    c->p.input_shapes = NULL;
    c->p.variable_names = NULL;
    c->p.variable_shapes = NULL;
    c->p.name = NULL;
    c->p.output_activation = NULL;
    *out = m;
    return SC_OK;
oom:
    s = sc_error_set(err, SC_NO_MEMORY, "custom model: out of memory");
fail:
    /* Once L is in the model, sc_model_free frees it and (through destroy) c. */
    if (!m || m->num_layers == 0) {
        free(L);
        free(c);
    }
    sc_model_free(m);
    return s;
}
