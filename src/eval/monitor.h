/* eval/monitor.h — which way the monitored metric improves (--monitor / --mode of --export-best).
 * Internal; shared by the evaluator and its tests. */
#ifndef SC_EVAL_MONITOR_H
#define SC_EVAL_MONITOR_H

#include "sidecar/eval.h"

/* 1 when a higher `monitor` is better, 0 when a lower one is. SC_EXPORT_MAX / SC_EXPORT_MIN
 * decide alone; SC_EXPORT_AUTO maximises names holding acc, auc, precision, recall, f1, fbeta,
 * iou (or Keras 2's io_u), top_k or r2 (or starting with fmeasure, as Keras' ModelCheckpoint)
 * and minimises the rest (loss, errors, crossentropies). */
int sc_eval_higher_is_better(const char *monitor, sc_export_mode mode);

#endif
