/* eval/run.c — sidecar/run.h: the evaluator assembled from the command's options, for bindings.
 * Everything the command does between parsing its arguments and calling the evaluator: load the
 * model, open each dataset with the model's input names and shapes, compile the loss and metrics
 * for it (names, a compile config, or a .keras archive's), and set the evaluator's params. This
 * file holds the options; run_build.c builds and runs. */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "eval/run_internal.h"

sc_status sc_run_create(sc_run **out, sc_error *err) {
    sc_run *r = calloc(1, sizeof *r);
    *out = r;
    if (!r) return sc_error_set(err, SC_NO_MEMORY, "run: out of memory");
    r->p = sc_evaluator_default_params();
    r->batch_size = 32;
    r->compression = SC_COMPRESSION_AUTO;
    return SC_OK;
}

void sc_run_free(sc_run *r) {
    if (!r) return;
    sc_evaluator_free(atomic_load(&r->ev));
    for (size_t i = 0; i < r->num_data; i++) {
        run_data *d = &r->data[i];
        sc_compiled_clear(&d->compiled);
        sc_dataset_free(d->ds);
        free(d->name);
        free(d->path);
        for (size_t k = 0; k < d->num_keys; k++) free(d->input_key[k]);
    }
    for (size_t f = 0; f < r->num_features; f++) {
        free(r->feature_input[f]);
        free(r->feature_name[f]);
    }
    sc_model_free(r->model);
    char **strs[] = {&r->model_path,     &r->model_json, &r->compile_json, &r->compile_name,
                     &r->checkpoint_dir, &r->loss,       &r->metrics,      &r->logdir,
                     &r->export_dir,     &r->monitor,    &r->label,        &r->sample_weight,
                     &r->prefix,         &r->dir,        &r->model_root,   &r->step_key,
                     &r->columns,        &r->column_buf};
    for (size_t i = 0; i < sizeof strs / sizeof *strs; i++) free(*strs[i]);
    free(r);
}

static sc_status not_after_build(const sc_run *r, const char *what, sc_error *err) {
    if (!r->built) return SC_OK;
    return sc_error_set(err, SC_INVALID_ARGUMENT, "run: %s after the run started", what);
}

/* Replaces *dst by a copy of len bytes of src (NUL-terminated). */
static sc_status set_text(char **dst, const char *src, size_t len, sc_error *err) {
    char *c = malloc(len + 1);
    if (!c) return sc_error_set(err, SC_NO_MEMORY, "run: out of memory");
    memcpy(c, src, len);
    c[len] = '\0';
    free(*dst);
    *dst = c;
    return SC_OK;
}

static sc_status set_str(char **dst, const char *src, sc_error *err) {
    if (!src) {
        free(*dst);
        *dst = NULL;
        return SC_OK;
    }
    return set_text(dst, src, strlen(src), err);
}

sc_status sc_run_set_model_path(sc_run *r, const char *path, sc_error *err) {
    sc_status s = not_after_build(r, "set_model_path", err);
    if (s) return s;
    free(r->model_json);
    r->model_json = NULL;
    return set_str(&r->model_path, path, err);
}

sc_status sc_run_set_model_json(sc_run *r, const char *json, size_t len, sc_error *err) {
    sc_status s = not_after_build(r, "set_model_json", err);
    if (s) return s;
    free(r->model_path);
    r->model_path = NULL;
    r->model_json_len = len;
    return set_text(&r->model_json, json, len, err);
}

sc_status sc_run_set_compile_json(sc_run *r, const char *json, size_t len, const char *name,
                                  sc_error *err) {
    sc_status s = not_after_build(r, "set_compile_json", err);
    if (s || (s = set_str(&r->compile_name, name ? name : "compile config", err))) return s;
    r->compile_json_len = len;
    return set_text(&r->compile_json, json, len, err);
}

static int parse_i64(const char *v, int64_t min, int64_t *out) {
    char *end;
    long long x = strtoll(v, &end, 10);
    if (end == v || *end || x < min) return 0;
    *out = x;
    return 1;
}

static int parse_secs(const char *v, double *out) {
    char *end;
    double x = strtod(v, &end);
    if (end == v || *end || !(x > 0) || x > 1e9) return 0;
    *out = x;
    return 1;
}

static sc_status bad_value(const char *name, const char *value, const char *want, sc_error *err) {
    return sc_error_set(err, SC_INVALID_ARGUMENT, "run: option %s expects %s, got '%s'", name, want,
                        value);
}

/* Option names compare with '-' and '_' alike. */
static int is(const char *name, const char *want) {
    for (; *name && *want; name++, want++)
        if (*name != *want && !((*name == '-' || *name == '_') && *want == '_')) return 0;
    return *name == *want;
}

