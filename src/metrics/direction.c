/* metrics/direction.c — the direction of a metric by its name (see direction.h). */
#include "metrics/direction.h"

#include <string.h>

/* Keras ModelCheckpoint maximises names holding "acc" or starting with "fmeasure"; sidecar also
 * maximises the other metrics where higher is better (auc, precision, recall, f1/fbeta scores,
 * iou, top_k accuracy, r2). Keras 2 names its IoU metrics by snake-casing the class (MeanIoU ->
 * mean_io_u, BinaryIoU -> binary_io_u), so "io_u" counts as iou. */
int sc_metric_name_higher_is_better(const char *name) {
    static const char *const up[] = {"acc",   "auc", "precision", "recall", "f1",
                                     "fbeta", "iou", "io_u",      "top_k",  "r2"};
    if (!name) return 0;
    if (strncmp(name, "fmeasure", 8) == 0) return 1;
    for (size_t i = 0; i < sizeof up / sizeof up[0]; i++)
        if (strstr(name, up[i])) return 1;
    return 0;
}
