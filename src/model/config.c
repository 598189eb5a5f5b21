/* model/config.c — Keras model JSON (Keras 2 and 3, Sequential and Functional) -> graph.
 * FORMATS §7.3. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/fileio.h"
#include "model/model_internal.h"
#include "sidecar/ckpt_ref.h"
#include "model/mask.h"
#include "sidecar/keras_weights.h"

typedef struct builder {
    sc_model *m;
    sc_layer *parent;    /* the nested model whose layers are being created; NULL at the top */
    sc_layer **layer_of; /* Functional: the layer made for each config entry */
    size_t num_entries;
    size_t *next_node; /* Functional: calls built so far per entry, in this scope */
    int *node_base;    /* Functional: the node index naming an entry's first call (1 for a
                            nested model whose construction is node 0, else 0) */
    const char *src;   /* file name for messages */
    sc_error *err;
    /* per layer: tensor ids produced by each of its calls (node order) */
    int **layer_outputs;
} builder;

static sc_status grow(void **arr, size_t *cap, size_t n, size_t elem, sc_error *err) {
    if (n < *cap) return SC_OK;
    size_t c = *cap ? *cap * 2 : 16;
    void *p = realloc(*arr, c * elem);
    if (!p) return sc_error_set(err, SC_NO_MEMORY, "out of memory building the model");
    *arr = p;
    *cap = c;
    return SC_OK;
}

static int new_tensor(builder *b, const sc_shape *shape, int producer) {
    sc_model *m = b->m;
    if (grow((void **)&m->tensors, &m->cap_tensors, m->num_tensors, sizeof *m->tensors, b->err))
        return -1;
    sc_tensor_slot *t = &m->tensors[m->num_tensors];
    memset(t, 0, sizeof *t);
    t->shape = *shape;
    t->producer = producer;
    t->last_use = -1;
    return (int)m->num_tensors++;
}

/* "batch_input_shape": [null, 28, 28, 1] (Keras 2) or "batch_shape" (Keras 3). */
static sc_status parse_batch_shape(builder *b, const char *layer, const json_t *arr,
                                   sc_shape *out) {
    if (!json_is_array(arr) || json_array_size(arr) < 1 || json_array_size(arr) > SC_MAX_DIMS + 1)
        return sc_error_set(b->err, SC_INVALID_ARGUMENT, "%s: layer '%s': bad input shape", b->src,
                            layer);
    out->rank = (int)json_array_size(arr) - 1;
    for (int i = 0; i < out->rank; i++) {
        const json_t *d = json_array_get(arr, (size_t)i + 1);
        if (json_is_null(d)) { /* free: resolved from the data (sc_model_set_input_shapes) */
            out->dims[i] = -1;
            continue;
        }
        if (!json_is_integer(d) || json_integer_value(d) <= 0)
            return sc_error_set(b->err, SC_UNIMPLEMENTED,
                                "%s: layer '%s': input dimension %d is neither a positive size "
                                "nor null",
                                b->src, layer, i + 1);
        if (json_integer_value(d) >= SC_MAX_DIM)
            return sc_error_set(b->err, SC_INVALID_ARGUMENT,
                                "%s: layer '%s': input dimension %d "
                                "is %lld (at most 2^31 - 1)",
                                b->src, layer, i + 1, (long long)json_integer_value(d));
        out->dims[i] = json_integer_value(d);
    }
    /* The fixed dims alone (a free one is sized by the data, and checked again then). */
    int64_t n = 1;
    for (int i = 0; i < out->rank && n <= SC_MAX_ELEMS; i++)
        if (out->dims[i] > 0)
            n = n > SC_MAX_ELEMS / out->dims[i] ? SC_MAX_ELEMS + 1 : n * out->dims[i];
    if (n > SC_MAX_ELEMS)
        return sc_error_set(b->err, SC_INVALID_ARGUMENT,
                            "%s: layer '%s': the input shape has more "
                            "than 2^40 elements per example",
                            b->src, layer);
    return SC_OK;
}

static const json_t *layer_config(const json_t *entry) { return json_object_get(entry, "config"); }

static const char *layer_name(const json_t *entry) {
    const json_t *n = json_object_get(entry, "name");
    if (!json_is_string(n)) n = json_object_get(layer_config(entry), "name");
    return json_is_string(n) ? json_string_value(n) : NULL;
}

static int is_input_layer(const json_t *entry);

/* A nested Sequential model: never called itself; apply() runs its layers. */
static sc_status container_infer(sc_layer *L, sc_node *n, sc_error *err) {
    (void)n;
    return sc_error_set(err, SC_INVALID_ARGUMENT, "nested model '%s' is called like a layer",
                        L->name);
}
static void container_destroy(sc_layer *L) { json_decref(L->impl); }
static const sc_layer_ops k_container_ops = {"(nested model)", NULL, container_infer, NULL, NULL,
                                             container_destroy};

