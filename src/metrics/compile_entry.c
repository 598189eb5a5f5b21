/* metrics/compile_entry.c — one entry of a Keras compile config (a loss or a metric: a string or a
 * serialized object) -> an sc_loss or sc_metric (FORMATS §7.3, §9). The config keys each class
 * accepts are listed in one table; a key a class does not know is refused rather than ignored,
 * because most keys change the numbers. */
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/error.h"
#include "metrics/compile_internal.h"

/* ---- per-class config keys ---------------------------------------------------------------- */

enum {
    O_THRESHOLD = 1u << 0,  /* BinaryAccuracy: a number */
    O_FTHRESHOLD = 1u << 1, /* F-scores: a number or null */
    O_THRESHOLDS = 1u << 2,
    O_TOP_K = 1u << 3,
    O_CLASS_ID = 1u << 4,
    O_NUM_THR = 1u << 5,
    O_AUC = 1u << 6,
    O_LOGITS = 1u << 7,
    O_SMOOTH = 1u << 8,
    O_K = 1u << 9,
    O_AXIS = 1u << 10,
    O_IOU = 1u << 11,
    O_IGNORE = 1u << 12,
    O_BETA = 1u << 13,
    O_AVERAGE = 1u << 14,
    O_AT_RECALL = 1u << 15,
    O_AT_PRECISION = 1u << 16,
    O_AT_SPEC = 1u << 17,
    O_AT_SENS = 1u << 18,
    O_R2 = 1u << 19,
    O_SORTED = 1u << 20,
    O_DELTA = 1u << 21,     /* losses */
    O_REDUCTION = 1u << 22, /* losses */
    O_ANY = 1u << 23        /* every class */
};

/* The metric classes sidecar reproduces, the config keys each takes beyond name/dtype/fn, and
 * the key Keras' constructor requires (its config always has it). "Mean" is left out: compile
 * would feed it labels as values. */
static const struct {
    const char *cls;
    unsigned opts;
    const char *required;
} METRICS[] = {
    {"Accuracy", 0, NULL},
    {"BinaryAccuracy", O_THRESHOLD, NULL},
    {"CategoricalAccuracy", 0, NULL},
    {"SparseCategoricalAccuracy", 0, NULL},
    {"TopKCategoricalAccuracy", O_K, NULL},
    {"SparseTopKCategoricalAccuracy", O_K | O_SORTED, NULL},
    {"BinaryCrossentropy", O_LOGITS | O_SMOOTH | O_AXIS, NULL},
    {"CategoricalCrossentropy", O_LOGITS | O_SMOOTH | O_AXIS, NULL},
    {"SparseCategoricalCrossentropy", O_LOGITS | O_IGNORE | O_AXIS, NULL},
    {"MeanSquaredError", 0, NULL},
    {"MeanAbsoluteError", 0, NULL},
    {"MeanAbsolutePercentageError", 0, NULL},
    {"MeanSquaredLogarithmicError", 0, NULL},
    {"RootMeanSquaredError", 0, NULL},
    {"LogCoshError", 0, NULL},
    {"Hinge", 0, NULL},
    {"SquaredHinge", 0, NULL},
    {"CategoricalHinge", 0, NULL},
    {"KLDivergence", 0, NULL},
    {"Poisson", 0, NULL},
    {"CosineSimilarity", O_AXIS, NULL},
    {"R2Score", O_R2, NULL},
    {"AUC", O_NUM_THR | O_AUC | O_LOGITS | O_THRESHOLDS, NULL},
    {"Precision", O_THRESHOLDS | O_TOP_K | O_CLASS_ID, NULL},
    {"Recall", O_THRESHOLDS | O_TOP_K | O_CLASS_ID, NULL},
    {"TruePositives", O_THRESHOLDS, NULL},
    {"FalsePositives", O_THRESHOLDS, NULL},
    {"TrueNegatives", O_THRESHOLDS, NULL},
    {"FalseNegatives", O_THRESHOLDS, NULL},
    {"PrecisionAtRecall", O_NUM_THR | O_CLASS_ID | O_AT_RECALL, "recall"},
    {"RecallAtPrecision", O_NUM_THR | O_CLASS_ID | O_AT_PRECISION, "precision"},
    {"SensitivityAtSpecificity", O_NUM_THR | O_CLASS_ID | O_AT_SPEC, "specificity"},
    {"SpecificityAtSensitivity", O_NUM_THR | O_CLASS_ID | O_AT_SENS, "sensitivity"},
    {"F1Score", O_AVERAGE | O_FTHRESHOLD, NULL},
    {"FBetaScore", O_AVERAGE | O_FTHRESHOLD | O_BETA, NULL},
    {"MeanIoU", O_IOU | O_IGNORE | O_AXIS, "num_classes"},
};

