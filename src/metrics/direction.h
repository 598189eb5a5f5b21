/* metrics/direction.h — which way a metric improves, read from its Keras name. One rule for
 * the best-model export (--monitor, eval) and the report's "best" marks (report). */
#ifndef SC_METRICS_DIRECTION_H
#define SC_METRICS_DIRECTION_H

/* 1 for names holding acc, auc, precision, recall, f1, fbeta, iou (or Keras 2's io_u), top_k or
 * r2, or starting with fmeasure (as Keras' ModelCheckpoint); 0 for the rest (loss, errors,
 * crossentropies) and for NULL. */
int sc_metric_name_higher_is_better(const char *name);

#endif
