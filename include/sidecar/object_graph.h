/* sidecar/object_graph.h — the TrackableObjectGraph of a TF2 object-based checkpoint
 * (the `_CHECKPOINTABLE_OBJECT_GRAPH` entry, FORMATS §3.2).
 *
 * TensorFlow saves each variable once, under the first path by which a breadth-first walk from
 * the root (node 0) reaches it. The graph records that walk: each node lists its named children,
 * the tensors it saved (attributes, with their table keys) and, for optimizers, which node holds
 * which slot of which variable. Walking `children` by `local_name` from node 0 and reading
 * `checkpoint_key` maps a model structure onto table keys without relying on naming rules.
 *
 * Design: sc_object_graph_parse decodes the whole message once into plain read-only structs that
 * the handle owns (one allocation); nothing points into the caller's bytes, which may be freed
 * right after the call. Every node id found in the graph (children, slot variables) is checked
 * to be a valid index into the node array, so callers may follow ids without checking them.
 *
 * Strings are copied and NUL-terminated; proto strings may contain NUL bytes, so the *_len
 * fields are authoritative. Absent strings are "" (proto3 default), never NULL.
 *
 * Errors: bytes that are not a well-formed TrackableObjectGraph (truncated, bad varint, wrong
 * wire type for a known field, node id out of range, no root node) are SC_DATA_LOSS naming the
 * source and the node. Unknown fields are skipped, as protobuf does.
 */
#ifndef SIDECAR_OBJECT_GRAPH_H
#define SIDECAR_OBJECT_GRAPH_H

#include <stddef.h>
#include <stdint.h>

#include "sidecar/checkpoint.h"
#include "sidecar/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The bundle key holding the serialized graph (a DT_STRING scalar). */
#define SC_OBJECT_GRAPH_KEY "_CHECKPOINTABLE_OBJECT_GRAPH"

/* ObjectReference: a named edge to another node. */
typedef struct sc_og_child {
    int32_t node_id;        /* 0 <= node_id < number of nodes */
    const char *local_name; /* edge name, e.g. "layer_with_weights-0", "kernel", "optimizer" */
    size_t local_name_len;
} sc_og_child;

/* SerializedTensor: a tensor this node saved. Variables have one, named "VARIABLE_VALUE". */
typedef struct sc_og_attribute {
    const char *name; /* "VARIABLE_VALUE", "ITERATOR_STATE", ... */
    size_t name_len;
    const char *full_name; /* graph name of the variable, e.g. "dense/kernel" (may be "") */
    size_t full_name_len;
    const char *checkpoint_key; /* the bundle table key */
    size_t checkpoint_key_len;
    int optional_restore; /* 0 or 1 */
} sc_og_attribute;

/* SlotVariableReference: node slot_variable_node_id holds slot `slot_name` ("m", "v",
 * "momentum", ...) of the variable at original_variable_node_id. Listed on the optimizer. */
typedef struct sc_og_slot {
    int32_t original_variable_node_id; /* valid node index */
    const char *slot_name;
    size_t slot_name_len;
    int32_t slot_variable_node_id; /* valid node index */
} sc_og_slot;

typedef struct sc_og_node {
    const sc_og_child *children;
    size_t num_children;
    const sc_og_attribute *attributes;
    size_t num_attributes;
    const sc_og_slot *slot_variables;
    size_t num_slot_variables;
    const char *registered_saver_name; /* RegisteredSaver.name, "" when absent */
    size_t registered_saver_name_len;
    int has_checkpoint_values; /* BoolValue wrapper: -1 absent, else 0 or 1 */
} sc_og_node;

typedef struct sc_object_graph sc_object_graph;

/* Decodes a serialized TrackableObjectGraph. `name` (e.g. the .index path) is used in messages
 * only and may be NULL. On success *out is a new graph (sc_object_graph_free). Returns
 * SC_DATA_LOSS for malformed bytes (see above), SC_NO_MEMORY. On error *out is NULL. */
sc_status sc_object_graph_parse(const void *data, size_t size, const char *name,
                                sc_object_graph **out, sc_error *err);

/* Reads and decodes the bundle's _CHECKPOINTABLE_OBJECT_GRAPH entry (data CRC verified).
 * SC_NOT_FOUND when the bundle has no such entry (a TF1 name-based checkpoint); SC_DATA_LOSS
 * when it is not a string scalar or does not decode; read errors as sc_bundle_read. */
sc_status sc_object_graph_read(sc_bundle *b, sc_object_graph **out, sc_error *err);

void sc_object_graph_free(sc_object_graph *g); /* NULL is fine */

/* Number of nodes (>= 1: node 0 is the root). */
size_t sc_object_graph_num_nodes(const sc_object_graph *g);
/* Node i, i < sc_object_graph_num_nodes(g). Valid until sc_object_graph_free. */
const sc_og_node *sc_object_graph_node(const sc_object_graph *g, size_t i);

/* The id of the first child of `node` whose local_name equals name (NUL-terminated), or -1.
 * node must be a valid index. */
int32_t sc_object_graph_child(const sc_object_graph *g, size_t node, const char *name);

/* Follows a '/'-separated path of local names from the root ("optimizer/iter"), or -1 when an
 * edge is missing. Edge names containing '/' cannot be reached this way (use _child). */
int32_t sc_object_graph_lookup(const sc_object_graph *g, const char *path);

/* ---- walking the graph as TensorFlow does ------------------------------------------------- */

/* The breadth-first walk from the root (children in stored order) by which TensorFlow names
 * keys (FORMATS §3.1). order[], parent[] and edge[] are caller arrays of
 * sc_object_graph_num_nodes(g) entries: order receives the node ids in visiting order (the
 * return value says how many were reached); parent[n]/edge[n] the node and child index of the
 * first edge reaching n (-1 for the root and for nodes never reached). */
size_t sc_object_graph_bfs(const sc_object_graph *g, int32_t *order, int32_t *parent,
                           int32_t *edge);

/* The first breadth-first path to node ("net/optimizer"; "" for the root), from the arrays of
 * sc_object_graph_bfs, written into buf (always NUL-terminated, cut short at cap). Returns 0,
 * or -1 when the node is not reachable. */
int sc_object_graph_path(const sc_object_graph *g, const int32_t *parent, const int32_t *edge,
                         int32_t node, char *buf, size_t cap);

/* The table key of node's "VARIABLE_VALUE" attribute (a variable), or NULL. */
const char *sc_object_graph_variable_key(const sc_object_graph *g, size_t node);

#ifdef __cplusplus
}
#endif
#endif