/* Losses: the keys beyond name/dtype/fn/reduction. */
static const struct {
    const char *cls;
    unsigned opts;
} LOSSES[] = {
    {"BinaryCrossentropy", O_LOGITS | O_SMOOTH | O_AXIS},
    {"CategoricalCrossentropy", O_LOGITS | O_SMOOTH | O_AXIS},
    {"SparseCategoricalCrossentropy", O_LOGITS | O_IGNORE | O_AXIS},
    {"MeanSquaredError", 0},
    {"MeanAbsoluteError", 0},
    {"MeanAbsolutePercentageError", 0},
    {"MeanSquaredLogarithmicError", 0},
    {"Huber", O_DELTA},
    {"LogCosh", 0},
    {"Hinge", 0},
    {"SquaredHinge", 0},
    {"CategoricalHinge", 0},
    {"KLDivergence", 0},
    {"Poisson", 0},
    {"CosineSimilarity", O_AXIS},
};

typedef enum {
    K_NAME,
    K_DTYPE,
    K_SKIP,
    K_THRESHOLD,
    K_FTHRESHOLD,
    K_THRESHOLDS,
    K_TOP_K,
    K_CLASS_ID,
    K_NUM_THR,
    K_CURVE,
    K_SUMMATION,
    K_MULTI_LABEL,
    K_NUM_LABELS,
    K_LABEL_WEIGHTS,
    K_LOGITS,
    K_SMOOTH,
    K_K,
    K_NUM_CLASSES,
    K_SPARSE_TRUE,
    K_SPARSE_PRED,
    K_IGNORE,
    K_BETA,
    K_AVERAGE,
    K_TARGET,
    K_R2_AGG,
    K_R2_REGRESSORS,
    K_AXIS,
    K_SORTED,
    K_DELTA,
    K_REDUCTION
} key_kind;

static const struct {
    const char *key;
    unsigned opt;
    key_kind kind;
} KEYS[] = {
    {"name", O_ANY, K_NAME},
    {"dtype", O_ANY, K_DTYPE},
    {"fn", O_ANY, K_SKIP}, /* the function of a wrapper class: the class already says it */
    {"threshold", O_THRESHOLD, K_THRESHOLD},
    {"threshold", O_FTHRESHOLD, K_FTHRESHOLD},
    {"thresholds", O_THRESHOLDS, K_THRESHOLDS},
    {"top_k", O_TOP_K, K_TOP_K},
    {"class_id", O_CLASS_ID, K_CLASS_ID},
    {"num_thresholds", O_NUM_THR, K_NUM_THR},
    {"curve", O_AUC, K_CURVE},
    {"summation_method", O_AUC, K_SUMMATION},
    {"multi_label", O_AUC, K_MULTI_LABEL},
    {"num_labels", O_AUC, K_NUM_LABELS},
    {"label_weights", O_AUC, K_LABEL_WEIGHTS},
    {"from_logits", O_LOGITS, K_LOGITS},
    {"label_smoothing", O_SMOOTH, K_SMOOTH},
    {"k", O_K, K_K},
    {"num_classes", O_IOU, K_NUM_CLASSES},
    {"sparse_y_true", O_IOU, K_SPARSE_TRUE},
    {"sparse_y_pred", O_IOU, K_SPARSE_PRED},
    {"ignore_class", O_IGNORE, K_IGNORE},
    {"beta", O_BETA, K_BETA},
    {"average", O_AVERAGE, K_AVERAGE},
    {"recall", O_AT_RECALL, K_TARGET},
    {"precision", O_AT_PRECISION, K_TARGET},
    {"specificity", O_AT_SPEC, K_TARGET},
    {"sensitivity", O_AT_SENS, K_TARGET},
    {"class_aggregation", O_R2, K_R2_AGG},
    {"num_regressors", O_R2, K_R2_REGRESSORS},
    {"axis", O_AXIS, K_AXIS},
    {"from_sorted_ids", O_SORTED, K_SORTED},
    {"delta", O_DELTA, K_DELTA},
    {"reduction", O_REDUCTION, K_REDUCTION},
};

