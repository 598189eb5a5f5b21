/* dnnl_chain.h — a network written directly with oneDNN primitives, for bench_forward's
 * "ceiling": what the library could reach on the same engine with no bookkeeping of its own.
 * Header-only (each bench is one executable built from one bench_*.c).
 *
 * Every layer lets oneDNN choose its activation layouts (format_any) and converts only where
 * the next primitive wants another one; weights are reordered once at build time; relu/relu6
 * are post-ops; BatchNormalization is folded by the caller; 3x3 stride-1 convolutions with at
 * least 16 input channels try Winograd first (sidecar's rule). The library-managed scratchpad.
 * With `blocked` set, image activations of 16k channels are nChw16c instead of oneDNN's
 * choice (format_any picks NHWC for some convolutions, slower here): the caller builds both
 * and keeps the faster. 
 */
#ifndef SC_BENCH_DNNL_CHAIN_H
#define SC_BENCH_DNNL_CHAIN_H

#include <oneapi/dnnl/dnnl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BC_MAX_STEPS 64
#define BC_MAX_MEMS  256

typedef struct bchain {
    dnnl_engine_t eng;
    dnnl_stream_t strm;
    struct {
        dnnl_primitive_t prim;
        int na;
        dnnl_exec_arg_t a[5];
    } st[BC_MAX_STEPS];
    int n, nm, nb;
    dnnl_memory_t mem[BC_MAX_MEMS];
    void *buf[BC_MAX_MEMS];
    dnnl_memory_t cur; /* the activation the next layer reads */
    int blocked;       /* nChw16c activations where the channels allow */
    int failed;
} bchain;

enum { BC_LINEAR, BC_RELU, BC_RELU6 };

static int bc_ok(bchain *c, dnnl_status_t st, const char *what) {
    if (st == dnnl_success) return 1;
    if (!c->failed) fprintf(stderr, "bench_forward: ceiling: %s failed (status %d)\n", what, st);
    c->failed = 1;
    return 0;
}

static const dnnl_memory_desc_t *bc_md(dnnl_memory_t m) {
    const dnnl_memory_desc_t *md = NULL;
    dnnl_memory_get_memory_desc(m, &md);
    return md;
}

/* A memory of md over data, or over a new buffer of its own when data is NULL. */
static dnnl_memory_t bc_mem(bchain *c, const dnnl_memory_desc_t *md, void *data) {
    if (c->failed || c->nm >= BC_MAX_MEMS) return c->failed = 1, NULL;
    if (!data) {
        size_t n = dnnl_memory_desc_get_size(md);
        data = aligned_alloc(64, (n + 63) / 64 * 64 + 64);
        if (!data) return c->failed = 1, NULL;
        memset(data, 0, n);
        c->buf[c->nb++] = data;
    }
    dnnl_memory_t m = NULL;
    if (!bc_ok(c, dnnl_memory_create(&m, md, c->eng, data), "memory")) return NULL;
    return c->mem[c->nm++] = m;
}

static void bc_step(bchain *c, dnnl_primitive_desc_t pd, int na, const dnnl_exec_arg_t *a) {
    if (c->failed || c->n >= BC_MAX_STEPS) {
        c->failed = 1;
        return;
    }
    if (!bc_ok(c, dnnl_primitive_create(&c->st[c->n].prim, pd), "primitive")) return;
    c->st[c->n].na = na;
    memcpy(c->st[c->n].a, a, (size_t)na * sizeof *a);
    c->n++;
}

/* A reorder from memory `from` into a new memory of md (a step, or done now when `now`). */
static dnnl_memory_t bc_reorder(bchain *c, dnnl_memory_t from, const dnnl_memory_desc_t *md,
                                int now) {
    if (c->failed) return NULL;
    if (dnnl_memory_desc_equal(bc_md(from), md)) return from;
    dnnl_memory_t to = bc_mem(c, md, NULL);
    dnnl_primitive_desc_t pd = NULL;
    if (!to
        || !bc_ok(c, dnnl_reorder_primitive_desc_create(&pd, bc_md(from), c->eng, md, c->eng, NULL),
                  "reorder"))
        return NULL;
    dnnl_exec_arg_t a[2] = {{DNNL_ARG_FROM, from}, {DNNL_ARG_TO, to}};
    if (now) {
        dnnl_primitive_t p = NULL;
        if (bc_ok(c, dnnl_primitive_create(&p, pd), "reorder"))
            bc_ok(c, dnnl_primitive_execute(p, c->strm, 2, a), "reorder"),
                bc_ok(c, dnnl_stream_wait(c->strm), "reorder");
        if (p) dnnl_primitive_destroy(p);
    } else {
        bc_step(c, pd, 2, a);
    }
    dnnl_primitive_desc_destroy(pd);
    return to;
}

