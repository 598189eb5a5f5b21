/* ckpt/keras_legacy.c — what a Keras HDF5 file says beyond its tensors: the training step
 * (Keras 3's optimizer/vars/0, FORMATS §7.1; Keras 2's optimizer_weights counter, §7.5) and the
 * legacy file's model_config / training_config root attributes. */
#include <stdlib.h>
#include <string.h>

#include "ckpt/keras_h5.h"
#include "core/error.h"
#include "core/strutil.h"

static int starts_with(const char *s, const char *p) { return strncmp(s, p, strlen(p)) == 0; }

int sc_h5weights_is_legacy(const sc_h5weights *h) {
    for (size_t i = 0; i < sc_h5weights_num_tensors(h); i++) {
        const char *k = sc_h5weights_tensor(h, i)->key;
        if (starts_with(k, "layers/") || starts_with(k, "_layer_checkpoint_dependencies/")
            || starts_with(k, "optimizer/vars/"))
            return 0;
    }
    return 1;
}

static sc_status read_count(sc_h5weights *h, const sc_tensor_info *t, int64_t *step,
                            sc_error *err) {
    int64_t v64 = 0;
    int32_t v32 = 0;
    sc_status s = sc_h5weights_read(h, t, t->dtype == SC_DT_INT64 ? (void *)&v64 : (void *)&v32,
                                    t->size, err);
    if (s == SC_OK) *step = t->dtype == SC_DT_INT64 ? v64 : v32;
    return s;
}

static int is_counter(const sc_tensor_info *t) {
    return t->rank == 0 && (t->dtype == SC_DT_INT64 || t->dtype == SC_DT_INT32);
}

sc_status sc_h5weights_keras3_step(sc_h5weights *h, int64_t *step, sc_error *err) {
    const sc_tensor_info *t = sc_h5weights_find(h, "optimizer/vars/0");
    if (!t || !is_counter(t))
        return sc_error_set(err, SC_NOT_FOUND, "%s: no optimizer/vars/0 iteration counter",
                            sc_h5weights_path(h));
    return read_count(h, t, step, err);
}

/* The step counter's names (§7.5): "<Opt>/iter:0" (tf.keras OptimizerV2), "<Opt>/iterations:0"
 * (standalone Keras <= 2.3), "iteration:0" / "<opt>/iteration" (Keras 2.11+ and Keras 3's
 * legacy save); the ":0" suffix depends on the writer. */
static int counter_name(const char *key) {
    const char *base = strrchr(key, '/');
    base = base ? base + 1 : key;
    size_t n = strcspn(base, ":");
    if (base[n] && strcmp(base + n, ":0") != 0) return 0;
    return (n == 4 && !strncmp(base, "iter", 4)) || (n == 9 && !strncmp(base, "iteration", 9))
           || (n == 10 && !strncmp(base, "iterations", 10));
}

sc_status sc_h5weights_legacy_step(sc_h5weights *h, int64_t *step, const char **key,
                                   sc_error *err) {
    if (key) *key = NULL;
    for (size_t i = 0; i < sc_h5weights_num_tensors(h); i++) {
        const sc_tensor_info *t = sc_h5weights_tensor(h, i);
        if (!starts_with(t->key, "optimizer_weights/") || !is_counter(t) || !counter_name(t->key))
            continue;
        if (key) *key = t->key;
        return read_count(h, t, step, err);
    }
    return sc_error_set(err, SC_NOT_FOUND,
                        "%s: no optimizer_weights iteration counter (saved without the optimizer)",
                        sc_h5weights_path(h));
}

sc_status sc_h5weights_root_attr(sc_h5weights *h, const char *attr, char **out, sc_error *err) {
    sc_h5_quiet();
    return sc_h5_read_config_attr(sc_h5weights_file(h), sc_h5weights_path(h), "", attr, out, err);
}
