/* eval/export.c — best-model export (see export.h). */
#include <dirent.h>
#include <limits.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"
#include "core/fileio.h"
#include "eval/export.h"
#include "sidecar/checkpoint.h"

#define MARKER ".sidecar-export" /* claims the export directory as sidecar's */

static sc_status copy_file(const char *src, const char *dst, sc_error *err) {
    size_t tl = strlen(dst) + 32;
    char *tmp = malloc(tl);
    if (!tmp) return sc_error_set(err, SC_NO_MEMORY, "out of memory");
    snprintf(tmp, tl, "%s.tmp%ld", dst, (long)getpid());
    int in = open(src, O_RDONLY | O_CLOEXEC);
    if (in < 0) {
        free(tmp);
        return sc_error_set(err, errno == ENOENT ? SC_UNAVAILABLE : SC_IO,
                            "%s: cannot open for export: %s", src, strerror(errno));
    }
    int out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (out < 0) {
        close(in);
        sc_status s = sc_error_set(err, SC_IO, "%s: cannot create: %s", tmp, strerror(errno));
        free(tmp);
        return s;
    }
    sc_status s = SC_OK;
    static __thread char buf[1 << 16];
    for (;;) {
        ssize_t r = read(in, buf, sizeof buf);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            s = sc_error_set(err, SC_IO, "%s: read failed: %s", src, strerror(errno));
            break;
        }
        if (r == 0) break;
        if ((s = sc_write_full(out, tmp, buf, (size_t)r, err))) break;
    }
    if (s == SC_OK && fsync(out) != 0)
        s = sc_error_set(err, SC_IO, "%s: fsync failed: %s", tmp, strerror(errno));
    close(in);
    if (close(out) != 0 && s == SC_OK) s = sc_error_set(err, SC_IO, "%s: close failed", tmp);
    if (s == SC_OK && rename(tmp, dst) != 0)
        s = sc_error_set(err, SC_IO, "%s: rename failed: %s", dst, strerror(errno));
    if (s != SC_OK) unlink(tmp);
    free(tmp);
    return s;
}

/* Calls fn for every file of dir whose name is base itself or base + "." + anything
 * (ckpt-3.index, ckpt-3.data-00000-of-00001). */
static sc_status for_each_part(const char *dir, const char *base,
                               sc_status (*fn)(const char *dir, const char *name, void *ctx),
                               void *ctx, sc_error *err) {
    DIR *d = opendir(dir);
    if (!d)
        return sc_error_set(err, errno == ENOENT ? SC_UNAVAILABLE : SC_IO, "%s: cannot list: %s",
                            dir, strerror(errno));
    size_t bl = strlen(base);
    sc_status s = SC_OK;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strncmp(e->d_name, base, bl) != 0) continue;
        if (e->d_name[bl] != '\0' && e->d_name[bl] != '.') continue;
        if (strstr(e->d_name + bl, ".tmp") || strstr(e->d_name + bl, ".tempstate")) continue;
        if ((s = fn(dir, e->d_name, ctx))) break;
    }
    closedir(d);
    return s;
}

typedef struct {
    const char *dst_dir;
    sc_error *err;
    int copied;
} copy_ctx;

static sc_status copy_part(const char *dir, const char *name, void *ctx) {
    copy_ctx *c = ctx;
    char *src = sc_path_join(dir, name), *dst = sc_path_join(c->dst_dir, name);
    sc_status s = src && dst ? copy_file(src, dst, c->err)
                             : sc_error_set(c->err, SC_NO_MEMORY, "out of memory");
    free(src);
    free(dst);
    c->copied++;
    return s;
}

/* A SavedModel directory, copied file by file (saved_model.pb, variables/, assets/, ...) into
 * dst, created here. Subdirectories recurse; other file types are skipped. */