static sc_status create_layer(builder *b, const json_t *entry, sc_layer **out) {
    sc_model *m = b->m;
    const json_t *cn = json_object_get(entry, "class_name");
    const json_t *cfg = layer_config(entry);
    const char *name = layer_name(entry);
    if (!json_is_string(cn) || !json_is_object(cfg) || !name)
        return sc_error_set(b->err, SC_INVALID_ARGUMENT,
                            "%s: layer entry %zu lacks class_name, config or name", b->src,
                            m->num_layers);
    const char *cls = json_string_value(cn);
    /* Keras 3 writes a registered class as class_name "PositionEmbedding" with registered_name
     * "keras_nlp>PositionEmbedding" (Keras 2 puts the latter in class_name): the registry knows
     * the packages' layers by the registered form. */
    const json_t *rn = json_object_get(entry, "registered_name");
    if (json_is_string(rn) && strchr(json_string_value(rn), '>')
        && sc_layer_lookup(json_string_value(rn)))
        cls = json_string_value(rn);
    int nested_func = !strcmp(cls, "Functional") || !strcmp(cls, "Model");
    int nested = nested_func || strcmp(cls, "Sequential") == 0;
    const sc_layer_ops *ops = nested ? &k_container_ops : sc_layer_lookup(cls);
    if (!ops) /* Lambda holds Python bytecode; a custom class holds Python code we do not have */
        return sc_error_set(b->err, SC_UNIMPLEMENTED,
                            "%s: layer '%s': class '%s' is not supported%s", b->src, name, cls,
                            !strcmp(cls, "Lambda")
                                ? " (a Lambda layer's Python function cannot run here: write the "
                                  "model's forward pass in C with sc_model_create_custom, README "
                                  "\"Lambda and custom layers\")"
                                : " (a custom layer: write the model's forward pass in C with "
                                  "sc_model_create_custom, README \"Lambda and custom layers\")");
    if (grow((void **)&m->layers, &m->cap_layers, m->num_layers, sizeof *m->layers, b->err))
        return b->err ? b->err->status : SC_NO_MEMORY;
    sc_layer *L = calloc(1, sizeof *L);
    if (!L) return sc_error_set(b->err, SC_NO_MEMORY, "out of memory");
    L->ops = ops;
    L->model = m;
    L->weights_index = -1;
    L->index = m->num_layers;
    L->parent = b->parent;
    L->is_container = nested;
    L->name = strdup(name);
    L->class_name = strdup(cls);
    m->layers[m->num_layers++] = L;
    if (!L->name || !L->class_name) return sc_error_set(b->err, SC_NO_MEMORY, "out of memory");
    if (nested) {
        /* Its layers follow it in m->layers, with parent = L; its InputLayer is the call's input. */
        const json_t *sub = json_object_get(cfg, "layers");
        if (!json_is_array(sub) || json_array_size(sub) == 0)
            return sc_error_set(b->err, SC_INVALID_ARGUMENT, "%s: nested model '%s' has no layers",
                                b->src, name);
        L->impl = json_incref((json_t *)cfg); /* a nested Functional is built at each call */
        sc_layer *saved = b->parent;
        b->parent = L;
        for (size_t i = 0; i < json_array_size(sub); i++) {
            const json_t *e = json_array_get(sub, i);
            /* A nested Sequential's InputLayer is its call's input; a Functional's InputLayers
             * are layers that its calls map to their inputs. */
            if (is_input_layer(e) && !nested_func) continue;
            sc_layer *child;
            sc_status s = create_layer(b, e, &child);
            if (s) {
                b->parent = saved;
                return s;
            }
        }
        b->parent = saved;
        *out = L;
        return SC_OK;
    }
    /* Mixed precision would compute in float16; we compute in float32 and say so. */
    const json_t *dt = json_object_get(cfg, "dtype");
    const json_t *pol =
        json_is_object(dt) ? json_object_get(json_object_get(dt, "config"), "name") : dt;
    if (json_is_string(pol) && strncmp(json_string_value(pol), "mixed_", 6) == 0)
        return sc_error_set(
            b->err, SC_UNIMPLEMENTED,
            "%s: layer '%s' (%s): dtype policy '%s' is not supported (float32 only)", b->src, name,
            cls, json_string_value(pol));
    if (ops->init) {
        sc_status s = ops->init(L, cfg, b->err);
        if (s) return sc_error_prefix(b->err, s, "%s", b->src);
    }
    *out = L;
    return SC_OK;
}

/* Adds a call of L on the given input tensors; returns its (first) output tensor id in *tid.
 * A call with several outputs gets consecutive tensor ids. */
static sc_status add_node(builder *b, sc_layer *L, const int *inputs, int n_in, int *tid) {
    sc_model *m = b->m;
    if (n_in > SC_MAX_NODE_INPUTS)
        return sc_error_set(b->err, SC_UNIMPLEMENTED, "%s: layer '%s': more than %d inputs", b->src,
                            L->name, SC_MAX_NODE_INPUTS);
    if (grow((void **)&m->nodes, &m->cap_nodes, m->num_nodes, sizeof *m->nodes, b->err))
        return SC_NO_MEMORY;
    sc_node *n = &m->nodes[m->num_nodes];
    memset(n, 0, sizeof *n);
    n->layer = L;
    n->num_inputs = n_in;
    n->num_outputs = 1;
    for (int i = 0; i < n_in; i++) {
        n->inputs[i] = inputs[i];
        n->in_shape[i] = m->tensors[inputs[i]].shape;
    }
    sc_status s = L->ops->infer(L, n, b->err);
    for (int k = 0; !s && k < n->num_outputs; k++)
        s = sc_check_shape(L, sc_node_out_shape(n, k), b->err);
    if (s) return sc_error_prefix(b->err, s, "%s", b->src);
    if (n->num_outputs < 1 || n->num_outputs > SC_MAX_NODE_OUTPUTS)
        return sc_error_set(b->err, SC_INVALID_ARGUMENT, "%s: layer '%s': %d outputs", b->src,
                            L->name, n->num_outputs);
    int node_index = (int)m->num_nodes++;
    for (int i = 0; i < n_in; i++) m->tensors[inputs[i]].last_use = node_index;
    for (int k = 0; k < m->nodes[node_index].num_outputs; k++) {
        int t = new_tensor(b, sc_node_out_shape(&m->nodes[node_index], k), node_index);
        if (t < 0) return SC_NO_MEMORY;
        /* Written by this node even when nothing reads it: alive while the node runs, so the
         * memory plan never lays a sibling output over it. */
        m->tensors[t].last_use = node_index;
        if (k == 0) m->nodes[node_index].output = t;
    }
    L->num_nodes++;
    *tid = m->nodes[node_index].output;
    return SC_OK;
}

/* Keras refuses a layer with several outputs in a Sequential model ("should have a single output
 * tensor"): return_state=True, Bidirectional merge_mode=None. */
static sc_status one_output(builder *b, int t) {
    int p = b->m->tensors[t].producer;
    const sc_node *n = p >= 0 ? &b->m->nodes[p] : NULL;
    if (!n || n->num_outputs == 1) return SC_OK;
    return sc_error_set(b->err, SC_INVALID_ARGUMENT,
                        "%s: layer '%s' (%s) returns %d tensors (return_state=True or "
                        "merge_mode=None): in a Sequential model every layer must have one output "
                        "(as in Keras); use a Functional model",
                        b->src, n->layer->name, n->layer->class_name, n->num_outputs);
}

