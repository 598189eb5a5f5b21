/* eval/run_build.c — sidecar/run.h, second half: builds the model, the datasets (files or
 * arrays, with the model's input names and shapes), each dataset's loss and metrics and the
 * evaluator, then runs it. The same steps as `sidecar run` / `sidecar eval`. */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "eval/run_internal.h"
#include "sidecar/keras_weights.h"

static int ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && !strcmp(s + n - k, suffix);
}

static void model_inputs(const sc_run *r, sc_dataset_params *dp) {
    dp->num_inputs = sc_model_num_inputs(r->model);
    for (size_t k = 0; k < dp->num_inputs; k++) {
        sc_shape s = sc_model_input_shape(r->model, k);
        const char *in = sc_model_input_name(r->model, k);
        dp->inputs[k].name = dp->num_inputs == 1 ? NULL : in;
        dp->inputs[k].shape.rank = s.rank;
        for (int d = 0; d < s.rank && d < SC_DATASET_MAX_RANK; d++)
            dp->inputs[k].shape.dims[d] = s.dims[d];
        for (size_t f = 0; f < r->num_features; f++)
            if (!strcmp(r->feature_input[f], in)
                || (dp->num_inputs == 1 && !strcmp(r->feature_input[f], "x")))
                dp->inputs[k].feature = r->feature_name[f];
    }
}

/* Arrays given by input name -> arrays in the model's input order. */
static sc_status order_arrays(const sc_run *r, const run_data *d, sc_dataset_arrays *out,
                              sc_error *err) {
    size_t n = sc_model_num_inputs(r->model);
    const char *dn = d->name ? d->name : "data";
    *out = d->arrays;
    if (n > SC_DATASET_MAX_INPUTS)
        return sc_error_set(err, SC_UNIMPLEMENTED, "%s: model has %zu inputs (at most %d)", dn, n,
                            SC_DATASET_MAX_INPUTS);
    if (d->num_keys != n)
        return sc_error_set(err, SC_INVALID_ARGUMENT,
                            "%s: %zu input arrays, model '%s' has %zu "
                            "inputs",
                            dn, d->num_keys, sc_model_name(r->model), n);
    if (n == 1) {
        const char *key = d->input_key[0], *in = sc_model_input_name(r->model, 0);
        if (key && strcmp(key, in) && strcmp(key, "x"))
            return sc_error_set(err, SC_INVALID_ARGUMENT,
                                "%s: input array '%s': model '%s' has "
                                "one input, '%s'",
                                dn, key, sc_model_name(r->model), in);
        return SC_OK;
    }
    for (size_t k = 0; k < n; k++) {
        const char *in = sc_model_input_name(r->model, k);
        size_t j = 0;
        while (j < n && !(d->input_key[j] && !strcmp(d->input_key[j], in))) j++;
        if (j == n)
            return sc_error_set(err, SC_INVALID_ARGUMENT,
                                "%s: no array for model input '%s' "
                                "(a model with several inputs takes a dict by input name)",
                                dn, in);
        out->inputs[k] = d->arrays.inputs[j];
    }
    return SC_OK;
}

