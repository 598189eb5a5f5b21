/* sidecar/dataset.h — the evaluation dataset: batches of model inputs, labels and sample weights
 * read from an .npz archive, TFRecord files of tf.train.Example, or a CSV table, optionally with
 * a reader thread that fills the next batch while the caller computes on the current one.
 *
 * What `model.evaluate(x, y, batch_size=B, steps=S)` sees, in C:
 *
 *     sc_dataset_params p = sc_dataset_default_params();
 *     p.path = "eval.npz";                 // np.savez(f, x=..., y=...)
 *     p.batch_size = 64;
 *     sc_dataset *ds;
 *     if (sc_dataset_open(&p, &ds, &err) != SC_OK) ...
 *     sc_batch b;
 *     while ((s = sc_dataset_next(ds, &b, &err)) == SC_OK && b.n > 0)
 *         forward(b.inputs[0], b.n) ... metrics(b.labels[0], b.weights, b.n) ...
 *     if (sc_dataset_ran_out(ds)) warn("Your input ran out of data; interrupting ...");
 *     sc_dataset_rewind(ds, &err);        // the next evaluation starts from the beginning
 *     sc_dataset_free(ds);
 *
 * Formats (params.format, SC_DATA_FORMAT_AUTO picks by the path's extension):
 *   .npz      arrays loaded whole at open. One input: array `x` (or, when there is no `x`, the
 *             array named after the input); several inputs: one array per input, named after
 *             the input layer (Keras' dict-of-arrays semantics). Labels: array "y" by default.
 *             All arrays must have the same number of rows (axis 0). Any numeric dtype
 *             (float16/32/64, int/uint 8..64, bool) converts to float32; integer (sparse) labels
 *             become float class ids.
 *   .npy      one input (np.save(x)); the labels are another .npy: outputs[0].label when it ends
 *             in ".npy" (relative to the inputs' directory), else the sibling whose basename
 *             has the x turned into y (x.npy -> y.npy, x_val.npy -> y_val.npy, val_x.npy ->
 *             val_y.npy); sample_weight likewise a .npy path. Several inputs or outputs need an
 *             .npz.
 *   .csv      a header row then one example per row (data.h's CSV rules). Inputs take the
 *             `csv_columns` (default: every column that is neither a label nor the weight, in
 *             file order), consumed by the inputs in order, each taking as many columns as its
 *             shape has elements. Each output's label is one column (default "y").
 *   arrays    float32 arrays in memory, read in place (sc_dataset_open_arrays below).
 *   TFRecord  anything else (.tfrecord, .tfrec, .gz, ...): one serialized tf.train.Example per
 *             record. path may be a file, a glob pattern ("data/eval-*.tfrecord") or several of
 *             either separated by commas; the files are read one after another in sorted
 *             (strcmp) order. Each input reads the feature `inputs[i].feature` (default: the
 *             input's name, or "x" for one unnamed input); labels read feature "y" by default.
 *             float_list and int64_list features convert to float32; a bytes_list feature with
 *             exactly one value is read when `bytes_dtype` says what it holds: a raw
 *             little-endian array (tf.io.serialize_tensor is not supported) of that dtype with
 *             as many elements as the shape, e.g. an image stored as uint8 bytes.
 *
 * Shapes are per example (no batch dimension). rank -1 means "take the shape from the data"
 * (NPZ: the array's shape[1:]; TFRecord: [number of values] of the first record's feature;
 * CSV: [number of columns] for a single input, [] for a label), and a dim of -1 means "take this
 * dim from the data" (TFRecord: the one -1 dim is the value count divided by the other dims).
 * Shapes are resolved at open and then fixed: every example must match, and the buffers are
 * sized from them. Inputs must match their shape exactly (rank and dims); labels only in
 * element count, since Keras broadcasts y of shape (n,) against an (n, 1) output. A mismatch is
 * SC_INVALID_ARGUMENT naming the file, the input (or label) and both shapes.
 *
 * Batches follow Keras: batch_size examples each, in file order (no shuffling), the last batch
 * partial. steps > 0 stops after that many batches; when the data runs out first the pass ends
 * early and sc_dataset_ran_out() says so (Keras warns "Your input ran out of data").
 *
 * Threads: with prefetch 1 (default) a pthread reader fills batch k+1 while the caller holds
 * batch k; an error met by the reader (a corrupt record, a missing feature) is returned by the
 * sc_dataset_next call that would have returned the batch holding that example, with the reader's
 * message. rewind and free stop and join the reader. One sc_dataset must be used from one thread
 * at a time (the reader thread is internal).
 *
 * Memory: the batch buffers (two sets with prefetch) are allocated at open from batch_size and
 * the shapes; sc_dataset_next allocates nothing, except that moving from one TFRecord file to
 * the next opens a new file reader.
 *
 * Errors (messages name the file, then the record / row / array / feature / input, then what was
 * expected and what was found):
 *   SC_INVALID_ARGUMENT bad params (batch_size 0, too many inputs), a missing array / feature /
 *                      column (the message lists those present), a shape mismatch, a .npy
 *                      without a labels file
 *   SC_NOT_FOUND       a file does not exist, a glob matches nothing
 *   SC_DATA_LOSS       corrupt bytes (CRC mismatch, truncated record, bad gzip, bad Example)
 *   SC_UNIMPLEMENTED   a dtype that does not convert to float32
 *   SC_IO, SC_NO_MEMORY as usual
 */
