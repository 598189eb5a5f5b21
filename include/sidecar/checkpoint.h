/* sidecar/checkpoint.h — TensorFlow V2 checkpoints ("TensorBundle"), the `checkpoint` state
 * file, and what a checkpoint is (layout, training step).
 *
 * A checkpoint is named by its prefix, e.g. "/runs/a/ckpt-3", and made of
 *   <prefix>.index                  an SSTable: key "" -> BundleHeaderProto, then
 *                                   tensor key -> BundleEntryProto, keys in bytewise order
 *   <prefix>.data-SSSSS-of-NNNNN    raw tensor payloads, N = num_shards of the header
 * (byte-level spec: docs/FORMATS.md §1-3). Every block CRC of the index is verified when the
 * bundle is opened; every tensor's CRC is verified when the tensor is read.
 *
 * Errors: an .index that is not an SSTable or fails a CRC is SC_DATA_LOSS; a missing .index is
 * SC_NOT_FOUND; a missing or short .data shard is SC_UNAVAILABLE (a checkpoint still being
 * written, or deleted by max_to_keep while being read); a tensor whose bytes fail their CRC is
 * SC_DATA_LOSS; a partitioned (sliced) tensor is SC_UNIMPLEMENTED when read. Messages name the
 * file and the tensor key.
 */
#ifndef SIDECAR_CHECKPOINT_H
#define SIDECAR_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "sidecar/dtype.h"
#include "sidecar/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A byte string that is not NUL-terminated (tensor string elements, proto bytes). */
typedef struct sc_bytes {
    const uint8_t *data;
    size_t size;
} sc_bytes;

/* ---------------------------------------------------------------------------------------------
 * Reading a bundle
 * ------------------------------------------------------------------------------------------- */

/* One tensor entry of the index, as stored. Owned by the bundle; valid until sc_bundle_free. */
typedef struct sc_tensor_info {
    const char *
        key; /* NUL-terminated table key, e.g. "model/layer_with_weights-0/kernel/.ATTRIBUTES/VARIABLE_VALUE" */
    size_t key_len;       /* keys are arbitrary bytes; key_len is authoritative */
    sc_dtype dtype;       /* as stored; may be a type we do not decode (variant, resource, ...) */
    int rank;             /* 0 for scalars */
    const int64_t *shape; /* [rank], outermost first; row-major data */
    int64_t num_elements; /* product of shape (1 for scalars, 0 for empty tensors) */
    int32_t shard_id;
    uint64_t offset;        /* byte offset in the shard */
    uint64_t size;          /* bytes stored in the shard */
    uint32_t masked_crc32c; /* as stored in the entry */
    int num_slices;         /* > 0: a partitioned tensor whose data lives under slice keys */
} sc_tensor_info;

typedef struct sc_bundle sc_bundle;

/* Opens "<prefix>.index", verifies its footer, block CRCs and header, and decodes every entry.
 * Does not touch the data shards (reading a tensor does). */
sc_status sc_bundle_open(const char *prefix, sc_bundle **out, sc_error *err);
void sc_bundle_free(sc_bundle *b); /* NULL is fine */

const char *sc_bundle_prefix(const sc_bundle *b);
int32_t sc_bundle_num_shards(const sc_bundle *b);
/* Tensors in key order (the header entry "" is not counted). */
size_t sc_bundle_num_tensors(const sc_bundle *b);
const sc_tensor_info *sc_bundle_tensor(const sc_bundle *b, size_t i);
/* NULL when the bundle has no such key. */
const sc_tensor_info *sc_bundle_find(const sc_bundle *b, const char *key);

/* Reads the tensor's stored bytes into buf (cap >= t->size) and verifies the entry CRC (and, for
 * strings, the length checksum). Numeric tensors come out as little-endian row-major arrays of
 * sc_dtype_size(dtype) bytes per element; a byte count that does not match the shape is
 * SC_DATA_LOSS. DT_STRING tensors come out in their stored layout: decode with
 * sc_bundle_decode_strings. Thread-safe for distinct buffers. */
sc_status sc_bundle_read(sc_bundle *b, const sc_tensor_info *t, void *buf, size_t cap,
                         sc_error *err);

/* Splits a DT_STRING payload read by sc_bundle_read into its t->num_elements elements.
 * items[] (caller-allocated, num_elements long) point into raw. */
sc_status sc_bundle_decode_strings(const sc_tensor_info *t, const void *raw, size_t raw_size,
                                   sc_bytes *items, sc_error *err);

/* ---------------------------------------------------------------------------------------------
 * Writing a bundle (tests, the demo trainer, best-model export). Follows TensorFlow's own writer:
 * header {num_shards, version{producer=1}}, restart interval 16 (index block 1), empty metaindex,
 * uncompressed blocks, data files first under temporary names then renamed, the .index last.
 * ------------------------------------------------------------------------------------------- */

