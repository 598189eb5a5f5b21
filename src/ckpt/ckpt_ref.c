/* ckpt/ckpt_ref.c — the one place that says what kind of checkpoint a path is (see
 * sidecar/ckpt_ref.h). */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/error.h"
#include "core/fileio.h"
#include "core/strutil.h"
#include "sidecar/checkpoint.h"
#include "sidecar/ckpt_ref.h"

/* Longest first: ".weights.h5" must win over ".h5". */
static const struct {
    const char *ext;
    sc_ckpt_kind kind;
} FILE_KINDS[] = {
    {".weights.h5", SC_CKPT_KERAS_WEIGHTS},
    {".safetensors", SC_CKPT_SAFETENSORS},
    {".keras", SC_CKPT_KERAS_ARCHIVE},
    {".hdf5", SC_CKPT_LEGACY_H5},
    {".h5", SC_CKPT_LEGACY_H5},
};

const char *sc_ckpt_kind_name(sc_ckpt_kind kind) {
    switch (kind) {
    case SC_CKPT_BUNDLE: return "bundle";
    case SC_CKPT_SAVED_MODEL: return "saved_model";
    case SC_CKPT_KERAS_WEIGHTS: return "keras_weights_h5";
    case SC_CKPT_KERAS_ARCHIVE: return "keras_archive";
    case SC_CKPT_LEGACY_H5: return "legacy_h5";
    case SC_CKPT_SAFETENSORS: return "safetensors";
    default: return "none";
    }
}

static int file_kind_index(const char *name) {
    for (size_t i = 0; i < sizeof FILE_KINDS / sizeof *FILE_KINDS; i++)
        if (sc_ends_with(name, FILE_KINDS[i].ext)) return (int)i;
    return -1;
}

sc_ckpt_kind sc_ckpt_file_kind(const char *name) {
    int i = file_kind_index(name);
    return i < 0 ? SC_CKPT_NONE : FILE_KINDS[i].kind;
}

const char *sc_ckpt_file_ext(const char *name) {
    int i = file_kind_index(name);
    return i < 0 ? "" : FILE_KINDS[i].ext;
}

int64_t sc_ckpt_ref_number(sc_ckpt_kind kind, const char *path) {
    size_t n = strlen(path), cut = 0;
    if (kind == SC_CKPT_SAVED_MODEL)
        while (n - cut > 1 && path[n - cut - 1] == '/') cut++; /* "ckpt-01/" */
    else if (kind != SC_CKPT_BUNDLE && kind != SC_CKPT_NONE)
        cut = strlen(sc_ckpt_file_ext(path));
    if (cut == 0) return sc_ckpt_number(path);
    if (cut >= n) return -1;
    char *stem = strndup(path, n - cut);
    int64_t num = stem ? sc_ckpt_number(stem) : -1;
    free(stem);
    return num;
}

static int is_regular(const char *dir, const char *name) {
    char *p = sc_path_join(dir, name);
    struct stat st;
    int ok = p && stat(p, &st) == 0 && S_ISREG(st.st_mode);
    free(p);
    return ok;
}

int sc_saved_model_complete(const char *dir) {
    return is_regular(dir, "saved_model.pb") && is_regular(dir, "variables/variables.index");
}

void sc_ckpt_ref_clear(sc_ckpt_ref *ref) {
    if (!ref) return;
    free((char *)ref->path);
    ref->path = NULL;
    ref->kind = SC_CKPT_NONE;
    ref->number = -1;
}

sc_status sc_ckpt_ref_resolve(const char *arg, sc_ckpt_ref *out, sc_error *err) {
    out->kind = SC_CKPT_NONE;
    out->path = NULL;
    out->number = -1;
    char *path = NULL;
    sc_ckpt_kind kind = sc_ckpt_file_kind(arg);
    if (kind != SC_CKPT_NONE && !sc_path_is_dir(arg)) {
        if (!sc_path_exists(arg))
            return sc_error_set(err, SC_NOT_FOUND, "%s: no such file (a %s checkpoint by its name)",
                                arg, sc_ckpt_kind_name(kind));
        path = strdup(arg);
    } else if (sc_path_is_dir(arg) && !is_regular(arg, "checkpoint")
               && (sc_saved_model_complete(arg)
                   || (is_regular(arg, "keras_metadata.pb")
                       && is_regular(arg, "variables/variables.index")))) {
        /* A user may name a SavedModel that lost its saved_model.pb but keeps Keras' metadata
         * (the watcher, deciding completeness, still waits for saved_model.pb). */
        kind = SC_CKPT_SAVED_MODEL;
        size_t n = strlen(arg);
        while (n > 1 && arg[n - 1] == '/') n--;
        path = strndup(arg, n);
    } else {
        sc_status s = sc_ckpt_resolve(arg, &path, err);
        if (s) return s;
        kind = SC_CKPT_BUNDLE;
        /* sc_ckpt_resolve also finds a SavedModel's variables without saved_model.pb (a bare
         * variables/ directory): that stays a bundle. */
    }
    if (!path) return sc_error_set(err, SC_NO_MEMORY, "%s: out of memory", arg);
    out->kind = kind;
    out->path = path;
    out->number = sc_ckpt_ref_number(kind, path);
    return SC_OK;
}

sc_status sc_ckpt_ref_bundle_prefix(const sc_ckpt_ref *ref, char **prefix, sc_error *err) {
    *prefix = NULL;
    if (ref->kind == SC_CKPT_BUNDLE)
        *prefix = strdup(ref->path);
    else if (ref->kind == SC_CKPT_SAVED_MODEL)
        *prefix = sc_path_join(ref->path, "variables/variables");
    else
        return sc_error_set(err, SC_INVALID_ARGUMENT, "%s: a %s holds no TensorFlow bundle",
                            ref->path, sc_ckpt_kind_name(ref->kind));
    return *prefix ? SC_OK : sc_error_set(err, SC_NO_MEMORY, "%s: out of memory", ref->path);
}
