/* model/bind.c — TensorFlow checkpoint -> model variables (FORMATS §3.3).
 *
 * Keras 2 keys a variable as `layer_with_weights-K/<name>/.ATTRIBUTES/VARIABLE_VALUE`, under
 * `model/` when the checkpoint was written by tf.train.Checkpoint(model=...) (CheckpointManager)
 * and at the root when written by Keras' ModelCheckpoint / save_weights. K counts the model's
 * layers that have weights; it is the same for Sequential and Functional models, since the
 * InputLayer has none.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "model/bind_graph.h"
#include "model/model_internal.h"
#include "sidecar/keras_weights.h"
#include "sidecar/safetensors.h"
#include "sidecar/tensor.h"

#define ATTR "/.ATTRIBUTES/VARIABLE_VALUE"

void sc_bind_report_clear(sc_bind_report *r) {
    if (!r) return;
    for (size_t i = 0; i < r->num_entries; i++) {
        free(r->entries[i].variable);
        free(r->entries[i].key);
    }
    for (size_t i = 0; i < r->num_unused; i++) free(r->unused_keys[i]);
    free(r->model_root);
    free(r->var_nodes);
    free(r->entries);
    free(r->unused_keys);
    memset(r, 0, sizeof *r);
}

static int has_prefix(const char *s, const char *p) { return strncmp(s, p, strlen(p)) == 0; }

/* Where weights come from: a TF checkpoint or a safetensors file, seen through one interface
 * so the matching, shape checks and conversion are written once. */
typedef struct wsource {
    void *h;
    const char *name; /* file or prefix, for messages */
    size_t (*count)(const void *h);
    const sc_tensor_info *(*get)(const void *h, size_t i);
    const sc_tensor_info *(*find)(const void *h, const char *key);
    sc_status (*read)(void *h, const sc_tensor_info *t, void *buf, size_t cap, sc_error *err);
    /* Candidate key number `attempt` for v; 0 when written, -1 when there are no more. */
    int (*key)(const struct wsource *src, const sc_variable *v, int attempt, char *buf, size_t cap);
    /* Keys that look like model variables (for the "left over" list). */
    int (*is_model_key)(const struct wsource *src, const char *key);
    const char *root; /* bundles: "model/" or "" */
    int custom;       /* the model is written in C (variables named by checkpoint path) */
    int keras3_ops;   /* Keras 3 TF-backend keys (_operations/<n>/...) */
    const sc_model *model;
    const char *const *graph_keys; /* [num_vars] keys found through the object graph, or NULL */
} wsource;

/* ---- TF checkpoints ---- */

static size_t b_count(const void *h) { return sc_bundle_num_tensors(h); }
static const sc_tensor_info *b_get(const void *h, size_t i) { return sc_bundle_tensor(h, i); }
static const sc_tensor_info *b_find(const void *h, const char *k) { return sc_bundle_find(h, k); }
static sc_status b_read(void *h, const sc_tensor_info *t, void *buf, size_t cap, sc_error *err) {
    return sc_bundle_read(h, t, buf, cap, err);
}
/* Keras 3 with the TF backend keys layers by attribute path (FORMATS §3.4, UNCONFIRMED: from
 * third-party observations, no real file checked): `_operations/<n>/` (Sequential:
 * `_functional/_operations/<n>/`), with Dense/Conv kernels as `_kernel` and Embedding tables as
 * `_embeddings`. */
