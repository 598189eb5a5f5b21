/* report/axis.h — axis ranges, "nice" ticks and their labels. Internal. */
#ifndef SC_REPORT_AXIS_H
#define SC_REPORT_AXIS_H

#include <stddef.h>

#define RP_MAX_TICKS 24

typedef struct rp_axis {
    double lo, hi; /* the domain (log10 of values on a log axis) */
    int log;       /* a log10 axis */
    size_t num_ticks;
    double ticks[RP_MAX_TICKS]; /* in domain units */
    double step;                /* linear tick spacing (for label precision) */
} rp_axis;

/* A linear axis over [lo, hi] (hi >= lo, both finite), about `target` ticks at 1/2/5 x 10^k,
 * the domain widened to whole ticks when round_out. */
void rp_axis_linear(rp_axis *a, double lo, double hi, int target, int round_out);

/* A log10 axis over positive [lo, hi]: whole decades, ticks at powers of ten (and 2x, 5x when
 * it spans at most two decades). */
void rp_axis_log(rp_axis *a, double lo, double hi);

/* Writes a tick label: 1/2/5-precision for the axis step, "k"/"M" for big round numbers. */
void rp_axis_label(const rp_axis *a, double tick, char *buf, size_t n);

/* A value for people: %.6g, and NaN / inf / -inf spelled out. */
void rp_format_value(double v, char *buf, size_t n);

#endif
