/* eval/monitor.c — the direction of the monitored metric (see monitor.h). */
#include "eval/monitor.h"

#include "metrics/direction.h"

int sc_eval_higher_is_better(const char *monitor, sc_export_mode mode) {
    if (mode == SC_EXPORT_MAX) return 1;
    if (mode == SC_EXPORT_MIN) return 0;
    return sc_metric_name_higher_is_better(monitor); /* NULL: the default monitor, "loss" */
}
