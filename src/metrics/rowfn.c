/* metrics/rowfn.c — the Keras loss and metric functions, one row (last axis) at a time, in
 * float32 as Keras computes them (FORMATS §9.2, §9.4, §9.5). Both the metrics (MeanMetricWrapper)
 * and the losses reduce these per-row values. */
#include <float.h>
#include <math.h>

#include "core/error.h"
#include "core/nanmath.h"
#include "metrics/metrics_internal.h"

/* tf.math.argmax on CPU: tensorflow/core/kernels/argmax_op.h evaluates
 * `input.argmax(dimension)`, Eigen's ArgMaxPairReducer (TensorFunctors.h), a sequential scan of
 * the row from the pair (index 0, NumTraits<float>::lowest()) that takes an entry only when
 * `t.second > accum->second` (or an equal value at a lower index, which a forward scan never
 * meets). NaN compares false, so a NaN is never taken: NaNs are skipped wherever they are, and a
 * row of NaNs (or of values <= -FLT_MAX) gives index 0. Ties: the first. */
size_t sc_argmax(const float *x, size_t n) {
    size_t best = 0;
    float bv = -FLT_MAX;
    for (size_t j = 0; j < n; j++)
        if (x[j] > bv) {
            bv = x[j];
            best = j;
        }
    return best;
}

/* tf.reduce_max on CPU: reduction_ops_max.cc registers MaxReducer<T, Eigen::PropagateNaN>, so
 * one NaN makes the maximum NaN. */
float sc_row_max(const float *x, size_t n) {
    float m = n ? x[0] : -INFINITY;
    for (size_t j = 1; j < n; j++) m = sc_maxf(m, x[j]);
    return m;
}

sc_align_mode sc_rowfn_align(sc_rowfn fn) {
    switch (fn) {
    case SC_FN_SPARSE_CATEGORICAL_ACCURACY:
    case SC_FN_SPARSE_TOP_K:
    case SC_FN_SCCE: return SC_ALIGN_SPARSE;
    default: return SC_ALIGN_SAME;
    }
}

static int needs_equal_last_dim(sc_rowfn fn) {
    return fn == SC_FN_CCE || fn == SC_FN_CATEGORICAL_HINGE || fn == SC_FN_COSINE
           || fn == SC_FN_CATEGORICAL_ACCURACY || fn == SC_FN_TOP_K;
}

sc_status sc_rowfn_prepare(sc_rowfn fn, const sc_rowopts *o, const sc_rows *r, const char *who,
                           sc_rowctx *ctx, sc_error *err) {
    *ctx = (sc_rowctx){.o = o, .hinge_convert = 0};
    if (needs_equal_last_dim(fn) && r->ct != r->cp) {
        /* One class index per row where one-hot rows are expected: the sparse variant fits. */
        const char *other = fn == SC_FN_CCE                    ? "sparse_categorical_crossentropy"
                            : fn == SC_FN_CATEGORICAL_ACCURACY ? "sparse_categorical_accuracy"
                            : fn == SC_FN_TOP_K                ? "sparse_top_k_categorical_accuracy"
                                                               : NULL;
        if (r->ct == 1 && r->cp > 1 && other)
            return sc_error_set(err, SC_INVALID_ARGUMENT,
                                "%s: the labels hold one class index per example, but it expects "
                                "one-hot labels (%zu per row, as the predictions): use %s for "
                                "integer labels",
                                who, r->cp, other);
        return sc_error_set(err, SC_INVALID_ARGUMENT,
                            "%s: labels have %zu classes per row, predictions %zu (expected equal)",
                            who, r->ct, r->cp);
    }
    size_t n = r->batch * r->rows * r->ct;
    if (fn == SC_FN_SCCE) {
        /* tf.cast(y, int64) truncates; TF's kernel rejects labels outside [0, classes). */
        for (size_t i = 0; i < n; i++) {
            float v = r->y[i];
            int64_t c = sc_label_int(v);
            if (o->has_ignore_class && c == o->ignore_class) continue;
            if (c < 0 || (uint64_t)c >= r->cp)
                return sc_error_set(err, SC_INVALID_ARGUMENT,
                                    "%s: sample %zu: label %g outside [0, %zu)", who,
                                    i / (r->rows ? r->rows : 1), (double)v, r->cp);
        }
    }
    if (fn == SC_FN_HINGE || fn == SC_FN_SQUARED_HINGE) {
        /* _maybe_convert_labels: {0, 1} labels become {-1, 1}, decided for the whole batch. */
        ctx->hinge_convert = 1;
        for (size_t i = 0; i < n && ctx->hinge_convert; i++)
            if (r->y[i] != 0.0f && r->y[i] != 1.0f) ctx->hinge_convert = 0;
    }
    return SC_OK;
}