/* ---- context and messages ----------------------------------------------------------------- */

/* One entry being read: its label for messages ("metrics[2] (AUC)") and its arrays. */
typedef struct entry {
    const sc_compile_ctx *c;
    char what[160];
    float *thresholds, *label_weights;
    size_t num_label_weights;
} entry;

const char *sc_compile_json_type(const json_t *v) {
    if (!v) return "nothing";
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "a list";
    case JSON_STRING: return "a string";
    case JSON_INTEGER:
    case JSON_REAL: return "a number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    default: return "null";
    }
}

static sc_status bad(const entry *e, const char *key, const char *expected, const json_t *v) {
    return sc_error_set(e->c->err, SC_INVALID_ARGUMENT, "%s: %s: key '%s': expected %s, found %s",
                        e->c->file, e->what, key, expected, sc_compile_json_type(v));
}

static sc_status want_bool(const entry *e, const char *key, const json_t *v, int *out) {
    if (!json_is_boolean(v)) return bad(e, key, "true or false", v);
    *out = json_is_true(v);
    return SC_OK;
}

/* An integer in [lo, hi]; Python may write an integral float (2.0). */
static sc_status want_int(const entry *e, const char *key, const json_t *v, int lo, int hi,
                          int *out) {
    double d = json_is_number(v) ? json_number_value(v) : NAN;
    if (!json_is_number(v) || d != floor(d)) return bad(e, key, "an integer", v);
    if (d < lo || d > hi)
        return sc_error_set(e->c->err, SC_INVALID_ARGUMENT,
                            "%s: %s: key '%s': %g is outside [%d, %d]", e->c->file, e->what, key, d,
                            lo, hi);
    *out = (int)d;
    return SC_OK;
}

static sc_status want_float(const entry *e, const char *key, const json_t *v, float *out) {
    if (!json_is_number(v)) return bad(e, key, "a number", v);
    double d = json_number_value(v);
    if (!isfinite(d) || fabs(d) > 3.4e38) return bad(e, key, "a finite float32", v);
    *out = (float)d;
    return SC_OK;
}

/* A number or a list of numbers, into a malloc'd array. */
static sc_status want_floats(const entry *e, const char *key, const json_t *v, float **out,
                             size_t *n) {
    size_t count = json_is_array(v) ? json_array_size(v) : 1;
    if (!json_is_array(v) && !json_is_number(v)) return bad(e, key, "a number or a list", v);
    if (count == 0 || count > (1u << 20)) return bad(e, key, "1 to 2^20 numbers", v);
    float *a = malloc(count * sizeof *a);
    if (!a)
        return sc_error_set(e->c->err, SC_NO_MEMORY, "%s: %s: out of memory", e->c->file, e->what);
    for (size_t i = 0; i < count; i++) {
        sc_status st = want_float(e, key, json_is_array(v) ? json_array_get(v, i) : v, &a[i]);
        if (st != SC_OK) {
            free(a);
            return st;
        }
    }
    free(*out);
    *out = a;
    *n = count;
    return SC_OK;
}

