/* report/report.c — finding the runs of a log directory, reading their scalars and the results
 * journal, and reducing each series to what the page draws (sidecar/report.h). */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "core/error.h"
#include "core/fileio.h"
#include "metrics/direction.h"
#include "report/report_internal.h"
#include "summary/reader_internal.h"

#define MAX_DEPTH    12
#define JOURNAL_NAME "sidecar_journal.jsonl"

sc_report_params sc_report_default_params(void) {
    sc_report_params p;
    memset(&p, 0, sizeof p);
    p.monitor = "loss";
    p.mode = SC_REPORT_AUTO;
    p.max_points = 1000;
    p.max_total_points = 30000;
    return p;
}

__attribute__((format(printf, 2, 3))) static void rwarn(rp_report *r, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    sc_warnlist_vadd(&r->warns, fmt, ap);
    va_end(ap);
}

/* ---- runs: every directory under logdir that holds event files ---- */

typedef struct name_list {
    char **v;
    size_t n, cap;
} name_list;

static int push_name(name_list *l, const char *s) {
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        char **v = realloc(l->v, cap * sizeof *v);
        if (!v) return -1;
        l->v = v;
        l->cap = cap;
    }
    if (!(l->v[l->n] = strdup(s))) return -1;
    l->n++;
    return 0;
}

/* rel: path below logdir ("" for logdir). Returns 0, -1 out of memory. */
static int find_runs(rp_report *r, const char *dir, const char *rel, int depth, name_list *out) {
    DIR *d = opendir(dir);
    if (!d) {
        if (depth > 0) rwarn(r, "%s: cannot list: %s", dir, strerror(errno));
        return 0;
    }
    name_list subs = {0};
    int has_events = 0, rc = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
        if (strstr(de->d_name, "tfevents")) has_events = 1;
        int is_dir = de->d_type == DT_DIR;
        if (de->d_type == DT_UNKNOWN) {
            char *p = sc_path_join(dir, de->d_name);
            struct stat sb;
            is_dir = p && lstat(p, &sb) == 0 && S_ISDIR(sb.st_mode);
            free(p);
        }
        if (is_dir && push_name(&subs, de->d_name)) rc = -1;
    }
    closedir(d);
    if (has_events && !rc) rc = push_name(out, *rel ? rel : ".");
    for (size_t i = 0; i < subs.n && !rc; i++) {
        if (depth >= MAX_DEPTH) break;
        char *p = sc_path_join(dir, subs.v[i]);
        char *q = *rel ? sc_path_join(rel, subs.v[i]) : strdup(subs.v[i]);
        rc = p && q ? find_runs(r, p, q, depth + 1, out) : -1;
        free(p);
        free(q);
    }
    for (size_t i = 0; i < subs.n; i++) free(subs.v[i]);
    free(subs.v);
    return rc;
}

static int by_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* ---- the results journal: which checkpoint was evaluated at which step ---- */

const char *rp_checkpoint(const rp_run *r, int64_t step) {
    size_t lo = 0, hi = r->num_ckpts;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (r->ckpts[mid].step < step)
            lo = mid + 1;
        else
            hi = mid;
    }
    /* Several checkpoints at one step (re-evaluated): the last one listed wins. */
    const char *name = NULL;
    for (; lo < r->num_ckpts && r->ckpts[lo].step == step; lo++) name = r->ckpts[lo].name;
    return name;
}