static float softplus(float x) { return x > 0.0f ? x + log1pf(expf(-x)) : log1pf(expf(x)); }

/* tf.math.in_top_k: any non-finite score, or a target outside the row, is "not in the top k". */
static int in_top_k(const float *p, size_t c, int64_t target, int k) {
    if (target < 0 || (uint64_t)target >= c || !isfinite(p[target])) return 0;
    int64_t greater = 0;
    for (size_t j = 0; j < c; j++) {
        if (!isfinite(p[j])) return 0;
        if (p[j] > p[target]) greater++;
    }
    return greater < k;
}

static float bce_element(const sc_rowopts *o, float y, float p, const float *z, size_t j) {
    if (o->label_smoothing > 0.0f) y = y * (1.0f - o->label_smoothing) + 0.5f * o->label_smoothing;
    if (z || o->from_logits) {
        float x = z ? z[j] : p; /* sigmoid_cross_entropy_with_logits */
        return sc_maxf(x, 0.0f) - x * y + log1pf(expf(-fabsf(x)));
    }
    float q = sc_minf(sc_maxf(p, SC_EPSILON), 1.0f - SC_EPSILON);
    if (o->keras_version >= 3) return -(y * logf(q) + (1.0f - y) * logf(1.0f - q));
    return -(y * logf(q + SC_EPSILON) + (1.0f - y) * logf(1.0f - q + SC_EPSILON));
}

/* log(sum(exp(x))) - x[c], stably, as TF's softmax cross-entropy kernels do. */
static float lse_minus(const float *x, size_t n, const float *ylab, size_t c) {
    float m = sc_row_max(x, n);
    double s = 0.0;
    for (size_t j = 0; j < n; j++) s += expf(x[j] - m);
    float lse = logf((float)s);
    if (!ylab) return lse - (x[c] - m);
    double acc = 0.0;
    for (size_t j = 0; j < n; j++) acc += (double)ylab[j] * (lse - (x[j] - m));
    return (float)acc;
}

static float cce(const sc_rowopts *o, const float *y, const float *p, size_t c, const float *z) {
    float s = o->label_smoothing;
    double acc = 0.0;
    if (z || o->from_logits) {
        const float *x = z ? z : p;
        float m = sc_row_max(x, c);
        double se = 0.0;
        for (size_t j = 0; j < c; j++) se += expf(x[j] - m);
        float lse = logf((float)se);
        for (size_t j = 0; j < c; j++) {
            float yj = s > 0.0f ? y[j] * (1.0f - s) + s / (float)c : y[j];
            acc += (double)yj * (lse - (x[j] - m));
        }
        return (float)acc;
    }
    double sum = 0.0;
    for (size_t j = 0; j < c; j++) sum += p[j];
    float fs = (float)sum;
    for (size_t j = 0; j < c; j++) {
        float yj = s > 0.0f ? y[j] * (1.0f - s) + s / (float)c : y[j];
        float q = sc_minf(sc_maxf(p[j] / fs, SC_EPSILON), 1.0f - SC_EPSILON);
        acc += (double)yj * logf(q);
    }
    return (float)-acc;
}

static float scce(const sc_rowopts *o, size_t c, const float *p, size_t n, const float *z) {
    if (z || o->from_logits) return lse_minus(z ? z : p, n, NULL, c);
    if (o->keras_version >= 3 && o->backend == SC_BACKEND_JAX) {
        double sum = 0.0;
        for (size_t j = 0; j < n; j++) sum += p[j];
        float q = sc_minf(sc_maxf(p[c] / (float)sum, SC_EPSILON), 1.0f - SC_EPSILON);
        return -logf(q);
    }
    /* TF: log of the clipped probabilities fed to sparse_softmax_cross_entropy_with_logits,
     * which renormalizes them: log(sum q) - log q_c. */
    double sq = 0.0;
    for (size_t j = 0; j < n; j++) sq += sc_minf(sc_maxf(p[j], SC_EPSILON), 1.0f - SC_EPSILON);
    float qc = sc_minf(sc_maxf(p[c], SC_EPSILON), 1.0f - SC_EPSILON);
    return logf((float)sq) - logf(qc);
}

