/* sidecar/metrics.h — Keras metrics and losses, with the numbers `model.evaluate` reports.
 *
 * Reference: tf.keras 2.15 (Keras 2 on TensorFlow); Keras 3 differences are selected with
 * keras_version = 3 and backend. Definitions: docs/FORMATS.md §9.
 *
 * A metric is a state object: update it batch by batch, read its result, reset it, and merge the
 * states of several shards (threads, processes) into one. Every state is a set of additive float32
 * accumulators (as Keras keeps them), so merging shards gives the single-pass result: exactly for
 * counts, to float32 rounding for sums of non-integers.
 *
 *   sc_metric_spec s = sc_metric_default_spec("AUC");
 *   s.curve = SC_AUC_PR;
 *   sc_metric *m; if (sc_metric_create(&s, &m, &err) != SC_OK) ...;
 *   for each batch: sc_metric_update(m, &batch, &err);
 *   sc_metric_result(m, &value, &err);    // "auc" = value
 *   sc_metric_free(m);
 *
 * Shapes. A batch holds B samples. Labels and predictions are float32, row-major, with per-sample
 * dims given explicitly (the batch dim is not part of *_dims). Sparse labels are class ids stored
 * as floats. Before a metric sees them, labels and predictions are aligned as Keras' compile
 * container does: labels of shape [B] against predictions [B, N] become [B, 1]; then a trailing
 * dim of 1 on the side with one more dim is squeezed. Metrics reduce over the last axis; samples
 * with several rows (e.g. [B, T, C]) contribute one value per row, each with the sample's weight.
 *
 * Threads: distinct objects may be used from distinct threads; one object is not thread-safe.
 * Updates never allocate: every state and scratch buffer is sized by sc_metric_create.
 *
 * Errors: an unknown class or an invalid option is SC_INVALID_ARGUMENT at create (allocation
 * failure SC_NO_MEMORY); shapes that do not align, sparse labels outside [0, classes) (crossentropy,
 * MeanIoU), predictions outside [0, 1] for the confusion metrics with keras_version 2 (Keras 2
 * asserts that too), a non-finite sample weight, or a class count differing from the one given at
 * create are SC_INVALID_ARGUMENT at update, and the state is left unchanged.
 *
 * Keras 3 differences selected by keras_version = 3: binary crossentropy without the +1e-7 inside
 * the logs; default name "kl_divergence"; no [0, 1] assertion in the confusion metrics;
 * "crossentropy"/"ce" compile strings are not resolved; with backend = SC_BACKEND_JAX the sparse
 * crossentropy normalizes, then clips (FORMATS §9.5).
 *
 * Not reproduced: Keras 2 metrics on labels and predictions that are both rank 1 ([B] and [B]),
 * where Keras averages over the batch axis and counts the batch as one value (we count B values);
 * Keras 2 rejects per-sample weights for MeanIoU on labels of rank > 1 (we broadcast them).
 */
#ifndef SIDECAR_METRICS_H
#define SIDECAR_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "sidecar/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SC_METRIC_NAME_MAX 128 /* bytes, including the NUL */
#define SC_METRIC_MAX_RANK 8   /* per-sample dims */

/* ---------------------------------------------------------------------------------------------
 * A batch, shared by metrics and losses
 * ------------------------------------------------------------------------------------------- */
typedef struct sc_metric_batch {
    size_t batch;             /* B; 0 is a no-op */
    const float *y_true;      /* [B, true_dims...] */
    int true_rank;            /* per-sample rank, 0 .. SC_METRIC_MAX_RANK */
    const int64_t *true_dims; /* [true_rank]; may be NULL when true_rank is 0 */
    const float *y_pred;      /* [B, pred_dims...] */
    int pred_rank;
    const int64_t *pred_dims;
    const float *sample_weight; /* [B], or NULL for all 1 */
    /* Optional: the values before the model's final softmax/sigmoid, same shape as y_pred.
     * Keras on TensorFlow computes every crossentropy from these when the output tensor came
     * straight out of a softmax or sigmoid (FORMATS §9.5: no clipping, exact logits formulas,
     * from_logits ignored). Pass them exactly when that applies; NULL otherwise. */
    const float *logits;
    /* Optional: the Keras mask of y_pred (sc_runner_output_mask), one value per row: B x
     * (elements of pred_dims / its last dim), 1 = keep, 0 = masked; NULL = none. As Keras 2.15
     * uses a prediction's mask (compile_utils, losses_utils.apply_mask / apply_valid_mask): a
     * row's weight is sample_weight x mask; a loss with reduction sum_over_batch_size divides
     * the weighted sum by the number of unmasked rows (NaN when every row is masked, as Keras);
     * a metric counts the weights of the unmasked rows. The rows must be those the labels align
     * to (else SC_INVALID_ARGUMENT, where Keras fails too). The evaluator passes it for every
     * loss and metric; an unweighted metric gets the mask alone (sample_weight NULL). */
    const float *mask;
} sc_metric_batch;

/* ---------------------------------------------------------------------------------------------
 * Metric specs
 * ------------------------------------------------------------------------------------------- */