/* Reads <dir of the run>/../sidecar_journal.jsonl for a validation* run. */
static int load_journal(rp_report *r, rp_run *run, const char *run_dir) {
    const char *base = strrchr(run->name, '/');
    base = base ? base + 1 : run->name;
    if (strncmp(base, "validation", 10) != 0) return 0;
    char *jp = sc_path_join(run_dir, "../" JOURNAL_NAME);
    if (!jp) return -1;
    uint8_t *data = NULL;
    size_t len = 0;
    sc_error e;
    sc_error_clear(&e);
    sc_status st = sc_read_file(jp, &data, &len, &e);
    if (st == SC_NO_MEMORY) {
        free(jp);
        return -1;
    }
    if (st) {
        if (st != SC_NOT_FOUND) rwarn(r, "%s", e.message);
        free(jp);
        return 0;
    }
    size_t line_no = 0, bad = 0;
    int rc = 0;
    for (char *line = (char *)data; line && *line && !rc;) {
        char *nl = strchr(line, '\n');
        if (nl) *nl = '\0';
        line_no++;
        json_error_t je;
        json_t *o = *line ? json_loads(line, 0, &je) : NULL;
        json_t *step = json_object_get(o, "step"), *ck = json_object_get(o, "checkpoint");
        if (json_is_integer(step) && json_is_string(ck)) {
            rp_ckpt *c = realloc(run->ckpts, (run->num_ckpts + 1) * sizeof *c);
            if (!c || !(c[run->num_ckpts].name = strdup(json_string_value(ck)))) {
                if (c) run->ckpts = c;
                rc = -1;
            } else {
                run->ckpts = c;
                c[run->num_ckpts++].step = json_integer_value(step);
            }
        } else if (*line) {
            bad++;
        }
        json_decref(o);
        line = nl ? nl + 1 : NULL;
    }
    if (bad) rwarn(r, "%s: %zu of %zu lines are not journal entries; skipped", jp, bad, line_no);
    if (run->num_ckpts > 1) {
        /* Insertion sort: stable, so a checkpoint re-evaluated at the same step stays after
         * the earlier entry; journals are short and nearly sorted already. */
        for (size_t i = 1; i < run->num_ckpts; i++) {
            rp_ckpt x = run->ckpts[i];
            size_t j = i;
            while (j > 0 && run->ckpts[j - 1].step > x.step) {
                run->ckpts[j] = run->ckpts[j - 1];
                j--;
            }
            run->ckpts[j] = x;
        }
    }
    free(data);
    free(jp);
    return rc;
}

/* ---- series ---- */

/* The metric name inside a tag: evaluation_X_vs_iterations -> X, epoch_X -> X. */
static int tag_is_monitor(const char *tag, const char *monitor) {
    size_t t = strlen(tag), m = strlen(monitor);
    if (!strcmp(tag, monitor)) return 1;
    if (t == m + 25 && !strncmp(tag, "evaluation_", 11) && !strncmp(tag + 11, monitor, m)
        && !strcmp(tag + 11 + m, "_vs_iterations"))
        return 1;
    return t == m + 6 && !strncmp(tag, "epoch_", 6) && !strcmp(tag + 6, monitor);
}

static int add_series(rp_report *r, size_t run, const sc_scalar_series *in, char *tag) {
    if (r->num_series == r->cap_series) {
        size_t cap = r->cap_series ? r->cap_series * 2 : 64;
        rp_series *s = realloc(r->series, cap * sizeof *s);
        if (!s) return -1;
        r->series = s;
        r->cap_series = cap;
    }
    rp_series *s = &r->series[r->num_series];
    memset(s, 0, sizeof *s);
    s->run = run;
    s->tag = tag;
    s->total = in->num_read;
    s->monitored = r->p.monitor && tag_is_monitor(in->tag, r->p.monitor);
    s->higher_is_better =
        s->monitored && r->p.mode != SC_REPORT_AUTO
            ? r->p.mode == SC_REPORT_MAX
            : sc_metric_name_higher_is_better(s->monitored ? r->p.monitor : in->tag);
    s->latest = in->last;
    s->has_best = in->has_finite;
    s->best = s->higher_is_better ? in->max : in->min;
    /* The reader kept at most max_points (its reservoir); html.c samples again to the page's
     * budget once the number of series is known. */
    s->pts = malloc((in->num_points ? in->num_points : 1) * sizeof *s->pts);
    if (!s->pts) return -1;
    if (in->num_points) memcpy(s->pts, in->points, in->num_points * sizeof *s->pts);
    s->n = in->num_points;
    r->points_read += in->num_read;
    r->num_series++;
    return 0;
}