#ifndef SIDECAR_DATASET_H
#define SIDECAR_DATASET_H

#include <stddef.h>
#include <stdint.h>

#include "sidecar/data.h"
#include "sidecar/dtype.h"
#include "sidecar/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SC_DATASET_MAX_INPUTS  16
#define SC_DATASET_MAX_OUTPUTS 16
#define SC_DATASET_MAX_RANK    8

typedef enum sc_data_format {
    SC_DATA_FORMAT_AUTO = 0, /* by extension: .npz .npy .csv, anything else TFRecord */
    SC_DATA_FORMAT_NPZ = 1,
    SC_DATA_FORMAT_NPY = 2, /* inputs in one .npy, labels in another (see above) */
    SC_DATA_FORMAT_CSV = 3,
    SC_DATA_FORMAT_TFRECORD = 4,
    SC_DATA_FORMAT_ARRAYS = 5 /* arrays in memory: sc_dataset_open_arrays, never picked by AUTO */
} sc_data_format;

/* "auto", "npz", "npy", "csv", "tfrecord"; "unknown" otherwise. */
const char *sc_data_format_name(sc_data_format f);

/* A per-example shape. rank -1: from the data; dims[i] -1: that dim from the data. */
typedef struct sc_dataset_shape {
    int rank;
    int64_t dims[SC_DATASET_MAX_RANK];
} sc_dataset_shape;

typedef struct sc_dataset_input {
    const char *name;       /* the model's input layer name; NULL only for a single input */
    sc_dataset_shape shape; /* default rank -1 */
    const char *feature;    /* TFRecord feature; NULL: name (or "x" when name is NULL) */
    sc_dtype bytes_dtype;   /* TFRecord bytes_list feature: element dtype of the raw array;
                           * SC_DT_INVALID (default): the feature must be a float/int64 list */
} sc_dataset_input;

typedef struct sc_dataset_output {
    const char *label;      /* NPZ array / TFRecord feature / CSV column; NULL: "y" */
    sc_dataset_shape shape; /* default rank -1; checked by element count */
    sc_dtype bytes_dtype;   /* as for inputs */
} sc_dataset_output;

typedef struct sc_dataset_params {
    const char *path;      /* file, or for TFRecord glob pattern(s), comma-separated */
    sc_data_format format; /* default AUTO */
    size_t batch_size;     /* default 32, as Keras */
    uint64_t steps;        /* batches per pass; 0 (default): until the data is exhausted */
    size_t num_inputs;     /* default 1 (inputs[0] unnamed, shape from the data) */
    sc_dataset_input inputs[SC_DATASET_MAX_INPUTS];
    size_t num_outputs; /* default 1 (label "y", shape from the data); 0: no labels */
    sc_dataset_output outputs[SC_DATASET_MAX_OUTPUTS];
    const char *sample_weight;      /* NPZ array / feature / column, one value per example; NULL:
                                * none (default), batches then have weights NULL */
    sc_compression compression;     /* TFRecord, default SC_COMPRESSION_AUTO */
    const char *const *csv_columns; /* CSV input columns in order; NULL: all but labels and
                                      * weight, in file order */
    size_t num_csv_columns;
    char csv_delimiter; /* default ',' */
    int prefetch;       /* non-zero (default 1): a reader thread fills one batch
                                      * ahead; 0: batches are read inside next */
    /* Sharding for a group of evaluators (one per MPI rank): this dataset yields only shard
     * `shard_index` of `num_shards` (default 1: everything). The global batches (batch_size
     * examples in file order, as one process makes them; `steps` counts them) are dealt out
     * round-robin: shard r gets global batches r, r + N, r + 2N, ... and skips the others' rows
     * or records without converting them. TFRecord data with at least N files and no `steps`
     * is split by file instead: shard r reads only files r, r + N, ... (sorted order) and
     * batches them itself. Either way every example is in exactly one shard. */
    size_t num_shards;
    size_t shard_index;
} sc_dataset_params;

sc_dataset_params sc_dataset_default_params(void);

typedef struct sc_dataset sc_dataset;

/* A batch: views into the dataset's buffers, valid until the next call to next, rewind or
 * free. inputs[i] holds n x (elements of input i's shape) floats, row-major, example after
 * example; labels[o] likewise; weights n floats or NULL. */
