/* sidecar/keras_weights.h — Keras 3 weight files: `.weights.h5` (HDF5, FORMATS §7.1) and the
 * `.keras` zip archive (§7.2) that holds one as `model.weights.h5` beside config.json.
 *
 * An sc_h5weights lists every dataset of an HDF5 file, whatever its layout: Keras 3
 * ("layers/dense/vars/0", "optimizer/vars/0"), Keras 2 legacy ("dense_1/dense_1/kernel:0") or
 * anything else. Keys are the dataset's full path without the leading '/', and the list is sorted
 * by key with strcmp. Tensors are described with the checkpoint's sc_tensor_info (shard_id,
 * offset and masked_crc32c are 0: HDF5 locates the data itself).
 *
 * dtypes: IEEE float16/32/64, int8..64, uint8..64 and h5py's bool (an int8 enum FALSE=0, TRUE=1)
 * map to their sc_dtype; a 2-byte dataset carrying the attribute dtype="bfloat16" (how Keras
 * stores bfloat16 variables) is SC_DT_BFLOAT16. Anything else (strings, compounds, non-IEEE
 * floats) is listed with SC_DT_STRING or SC_DT_INVALID and size 0; reading it is
 * SC_UNIMPLEMENTED. A dataset with an HDF5 null dataspace is listed as rank 0 with 0 elements.
 *
 * Errors: a missing file is SC_NOT_FOUND; bytes that are not HDF5, a truncated file or a damaged
 * object are SC_DATA_LOSS, with HDF5's own diagnosis in the message. Every call switches off
 * HDF5's automatic printing of its error stack to stderr (H5Eset_auto2; process-wide).
 *
 * Hostile files: libhdf5 (1.10) validates structure (signature, truncation, object headers) but
 * trusts its global heap, where variable-length strings live: in single-byte-flip runs over a
 * Keras file, every crash or hang was inside H5Aread of such a string attribute. This reader
 * therefore reads string attributes only on request (sc_h5weights_group_name) or for 2-byte
 * datasets that may be bfloat16; listing and reading float tensors never touch the heap.
 * Files written by the training job beside us are trusted input; open files from elsewhere in
 * a separate process.
 *
 * Threads: Debian's libhdf5 is built without its thread-safety option. No two threads may call
 * into this API (or into HDF5 by other means) at the same time, even on different handles;
 * callers that evaluate in parallel must serialize these calls.
 */
#ifndef SIDECAR_KERAS_WEIGHTS_H
#define SIDECAR_KERAS_WEIGHTS_H

#include <stddef.h>
#include <stdint.h>

#include "sidecar/checkpoint.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------------------------------
 * Reading an HDF5 weights file
 * ------------------------------------------------------------------------------------------- */

typedef struct sc_h5weights sc_h5weights;

/* Opens the file read-only and lists its datasets. External and soft links are not followed.
 * A file another process holds locked for writing (h5py saving it right now) is
 * SC_UNAVAILABLE. */
sc_status sc_h5weights_open(const char *path, sc_h5weights **out, sc_error *err);
/* The same for an HDF5 file image in memory (the weights inside a .keras zip). data is copied:
 * the caller may free it when the call returns. name labels the image in sc_h5weights_path and
 * in messages (e.g. "run/model.keras:model.weights.h5"). */
sc_status sc_h5weights_open_memory(const void *data, size_t len, const char *name,
                                   sc_h5weights **out, sc_error *err);
void sc_h5weights_free(sc_h5weights *h); /* NULL is fine */

/* The path (or memory image name) given to open. */
const char *sc_h5weights_path(const sc_h5weights *h);
size_t sc_h5weights_num_tensors(const sc_h5weights *h);
/* Tensor i in strcmp order of keys; owned by h, valid until sc_h5weights_free. */
const sc_tensor_info *sc_h5weights_tensor(const sc_h5weights *h, size_t i);
/* NULL when there is no dataset with that key. */
const sc_tensor_info *sc_h5weights_find(const sc_h5weights *h, const char *key);
/* Copies the dataset's elements into buf (cap >= t->size) as little-endian, row-major values
 * of t->dtype. cap too small: SC_INVALID_ARGUMENT; HDF5 failing to read (damaged file):
 * SC_DATA_LOSS; a dtype listed as unreadable: SC_UNIMPLEMENTED. */
sc_status sc_h5weights_read(sc_h5weights *h, const sc_tensor_info *t, void *buf, size_t cap,
                            sc_error *err);
/* The string attribute `name` of the group at path (no leading '/'; "" is the root) or, when it
 * has none, of "<path>/vars", where Keras 3.1x puts it: sc_h5weights_group_name(h,
 * "layers/dense") is the layer's name ("dense_6"), which differs from the path component.
 * NULL when neither group has a readable string `name`. Read on first request (hence the
 * non-const handle) and owned by h. */
