/* report/html.c — the page: a chart per tag as inline SVG, a legend, and the table of latest and
 * best values (sidecar/report.h). Everything is inline; nothing is fetched. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "report/axis.h"
#include "report/downsample.h"
#include "report/report_internal.h"

/* Okabe & Ito's palette, which stays distinct under the common colour-vision deficiencies;
 * yellow last (weak on white). Beyond eight runs the colours repeat with a dash pattern. */
static const char *const k_colours[] = {"#0072B2", "#E69F00", "#009E73", "#D55E00",
                                        "#CC79A7", "#56B4E9", "#1A1A1A", "#F0E442"};
static const char *const k_dashes[] = {"", "7 3", "2 2.5", "9 3 2 3"};
#define NUM_COLOURS 8
#define NUM_DASHES  4

/* Chart geometry, in SVG user units (the SVG scales to the card's width). */
enum { W = 560, H = 300, ML = 62, MR = 16, MT = 14, MB = 38 };
#define PW    (W - ML - MR)
#define PH    (H - MT - MB)
#define DENSE 80 /* more points than this: dots only on hover */

static const char k_css[] =
    ":root{--fg:#1f2328;--muted:#59636e;--grid:#e6e8eb;--card:#fff;--bg:#f6f7f9}"
    "*{box-sizing:border-box}"
    "body{margin:0;padding:20px 28px 40px;background:var(--bg);color:var(--fg);"
    "font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,'DejaVu Sans',sans-serif}"
    "h1{font-size:20px;margin:0 0 2px}"
    ".sub{color:var(--muted);margin:0 0 14px}"
    ".live{color:#006B3C;font-weight:600}.done{color:var(--muted)}"
    ".warn{background:#fff4d6;border:1px solid #e5c66b;border-radius:6px;padding:8px 12px;"
    "margin:0 0 14px;font-size:13px}"
    ".warn summary{cursor:pointer}.warn li{font-family:ui-monospace,'DejaVu Sans "
    "Mono',monospace;font-size:12px}"
    ".runs{display:flex;flex-wrap:wrap;gap:4px 16px;margin:0 0 14px;font-size:13px}"
    ".grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(440px,1fr));gap:16px}"
    ".chart{position:relative;background:var(--card);border:1px solid #d8dee4;border-radius:8px;"
    "padding:10px 12px 8px}"
    ".chart h2{font:600 14px ui-monospace,'DejaVu Sans Mono',monospace;margin:0 0 4px;"
    "padding-right:90px;overflow-wrap:anywhere}"
    ".chart svg.plot{display:block;width:100%;height:auto}"
    ".logl{position:absolute;top:9px;right:12px;font-size:12px;color:var(--muted);"
    "cursor:pointer;user-select:none}"
    ".logt{position:absolute;opacity:0;pointer-events:none}"
    ".logl::before{content:'';display:inline-block;width:11px;height:11px;margin-right:5px;"
    "vertical-align:-1px;border:1.5px solid var(--muted);border-radius:3px}"
    ".logt:checked+.logl::before{background:var(--muted);box-shadow:inset 0 0 0 2px #fff}"
    ".chart svg.plot.log{display:none}.logt:checked~svg.lin{display:none}"
    ".logt:checked~svg.log{display:block}"
    ".gl{stroke:var(--grid);stroke-width:1}"
    ".ax{stroke:#8c959f;stroke-width:1}"
    ".tl{fill:var(--muted);font-size:11px}"
    ".xl{fill:var(--muted);font-size:11px}"
    ".line{fill:none;stroke-width:1.8;stroke-linejoin:round;stroke-linecap:round}"
    ".series circle{stroke:#fff;stroke-width:.8}"
    ".dense circle{fill-opacity:0;stroke-opacity:0}"
    ".series circle:hover{fill-opacity:1;stroke-opacity:1;r:5px}"
    ".series circle.nan{fill:#fff;stroke:currentColor;stroke-width:1.6;stroke-opacity:1}"
    ".best{fill:none;stroke-width:2}"
    ".bl{font-size:10.5px;font-weight:600}"
    ".legend{display:flex;flex-wrap:wrap;gap:2px 14px;font-size:12px;color:var(--muted);"
    "max-height:7.5em;overflow:auto;margin-top:2px}"
    ".key{white-space:nowrap}.key svg{vertical-align:middle;margin-right:4px}"
    ".key b{color:var(--fg);font-weight:500}"
    "table{border-collapse:collapse;background:var(--card);font-size:13px;margin-top:6px}"
    "th,td{padding:4px 10px;border-bottom:1px solid #e6e8eb;text-align:left}"
    "th{background:#eef1f4;font-weight:600}"
    "td.num{text-align:right;font-variant-numeric:tabular-nums}"
    "td code{font-size:12px}td svg{vertical-align:middle;margin-right:6px}"
    "h3{font-size:16px;margin:26px 0 4px}"
    "footer{margin-top:22px;color:var(--muted);font-size:12px}";