/* A call of L: a node, or for a nested model the calls of its layers in order. */
static sc_status build_functional(builder *b, const json_t *cfg, sc_layer *container,
                                  const int *call_in, int n_call, int *call_out);

static sc_status apply(builder *b, sc_layer *L, const int *inputs, int n_in, int *tid) {
    if (!L->is_container) return add_node(b, L, inputs, n_in, tid);
    if (strcmp(L->class_name, "Sequential") != 0) {
        sc_status s = build_functional(b, L->impl, L, inputs, n_in, tid);
        if (!s) L->num_nodes++;
        return s;
    }
    if (n_in != 1)
        return sc_error_set(b->err, SC_INVALID_ARGUMENT, "%s: nested model '%s' takes one input",
                            b->src, L->name);
    int t = inputs[0];
    sc_model *m = b->m;
    for (size_t i = L->index + 1; i < m->num_layers; i++) {
        if (m->layers[i]->parent != L) continue;
        sc_status s = apply(b, m->layers[i], &t, 1, &t);
        if (!s) s = one_output(b, t);
        if (s) return s;
    }
    L->num_nodes++;
    *tid = t;
    return SC_OK;
}

static sc_status add_input(builder *b, const char *name, const sc_shape *decl, int *tid) {
    sc_model *m = b->m;
    /* Free dims are built at a placeholder size; the data's sizes replace it before a run. */
    sc_shape shape = *decl;
    int free_dims = 0;
    for (int d = 0; d < shape.rank; d++)
        if (shape.dims[d] < 0) {
            shape.dims[d] = SC_FREE_DIM_PLACEHOLDER;
            free_dims = 1;
        }
    int t = new_tensor(b, &shape, -1);
    if (t < 0) return SC_NO_MEMORY;
    int *in = realloc(m->inputs, (m->num_inputs + 1) * sizeof *in);
    char **names = in ? realloc(m->input_names, (m->num_inputs + 1) * sizeof *names) : NULL;
    if (in) m->inputs = in;
    if (names) m->input_names = names;
    if (!in || !names) return sc_error_set(b->err, SC_NO_MEMORY, "out of memory");
    if (free_dims || m->input_decl) {
        sc_shape *dd = realloc(m->input_decl, (m->num_inputs + 1) * sizeof *dd);
        if (!dd) return sc_error_set(b->err, SC_NO_MEMORY, "out of memory");
        if (!m->input_decl) /* the inputs before this one were fixed */
            for (size_t k = 0; k < m->num_inputs; k++) dd[k] = m->tensors[m->inputs[k]].shape;
        dd[m->num_inputs] = *decl;
        m->input_decl = dd;
    }
    m->input_names[m->num_inputs] = strdup(name);
    if (!m->input_names[m->num_inputs]) return sc_error_set(b->err, SC_NO_MEMORY, "out of memory");
    m->inputs[m->num_inputs++] = t;
    *tid = t;
    return SC_OK;
}

static sc_status set_outputs(builder *b, const int *ids, size_t n) {
    sc_model *m = b->m;
    m->outputs = malloc((n ? n : 1) * sizeof *m->outputs);
    if (!m->outputs) return sc_error_set(b->err, SC_NO_MEMORY, "out of memory");
    for (size_t i = 0; i < n; i++) {
        m->outputs[i] = ids[i];
        m->tensors[ids[i]].last_use = (int)m->num_nodes; /* live to the end */
    }
    m->num_outputs = n;
    return SC_OK;
}

static int is_input_layer(const json_t *entry) {
    const json_t *cn = json_object_get(entry, "class_name");
    return json_is_string(cn) && strcmp(json_string_value(cn), "InputLayer") == 0;
}

static sc_status input_shape_of(builder *b, const json_t *entry, sc_shape *shape) {
    const json_t *cfg = layer_config(entry);
    const json_t *bs = json_object_get(cfg, "batch_shape");
    if (!bs) bs = json_object_get(cfg, "batch_input_shape");
    if (!bs)
        return sc_error_set(b->err, SC_INVALID_ARGUMENT, "%s: layer '%s' has no input shape",
                            b->src, layer_name(entry) ? layer_name(entry) : "?");
    return parse_batch_shape(b, layer_name(entry), bs, shape);
}

static sc_status build_sequential(builder *b, const json_t *root, const json_t *cfg) {
    const json_t *layers = json_object_get(cfg, "layers");
    if (!json_is_array(layers) || json_array_size(layers) == 0)
        return sc_error_set(b->err, SC_INVALID_ARGUMENT, "%s: Sequential model has no layers",
                            b->src);
    size_t first = 0;
    sc_shape shape;
    sc_status s;
    const json_t *e0 = json_array_get(layers, 0);
    char in_name[300];
    if (is_input_layer(e0)) {
        if ((s = input_shape_of(b, e0, &shape))) return s;
        snprintf(in_name, sizeof in_name, "%s", layer_name(e0) ? layer_name(e0) : "input_1");
        first = 1;
    } else {
        /* No InputLayer entry: Keras 2 puts batch_input_shape on the first layer; Keras 3 keeps
         * build_input_shape / build_config. */
        const json_t *bs = json_object_get(layer_config(e0), "batch_input_shape");
        if (!bs) bs = json_object_get(cfg, "build_input_shape");
        if (!bs) bs = json_object_get(json_object_get(root, "build_config"), "input_shape");
        if (!bs)
            return sc_error_set(b->err, SC_INVALID_ARGUMENT,
                                "%s: Sequential model has no input shape (no InputLayer, "
                                "batch_input_shape or build_input_shape)",
                                b->src);
        if ((s = parse_batch_shape(b, "input", bs, &shape))) return s;
        snprintf(in_name, sizeof in_name, "%s_input", layer_name(e0) ? layer_name(e0) : "input");
    }
    int t = -1;
    if ((s = add_input(b, in_name, &shape, &t))) return s;
    for (size_t i = first; i < json_array_size(layers); i++) {
        const json_t *e = json_array_get(layers, i);
        if (is_input_layer(e))
            return sc_error_set(b->err, SC_INVALID_ARGUMENT,
                                "%s: InputLayer '%s' in the middle of a Sequential model", b->src,
                                layer_name(e) ? layer_name(e) : "?");
        sc_layer *L;
        if ((s = create_layer(b, e, &L))) return s;
        if ((s = apply(b, L, &t, 1, &t))) return s;
        if ((s = one_output(b, t))) return s;
    }
    return set_outputs(b, &t, 1);
}

