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

#include "sidecar/ckpt_ref.h"
#include "sidecar/dataset.h"
#include "sidecar/group.h"
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
    const char *name; /* "" or NULL for a single dataset; else TensorBoard writes to
                                  <logdir>/validation_<name> and the journal records it */
    sc_dataset *data;
    sc_loss *loss;       /* NULL: no loss (Keras then logs only the metrics) */
    sc_metric **metrics; /* reset before every evaluation */
    size_t num_metrics;
    /* [num_metrics]: 1 for a metric that takes the sample weights (Keras' weighted_metrics).
     * As in Keras, the others (compile's metrics=) see no weights; NULL: none do. The loss
     * always takes them. */
    const unsigned char *weighted;
    /* A model with several outputs (Keras 2 evaluate): one loss per output instead of `loss`
     * (NULL entries: none), their loss_weights, the output each metric reads, and the names
     * for "<output>_loss". Logs: "loss" (sum of weighted losses), "<output>_loss" (unweighted)
     * per output with a loss, then the metrics. num_outputs 0: the single-output form. The
     * labels of output o are the dataset's labels[o]. */
    size_t num_outputs;
    sc_loss *const *losses;          /* [num_outputs] */
    const double *loss_weights;      /* [num_outputs]; NULL: all 1 */
    const size_t *metric_output;     /* [num_metrics]; NULL: all 0 */
    const char *const *output_names; /* [num_outputs] */
} sc_eval_dataset;

typedef enum sc_export_mode {
    SC_EXPORT_AUTO = 0,
    SC_EXPORT_MIN = 1,
    SC_EXPORT_MAX = 2
} sc_export_mode;

/* Ownership: the evaluator copies this struct but borrows everything it points to (the model,
 * the datasets and their data, losses and metrics, the callbacks, every string, log_user):
 * all must stay valid until sc_evaluator_free. */
typedef struct sc_evaluator_params {
    sc_model *model; /* single-output models (Keras' compiled loss per output: not yet) */
    const char *checkpoint_dir;
    sc_eval_dataset *datasets;
    size_t num_datasets;
    int max_batch;           /* runner size: the datasets' batch size; default 32 */
    int threads;             /* compute threads (sc_engine_set_threads, process-wide); 0
                                    (default): OMP_NUM_THREADS, else one per online CPU */
    int64_t max_evaluations; /* stop after the checkpoint numbered >= this; 0: never */
    const sc_callback *callbacks;
    size_t num_callbacks;
    const char *logdir;       /* TensorBoard + journal; NULL: neither */
    int every;                /* 1: every checkpoint in order; 0 (default): the newest unseen */
    double timeout_s;         /* > 0: end when no new checkpoint comes for this long */
    double hint_after_s;      /* the "how to save checkpoints" hint after this long; default 30 */
    sc_watch_mode watch_mode; /* default AUTO */
    int poll_interval_ms;     /* default 1000 */
    const char *export_dir;   /* best-model export (Keras SidecarEvaluatorModelExport); NULL: off */
    const char *monitor;      /* default "loss" */
    sc_export_mode export_mode; /* AUTO: max for names containing acc, auc, precision, recall,
                                  * f1, fbeta, iou/io_u, top_k or r2 (or starting with
                                  * fmeasure); min otherwise (loss, errors, crossentropies) */
    int retries;                /* attempts for a half-written checkpoint; default 5 */
    int retry_delay_ms;         /* first back-off, doubled each time; default 200 */
    /* Log lines ("Evaluation starts: ...", "End of evaluation. Metrics: ...", warnings). NULL:
     * stderr. */
    void (*log)(void *user, const char *line);
    void *log_user;
    /* TF checkpoints: where the model is (sc_bind_params.model_root: "net", "" = the root);
     * NULL (default): found through the object graph. */
    const char *model_root;
    /* TF checkpoints: the tensor holding the training step (sc_step_params.step_key: a key or
     * a graph path such as "net/optimizer/iter"); NULL (default): the counter of the optimizer
     * that trained the model (sc_ckpt_describe_ex). */
    const char *step_key;
    /* Several processes sharing each evaluation (sidecar/group.h): rank 0 watches, logs and
     * writes; every rank restores the same checkpoint and evaluates its shard of the datasets
     * (open them with num_shards / shard_index); the states are merged on rank 0. Every rank
     * calls sc_evaluator_start (or sc_evaluator_evaluate with the same checkpoint). NULL or a
     * group of one: this process alone. */
    sc_group *group;
    /* Called after each evaluation once its outputs (TensorBoard events, journal, export) are
     * written and flushed, so a reader of the log directory sees this checkpoint (the CLI's
     * `run --report` rewrites its page here). NULL: none. */
    void (*on_outputs_written)(void *user, const char *checkpoint, int64_t step);
    void *outputs_user;
    /* Called once per completed evaluation with the final logs of every dataset (logs[d] for
     * d < num, in dataset order), after its outputs are written, before on_outputs_written;
     * rank 0 only. A checkpoint's results reach it all together or not at all: a stop or a
     * failure during any dataset abandons the evaluation and there is no call, whereas
     * on_test_end (Keras' hook) has already run for the datasets before it. The CLI prints
     * `--json` lines here. NULL: none. */
    void (*on_results)(void *user, const sc_eval_logs *logs, size_t num);
    void *results_user;
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

/* Checks a best-model export directory before anything is written: SC_INVALID_ARGUMENT, naming
 * both paths, when it is the checkpoint directory, lies inside it or contains it (real paths,
 * symlinks resolved, the export directory need not exist yet), or when it already holds files
 * that an earlier sidecar export did not create. sc_evaluator_create runs the same check. */
sc_status sc_export_dir_check(const char *export_dir, const char *checkpoint_dir, sc_error *err);

/* Evaluates one checkpoint on every dataset, with callbacks, TensorBoard and journal like one
 * turn of the loop (`sidecar eval`). The ref says what the checkpoint is (sc_ckpt_ref_resolve
 * or a watcher event); ref->path is used during the call only. */
sc_status sc_evaluator_evaluate_ref(sc_evaluator *ev, const sc_ckpt_ref *ref, sc_error *err);
/* The same for a path, classified once with sc_ckpt_ref_resolve (a prefix, a directory, a
 * SavedModel or a weight file). */
sc_status sc_evaluator_evaluate(sc_evaluator *ev, const char *checkpoint, sc_error *err);

/* Number of evaluations completed by this evaluator (not counting the journal's earlier ones). */
size_t sc_evaluator_num_evaluated(const sc_evaluator *ev);

#ifdef __cplusplus
}
#endif
#endif