typedef struct sc_batch {
    size_t n;      /* examples in this batch; 0 at the end of the pass */
    int64_t index; /* 0 for the first batch of a pass */
    size_t num_inputs, num_outputs;
    const float *const *inputs; /* [num_inputs] */
    const float *const *labels; /* [num_outputs] */
    const float *weights;
    const char *source;     /* the file of the first example (for messages; valid while
                                 * the dataset is) */
    uint64_t source_record; /* its index there: NPZ row, TFRecord record, CSV data row
                                 * (0-based, not counting the header) */
} sc_batch;

/* Opens the data, checks names and shapes (TFRecord: against the first record), resolves the
 * shapes and allocates the buffers. params is copied; its strings must outlive the dataset.
 * Statuses: see the top of this header. */
sc_status sc_dataset_open(const sc_dataset_params *params, sc_dataset **out, sc_error *err);
/* In-memory data: what `model.evaluate(x, y, sample_weight=w)` is given as NumPy arrays.
 * Each array is float32, C-contiguous, num_examples rows of its per-example shape; the dataset
 * reads it in place (batches point into it: no copy) and never writes it. */
typedef struct sc_dataset_array {
    const float *data; /* borrowed: must outlive the dataset */
    int rank;          /* per-example shape, without the batch dimension */
    int64_t dims[SC_DATASET_MAX_RANK];
} sc_dataset_array;

typedef struct sc_dataset_arrays {
    size_t num_examples;
    sc_dataset_array inputs[SC_DATASET_MAX_INPUTS];  /* in params->inputs order */
    sc_dataset_array labels[SC_DATASET_MAX_OUTPUTS]; /* in params->outputs order */
    const float *sample_weight; /* [num_examples], borrowed; NULL: no weights */
} sc_dataset_arrays;

/* Opens in-memory arrays as a dataset. params gives batch_size, steps, num_inputs and the
 * inputs' names and shapes (as for files: rank -1 takes the array's shape; a given shape must
 * match the array's exactly), num_outputs and the labels' shapes (by element count);
 * params->path, when set, names the data in messages ("arrays" otherwise); format, feature,
 * label, sample_weight, compression and csv_* are ignored; prefetch is off (nothing to read
 * ahead). SC_INVALID_ARGUMENT names the input or label and both shapes on a mismatch, or a NULL
 * data pointer. arrays is copied; the arrays it points to are borrowed. */
sc_status sc_dataset_open_arrays(const sc_dataset_params *params, const sc_dataset_arrays *arrays,
                                 sc_dataset **out, sc_error *err);
/* Stops the reader thread and frees everything. NULL is fine. */
void sc_dataset_free(sc_dataset *ds);

/* The next batch of the current pass. SC_OK with b->n > 0, or SC_OK with b->n == 0 at the end
 * of the pass (data exhausted or `steps` batches returned; again on every later call). On an
 * error, b->n is 0 and every later call fails with the same status until rewind. */
sc_status sc_dataset_next(sc_dataset *ds, sc_batch *b, sc_error *err);

/* Stops the reader thread (if any) and starts a new pass from the first example; clears an
 * earlier error and the ran-out flag. */
sc_status sc_dataset_rewind(sc_dataset *ds, sc_error *err);

/* 1 when steps > 0 and the current pass ended because the data ran out before `steps` batches
 * (known once next has returned n == 0); 0 otherwise. */
int sc_dataset_ran_out(const sc_dataset *ds);

/* Number of examples in the data: known at open for NPZ, after a first complete pass for CSV
 * and TFRecord; -1 while unknown. */
int64_t sc_dataset_num_examples(const sc_dataset *ds);
/* Batches in a pass (min(steps, ceil(examples / batch_size))) when the number of examples is
 * known; -1 otherwise. For progress bars. */
int64_t sc_dataset_num_batches(const sc_dataset *ds);

/* Resolved shapes (rank >= 0, no -1 dims) and the format used (AUTO resolved). */
const sc_dataset_shape *sc_dataset_input_shape(const sc_dataset *ds, size_t i);
const sc_dataset_shape *sc_dataset_label_shape(const sc_dataset *ds, size_t o);
sc_data_format sc_dataset_format(const sc_dataset *ds);
/* params.path as given to sc_dataset_open ("arrays" for sc_dataset_open_arrays without one), for
 * messages about the data made outside the dataset (a model that cannot take its shapes). */
const char *sc_dataset_path(const sc_dataset *ds);

/* Formats a shape as "(28, 28, 1)" / "()" into buf (always NUL-terminated); returns buf. */
const char *sc_dataset_shape_str(const sc_dataset_shape *s, char *buf, size_t cap);

#ifdef __cplusplus
}
#endif
#endif
