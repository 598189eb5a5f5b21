/* sidecar/ckpt_ref.h — what kind of checkpoint a path is, answered once.
 *
 * A checkpoint reaches the evaluator from the watcher (a directory scan) or from the user (a
 * command-line argument). Either place builds one sc_ckpt_ref (kind, path, number) and hands it
 * down: restore, the checkpoint number (Keras' stop rule), the journal and the best-model export
 * read ref->kind and ref->number and never look at the path's suffix again.
 *
 * Kinds, by how the trainer saved:
 *   SC_CKPT_BUNDLE         tf.train.Checkpoint / CheckpointManager, ModelCheckpoint(save_weights_
 *                          only=True) in TF format: a prefix ("dir/ckpt-3"; files ckpt-3.index and
 *                          ckpt-3.data-*).
 *   SC_CKPT_SAVED_MODEL    model.save("dir") in TF2 / ModelCheckpoint(save_weights_only=False)
 *                          without an .h5 suffix: a directory with saved_model.pb and
 *                          variables/variables.{index,data-*}; Keras' config in keras_metadata.pb.
 *   SC_CKPT_KERAS_WEIGHTS  Keras 3 save_weights / ModelCheckpoint("...weights.h5").
 *   SC_CKPT_KERAS_ARCHIVE  Keras 3 model.save("m.keras") (a zip).
 *   SC_CKPT_LEGACY_H5      Keras 2 HDF5 (`.h5`, `.hdf5`): model.save("m.h5"), save_weights("w.h5"),
 *                          ModelCheckpoint("ckpt-{epoch}.h5"), and Keras 3's legacy model.save("m.h5").
 *   SC_CKPT_SAFETENSORS    a .safetensors file.
 */
#ifndef SIDECAR_CKPT_REF_H
#define SIDECAR_CKPT_REF_H

#include <stdint.h>

#include "sidecar/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum sc_ckpt_kind {
    SC_CKPT_NONE = 0,
    SC_CKPT_BUNDLE = 1,
    SC_CKPT_SAVED_MODEL = 2,
    SC_CKPT_KERAS_WEIGHTS = 3,
    SC_CKPT_KERAS_ARCHIVE = 4,
    SC_CKPT_LEGACY_H5 = 5,
    SC_CKPT_SAFETENSORS = 6
} sc_ckpt_kind;

/* A checkpoint, classified. path is a bundle prefix, a SavedModel directory (no trailing '/')
 * or a file; who made the ref says who owns path (the watcher's refs live until its next wait;
 * sc_ckpt_ref_resolve's until sc_ckpt_ref_clear). number: the number after the last '-' of the
 * name without its file extension ("ckpt-12.weights.h5", "ckpt-12", "ckpt-12/" -> 12), -1 when
 * there is none (sc_ckpt_number's rule). */
typedef struct sc_ckpt_ref {
    sc_ckpt_kind kind;
    const char *path;
    int64_t number;
} sc_ckpt_ref;

/* "bundle", "saved_model", "keras_weights_h5", "keras_archive", "legacy_h5", "safetensors",
 * "none". */
const char *sc_ckpt_kind_name(sc_ckpt_kind kind);

/* The kind of a weight file from its name alone: ".weights.h5" (before ".h5"), ".keras",
 * ".safetensors", ".h5"/".hdf5" (legacy); SC_CKPT_NONE for anything else. */
sc_ckpt_kind sc_ckpt_file_kind(const char *name);

/* The extension sc_ckpt_file_kind matched (".weights.h5", ...), "" for other kinds. */
const char *sc_ckpt_file_ext(const char *name);

/* The ref's number for a path of that kind (see sc_ckpt_ref). */
int64_t sc_ckpt_ref_number(sc_ckpt_kind kind, const char *path);

/* 1 when dir is a complete SavedModel: saved_model.pb and variables/variables.index exist (TF
 * writes the variables first and saved_model.pb after them). */
int sc_saved_model_complete(const char *dir);

/* Classifies what a user named: a weight file by its name (it must exist: SC_NOT_FOUND), a
 * SavedModel directory (complete, or with keras_metadata.pb and variables/variables.index), else what sc_ckpt_resolve finds (a prefix, a directory's
 * latest checkpoint, the .index file). out->path is malloc'd: free it with sc_ckpt_ref_clear. */
sc_status sc_ckpt_ref_resolve(const char *arg, sc_ckpt_ref *out, sc_error *err);
void sc_ckpt_ref_clear(sc_ckpt_ref *ref); /* frees path and zeroes the ref */

/* The bundle prefix that holds the ref's tensors: the path itself for a bundle,
 * "<dir>/variables/variables" for a SavedModel (malloc'd into *prefix); SC_INVALID_ARGUMENT for
 * other kinds. */
sc_status sc_ckpt_ref_bundle_prefix(const sc_ckpt_ref *ref, char **prefix, sc_error *err);

/* ---------------------------------------------------------------------------------------------
 * The model a checkpoint carries (no separate model JSON needed)
 * ------------------------------------------------------------------------------------------- */

typedef struct sc_keras_config {
    char *model_json;   /* for sc_model_load_keras_json */
    char *compile_json; /* for sc_compile_from_json; NULL when saved before compile() */
    char source[4200];  /* names the config in messages: "m.h5:model_config" */
} sc_keras_config;

/* Reads the Keras model config and compile config inside the checkpoint:
 *   SC_CKPT_KERAS_ARCHIVE  config.json (its compile_config);
 *   SC_CKPT_LEGACY_H5      the root attributes model_config and training_config (FORMATS §7.5);
 *   SC_CKPT_SAVED_MODEL    keras_metadata.pb's root object, or when that file is absent the
 *                          root's user_object metadata in saved_model.pb (FORMATS §7.6): its
 *                          class_name/config, and training_config as the compile config.
 * SC_NOT_FOUND (the message says to give --model) for kinds that carry no config, a weights-only
 * .h5, or a SavedModel whose root is not a Keras Functional/Sequential model; SC_DATA_LOSS for
 * malformed protos; file errors as their readers report them. Clear with sc_keras_config_clear. */
sc_status sc_ckpt_keras_config(const sc_ckpt_ref *ref, sc_keras_config *out, sc_error *err);
void sc_keras_config_clear(sc_keras_config *c);

#ifdef __cplusplus
}
#endif
#endif