/* One of the strings in `choices` ("a|b|c"); NULL allowed when null_ok. *idx: position, -1 for
 * null. Case-insensitive, as Keras' from_str helpers are for the enums they parse. */
static sc_status want_choice(const entry *e, const char *key, const json_t *v, const char *choices,
                             int null_ok, int *idx) {
    *idx = -1;
    if (null_ok && json_is_null(v)) return SC_OK;
    if (json_is_string(v)) {
        const char *s = json_string_value(v), *p = choices;
        size_t n = strlen(s);
        for (int i = 0; *p; i++) {
            size_t len = strcspn(p, "|");
            if (len == n && strncasecmp(p, s, n) == 0) {
                *idx = i;
                return SC_OK;
            }
            p += len + (p[len] == '|');
        }
    }
    char expected[160];
    snprintf(expected, sizeof expected, "one of %s%s", choices, null_ok ? "|null" : "");
    if (json_is_string(v))
        return sc_error_set(e->c->err, SC_INVALID_ARGUMENT,
                            "%s: %s: key '%s': expected %s, found \"%s\"", e->c->file, e->what, key,
                            expected, json_string_value(v));
    return bad(e, key, expected, v);
}

static sc_status unsupported(const entry *e, const char *key, const char *why) {
    return sc_error_set(e->c->err, SC_UNIMPLEMENTED, "%s: %s: key '%s': %s", e->c->file, e->what,
                        key, why);
}

/* dtype: null, "float32", or a DTypePolicy envelope named "float32" (Keras >= 3.4). */
static sc_status check_dtype(const entry *e, const json_t *v) {
    const json_t *n = v;
    if (json_is_object(v)) n = json_object_get(json_object_get(v, "config"), "name");
    if (json_is_null(v) || (json_is_string(n) && strcmp(json_string_value(n), "float32") == 0))
        return SC_OK;
    return unsupported(e, "dtype",
                       "only float32 is reproduced (metrics and losses compute in "
                       "float32)");
}

/* ---- one serialized object ---------------------------------------------------------------- */

/* The envelope's class_name and config, after refusing custom objects. A function envelope
 * ({"class_name": "function", "config": "mse"}) gives *fn instead. */
static sc_status open_envelope(entry *e, const json_t *obj, const char **cls, const json_t **config,
                               const char **fn) {
    const json_t *c = json_object_get(obj, "class_name"), *mod = json_object_get(obj, "module"),
                 *reg = json_object_get(obj, "registered_name");
    *fn = NULL;
    if (!json_is_string(c)) return bad(e, "class_name", "a string", c);
    *cls = json_string_value(c);
    size_t used = strlen(e->what); /* the entry's label gains its class: "metrics[2] (AUC)" */
    snprintf(e->what + used, sizeof e->what - used, " (%s)", *cls);
    const char *m = json_is_string(mod) ? json_string_value(mod) : NULL;
    if ((m && strncmp(m, "keras", 5) != 0 && strncmp(m, "tf_keras", 8) != 0)
        || (json_is_string(reg) && strcmp(json_string_value(reg), *cls) != 0
            && strcmp(*cls, "function") != 0))
        return sc_error_set(e->c->err, SC_UNIMPLEMENTED,
                            "%s: %s: a custom object (module '%s', registered_name '%s'); only "
                            "Keras' built-in classes are reproduced",
                            e->c->file, e->what, m ? m : "null",
                            json_is_string(reg) ? json_string_value(reg) : "null");
    *config = json_object_get(obj, "config");
    if (strcmp(*cls, "function") == 0) {
        if (!json_is_string(*config)) return bad(e, "config", "a function name", *config);
        *fn = json_string_value(*config);
        return SC_OK;
    }
    if (*config && !json_is_object(*config) && !json_is_null(*config))
        return bad(e, "config", "an object", *config);
    return SC_OK;
}

