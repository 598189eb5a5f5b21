/* metrics/compile.c — Keras' compile config (or --loss/--metrics names) -> the loss and metric
 * objects of one dataset (DESIGN §4, FORMATS §7.3, §9.6): the containers (one output's list,
 * dict or nested list), loss_weights, the naming of the metrics, and the two entry points. One
 * entry -> one object is compile_entry.c. */
#include <ctype.h>
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "metrics/compile_internal.h"

/* loss_weights: null, or 1 for the single output (1, [1], {"out": 1}). */
static sc_status check_loss_weights(const sc_compile_ctx *c, const json_t *v) {
    if (json_is_array(v) && json_array_size(v) == 1)
        v = json_array_get(v, 0);
    else if (json_is_object(v) && json_object_size(v) == 1) /* the one value (see below) */
        v = json_object_iter_value(json_object_iter((json_t *)v));
    if (!v || json_is_null(v) || (json_is_number(v) && json_number_value(v) == 1.0)) return SC_OK;
    if (json_is_number(v))
        return sc_error_set(c->err, SC_UNIMPLEMENTED,
                            "%s: loss_weights %g: a weighted loss is not supported (only 1)",
                            c->file, json_number_value(v));
    return sc_error_set(c->err, SC_UNIMPLEMENTED,
                        "%s: loss_weights: %s (a multi-output model) is not supported", c->file,
                        sc_compile_json_type(v));
}

/* ---- the container ------------------------------------------------------------------------ */

/* Appends m (owned from here on, freed on failure). */
sc_status sc_compile_push(const sc_compile_ctx *c, sc_compiled *out, size_t *cap, sc_metric *m,
                          int weighted) {
    if (out->num_metrics == *cap) {
        size_t nc = *cap ? *cap * 2 : 8;
        sc_metric **a = nc <= SIZE_MAX / sizeof *a ? realloc(out->metrics, nc * sizeof *a) : NULL;
        if (a) out->metrics = a;
        unsigned char *w = a ? realloc(out->weighted, nc) : NULL;
        if (w) out->weighted = w;
        if (!a || !w) {
            sc_metric_free(m);
            return sc_error_set(c->err, SC_NO_MEMORY, "%s: out of memory", c->file);
        }
        *cap = nc;
    }
    out->metrics[out->num_metrics] = m;
    out->weighted[out->num_metrics++] = (unsigned char)weighted;
    return SC_OK;
}

/* metrics / weighted_metrics: a list, a single entry, [[...]] or {"output": [...]} for one
 * output. */
static sc_status add_metrics(const sc_compile_ctx *c, const json_t *v, const char *list,
                             int weighted, const char *loss_name, sc_compiled *out, size_t *cap) {
    if (!v || json_is_null(v)) return SC_OK;
    if (json_is_object(v) && !json_object_get(v, "class_name")) {
        if (json_object_size(v) != 1)
            return sc_error_set(c->err, SC_UNIMPLEMENTED,
                                "%s: %s: a dict for %zu outputs (a multi-output model) is not "
                                "supported",
                                c->file, list, json_object_size(v));
        /* The one value. Not json_object_foreach with `v = x` in its body: the macro re-reads
         * its object argument to step, and would walk x next (a fuzzer crash). */
        v = json_object_iter_value(json_object_iter((json_t *)v));
    }
    if (json_is_array(v) && json_array_size(v) == 1 && json_is_array(json_array_get(v, 0)))
        v = json_array_get(v, 0);
    size_t n = json_is_array(v) ? json_array_size(v) : 1;
    for (size_t i = 0; i < n; i++) {
        const json_t *item = json_is_array(v) ? json_array_get(v, i) : v;
        if (json_is_null(item)) continue;
        if (json_is_array(item))
            return sc_error_set(c->err, SC_UNIMPLEMENTED,
                                "%s: %s: per-output lists (a multi-output model) are not "
                                "supported",
                                c->file, list);
        sc_metric *m = NULL;
        sc_status st = sc_compile_metric(c, list, i, item, loss_name, &m);
        if (st == SC_OK) st = sc_compile_push(c, out, cap, m, weighted);
        if (st != SC_OK) return st;
    }
    return SC_OK;
}

/* Keras 3 CompileMetrics naming: a weighted metric whose name is taken becomes "weighted_<name>";
 * then equal names get _1, _2. */
