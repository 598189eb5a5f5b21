/* metrics/names.c — Keras class names, default log names, compile strings (FORMATS §9.2, §9.6). */
#include <stdio.h>
#include <string.h>

#include "core/error.h"
#include "metrics/metrics_internal.h"

static const sc_metric_class CLASSES[] = {
    {"Accuracy", "accuracy", "accuracy", SC_MK_MEAN_FN, SC_FN_ACCURACY},
    {"BinaryAccuracy", "binary_accuracy", "binary_accuracy", SC_MK_MEAN_FN, SC_FN_BINARY_ACCURACY},
    {"CategoricalAccuracy", "categorical_accuracy", "categorical_accuracy", SC_MK_MEAN_FN,
     SC_FN_CATEGORICAL_ACCURACY},
    {"SparseCategoricalAccuracy", "sparse_categorical_accuracy", "sparse_categorical_accuracy",
     SC_MK_MEAN_FN, SC_FN_SPARSE_CATEGORICAL_ACCURACY},
    {"TopKCategoricalAccuracy", "top_k_categorical_accuracy", "top_k_categorical_accuracy",
     SC_MK_MEAN_FN, SC_FN_TOP_K},
    {"SparseTopKCategoricalAccuracy", "sparse_top_k_categorical_accuracy",
     "sparse_top_k_categorical_accuracy", SC_MK_MEAN_FN, SC_FN_SPARSE_TOP_K},
    {"BinaryCrossentropy", "binary_crossentropy", "binary_crossentropy", SC_MK_MEAN_FN, SC_FN_BCE},
    {"CategoricalCrossentropy", "categorical_crossentropy", "categorical_crossentropy",
     SC_MK_MEAN_FN, SC_FN_CCE},
    {"SparseCategoricalCrossentropy", "sparse_categorical_crossentropy",
     "sparse_categorical_crossentropy", SC_MK_MEAN_FN, SC_FN_SCCE},
    {"MeanSquaredError", "mean_squared_error", "mean_squared_error", SC_MK_MEAN_FN, SC_FN_MSE},
    {"MeanAbsoluteError", "mean_absolute_error", "mean_absolute_error", SC_MK_MEAN_FN, SC_FN_MAE},
    {"MeanAbsolutePercentageError", "mean_absolute_percentage_error",
     "mean_absolute_percentage_error", SC_MK_MEAN_FN, SC_FN_MAPE},
    {"MeanSquaredLogarithmicError", "mean_squared_logarithmic_error",
     "mean_squared_logarithmic_error", SC_MK_MEAN_FN, SC_FN_MSLE},
    {"LogCoshError", "logcosh", "logcosh", SC_MK_MEAN_FN, SC_FN_LOGCOSH},
    {"Hinge", "hinge", "hinge", SC_MK_MEAN_FN, SC_FN_HINGE},
    {"SquaredHinge", "squared_hinge", "squared_hinge", SC_MK_MEAN_FN, SC_FN_SQUARED_HINGE},
    {"CategoricalHinge", "categorical_hinge", "categorical_hinge", SC_MK_MEAN_FN,
     SC_FN_CATEGORICAL_HINGE},
    {"KLDivergence", "kullback_leibler_divergence", "kl_divergence", SC_MK_MEAN_FN, SC_FN_KLD},
    {"Poisson", "poisson", "poisson", SC_MK_MEAN_FN, SC_FN_POISSON},
    {"CosineSimilarity", "cosine_similarity", "cosine_similarity", SC_MK_MEAN_FN, SC_FN_COSINE},
    {"RootMeanSquaredError", "root_mean_squared_error", "root_mean_squared_error", SC_MK_RMSE,
     SC_FN_MSE},
    {"Mean", "mean", "mean", SC_MK_MEAN, 0},
    {"R2Score", "r2_score", "r2_score", SC_MK_R2, 0},
    {"AUC", "auc", "auc", SC_MK_AUC, 0},
    {"Precision", "precision", "precision", SC_MK_CONFUSION, SC_CM_PRECISION},
    {"Recall", "recall", "recall", SC_MK_CONFUSION, SC_CM_RECALL},
    {"TruePositives", "true_positives", "true_positives", SC_MK_CONFUSION, SC_CM_TP},
    {"FalsePositives", "false_positives", "false_positives", SC_MK_CONFUSION, SC_CM_FP},
    {"TrueNegatives", "true_negatives", "true_negatives", SC_MK_CONFUSION, SC_CM_TN},
    {"FalseNegatives", "false_negatives", "false_negatives", SC_MK_CONFUSION, SC_CM_FN},
    {"PrecisionAtRecall", "precision_at_recall", "precision_at_recall", SC_MK_AT,
     SC_AT_PRECISION_AT_RECALL},
    {"RecallAtPrecision", "recall_at_precision", "recall_at_precision", SC_MK_AT,
     SC_AT_RECALL_AT_PRECISION},
    {"SensitivityAtSpecificity", "sensitivity_at_specificity", "sensitivity_at_specificity",
     SC_MK_AT, SC_AT_SENSITIVITY_AT_SPECIFICITY},
    {"SpecificityAtSensitivity", "specificity_at_sensitivity", "specificity_at_sensitivity",
     SC_MK_AT, SC_AT_SPECIFICITY_AT_SENSITIVITY},
    {"F1Score", "f1_score", "f1_score", SC_MK_FBETA, 1},
    {"FBetaScore", "fbeta_score", "fbeta_score", SC_MK_FBETA, 0},
    {"MeanIoU", "mean_iou", "mean_iou", SC_MK_IOU, 0},
};