/* Applies one config key to a metric spec (ms) or a loss spec (ls); exactly one is non-NULL. */
static sc_status apply_key(entry *e, const char *key, key_kind kind, const json_t *v,
                           sc_metric_spec *ms, sc_loss_spec *ls) {
    int i = 0;
    sc_status st = SC_OK;
    switch (kind) {
    case K_SKIP: return SC_OK;
    case K_DTYPE: return check_dtype(e, v);
    case K_NAME:
        if (!json_is_string(v) && !json_is_null(v)) return bad(e, key, "a string", v);
        if (ms && json_is_string(v)) ms->name = json_string_value(v);
        return SC_OK; /* a loss is logged as "loss" whatever its name */
    case K_THRESHOLD: return want_float(e, key, v, &ms->threshold);
    case K_FTHRESHOLD:
        if (!json_is_null(v)) return want_float(e, key, v, &ms->threshold);
        ms->threshold = NAN; /* None: the row maximum is the positive class */
        return SC_OK;
    case K_THRESHOLDS:
        if (json_is_null(v)) return SC_OK;
        st = want_floats(e, key, v, &e->thresholds, &ms->num_threshold_values);
        ms->thresholds = e->thresholds;
        return st;
    case K_TOP_K:
        if (!json_is_null(v)) return want_int(e, key, v, 1, 1 << 24, &ms->top_k);
        ms->top_k = 0;
        return SC_OK;
    case K_CLASS_ID:
        if (!json_is_null(v)) return want_int(e, key, v, 0, 1 << 24, &ms->class_id);
        ms->class_id = -1;
        return SC_OK;
    case K_NUM_THR: return want_int(e, key, v, 1, 1 << 20, &ms->num_thresholds);
    case K_CURVE:
        st = want_choice(e, key, v, "ROC|PR", 0, &i);
        ms->curve = i == 1 ? SC_AUC_PR : SC_AUC_ROC;
        return st;
    case K_SUMMATION:
        st = want_choice(e, key, v, "interpolation|minoring|majoring", 0, &i);
        ms->summation_method = i == 1   ? SC_AUC_MINORING
                               : i == 2 ? SC_AUC_MAJORING
                                        : SC_AUC_INTERPOLATION;
        return st;
    case K_MULTI_LABEL: return want_bool(e, key, v, &ms->multi_label);
    case K_NUM_LABELS:
        if (!json_is_null(v)) return want_int(e, key, v, 1, 1 << 20, &ms->num_labels);
        return SC_OK;     /* 0: from label_weights or the prediction */
    case K_LABEL_WEIGHTS: /* checked against num_labels once every key is read */
        if (json_is_null(v)) return SC_OK;
        if (!json_is_array(v)) return bad(e, key, "a list of numbers", v);
        st = want_floats(e, key, v, &e->label_weights, &e->num_label_weights);
        ms->label_weights = e->label_weights;
        return st;
    case K_LOGITS: return want_bool(e, key, v, ms ? &ms->from_logits : &ls->from_logits);
    case K_SMOOTH: return want_float(e, key, v, ms ? &ms->label_smoothing : &ls->label_smoothing);
    case K_K: return want_int(e, key, v, 1, 1 << 24, &ms->k);
    case K_NUM_CLASSES: return want_int(e, key, v, 1, 1 << 24, &ms->num_classes);
    case K_SPARSE_TRUE: return want_bool(e, key, v, &ms->sparse_y_true);
    case K_SPARSE_PRED: return want_bool(e, key, v, &ms->sparse_y_pred);
    case K_IGNORE: {
        int has = !json_is_null(v);
        if (has && (st = want_int(e, key, v, -(1 << 30), 1 << 30, &i)) != SC_OK) return st;
        if (ms) {
            ms->has_ignore_class = has;
            ms->ignore_class = i;
        } else {
            ls->has_ignore_class = has;
            ls->ignore_class = i;
        }
        return SC_OK;
    }
    case K_BETA: return want_float(e, key, v, &ms->beta);
    case K_AVERAGE:
        st = want_choice(e, key, v, "micro|macro|weighted", 1, &i);
        ms->average = i < 0 ? SC_F_AVERAGE_NONE : (sc_f_average)(SC_F_AVERAGE_MICRO + i);
        return st;
    case K_TARGET: return want_float(e, key, v, &ms->target);
    case K_R2_AGG:
        st = want_choice(e, key, v, "uniform_average|variance_weighted_average", 1, &i);
        ms->class_aggregation = i < 0 ? SC_R2_NONE : (sc_r2_aggregation)i;
        return st;
    case K_R2_REGRESSORS: return want_int(e, key, v, 0, 1 << 24, &ms->num_regressors);
    case K_AXIS:
        if ((st = want_int(e, key, v, -(1 << 20), 1 << 20, &i)) != SC_OK) return st;
        return i == -1 ? SC_OK : unsupported(e, key, "only the last axis (-1) is reproduced");
    case K_SORTED:
        if ((st = want_bool(e, key, v, &i)) != SC_OK) return st;
        return i ? unsupported(e, key, "from_sorted_ids=True is not reproduced") : SC_OK;
    case K_DELTA: return want_float(e, key, v, &ls->delta);
    case K_REDUCTION:
        st = want_choice(e, key, v,
                         "auto|sum_over_batch_size|mean|sum|mean_with_sample_weight|none", 1, &i);
        if (st != SC_OK) return st;
        if (i < 0 || i == 5)
            return unsupported(e, key, "no reduction (per-sample losses) is not reproduced");
        ls->reduction = i == 3   ? SC_REDUCTION_SUM
                        : i == 4 ? SC_REDUCTION_MEAN_WITH_SAMPLE_WEIGHT
                                 : SC_REDUCTION_SUM_OVER_BATCH_SIZE;
        return SC_OK;
    }
    return SC_OK;
}

