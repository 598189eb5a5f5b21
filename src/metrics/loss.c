/* metrics/loss.c — Keras losses with their reduction (FORMATS §9.1, §9.4, §9.5). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "metrics/metrics_internal.h"

struct sc_loss {
    const char *class_name;
    sc_rowfn fn;
    sc_rowopts o;
    sc_loss_reduction reduction;
};

static const struct {
    const char *id, *class_name;
    sc_rowfn fn;
} LOSSES[] = {
    {"BinaryCrossentropy", "BinaryCrossentropy", SC_FN_BCE},
    {"binary_crossentropy", "BinaryCrossentropy", SC_FN_BCE},
    {"CategoricalCrossentropy", "CategoricalCrossentropy", SC_FN_CCE},
    {"categorical_crossentropy", "CategoricalCrossentropy", SC_FN_CCE},
    {"SparseCategoricalCrossentropy", "SparseCategoricalCrossentropy", SC_FN_SCCE},
    {"sparse_categorical_crossentropy", "SparseCategoricalCrossentropy", SC_FN_SCCE},
    {"MeanSquaredError", "MeanSquaredError", SC_FN_MSE},
    {"mean_squared_error", "MeanSquaredError", SC_FN_MSE},
    {"mse", "MeanSquaredError", SC_FN_MSE},
    {"MSE", "MeanSquaredError", SC_FN_MSE},
    {"MeanAbsoluteError", "MeanAbsoluteError", SC_FN_MAE},
    {"mean_absolute_error", "MeanAbsoluteError", SC_FN_MAE},
    {"mae", "MeanAbsoluteError", SC_FN_MAE},
    {"MAE", "MeanAbsoluteError", SC_FN_MAE},
    {"MeanAbsolutePercentageError", "MeanAbsolutePercentageError", SC_FN_MAPE},
    {"mean_absolute_percentage_error", "MeanAbsolutePercentageError", SC_FN_MAPE},
    {"mape", "MeanAbsolutePercentageError", SC_FN_MAPE},
    {"MAPE", "MeanAbsolutePercentageError", SC_FN_MAPE},
    {"MeanSquaredLogarithmicError", "MeanSquaredLogarithmicError", SC_FN_MSLE},
    {"mean_squared_logarithmic_error", "MeanSquaredLogarithmicError", SC_FN_MSLE},
    {"msle", "MeanSquaredLogarithmicError", SC_FN_MSLE},
    {"MSLE", "MeanSquaredLogarithmicError", SC_FN_MSLE},
    {"Huber", "Huber", SC_FN_HUBER},
    {"huber", "Huber", SC_FN_HUBER},
    {"huber_loss", "Huber", SC_FN_HUBER},
    {"LogCosh", "LogCosh", SC_FN_LOGCOSH},
    {"logcosh", "LogCosh", SC_FN_LOGCOSH},
    {"log_cosh", "LogCosh", SC_FN_LOGCOSH},
    {"Hinge", "Hinge", SC_FN_HINGE},
    {"hinge", "Hinge", SC_FN_HINGE},
    {"SquaredHinge", "SquaredHinge", SC_FN_SQUARED_HINGE},
    {"squared_hinge", "SquaredHinge", SC_FN_SQUARED_HINGE},
    {"CategoricalHinge", "CategoricalHinge", SC_FN_CATEGORICAL_HINGE},
    {"categorical_hinge", "CategoricalHinge", SC_FN_CATEGORICAL_HINGE},
    {"KLDivergence", "KLDivergence", SC_FN_KLD},
    {"kl_divergence", "KLDivergence", SC_FN_KLD},
    {"kld", "KLDivergence", SC_FN_KLD},
    {"KLD", "KLDivergence", SC_FN_KLD},
    {"kullback_leibler_divergence", "KLDivergence", SC_FN_KLD},
    {"Poisson", "Poisson", SC_FN_POISSON},
    {"poisson", "Poisson", SC_FN_POISSON},
    {"CosineSimilarity", "CosineSimilarity", SC_FN_COSINE},
    {"cosine_similarity", "CosineSimilarity", SC_FN_COSINE},
};

sc_loss_spec sc_loss_default_spec(const char *class_name) {
    return (sc_loss_spec){.class_name = class_name,
                          .keras_version = 2,
                          .backend = SC_BACKEND_TENSORFLOW,
                          .delta = 1.0f,
                          .reduction = SC_REDUCTION_SUM_OVER_BATCH_SIZE};
}

sc_status sc_loss_create(const sc_loss_spec *s, sc_loss **out, sc_error *err) {
    *out = NULL;
    size_t i = 0, n = sizeof LOSSES / sizeof LOSSES[0];
    while (i < n && !(s->class_name && strcmp(LOSSES[i].id, s->class_name) == 0)) i++;
    if (i == n)
        return sc_error_set(err, SC_INVALID_ARGUMENT, "loss: unknown loss '%s'",
                            s->class_name ? s->class_name : "(null)");
    if (s->keras_version != 2 && s->keras_version != 3)
        return sc_error_set(err, SC_INVALID_ARGUMENT,
                            "loss '%s': keras_version %d (expected 2 or 3)", s->class_name,
                            s->keras_version);
    if (!(s->label_smoothing >= 0.0f && s->label_smoothing <= 1.0f) || !(s->delta > 0.0f)
        || !isfinite(s->delta) || (unsigned)s->reduction > SC_REDUCTION_MEAN_WITH_SAMPLE_WEIGHT)
        return sc_error_set(err, SC_INVALID_ARGUMENT,
                            "loss '%s': label_smoothing %g, delta %g or reduction %d out of range",
                            s->class_name, (double)s->label_smoothing, (double)s->delta,
                            (int)s->reduction);
    sc_loss *l = calloc(1, sizeof *l);
    if (!l) return sc_error_set(err, SC_NO_MEMORY, "loss '%s': out of memory", s->class_name);
    l->class_name = LOSSES[i].class_name;
    l->fn = LOSSES[i].fn;
    l->reduction = s->reduction;
    l->o = (sc_rowopts){.keras_version = s->keras_version,
                        .backend = s->keras_version >= 3 ? s->backend : SC_BACKEND_TENSORFLOW,
                        .from_logits = s->from_logits != 0,
                        .label_smoothing = s->label_smoothing,
                        .delta = s->delta,
                        .has_ignore_class = s->has_ignore_class != 0,
                        .ignore_class = s->ignore_class};
    *out = l;
    return SC_OK;
}

void sc_loss_free(sc_loss *l) { free(l); }

const char *sc_loss_class_name(const sc_loss *l) { return l->class_name; }

sc_status sc_loss_compute(const sc_loss *l, const sc_metric_batch *b, float *out, sc_error *err) {
    *out = 0.0f;
    sc_rows r;
    sc_rowctx ctx;
    sc_status st = sc_rows_align(b, sc_rowfn_align(l->fn), l->class_name, &r, err);
    if (st == SC_OK) st = sc_rowfn_prepare(l->fn, &l->o, &r, l->class_name, &ctx, err);
    if (st != SC_OK) return st;
    double total = 0.0, weights = 0.0;
    size_t valid_rows = 0;
    for (size_t i = 0; i < r.batch; i++) {
        for (size_t k = 0; k < r.rows; k++) {
            double w = sc_rows_row_weight(&r, i, k);
            int valid;
            float v = sc_rowfn_eval(l->fn, &ctx, sc_rows_true(&r, i, k), r.ct,
                                    sc_rows_pred(&r, i, k), r.cp, sc_rows_logits(&r, i, k), &valid);
            if (!valid) continue;
            if (l->fn == SC_FN_COSINE) v = -v;
            /* a masked row weighs 0 (a NaN there still makes the sum NaN, as in Keras) */
            total += (double)v * w;
            weights += w;
            valid_rows += !sc_rows_masked(&r, i, k);
        }
    }
    float sum = (float)total;
    switch (l->reduction) {
    case SC_REDUCTION_SUM: *out = sum; break;
    case SC_REDUCTION_MEAN_WITH_SAMPLE_WEIGHT: *out = sc_div_no_nan(sum, (float)weights); break;
    default:
        /* Keras 2.15 apply_valid_mask: a masked prediction's weights become mask * total/valid,
         * so the mean is over the unmasked rows; none unmasked gives 0 * inf = NaN. ignore_class
         * makes such a mask too (backend.sparse_categorical_crossentropy sets the losses'
         * _keras_mask to label != ignore_class), so a batch of only ignored labels is NaN. */
        *out = (b->mask || l->o.has_ignore_class) && valid_rows == 0 && r.batch > 0
                   ? NAN
                   : sc_div_no_nan(sum, (float)valid_rows);
        break;
    }
    return SC_OK;
}
