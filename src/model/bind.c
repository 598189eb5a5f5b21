/* model/bind.c — TensorFlow checkpoint -> model variables (FORMATS §3.3).
 *
 * Keras 2 keys a variable as `layer_with_weights-K/<name>/.ATTRIBUTES/VARIABLE_VALUE`, under
 * `model/` when the checkpoint was written by tf.train.Checkpoint(model=...) (CheckpointManager)
 * and at the root when written by Keras' ModelCheckpoint / save_weights. K counts the model's
 * layers that have weights; it is the same for Sequential and Functional models, since the
 * InputLayer has none.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "model/model_internal.h"
#include "sidecar/tensor.h"

#define ATTR "/.ATTRIBUTES/VARIABLE_VALUE"

void sc_bind_report_clear(sc_bind_report *r) {
    if (!r) return;
    for (size_t i = 0; i < r->num_entries; i++) {
        free(r->entries[i].variable);
        free(r->entries[i].key);
    }
    for (size_t i = 0; i < r->num_unused; i++) free(r->unused_keys[i]);
    free(r->entries);
    free(r->unused_keys);
    memset(r, 0, sizeof *r);
}

static int has_prefix(const char *s, const char *p) { return strncmp(s, p, strlen(p)) == 0; }

/* "model/" for CheckpointManager checkpoints, "" for Keras weight checkpoints, NULL when the
 * checkpoint holds no Keras 2 layer_with_weights keys at all. */
static const char *key_root(const sc_bundle *b) {
    int root = 0;
    for (size_t i = 0; i < sc_bundle_num_tensors(b); i++) {
        const char *k = sc_bundle_tensor(b, i)->key;
        if (has_prefix(k, "model/layer_with_weights-")) return "model/";
        if (has_prefix(k, "layer_with_weights-")) root = 1;
    }
    return root ? "" : NULL;
}

static int same_shape(const sc_tensor_info *t, const sc_shape *s) {
    if (t->rank != s->rank) return 0;
    for (int i = 0; i < s->rank; i++)
        if (t->shape[i] != s->dims[i]) return 0;
    return 1;
}

static void info_shape_str(const sc_tensor_info *t, char *buf, size_t cap) {
    sc_shape s = {0};
    s.rank = t->rank <= SC_MAX_DIMS ? t->rank : SC_MAX_DIMS;
    for (int i = 0; i < s.rank; i++) s.dims[i] = t->shape[i];
    sc_shape_str(&s, buf, cap);
}

static sc_status report_unused(sc_model *m, const sc_bundle *b, const char *root,
                               const unsigned char *used, sc_bind_report *rep) {
    (void)m;
    size_t n = sc_bundle_num_tensors(b);
    rep->unused_keys = calloc(n ? n : 1, sizeof *rep->unused_keys);
    if (!rep->unused_keys) return SC_NO_MEMORY;
    char lw[64];
    snprintf(lw, sizeof lw, "%slayer_with_weights-", root);
    for (size_t i = 0; i < n; i++) {
        const char *k = sc_bundle_tensor(b, i)->key;
        if (used[i] || !has_prefix(k, lw) || strstr(k, "/.OPTIMIZER_SLOT/")) continue;
        rep->unused_keys[rep->num_unused] = strdup(k);
        if (!rep->unused_keys[rep->num_unused]) return SC_NO_MEMORY;
        rep->num_unused++;
    }
    return SC_OK;
}

sc_status sc_model_bind_bundle(sc_model *m, sc_bundle *b, sc_bind_report *report, sc_error *err) {
    const char *prefix = sc_bundle_prefix(b);
    const char *root = key_root(b);
    sc_status s = SC_OK;
    unsigned char *used = NULL;
    void *tmp = NULL;
    size_t tmp_cap = 0;
    if (report) memset(report, 0, sizeof *report);
    if (!root)
        return sc_error_set(err, SC_NOT_FOUND,
                            "%s: no Keras layer variables (expected keys 'layer_with_weights-K/...' "
                            "at the root or under 'model/'); Keras 3 TF-format checkpoints are not "
                            "supported yet", prefix);
    used = calloc(sc_bundle_num_tensors(b) + 1, 1);
    if (!used) return sc_error_set(err, SC_NO_MEMORY, "out of memory");
    if (report) {
        report->layout = *root ? SC_LAYOUT_CHECKPOINT_MANAGER : SC_LAYOUT_KERAS_WEIGHTS;
        report->entries = calloc(m->num_vars ? m->num_vars : 1, sizeof *report->entries);
        if (!report->entries) {
            s = sc_error_set(err, SC_NO_MEMORY, "out of memory");
            goto done;
        }
        report->num_entries = m->num_vars;
    }
    for (size_t i = 0; i < m->num_vars; i++) m->vars[i].bound = 0;
    for (size_t i = 0; i < m->num_vars; i++) {
        sc_variable *v = &m->vars[i];
        char key[512];
        snprintf(key, sizeof key, "%slayer_with_weights-%d/%s" ATTR, root, v->layer_with_weights,
                 v->name);
        if (report) {
            size_t ln = strlen(v->layer) + strlen(v->name) + 2;
            report->entries[i].variable = malloc(ln);
            if (report->entries[i].variable)
                snprintf(report->entries[i].variable, ln, "%s/%s", v->layer, v->name);
        }
        const sc_tensor_info *t = sc_bundle_find(b, key);
        if (!t) {
            if (s == SC_OK)
                s = sc_error_set(err, SC_NOT_FOUND,
                                 "%s: layer '%s': variable '%s' not found (expected key '%s')",
                                 prefix, v->layer, v->name, key);
            continue; /* keep going so the report lists everything that is missing */
        }
        used[t - sc_bundle_tensor(b, 0)] = 1;
        if (report) report->entries[i].key = strdup(key);
        if (s != SC_OK) continue;
        char want[128], found[128];
        if (!same_shape(t, &v->shape)) {
            info_shape_str(t, found, sizeof found);
            s = sc_error_set(err, SC_INVALID_ARGUMENT,
                             "%s: layer '%s': variable '%s' (key '%s') has shape %s, the model "
                             "expects %s", prefix, v->layer, v->name, key, found,
                             sc_shape_str(&v->shape, want, sizeof want));
            continue;
        }
        if (!sc_dtype_converts_to_float32(t->dtype)) {
            s = sc_error_set(err, SC_UNIMPLEMENTED,
                             "%s: layer '%s': variable '%s' is stored as %s, which cannot be "
                             "converted to float32", prefix, v->layer, v->name,
                             sc_dtype_name(t->dtype));
            continue;
        }
        if (t->dtype == SC_DT_FLOAT) {
            s = sc_bundle_read(b, t, v->data, (size_t)v->num_elements * sizeof(float), err);
        } else {
            if (t->size > tmp_cap) {
                void *nt = realloc(tmp, t->size);
                if (!nt) {
                    s = sc_error_set(err, SC_NO_MEMORY, "out of memory reading '%s'", key);
                    continue;
                }
                tmp = nt;
                tmp_cap = t->size;
            }
            s = sc_bundle_read(b, t, tmp, tmp_cap, err);
            if (!s) s = sc_convert_to_float32(t->dtype, tmp, (size_t)v->num_elements, v->data, err);
        }
        if (!s) v->bound = 1;
    }
    if (report && report_unused(m, b, root, used, report) != SC_OK && s == SC_OK)
        s = sc_error_set(err, SC_NO_MEMORY, "out of memory");
done:
    free(used);
    free(tmp);
    return s;
}
