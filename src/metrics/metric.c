/* metrics/metric.c — the metric object: create, update, result, reset, merge; the mean-type
 * metrics (MeanMetricWrapper, Mean, RootMeanSquaredError) live here (FORMATS §9.1). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "metrics/metrics_internal.h"

sc_metric_spec sc_metric_default_spec(const char *class_name) {
    const sc_metric_class *c = sc_metric_class_find(class_name);
    int f = c && c->kind == SC_MK_FBETA;
    return (sc_metric_spec){.class_name = class_name,
                            .keras_version = 2,
                            .backend = SC_BACKEND_TENSORFLOW,
                            .threshold = f ? NAN : 0.5f,
                            .class_id = -1,
                            .num_thresholds = 200,
                            .curve = SC_AUC_ROC,
                            .summation_method = SC_AUC_INTERPOLATION,
                            .k = 5,
                            .sparse_y_true = 1,
                            .sparse_y_pred = 1,
                            .beta = 1.0f,
                            .average = SC_F_AVERAGE_NONE,
                            .class_aggregation = SC_R2_UNIFORM_AVERAGE};
}

static int is_mean_kind(sc_mkind k) {
    return k == SC_MK_MEAN_FN || k == SC_MK_MEAN || k == SC_MK_RMSE;
}

/* Checks the options the class reads (others are ignored). */
static sc_status check_spec(const sc_metric_spec *s, const sc_metric_class *c, const char *name,
                            sc_error *err) {
    int fn = c->kind == SC_MK_MEAN_FN ? c->sub : -1;
    if (s->keras_version != 2 && s->keras_version != 3)
        return sc_error_set(err, SC_INVALID_ARGUMENT,
                            "metric '%s': keras_version %d (expected 2 or 3)", name,
                            s->keras_version);
    if ((fn == SC_FN_TOP_K || fn == SC_FN_SPARSE_TOP_K) && s->k < 1)
        return sc_error_set(err, SC_INVALID_ARGUMENT, "metric '%s': k = %d (expected >= 1)", name,
                            s->k);
    if ((fn == SC_FN_BCE || fn == SC_FN_CCE)
        && !(s->label_smoothing >= 0.0f && s->label_smoothing <= 1.0f))
        return sc_error_set(err, SC_INVALID_ARGUMENT,
                            "metric '%s': label_smoothing %g (expected 0..1)", name,
                            (double)s->label_smoothing);
    if (fn == SC_FN_BINARY_ACCURACY && !isfinite(s->threshold))
        return sc_error_set(err, SC_INVALID_ARGUMENT, "metric '%s': threshold %g is not finite",
                            name, (double)s->threshold);
    return SC_OK;
}

sc_status sc_metric_create(const sc_metric_spec *s, sc_metric **out, sc_error *err) {
    *out = NULL;
    const sc_metric_class *c = sc_metric_class_find(s->class_name);
    if (!c)
        return sc_error_set(err, SC_INVALID_ARGUMENT, "metric: unknown class '%s'",
                            s->class_name ? s->class_name : "(null)");
    const char *name = s->name ? s->name : (s->keras_version >= 3 ? c->name_k3 : c->name_k2);
    if (!*name || strlen(name) >= SC_METRIC_NAME_MAX)
        return sc_error_set(err, SC_INVALID_ARGUMENT, "metric %s: name must be 1..%d bytes",
                            c->class_name, SC_METRIC_NAME_MAX - 1);
    sc_status st = check_spec(s, c, name, err);
    if (st != SC_OK) return st;
    sc_metric *m = calloc(1, sizeof *m);
    if (!m) return sc_error_set(err, SC_NO_MEMORY, "metric '%s': out of memory", name);
    m->cls = c;
    strcpy(m->name, name);
    memset(&m->o, 0, sizeof m->o);
    m->o.row = (sc_rowopts){.keras_version = s->keras_version,
                            .backend = s->keras_version >= 3 ? s->backend : SC_BACKEND_TENSORFLOW,
                            .threshold = s->threshold,
                            .k = s->k,
                            .from_logits = s->from_logits != 0,
                            .label_smoothing = s->label_smoothing,
                            .has_ignore_class = s->has_ignore_class != 0,
                            .ignore_class = s->has_ignore_class ? s->ignore_class : 0};
    /* Options a class ignores are zeroed, so that merge (memcmp of the options) does not refuse
     * two specs that differ only in them. */
    int fn = c->kind == SC_MK_MEAN_FN ? c->sub : -1;
    int ce = fn == SC_FN_BCE || fn == SC_FN_CCE || fn == SC_FN_SCCE;
    if (fn != SC_FN_BINARY_ACCURACY && c->kind != SC_MK_FBETA) m->o.row.threshold = 0.0f;
    if (fn != SC_FN_TOP_K && fn != SC_FN_SPARSE_TOP_K) m->o.row.k = 0;
    if (fn != SC_FN_BCE && fn != SC_FN_CCE) m->o.row.label_smoothing = 0.0f;
    if (!ce && c->kind != SC_MK_AUC) m->o.row.from_logits = 0;
    if (fn != SC_FN_SCCE && c->kind != SC_MK_IOU)
        m->o.row.has_ignore_class = m->o.row.ignore_class = 0;
    if (fn != SC_FN_SCCE) m->o.row.backend = SC_BACKEND_TENSORFLOW;
    if (is_mean_kind(c->kind)) {
        m->n_state = 2; /* total, count */
        m->state = calloc(2, sizeof *m->state);
        st = m->state ? SC_OK : sc_error_set(err, SC_NO_MEMORY, "metric '%s': out of memory", name);
    } else if (c->kind == SC_MK_CONFUSION || c->kind == SC_MK_AUC || c->kind == SC_MK_AT) {
        st = sc_confusion_init(m, s, err);
    } else {
        st = sc_other_init(m, s, err);
    }
    if (st != SC_OK) goto fail;
    *out = m;
    return SC_OK;
fail:
    sc_metric_free(m);
    return st;
}

