/* model/model_internal.h — the graph behind sc_model. Internal.
 *
 * A model is a list of layers (each with its variables) and a list of nodes: one node per call
 * of a layer (a shared layer has several). Each node reads tensors produced by earlier nodes and
 * produces one tensor, or several (an RNN with return_state, Bidirectional with merge_mode=None:
 * their output k is tensor `output + k`, ids consecutive); nodes are kept in topological order,
 * so the forward pass is one loop.
 */
#ifndef SC_MODEL_INTERNAL_H
#define SC_MODEL_INTERNAL_H

#include <jansson.h>

#include "model/activations.h"
#include "sidecar/model.h"

#define SC_MAX_NODE_INPUTS 16
/* Bidirectional(LSTM, merge_mode=None, return_state=True): [y_fw, y_bw, h_fw, c_fw, h_bw, c_bw] */
#define SC_MAX_NODE_OUTPUTS 6

typedef struct sc_layer sc_layer;
typedef struct sc_node sc_node;

typedef struct sc_layer_ops {
    const char *class_name;
    /* Reads the layer's config; declares variables with sc_layer_add_variable. Unsupported
     * options: SC_UNIMPLEMENTED naming layer, class and option. */
    sc_status (*init)(sc_layer *L, const json_t *config, sc_error *err);
    /* Output shape of a call with these input shapes (declares shape-dependent variables on the
     * first call: Dense's kernel needs the input width). */
    sc_status (*infer)(sc_layer *L, sc_node *n, sc_error *err);
    /* Extra float scratch a call needs for `batch` examples (im2col buffers); NULL = none. */
    size_t (*scratch_floats)(const sc_layer *L, const sc_node *n, int batch);
    /* out = f(in). Must not allocate. in[i] has batch x n->in_shape[i] floats. Fails only on
     * bad input values (an Embedding index out of range), naming the layer. */
    sc_status (*forward)(const sc_layer *L, const sc_node *n, int batch, const float *const *in,
                         float *out, float *scratch, sc_error *err);
    void (*destroy)(sc_layer *L); /* frees L->impl; NULL = free() */
} sc_layer_ops;

/* A call with several outputs (infer set n->num_outputs > 1: RNNs with return_state,
 * Bidirectional with merge_mode=None) runs this instead of forward: out[k] is output k; mask is
 * the input's Keras mask [B, T] or NULL (model/layers/rnn.c). */
sc_status sc_layer_forward_multi(const sc_layer *L, const sc_node *n, int batch,
                                 const float *const *in, const float *mask, float *const *out,
                                 float *scratch, sc_error *err);

struct sc_layer {
    const sc_layer_ops *ops;
    sc_model *model;
    char *name;
    char *class_name;
    size_t index;      /* position in model->layers */
    sc_activation act; /* fused activation for layers with an `activation` option */
    size_t first_var;  /* this layer's variables are model->vars[first_var .. +num_vars) */
    size_t num_vars;
    int weights_index; /* K of layer_with_weights-K, -1 when the layer has no weights */
    char *h5_name;     /* Keras 3 .weights.h5 path below layers/: "dense_1", or for a layer of
                           a nested model "sequential/layers/dense" */
    char *ckpt_path;   /* Keras 2 TF checkpoint path: "layer_with_weights-1", nested
                           "layer_with_weights-0/layer_with_weights-2" */
    sc_layer *parent;  /* the nested model this layer belongs to; NULL at the top */
    int is_container;  /* a nested (Sequential) model: no node of its own, its layers run */
    int op_index;      /* Keras 3 TF checkpoints: n of `_operations/<n>` (InputLayers count) */
    int num_nodes;     /* calls seen so far */
    void *impl;
};

struct sc_node {
    sc_layer *layer;
    int num_inputs;
    int inputs[SC_MAX_NODE_INPUTS]; /* tensor ids */
    sc_shape in_shape[SC_MAX_NODE_INPUTS];
    sc_shape out_shape; /* output 0 */
    int output;         /* tensor id of output 0; output k is tensor output + k */
    int num_outputs;    /* 1, or up to SC_MAX_NODE_OUTPUTS (set by infer) */
    sc_shape more_shapes[SC_MAX_NODE_OUTPUTS - 1]; /* outputs 1 .. num_outputs-1 */
    int use_causal_mask; /* call argument of this call (MultiHeadAttention) */
};

/* Shape of output k of node n. */
static inline const sc_shape *sc_node_out_shape(const sc_node *n, int k) {
    return k == 0 ? &n->out_shape : &n->more_shapes[k - 1];
}

