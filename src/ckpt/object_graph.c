/* TrackableObjectGraph decoding (FORMATS §3.2).
 *
 * Two passes over the same bytes: the first validates the wire structure and counts nodes,
 * edges, attributes, slots and string bytes; the second fills arrays sized from those counts.
 * This keeps the result in a handful of exact-size allocations and makes the fill pass unable
 * to overrun anything, whatever the input. Node ids are range-checked in the second pass, when
 * the node count is known.
 */
#include "sidecar/object_graph.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/pb.h"

/* A graph bigger than this is not something TensorFlow writes (a 1000-layer model's graph is a
 * few hundred KB); refusing it keeps a corrupt index entry from asking for gigabytes. */
#define OG_MAX_BYTES ((uint64_t)1 << 30)

struct sc_object_graph {
    size_t num_nodes;
    sc_og_node *nodes;
    sc_og_child *children;
    sc_og_attribute *attrs;
    sc_og_slot *slots;
    char *strings;
};

/* Counts (first pass) or fill cursors (second pass, g != NULL). */
typedef struct og_build {
    sc_object_graph *g;
    size_t nodes, children, attrs, slots, str;
    const char *name;
    sc_error *err;
} og_build;

static sc_status og_bad(og_build *b, size_t node, const char *what) {
    return sc_error_set(b->err, SC_DATA_LOSS, "%s: node %zu: %s", b->name, node, what);
}

/* Reserves (first pass) or copies (second pass) a NUL-terminated string. */
static const char *og_str(og_build *b, const uint8_t *s, size_t n) {
    if (!b->g) {
        b->str += n + 1; /* n is bounded by the input size; the sum cannot wrap */
        return "";
    }
    char *dst = b->g->strings + b->str;
    if (n) memcpy(dst, s, n);
    dst[n] = '\0';
    b->str += n + 1;
    return dst;
}

/* An int32 node id: protobuf truncates the varint to 32 bits; we then require a valid index. */
static int og_node_id(og_build *b, sc_pb_reader *r, int32_t *id) {
    uint64_t v;
    if (sc_pb_read_varint64(r, &v) != 0) return -1;
    *id = (int32_t)(uint32_t)v;
    if (b->g && (*id < 0 || (size_t)*id >= b->g->num_nodes)) return -2;
    return 0;
}

static sc_status og_child(og_build *b, size_t node, sc_pb_reader r) {
    sc_og_child c = {0, "", 0};
    uint32_t f;
    int w, rc;
    const uint8_t *s = NULL;
    size_t n = 0;
    int have_name = 0;
    while ((rc = sc_pb_next(&r, &f, &w)) == 1) {
        if (f == 1 && w == SC_PB_VARINT) {
            int k = og_node_id(b, &r, &c.node_id);
            if (k == -2) return og_bad(b, node, "child reference to a node id out of range");
            if (k != 0) return og_bad(b, node, "malformed child node_id");
        } else if (f == 2 && w == SC_PB_LEN) {
            if (sc_pb_read_len(&r, &s, &n) != 0)
                return og_bad(b, node, "truncated child local_name");
            have_name = 1;
        } else if (f == 1 || f == 2) {
            return og_bad(b, node, "child reference field has the wrong wire type");
        } else if (sc_pb_skip(&r, w) != 0) {
            return og_bad(b, node, "truncated unknown field in a child reference");
        }
    }
    if (rc < 0) return og_bad(b, node, "malformed child reference");
    /* An absent node_id is 0 (proto3), the root: valid, since a graph has at least one node. */
    if (have_name) {
        c.local_name = og_str(b, s, n);
        c.local_name_len = n;
    }
    if (b->g) b->g->children[b->children] = c;
    b->children++;
    return SC_OK;
}

