/* metrics/fscore.c — per-class state metrics: F1Score/FBetaScore, MeanIoU, R2Score (Keras 2.15
 * f_score_metrics.py, iou_metrics.py, regression_metrics.py). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "metrics/metrics_internal.h"

#define MAX_CLASSES (1 << 12) /* MeanIoU keeps classes^2 floats */

static sc_status alloc_state(sc_metric *m, size_t n, size_t scratch, sc_error *err) {
    m->n_state = n;
    m->n_scratch = scratch;
    m->state = calloc(n, sizeof *m->state);
    m->scratch = calloc(scratch ? scratch : 1, sizeof *m->scratch);
    if (!m->state || !m->scratch)
        return sc_error_set(err, SC_NO_MEMORY, "metric '%s': out of memory", m->name);
    return SC_OK;
}

sc_status sc_other_init(sc_metric *m, const sc_metric_spec *s, sc_error *err) {
    if (s->num_classes < 1 || s->num_classes > MAX_CLASSES)
        return sc_error_set(err, SC_INVALID_ARGUMENT,
                            "metric '%s': num_classes %d (expected 1..%d)", m->name, s->num_classes,
                            MAX_CLASSES);
    size_t c = (size_t)s->num_classes;
    m->o.num_classes = s->num_classes;
    switch (m->cls->kind) {
    case SC_MK_FBETA: {
        float beta = m->cls->sub ? 1.0f : s->beta;
        if (!(beta > 0.0f) || !isfinite(beta))
            return sc_error_set(err, SC_INVALID_ARGUMENT, "metric '%s': beta %g (expected > 0)",
                                m->name, (double)beta);
        if (!isnan(s->threshold) && !(s->threshold > 0.0f && s->threshold <= 1.0f))
            return sc_error_set(err, SC_INVALID_ARGUMENT,
                                "metric '%s': threshold %g (expected in (0, 1] or NAN)", m->name,
                                (double)s->threshold);
        if ((unsigned)s->average > SC_F_AVERAGE_WEIGHTED)
            return sc_error_set(err, SC_INVALID_ARGUMENT, "metric '%s': bad average", m->name);
        m->o.beta = beta;
        m->o.average = s->average;
        m->o.fthreshold = s->threshold;
        size_t k = s->average == SC_F_AVERAGE_MICRO ? 1 : c;
        return alloc_state(m, 4 * k, 4 * k, err);
    }
    case SC_MK_IOU:
        if (!s->sparse_y_true && s->sparse_y_pred)
            return sc_error_set(err, SC_UNIMPLEMENTED,
                                "metric '%s': one-hot labels with sparse predictions", m->name);
        m->o.sparse_y_true = s->sparse_y_true != 0;
        m->o.sparse_y_pred = s->sparse_y_pred != 0;
        m->o.row.has_ignore_class = s->has_ignore_class != 0;
        m->o.row.ignore_class = s->has_ignore_class ? s->ignore_class : 0;
        return alloc_state(m, c * c, 0, err);
    case SC_MK_R2:
        if ((unsigned)s->class_aggregation > SC_R2_NONE || s->num_regressors < 0)
            return sc_error_set(err, SC_INVALID_ARGUMENT,
                                "metric '%s': bad class_aggregation or num_regressors", m->name);
        m->o.r2_agg = s->class_aggregation;
        m->o.num_regressors = s->num_regressors;
        return alloc_state(m, 4 * c, 4 * c, err);
    default:
        return sc_error_set(err, SC_INVALID_ARGUMENT, "metric '%s': not a per-class metric",
                            m->name);
    }
}

static sc_status check_classes(const sc_metric *m, const sc_rows *r, sc_error *err) {
    if (r->ct != r->cp || r->cp != (size_t)m->o.num_classes)
        return sc_error_set(err, SC_INVALID_ARGUMENT,
                            "%s: rows of %zu labels and %zu predictions (expected %d each)",
                            m->name, r->ct, r->cp, m->o.num_classes);
    return SC_OK;
}

