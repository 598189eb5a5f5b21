/* data/dataset_internal.h — the per-format sources behind sc_dataset. Internal.
 *
 * dataset.c owns the batching, the buffers and the reader thread; a source only knows how to
 * read the next examples of its format into caller-provided rows. A source is used by one thread
 * at a time (the reader thread while it runs, else the caller).
 */
#ifndef SC_DATA_DATASET_INTERNAL_H
#define SC_DATA_DATASET_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "sidecar/dataset.h"

/* The parameters with every shape resolved by the source's open (rank >= 0, no -1 dims). */
typedef struct sc_ds_spec {
    sc_dataset_params p;
    sc_data_format format;
    size_t in_elems[SC_DATASET_MAX_INPUTS]; /* elements per example, filled by sc_ds_resolve_* */
    size_t out_elems[SC_DATASET_MAX_OUTPUTS];
    int64_t num_examples;  /* known at open (NPZ) or -1 */
    int sharded_by_source; /* the source kept only this shard's files: no batch striding */
} sc_ds_spec;

/* Where an example came from, for messages. */
typedef struct sc_ds_origin {
    const char *file;
    uint64_t record;
} sc_ds_origin;

typedef struct sc_ds_source_ops {
    /* Reads up to cap examples; example k goes to inputs[i] + k * in_elems[i], labels[o] +
     * k * out_elems[o] and weights[k] (weights NULL when there is no sample weight). *n < cap
     * only at the end of the data. *first is the origin of the first example read. */
    sc_status (*fill)(void *self, float *const *inputs, float *const *labels, float *weights,
                      size_t cap, size_t *n, sc_ds_origin *first, sc_error *err);
    /* Optional: passes over up to cap examples without converting them (another shard's);
     * *n < cap only at the end of the data. NULL: fill into scratch rows instead. */
    sc_status (*skip)(void *self, size_t cap, size_t *n, sc_error *err);
    sc_status (*rewind)(void *self, sc_error *err);
    void (*free)(void *self);
    /* Instead of fill (then fill is NULL), for data held in memory: points inputs[i],
     * labels[o] and *weights at up to cap consecutive examples the source holds (no copy). */
    sc_status (*view)(void *self, const float **inputs, const float **labels, const float **weights,
                      size_t cap, size_t *n, sc_ds_origin *first, sc_error *err);
} sc_ds_source_ops;

typedef struct sc_ds_source {
    const sc_ds_source_ops *ops;
    void *self;
} sc_ds_source;

/* Opens the source for spec->p.path and resolves spec's shapes. */
sc_status sc_ds_npz_open(sc_ds_spec *spec, sc_ds_source *out, sc_error *err);
sc_status sc_ds_tfrecord_open(sc_ds_spec *spec, sc_ds_source *out, sc_error *err);
sc_status sc_ds_csv_open(sc_ds_spec *spec, sc_ds_source *out, sc_error *err);
sc_status sc_ds_arrays_open(sc_ds_spec *spec, const sc_dataset_arrays *arrays, sc_ds_source *out,
                            sc_error *err);

/* Names used when params leave them NULL. */
const char *sc_ds_input_name(const sc_ds_spec *spec, size_t i);    /* name, or "x" */
const char *sc_ds_input_feature(const sc_ds_spec *spec, size_t i); /* feature, name or "x" */
const char *sc_ds_label_name(const sc_ds_spec *spec, size_t o);    /* label or "y" */

/* Resolves a requested shape against a data shape (dims[0..rank), per example) and stores it
 * in *want, with its element count in *elems. exact: rank and dims must match (inputs); else only
 * element counts (labels). file, what ("input layer", "label", ...) and name (the model's input
 * layer for inputs) name the thing in the SC_INVALID_ARGUMENT message; src, when not NULL, says
 * where in the file the data came from ("array 'x'", "feature 'ids'"), since it may be named
 * differently from the layer (a single input's `x`). */
sc_status sc_ds_resolve_shape(sc_dataset_shape *want, const int64_t *dims, int rank, int exact,
                              const char *file, const char *what, const char *name, const char *src,
                              size_t *elems, sc_error *err);
/* Same for data that is a flat list of count values (a feature, CSV columns): rank -1 becomes
 * [count], a single -1 dim becomes count / (product of the others). */
sc_status sc_ds_resolve_count(sc_dataset_shape *want, uint64_t count, const char *file,
                              const char *what, const char *name, const char *src, size_t *elems,
                              sc_error *err);
/* Element count of a resolved shape, overflow-checked: 0 on success, -1 on overflow. */
int sc_ds_shape_elems(const sc_dataset_shape *s, size_t *elems);

#endif