/* ---- Functional ---- */

/* The model's own layer (config entry) of that name; a nested model's layers are not
 * visible from outside it. */
static sc_layer *find_layer(builder *b, const char *name, size_t *idx) {
    for (size_t i = 0; i < b->num_entries; i++)
        if (b->layer_of[i] && strcmp(b->layer_of[i]->name, name) == 0) {
            if (idx) *idx = i;
            return b->layer_of[i];
        }
    return NULL;
}

/* Keras' node numbering (get_config's node reindexing; _should_skip_first_node): a nested
 * Functional model built on an Input already has node 0 linking its inputs to its outputs, so
 * its calls in the outer model are nodes 1, 2, ... In Keras 2 a Sequential is a Functional and
 * skips node 0 when it was built with an input shape (its config starts with an InputLayer); in
 * Keras 3 a Sequential is not a Functional and its calls start at 0. */
static int first_node_index(const sc_model *m, const json_t *entry) {
    const json_t *cn = json_object_get(entry, "class_name");
    const char *cls = json_is_string(cn) ? json_string_value(cn) : "";
    if (!strcmp(cls, "Functional") || !strcmp(cls, "Model")) return 1;
    if (strcmp(cls, "Sequential") || m->keras3) return 0;
    const json_t *sub = json_object_get(layer_config(entry), "layers");
    return json_array_size(sub) > 0 && is_input_layer(json_array_get(sub, 0));
}

/* (layer, node, tensor) -> tensor id; -1 when that call has not been built yet, -2 when the
 * reference is impossible. Tensor k of a call with several outputs (return_state) is the k-th
 * of its consecutive ids. */
static int resolve_ref(builder *b, const char *name, int64_t node, int64_t tensor) {
    size_t li;
    sc_layer *L = find_layer(b, name, &li);
    if (!L || tensor < 0 || node < 0) return -2;
    if (L->is_container) node -= b->node_base[li];
    if (node < 0) return -2; /* the nested model's own construction node is never saved */
    if ((size_t)node >= b->next_node[li]) return -1;
    int t = b->layer_outputs[li][node];
    if (tensor == 0) return t;
    const sc_model *m = b->m;
    int p = t >= 0 ? m->tensors[t].producer : -1;
    /* a nested model's call and an input have one output */
    if (L->is_container || p < 0 || m->nodes[p].output != t || tensor >= m->nodes[p].num_outputs)
        return -2;
    return t + (int)tensor;
}

/* The call-argument dicts of a node: Keras 2 puts them after each input reference, Keras 3 in
 * the node's "kwargs". Returns how many were found (at most cap). */
static size_t kwarg_dicts(const json_t *node, const json_t **dicts, size_t cap) {
    size_t nd = 0;
    if (json_is_object(node) && nd < cap) dicts[nd++] = json_object_get(node, "kwargs");
    for (size_t i = 0; json_is_array(node) && i < json_array_size(node) && nd < cap; i++)
        dicts[nd++] = json_array_get(json_array_get(node, i), 3);
    return nd;
}

/* The call argument `key` of a node, or NULL when absent or null. */
static const json_t *kwarg(const json_t *node, const char *key) {
    const json_t *dicts[SC_MAX_NODE_INPUTS + 1];
    size_t nd = kwarg_dicts(node, dicts, SC_MAX_NODE_INPUTS + 1);
    for (size_t i = 0; i < nd; i++) {
        const json_t *v = json_is_object(dicts[i]) ? json_object_get(dicts[i], key) : NULL;
        if (v && !json_is_null(v)) return v;
    }
    return NULL;
}

/* A call argument this engine does not implement, set in a node's kwargs, or NULL. Refused by
 * name rather than ignored, since ignoring it would change the numbers. MultiHeadAttention
 * implements use_causal_mask (model/layers/mha.c). */
static const char *unsupported_kwarg(const json_t *node, const char *cls) {
    static const char *const keys[] = {"use_causal_mask", "return_attention_scores",
                                       "initial_state", "constants", "attention_mask"};
    int mha = !strcmp(cls, "MultiHeadAttention");
    for (size_t k = mha ? 1 : 0; k < sizeof keys / sizeof keys[0]; k++) {
        const json_t *v = kwarg(node, keys[k]);
        if (v && !json_is_false(v)) return keys[k];
    }
    /* keras_nlp position embeddings: only from position 0 */
    const json_t *si = kwarg(node, "start_index");
    if (si && !(json_is_integer(si) && json_integer_value(si) == 0)) return "start_index";
    return NULL;
}

/* Collects the tensors a node reads, in order. Keras 2: [[name, node, tensor, kwargs], ...];
 * Keras 3: {"args": [...], "kwargs": {...}} with __keras_tensor__ objects, possibly nested in
 * lists. Returns 0 ok, -1 not ready, -2 bad reference (bad_name set). */
