/* Dense and convolution nodes as oneDNN primitives (model/dnnl_plan.h). */
#include "model/dnnl_plan.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/mem.h"
#include "model/layers/engine_info.h"
#include "model/layers/layers.h"
#include "tensor/engine.h"

enum { KIND_NONE, KIND_DENSE, KIND_CONV };

typedef struct slot {
    int batch;   /* 0: empty */
    int threads; /* oneDNN splits the work for the thread count at creation */
    sc_shape in; /* the input shape it was created for */
    dnnl_primitive_t prim;
    dnnl_memory_t src, wts, bias, dst, scratch;
    dnnl_primitive_t reorder; /* user weights -> wbuf; NULL when the layouts agree */
    dnnl_memory_t user_wts;
    /* Layout conversions around a convolution whose edge layouts have only oneDNN's reference
     * kernel (plain NHWC in, blocked out, or the reverse): edge <-> private buffer. */
    dnnl_primitive_t src_reorder, dst_reorder;
    dnnl_memory_t src_edge, dst_edge;
    void *src_buf, *dst_buf;
    size_t conv_bytes;
    void *wbuf;
    size_t wbytes, scratch_bytes;
    unsigned gen; /* model weights generation in wbuf */
    int gen_valid;
} slot;

typedef struct node_plan {
    int kind;
    int fuse;                    /* activation applied as a post-op */
    int failed;                  /* oneDNN has no kernel: the layer's forward runs */
    int in_blocked, out_blocked; /* activations in nChw16c on that edge (see blocked_edge) */
    int winograd;                /* the primitive is a Winograd convolution */
    unsigned wgen;               /* weights generation of wfinite */
    int wgen_valid, wfinite;     /* the layer's variables hold no NaN/inf (fused nodes) */
    slot s[2];
} node_plan;

struct sc_dnnl_plan {
    const sc_model *m;
    node_plan *nodes;
    dnnl_engine_t eng;
    dnnl_stream_t strm;
    void *scratch;
    size_t scratch_bytes;
    struct timespec t0;
    double cold_acc, cold_last, cold_cpu_acc, cold_cpu_last;
    int prims_acc, reorders_acc, prims_last, reorders_last;
};

static double clock_s(clockid_t id) {
    struct timespec t;
    clock_gettime(id, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}
static double now(void) { return clock_s(CLOCK_MONOTONIC); }
/* Process CPU time: on a loaded machine the wall clock mostly measures the other processes. */
static double cpu_now(void) { return clock_s(CLOCK_PROCESS_CPUTIME_ID); }

/* Activations applied as a post-op. oneDNN 2.6's relu (alpha 0) is vmaxps(x, 0), which turns
 * NaN into 0 where TensorFlow propagates it, so a fused relu is used only while the layer's
 * input and weights are finite (NaN can then not arise in the sums, only +-inf by overflow,
 * which relu handles alike): a batch or checkpoint with a NaN or inf runs the layer's own
 * forward and the runner's NaN-propagating activation instead (plain-layout nodes only;
 * nodes on blocked edges leave the activation to the runner). */
static int post_op(sc_activation a, dnnl_alg_kind_t *alg, float *alpha, float *beta) {
    *alg = dnnl_eltwise_relu;
    *alpha = *beta = 0.0f;
    return a == SC_ACT_RELU;
}

/* No NaN or inf among x[0..n): an OR over the exponent bits, which vectorises. */
static int all_finite(const float *x, size_t n) {
    uint32_t bad = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, &x[i], sizeof u);
        bad |= (u & 0x7f800000u) == 0x7f800000u;
    }
    return !bad;
}

static void slot_clear(slot *s) {
    if (s->prim) dnnl_primitive_destroy(s->prim);
    if (s->reorder) dnnl_primitive_destroy(s->reorder);
    if (s->src_reorder) dnnl_primitive_destroy(s->src_reorder);
    if (s->dst_reorder) dnnl_primitive_destroy(s->dst_reorder);
    dnnl_memory_t *mems[] = {&s->src,     &s->wts,      &s->bias,     &s->dst,
                             &s->scratch, &s->user_wts, &s->src_edge, &s->dst_edge};
    for (size_t i = 0; i < sizeof mems / sizeof *mems; i++)
        if (*mems[i]) dnnl_memory_destroy(*mems[i]);
    free(s->wbuf);
    free(s->src_buf);
    free(s->dst_buf);
    memset(s, 0, sizeof *s);
}

