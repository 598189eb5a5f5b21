/* model/bind_graph.c — the model anywhere in a checkpoint, its variables through the graph.
 *
 * A key string names a variable only by the first path TensorFlow's breadth-first walk took to
 * it: `net/layer_with_weights-0/kernel` when the model was passed as net=, or
 * `trainable_variables/0` in a SavedModel whose list attributes were reached first. The graph
 * keeps every edge, so walking the model's own structure from the model's node reaches each
 * variable's node whatever its key, and the node's attribute gives the key. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "model/bind_graph.h"

enum { FORM_KERAS2, FORM_KERAS3, FORM_CUSTOM };

/* The variable's path below the model's node in the given form. */
static void var_path(const sc_model *m, const sc_variable *v, int form, char *buf, size_t cap) {
    if (form == FORM_CUSTOM) {
        snprintf(buf, cap, "%s", v->name);
    } else if (form == FORM_KERAS3) {
        const char *attr = !strcmp(v->name, "kernel")       ? "_kernel"
                           : !strcmp(v->name, "embeddings") ? "_embeddings"
                                                            : v->name;
        snprintf(buf, cap, "%s_operations/%d/%s", m->sequential ? "_functional/" : "",
                 m->layers[v->layer_index]->op_index, attr);
    } else {
        snprintf(buf, cap, "%s/%s", m->layers[v->layer_index]->ckpt_path, v->name);
    }
}

/* Follows path's edges from node; -1 when one is missing. */
static int32_t walk(const sc_object_graph *g, int32_t node, const char *path) {
    char comp[256];
    const char *p = path;
    while (*p && node >= 0) {
        const char *slash = strchr(p, '/');
        size_t n = slash ? (size_t)(slash - p) : strlen(p);
        if (n >= sizeof comp) return -1;
        memcpy(comp, p, n);
        comp[n] = '\0';
        node = sc_object_graph_child(g, (size_t)node, comp);
        p += n + (slash ? 1 : 0);
    }
    return node;
}

/* Every variable reached from node, with a key the bundle holds? Fills keys/nodes when given. */
static int holds_all(const sc_model *m, const sc_bundle *b, const sc_object_graph *g, int32_t node,
                     int form, const char **keys, int32_t *nodes) {
    char path[512];
    for (size_t i = 0; i < m->num_vars; i++) {
        var_path(m, &m->vars[i], form, path, sizeof path);
        int32_t v = walk(g, node, path);
        const char *k = v >= 0 ? sc_object_graph_variable_key(g, (size_t)v) : NULL;
        if (!k || !sc_bundle_find(b, k)) return 0;
        if (keys) keys[i] = k;
        if (nodes) nodes[i] = v;
    }
    return 1;
}

void sc_graph_binding_clear(sc_graph_binding *gb) {
    if (!gb) return;
    free(gb->keys);
    free(gb->nodes);
    memset(gb, 0, sizeof *gb);
}

sc_status sc_graph_binding_find(const sc_model *m, const sc_bundle *b, const sc_object_graph *g,
                                const char *model_root, sc_graph_binding *out, sc_error *err) {
    memset(out, 0, sizeof *out);
    size_t n = sc_object_graph_num_nodes(g);
    sc_status rc = SC_NOT_FOUND;
    int custom = m->num_vars && m->vars[0].layer_with_weights < 0;
    int forms[2] = {custom ? FORM_CUSTOM : FORM_KERAS2, custom ? -1 : FORM_KERAS3};
    int32_t *order = malloc(n * sizeof *order), *parent = malloc(n * sizeof *parent),
            *edge = malloc(n * sizeof *edge), *depth = malloc(n * sizeof *depth);
    out->keys = calloc(m->num_vars ? m->num_vars : 1, sizeof *out->keys);
    out->nodes = calloc(m->num_vars ? m->num_vars : 1, sizeof *out->nodes);
    if (!order || !parent || !edge || !depth || !out->keys || !out->nodes) {
        rc = sc_error_set(err, SC_NO_MEMORY, "%s: out of memory", sc_bundle_prefix(b));
        goto done;
    }
    size_t reached = sc_object_graph_bfs(g, order, parent, edge);
    if (!m->num_vars) goto done;
    if (model_root) {
        const char *r = model_root[0] == '/' ? model_root + 1 : model_root;
        int32_t node = sc_object_graph_lookup(g, r);
        if (node < 0) {
            rc = sc_error_set(err, SC_NOT_FOUND,
                              "%s: model root '%s' is not in the checkpoint's "
                              "object graph",
                              sc_bundle_prefix(b), model_root);
            goto done;
        }
        for (int f = 0; f < 2 && rc != SC_OK; f++)
            if (forms[f] >= 0 && holds_all(m, b, g, node, forms[f], out->keys, out->nodes)) {
                rc = SC_OK;
                out->root = node;
                sc_object_graph_path(g, parent, edge, node, out->root_path, sizeof out->root_path);
            }
        if (rc != SC_OK) {
            char p[512];
            var_path(m, &m->vars[0], forms[0], p, sizeof p);
            rc = sc_error_set(err, SC_NOT_FOUND,
                              "%s: model root '%s' does not hold all of the "
                              "model's %zu variables (looked for '%s' below it, ...)",
                              sc_bundle_prefix(b), model_root, m->num_vars, p);
        }
        goto done;
    }
    int32_t found = -1, found_depth = -1;
    for (size_t i = 0; i < reached; i++) {
        int32_t node = order[i];
        depth[node] = node == 0 ? 0 : depth[parent[node]] + 1;
        if (found >= 0 && depth[node] > found_depth) break;
        if (!sc_object_graph_node(g, (size_t)node)->num_children) continue;
        for (int f = 0; f < 2; f++) {
            if (forms[f] < 0 || !holds_all(m, b, g, node, forms[f], NULL, NULL)) continue;
            if (found < 0) {
                found = node;
                found_depth = depth[node];
                holds_all(m, b, g, node, forms[f], out->keys, out->nodes);
            } else if (found != node) {
                char a[256], c[256];
                sc_object_graph_path(g, parent, edge, found, a, sizeof a);
                sc_object_graph_path(g, parent, edge, node, c, sizeof c);
                rc = sc_error_set(err, SC_INVALID_ARGUMENT,
                                  "%s: two objects in the checkpoint hold all of the model's "
                                  "variables, '%s' and '%s': say which with --model-root",
                                  sc_bundle_prefix(b), a[0] ? a : "(root)", c[0] ? c : "(root)");
                goto done;
            }
            break;
        }
    }
    if (found >= 0) {
        rc = SC_OK;
        out->root = found;
        sc_object_graph_path(g, parent, edge, found, out->root_path, sizeof out->root_path);
    }
done:
    free(order);
    free(parent);
    free(edge);
    free(depth);
    if (rc != SC_OK) {
        free(out->keys);
        free(out->nodes);
        out->keys = NULL;
        out->nodes = NULL;
    }
    return rc;
}
