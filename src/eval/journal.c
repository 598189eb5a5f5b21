/* eval/journal.c — the results journal (see journal.h). */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"
#include "core/fileio.h"
#include "eval/journal.h"

typedef struct entry {
    char *name; /* basename */
    char *path;
    json_t *metrics; /* the first dataset's metrics object */
} entry;

struct sc_journal {
    char *path;
    char *intent_path; /* <journal>.pending: the evaluation whose outputs are being written */
    int fd;
    entry *e;
    size_t n, cap;
    size_t repaired; /* event files rolled back at open */
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

static char *line_path(const json_t *o);
static size_t roll_back(const char *journal_path, const json_t *intent);
static sc_status finish_intent(sc_journal *j, sc_error *err);
static sc_status write_line(sc_journal *j, json_t *o, sc_error *err);
static void set_path(json_t *o, const char *path);

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
    free(j->intent_path);
    free(j);
}

sc_status sc_journal_open(const char *path, sc_journal **out, sc_error *err) {
    *out = NULL;
    sc_journal *j = calloc(1, sizeof *j);
    if (!j) return sc_error_set(err, SC_NO_MEMORY, "out of memory");
    j->fd = -1;
    j->path = strdup(path);
    size_t pl = strlen(path) + sizeof ".pending";
    j->intent_path = malloc(pl);
    if (j->intent_path) snprintf(j->intent_path, pl, "%s.pending", path);
    uint8_t *data = NULL;
    size_t len = 0;
    sc_status s;
    if (!j->path || !j->intent_path) {
        s = sc_error_set(err, SC_NO_MEMORY, "out of memory");
        goto fail;
    }
    /* One evaluator per log directory: a second one would evaluate the same checkpoints and
     * interleave lines. The lock goes with the process, so a killed sidecar never leaves it. */
    j->fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (j->fd < 0) {
        s = sc_error_set(err, SC_IO, "%s: cannot open the journal: %s", path, strerror(errno));
        goto fail;
    }
    if (flock(j->fd, LOCK_EX | LOCK_NB) != 0) {
        s = sc_error_set(err, errno == EWOULDBLOCK ? SC_UNAVAILABLE : SC_IO, "%s: %s", path,
                         errno == EWOULDBLOCK
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
        char *p = o ? line_path(o) : NULL;
        if (!p) {
            json_decref(o);
            s = sc_error_set(err, SC_DATA_LOSS,
                             "%s:%zu: not a journal line (%s); move the file "
                             "away to start afresh",
                             path, line_no, o ? "no \"path\"" : je.text);
            goto fail;
        }
        int bad = add_entry(j, p, json_object_get(o, "metrics"));
        free(p);
        if (bad) {
            json_decref(o);
            s = sc_error_set(err, SC_NO_MEMORY, "out of memory");
            goto fail;
        }
        json_decref(o);
        pos = end + 1;
        good = pos;
    }
    /* An evaluation that died between its intent and its result line may have left some of its
     * events in sidecar's own event files: cut them back to where they were (journal.h). The
     * checkpoint is then evaluated again, into a new event file. */
    if ((s = finish_intent(j, err))) goto fail;
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

size_t sc_journal_num_repaired(const sc_journal *j) { return j->repaired; }

/* Only an event file sidecar itself writes may be truncated: "validation" + anything, a slash,
 * then "events.out.tfevents." + anything, relative to the journal's directory; nothing else
 * (no "..", no deeper path). */
static int own_event_file(const char *rel) {
    const char *slash = strchr(rel, '/');
    return slash && !strchr(slash + 1, '/') && !strstr(rel, "..")
           && strncmp(rel, "validation", 10) == 0
           && strncmp(slash + 1, "events.out.tfevents.", 20) == 0;
}

static size_t roll_back(const char *journal_path, const json_t *intent) {
    char *dir = strdup(journal_path);
    if (!dir) return 0;
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    else
        strcpy(dir, ".");
    size_t done = 0, i;
    const json_t *ev;
    json_array_foreach(json_object_get(intent, "events"), i, ev) {
        const char *rel = json_string_value(json_object_get(ev, "file"));
        const json_t *off = json_object_get(ev, "offset");
        if (!rel || !json_is_integer(off) || json_integer_value(off) < 0 || !own_event_file(rel))
            continue;
        char *f = sc_path_join(dir, rel);
        struct stat st;
        if (f && lstat(f, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > json_integer_value(off)
            && truncate(f, (off_t)json_integer_value(off)) == 0)
            done++;
        free(f);
    }
    free(dir);
    return done;
}

sc_status sc_journal_begin(sc_journal *j, const char *path, const char *const *files,
                           const uint64_t *offsets, size_t n, sc_error *err) {
    json_t *o = json_object(), *evs = json_array();
    if (!o || !evs) {
        json_decref(o);
        json_decref(evs);
        return sc_error_set(err, SC_NO_MEMORY, "%s: out of memory writing the journal", j->path);
    }
    set_path(o, path);
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_object();
        json_object_set_new(e, "file", json_string(files[i]));
        json_object_set_new(e, "offset", json_integer((json_int_t)offsets[i]));
        json_array_append_new(evs, e);
    }
    json_object_set_new(o, "events", evs);
    char *text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (!text) return sc_error_set(err, SC_NO_MEMORY, "%s: out of memory", j->intent_path);
    /* Atomic (temporary file, fsync, rename): the intent is complete or absent. */
    sc_status s = sc_write_file_atomic(j->intent_path, text, strlen(text), err);
    free(text);
    return s;
}

/* At open: a leftover intent whose checkpoint has no result line is rolled back; then the
 * intent file is removed (also when the result line made it, and the crash came after). */
static sc_status finish_intent(sc_journal *j, sc_error *err) {
    json_error_t je;
    json_t *o = json_load_file(j->intent_path, 0, &je);
    if (!o) {
        if (access(j->intent_path, F_OK) != 0) return SC_OK;
        /* Torn cannot happen (rename), but a hand-edited file can: refuse to guess. */
        return sc_error_set(err, SC_DATA_LOSS,
                            "%s: not an intent record (%s); move it away "
                            "after checking the event files",
                            j->intent_path, je.text);
    }
    char *p = line_path(o);
    int done = 0;
    for (size_t i = 0; p && i < j->n; i++)
        if (!strcmp(j->e[i].path, p)) done = 1;
    if (!done) j->repaired += roll_back(j->path, o);
    free(p);
    json_decref(o);
    if (unlink(j->intent_path) != 0 && errno != ENOENT)
        return sc_error_set(err, SC_IO, "%s: cannot remove: %s", j->intent_path, strerror(errno));
    return SC_OK;
}

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

/* JSON has no NaN or infinity: they are written as the strings "NaN", "Infinity" and
 * "-Infinity" (Python's spelling), so a NaN loss stays visible and is never a best value
 * (sc_journal_best only looks at numbers). */
static json_t *metric_value(double v) {
    if (isnan(v)) return json_string("NaN");
    if (isinf(v)) return json_string(v > 0 ? "Infinity" : "-Infinity");
    return json_real(v);
}

static json_t *metrics_object(const sc_journal_metrics *m) {
    json_t *o = json_object();
    for (size_t k = 0; o && k < m->num; k++)
        json_object_set_new(o, m->names[k], metric_value(m->values[k]));
    return o;
}

/* A path is arbitrary bytes; jansson only takes UTF-8. A path that is not UTF-8 is stored as
 * "path_hex" (every byte as two lowercase hex digits), and "path"/"checkpoint" then hold a
 * display form with U+FFFD for the bad bytes. Readers prefer "path_hex". */
static void set_path(json_t *o, const char *path) {
    json_t *p = json_string(path);
    if (p) {
        json_object_set_new(o, "checkpoint", json_string(base_name(path)));
        json_object_set_new(o, "path", p);
        return;
    }
    size_t n = strlen(path);
    char *hex = malloc(2 * n + 1), *disp = malloc(3 * n + 1);
    if (hex && disp) {
        size_t d = 0;
        for (size_t i = 0; i < n; i++) {
            unsigned char c = (unsigned char)path[i];
            snprintf(hex + 2 * i, 3, "%02x", c);
            if (c < 0x80) {
                disp[d++] = (char)c;
            } else { /* U+FFFD */
                disp[d++] = (char)0xef;
                disp[d++] = (char)0xbf;
                disp[d++] = (char)0xbd;
            }
        }
        hex[2 * n] = '\0';
        disp[d] = '\0';
        json_object_set_new(o, "checkpoint", json_string(base_name(disp)));
        json_object_set_new(o, "path", json_string(disp));
        json_object_set_new(o, "path_hex", json_string(hex));
    }
    free(hex);
    free(disp);
}

/* The path a journal line names: "path_hex" decoded, else "path". NULL when neither (or a bad
 * hex string); the caller frees the result. */
static char *line_path(const json_t *o) {
    const json_t *h = json_object_get(o, "path_hex");
    if (json_is_string(h)) {
        const char *s = json_string_value(h);
        size_t n = strlen(s);
        if (n % 2 || n == 0) return NULL;
        char *p = malloc(n / 2 + 1);
        if (!p) return NULL;
        for (size_t i = 0; i < n / 2; i++) {
            unsigned v;
            if (sscanf(s + 2 * i, "%2x", &v) != 1 || !v || !strchr("0123456789abcdef", s[2 * i])
                || !strchr("0123456789abcdef", s[2 * i + 1])) {
                free(p);
                return NULL;
            }
            p[i] = (char)v;
        }
        p[n / 2] = '\0';
        return p;
    }
    const json_t *p = json_object_get(o, "path");
    return json_is_string(p) ? strdup(json_string_value(p)) : NULL;
}

/* Writes o (consumed) as one line and fsyncs it. A failed write can leave a torn line: it is
 * cut off at the next open. */
static sc_status write_line(sc_journal *j, json_t *o, sc_error *err) {
    char *line = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(9));
    json_decref(o);
    if (!line)
        return sc_error_set(err, SC_NO_MEMORY, "%s: out of memory writing the journal", j->path);
    size_t n = strlen(line);
    line[n] = '\n'; /* json_dumps leaves room: replace the NUL, write n + 1 bytes */
    sc_status s = sc_write_full(j->fd, j->path, line, n + 1, err);
    free(line);
    if (s == SC_OK && fsync(j->fd) != 0)
        s = sc_error_set(err, SC_IO, "%s: fsync failed: %s", j->path, strerror(errno));
    return s;
}

sc_status sc_journal_append(sc_journal *j, const char *path, int64_t number, int64_t step,
                            const sc_journal_metrics *sets, size_t num_sets, double wall_time,
                            double duration_s, sc_error *err) {
    json_t *o = json_object();
    json_t *first = num_sets ? metrics_object(&sets[0]) : json_object();
    if (!o || !first) goto oom;
    set_path(o, path);
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
    sc_status s = write_line(j, o, err);
    if (s == SC_OK && add_entry(j, path, first))
        s = sc_error_set(err, SC_NO_MEMORY, "out of memory");
    /* The result is recorded: the intent is done (a leftover one is removed at the next open). */
    if (s == SC_OK) unlink(j->intent_path);
    json_decref(first);
    return s;
oom:
    json_decref(o);
    return sc_error_set(err, SC_NO_MEMORY, "%s: out of memory writing the journal", j->path);
}
