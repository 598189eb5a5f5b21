/* sidecar/compile.h — Keras' compile arguments (loss and metrics) as sidecar loss and metric
 * objects, for one dataset of a single-output model.
 *
 * Two sources (DESIGN §4):
 *   - `--loss L --metrics M1,M2`: names, resolved as Keras' compile resolves strings
 *     (sc_metric_from_string; "accuracy"/"acc" by the shapes, FORMATS §9.2);
 *   - `--compile FILE`: JSON, either what `model.get_compile_config()` returns
 *     {"optimizer", "loss", "loss_weights", "metrics", "weighted_metrics", "run_eagerly",
 *      "steps_per_execution", "jit_compile", ...}
 *     or a whole model config holding it under "compile_config" (a .keras archive's config.json,
 *     FORMATS §7.3). "compile_config" at the top level is looked for first.
 *
 *   sc_compile_shapes cs = {.pred_rank = 2, .pred_last_dim = 10, .true_rank = 1,
 *                           .true_last_dim = 1, .keras_version = 3};
 *   sc_compiled c;
 *   if (sc_compile_from_json(text, len, "compile.json", &cs, &c, &err) != SC_OK) ...;
 *   ... c.loss, c.metrics[0 .. c.num_metrics) ...
 *   sc_compiled_clear(&c);
 *
 * Loss: a string ("sparse_categorical_crossentropy", "mse", a class name; Keras 3 also
 * "crossentropy"/"ce", resolved by the shapes), or a serialized object: the envelope
 * {"module": "keras.losses", "class_name": ..., "config": {...}, "registered_name": null}
 * (Keras 2.13+ and 3), the old {"class_name", "config"} form, or a function
 * {"class_name": "function", "config": "<name>"} (Keras 3). A list or dict holding exactly one
 * loss is that loss; more (a multi-output model) is SC_UNIMPLEMENTED. Config keys: name,
 * reduction ("auto", "sum_over_batch_size", "mean", "sum", "mean_with_sample_weight"),
 * from_logits, label_smoothing, ignore_class, delta, axis (-1 only), fn, dtype (float32 only).
 * loss_weights must be null or 1 (one output); another weight is SC_UNIMPLEMENTED, because
 * sc_eval_dataset has no place for it.
 *
 * Metrics: a list of strings and/or serialized objects (null entries skipped); a single entry
 * without the list; a list holding one list, or a dict with one key (Keras 3's per-output forms
 * for one output). The config keys of each class map onto sc_metric_spec:
 *   name; dtype (null, "float32" or a DTypePolicy named "float32"); fn (ignored: the class says
 *   it); thresholds (a number, a list, or null = default); threshold; top_k; class_id;
 *   num_thresholds; curve ("ROC"/"PR"); summation_method ("interpolation", "minoring",
 *   "majoring"); multi_label; num_labels (null with multi_label: the prediction's last dim);
 *   label_weights; from_logits; label_smoothing; k; num_classes; ignore_class; sparse_y_true;
 *   sparse_y_pred; beta; average (null, "micro", "macro", "weighted"); recall / precision /
 *   specificity / sensitivity (the *At* targets); class_aggregation ("uniform_average",
 *   "variance_weighted_average", null); num_regressors; axis (-1 only); from_sorted_ids (false
 *   only). F1Score, FBetaScore and R2Score take their class count from pred_last_dim (Keras
 *   builds them from the first batch).
 *
 * Names (FORMATS §9.6): a string is named by itself ("accuracy"), an object by its config's
 * name (else the class' default). An entry of weighted_metrics whose name is already taken is
 * renamed "weighted_<name>" (Keras 3; Keras 2 does the same when the name is in `metrics`). Then
 * names that are still equal get "_1", "_2", ... in order (sc_metric_names_uniquify: Keras 3
 * does this; Keras 2 names instances uniquely when they are created, so its configs already
 * carry distinct names).
 *
 * Sample weights: Keras passes the dataset's sample weights only to weighted_metrics (and the
 * loss); `weighted` records which list each metric came from, for a caller that does the same.
 *
 * Errors name the file (or "--loss"/"--metrics"), the entry ("metrics[2] (AUC)") and the key:
 *   SC_INVALID_ARGUMENT: not JSON, a value of the wrong type or out of range, an identifier
 *     that needs shapes that are not given;
 *   SC_UNIMPLEMENTED: a valid Keras class or option sidecar does not reproduce (an unknown
 *     class, a custom object, a config key it does not know, dtype other than float32,
 *     axis != -1, several outputs);
 *   SC_NOT_FOUND: a model config without a compile config (saved before compile()), or an
 *     empty one;
 *   SC_NO_MEMORY.
 */
