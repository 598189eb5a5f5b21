/* tests/support/app_weights.h — the seeded weights of the keras.applications references
 * (tests/golden/applications/<model>/weights.json, written by
 * scripts/applications/make_reference.py), regenerated bit for bit: the same counter-based
 * generator as the Python side (lowbias32 of the element index, keyed by FNV-1a of the seed
 * string; w = float32(center + amplitude * t), t in [-1, 1) exact). Every helper fails the
 * running cmocka test on error. */
#ifndef SC_TESTS_APP_WEIGHTS_H
#define SC_TESTS_APP_WEIGHTS_H

#include <stddef.h>
#include <stdint.h>

#include "sidecar/dtype.h"

typedef struct app_var {
    char *layer;        /* the Keras layer name */
    char *name;         /* the attribute: kernel, gamma, moving_variance, count, ... */
    char *ckpt_key;     /* layer_with_weights-K/<name>/.ATTRIBUTES/VARIABLE_VALUE */
    char *h5_path;      /* layers/<layer>/vars/<i> */
    int layer_with_weights; /* K */
    sc_dtype dtype;     /* SC_DT_FLOAT or SC_DT_INT64 */
    int rank;
    int64_t shape[4];
    void *data;         /* float32 values, or one int64 */
    size_t size;        /* bytes */
} app_var;

typedef struct app_weights {
    app_var *vars;
    size_t n;
    size_t total_values;
    int num_layers;    /* len(model.layers), the InputLayer included */
    int *layer_index;  /* [K]: N of layer_with_weights-K in model.layers */
    int num_weighted;  /* K count */
} app_weights;

/* Reads weights.json and generates every variable. */
app_weights *app_weights_load(const char *weights_json);
void app_weights_free(app_weights *w); /* NULL is fine */

/* The generator itself (exposed for a known-value check): element i of the stream `seed`. */
float app_weights_value(const char *seed, double center, double amplitude, uint32_t i);

/* Writes the weights as Keras 2 writes a Functional model into a TF checkpoint through the
 * object graph (FORMATS §3.1-3.2): the model's children are, per layer in model.layers order,
 * `layer_with_weights-K` (layers with weights) then `layer-N` (every layer, N counting all
 * layers from the InputLayer); each layer's variables in creation order (Normalization's mean
 * and variance also under their attribute names adapt_mean, adapt_variance, as Keras 2 tracks
 * them). manager=0: model.save_weights(prefix) (the root is the model); manager=1:
 * tf.train.Checkpoint(model=..., optimizer=...) via CheckpointManager (root children `model`,
 * `optimizer` (Keras 2.11+ Adam, step 7, never applied), `save_counter`). */
void app_weights_write_ckpt(const app_weights *w, const char *prefix, int manager);
/* Writes them as a Keras 3 style .weights.h5 (layers/<layer>/vars/<i>). */
void app_weights_write_h5(const app_weights *w, const char *path);

#endif
