/* metrics/align.c — lining labels up with predictions as Keras 2's compile container does
 * (match_dtype_and_rank, then squeeze_or_expand_dimensions, then the sparse squeeze). */
#include <stdio.h>
#include <string.h>

#include "core/error.h"
#include "metrics/metrics_internal.h"

typedef struct dims {
    int rank;
    int64_t d[SC_METRIC_MAX_RANK + 1];
} dims;

static sc_status load_dims(const char *who, const char *what, int rank, const int64_t *src,
                           dims *out, sc_error *err) {
    if (rank < 0 || rank > SC_METRIC_MAX_RANK)
        return sc_error_set(err, SC_INVALID_ARGUMENT, "%s: %s rank %d (expected 0..%d)", who, what,
                            rank, SC_METRIC_MAX_RANK);
    if (rank > 0 && !src)
        return sc_error_set(err, SC_INVALID_ARGUMENT, "%s: %s rank %d but no dims", who, what,
                            rank);
    out->rank = rank;
    for (int i = 0; i < rank; i++) {
        if (src[i] <= 0)
            return sc_error_set(err, SC_INVALID_ARGUMENT, "%s: %s dim %d is %lld (expected > 0)",
                                who, what, i, (long long)src[i]);
        out->d[i] = src[i];
    }
    return SC_OK;
}

static int64_t last(const dims *x) { return x->rank ? x->d[x->rank - 1] : 1; }

/* Product of dims[0 .. n), overflow-checked against SIZE_MAX / 2 (callers multiply further). */
static int prod(const dims *x, int n, size_t *out) {
    size_t v = 1;
    for (int i = 0; i < n; i++) {
        if ((uint64_t)x->d[i] > (SIZE_MAX / 2) / v) return 0;
        v *= (size_t)x->d[i];
    }
    *out = v;
    return 1;
}

static void fmt_dims(const dims *x, char *buf, size_t cap) {
    size_t n = (size_t)snprintf(buf, cap, "[B");
    for (int i = 0; i < x->rank && n < cap; i++)
        n += (size_t)snprintf(buf + n, cap - n, ", %lld", (long long)x->d[i]);
    if (n < cap) snprintf(buf + n, cap - n, "]");
}

static sc_status mismatch(const char *who, const dims *t, const dims *p, sc_error *err) {
    char a[128], b[128];
    fmt_dims(t, a, sizeof a);
    fmt_dims(p, b, sizeof b);
    return sc_error_set(err, SC_INVALID_ARGUMENT,
                        "%s: labels of shape %s do not match predictions of shape %s", who, a, b);
}

sc_status sc_rows_align(const sc_metric_batch *b, sc_align_mode mode, const char *who, sc_rows *out,
                        sc_error *err) {
    dims t, p;
    sc_status st = load_dims(who, "labels", b->true_rank, b->true_dims, &t, err);
    if (st == SC_OK) st = load_dims(who, "predictions", b->pred_rank, b->pred_dims, &p, err);
    if (st != SC_OK) return st;
    if (b->batch > 0 && (!b->y_pred || !b->y_true))
        return sc_error_set(err, SC_INVALID_ARGUMENT, "%s: missing labels or predictions", who);

    /* match_dtype_and_rank: labels [B] against predictions [B, N] become [B, 1]. */
    if (t.rank == 0 && p.rank == 1) t = (dims){.rank = 1, .d = {1}};
    /* remove_squeezable_dimensions: the side with one more dim loses a trailing 1. */
    if (p.rank == t.rank + 1 && last(&p) == 1 && mode == SC_ALIGN_SAME)
        p.rank--;
    else if (t.rank == p.rank + 1 && last(&t) == 1)
        t.rank--;

    size_t rows, cp, ct;
    if (mode == SC_ALIGN_SPARSE) {
        if (p.rank == 0) return mismatch(who, &t, &p, err); /* no class axis */
        if (t.rank == p.rank && last(&t) == 1) t.rank--;
        if (t.rank == p.rank && p.rank > 0 && last(&t) == last(&p) && last(&t) > 1)
            return sc_error_set(err, SC_INVALID_ARGUMENT,
                                "%s: the labels look one-hot (%lld per row, as the predictions), "
                                "but it expects one class index per example: for one-hot labels "
                                "use its categorical form (categorical_crossentropy, "
                                "categorical_accuracy, top_k_categorical_accuracy)",
                                who, (long long)last(&t));
        if (t.rank != p.rank - 1) return mismatch(who, &t, &p, err);
        for (int i = 0; i < t.rank; i++)
            if (t.d[i] != p.d[i]) return mismatch(who, &t, &p, err);
        ct = 1;
        cp = (size_t)last(&p);
        if (!prod(&t, t.rank, &rows)) goto too_big;
    } else {
        if (t.rank != p.rank) return mismatch(who, &t, &p, err);
        for (int i = 0; i + 1 < t.rank; i++)
            if (t.d[i] != p.d[i]) return mismatch(who, &t, &p, err);
        cp = (size_t)last(&p);
        ct = (size_t)last(&t);
        if (cp != ct && cp != 1 && ct != 1) return mismatch(who, &t, &p, err);
        if (!prod(&p, p.rank ? p.rank - 1 : 0, &rows)) goto too_big;
    }
    if (b->mask) {
        /* One mask value per row of the predictions as the model produced them. */
        size_t mrows = 1;
        for (int i = 0; i + 1 < b->pred_rank; i++) mrows *= (size_t)b->pred_dims[i];
        if (mrows != rows)
            return sc_error_set(err, SC_INVALID_ARGUMENT,
                                "%s: the predictions carry a Keras mask of %zu values per example, "
                                "but the labels align with them in %zu rows (Keras cannot weight "
                                "this loss or metric by the mask either): give labels of the "
                                "prediction shape without its last axis",
                                who, mrows, rows);
    }
    if (cp > SIZE_MAX / 2 / rows || b->batch > SIZE_MAX / 2 / (rows * cp)
        || b->batch > SIZE_MAX / 2 / (rows * ct))
        goto too_big;
    *out = (sc_rows){.batch = b->batch,
                     .rows = rows,
                     .cp = cp,
                     .ct = ct,
                     .p = b->y_pred,
                     .y = b->y_true,
                     .w = b->sample_weight,
                     .z = b->logits,
                     .m = b->mask};
    return SC_OK;
too_big:
    return sc_error_set(err, SC_INVALID_ARGUMENT, "%s: batch of %zu samples is too large", who,
                        b->batch);
}
