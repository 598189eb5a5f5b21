/* Finding a checkpoint: tf.train.latest_checkpoint, resolving what a user typed, and the
 * checkpoint number (FORMATS §2.3, §10.1). */
#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sidecar/checkpoint.h"
#include "core/error.h"
#include "core/fileio.h"

/* malloc'd a + b, or NULL. */
static char *concat(const char *a, const char *b) {
    size_t la = strlen(a), lb = strlen(b);
    char *s = malloc(la + lb + 1);
    if (!s) return NULL;
    memcpy(s, a, la);
    memcpy(s + la, b, lb + 1);
    return s;
}

static int index_exists(const char *prefix) {
    char *idx = concat(prefix, ".index");
    int ok = idx && sc_path_exists(idx) && !sc_path_is_dir(idx);
    free(idx);
    return ok;
}

/* TensorFlow accepts the prefix when glob(prefix + ".index") or glob(prefix) (a V1 checkpoint)
 * matches. We test the literal path "<prefix>.index" only: TF's own writers never put glob
 * metacharacters in names they generate, and V1 checkpoints are not readable here anyway.
 * A state-file parse error is an error here (TF logs a warning and returns None): the caller
 * should see why a checkpoint directory yields nothing. */
sc_status sc_latest_checkpoint(const char *dir, char **prefix_out, sc_error *err) {
    assert(dir && prefix_out);
    *prefix_out = NULL;
    sc_ckpt_state st;
    char *prefix = NULL;
    sc_status rc = sc_ckpt_state_read(dir, &st, err);
    if (rc != SC_OK) return rc;
    if (!st.model_checkpoint_path || !st.model_checkpoint_path[0]) {
        rc = sc_error_set(err, SC_INVALID_ARGUMENT,
                          "%s/checkpoint: model_checkpoint_path is empty (expected a checkpoint "
                          "prefix)",
                          dir);
        goto done;
    }
    /* Relative paths join the directory (os.path.join); absolute ones are kept as written. */
    prefix = sc_path_join(dir, st.model_checkpoint_path);
    if (!prefix) {
        rc = sc_error_set(err, SC_NO_MEMORY, "%s/checkpoint: out of memory", dir);
        goto done;
    }
    if (!index_exists(prefix)) {
        rc = sc_error_set(err, SC_NOT_FOUND,
                          "%s/checkpoint: names checkpoint %s, but %s.index does not exist", dir,
                          prefix, prefix);
        goto done;
    }
    *prefix_out = prefix;
    prefix = NULL;
done:
    free(prefix);
    sc_ckpt_state_clear(&st);
    return rc;
}

sc_status sc_ckpt_resolve(const char *path, char **prefix_out, sc_error *err) {
    assert(path && prefix_out);
    *prefix_out = NULL;
    char *cand = NULL, *state = NULL;
    sc_status rc = SC_OK;

    /* 1. A prefix. */
    if (index_exists(path)) {
        cand = strdup(path);
        goto found;
    }
    /* 2. A directory with a state file: its latest checkpoint, or the reason there is none. */
    if (sc_path_is_dir(path)) {
        state = sc_path_join(path, "checkpoint");
        if (!state) goto nomem;
        if (sc_path_exists(state)) {
            rc = sc_latest_checkpoint(path, prefix_out, err);
            goto done;
        }
    }
    /* 3. A SavedModel directory. */
    cand = sc_path_join(path, "variables/variables");
    if (!cand) goto nomem;
    if (index_exists(cand)) goto found;
    free(cand);
    cand = NULL;
    /* 4. The .index file itself. */
    size_t n = strlen(path), sl = strlen(".index");
    if (n > sl && strcmp(path + n - sl, ".index") == 0 && sc_path_exists(path)
        && !sc_path_is_dir(path)) {
        cand = strndup(path, n - sl);
        goto found;
    }
    rc = sc_error_set(err, SC_NOT_FOUND,
                      "%s: not a checkpoint (tried %s.index, a `checkpoint` state file in %s, "
                      "%s/variables/variables.index, and %s as an .index file)",
                      path, path, path, path, path);
    goto done;
found:
    if (!cand) goto nomem;
    *prefix_out = cand;
    cand = NULL;
    goto done;
nomem:
    rc = sc_error_set(err, SC_NO_MEMORY, "%s: out of memory", path);
done:
    free(cand);
    free(state);
    return rc;
}

/* Keras' SidecarEvaluator computes int(path.split("-")[-1]). What follows the last '-' of the
 * whole path is in the basename whenever the basename has a '-', and contains a '/' (so is not
 * a number) otherwise, so looking at the basename gives the same answer. We accept only ASCII
 * digits to the end ("ckpt-12" -> 12, "x-00012" -> 12) and return -1, never an error, where
 * Python would raise: no '-', nothing after it, any other character ("cp-0050.ckpt": Keras would
 * fail on "0050.ckpt"), or a value beyond INT64_MAX. Python's int() also takes spaces, '+' and
 * '_' separators; TensorFlow never writes those. */
int64_t sc_ckpt_number(const char *prefix) {
    assert(prefix);
    const char *base = strrchr(prefix, '/');
    base = base ? base + 1 : prefix;
    const char *dash = strrchr(base, '-');
    if (!dash || !dash[1]) return -1;
    int64_t v = 0;
    for (const char *p = dash + 1; *p; p++) {
        if (*p < '0' || *p > '9') return -1;
        if (v > (INT64_MAX - (*p - '0')) / 10) return -1;
        v = v * 10 + (*p - '0');
    }
    return v;
}