static const char *colour(size_t run) { return k_colours[run % NUM_COLOURS]; }
static const char *dash(size_t run) { return k_dashes[(run / NUM_COLOURS) % NUM_DASHES]; }

static void swatch(rp_buf *b, size_t run) {
    rp_printf(b,
              "<svg width=\"22\" height=\"10\" aria-hidden=\"true\"><line x1=\"1\" y1=\"5\" "
              "x2=\"21\" y2=\"5\" stroke=\"%s\" stroke-width=\"2.5\"%s%s%s/></svg>",
              colour(run), *dash(run) ? " stroke-dasharray=\"" : "", dash(run),
              *dash(run) ? "\"" : "");
}

typedef struct chart {
    const char *tag;
    size_t *members; /* indices into r->series */
    size_t n;
} chart;

typedef struct ctx {
    const rp_report *r;
    rp_buf *b;
    size_t cap;           /* points per series on the page */
    size_t *idx;          /* scratch for downsampling, cap entries */
    sc_scalar_point *pts; /* scratch: the drawn points of one series */
    uint64_t drawn;
} ctx;

static double xpos(const rp_axis *x, double step) {
    return ML + (step - x->lo) / (x->hi - x->lo) * PW;
}
static double ypos(const rp_axis *y, double v) {
    double d = y->log ? log10(v) : v;
    return MT + (1 - (d - y->lo) / (y->hi - y->lo)) * PH;
}

/* The tooltip: run, step, value and checkpoint; the tag only where asked (the chart's title
 * names it, and every byte here is repeated for thousands of points). */
static void point_title(ctx *c, const rp_series *s, const sc_scalar_point *p, const char *extra) {
    char val[40];
    rp_format_value(p->value, val, sizeof val);
    const rp_run *run = &c->r->runs[s->run];
    rp_puts(c->b, "<title>");
    if (extra) {
        rp_puts(c->b, extra);
        rp_escape(c->b, s->tag);
        rp_puts(c->b, "&#10;");
    }
    rp_escape(c->b, run->name);
    rp_printf(c->b, "&#10;step %lld: %s", (long long)p->step, val);
    const char *ck = rp_checkpoint(run, p->step);
    if (ck) {
        rp_puts(c->b, "&#10;checkpoint ");
        rp_escape(c->b, ck);
    }
    rp_puts(c->b, "</title>");
}

/* One run's line and points. */
static void draw_series(ctx *c, const rp_series *s, size_t n, const rp_axis *x, const rp_axis *y) {
    rp_buf *b = c->b;
    const sc_scalar_point *p = c->pts;
    rp_printf(b, "<g class=\"series%s\" data-run=\"", n > DENSE ? " dense" : "");
    rp_escape(b, c->r->runs[s->run].name);
    rp_printf(b, "\" data-n=\"%zu\" fill=\"%s\" stroke=\"%s\" color=\"%s\">", n, colour(s->run),
              colour(s->run), colour(s->run));
    /* The line: a new subpath after every point that cannot be drawn (NaN, inf, <= 0 on log). */
    rp_printf(b, "<path class=\"line\"%s%s%s d=\"", *dash(s->run) ? " stroke-dasharray=\"" : "",
              dash(s->run), *dash(s->run) ? "\"" : "");
    int pen = 0;
    for (size_t i = 0; i < n; i++) {
        double v = p[i].value;
        /* A step lower than the one before is a restarted writer re-logging steps (TensorBoard
         * keeps both in files of version 2): each writer's stretch is drawn as its own line
         * instead of a stroke back across the chart. */
        if (!isfinite(v) || (y->log && v <= 0) || (i && p[i].step < p[i - 1].step)) pen = 0;
        if (!isfinite(v) || (y->log && v <= 0)) continue;
        rp_printf(b, pen ? " %.1f,%.1f" : "M%.1f,%.1f", xpos(x, (double)p[i].step), ypos(y, v));
        pen = 1;
    }
    rp_puts(b, "\"/>");
    for (size_t i = 0; i < n; i++) {
        double v = p[i].value;
        int off = !isfinite(v) || (y->log && v <= 0);
        double cy = off ? (v < 0 ? MT + PH : MT) : ypos(y, v);
        rp_printf(b,
                  off ? "<circle class=\"nan\" cx=\"%.1f\" cy=\"%.1f\" r=\"3.5\">"
                      : "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.6\">",
                  xpos(x, (double)p[i].step), cy);
        point_title(c, s, &p[i], NULL);
        rp_puts(b, "</circle>");
    }
    rp_puts(b, "</g>");
}