static int b_key(const wsource *src, const sc_variable *v, int attempt, char *buf, size_t cap) {
    if (attempt > 0) return -1;
    if (src->graph_keys)
        snprintf(buf, cap, "%s", src->graph_keys[v - src->model->vars]);
    else if (v->layer_with_weights < 0) /* a model written in C: the name is the checkpoint path */
        snprintf(buf, cap, "%s%s" ATTR, src->root, v->name);
    else if (src->keras3_ops) {
        const char *attr = !strcmp(v->name, "kernel")       ? "_kernel"
                           : !strcmp(v->name, "embeddings") ? "_embeddings"
                                                            : v->name;
        /* a sublayer's kernel (MultiHeadAttention's _query_dense/kernel) is its _kernel too */
        const char *slash = strrchr(v->name, '/');
        int sub_kernel = slash && !strcmp(slash, "/kernel");
        snprintf(buf, cap, "%s%s_operations/%d/%.*s%s" ATTR, src->root,
                 src->model->sequential ? "_functional/" : "",
                 src->model->layers[v->layer_index]->op_index,
                 sub_kernel ? (int)(slash - v->name + 1) : 0, v->name,
                 sub_kernel ? "_kernel" : attr);
    } else
        snprintf(buf, cap, "%s%s/%s" ATTR, src->root, src->model->layers[v->layer_index]->ckpt_path,
                 v->name);
    return 0;
}
static int b_is_model_key(const wsource *src, const char *k) {
    if (src->keras3_ops)
        return strstr(k, "_operations/") != NULL && !strstr(k, "/.OPTIMIZER_SLOT/");
    if (src->custom)
        return !has_prefix(k, "optimizer/") && !has_prefix(k, "save_counter/")
               && !strstr(k, "/.OPTIMIZER_SLOT/") && strcmp(k, "_CHECKPOINTABLE_OBJECT_GRAPH");
    char lw[64];
    snprintf(lw, sizeof lw, "%slayer_with_weights-", src->root);
    return has_prefix(k, lw) && !strstr(k, "/.OPTIMIZER_SLOT/");
}

/* "model/" for CheckpointManager checkpoints, "" for Keras weight checkpoints, NULL when the
 * checkpoint holds no Keras 2 layer_with_weights keys at all. */
static const char *key_root(const sc_bundle *b) {
    int root = 0;
    for (size_t i = 0; i < sc_bundle_num_tensors(b); i++) {
        const char *k = sc_bundle_tensor(b, i)->key;
        if (has_prefix(k, "model/layer_with_weights-")) return "model/";
        if (has_prefix(k, "layer_with_weights-")) root = 1;
    }
    return root ? "" : NULL;
}

/* ---- safetensors: "<layer>/vars/<i>" (the .weights.h5 path) or "<layer>/<name>" (Keras 3
 * variable.path) ---- */

static size_t s_count(const void *h) { return sc_safetensors_num_tensors(h); }
static const sc_tensor_info *s_get(const void *h, size_t i) { return sc_safetensors_tensor(h, i); }
static const sc_tensor_info *s_find(const void *h, const char *k) {
    return sc_safetensors_find(h, k);
}
static sc_status s_read(void *h, const sc_tensor_info *t, void *buf, size_t cap, sc_error *err) {
    return sc_safetensors_read(h, t, buf, cap, err);
}
static int s_key(const wsource *src, const sc_variable *v, int attempt, char *buf, size_t cap) {
    (void)src;
    if (v->layer_with_weights < 0) { /* a model written in C: the name is the path */
        if (attempt > 0) return -1;
        snprintf(buf, cap, "%s", v->name);
        return 0;
    }
    if (attempt == 0)
        snprintf(buf, cap, "%s/vars/%d", v->layer, v->index);
    else if (attempt == 1)
        snprintf(buf, cap, "%s/%s", v->layer, v->name);
    else
        return -1;
    return 0;
}
static int s_is_model_key(const wsource *src, const char *k) {
    (void)src;
    return !has_prefix(k, "optimizer/");
}

/* ---- Keras 3 .weights.h5: layers/<group>/vars/<i> ---- */

static size_t h_count(const void *h) { return sc_h5weights_num_tensors(h); }
static const sc_tensor_info *h_get(const void *h, size_t i) { return sc_h5weights_tensor(h, i); }
static const sc_tensor_info *h_find(const void *h, const char *k) {
    return sc_h5weights_find(h, k);
}
static sc_status h_read(void *h, const sc_tensor_info *t, void *buf, size_t cap, sc_error *err) {
    return sc_h5weights_read(h, t, buf, cap, err);
}
static int h_key(const wsource *src, const sc_variable *v, int attempt, char *buf, size_t cap) {
    (void)src;
    /* A recurrent layer's variables live in its cell, a wrapper's in its inner layer. */
    const char *sub = v->h5_sub ? v->h5_sub : "", *sl = v->h5_sub ? "/" : "";
    if (attempt == 0)
        snprintf(buf, cap, "layers/%s%s%s/vars/%d", v->h5_group, sl, sub, v->h5_index);
    /* Keras 2.13 .keras files used _layer_checkpoint_dependencies; Keras 3 falls back to it. */
    else if (attempt == 1)
        snprintf(buf, cap, "_layer_checkpoint_dependencies/%s%s%s/vars/%d", v->h5_group, sl, sub,
                 v->h5_index);
    /* MultiHeadAttention's sublayers: Keras 3 versions before the query_dense/... properties
     * reach them by their private attribute (_query_dense). */
    else if (attempt == 2 && v->h5_sub && strstr(v->h5_sub, "_dense"))
        snprintf(buf, cap, "layers/%s/_%s/vars/%d", v->h5_group, sub, v->h5_index);
    else
        return -1;
    return 0;
}
static int h_is_model_key(const wsource *src, const char *k) {
    (void)src;
    return has_prefix(k, "layers/") || has_prefix(k, "_layer_checkpoint_dependencies/");
}