/* "a,b,c" -> column_v (a build that failed may be run again, so from a fresh copy). */
static sc_status split_columns(sc_run *r, sc_error *err) {
    free(r->column_buf);
    r->column_buf = NULL;
    r->num_columns = 0;
    if (!r->columns) return SC_OK;
    if (!(r->column_buf = strdup(r->columns)))
        return sc_error_set(err, SC_NO_MEMORY, "run: out of memory");
    char *save = NULL;
    for (char *t = strtok_r(r->column_buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (r->num_columns == RUN_MAX_COLUMNS)
            return sc_error_set(err, SC_INVALID_ARGUMENT, "run: columns: at most %d columns",
                                RUN_MAX_COLUMNS);
        r->column_v[r->num_columns++] = t;
    }
    return SC_OK;
}

static sc_status open_data(sc_run *r, run_data *d, sc_error *err) {
    sc_dataset_params dp = sc_dataset_default_params();
    dp.batch_size = r->batch_size;
    dp.steps = r->steps;
    model_inputs(r, &dp);
    dp.outputs[0].label = r->label;
    dp.compression = r->compression;
    dp.csv_columns = r->num_columns ? (const char *const *)r->column_v : NULL;
    dp.num_csv_columns = r->num_columns;
    if (d->path) {
        dp.path = d->path;
        dp.sample_weight = r->sample_weight;
        return sc_dataset_open(&dp, &d->ds, err);
    }
    sc_dataset_arrays a;
    sc_status s = order_arrays(r, d, &a, err);
    if (s) return s;
    dp.path = d->name;
    dp.num_outputs = d->have_y ? 1 : 0;
    return sc_dataset_open_arrays(&dp, &a, &d->ds, err);
}

static sc_status compile_for(sc_run *r, run_data *d, sc_error *err) {
    sc_shape out = sc_model_output_shape(r->model, 0);
    const sc_dataset_shape *ls = sc_dataset_label_shape(d->ds, 0);
    sc_compile_shapes cs;
    memset(&cs, 0, sizeof cs);
    cs.pred_rank = out.rank + 1;
    cs.pred_last_dim = out.rank ? out.dims[out.rank - 1] : 1;
    cs.true_rank = ls ? ls->rank + 1 : 1;
    cs.true_last_dim = ls && ls->rank ? ls->dims[ls->rank - 1] : 1;
    cs.keras_version = sc_model_keras_version(r->model);
    if (r->compile_json)
        return sc_compile_from_json(r->compile_json, r->compile_json_len, r->compile_name, &cs,
                                    &d->compiled, err);
    return sc_compile_from_names(r->loss, r->metrics, &cs, &d->compiled, err);
}

/* A .keras archive's compile config, the default when no loss, metrics or config was given. */
static sc_status archive_compile(sc_run *r, sc_error *err) {
    sc_keras_archive *ar;
    sc_status s = sc_keras_archive_open(r->model_path, &ar, err);
    if (s) return s;
    size_t len;
    const char *cfg = sc_keras_archive_config(ar, &len);
    r->compile_json = malloc(len + 1);
    if (r->compile_json) {
        memcpy(r->compile_json, cfg, len);
        r->compile_json[len] = '\0';
        r->compile_json_len = len;
    }
    sc_keras_archive_free(ar);
    if (!r->compile_json || !(r->compile_name = strdup(r->model_path)))
        return sc_error_set(err, SC_NO_MEMORY, "run: out of memory");
    return SC_OK;
}

static sc_status build(sc_run *r, sc_error *err) {
    sc_status s;
    if (r->built) return SC_OK;
    if (r->model_json)
        s = sc_model_load_keras_json(r->model_json, r->model_json_len, "model JSON", &r->model,
                                     err);
    else if (r->model_path)
        s = sc_model_load_keras(r->model_path, &r->model, err);
    else
        s = sc_error_set(err, SC_INVALID_ARGUMENT,
                         "run: no model (a model JSON or .keras path, "
                         "or to_json() text)");
    if (s) return s;
    if (r->compile_json && (r->loss || r->metrics))
        return sc_error_set(err, SC_INVALID_ARGUMENT,
                            "run: a compile config and loss/metrics exclude each other");
    if (!r->compile_json && !r->loss && !r->metrics) {
        if (!r->model_path || !ends_with(r->model_path, ".keras"))
            return sc_error_set(err, SC_INVALID_ARGUMENT,
                                "run: nothing to compute: give loss, metrics or a compile config "
                                "(or a .keras model that carries its compile config)");
        if ((s = archive_compile(r, err))) return s;
    }
    if (r->num_data == 0) return sc_error_set(err, SC_INVALID_ARGUMENT, "run: no data");
    if ((s = split_columns(r, err))) return s;
    for (size_t i = 0; i < r->num_data; i++) {
        run_data *d = &r->data[i];
        if (r->num_data > 1 && !d->name)
            return sc_error_set(err, SC_INVALID_ARGUMENT,
                                "run: with several datasets each needs a name");
        if ((s = open_data(r, d, err)) || (s = compile_for(r, d, err))) return s;
        /* One output: the compile config names its loss and metrics (sc_compile_from_json). */
        r->eds[i] = (sc_eval_dataset){.name = d->name,
                                      .data = d->ds,
                                      .loss = d->compiled.loss,
                                      .metrics = d->compiled.metrics,
                                      .num_metrics = d->compiled.num_metrics,
                                      .weighted = d->compiled.weighted};
    }
    r->p.model = r->model;
    r->p.datasets = r->eds;
    r->p.num_datasets = r->num_data;
    r->p.max_batch = (int)r->batch_size;
    r->p.logdir = r->logdir;
    r->p.export_dir = r->export_dir;
    r->p.model_root = r->model_root;
    r->p.step_key = r->step_key;
    if (r->monitor) r->p.monitor = r->monitor;
    r->p.callbacks = r->callbacks;
    r->p.num_callbacks = r->num_callbacks;
    r->built = 1;
    return SC_OK;
}

/* Creates the evaluator once and publishes it to sc_run_stop; a stop that came first wins. */
static sc_status create_evaluator(sc_run *r, sc_error *err) {
    if (atomic_load(&r->ev)) return SC_OK;
    sc_evaluator *ev;
    sc_status s = sc_evaluator_create(&r->p, &ev, err);
    if (s) return s;
    atomic_store(&r->ev, ev);
    if (atomic_load(&r->stop)) sc_evaluator_stop(ev);
    return SC_OK;
}

sc_status sc_run_start(sc_run *r, sc_error *err) {
    sc_status s = build(r, err);
    if (s) return s;
    if (!r->checkpoint_dir) return sc_error_set(err, SC_INVALID_ARGUMENT, "run: no checkpoint_dir");
    r->p.checkpoint_dir = r->checkpoint_dir;
    if (atomic_load(&r->stop)) return SC_OK;
    if ((s = create_evaluator(r, err))) return s;
    return sc_evaluator_start(atomic_load(&r->ev), err);
}

sc_status sc_run_evaluate(sc_run *r, const char *checkpoint, sc_error *err) {
    sc_status s = build(r, err);
    if (s) return s;
    if (!checkpoint || !*checkpoint)
        return sc_error_set(err, SC_INVALID_ARGUMENT, "run: no checkpoint to evaluate");
    free(r->prefix);
    r->prefix = NULL;
    if (ends_with(checkpoint, ".safetensors") || ends_with(checkpoint, ".h5")
        || ends_with(checkpoint, ".keras")) {
        if (!(r->prefix = strdup(checkpoint))) return sc_error_set(err, SC_NO_MEMORY, "run");
    } else if ((s = sc_ckpt_resolve(checkpoint, &r->prefix, err))) {
        return s;
    }
    if (!atomic_load(&r->ev)) {
        free(r->dir);
        if (!(r->dir = strdup(r->prefix))) return sc_error_set(err, SC_NO_MEMORY, "run");
        char *slash = strrchr(r->dir, '/');
        if (slash)
            *slash = '\0';
        else
            strcpy(r->dir, ".");
        r->p.checkpoint_dir = r->dir;
        r->p.retries = 1;
    }
    if (atomic_load(&r->stop)) return SC_OK;
    if ((s = create_evaluator(r, err))) return s;
    return sc_evaluator_evaluate(atomic_load(&r->ev), r->prefix, err);
}