typedef enum sc_keras_backend {
    SC_BACKEND_TENSORFLOW = 0,
    SC_BACKEND_JAX = 1 /* also numpy and torch: Keras 3 sparse CE normalizes, then clips */
} sc_keras_backend;

typedef enum sc_auc_curve { SC_AUC_ROC = 0, SC_AUC_PR = 1 } sc_auc_curve;
typedef enum sc_auc_summation {
    SC_AUC_INTERPOLATION = 0, /* trapezoids (ROC), Davis-Goadrich (PR) */
    SC_AUC_MINORING = 1,
    SC_AUC_MAJORING = 2
} sc_auc_summation;
typedef enum sc_f_average {
    SC_F_AVERAGE_NONE = 0, /* one score per class: sc_metric_result_vector */
    SC_F_AVERAGE_MICRO = 1,
    SC_F_AVERAGE_MACRO = 2,
    SC_F_AVERAGE_WEIGHTED = 3
} sc_f_average;
typedef enum sc_r2_aggregation {
    SC_R2_UNIFORM_AVERAGE = 0,
    SC_R2_VARIANCE_WEIGHTED_AVERAGE = 1,
    SC_R2_NONE = 2 /* one score per output: sc_metric_result_vector */
} sc_r2_aggregation;

/* Which options a class reads is listed beside each; the rest are ignored. Start from
 * sc_metric_default_spec(class_name), which sets the Keras defaults. */
typedef struct sc_metric_spec {
    /* Keras class_name: Accuracy, BinaryAccuracy, CategoricalAccuracy, SparseCategoricalAccuracy,
     * TopKCategoricalAccuracy, SparseTopKCategoricalAccuracy, BinaryCrossentropy,
     * CategoricalCrossentropy, SparseCategoricalCrossentropy, MeanSquaredError,
     * MeanAbsoluteError, MeanAbsolutePercentageError, MeanSquaredLogarithmicError,
     * RootMeanSquaredError, R2Score, LogCoshError, Hinge, SquaredHinge, CategoricalHinge,
     * KLDivergence, Poisson, CosineSimilarity, AUC, Precision, Recall, TruePositives,
     * FalsePositives, TrueNegatives, FalseNegatives, PrecisionAtRecall, RecallAtPrecision,
     * SensitivityAtSpecificity, SpecificityAtSensitivity, F1Score, FBetaScore, MeanIoU, Mean. */
    const char *class_name;
    const char *name;         /* log name (copied); NULL: Keras' default for the class */
    int keras_version;        /* 2 (default) or 3 */
    sc_keras_backend backend; /* Keras 3 only */

    float threshold;             /* BinaryAccuracy (0.5); F1Score/FBetaScore (NAN = None: the
                                    row maximum is the positive class) */
    const float *thresholds;     /* Precision, Recall, TruePositives..FalseNegatives: default
                                    {0.5}; AUC: explicit inner thresholds (NULL: evenly spaced) */
    size_t num_threshold_values; /* several thresholds give a vector result */
    int top_k;                   /* Precision/Recall: 0 = off */
    int class_id;                /* Precision, Recall, *At* metrics: -1 = off */
    int num_thresholds;          /* AUC and the *At* metrics: 200 */
    sc_auc_curve curve;
    sc_auc_summation summation_method;
    int multi_label;            /* AUC: one AUC per label column, then averaged */
    int num_labels;             /* AUC: label columns; required with multi_label or
                                    label_weights */
    const float *label_weights; /* AUC: [num_labels] or NULL */
    int from_logits;            /* AUC, crossentropy metrics */
    float label_smoothing;      /* BinaryCrossentropy, CategoricalCrossentropy */
    int k;                      /* top-k accuracies: 5 */
    int num_classes;            /* MeanIoU, F1Score, FBetaScore (classes), R2Score (outputs) */
    int sparse_y_true;          /* MeanIoU: 1 (class ids); 0: one-hot, argmax taken */
    int sparse_y_pred;          /* MeanIoU: 1 (class ids); 0: scores, argmax taken */
    int has_ignore_class;       /* MeanIoU, SparseCategoricalCrossentropy */
    int ignore_class;
    float beta;           /* FBetaScore: 1 */
    sc_f_average average; /* F1Score/FBetaScore: NONE */
    float target;         /* PrecisionAtRecall (recall), RecallAtPrecision (precision),
                                    SensitivityAtSpecificity (specificity),
                                    SpecificityAtSensitivity (sensitivity) */
    sc_r2_aggregation class_aggregation; /* R2Score */
    int num_regressors;                  /* R2Score: 0 */
} sc_metric_spec;

/* Keras defaults for class_name (the pointer is stored, not copied). */
sc_metric_spec sc_metric_default_spec(const char *class_name);

typedef struct sc_metric sc_metric;

/* Creates an empty metric. Arrays in the spec are copied. */
sc_status sc_metric_create(const sc_metric_spec *spec, sc_metric **out, sc_error *err);
void sc_metric_free(sc_metric *m); /* NULL is fine */

