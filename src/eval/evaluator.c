/* eval/evaluator.c — the SidecarEvaluator loop (see include/sidecar/eval.h). */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "core/error.h"
#include "core/fileio.h"
#include "eval/eval_internal.h"
#include "eval/export.h"
#include "eval/monitor.h"
#include "sidecar/engine.h"

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
    if (!sc_eval_is_root(ev)) return; /* rank 0 logs for the group; failures come as errors */
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

sc_status sc_evaluator_create(const sc_evaluator_params *p, sc_evaluator **out, sc_error *err) {
    *out = NULL;
    if (!p->model || !p->checkpoint_dir || !p->datasets || p->num_datasets == 0)
        return sc_error_set(err, SC_INVALID_ARGUMENT,
                            "evaluator: a model, a checkpoint directory and at least one dataset "
                            "are required");
    for (size_t d = 0; d < p->num_datasets; d++) {
        size_t want = sc_model_num_outputs(p->model), got = p->datasets[d].num_outputs;
        if (got ? got != want : want != 1)
            return sc_error_set(err, SC_INVALID_ARGUMENT,
                                "model '%s' has %zu outputs, dataset %zu's compiled losses are for "
                                "%zu",
                                sc_model_name(p->model), want, d, got ? got : 1);
    }
    if (p->num_datasets > SC_EVAL_MAX_DATASETS)
        return sc_error_set(err, SC_INVALID_ARGUMENT, "evaluator: %zu datasets, at most %d",
                            p->num_datasets, SC_EVAL_MAX_DATASETS);
    if (p->export_dir) {
        sc_status cs = sc_export_dir_check(p->export_dir, p->checkpoint_dir, err);
        if (cs) return cs;
    }
    for (size_t d = 0; d < p->num_datasets; d++) {
        sc_status cs = sc_eval_check_dataset(p->model, &p->datasets[d], err);
        if (cs != SC_OK) return cs;
    }
    sc_evaluator *ev = calloc(1, sizeof *ev);
    if (!ev) return sc_error_set(err, SC_NO_MEMORY, "out of memory");
    ev->p = *p;
    if (!sc_eval_is_root(ev)) { /* only rank 0 writes */
        ev->p.logdir = NULL;
        ev->p.export_dir = NULL;
    }
    p = &ev->p;
    ev->higher_is_better = sc_eval_higher_is_better(p->monitor, p->export_mode);
    sc_status s;
    size_t most = 1;
    for (size_t d = 0; d < p->num_datasets; d++)
        if (p->datasets[d].num_metrics + 1 + p->datasets[d].num_outputs > most)
            most = p->datasets[d].num_metrics + 1 + p->datasets[d].num_outputs;
    ev->names = calloc(most, sizeof *ev->names);
    ev->values = calloc(most, sizeof *ev->values);
    ev->results = calloc(p->num_datasets, sizeof *ev->results);
    ev->writers = calloc(p->num_datasets, sizeof *ev->writers);
    if (!ev->names || !ev->values || !ev->results || !ev->writers) {
        s = sc_error_set(err, SC_NO_MEMORY, "out of memory");
        goto fail;
    }
    for (size_t d = 0; d < p->num_datasets; d++) {
        size_t no = p->datasets[d].num_outputs;
        ev->results[d].names = calloc(most, sizeof(char *));
        ev->results[d].values = calloc(most, sizeof(double));
        ev->results[d].loss_names = calloc(no ? no : 1, sizeof(char *));
        ev->results[d].out_totals = calloc(no ? 2 * no : 1, sizeof(double));
        int bad = !ev->results[d].names || !ev->results[d].values || !ev->results[d].loss_names
                  || !ev->results[d].out_totals;
        for (size_t o = 0; o < no && !bad; o++) {
            const char *on = p->datasets[d].output_names[o];
            size_t len = strlen(on) + sizeof "_loss";
            if ((ev->results[d].loss_names[o] = malloc(len)) != NULL)
                snprintf(ev->results[d].loss_names[o], len, "%s_loss", on);
            else
                bad = 1;
        }
        if (bad) {
            s = sc_error_set(err, SC_NO_MEMORY, "out of memory");
            goto fail;
        }
    }
    if (p->threads > 0) sc_engine_set_threads(p->threads);
    /* Free input dims: plan for the first dataset's shapes (others re-plan when they differ). */
    if ((s = sc_eval_fit_inputs(ev, 0, err))) goto fail;
    if ((s = sc_runner_create(p->model, p->max_batch, &ev->runner, err))) goto fail;
    {
        char eng[160];
        sc_eval_log(ev, "Compute engine: %s", sc_engine_describe(eng, sizeof eng));
    }
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
            sc_eval_log(ev,
                        "Results journal lists %zu evaluated checkpoints: they are not "
                        "evaluated again.",
                        sc_journal_count(ev->journal));
        if (sc_journal_num_repaired(ev->journal))
            sc_eval_log(ev,
                        "Results journal: an evaluation cut short (crash or full disk) had "
                        "written into %zu event file(s); they were truncated back and its "
                        "checkpoint is evaluated again.",
                        sc_journal_num_repaired(ev->journal));
        if (p->export_dir) {
            const char *best_path = NULL;
            if (sc_journal_best(ev->journal, p->monitor, ev->higher_is_better, &ev->best,
                                &best_path)) {
                ev->have_best = 1;
                snprintf(ev->best_path, sizeof ev->best_path, "%s", best_path);
                /* The journal names the best, but a crash (or full disk) may have come before
                 * its export finished: finish it now. */
                if (!sc_export_is_current(p->export_dir, best_path)) {
                    sc_error e2;
                    sc_ckpt_ref bref = {0};
                    sc_status es = sc_ckpt_ref_resolve(best_path, &bref, &e2);
                    if (es == SC_OK) es = sc_export_checkpoint(p->export_dir, &bref, &e2);
                    sc_ckpt_ref_clear(&bref);
                    if (es == SC_OK)
                        sc_eval_log(ev, "Best-model export: %s (the journal's best) copied to %s",
                                    best_path, p->export_dir);
                    else
                        sc_eval_log(ev,
                                    "Best-model export: the journal's best %s could not be "
                                    "exported: %s",
                                    best_path, e2.message);
                }
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
            for (size_t o = 0; ev->results[d].loss_names && o < ev->p.datasets[d].num_outputs; o++)
                free(ev->results[d].loss_names[o]);
            free(ev->results[d].loss_names);
            free(ev->results[d].out_totals);
        }
    }
    free(ev->writers);
    free(ev->results);
    free(ev->names);
    free(ev->values);
    for (size_t i = 0; i < ev->num_seen; i++) free(ev->seen[i]);
    free(ev->seen);
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

/* ---- outputs of one finished evaluation ---- */

/* The run directory of dataset d, relative to the log directory: validation[_NAME]. */
static void run_dir(const sc_evaluator *ev, size_t d, char *out, size_t cap) {
    const char *name = ev->p.datasets[d].name;
    snprintf(out, cap, "validation%s%s", name && *name ? "_" : "", name && *name ? name : "");
}

/* TensorBoard events of one evaluation, exactly once: the writers exist (their file headers
 * written), the journal records each event file's size (the intent line), then the scalars
 * are written and synced. The result line follows in write_outputs; a failure in between is
 * rolled back when the journal is next opened (journal.h). */
static sc_status write_tensorboard(sc_evaluator *ev, const char *path, int64_t step,
                                   sc_error *err) {
    size_t nd = ev->p.num_datasets;
    char rel[SC_EVAL_MAX_DATASETS][600];
    const char *files[SC_EVAL_MAX_DATASETS] = {0};
    uint64_t offsets[SC_EVAL_MAX_DATASETS] = {0};
    for (size_t d = 0; d < nd; d++) {
        char sub[512];
        run_dir(ev, d, sub, sizeof sub);
        if (!ev->writers[d]) {
            char *dir = sc_path_join(ev->p.logdir, sub);
            if (!dir) return sc_error_set(err, SC_NO_MEMORY, "out of memory");
            sc_summary_writer_params wp = sc_summary_writer_default_params();
            wp.fsync_on_flush = 1; /* the events are on disk before the result line says so */
            sc_status s = sc_summary_writer_create(dir, &wp, &ev->writers[d], err);
            free(dir);
            if (s) return s;
        }
        const char *wp = sc_summary_writer_path(ev->writers[d]);
        const char *b = strrchr(wp, '/');
        snprintf(rel[d], sizeof rel[d], "%s/%s", sub, b ? b + 1 : wp);
        files[d] = rel[d];
        struct stat st;
        sc_status s = sc_summary_writer_flush(ev->writers[d], err);
        if (s) return s;
        if (stat(wp, &st) != 0) return sc_error_set(err, SC_IO, "%s: %s", wp, strerror(errno));
        offsets[d] = (uint64_t)st.st_size;
    }
    sc_status s = sc_journal_begin(ev->journal, path, files, offsets, nd, err);
    if (s) return s;
    for (size_t d = 0; d < nd; d++) {
        const sc_eval_result *r = &ev->results[d];
        for (size_t k = 0; k < r->num; k++) {
            char tag[300];
            snprintf(tag, sizeof tag, "evaluation_%s_vs_iterations", r->names[k]);
            if ((s = sc_summary_write_scalar(ev->writers[d], tag, step, (float)r->values[k], -1.0,
                                             err)))
                return s;
        }
        if ((s = sc_summary_writer_flush(ev->writers[d], err))) return s;
    }
    return SC_OK;
}

static sc_status write_outputs(sc_evaluator *ev, const sc_ckpt_ref *ref, int64_t step,
                               double started, sc_error *err) {
    const char *path = ref->path;
    sc_status s;
    if (ev->p.logdir) {
        if ((s = write_tensorboard(ev, path, step, err))) return s;
        sc_journal_metrics sets[SC_EVAL_MAX_DATASETS];
        size_t n = ev->p.num_datasets;
        for (size_t d = 0; d < n; d++) {
            const char *nm = ev->p.datasets[d].name;
            sets[d] = (sc_journal_metrics){nm ? nm : "", ev->results[d].num,
                                           (const char *const *)ev->results[d].names,
                                           ev->results[d].values};
        }
        if ((s = sc_journal_append(ev->journal, path, ref->number, step, sets, n, sc_eval_now(),
                                   mono_now() - started, err)))
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
            sc_eval_log(ev,
                        "Best-model export: metric '%s' is not in the evaluation's logs; "
                        "nothing exported.",
                        ev->p.monitor);
        } else if (isnan(v)) {
            sc_eval_log(ev, "Best-model export: %s is NaN for %s; it is never the best.",
                        ev->p.monitor, path);
        } else if (!ev->have_best || (ev->higher_is_better ? v > ev->best : v < ev->best)) {
            s = sc_export_checkpoint(ev->p.export_dir, ref, err);
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

sc_status sc_evaluator_evaluate_ref(sc_evaluator *ev, const sc_ckpt_ref *ref, sc_error *err) {
    double started = mono_now();
    int64_t step;
    const char *path = ref->path;
    sc_status s = sc_eval_group_active(ev) ? sc_eval_group_restore(ev, ref, &step, err)
                                           : sc_eval_restore(ev, ref, &step, err);
    if (s) return s;
    sc_eval_log(ev, "Evaluation starts: Model weights loaded from latest checkpoint file %s", path);
    for (size_t d = 0; d < ev->p.num_datasets; d++)
        if ((s = sc_eval_dataset_run(ev, d, path, step, err))) return s;
    sc_runner_stats rs;
    sc_runner_stats_get(ev->runner, &rs);
    if (rs.engine_nodes)
        sc_eval_log(ev,
                    "Compute engine: %d layers on oneDNN primitives; cold path %.2f ms "
                    "(%.2f ms CPU; %d primitives created, %d weight reorders); scratchpad %zu "
                    "bytes",
                    rs.engine_nodes, rs.cold_seconds * 1e3, rs.cold_cpu_seconds * 1e3,
                    rs.cold_primitives, rs.cold_reorders, rs.scratchpad_bytes);
    if (sc_eval_is_root(ev)) {
        log_metrics(ev);
        if ((s = write_outputs(ev, ref, step, started, err))) return s;
        if (ev->p.on_results) {
            sc_eval_logs logs[SC_EVAL_MAX_DATASETS];
            for (size_t d = 0; d < ev->p.num_datasets; d++)
                sc_eval_fill_logs(ev, d, &logs[d], path, step);
            ev->p.on_results(ev->p.results_user, logs, ev->p.num_datasets);
        }
        if (ev->p.on_outputs_written) ev->p.on_outputs_written(ev->p.outputs_user, path, step);
    }
    ev->num_evaluated++;
    return SC_OK;
}

sc_status sc_evaluator_evaluate(sc_evaluator *ev, const char *checkpoint, sc_error *err) {
    sc_ckpt_ref ref;
    sc_status s = sc_ckpt_ref_resolve(checkpoint, &ref, err);
    if (s) return s;
    s = sc_evaluator_evaluate_ref(ev, &ref, err);
    sc_ckpt_ref_clear(&ref);
    return s;
}

/* ---- the loop ---- */

static int last_checkpoint(const sc_evaluator *ev, const sc_ckpt_ref *ref) {
    return ev->p.max_evaluations > 0 && ref->number >= ev->p.max_evaluations;
}

static const char *base_of(const char *p) {
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

/* 1 when this evaluator already evaluated a checkpoint of this name (memory: also without a
 * journal, so --every does not evaluate the kept checkpoints again at each new one). */
static int seen(const sc_evaluator *ev, const char *path) {
    for (size_t i = 0; i < ev->num_seen; i++)
        if (strcmp(ev->seen[i], base_of(path)) == 0) return 1;
    return 0;
}

static sc_status remember(sc_evaluator *ev, const char *path, sc_error *err) {
    if (ev->num_seen == ev->cap_seen) {
        size_t cap = ev->cap_seen ? ev->cap_seen * 2 : 16;
        char **n = realloc(ev->seen, cap * sizeof *n);
        if (!n) return sc_error_set(err, SC_NO_MEMORY, "out of memory");
        ev->seen = n;
        ev->cap_seen = cap;
    }
    if (!(ev->seen[ev->num_seen] = strdup(base_of(path))))
        return sc_error_set(err, SC_NO_MEMORY, "out of memory");
    ev->num_seen++;
    return SC_OK;
}

/* Evaluates path unless this evaluator or the journal already did. Returns SC_OK, or the status
 * that ends the run. *done is set when the stop rule says this was the last checkpoint, or a
 * stop was requested. */
static sc_status consider(sc_evaluator *ev, const sc_ckpt_ref *ref, int *done, sc_error *err) {
    const char *path = ref->path;
    if (seen(ev, path) || (ev->journal && sc_journal_has(ev->journal, path))) {
        if (last_checkpoint(ev, ref)) *done = 1;
        return SC_OK;
    }
    sc_error e2;
    sc_error_clear(&e2);
    sc_status s = sc_eval_group_command(ev, ref, &e2);
    if (s == SC_OK) s = sc_evaluator_evaluate_ref(ev, ref, &e2);
    if (s != SC_OK && atomic_load(&ev->stop)) {
        /* A requested stop is not a failure: the evaluation is abandoned before any of its
         * outputs (TensorBoard, journal, export) was written. */
        sc_eval_log(ev,
                    "Stop requested: the evaluation of %s was abandoned (nothing written "
                    "for it); SidecarEvaluator stops.",
                    path);
        ev->stop_logged = 1;
        *done = 1;
        return SC_OK;
    }
    if (s == SC_OK && (s = remember(ev, path, &e2)) != SC_OK) {
        if (err) *err = e2;
        return s;
    }
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
    if (last_checkpoint(ev, ref)) {
        sc_eval_log(ev, "Last checkpoint evaluated. SidecarEvaluator stops.");
        *done = 1;
    }
    return SC_OK;
}

/* A state file naming a checkpoint that is not there (an absolute path from the training
 * machine, a copied directory) would otherwise be waited for in silence: say so, as `eval`
 * does, at the first scan and again with the hint. */
static void report_missing_latest(sc_evaluator *ev) {
    sc_ckpt_state st;
    if (sc_ckpt_state_read(ev->p.checkpoint_dir, &st, NULL) != SC_OK) return;
    int named = st.model_checkpoint_path && st.model_checkpoint_path[0];
    sc_ckpt_state_clear(&st);
    char *prefix = NULL;
    sc_error e;
    if (named && sc_latest_checkpoint(ev->p.checkpoint_dir, &prefix, &e) == SC_NOT_FOUND)
        sc_eval_log(ev,
                    "The checkpoint state file names a checkpoint that does not exist: %s "
                    "(waiting for it; an absolute path from another machine never appears: "
                    "point the state file at this directory)",
                    e.message);
    free(prefix);
}
static sc_status watch_loop(sc_evaluator *ev, sc_error *err);

sc_status sc_evaluator_start(sc_evaluator *ev, sc_error *err) {
    if (!sc_eval_is_root(ev)) return sc_eval_group_follow(ev, err);
    sc_status s = watch_loop(ev, err);
    sc_error e2;
    sc_eval_group_command(ev, NULL, &e2); /* stop the other ranks, however the loop ended */
    return s;
}

static sc_status watch_loop(sc_evaluator *ev, sc_error *err) {
    sc_watcher_params wp = sc_watcher_default_params();
    wp.mode = ev->p.watch_mode;
    wp.poll_interval_ms = ev->p.poll_interval_ms > 0 ? ev->p.poll_interval_ms : 1000;
    sc_status s = sc_watcher_create(ev->p.checkpoint_dir, &wp, &ev->watcher, err);
    if (s) return s;
    atomic_store(&ev->watcher_live, ev->watcher);
    if (atomic_load(&ev->stop)) { /* a stop that came before the watcher existed */
        sc_eval_log(ev, "Stop requested: SidecarEvaluator stops.");
        return SC_OK;
    }
    sc_eval_log(ev, "Watching %s for checkpoints (%s)", ev->p.checkpoint_dir,
                sc_watcher_method(ev->watcher));
    report_missing_latest(ev);
    double last_new = mono_now(), started = last_new;
    int hinted = 0, done = 0;
    while (!done && !atomic_load(&ev->stop)) {
        /* Wake up in time for the hint and the timeout. */
        double now = mono_now(), wait_s = 3600;
        if (!hinted && ev->num_evaluated == 0)
            wait_s = fmin(wait_s, started + ev->p.hint_after_s - now);
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
                            "recommended flows of saving checkpoints.",
                            ev->p.hint_after_s);
                report_missing_latest(ev);
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
                if ((s = consider(ev, &wev.all_refs[i], &done, err))) return s;
        } else {
            if ((s = consider(ev, &wev.ref, &done, err))) return s;
        }
    }
    if (atomic_load(&ev->stop) && !ev->stop_logged)
        sc_eval_log(ev, "Stop requested: SidecarEvaluator stops.");
    for (size_t d = 0; d < ev->p.num_datasets; d++)
        if (ev->writers[d] && (s = sc_summary_writer_flush(ev->writers[d], err))) return s;
    return SC_OK;
}