sc_status sc_run_set_option(sc_run *r, const char *n, const char *v, sc_error *err) {
    sc_status s = not_after_build(r, "set_option", err);
    if (s) return s;
    if (!n || !v)
        return sc_error_set(err, SC_INVALID_ARGUMENT, "run: option without name or value");
    int64_t i;
    double d;
    if (is(n, "checkpoint_dir")) return set_str(&r->checkpoint_dir, v, err);
    if (is(n, "loss")) return set_str(&r->loss, v, err);
    if (is(n, "metrics")) return set_str(&r->metrics, v, err);
    if (is(n, "logdir")) return set_str(&r->logdir, v, err);
    if (is(n, "export_best") || is(n, "export_dir")) return set_str(&r->export_dir, v, err);
    if (is(n, "monitor")) return set_str(&r->monitor, v, err);
    if (is(n, "label")) return set_str(&r->label, v, err);
    if (is(n, "sample_weight")) return set_str(&r->sample_weight, v, err);
    if (is(n, "model_root")) return set_str(&r->model_root, v, err);
    if (is(n, "step_key")) return set_str(&r->step_key, v, err);
    if (is(n, "columns")) {
        if (!*v) return bad_value(n, v, "C1,C2,...", err);
        return set_str(&r->columns, v, err);
    }
    if (is(n, "threads")) {
        if (!parse_i64(v, 1, &i) || i > 1024) return bad_value(n, v, "an integer in 1..1024", err);
        r->p.threads = (int)i;
        return SC_OK;
    }
    if (is(n, "batch_size")) {
        if (!parse_i64(v, 1, &i) || i > 1 << 20)
            return bad_value(n, v, "an integer in 1..1048576", err);
        r->batch_size = (size_t)i;
    } else if (is(n, "steps")) {
        if (!parse_i64(v, 0, &i)) return bad_value(n, v, "an integer >= 0", err);
        r->steps = (uint64_t)i;
    } else if (is(n, "max_evaluations")) {
        if (!parse_i64(v, 0, &i)) return bad_value(n, v, "an integer >= 0", err);
        r->p.max_evaluations = i;
    } else if (is(n, "every")) {
        if (strcmp(v, "0") && strcmp(v, "1")) return bad_value(n, v, "0 or 1", err);
        r->p.every = v[0] == '1';
    } else if (is(n, "retries")) {
        if (!parse_i64(v, 1, &i) || i > 1000) return bad_value(n, v, "an integer in 1..1000", err);
        r->p.retries = (int)i;
    } else if (is(n, "timeout")) {
        if (!parse_secs(v, &d)) return bad_value(n, v, "seconds > 0", err);
        r->p.timeout_s = d;
    } else if (is(n, "poll")) {
        if (!parse_secs(v, &d)) return bad_value(n, v, "seconds > 0", err);
        r->p.watch_mode = SC_WATCH_POLL;
        r->p.poll_interval_ms = d * 1000 < 1 ? 1 : (int)(d * 1000 + 0.5);
    } else if (is(n, "watch")) {
        if (!strcmp(v, "auto"))
            r->p.watch_mode = SC_WATCH_AUTO;
        else if (!strcmp(v, "inotify"))
            r->p.watch_mode = SC_WATCH_INOTIFY;
        else if (!strcmp(v, "poll"))
            r->p.watch_mode = SC_WATCH_POLL;
        else
            return bad_value(n, v, "auto, inotify or poll", err);
    } else if (is(n, "mode")) {
        if (!strcmp(v, "auto"))
            r->p.export_mode = SC_EXPORT_AUTO;
        else if (!strcmp(v, "min"))
            r->p.export_mode = SC_EXPORT_MIN;
        else if (!strcmp(v, "max"))
            r->p.export_mode = SC_EXPORT_MAX;
        else
            return bad_value(n, v, "min, max or auto", err);
    } else if (is(n, "compression")) {
        if (!strcmp(v, "auto"))
            r->compression = SC_COMPRESSION_AUTO;
        else if (!strcmp(v, "none"))
            r->compression = SC_COMPRESSION_NONE;
        else if (!strcmp(v, "zlib"))
            r->compression = SC_COMPRESSION_ZLIB;
        else if (!strcmp(v, "gzip"))
            r->compression = SC_COMPRESSION_GZIP;
        else
            return bad_value(n, v, "none, zlib, gzip or auto", err);
    } else if (is(n, "feature")) {
        const char *eq = strchr(v, '=');
        if (!eq || eq == v || !eq[1]) return bad_value(n, v, "INPUT=FEATURE", err);
        if (r->num_features == RUN_MAX_FEATURES)
            return sc_error_set(err, SC_INVALID_ARGUMENT, "run: at most %d features",
                                RUN_MAX_FEATURES);
        char **in = &r->feature_input[r->num_features], **fe = &r->feature_name[r->num_features];
        if ((s = set_text(in, v, (size_t)(eq - v), err)) || (s = set_str(fe, eq + 1, err))) {
            free(*in);
            *in = NULL;
            return s;
        }
        r->num_features++;
    } else {
        return sc_error_set(err, SC_INVALID_ARGUMENT,
                            "run: unknown option '%s' (checkpoint_dir, loss, metrics, "
                            "batch_size, steps, max_evaluations, logdir, every, export_best, "
                            "monitor, mode, timeout, poll, watch, label, sample_weight, "
                            "compression, feature, retries)",
                            n);
    }
    return SC_OK;
}

