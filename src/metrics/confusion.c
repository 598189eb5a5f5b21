/* metrics/confusion.c — thresholded confusion counts: Precision, Recall, TruePositives ..
 * FalseNegatives, AUC and the *At* metrics (FORMATS §9.3; Keras 2 metrics_utils
 * update_confusion_matrix_variables and its evenly-spaced "bucket" shortcut).
 *
 * State layout: TP[L*T], FP[L*T], TN[L*T], FN[L*T], label-major (L = labels for a multi-label
 * AUC, else 1; T = thresholds). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "metrics/metrics_internal.h"

#define NEG_INF_KERAS (-1e10f) /* metrics_utils.NEG_INF */

static size_t labels_of(const sc_metric *m) {
    return m->cls->kind == SC_MK_AUC && m->o.multi_label ? (size_t)m->o.num_labels : 1;
}

static sc_status alloc_state(sc_metric *m, size_t scratch, sc_error *err) {
    size_t lt = labels_of(m) * m->n_thr;
    m->n_state = 4 * lt;
    m->n_scratch = scratch;
    m->state = calloc(m->n_state, sizeof *m->state);
    m->scratch = calloc(scratch, sizeof *m->scratch);
    if (!m->state || !m->scratch)
        return sc_error_set(err, SC_NO_MEMORY, "metric '%s': out of memory", m->name);
    return SC_OK;
}

static sc_status set_thresholds(sc_metric *m, const float *src, size_t n, sc_error *err) {
    m->thresholds = malloc(n * sizeof *m->thresholds);
    if (!m->thresholds)
        return sc_error_set(err, SC_NO_MEMORY, "metric '%s': out of memory", m->name);
    memcpy(m->thresholds, src, n * sizeof *src);
    m->n_thr = n;
    return SC_OK;
}