static sc_status apply_config(entry *e, const json_t *config, unsigned opts, sc_metric_spec *ms,
                              sc_loss_spec *ls) {
    const char *key;
    const json_t *v;
    if (!json_is_object(config)) return SC_OK;
    json_object_foreach((json_t *)config, key, v) {
        size_t i = 0, n = sizeof KEYS / sizeof KEYS[0];
        while (i < n && !(strcmp(KEYS[i].key, key) == 0 && (KEYS[i].opt & (opts | O_ANY)))) i++;
        if (i == n) return unsupported(e, key, "not a config key sidecar knows for this class");
        sc_status st = apply_key(e, key, KEYS[i].kind, v, ms, ls);
        if (st != SC_OK) return st;
    }
    return SC_OK;
}

/* ---- shapes ------------------------------------------------------------------------------- */

static sc_metric_shapes metric_shapes(const sc_compile_shapes *s) {
    return (sc_metric_shapes){s->pred_rank, s->pred_last_dim, s->true_rank, s->true_last_dim};
}

/* pred_last_dim, for classes Keras sizes from the first batch; 0 when unknown. */
static int pred_classes(const sc_compile_ctx *c) {
    const sc_compile_shapes *s = c->sh;
    return s->pred_rank >= 2 && s->pred_last_dim > 0 && s->pred_last_dim <= (1 << 24)
               ? (int)s->pred_last_dim
               : 0;
}

/* ---- metrics ------------------------------------------------------------------------------ */