static sc_status name_metrics(const sc_compile_ctx *c, sc_compiled *out) {
    size_t n = out->num_metrics;
    if (n == 0) return SC_OK;
    char(*names)[SC_METRIC_NAME_MAX] = calloc(n, sizeof *names);
    if (!names) return sc_error_set(c->err, SC_NO_MEMORY, "%s: out of memory", c->file);
    sc_status st = SC_OK;
    for (size_t i = 0; i < n && st == SC_OK; i++) {
        const char *nm = sc_metric_name(out->metrics[i]);
        int taken = 0;
        for (size_t j = 0; j < i && !taken; j++) taken = strcmp(names[j], nm) == 0;
        int len = snprintf(names[i], SC_METRIC_NAME_MAX, "%s%s",
                           out->weighted[i] && taken ? "weighted_" : "", nm);
        if (len < 0 || len >= SC_METRIC_NAME_MAX)
            st = sc_error_set(c->err, SC_INVALID_ARGUMENT,
                              "%s: metric name 'weighted_%s' is too long", c->file, nm);
    }
    if (st == SC_OK && (st = sc_metric_names_uniquify(names, n, c->err)) != SC_OK)
        st = sc_error_prefix(c->err, st, "%s", c->file);
    for (size_t i = 0; i < n && st == SC_OK; i++)
        if (strcmp(names[i], sc_metric_name(out->metrics[i])) != 0
            && (st = sc_metric_set_name(out->metrics[i], names[i], c->err)) != SC_OK)
            st = sc_error_prefix(c->err, st, "%s", c->file);
    free(names);
    return st;
}

static sc_status init_ctx(sc_compile_ctx *c, const char *file, const sc_compile_shapes *sh,
                          sc_compiled *out, sc_error *err) {
    memset(out, 0, sizeof *out);
    *c = (sc_compile_ctx){.file = file, .sh = sh, .kv = sh->keras_version, .err = err};
    if (c->kv == 0) c->kv = 2;
    if (c->kv != 2 && c->kv != 3)
        return sc_error_set(err, SC_INVALID_ARGUMENT, "%s: keras_version %d (expected 2 or 3)",
                            file, sh->keras_version);
    return SC_OK;
}

static const char *const COMPILE_KEYS[] = {
    "optimizer",           "loss",
    "loss_weights",        "metrics",
    "weighted_metrics",    "run_eagerly",
    "steps_per_execution", "jit_compile",
    "auto_scale_loss",     "pss_evaluation_shards",
    "optimizer_config", /* Keras 2 training_config (legacy .h5, SavedModel metadata) */
};

sc_status sc_compile_check_keys(const sc_compile_ctx *c, const json_t *cc) {
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)cc, key, v) {
        size_t i = 0, n = sizeof COMPILE_KEYS / sizeof COMPILE_KEYS[0];
        while (i < n && strcmp(COMPILE_KEYS[i], key) != 0) i++;
        if (i == n)
            return sc_error_set(c->err, SC_UNIMPLEMENTED,
                                "%s: compile config key '%s' is not known", c->file, key);
    }
    return SC_OK;
}

static sc_status from_config(const sc_compile_ctx *c, const json_t *cc, sc_compiled *out) {
    sc_status st = sc_compile_check_keys(c, cc);
    if (st == SC_OK) st = check_loss_weights(c, json_object_get(cc, "loss_weights"));
    const json_t *loss = json_object_get(cc, "loss");
    if (st == SC_OK && loss) st = sc_compile_loss(c, loss, &out->loss);
    const char *loss_name = out->loss ? sc_loss_class_name(out->loss) : NULL;
    size_t cap = 0;
    if (st == SC_OK)
        st = add_metrics(c, json_object_get(cc, "metrics"), "metrics", 0, loss_name, out, &cap);
    if (st == SC_OK)
        st = add_metrics(c, json_object_get(cc, "weighted_metrics"), "weighted_metrics", 1,
                         loss_name, out, &cap);
    if (st == SC_OK) st = name_metrics(c, out);
    return st;
}

sc_status sc_compile_from_json(const char *json, size_t len, const char *name,
                               const sc_compile_shapes *shapes, sc_compiled *out, sc_error *err) {
    return sc_compile_from_json_outputs(json, len, name, shapes, NULL, 1, out, err);
}

