/* One scan of a checkpoint directory: the newest complete bundle (state file + .index, the rule
 * of tf.train.latest_checkpoint, FORMATS §2.3) and the newest Keras 3 / safetensors weight file
 * (DESIGN §1). The state file is read once per scan, so the latest prefix and the list of kept
 * checkpoints always come from the same version of it. */
#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "sidecar/checkpoint.h"
#include "core/error.h"
#include "core/fileio.h"
#include "ckpt/watch_internal.h"
#include "sidecar/ckpt_ref.h"

void sc_watch_cand_clear(sc_watch_cand *c) {
    if (!c) return;
    free(c->path);
    for (size_t i = 0; i < c->num_all; i++) free(c->all[i]);
    free(c->all);
    free(c->all_refs);
    memset(c, 0, sizeof *c);
    c->number = -1;
}

int sc_watch_cand_same(const sc_watch_cand *a, const sc_watch_cand *b) {
    if (a->kind != b->kind) return 0;
    if (a->kind == SC_WATCH_NONE) return 1;
    return strcmp(a->path, b->path) == 0 && a->dev == b->dev && a->ino == b->ino
           && a->size == b->size && a->mtime_ns == b->mtime_ns;
}

static void set_identity(sc_watch_cand *c, const struct stat *st) {
    c->dev = st->st_dev;
    c->ino = st->st_ino;
    c->size = st->st_size;
    c->mtime_ns = (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
}

/* stat of "<prefix>.index"; 1 when it is a regular file. */
static int stat_index(const char *prefix, struct stat *st) {
    size_t n = strlen(prefix);
    char *idx = malloc(n + sizeof ".index");
    if (!idx) return -1;
    memcpy(idx, prefix, n);
    memcpy(idx + n, ".index", sizeof ".index");
    int ok = stat(idx, st) == 0 && S_ISREG(st->st_mode);
    free(idx);
    return ok;
}

static sc_status nomem(sc_error *err, const char *dir) {
    return sc_error_set(err, SC_NO_MEMORY, "%s: out of memory while scanning for checkpoints", dir);
}

static sc_status scan_bundle(const char *dir, sc_watch_cand *c, sc_error *problem) {
    sc_ckpt_state st;
    sc_error e;
    sc_status rc = sc_ckpt_state_read(dir, &st, &e);
    if (rc == SC_NOT_FOUND) return SC_OK;
    if (rc == SC_NO_MEMORY) return sc_error_set(problem, rc, "%s", e.message);
    if (rc != SC_OK) {
        if (problem) *problem = e;
        return SC_OK;
    }
    struct stat ist;
    char *prefix = NULL;
    if (!st.model_checkpoint_path || !st.model_checkpoint_path[0]) {
        sc_error_set(problem, SC_INVALID_ARGUMENT,
                     "%s/checkpoint: model_checkpoint_path is empty (expected a checkpoint prefix)",
                     dir);
        goto done;
    }
    if (!(prefix = sc_path_join(dir, st.model_checkpoint_path))) goto oom;
    int ok = stat_index(prefix, &ist);
    if (ok < 0) goto oom;
    if (!ok) goto done; /* named, but not complete yet (or deleted) */
    /* +1: the latest is appended when the list lacks it. calloc checks the multiplication. */
    if (!(c->all = calloc(st.num_paths + 1, sizeof *c->all))) goto oom;
    int has_latest = 0;
    for (size_t i = 0; i < st.num_paths; i++) {
        char *p = sc_path_join(dir, st.all_model_checkpoint_paths[i]);
        struct stat pst;
        if (!p || (ok = stat_index(p, &pst)) < 0) {
            free(p);
            goto oom;
        }
        if (!ok) { /* deleted by max_to_keep since the state file was written */
            free(p);
            continue;
        }
        has_latest |= strcmp(p, prefix) == 0;
        c->all[c->num_all++] = p;
    }
    if (!has_latest && !(c->all[c->num_all++] = strdup(prefix))) goto oom;
    if (!(c->all_refs = calloc(c->num_all, sizeof *c->all_refs))) goto oom;
    for (size_t i = 0; i < c->num_all; i++)
        c->all_refs[i] = (sc_ckpt_ref){SC_CKPT_BUNDLE, c->all[i], sc_ckpt_number(c->all[i])};
    c->kind = SC_WATCH_BUNDLE;
    c->ckind = SC_CKPT_BUNDLE;
    c->path = prefix;
    prefix = NULL;
    c->number = sc_ckpt_number(c->path);
    set_identity(c, &ist);
    rc = SC_OK;
    goto done;
oom:
    rc = nomem(problem, dir);
done:
    free(prefix);
    sc_ckpt_state_clear(&st);
    return rc;
}

/* The number right before the end of name[0..end): "<stem>-<digits>", -1 otherwise. */
static int64_t dash_number(const char *name, size_t end_at) {
    const char *end = name + end_at, *p = end;
    while (p > name && p[-1] >= '0' && p[-1] <= '9') p--;
    if (p == end || p == name || p[-1] != '-') return -1;
    int64_t v = 0;
    for (; p < end; p++) {
        if (v > (INT64_MAX - (*p - '0')) / 10) return -1;
        v = v * 10 + (*p - '0');
    }
    return v;
}

int64_t sc_watch_weight_file_number(const char *name) {
    if (sc_ckpt_file_kind(name) == SC_CKPT_NONE) return -1;
    /* The number must end right before the extension: "ckpt-3.weights.h5" -> "ckpt-3". */
    size_t n = strlen(name), el = strlen(sc_ckpt_file_ext(name));
    return n > el ? dash_number(name, n - el) : -1;
}

typedef struct wfile {
    int64_t number;
    char *name;
    sc_ckpt_kind kind;
} wfile;

static int wfile_cmp(const void *a, const void *b) {
    const wfile *x = a, *y = b;
    if (x->number != y->number) return x->number < y->number ? -1 : 1;
    return strcmp(x->name, y->name);
}

static sc_status scan_files(const char *dir, sc_watch_cand *c, sc_error *problem) {
    DIR *d = opendir(dir);
    if (!d) {
        if (errno != ENOENT && errno != ENOTDIR)
            sc_error_set(problem, SC_IO, "%s: cannot list the checkpoint directory: %s", dir,
                         strerror(errno));
        return SC_OK;
    }
    sc_status rc = SC_OK;
    wfile *v = NULL;
    size_t n = 0, cap = 0;
    struct stat st, last_st;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;
        sc_ckpt_kind kind = sc_ckpt_file_kind(e->d_name);
        int64_t num = kind != SC_CKPT_NONE ? sc_watch_weight_file_number(e->d_name)
                                           : dash_number(e->d_name, strlen(e->d_name));
        if (num < 0) continue;
        char *path = sc_path_join(dir, e->d_name);
        if (!path) goto oom;
        int keep;
        if (kind != SC_CKPT_NONE) {
            /* An empty file was just created and holds nothing yet. */
            keep = stat(path, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0;
        } else {
            /* "ckpt-01/": a SavedModel (TF2 ModelCheckpoint(save_weights_only=False)), counted
             * once saved_model.pb, written after the variables, is there. */
            keep = stat(path, &st) == 0 && S_ISDIR(st.st_mode) && sc_saved_model_complete(path);
            kind = SC_CKPT_SAVED_MODEL;
        }
        free(path);
        if (!keep) continue;
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            if (ncap > SIZE_MAX / sizeof *v) goto oom;
            wfile *nv = realloc(v, ncap * sizeof *v);
            if (!nv) goto oom;
            v = nv;
            cap = ncap;
        }
        if (!(v[n].name = strdup(e->d_name))) goto oom;
        v[n].kind = kind;
        v[n++].number = num;
    }
    if (n == 0) goto done;
    qsort(v, n, sizeof *v, wfile_cmp);
    if (!(c->all = calloc(n, sizeof *c->all)) || !(c->all_refs = calloc(n, sizeof *c->all_refs)))
        goto oom;
    for (size_t i = 0; i < n; i++) {
        if (!(c->all[c->num_all] = sc_path_join(dir, v[i].name))) goto oom;
        c->all_refs[c->num_all] = (sc_ckpt_ref){v[i].kind, c->all[c->num_all], v[i].number};
        c->num_all++;
    }
    if (!(c->path = strdup(c->all[n - 1]))) goto oom;
    /* Re-stat the newest: the identity must be the one of the path reported (for a SavedModel,
     * of its saved_model.pb, which is rewritten when the directory is saved again). */
    char *idp = v[n - 1].kind == SC_CKPT_SAVED_MODEL ? sc_path_join(c->path, "saved_model.pb")
                                                     : strdup(c->path);
    if (!idp) goto oom;
    int gone = stat(idp, &last_st) != 0;
    free(idp);
    if (gone) {
        sc_watch_cand_clear(c); /* gone since readdir: the next scan sees the truth */
        goto done;
    }
    c->kind = v[n - 1].kind == SC_CKPT_SAVED_MODEL ? SC_WATCH_SAVED_MODEL : SC_WATCH_FILE;
    c->ckind = v[n - 1].kind;
    c->number = v[n - 1].number;
    set_identity(c, &last_st);
    goto done;
oom:
    rc = nomem(problem, dir);
done:
    for (size_t i = 0; i < n; i++) free(v[i].name);
    free(v);
    closedir(d);
    return rc;
}

