/* tests/support/tf_trackable.c — see tf_trackable.h. */
#include "support/tf_trackable.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/pb.h"
#include "sidecar/checkpoint.h"
#include "sidecar/object_graph.h"

#define VV      "/.ATTRIBUTES/VARIABLE_VALUE"

typedef struct tft_edge_t {
    int child;
    char name[64];
} tft_edge_t;
typedef struct tft_slot_t {
    int var, slot_var;
    char name[32];
} tft_slot_t;

typedef struct tft_obj_t {
    int is_var;
    sc_dtype dtype;
    int rank;
    int64_t shape[4];
    void *data;
    size_t size;
    tft_edge_t *edges; /* a Functional model has two edges per layer: hundreds */
    int num_edges, cap_edges;
    tft_slot_t slots[64];
    int num_slots;
    int is_slot;     /* held by an optimizer's slot (keyed through .OPTIMIZER_SLOT) */
    int node;        /* node id of the last write */
    char path[1024]; /* escaped first path */
    char key[1200];
} tft_obj_t;

struct tft {
    tft_obj_t *o; /* grows: keras.applications graphs have ~1000 objects */
    int n, cap;
};

tft *tft_new(void) {
    tft *t = calloc(1, sizeof *t);
    assert_non_null(t);
    t->cap = 64;
    t->o = calloc((size_t)t->cap, sizeof *t->o);
    assert_non_null(t->o);
    t->n = 1;
    return t;
}

void tft_free(tft *t) {
    if (!t) return;
    for (int i = 0; i < t->n; i++) {
        free(t->o[i].data);
        free(t->o[i].edges);
    }
    free(t->o);
    free(t);
}

int tft_obj(tft *t) {
    if (t->n == t->cap) {
        tft_obj_t *o = realloc(t->o, 2 * (size_t)t->cap * sizeof *o);
        assert_non_null(o);
        memset(o + t->cap, 0, (size_t)t->cap * sizeof *o);
        t->o = o;
        t->cap *= 2;
    }
    return t->n++;
}

int tft_var_f32(tft *t, int rank, const int64_t *shape, const float *data) {
    int id = tft_obj(t);
    tft_obj_t *o = &t->o[id];
    o->is_var = 1;
    o->dtype = SC_DT_FLOAT;
    o->rank = rank;
    size_t n = 1;
    for (int i = 0; i < rank; i++) n *= (size_t)(o->shape[i] = shape[i]);
    o->size = n * sizeof(float);
    o->data = malloc(o->size ? o->size : 1);
    assert_non_null(o->data);
    memcpy(o->data, data, o->size);
    return id;
}

int tft_var_i64(tft *t, int64_t v) {
    int id = tft_obj(t);
    tft_obj_t *o = &t->o[id];
    o->is_var = 1;
    o->dtype = SC_DT_INT64;
    o->size = 8;
    o->data = malloc(8);
    assert_non_null(o->data);
    memcpy(o->data, &v, 8);
    return id;
}

void tft_edge(tft *t, int parent, const char *name, int child) {
    tft_obj_t *o = &t->o[parent];
    assert_true(strlen(name) < 64);
    if (o->num_edges == o->cap_edges) {
        int cap = o->cap_edges ? 2 * o->cap_edges : 8;
        tft_edge_t *e = realloc(o->edges, (size_t)cap * sizeof *e);
        assert_non_null(e);
        o->edges = e;
        o->cap_edges = cap;
    }
    o->edges[o->num_edges].child = child;
    snprintf(o->edges[o->num_edges++].name, 64, "%s", name);
}

void tft_slot(tft *t, int optimizer, int var, const char *slot, int slot_var) {
    tft_obj_t *o = &t->o[optimizer];
    assert_true(o->num_slots < 64);
    o->slots[o->num_slots].var = var;
    o->slots[o->num_slots].slot_var = slot_var;
    snprintf(o->slots[o->num_slots++].name, 32, "%s", slot);
    t->o[slot_var].is_slot = 1;
}

