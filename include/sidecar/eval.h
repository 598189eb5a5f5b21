/* sidecar/eval.h — the evaluator: Keras' SidecarEvaluator in C.
 *
 *   sc_evaluator_params p = sc_evaluator_default_params();
 *   p.model = model; p.checkpoint_dir = "runs/a"; p.datasets = &ds; p.num_datasets = 1;
 *   p.max_evaluations = 10; p.logdir = "runs/a/eval";
 *   sc_evaluator *ev; sc_evaluator_create(&p, &ev, &err);
 *   sc_evaluator_start(ev, &err);      // returns after the last checkpoint, a timeout or a stop
 *   sc_evaluator_free(ev);
 *
 * The loop (DESIGN §1): wait for a checkpoint (inotify, polling fallback); take the newest one not
 * evaluated yet (or, with `every`, each one in order); restore it into the model (CRC-verified;
 * a half-written or vanishing checkpoint is retried with bounded back-off, then skipped with a
 * message); read the training step (optimizer/iter or optimizer/_iterations; none is an error,
 * as in Keras); evaluate every dataset (`steps` batches or until the data runs out), calling the
 * callbacks; write the metrics (log line, TensorBoard `<logdir>/validation[_NAME]`, the results
 * journal `<logdir>/sidecar_journal.jsonl`, the best-model export); stop once the number after
 * the last '-' of the checkpoint's name is >= max_evaluations.
 *
 * Restart safety: the journal is appended (and fsynced) after an evaluation's outputs are
 * written; a restarted evaluator reads it and evaluates nothing it lists, and the best-model
 * export takes its best value from it.
 */
#ifndef SIDECAR_EVAL_H
#define SIDECAR_EVAL_H

#include <stddef.h>
#include <stdint.h>

#include "sidecar/dataset.h"
#include "sidecar/metrics.h"
#include "sidecar/model.h"
#include "sidecar/status.h"
#include "sidecar/watch.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What callbacks see. Names and values are the metrics so far in this evaluation, "loss" first
 * when the evaluation has a loss, named as Keras logs them. */
typedef struct sc_eval_logs {
    size_t num;
    const char *const *names;
    const double *values;
    const char *checkpoint; /* the prefix or weight file being evaluated */
    int64_t step;           /* training step */
    const char *dataset;    /* the dataset's name ("" for an unnamed single dataset) */
    int64_t batch;          /* batch callbacks: index of the batch in this pass; else -1 */
    size_t batch_size;      /* batch callbacks: examples in the batch; else 0 */
    int64_t num_batches;    /* batches expected in the pass when known (steps or data size); -1 */
} sc_eval_logs;

/* Keras' callback hooks. Every pointer may be NULL; user is borrowed (the evaluator passes it
 * back, never frees it). The logs and everything they point to are valid during the call only. A non-zero return stops the evaluator
 * (sc_evaluator_start returns SC_ABORTED); the evaluation in progress is abandoned and none of
 * its results are written. */
typedef struct sc_callback {
    void *user;
    int (*on_test_begin)(void *user, const sc_eval_logs *logs);
    int (*on_test_batch_begin)(void *user, const sc_eval_logs *logs);
    int (*on_test_batch_end)(void *user, const sc_eval_logs *logs);
    int (*on_test_end)(void *user, const sc_eval_logs *logs);
} sc_callback;

/* One evaluation dataset with its own loss and metrics. The evaluator borrows everything. */
typedef struct sc_eval_dataset {
    const char *name;          /* "" or NULL for a single dataset; else TensorBoard writes to
                                  <logdir>/validation_<name> and the journal records it */
    sc_dataset *data;
    sc_loss *loss;             /* NULL: no loss (Keras then logs only the metrics) */
    sc_metric **metrics;       /* reset before every evaluation */
    size_t num_metrics;
    /* [num_metrics]: 1 for a metric that takes the sample weights (Keras' weighted_metrics).
     * As in Keras, the others (compile's metrics=) see no weights; NULL: none do. The loss
     * always takes them. */
    const unsigned char *weighted;
} sc_eval_dataset;

typedef enum sc_export_mode { SC_EXPORT_AUTO = 0, SC_EXPORT_MIN = 1, SC_EXPORT_MAX = 2 } sc_export_mode;

/* Ownership: the evaluator copies this struct but borrows everything it points to (the model,
 * the datasets and their data, losses and metrics, the callbacks, every string, log_user):
 * all must stay valid until sc_evaluator_free. */
typedef struct sc_evaluator_params {
    sc_model *model;             /* single-output models (Keras' compiled loss per output: not yet) */
    const char *checkpoint_dir;
    sc_eval_dataset *datasets;
    size_t num_datasets;
    int max_batch;               /* runner size: the datasets' batch size; default 32 */
    int64_t max_evaluations;     /* stop after the checkpoint numbered >= this; 0: never */
    const sc_callback *callbacks;
    size_t num_callbacks;
    const char *logdir;          /* TensorBoard + journal; NULL: neither */
    int every;                   /* 1: every checkpoint in order; 0 (default): the newest unseen */
    double timeout_s;            /* > 0: end when no new checkpoint comes for this long */
    double hint_after_s;         /* the "how to save checkpoints" hint after this long; default 30 */
    sc_watch_mode watch_mode;    /* default AUTO */
    int poll_interval_ms;        /* default 1000 */
    const char *export_dir;      /* best-model export (Keras SidecarEvaluatorModelExport); NULL: off */
    const char *monitor;         /* default "loss" */
    sc_export_mode export_mode;  /* AUTO: max for names containing acc/auc/precision/recall/f1/iou */
    int retries;                 /* attempts for a half-written checkpoint; default 5 */
    int retry_delay_ms;          /* first back-off, doubled each time; default 200 */
    /* Log lines ("Evaluation starts: ...", "End of evaluation. Metrics: ...", warnings). NULL:
     * stderr. */
    void (*log)(void *user, const char *line);
    void *log_user;
} sc_evaluator_params;

sc_evaluator_params sc_evaluator_default_params(void);

typedef struct sc_evaluator sc_evaluator;

/* Checks the params (the model must have one output; datasets' shapes must match the model's
 * inputs), plans the model's memory, opens the journal (restart: reads what was evaluated). */
sc_status sc_evaluator_create(const sc_evaluator_params *p, sc_evaluator **out, sc_error *err);
void sc_evaluator_free(sc_evaluator *ev);

/* The loop. SC_OK after the last checkpoint (max_evaluations), a timeout or a stop request;
 * SC_ABORTED when a callback asked to stop; SC_NOT_FOUND (Keras' message) for a checkpoint
 * without a training step; other errors when outputs cannot be written. */
sc_status sc_evaluator_start(sc_evaluator *ev, sc_error *err);

/* Asks a running loop to stop soon: the evaluation in progress is abandoned, outputs already
 * written are flushed and complete. Async-signal-safe (for SIGINT/SIGTERM handlers). */
void sc_evaluator_stop(sc_evaluator *ev);

/* Evaluates one checkpoint (prefix or weight file) on every dataset, with callbacks, TensorBoard
 * and journal like one turn of the loop (`sidecar eval`). */
sc_status sc_evaluator_evaluate(sc_evaluator *ev, const char *checkpoint, sc_error *err);

/* Number of evaluations completed by this evaluator (not counting the journal's earlier ones). */
size_t sc_evaluator_num_evaluated(const sc_evaluator *ev);

#ifdef __cplusplus
}
#endif
#endif
