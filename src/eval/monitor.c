/* eval/monitor.c — the direction of the monitored metric (see monitor.h). */
#include "eval/monitor.h"

#include <string.h>

/* Mode "auto": Keras ModelCheckpoint maximises names holding "acc" or starting with
 * "fmeasure"; sidecar also maximises the other metrics where higher is better (auc, precision,
 * recall, f1/fbeta scores, iou, top_k accuracy, r2) and minimises the rest. Keras 2 names its
 * IoU metrics by snake-casing the class (MeanIoU -> mean_io_u, BinaryIoU -> binary_io_u), so
 * "io_u" counts as iou. */
int sc_eval_higher_is_better(const char *monitor, sc_export_mode mode) {
    static const char *const up[] = {"acc",   "auc", "precision", "recall", "f1",
                                     "fbeta", "iou", "io_u",      "top_k",  "r2"};
    if (mode == SC_EXPORT_MAX) return 1;
    if (mode == SC_EXPORT_MIN) return 0;
    if (!monitor) return 0; /* the default monitor is "loss" */
    if (strncmp(monitor, "fmeasure", 8) == 0) return 1;
    for (size_t i = 0; i < sizeof up / sizeof up[0]; i++)
        if (strstr(monitor, up[i])) return 1;
    return 0;
}
