/* summary/reader_files.c — event files and run directories for the event reader: chunked reads
 * through one reused buffer, and the "*tfevents*" files of a directory in TensorBoard's order.
 * The decoding itself is in reader.c. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/error.h"
#include "core/fileio.h"
#include "sidecar/events.h"
#include "summary/reader_internal.h"

/* Reads the file in chunks into one reused buffer: no copy of a whole log in memory, and no
 * page faults on fresh memory for every file. */
#define CHUNK (1u << 20)

sc_status sc_scalars_add_file(sc_scalars *s, const char *path, sc_error *err) {
    FILE *f = fopen(path, "rb");
    if (!f)
        return sc_error_set(err, errno == ENOENT ? SC_NOT_FOUND : SC_IO, "%s: cannot open: %s",
                            path, strerror(errno));
    size_t cap = CHUNK, have = 0;
    uint8_t *buf = malloc(cap);
    sc_status st = SC_OK;
    uint64_t base = 0;
    int stop = 0, eof = 0;
    sc_scalars_begin_file(s);
    if (!buf) st = sc_error_set(err, SC_NO_MEMORY, "%s: out of memory", path);
    while (!st && !stop) {
        if (!eof) {
            size_t got = fread(buf + have, 1, cap - have, f);
            have += got;
            if (got == 0 || have < cap) {
                if (ferror(f)) {
                    st = sc_error_set(err, SC_IO, "%s: read failed: %s", path, strerror(errno));
                    break;
                }
                eof = feof(f);
            }
        }
        size_t need = 0;
        size_t used =
            sc_scalars_decode_records(s, path, buf, have, base, eof, &stop, &need, err, &st);
        memmove(buf, buf + used, have - used);
        have -= used;
        base += used;
        if (eof || stop || st) break;
        if (need > cap) { /* one record larger than the buffer (a big graph_def) */
            uint8_t *nb = realloc(buf, need);
            if (!nb) {
                st = sc_error_set(err, SC_NO_MEMORY, "%s: out of memory for a %zu-byte record",
                                  path, need);
                break;
            }
            buf = nb;
            cap = need;
        }
    }
    free(buf);
    fclose(f);
    sc_scalars_end_file(s);
    return st;
}

static int by_name(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

sc_status sc_scalars_add_dir(sc_scalars *s, const char *dir, size_t *num_files, sc_error *err) {
    if (num_files) *num_files = 0;
    char **names = NULL;
    size_t n = 0;
    sc_status st = sc_events_list_dir(dir, &names, &n, err);
    if (st) return st;
    for (size_t i = 0; i < n && st == SC_OK; i++) {
        char *path = sc_path_join(dir, names[i]);
        if (!path) {
            st = sc_error_set(err, SC_NO_MEMORY, "%s: out of memory", dir);
            break;
        }
        sc_error e;
        sc_error_clear(&e);
        sc_status fs = sc_scalars_add_file(s, path, &e);
        if (fs == SC_NO_MEMORY) {
            st = sc_error_set(err, SC_NO_MEMORY, "%s", e.message);
        } else if (fs != SC_OK) {
            sc_scalars_warn(s, "%s", e.message);
        } else if (num_files) {
            (*num_files)++;
        }
        free(path);
    }
    for (size_t i = 0; i < n; i++) free(names[i]);
    free(names);
    return st;
}

sc_status sc_events_list_dir(const char *dir, char ***names_out, size_t *n_out, sc_error *err) {
    *names_out = NULL;
    *n_out = 0;
    DIR *d = opendir(dir);
    if (!d)
        return sc_error_set(err, errno == ENOENT ? SC_NOT_FOUND : SC_IO, "%s: cannot list: %s", dir,
                            strerror(errno));
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    sc_status st = SC_OK;
    while ((de = readdir(d))) {
        if (!strstr(de->d_name, "tfevents")) continue;
        if (de->d_type != DT_REG && de->d_type != DT_UNKNOWN && de->d_type != DT_LNK) continue;
        if (de->d_type != DT_REG) {
            char *p = sc_path_join(dir, de->d_name);
            struct stat sb;
            int reg = p && stat(p, &sb) == 0 && S_ISREG(sb.st_mode);
            free(p);
            if (!reg) continue;
        }
        if (n == cap) {
            cap = cap ? cap * 2 : 8;
            char **nn = realloc(names, cap * sizeof *nn);
            if (!nn) {
                st = SC_NO_MEMORY;
                break;
            }
            names = nn;
        }
        if (!(names[n] = strdup(de->d_name))) {
            st = SC_NO_MEMORY;
            break;
        }
        n++;
    }
    closedir(d);
    if (st) {
        for (size_t i = 0; i < n; i++) free(names[i]);
        free(names);
        return sc_error_set(err, st, "%s: out of memory", dir);
    }
    if (n) qsort(names, n, sizeof *names, by_name);
    *names_out = names;
    *n_out = n;
    return SC_OK;
}
