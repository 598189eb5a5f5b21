/* Primitive creation of the oneDNN plan (model/dnnl_plan_internal.h): per node kind the
 * primitive descriptors of its stages, their memories, weight reorders and the layout
 * conversions around them. */
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "model/dnnl_plan_internal.h"
#include "model/layers/engine_info.h"
#include "model/layers/layers.h"
#include "tensor/engine.h"

#define DNNL_TRY(call)                                                                             \
    do {                                                                                           \
        if ((st = (call)) != dnnl_success) goto fail;                                              \
    } while (0)

sc_status sc_dnnl_fail(const sc_layer *L, const char *what, dnnl_status_t st, sc_error *err) {
    return sc_error_set(err, st == dnnl_out_of_memory ? SC_NO_MEMORY : SC_UNIMPLEMENTED,
                        "layer '%s' (%s): oneDNN %s failed (%s)", L->name, L->class_name, what,
                        sc_dnnl_status_str(st));
}

void sc_dnnl_slot_clear(slot *s) {
    for (int k = 0; k < 2; k++) {
        stage *t = &s->st[k];
        if (t->prim) dnnl_primitive_destroy(t->prim);
        if (t->reorder) dnnl_primitive_destroy(t->reorder);
        dnnl_memory_t mems[] = {t->src, t->wts, t->bias, t->dst, t->scratch, t->user_wts};
        for (size_t j = 0; j < sizeof mems / sizeof *mems; j++)
            if (mems[j]) dnnl_memory_destroy(mems[j]);
        free(t->wbuf);
    }
    if (s->src_reorder) dnnl_primitive_destroy(s->src_reorder);
    if (s->dst_reorder) dnnl_primitive_destroy(s->dst_reorder);
    if (s->src_edge) dnnl_memory_destroy(s->src_edge);
    if (s->dst_edge) dnnl_memory_destroy(s->dst_edge);
    free(s->src_buf);
    free(s->dst_buf);
    free(s->mid_buf);
    memset(s, 0, sizeof *s);
}

/* Activations applied as a post-op: relu and relu6. Both are vmaxps/vminps in oneDNN 2.6,
 * which turn NaN into a number where TensorFlow propagates it, so the plan uses them only
 * while a node's input and weights are finite (dnnl_plan.c). */
static void post_op(sc_activation a, dnnl_alg_kind_t *alg, float *alpha, float *beta) {
    *alg = a == SC_ACT_RELU6 ? dnnl_eltwise_clip : dnnl_eltwise_relu;
    *alpha = 0.0f;
    *beta = a == SC_ACT_RELU6 ? 6.0f : 0.0f;
}

typedef struct {
    dnnl_format_tag_t src, mid, dst;
} tags;

/* Primitive descriptor of stage k of node i. user_w/bias_md: the weights' Keras layout and
 * the bias (unset for pooling). */
