/* report/report_internal.h — what the collector (report.c) hands the page writer (html.c).
 * Internal. */
#ifndef SC_REPORT_INTERNAL_H
#define SC_REPORT_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "core/warnlist.h"
#include "sidecar/events.h"
#include "sidecar/report.h"

/* One run's series of one tag, already reduced to at most params.max_points points. */
typedef struct rp_series {
    size_t run;           /* index into rp_report.runs */
    const char *tag;      /* owned by the rp_report (tags[]) */
    uint64_t total;       /* points read */
    sc_scalar_point *pts; /* sampled, file order */
    size_t n;
    sc_scalar_point latest; /* the last point read */
    int has_best;
    sc_scalar_point best; /* best finite value by the tag's mode */
    int higher_is_better;
    int monitored; /* tag matches params.monitor */
} rp_series;

typedef struct rp_ckpt {
    int64_t step;
    char *name;
} rp_ckpt;

typedef struct rp_run {
    char *name;     /* relative to logdir; "." for logdir itself */
    rp_ckpt *ckpts; /* from the results journal, sorted by step; may be empty */
    size_t num_ckpts;
} rp_run;

typedef struct rp_report {
    sc_report_params p;
    const char *logdir;
    rp_run *runs;
    size_t num_runs;
    rp_series *series; /* grouped by run, in tag order of the file */
    size_t num_series, cap_series;
    sc_warnlist warns; /* in run order; cb is params.warn */
    uint64_t points_read;
} rp_report;

/* A growable text buffer; allocation failure is sticky (failed). */
typedef struct rp_buf {
    char *data;
    size_t len, cap;
    int failed;
} rp_buf;

void rp_put(rp_buf *b, const char *s, size_t n);
void rp_puts(rp_buf *b, const char *s);
void rp_printf(rp_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void rp_escape(rp_buf *b, const char *s); /* HTML text and attribute escaping */

/* The checkpoint evaluated at step in run r, or NULL. */
const char *rp_checkpoint(const rp_run *r, int64_t step);

/* Writes the page for a collected report. Returns 0, or -1 when out of memory. */
int rp_render_html(const rp_report *r, rp_buf *out, sc_report_stats *stats);

#endif