static int is_conv2d(const sc_dnnl_plan *p, size_t i) {
    return p->nodes[i].kind == KIND_CONV && p->m->nodes[i].layer->ops == &sc_layer_conv2d;
}

/* Tensor t may stay in oneDNN's nChw16c layout: a Conv2D makes it, only Conv2Ds read it (as
 * their one input), it is no model output, and its channels fill whole blocks of 16 (so the
 * blocked tensor has the plain one's size and fits its arena slot). The runner's element-wise
 * activation does not care about the layout. Between such convolutions oneDNN skips two
 * layout conversions per layer and may use its Winograd kernels (blocked layouts only). */
static int blocked_edge(const sc_dnnl_plan *p, int t) {
    const sc_model *m = p->m;
    const sc_tensor_slot *ts = &m->tensors[t];
    if (ts->producer < 0 || !is_conv2d(p, (size_t)ts->producer) || ts->shape.rank != 3
        || ts->shape.dims[2] % 16 != 0)
        return 0;
    for (size_t o = 0; o < m->num_outputs; o++)
        if (m->outputs[o] == t) return 0;
    int readers = 0;
    for (size_t i = 0; i < m->num_nodes; i++) {
        const sc_node *n = &m->nodes[i];
        for (int k = 0; k < n->num_inputs; k++)
            if (n->inputs[k] == t) {
                if (!is_conv2d(p, i) || n->num_inputs != 1) return 0;
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
    if (!p->nodes) {
        free(p);
        return sc_error_set(err, SC_NO_MEMORY, "out of memory");
    }
    sc_status s = sc_engine_get(&p->eng, &p->strm, err);
    if (s) {
        sc_dnnl_plan_free(p);
        return s;
    }
    for (size_t i = 0; i < m->num_nodes; i++) {
        const sc_layer *L = m->nodes[i].layer;
        sc_conv_geom g;
        node_plan *np = &p->nodes[i];
        if (L->ops == &sc_layer_dense && L->num_vars >= 1)
            np->kind = KIND_DENSE;
        else if (sc_conv_engine_geometry(L, &g) && L->num_vars >= 1)
            np->kind = KIND_CONV;
    }
    for (size_t i = 0; i < m->num_nodes; i++) {
        node_plan *np = &p->nodes[i];
        if (np->kind == KIND_CONV) {
            np->out_blocked = blocked_edge(p, m->nodes[i].output);
            np->in_blocked = blocked_edge(p, m->nodes[i].inputs[0]);
        }
        dnnl_alg_kind_t alg;
        float al, be;
        np->fuse = np->kind && !np->in_blocked && !np->out_blocked
                   && post_op(m->nodes[i].layer->act, &alg, &al, &be);
    }
    *out = p;
    return SC_OK;
}

void sc_dnnl_plan_free(sc_dnnl_plan *p) {
    if (!p) return;
    for (size_t i = 0; p->nodes && i < p->m->num_nodes; i++)
        for (int k = 0; k < 2; k++) slot_clear(&p->nodes[i].s[k]);
    free(p->nodes);
    free(p->scratch);
    free(p);
}

#define DNNL_TRY(call)                                                                             \
    do {                                                                                           \
        if ((st = (call)) != dnnl_success) goto fail;                                              \
    } while (0)

/* Primitive descriptor of node i for this batch, or a oneDNN status. */
static dnnl_status_t make_pd(const sc_dnnl_plan *p, const sc_node *n, const node_plan *np,
                             int batch, dnnl_primitive_desc_t *pd, dnnl_memory_desc_t *user_w,
                             dnnl_memory_desc_t *bias_md, int *winograd, dnnl_format_tag_t src_tag,
                             dnnl_format_tag_t dst_tag) {
    const sc_layer *L = n->layer;
    const int has_bias = L->num_vars >= 2;
    dnnl_status_t st;
    dnnl_memory_desc_t src, wany, dst;
    *winograd = 0;
    dnnl_primitive_attr_t attr = NULL;
    dnnl_post_ops_t ops = NULL;
    DNNL_TRY(dnnl_primitive_attr_create(&attr));
    DNNL_TRY(dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user));
    if (np->fuse) {
        dnnl_alg_kind_t alg;
        float al, be;
        post_op(L->act, &alg, &al, &be);
        DNNL_TRY(dnnl_post_ops_create(&ops));
        DNNL_TRY(dnnl_post_ops_append_eltwise(ops, 1.0f, alg, al, be));
        DNNL_TRY(dnnl_primitive_attr_set_post_ops(attr, ops));
    }
    const sc_variable *kv = sc_layer_var(L, 0);
    if (np->kind == KIND_DENSE) {
        const sc_shape *s = &n->in_shape[0];
        dnnl_dim_t K = s->dims[s->rank - 1], N = kv->shape.dims[1];
        dnnl_dim_t M = (dnnl_dim_t)batch * (dnnl_dim_t)sc_shape_elems(s) / K;
        dnnl_dims_t sd = {M, K}, wd = {N, K}, dd = {M, N}, bd = {N};
        DNNL_TRY(dnnl_memory_desc_init_by_tag(&src, 2, sd, dnnl_f32, dnnl_nc));
        DNNL_TRY(dnnl_memory_desc_init_by_tag(user_w, 2, wd, dnnl_f32, dnnl_io)); /* Keras [K, N] */
        DNNL_TRY(dnnl_memory_desc_init_by_tag(&wany, 2, wd, dnnl_f32, dnnl_format_tag_any));
        DNNL_TRY(dnnl_memory_desc_init_by_tag(&dst, 2, dd, dnnl_f32, dnnl_nc));
        DNNL_TRY(dnnl_memory_desc_init_by_tag(bias_md, 1, bd, dnnl_f32, dnnl_x));
        dnnl_inner_product_desc_t d;
        DNNL_TRY(dnnl_inner_product_forward_desc_init(&d, dnnl_forward_inference, &src, &wany,
                                                      has_bias ? bias_md : NULL, &dst));
        DNNL_TRY(dnnl_primitive_desc_create(pd, &d, attr, p->eng, NULL));
    } else {
        sc_conv_geom g;
        sc_conv_engine_geometry(L, &g);
        dnnl_dim_t F = kv->shape.dims[kv->shape.rank - 1];
        dnnl_dims_t sd = {batch, g.c, g.h, g.w}, wd = {F, g.c, g.kh, g.kw},
                    dd = {batch, F, g.oh, g.ow}, bd = {F};
        dnnl_dims_t strides = {g.sh, g.sw}, dil = {g.dh - 1, g.dw - 1}, pl = {g.pt, g.pl};
        dnnl_dims_t pr = {(g.oh - 1) * g.sh + (g.kh - 1) * g.dh + 1 - g.h - g.pt,
                          (g.ow - 1) * g.sw + (g.kw - 1) * g.dw + 1 - g.w - g.pl};
        for (int k = 0; k < 2; k++)
            if (pr[k] < 0) pr[k] = 0; /* valid padding with a stride remainder */
        DNNL_TRY(dnnl_memory_desc_init_by_tag(&src, 4, sd, dnnl_f32, src_tag));
        DNNL_TRY(dnnl_memory_desc_init_by_tag(user_w, 4, wd, dnnl_f32, dnnl_hwio)); /* Keras */
        DNNL_TRY(dnnl_memory_desc_init_by_tag(&wany, 4, wd, dnnl_f32, dnnl_format_tag_any));
        DNNL_TRY(dnnl_memory_desc_init_by_tag(&dst, 4, dd, dnnl_f32, dst_tag));
        DNNL_TRY(dnnl_memory_desc_init_by_tag(bias_md, 1, bd, dnnl_f32, dnnl_x));
        dnnl_convolution_desc_t d;
        *winograd = 0;
        if (src_tag != dnnl_nhwc && dst_tag == dnnl_nChw16c && g.kh == 3 && g.kw == 3 && g.sh == 1
            && g.sw == 1 && g.dh == 1 && g.dw == 1 && sc_engine_winograd()) {
            /* F(4x4, 3x3) on blocked layouts only; tests/golden and bench_forward bound its
             * error against the direct convolution (README "Compute engine"). */
            DNNL_TRY(dnnl_convolution_forward_desc_init(
                &d, dnnl_forward_inference, dnnl_convolution_winograd, &src, &wany,
                has_bias ? bias_md : NULL, &dst, strides, pl, pr));
            *winograd = dnnl_primitive_desc_create(pd, &d, attr, p->eng, NULL) == dnnl_success;
        }
        if (!*winograd) {
            DNNL_TRY(dnnl_dilated_convolution_forward_desc_init(
                &d, dnnl_forward_inference, dnnl_convolution_direct, &src, &wany,
                has_bias ? bias_md : NULL, &dst, strides, dil, pl, pr));
            DNNL_TRY(dnnl_primitive_desc_create(pd, &d, attr, p->eng, NULL));
        }
    }
fail:
    if (ops) dnnl_post_ops_destroy(ops);
    if (attr) dnnl_primitive_attr_destroy(attr);
    return st;
}

static sc_status dnnl_fail(const sc_layer *L, const char *what, dnnl_status_t st, sc_error *err) {
    return sc_error_set(err, st == dnnl_out_of_memory ? SC_NO_MEMORY : SC_UNIMPLEMENTED,
                        "layer '%s' (%s): oneDNN %s failed (%s)", L->name, L->class_name, what,
                        sc_dnnl_status_str(st));
}

static int is_ref(const_dnnl_primitive_desc_t pd) {
    const char *impl = NULL;
    return dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl) == dnnl_success && impl
           && strncmp(impl, "ref", 3) == 0;
}

