/* Walking a TrackableObjectGraph the way TensorFlow does when it names keys (FORMATS §3.1):
 * breadth-first from the root, children in stored order; a node's key path is the first path
 * that reaches it. */
#include <stdlib.h>
#include <string.h>

#include "sidecar/object_graph.h"

size_t sc_object_graph_bfs(const sc_object_graph *g, int32_t *order, int32_t *parent,
                           int32_t *edge) {
    size_t n = sc_object_graph_num_nodes(g);
    for (size_t i = 0; i < n; i++) parent[i] = edge[i] = -1;
    /* order doubles as the queue; parent[] == -1 marks "not seen" except for the root. */
    size_t head = 0, tail = 0;
    order[tail++] = 0;
    while (head < tail) {
        int32_t id = order[head++];
        const sc_og_node *nd = sc_object_graph_node(g, (size_t)id);
        for (size_t c = 0; c < nd->num_children; c++) {
            int32_t k = nd->children[c].node_id;
            if (k == 0 || parent[k] >= 0) continue;
            parent[k] = id;
            edge[k] = (int32_t)c;
            order[tail++] = k;
        }
    }
    return tail;
}

int sc_object_graph_path(const sc_object_graph *g, const int32_t *parent, const int32_t *edge,
                         int32_t node, char *buf, size_t cap) {
    if (cap) buf[0] = '\0';
    if (node != 0 && parent[node] < 0) return -1;
    /* Collect the edges leaf-first, then write them root-first. */
    size_t depth = 0;
    for (int32_t k = node; k != 0; k = parent[k]) depth++;
    size_t len = 0;
    for (size_t d = depth; d > 0; d--) {
        int32_t k = node;
        for (size_t s = 1; s < d; s++) k = parent[k];
        const sc_og_child *c = &sc_object_graph_node(g, (size_t)parent[k])->children[edge[k]];
        size_t need = c->local_name_len + (len ? 1 : 0);
        if (len + need + 1 > cap) break;
        if (len) buf[len++] = '/';
        memcpy(buf + len, c->local_name, c->local_name_len);
        len += c->local_name_len;
        buf[len] = '\0';
    }
    return 0;
}

const char *sc_object_graph_variable_key(const sc_object_graph *g, size_t node) {
    const sc_og_node *nd = sc_object_graph_node(g, node);
    for (size_t i = 0; i < nd->num_attributes; i++)
        if (strcmp(nd->attributes[i].name, "VARIABLE_VALUE") == 0)
            return nd->attributes[i].checkpoint_key;
    return NULL;
}