static dnnl_status_t stage_pd(const sc_dnnl_plan *p, size_t i, int k, int batch, int fused, tags t,
                              dnnl_primitive_desc_t *pd, dnnl_memory_desc_t *user_w,
                              dnnl_memory_desc_t *bias_md, int *winograd) {
    const sc_node *n = &p->m->nodes[i];
    const node_plan *np = &p->nodes[i];
    const sc_conv_geom *g = &np->g;
    const int last = np->kind != KIND_SEP || k == 1;
    const float *wp, *bp;
    sc_dnnl_stage_weights(p, i, k, &wp, &bp);
    dnnl_status_t st;
    dnnl_memory_desc_t src, wany, dst;
    dnnl_primitive_attr_t attr = NULL;
    dnnl_post_ops_t ops = NULL;
    *winograd = 0;
    DNNL_TRY(dnnl_primitive_attr_create(&attr));
    DNNL_TRY(dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user));
    if (fused && last) {
        dnnl_alg_kind_t alg;
        float al, be;
        post_op(np->act, &alg, &al, &be);
        DNNL_TRY(dnnl_post_ops_create(&ops));
        DNNL_TRY(dnnl_post_ops_append_eltwise(ops, 1.0f, alg, al, be));
        DNNL_TRY(dnnl_primitive_attr_set_post_ops(attr, ops));
    }
    dnnl_dims_t strides = {g->sh, g->sw}, dil = {g->dh - 1, g->dw - 1}, pl = {g->pt, g->pl};
    dnnl_dims_t pr = {(g->oh - 1) * g->sh + (g->kh - 1) * g->dh + 1 - g->h - g->pt,
                      (g->ow - 1) * g->sw + (g->kw - 1) * g->dw + 1 - g->w - g->pl};
    for (int d = 0; d < 2; d++)
        if (pr[d] < 0) pr[d] = 0; /* valid padding with a stride remainder */
    const dnnl_dim_t mid = g->c * np->dm;
    if (np->kind == KIND_DENSE) {
        const sc_shape *s = &n->in_shape[0];
        dnnl_dim_t K = s->dims[s->rank - 1], N = np->F;
        dnnl_dim_t M = (dnnl_dim_t)batch * (dnnl_dim_t)sc_shape_elems(s) / K;
        dnnl_dims_t sd = {M, K}, wd = {N, K}, dd = {M, N}, bd = {N};
        DNNL_TRY(dnnl_memory_desc_init_by_tag(&src, 2, sd, dnnl_f32, dnnl_nc));
        DNNL_TRY(dnnl_memory_desc_init_by_tag(user_w, 2, wd, dnnl_f32, dnnl_io)); /* Keras [K, N] */
        DNNL_TRY(dnnl_memory_desc_init_by_tag(&wany, 2, wd, dnnl_f32, dnnl_format_tag_any));
        DNNL_TRY(dnnl_memory_desc_init_by_tag(&dst, 2, dd, dnnl_f32, dnnl_nc));
        DNNL_TRY(dnnl_memory_desc_init_by_tag(bias_md, 1, bd, dnnl_f32, dnnl_x));
        dnnl_inner_product_desc_t d;
        DNNL_TRY(dnnl_inner_product_forward_desc_init(&d, dnnl_forward_inference, &src, &wany,
                                                      bp ? bias_md : NULL, &dst));
        DNNL_TRY(dnnl_primitive_desc_create(pd, &d, attr, p->eng, NULL));
    } else if (np->kind == KIND_POOL) {
        dnnl_dims_t sd = {batch, g->c, g->h, g->w}, dd = {batch, g->c, g->oh, g->ow};
        dnnl_dims_t kern = {g->kh, g->kw}, nodil = {0, 0};
        DNNL_TRY(dnnl_memory_desc_init_by_tag(&src, 4, sd, dnnl_f32, t.src));
        DNNL_TRY(dnnl_memory_desc_init_by_tag(&dst, 4, dd, dnnl_f32, t.dst));
        /* Keras' average excludes the padded cells ('same'); 'valid' has none. */
        dnnl_pooling_v2_desc_t d;
        DNNL_TRY(dnnl_pooling_v2_forward_desc_init(&d, dnnl_forward_inference,
                                                   np->is_max ? dnnl_pooling_max
                                                              : dnnl_pooling_avg_exclude_padding,
                                                   &src, &dst, strides, kern, nodil, pl, pr));
        DNNL_TRY(dnnl_primitive_desc_create(pd, &d, attr, p->eng, NULL));
    } else if (np->kind == KIND_SEP && k == 1) { /* pointwise: 1x1 convolution */
        dnnl_dims_t sd = {batch, mid, g->oh, g->ow}, wd = {np->F, mid, 1, 1},
                    dd = {batch, np->F, g->oh, g->ow}, bd = {np->F}, one = {1, 1}, zero = {0, 0};
        DNNL_TRY(dnnl_memory_desc_init_by_tag(&src, 4, sd, dnnl_f32, t.mid));
        DNNL_TRY(dnnl_memory_desc_init_by_tag(user_w, 4, wd, dnnl_f32, dnnl_hwio));
        DNNL_TRY(dnnl_memory_desc_init_by_tag(&wany, 4, wd, dnnl_f32, dnnl_format_tag_any));
        DNNL_TRY(dnnl_memory_desc_init_by_tag(&dst, 4, dd, dnnl_f32, t.dst));
        DNNL_TRY(dnnl_memory_desc_init_by_tag(bias_md, 1, bd, dnnl_f32, dnnl_x));
        dnnl_convolution_desc_t d;
        DNNL_TRY(dnnl_convolution_forward_desc_init(&d, dnnl_forward_inference,
                                                    dnnl_convolution_direct, &src, &wany,
                                                    bp ? bias_md : NULL, &dst, one, zero, zero));
        DNNL_TRY(dnnl_primitive_desc_create(pd, &d, attr, p->eng, NULL));
    } else if (np->kind == KIND_DW || np->kind == KIND_SEP) {
        /* groups = input channels, dm outputs each: Keras [kh, kw, c, dm] is goihw's hwigo */
        dnnl_dims_t sd = {batch, g->c, g->h, g->w}, wd = {g->c, np->dm, 1, g->kh, g->kw},
                    dd = {batch, mid, g->oh, g->ow}, bd = {mid};
        DNNL_TRY(dnnl_memory_desc_init_by_tag(&src, 4, sd, dnnl_f32, t.src));
        DNNL_TRY(dnnl_memory_desc_init_by_tag(user_w, 5, wd, dnnl_f32, dnnl_hwigo));
        DNNL_TRY(dnnl_memory_desc_init_by_tag(&wany, 5, wd, dnnl_f32, dnnl_format_tag_any));
        DNNL_TRY(dnnl_memory_desc_init_by_tag(&dst, 4, dd, dnnl_f32,
                                              np->kind == KIND_SEP ? t.mid : t.dst));
        DNNL_TRY(dnnl_memory_desc_init_by_tag(bias_md, 1, bd, dnnl_f32, dnnl_x));
        dnnl_convolution_desc_t d;
        DNNL_TRY(dnnl_dilated_convolution_forward_desc_init(
            &d, dnnl_forward_inference, dnnl_convolution_direct, &src, &wany, bp ? bias_md : NULL,
            &dst, strides, dil, pl, pr));
        DNNL_TRY(dnnl_primitive_desc_create(pd, &d, attr, p->eng, NULL));
    } else { /* KIND_CONV */
        dnnl_dims_t sd = {batch, g->c, g->h, g->w}, wd = {np->F, g->c, g->kh, g->kw},
                    dd = {batch, np->F, g->oh, g->ow}, bd = {np->F};
        DNNL_TRY(dnnl_memory_desc_init_by_tag(&src, 4, sd, dnnl_f32, t.src));
        DNNL_TRY(dnnl_memory_desc_init_by_tag(user_w, 4, wd, dnnl_f32, dnnl_hwio)); /* Keras */
        DNNL_TRY(dnnl_memory_desc_init_by_tag(&wany, 4, wd, dnnl_f32, dnnl_format_tag_any));
        DNNL_TRY(dnnl_memory_desc_init_by_tag(&dst, 4, dd, dnnl_f32, t.dst));
        DNNL_TRY(dnnl_memory_desc_init_by_tag(bias_md, 1, bd, dnnl_f32, dnnl_x));
        dnnl_convolution_desc_t d;
        if (t.src != dnnl_nhwc && t.dst == dnnl_nChw16c && g->kh == 3 && g->kw == 3 && g->sh == 1
            && g->sw == 1 && g->dh == 1 && g->dw == 1 && sc_engine_winograd()) {
            /* F(4x4, 3x3) on blocked layouts only; tests/unit/test_engine and bench_forward
             * bound its error against the direct convolution (README "Compute engine"). */
            DNNL_TRY(dnnl_convolution_forward_desc_init(
                &d, dnnl_forward_inference, dnnl_convolution_winograd, &src, &wany,
                bp ? bias_md : NULL, &dst, strides, pl, pr));
            *winograd = dnnl_primitive_desc_create(pd, &d, attr, p->eng, NULL) == dnnl_success;
        }
        if (!*winograd) {
            DNNL_TRY(dnnl_dilated_convolution_forward_desc_init(
                &d, dnnl_forward_inference, dnnl_convolution_direct, &src, &wany,
                bp ? bias_md : NULL, &dst, strides, dil, pl, pr));
            DNNL_TRY(dnnl_primitive_desc_create(pd, &d, attr, p->eng, NULL));
        }
    }
