/* metrics/metrics_internal.h — shared pieces of the metric and loss implementations. Internal. */
#ifndef SC_METRICS_INTERNAL_H
#define SC_METRICS_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "sidecar/metrics.h"

#define SC_EPSILON 1e-7f /* backend.epsilon() */

/* ---- aligned view of a batch (align.c) ---------------------------------------------------- */

typedef enum sc_align_mode {
    SC_ALIGN_SAME,  /* labels and predictions of one shape; a last dim of 1 broadcasts */
    SC_ALIGN_SPARSE /* labels are class ids: the prediction shape without its last dim */
} sc_align_mode;

/* B samples, each made of `rows` rows; a prediction row has cp values, a label row ct. */
typedef struct sc_rows {
    size_t batch, rows, cp, ct;
    const float *p, *y, *w, *z; /* z: logits or NULL */
    const float *m;             /* Keras mask, one value per row ([batch, rows]), or NULL */
} sc_rows;

sc_status sc_rows_align(const sc_metric_batch *b, sc_align_mode mode, const char *who, sc_rows *out,
                        sc_error *err);

static inline const float *sc_rows_pred(const sc_rows *r, size_t b, size_t i) {
    return r->p + (b * r->rows + i) * r->cp;
}
static inline const float *sc_rows_true(const sc_rows *r, size_t b, size_t i) {
    return r->y + (b * r->rows + i) * r->ct;
}
static inline const float *sc_rows_logits(const sc_rows *r, size_t b, size_t i) {
    return r->z ? r->z + (b * r->rows + i) * r->cp : NULL;
}
static inline float sc_rows_weight(const sc_rows *r, size_t b) { return r->w ? r->w[b] : 1.0f; }
/* Weight of row i of sample b: the sample weight times the mask (Keras' apply_mask). */
static inline float sc_rows_row_weight(const sc_rows *r, size_t b, size_t i) {
    float w = r->w ? r->w[b] : 1.0f;
    return r->m ? w * r->m[b * r->rows + i] : w;
}
/* Row i of sample b is masked out (mask 0). */
static inline int sc_rows_masked(const sc_rows *r, size_t b, size_t i) {
    return r->m && r->m[b * r->rows + i] == 0.0f;
}

/* ---- per-row functions (rowfn.c): the Keras loss/metric functions, in float32 ------------- */

typedef enum sc_rowfn {
    SC_FN_ACCURACY,
    SC_FN_BINARY_ACCURACY,
    SC_FN_CATEGORICAL_ACCURACY,
    SC_FN_SPARSE_CATEGORICAL_ACCURACY,
    SC_FN_TOP_K,
    SC_FN_SPARSE_TOP_K,
    SC_FN_BCE,
    SC_FN_CCE,
    SC_FN_SCCE,
    SC_FN_MSE,
    SC_FN_MAE,
    SC_FN_MAPE,
    SC_FN_MSLE,
    SC_FN_HUBER,
    SC_FN_LOGCOSH,
    SC_FN_HINGE,
    SC_FN_SQUARED_HINGE,
    SC_FN_CATEGORICAL_HINGE,
    SC_FN_KLD,
    SC_FN_POISSON,
    SC_FN_COSINE /* +cos as a metric; the loss negates it */
} sc_rowfn;

typedef struct sc_rowopts {
    int keras_version;
    sc_keras_backend backend;
    float threshold;
    int k;
    int from_logits;
    float label_smoothing;
    float delta;
    int has_ignore_class, ignore_class;
} sc_rowopts;

/* Per-batch context computed before the rows (Hinge converts {0,1} labels batch-wide). */
typedef struct sc_rowctx {
    const sc_rowopts *o;
    int hinge_convert;
} sc_rowctx;

sc_align_mode sc_rowfn_align(sc_rowfn fn);
/* Checks what Keras checks per batch (sparse CE label range) and fills ctx. */
sc_status sc_rowfn_prepare(sc_rowfn fn, const sc_rowopts *o, const sc_rows *r, const char *who,
                           sc_rowctx *ctx, sc_error *err);
/* Value of one row; *valid = 0 when the row is masked (ignore_class). */
float sc_rowfn_eval(sc_rowfn fn, const sc_rowctx *ctx, const float *y, size_t ct, const float *p,
                    size_t cp, const float *z, int *valid);

/* A float label as TensorFlow's cast to int64 sees it (truncation); values that cannot be
 * converted (non-finite, |v| >= 2^62) give INT64_MIN, which matches no class. */
static inline int64_t sc_label_int(float v) {
    return (v > -4.6e18f && v < 4.6e18f) ? (int64_t)v : INT64_MIN;
}