static int collect(builder *b, const json_t *v, int *ids, int *n, const char **bad_name) {
    if (json_is_object(v)) {
        const json_t *cn = json_object_get(v, "class_name");
        if (json_is_string(cn) && strcmp(json_string_value(cn), "__keras_tensor__") == 0) {
            const json_t *h = json_object_get(json_object_get(v, "config"), "keras_history");
            if (!json_is_array(h) || json_array_size(h) < 3) return -2;
            return collect(b, h, ids, n, bad_name);
        }
        return 0; /* other objects (kwargs values) carry no tensors we follow */
    }
    if (!json_is_array(v)) return 0;
    if (json_array_size(v) >= 3 && json_is_string(json_array_get(v, 0))) {
        const char *name = json_string_value(json_array_get(v, 0));
        const json_t *ni = json_array_get(v, 1), *ti = json_array_get(v, 2);
        if (!json_is_integer(ni) || !json_is_integer(ti)) return -2;
        int t = resolve_ref(b, name, json_integer_value(ni), json_integer_value(ti));
        if (t == -2) *bad_name = name;
        if (t < 0) return t;
        if (*n >= SC_MAX_NODE_INPUTS) return -2;
        ids[(*n)++] = t;
        return 0;
    }
    for (size_t i = 0; i < json_array_size(v); i++) {
        int r = collect(b, json_array_get(v, i), ids, n, bad_name);
        if (r) return r;
    }
    return 0;
}

/* The layer names of output_layers' references, in collect()'s order. */
static void ref_names(const json_t *v, const char **names, size_t *n, size_t cap) {
    if (json_is_object(v)) {
        const json_t *h = json_object_get(json_object_get(v, "config"), "keras_history");
        if (json_is_array(h)) ref_names(h, names, n, cap);
        return;
    }
    if (!json_is_array(v)) return;
    if (json_array_size(v) >= 3 && json_is_string(json_array_get(v, 0))) {
        if (*n < cap) names[*n] = json_string_value(json_array_get(v, 0));
        (*n)++;
        return;
    }
    for (size_t i = 0; i < json_array_size(v); i++) ref_names(json_array_get(v, i), names, n, cap);
}

/* Keras' output_names (Functional._set_output_names): each output is named after its layer;
 * a name already taken becomes "<layer>_1", "<layer>_2", ... (a layer with several outputs,
 * return_state). */
static sc_status name_outputs(builder *b, const json_t *outs) {
    sc_model *m = b->m;
    const char *base[SC_MAX_NODE_INPUTS];
    size_t n = 0;
    ref_names(outs, base, &n, SC_MAX_NODE_INPUTS);
    if (n != m->num_outputs) return SC_OK; /* cannot happen: collect() walked the same refs */
    m->output_names = calloc(n, sizeof *m->output_names);
    if (!m->output_names) return sc_error_set(b->err, SC_NO_MEMORY, "out of memory");
    for (size_t i = 0; i < n; i++) {
        char buf[300];
        snprintf(buf, sizeof buf, "%s", base[i]);
        int count = 1; /* prefix_count.get(layer.name, 1) */
        for (int taken = 1; taken;) {
            taken = 0;
            for (size_t j = 0; j < i; j++) taken |= strcmp(m->output_names[j], buf) == 0;
            if (taken) snprintf(buf, sizeof buf, "%s_%d", base[i], count++);
        }
        m->output_names[i] = strdup(buf);
        if (!m->output_names[i]) return sc_error_set(b->err, SC_NO_MEMORY, "out of memory");
    }
    return SC_OK;
}

/* Builds a Functional graph. At the top (container NULL) its layers are created here, its
 * InputLayers become the model's inputs and its outputs the model's outputs. For a nested
 * Functional model (container set, layers already created as its children) the call's input
 * tensors stand for its InputLayers (in input_layers order) and its one output is returned. */