const char *tft_key(const tft *t, int obj) { return t->o[obj].key; }

/* A zero variable shaped like variable v. */
static int zeros_like(tft *t, int v) {
    size_t n = t->o[v].size / sizeof(float);
    float *z = calloc(n ? n : 1, sizeof *z);
    assert_non_null(z);
    int64_t shape[4];
    memcpy(shape, t->o[v].shape, sizeof shape);
    int id = tft_var_f32(t, t->o[v].rank, shape, z);
    free(z);
    return id;
}

int tft_adam_legacy(tft *t, int64_t step, const int *vars, int n) {
    static const float lr = 0.001f;
    int o = tft_obj(t);
    tft_edge(t, o, "iter", tft_var_i64(t, step));
    tft_edge(t, o, "learning_rate", tft_var_f32(t, 0, NULL, &lr));
    for (int s = 0; s < 2; s++)
        for (int i = 0; i < n; i++) tft_slot(t, o, vars[i], s ? "v" : "m", zeros_like(t, vars[i]));
    return o;
}

int tft_adam(tft *t, int64_t step, const int *vars, int n) {
    static const float lr = 0.001f;
    int o = tft_obj(t), it = tft_var_i64(t, step), list = tft_obj(t);
    tft_edge(t, o, "_iterations", it);
    tft_edge(t, o, "_learning_rate", tft_var_f32(t, 0, NULL, &lr));
    tft_edge(t, o, "_variables", list);
    tft_edge(t, list, "0", it);
    if (!n) return o;
    int mom = tft_obj(t), vel = tft_obj(t);
    tft_edge(t, o, "_momentums", mom);
    tft_edge(t, o, "_velocities", vel);
    for (int i = 0; i < n; i++) {
        int mv = zeros_like(t, vars[i]), vv = zeros_like(t, vars[i]);
        char name[16];
        snprintf(name, sizeof name, "%d", 1 + 2 * i);
        tft_edge(t, list, name, mv);
        snprintf(name, sizeof name, "%d", 2 + 2 * i);
        tft_edge(t, list, name, vv);
        snprintf(name, sizeof name, "%d", i);
        tft_edge(t, mom, name, mv);
        tft_edge(t, vel, name, vv);
    }
    return o;
}

/* One edge name escaped as in keys: '.' -> '..', '/' -> '.S'. */
static void escape_into(char *dst, size_t cap, const char *name) {
    size_t o = strlen(dst);
    for (const char *p = name; *p && o + 3 < cap; p++) {
        if (*p == '.') {
            dst[o++] = '.';
            dst[o++] = '.';
        } else if (*p == '/') {
            dst[o++] = '.';
            dst[o++] = 'S';
        } else
            dst[o++] = *p;
    }
    dst[o] = '\0';
}

