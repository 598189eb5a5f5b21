/* eval/run_internal.h — the state behind sidecar/run.h, shared by run.c (options) and
 * run_build.c (model, datasets, compile, evaluator). Internal. */
#ifndef SC_EVAL_RUN_INTERNAL_H
#define SC_EVAL_RUN_INTERNAL_H

#include <stdatomic.h>

#include "sidecar/compile.h"
#include "sidecar/run.h"

#define RUN_MAX_DATASETS  8
#define RUN_MAX_FEATURES  16
#define RUN_MAX_CALLBACKS 16
#define RUN_MAX_COLUMNS   256

typedef struct run_data {
    char *name, *path; /* path NULL: arrays */
    sc_dataset_arrays arrays;
    char *input_key[SC_DATASET_MAX_INPUTS];
    size_t num_keys;
    int have_y;
    sc_dataset *ds;
    sc_compiled compiled;
} run_data;

struct sc_run {
    char *model_path, *model_json, *compile_json, *compile_name;
    size_t model_json_len, compile_json_len;
    char *checkpoint_dir, *loss, *metrics, *logdir, *export_dir, *monitor, *label, *sample_weight;
    char *model_root, *step_key; /* TF checkpoints (sc_evaluator_params) */
    char *columns;               /* CSV input columns, comma-separated; split at build */
    char *column_buf;            /* a copy of columns, split in place into column_v */
    char *column_v[RUN_MAX_COLUMNS];
    size_t num_columns;
    char *feature_input[RUN_MAX_FEATURES], *feature_name[RUN_MAX_FEATURES];
    size_t num_features;
    sc_evaluator_params p; /* options land here directly */
    size_t batch_size;
    uint64_t steps;
    sc_compression compression;
    run_data data[RUN_MAX_DATASETS];
    size_t num_data;
    sc_callback callbacks[RUN_MAX_CALLBACKS];
    size_t num_callbacks;
    sc_model *model;
    sc_eval_dataset eds[RUN_MAX_DATASETS];
    int built;
    char *prefix, *dir; /* evaluate: the resolved checkpoint and its directory */
    _Atomic(sc_evaluator *) ev;
    atomic_int stop;
};

#endif