static sc_status build_functional(builder *b, const json_t *cfg, sc_layer *container,
                                  const int *call_in, int n_call, int *call_out) {
    sc_model *m = b->m;
    const json_t *layers = json_object_get(cfg, "layers");
    size_t nl = json_array_size(layers);
    if (!json_is_array(layers) || nl == 0)
        return sc_error_set(b->err, SC_INVALID_ARGUMENT, "%s: model has no layers", b->src);
    /* A scope of its own: references resolve among this model's layers only. */
    sc_layer **saved_of = b->layer_of;
    int **saved_out = b->layer_outputs;
    size_t saved_n = b->num_entries, *saved_next = b->next_node;
    int *saved_base = b->node_base;
    sc_status s;
    b->layer_outputs = calloc(nl, sizeof *b->layer_outputs);
    b->layer_of = calloc(nl, sizeof *b->layer_of);
    b->next_node = calloc(nl, sizeof *b->next_node);
    b->node_base = calloc(nl, sizeof *b->node_base);
    b->num_entries = nl;
    sc_layer **layer_of = b->layer_of;
    size_t *next_node = b->next_node;
    if (!b->layer_outputs || !next_node || !layer_of || !b->node_base) {
        s = sc_error_set(b->err, SC_NO_MEMORY, "out of memory");
        goto done;
    }
    if (container) {
        size_t k = 0;
        for (size_t i = container->index + 1; i < m->num_layers && k < nl; i++)
            if (m->layers[i]->parent == container) layer_of[k++] = m->layers[i];
        if (k != nl) {
            s = sc_error_set(b->err, SC_INVALID_ARGUMENT,
                             "%s: nested model '%s': layers out of "
                             "step with its config",
                             b->src, container->name);
            goto done;
        }
    }
    /* Create every layer first (so references resolve by name), then add calls in passes until
     * all are built: configs list layers in a topological order, but shared layers can refer
     * forward. */
    for (size_t i = 0; i < nl; i++) {
        const json_t *e = json_array_get(layers, i);
        sc_layer *L = layer_of[i];
        b->node_base[i] = first_node_index(m, e);
        if (is_input_layer(e)) {
            b->layer_outputs[i] = malloc(sizeof(int));
            if (!b->layer_outputs[i]) {
                s = sc_error_set(b->err, SC_NO_MEMORY, "out of memory");
                goto done;
            }
            if (container) { /* bound to the call's inputs below, from input_layers */
                b->layer_outputs[i][0] = -1;
                continue;
            }
            sc_shape shape;
            int t = -1;
            if ((s = input_shape_of(b, e, &shape))) goto done;
            /* InputLayer is a layer of Functional models (it counts in `layer-N`) */
            if ((s = create_layer(b, e, &L))) goto done;
            layer_of[i] = L;
            if ((s = add_input(b, L->name, &shape, &t))) goto done;
            b->layer_outputs[i][0] = t;
            L->num_nodes = 1;
            next_node[i] = 1;
            continue;
        }
        if (!container) {
            if ((s = create_layer(b, e, &L))) goto done;
            layer_of[i] = L;
        }
        size_t calls = json_array_size(json_object_get(e, "inbound_nodes"));
        b->layer_outputs[i] = malloc((calls ? calls : 1) * sizeof(int));
        if (!b->layer_outputs[i]) {
            s = sc_error_set(b->err, SC_NO_MEMORY, "out of memory");
            goto done;
        }
    }
    if (container) {
        /* input_layers: [[name, 0, 0], ...] or one triple: the call's inputs, in that order. */
        const json_t *ins = json_object_get(cfg, "input_layers");
        size_t n_ins =
            json_is_array(ins) && json_array_size(ins) && json_is_string(json_array_get(ins, 0))
                ? 1
                : json_array_size(ins);
        if ((int)n_ins != n_call) {
            s = sc_error_set(b->err, SC_INVALID_ARGUMENT,
                             "%s: nested model '%s' has %zu inputs, "
                             "called with %d",
                             b->src, container->name, n_ins, n_call);
            goto done;
        }
        for (size_t k = 0; k < n_ins; k++) {
            const json_t *tr =
                n_ins == 1 && json_is_string(json_array_get(ins, 0)) ? ins : json_array_get(ins, k);
            const char *nm = json_string_value(json_array_get(tr, 0));
            size_t li;
            if (!nm || !find_layer(b, nm, &li) || !is_input_layer(json_array_get(layers, li))) {
                s = sc_error_set(b->err, SC_INVALID_ARGUMENT,
                                 "%s: nested model '%s': input_layers "
                                 "names no InputLayer",
                                 b->src, container->name);
                goto done;
            }
            if (next_node[li]) {
                s = sc_error_set(b->err, SC_INVALID_ARGUMENT,
                                 "%s: nested model '%s': input_layers "
                                 "lists '%s' twice",
                                 b->src, container->name, nm);
                goto done;
            }
            b->layer_outputs[li][0] = call_in[k];
            next_node[li] = 1;
        }
    }
    for (int progress = 1; progress;) {
        progress = 0;
        for (size_t i = 0; i < nl; i++) {
            const json_t *e = json_array_get(layers, i);
            const json_t *nodes = json_object_get(e, "inbound_nodes");
            if (is_input_layer(e)) continue;
            while (next_node[i] < json_array_size(nodes)) {
                const json_t *node = json_array_get(nodes, next_node[i]);
                const json_t *args = json_is_object(node) ? json_object_get(node, "args") : node;
                int ids[SC_MAX_NODE_INPUTS], n = 0;
                const char *bad = NULL;
                int r = collect(b, args, ids, &n, &bad);
                /* MultiHeadAttention's value and key: Keras 2 serializes every argument after
                 * the first as a call argument, Keras 3 keeps those passed by keyword there. */
                if (!r && !strcmp(layer_of[i]->class_name, "MultiHeadAttention"))
                    for (int kk = 0; kk < 2 && !r; kk++) {
                        const json_t *t = kwarg(node, kk ? "key" : "value");
                        if (t) r = collect(b, t, ids, &n, &bad);
                    }
                if (r == -1) break;
                if (r == -2 || n == 0) {
                    s = sc_error_set(b->err, SC_INVALID_ARGUMENT,
                                     "%s: layer '%s': inbound node %zu refers to %s%s%s", b->src,
                                     layer_of[i]->name, next_node[i],
                                     !bad                    ? "no tensor"
                                     : find_layer(b, bad, NULL) ? "a call or output index of '"
                                                                : "unknown layer '",
                                     bad ? bad : "", bad ? "' that does not exist" : "");
                    goto done;
                }
                const char *kw = unsupported_kwarg(node, layer_of[i]->class_name);
                if (kw) {
                    s = sc_error_set(b->err, SC_UNIMPLEMENTED,
                                     "%s: layer '%s' (%s): call argument "
                                     "%s is not supported",
                                     b->src, layer_of[i]->name, layer_of[i]->class_name, kw);
                    goto done;
                }
                int t = -1;
                if ((s = apply(b, layer_of[i], ids, n, &t))) goto done;
                if (!layer_of[i]->is_container) {
                    const json_t *cm = kwarg(node, "use_causal_mask");
                    m->nodes[m->num_nodes - 1].use_causal_mask = cm && json_is_true(cm);
                }
                b->layer_outputs[i][next_node[i]++] = t;
                progress = 1;
            }
        }
    }
    for (size_t i = 0; i < nl; i++)
        if (next_node[i]
            < json_array_size(json_object_get(json_array_get(layers, i), "inbound_nodes"))) {
            s = sc_error_set(b->err, SC_INVALID_ARGUMENT,
                             "%s: layer '%s': its inputs can never be computed (a cycle or a "
                             "missing layer)",
                             b->src, layer_of[i]->name);
            goto done;
        }
    /* Outputs, and the model's input order, from output_layers / input_layers. A single
     * triple (Keras 3) or a list of triples. */
    const json_t *outs = json_object_get(cfg, "output_layers");
    int ids[SC_MAX_NODE_INPUTS], n = 0;
    const char *bad = NULL;
    if (collect(b, outs, ids, &n, &bad) != 0 || n == 0) {
        s = sc_error_set(b->err, SC_INVALID_ARGUMENT, "%s: output_layers refer to %s", b->src,
                         bad ? bad : "nothing that was built");
        goto done;
    }
    if (container) {
        if (n != 1) {
            s = sc_error_set(b->err, SC_UNIMPLEMENTED,
                             "%s: nested model '%s' has %d outputs "
                             "(one is supported)",
                             b->src, container->name, n);
            goto done;
        }
        *call_out = ids[0];
        s = SC_OK;
        goto done;
    }
    if ((s = set_outputs(b, ids, (size_t)n))) goto done;
    if ((s = name_outputs(b, outs))) goto done;
    const json_t *ins = json_object_get(cfg, "input_layers");
    n = 0;
    bad = NULL;
    int got = ins ? collect(b, ins, ids, &n, &bad) : -1;
    if (ins && got != 0 && bad) {
        s = sc_error_set(b->err, SC_INVALID_ARGUMENT, "%s: input_layers refer to %s", b->src, bad);
        goto done;
    }
    /* Each entry must be one of the model's InputLayers, each at most once. */
    for (int k = 0; got == 0 && k < n; k++) {
        int is_input = 0;
        for (size_t j = 0; j < m->num_inputs; j++) is_input |= m->inputs[j] == ids[k];
        int prod = m->tensors[ids[k]].producer;
        const char *what = prod >= 0 ? m->nodes[prod].layer->name : "an input";
        if (!is_input) {
            s = sc_error_set(b->err, SC_INVALID_ARGUMENT,
                             "%s: input_layers lists '%s', which is "
                             "not an InputLayer",
                             b->src, what);
            goto done;
        }
        for (int q = 0; q < k; q++)
            if (ids[q] == ids[k]) {
                const char *nm = NULL;
                for (size_t j = 0; j < m->num_inputs; j++)
                    if (m->inputs[j] == ids[k]) nm = m->input_names[j];
                s = sc_error_set(b->err, SC_INVALID_ARGUMENT, "%s: input_layers lists '%s' twice",
                                 b->src, nm ? nm : what);
                goto done;
            }
    }
    if (got == 0 && (size_t)n == m->num_inputs) {
        /* Reorder inputs (and their names) to the declared order. */
        int *order = malloc(m->num_inputs * sizeof *order);
        char **names = malloc(m->num_inputs * sizeof *names);
        if (!order || !names) {
            free(order);
            free(names);
            s = sc_error_set(b->err, SC_NO_MEMORY, "out of memory");
            goto done;
        }
        sc_shape decl[SC_MAX_NODE_INPUTS]; /* n <= SC_MAX_NODE_INPUTS (collect) */
        for (int k = 0; k < n; k++) {
            order[k] = ids[k];
            names[k] = NULL;
            for (size_t j = 0; j < m->num_inputs; j++)
                if (m->inputs[j] == ids[k]) {
                    names[k] = m->input_names[j];
                    if (m->input_decl) decl[k] = m->input_decl[j];
                }
        }
        if (m->input_decl) memcpy(m->input_decl, decl, m->num_inputs * sizeof *decl);
        memcpy(m->inputs, order, m->num_inputs * sizeof *order);
        memcpy(m->input_names, names, m->num_inputs * sizeof *names);
        free(order);
        free(names);
    }
    s = SC_OK;
done:
    if (b->layer_outputs)
        for (size_t i = 0; i < nl; i++) free(b->layer_outputs[i]);
    free(b->layer_outputs);
    free(b->layer_of);
    free(b->next_node);
    free(b->node_base);
    b->node_base = saved_base;
    b->layer_outputs = saved_out;
    b->layer_of = saved_of;
    b->num_entries = saved_n;
    b->next_node = saved_next;
    return s;
}