const sc_metric_class *sc_metric_class_find(const char *class_name) {
    if (!class_name) return NULL;
    for (size_t i = 0; i < sizeof CLASSES / sizeof CLASSES[0]; i++)
        if (strcmp(CLASSES[i].class_name, class_name) == 0) return &CLASSES[i];
    return NULL;
}

/* Compile strings that name a function or a class in snake case; the metric keeps the string as
 * its name. Classes that need arguments Keras cannot infer (PrecisionAtRecall, MeanIoU, ...) are
 * not reachable by string, as in Keras. */
static const struct {
    const char *id, *class_name;
} ALIASES[] = {
    {"mse", "MeanSquaredError"},
    {"MSE", "MeanSquaredError"},
    {"mean_squared_error", "MeanSquaredError"},
    {"mae", "MeanAbsoluteError"},
    {"MAE", "MeanAbsoluteError"},
    {"mean_absolute_error", "MeanAbsoluteError"},
    {"mape", "MeanAbsolutePercentageError"},
    {"MAPE", "MeanAbsolutePercentageError"},
    {"mean_absolute_percentage_error", "MeanAbsolutePercentageError"},
    {"msle", "MeanSquaredLogarithmicError"},
    {"MSLE", "MeanSquaredLogarithmicError"},
    {"mean_squared_logarithmic_error", "MeanSquaredLogarithmicError"},
    {"binary_accuracy", "BinaryAccuracy"},
    {"categorical_accuracy", "CategoricalAccuracy"},
    {"sparse_categorical_accuracy", "SparseCategoricalAccuracy"},
    {"top_k_categorical_accuracy", "TopKCategoricalAccuracy"},
    {"sparse_top_k_categorical_accuracy", "SparseTopKCategoricalAccuracy"},
    {"binary_crossentropy", "BinaryCrossentropy"},
    {"categorical_crossentropy", "CategoricalCrossentropy"},
    {"sparse_categorical_crossentropy", "SparseCategoricalCrossentropy"},
    {"hinge", "Hinge"},
    {"squared_hinge", "SquaredHinge"},
    {"categorical_hinge", "CategoricalHinge"},
    {"kld", "KLDivergence"},
    {"KLD", "KLDivergence"},
    {"kl_divergence", "KLDivergence"},
    {"kullback_leibler_divergence", "KLDivergence"},
    {"logcosh", "LogCoshError"},
    {"log_cosh", "LogCoshError"},
    {"poisson", "Poisson"},
    {"cosine_similarity", "CosineSimilarity"},
    {"auc", "AUC"},
    {"precision", "Precision"},
    {"recall", "Recall"},
    {"true_positives", "TruePositives"},
    {"false_positives", "FalsePositives"},
    {"true_negatives", "TrueNegatives"},
    {"false_negatives", "FalseNegatives"},
    {"root_mean_squared_error", "RootMeanSquaredError"},
    {"r2_score", "R2Score"},
    {"f1_score", "F1Score"},
    {"fbeta_score", "FBetaScore"},
};

