/* eval/journal.h — the results journal: one JSON object per line, appended and fsynced after
 * each evaluation's outputs are written. Internal.
 *
 *   {"checkpoint": "ckpt-3", "path": "/runs/a/ckpt-3", "number": 3, "step": 96,
 *    "metrics": {"loss": 0.41, "accuracy": 0.88}, "datasets": {...}, "wall_time": 1.7e9,
 *    "duration_s": 0.12}
 *
 * "metrics" holds the first dataset's metrics; "datasets" maps every dataset's name to its
 * metrics when there are several. A line cut short by a crash is dropped when the journal is
 * opened (the file is truncated after its last complete line), so appends never glue onto it.
 */
#ifndef SC_EVAL_JOURNAL_H
#define SC_EVAL_JOURNAL_H

#include <stddef.h>
#include <stdint.h>

#include "sidecar/status.h"

typedef struct sc_journal sc_journal;

/* Opens (creating) path and reads what it lists. */
sc_status sc_journal_open(const char *path, sc_journal **out, sc_error *err);
void sc_journal_free(sc_journal *j);

/* 1 when a checkpoint of this name (basename of the prefix or file) was evaluated. */
int sc_journal_has(const sc_journal *j, const char *checkpoint_name);
size_t sc_journal_count(const sc_journal *j);

/* The best value of metric `monitor` (first dataset) so far, and the checkpoint path that had
 * it; returns 0 when none. higher_is_better selects max or min. */
int sc_journal_best(const sc_journal *j, const char *monitor, int higher_is_better, double *value,
                    const char **path);

typedef struct sc_journal_metrics {
    const char *dataset; /* "" for the unnamed one */
    size_t num;
    const char *const *names;
    const double *values;
} sc_journal_metrics;

/* Exactly-once outputs. Before an evaluation writes its TensorBoard events, its intent is
 * written atomically to "<journal>.pending": the checkpoint and each of sidecar's event files
 * (relative to the journal's directory) with its size. The result line (sc_journal_append)
 * follows once the events are on disk, and then the intent file is removed. Opening a journal
 * with an intent whose checkpoint has no result line truncates those event files back to the
 * recorded sizes (only "validation..." / "events.out.tfevents..." files directly below are ever
 * truncated), so a crash or a full disk at any write leaves no event the journal does not list,
 * and the checkpoint is evaluated again. The journal itself keeps one line per checkpoint. */
sc_status sc_journal_begin(sc_journal *j, const char *checkpoint_path, const char *const *files,
                           const uint64_t *offsets, size_t num_files, sc_error *err);
/* Event files rolled back when the journal was opened. */
size_t sc_journal_num_repaired(const sc_journal *j);

/* Appends one result line and fsyncs it. */
sc_status sc_journal_append(sc_journal *j, const char *path, int64_t number, int64_t step,
                            const sc_journal_metrics *sets, size_t num_sets, double wall_time,
                            double duration_s, sc_error *err);

#endif
