/* The nodes of a runner that run as oneDNN primitives (model/dnnl_plan.h): which nodes, which
 * edges stay blocked, which BatchNormalization and activation layers fold into the node
 * before them, and the forward step of one node. Primitive creation: dnnl_prims.c; folding
 * and NaN handling: dnnl_fold.c. */
#include "model/dnnl_plan.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "model/dnnl_plan_internal.h"
#include "model/layers/engine_info.h"
#include "model/layers/layers.h"
#include "model/mask.h"
#include "tensor/engine.h"

static double clock_s(clockid_t id) {
    struct timespec t;
    clock_gettime(id, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}
static double now(void) { return clock_s(CLOCK_MONOTONIC); }
/* Process CPU time: on a loaded machine the wall clock mostly measures the other processes. */
static double cpu_now(void) { return clock_s(CLOCK_PROCESS_CPUTIME_ID); }

static int is_output(const sc_model *m, int t) {
    for (size_t o = 0; o < m->num_outputs; o++)
        if (m->outputs[o] == t) return 1;
    return 0;
}

/* The one node reading tensor t (as its only input), or -1 when t has several readers, is a
 * model output or carries a mask. */
static int sole_reader(const sc_model *m, int t) {
    if (is_output(m, t) || m->tensors[t].has_mask) return -1;
    int r = -1;
    for (size_t i = 0; i < m->num_nodes; i++)
        for (int k = 0; k < m->nodes[i].num_inputs; k++)
            if (m->nodes[i].inputs[k] == t) {
                if (r >= 0 || m->nodes[i].num_inputs != 1) return -1;
                r = (int)i;
            }
    return r;
}

/* Kind and geometry of node i (the geometry follows the model's current input shapes: free
 * dimensions change it, so the run refreshes it). */
static int geometry(sc_dnnl_plan *p, size_t i) {
    const sc_node *n = &p->m->nodes[i];
    const sc_layer *L = n->layer;
    node_plan *np = &p->nodes[i];
    int sep = 0;
    if (L->ops == &sc_layer_dense && L->num_vars >= 1) {
        np->F = sc_layer_var(L, 0)->shape.dims[1];
        return KIND_DENSE;
    }
    if (sc_conv_engine_geometry(L, &np->g) && L->num_vars >= 1) {
        const sc_variable *k = sc_layer_var(L, 0);
        np->F = k->shape.dims[k->shape.rank - 1];
        return KIND_CONV;
    }
    if (sc_dw_engine_info(L, &np->g, &np->dm, &sep) && L->num_vars >= (size_t)(1 + sep)) {
        const sc_variable *k = sc_layer_var(L, (size_t)sep);
        np->F = sep ? k->shape.dims[k->shape.rank - 1] : np->g.c * np->dm;
        return sep ? KIND_SEP : KIND_DW;
    }
    if (sc_pool_engine_info(L, n, &np->g, &np->is_max, &np->global)) {
        np->F = np->g.c;
        return KIND_POOL;
    }
    return KIND_NONE;
}

static void classify(sc_dnnl_plan *p, size_t i) {
    const sc_node *n = &p->m->nodes[i];
    node_plan *np = &p->nodes[i];
    np->bn = -1;
    np->out = n->output;
    np->act = n->layer->act;
    np->dm = 1;
    if (!sc_engine_layers() || n->num_inputs != 1 || sc_mask_uses(p->m, n))
        return; /* masked: model/mask.c runs it */
    np->kind = geometry(p, i);
}

/* A BatchNormalization, then a relu/relu6 layer, right after node i (each the sole reader of
 * the tensor before it) become part of node i's primitive: the normalization folded into its
 * weights, the activation a post-op. Keras computes the same function; only the rounding of
 * the folded weights differs (README "Compute engine"). */
static int absorb(sc_dnnl_plan *p, size_t i) {
    const sc_model *m = p->m;
    node_plan *np = &p->nodes[i];
    if (np->kind == KIND_NONE || np->kind == KIND_POOL || np->act != SC_ACT_LINEAR) return 0;
    int j = sole_reader(m, np->out);
    const float *g, *b, *mu, *v;
    float eps;
    if (j >= 0 && sc_bn_engine_params(m->nodes[j].layer, &g, &b, &mu, &v, &eps)
        && m->nodes[j].out_shape.dims[m->nodes[j].out_shape.rank - 1] == np->F) {
        const sc_variable *kv = sc_layer_var(m->nodes[i].layer, np->kind == KIND_SEP ? 1 : 0);
        np->fw_n = (size_t)kv->num_elements;
        np->fw = malloc(np->fw_n * sizeof(float));
        np->fb = malloc((size_t)np->F * sizeof(float));
        if (!np->fw || !np->fb) return -1;
        np->bn = j;
        p->nodes[j].kind = KIND_ABSORBED;
        np->out = m->nodes[j].output;
        j = sole_reader(m, np->out);
    }
    sc_activation a;
    if (j >= 0 && sc_relu_engine_act(m->nodes[j].layer, &a)) {
        np->act = a;
        np->act_absorbed = 1;
        p->nodes[j].kind = KIND_ABSORBED;
        np->out = m->nodes[j].output;
    }
    return 0;
}

/* Node i works on 2-D images (so its edges may be blocked). */
static int image_node(const sc_dnnl_plan *p, size_t i) {
    const node_plan *np = &p->nodes[i];
    const sc_layer *L = p->m->nodes[i].layer;
    /* oneDNN's blocked depthwise kernels take one output per channel only */
    return ((np->kind == KIND_DW || np->kind == KIND_SEP) && np->dm == 1)
           || (np->kind == KIND_CONV && L->ops == &sc_layer_conv2d)
           || (np->kind == KIND_POOL && p->m->nodes[i].in_shape[0].rank == 3);
}

/* Tensor t may stay in oneDNN's nChw16c layout: an image node's primitive writes it (a
 * convolution or a local pooling), only image nodes read it, it is no model output, its
 * activation is element-wise (the runner's or the plan's, applied to whatever layout), and
 * its channels fill whole blocks of 16 (so the blocked tensor has the plain one's size and
 * fits its arena slot). On such edges oneDNN skips two layout conversions per layer and may
 * use its Winograd kernels. */
static int blocked_edge(const sc_dnnl_plan *p, int t) {
    const sc_model *m = p->m;
    const sc_tensor_slot *ts = &m->tensors[t];
    if (ts->shape.rank != 3 || ts->shape.dims[2] % 16 != 0 || is_output(m, t) || ts->has_mask)
        return 0;
    int prod = -1;
    for (size_t i = 0; i < m->num_nodes; i++)
        if (p->nodes[i].kind != KIND_NONE && p->nodes[i].kind != KIND_ABSORBED
            && p->nodes[i].out == t)
            prod = (int)i;
    if (prod < 0 || !image_node(p, (size_t)prod) || p->nodes[prod].global) return 0;
    sc_activation a = p->nodes[prod].act;
    if (a == SC_ACT_SOFTMAX || a == SC_ACT_LOG_SOFTMAX) return 0;
    int readers = 0;
    for (size_t i = 0; i < m->num_nodes; i++) {
        const sc_node *n = &m->nodes[i];
        for (int k = 0; k < n->num_inputs; k++)
            if (n->inputs[k] == t) {
                if (!image_node(p, i) || n->num_inputs != 1) return 0;
                readers++;
            }
    }
    return readers > 0;
}

sc_status sc_dnnl_plan_create(const sc_model *m, sc_dnnl_plan **out, sc_error *err) {
    *out = NULL;
    sc_dnnl_plan *p = calloc(1, sizeof *p);
    if (!p) return sc_error_set(err, SC_NO_MEMORY, "out of memory");
    p->m = m;
    p->nodes = calloc(m->num_nodes ? m->num_nodes : 1, sizeof *p->nodes);
    p->fin = malloc(m->num_tensors ? m->num_tensors : 1);
    if (!p->nodes || !p->fin) {
        sc_dnnl_plan_free(p);
        return sc_error_set(err, SC_NO_MEMORY, "out of memory");
    }
    sc_status s = sc_engine_get(&p->eng, &p->strm, err);
    if (s) {
        sc_dnnl_plan_free(p);
        return s;
    }
    for (size_t i = 0; i < m->num_nodes; i++) classify(p, i);
    for (size_t i = 0; i < m->num_nodes && sc_engine_layers() && sc_engine_fold(); i++)
        if (absorb(p, i)) {
            sc_dnnl_plan_free(p);
            return sc_error_set(err, SC_NO_MEMORY, "out of memory");
        }
    for (size_t i = 0; i < m->num_nodes; i++) {
        node_plan *np = &p->nodes[i];
        if (!image_node(p, i)) continue;
        np->out_blocked = blocked_edge(p, np->out);
        np->in_blocked = blocked_edge(p, m->nodes[i].inputs[0]);
    }
    for (size_t i = 0; i < m->num_nodes; i++) {
        node_plan *np = &p->nodes[i];
        np->post_op = np->kind != KIND_NONE && np->kind != KIND_ABSORBED && np->kind != KIND_POOL
                      && (np->act == SC_ACT_RELU || np->act == SC_ACT_RELU6);
    }
    *out = p;
    return SC_OK;
}

void sc_dnnl_plan_free(sc_dnnl_plan *p) {
    if (!p) return;
    for (size_t i = 0; p->nodes && i < p->m->num_nodes; i++) {
        for (int k = 0; k < 2; k++) sc_dnnl_slot_clear(&p->nodes[i].s[k]);
        free(p->nodes[i].fw);
        free(p->nodes[i].fb);
    }
    free(p->nodes);
    free(p->fin);
    free(p->scratch);
    free(p);
}

int sc_dnnl_plan_absorbed(const sc_dnnl_plan *p, size_t i) {
    return p->nodes[i].kind == KIND_ABSORBED;
}

static slot *find_slot(node_plan *np, const sc_node *n, int batch, int threads, int fused) {
    for (int k = 0; k < 2; k++)
        if (np->s[k].batch == batch && np->s[k].threads == threads && np->s[k].fused == fused
            && sc_shape_equal(&np->s[k].in, &n->in_shape[0]))
            return &np->s[k];
    return NULL;
}

/* Whether tensor t (data x, batch examples) is finite in this pass: known from the node that
 * wrote it, else scanned once. */
static int tensor_finite(sc_dnnl_plan *p, int t, const float *x, int batch) {
    if (p->fin[t] < 0)
        p->fin[t] = (signed char)sc_dnnl_all_finite(
            x, (size_t)batch * (size_t)sc_shape_elems(&p->m->tensors[t].shape));
    return p->fin[t];
}

/* Folds the weights and checks them for NaN/inf once per weights generation. */
static void refresh_weights(sc_dnnl_plan *p, size_t i) {
    node_plan *np = &p->nodes[i];
    if (np->wgen_valid && np->wgen == p->m->weights_gen) return;
    double t = now(), c = cpu_now();
    if (np->bn >= 0) sc_dnnl_fold(p, i);
    np->wfinite = 1;
    for (int k = 0; k < (np->kind == KIND_SEP ? 2 : 1); k++) {
        const float *w, *b;
        sc_dnnl_stage_weights(p, i, k, &w, &b);
        const sc_layer *L = p->m->nodes[i].layer;
        size_t nw = np->bn >= 0 && (np->kind != KIND_SEP || k == 1)
                        ? np->fw_n
                        : (size_t)sc_layer_var(L, (size_t)k)->num_elements;
        if (w) np->wfinite = np->wfinite && sc_dnnl_all_finite(w, nw);
        if (b) np->wfinite = np->wfinite && sc_dnnl_all_finite(b, (size_t)np->F);
    }
    np->wgen = p->m->weights_gen;
    np->wgen_valid = 1;
    p->cold_acc += now() - t;
    p->cold_cpu_acc += cpu_now() - c;
}

static sc_status exec(sc_dnnl_plan *p, const sc_layer *L, dnnl_primitive_t prim, int na,
                      const dnnl_exec_arg_t *args, const char *what, sc_error *err) {
    dnnl_status_t st = dnnl_primitive_execute(prim, p->strm, na, args);
    if (st == dnnl_success) st = dnnl_stream_wait(p->strm);
    return st == dnnl_success ? SC_OK : sc_dnnl_fail(L, what, st, err);
}

/* Weight reorders of slot s when the weights changed since they were made. */
static sc_status reorder_weights(sc_dnnl_plan *p, size_t i, slot *s, sc_error *err) {
    const sc_layer *L = p->m->nodes[i].layer;
    int redo = !s->gen_valid || s->gen != p->m->weights_gen;
    for (int k = 0; k < s->nst; k++) {
        stage *t = &s->st[k];
        const float *w, *b;
        sc_dnnl_stage_weights(p, i, k, &w, &b);
        if (b) dnnl_memory_set_data_handle(t->bias, (void *)b);
        if (!w) continue;
        if (!t->reorder) {
            dnnl_memory_set_data_handle(t->wts, (void *)w);
            continue;
        }
        if (!redo) continue;
        double t0 = now(), c0 = cpu_now();
        dnnl_memory_set_data_handle(t->user_wts, (void *)w);
        dnnl_exec_arg_t ra[2] = {{DNNL_ARG_FROM, t->user_wts}, {DNNL_ARG_TO, t->wts}};
        sc_status e = exec(p, L, t->reorder, 2, ra, "weight reorder", err);
        if (e) return e;
        p->reorders_acc++;
        p->cold_acc += now() - t0;
        p->cold_cpu_acc += cpu_now() - c0;
    }
    s->gen = p->m->weights_gen;
    s->gen_valid = 1;
    return SC_OK;
}

sc_status sc_dnnl_plan_run(sc_dnnl_plan *p, size_t i, int batch, const float *in, float *out,
                           int *handled, int *act_done, sc_error *err) {
    node_plan *np = &p->nodes[i];
    const sc_node *n = &p->m->nodes[i];
    const sc_layer *L = n->layer;
    *handled = *act_done = 0;
    if (np->kind == KIND_ABSORBED) { /* its work was done by the node before */
        *handled = *act_done = 1;
        return SC_OK;
    }
    if (np->kind == KIND_NONE || np->failed) return SC_OK;
    (void)geometry(p, i);
    if (np->kind != KIND_POOL) refresh_weights(p, i);
    int wfin = np->kind == KIND_POOL || np->wfinite;
    /* Finiteness matters to a post-op (NaN would become a number) and to max pooling (NaN
     * must win); elsewhere it is only passed on when known. */
    int need = np->post_op || (np->kind == KIND_POOL && np->is_max);
    int fin = need ? tensor_finite(p, n->inputs[0], in, batch) : p->fin[n->inputs[0]];
    int fused = np->post_op && fin == 1 && wfin;
    if (np->post_op && !fused && !np->act_absorbed && !np->in_blocked && !np->out_blocked
        && np->bn < 0)
        return SC_OK; /* NaN/inf around: the layer's forward and the runner's activation */
    /* A primitive runs with the thread count it was created for (oneDNN partitions its work
     * then): after sc_engine_set_threads the slots are made again. */
    int threads = sc_engine_threads();
    slot *s = find_slot(np, n, batch, threads, fused);
    if (!s) {
        /* Slot 0 keeps the first shape seen (the runner's full batch); slot 1 takes the rest
         * (a short last batch, a new sequence length, the unfused twin for a NaN batch). */
        s = &np->s[np->s[0].batch && np->s[0].threads == threads ? 1 : 0];
        double t = now(), c = cpu_now();
        int unsupported = 0;
        sc_status e = sc_dnnl_make_slot(p, i, s, batch, fused, &unsupported, err);
        p->cold_acc += now() - t;
        p->cold_cpu_acc += cpu_now() - c;
        if (e) return e;
        if (unsupported) {
            np->failed = 1;
            return SC_OK;
        }
    }
    sc_status e = reorder_weights(p, i, s, err);
    if (e) return e;
    if (s->src_reorder) {
        dnnl_memory_set_data_handle(s->src_edge, (void *)in);
        dnnl_exec_arg_t ra[2] = {{DNNL_ARG_FROM, s->src_edge}, {DNNL_ARG_TO, s->st[0].src}};
        if ((e = exec(p, L, s->src_reorder, 2, ra, "input layout conversion", err))) return e;
    } else {
        dnnl_memory_set_data_handle(s->st[0].src, (void *)in);
    }
    if (!s->dst_reorder) dnnl_memory_set_data_handle(s->st[s->nst - 1].dst, out);
    for (int k = 0; k < s->nst; k++) {
        stage *t = &s->st[k];
        dnnl_exec_arg_t args[5];
        int na = 0;
        args[na++] = (dnnl_exec_arg_t){DNNL_ARG_SRC, t->src};
        args[na++] = (dnnl_exec_arg_t){DNNL_ARG_DST, t->dst};
        if (t->wts) args[na++] = (dnnl_exec_arg_t){DNNL_ARG_WEIGHTS, t->wts};
        if (t->bias) args[na++] = (dnnl_exec_arg_t){DNNL_ARG_BIAS, t->bias};
        if (t->scratch) {
            dnnl_memory_set_data_handle(t->scratch, p->scratch);
            args[na++] = (dnnl_exec_arg_t){DNNL_ARG_SCRATCHPAD, t->scratch};
        }
        if ((e = exec(p, L, t->prim, na, args, "execution", err))) return e;
    }
    if (s->dst_reorder) {
        dnnl_memory_set_data_handle(s->dst_edge, out);
        dnnl_exec_arg_t ra[2] = {{DNNL_ARG_FROM, s->st[s->nst - 1].dst},
                                 {DNNL_ARG_TO, s->dst_edge}};
        if ((e = exec(p, L, s->dst_reorder, 2, ra, "output layout conversion", err))) return e;
    }
    size_t total = (size_t)batch * (size_t)sc_shape_elems(&p->m->tensors[np->out].shape);
    if (np->act_absorbed && !fused) sc_activation_apply(np->act, out, total, 1);
    if (np->kind == KIND_POOL && np->is_max && fin != 1) sc_dnnl_maxpool_nan(np, batch, in, out);
    /* Finite in and finite weights give finite sums unless they overflow, which the plan
     * does not look for (README "Compute engine"). */
    *handled = 1;
    *act_done = fused || np->act_absorbed;
    /* An activation the runner applies afterwards may overflow (exponential): unknown. */
    int act_keeps = *act_done || np->act == SC_ACT_LINEAR || np->act == SC_ACT_RELU
                    || np->act == SC_ACT_RELU6;
    p->fin[np->out] = (signed char)(fin < 0 || !act_keeps ? -1 : fin && wfin);
    return SC_OK;
}

void sc_dnnl_plan_begin(sc_dnnl_plan *p) {
    p->cold_acc = p->cold_cpu_acc = 0;
    p->prims_acc = p->reorders_acc = 0;
    memset(p->fin, -1, p->m->num_tensors ? p->m->num_tensors : 1);
    sc_engine_apply_threads();
}

void sc_dnnl_plan_end(sc_dnnl_plan *p) {
    if (p->prims_acc || p->reorders_acc) {
        p->cold_last = p->cold_acc;
        p->cold_cpu_last = p->cold_cpu_acc;
        p->prims_last = p->prims_acc;
        p->reorders_last = p->reorders_acc;
    }
}

void sc_dnnl_plan_stats(const sc_dnnl_plan *p, sc_runner_stats *out) {
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < p->m->num_nodes; i++) {
        const node_plan *np = &p->nodes[i];
        if (np->kind == KIND_NONE || np->kind == KIND_ABSORBED || np->failed) continue;
        out->engine_nodes++;
        out->fused_activations += np->post_op && (np->s[0].fused || np->s[1].fused);
        out->blocked_edges += np->out_blocked;
        out->winograd_nodes += np->winograd;
        out->folded_norms += np->bn >= 0;
        for (int k = 0; k < 2; k++) {
            out->weights_bytes += np->s[k].st[0].wbytes + np->s[k].st[1].wbytes;
            out->conversion_bytes += np->s[k].conv_bytes;
        }
        out->weights_bytes += (np->fw_n + (np->fw ? (size_t)np->F : 0)) * sizeof(float);
    }
    out->scratchpad_bytes = p->scratch_bytes;
    out->cold_seconds = p->cold_last;
    out->cold_cpu_seconds = p->cold_cpu_last;
    out->cold_primitives = p->prims_last;
    out->cold_reorders = p->reorders_last;
}