/* ---- Keras 2 legacy HDF5 (FORMATS §7.4/§7.5): <root><layer>/<scope...>/<var>[:0], root
 * "model_weights/" in a full-model file. The scope between depends on the writer
 * ("dense/dense/kernel:0" in tf.keras, "dense_3/sequential_1/dense_3/kernel" in Keras 3's legacy
 * save, "lstm/lstm/lstm_cell/kernel:0" for RNN cells, "<nested model>/<layer>/kernel:0"), so
 * the key is found by its ending inside the top-level layer's group. ---- */

static int ends_var(const char *k, size_t kl, const char *tail) {
    size_t n = strlen(tail);
    if (kl > n + 2 && !strcmp(k + kl - 2, ":0")) kl -= 2;
    return kl > n && k[kl - n - 1] == '/' && !strncmp(k + kl - n, tail, n);
}

/* Keras 2 names MultiHeadAttention's sublayers query, key, value and attention_output: its
 * variables are "<mha>/query/kernel:0" in legacy HDF5, "_query_dense/kernel" in checkpoints. */
static const char *legacy_name(const char *var, char *buf, size_t cap) {
    static const char *const map[][2] = {{"_query_dense/", "query/"},
                                         {"_key_dense/", "key/"},
                                         {"_value_dense/", "value/"},
                                         {"_output_dense/", "attention_output/"}};
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (has_prefix(var, map[i][0])) {
            snprintf(buf, cap, "%s%s", map[i][1], var + strlen(map[i][0]));
            return buf;
        }
    return var;
}

static int l_key(const wsource *src, const sc_variable *v, int attempt, char *buf, size_t cap) {
    const sc_layer *L = src->model->layers[v->layer_index], *top = L;
    while (top->parent) top = top->parent;
    char lname[128];
    const char *vname = legacy_name(v->name, lname, sizeof lname);
    if (attempt == 0) {
        snprintf(buf, cap, "%s%s/%s/%s:0", src->root, top->name, L->name, vname);
        return 0;
    }
    if (attempt > 2) return -1;
    /* 1: ".../<layer>/<var>" inside the top-level group; 2 (top-level layers only): any
     * ".../<var>" there. Taken only when exactly one dataset matches. */
    if (attempt == 2 && top != L) return -1;
    char group[300], tail[300];
    snprintf(group, sizeof group, "%s%s/", src->root, top->name);
    if (attempt == 1)
        snprintf(tail, sizeof tail, "%s/%s", L->name, vname);
    else
        snprintf(tail, sizeof tail, "%s", vname);
    size_t gl = strlen(group), found = 0;
    const char *hit = NULL;
    for (size_t i = 0; i < src->count(src->h); i++) {
        const char *k = src->get(src->h, i)->key;
        if (strncmp(k, group, gl) || !ends_var(k, strlen(k), tail)) continue;
        hit = k;
        found++;
    }
    if (found != 1) {
        snprintf(buf, cap, "%s", ""); /* no dataset has an empty key: not found */
        return 0;
    }
    snprintf(buf, cap, "%s", hit);
    return 0;
}
static int l_is_model_key(const wsource *src, const char *k) {
    if (*src->root) return has_prefix(k, src->root);
    return !has_prefix(k, "optimizer_weights/");
}

