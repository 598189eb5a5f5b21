/* eval/run_dataset.c — one evaluation pass over one dataset: what model.evaluate does. */
#include <string.h>
#include <time.h>

#include "core/error.h"
#include "eval/eval_internal.h"

void sc_eval_fill_logs(const sc_evaluator *ev, size_t d, sc_eval_logs *logs, const char *path,
                       int64_t step) {
    const sc_eval_result *r = &ev->results[d];
    const char *nm = ev->p.datasets[d].name;
    memset(logs, 0, sizeof *logs);
    logs->num = r->num;
    logs->names = r->names;
    logs->values = r->values;
    logs->checkpoint = path;
    logs->step = step;
    logs->dataset = nm ? nm : "";
    logs->batch = -1;
    logs->num_batches = sc_dataset_num_batches(ev->p.datasets[d].data);
}

/* The running results: "loss" (the mean of batch losses weighted by batch size, FORMATS §9.1),
 * then every metric. */
static sc_status collect(sc_evaluator *ev, size_t d, double loss_total, double loss_count,
                         sc_error *err) {
    const sc_eval_dataset *ds = &ev->p.datasets[d];
    sc_eval_result *r = &ev->results[d];
    r->num = 0;
    int any_loss = ds->loss != NULL;
    for (size_t o = 0; o < ds->num_outputs; o++) any_loss |= ds->losses[o] != NULL;
    if (any_loss) {
        /* float32 totals, as Keras' Mean keeps them */
        float t = (float)loss_total, c = (float)loss_count;
        r->names[r->num] = "loss";
        r->values[r->num++] = c > 0 ? (double)(t / c) : 0.0;
    }
    for (size_t o = 0; o < ds->num_outputs; o++) {
        if (!ds->losses[o]) continue;
        float t = (float)r->out_totals[2 * o], c = (float)r->out_totals[2 * o + 1];
        r->names[r->num] = r->loss_names[o];
        r->values[r->num++] = c > 0 ? (double)(t / c) : 0.0;
    }
    for (size_t k = 0; k < ds->num_metrics; k++) {
        r->names[r->num] = sc_metric_name(ds->metrics[k]);
        sc_status s = sc_metric_result(ds->metrics[k], &r->values[r->num++], err);
        if (s) return s;
    }
    return SC_OK;
}

/* Output o of the batch, with its labels. */
static void output_batch(sc_evaluator *ev, const sc_eval_dataset *ds, const sc_batch *b, size_t o,
                         sc_metric_batch *mb, sc_shape *out_shape) {
    const sc_dataset_shape *ls = sc_dataset_label_shape(ds->data, o);
    *out_shape = sc_model_output_shape(ev->p.model, o);
    memset(mb, 0, sizeof *mb);
    mb->batch = b->n;
    mb->y_true = b->num_outputs > o ? b->labels[o] : NULL;
    mb->true_rank = ls ? ls->rank : 0;
    mb->true_dims = ls ? ls->dims : NULL;
    mb->y_pred = sc_runner_output(ev->runner, o);
    mb->pred_rank = out_shape->rank;
    mb->pred_dims = out_shape->dims;
    mb->sample_weight = b->weights;
    /* TF-backend Keras computes crossentropies from the logits when the output came straight
     * out of a softmax or sigmoid (FORMATS §9.5); the runner keeps them for such outputs. */
    mb->logits = sc_runner_output_logits(ev->runner, o);
    /* Keras 2 weights the losses and metrics of a masked output by its mask (compile_utils). */
    mb->mask = sc_runner_output_mask(ev->runner, o);
}

/* Keras 2.15 LossesContainer: each output's loss feeds "<output>_loss" (a Mean over batches
 * weighted by batch size); their sum weighted by loss_weights feeds "loss". */
