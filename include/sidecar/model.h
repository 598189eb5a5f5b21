/* sidecar/model.h — a Keras model in C: config -> graph, named variables, planned forward pass.
 *
 * Life cycle:
 *   sc_model *m;  sc_model_load_keras_json(json, len, "model.json", &m, &err);   // architecture
 *   sc_model_bind_bundle(m, bundle, &report, &err);                          // weights (per checkpoint)
 *   sc_runner *r; sc_runner_create(m, max_batch, &r, &err);                  // plans all memory once
 *   sc_runner_run(r, batch, inputs, &err); sc_runner_output(r, 0) ...        // no allocation per batch
 *
 * Tensors are float32, batch-major, channels-last (NHWC), row-major. Shapes exclude the batch
 * dimension unless said otherwise. The model owns one buffer per variable, sized from the config;
 * binding the next checkpoint overwrites those buffers in place, so evaluating checkpoint after
 * checkpoint allocates nothing new.
 *
 * Errors: a layer class or option the engine does not implement is SC_UNIMPLEMENTED naming the
 * layer's name, its class_name and the option; a config that contradicts itself (unknown inbound
 * layer, incompatible shapes) is SC_INVALID_ARGUMENT naming the layer.
 */
#ifndef SIDECAR_MODEL_H
#define SIDECAR_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "sidecar/checkpoint.h"
#include "sidecar/safetensors.h"
#include "sidecar/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SC_MAX_DIMS 8

typedef struct sc_shape {
    int rank; /* dimensions excluding the batch */
    int64_t dims[SC_MAX_DIMS];
} sc_shape;

typedef struct sc_model sc_model;

/* Parses Keras model JSON (`model.to_json()` of Keras 2 or 3, or a .keras archive's
 * config.json): Sequential or Functional. name is used in messages. */
sc_status sc_model_load_keras_json(const char *json, size_t len, const char *name, sc_model **out,
                                   sc_error *err);
/* Reads a model JSON file, or the config.json of a Keras 3 `.keras` archive. */
sc_status sc_model_load_keras(const char *path, sc_model **out, sc_error *err);
void sc_model_free(sc_model *m); /* NULL is fine */

const char *sc_model_name(const sc_model *m);
/* 2 or 3: which Keras wrote the config (hard_sigmoid and the loss conventions differ). */
int sc_model_keras_version(const sc_model *m);
size_t sc_model_num_layers(const sc_model *m);

/* Inputs and outputs, in the model's order. An input dimension declared null
 * (batch_input_shape [null, null]: a sequence of any length) is -1 in sc_model_input_shape; the
 * output shapes are those of the last sc_model_set_input_shapes (before any: the free dims at a
 * placeholder size). */
size_t sc_model_num_inputs(const sc_model *m);
size_t sc_model_num_outputs(const sc_model *m);
const char *sc_model_input_name(const sc_model *m, size_t i); /* the InputLayer's name */
sc_shape sc_model_input_shape(const sc_model *m, size_t i);
const char *sc_model_output_name(const sc_model *m, size_t i); /* the producing layer's name */
sc_shape sc_model_output_shape(const sc_model *m, size_t i);
/* The activation applied last by the layer producing output i ("softmax", "sigmoid", "linear",
 * ...): losses use it for Keras' logits shortcut (FORMATS §9.5). */
const char *sc_model_output_activation(const sc_model *m, size_t i);

/* 1 when some input dimension is free (null in the config). */
int sc_model_has_free_dims(const sc_model *m);

/* The per-example shapes of the inputs the next runs get ([num_inputs], no batch dim): each
 * free dimension takes the given size, fixed ones must equal it. Every layer's shapes are
 * inferred again and runners re-plan their memory on their next run (allocating only when the
 * new shapes need more than they hold). Unchanged shapes: nothing is done. A shape that does
 * not fit is SC_INVALID_ARGUMENT naming the input layer and both shapes; a layer that cannot
 * take the new shape, the layer (the previous shapes stay in force). Not to be called while a
 * runner of this model runs. */
sc_status sc_model_set_input_shapes(sc_model *m, const sc_shape *shapes, sc_error *err);

/* ---- a model written in C --------------------------------------------------------------- */

/* A model whose forward pass is a C function: it plugs into binding, the runner and the
 * evaluator exactly like a Keras-config model. Its variables are named by their checkpoint path,
 * as a subclassed Keras model's attributes are: "dense1/kernel" binds to the TF checkpoint key
 * "[model/]dense1/kernel/.ATTRIBUTES/VARIABLE_VALUE" and to the safetensors key
 * "dense1/kernel". */