static sc_status fbeta_update(sc_metric *m, const sc_rows *r, sc_error *err) {
    sc_status st = check_classes(m, r, err);
    if (st != SC_OK) return st;
    size_t k = m->n_state / 4, c = r->cp;
    double *s = m->scratch;
    memset(s, 0, m->n_scratch * sizeof *s);
    for (size_t i = 0; i < r->batch; i++) {
        for (size_t row = 0; row < r->rows; row++) {
            double w = sc_rows_row_weight(r, i, row);
            const float *y = sc_rows_true(r, i, row), *p = sc_rows_pred(r, i, row);
            /* Keras' threshold=None: y_pred >= reduce_max(y_pred), which is NaN for a row
             * holding a NaN, so no class of that row is predicted. */
            float mx = sc_row_max(p, c);
            /* "make sure [0, 0, 0] doesn't become [1, 1, 1]": abs(y_pred) > 1e-12 in Keras 2
             * (keras/src/metrics/f_score_metrics.py), 1e-9 in Keras 3. */
            float eps = m->o.row.keras_version >= 3 ? 1e-9f : 1e-12f;
            for (size_t j = 0; j < c; j++) {
                float pred = isnan(m->o.fthreshold)
                                 ? (p[j] >= mx && fabsf(p[j]) > eps) /* row maximum */
                                 : p[j] > m->o.fthreshold;
                size_t x = k == 1 ? 0 : j;
                s[x] += (double)(pred * y[j]) * w;
                s[k + x] += (double)(pred * (1.0f - y[j])) * w;
                s[2 * k + x] += (double)((1.0f - pred) * y[j]) * w;
                s[3 * k + x] += (double)y[j] * w;
            }
        }
    }
    for (size_t i = 0; i < 4 * k; i++) sc_acc_add(&m->state[i], s[i]);
    return SC_OK;
}

static int class_index(float v, int n, int64_t *out) {
    *out = sc_label_int(v); /* tf.math.confusion_matrix casts to int64 */
    return *out >= 0 && *out < n;
}

static sc_status iou_update(sc_metric *m, const sc_metric_batch *b, sc_error *err) {
    sc_rows r;
    sc_align_mode mode = m->o.sparse_y_pred ? SC_ALIGN_SAME : SC_ALIGN_SPARSE;
    if (!m->o.sparse_y_true) mode = SC_ALIGN_SAME;
    sc_status st = sc_rows_align(b, mode, m->name, &r, err);
    if (st != SC_OK) return st;
    if (mode == SC_ALIGN_SAME && r.ct != r.cp)
        return sc_error_set(err, SC_INVALID_ARGUMENT,
                            "%s: %zu labels against %zu predictions per row", m->name, r.ct, r.cp);
    int n = m->o.num_classes, one_hot = !m->o.sparse_y_true;
    size_t per = one_hot || !m->o.sparse_y_pred ? 1 : r.cp; /* ids per row */
    for (int pass = 0; pass < 2; pass++) {                  /* validate everything, then count */
        for (size_t i = 0; i < r.batch; i++) {
            for (size_t row = 0; row < r.rows; row++) {
                float w = sc_rows_row_weight(&r, i, row);
                const float *y = sc_rows_true(&r, i, row), *p = sc_rows_pred(&r, i, row);
                for (size_t j = 0; j < per; j++) {
                    float yt = one_hot ? (float)sc_argmax(y, r.ct) : y[j];
                    float yp = m->o.sparse_y_pred ? p[j] : (float)sc_argmax(p, r.cp);
                    if (m->o.row.has_ignore_class && sc_label_int(yt) == m->o.row.ignore_class)
                        continue;
                    int64_t t, q;
                    if (!class_index(yt, n, &t) || !class_index(yp, n, &q))
                        return sc_error_set(err, SC_INVALID_ARGUMENT,
                                            "%s: sample %zu: label %g / prediction %g outside "
                                            "[0, %d)",
                                            m->name, i, (double)yt, (double)yp, n);
                    if (pass) m->state[t * n + q] += w;
                }
            }
        }
    }
    return SC_OK;
}

static sc_status r2_update(sc_metric *m, const sc_metric_batch *b, sc_error *err) {
    sc_rows r;
    sc_status st = sc_rows_align(b, SC_ALIGN_SAME, m->name, &r, err);
    if (st == SC_OK) st = check_classes(m, &r, err);
    if (st != SC_OK) return st;
    if (r.rows != 1)
        return sc_error_set(err, SC_INVALID_ARGUMENT, "%s: expects [B, outputs] inputs", m->name);
    size_t d = r.cp;
    double *s = m->scratch;
    memset(s, 0, m->n_scratch * sizeof *s);
    for (size_t i = 0; i < r.batch; i++) {
        double w = sc_rows_row_weight(&r, i, 0);
        const float *y = sc_rows_true(&r, i, 0), *p = sc_rows_pred(&r, i, 0);
        for (size_t j = 0; j < d; j++) {
            float e = y[j] - p[j];
            s[j] += (double)y[j] * w;
            s[d + j] += (double)y[j] * y[j] * w;
            s[2 * d + j] += (double)(e * e) * w;
            s[3 * d + j] += w;
        }
    }
    for (size_t i = 0; i < 4 * d; i++) sc_acc_add(&m->state[i], s[i]);
    m->n_elements += (int64_t)(r.batch * d);
    return SC_OK;
}