/* Keras 3's naming.to_snake_case: drop non-word characters, "_" before an upper-case letter
 * that starts a capitalised word, and between a lower-case and an upper-case letter:
 * MaxPooling2D -> max_pooling2d, PReLU -> p_re_lu. */
static void snake_case(const char *in, char *out, size_t cap) {
    char tmp[256], tmp2[512];
    size_t n = 0, k = 0;
    /* a registered class ("keras_nlp>PositionEmbedding"): Python's __class__.__name__ */
    if (strchr(in, '>')) in = strrchr(in, '>') + 1;
    for (const char *p = in; *p && n + 1 < sizeof tmp; p++)
        if (isalnum((unsigned char)*p) || *p == '_') tmp[n++] = *p;
    tmp[n] = '\0';
    for (size_t i = 0; i < n && k + 2 < sizeof tmp2; i++) {
        /* (.)([A-Z][a-z]+) */
        if (i > 0 && isupper((unsigned char)tmp[i]) && i + 1 < n
            && islower((unsigned char)tmp[i + 1]))
            tmp2[k++] = '_';
        tmp2[k++] = tmp[i];
    }
    tmp2[k] = '\0';
    n = 0;
    for (size_t i = 0; i < k && n + 2 < cap; i++) {
        /* ([a-z])([A-Z]) */
        if (i > 0 && islower((unsigned char)tmp2[i - 1]) && isupper((unsigned char)tmp2[i]))
            out[n++] = '_';
        out[n++] = (char)tolower((unsigned char)tmp2[i]);
    }
    out[n] = '\0';
}

/* The .weights.h5 path of each layer: snake_case of its class, made unique among the layers of
 * the same (possibly nested) model by "_1", "_2", ... in order; a nested model's layers go
 * below "<its path>/layers/" (FORMATS §7.1). */
static sc_status name_h5_groups(sc_model *m, sc_error *err) {
    for (size_t i = 0; i < m->num_layers; i++) {
        sc_layer *L = m->layers[i];
        char base[256], name[700];
        snake_case(L->class_name, base, sizeof base);
        int k = 0;
        for (size_t j = 0; j < i; j++) {
            char other[256];
            if (m->layers[j]->parent != L->parent) continue;
            snake_case(m->layers[j]->class_name, other, sizeof other);
            if (strcmp(other, base) == 0) k++;
        }
        int n = snprintf(name, sizeof name, "%s%s%s", L->parent ? L->parent->h5_name : "",
                         L->parent ? "/layers/" : "", base);
        if (k && n >= 0 && (size_t)n < sizeof name)
            snprintf(name + n, sizeof name - (size_t)n, "_%d", k);
        L->h5_name = strdup(name);
        if (!L->h5_name) return sc_error_set(err, SC_NO_MEMORY, "out of memory");
        for (size_t v = 0; v < L->num_vars; v++) sc_layer_var(L, v)->h5_group = L->h5_name;
    }
    return SC_OK;
}

