/* eval/compile_multi.c — the compile config of a model with several outputs (Keras 2.15
 * compile_utils LossesContainer / MetricsContainer): one loss per output, loss_weights, metrics
 * per output named "<output>_<metric>" (FORMATS §9.6). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "metrics/compile_internal.h"

static int is_dict(const json_t *v) {
    return json_is_object(v) && !json_object_get(v, "class_name");
}

/* Output o's entry of a per-output container (a dict by name, a list of n, or NULL when the
 * container is one entry for every output: *broadcast). */
static sc_status per_output(const sc_compile_ctx *c, const json_t *v, const char *key,
                            const char *const *outputs, size_t n, size_t o, int nested_list,
                            const json_t **entry) {
    *entry = NULL;
    if (is_dict(v)) {
        const char *k;
        json_t *x;
        json_object_foreach((json_t *)v, k, x) {
            size_t i = 0;
            while (i < n && strcmp(outputs[i], k)) i++;
            if (i == n)
                return sc_error_set(c->err, SC_INVALID_ARGUMENT,
                                    "%s: %s: '%s' is not an output "
                                    "of the model",
                                    c->file, key, k);
        }
        *entry = json_object_get(v, outputs[o]);
        return SC_OK;
    }
    int per = json_is_array(v) && json_array_size(v) == n;
    if (per && nested_list) /* metrics: a list of n lists (or nulls) is per output */
        for (size_t i = 0; i < n; i++)
            if (!json_is_array(json_array_get(v, i)) && !json_is_null(json_array_get(v, i)))
                per = 0;
    if (per) {
        *entry = json_array_get(v, o);
        return SC_OK;
    }
    if (json_is_array(v) && !nested_list)
        return sc_error_set(c->err, SC_INVALID_ARGUMENT, "%s: %s: a list of %zu for %zu outputs",
                            c->file, key, json_array_size(v), n);
    *entry = v; /* one entry (or a flat metrics list) for every output */
    return SC_OK;
}

static sc_status metrics_of(const sc_compile_ctx *c, const json_t *v, const char *key, int weighted,
                            const char *const *outputs, size_t n, size_t o, const char *loss_name,
                            sc_compiled *out, size_t *cap, size_t **owner) {
    const json_t *e;
    sc_status st = per_output(c, v, key, outputs, n, o, 1, &e);
    if (st || !e || json_is_null(e)) return st;
    size_t k = json_is_array(e) ? json_array_size(e) : 1;
    for (size_t i = 0; i < k; i++) {
        const json_t *item = json_is_array(e) ? json_array_get(e, i) : e;
        if (json_is_null(item)) continue;
        sc_metric *m = NULL;
        if ((st = sc_compile_metric(c, key, i, item, loss_name, &m))
            || (st = sc_compile_push(c, out, cap, m, weighted)))
            return st;
        size_t *a = realloc(*owner, out->num_metrics * sizeof *a);
        if (!a) return sc_error_set(c->err, SC_NO_MEMORY, "%s: out of memory", c->file);
        *owner = a;
        a[out->num_metrics - 1] = o;
    }
    return SC_OK;
}

/* "<output>_<name>", with "weighted_" before a weighted metric's name that an unweighted metric
 * of the same output has; then equal names get _1, _2. */
static sc_status name_metrics(const sc_compile_ctx *c, const char *const *outputs,
                              sc_compiled *out) {
    size_t n = out->num_metrics;
    if (!n) return SC_OK;
    char(*names)[SC_METRIC_NAME_MAX] = calloc(n, sizeof *names);
    if (!names) return sc_error_set(c->err, SC_NO_MEMORY, "%s: out of memory", c->file);
    sc_status st = SC_OK;
    for (size_t i = 0; i < n && !st; i++) {
        const char *nm = sc_metric_name(out->metrics[i]);
        int taken = 0;
        for (size_t j = 0; j < i && !taken; j++)
            taken = out->metric_output[j] == out->metric_output[i] && !out->weighted[j]
                    && !strcmp(sc_metric_name(out->metrics[j]), nm);
        int len = snprintf(names[i], SC_METRIC_NAME_MAX, "%s_%s%s", outputs[out->metric_output[i]],
                           out->weighted[i] && taken ? "weighted_" : "", nm);
        if (len < 0 || len >= SC_METRIC_NAME_MAX)
            st = sc_error_set(c->err, SC_INVALID_ARGUMENT, "%s: metric name '%s_%s' is too long",
                              c->file, outputs[out->metric_output[i]], nm);
    }
    if (!st && (st = sc_metric_names_uniquify(names, n, c->err)) != SC_OK)
        st = sc_error_prefix(c->err, st, "%s", c->file);
    for (size_t i = 0; i < n && !st; i++)
        if ((st = sc_metric_set_name(out->metrics[i], names[i], c->err)) != SC_OK)
            st = sc_error_prefix(c->err, st, "%s", c->file);
    free(names);
    return st;
}

sc_status sc_compile_multi(const sc_compile_ctx *c0, const json_t *cc,
                           const sc_compile_shapes *shapes, const char *const *outputs, size_t n,
                           sc_compiled *out) {
    sc_status st = sc_compile_check_keys(c0, cc);
    if (st) return st;
    out->num_outputs = n;
    out->losses = calloc(n, sizeof *out->losses);
    out->loss_weights = calloc(n, sizeof *out->loss_weights);
    if (!out->losses || !out->loss_weights)
        return sc_error_set(c0->err, SC_NO_MEMORY, "%s: out of memory", c0->file);
    const json_t *loss = json_object_get(cc, "loss"), *lw = json_object_get(cc, "loss_weights");
    for (size_t o = 0; o < n && !st; o++) {
        sc_compile_ctx c = *c0;
        c.sh = &shapes[o];
        const json_t *e = NULL;
        if (loss && !json_is_null(loss)
            && !(st = per_output(&c, loss, "loss", outputs, n, o, 0, &e)) && e && !json_is_null(e))
            st = sc_compile_loss(&c, e, &out->losses[o]);
        out->loss_weights[o] = 1.0;
        if (!st && lw && !json_is_null(lw)
            && !(st = per_output(&c, lw, "loss_weights", outputs, n, o, 0, &e)) && e
            && !json_is_null(e)) {
            if (!json_is_number(e))
                st = sc_error_set(c.err, SC_INVALID_ARGUMENT,
                                  "%s: loss_weights for '%s': expected "
                                  "a number, found %s",
                                  c.file, outputs[o], sc_compile_json_type(e));
            else
                out->loss_weights[o] = json_number_value(e);
        }
    }
    /* Keras 2.15 orders the metrics output by output: its metrics, then its weighted ones
     * (MetricsContainer._create_ordered_metrics, which model.metrics and the logs follow). */
    size_t cap = 0;
    for (size_t o = 0; o < n && !st; o++)
        for (int w = 0; w < 2 && !st; w++) {
            sc_compile_ctx c = *c0;
            c.sh = &shapes[o];
            const char *ln = out->losses[o] ? sc_loss_class_name(out->losses[o]) : NULL;
            st = metrics_of(&c, json_object_get(cc, w ? "weighted_metrics" : "metrics"),
                            w ? "weighted_metrics" : "metrics", w, outputs, n, o, ln, out, &cap,
                            &out->metric_output);
        }
    if (!st) st = name_metrics(c0, outputs, out);
    return st;
}