static sc_status output_losses(sc_evaluator *ev, size_t d, const sc_batch *b, double *total,
                               double *count, sc_error *err) {
    const sc_eval_dataset *ds = &ev->p.datasets[d];
    double *ot = ev->results[d].out_totals;
    float sum = 0.0f;
    int any = 0;
    for (size_t o = 0; o < ds->num_outputs; o++) {
        if (!ds->losses[o]) continue;
        sc_metric_batch mb;
        sc_shape os;
        output_batch(ev, ds, b, o, &mb, &os);
        if (!mb.y_true)
            return sc_error_set(err, SC_INVALID_ARGUMENT,
                                "dataset '%s' has no labels for output "
                                "'%s': its loss needs them",
                                ds->name ? ds->name : "", ds->output_names[o]);
        float l;
        sc_status s = sc_loss_compute(ds->losses[o], &mb, &l, err);
        if (s) return sc_error_prefix(err, s, "loss of output '%s'", ds->output_names[o]);
        ot[2 * o] += (double)l * (double)b->n;
        ot[2 * o + 1] += (double)b->n;
        sum += l * (float)(ds->loss_weights ? ds->loss_weights[o] : 1.0);
        any = 1;
    }
    if (any) {
        *total += (double)sum * (double)b->n;
        *count += (double)b->n;
    }
    return SC_OK;
}

typedef enum hook { ON_TEST_BEGIN, ON_TEST_BATCH_BEGIN, ON_TEST_BATCH_END, ON_TEST_END } hook;

/* Calls one hook of every callback in order; SC_ABORTED as soon as one asks to stop. */
static sc_status run_hooks(sc_evaluator *ev, hook h, const sc_eval_logs *logs, sc_error *err) {
    static const char *const names[] = {"on_test_begin", "on_test_batch_begin", "on_test_batch_end",
                                        "on_test_end"};
    for (size_t c = 0; c < ev->p.num_callbacks; c++) {
        const sc_callback *cb = &ev->p.callbacks[c];
        int (*fn)(void *, const sc_eval_logs *) = h == ON_TEST_BEGIN ? cb->on_test_begin
                                                  : h == ON_TEST_BATCH_BEGIN
                                                      ? cb->on_test_batch_begin
                                                  : h == ON_TEST_BATCH_END ? cb->on_test_batch_end
                                                                           : cb->on_test_end;
        if (fn && fn(cb->user, logs))
            return sc_error_set(err, SC_ABORTED, "a callback's %s asked to stop", names[h]);
    }
    return SC_OK;
}

sc_status sc_eval_fit_inputs(sc_evaluator *ev, size_t d, sc_error *err) {
    sc_model *m = ev->p.model;
    if (!sc_model_has_free_dims(m)) return SC_OK;
    sc_shape shapes[SC_DATASET_MAX_INPUTS];
    size_t n = sc_model_num_inputs(m);
    if (n > SC_DATASET_MAX_INPUTS)
        return sc_error_set(err, SC_UNIMPLEMENTED, "model '%s' has %zu inputs (at most %d)",
                            sc_model_name(m), n, SC_DATASET_MAX_INPUTS);
    for (size_t k = 0; k < n; k++) {
        const sc_dataset_shape *ds = sc_dataset_input_shape(ev->p.datasets[d].data, k);
        memset(&shapes[k], 0, sizeof shapes[k]);
        shapes[k].rank = ds->rank;
        for (int i = 0; i < ds->rank && i < SC_MAX_DIMS; i++) shapes[k].dims[i] = ds->dims[i];
    }
    sc_status s = sc_model_set_input_shapes(m, shapes, err);
    /* The model names its input layer; the file is named here. */
    return s == SC_OK ? s : sc_error_prefix(err, s, "%s", sc_dataset_path(ev->p.datasets[d].data));
}

