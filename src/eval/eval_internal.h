/* eval/eval_internal.h — the evaluator's state, shared by its files. Internal. */
#ifndef SC_EVAL_INTERNAL_H
#define SC_EVAL_INTERNAL_H

#include <stdatomic.h>

#include "eval/journal.h"
#include "sidecar/eval.h"
#include "sidecar/summary.h"

#define SC_EVAL_MAX_DATASETS 16 /* datasets per evaluator (the CLI allows 8) */

/* One dataset's results of the last evaluation: "loss" first, then the metrics. */
typedef struct sc_eval_result {
    size_t num;
    const char **names;
    double *values;
    char **loss_names;  /* [num_outputs of the dataset]: "<output>_loss" */
    double *out_totals; /* [2 * num_outputs]: per-output loss total and count of this pass */
} sc_eval_result;

struct sc_evaluator {
    sc_evaluator_params p;
    sc_runner *runner;
    sc_journal *journal; /* NULL without a logdir */
    sc_watcher *watcher;
    _Atomic(sc_watcher *) watcher_live; /* what sc_evaluator_stop may interrupt */
    atomic_int stop;
    sc_summary_writer **writers; /* per dataset, created on first use */
    sc_eval_result *results;     /* per dataset */
    const char **names;          /* scratch for callback logs */
    double *values;
    size_t num_evaluated;
    int higher_is_better;
    int have_best;
    double best;
    char best_path[4096];
    char **seen; /* basenames evaluated by this evaluator */
    size_t num_seen, cap_seen;
    int stop_logged;
    char step_key_logged[512]; /* the last non-standard step key announced in the log */
    int group_failed;          /* another rank failed this evaluation (rank 0 reports it) */
};

double sc_eval_now(void);
void sc_eval_log(sc_evaluator *ev, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Restores the checkpoint into the model with bounded retries and reads its training step.
 * SC_UNAVAILABLE / SC_DATA_LOSS after the retries (the caller skips it); SC_NOT_FOUND with
 * Keras' message when there is no step. */
sc_status sc_eval_restore(sc_evaluator *ev, const sc_ckpt_ref *ref, int64_t *step, sc_error *err);

/* A model with free input dims (sequence length) takes dataset d's shapes: the runner re-plans
 * on its next run when they changed. Fixed models: nothing (the dataset checked its shapes). */
sc_status sc_eval_fit_inputs(sc_evaluator *ev, size_t d, sc_error *err);

/* The dataset has the model's inputs with the model's shapes (check_datasets.c). */
sc_status sc_eval_check_dataset(const sc_model *m, const sc_eval_dataset *ed, sc_error *err);

/* The logs of dataset d from ev->results[d] (valid while the results are). */
void sc_eval_fill_logs(const sc_evaluator *ev, size_t d, sc_eval_logs *logs, const char *path,
                       int64_t step);

/* Evaluates dataset d: rewind, batches through the model, loss and metrics, callbacks; fills
 * ev->results[d]. */
sc_status sc_eval_dataset_run(sc_evaluator *ev, size_t d, const char *path, int64_t step,
                              sc_error *err);

/* ---- a group of ranks (group_eval.c; sidecar/group.h) ---- */
int sc_eval_group_active(const sc_evaluator *ev); /* a group of more than one rank */
int sc_eval_is_root(const sc_evaluator *ev);      /* rank 0, or no group */
/* Rank 0: tells every rank to evaluate the checkpoint ref (NULL: to stop). Others: no-op. */
sc_status sc_eval_group_command(sc_evaluator *ev, const sc_ckpt_ref *ref, sc_error *err);
/* Ranks > 0 in sc_evaluator_start: evaluate what rank 0 commands until it says stop. */
sc_status sc_eval_group_follow(sc_evaluator *ev, sc_error *err);
/* sc_eval_restore on every rank, then retry / skip / fail together. */
sc_status sc_eval_group_restore(sc_evaluator *ev, const sc_ckpt_ref *ref, int64_t *step,
                                sc_error *err);
/* After dataset d's pass (local status, own_s seconds): states and loss sums summed on rank 0 in
 * rank order; returns the group's status (a failure anywhere fails every rank). */
sc_status sc_eval_group_reduce(sc_evaluator *ev, size_t d, sc_status local, const sc_error *lerr,
                               double own_s, double *loss_total, double *loss_count, sc_error *err);

#endif