typedef struct sc_custom_model_params {
    const char *name;
    size_t num_inputs;              /* >= 1 */
    const char *const *input_names; /* [num_inputs], or NULL: "x", "x1", ... */
    const sc_shape *input_shapes;   /* [num_inputs], per example */
    sc_shape output_shape;          /* per example */
    /* "linear" (NULL), or "softmax"/"sigmoid": then forward writes the values before the
     * activation, the runner applies it and keeps those logits for the losses' logits shortcut,
     * as TensorFlow does for a Keras output layer with that activation. */
    const char *output_activation;
    size_t num_variables;
    const char *const *variable_names; /* [num_variables] checkpoint paths, "dense1/kernel" */
    const sc_shape *variable_shapes;   /* [num_variables] */
    size_t scratch_floats;             /* scratch per example the forward may use */
    /* output[batch x output_shape] = f(inputs, variables). Must not allocate; may fail only on
     * bad input values (fill err). variables[i] has the bound values of variable i. */
    sc_status (*forward)(void *user, int batch, const float *const *inputs,
                         const float *const *variables, float *output, float *scratch,
                         sc_error *err);
    void *user;
} sc_custom_model_params;

/* Copies the params (names, shapes); user is borrowed. */
sc_status sc_model_create_custom(const sc_custom_model_params *p, sc_model **out, sc_error *err);

/* ---- variables -------------------------------------------------------------------------- */

typedef struct sc_variable {
    const char *layer;      /* layer name, e.g. "dense_1" */
    const char *name;       /* Keras variable name: "kernel", "bias", "gamma", "moving_mean", ... */
    int index;              /* position in the layer's weights list (Keras order) */
    int layer_with_weights; /* K of `layer_with_weights-K` in a TF checkpoint; -1 for a model
                                written in C, whose variable `name` is its checkpoint path */
    const char *h5_group;   /* Keras 3 .weights.h5 group under layers/: "dense", "dense_1" */
    size_t layer_index;     /* the layer's position in the model (sc_model_num_layers order) */
    sc_shape shape;         /* full shape (variables have no batch dimension) */
    int64_t num_elements;
    float *data;        /* owned by the model */
    int bound;          /* set by the last successful bind */
    const char *h5_sub; /* Keras 3 .weights.h5 object below the layer's group that holds
                                the variable ("cell", "forward_layer/cell", "layer"); NULL = the
                                layer itself. Points to static text. */
    int h5_index;       /* the variable's position in that object's vars (= index when
                                h5_sub is NULL) */
} sc_variable;

size_t sc_model_num_variables(const sc_model *m);
/* Writing a variable's data is allowed between forward passes: runners reorder the weights
 * into the engine's layout again on their next pass after either accessor was called (and after
 * every bind). Keep no pointer from before a run and write through it after. */
sc_variable *sc_model_variable(sc_model *m, size_t i);
/* The variable "layer/name", or NULL. */
sc_variable *sc_model_find_variable(sc_model *m, const char *layer, const char *name);

/* ---- binding weights -------------------------------------------------------------------- */

/* Which checkpoint key each variable took, and what was left over. Owned by the caller:
 * sc_bind_report_clear frees it. */
typedef struct sc_bind_entry {
    char *variable; /* "layer/name" */
    char *key;      /* checkpoint key, or NULL when missing */
} sc_bind_entry;

typedef struct sc_bind_report {
    sc_ckpt_layout layout;
    sc_bind_entry *entries; /* one per model variable, in variable order */
    size_t num_entries;
    char **unused_keys; /* model-like keys of the checkpoint no variable took (optimizer
                                   slots and bookkeeping are not listed) */
    size_t num_unused;
    /* TF checkpoints with an object graph: where the model was found (its first breadth-first
     * path: "" the root, "model", "net", ...), NULL when bound by key strings alone; and each
     * variable's graph node id ([num_entries], -1 unknown), for sc_step_params.model_nodes. */
    char *model_root;
    int32_t *var_nodes;
} sc_bind_report;

void sc_bind_report_clear(sc_bind_report *r);

/* Copies every variable's value from a TensorFlow checkpoint, converting float16/bfloat16/
 * float64 to float32. Finds the layout itself: keys under `model/` (CheckpointManager) or at the
 * root (Keras ModelCheckpoint / save_weights). A missing variable is SC_NOT_FOUND naming it and
 * the key tried; a shape mismatch is SC_INVALID_ARGUMENT naming the layer, the variable, the
 * expected and the found shape. On failure the model's previous weights may be partly
 * overwritten: do not evaluate until a bind succeeds. report may be NULL. */
sc_status sc_model_bind_bundle(sc_model *m, sc_bundle *b, sc_bind_report *report, sc_error *err);

typedef struct sc_bind_params {
    /* Where the model is: an object-graph path from the root ("net", "trainer/model"; "" = the
     * root), or, in a checkpoint without a graph, the key prefix before layer_with_weights-K.
     * NULL (default): found. */
    const char *model_root;
} sc_bind_params;

/* sc_model_bind_bundle, finding the model through the object graph when the checkpoint has one
 * (FORMATS §3.7): the object whose subtree holds every one of the model's variables, under any
 * name (tf.train.Checkpoint(net=model), a SavedModel's root), each variable taken by walking
 * the model's structure in the graph, so keys such as SavedModel's `trainable_variables/0` bind
 * too. Two objects that both hold them all: SC_INVALID_ARGUMENT naming both (give
 * p->model_root). When no object holds them all, binding falls back to key strings (and its
 * messages). p may be NULL. */