/* layer_with_weights-K: K counts, in the order of a model's layers, those that have weights; a
 * nested model is one of them when any of its layers has weights, and its own layers are
 * numbered below it: layer_with_weights-0/layer_with_weights-1/kernel (FORMATS §3.3). Returns
 * how many of the container's layers have weights. */
static int has_weights(const sc_model *m, const sc_layer *L) {
    if (!L->is_container) return L->num_vars > 0;
    for (size_t i = L->index + 1; i < m->num_layers; i++)
        if (m->layers[i]->parent == L && has_weights(m, m->layers[i])) return 1;
    return 0;
}

static int number_weight_layers(sc_model *m, sc_layer *container, sc_error *err) {
    int k = 0;
    for (size_t i = 0; i < m->num_layers; i++) {
        sc_layer *L = m->layers[i];
        if (L->parent != container || !has_weights(m, L)) continue;
        L->weights_index = k++;
        char path[600];
        snprintf(path, sizeof path, "%s%slayer_with_weights-%d",
                 container ? container->ckpt_path : "", container ? "/" : "", L->weights_index);
        L->ckpt_path = strdup(path);
        if (!L->ckpt_path) {
            sc_error_set(err, SC_NO_MEMORY, "out of memory");
            return -1;
        }
        for (size_t v = 0; v < L->num_vars; v++)
            sc_layer_var(L, v)->layer_with_weights = L->weights_index;
        if (L->is_container && number_weight_layers(m, L, err) < 0) return -1;
    }
    return k;
}

/* Keras 3's `_operations/<n>` counts every operation of the top model, InputLayers included: a
 * Sequential model's functional has its InputLayer first, which this engine does not keep as a
 * layer. (Nested models' keys there are not known: FORMATS §3.4.) */
static void number_operations(sc_model *m) {
    int n = m->sequential ? 1 : 0;
    for (size_t i = 0; i < m->num_layers; i++)
        if (!m->layers[i]->parent) m->layers[i]->op_index = n++;
}

static int detect_keras3(const json_t *root) {
    const json_t *kv = json_object_get(root, "keras_version");
    if (json_is_string(kv)) return json_string_value(kv)[0] >= '3';
    /* Keras 3 envelopes carry "module"; so do Keras 2.13+ layers, but those also write
     * keras_version at the top of to_json(). */
    return json_object_get(root, "module") != NULL;
}

sc_status sc_model_load_keras_json(const char *json, size_t len, const char *name, sc_model **out,
                                   sc_error *err) {
    *out = NULL;
    json_error_t je;
    json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
    if (!root)
        return sc_error_set(err, SC_INVALID_ARGUMENT, "%s:%d:%d: not valid JSON: %s", name, je.line,
                            je.column, je.text);
    sc_model *m = calloc(1, sizeof *m);
    builder b;
    memset(&b, 0, sizeof b);
    b.m = m;
    b.src = name;
    b.err = err;
    sc_status s;
    if (!m) {
        s = sc_error_set(err, SC_NO_MEMORY, "out of memory");
        goto fail;
    }
    m->keras3 = detect_keras3(root);
    const json_t *cn = json_object_get(root, "class_name");
    const json_t *cfg = json_object_get(root, "config");
    /* Keras <= 2.2 wrote a Sequential's config as the bare list of its layers. */
    if (json_is_string(cn) && !strcmp(json_string_value(cn), "Sequential") && json_is_array(cfg)) {
        json_t *wrapped = json_pack("{sO}", "layers", (json_t *)cfg);
        if (!wrapped || json_object_set_new(root, "config", wrapped)) {
            s = sc_error_set(err, SC_NO_MEMORY, "out of memory");
            goto fail;
        }
        cfg = wrapped;
    }
    if (!json_is_string(cn) || !json_is_object(cfg)) {
        s = sc_error_set(
            err, SC_INVALID_ARGUMENT,
            "%s: not a Keras model config (expected an object with class_name and config)", name);
        goto fail;
    }
    const json_t *mn = json_object_get(cfg, "name");
    m->name = strdup(json_is_string(mn) ? json_string_value(mn) : "model");
    const char *cls = json_string_value(cn);
    m->sequential = strcmp(cls, "Sequential") == 0;
    if (m->sequential)
        s = build_sequential(&b, root, cfg);
    else if (strcmp(cls, "Functional") == 0 || strcmp(cls, "Model") == 0)
        s = build_functional(&b, cfg, NULL, NULL, 0, NULL);
    else
        s = sc_error_set(err, SC_UNIMPLEMENTED,
                         "%s: model class '%s' is not supported (Sequential or Functional)", name,
                         cls);
    if (s) goto fail;
    number_operations(m);
    m->num_weight_layers = number_weight_layers(m, NULL, err);
    if (m->num_weight_layers < 0) {
        s = SC_NO_MEMORY;
        goto fail;
    }
    if ((s = name_h5_groups(m, err))) goto fail;
    if ((s = sc_mask_plan(m, err))) goto fail;
    json_decref(root);
    *out = m;
    return SC_OK;
fail:
    json_decref(root);
    sc_model_free(m);
    return s;
}

sc_status sc_model_load_keras(const char *path, sc_model **out, sc_error *err) {
    if (sc_ckpt_file_kind(path) == SC_CKPT_KERAS_ARCHIVE) {
        /* A Keras 3 archive: its config.json is the model's serialize_keras_object envelope. */
        sc_keras_archive *ar;
        sc_status s = sc_keras_archive_open(path, &ar, err);
        if (s) return s;
        size_t len;
        const char *cfg = sc_keras_archive_config(ar, &len);
        char name[4200];
        snprintf(name, sizeof name, "%s:config.json", path);
        s = sc_model_load_keras_json(cfg, len, name, out, err);
        sc_keras_archive_free(ar);
        return s;
    }
    uint8_t *data;
    size_t len;
    sc_status s = sc_read_file(path, &data, &len, err);
    if (s) return s;
    s = sc_model_load_keras_json((const char *)data, len, path, out, err);
    free(data);
    return s;
}