/* Tags are shared between runs: one copy each, found by a linear scan of the few tags. */
static char *intern(name_list *t, const char *tag) {
    for (size_t i = t->n; i-- > 0;)
        if (!strcmp(t->v[i], tag)) return t->v[i];
    return push_name(t, tag) ? NULL : t->v[t->n - 1];
}

static void free_report(rp_report *r, name_list *tags) {
    for (size_t i = 0; i < r->num_runs; i++) {
        free(r->runs[i].name);
        for (size_t k = 0; k < r->runs[i].num_ckpts; k++) free(r->runs[i].ckpts[k].name);
        free(r->runs[i].ckpts);
    }
    free(r->runs);
    for (size_t i = 0; i < r->num_series; i++) free(r->series[i].pts);
    free(r->series);
    sc_warnlist_free(&r->warns);
    for (size_t i = 0; i < tags->n; i++) free(tags->v[i]);
    free(tags->v);
}

/* ---- reading the runs, in parallel: the event files are most of the work ---- */

typedef struct read_job {
    rp_report *r;
    sc_scalars **scs;
    sc_status *rs;
    sc_error *errs;
    atomic_size_t next;
} read_job;

static void *read_worker(void *arg) {
    read_job *j = arg;
    for (size_t i; (i = atomic_fetch_add(&j->next, 1)) < j->r->num_runs;) {
        const char *name = j->r->runs[i].name;
        char *dir = strcmp(name, ".") ? sc_path_join(j->r->logdir, name) : strdup(j->r->logdir);
        sc_events_params ep = sc_events_default_params();
        ep.max_points = j->r->p.max_points; /* warnings are collected and given in run order */
        ep.seed = j->r->p.seed + i;
        sc_error_clear(&j->errs[i]);
        if (!dir) {
            j->rs[i] = SC_NO_MEMORY;
            continue;
        }
        j->rs[i] = sc_scalars_create(&ep, &j->scs[i], &j->errs[i]);
        if (!j->rs[i]) j->rs[i] = sc_scalars_add_dir(j->scs[i], dir, NULL, &j->errs[i]);
        free(dir);
    }
    return NULL;
}

static int num_threads(const rp_report *r) {
    long n = r->p.threads > 0 ? r->p.threads : sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 1) n = 1;
    if (n > 16) n = 16;
    if ((size_t)n > r->num_runs) n = (long)r->num_runs;
    return (int)n;
}

/* Reads every run's scalars, then adds their series in run order. Returns 0, -1 out of memory. */
static int read_runs(rp_report *r, name_list *tags) {
    if (!r->num_runs) return 0;
    read_job j;
    j.r = r;
    j.scs = calloc(r->num_runs, sizeof *j.scs);
    j.rs = calloc(r->num_runs, sizeof *j.rs);
    j.errs = calloc(r->num_runs, sizeof *j.errs);
    atomic_init(&j.next, 0);
    int rc = 0;
    if (!j.scs || !j.rs || !j.errs) {
        rc = -1;
        goto out;
    }
    pthread_t th[16];
    int started = 0, want = num_threads(r);
    for (; started < want - 1; started++)
        if (pthread_create(&th[started], NULL, read_worker, &j)) break;
    read_worker(&j); /* this thread works too; with no extra thread it does it all */
    for (int t = 0; t < started; t++) pthread_join(th[t], NULL);
    for (size_t i = 0; i < r->num_runs && !rc; i++) {
        sc_scalars *sc = j.scs[i];
        for (size_t w = 0; sc && w < sc_scalars_num_warnings(sc); w++)
            rwarn(r, "%s", sc_scalars_warning(sc, w));
        if (j.rs[i] == SC_NO_MEMORY)
            rc = -1;
        else if (j.rs[i])
            rwarn(r, "%s", j.errs[i].message);
        for (size_t k = 0; sc && !rc && k < sc_scalars_num_series(sc); k++) {
            sc_scalar_series ser = sc_scalars_series(sc, k);
            char *tag = intern(tags, ser.tag);
            if (!tag || add_series(r, i, &ser, tag)) rc = -1;
        }
    }
out:
    for (size_t i = 0; j.scs && i < r->num_runs; i++) sc_scalars_free(j.scs[i]);
    free(j.scs);
    free(j.rs);
    free(j.errs);
    return rc;
}

