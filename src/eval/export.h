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

/* The export directory is sidecar's alone: it holds a `.sidecar-export` marker, created when the
 * directory was new or empty. A directory with other files, or one that is, holds or lies in
 * the checkpoint directory (compared as real paths), is refused (sc_export_dir_check in eval.h).
 * Only files of earlier exports are ever replaced or removed. */

/* Copies the checkpoint into dir, makes it the one the state file names, then removes every
 * other file of dir but the marker (the previous best, leftovers of an interrupted export). By
 * ref->kind: a TF prefix (.index + .data-* shards), a single weight file, or a SavedModel
 * directory (copied whole, as <dir>/<name>/). */
sc_status sc_export_checkpoint(const char *dir, const sc_ckpt_ref *ref, sc_error *err);

/* 1 when dir's state file names checkpoint (by basename): the export is up to date. */
int sc_export_is_current(const char *dir, const char *checkpoint);

#endif