/* A private buffer behind `priv` (the primitive's side) and a reorder between it and the edge
 * memory `*edge` (handle set per run): edge -> priv when to_priv, else priv -> edge. */
static dnnl_status_t make_reorder(const sc_dnnl_plan *p, const dnnl_memory_desc_t *from,
                                  const dnnl_memory_desc_t *to, dnnl_memory_t *edge,
                                  dnnl_memory_t priv, void **buf, dnnl_primitive_t *prim,
                                  size_t *bytes, int to_priv) {
    const dnnl_memory_desc_t *pmd = to_priv ? to : from;
    size_t n = dnnl_memory_desc_get_size(pmd);
    *buf = sc_mem_aligned_large(64, n);
    if (!*buf) return dnnl_out_of_memory;
    *bytes += n;
    dnnl_status_t st = dnnl_memory_set_data_handle(priv, *buf);
    if (st == dnnl_success)
        st = dnnl_memory_create(edge, to_priv ? from : to, p->eng, DNNL_MEMORY_NONE);
    dnnl_primitive_desc_t rpd = NULL;
    if (st == dnnl_success)
        st = dnnl_reorder_primitive_desc_create(&rpd, from, p->eng, to, p->eng, NULL);
    if (st == dnnl_success) st = dnnl_primitive_create(prim, rpd);
    if (rpd) dnnl_primitive_desc_destroy(rpd);
    return st;
}