sc_status sc_report_render(const char *logdir, const sc_report_params *params, char **html,
                           size_t *len, sc_report_stats *stats, sc_error *err) {
    *html = NULL;
    *len = 0;
    rp_report r;
    memset(&r, 0, sizeof r);
    r.p = params ? *params : sc_report_default_params();
    if (r.p.max_points < 2) r.p.max_points = 2;
    if (!r.p.monitor || !*r.p.monitor) r.p.monitor = "loss";
    r.warns.cb = r.p.warn;
    r.warns.user = r.p.warn_user;
    r.logdir = logdir;
    name_list tags = {0};
    name_list names = {0};
    rp_buf out = {0};
    sc_status st = SC_OK;

    if (!sc_path_is_dir(logdir)) {
        st =
            sc_error_set(err, sc_path_exists(logdir) ? SC_INVALID_ARGUMENT : SC_NOT_FOUND, "%s: %s",
                         logdir, sc_path_exists(logdir) ? "not a directory" : "no such directory");
        goto done;
    }
    if (find_runs(&r, logdir, "", 0, &names)) goto oom;
    if (names.n) qsort(names.v, names.n, sizeof *names.v, by_str);
    if (!(r.runs = calloc(names.n ? names.n : 1, sizeof *r.runs))) goto oom;
    for (size_t i = 0; i < names.n; i++) {
        rp_run *run = &r.runs[r.num_runs++];
        run->name = names.v[i];
        names.v[i] = NULL;
        char *dir = strcmp(run->name, ".") ? sc_path_join(logdir, run->name) : strdup(logdir);
        int bad = !dir || load_journal(&r, run, dir);
        free(dir);
        if (bad) goto oom;
    }
    if (read_runs(&r, &tags)) goto oom;
    if (rp_render_html(&r, &out, stats)) goto oom;
    if (stats) stats->warnings = r.warns.n;
    *html = out.data;
    *len = out.len;
    out.data = NULL;
    goto done;
oom:
    st = sc_error_set(err, SC_NO_MEMORY, "report of %s: out of memory", logdir);
done:
    free(out.data);
    for (size_t i = 0; i < names.n; i++) free(names.v[i]);
    free(names.v);
    free_report(&r, &tags);
    return st;
}

/* Writes "<path>.tmp<pid>" and renames it over path: a browser reloading the page sees the old
 * or the new one, never half. No fsync: the page is a view, rebuilt from the logs at will, and
 * syncing megabytes after every evaluation would cost more than drawing them. */
static sc_status replace_file(const char *path, const char *data, size_t n, sc_error *err) {
    size_t len = strlen(path) + 32;
    char *tmp = malloc(len);
    if (!tmp) return sc_error_set(err, SC_NO_MEMORY, "%s: out of memory", path);
    snprintf(tmp, len, "%s.tmp%ld", path, (long)getpid());
    sc_status st = SC_OK;
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        st = sc_error_set(err, SC_IO, "%s: cannot create: %s", tmp, strerror(errno));
    } else {
        int bad = fwrite(data, 1, n, f) != n;
        if (fclose(f) || bad)
            st = sc_error_set(err, SC_IO, "%s: write failed: %s", tmp, strerror(errno));
        else if (rename(tmp, path))
            st =
                sc_error_set(err, SC_IO, "%s: cannot rename to %s: %s", tmp, path, strerror(errno));
        if (st) unlink(tmp);
    }
    free(tmp);
    return st;
}

sc_status sc_report_write(const char *logdir, const char *html_path, const sc_report_params *params,
                          sc_report_stats *stats, sc_error *err) {
    char *html;
    size_t len;
    sc_status st = sc_report_render(logdir, params, &html, &len, stats, err);
    if (st) return st;
    st = replace_file(html_path, html, len, err);
    free(html);
    return st;
}