fail:
    if (ops) dnnl_post_ops_destroy(ops);
    if (attr) dnnl_primitive_attr_destroy(attr);
    return st;
}

static int is_ref(const_dnnl_primitive_desc_t pd) {
    const char *impl = NULL;
    return dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl) == dnnl_success && impl
           && strncmp(impl, "ref", 3) == 0;
}

/* All stage descriptors for these layouts; *ref: some stage has only the reference kernel. */
static dnnl_status_t node_pds(const sc_dnnl_plan *p, size_t i, int batch, int fused, tags t,
                              dnnl_primitive_desc_t pd[2], dnnl_memory_desc_t user_w[2],
                              dnnl_memory_desc_t bias_md[2], int wino[2], int *ref) {
    int nst = p->nodes[i].kind == KIND_SEP ? 2 : 1;
    *ref = 0;
    for (int k = 0; k < nst; k++) {
        dnnl_status_t st =
            stage_pd(p, i, k, batch, fused, t, &pd[k], &user_w[k], &bias_md[k], &wino[k]);
        if (st != dnnl_success) {
            for (int j = 0; j < k; j++) dnnl_primitive_desc_destroy(pd[j]);
            pd[0] = pd[1] = NULL;
            return st;
        }
        *ref |= is_ref(pd[k]);
    }
    return dnnl_success;
}