float sc_rowfn_eval(sc_rowfn fn, const sc_rowctx *ctx, const float *y, size_t ct, const float *p,
                    size_t cp, const float *z, int *valid) {
    const sc_rowopts *o = ctx->o;
    size_t n = ct > cp ? ct : cp;
    size_t sy = ct == 1 ? 0 : 1, sp = cp == 1 ? 0 : 1; /* broadcasting a last dim of 1 */
    double acc = 0.0;
    *valid = 1;
    switch (fn) {
    case SC_FN_SPARSE_CATEGORICAL_ACCURACY: return (float)sc_argmax(p, cp) == y[0] ? 1.0f : 0.0f;
    case SC_FN_CATEGORICAL_ACCURACY: return sc_argmax(y, ct) == sc_argmax(p, cp) ? 1.0f : 0.0f;
    case SC_FN_TOP_K: return (float)in_top_k(p, cp, (int64_t)sc_argmax(y, ct), o->k);
    case SC_FN_SPARSE_TOP_K: return (float)in_top_k(p, cp, sc_label_int(y[0]), o->k);
    case SC_FN_SCCE: {
        int64_t c = sc_label_int(y[0]); /* validated by sc_rowfn_prepare */
        if (o->has_ignore_class && c == o->ignore_class) {
            *valid = 0;
            return 0.0f;
        }
        return scce(o, (size_t)c, p, cp, z);
    }
    case SC_FN_CCE: return cce(o, y, p, cp, z);
    case SC_FN_CATEGORICAL_HINGE: {
        double pos = 0.0;
        float neg = -INFINITY;
        for (size_t j = 0; j < n; j++) {
            pos += (double)y[j] * p[j];
            neg = sc_maxf(neg, (1.0f - y[j]) * p[j]);
        }
        return sc_maxf(neg - (float)pos + 1.0f, 0.0f);
    }
    case SC_FN_KLD:
        for (size_t j = 0; j < n; j++) {
            float yc = sc_minf(sc_maxf(y[j * sy], SC_EPSILON), 1.0f);
            float pc = sc_minf(sc_maxf(p[j * sp], SC_EPSILON), 1.0f);
            acc += (double)yc * logf(yc / pc);
        }
        return (float)acc;
    case SC_FN_COSINE: {
        double yy = 0.0, pp = 0.0;
        for (size_t j = 0; j < n; j++) {
            yy += (double)y[j] * y[j];
            pp += (double)p[j] * p[j];
        }
        float ry = 1.0f / sqrtf(sc_maxf((float)yy, 1e-12f)),
              rp = 1.0f / sqrtf(sc_maxf((float)pp, 1e-12f));
        for (size_t j = 0; j < n; j++) acc += (double)(y[j] * ry) * (p[j] * rp);
        return (float)acc;
    }
    default: break;
    }
    /* Element-wise functions, averaged over the row. */
    for (size_t j = 0; j < n; j++) {
        float yj = y[j * sy], pj = p[j * sp], v;
        switch (fn) {
        case SC_FN_ACCURACY: v = yj == pj ? 1.0f : 0.0f; break;
        case SC_FN_BINARY_ACCURACY:
            v = yj == (pj > o->threshold ? 1.0f : 0.0f) ? 1.0f : 0.0f;
            break;
        case SC_FN_BCE: v = bce_element(o, yj, pj, z, j * sp); break;
        case SC_FN_MSE: v = (yj - pj) * (yj - pj); break;
        case SC_FN_MAE: v = fabsf(yj - pj); break;
        case SC_FN_MAPE: v = fabsf((yj - pj) / sc_maxf(fabsf(yj), SC_EPSILON)); break;
        case SC_FN_MSLE: {
            float d = logf(sc_maxf(pj, SC_EPSILON) + 1.0f) - logf(sc_maxf(yj, SC_EPSILON) + 1.0f);
            v = d * d;
            break;
        }
        case SC_FN_HUBER: {
            float e = pj - yj, a = fabsf(e);
            v = a <= o->delta ? 0.5f * e * e : o->delta * a - 0.5f * o->delta * o->delta;
            break;
        }
        case SC_FN_LOGCOSH: {
            float x = pj - yj;
            v = x + softplus(-2.0f * x) - 0.69314718f;
            break;
        }
        case SC_FN_HINGE:
        case SC_FN_SQUARED_HINGE: {
            float yc = ctx->hinge_convert ? 2.0f * yj - 1.0f : yj;
            v = sc_maxf(1.0f - yc * pj, 0.0f);
            if (fn == SC_FN_SQUARED_HINGE) v *= v;
            break;
        }
        case SC_FN_POISSON: v = pj - yj * logf(pj + SC_EPSILON); break;
        default: v = NAN; break;
        }
        acc += v;
    }
    float mean = (float)(acc / (double)n);
    return fn == SC_FN_MAPE ? 100.0f * mean : mean;
}