static void bc_init(bchain *c, dnnl_engine_t eng, dnnl_stream_t strm, int blocked) {
    memset(c, 0, sizeof *c);
    c->eng = eng;
    c->strm = strm;
    c->blocked = blocked;
}

/* An activation's layout tag: nChw16c in a blocked chain when the channels allow. */
static dnnl_format_tag_t bc_tag(const bchain *c, dnnl_dim_t channels) {
    return c->blocked && channels % 16 == 0 ? dnnl_nChw16c : dnnl_format_tag_any;
}

/* The input: plain NHWC [b, h, w, ch] (h = 0: a [b, ch] matrix) over the caller's data. */
static void bc_input(bchain *c, int b, int h, int w, int ch, const float *data) {
    dnnl_memory_desc_t md;
    if (h == 0) {
        dnnl_dims_t d = {b, ch};
        bc_ok(c, dnnl_memory_desc_init_by_tag(&md, 2, d, dnnl_f32, dnnl_nc), "input");
    } else {
        dnnl_dims_t d = {b, ch, h, w};
        bc_ok(c, dnnl_memory_desc_init_by_tag(&md, 4, d, dnnl_f32, dnnl_nhwc), "input");
    }
    c->cur = bc_mem(c, &md, (void *)data);
}

static dnnl_primitive_attr_t bc_attr(bchain *c, int act) {
    dnnl_primitive_attr_t attr = NULL;
    dnnl_post_ops_t ops = NULL;
    bc_ok(c, dnnl_primitive_attr_create(&attr), "attr");
    if (act != BC_LINEAR && !c->failed) {
        bc_ok(c, dnnl_post_ops_create(&ops), "post-ops");
        bc_ok(c,
              dnnl_post_ops_append_eltwise(ops, 1.0f,
                                           act == BC_RELU6 ? dnnl_eltwise_clip : dnnl_eltwise_relu,
                                           0.0f, act == BC_RELU6 ? 6.0f : 0.0f),
              "post-ops");
        bc_ok(c, dnnl_primitive_attr_set_post_ops(attr, ops), "post-ops");
        dnnl_post_ops_destroy(ops);
    }
    return attr;
}

/* TensorFlow's padding: 'same' puts the odd pixel at the end. */
static void bc_pad(int in, int k, int s, int same, dnnl_dim_t *out, dnnl_dim_t *pl,
                   dnnl_dim_t *pr) {
    if (!same) {
        *out = (in - k) / s + 1;
        *pl = 0;
        *pr = (*out - 1) * s + k - in > 0 ? (*out - 1) * s + k - in : 0;
        return;
    }
    *out = (in + s - 1) / s;
    int total = (int)(*out - 1) * s + k - in;
    if (total < 0) total = 0;
    *pl = total / 2;
    *pr = total - total / 2;
}

/* Runs the primitive descriptor pd as a layer reading c->cur (converted to the layout pd
 * wants), with weights from the Keras-layout user_w, bias and a new output. */
static void bc_layer(bchain *c, dnnl_primitive_desc_t pd, const dnnl_memory_desc_t *user_w,
                     const float *w, const dnnl_memory_desc_t *bias_md, const float *bias) {
    const dnnl_memory_desc_t *smd = dnnl_primitive_desc_query_md(pd, dnnl_query_src_md, 0);
    const dnnl_memory_desc_t *dmd = dnnl_primitive_desc_query_md(pd, dnnl_query_dst_md, 0);
    dnnl_memory_t src = bc_reorder(c, c->cur, smd, 0), dst = bc_mem(c, dmd, NULL);
    dnnl_exec_arg_t a[4] = {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst}};
    int na = 2;
    if (w) {
        const dnnl_memory_desc_t *wmd = dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
        dnnl_memory_t uw = bc_mem(c, user_w, (void *)w);
        a[na++] = (dnnl_exec_arg_t){DNNL_ARG_WEIGHTS, uw ? bc_reorder(c, uw, wmd, 1) : NULL};
    }
    if (bias) a[na++] = (dnnl_exec_arg_t){DNNL_ARG_BIAS, bc_mem(c, bias_md, (void *)bias)};
    bc_step(c, pd, na, a);
    c->cur = dst;
}

/* Conv2D (groups 0) or DepthwiseConv2D with depth multiplier 1 (groups 1), Keras kernel
 * [kh, kw, cin, F] / [kh, kw, C, 1], bias NULL for none. */