void tft_write(tft *t, const char *prefix, int num_shards) {
    int *order = calloc((size_t)t->n, sizeof *order), *seen = calloc((size_t)t->n, sizeof *seen);
    int n = 0;
    assert_true(order && seen);
    for (int i = 0; i < t->n; i++) {
        t->o[i].node = -1;
        t->o[i].key[0] = t->o[i].path[0] = '\0';
    }
    /* Breadth-first from the root; slot variables are not reached through edges. */
    order[n++] = 0;
    seen[0] = 1;
    for (int h = 0; h < n; h++) {
        tft_obj_t *o = &t->o[order[h]];
        o->node = h;
        for (int e = 0; e < o->num_edges; e++) {
            int c = o->edges[e].child;
            if (seen[c]) continue;
            seen[c] = 1;
            tft_obj_t *co = &t->o[c];
            char tmp[1024];
            int w = snprintf(tmp, sizeof tmp, "%s%s", o->path, o->path[0] ? "/" : "");
            assert_true(w >= 0 && (size_t)w < sizeof tmp);
            memcpy(co->path, tmp, sizeof tmp);
            escape_into(co->path, sizeof co->path, o->edges[e].name);
            order[n++] = c;
        }
    }
    /* Slot variables after every object, in each optimizer's slot order. */
    for (int h = 0, reached = n; h < reached; h++) {
        tft_obj_t *opt = &t->o[order[h]];
        for (int s = 0; s < opt->num_slots; s++) {
            tft_obj_t *sv = &t->o[opt->slots[s].slot_var];
            if (seen[opt->slots[s].slot_var]) continue;
            seen[opt->slots[s].slot_var] = 1;
            char tmp[1024];
            int w = snprintf(tmp, sizeof tmp, "%s/.OPTIMIZER_SLOT/%s/",
                             t->o[opt->slots[s].var].path, opt->path);
            assert_true(w >= 0 && (size_t)w < sizeof tmp);
            memcpy(sv->path, tmp, sizeof tmp);
            escape_into(sv->path, sizeof sv->path, opt->slots[s].name);
            sv->node = n;
            order[n++] = opt->slots[s].slot_var;
        }
    }
    for (int h = 0; h < n; h++) {
        tft_obj_t *o = &t->o[order[h]];
        char tmp[1200];
        int w = snprintf(tmp, sizeof tmp, "%s" VV, o->path);
        assert_true(w >= 0 && (size_t)w < sizeof tmp);
        if (o->is_var) memcpy(o->key, tmp, sizeof tmp);
    }

    sc_pb_buf g = {0};
    for (int h = 0; h < n; h++) {
        tft_obj_t *o = &t->o[order[h]];
        size_t node = sc_pb_begin_sub(&g, 1);
        for (int e = 0; e < o->num_edges; e++) {
            size_t c = sc_pb_begin_sub(&g, 1);
            sc_pb_put_int(&g, 1, (uint64_t)t->o[o->edges[e].child].node);
            sc_pb_put_str(&g, 2, o->edges[e].name);
            sc_pb_end_sub(&g, c);
        }
        if (o->is_var) {
            size_t a = sc_pb_begin_sub(&g, 2);
            sc_pb_put_str(&g, 1, "VARIABLE_VALUE");
            sc_pb_put_str(&g, 2, o->path);
            sc_pb_put_str(&g, 3, o->key);
            sc_pb_end_sub(&g, a);
        }
        for (int s = 0; s < o->num_slots; s++) {
            size_t r = sc_pb_begin_sub(&g, 3);
            sc_pb_put_int(&g, 1, (uint64_t)t->o[o->slots[s].var].node);
            sc_pb_put_str(&g, 2, o->slots[s].name);
            sc_pb_put_int(&g, 3, (uint64_t)t->o[o->slots[s].slot_var].node);
            sc_pb_end_sub(&g, r);
        }
        sc_pb_end_sub(&g, node);
    }
    assert_false(g.failed);

    sc_bundle_writer_params p = sc_bundle_writer_default_params();
    p.num_shards = num_shards;
    sc_bundle_writer *w = NULL;
    sc_error err;
    if (sc_bundle_writer_create(prefix, &p, &w, &err) != SC_OK) fail_msg("%s", err.message);
    sc_bytes item = {g.data ? g.data : (const uint8_t *)"", g.len};
    if (sc_bundle_writer_add_strings(w, SC_OBJECT_GRAPH_KEY, 0, NULL, &item, 0, &err) != SC_OK)
        fail_msg("%s", err.message);
    int k = 0;
    for (int h = 0; h < n; h++) {
        tft_obj_t *o = &t->o[order[h]];
        if (!o->is_var) continue;
        if (sc_bundle_writer_add(w, o->key, o->dtype, o->rank, o->shape, o->data, o->size,
                                 num_shards > 1 ? 1 + k++ % (num_shards - 1) : 0, &err)
            != SC_OK)
            fail_msg("%s", err.message);
    }
    if (sc_bundle_writer_finish(w, &err) != SC_OK) fail_msg("%s", err.message);
    sc_bundle_writer_free(w);
    sc_pb_buf_free(&g);
    free(order);
    free(seen);
}
