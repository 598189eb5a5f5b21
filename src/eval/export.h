/* eval/export.h — best-model export (Keras SidecarEvaluatorModelExport): copies the files of the
 * checkpoint with the best monitored metric into an export directory. Internal.
 *
 * Atomic: each file is copied under a temporary name, fsynced and renamed; then the export
 * directory's `checkpoint` state file is replaced (rename) to name the new best; then the previous
 * best's files are removed. A crash at any point leaves the state file naming a complete
 * checkpoint. */
#ifndef SC_EVAL_EXPORT_H
#define SC_EVAL_EXPORT_H

#include "sidecar/ckpt_ref.h"
#include "sidecar/status.h"

/* Copies the checkpoint into dir, makes it the one the state file names, and removes
 * previous_path's copies (a path in dir, or NULL). By ref->kind: a TF prefix (.index + .data-*
 * shards), a single weight file, or a SavedModel directory (copied whole, as <dir>/<name>/). */
sc_status sc_export_checkpoint(const char *dir, const sc_ckpt_ref *ref, const char *previous,
                               sc_error *err);

#endif