#ifndef SIDECAR_COMPILE_H
#define SIDECAR_COMPILE_H

#include <stddef.h>
#include <stdint.h>

#include "sidecar/metrics.h"
#include "sidecar/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What the evaluator needs for one dataset. Owns everything; sc_compiled_clear frees it. */
typedef struct sc_compiled {
    sc_loss *loss;       /* NULL when no loss was given */
    sc_metric **metrics; /* [num_metrics], names unique (auc, auc_1) */
    size_t num_metrics;
    unsigned char *weighted; /* [num_metrics]: 1 for an entry of weighted_metrics */
    /* A model with several outputs (sc_compile_from_json_outputs, n > 1); `loss` is then NULL
     * and the metrics are named "<output>_<metric>" (Keras 2.15). */
    size_t num_outputs;    /* 0 for the single-output form */
    sc_loss **losses;      /* [num_outputs]; NULL entries: no loss for that output */
    double *loss_weights;  /* [num_outputs]; compile's loss_weights, 1 when not given */
    size_t *metric_output; /* [num_metrics]: the output each metric reads */
} sc_compiled;

/* The model output and the labels, for the identifiers that depend on them ("accuracy", "acc",
 * Keras 2 "crossentropy"/"ce" metrics, Keras 3 "crossentropy"/"ce" loss) and for the classes
 * that size themselves from the prediction (F1Score, FBetaScore, R2Score, AUC multi_label
 * without num_labels). Ranks include the batch dim; pred_rank 0 = unknown. Start from a zeroed
 * struct. */
typedef struct sc_compile_shapes {
    int pred_rank;
    int64_t pred_last_dim;
    int true_rank;
    int64_t true_last_dim;
    int keras_version;        /* 2 or 3 (sc_model_keras_version); 0 means 2 */
    sc_keras_backend backend; /* Keras 3 only; default TensorFlow */
} sc_compile_shapes;

/* From `--loss` and `--metrics`. loss: one identifier, or NULL/"" for none. metrics_csv:
 * comma-separated identifiers (spaces around them ignored), or NULL/"" for none. An empty item
 * ("acc,,mse") is SC_INVALID_ARGUMENT. On failure *out is left empty. */
sc_status sc_compile_from_names(const char *loss, const char *metrics_csv,
                                const sc_compile_shapes *shapes, sc_compiled *out, sc_error *err);

/* From JSON text (len bytes, need not be NUL-terminated). name is the file, for messages (NULL:
 * "compile config"). On failure *out is left empty. */
sc_status sc_compile_from_json(const char *json, size_t len, const char *name,
                               const sc_compile_shapes *shapes, sc_compiled *out, sc_error *err);

/* The same for a model with n outputs (n >= 1; n == 1 is sc_compile_from_json): shapes[o] and
 * outputs[o] (the output layer names) per output. Keras 2 `compile` forms: `loss` one entry
 * (applied to every output), a list of n, or a dict by output name (a missing output has no
 * loss); `loss_weights` a list of n or a dict (missing: 1); `metrics`/`weighted_metrics` a flat
 * list (applied to every output), a list of n lists, or a dict by output name. */
sc_status sc_compile_from_json_outputs(const char *json, size_t len, const char *name,
                                       const sc_compile_shapes *shapes, const char *const *outputs,
                                       size_t n, sc_compiled *out, sc_error *err);

/* Frees the loss and the metrics and zeroes c. A zeroed or already cleared c is fine. */
void sc_compiled_clear(sc_compiled *c);

#ifdef __cplusplus
}
#endif
#endif