/* First index of the maximum, as TensorFlow's argmax on CPU: NaNs are skipped, a row with
 * nothing above -FLT_MAX gives 0 (rowfn.c cites the kernel). */
size_t sc_argmax(const float *x, size_t n);
/* The row's maximum as tf.reduce_max on CPU: NaN when any entry is NaN. */
float sc_row_max(const float *x, size_t n);

/* ---- name registry (names.c) --------------------------------------------------------------- */

typedef enum sc_mkind {
    SC_MK_MEAN_FN, /* MeanMetricWrapper of a row function */
    SC_MK_MEAN,
    SC_MK_RMSE,
    SC_MK_R2,
    SC_MK_CONFUSION, /* Precision, Recall, TP/FP/TN/FN */
    SC_MK_AUC,
    SC_MK_AT, /* PrecisionAtRecall & co. */
    SC_MK_FBETA,
    SC_MK_IOU
} sc_mkind;

typedef enum sc_cm_which {
    SC_CM_PRECISION,
    SC_CM_RECALL,
    SC_CM_TP,
    SC_CM_FP,
    SC_CM_TN,
    SC_CM_FN
} sc_cm_which;
typedef enum sc_at_which {
    SC_AT_PRECISION_AT_RECALL,
    SC_AT_RECALL_AT_PRECISION,
    SC_AT_SENSITIVITY_AT_SPECIFICITY,
    SC_AT_SPECIFICITY_AT_SENSITIVITY
} sc_at_which;

typedef struct sc_metric_class {
    const char *class_name;
    const char *name_k2, *name_k3; /* default log names */
    sc_mkind kind;
    int sub; /* sc_rowfn for MEAN_FN, sc_cm_which, sc_at_which, F1 (1) vs FBeta (0) */
} sc_metric_class;

const sc_metric_class *sc_metric_class_find(const char *class_name);

/* ---- the metric object (metric.c) ---------------------------------------------------------- */

/* Options that define the state; zeroed with memset before filling so that two specs compare
 * with memcmp (merge checks it). */
typedef struct sc_mopts {
    sc_rowopts row;
    int top_k, class_id, num_thresholds, multi_label, num_labels, num_classes;
    int sparse_y_true, sparse_y_pred;
    sc_auc_curve curve;
    sc_auc_summation summation;
    float beta, target, fthreshold;
    sc_f_average average;
    sc_r2_aggregation r2_agg;
    int num_regressors, evenly, with_epsilon;
} sc_mopts;

struct sc_metric {
    const sc_metric_class *cls;
    char name[SC_METRIC_NAME_MAX];
    sc_mopts o;
    float *thresholds; /* [n_thr] */
    size_t n_thr;
    float *label_weights; /* [num_labels] or NULL */
    float *state;         /* additive accumulators */
    size_t n_state;
    int64_t n_elements; /* R2Score's num_samples (tf.size(y_true)) */
    double *scratch;    /* per-batch sums, sized at create */
    size_t n_scratch;
};

/* The additive state as flat values, for merging shards held by other processes (eval's
 * group): get copies sc_metric_state_len floats out; add does what sc_metric_merge does with a
 * state of the same spec (the caller makes sure of that: same compile on every process). */
size_t sc_metric_state_len(const sc_metric *m);
void sc_metric_state_get(const sc_metric *m, float *state, int64_t *n_elements);
sc_status sc_metric_state_add(sc_metric *m, const float *state, size_t n, int64_t n_elements,
                              sc_error *err);

/* Family hooks: sizes of state and scratch at create, update and result. */
sc_status sc_confusion_init(sc_metric *m, const sc_metric_spec *s, sc_error *err);
sc_status sc_confusion_update(sc_metric *m, const sc_metric_batch *b, sc_error *err);
size_t sc_confusion_result_size(const sc_metric *m);
void sc_confusion_result(const sc_metric *m, double *out);

sc_status sc_other_init(sc_metric *m, const sc_metric_spec *s, sc_error *err);
sc_status sc_other_update(sc_metric *m, const sc_metric_batch *b, sc_error *err);
size_t sc_other_result_size(const sc_metric *m);
void sc_other_result(const sc_metric *m, double *out);

/* Adds a per-batch double sum into a float32 accumulator, as Keras' assign_add does. */
static inline void sc_acc_add(float *acc, double batch_sum) { *acc = *acc + (float)batch_sum; }
static inline float sc_div_no_nan(float a, float b) { return b == 0.0f ? 0.0f : a / b; }

#endif
