/* eval/restore.c — a checkpoint into the model, with bounded retries for one still being
 * written (or deleted by the trainer's max_to_keep while we read it). Every tensor is read whole
 * and CRC-checked before the model is evaluated, so a torn checkpoint never yields a number. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "core/error.h"
#include "core/fileio.h"
#include "eval/eval_internal.h"
#include "sidecar/keras_weights.h"

#define VV "/.ATTRIBUTES/VARIABLE_VALUE"

static int ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

static sc_status restore_bundle(sc_evaluator *ev, const char *prefix, int64_t *step, sc_error *err) {
    sc_bundle *b;
    sc_status s = sc_bundle_open(prefix, &b, err);
    /* The .index vanished (max_to_keep) or is not there yet: the same as a missing shard. */
    if (s == SC_NOT_FOUND) s = err ? (err->status = SC_UNAVAILABLE) : SC_UNAVAILABLE;
    if (s) return s;
    /* Binding first: the model's variables tell which optimizer trained it (its step). */
    sc_bind_params bp = {ev->p.model_root};
    sc_bind_report rep;
    s = sc_model_bind_bundle_ex(ev->p.model, b, &bp, &rep, err);
    sc_ckpt_info info;
    sc_step_params sp = {ev->p.step_key, rep.var_nodes, rep.var_nodes ? rep.num_entries : 0};
    if (s == SC_OK) s = sc_ckpt_describe_ex(b, &sp, &info, err);
    sc_bind_report_clear(&rep);
    if (s == SC_OK && info.step_source != SC_STEP_OPTIMIZER_ITER &&
        info.step_source != SC_STEP_OPTIMIZER_ITERATIONS && info.step_source != SC_STEP_GIVEN_KEY)
        /* Keras' SidecarEvaluator raises here: summaries need the training step. */
        s = sc_error_set(err, SC_NOT_FOUND,
                         "%s: Variable `iterations` cannot be loaded from the checkpoint file. "
                         "Please ensure `iterations` is tracked in the checkpoint saved: save the "
                         "optimizer with the model (tf.train.Checkpoint(model=..., optimizer=...) "
                         "or a compiled model's ModelCheckpoint); expected an optimizer's iter or "
                         "_iterations (or name the step's key with --step-key)", prefix);
    if (s == SC_OK) *step = info.step;
    /* Where the step came from, when it is not Keras' own optimizer/iter(ations): once per key. */
    if (s == SC_OK && info.step_key && strcmp(info.step_key, "optimizer/iter" VV) &&
        strcmp(info.step_key, "optimizer/_iterations" VV) &&
        strcmp(info.step_key, ev->step_key_logged)) {
        snprintf(ev->step_key_logged, sizeof ev->step_key_logged, "%s", info.step_key);
        sc_eval_log(ev, "Training step read from '%s'%s%s%s", info.step_key,
                    info.step_reason ? " (" : "", info.step_reason ? info.step_reason : "",
                    info.step_reason ? ")" : "");
    }
    sc_bundle_free(b);
    return s;
}

static sc_status restore_safetensors(sc_evaluator *ev, const char *path, int64_t *step,
                                     sc_error *err) {
    sc_safetensors *st;
    sc_status s = sc_safetensors_open(path, &st, err);
    if (s == SC_NOT_FOUND) s = err ? (err->status = SC_UNAVAILABLE) : SC_UNAVAILABLE;
    if (s) return s;
    /* safetensors hold no optimizer: the step is the number in the file name. */
    *step = sc_eval_checkpoint_number(path);
    s = sc_model_bind_safetensors(ev->p.model, st, NULL, err);
    sc_safetensors_free(st);
    return s;
}

/* Keras 3 weight files: the optimizer's variable 0 is its iteration counter (FORMATS §7.1). */
static sc_status restore_h5(sc_evaluator *ev, sc_h5weights *h, const char *path, int64_t *step,
                            sc_error *err) {
    const sc_tensor_info *it = sc_h5weights_find(h, "optimizer/vars/0");
    if (it && it->rank == 0 && (it->dtype == SC_DT_INT64 || it->dtype == SC_DT_INT32)) {
        int64_t v64 = 0;
        int32_t v32 = 0;
        sc_status s = sc_h5weights_read(h, it, it->dtype == SC_DT_INT64 ? (void *)&v64 : (void *)&v32,
                                        it->size, err);
        if (s) return s;
        *step = it->dtype == SC_DT_INT64 ? v64 : v32;
    } else {
        /* Saved without a compiled optimizer: the number in the file name stands in. */
        *step = sc_eval_checkpoint_number(path);
    }
    return sc_model_bind_h5weights(ev->p.model, h, NULL, err);
}

static sc_status restore_once(sc_evaluator *ev, const char *path, int64_t *step, sc_error *err) {
    if (ends_with(path, ".safetensors")) return restore_safetensors(ev, path, step, err);
    if (ends_with(path, ".keras")) {
        sc_keras_archive *ar;
        sc_status s = sc_keras_archive_open(path, &ar, err);
        if (s == SC_NOT_FOUND && !sc_path_exists(path)) s = err ? (err->status = SC_UNAVAILABLE) : SC_UNAVAILABLE;
        if (s) return s;
        s = restore_h5(ev, sc_keras_archive_weights(ar), path, step, err);
        sc_keras_archive_free(ar);
        return s;
    }
    if (ends_with(path, ".h5")) {
        sc_h5weights *h;
        sc_status s = sc_h5weights_open(path, &h, err);
        if (s == SC_NOT_FOUND) s = err ? (err->status = SC_UNAVAILABLE) : SC_UNAVAILABLE;
        if (s) return s;
        s = restore_h5(ev, h, path, step, err);
        sc_h5weights_free(h);
        return s;
    }
    return restore_bundle(ev, path, step, err);
}

sc_status sc_eval_restore(sc_evaluator *ev, const char *path, int64_t *step, sc_error *err) {
    int delay = ev->p.retry_delay_ms > 0 ? ev->p.retry_delay_ms : 200;
    int tries = ev->p.retries > 0 ? ev->p.retries : 1;
    for (int attempt = 1;; attempt++) {
        sc_status s = restore_once(ev, path, step, err);
        if (s != SC_UNAVAILABLE && s != SC_DATA_LOSS) return s;
        if (attempt >= tries || atomic_load(&ev->stop)) return s;
        sc_eval_log(ev, "Retrying in %d ms (attempt %d of %d): %s", delay, attempt + 1, tries,
                    err ? err->message : sc_status_name(s));
        struct timespec ts = {delay / 1000, (long)(delay % 1000) * 1000000L};
        while (nanosleep(&ts, &ts) != 0 && errno == EINTR && !atomic_load(&ev->stop)) {
        }
        delay *= 2;
    }
}