static void draw_axes(ctx *c, const rp_axis *x, const rp_axis *y) {
    rp_buf *b = c->b;
    char lab[48];
    rp_puts(b, "<g>");
    for (size_t i = 0; i < y->num_ticks; i++) {
        double py = MT + (1 - (y->ticks[i] - y->lo) / (y->hi - y->lo)) * PH;
        rp_printf(b, "<line class=\"gl\" x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\"/>", ML, W - MR,
                  py, py);
        /* On a log axis only the decades are labelled when minor ticks are drawn. */
        double frac = y->ticks[i] - floor(y->ticks[i] + 1e-9);
        if (y->log && frac > 1e-6 && y->hi - y->lo > 1) continue;
        rp_axis_label(y, y->ticks[i], lab, sizeof lab);
        rp_printf(
            b, "<text class=\"tl\" x=\"%d\" y=\"%.1f\" text-anchor=\"end\" dy=\"0.33em\">%s</text>",
            ML - 7, py, lab);
    }
    for (size_t i = 0; i < x->num_ticks; i++) {
        double px = xpos(x, x->ticks[i]);
        rp_printf(b, "<line class=\"gl\" x1=\"%.1f\" x2=\"%.1f\" y1=\"%d\" y2=\"%d\"/>", px, px, MT,
                  MT + PH);
        rp_axis_label(x, x->ticks[i], lab, sizeof lab);
        rp_printf(b, "<text class=\"tl\" x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%s</text>", px,
                  MT + PH + 16, lab);
    }
    rp_printf(b, "<line class=\"ax\" x1=\"%d\" x2=\"%d\" y1=\"%d\" y2=\"%d\"/>", ML, W - MR,
              MT + PH, MT + PH);
    rp_printf(b, "<line class=\"ax\" x1=\"%d\" x2=\"%d\" y1=\"%d\" y2=\"%d\"/>", ML, ML, MT,
              MT + PH);
    rp_printf(b, "<text class=\"xl\" x=\"%d\" y=\"%d\" text-anchor=\"end\">step</text>", W - MR,
              H - 4);
    rp_puts(b, "</g>");
}

/* The drawn points of series s (downsampled to the page's budget) into c->pts. */
static size_t page_points(ctx *c, const rp_series *s) {
    size_t n = sc_downsample(s->n, c->cap, c->r->p.seed + 1, c->idx);
    for (size_t i = 0; i < n; i++) c->pts[i] = s->pts[c->idx[i]];
    return n;
}