typedef struct sc_bundle_writer_params {
    int num_shards;    /* data files; default 1 */
    size_t block_size; /* SSTable data block size; default 262144 as in TensorFlow */
} sc_bundle_writer_params;

sc_bundle_writer_params sc_bundle_writer_default_params(void);

typedef struct sc_bundle_writer sc_bundle_writer;

sc_status sc_bundle_writer_create(const char *prefix, const sc_bundle_writer_params *params,
                                  sc_bundle_writer **out, sc_error *err);
/* Adds a numeric tensor: size must equal num_elements * sc_dtype_size(dtype). shard selects the
 * data file (0 .. num_shards-1). Keys may be added in any order; a duplicate key is
 * SC_INVALID_ARGUMENT. The data is written out before the call returns. */
sc_status sc_bundle_writer_add(sc_bundle_writer *w, const char *key, sc_dtype dtype, int rank,
                               const int64_t *shape, const void *data, size_t size, int shard,
                               sc_error *err);
/* Adds a DT_STRING tensor of num_elements(shape) items. */
sc_status sc_bundle_writer_add_strings(sc_bundle_writer *w, const char *key, int rank,
                                       const int64_t *shape, const sc_bytes *items, int shard,
                                       sc_error *err);
/* Writes the index and renames every file into place. The bundle is readable only after this. */
sc_status sc_bundle_writer_finish(sc_bundle_writer *w, sc_error *err);
/* Frees the writer; an unfinished writer removes its temporary files. NULL is fine. */
void sc_bundle_writer_free(sc_bundle_writer *w);

/* ---------------------------------------------------------------------------------------------
 * The `checkpoint` state file (CheckpointState in protobuf text format, FORMATS §2)
 * ------------------------------------------------------------------------------------------- */

typedef struct sc_ckpt_state {
    char *model_checkpoint_path;       /* as written (relative or absolute) */
    char **all_model_checkpoint_paths; /* oldest first */
    size_t num_paths;
    double *all_model_checkpoint_timestamps;
    size_t num_timestamps;
    double last_preserved_timestamp;
} sc_ckpt_state;

/* Parses the text; name is used in messages (the file's path). Malformed text is
 * SC_INVALID_ARGUMENT naming the line and what was expected. */
sc_status sc_ckpt_state_parse(const char *text, size_t len, const char *name, sc_ckpt_state *out,
                              sc_error *err);
/* Reads <dir>/checkpoint. No file: SC_NOT_FOUND. */
sc_status sc_ckpt_state_read(const char *dir, sc_ckpt_state *out, sc_error *err);
/* Writes <dir>/checkpoint atomically (temporary file + fsync + rename), as TensorFlow writes it. */
sc_status sc_ckpt_state_write(const char *dir, const sc_ckpt_state *st, sc_error *err);
void sc_ckpt_state_clear(sc_ckpt_state *st); /* frees the members; the struct is zeroed */

/* tf.train.latest_checkpoint(dir): model_checkpoint_path of <dir>/checkpoint, joined to dir when
 * relative, returned only if "<prefix>.index" exists. *prefix_out is malloc'd (free()).
 * SC_NOT_FOUND when there is no state file or the prefix has no .index (the message says
 * which); SC_INVALID_ARGUMENT when the state file does not parse. */
sc_status sc_latest_checkpoint(const char *dir, char **prefix_out, sc_error *err);

/* What the user can pass: a checkpoint prefix, a directory holding a `checkpoint` state file
 * (its latest checkpoint), or a SavedModel directory (its variables/variables). *prefix_out is
 * malloc'd. */
sc_status sc_ckpt_resolve(const char *path, char **prefix_out, sc_error *err);

/* The number after the last '-' of the prefix's file name ("ckpt-12" -> 12, Keras'
 * max_evaluations rule), or -1 when the name has none (never an error). Only ASCII digits up to
 * the end count: "cp-0050.ckpt", "ckpt-", "ckpt" and values above INT64_MAX give -1 (where
 * Keras' int(path.split("-")[-1]) would raise). */
int64_t sc_ckpt_number(const char *prefix);

/* ---------------------------------------------------------------------------------------------
 * What a checkpoint is
 * ------------------------------------------------------------------------------------------- */

typedef enum sc_ckpt_layout {
    SC_LAYOUT_UNKNOWN = 0,
    SC_LAYOUT_CHECKPOINT_MANAGER = 1, /* tf.train.Checkpoint(model=...): keys under model/... */
    SC_LAYOUT_KERAS_WEIGHTS =
        2, /* Keras ModelCheckpoint/save_weights: layer_with_weights-K at the root */
    SC_LAYOUT_SAVED_MODEL = 3, /* <dir>/variables/variables of a SavedModel */
    SC_LAYOUT_NAME_BASED = 4   /* TF1 Saver: graph variable names, no object graph */
} sc_ckpt_layout;