static sc_status og_attribute(og_build *b, size_t node, sc_pb_reader r) {
    sc_og_attribute a = {"", 0, "", 0, "", 0, 0};
    uint32_t f;
    int w, rc;
    while ((rc = sc_pb_next(&r, &f, &w)) == 1) {
        if (f >= 1 && f <= 3) {
            const uint8_t *s;
            size_t n;
            if (w != SC_PB_LEN) return og_bad(b, node, "attribute string has the wrong wire type");
            if (sc_pb_read_len(&r, &s, &n) != 0)
                return og_bad(b, node, "truncated attribute string");
            const char *c = og_str(b, s, n);
            if (f == 1) {
                a.name = c;
                a.name_len = n;
            } else if (f == 2) {
                a.full_name = c;
                a.full_name_len = n;
            } else {
                a.checkpoint_key = c;
                a.checkpoint_key_len = n;
            }
        } else if (f == 4) {
            uint64_t v;
            if (w != SC_PB_VARINT || sc_pb_read_varint64(&r, &v) != 0)
                return og_bad(b, node, "malformed attribute optional_restore");
            a.optional_restore = v != 0;
        } else if (sc_pb_skip(&r, w) != 0) {
            return og_bad(b, node, "truncated unknown field in an attribute");
        }
    }
    if (rc < 0) return og_bad(b, node, "malformed attribute");
    if (b->g) b->g->attrs[b->attrs] = a;
    b->attrs++;
    return SC_OK;
}

static sc_status og_slot(og_build *b, size_t node, sc_pb_reader r) {
    sc_og_slot s = {0, "", 0, 0};
    uint32_t f;
    int w, rc;
    while ((rc = sc_pb_next(&r, &f, &w)) == 1) {
        if (f == 1 || f == 3) {
            if (w != SC_PB_VARINT) return og_bad(b, node, "slot node id has the wrong wire type");
            int k =
                og_node_id(b, &r, f == 1 ? &s.original_variable_node_id : &s.slot_variable_node_id);
            if (k == -2) return og_bad(b, node, "slot variable refers to a node id out of range");
            if (k != 0) return og_bad(b, node, "malformed slot variable node id");
        } else if (f == 2) {
            const uint8_t *p;
            size_t n;
            if (w != SC_PB_LEN || sc_pb_read_len(&r, &p, &n) != 0)
                return og_bad(b, node, "malformed slot_name");
            s.slot_name = og_str(b, p, n);
            s.slot_name_len = n;
        } else if (sc_pb_skip(&r, w) != 0) {
            return og_bad(b, node, "truncated unknown field in a slot variable");
        }
    }
    if (rc < 0) return og_bad(b, node, "malformed slot variable");
    if (b->g) b->g->slots[b->slots] = s;
    b->slots++;
    return SC_OK;
}

/* registered_saver (4) and has_checkpoint_values (5) are singular sub-messages: occurrences
 * merge, so a later value of a field overrides an earlier one. */
static sc_status og_small_sub(og_build *b, size_t node, uint32_t which, sc_pb_reader r,
                              sc_og_node *nd) {
    uint32_t f;
    int w, rc;
    while ((rc = sc_pb_next(&r, &f, &w)) == 1) {
        if (which == 4 && f == 1) {
            const uint8_t *p;
            size_t n;
            if (w != SC_PB_LEN || sc_pb_read_len(&r, &p, &n) != 0)
                return og_bad(b, node, "malformed registered_saver name");
            nd->registered_saver_name = og_str(b, p, n);
            nd->registered_saver_name_len = n;
        } else if (which == 5 && f == 1) {
            uint64_t v;
            if (w != SC_PB_VARINT || sc_pb_read_varint64(&r, &v) != 0)
                return og_bad(b, node, "malformed has_checkpoint_values");
            nd->has_checkpoint_values = v != 0;
        } else if (sc_pb_skip(&r, w) != 0) {
            return og_bad(b, node, "truncated unknown field");
        }
    }
    if (rc < 0) return og_bad(b, node, "malformed sub-message");
    if (which == 5 && nd->has_checkpoint_values < 0) nd->has_checkpoint_values = 0;
    return SC_OK;
}