sc_status sc_compile_from_json_outputs(const char *json, size_t len, const char *name,
                                       const sc_compile_shapes *shapes, const char *const *outputs,
                                       size_t n, sc_compiled *out, sc_error *err) {
    sc_compile_ctx c;
    const char *file = name ? name : "compile config";
    sc_status st = init_ctx(&c, file, shapes, out, err);
    if (st != SC_OK) return st;
    json_error_t je;
    json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
    if (!root)
        return sc_error_set(err, SC_INVALID_ARGUMENT, "%s:%d:%d: not valid JSON: %s", file, je.line,
                            je.column, je.text);
    const json_t *cc = json_object_get(root, "compile_config");
    if (!json_is_object(root)) {
        st = sc_error_set(err, SC_INVALID_ARGUMENT, "%s: expected a JSON object, found %s", file,
                          sc_compile_json_type(root));
    } else if (cc || json_object_get(root, "class_name")) {
        /* A model config: its compile config, if the model was compiled before saving. */
        if (cc && !json_is_null(cc) && !json_is_object(cc))
            st = sc_error_set(err, SC_INVALID_ARGUMENT,
                              "%s: compile_config: expected an object, found %s", file,
                              sc_compile_json_type(cc));
        else if (!json_is_object(cc) || json_object_size(cc) == 0)
            st = sc_error_set(err, SC_NOT_FOUND,
                              "%s: the model has no compile config (saved before compile()); "
                              "give --loss/--metrics",
                              file);
        else
            st = n > 1 ? sc_compile_multi(&c, cc, shapes, outputs, n, out)
                       : from_config(&c, cc, out);
    } else if (json_object_size(root) == 0) {
        st = sc_error_set(err, SC_NOT_FOUND, "%s: empty compile config", file);
    } else {
        st = n > 1 ? sc_compile_multi(&c, root, shapes, outputs, n, out)
                   : from_config(&c, root, out);
    }
    json_decref(root);
    if (st != SC_OK) sc_compiled_clear(out);
    return st;
}

/* ---- --loss / --metrics ------------------------------------------------------------------- */

static char *trim(char *s) {
    while (isspace((unsigned char)*s)) s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1])) s[--n] = '\0';
    return s;
}

sc_status sc_compile_from_names(const char *loss, const char *metrics_csv,
                                const sc_compile_shapes *shapes, sc_compiled *out, sc_error *err) {
    sc_compile_ctx c;
    sc_status st = init_ctx(&c, "--loss", shapes, out, err);
    if (st != SC_OK) return st;
    char *buf = NULL;
    if (loss && *loss) st = sc_compile_loss_string(&c, loss, &out->loss);
    c.file = "--metrics";
    if (st == SC_OK && metrics_csv && (buf = strdup(metrics_csv)) == NULL)
        st = sc_error_set(err, SC_NO_MEMORY, "--metrics: out of memory");
    const char *loss_name = out->loss ? sc_loss_class_name(out->loss) : NULL;
    char *rest = buf, *all = buf ? trim(buf) : NULL;
    size_t cap = 0;
    for (size_t i = 0; st == SC_OK && all && *all && rest; i++) {
        char *comma = strchr(rest, ',');
        if (comma) *comma = '\0';
        char *id = trim(rest), what[32];
        rest = comma ? comma + 1 : NULL;
        snprintf(what, sizeof what, "item %zu", i);
        sc_metric *m = NULL;
        if (!*id)
            st = sc_error_set(err, SC_INVALID_ARGUMENT, "--metrics: %s is empty ('%s')", what,
                              metrics_csv);
        else if ((st = sc_compile_metric_string(&c, what, id, loss_name, &m)) == SC_OK)
            st = sc_compile_push(&c, out, &cap, m, 0);
    }
    free(buf);
    if (st == SC_OK) st = name_metrics(&c, out);
    if (st != SC_OK) sc_compiled_clear(out);
    return st;
}

void sc_compiled_clear(sc_compiled *c) {
    if (!c) return;
    sc_loss_free(c->loss);
    for (size_t i = 0; i < c->num_metrics; i++) sc_metric_free(c->metrics[i]);
    free(c->metrics);
    free(c->weighted);
    for (size_t o = 0; c->losses && o < c->num_outputs; o++) sc_loss_free(c->losses[o]);
    free(c->losses);
    free(c->loss_weights);
    free(c->metric_output);
    memset(c, 0, sizeof *c);
}
