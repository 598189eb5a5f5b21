/* eval/evaluator.c — the SidecarEvaluator loop (see include/sidecar/eval.h). */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/error.h"
#include "core/fileio.h"
#include "eval/eval_internal.h"
#include "eval/export.h"

sc_evaluator_params sc_evaluator_default_params(void) {
    sc_evaluator_params p;
    memset(&p, 0, sizeof p);
    p.max_batch = 32;
    p.hint_after_s = 30;
    p.watch_mode = SC_WATCH_AUTO;
    p.poll_interval_ms = 1000;
    p.monitor = "loss";
    p.retries = 5;
    p.retry_delay_ms = 200;
    return p;
}

double sc_eval_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static double mono_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

void sc_eval_log(sc_evaluator *ev, const char *fmt, ...) {
    char line[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (ev->p.log)
        ev->p.log(ev->p.log_user, line);
    else
        fprintf(stderr, "%s\n", line);
}

/* Keras ModelCheckpoint's rule for mode "auto": max when the name holds "acc" or starts with
 * "fmeasure", min otherwise. */
static int higher_is_better(const sc_evaluator_params *p) {
    if (p->export_mode == SC_EXPORT_MAX) return 1;
    if (p->export_mode == SC_EXPORT_MIN) return 0;
    return strstr(p->monitor, "acc") != NULL || strncmp(p->monitor, "fmeasure", 8) == 0;
}

sc_status sc_evaluator_create(const sc_evaluator_params *p, sc_evaluator **out, sc_error *err) {
    *out = NULL;
    if (!p->model || !p->checkpoint_dir || !p->datasets || p->num_datasets == 0)
        return sc_error_set(err, SC_INVALID_ARGUMENT,
                            "evaluator: a model, a checkpoint directory and at least one dataset "
                            "are required");
    if (sc_model_num_outputs(p->model) != 1)
        return sc_error_set(err, SC_UNIMPLEMENTED,
                            "model '%s' has %zu outputs: evaluating multi-output models (one loss "
                            "per output) is not supported yet", sc_model_name(p->model),
                            sc_model_num_outputs(p->model));
    for (size_t d = 0; d < p->num_datasets; d++) {
        sc_status cs = sc_eval_check_dataset(p->model, &p->datasets[d], err);
        if (cs != SC_OK) return cs;
    }
    sc_evaluator *ev = calloc(1, sizeof *ev);
    if (!ev) return sc_error_set(err, SC_NO_MEMORY, "out of memory");
    ev->p = *p;
    ev->higher_is_better = higher_is_better(p);
    sc_status s;
    size_t most = 1;
    for (size_t d = 0; d < p->num_datasets; d++)
        if (p->datasets[d].num_metrics + 1 > most) most = p->datasets[d].num_metrics + 1;
    ev->names = calloc(most, sizeof *ev->names);
    ev->values = calloc(most, sizeof *ev->values);
    ev->results = calloc(p->num_datasets, sizeof *ev->results);
    ev->writers = calloc(p->num_datasets, sizeof *ev->writers);
    if (!ev->names || !ev->values || !ev->results || !ev->writers) {
        s = sc_error_set(err, SC_NO_MEMORY, "out of memory");
        goto fail;
    }
    for (size_t d = 0; d < p->num_datasets; d++) {
        ev->results[d].names = calloc(most, sizeof(char *));
        ev->results[d].values = calloc(most, sizeof(double));
        if (!ev->results[d].names || !ev->results[d].values) {
            s = sc_error_set(err, SC_NO_MEMORY, "out of memory");
            goto fail;
        }
    }
    if ((s = sc_runner_create(p->model, p->max_batch, &ev->runner, err))) goto fail;
    if (p->logdir) {
        char *jp = sc_path_join(p->logdir, "sidecar_journal.jsonl");
        if (!jp) {
            s = sc_error_set(err, SC_NO_MEMORY, "out of memory");
            goto fail;
        }
        if (sc_mkdir_p(p->logdir, err) != SC_OK) {
            free(jp);
            s = err ? err->status : SC_IO;
            goto fail;
        }
        s = sc_journal_open(jp, &ev->journal, err);
        free(jp);
        if (s) goto fail;
        if (sc_journal_count(ev->journal))
            sc_eval_log(ev, "Results journal lists %zu evaluated checkpoints: they are not "
                            "evaluated again.", sc_journal_count(ev->journal));
        if (p->export_dir) {
            const char *best_path = NULL;
            if (sc_journal_best(ev->journal, p->monitor, ev->higher_is_better, &ev->best,
                                &best_path)) {
                ev->have_best = 1;
                snprintf(ev->best_path, sizeof ev->best_path, "%s", best_path);
            }
        }
    }
    *out = ev;
    return SC_OK;
fail:
    sc_evaluator_free(ev);
    return s;
}

void sc_evaluator_free(sc_evaluator *ev) {
    if (!ev) return;
    for (size_t d = 0; d < ev->p.num_datasets; d++) {
        if (ev->writers) sc_summary_writer_free(ev->writers[d]);
        if (ev->results) {
            free(ev->results[d].names);
            free(ev->results[d].values);
        }
    }
    free(ev->writers);
    free(ev->results);
    free(ev->names);
    free(ev->values);
    sc_runner_free(ev->runner);
    sc_journal_free(ev->journal);
    sc_watcher_free(ev->watcher);
    free(ev);
}

void sc_evaluator_stop(sc_evaluator *ev) {
    atomic_store(&ev->stop, 1);
    sc_watcher *w = atomic_load(&ev->watcher_live);
    if (w) sc_watcher_interrupt(w);
}

size_t sc_evaluator_num_evaluated(const sc_evaluator *ev) { return ev->num_evaluated; }

/* The number after the last '-' (Keras' stop rule), for a weight file without its extension:
 * ckpt-12.weights.h5 -> 12, as the watcher numbers them. */
int64_t sc_eval_checkpoint_number(const char *path) {
    static const char *const exts[] = {".weights.h5", ".keras", ".safetensors", ".h5"};
    size_t n = strlen(path);
    for (size_t i = 0; i < sizeof exts / sizeof exts[0]; i++) {
        size_t k = strlen(exts[i]);
        if (n > k && strcmp(path + n - k, exts[i]) == 0) {
            char *stem = strndup(path, n - k);
            int64_t num = stem ? sc_ckpt_number(stem) : -1;
            free(stem);
            return num;
        }
    }
    return sc_ckpt_number(path);
}

/* ---- outputs of one finished evaluation ---- */

static sc_status write_tensorboard(sc_evaluator *ev, int64_t step, sc_error *err) {
    for (size_t d = 0; d < ev->p.num_datasets; d++) {
        if (!ev->writers[d]) {
            const char *name = ev->p.datasets[d].name;
            char sub[512];
            snprintf(sub, sizeof sub, "%s/validation%s%s", ev->p.logdir, name && *name ? "_" : "",
                     name && *name ? name : "");
            sc_status s = sc_summary_writer_create(sub, NULL, &ev->writers[d], err);
            if (s) return s;
        }
        const sc_eval_result *r = &ev->results[d];
        for (size_t k = 0; k < r->num; k++) {
            char tag[300];
            snprintf(tag, sizeof tag, "evaluation_%s_vs_iterations", r->names[k]);
            sc_status s = sc_summary_write_scalar(ev->writers[d], tag, step, (float)r->values[k],
                                                  -1.0, err);
            if (s) return s;
        }
        sc_status s = sc_summary_writer_flush(ev->writers[d], err);
        if (s) return s;
    }
    return SC_OK;
}

static sc_status write_outputs(sc_evaluator *ev, const char *path, int64_t step, double started,
                               sc_error *err) {
    sc_status s;
    if (ev->p.logdir) {
        if ((s = write_tensorboard(ev, step, err))) return s;
        sc_journal_metrics sets[16];
        size_t n = ev->p.num_datasets < 16 ? ev->p.num_datasets : 16;
        for (size_t d = 0; d < n; d++) {
            const char *nm = ev->p.datasets[d].name;
            sets[d] = (sc_journal_metrics){nm ? nm : "", ev->results[d].num,
                                           (const char *const *)ev->results[d].names,
                                           ev->results[d].values};
        }
        if ((s = sc_journal_append(ev->journal, path, sc_eval_checkpoint_number(path), step, sets, n,
                                   sc_eval_now(), mono_now() - started, err)))
            return s;
    }
    if (ev->p.export_dir) {
        const sc_eval_result *r = &ev->results[0];
        int found = 0;
        double v = 0;
        for (size_t k = 0; k < r->num; k++)
            if (strcmp(r->names[k], ev->p.monitor) == 0) {
                v = r->values[k];
                found = 1;
            }
        if (!found) {
            sc_eval_log(ev, "Best-model export: metric '%s' is not in the evaluation's logs; "
                            "nothing exported.", ev->p.monitor);
        } else if (!ev->have_best || (ev->higher_is_better ? v > ev->best : v < ev->best)) {
            s = sc_export_checkpoint(ev->p.export_dir, path, ev->have_best ? ev->best_path : NULL,
                                     err);
            if (s) return s;
            sc_eval_log(ev, "Best-model export: %s=%.9g is the best so far; %s copied to %s",
                        ev->p.monitor, v, path, ev->p.export_dir);
            ev->best = v;
            ev->have_best = 1;
            snprintf(ev->best_path, sizeof ev->best_path, "%s", path);
        }
    }
    return SC_OK;
}

static void log_metrics(sc_evaluator *ev) {
    for (size_t d = 0; d < ev->p.num_datasets; d++) {
        const sc_eval_result *r = &ev->results[d];
        char line[1800];
        size_t pos = 0;
        for (size_t k = 0; k < r->num && pos < sizeof line; k++)
            pos += (size_t)snprintf(line + pos, sizeof line - pos, "%s%s=%.9g", k ? " " : "",
                                    r->names[k], r->values[k]);
        const char *nm = ev->p.datasets[d].name;
        if (nm && *nm)
            sc_eval_log(ev, "End of evaluation. Metrics (%s): %s", nm, line);
        else
            sc_eval_log(ev, "End of evaluation. Metrics: %s", line);
    }
}

sc_status sc_evaluator_evaluate(sc_evaluator *ev, const char *path, sc_error *err) {
    double started = mono_now();
    int64_t step;
    sc_status s = sc_eval_restore(ev, path, &step, err);
    if (s) return s;
    sc_eval_log(ev, "Evaluation starts: Model weights loaded from latest checkpoint file %s", path);
    for (size_t d = 0; d < ev->p.num_datasets; d++)
        if ((s = sc_eval_dataset_run(ev, d, path, step, err))) return s;
    log_metrics(ev);
    if ((s = write_outputs(ev, path, step, started, err))) return s;
    ev->num_evaluated++;
    return SC_OK;
}

/* ---- the loop ---- */

static int last_checkpoint(const sc_evaluator *ev, const char *path) {
    int64_t n = sc_eval_checkpoint_number(path);
    return ev->p.max_evaluations > 0 && n >= ev->p.max_evaluations;
}

/* Evaluates path unless the journal lists it. Returns SC_OK, or the status that ends the run.
 * *done is set when the stop rule says this was the last checkpoint. */
static sc_status consider(sc_evaluator *ev, const char *path, int *done, sc_error *err) {
    if (ev->journal && sc_journal_has(ev->journal, path)) {
        if (last_checkpoint(ev, path)) *done = 1;
        return SC_OK;
    }
    sc_error e2;
    sc_error_clear(&e2);
    sc_status s = sc_evaluator_evaluate(ev, path, &e2);
    if (s == SC_UNAVAILABLE || s == SC_DATA_LOSS) {
        /* Torn or vanished after every retry: skip it and go on. The watcher reports it again
         * if its files change (a slow writer finishing), and then it is tried again. */
        sc_eval_log(ev, "Skipping checkpoint %s: %s", path, e2.message);
        return SC_OK;
    }
    if (s != SC_OK) {
        if (err) *err = e2;
        return s;
    }
    if (last_checkpoint(ev, path)) {
        sc_eval_log(ev, "Last checkpoint evaluated. SidecarEvaluator stops.");
        *done = 1;
    }
    return SC_OK;
}

sc_status sc_evaluator_start(sc_evaluator *ev, sc_error *err) {
    sc_watcher_params wp = sc_watcher_default_params();
    wp.mode = ev->p.watch_mode;
    wp.poll_interval_ms = ev->p.poll_interval_ms > 0 ? ev->p.poll_interval_ms : 1000;
    sc_status s = sc_watcher_create(ev->p.checkpoint_dir, &wp, &ev->watcher, err);
    if (s) return s;
    atomic_store(&ev->watcher_live, ev->watcher);
    if (atomic_load(&ev->stop)) return SC_OK; /* a stop that came before the watcher existed */
    sc_eval_log(ev, "Watching %s for checkpoints (%s)", ev->p.checkpoint_dir,
                sc_watcher_method(ev->watcher));
    double last_new = mono_now(), started = last_new;
    int hinted = 0, done = 0;
    while (!done && !atomic_load(&ev->stop)) {
        /* Wake up in time for the hint and the timeout. */
        double now = mono_now(), wait_s = 3600;
        if (!hinted && ev->num_evaluated == 0) wait_s = fmin(wait_s, started + ev->p.hint_after_s - now);
        if (ev->p.timeout_s > 0) wait_s = fmin(wait_s, last_new + ev->p.timeout_s - now);
        int timeout_ms = wait_s <= 0 ? 0 : (int)ceil(wait_s * 1000);
        sc_watch_event wev;
        if ((s = sc_watcher_wait(ev->watcher, timeout_ms, &wev, err))) return s;
        now = mono_now();
        if (wev.result == SC_WATCH_INTERRUPTED) break;
        if (wev.result == SC_WATCH_TIMEOUT) {
            if (!hinted && ev->num_evaluated == 0 && now - started >= ev->p.hint_after_s) {
                hinted = 1;
                sc_eval_log(ev,
                            "No checkpoints appear to be found after %.0f seconds. Please check if "
                            "you are properly using a `tf.train.Checkpoint/CheckpointManager` or "
                            "`tf.keras.callbacks.ModelCheckpoint(save_weights_only=True)` to save "
                            "checkpoints by the training. See `tf.keras.SidecarEvaluator` doc for "
                            "recommended flows of saving checkpoints.", ev->p.hint_after_s);
            }
            if (ev->p.timeout_s > 0 && now - last_new >= ev->p.timeout_s) {
                sc_eval_log(ev, "No new checkpoint for %.0f seconds: stopping (--timeout).",
                            ev->p.timeout_s);
                break;
            }
            continue;
        }
        last_new = now;
        if (ev->p.every) {
            /* Oldest first: catch up on everything still present, in order. */
            for (size_t i = 0; i < wev.num_all && !done && !atomic_load(&ev->stop); i++)
                if ((s = consider(ev, wev.all[i], &done, err))) return s;
        } else {
            if ((s = consider(ev, wev.path, &done, err))) return s;
        }
    }
    for (size_t d = 0; d < ev->p.num_datasets; d++)
        if (ev->writers[d] && (s = sc_summary_writer_flush(ev->writers[d], err))) return s;
    return SC_OK;
}
