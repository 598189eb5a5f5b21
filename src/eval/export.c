/* eval/export.c — best-model export (see export.h). */
#include <dirent.h>
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
    if (!d) return sc_error_set(err, errno == ENOENT ? SC_UNAVAILABLE : SC_IO, "%s: cannot list: %s",
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

static sc_status remove_part(const char *dir, const char *name, void *ctx) {
    (void)ctx;
    char *p = sc_path_join(dir, name);
    if (p) unlink(p);
    free(p);
    return SC_OK;
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

/* A SavedModel directory, copied file by file (saved_model.pb, variables/, assets/, ...) into
 * dst, created here. Subdirectories recurse; other file types are skipped. */
static sc_status copy_tree(const char *src, const char *dst, int depth, sc_error *err) {
    if (depth > 8) return sc_error_set(err, SC_INVALID_ARGUMENT, "%s: nested too deeply", src);
    if (mkdir(dst, 0755) != 0 && errno != EEXIST)
        return sc_error_set(err, SC_IO, "%s: cannot create: %s", dst, strerror(errno));
    DIR *d = opendir(src);
    if (!d) return sc_error_set(err, errno == ENOENT ? SC_UNAVAILABLE : SC_IO, "%s: cannot list: %s",
                                src, strerror(errno));
    sc_status s = SC_OK;
    struct dirent *e;
    while (s == SC_OK && (e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        char *a = sc_path_join(src, e->d_name), *b = sc_path_join(dst, e->d_name);
        struct stat st;
        if (!a || !b) s = sc_error_set(err, SC_NO_MEMORY, "out of memory");
        else if (stat(a, &st) != 0) s = sc_error_set(err, SC_UNAVAILABLE, "%s: gone: %s", a, strerror(errno));
        else if (S_ISDIR(st.st_mode)) s = copy_tree(a, b, depth + 1, err);
        else if (S_ISREG(st.st_mode)) s = copy_file(a, b, err);
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
            if (p && lstat(p, &st) == 0 && S_ISDIR(st.st_mode)) remove_tree(p, depth + 1);
            else if (p) unlink(p);
            free(p);
        }
        closedir(d);
    }
    rmdir(path);
}

sc_status sc_export_checkpoint(const char *dir, const sc_ckpt_ref *ref, const char *previous,
                               sc_error *err) {
    const char *checkpoint = ref->path;
    if (mkdir(dir, 0755) != 0 && errno != EEXIST)
        return sc_error_set(err, SC_IO, "%s: cannot create the export directory: %s", dir,
                            strerror(errno));
    char src_dir[4096];
    const char *base;
    split(checkpoint, src_dir, sizeof src_dir, &base);
    sc_status s;
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
            return sc_error_set(err, SC_UNAVAILABLE, "exporting %s: its files are gone", checkpoint);
    }
    sc_ckpt_state st = {0};
    char *paths[1] = {(char *)base};
    st.model_checkpoint_path = (char *)base;
    st.all_model_checkpoint_paths = paths;
    st.num_paths = 1;
    if ((s = sc_ckpt_state_write(dir, &st, err))) return s;
    if (previous) {
        char pdir[4096];
        const char *pbase;
        split(previous, pdir, sizeof pdir, &pbase);
        if (strcmp(pbase, base) != 0) {
            char *pdirpath = sc_path_join(dir, pbase);
            if (pdirpath && sc_path_is_dir(pdirpath)) remove_tree(pdirpath, 0);
            else for_each_part(dir, pbase, remove_part, NULL, err);
            free(pdirpath);
        }
    }
    return SC_OK;
}
