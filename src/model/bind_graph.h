/* model/bind_graph.h — finding the model and its variables through the object graph
 * (FORMATS §3.1, §3.7). Internal to sc_model. */
#ifndef SC_MODEL_BIND_GRAPH_H
#define SC_MODEL_BIND_GRAPH_H

#include "model/model_internal.h"
#include "sidecar/object_graph.h"

typedef struct sc_graph_binding {
    int32_t root;        /* the model's node */
    char root_path[256]; /* its first breadth-first path, "" for the root */
    const char **keys;   /* [num_vars] each variable's table key (owned by the graph) */
    int32_t *nodes;      /* [num_vars] each variable's node */
} sc_graph_binding;

/* Finds the node whose subtree holds every variable of the model, by walking the model's own
 * structure (Keras 2 `layer_with_weights-K/.../kernel`, Keras 3 `_operations/N/_kernel`, a C
 * model's paths) from each node, shallowest first. model_root (a graph path, "" = the root) names
 * the node instead. SC_NOT_FOUND without a message when no node holds them all and model_root is
 * NULL (the caller then binds by key strings); SC_INVALID_ARGUMENT naming both when two distinct
 * nodes at the same depth hold them all; SC_NOT_FOUND naming the root when model_root is given
 * and does not hold them. On success free with sc_graph_binding_clear. */
sc_status sc_graph_binding_find(const sc_model *m, const sc_bundle *b, const sc_object_graph *g,
                                const char *model_root, sc_graph_binding *out, sc_error *err);
void sc_graph_binding_clear(sc_graph_binding *gb);

#endif