static void bc_conv(bchain *c, const float *w, const float *bias, int F, int k, int s, int same,
                    int depthwise, int act) {
    if (c->failed) return;
    const dnnl_memory_desc_t *in = bc_md(c->cur);
    int C = (int)in->dims[1], H = (int)in->dims[2], W = (int)in->dims[3];
    if (depthwise) F = C;
    dnnl_dim_t oh, ow, pt, pb, pl, pr;
    bc_pad(H, k, s, same, &oh, &pt, &pb);
    bc_pad(W, k, s, same, &ow, &pl, &pr);
    dnnl_dims_t sd = {in->dims[0], C, H, W}, dd = {in->dims[0], F, oh, ow}, bd = {F};
    dnnl_dims_t wd = {F, C, k, k}, gd = {C, 1, 1, k, k};
    dnnl_dims_t strides = {s, s}, padl = {pt, pl}, padr = {pb, pr};
    dnnl_memory_desc_t smd, wmd, uwmd, dmd, bmd;
    bc_ok(c, dnnl_memory_desc_init_by_tag(&smd, 4, sd, dnnl_f32, bc_tag(c, C)), "md");
    bc_ok(c, dnnl_memory_desc_init_by_tag(&dmd, 4, dd, dnnl_f32, bc_tag(c, F)), "md");
    bc_ok(c, dnnl_memory_desc_init_by_tag(&bmd, 1, bd, dnnl_f32, dnnl_x), "md");
    bc_ok(c,
          dnnl_memory_desc_init_by_tag(&wmd, depthwise ? 5 : 4, depthwise ? gd : wd, dnnl_f32,
                                       dnnl_format_tag_any),
          "md");
    bc_ok(c,
          dnnl_memory_desc_init_by_tag(&uwmd, depthwise ? 5 : 4, depthwise ? gd : wd, dnnl_f32,
                                       depthwise ? dnnl_hwigo : dnnl_hwio),
          "md");
    dnnl_primitive_attr_t attr = bc_attr(c, act);
    dnnl_convolution_desc_t d;
    dnnl_primitive_desc_t pd = NULL;
    if (!depthwise && k == 3 && s == 1 && C >= 16
        && dnnl_convolution_forward_desc_init(&d, dnnl_forward_inference, dnnl_convolution_winograd,
                                              &smd, &wmd, bias ? &bmd : NULL, &dmd, strides, padl,
                                              padr)
               == dnnl_success
        && dnnl_primitive_desc_create(&pd, &d, attr, c->eng, NULL) != dnnl_success)
        pd = NULL;
    if (!pd
        && bc_ok(c,
                 dnnl_convolution_forward_desc_init(&d, dnnl_forward_inference,
                                                    dnnl_convolution_direct, &smd, &wmd,
                                                    bias ? &bmd : NULL, &dmd, strides, padl, padr),
                 "convolution"))
        bc_ok(c, dnnl_primitive_desc_create(&pd, &d, attr, c->eng, NULL), "convolution");
    if (attr) dnnl_primitive_attr_destroy(attr);
    if (!pd) return;
    bc_layer(c, pd, &uwmd, w, &bmd, bias);
    dnnl_primitive_desc_destroy(pd);
}

/* Max or average (padding excluded) pooling; k = 0: global. */
static void bc_pool(bchain *c, int is_max, int k, int s, int same) {
    if (c->failed) return;
    const dnnl_memory_desc_t *in = bc_md(c->cur);
    int H = (int)in->dims[2], W = (int)in->dims[3];
    dnnl_dim_t oh = 1, ow = 1, pt = 0, pb = 0, pl = 0, pr = 0;
    if (k) {
        bc_pad(H, k, s, same, &oh, &pt, &pb);
        bc_pad(W, k, s, same, &ow, &pl, &pr);
    }
    dnnl_dims_t dd = {in->dims[0], in->dims[1], oh, ow}, kern = {k ? k : H, k ? k : W};
    dnnl_dims_t strides = {k ? s : 1, k ? s : 1}, dil = {0, 0}, padl = {pt, pl}, padr = {pb, pr};
    dnnl_memory_desc_t dmd;
    bc_ok(c, dnnl_memory_desc_init_by_tag(&dmd, 4, dd, dnnl_f32, bc_tag(c, in->dims[1])), "md");
    dnnl_pooling_v2_desc_t d;
    dnnl_primitive_desc_t pd = NULL;
    if (bc_ok(c,
              dnnl_pooling_v2_forward_desc_init(&d, dnnl_forward_inference,
                                                is_max ? dnnl_pooling_max
                                                       : dnnl_pooling_avg_exclude_padding,
                                                in, &dmd, strides, kern, dil, padl, padr),
              "pooling"))
        bc_ok(c, dnnl_primitive_desc_create(&pd, &d, NULL, c->eng, NULL), "pooling");
    if (!pd) return;
    bc_layer(c, pd, NULL, NULL, NULL, NULL);
    dnnl_primitive_desc_destroy(pd);
}

