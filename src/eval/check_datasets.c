/* eval/check_datasets.c — what sc_evaluator_create promises in eval.h: every dataset feeds the
 * model's inputs, one for one and shape for shape. Without it a dataset with fewer inputs, or a
 * smaller example, makes the runner read past the batch buffers. */
#include "core/error.h"
#include "eval/eval_internal.h"

static const char *shape_str(const int64_t *dims, int rank, char *buf, size_t cap) {
    sc_dataset_shape s = {.rank = rank};
    for (int i = 0; i < rank && i < SC_DATASET_MAX_RANK; i++) s.dims[i] = dims[i];
    return sc_dataset_shape_str(&s, buf, cap);
}

sc_status sc_eval_check_dataset(const sc_model *m, const sc_eval_dataset *ed, sc_error *err) {
    const char *name = ed->name && *ed->name ? ed->name : "(unnamed)";
    size_t want = sc_model_num_inputs(m), have = 0;
    if (!ed->data)
        return sc_error_set(err, SC_INVALID_ARGUMENT, "evaluator: dataset %s: no data", name);
    while (sc_dataset_input_shape(ed->data, have)) have++;
    if (have != want)
        return sc_error_set(err, SC_INVALID_ARGUMENT,
                            "evaluator: dataset %s has %zu inputs, model '%s' has %zu", name, have,
                            sc_model_name(m), want);
    for (size_t i = 0; i < want; i++) {
        sc_shape ms = sc_model_input_shape(m, i);
        const sc_dataset_shape *ds = sc_dataset_input_shape(ed->data, i);
        int ok = ms.rank == ds->rank;
        for (int k = 0; ok && k < ms.rank; k++) ok = ms.dims[k] < 0 || ms.dims[k] == ds->dims[k];
        if (!ok) {
            char a[128], b[128];
            return sc_error_set(err, SC_INVALID_ARGUMENT,
                                "%s: input layer '%s' of model '%s' takes examples of shape %s, "
                                "the data has %s (dataset %s)",
                                sc_dataset_path(ed->data), sc_model_input_name(m, i),
                                sc_model_name(m), shape_str(ms.dims, ms.rank, b, sizeof b),
                                sc_dataset_shape_str(ds, a, sizeof a), name);
        }
    }
    return SC_OK;
}