/* Fills slot s for this batch. *unsupported = 1 when oneDNN has no kernel for the node. */
static sc_status make_slot(sc_dnnl_plan *p, const sc_node *n, node_plan *np, slot *s, int batch,
                           int *unsupported, sc_error *err) {
    const sc_layer *L = n->layer;
    dnnl_primitive_desc_t pd = NULL, rpd = NULL;
    dnnl_memory_desc_t user_w, bias_md;
    int wino = 0;
    dnnl_format_tag_t et_src = np->in_blocked ? dnnl_nChw16c : dnnl_nhwc;
    dnnl_format_tag_t et_dst = np->out_blocked ? dnnl_nChw16c : dnnl_nhwc;
    dnnl_format_tag_t t_src = et_src, t_dst = et_dst;
    dnnl_status_t st = make_pd(p, n, np, batch, &pd, &user_w, &bias_md, &wino, t_src, t_dst);
    if (st == dnnl_success && np->kind == KIND_CONV && et_src != et_dst && is_ref(pd)) {
        /* Mixed layouts have only the reference kernel: run the convolution blocked on both
         * sides (a few-channel input as NCHW, which the first-layer kernels take) between
         * layout conversions, if oneDNN has a real kernel for that. */
        sc_conv_geom g;
        sc_conv_engine_geometry(L, &g);
        dnnl_primitive_desc_t pd2 = NULL;
        int wino2 = 0;
        dnnl_format_tag_t s2 = g.c < 16 ? dnnl_nchw : dnnl_nChw16c;
        if (make_pd(p, n, np, batch, &pd2, &user_w, &bias_md, &wino2, s2, dnnl_nChw16c)
                == dnnl_success
            && !is_ref(pd2)) {
            dnnl_primitive_desc_destroy(pd);
            pd = pd2;
            wino = wino2;
            t_src = s2;
            t_dst = dnnl_nChw16c;
        } else if (pd2) {
            dnnl_primitive_desc_destroy(pd2);
        }
    }
    np->winograd = wino;
    if (st != dnnl_success) {
        if (pd) dnnl_primitive_desc_destroy(pd);
        /* A node on a blocked edge cannot fall back to the layer's NHWC forward. */
        *unsupported = st == dnnl_unimplemented && !np->in_blocked && !np->out_blocked;
        return *unsupported ? SC_OK : dnnl_fail(L, "primitive descriptor", st, err);
    }
    const char *what = "primitive creation";
    slot_clear(s);
    s->batch = batch;
    s->threads = sc_engine_threads();
    s->in = n->in_shape[0];
    DNNL_TRY(dnnl_primitive_create(&s->prim, pd));
    what = "memory";
    const dnnl_memory_desc_t *wmd = dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
    const dnnl_memory_desc_t *smd = dnnl_primitive_desc_query_md(pd, dnnl_query_src_md, 0);
    const dnnl_memory_desc_t *dmd = dnnl_primitive_desc_query_md(pd, dnnl_query_dst_md, 0);
    const dnnl_memory_desc_t *pmd = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
    DNNL_TRY(dnnl_memory_create(&s->src, smd, p->eng, DNNL_MEMORY_NONE));
    DNNL_TRY(dnnl_memory_create(&s->dst, dmd, p->eng, DNNL_MEMORY_NONE));
    if (t_src != et_src || t_dst != et_dst) {
        what = "layout conversion";
        sc_conv_geom g;
        sc_conv_engine_geometry(L, &g);
        dnnl_dim_t F = sc_layer_var(L, 0)->shape.dims[sc_layer_var(L, 0)->shape.rank - 1];
        dnnl_dims_t sd = {batch, g.c, g.h, g.w}, dd = {batch, F, g.oh, g.ow};
        dnnl_memory_desc_t emd;
        if (t_src != et_src) {
            DNNL_TRY(dnnl_memory_desc_init_by_tag(&emd, 4, sd, dnnl_f32, et_src));
            DNNL_TRY(make_reorder(p, &emd, smd, &s->src_edge, s->src, &s->src_buf, &s->src_reorder,
                                  &s->conv_bytes, 1));
        }
        if (t_dst != et_dst) {
            DNNL_TRY(dnnl_memory_desc_init_by_tag(&emd, 4, dd, dnnl_f32, et_dst));
            DNNL_TRY(make_reorder(p, dmd, &emd, &s->dst_edge, s->dst, &s->dst_buf, &s->dst_reorder,
                                  &s->conv_bytes, 0));
        }
        what = "memory";
    }
    DNNL_TRY(dnnl_memory_create(&s->bias, &bias_md, p->eng, DNNL_MEMORY_NONE));
    DNNL_TRY(dnnl_memory_create(&s->user_wts, &user_w, p->eng, DNNL_MEMORY_NONE));
    s->scratch_bytes = pmd ? dnnl_memory_desc_get_size(pmd) : 0;
    if (s->scratch_bytes) DNNL_TRY(dnnl_memory_create(&s->scratch, pmd, p->eng, DNNL_MEMORY_NONE));
    if (dnnl_memory_desc_equal(wmd, &user_w)) {
        DNNL_TRY(dnnl_memory_create(&s->wts, &user_w, p->eng, DNNL_MEMORY_NONE));
    } else {
        s->wbytes = dnnl_memory_desc_get_size(wmd);
        s->wbuf = sc_mem_aligned_large(64, s->wbytes);
        if (!s->wbuf) {
            st = dnnl_out_of_memory;
            goto fail;
        }
        DNNL_TRY(dnnl_memory_create(&s->wts, wmd, p->eng, s->wbuf));
        what = "weight reorder";
        DNNL_TRY(dnnl_reorder_primitive_desc_create(&rpd, &user_w, p->eng, wmd, p->eng, NULL));
        DNNL_TRY(dnnl_primitive_create(&s->reorder, rpd));
    }
    if (s->scratch_bytes > p->scratch_bytes) {
        free(p->scratch);
        p->scratch_bytes = 0;
        p->scratch = sc_mem_aligned_large(64, s->scratch_bytes);
        if (!p->scratch) {
            st = dnnl_out_of_memory;
            goto fail;
        }
        p->scratch_bytes = s->scratch_bytes;
    }
    dnnl_primitive_desc_destroy(pd);
    if (rpd) dnnl_primitive_desc_destroy(rpd);
    p->prims_acc++;
    return SC_OK;
fail:
    if (pd) dnnl_primitive_desc_destroy(pd);
    if (rpd) dnnl_primitive_desc_destroy(rpd);
    slot_clear(s);
    return dnnl_fail(L, what, st, err);
}