static int cmp_float(const void *a, const void *b) {
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

static sc_status init_auc(sc_metric *m, const sc_metric_spec *s, sc_error *err) {
    m->o.curve = s->curve;
    m->o.summation = s->summation_method;
    m->o.multi_label = s->multi_label != 0;
    m->o.with_epsilon = 1;
    if ((s->multi_label || s->label_weights) && (s->num_labels < 1 || s->num_labels > 1 << 20))
        return sc_error_set(err, SC_INVALID_ARGUMENT,
                            "metric '%s': multi_label or label_weights need num_labels (got %d)",
                            m->name, s->num_labels);
    m->o.num_labels = (s->multi_label || s->label_weights) ? s->num_labels : 0;
    if (s->label_weights) {
        m->label_weights = malloc((size_t)s->num_labels * sizeof(float));
        if (!m->label_weights)
            return sc_error_set(err, SC_NO_MEMORY, "metric '%s': out of memory", m->name);
        for (int i = 0; i < s->num_labels; i++) {
            if (!(s->label_weights[i] >= 0.0f) || !isfinite(s->label_weights[i]))
                return sc_error_set(err, SC_INVALID_ARGUMENT,
                                    "metric '%s': label_weights[%d] = %g (expected >= 0)", m->name,
                                    i, (double)s->label_weights[i]);
            m->label_weights[i] = s->label_weights[i];
        }
    }
    size_t t = s->thresholds
                   ? (s->num_threshold_values > 1u << 20 ? 0 : s->num_threshold_values + 2)
                   : (s->num_thresholds > 0 ? (size_t)s->num_thresholds : 0);
    if (t < 2 || t > 1u << 20)
        return sc_error_set(err, SC_INVALID_ARGUMENT,
                            "metric '%s': num_thresholds %zu (expected > 1)", m->name, t);
    float *thr = malloc(t * sizeof *thr);
    if (!thr) return sc_error_set(err, SC_NO_MEMORY, "metric '%s': out of memory", m->name);
    thr[0] = 0.0f - SC_EPSILON;
    thr[t - 1] = 1.0f + SC_EPSILON;
    if (s->thresholds) {
        for (size_t i = 0; i < s->num_threshold_values; i++)
            if (!(s->thresholds[i] >= 0.0f && s->thresholds[i] <= 1.0f)) {
                free(thr);
                return sc_error_set(err, SC_INVALID_ARGUMENT,
                                    "metric '%s': threshold %g outside [0, 1]", m->name,
                                    (double)s->thresholds[i]);
            }
        memcpy(thr + 1, s->thresholds, s->num_threshold_values * sizeof *thr);
        qsort(thr + 1, t - 2, sizeof *thr, cmp_float);
    } else {
        for (size_t i = 1; i + 1 < t; i++) thr[i] = (float)((double)i / (double)(t - 1));
        m->o.evenly = 1;
    }
    m->thresholds = thr;
    m->n_thr = t;
    m->o.num_thresholds = (int)t;
    size_t l = labels_of(m); /* scratch: buckets (2LT + 2L) or per-threshold counts (4LT) */
    return alloc_state(m, 4 * l * t + 2 * l, err);
}

sc_status sc_confusion_init(sc_metric *m, const sc_metric_spec *s, sc_error *err) {
    m->o.row.from_logits = m->cls->kind == SC_MK_AUC && s->from_logits;
    if (s->class_id < -1 || s->top_k < 0)
        return sc_error_set(err, SC_INVALID_ARGUMENT, "metric '%s': class_id %d / top_k %d",
                            m->name, s->class_id, s->top_k);
    m->o.class_id = m->cls->kind == SC_MK_AUC ? -1 : s->class_id;
    if (m->cls->kind == SC_MK_AUC) return init_auc(m, s, err);
    sc_status st;
    if (m->cls->kind == SC_MK_CONFUSION) {
        m->o.top_k = s->top_k;
        if (s->thresholds && s->num_threshold_values > 0) {
            if (s->num_threshold_values > 1u << 20)
                return sc_error_set(err, SC_INVALID_ARGUMENT, "metric '%s': too many thresholds",
                                    m->name);
            for (size_t i = 0; i < s->num_threshold_values; i++)
                if (!(s->thresholds[i] >= 0.0f && s->thresholds[i] <= 1.0f))
                    return sc_error_set(err, SC_INVALID_ARGUMENT,
                                        "metric '%s': threshold %g outside [0, 1]", m->name,
                                        (double)s->thresholds[i]);
            st = set_thresholds(m, s->thresholds, s->num_threshold_values, err);
        } else {
            /* Keras: 0.5, or NEG_INF with top_k so that every top-k entry counts. */
            float d = s->top_k ? NEG_INF_KERAS : 0.5f;
            st = set_thresholds(m, &d, 1, err);
        }
        if (st != SC_OK) return st;
        return alloc_state(m, 4 * m->n_thr, err);
    }
    /* SensitivitySpecificityBase */
    if (!(s->target >= 0.0f && s->target <= 1.0f))
        return sc_error_set(err, SC_INVALID_ARGUMENT, "metric '%s': target %g outside [0, 1]",
                            m->name, (double)s->target);
    if (s->num_thresholds < 1 || s->num_thresholds > 1 << 20)
        return sc_error_set(err, SC_INVALID_ARGUMENT, "metric '%s': num_thresholds %d", m->name,
                            s->num_thresholds);
    m->o.target = s->target;
    m->o.num_thresholds = s->num_thresholds;
    size_t t = (size_t)s->num_thresholds;
    float *thr = malloc(t * sizeof *thr);
    if (!thr) return sc_error_set(err, SC_NO_MEMORY, "metric '%s': out of memory", m->name);
    if (t == 1) {
        thr[0] = 0.5f;
    } else {
        thr[0] = 0.0f;
        thr[t - 1] = 1.0f;
        for (size_t i = 1; i + 1 < t; i++) thr[i] = (float)((double)i / (double)(t - 1));
        m->o.evenly = 1;
    }
    m->thresholds = thr;
    m->n_thr = t;
    return alloc_state(m, 4 * t + 2, err);
}

/* The k-th entry of a row in (value desc, index asc) order, as tf.nn.top_k ranks ties, found
 * without a buffer: k passes, each taking the largest entry below the previous one. */
static void kth_of_row(const float *p, size_t n, size_t k, float *kv, size_t *ki) {
    float lv = INFINITY;
    size_t li = 0;
    int have = 0;
    for (size_t pass = 0; pass < k && pass < n; pass++) {
        int found = 0;
        float bv = 0.0f;
        size_t bi = 0;
        for (size_t j = 0; j < n; j++) {
            int below = !have || p[j] < lv || (p[j] == lv && j > li);
            if (!below) continue;
            if (!found || p[j] > bv) {
                bv = p[j];
                bi = j;
                found = 1;
            }
        }
        if (!found) break;
        lv = bv;
        li = bi;
        have = 1;
    }
    *kv = lv;
    *ki = li;
}

static float sigmoidf(float x) { return 1.0f / (1.0f + expf(-x)); }

sc_status sc_confusion_update(sc_metric *m, const sc_metric_batch *b, sc_error *err) {
    sc_rows r;
    sc_status st = sc_rows_align(b, SC_ALIGN_SAME, m->name, &r, err);
    if (st != SC_OK) return st;
    if (r.ct != r.cp)
        return sc_error_set(err, SC_INVALID_ARGUMENT,
                            "%s: labels have %zu values per row, predictions %zu", m->name, r.ct,
                            r.cp);
    int logits = m->o.row.from_logits;
    if (m->o.row.keras_version == 2) {
        size_t n = r.batch * r.rows * r.cp;
        for (size_t i = 0; i < n; i++) {
            float p = logits ? sigmoidf(r.p[i]) : r.p[i];
            if (!(p >= 0.0f && p <= 1.0f))
                return sc_error_set(err, SC_INVALID_ARGUMENT,
                                    "%s: sample %zu: prediction %g outside [0, 1]", m->name,
                                    i / (r.rows * r.cp), (double)p);
        }
    }
    if (m->o.class_id >= 0 && (size_t)m->o.class_id >= r.cp)
        return sc_error_set(err, SC_INVALID_ARGUMENT, "%s: class_id %d but rows have %zu values",
                            m->name, m->o.class_id, r.cp);
    if (m->o.num_labels > 0 && (size_t)m->o.num_labels != r.cp)
        return sc_error_set(err, SC_INVALID_ARGUMENT, "%s: %d labels configured, rows have %zu",
                            m->name, m->o.num_labels, r.cp);

    size_t T = m->n_thr, L = labels_of(m);
    double *s = m->scratch;
    memset(s, 0, m->n_scratch * sizeof *s);
    size_t j0 = m->o.class_id >= 0 ? (size_t)m->o.class_id : 0;
    size_t j1 = m->o.class_id >= 0 ? j0 + 1 : r.cp;
    for (size_t i = 0; i < r.batch; i++) {
        for (size_t k = 0; k < r.rows; k++) {
            double sw = sc_rows_row_weight(&r, i, k);
            const float *py = sc_rows_true(&r, i, k), *pp = sc_rows_pred(&r, i, k);
            float kv = 0.0f;
            size_t ki = 0;
            if (m->o.top_k) kth_of_row(pp, r.cp, (size_t)m->o.top_k, &kv, &ki);
            for (size_t j = j0; j < j1; j++) {
                float p = logits ? sigmoidf(pp[j]) : pp[j];
                if (m->o.top_k && (size_t)m->o.top_k < r.cp && (p < kv || (p == kv && j > ki)))
                    p = NEG_INF_KERAS;
                int pos = py[j] != 0.0f;
                double w = sw * (m->label_weights && !m->o.multi_label ? m->label_weights[j] : 1.0);
                size_t l = L > 1 ? j : 0;
                if (m->o.evenly) {
                    double *tpb = s + l * T, *fpb = s + L * T + l * T, *tot = s + 2 * L * T + 2 * l;
                    tot[pos ? 0 : 1] += w;
                    /* Keras 3 (Keras 2 refused NaN above): its explicit-threshold path counts a
                     * NaN negative at every threshold (greater(NaN, t) is false); so does its
                     * TF bucket path (clip keeps NaN, NaN cast to int32 is INT_MIN on x86 and
                     * unsorted_segment_sum drops negative ids). Only the totals see it. */
                    if (isnan(p)) continue;
                    float c = fminf(fmaxf(p, 0.0f), 1.0f);
                    float bucket = ceilf(c * (float)(T - 1)) - 1.0f;
                    if (m->o.with_epsilon && bucket < 0.0f) bucket = 0.0f;
                    if (bucket < 0.0f) continue; /* 0 without the -eps end point: below all */
                    (pos ? tpb : fpb)[(size_t)bucket] += w;
                } else { /* blocks TP, FP, TN, FN of L*T each */
                    for (size_t t = 0; t < T; t++) {
                        int pp_ = p > m->thresholds[t];
                        s[(pos ? (pp_ ? 0 : 3) : (pp_ ? 1 : 2)) * L * T + l * T + t] += w;
                    }
                }
            }
        }
    }
    float *tp = m->state, *fp = tp + L * T, *tn = fp + L * T, *fn = tn + L * T;
    if (m->o.evenly) {
        for (size_t l = 0; l < L; l++) {
            const double *tpb = s + l * T, *fpb = s + L * T + l * T, *tot = s + 2 * L * T + 2 * l;
            double ctp = 0.0, cfp = 0.0;
            for (size_t t = T; t-- > 0;) {
                ctp += tpb[t];
                cfp += fpb[t];
                sc_acc_add(&tp[l * T + t], ctp);
                sc_acc_add(&fp[l * T + t], cfp);
                sc_acc_add(&tn[l * T + t], tot[1] - cfp);
                sc_acc_add(&fn[l * T + t], tot[0] - ctp);
            }
        }
    } else {
        for (size_t t = 0; t < L * T; t++) {
            sc_acc_add(&tp[t], s[t]);
            sc_acc_add(&fp[t], s[L * T + t]);
            sc_acc_add(&tn[t], s[2 * L * T + t]);
            sc_acc_add(&fn[t], s[3 * L * T + t]);
        }
    }
    return SC_OK;
}

size_t sc_confusion_result_size(const sc_metric *m) {
    return m->cls->kind == SC_MK_CONFUSION ? m->n_thr : 1;
}

/* Area under one label's curve (Keras AUC.result / interpolate_pr_auc), float32 terms. */
static double auc_one(const sc_metric *m, const float *tp, const float *fp, const float *tn,
                      const float *fn) {
    size_t T = m->n_thr;
    double sum = 0.0;
    if (m->o.curve == SC_AUC_PR && m->o.summation == SC_AUC_INTERPOLATION) {
        for (size_t i = 0; i + 1 < T; i++) {
            float dtp = tp[i] - tp[i + 1];
            float p0 = tp[i] + fp[i], p1 = tp[i + 1] + fp[i + 1];
            float dp = p0 - p1;
            float slope = sc_div_no_nan(dtp, fmaxf(dp, 0.0f));
            float intercept = tp[i + 1] - slope * p1;
            float ratio = (p0 > 0.0f && p1 > 0.0f) ? sc_div_no_nan(p0, fmaxf(p1, 0.0f)) : 1.0f;
            sum += sc_div_no_nan(slope * (dtp + intercept * logf(ratio)),
                                 fmaxf(tp[i + 1] + fn[i + 1], 0.0f));
        }
        return sum;
    }
    for (size_t i = 0; i + 1 < T; i++) {
        float x0, x1, y0, y1;
        float r0 = sc_div_no_nan(tp[i], tp[i] + fn[i]),
              r1 = sc_div_no_nan(tp[i + 1], tp[i + 1] + fn[i + 1]);
        if (m->o.curve == SC_AUC_ROC) {
            x0 = sc_div_no_nan(fp[i], fp[i] + tn[i]);
            x1 = sc_div_no_nan(fp[i + 1], fp[i + 1] + tn[i + 1]);
            y0 = r0;
            y1 = r1;
        } else {
            x0 = r0;
            x1 = r1;
            y0 = sc_div_no_nan(tp[i], tp[i] + fp[i]);
            y1 = sc_div_no_nan(tp[i + 1], tp[i + 1] + fp[i + 1]);
        }
        float h = m->o.summation == SC_AUC_INTERPOLATION ? (y0 + y1) / 2.0f
                  : m->o.summation == SC_AUC_MINORING    ? fminf(y0, y1)
                                                         : fmaxf(y0, y1);
        sum += (double)((x0 - x1) * h);
    }
    return sum;
}

static double at_result(const sc_metric *m) {
    size_t T = m->n_thr;
    const float *tp = m->state, *fp = tp + T, *tn = fp + T, *fn = tn + T;
    float best = 0.0f;
    int any = 0;
    for (size_t t = 0; t < T; t++) {
        float recall = sc_div_no_nan(tp[t], tp[t] + fn[t]);
        float precision = sc_div_no_nan(tp[t], tp[t] + fp[t]);
        float specificity = sc_div_no_nan(tn[t], tn[t] + fp[t]);
        float cons, dep;
        switch ((sc_at_which)m->cls->sub) {
        case SC_AT_PRECISION_AT_RECALL:
            cons = recall;
            dep = precision;
            break;
        case SC_AT_RECALL_AT_PRECISION:
            cons = precision;
            dep = recall;
            break;
        case SC_AT_SENSITIVITY_AT_SPECIFICITY:
            cons = specificity;
            dep = recall;
            break;
        default:
            cons = recall;
            dep = specificity;
            break;
        }
        if (cons >= m->o.target && (!any || dep > best)) {
            best = dep;
            any = 1;
        }
    }
    return best;
}

void sc_confusion_result(const sc_metric *m, double *out) {
    size_t T = m->n_thr, L = labels_of(m);
    const float *tp = m->state, *fp = tp + L * T, *tn = fp + L * T, *fn = tn + L * T;
    if (m->cls->kind == SC_MK_AT) {
        out[0] = at_result(m);
        return;
    }
    if (m->cls->kind == SC_MK_AUC) {
        if (L == 1) {
            out[0] = (double)(float)auc_one(m, tp, fp, tn, fn);
            return;
        }
        double num = 0.0, den = 0.0;
        for (size_t l = 0; l < L; l++) {
            float a = (float)auc_one(m, tp + l * T, fp + l * T, tn + l * T, fn + l * T);
            double w = m->label_weights ? m->label_weights[l] : 1.0;
            num += a * w;
            den += w;
        }
        out[0] = (double)(den == 0.0 ? 0.0f : (float)(num / den));
        return;
    }
    for (size_t t = 0; t < T; t++) {
        float v;
        switch ((sc_cm_which)m->cls->sub) {
        case SC_CM_PRECISION: v = sc_div_no_nan(tp[t], tp[t] + fp[t]); break;
        case SC_CM_RECALL: v = sc_div_no_nan(tp[t], tp[t] + fn[t]); break;
        case SC_CM_TP: v = tp[t]; break;
        case SC_CM_FP: v = fp[t]; break;
        case SC_CM_TN: v = tn[t]; break;
        default: v = fn[t]; break;
        }
        out[t] = v;
    }
}