sc_status sc_compile_metric_string(const sc_compile_ctx *c, const char *what, const char *id,
                                   const char *loss_name, sc_metric **out) {
    sc_metric_shapes ms = metric_shapes(c->sh);
    sc_status st = sc_metric_from_string(id, &ms, loss_name, c->kv, out, c->err);
    if (st == SC_OK && c->kv == 3 && c->sh->backend != SC_BACKEND_TENSORFLOW) {
        /* from_string builds for TensorFlow; the backend matters only to sparse CE. */
        sc_metric_spec s = sc_metric_default_spec(sc_metric_class_name(*out));
        if (strcmp(s.class_name, "SparseCategoricalCrossentropy") == 0) {
            s.name = sc_metric_name(*out);
            s.keras_version = 3;
            s.backend = c->sh->backend;
            sc_metric *m = NULL;
            st = sc_metric_create(&s, &m, c->err);
            sc_metric_free(*out);
            *out = m;
        }
    }
    return st == SC_OK ? SC_OK : sc_error_prefix(c->err, st, "%s: %s", c->file, what);
}

sc_status sc_compile_metric(const sc_compile_ctx *c, const char *list, size_t idx, const json_t *v,
                            const char *loss_name, sc_metric **out) {
    entry e = {.c = c};
    snprintf(e.what, sizeof e.what, "%s[%zu]", list, idx);
    if (json_is_string(v))
        return sc_compile_metric_string(c, e.what, json_string_value(v), loss_name, out);
    if (!json_is_object(v))
        return sc_error_set(c->err, SC_INVALID_ARGUMENT,
                            "%s: %s: expected a string or a serialized metric, found %s", c->file,
                            e.what, sc_compile_json_type(v));
    const char *cls, *fn;
    const json_t *config;
    sc_status st = open_envelope(&e, v, &cls, &config, &fn);
    if (st != SC_OK) return st;
    if (fn) return sc_compile_metric_string(c, e.what, fn, loss_name, out);
    size_t i = 0, n = sizeof METRICS / sizeof METRICS[0];
    while (i < n && strcmp(METRICS[i].cls, cls) != 0) i++;
    if (i == n)
        return sc_error_set(c->err, SC_UNIMPLEMENTED, "%s: %s: metric class '%s' is not reproduced",
                            c->file, e.what, cls);
    sc_metric_spec s = sc_metric_default_spec(cls);
    s.keras_version = c->kv;
    s.backend = c->sh->backend;
    if ((st = apply_config(&e, config, METRICS[i].opts, &s, NULL)) != SC_OK) goto done;
    if (METRICS[i].required && !json_object_get(config, METRICS[i].required)) {
        st = sc_error_set(c->err, SC_INVALID_ARGUMENT, "%s: %s: key '%s' is required", c->file,
                          e.what, METRICS[i].required);
        goto done;
    }
    if (e.label_weights && s.num_labels == 0) s.num_labels = (int)e.num_label_weights;
    if (e.label_weights && (size_t)s.num_labels != e.num_label_weights) {
        st = sc_error_set(c->err, SC_INVALID_ARGUMENT,
                          "%s: %s: key 'label_weights': %zu weights for num_labels %d", c->file,
                          e.what, e.num_label_weights, s.num_labels);
        goto done;
    }
    /* Keras sizes the F-scores, R2Score and a multi-label AUC without num_labels from the first
     * batch: take the prediction's last dim. */
    int sized = (METRICS[i].opts & (O_AVERAGE | O_R2)) != 0;
    if (sized || (s.multi_label && s.num_labels == 0)) {
        int classes = pred_classes(c);
        if (classes == 0) {
            st = sc_error_set(c->err, SC_INVALID_ARGUMENT,
                              "%s: %s: needs predictions of shape [B, N] with N known", c->file,
                              e.what);
            goto done;
        }
        if (sized)
            s.num_classes = classes;
        else
            s.num_labels = classes;
    }
    st = sc_metric_create(&s, out, c->err);
    if (st != SC_OK) st = sc_error_prefix(c->err, st, "%s: %s", c->file, e.what);
done:
    free(e.thresholds);
    free(e.label_weights);
    return st;
}

/* ---- loss --------------------------------------------------------------------------------- */