void sc_metric_free(sc_metric *m) {
    if (!m) return;
    free(m->thresholds);
    free(m->label_weights);
    free(m->state);
    free(m->scratch);
    free(m);
}

const char *sc_metric_name(const sc_metric *m) { return m->name; }
const char *sc_metric_class_name(const sc_metric *m) { return m->cls->class_name; }

sc_status sc_metric_set_name(sc_metric *m, const char *name, sc_error *err) {
    size_t n = strlen(name);
    if (n == 0 || n >= SC_METRIC_NAME_MAX)
        return sc_error_set(err, SC_INVALID_ARGUMENT,
                            "metric '%s': new name must be 1..%d bytes (got %zu)", m->name,
                            SC_METRIC_NAME_MAX - 1, n);
    memcpy(m->name, name, n + 1);
    return SC_OK;
}

static sc_status mean_fn_update(sc_metric *m, const sc_metric_batch *b, sc_error *err) {
    sc_rowfn fn = (sc_rowfn)m->cls->sub;
    sc_rows r;
    sc_rowctx ctx;
    sc_status st = sc_rows_align(b, sc_rowfn_align(fn), m->name, &r, err);
    if (st == SC_OK) st = sc_rowfn_prepare(fn, &m->o.row, &r, m->name, &ctx, err);
    if (st != SC_OK) return st;
    double total = 0.0, count = 0.0;
    for (size_t i = 0; i < r.batch; i++) {
        for (size_t k = 0; k < r.rows; k++) {
            double w = sc_rows_row_weight(&r, i, k);
            int valid;
            float v = sc_rowfn_eval(fn, &ctx, sc_rows_true(&r, i, k), r.ct, sc_rows_pred(&r, i, k),
                                    r.cp, sc_rows_logits(&r, i, k), &valid);
            if (!valid) continue;
            total += (double)v * w;
            count += w;
        }
    }
    sc_acc_add(&m->state[0], total);
    sc_acc_add(&m->state[1], count);
    return SC_OK;
}

sc_status sc_metric_update_values(sc_metric *m, const float *values, const float *weights, size_t n,
                                  sc_error *err) {
    if (m->cls->kind != SC_MK_MEAN)
        return sc_error_set(err, SC_INVALID_ARGUMENT,
                            "metric '%s': update_values is for Mean, this is %s", m->name,
                            m->cls->class_name);
    double total = 0.0, count = 0.0;
    for (size_t i = 0; i < n; i++) {
        double w = weights ? weights[i] : 1.0;
        total += (double)values[i] * w;
        count += w;
    }
    sc_acc_add(&m->state[0], total);
    sc_acc_add(&m->state[1], count);
    return SC_OK;
}

static sc_status mean_update(sc_metric *m, const sc_metric_batch *b, sc_error *err) {
    size_t per = 1;
    if (b->batch > 0 && !b->y_pred)
        return sc_error_set(err, SC_INVALID_ARGUMENT, "metric '%s': no values (y_pred)", m->name);
    if (b->pred_rank < 0 || b->pred_rank > SC_METRIC_MAX_RANK || (b->pred_rank && !b->pred_dims))
        return sc_error_set(err, SC_INVALID_ARGUMENT, "metric '%s': bad value rank %d", m->name,
                            b->pred_rank);
    for (int i = 0; i < b->pred_rank; i++) {
        if (b->pred_dims[i] <= 0 || (uint64_t)b->pred_dims[i] > (SIZE_MAX / 2) / per)
            return sc_error_set(err, SC_INVALID_ARGUMENT, "metric '%s': value dim %d is %lld",
                                m->name, i, (long long)b->pred_dims[i]);
        per *= (size_t)b->pred_dims[i];
    }
    double total = 0.0, count = 0.0;
    /* A mask has one value per row of the last axis: rows of `last` values each. */
    size_t last = b->pred_rank ? (size_t)b->pred_dims[b->pred_rank - 1] : 1, rows = per / last;
    for (size_t i = 0; i < b->batch; i++) {
        double w = b->sample_weight ? b->sample_weight[i] : 1.0;
        for (size_t j = 0; j < per; j++) {
            double wj = b->mask ? w * b->mask[i * rows + j / last] : w;
            total += (double)b->y_pred[i * per + j] * wj;
            count += wj;
        }
    }
    sc_acc_add(&m->state[0], total);
    sc_acc_add(&m->state[1], count);
    return SC_OK;
}