static sc_status og_node(og_build *b, sc_pb_reader r) {
    size_t node = b->nodes;
    sc_og_node nd = {NULL, 0, NULL, 0, NULL, 0, "", 0, -1};
    size_t c0 = b->children, a0 = b->attrs, s0 = b->slots;
    uint32_t f;
    int w, rc;
    sc_status st;
    while ((rc = sc_pb_next(&r, &f, &w)) == 1) {
        if (f >= 1 && f <= 5) {
            sc_pb_reader sub;
            if (w != SC_PB_LEN) return og_bad(b, node, "field has the wrong wire type");
            if (sc_pb_read_sub(&r, &sub) != 0) return og_bad(b, node, "truncated field");
            if (f == 1)
                st = og_child(b, node, sub);
            else if (f == 2)
                st = og_attribute(b, node, sub);
            else if (f == 3)
                st = og_slot(b, node, sub);
            else
                st = og_small_sub(b, node, f, sub, &nd);
            if (st != SC_OK) return st;
        } else if (sc_pb_skip(&r, w) != 0) {
            return og_bad(b, node, "truncated unknown field");
        }
    }
    if (rc < 0) return og_bad(b, node, "malformed field key");
    if (b->g) {
        nd.children = b->g->children + c0;
        nd.num_children = b->children - c0;
        nd.attributes = b->g->attrs + a0;
        nd.num_attributes = b->attrs - a0;
        nd.slot_variables = b->g->slots + s0;
        nd.num_slot_variables = b->slots - s0;
        b->g->nodes[node] = nd;
    }
    b->nodes++;
    return SC_OK;
}

static sc_status og_walk(og_build *b, const void *data, size_t size) {
    sc_pb_reader r = sc_pb_reader_init(data, size);
    uint32_t f;
    int w, rc;
    while ((rc = sc_pb_next(&r, &f, &w)) == 1) {
        if (f == 1) {
            sc_pb_reader sub;
            if (w != SC_PB_LEN || sc_pb_read_sub(&r, &sub) != 0)
                return og_bad(b, b->nodes, "malformed or truncated node");
            sc_status st = og_node(b, sub);
            if (st != SC_OK) return st;
        } else if (sc_pb_skip(&r, w) != 0) {
            return og_bad(b, b->nodes, "truncated unknown field");
        }
    }
    if (rc < 0) return og_bad(b, b->nodes, "malformed field key");
    return SC_OK;
}

/* calloc(n, size) with a zero count still returning a distinct, freeable pointer. */
static void *og_alloc(size_t n, size_t size) { return calloc(n ? n : 1, size); }

sc_status sc_object_graph_parse(const void *data, size_t size, const char *name,
                                sc_object_graph **out, sc_error *err) {
    assert(out && (data || size == 0));
    *out = NULL;
    og_build b = {NULL, 0, 0, 0, 0, 0, name ? name : "TrackableObjectGraph", err};
    sc_object_graph *g = NULL;
    sc_status st = og_walk(&b, data, size);
    if (st != SC_OK) goto fail;
    if (b.nodes == 0) {
        st = sc_error_set(err, SC_DATA_LOSS, "%s: object graph has no nodes (expected a root)",
                          b.name);
        goto fail;
    }
    g = calloc(1, sizeof *g);
    if (!g) goto nomem;
    g->num_nodes = b.nodes;
    g->nodes = og_alloc(b.nodes, sizeof *g->nodes);
    g->children = og_alloc(b.children, sizeof *g->children);
    g->attrs = og_alloc(b.attrs, sizeof *g->attrs);
    g->slots = og_alloc(b.slots, sizeof *g->slots);
    g->strings = og_alloc(b.str, 1);
    if (!g->nodes || !g->children || !g->attrs || !g->slots || !g->strings) goto nomem;

    og_build fill = {g, 0, 0, 0, 0, 0, b.name, err};
    st = og_walk(&fill, data, size);
    if (st != SC_OK) goto fail;
    /* The same bytes were walked twice; the counts cannot differ. */
    assert(fill.nodes == b.nodes && fill.children == b.children && fill.attrs == b.attrs
           && fill.slots == b.slots && fill.str == b.str);
    *out = g;
    return SC_OK;
nomem:
    st = sc_error_set(err, SC_NO_MEMORY, "%s: out of memory decoding the object graph", b.name);
fail:
    sc_object_graph_free(g);
    return st;
}