/* The batches of this rank's shard: model, losses, metrics, batch callbacks. */
static sc_status pass(sc_evaluator *ev, size_t d, sc_eval_logs *lg, double *loss_sum,
                      double *loss_n, sc_error *err) {
    const sc_eval_dataset *ds = &ev->p.datasets[d];
    sc_eval_logs logs = *lg;
    double loss_total = 0, loss_count = 0;
    sc_status s;

    sc_batch b;
    uint64_t batches = 0;
    for (;;) {
        if (atomic_load(&ev->stop)) return sc_error_set(err, SC_ABORTED, "stopped");
        if ((s = sc_dataset_next(ds->data, &b, err))) return s;
        if (b.n == 0) break;
        batches++;
        logs.batch = b.index;
        logs.batch_size = b.n;
        if ((s = run_hooks(ev, ON_TEST_BATCH_BEGIN, &logs, err))) return s;
        if ((s = sc_runner_run(ev->runner, (int)b.n, b.inputs, err)))
            return sc_error_prefix(err, s, "%s: batch %lld (from %s record %llu)", logs.checkpoint,
                                   (long long)b.index, b.source,
                                   (unsigned long long)b.source_record);
        sc_metric_batch mb;
        sc_shape os;
        if (ds->loss) {
            output_batch(ev, ds, &b, 0, &mb, &os);
            if (!mb.y_true)
                return sc_error_set(err, SC_INVALID_ARGUMENT,
                                    "dataset '%s' has no labels: a loss "
                                    "needs them",
                                    ds->name ? ds->name : "");
            float l;
            if ((s = sc_loss_compute(ds->loss, &mb, &l, err))) return s;
            loss_total += (double)l * (double)b.n;
            loss_count += (double)b.n;
        }
        if (ds->num_outputs && (s = output_losses(ev, d, &b, &loss_total, &loss_count, err)))
            return s;
        for (size_t k = 0; k < ds->num_metrics; k++) {
            output_batch(ev, ds, &b, ds->metric_output ? ds->metric_output[k] : 0, &mb, &os);
            mb.sample_weight = ds->weighted && ds->weighted[k] ? b.weights : NULL;
            if ((s = sc_metric_update(ds->metrics[k], &mb, err)))
                return sc_error_prefix(err, s, "metric '%s'", sc_metric_name(ds->metrics[k]));
        }
        if (ev->p.num_callbacks) {
            if ((s = collect(ev, d, loss_total, loss_count, err))) return s;
            logs.num = ev->results[d].num;
            if ((s = run_hooks(ev, ON_TEST_BATCH_END, &logs, err))) return s;
        }
    }
    if (batches == 0 && !sc_eval_group_active(ev)) /* loss 0 of no data would look the best */
        return sc_error_set(err, SC_INVALID_ARGUMENT,
                            "dataset%s%s: no examples to evaluate (the "
                            "data is empty)",
                            ds->name ? " " : "", ds->name ? ds->name : "");
    *loss_sum = loss_total;
    *loss_n = loss_count;
    return SC_OK;
}

sc_status sc_eval_dataset_run(sc_evaluator *ev, size_t d, const char *path, int64_t step,
                              sc_error *err) {
    const sc_eval_dataset *ds = &ev->p.datasets[d];
    sc_status s = sc_eval_fit_inputs(ev, d, err);
    if (s) return s;
    s = sc_dataset_rewind(ds->data, err);
    if (s) return s;
    for (size_t k = 0; k < ds->num_metrics; k++) sc_metric_reset(ds->metrics[k]);
    /* Keras' Mean("loss") keeps float32 total and count; summing in double and rounding at the
     * end differs from it only in the last bits, far below the tolerance of any comparison. */
    double loss_total = 0, loss_count = 0;
    for (size_t o = 0; o < 2 * ds->num_outputs; o++) ev->results[d].out_totals[o] = 0;
    sc_eval_logs logs;
    if ((s = collect(ev, d, 0, 0, err))) return s;
    sc_eval_fill_logs(ev, d, &logs, path, step);
    logs.num = 0;
    /* In a group, on_test_begin/on_test_end run on rank 0 only (sidecar/group.h). */
    int root = sc_eval_is_root(ev);
    if (root && (s = run_hooks(ev, ON_TEST_BEGIN, &logs, err))) return s;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    s = pass(ev, d, &logs, &loss_total, &loss_count, err);
    if (sc_eval_group_active(ev)) {
        clock_gettime(CLOCK_MONOTONIC, &t1);
        sc_error local_err = err ? *err : (sc_error){0};
        s = sc_eval_group_reduce(ev, d, s, &local_err,
                                 (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) * 1e-9,
                                 &loss_total, &loss_count, err);
    }
    if (s) return s;
    if (sc_dataset_ran_out(ds->data))
        sc_eval_log(ev, "Your input ran out of data; interrupting evaluation. Make sure that your "
                        "dataset can generate at least `steps` batches.");
    if ((s = collect(ev, d, loss_total, loss_count, err))) return s;
    sc_eval_fill_logs(ev, d, &logs, path, step);
    if (root) return run_hooks(ev, ON_TEST_END, &logs, err);
    return SC_OK;
}