static void draw_plot(ctx *c, const chart *ch, const rp_axis *x, const rp_axis *y, int is_log) {
    rp_buf *b = c->b;
    rp_printf(b, "<svg class=\"plot %s\" viewBox=\"0 0 %d %d\" role=\"img\" aria-label=\"",
              is_log ? "log" : "lin", W, H);
    rp_escape(b, ch->tag);
    rp_printf(b, "%s\">", is_log ? " (log scale)" : "");
    draw_axes(c, x, y);
    for (size_t k = 0; k < ch->n; k++) {
        const rp_series *s = &c->r->series[ch->members[k]];
        size_t n = page_points(c, s);
        if (!is_log) c->drawn += n;
        draw_series(c, s, n, x, y);
    }
    /* The best point of each run, ringed, for the monitored metric. */
    for (size_t k = 0; k < ch->n; k++) {
        const rp_series *s = &c->r->series[ch->members[k]];
        if (!s->monitored || !s->has_best || (is_log && s->best.value <= 0)) continue;
        double px = xpos(x, (double)s->best.step), py = ypos(y, s->best.value);
        rp_printf(b,
                  "<g class=\"bestg\" stroke=\"%s\" fill=\"%s\"><circle class=\"best\" cx=\"%.1f\" "
                  "cy=\"%.1f\" r=\"7\">",
                  colour(s->run), colour(s->run), px, py);
        point_title(c, s, &s->best, s->higher_is_better ? "best (highest) " : "best (lowest) ");
        rp_printf(b,
                  "</circle><text class=\"bl\" stroke=\"none\" x=\"%.1f\" y=\"%.1f\" "
                  "text-anchor=\"%s\">best</text></g>",
                  px + (px > W - MR - 40 ? -10 : 10), py < MT + 16 ? py + 16 : py - 9,
                  px > W - MR - 40 ? "end" : "start");
    }
    rp_puts(b, "</svg>");
}

static void draw_chart(ctx *c, const chart *ch, size_t no) {
    rp_buf *b = c->b;
    /* The ranges over what is drawn plus the best points. */
    double xlo = INFINITY, xhi = -INFINITY, ylo = INFINITY, yhi = -INFINITY, pos_lo = INFINITY;
    size_t nonfinite = 0, total_pts = 0;
    for (size_t k = 0; k < ch->n; k++) {
        const rp_series *s = &c->r->series[ch->members[k]];
        size_t n = page_points(c, s);
        total_pts += n;
        for (size_t i = 0; i < n; i++) {
            const sc_scalar_point *p = &c->pts[i];
            if ((double)p->step < xlo) xlo = (double)p->step;
            if ((double)p->step > xhi) xhi = (double)p->step;
            if (!isfinite(p->value)) {
                nonfinite++;
                continue;
            }
            if (p->value < ylo) ylo = p->value;
            if (p->value > yhi) yhi = p->value;
            if (p->value > 0 && p->value < pos_lo) pos_lo = p->value;
        }
    }
    if (!(xlo <= xhi)) xlo = xhi = 0;
    if (!(ylo <= yhi)) ylo = yhi = 0;
    rp_axis x, y, ly;
    rp_axis_linear(&x, xlo, xhi, 6, 0); /* the data fills the width; ticks fall inside */
    if (x.step < 1) {                   /* steps are whole numbers: no tick at 0.5 */
        x.step = 1;
        x.num_ticks = 0;
        for (double t = ceil(x.lo); t <= x.hi && x.num_ticks < RP_MAX_TICKS; t++)
            x.ticks[x.num_ticks++] = t;
    }
    double pad = (yhi - ylo) * 0.04;
    rp_axis_linear(&y, ylo - pad, yhi + pad, 5, 1);
    int can_log = ylo > 0 && yhi / ylo >= 100;

    rp_printf(b, "<section class=\"chart\" id=\"chart-%zu\" data-tag=\"", no);
    rp_escape(b, ch->tag);
    rp_printf(b, "\" data-series=\"%zu\" data-points=\"%zu\">", ch->n, total_pts);
    if (can_log)
        rp_printf(b,
                  "<input type=\"checkbox\" class=\"logt\" id=\"log-%zu\"><label class=\"logl\" "
                  "for=\"log-%zu\">log scale</label>",
                  no, no);
    rp_puts(b, "<h2>");
    rp_escape(b, ch->tag);
    rp_puts(b, "</h2>");
    draw_plot(c, ch, &x, &y, 0);
    if (can_log) {
        rp_axis_log(&ly, pos_lo, yhi);
        draw_plot(c, ch, &x, &ly, 1);
    }
    rp_puts(b, "<div class=\"legend\">");
    for (size_t k = 0; k < ch->n; k++) {
        const rp_series *s = &c->r->series[ch->members[k]];
        rp_puts(b, "<span class=\"key\">");
        swatch(b, s->run);
        rp_puts(b, "<b>");
        rp_escape(b, c->r->runs[s->run].name);
        rp_printf(b, "</b> %llu point%s", (unsigned long long)s->total, s->total == 1 ? "" : "s");
        size_t drawn = s->n < c->cap ? s->n : c->cap;
        if (drawn < s->total) rp_printf(b, " (%zu drawn)", drawn);
        rp_puts(b, "</span>");
    }
    if (nonfinite)
        rp_printf(b, "<span class=\"key\">%zu NaN/inf value%s: hollow marks on the top edge</span>",
                  nonfinite, nonfinite == 1 ? "" : "s");
    rp_puts(b, "</div></section>\n");
}