typedef struct sc_tensor_slot {
    sc_shape shape;
    int producer;  /* node index, -1 for model inputs */
    int last_use;  /* last node index reading it (model outputs: the node count) */
    size_t offset; /* in floats, into the runner arena */
    int has_mask;  /* carries a Keras mask (model/mask.h) */
} sc_tensor_slot;

struct sc_model {
    char *name;
    sc_layer **layers;
    size_t num_layers, cap_layers;
    sc_node *nodes;
    size_t num_nodes, cap_nodes;
    sc_tensor_slot *tensors;
    size_t num_tensors, cap_tensors;
    sc_variable *vars;
    size_t num_vars, cap_vars;
    int *inputs; /* tensor ids */
    size_t num_inputs;
    char **input_names;
    int *outputs; /* tensor ids */
    size_t num_outputs;
    char **output_names; /* Keras' output_names (uniquified: "lstm", "lstm_1"), or NULL */
    int num_weight_layers;
    int keras3;     /* written by Keras 3: changes hard_sigmoid and a few defaults */
    int sequential; /* Keras 3 keys it `_functional/_operations/<n>` */
    void *bind_tmp; /* binding: float16/bfloat16/float64 bytes before conversion, reused */
    size_t bind_tmp_cap;
    /* Bumped whenever variable data may have changed (every bind, every mutable variable
     * handed out): runners redo their oneDNN weight reorders when it moves. */
    unsigned weights_gen;
    /* Free input dimensions (batch_input_shape [null, null]): the declared shapes, -1 where
     * free ([num_inputs], NULL when every input is fixed). The graph is built with free dims at
     * SC_FREE_DIM_PLACEHOLDER and re-inferred by sc_model_set_input_shapes. */
    sc_shape *input_decl;
    unsigned shape_gen; /* bumped whenever the tensors' shapes change: runners re-plan */
};

#define SC_FREE_DIM_PLACEHOLDER 64

/* Declares a variable of the layer (Keras order). Its data is allocated and zeroed. */
sc_status sc_layer_add_variable(sc_layer *L, const char *name, const sc_shape *shape,
                                sc_error *err);
/* The layer's i-th variable. */
static inline sc_variable *sc_layer_var(const sc_layer *L, size_t i) {
    return &L->model->vars[L->first_var + i];
}

/* Layer registry: the ops for a Keras class_name, or NULL. */
const sc_layer_ops *sc_layer_lookup(const char *class_name);

/* Config helpers: a missing key gives the default; a present key of the wrong type is an
 * error naming the layer and the key. */
/* Bounds on shapes from a model's JSON (untrusted): a dimension below 2^31, a tensor of at most
 * 2^40 elements per example. sc_shape_elems returns -1 for a negative dimension or an
 * overflowing product; sc_check_shape fails with INVALID_ARGUMENT naming the layer. */
#define SC_MAX_DIM   ((int64_t)1 << 31)
#define SC_MAX_ELEMS ((int64_t)1 << 40)
sc_status sc_check_shape(const sc_layer *L, const sc_shape *s, sc_error *err);

sc_status sc_cfg_int(const sc_layer *L, const json_t *cfg, const char *key, int64_t def,
                     int64_t *out, sc_error *err);
sc_status sc_cfg_bool(const sc_layer *L, const json_t *cfg, const char *key, int def, int *out,
                      sc_error *err);
sc_status sc_cfg_double(const sc_layer *L, const json_t *cfg, const char *key, double def,
                        double *out, sc_error *err);
/* An int or a list of n ints ("kernel_size": 3 or [3, 3]). */
sc_status sc_cfg_ints(const sc_layer *L, const json_t *cfg, const char *key, int n,
                      const int64_t *def, int64_t *out, sc_error *err);
/* A string option; *out points into cfg. */
sc_status sc_cfg_str(const sc_layer *L, const json_t *cfg, const char *key, const char *def,
                     const char **out, sc_error *err);
/* The `activation` option (a name or a serialized object) into L->act. */
sc_status sc_cfg_activation(sc_layer *L, const json_t *cfg, sc_error *err);
/* Any activation-valued option (`recurrent_activation`) into *out; def when absent or null. */
sc_status sc_cfg_activation_key(const sc_layer *L, const json_t *cfg, const char *key,
                                const char *def, sc_activation *out, sc_error *err);
/* Rejects data_format other than channels_last. */
sc_status sc_cfg_channels_last(const sc_layer *L, const json_t *cfg, sc_error *err);

int64_t sc_shape_elems(const sc_shape *s);
/* Same rank and dimensions (unused dims[] entries are ignored). */
int sc_shape_equal(const sc_shape *a, const sc_shape *b);
/* "[28,28,1]" into buf. */
const char *sc_shape_str(const sc_shape *s, char *buf, size_t cap);

#endif
