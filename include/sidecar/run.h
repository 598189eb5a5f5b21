/* sidecar/run.h — `sidecar run` and `sidecar eval` as library calls: the evaluator assembled from
 * the command's options (a model file or JSON text, data files or in-memory arrays, loss and
 * metrics by name or from a compile config). Made for bindings (the Python package `sidecar`
 * uses nothing else) and for programs that want the command's behaviour without wiring model,
 * datasets, compile config and evaluator themselves (sidecar/eval.h does that).
 *
 *   sc_run *r;
 *   sc_run_create(&r, &err);
 *   sc_run_set_model_path(r, "model.json", &err);
 *   sc_run_set_option(r, "loss", "sparse_categorical_crossentropy", &err);
 *   sc_run_set_option(r, "checkpoint_dir", "runs/a", &err);
 *   sc_run_add_data_path(r, NULL, "eval.npz", &err);
 *   sc_run_start(r, &err);              // the loop, as sc_evaluator_start
 *   sc_run_free(r);
 *
 * Setters copy strings and JSON text. Arrays (sc_run_set_array) and callbacks' user pointers
 * are borrowed until sc_run_free. The model, datasets and evaluator are built by the first
 * sc_run_start / sc_run_evaluate; setters after that return SC_INVALID_ARGUMENT.
 */
#ifndef SIDECAR_RUN_H
#define SIDECAR_RUN_H

#include <stddef.h>
#include <stdint.h>

#include "sidecar/eval.h"
#include "sidecar/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sc_run sc_run;

sc_status sc_run_create(sc_run **out, sc_error *err);
void sc_run_free(sc_run *r); /* NULL is fine */

/* A Keras model JSON file (model.to_json(), Keras 2 or 3) or a .keras archive; an archive's
 * compile config is the default loss and metrics. */
sc_status sc_run_set_model_path(sc_run *r, const char *path, sc_error *err);
/* model.to_json() text (len bytes). */
sc_status sc_run_set_model_json(sc_run *r, const char *json, size_t len, sc_error *err);
/* model.get_compile_config() (or a config.json holding compile_config) as JSON text; name (the
 * file it came from, NULL: "compile config") is used in messages. Excludes the loss and metrics
 * options. */
sc_status sc_run_set_compile_json(sc_run *r, const char *json, size_t len, const char *name,
                                  sc_error *err);

/* The command's options by name ('-' or '_' alike), values as text as on the command line:
 *   checkpoint_dir, loss, metrics (comma-separated), batch_size, steps, max_evaluations, logdir,
 *   every (0|1), export_best, monitor, mode (min|max|auto), timeout, poll (seconds),
 *   watch (auto|inotify|poll), label, sample_weight, compression (none|zlib|gzip|auto),
 *   feature (INPUT=FEATURE, repeatable), retries, threads (compute threads, process-wide),
 *   columns (CSV input columns, comma-separated), model_root and step_key (TF checkpoints: where
 *   the model is, and the tensor holding the training step; as --model-root / --step-key).
 * SC_INVALID_ARGUMENT names an unknown option or a bad value. */
sc_status sc_run_set_option(sc_run *r, const char *name, const char *value, sc_error *err);

/* A dataset read from files (as --data: .npz, .npy, .csv, TFRecord files or patterns). name:
 * NULL or "" for a single dataset, else its name (TensorBoard validation_NAME, the journal). */
sc_status sc_run_add_data_path(sc_run *r, const char *name, const char *path, sc_error *err);
/* An in-memory dataset of num_examples rows; its arrays follow with sc_run_set_array. */
sc_status sc_run_add_data_arrays(sc_run *r, const char *name, size_t num_examples, sc_error *err);
/* An array of the last in-memory dataset. role "x": a model input (key: the input layer's name;
 * NULL for a single-input model), "y": the labels, "sample_weight": one weight per row (rank
 * 0). data: float32, C-contiguous, num_examples rows of shape dims[0..rank); read in place
 * (sc_dataset_open_arrays), borrowed until sc_run_free. */
sc_status sc_run_set_array(sc_run *r, const char *role, const char *key, const float *data,
                           int rank, const int64_t *dims, sc_error *err);

/* Adds a callback (copied; cb->user borrowed). Callbacks run on the thread calling start or
 * evaluate, in the order added. */
sc_status sc_run_add_callback(sc_run *r, const sc_callback *cb, sc_error *err);
/* Where log lines go (sc_evaluator_params.log); NULL: stderr. */
void sc_run_set_log(sc_run *r, void (*log)(void *user, const char *line), void *user);

/* The loop (`sidecar run`): needs checkpoint_dir. Statuses as sc_evaluator_start. */
sc_status sc_run_start(sc_run *r, sc_error *err);
/* One checkpoint (`sidecar eval CKPT`): a prefix, a directory with a `checkpoint` file, a
 * SavedModel directory, a .weights.h5, .keras or .safetensors file. */
sc_status sc_run_evaluate(sc_run *r, const char *checkpoint, sc_error *err);
/* Asks start/evaluate to stop soon (sc_evaluator_stop); before they begin, makes them return
 * SC_OK at once. Async-signal-safe and callable from any thread. */
void sc_run_stop(sc_run *r);

#ifdef __cplusplus
}
#endif
#endif