sc_status sc_object_graph_read(sc_bundle *bundle, sc_object_graph **out, sc_error *err) {
    assert(bundle && out);
    *out = NULL;
    const char *prefix = sc_bundle_prefix(bundle);
    char name[SC_ERROR_MESSAGE_MAX];
    snprintf(name, sizeof name, "%s: tensor '%s'", prefix, SC_OBJECT_GRAPH_KEY);
    const sc_tensor_info *t = sc_bundle_find(bundle, SC_OBJECT_GRAPH_KEY);
    if (!t)
        return sc_error_set(err, SC_NOT_FOUND, "%s: no %s entry (not an object-based checkpoint)",
                            prefix, SC_OBJECT_GRAPH_KEY);
    if (t->dtype != SC_DT_STRING || t->rank != 0 || t->num_elements != 1)
        return sc_error_set(err, SC_DATA_LOSS, "%s: expected a string scalar, found %s of rank %d",
                            name, sc_dtype_name(t->dtype), t->rank);
    if (t->size > OG_MAX_BYTES)
        return sc_error_set(err, SC_DATA_LOSS, "%s: implausible size %llu bytes (limit %llu)", name,
                            (unsigned long long)t->size, (unsigned long long)OG_MAX_BYTES);
    size_t cap = (size_t)t->size;
    uint8_t *raw = malloc(cap ? cap : 1);
    if (!raw) return sc_error_set(err, SC_NO_MEMORY, "%s: out of memory (%zu bytes)", name, cap);
    sc_bytes item = {NULL, 0};
    sc_status st = sc_bundle_read(bundle, t, raw, cap, err);
    if (st == SC_OK) st = sc_bundle_decode_strings(t, raw, cap, &item, err);
    if (st == SC_OK) st = sc_object_graph_parse(item.data, item.size, name, out, err);
    free(raw);
    return st;
}

void sc_object_graph_free(sc_object_graph *g) {
    if (!g) return;
    free(g->nodes);
    free(g->children);
    free(g->attrs);
    free(g->slots);
    free(g->strings);
    free(g);
}

size_t sc_object_graph_num_nodes(const sc_object_graph *g) { return g->num_nodes; }

const sc_og_node *sc_object_graph_node(const sc_object_graph *g, size_t i) {
    assert(i < g->num_nodes);
    return &g->nodes[i];
}

static int32_t og_child_n(const sc_object_graph *g, size_t node, const char *name, size_t n) {
    const sc_og_node *nd = sc_object_graph_node(g, node);
    for (size_t i = 0; i < nd->num_children; i++) {
        const sc_og_child *c = &nd->children[i];
        if (c->local_name_len == n && memcmp(c->local_name, name, n) == 0) return c->node_id;
    }
    return -1;
}

int32_t sc_object_graph_child(const sc_object_graph *g, size_t node, const char *name) {
    return og_child_n(g, node, name, strlen(name));
}

int32_t sc_object_graph_lookup(const sc_object_graph *g, const char *path) {
    int32_t node = 0;
    const char *p = path;
    while (*p) {
        const char *slash = strchr(p, '/');
        size_t n = slash ? (size_t)(slash - p) : strlen(p);
        node = og_child_n(g, (size_t)node, p, n);
        if (node < 0) return -1;
        p += n;
        if (*p == '/') p++;
    }
    return node;
}
