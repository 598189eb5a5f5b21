/* model/free_dims.c — inputs with free dimensions (batch_input_shape [null, null]: text and
 * sequence models). The graph is built with free dims at a placeholder size; before a run the
 * data's sizes replace it and every node's shape is inferred again, in the same order and with
 * the same per-layer call counting as when the model was built, so layers that keep a call's
 * geometry (convolutions, pooling) take the new one and shared layers still insist on one. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "model/model_internal.h"

int sc_model_has_free_dims(const sc_model *m) { return m->input_decl != NULL; }

static void shape_py(const sc_shape *s, char *buf, size_t cap) {
    size_t len = (size_t)snprintf(buf, cap, "(");
    for (int i = 0; i < s->rank && len < cap; i++) {
        if (s->dims[i] < 0)
            len += (size_t)snprintf(buf + len, cap - len, "%sNone", i ? ", " : "");
        else
            len += (size_t)snprintf(buf + len, cap - len, "%s%lld", i ? ", " : "",
                                    (long long)s->dims[i]);
    }
    if (len < cap) snprintf(buf + len, cap - len, s->rank == 1 ? ",)" : ")");
}

/* Every node's shapes from the input tensors' shapes, as the builder computed them. */
static sc_status reinfer(sc_model *m, sc_error *err) {
    for (size_t l = 0; l < m->num_layers; l++) m->layers[l]->num_nodes = 0;
    for (size_t i = 0; i < m->num_nodes; i++) {
        sc_node *n = &m->nodes[i];
        for (int k = 0; k < n->num_inputs; k++) n->in_shape[k] = m->tensors[n->inputs[k]].shape;
        sc_status s = n->layer->ops->infer(n->layer, n, err);
        if (s) return s;
        for (int k = 0; k < n->num_outputs; k++)
            m->tensors[n->output + k].shape = *sc_node_out_shape(n, k);
        n->layer->num_nodes++;
    }
    /* Nested models' calls are counted on the container by the builder; nothing reads them after
     * the build, so their counts may stay as the loop left them. */
    return SC_OK;
}

sc_status sc_model_set_input_shapes(sc_model *m, const sc_shape *shapes, sc_error *err) {
    if (!m->input_decl) {
        for (size_t i = 0; i < m->num_inputs; i++)
            if (!sc_shape_equal(&shapes[i], &m->tensors[m->inputs[i]].shape)) {
                char a[128], b[128];
                shape_py(&shapes[i], a, sizeof a);
                shape_py(&m->tensors[m->inputs[i]].shape, b, sizeof b);
                return sc_error_set(err, SC_INVALID_ARGUMENT,
                                    "input layer '%s' takes examples of "
                                    "shape %s, the data has %s",
                                    m->input_names[i], b, a);
            }
        return SC_OK;
    }
    int same = 1;
    for (size_t i = 0; i < m->num_inputs; i++) {
        const sc_shape *d = &m->input_decl[i], *g = &shapes[i];
        int ok = g->rank == d->rank;
        for (int k = 0; ok && k < d->rank; k++)
            ok = g->dims[k] > 0 && (d->dims[k] < 0 || d->dims[k] == g->dims[k]);
        if (!ok) {
            char a[128], b[128];
            shape_py(g, a, sizeof a);
            shape_py(d, b, sizeof b);
            return sc_error_set(err, SC_INVALID_ARGUMENT,
                                "input layer '%s' takes examples of "
                                "shape %s (None: any size), the data has %s",
                                m->input_names[i], b, a);
        }
        same = same && sc_shape_equal(g, &m->tensors[m->inputs[i]].shape);
    }
    if (same) return SC_OK;
    sc_shape *old = malloc(m->num_inputs * sizeof *old); /* only when the shapes change */
    if (!old) return sc_error_set(err, SC_NO_MEMORY, "out of memory");
    for (size_t i = 0; i < m->num_inputs; i++) old[i] = m->tensors[m->inputs[i]].shape;
    for (size_t i = 0; i < m->num_inputs; i++) m->tensors[m->inputs[i]].shape = shapes[i];
    m->shape_gen++;
    sc_status s = reinfer(m, err);
    if (s == SC_OK) {
        free(old);
        return SC_OK;
    }
    /* Put the shapes that worked back, so the model stays usable. */
    char a[128];
    shape_py(&shapes[0], a, sizeof a);
    sc_error_prefix(err, s, "model '%s' cannot run on inputs of shape %s (input layer '%s')",
                    m->name ? m->name : "?", a, m->input_names[0]);
    for (size_t i = 0; i < m->num_inputs; i++) m->tensors[m->inputs[i]].shape = old[i];
    reinfer(m, NULL);
    free(old);
    return s;
}
