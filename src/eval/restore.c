/* eval/restore.c — a checkpoint into the model, with bounded retries for one still being
 * written (or deleted by the trainer's max_to_keep while we read it). Every tensor is read whole
 * and CRC-checked before the model is evaluated, so a torn checkpoint never yields a number. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "core/error.h"
#include "core/fileio.h"
#include "eval/eval_internal.h"
#include "sidecar/keras_weights.h"

/* A file that is not there (yet, or any more: max_to_keep) is retried like a torn one. */
static sc_status gone_is_unavailable(sc_status s, sc_error *err) {
    if (s == SC_NOT_FOUND) s = err ? (err->status = SC_UNAVAILABLE) : SC_UNAVAILABLE;
    return s;
}

#define VV "/.ATTRIBUTES/VARIABLE_VALUE"

static sc_status restore_bundle(sc_evaluator *ev, const char *prefix, int64_t *step,
                                sc_error *err) {
    sc_bundle *b;
    /* The .index vanished (max_to_keep) or is not there yet: the same as a missing shard. */
    sc_status s = gone_is_unavailable(sc_bundle_open(prefix, &b, err), err);
    if (s) return s;
    /* Binding first: the model's variables tell which optimizer trained it (its step). */
    sc_bind_params bp = {ev->p.model_root};
    sc_bind_report rep;
    s = sc_model_bind_bundle_ex(ev->p.model, b, &bp, &rep, err);
    sc_ckpt_info info;
    sc_step_params sp = {ev->p.step_key, rep.var_nodes, rep.var_nodes ? rep.num_entries : 0};
    if (s == SC_OK) s = sc_ckpt_describe_ex(b, &sp, &info, err);
    sc_bind_report_clear(&rep);
    if (s == SC_OK && info.step_source != SC_STEP_OPTIMIZER_ITER
        && info.step_source != SC_STEP_OPTIMIZER_ITERATIONS
        && info.step_source != SC_STEP_GIVEN_KEY)
        /* Keras' SidecarEvaluator raises here: summaries need the training step. */
        s = sc_error_set(err, SC_NOT_FOUND,
                         "%s: Variable `iterations` cannot be loaded from the checkpoint file. "
                         "Please ensure `iterations` is tracked in the checkpoint saved: save the "
                         "optimizer with the model (tf.train.Checkpoint(model=..., optimizer=...) "
                         "or a compiled model's ModelCheckpoint); expected an optimizer's iter or "
                         "_iterations (or name the step's key with --step-key)",
                         prefix);
    if (s == SC_OK) *step = info.step;
    /* Where the step came from, when it is not Keras' own optimizer/iter(ations): once per key. */
    if (s == SC_OK && info.step_key && strcmp(info.step_key, "optimizer/iter" VV)
        && strcmp(info.step_key, "optimizer/_iterations" VV)
        && strcmp(info.step_key, ev->step_key_logged)) {
        snprintf(ev->step_key_logged, sizeof ev->step_key_logged, "%s", info.step_key);
        sc_eval_log(ev, "Training step read from '%s'%s%s%s", info.step_key,
                    info.step_reason ? " (" : "", info.step_reason ? info.step_reason : "",
                    info.step_reason ? ")" : "");
    }
    sc_bundle_free(b);
    return s;
}

static sc_status restore_safetensors(sc_evaluator *ev, const sc_ckpt_ref *ref, int64_t *step,
                                     sc_error *err) {
    sc_safetensors *st;
    sc_status s = gone_is_unavailable(sc_safetensors_open(ref->path, &st, err), err);
    if (s) return s;
    /* safetensors hold no optimizer: the step is the number in the file name. */
    *step = ref->number;
    s = sc_model_bind_safetensors(ev->p.model, st, NULL, err);
    sc_safetensors_free(st);
    return s;
}

/* Keras 3 weight files: the optimizer's variable 0 is its iteration counter (FORMATS §7.1).
 * Keras 2 legacy files: the counter in optimizer_weights (§7.5). Saved without an optimizer:
 * the number in the file name stands in. */
static sc_status restore_h5(sc_evaluator *ev, sc_h5weights *h, const sc_ckpt_ref *ref,
                            int64_t *step, sc_error *err) {
    int legacy = sc_h5weights_is_legacy(h);
    sc_status s = legacy ? sc_h5weights_legacy_step(h, step, NULL, err)
                         : sc_h5weights_keras3_step(h, step, err);
    if (s == SC_NOT_FOUND) {
        *step = ref->number;
        s = SC_OK;
    }
    if (s) return s;
    return legacy ? sc_model_bind_h5legacy(ev->p.model, h, NULL, err)
                  : sc_model_bind_h5weights(ev->p.model, h, NULL, err);
}

static sc_status restore_once(sc_evaluator *ev, const sc_ckpt_ref *ref, int64_t *step,
                              sc_error *err) {
    sc_status s;
    switch (ref->kind) {
    case SC_CKPT_SAFETENSORS: return restore_safetensors(ev, ref, step, err);
    case SC_CKPT_KERAS_ARCHIVE: {
        sc_keras_archive *ar;
        s = sc_keras_archive_open(ref->path, &ar, err);
        if (s == SC_NOT_FOUND && !sc_path_exists(ref->path)) s = gone_is_unavailable(s, err);
        if (s) return s;
        s = restore_h5(ev, sc_keras_archive_weights(ar), ref, step, err);
        sc_keras_archive_free(ar);
        return s;
    }
    case SC_CKPT_KERAS_WEIGHTS:
    case SC_CKPT_LEGACY_H5: {
        sc_h5weights *h;
        if ((s = gone_is_unavailable(sc_h5weights_open(ref->path, &h, err), err))) return s;
        s = restore_h5(ev, h, ref, step, err);
        sc_h5weights_free(h);
        return s;
    }
    case SC_CKPT_BUNDLE:
    case SC_CKPT_SAVED_MODEL: {
        char *prefix;
        if ((s = sc_ckpt_ref_bundle_prefix(ref, &prefix, err))) return s;
        s = restore_bundle(ev, prefix, step, err);
        free(prefix);
        return s;
    }
    default:
        return sc_error_set(err, SC_INVALID_ARGUMENT, "%s: not a checkpoint sidecar can read",
                            ref->path);
    }
}

sc_status sc_eval_restore(sc_evaluator *ev, const sc_ckpt_ref *ref, int64_t *step, sc_error *err) {
    int delay = ev->p.retry_delay_ms > 0 ? ev->p.retry_delay_ms : 200;
    int tries = ev->p.retries > 0 ? ev->p.retries : 1;
    for (int attempt = 1;; attempt++) {
        sc_status s = restore_once(ev, ref, step, err);
        if (s != SC_UNAVAILABLE && s != SC_DATA_LOSS) return s;
        if (attempt >= tries || atomic_load(&ev->stop)) return s;
        sc_eval_log(ev, "Retrying in %d ms (attempt %d of %d): %s", delay, attempt + 1, tries,
                    err ? err->message : sc_status_name(s));
        struct timespec ts = {delay / 1000, (long)(delay % 1000) * 1000000L};
        while (nanosleep(&ts, &ts) != 0 && errno == EINTR && !atomic_load(&ev->stop)) {}
        delay *= 2;
    }
}