static void destroy_pds(dnnl_primitive_desc_t pd[2]) {
    for (int k = 0; k < 2; k++)
        if (pd[k]) dnnl_primitive_desc_destroy(pd[k]);
    pd[0] = pd[1] = NULL;
}

/* Reordered weights, scratchpads and private buffers: megabytes touched once (core/mem.h). */
static void *alloc64(size_t n) { return sc_mem_aligned_large(64, n); }

/* A private buffer behind `priv` (the primitive's side) and a reorder between it and the edge
 * memory `*edge` (handle set per run): edge -> priv when to_priv, else priv -> edge. */
static dnnl_status_t make_reorder(const sc_dnnl_plan *p, const dnnl_memory_desc_t *from,
                                  const dnnl_memory_desc_t *to, dnnl_memory_t *edge,
                                  dnnl_memory_t priv, void **buf, dnnl_primitive_t *prim,
                                  size_t *bytes, int to_priv) {
    const dnnl_memory_desc_t *pmd = to_priv ? to : from;
    size_t n = dnnl_memory_desc_get_size(pmd);
    *buf = alloc64(n);
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

/* Memories, weight reorder and scratchpad of one stage from its descriptor. */
static dnnl_status_t fill_stage(sc_dnnl_plan *p, stage *t, dnnl_primitive_desc_t pd,
                                const dnnl_memory_desc_t *user_w, const dnnl_memory_desc_t *bias_md,
                                int has_w, int has_b) {
    dnnl_status_t st;
    dnnl_primitive_desc_t rpd = NULL;
    DNNL_TRY(dnnl_primitive_create(&t->prim, pd));
    const dnnl_memory_desc_t *smd = dnnl_primitive_desc_query_md(pd, dnnl_query_src_md, 0);
    const dnnl_memory_desc_t *dmd = dnnl_primitive_desc_query_md(pd, dnnl_query_dst_md, 0);
    const dnnl_memory_desc_t *pmd = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
    DNNL_TRY(dnnl_memory_create(&t->src, smd, p->eng, DNNL_MEMORY_NONE));
    DNNL_TRY(dnnl_memory_create(&t->dst, dmd, p->eng, DNNL_MEMORY_NONE));
    t->scratch_bytes = pmd ? dnnl_memory_desc_get_size(pmd) : 0;
    if (t->scratch_bytes) DNNL_TRY(dnnl_memory_create(&t->scratch, pmd, p->eng, DNNL_MEMORY_NONE));
    if (has_b) DNNL_TRY(dnnl_memory_create(&t->bias, bias_md, p->eng, DNNL_MEMORY_NONE));
    if (!has_w) return dnnl_success;
    const dnnl_memory_desc_t *wmd = dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
    DNNL_TRY(dnnl_memory_create(&t->user_wts, user_w, p->eng, DNNL_MEMORY_NONE));
    if (dnnl_memory_desc_equal(wmd, user_w)) {
        DNNL_TRY(dnnl_memory_create(&t->wts, user_w, p->eng, DNNL_MEMORY_NONE));
        return dnnl_success;
    }
    t->wbytes = dnnl_memory_desc_get_size(wmd);
    if (!(t->wbuf = alloc64(t->wbytes))) return dnnl_out_of_memory;
    DNNL_TRY(dnnl_memory_create(&t->wts, wmd, p->eng, t->wbuf));
    DNNL_TRY(dnnl_reorder_primitive_desc_create(&rpd, user_w, p->eng, wmd, p->eng, NULL));
    st = dnnl_primitive_create(&t->reorder, rpd);
fail:
    if (rpd) dnnl_primitive_desc_destroy(rpd);
    return st;
}

sc_status sc_dnnl_make_slot(sc_dnnl_plan *p, size_t i, slot *s, int batch, int fused,
                            int *unsupported, sc_error *err) {
    const sc_node *n = &p->m->nodes[i];
    const sc_layer *L = n->layer;
    node_plan *np = &p->nodes[i];
    const sc_conv_geom *g = &np->g;
    *unsupported = 0;
    dnnl_primitive_desc_t pd[2] = {NULL, NULL};
    dnnl_memory_desc_t user_w[2], bias_md[2];
    int wino[2] = {0, 0}, ref = 0;
    const int nst = np->kind == KIND_SEP ? 2 : 1;
    /* Edge layouts; a global pooling's [batch, C, 1, 1] output is the same bytes in both. */
    tags et = {np->in_blocked ? dnnl_nChw16c : dnnl_nhwc, dnnl_nhwc,
               np->out_blocked || (np->global && np->in_blocked) ? dnnl_nChw16c : dnnl_nhwc};
    et.mid = et.src == dnnl_nChw16c || et.dst == dnnl_nChw16c ? dnnl_nChw16c : dnnl_nhwc;
    tags t = et;
    dnnl_status_t st = node_pds(p, i, batch, fused, t, pd, user_w, bias_md, wino, &ref);
    if (st == dnnl_success && ref && np->kind != KIND_DENSE) {
        /* Only the reference kernel for these layouts (mixed plain/blocked, or a depthwise
         * layout the jit kernels lack): run the node blocked on both sides (a few-channel
         * convolution input as NCHW, which the first-layer kernels take) between layout
         * conversions, if oneDNN has real kernels for that. */
        tags t2 = {np->kind == KIND_CONV && g->c < 16 ? dnnl_nchw : dnnl_nChw16c, dnnl_nChw16c,
                   dnnl_nChw16c};
        dnnl_primitive_desc_t pd2[2] = {NULL, NULL};
        int wino2[2] = {0, 0}, ref2 = 1;
        if (node_pds(p, i, batch, fused, t2, pd2, user_w, bias_md, wino2, &ref2) == dnnl_success
            && !ref2) {
            destroy_pds(pd);
            memcpy(pd, pd2, sizeof pd);
            memcpy(wino, wino2, sizeof wino);
            t = t2;
        } else { /* user_w and bias_md do not depend on the layouts */
            destroy_pds(pd2);
        }
    }
    if (st != dnnl_success) {
        destroy_pds(pd);
        /* Nodes on blocked edges or with folded weights cannot fall back to the layer's NHWC
         * forward. */
        *unsupported = st == dnnl_unimplemented && !np->in_blocked && !np->out_blocked && np->bn < 0
                       && !np->act_absorbed;
        return *unsupported ? SC_OK : sc_dnnl_fail(L, "primitive descriptor", st, err);
    }
    const char *what = "primitive creation";
    sc_dnnl_slot_clear(s);
    s->batch = batch;
    s->threads = sc_engine_threads();
    s->fused = fused;
    s->in = n->in_shape[0];
    s->nst = nst;
    for (int k = 0; k < nst; k++) {
        const float *wp, *bp;
        sc_dnnl_stage_weights(p, i, k, &wp, &bp);
        s->st[k].winograd = wino[k];
        DNNL_TRY(fill_stage(p, &s->st[k], pd[k], &user_w[k], &bias_md[k], wp != NULL, bp != NULL));
    }
    if (nst == 2) { /* depthwise result -> pointwise input */
        what = "memory";
        const dnnl_memory_desc_t *mmd = dnnl_primitive_desc_query_md(pd[0], dnnl_query_dst_md, 0);
        size_t mb = dnnl_memory_desc_get_size(mmd);
        if (!(s->mid_buf = alloc64(mb))) {
            st = dnnl_out_of_memory;
            goto fail;
        }
        s->conv_bytes += mb;
        DNNL_TRY(dnnl_memory_set_data_handle(s->st[0].dst, s->mid_buf));
        DNNL_TRY(dnnl_memory_set_data_handle(s->st[1].src, s->mid_buf));
    }
    if (t.src != et.src || t.dst != et.dst) {
        what = "layout conversion";
        dnnl_dim_t F = np->F;
        dnnl_dims_t sd = {batch, g->c, g->h, g->w}, dd = {batch, F, g->oh, g->ow};
        dnnl_memory_desc_t emd;
        const dnnl_memory_desc_t *smd = dnnl_primitive_desc_query_md(pd[0], dnnl_query_src_md, 0);
        const dnnl_memory_desc_t *dmd =
            dnnl_primitive_desc_query_md(pd[nst - 1], dnnl_query_dst_md, 0);
        if (t.src != et.src) {
            DNNL_TRY(dnnl_memory_desc_init_by_tag(&emd, 4, sd, dnnl_f32, et.src));
            DNNL_TRY(make_reorder(p, &emd, smd, &s->src_edge, s->st[0].src, &s->src_buf,
                                  &s->src_reorder, &s->conv_bytes, 1));
        }
        if (t.dst != et.dst) {
            DNNL_TRY(dnnl_memory_desc_init_by_tag(&emd, 4, dd, dnnl_f32, et.dst));
            DNNL_TRY(make_reorder(p, dmd, &emd, &s->dst_edge, s->st[nst - 1].dst, &s->dst_buf,
                                  &s->dst_reorder, &s->conv_bytes, 0));
        }
    }
    what = "memory";
    np->winograd = wino[0];
    for (int k = 0; k < nst; k++)
        if (s->st[k].scratch_bytes > p->scratch_bytes) {
            free(p->scratch);
            p->scratch_bytes = 0;
            if (!(p->scratch = alloc64(s->st[k].scratch_bytes))) {
                st = dnnl_out_of_memory;
                goto fail;
            }
            p->scratch_bytes = s->st[k].scratch_bytes;
        }
    destroy_pds(pd);
    p->prims_acc += nst;
    return SC_OK;
fail:
    destroy_pds(pd);
    sc_dnnl_slot_clear(s);
    return sc_dnnl_fail(L, what, st, err);
}