/* §9.2: the class behind "accuracy" / "crossentropy", from the shapes, else from the loss. */
static const char *by_shapes(const sc_metric_shapes *sh, const char *loss, int accuracy) {
    int binary, sparse;
    if (sh && sh->pred_rank > 0) {
        binary = sh->pred_last_dim == 1;
        sparse = sh->true_rank < sh->pred_rank || (sh->true_last_dim == 1 && sh->pred_last_dim > 1);
    } else if (loss) {
        binary = strstr(loss, "binary") != NULL || strcmp(loss, "BinaryCrossentropy") == 0;
        sparse = strstr(loss, "sparse") != NULL || strstr(loss, "Sparse") != NULL;
    } else {
        return NULL;
    }
    if (accuracy)
        return binary   ? "BinaryAccuracy"
               : sparse ? "SparseCategoricalAccuracy"
                        : "CategoricalAccuracy";
    return binary   ? "BinaryCrossentropy"
           : sparse ? "SparseCategoricalCrossentropy"
                    : "CategoricalCrossentropy";
}

sc_status sc_metric_from_string(const char *id, const sc_metric_shapes *shapes,
                                const char *loss_name, int keras_version, sc_metric **out,
                                sc_error *err) {
    *out = NULL;
    if (!id || !*id) return sc_error_set(err, SC_INVALID_ARGUMENT, "metric: empty identifier");
    int kv = keras_version >= 3 ? 3 : 2;
    const char *cls = NULL, *name = id;
    int is_acc = strcmp(id, "accuracy") == 0 || strcmp(id, "acc") == 0;
    int is_ce = kv == 2 && (strcmp(id, "crossentropy") == 0 || strcmp(id, "ce") == 0);
    if (is_acc || is_ce) {
        cls = by_shapes(shapes, loss_name, is_acc);
        if (!cls)
            return sc_error_set(err, SC_INVALID_ARGUMENT,
                                "metric '%s': needs the output and label shapes or the loss to "
                                "resolve",
                                id);
    }
    for (size_t i = 0; !cls && i < sizeof ALIASES / sizeof ALIASES[0]; i++)
        if (strcmp(ALIASES[i].id, id) == 0) cls = ALIASES[i].class_name;
    if (!cls) {
        const sc_metric_class *c = sc_metric_class_find(id);
        if (!c || c->kind == SC_MK_AT || c->kind == SC_MK_IOU)
            return sc_error_set(err, SC_INVALID_ARGUMENT,
                                "metric '%s': unknown identifier (or a class that needs "
                                "arguments; give its config instead)",
                                id);
        cls = id;
        name = NULL; /* a class by name gets the class' default name */
    }
    sc_metric_spec s = sc_metric_default_spec(cls);
    s.name = name;
    s.keras_version = kv;
    const sc_metric_class *c = sc_metric_class_find(cls);
    if (c->kind == SC_MK_FBETA || c->kind == SC_MK_R2) {
        if (!shapes || shapes->pred_rank != 2 || shapes->pred_last_dim <= 0
            || shapes->pred_last_dim > 1 << 24)
            return sc_error_set(err, SC_INVALID_ARGUMENT,
                                "metric '%s': needs predictions of shape [B, N] with N known", id);
        s.num_classes = (int)shapes->pred_last_dim;
    }
    return sc_metric_create(&s, out, err);
}

static int taken(char (*names)[SC_METRIC_NAME_MAX], size_t n, size_t self, const char *cand) {
    for (size_t j = 0; j < n; j++)
        if (j != self && strcmp(names[j], cand) == 0) return 1;
    return 0;
}

sc_status sc_metric_names_uniquify(char (*names)[SC_METRIC_NAME_MAX], size_t n, sc_error *err) {
    for (size_t i = 1; i < n; i++) {
        int dup = 0;
        for (size_t j = 0; j < i && !dup; j++) dup = strcmp(names[j], names[i]) == 0;
        if (!dup) continue;
        char cand[SC_METRIC_NAME_MAX];
        for (unsigned k = 1;; k++) {
            int len = snprintf(cand, sizeof cand, "%s_%u", names[i], k);
            if (len < 0 || (size_t)len >= sizeof cand)
                return sc_error_set(err, SC_INVALID_ARGUMENT,
                                    "metric names: '%s' is too long to make unique", names[i]);
            if (!taken(names, n, i, cand)) break;
        }
        memcpy(names[i], cand, sizeof cand);
    }
    return SC_OK;
}
