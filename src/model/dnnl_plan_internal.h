/* model/dnnl_plan_internal.h — the structures behind model/dnnl_plan.h, shared by
 * dnnl_plan.c (graph analysis, execution), dnnl_prims.c (primitive creation) and dnnl_fold.c
 * (BatchNormalization folding, NaN handling). Internal. */
#ifndef SC_MODEL_DNNL_PLAN_INTERNAL_H
#define SC_MODEL_DNNL_PLAN_INTERNAL_H

#include <oneapi/dnnl/dnnl.h>
#include <time.h>

#include "model/dnnl_plan.h"
#include "model/layers/conv_geom.h"

enum {
    KIND_NONE,     /* the layer's own forward */
    KIND_DENSE,    /* inner product */
    KIND_CONV,     /* Conv1D/Conv2D */
    KIND_DW,       /* DepthwiseConv2D: a convolution with one group per input channel */
    KIND_SEP,      /* SeparableConv2D: depthwise stage, then a 1x1 convolution stage */
    KIND_POOL,     /* Max/Average Pooling1D/2D, global pooling */
    KIND_ABSORBED, /* a BatchNormalization or activation computed by an earlier node's
                      primitive: no work, its output shares that node's memory */
};

/* One primitive with its memories; weights reordered from the user (Keras) layout into wbuf
 * when oneDNN prefers another layout. */
typedef struct stage {
    dnnl_primitive_t prim;
    dnnl_memory_t src, wts, bias, dst, scratch;
    dnnl_primitive_t reorder; /* user weights -> wbuf; NULL when the layouts agree */
    dnnl_memory_t user_wts;
    void *wbuf;
    size_t wbytes, scratch_bytes;
    int winograd;
} stage;

typedef struct slot {
    int batch;   /* 0: empty */
    int threads; /* oneDNN splits the work for the thread count at creation */
    int fused;   /* the activation runs as the last stage's post-op */
    sc_shape in; /* the input shape it was created for */
    stage st[2];
    int nst;
    /* Layout conversions where an edge layout has only oneDNN's reference kernel: edge <->
     * private buffer. */
    dnnl_primitive_t src_reorder, dst_reorder;
    dnnl_memory_t src_edge, dst_edge;
    void *src_buf, *dst_buf, *mid_buf; /* mid: the separable convolution's depthwise result */
    size_t conv_bytes;
    unsigned gen; /* model weights generation in the stages' wbufs */
    int gen_valid;
} slot;

typedef struct node_plan {
    int kind;
    int failed;                  /* oneDNN has no kernel: the layer's forward runs */
    int in_blocked, out_blocked; /* activations in nChw16c on that edge */
    int bn;                      /* BatchNormalization node folded into this one; -1: none */
    int out;                     /* tensor the primitive writes (the last absorbed node's) */
    sc_activation act;           /* applied after the primitive (post-op or not) */
    int act_absorbed;            /* act is an absorbed layer's: the plan applies it */
    int post_op;                 /* act may run as a post-op (while everything is finite) */
    sc_conv_geom g;              /* convolution/pooling geometry */
    int64_t dm, F;               /* depth multiplier; output channels */
    int is_max, global;          /* pooling */
    unsigned wgen;               /* weights generation of wfinite and of the folded weights */
    int wgen_valid, wfinite;     /* the (folded) weights hold no NaN/inf */
    float *fw, *fb;              /* folded kernel (Keras layout) and bias */
    size_t fw_n;
    int winograd;
    slot s[2];
} node_plan;

struct sc_dnnl_plan {
    const sc_model *m;
    node_plan *nodes;
    signed char *fin; /* per tensor, this pass: 1 finite, 0 may hold NaN/inf, -1 unknown */
    dnnl_engine_t eng;
    dnnl_stream_t strm;
    void *scratch;
    size_t scratch_bytes;
    double cold_acc, cold_last, cold_cpu_acc, cold_cpu_last;
    int prims_acc, reorders_acc, prims_last, reorders_last;
};

/* dnnl_prims.c: fills slot s of node i for this batch; fused: with the post-op.
 * *unsupported = 1 when oneDNN has no kernel and the node may fall back to its forward. */
sc_status sc_dnnl_make_slot(sc_dnnl_plan *p, size_t i, slot *s, int batch, int fused,
                            int *unsupported, sc_error *err);
void sc_dnnl_slot_clear(slot *s);
sc_status sc_dnnl_fail(const sc_layer *L, const char *what, dnnl_status_t st, sc_error *err);

/* dnnl_fold.c */
/* No NaN or inf among x[0..n). */
int sc_dnnl_all_finite(const float *x, size_t n);
/* The kernel and bias stage k of node i reads: the folded ones, or the layer's variables
 * (bias NULL when there is none). */
void sc_dnnl_stage_weights(const sc_dnnl_plan *p, size_t i, int k, const float **w,
                           const float **b);
/* Folds the BatchNormalization np->bn into fw/fb from the current variables. */
void sc_dnnl_fold(sc_dnnl_plan *p, size_t i);
/* Max pooling: every output whose window holds a NaN becomes NaN, as in TensorFlow (oneDNN's
 * max lets the other operand win). Layouts: the edges' (nhwc or nChw16c). */
void sc_dnnl_maxpool_nan(const node_plan *np, int batch, const float *in, float *out);

#endif