sc_status sc_other_update(sc_metric *m, const sc_metric_batch *b, sc_error *err) {
    if (m->cls->kind == SC_MK_IOU) return iou_update(m, b, err);
    if (m->cls->kind == SC_MK_R2) return r2_update(m, b, err);
    sc_rows r;
    sc_status st = sc_rows_align(b, SC_ALIGN_SAME, m->name, &r, err);
    return st != SC_OK ? st : fbeta_update(m, &r, err);
}

size_t sc_other_result_size(const sc_metric *m) {
    if (m->cls->kind == SC_MK_FBETA && m->o.average == SC_F_AVERAGE_NONE)
        return (size_t)m->o.num_classes;
    if (m->cls->kind == SC_MK_R2 && m->o.r2_agg == SC_R2_NONE) return (size_t)m->o.num_classes;
    return 1;
}

static void fbeta_result(const sc_metric *m, double *out) {
    size_t k = m->n_state / 4;
    const float *tp = m->state, *fp = tp + k, *fn = fp + k, *iw = fn + k;
    float b2 = m->o.beta * m->o.beta, iw_sum = 0.0f;
    double acc = 0.0;
    for (size_t j = 0; j < k; j++) iw_sum += iw[j];
    for (size_t j = 0; j < k; j++) {
        float pr = sc_div_no_nan(tp[j], tp[j] + fp[j]), rc = sc_div_no_nan(tp[j], tp[j] + fn[j]);
        float f = sc_div_no_nan(pr * rc, b2 * pr + rc) * (1.0f + b2);
        if (m->o.average == SC_F_AVERAGE_NONE)
            out[j] = f;
        else if (m->o.average == SC_F_AVERAGE_WEIGHTED)
            acc += f * sc_div_no_nan(iw[j], iw_sum);
        else
            acc += f;
    }
    if (m->o.average == SC_F_AVERAGE_WEIGHTED)
        out[0] = (float)acc;
    else if (m->o.average != SC_F_AVERAGE_NONE)
        out[0] = (float)(acc / (double)k);
}

static void iou_result(const sc_metric *m, double *out) {
    int n = m->o.num_classes;
    double sum = 0.0;
    int valid = 0;
    for (int c = 0; c < n; c++) {
        float row = 0.0f, col = 0.0f, tp = m->state[c * n + c];
        for (int j = 0; j < n; j++) {
            row += m->state[c * n + j]; /* true c */
            col += m->state[j * n + c]; /* predicted c */
        }
        float den = row + col - tp;
        if (den != 0.0f) valid++;
        sum += sc_div_no_nan(tp, den);
    }
    out[0] = valid ? (float)(sum / valid) : 0.0f;
}

static void r2_result(const sc_metric *m, double *out) {
    size_t d = (size_t)m->o.num_classes;
    const float *sum = m->state, *sq = sum + d, *mse = sq + d, *cnt = mse + d;
    double mean_acc = 0.0, wnum = 0.0, wden = 0.0;
    for (size_t j = 0; j < d; j++) {
        float mean = sum[j] / cnt[j];
        float total = sq[j] - sum[j] * mean;
        float raw = 1.0f - mse[j] / total;
        if (isinf(raw)) raw = 0.0f;
        if (m->o.r2_agg == SC_R2_NONE) out[j] = raw;
        mean_acc += raw;
        wnum += (double)total * raw;
        wden += total;
    }
    size_t n_out = m->o.r2_agg == SC_R2_NONE ? d : 1;
    if (m->o.r2_agg == SC_R2_UNIFORM_AVERAGE) out[0] = (float)(mean_acc / (double)d);
    if (m->o.r2_agg == SC_R2_VARIANCE_WEIGHTED_AVERAGE) out[0] = (float)(wnum / wden);
    int64_t n = m->n_elements, p = m->o.num_regressors;
    if (p != 0 && p < n - 1) /* adjusted R2; Keras only warns otherwise */
        for (size_t j = 0; j < n_out; j++)
            out[j] = 1.0f - (float)((1.0 - out[j]) * (double)(n - 1) / (double)(n - p - 1));
}

void sc_other_result(const sc_metric *m, double *out) {
    if (m->cls->kind == SC_MK_FBETA)
        fbeta_result(m, out);
    else if (m->cls->kind == SC_MK_IOU)
        iou_result(m, out);
    else
        r2_result(m, out);
}
