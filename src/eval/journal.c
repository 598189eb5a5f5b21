/* eval/journal.c — the results journal (see journal.h). */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "core/error.h"
#include "core/fileio.h"
#include "eval/journal.h"

typedef struct entry {
    char *name;  /* basename */
    char *path;
    json_t *metrics; /* the first dataset's metrics object */
} entry;

struct sc_journal {
    char *path;
    int fd;
    entry *e;
    size_t n, cap;
};

static const char *base_name(const char *p) {
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

static int add_entry(sc_journal *j, const char *path, json_t *metrics) {
    if (j->n == j->cap) {
        size_t cap = j->cap ? j->cap * 2 : 32;
        entry *e = realloc(j->e, cap * sizeof *e);
        if (!e) return -1;
        j->e = e;
        j->cap = cap;
    }
    entry *x = &j->e[j->n];
    x->path = strdup(path);
    x->name = strdup(base_name(path));
    x->metrics = json_incref(metrics);
    if (!x->path || !x->name) {
        free(x->path);
        free(x->name);
        json_decref(metrics);
        return -1;
    }
    j->n++;
    return 0;
}

void sc_journal_free(sc_journal *j) {
    if (!j) return;
    for (size_t i = 0; i < j->n; i++) {
        free(j->e[i].name);
        free(j->e[i].path);
        json_decref(j->e[i].metrics);
    }
    free(j->e);
    if (j->fd >= 0) close(j->fd);
    free(j->path);
    free(j);
}

sc_status sc_journal_open(const char *path, sc_journal **out, sc_error *err) {
    *out = NULL;
    sc_journal *j = calloc(1, sizeof *j);
    if (!j) return sc_error_set(err, SC_NO_MEMORY, "out of memory");
    j->fd = -1;
    j->path = strdup(path);
    uint8_t *data = NULL;
    size_t len = 0;
    sc_status s;
    if (!j->path) { s = sc_error_set(err, SC_NO_MEMORY, "out of memory"); goto fail; }
    /* One evaluator per log directory: a second one would evaluate the same checkpoints and
     * interleave lines. The lock goes with the process, so a killed sidecar never leaves it. */
    j->fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (j->fd < 0) {
        s = sc_error_set(err, SC_IO, "%s: cannot open the journal: %s", path, strerror(errno));
        goto fail;
    }
    if (flock(j->fd, LOCK_EX | LOCK_NB) != 0) {
        s = sc_error_set(err, errno == EWOULDBLOCK ? SC_UNAVAILABLE : SC_IO,
                         "%s: %s", path, errno == EWOULDBLOCK
                             ? "another sidecar is evaluating into this log directory (its "
                               "journal is locked)"
                             : strerror(errno));
        goto fail;
    }
    s = sc_read_file(path, &data, &len, err);
    if (s == SC_NOT_FOUND) {
        s = SC_OK;
        len = 0;
    } else if (s) {
        goto fail;
    }
    /* Parse complete lines; a line without its newline was cut short by a crash. */
    size_t good = 0, line_no = 0;
    for (size_t pos = 0; pos < len;) {
        uint8_t *nl = memchr(data + pos, '\n', len - pos);
        if (!nl) break;
        size_t end = (size_t)(nl - data);
        line_no++;
        json_error_t je;
        json_t *o = json_loadb((const char *)data + pos, end - pos, 0, &je);
        const json_t *p = o ? json_object_get(o, "path") : NULL;
        if (!json_is_string(p)) {
            json_decref(o);
            s = sc_error_set(err, SC_DATA_LOSS, "%s:%zu: not a journal line (%s); move the file "
                             "away to start afresh", path, line_no, o ? "no \"path\"" : je.text);
            goto fail;
        }
        if (add_entry(j, json_string_value(p), json_object_get(o, "metrics"))) {
            json_decref(o);
            s = sc_error_set(err, SC_NO_MEMORY, "out of memory");
            goto fail;
        }
        json_decref(o);
        pos = end + 1;
        good = pos;
    }
    if (good < len && ftruncate(j->fd, (off_t)good) != 0) {
        s = sc_error_set(err, SC_IO, "%s: cannot drop a torn last line: %s", path, strerror(errno));
        goto fail;
    }
    free(data);
    *out = j;
    return SC_OK;
fail:
    free(data);
    sc_journal_free(j);
    return s;
}

int sc_journal_has(const sc_journal *j, const char *name) {
    for (size_t i = 0; i < j->n; i++)
        if (strcmp(j->e[i].name, base_name(name)) == 0) return 1;
    return 0;
}

size_t sc_journal_count(const sc_journal *j) { return j->n; }

int sc_journal_best(const sc_journal *j, const char *monitor, int higher, double *value,
                    const char **path) {
    int found = 0;
    for (size_t i = 0; i < j->n; i++) {
        const json_t *v = json_object_get(j->e[i].metrics, monitor);
        if (!json_is_number(v)) continue;
        double x = json_number_value(v);
        if (!found || (higher ? x > *value : x < *value)) {
            *value = x;
            *path = j->e[i].path;
            found = 1;
        }
    }
    return found;
}

static json_t *metrics_object(const sc_journal_metrics *m) {
    json_t *o = json_object();
    for (size_t k = 0; o && k < m->num; k++)
        /* JSON has no NaN/inf: such values are written as null (the metric had no data). */
        json_object_set_new(o, m->names[k],
                            isfinite(m->values[k]) ? json_real(m->values[k]) : json_null());
    return o;
}

sc_status sc_journal_append(sc_journal *j, const char *path, int64_t number, int64_t step,
                            const sc_journal_metrics *sets, size_t num_sets, double wall_time,
                            double duration_s, sc_error *err) {
    json_t *o = json_object();
    json_t *first = num_sets ? metrics_object(&sets[0]) : json_object();
    if (!o || !first) goto oom;
    json_object_set_new(o, "checkpoint", json_string(base_name(path)));
    json_object_set_new(o, "path", json_string(path));
    json_object_set_new(o, "number", json_integer(number));
    json_object_set_new(o, "step", json_integer(step));
    json_object_set(o, "metrics", first);
    if (num_sets > 1) {
        json_t *d = json_object();
        for (size_t i = 0; d && i < num_sets; i++)
            json_object_set_new(d, sets[i].dataset, metrics_object(&sets[i]));
        json_object_set_new(o, "datasets", d);
    }
    json_object_set_new(o, "wall_time", json_real(wall_time));
    json_object_set_new(o, "duration_s", json_real(duration_s));
    char *line = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(9));
    json_decref(o);
    if (!line) {
        json_decref(first);
        goto oom;
    }
    size_t n = strlen(line);
    line[n] = '\n'; /* json_dumps leaves room: replace the NUL, write n + 1 bytes */
    sc_status s = sc_write_full(j->fd, j->path, line, n + 1, err);
    free(line);
    if (s == SC_OK && fsync(j->fd) != 0)
        s = sc_error_set(err, SC_IO, "%s: fsync failed: %s", j->path, strerror(errno));
    if (s == SC_OK && add_entry(j, path, first)) s = sc_error_set(err, SC_NO_MEMORY, "out of memory");
    json_decref(first);
    return s;
oom:
    json_decref(o);
    return sc_error_set(err, SC_NO_MEMORY, "%s: out of memory writing the journal", j->path);
}