/* Dense on the current activation (a 4-D one flattened in Keras' (h, w, c) order: the Keras
 * kernel [h*w*c, N] is the weights {N, c, h, w} in hwio). */
static void bc_dense(bchain *c, const float *w, const float *bias, int N, int act) {
    if (c->failed) return;
    const dnnl_memory_desc_t *in = bc_md(c->cur);
    int nd = in->ndims;
    dnnl_dims_t wd = {N, in->dims[1], nd == 4 ? in->dims[2] : 0, nd == 4 ? in->dims[3] : 0};
    dnnl_dims_t dd = {in->dims[0], N}, bd = {N};
    dnnl_memory_desc_t wmd, uwmd, dmd, bmd, smd;
    bc_ok(c, dnnl_memory_desc_init_by_tag(&smd, nd, in->dims, dnnl_f32, dnnl_format_tag_any), "md");
    bc_ok(c, dnnl_memory_desc_init_by_tag(&wmd, nd, wd, dnnl_f32, dnnl_format_tag_any), "md");
    bc_ok(c, dnnl_memory_desc_init_by_tag(&uwmd, nd, wd, dnnl_f32, nd == 4 ? dnnl_hwio : dnnl_io),
          "md");
    bc_ok(c, dnnl_memory_desc_init_by_tag(&dmd, 2, dd, dnnl_f32, dnnl_format_tag_any), "md");
    bc_ok(c, dnnl_memory_desc_init_by_tag(&bmd, 1, bd, dnnl_f32, dnnl_x), "md");
    dnnl_primitive_attr_t attr = bc_attr(c, act);
    dnnl_inner_product_desc_t d;
    dnnl_primitive_desc_t pd = NULL;
    /* the current layout if the inner product takes it, else whatever it prefers */
    if (dnnl_inner_product_forward_desc_init(&d, dnnl_forward_inference, in, &wmd, &bmd, &dmd)
            != dnnl_success
        || dnnl_primitive_desc_create(&pd, &d, attr, c->eng, NULL) != dnnl_success) {
        pd = NULL;
        if (bc_ok(c,
                  dnnl_inner_product_forward_desc_init(&d, dnnl_forward_inference, &smd, &wmd, &bmd,
                                                       &dmd),
                  "inner product"))
            bc_ok(c, dnnl_primitive_desc_create(&pd, &d, attr, c->eng, NULL), "inner product");
    }
    if (attr) dnnl_primitive_attr_destroy(attr);
    if (!pd) return;
    bc_layer(c, pd, &uwmd, w, &bmd, bias);
    dnnl_primitive_desc_destroy(pd);
}

/* The last activation into the caller's plain [b, N] buffer. */
static void bc_finish(bchain *c, float *out) {
    if (c->failed) return;
    const dnnl_memory_desc_t *in = bc_md(c->cur);
    dnnl_memory_desc_t md;
    bc_ok(c, dnnl_memory_desc_init_by_tag(&md, 2, in->dims, dnnl_f32, dnnl_nc), "output");
    dnnl_memory_t o = bc_mem(c, &md, out);
    if (!o) return;
    if (dnnl_memory_desc_equal(in, &md)) { /* write straight into the caller's buffer */
        for (int i = c->n - 1; i >= 0; i--)
            for (int k = 0; k < c->st[i].na; k++)
                if (c->st[i].a[k].arg == DNNL_ARG_DST && c->st[i].a[k].memory == c->cur) {
                    c->st[i].a[k].memory = o;
                    c->cur = o;
                    return;
                }
    }
    dnnl_primitive_desc_t pd = NULL;
    if (!bc_ok(c, dnnl_reorder_primitive_desc_create(&pd, in, c->eng, &md, c->eng, NULL),
               "output reorder"))
        return;
    dnnl_exec_arg_t a[2] = {{DNNL_ARG_FROM, c->cur}, {DNNL_ARG_TO, o}};
    bc_step(c, pd, 2, a);
    dnnl_primitive_desc_destroy(pd);
    c->cur = o;
}

static int bc_run(bchain *c) {
    if (c->failed) return -1;
    for (int i = 0; i < c->n; i++)
        if (dnnl_primitive_execute(c->st[i].prim, c->strm, c->st[i].na, c->st[i].a) != dnnl_success)
            return -1;
    return dnnl_stream_wait(c->strm) == dnnl_success ? 0 : -1;
}

static void bc_free(bchain *c) {
    for (int i = 0; i < c->n; i++) dnnl_primitive_destroy(c->st[i].prim);
    for (int i = 0; i < c->nm; i++) dnnl_memory_destroy(c->mem[i]);
    for (int i = 0; i < c->nb; i++) free(c->buf[i]);
    memset(c, 0, sizeof *c);
}

#endif