static int same_shape(const sc_tensor_info *t, const sc_shape *s) {
    if (t->rank != s->rank) return 0;
    for (int i = 0; i < s->rank; i++)
        if (t->shape[i] != s->dims[i]) return 0;
    return 1;
}

static void info_shape_str(const sc_tensor_info *t, char *buf, size_t cap) {
    sc_shape s = {0};
    s.rank = t->rank <= SC_MAX_DIMS ? t->rank : SC_MAX_DIMS;
    for (int i = 0; i < s.rank; i++) s.dims[i] = t->shape[i];
    sc_shape_str(&s, buf, cap);
}

/* Position of t in the source's key order (both sources keep their tensors sorted by key). */
static size_t index_of(const wsource *src, const sc_tensor_info *t) {
    size_t lo = 0, hi = src->count(src->h);
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const sc_tensor_info *x = src->get(src->h, mid);
        if (x == t) return mid;
        if (strcmp(x->key, t->key) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static sc_status report_unused(const wsource *src, const unsigned char *used, sc_bind_report *rep) {
    size_t n = src->count(src->h);
    rep->unused_keys = calloc(n ? n : 1, sizeof *rep->unused_keys);
    if (!rep->unused_keys) return SC_NO_MEMORY;
    for (size_t i = 0; i < n; i++) {
        const char *k = src->get(src->h, i)->key;
        if (used[i] || !src->is_model_key(src, k)) continue;
        rep->unused_keys[rep->num_unused] = strdup(k);
        if (!rep->unused_keys[rep->num_unused]) return SC_NO_MEMORY;
        rep->num_unused++;
    }
    return SC_OK;
}

/* Copies one tensor into a variable, converting to float32. tmp is reused between calls. */
static sc_status load_var(const wsource *src, sc_variable *v, const sc_tensor_info *t,
                          const char *key, void **tmp, size_t *tmp_cap, sc_error *err) {
    char want[128], found[128];
    if (!same_shape(t, &v->shape)) {
        info_shape_str(t, found, sizeof found);
        return sc_error_set(err, SC_INVALID_ARGUMENT,
                            "%s: layer '%s': variable '%s' (key '%s') has shape %s, the model "
                            "expects %s",
                            src->name, v->layer, v->name, key, found,
                            sc_shape_str(&v->shape, want, sizeof want));
    }
    if (!sc_dtype_converts_to_float32(t->dtype))
        return sc_error_set(err, SC_UNIMPLEMENTED,
                            "%s: layer '%s': variable '%s' is stored as %s, which cannot be "
                            "converted to float32",
                            src->name, v->layer, v->name, sc_dtype_name(t->dtype));
    if (t->dtype == SC_DT_FLOAT)
        return src->read(src->h, t, v->data, (size_t)v->num_elements * sizeof(float), err);
    if (t->size > *tmp_cap) {
        void *nt = realloc(*tmp, t->size);
        if (!nt) return sc_error_set(err, SC_NO_MEMORY, "out of memory reading '%s'", key);
        *tmp = nt;
        *tmp_cap = t->size;
    }
    sc_status s = src->read(src->h, t, *tmp, *tmp_cap, err);
    return s ? s : sc_convert_to_float32(t->dtype, *tmp, (size_t)v->num_elements, v->data, err);
}

static sc_status bind(sc_model *m, const wsource *src, sc_ckpt_layout layout,
                      sc_bind_report *report, sc_error *err) {
    sc_status s = SC_OK;
    unsigned char *used = calloc(src->count(src->h) + 1, 1);
    if (!used) return sc_error_set(err, SC_NO_MEMORY, "out of memory");
    if (report) {
        report->layout = layout;
        report->entries = calloc(m->num_vars ? m->num_vars : 1, sizeof *report->entries);
        if (!report->entries) {
            s = sc_error_set(err, SC_NO_MEMORY, "out of memory");
            goto done;
        }
        report->num_entries = m->num_vars;
    }
    for (size_t i = 0; i < m->num_vars; i++) m->vars[i].bound = 0;
    m->weights_gen++; /* overwritten in place from here on, even if the bind fails */
    for (size_t i = 0; i < m->num_vars; i++) {
        sc_variable *v = &m->vars[i];
        char key[512], first[512] = "";
        const sc_tensor_info *t = NULL;
        for (int a = 0; !t && src->key(src, v, a, key, sizeof key) == 0; a++) {
            if (a == 0) snprintf(first, sizeof first, "%s", key);
            t = src->find(src->h, key);
        }
        if (report) {
            size_t ln = strlen(v->layer) + strlen(v->name) + 2;
            report->entries[i].variable = malloc(ln);
            if (report->entries[i].variable)
                snprintf(report->entries[i].variable, ln, "%s/%s", v->layer, v->name);
        }
        if (!t) {
            if (s == SC_OK)
                s = sc_error_set(err, SC_NOT_FOUND,
                                 "%s: layer '%s': variable '%s' not found (expected key '%s')",
                                 src->name, v->layer, v->name, first);
            continue; /* keep going so the report lists everything that is missing */
        }
        used[index_of(src, t)] = 1;
        if (report) report->entries[i].key = strdup(key);
        if (s != SC_OK) continue;
        /* The conversion buffer lives in the model: the next checkpoint reuses it. */
        s = load_var(src, v, t, key, &m->bind_tmp, &m->bind_tmp_cap, err);
        if (!s) v->bound = 1;
    }
    if (report && report_unused(src, used, report) != SC_OK && s == SC_OK)
        s = sc_error_set(err, SC_NO_MEMORY, "out of memory");
done:
    free(used);
    return s;
}

static int is_custom(const sc_model *m) {
    return m->num_layers == 1 && m->num_vars && m->vars[0].layer_with_weights < 0
           && strcmp(m->layers[0]->class_name, "custom") == 0;
}

/* Escapes one path the way keys escape each edge name (FORMATS §3.1: '.' -> '..', '/' inside a
 * name -> '.S'); the graph path's own '/' separators stay. */
static void key_prefix(const char *path, char *buf, size_t cap) {
    size_t o = 0;
    for (const char *p = path; *p && o + 3 < cap; p++) {
        if (*p == '.') buf[o++] = '.';
        buf[o++] = *p;
    }
    if (o && o + 1 < cap) buf[o++] = '/';
    buf[o] = '\0';
}

/* Binding through the object graph: SC_NOT_FOUND (no message) when the graph does not show
 * the model, and the caller binds by key strings. */
static sc_status bind_graph(sc_model *m, sc_bundle *b, const sc_bind_params *p,
                            sc_bind_report *report, sc_error *err) {
    if (!sc_bundle_find(b, SC_OBJECT_GRAPH_KEY)) return SC_NOT_FOUND;
    sc_object_graph *g = NULL;
    sc_status s = sc_object_graph_read(b, &g, err);
    if (s != SC_OK) return s;
    sc_graph_binding gb;
    s = sc_graph_binding_find(m, b, g, p ? p->model_root : NULL, &gb, err);
    if (s == SC_OK) {
        char root[512];
        key_prefix(gb.root_path, root, sizeof root);
        wsource src = {b,      sc_bundle_prefix(b), b_count, b_get,        b_find, b_read,
                       b_key,  b_is_model_key,      root,    is_custom(m), 0,      m,
                       gb.keys};
        s = bind(m, &src, gb.root_path[0] ? SC_LAYOUT_CHECKPOINT_MANAGER : SC_LAYOUT_KERAS_WEIGHTS,
                 report, err);
        if (report && report->entries) {
            report->model_root = strdup(gb.root_path);
            report->var_nodes = malloc((m->num_vars ? m->num_vars : 1) * sizeof *report->var_nodes);
            if (report->var_nodes)
                memcpy(report->var_nodes, gb.nodes, m->num_vars * sizeof *gb.nodes);
            if ((!report->model_root || !report->var_nodes) && s == SC_OK)
                s = sc_error_set(err, SC_NO_MEMORY, "out of memory");
        }
    }
    sc_graph_binding_clear(&gb);
    sc_object_graph_free(g);
    return s;
}

sc_status sc_model_bind_bundle(sc_model *m, sc_bundle *b, sc_bind_report *report, sc_error *err) {
    return sc_model_bind_bundle_ex(m, b, NULL, report, err);
}

sc_status sc_model_bind_bundle_ex(sc_model *m, sc_bundle *b, const sc_bind_params *p,
                                  sc_bind_report *report, sc_error *err) {
    if (report) memset(report, 0, sizeof *report);
    sc_status gs = bind_graph(m, b, p, report, err);
    if (gs != SC_NOT_FOUND || (p && p->model_root && sc_bundle_find(b, SC_OBJECT_GRAPH_KEY)))
        return gs;
    if (report) sc_bind_report_clear(report);
    char given[512] = "";
    if (p && p->model_root) key_prefix(p->model_root, given, sizeof given);
    if (is_custom(m)) {
        /* Keyed by attribute path, under model/ in a tf.train.Checkpoint(model=...). */
        int under_model = 0;
        for (size_t i = 0; i < sc_bundle_num_tensors(b) && !under_model; i++)
            under_model = has_prefix(sc_bundle_tensor(b, i)->key, "model/");
        const char *root = p && p->model_root ? given : under_model ? "model/" : "";
        wsource src = {b,     sc_bundle_prefix(b), b_count, b_get, b_find, b_read,
                       b_key, b_is_model_key,      root,    1,     0,      m,
                       NULL};
        return bind(m, &src, *root ? SC_LAYOUT_CHECKPOINT_MANAGER : SC_LAYOUT_KERAS_WEIGHTS, report,
                    err);
    }
    const char *root = p && p->model_root ? given : key_root(b);
    int k3 = 0;
    if (!root) {
        /* Keras 3 TF-backend keys? */
        for (size_t i = 0; i < sc_bundle_num_tensors(b) && !root; i++) {
            const char *k = sc_bundle_tensor(b, i)->key;
            if (has_prefix(k, "model/_operations/")
                || has_prefix(k, "model/_functional/_operations/"))
                root = "model/";
            else if (has_prefix(k, "_operations/") || has_prefix(k, "_functional/_operations/"))
                root = "";
        }
        k3 = root != NULL;
    }
    if (!root)
        return sc_error_set(
            err, SC_NOT_FOUND,
            "%s: no Keras layer variables (expected keys 'layer_with_weights-K/...' "
            "or Keras 3's '_operations/N/...', at the root or under 'model/')",
            sc_bundle_prefix(b));
    wsource src = {b,     sc_bundle_prefix(b), b_count, b_get, b_find, b_read,
                   b_key, b_is_model_key,      root,    0,     k3,     m,
                   NULL};
    return bind(m, &src, *root ? SC_LAYOUT_CHECKPOINT_MANAGER : SC_LAYOUT_KERAS_WEIGHTS, report,
                err);
}

sc_status sc_model_bind_h5weights(sc_model *m, struct sc_h5weights *h, sc_bind_report *report,
                                  sc_error *err) {
    if (report) memset(report, 0, sizeof *report);
    wsource src = {h,     sc_h5weights_path(h), h_count, h_get, h_find, h_read,
                   h_key, h_is_model_key,       "",      0,     0,      m,
                   NULL};
    return bind(m, &src, SC_LAYOUT_UNKNOWN, report, err);
}

sc_status sc_model_bind_h5legacy(sc_model *m, struct sc_h5weights *h, sc_bind_report *report,
                                 sc_error *err) {
    if (report) memset(report, 0, sizeof *report);
    int full = 0;
    for (size_t i = 0; i < sc_h5weights_num_tensors(h) && !full; i++)
        full = has_prefix(sc_h5weights_tensor(h, i)->key, "model_weights/");
    wsource src = {h,
                   sc_h5weights_path(h),
                   h_count,
                   h_get,
                   h_find,
                   h_read,
                   l_key,
                   l_is_model_key,
                   full ? "model_weights/" : "",
                   0,
                   0,
                   m,
                   NULL};
    return bind(m, &src, SC_LAYOUT_UNKNOWN, report, err);
}

sc_status sc_model_bind_safetensors(sc_model *m, sc_safetensors *st, sc_bind_report *report,
                                    sc_error *err) {
    if (report) memset(report, 0, sizeof *report);
    wsource src = {st,    sc_safetensors_path(st), s_count, s_get, s_find, s_read,
                   s_key, s_is_model_key,          "",      0,     0,      m,
                   NULL};
    return bind(m, &src, SC_LAYOUT_UNKNOWN, report, err);
}