static void table(ctx *c) {
    const rp_report *r = c->r;
    rp_buf *b = c->b;
    char v1[40], v2[40];
    rp_puts(b, "<h3>Latest and best values</h3><table><thead><tr><th>Run</th><th>Tag</th>"
               "<th>Points</th><th>Latest</th><th>at step</th><th>Best</th><th>at step</th>"
               "<th>Best checkpoint</th></tr></thead><tbody>\n");
    for (size_t i = 0; i < r->num_series; i++) {
        const rp_series *s = &r->series[i];
        const rp_run *run = &r->runs[s->run];
        rp_printf(b, "<tr data-run=\"");
        rp_escape(b, run->name);
        rp_puts(b, "\"><td>");
        swatch(b, s->run);
        rp_escape(b, run->name);
        rp_puts(b, "</td><td><code>");
        rp_escape(b, s->tag);
        rp_printf(b, "</code></td><td class=\"num\">%llu</td>", (unsigned long long)s->total);
        if (s->total) {
            rp_format_value(s->latest.value, v1, sizeof v1);
            rp_printf(b, "<td class=\"num\">%s</td><td class=\"num\">%lld</td>", v1,
                      (long long)s->latest.step);
        } else {
            rp_puts(b, "<td></td><td></td>");
        }
        if (s->has_best) {
            rp_format_value(s->best.value, v2, sizeof v2);
            const char *ck = rp_checkpoint(run, s->best.step);
            rp_printf(b,
                      "<td class=\"num\" title=\"%s is better\">%s%s%s</td><td "
                      "class=\"num\">%lld</td><td>",
                      s->higher_is_better ? "higher" : "lower", s->monitored ? "<b>" : "", v2,
                      s->monitored ? "</b>" : "", (long long)s->best.step);
            if (ck) rp_escape(b, ck);
            rp_puts(b, "</td>");
        } else {
            rp_puts(b, "<td></td><td></td><td></td>");
        }
        rp_puts(b, "</tr>\n");
    }
    rp_puts(b, "</tbody></table>\n");
}

static int by_tag(const void *a, const void *b) {
    return strcmp(((const chart *)a)->tag, ((const chart *)b)->tag);
}