sc_status sc_watch_scan(const char *dir, int weight_files, sc_watch_cand *out, sc_error *problem) {
    assert(dir && out && problem);
    sc_error_clear(problem);
    memset(out, 0, sizeof *out);
    out->number = -1;
    sc_watch_cand tf, wf;
    memset(&tf, 0, sizeof tf);
    memset(&wf, 0, sizeof wf);
    tf.number = wf.number = -1;
    struct stat st;
    if (stat(dir, &st) != 0) {
        if (errno != ENOENT && errno != ENOTDIR)
            sc_error_set(problem, SC_IO, "%s: cannot stat the checkpoint directory: %s", dir,
                         strerror(errno));
        return SC_OK; /* not there yet: training may not have started */
    }
    if (!S_ISDIR(st.st_mode)) {
        sc_error_set(problem, SC_INVALID_ARGUMENT,
                     "%s: exists but is not a directory (expected the checkpoint directory)", dir);
        return SC_OK;
    }
    sc_status rc = scan_bundle(dir, &tf, problem);
    if (rc == SC_OK && weight_files) {
        sc_error fproblem;
        sc_error_clear(&fproblem);
        rc = scan_files(dir, &wf, &fproblem);
        if (rc != SC_OK || problem->status == SC_OK) *problem = fproblem;
    }
    if (rc != SC_OK) {
        sc_watch_cand_clear(&tf);
        sc_watch_cand_clear(&wf);
        return rc;
    }
    /* Both kinds in one directory: the larger number wins, a tie goes to the bundle. */
    if (wf.kind != SC_WATCH_NONE && (tf.kind == SC_WATCH_NONE || wf.number > tf.number)) {
        *out = wf;
        sc_watch_cand_clear(&tf);
    } else {
        *out = tf;
        sc_watch_cand_clear(&wf);
    }
    return SC_OK;
}