/* "checkpoint_manager", "keras_weights", "saved_model", "name_based", "unknown". */
const char *sc_ckpt_layout_name(sc_ckpt_layout layout);

typedef enum sc_step_source {
    SC_STEP_NONE = 0,                 /* no step could be found */
    SC_STEP_OPTIMIZER_ITER = 1,       /* optimizer/iter (legacy OptimizerV2) */
    SC_STEP_OPTIMIZER_ITERATIONS = 2, /* optimizer/_iterations (Keras 2.11+) */
    SC_STEP_SAVE_COUNTER = 3,         /* fallback: save_counter */
    SC_STEP_FILE_NAME = 4,            /* fallback: the number in the file name */
    SC_STEP_GIVEN_KEY = 5             /* the key the caller named (sc_step_params.step_key) */
} sc_step_source;

/* "optimizer/iter", "optimizer/_iterations", "save_counter (fallback)",
 * "file name (fallback)", "step key (given)", "none". The first two name the kind of counter
 * (old / new optimizer); sc_ckpt_info.step_key says which key it was (net/optimizer/iter, ...). */
const char *sc_step_source_name(sc_step_source src);

typedef struct sc_ckpt_info {
    sc_ckpt_layout layout;
    int64_t step; /* training step; -1 when step_source is SC_STEP_NONE */
    sc_step_source step_source;
    const char *step_key; /* the tensor key the step came from, or NULL; owned by the bundle */
    int64_t save_counter; /* -1 when absent */
    int64_t file_number;  /* sc_ckpt_number(prefix) */
    int has_object_graph; /* _CHECKPOINTABLE_OBJECT_GRAPH present and decoded */
    /* Why this optimizer's counter was taken when the graph held a choice (static string, e.g.
     * "the optimizer whose slot variables belong to the model"); NULL otherwise. */
    const char *step_reason;
    /* Where the model's layers are, from the object graph: "" for the root (save_weights),
     * "model", "net", ... (the first breadth-first path); model_path_found 0 when the graph
     * shows no Keras layer list (sc_model_bind_bundle_ex finds it exactly, given the model). */
    int model_path_found;
    char model_path[256];
} sc_ckpt_info;

/* How to find the training step. */
typedef struct sc_step_params {
    /* NULL: search (below). Else the step is this tensor: a table key, the same without the
     * "/.ATTRIBUTES/VARIABLE_VALUE" suffix, or an object-graph path ("net/optimizer/iter"). */
    const char *step_key;
    /* Object-graph node ids of the model's variables (sc_bind_report.var_nodes after a bind):
     * the optimizer whose slot variables belong to them is preferred. NULL/0: unknown. */
    const int32_t *model_nodes;
    size_t num_model_nodes;
} sc_step_params;

/* Detects the layout and reads the training step (reads the small step tensors and, when
 * present, the object graph; CRCs verified). Step: the first of optimizer/iter,
 * optimizer/_iterations, model/optimizer/iter, model/optimizer/_iterations, else save_counter,
 * else the file number, else none. A step or save_counter tensor that is not an int64/int32
 * scalar is SC_INVALID_ARGUMENT; an object graph that does not decode is SC_DATA_LOSS; read
 * errors as sc_bundle_read (SC_UNAVAILABLE for a missing data shard). */
sc_status sc_ckpt_describe(sc_bundle *b, sc_ckpt_info *out, sc_error *err);

/* sc_ckpt_describe with a choice of step. With an object graph, every optimizer in it is a
 * candidate (any node with an `iter` or `_iterations` variable, wherever it sits: `optimizer`,
 * `net/optimizer`, a LossScaleOptimizer's `base_optimizer`, FORMATS §3.7), ranked: (1) its slot
 * variables belong to the model's variables (old layout: the optimizer node's slot_variables
 * point at p->model_nodes; new layout: its `_momentums`/`_velocities`-style lists hold variables
 * shaped like the model's), (2) it has slot variables (when the model is not known), (3) its
 * counter is non-zero, (4) any; ties go to the first in breadth-first order. So an optimizer
 * that trained nothing never gives the step when another did. Without a graph: as
 * sc_ckpt_describe. A p->step_key that names nothing is SC_NOT_FOUND; one that is not an int
 * scalar SC_INVALID_ARGUMENT. p may be NULL. */
sc_status sc_ckpt_describe_ex(sc_bundle *b, const sc_step_params *p, sc_ckpt_info *out,
                              sc_error *err);

#ifdef __cplusplus
}
#endif
#endif