/* Keras 3's "crossentropy"/"ce" loss strings (compile_utils.get_loss), by the shapes. */
static const char *ce_by_shapes(const sc_compile_shapes *s) {
    if (s->pred_rank <= 0) return NULL;
    if (s->pred_last_dim == 1) return "binary_crossentropy";
    if (s->true_rank < s->pred_rank || (s->true_last_dim == 1 && s->pred_last_dim > 1))
        return "sparse_categorical_crossentropy";
    return "categorical_crossentropy";
}

/* what: the entry for messages, or NULL when sc_loss_create's message names it already. */
static sc_status loss_make(const sc_compile_ctx *c, const char *what, sc_loss_spec *s,
                           sc_loss **out) {
    s->keras_version = c->kv;
    s->backend = c->sh->backend;
    sc_status st = sc_loss_create(s, out, c->err);
    if (st == SC_OK) return SC_OK;
    return what ? sc_error_prefix(c->err, st, "%s: %s", c->file, what)
                : sc_error_prefix(c->err, st, "%s", c->file);
}

sc_status sc_compile_loss_string(const sc_compile_ctx *c, const char *id, sc_loss **out) {
    const char *resolved = id;
    if (c->kv == 3 && (strcasecmp(id, "crossentropy") == 0 || strcasecmp(id, "ce") == 0)) {
        resolved = ce_by_shapes(c->sh);
        if (!resolved)
            return sc_error_set(c->err, SC_INVALID_ARGUMENT,
                                "%s: loss '%s': needs the output and label shapes to resolve",
                                c->file, id);
    }
    sc_loss_spec s = sc_loss_default_spec(resolved);
    return loss_make(c, NULL, &s, out);
}

sc_status sc_compile_loss(const sc_compile_ctx *c, const json_t *v, sc_loss **out) {
    entry e = {.c = c};
    snprintf(e.what, sizeof e.what, "loss");
    int by_output = json_is_object(v) && !json_object_get(v, "class_name");
    if (json_is_array(v) && json_array_size(v) == 1) {
        v = json_array_get(v, 0); /* [loss]: the one output's */
    } else if (by_output && json_object_size(v) == 1) {
        /* {"output_name": loss}. Not json_object_foreach with `v = x` in its body: the macro
         * re-reads its object argument to step, and would then walk x (a fuzzer crash). */
        v = json_object_iter_value(json_object_iter((json_t *)v));
    }
    if (json_is_null(v)) return SC_OK;
    if (json_is_array(v) || (json_is_object(v) && !json_object_get(v, "class_name")))
        return sc_error_set(c->err, SC_UNIMPLEMENTED,
                            "%s: loss: %s of %zu losses (a multi-output model) is not supported",
                            c->file, json_is_array(v) ? "a list" : "a dict",
                            json_is_array(v) ? json_array_size(v) : json_object_size(v));
    if (json_is_string(v)) return sc_compile_loss_string(c, json_string_value(v), out);
    if (!json_is_object(v))
        return sc_error_set(c->err, SC_INVALID_ARGUMENT,
                            "%s: loss: expected a string or a serialized loss, found %s", c->file,
                            sc_compile_json_type(v));
    const char *cls, *fn;
    const json_t *config;
    sc_status st = open_envelope(&e, v, &cls, &config, &fn);
    if (st != SC_OK) return st;
    if (fn) return sc_compile_loss_string(c, fn, out);
    size_t i = 0, n = sizeof LOSSES / sizeof LOSSES[0];
    while (i < n && strcmp(LOSSES[i].cls, cls) != 0) i++;
    if (i == n)
        return sc_error_set(c->err, SC_UNIMPLEMENTED, "%s: %s: loss class '%s' is not reproduced",
                            c->file, e.what, cls);
    sc_loss_spec s = sc_loss_default_spec(cls);
    st = apply_config(&e, config, LOSSES[i].opts | O_REDUCTION, NULL, &s);
    if (st != SC_OK) return st;
    return loss_make(c, e.what, &s, out);
}