const char *sc_h5weights_group_name(sc_h5weights *h, const char *path);

/* ---------------------------------------------------------------------------------------------
 * What the file says beyond its tensors
 * ------------------------------------------------------------------------------------------- */

/* 1 when the file is in Keras 2's legacy layout (FORMATS §7.4/§7.5: "<layer>/<...>/kernel:0",
 * under model_weights/ in a full-model file), 0 for Keras 3's (layers/<path>/vars/<i>). Decided
 * by content: no Keras 3 key (layers/, _layer_checkpoint_dependencies/, optimizer/vars/). */
int sc_h5weights_is_legacy(const sc_h5weights *h);

/* The training step. Keras 3: the int scalar optimizer/vars/0. Legacy: the int scalar in
 * optimizer_weights/ named iter, iterations or iteration (":0" or not; any optimizer group);
 * *key (may be NULL) gets its key. SC_NOT_FOUND when the file holds no counter (saved without the
 * optimizer), with a message saying so; SC_DATA_LOSS when it cannot be read. */
sc_status sc_h5weights_keras3_step(sc_h5weights *h, int64_t *step, sc_error *err);
sc_status sc_h5weights_legacy_step(sc_h5weights *h, int64_t *step, const char **key, sc_error *err);

/* A string attribute of the root group (legacy "model_config", "training_config",
 * "keras_version"), fixed or variable length, up to 64 MiB, malloc'd into *out; *out is NULL
 * when the file has no such attribute. */
sc_status sc_h5weights_root_attr(sc_h5weights *h, const char *attr, char **out, sc_error *err);

/* ---------------------------------------------------------------------------------------------
 * Writing (tests, tools): a file laid out as h5py with Keras 3 would write it
 * ------------------------------------------------------------------------------------------- */

typedef struct sc_h5weights_entry {
    const char *key;      /* "layers/dense/vars/0": '/'-separated, no leading '/', groups made */
    sc_dtype dtype;       /* float16/32/64, bfloat16, bool, int8..64, uint8..64 */
    int rank;             /* 0 = scalar dataspace; at most 32 */
    const int64_t *shape; /* [rank] */
    const void *data;     /* little-endian, row-major; size = num_elements * sc_dtype_size */
    size_t size;
} sc_h5weights_entry;

/* A group to create even if no dataset lives in it (Keras' empty `vars`), with an optional
 * string attribute `name` (NULL: none) and an optional string attribute `attr` = value (Keras 2's
 * root "model_config" / "training_config"; path "" is the root). */
typedef struct sc_h5weights_group {
    const char *path;
    const char *name;
    const char *attr;
    const char *value;
} sc_h5weights_group;

/* Writes groups, then entries, to "<path>.tmp<pid>" and renames it into place. Contiguous,
 * uncompressed datasets of little-endian types; bool as h5py's int8 enum; bfloat16 as a 2-byte
 * opaque type with the dataset attribute dtype="bfloat16"; string attributes variable-length
 * UTF-8, as h5py writes them. A bad entry (size mismatch, unsupported dtype, duplicate key) is
 * SC_INVALID_ARGUMENT naming the key; nothing is left behind on failure. */
sc_status sc_h5weights_write(const char *path, const sc_h5weights_entry *entries, size_t n,
                             const sc_h5weights_group *groups, size_t num_groups, sc_error *err);

/* ---------------------------------------------------------------------------------------------
 * The .keras archive
 * ------------------------------------------------------------------------------------------- */

typedef struct sc_keras_archive sc_keras_archive;

/* Opens the zip, reads config.json and metadata.json (if present) and opens model.weights.h5
 * from memory (the whole member is held in memory until sc_keras_archive_free).
 * Not a zip or a damaged member: SC_DATA_LOSS; a missing file, config.json or
 * model.weights.h5: SC_NOT_FOUND naming the file and the member; weights stored in a layout
 * this reader does not cover (model.weights.npz, sharded model.weights.json): SC_UNIMPLEMENTED. */
sc_status sc_keras_archive_open(const char *path, sc_keras_archive **out, sc_error *err);
void sc_keras_archive_free(sc_keras_archive *ar); /* NULL is fine */

const char *sc_keras_archive_path(const sc_keras_archive *ar);
/* config.json as text, NUL-terminated; *len (may be NULL) gets its length. */
const char *sc_keras_archive_config(const sc_keras_archive *ar, size_t *len);
/* metadata.json as NUL-terminated text, or NULL when the archive has none. */
const char *sc_keras_archive_metadata(const sc_keras_archive *ar);
/* The weights of model.weights.h5 (path "<archive>:model.weights.h5"); owned by the archive. */
sc_h5weights *sc_keras_archive_weights(sc_keras_archive *ar);

#ifdef __cplusplus
}
#endif
#endif
