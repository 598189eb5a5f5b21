/* sidecar/report.h — the curves of a log directory as one self-contained HTML page.
 *
 * sc_report_write() finds every run under logdir (each directory holding "*tfevents*" files,
 * named by its path relative to logdir, "." for logdir itself: TensorBoard's naming), reads
 * their scalars with sidecar/events.h, and writes one HTML file: a chart per tag (inline SVG,
 * titled with the tag as written), the runs overlaid in a colour-blind-safe palette (Okabe-Ito)
 * with a legend, axes with ticks, a log-scale toggle for charts whose values span two decades
 * or more, a tooltip (<title>) on every drawn point with run, step, value and (for sidecar's
 * own runs, from the results journal sidecar_journal.jsonl beside validation*) checkpoint, the
 * best point per `monitor` ringed, and a table of every run's latest and best value per tag.
 * No script or font is loaded from anywhere: the page works offline. NaN and infinite values
 * break the line and are drawn as hollow red markers on the chart's top edge.
 *
 * Large logs are downsampled as TensorBoard does (report/downsample.h): at most max_points per
 * series, fewer when the page would otherwise hold more than max_total_points points, always
 * keeping a series' first and last point; the latest and best values in the table and the
 * best marker come from all points.
 *
 * The file is replaced atomically (written beside it, then renamed; not fsynced: the page is a
 * view that can be rebuilt from the logs), so a browser reloading it never sees half of it. With refresh_s > 0 the page reloads itself every refresh_s
 * seconds (a live run); write it once more with refresh_s 0 when the run ends.
 */
#ifndef SIDECAR_REPORT_H
#define SIDECAR_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include "sidecar/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum sc_report_mode {
    SC_REPORT_AUTO = 0,
    SC_REPORT_MIN = 1,
    SC_REPORT_MAX = 2
} sc_report_mode;

typedef struct sc_report_params {
    /* The metric whose best checkpoint is marked: matches the tags "<monitor>",
     * "evaluation_<monitor>_vs_iterations" and "epoch_<monitor>". Default "loss". */
    const char *monitor;
    /* For the monitored tags; AUTO (default) is the evaluator's --mode auto rule: max when the
     * name holds acc, auc, precision, recall, f1, fbeta, iou (io_u), top_k or r2, or starts
     * with fmeasure; else min. Other tags always use AUTO for "best" in the table. */
    sc_report_mode mode;
    size_t max_points;       /* per series; default 1000 (TensorBoard's scalar reservoir) */
    size_t max_total_points; /* on the whole page; default 30000 (keeps it to a few MB) */
    int refresh_s;           /* > 0: the page reloads itself every refresh_s seconds */
    const char *title;       /* default "sidecar report: <logdir>" */
    uint64_t seed;           /* of the downsampling; default 0 */
    int threads;             /* runs read in parallel; default 0: one thread per core (<= 16) */
    /* Warnings (a corrupt event file, an unreadable journal). Default NULL: only counted. */
    void (*warn)(void *user, const char *message);
    void *warn_user;
} sc_report_params;

sc_report_params sc_report_default_params(void);

typedef struct sc_report_stats {
    size_t runs, charts, series;
    uint64_t points_read, points_drawn;
    size_t warnings;
    size_t bytes; /* of the HTML page */
} sc_report_stats;

/* Builds the page in memory: *html is malloc'd (NUL-terminated, *len bytes without it).
 * stats may be NULL. Returns SC_OK (also for a logdir without any event file: the page says
 * so); SC_NOT_FOUND / SC_IO when logdir cannot be listed; SC_NO_MEMORY. */
sc_status sc_report_render(const char *logdir, const sc_report_params *params, char **html,
                           size_t *len, sc_report_stats *stats, sc_error *err);

/* sc_report_render, then writes html_path atomically. Also SC_IO naming the file. */
sc_status sc_report_write(const char *logdir, const char *html_path, const sc_report_params *params,
                          sc_report_stats *stats, sc_error *err);

#ifdef __cplusplus
}
#endif
#endif