static sc_status add_data(sc_run *r, const char *name, const char *path, sc_error *err) {
    sc_status s = not_after_build(r, "add_data", err);
    if (s) return s;
    if (r->num_data == RUN_MAX_DATASETS)
        return sc_error_set(err, SC_INVALID_ARGUMENT, "run: at most %d datasets", RUN_MAX_DATASETS);
    run_data *d = &r->data[r->num_data];
    memset(d, 0, sizeof *d);
    if ((s = set_str(&d->name, name && *name ? name : NULL, err))) return s;
    if (path && (s = set_str(&d->path, path, err))) {
        free(d->name);
        d->name = NULL;
        return s;
    }
    r->num_data++;
    return SC_OK;
}

sc_status sc_run_add_data_path(sc_run *r, const char *name, const char *path, sc_error *err) {
    if (!path || !*path) return sc_error_set(err, SC_INVALID_ARGUMENT, "run: empty data path");
    return add_data(r, name, path, err);
}

sc_status sc_run_add_data_arrays(sc_run *r, const char *name, size_t num_examples, sc_error *err) {
    sc_status s = add_data(r, name, NULL, err);
    if (!s) r->data[r->num_data - 1].arrays.num_examples = num_examples;
    return s;
}

sc_status sc_run_set_array(sc_run *r, const char *role, const char *key, const float *data,
                           int rank, const int64_t *dims, sc_error *err) {
    sc_status s = not_after_build(r, "set_array", err);
    if (s) return s;
    run_data *d = r->num_data ? &r->data[r->num_data - 1] : NULL;
    if (!d || d->path)
        return sc_error_set(err, SC_INVALID_ARGUMENT,
                            "run: set_array needs an in-memory "
                            "dataset (add_data_arrays) first");
    if (!data || rank < 0 || rank > SC_DATASET_MAX_RANK || (rank && !dims))
        return sc_error_set(err, SC_INVALID_ARGUMENT,
                            "run: array '%s': no data or rank %d "
                            "(0..%d)",
                            role ? role : "", rank, SC_DATASET_MAX_RANK);
    sc_dataset_array a = {data, rank, {0}};
    for (int k = 0; k < rank; k++) a.dims[k] = dims[k];
    if (role && !strcmp(role, "x")) {
        if (d->num_keys == SC_DATASET_MAX_INPUTS)
            return sc_error_set(err, SC_INVALID_ARGUMENT, "run: at most %d inputs",
                                SC_DATASET_MAX_INPUTS);
        if ((s = set_str(&d->input_key[d->num_keys], key, err))) return s;
        d->arrays.inputs[d->num_keys++] = a;
    } else if (role && !strcmp(role, "y")) {
        d->arrays.labels[0] = a;
        d->have_y = 1;
    } else if (role && !strcmp(role, "sample_weight")) {
        int64_t elems = 1;
        for (int k = 0; k < rank; k++) elems *= dims[k];
        if (elems != 1)
            return sc_error_set(err, SC_INVALID_ARGUMENT,
                                "run: sample_weight must hold one "
                                "value per example (shape (n,) or (n, 1))");
        d->arrays.sample_weight = data;
    } else {
        return sc_error_set(err, SC_INVALID_ARGUMENT,
                            "run: array role '%s' (x, y or "
                            "sample_weight)",
                            role ? role : "(null)");
    }
    return SC_OK;
}

sc_status sc_run_add_callback(sc_run *r, const sc_callback *cb, sc_error *err) {
    sc_status s = not_after_build(r, "add_callback", err);
    if (s) return s;
    if (r->num_callbacks == RUN_MAX_CALLBACKS)
        return sc_error_set(err, SC_INVALID_ARGUMENT, "run: at most %d callbacks",
                            RUN_MAX_CALLBACKS);
    r->callbacks[r->num_callbacks++] = *cb;
    return SC_OK;
}

void sc_run_set_log(sc_run *r, void (*log)(void *user, const char *line), void *user) {
    r->p.log = log;
    r->p.log_user = user;
}

void sc_run_stop(sc_run *r) {
    atomic_store(&r->stop, 1);
    sc_evaluator *ev = atomic_load(&r->ev);
    if (ev) sc_evaluator_stop(ev);
}
