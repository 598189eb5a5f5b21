/* What a checkpoint is: its layout and its training step (FORMATS §3.3-3.5, §10.3-10.4). */
#include <assert.h>
#include <string.h>

#include "sidecar/checkpoint.h"
#include "sidecar/object_graph.h"
#include "ckpt/step_find.h"
#include "core/error.h"
#include "core/strutil.h"

const char *sc_ckpt_layout_name(sc_ckpt_layout layout) {
    switch (layout) {
    case SC_LAYOUT_CHECKPOINT_MANAGER: return "checkpoint_manager";
    case SC_LAYOUT_KERAS_WEIGHTS: return "keras_weights";
    case SC_LAYOUT_SAVED_MODEL: return "saved_model";
    case SC_LAYOUT_NAME_BASED: return "name_based";
    case SC_LAYOUT_UNKNOWN: break;
    }
    return "unknown";
}

const char *sc_step_source_name(sc_step_source src) {
    switch (src) {
    case SC_STEP_OPTIMIZER_ITER: return "optimizer/iter";
    case SC_STEP_OPTIMIZER_ITERATIONS: return "optimizer/_iterations";
    case SC_STEP_SAVE_COUNTER: return "save_counter (fallback)";
    case SC_STEP_FILE_NAME: return "file name (fallback)";
    case SC_STEP_GIVEN_KEY: return "step key (given)";
    case SC_STEP_NONE: break;
    }
    return "none";
}

static int starts_with(const sc_tensor_info *t, const char *s) {
    size_t n = strlen(s);
    return t->key_len >= n && memcmp(t->key, s, n) == 0;
}

static sc_ckpt_layout detect_layout(const sc_bundle *b) {
    const char *prefix = sc_bundle_prefix(b);
    /* A SavedModel is recognised by where it lives, whatever its keys (Keras SavedModels also
     * carry layer_with_weights-K keys). */
    if (strcmp(prefix, "variables/variables") == 0 || sc_ends_with(prefix, "/variables/variables"))
        return SC_LAYOUT_SAVED_MODEL;
    int manager = 0, keras = 0;
    size_t n = sc_bundle_num_tensors(b);
    for (size_t i = 0; i < n; i++) {
        const sc_tensor_info *t = sc_bundle_tensor(b, i);
        if (starts_with(t, "model/")) manager = 1;
        if (starts_with(t, "layer_with_weights-") || starts_with(t, "layer-")) keras = 1;
    }
    if (manager) return SC_LAYOUT_CHECKPOINT_MANAGER;
    if (keras) return SC_LAYOUT_KERAS_WEIGHTS;
    if (!sc_bundle_find(b, SC_OBJECT_GRAPH_KEY)) return SC_LAYOUT_NAME_BASED;
    return SC_LAYOUT_UNKNOWN;
}

/* Reads an int64 or int32 scalar (CRC verified). */
sc_status sc_ckpt_read_int_scalar(sc_bundle *b, const sc_tensor_info *t, int64_t *v,
                                  sc_error *err) {
    if ((t->dtype != SC_DT_INT64 && t->dtype != SC_DT_INT32) || t->num_elements != 1
        || t->rank != 0)
        return sc_error_set(err, SC_INVALID_ARGUMENT,
                            "%s: tensor '%s': expected an int64 or int32 scalar, found %s of "
                            "rank %d with %lld elements",
                            sc_bundle_prefix(b), t->key, sc_dtype_name(t->dtype), t->rank,
                            (long long)t->num_elements);
    size_t want = t->dtype == SC_DT_INT64 ? 8 : 4;
    if (t->size != want)
        return sc_error_set(err, SC_DATA_LOSS,
                            "%s: tensor '%s': %s scalar stored in %llu bytes, expected %zu",
                            sc_bundle_prefix(b), t->key, sc_dtype_name(t->dtype),
                            (unsigned long long)t->size, want);
    uint8_t buf[8];
    sc_status rc = sc_bundle_read(b, t, buf, sizeof buf, err);
    if (rc != SC_OK) return rc;
    uint64_t u = 0;
    for (size_t i = want; i-- > 0;) u = (u << 8) | buf[i]; /* little-endian */
    *v = want == 8 ? (int64_t)u : (int64_t)(int32_t)(uint32_t)u;
    return SC_OK;
}