/* Compile-string identifiers ("accuracy", "acc", "mse", "mae", "auc", "binary_crossentropy",
 * "ce", "MeanSquaredError", ...), resolved as Keras' compile does. "accuracy"/"acc" (and, Keras
 * 2 only, "crossentropy"/"ce") depend on the shapes (FORMATS §9.2): pred_last_dim == 1 gives the
 * binary metric; label rank < prediction rank, or a label last dim of 1 against a prediction
 * last dim > 1, gives the sparse one; else the categorical one. Ranks include the batch dim.
 * When the shapes are unknown (pred_rank 0), loss_name ("binary_crossentropy", ...) decides.
 * The metric is named by the string itself, except a CamelCase class name, which gives the
 * class' default name. num_classes is taken from pred_last_dim where a class needs it. */
typedef struct sc_metric_shapes {
    int pred_rank; /* including the batch dim; 0 = unknown */
    int64_t pred_last_dim;
    int true_rank;
    int64_t true_last_dim;
} sc_metric_shapes;

sc_status sc_metric_from_string(const char *identifier, const sc_metric_shapes *shapes,
                                const char *loss_name, int keras_version, sc_metric **out,
                                sc_error *err);

/* Adds a batch. For "Mean", every element of y_pred is a value (with its sample's weight) and
 * y_true is ignored. */
sc_status sc_metric_update(sc_metric *m, const sc_metric_batch *batch, sc_error *err);

/* Mean only: adds n values with their weights (NULL: 1). The evaluate "loss" is a Mean named
 * "loss" updated once per batch with the batch loss and weight = batch size (FORMATS §9.1). */
sc_status sc_metric_update_values(sc_metric *m, const float *values, const float *weights, size_t n,
                                  sc_error *err);

/* Number of values in the result: 1, or the classes/thresholds/outputs for vector results. */
size_t sc_metric_result_size(const sc_metric *m);
/* The scalar result (computed in float32 as Keras does, returned widened). A vector result
 * (sc_metric_result_size > 1) is SC_INVALID_ARGUMENT. */
sc_status sc_metric_result(const sc_metric *m, double *out, sc_error *err);
/* Writes sc_metric_result_size(m) values. */
void sc_metric_result_vector(const sc_metric *m, double *out);

void sc_metric_reset(sc_metric *m);
/* dst += src. Both must come from equal specs: otherwise SC_INVALID_ARGUMENT, dst unchanged. */
sc_status sc_metric_merge(sc_metric *dst, const sc_metric *src, sc_error *err);

const char *sc_metric_name(const sc_metric *m);       /* the log name */
const char *sc_metric_class_name(const sc_metric *m); /* the resolved Keras class */
/* Renames the metric (its log name; the state is kept): the compile container makes names
 * unique after the metrics are made. An empty name or one of SC_METRIC_NAME_MAX bytes or more
 * is SC_INVALID_ARGUMENT, m unchanged. */
sc_status sc_metric_set_name(sc_metric *m, const char *name, sc_error *err);

/* Makes names unique in place, in order: the second "auc" becomes "auc_1", the third "auc_2",
 * skipping suffixes already present. A name that would not fit is SC_INVALID_ARGUMENT. */
sc_status sc_metric_names_uniquify(char (*names)[SC_METRIC_NAME_MAX], size_t n, sc_error *err);

/* ---------------------------------------------------------------------------------------------
 * Losses (reduction sum_over_batch_size: Σ l_i·w_i / number of rows, FORMATS §9.1)
 * ------------------------------------------------------------------------------------------- */
typedef enum sc_loss_reduction {
    SC_REDUCTION_SUM_OVER_BATCH_SIZE = 0,
    SC_REDUCTION_SUM = 1,
    SC_REDUCTION_MEAN_WITH_SAMPLE_WEIGHT = 2 /* Keras 3: divides by Σw */
} sc_loss_reduction;

typedef struct sc_loss_spec {
    /* BinaryCrossentropy, CategoricalCrossentropy, SparseCategoricalCrossentropy,
     * MeanSquaredError, MeanAbsoluteError, MeanAbsolutePercentageError,
     * MeanSquaredLogarithmicError, Huber, LogCosh, Hinge, SquaredHinge, CategoricalHinge,
     * KLDivergence, Poisson, CosineSimilarity; or their function names ("mse", "huber",
     * "sparse_categorical_crossentropy", ...). */
    const char *class_name;
    int keras_version; /* 2 (default) or 3 */
    sc_keras_backend backend;
    int from_logits;
    float label_smoothing;
    float delta;          /* Huber: 1 */
    int has_ignore_class; /* SparseCategoricalCrossentropy */
    int ignore_class;
    sc_loss_reduction reduction;
} sc_loss_spec;

sc_loss_spec sc_loss_default_spec(const char *class_name);

typedef struct sc_loss sc_loss;
sc_status sc_loss_create(const sc_loss_spec *spec, sc_loss **out, sc_error *err);
void sc_loss_free(sc_loss *l); /* NULL is fine */
/* The reduced loss of one batch, in float32 (regularization terms are the caller's). */
sc_status sc_loss_compute(const sc_loss *l, const sc_metric_batch *batch, float *out,
                          sc_error *err);
const char *sc_loss_class_name(const sc_loss *l);

#ifdef __cplusplus
}
#endif
#endif