static sc_status copy_tree(const char *src, const char *dst, int depth, sc_error *err) {
    if (depth > 8) return sc_error_set(err, SC_INVALID_ARGUMENT, "%s: nested too deeply", src);
    if (mkdir(dst, 0755) != 0 && errno != EEXIST)
        return sc_error_set(err, SC_IO, "%s: cannot create: %s", dst, strerror(errno));
    DIR *d = opendir(src);
    if (!d)
        return sc_error_set(err, errno == ENOENT ? SC_UNAVAILABLE : SC_IO, "%s: cannot list: %s",
                            src, strerror(errno));
    sc_status s = SC_OK;
    struct dirent *e;
    while (s == SC_OK && (e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        char *a = sc_path_join(src, e->d_name), *b = sc_path_join(dst, e->d_name);
        struct stat st;
        if (!a || !b)
            s = sc_error_set(err, SC_NO_MEMORY, "out of memory");
        else if (stat(a, &st) != 0)
            s = sc_error_set(err, SC_UNAVAILABLE, "%s: gone: %s", a, strerror(errno));
        else if (S_ISDIR(st.st_mode))
            s = copy_tree(a, b, depth + 1, err);
        else if (S_ISREG(st.st_mode))
            s = copy_file(a, b, err);
        free(a);
        free(b);
    }
    closedir(d);
    return s;
}

static void remove_tree(const char *path, int depth) {
    DIR *d = depth <= 8 ? opendir(path) : NULL;
    if (d) {
        struct dirent *e;
        while ((e = readdir(d))) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
            char *p = sc_path_join(path, e->d_name);
            struct stat st;
            if (p && lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
                remove_tree(p, depth + 1);
            else if (p)
                unlink(p);
            free(p);
        }
        closedir(d);
    }
    rmdir(path);
}

/* Removes every file of the (marked, sidecar-owned) export directory that is not the marker, the
 * state file or a part of the checkpoint `keep`: the previous best, and temporary files of an
 * export that a crash interrupted. */
static void remove_others(const char *dir, const char *keep) {
    DIR *d = opendir(dir);
    if (!d) return;
    size_t kl = strlen(keep);
    struct dirent *e;
    while ((e = readdir(d))) {
        const char *n = e->d_name;
        if (!strcmp(n, ".") || !strcmp(n, "..") || !strcmp(n, MARKER) || !strcmp(n, "checkpoint"))
            continue;
        if (!strncmp(n, keep, kl) && (n[kl] == '\0' || n[kl] == '.') && !strstr(n + kl, ".tmp"))
            continue;
        char *p = sc_path_join(dir, n);
        struct stat st;
        if (p && lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
            remove_tree(p, 0); /* a SavedModel */
        else if (p)
            unlink(p);
        free(p);
    }
    closedir(d);
}

/* 1 when dir's state file already names the checkpoint whose basename is base. */
int sc_export_is_current(const char *dir, const char *checkpoint) {
    const char *slash = strrchr(checkpoint, '/');
    const char *base = slash ? slash + 1 : checkpoint;
    sc_ckpt_state st = {0};
    if (sc_ckpt_state_read(dir, &st, NULL) != SC_OK) return 0;
    int same = st.model_checkpoint_path && !strcmp(st.model_checkpoint_path, base);
    sc_ckpt_state_clear(&st);
    return same;
}

static void split(const char *path, char *dir, size_t cap, const char **base) {
    const char *slash = strrchr(path, '/');
    if (!slash) {
        snprintf(dir, cap, ".");
        *base = path;
    } else {
        snprintf(dir, cap, "%.*s", (int)(slash - path), path);
        if (!dir[0]) snprintf(dir, cap, "/");
        *base = slash + 1;
    }
}

/* ---- which directory the export may write ---- */

/* The absolute, symlink-free form of path, which need not exist: realpath() of its longest
 * existing ancestor, then the rest. 0 on success; -1 when a missing component is "." or ".."
 * (cannot be resolved without the directory) or the result does not fit. */
static int canonical(const char *path, char *out, size_t cap) {
    char buf[PATH_MAX];
    if (realpath(path, buf)) return snprintf(out, cap, "%s", buf) < (int)cap ? 0 : -1;
    if (errno != ENOENT && errno != ENOTDIR) return -1;
    size_t n = strlen(path);
    while (n > 1 && path[n - 1] == '/') n--;
    const char *slash = memrchr(path, '/', n);
    const char *last = slash ? slash + 1 : path;
    size_t ll = n - (size_t)(last - path);
    if (ll == 0 || (ll == 1 && last[0] == '.') || (ll == 2 && !strncmp(last, "..", 2))) return -1;
    char parent[PATH_MAX];
    if (!slash)
        snprintf(parent, sizeof parent, ".");
    else if (slash == path)
        snprintf(parent, sizeof parent, "/");
    else if ((size_t)(slash - path) >= sizeof parent)
        return -1;
    else
        snprintf(parent, sizeof parent, "%.*s", (int)(slash - path), path);
    if (canonical(parent, buf, sizeof buf)) return -1;
    int w = snprintf(out, cap, "%s%s%.*s", buf, strcmp(buf, "/") ? "/" : "", (int)ll, last);
    return w >= 0 && (size_t)w < cap ? 0 : -1;
}

/* 1 when a is b or lies inside b. */
static int within(const char *a, const char *b) {
    size_t n = strlen(b);
    if (!strcmp(b, "/")) return 1;
    return strncmp(a, b, n) == 0 && (a[n] == '\0' || a[n] == '/');
}

/* 1 when dir exists and holds anything but the marker. */
static int foreign_files(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return 0;
    int foreign = 0;
    struct dirent *e;
    while (!foreign && (e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) foreign = 1;
    closedir(d);
    return foreign;
}

static int has_marker(const char *dir) {
    char *m = sc_path_join(dir, MARKER);
    int ok = m && access(m, F_OK) == 0;
    free(m);
    return ok;
}

sc_status sc_export_dir_check(const char *export_dir, const char *checkpoint_dir, sc_error *err) {
    char e[PATH_MAX], c[PATH_MAX];
    if (canonical(export_dir, e, sizeof e))
        return sc_error_set(err, SC_INVALID_ARGUMENT, "--export-best %s: cannot resolve the path",
                            export_dir);
    if (canonical(checkpoint_dir, c, sizeof c))
        return sc_error_set(err, SC_INVALID_ARGUMENT,
                            "--checkpoint-dir %s: cannot resolve the path", checkpoint_dir);
    if (within(e, c) || within(c, e))
        return sc_error_set(err, SC_INVALID_ARGUMENT,
                            "--export-best %s (%s) overlaps --checkpoint-dir %s (%s): the export "
                            "would overwrite and delete the trainer's files; use a directory "
                            "outside the checkpoint directory",
                            export_dir, e, checkpoint_dir, c);
    if (foreign_files(export_dir) && !has_marker(export_dir))
        return sc_error_set(err, SC_INVALID_ARGUMENT,
                            "--export-best %s: the directory holds files sidecar did not create "
                            "(no %s marker); use a new or empty directory",
                            export_dir, MARKER);
    return SC_OK;
}

/* Makes dir (if needed) and claims it with the marker; refuses a directory with files of
 * someone else's, so nothing sidecar did not create is ever rewritten or deleted. */
static sc_status claim_dir(const char *dir, sc_error *err) {
    if (mkdir(dir, 0755) != 0 && errno != EEXIST)
        return sc_error_set(err, SC_IO, "%s: cannot create the export directory: %s", dir,
                            strerror(errno));
    if (has_marker(dir)) return SC_OK;
    if (foreign_files(dir))
        return sc_error_set(err, SC_INVALID_ARGUMENT,
                            "%s: the export directory holds files sidecar did not create (no %s "
                            "marker): nothing exported",
                            dir, MARKER);
    char *m = sc_path_join(dir, MARKER);
    if (!m) return sc_error_set(err, SC_NO_MEMORY, "out of memory");
    int fd = open(m, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    sc_status s = SC_OK;
    if (fd < 0)
        s = sc_error_set(err, SC_IO, "%s: cannot create: %s", m, strerror(errno));
    else
        close(fd);
    free(m);
    return s;
}

sc_status sc_export_checkpoint(const char *dir, const sc_ckpt_ref *ref, sc_error *err) {
    const char *checkpoint = ref->path;
    sc_status s = claim_dir(dir, err);
    if (s) return s;
    char src_dir[4096];
    const char *base;
    split(checkpoint, src_dir, sizeof src_dir, &base);
    if (ref->kind == SC_CKPT_SAVED_MODEL) {
        /* Into a temporary directory renamed into place, so the name never holds half a copy. */
        char *dst = sc_path_join(dir, base);
        size_t tl = dst ? strlen(dst) + 32 : 0;
        char *tmp = dst ? malloc(tl) : NULL;
        if (!tmp) {
            free(dst);
            return sc_error_set(err, SC_NO_MEMORY, "out of memory");
        }
        snprintf(tmp, tl, "%s.tmp%ld", dst, (long)getpid());
        remove_tree(tmp, 0);
        s = copy_tree(checkpoint, tmp, 0, err);
        if (s == SC_OK) {
            remove_tree(dst, 0);
            if (rename(tmp, dst) != 0)
                s = sc_error_set(err, SC_IO, "%s: rename failed: %s", dst, strerror(errno));
        }
        if (s) remove_tree(tmp, 0);
        free(tmp);
        free(dst);
        if (s) return sc_error_prefix(err, s, "exporting %s", checkpoint);
    } else {
        copy_ctx c = {dir, err, 0};
        s = for_each_part(src_dir, base, copy_part, &c, err);
        if (s) return sc_error_prefix(err, s, "exporting %s", checkpoint);
        if (c.copied == 0)
            return sc_error_set(err, SC_UNAVAILABLE, "exporting %s: its files are gone",
                                checkpoint);
    }
    sc_ckpt_state st = {0};
    char *paths[1] = {(char *)base};
    st.model_checkpoint_path = (char *)base;
    st.all_model_checkpoint_paths = paths;
    st.num_paths = 1;
    if ((s = sc_ckpt_state_write(dir, &st, err))) return s;
    remove_others(dir, base);
    return SC_OK;
}
