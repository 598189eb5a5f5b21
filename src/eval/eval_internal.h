/* eval/eval_internal.h — the evaluator's state, shared by its files. Internal. */
#ifndef SC_EVAL_INTERNAL_H
#define SC_EVAL_INTERNAL_H

#include <stdatomic.h>

#include "eval/journal.h"
#include "sidecar/eval.h"
#include "sidecar/summary.h"

/* One dataset's results of the last evaluation: "loss" first, then the metrics. */
typedef struct sc_eval_result {
    size_t num;
    const char **names;
    double *values;
} sc_eval_result;

struct sc_evaluator {
    sc_evaluator_params p;
    sc_runner *runner;
    sc_journal *journal;             /* NULL without a logdir */
    sc_watcher *watcher;
    _Atomic(sc_watcher *) watcher_live; /* what sc_evaluator_stop may interrupt */
    atomic_int stop;
    sc_summary_writer **writers;     /* per dataset, created on first use */
    sc_eval_result *results;         /* per dataset */
    const char **names;              /* scratch for callback logs */
    double *values;
    size_t num_evaluated;
    int higher_is_better;
    int have_best;
    double best;
    char best_path[4096];
};

double sc_eval_now(void);
/* The number after the last '-' of a checkpoint's name, a weight file's extension removed
 * (ckpt-12.weights.h5 -> 12); -1 when there is none. */
int64_t sc_eval_checkpoint_number(const char *path);
void sc_eval_log(sc_evaluator *ev, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Restores the checkpoint (prefix or weight file) into the model with bounded retries and reads
 * its training step. SC_UNAVAILABLE / SC_DATA_LOSS after the retries (the caller skips it);
 * SC_NOT_FOUND with Keras' message when there is no step. */
/* The dataset has the model's inputs with the model's shapes (check_datasets.c). */
sc_status sc_eval_check_dataset(const sc_model *m, const sc_eval_dataset *ed, sc_error *err);
sc_status sc_eval_restore(sc_evaluator *ev, const char *path, int64_t *step, sc_error *err);

/* Evaluates dataset d: rewind, batches through the model, loss and metrics, callbacks; fills
 * ev->results[d]. */
sc_status sc_eval_dataset_run(sc_evaluator *ev, size_t d, const char *path, int64_t step,
                              sc_error *err);

#endif