static slot *find_slot(node_plan *np, const sc_node *n, int batch, int threads) {
    for (int k = 0; k < 2; k++)
        if (np->s[k].batch == batch && np->s[k].threads == threads
            && sc_shape_equal(&np->s[k].in, &n->in_shape[0]))
            return &np->s[k];
    return NULL;
}

sc_status sc_dnnl_plan_run(sc_dnnl_plan *p, size_t i, int batch, const float *in, float *out,
                           int *handled, int *act_done, sc_error *err) {
    node_plan *np = &p->nodes[i];
    const sc_node *n = &p->m->nodes[i];
    const sc_layer *L = n->layer;
    *handled = *act_done = 0;
    if (!np->kind || np->failed) return SC_OK;
    if (np->fuse) {
        if (!np->wgen_valid || np->wgen != p->m->weights_gen) {
            np->wfinite = 1;
            for (size_t v = 0; v < L->num_vars; v++) {
                const sc_variable *var = sc_layer_var(L, v);
                np->wfinite = np->wfinite && all_finite(var->data, (size_t)var->num_elements);
            }
            np->wgen = p->m->weights_gen;
            np->wgen_valid = 1;
        }
        size_t n_in = (size_t)batch * (size_t)sc_shape_elems(&n->in_shape[0]);
        if (!np->wfinite || !all_finite(in, n_in)) return SC_OK; /* NaN-exact path */
    }
    dnnl_status_t st;
    /* A primitive runs with the thread count it was created for (oneDNN partitions its work
     * then): after sc_engine_set_threads the slots are made again. */
    int threads = sc_engine_threads();
    slot *s = find_slot(np, n, batch, threads);
    if (!s) {
        /* Slot 0 keeps the first shape seen (the runner's full batch); slot 1 takes the rest. */
        s = &np->s[np->s[0].batch && np->s[0].threads == threads ? 1 : 0];
        double t = now(), c = cpu_now();
        int unsupported = 0;
        sc_status e = make_slot(p, n, np, s, batch, &unsupported, err);
        p->cold_acc += now() - t;
        p->cold_cpu_acc += cpu_now() - c;
        if (e) return e;
        if (unsupported) {
            np->failed = 1;
            return SC_OK;
        }
    }
    const sc_variable *kv = sc_layer_var(L, 0);
    if (s->reorder && (!s->gen_valid || s->gen != p->m->weights_gen)) {
        double t = now(), c = cpu_now();
        dnnl_exec_arg_t ra[2] = {{DNNL_ARG_FROM, s->user_wts}, {DNNL_ARG_TO, s->wts}};
        if ((st = dnnl_memory_set_data_handle(s->user_wts, kv->data)) != dnnl_success
            || (st = dnnl_primitive_execute(s->reorder, p->strm, 2, ra)) != dnnl_success
            || (st = dnnl_stream_wait(p->strm)) != dnnl_success)
            return dnnl_fail(L, "weight reorder", st, err);
        s->gen = p->m->weights_gen;
        s->gen_valid = 1;
        p->reorders_acc++;
        p->cold_acc += now() - t;
        p->cold_cpu_acc += cpu_now() - c;
    } else if (!s->reorder) {
        dnnl_memory_set_data_handle(s->wts, kv->data);
    }
    dnnl_exec_arg_t args[5];
    int na = 0;
    if (s->src_reorder) {
        dnnl_memory_set_data_handle(s->src_edge, (void *)in);
        dnnl_exec_arg_t ra[2] = {{DNNL_ARG_FROM, s->src_edge}, {DNNL_ARG_TO, s->src}};
        if ((st = dnnl_primitive_execute(s->src_reorder, p->strm, 2, ra)) != dnnl_success)
            return dnnl_fail(L, "input layout conversion", st, err);
    } else {
        dnnl_memory_set_data_handle(s->src, (void *)in);
    }
    if (!s->dst_reorder) dnnl_memory_set_data_handle(s->dst, out);
    args[na++] = (dnnl_exec_arg_t){DNNL_ARG_SRC, s->src};
    args[na++] = (dnnl_exec_arg_t){DNNL_ARG_WEIGHTS, s->wts};
    args[na++] = (dnnl_exec_arg_t){DNNL_ARG_DST, s->dst};
    if (L->num_vars >= 2) {
        dnnl_memory_set_data_handle(s->bias, sc_layer_var(L, 1)->data);
        args[na++] = (dnnl_exec_arg_t){DNNL_ARG_BIAS, s->bias};
    }
    if (s->scratch) {
        dnnl_memory_set_data_handle(s->scratch, p->scratch);
        args[na++] = (dnnl_exec_arg_t){DNNL_ARG_SCRATCHPAD, s->scratch};
    }
    if ((st = dnnl_primitive_execute(s->prim, p->strm, na, args)) != dnnl_success
        || (st = dnnl_stream_wait(p->strm)) != dnnl_success)
        return dnnl_fail(L, "execution", st, err);
    if (s->dst_reorder) {
        dnnl_memory_set_data_handle(s->dst_edge, out);
        dnnl_exec_arg_t ra[2] = {{DNNL_ARG_FROM, s->dst}, {DNNL_ARG_TO, s->dst_edge}};
        if ((st = dnnl_primitive_execute(s->dst_reorder, p->strm, 2, ra)) != dnnl_success
            || (st = dnnl_stream_wait(p->strm)) != dnnl_success)
            return dnnl_fail(L, "output layout conversion", st, err);
    }
    *handled = 1;
    *act_done = np->fuse;
    return SC_OK;
}

void sc_dnnl_plan_begin(sc_dnnl_plan *p) {
    p->cold_acc = p->cold_cpu_acc = 0;
    p->prims_acc = p->reorders_acc = 0;
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
        if (!np->kind || np->failed) continue;
        out->engine_nodes++;
        out->fused_activations += np->fuse && np->s[0].batch;
        out->blocked_edges += np->out_blocked;
        out->winograd_nodes += np->winograd;
        for (int k = 0; k < 2; k++) {
            out->weights_bytes += np->s[k].wbytes;
            out->conversion_bytes += np->s[k].conv_bytes;
        }
    }
    out->scratchpad_bytes = p->scratch_bytes;
    out->cold_seconds = p->cold_last;
    out->cold_cpu_seconds = p->cold_cpu_last;
    out->cold_primitives = p->prims_last;
    out->cold_reorders = p->reorders_last;
}