sc_status sc_metric_update(sc_metric *m, const sc_metric_batch *b, sc_error *err) {
    if (b->sample_weight)
        for (size_t i = 0; i < b->batch; i++)
            if (!isfinite(b->sample_weight[i]))
                return sc_error_set(err, SC_INVALID_ARGUMENT,
                                    "metric '%s': sample weight %zu is not finite", m->name, i);
    switch (m->cls->kind) {
    case SC_MK_MEAN_FN:
    case SC_MK_RMSE: return mean_fn_update(m, b, err);
    case SC_MK_MEAN: return mean_update(m, b, err);
    case SC_MK_CONFUSION:
    case SC_MK_AUC:
    case SC_MK_AT: return sc_confusion_update(m, b, err);
    default: return sc_other_update(m, b, err);
    }
}

size_t sc_metric_result_size(const sc_metric *m) {
    if (is_mean_kind(m->cls->kind)) return 1;
    if (m->cls->kind == SC_MK_CONFUSION || m->cls->kind == SC_MK_AUC || m->cls->kind == SC_MK_AT)
        return sc_confusion_result_size(m);
    return sc_other_result_size(m);
}

void sc_metric_result_vector(const sc_metric *m, double *out) {
    if (is_mean_kind(m->cls->kind)) {
        float r = sc_div_no_nan(m->state[0], m->state[1]);
        out[0] = m->cls->kind == SC_MK_RMSE ? (double)sqrtf(r) : (double)r;
    } else if (m->cls->kind == SC_MK_CONFUSION || m->cls->kind == SC_MK_AUC
               || m->cls->kind == SC_MK_AT) {
        sc_confusion_result(m, out);
    } else {
        sc_other_result(m, out);
    }
}

sc_status sc_metric_result(const sc_metric *m, double *out, sc_error *err) {
    size_t n = sc_metric_result_size(m);
    if (n != 1)
        return sc_error_set(err, SC_INVALID_ARGUMENT,
                            "metric '%s': result has %zu values; use sc_metric_result_vector",
                            m->name, n);
    sc_metric_result_vector(m, out);
    return SC_OK;
}

void sc_metric_reset(sc_metric *m) {
    memset(m->state, 0, m->n_state * sizeof *m->state);
    m->n_elements = 0;
}

size_t sc_metric_state_len(const sc_metric *m) { return m->n_state; }

void sc_metric_state_get(const sc_metric *m, float *state, int64_t *n_elements) {
    memcpy(state, m->state, m->n_state * sizeof *state);
    *n_elements = m->n_elements;
}

sc_status sc_metric_state_add(sc_metric *m, const float *state, size_t n, int64_t n_elements,
                              sc_error *err) {
    if (n != m->n_state)
        return sc_error_set(err, SC_INVALID_ARGUMENT,
                            "metric '%s': cannot add a state of %zu values to one of %zu", m->name,
                            n, m->n_state);
    for (size_t i = 0; i < n; i++) m->state[i] += state[i];
    m->n_elements += n_elements;
    return SC_OK;
}

sc_status sc_metric_merge(sc_metric *dst, const sc_metric *src, sc_error *err) {
    int same = dst->cls == src->cls && memcmp(&dst->o, &src->o, sizeof dst->o) == 0
               && dst->n_state == src->n_state && dst->n_thr == src->n_thr
               && (!dst->n_thr
                   || memcmp(dst->thresholds, src->thresholds, dst->n_thr * sizeof(float)) == 0)
               && !dst->label_weights == !src->label_weights
               && (!dst->label_weights
                   || memcmp(dst->label_weights, src->label_weights,
                             (size_t)dst->o.num_labels * sizeof(float))
                          == 0);
    if (!same)
        return sc_error_set(err, SC_INVALID_ARGUMENT,
                            "metric '%s' (%s): cannot merge '%s' (%s): specs differ", dst->name,
                            dst->cls->class_name, src->name, src->cls->class_name);
    return sc_metric_state_add(dst, src->state, src->n_state, src->n_elements, err);
}
