/* report/axis.c — ticks and labels (axis.h). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "report/axis.h"

static double nice_step(double span, int target) {
    double raw = span / (target > 0 ? target : 5);
    double mag = pow(10, floor(log10(raw)));
    double norm = raw / mag;
    return (norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 5 : 10) * mag;
}

void rp_axis_linear(rp_axis *a, double lo, double hi, int target, int round_out) {
    memset(a, 0, sizeof *a);
    if (!(hi > lo)) { /* one value: a window around it */
        double pad = fabs(lo) > 0 ? fabs(lo) * 0.1 : 1;
        lo -= pad;
        hi += pad;
    }
    double step = nice_step(hi - lo, target);
    if (round_out) {
        lo = floor(lo / step + 1e-9) * step;
        hi = ceil(hi / step - 1e-9) * step;
    }
    a->lo = lo;
    a->hi = hi;
    a->step = step;
    for (double t = ceil(lo / step - 1e-9) * step;
         t <= hi + step * 1e-9 && a->num_ticks < RP_MAX_TICKS; t += step)
        a->ticks[a->num_ticks++] = fabs(t) < step * 1e-9 ? 0 : t;
}

void rp_axis_log(rp_axis *a, double lo, double hi) {
    memset(a, 0, sizeof *a);
    a->log = 1;
    a->lo = floor(log10(lo) + 1e-9);
    a->hi = ceil(log10(hi) - 1e-9);
    if (a->hi <= a->lo) a->hi = a->lo + 1;
    int minor = a->hi - a->lo <= 2;
    int every = (int)ceil((a->hi - a->lo) / 8); /* at most ~8 labelled decades */
    for (double d = a->lo; d <= a->hi + 1e-9 && a->num_ticks < RP_MAX_TICKS; d += every) {
        a->ticks[a->num_ticks++] = d;
        if (minor && d < a->hi - 1e-9 && a->num_ticks + 2 <= RP_MAX_TICKS) {
            a->ticks[a->num_ticks++] = d + log10(2);
            a->ticks[a->num_ticks++] = d + log10(5);
        }
    }
}

void rp_axis_label(const rp_axis *a, double t, char *buf, size_t n) {
    if (a->log) {
        double v = pow(10, t);
        if (v >= 1e-3 && v < 1e5)
            snprintf(buf, n, "%.4g", v);
        else
            snprintf(buf, n, "%.0e", v);
        return;
    }
    double at = fabs(t), step = a->step;
    const char *suffix = "";
    double div = 1;
    if (at >= 1e6 && step >= 1e5) {
        suffix = "M";
        div = 1e6;
    } else if (at >= 1e4 && step >= 1e3) {
        suffix = "k";
        div = 1e3;
    }
    double s = step / div;
    int dec = s >= 1 ? 0 : (int)ceil(-log10(s) - 1e-9);
    if (dec > 12) {
        snprintf(buf, n, "%.3g", t);
        return;
    }
    snprintf(buf, n, "%.*f%s", dec, t / div, suffix);
    if (!strncmp(buf, "-0", 2) && strspn(buf + 1, "0.") == strlen(buf + 1))
        memmove(buf, buf + 1, strlen(buf));
}

void rp_format_value(double v, char *buf, size_t n) {
    if (isnan(v))
        snprintf(buf, n, "NaN");
    else if (isinf(v))
        snprintf(buf, n, v > 0 ? "inf" : "-inf");
    else
        snprintf(buf, n, "%.6g", v);
}