#define VAR_SUFFIX "/.ATTRIBUTES/VARIABLE_VALUE"

static const struct {
    const char *key;
    sc_step_source src;
} STEP_KEYS[] = {
    {"optimizer/iter" VAR_SUFFIX, SC_STEP_OPTIMIZER_ITER},
    {"optimizer/_iterations" VAR_SUFFIX, SC_STEP_OPTIMIZER_ITERATIONS},
    {"model/optimizer/iter" VAR_SUFFIX, SC_STEP_OPTIMIZER_ITER},
    {"model/optimizer/_iterations" VAR_SUFFIX, SC_STEP_OPTIMIZER_ITERATIONS},
};

sc_status sc_ckpt_describe(sc_bundle *b, sc_ckpt_info *out, sc_error *err) {
    return sc_ckpt_describe_ex(b, NULL, out, err);
}

sc_status sc_ckpt_describe_ex(sc_bundle *b, const sc_step_params *p, sc_ckpt_info *out,
                              sc_error *err) {
    assert(b && out);
    sc_ckpt_info info;
    memset(&info, 0, sizeof info);
    info.step = -1;
    info.save_counter = -1;
    sc_status rc = SC_OK;
    sc_object_graph *g = NULL;
    info.layout = detect_layout(b);
    info.file_number = sc_ckpt_number(sc_bundle_prefix(b));

    /* Decoding the graph checks it is intact: a checkpoint whose graph is corrupt cannot be
     * trusted to map keys either. */
    if (sc_bundle_find(b, SC_OBJECT_GRAPH_KEY)) {
        if ((rc = sc_object_graph_read(b, &g, err)) != SC_OK) goto done;
        info.has_object_graph = 1;
        sc_model_path_guess(g, &info);
        /* The model under another name than `model` (tf.train.Checkpoint(net=...)). */
        if (info.layout == SC_LAYOUT_UNKNOWN && info.model_path_found)
            info.layout =
                info.model_path[0] ? SC_LAYOUT_CHECKPOINT_MANAGER : SC_LAYOUT_KERAS_WEIGHTS;
    }

    const sc_tensor_info *sc = sc_bundle_find(b, "save_counter" VAR_SUFFIX);
    if (sc && (rc = sc_ckpt_read_int_scalar(b, sc, &info.save_counter, err)) != SC_OK) goto done;

    if (p && p->step_key) {
        if ((rc = sc_step_given(b, g, p->step_key, &info, err)) != SC_OK) goto done;
    } else if (g) {
        if ((rc = sc_step_from_graph(b, g, p, &info, err)) != SC_OK) goto done;
    }
    for (size_t i = 0;
         info.step_source == SC_STEP_NONE && i < sizeof STEP_KEYS / sizeof STEP_KEYS[0]; i++) {
        const sc_tensor_info *t = sc_bundle_find(b, STEP_KEYS[i].key);
        if (!t) continue;
        if ((rc = sc_ckpt_read_int_scalar(b, t, &info.step, err)) != SC_OK) goto done;
        info.step_source = STEP_KEYS[i].src;
        info.step_key = t->key;
    }
    if (info.step_source == SC_STEP_NONE && sc) {
        info.step = info.save_counter;
        info.step_source = SC_STEP_SAVE_COUNTER;
        info.step_key = sc->key;
    } else if (info.step_source == SC_STEP_NONE && info.file_number >= 0) {
        info.step = info.file_number;
        info.step_source = SC_STEP_FILE_NAME;
    }
    *out = info;
done:
    sc_object_graph_free(g);
    return rc;
}