sc_status sc_model_bind_bundle_ex(sc_model *m, sc_bundle *b, const sc_bind_params *p,
                                  sc_bind_report *report, sc_error *err);

/* The same from a safetensors file keyed "<layer>/vars/<i>" (the Keras 3 .weights.h5 path, i =
 * the variable's index in the layer) or "<layer>/<name>" (Keras 3 variable.path). */
sc_status sc_model_bind_safetensors(sc_model *m, sc_safetensors *st, sc_bind_report *report,
                                    sc_error *err);

/* The same from a Keras 3 `.weights.h5` (a file, or the weights of a `.keras` archive): the
 * variable i of a layer is `layers/<group>/vars/<i>`, group = snake_case of the class made
 * unique ("dense", "dense_1"), FORMATS §7.1. */
struct sc_h5weights;
sc_status sc_model_bind_h5weights(sc_model *m, struct sc_h5weights *h, sc_bind_report *report,
                                  sc_error *err);
/* The same from a Keras 2 legacy HDF5 file (FORMATS §7.4/§7.5): model.save("m.h5") (weights
 * under model_weights/) or save_weights("w.h5") (at the root). A variable of layer L (top-level
 * ancestor T) is "<root>T/L/<var>:0", else the one dataset in T's group ending in "/L/<var>"
 * (":0" optional), else, for a top-level layer, the one ending in "/<var>". Layer names are the
 * model config's; the file's scope names in between are not checked. */
sc_status sc_model_bind_h5legacy(sc_model *m, struct sc_h5weights *h, sc_bind_report *report,
                                 sc_error *err);

/* ---- running ---------------------------------------------------------------------------- */

typedef struct sc_runner sc_runner;

/* Plans activation memory for batches of up to max_batch examples: one arena, buffers reused
 * once their last reader has run. Several runners may share one model (one per thread). After
 * sc_model_set_input_shapes changed the shapes, the next run re-plans (the only time a run may
 * allocate: when the new shapes need a bigger arena). */
sc_status sc_runner_create(const sc_model *m, int max_batch, sc_runner **out, sc_error *err);
void sc_runner_free(sc_runner *r);

/* Runs the model on batch (1..max_batch) examples. inputs[i] points at input i's data,
 * batch x sc_model_input_shape(i) floats. Allocates nothing. */
sc_status sc_runner_run(sc_runner *r, int batch, const float *const *inputs, sc_error *err);

/* Output i of the last run: batch x sc_model_output_shape(i) floats, valid until the next run. */
const float *sc_runner_output(const sc_runner *r, size_t i);
/* The output of layer i's pre-activation value when the layer ends in an activation, for
 * Keras' logits shortcut; NULL when not kept. */
const float *sc_runner_output_logits(const sc_runner *r, size_t i);
/* The Keras mask of output i of the last run (Embedding(mask_zero=True) or Masking upstream,
 * passed on as Keras 2 passes it): one value per row, batch x (elements of the output shape /
 * its last dimension) floats, 1 = keep, 0 = masked; NULL when the output carries no mask. Keras
 * uses it as a sample weight of the losses and metrics (sc_metric_batch.mask). */
const float *sc_runner_output_mask(const sc_runner *r, size_t i);
/* Bytes of the activation arena (for reporting memory use). */
size_t sc_runner_arena_bytes(const sc_runner *r);

/* The compute engine's side of a runner (include/sidecar/engine.h). */
typedef struct sc_runner_stats {
    int engine_nodes;        /* nodes run as oneDNN primitives (Dense, convolutions, pooling) */
    int fused_activations;   /* of those, activations applied as primitive post-ops */
    int blocked_edges;       /* convolution/pooling outputs kept in oneDNN's nChw16c layout */
    int winograd_nodes;      /* Conv2Ds running oneDNN's Winograd kernel */
    size_t scratchpad_bytes; /* oneDNN's shared scratchpad (the largest primitive's need) */
    size_t weights_bytes;    /* weights reordered into oneDNN's layout (copies beside the
                                 model's variables) */
    size_t conversion_bytes; /* private buffers of layout conversions around convolutions
                                 whose edges mix plain and blocked layouts */
    double cold_seconds;     /* primitive creation + weight reorders of the last run that did
                                 any: the cold path from a bound checkpoint to its first batch */
    double cold_cpu_seconds; /* the same in process CPU time (all threads) */
    int cold_primitives;     /* primitives created in that run */
    int cold_reorders;       /* weight reorders in that run */
    int folded_norms;        /* BatchNormalizations folded into the weights of the layer
                                 before them (counted in weights_bytes) */
} sc_runner_stats;
void sc_runner_stats_get(const sc_runner *r, sc_runner_stats *out);

#ifdef __cplusplus
}
#endif
#endif