int rp_render_html(const rp_report *r, rp_buf *b, sc_report_stats *stats) {
    /* Charts: one per tag (tags are interned, so pointers compare), sorted by tag. */
    chart *charts = calloc(r->num_series ? r->num_series : 1, sizeof *charts);
    size_t *members = malloc((r->num_series ? r->num_series : 1) * sizeof *members);
    size_t num_charts = 0, used = 0;
    ctx c = {r, b, 0, NULL, NULL, 0};
    if (!charts || !members) goto fail;
    for (size_t i = 0; i < r->num_series; i++) {
        size_t k = 0;
        while (k < num_charts && charts[k].tag != r->series[i].tag) k++;
        if (k == num_charts) charts[num_charts++].tag = r->series[i].tag;
    }
    qsort(charts, num_charts, sizeof *charts, by_tag);
    for (size_t k = 0; k < num_charts; k++) {
        charts[k].members = members + used;
        for (size_t i = 0; i < r->num_series; i++)
            if (r->series[i].tag == charts[k].tag) members[used + charts[k].n++] = i;
        used += charts[k].n;
    }
    c.cap = r->num_series ? r->p.max_total_points / r->num_series : r->p.max_points;
    if (c.cap > r->p.max_points) c.cap = r->p.max_points;
    if (c.cap < 2) c.cap = 2;
    c.idx = malloc(c.cap * sizeof *c.idx);
    c.pts = malloc(c.cap * sizeof *c.pts);
    if (!c.idx || !c.pts) goto fail;

    char when[64] = "";
    time_t now = time(NULL);
    struct tm tm;
    if (gmtime_r(&now, &tm)) strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", &tm);
    rp_puts(b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
               "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\n");
    if (r->p.refresh_s > 0)
        rp_printf(b, "<meta http-equiv=\"refresh\" content=\"%d\">\n", r->p.refresh_s);
    rp_puts(b, "<meta name=\"generator\" content=\"sidecar report\">\n<title>");
    if (r->p.title)
        rp_escape(b, r->p.title);
    else {
        rp_puts(b, "sidecar report: ");
        rp_escape(b, r->logdir);
    }
    rp_printf(b, "</title>\n<style>%s</style></head>\n<body>\n<header><h1>", k_css);
    if (r->p.title)
        rp_escape(b, r->p.title);
    else
        rp_puts(b, "sidecar report");
    rp_puts(b, "</h1><p class=\"sub\"><code>");
    rp_escape(b, r->logdir);
    rp_printf(b, "</code> &middot; %zu run%s &middot; %zu chart%s &middot; updated %s &middot; ",
              r->num_runs, r->num_runs == 1 ? "" : "s", num_charts, num_charts == 1 ? "" : "s",
              when);
    if (r->p.refresh_s > 0)
        rp_printf(b,
                  "<span class=\"live\" id=\"status\">live: evaluation running, this page "
                  "reloads every %d s</span>",
                  r->p.refresh_s);
    else
        rp_puts(b, "<span class=\"done\" id=\"status\">final</span>");
    rp_puts(b, "</p></header>\n");
    if (r->warns.n) {
        rp_printf(b,
                  "<details class=\"warn\"%s><summary><b>%zu warning%s while reading</b> "
                  "(files read up to a bad record)</summary><ul>",
                  r->warns.n <= 3 ? " open" : "", r->warns.n, r->warns.n == 1 ? "" : "s");
        for (size_t i = 0; i < r->warns.n; i++) {
            rp_puts(b, "<li>");
            rp_escape(b, r->warns.v[i]);
            rp_puts(b, "</li>");
        }
        rp_puts(b, "</ul></details>\n");
    }
    if (!num_charts)
        rp_puts(b, "<p>No scalar summaries found: no <code>*tfevents*</code> file under this "
                   "directory holds a scalar yet.</p>\n");
    rp_puts(b, "<div class=\"runs\">");
    for (size_t i = 0; i < r->num_runs; i++) {
        rp_puts(b, "<span class=\"key\">");
        swatch(b, i);
        rp_escape(b, r->runs[i].name);
        int any = 0;
        for (size_t k = 0; k < r->num_series && !any; k++) any = r->series[k].run == i;
        if (!any) rp_puts(b, " <i>(no scalars)</i>");
        rp_puts(b, "</span>");
    }
    rp_puts(b, "</div>\n<main class=\"grid\">\n");
    for (size_t k = 0; k < num_charts; k++) draw_chart(&c, &charts[k], k);
    rp_puts(b, "</main>\n");
    if (r->num_series) table(&c);
    int journal = 0;
    for (size_t i = 0; i < r->num_runs; i++) journal |= r->runs[i].num_ckpts > 0;
    rp_printf(b,
              "<footer>Drawn by <code>sidecar report</code> from TensorBoard event files%s. "
              "Hover a point for its run, step, value and checkpoint; a ring marks the best "
              "<code>",
              journal ? " and the results journal" : "");
    rp_escape(b, r->p.monitor);
    rp_printf(b,
              "</code>. At most %zu points per run and chart are drawn (TensorBoard-style "
              "reservoir sampling, first and last kept); the table uses every point.</footer>\n"
              "</body></html>\n",
              c.cap);
    if (stats) {
        memset(stats, 0, sizeof *stats);
        stats->runs = r->num_runs;
        stats->charts = num_charts;
        stats->series = r->num_series;
        stats->points_read = r->points_read;
        stats->points_drawn = c.drawn;
        stats->bytes = b->len;
    }
    free(charts);
    free(members);
    free(c.idx);
    free(c.pts);
    return b->failed ? -1 : 0;
fail:
    free(charts);
    free(members);
    free(c.idx);
    free(c.pts);
    return -1;
}
