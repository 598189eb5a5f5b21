/* metrics/compile_internal.h — shared by compile.c (containers, names, entry points) and
 * compile_entry.c (one entry -> one loss or metric object). Internal. */
#ifndef SC_METRICS_COMPILE_INTERNAL_H
#define SC_METRICS_COMPILE_INTERNAL_H

#include <jansson.h>

#include "sidecar/compile.h"

typedef struct sc_compile_ctx {
    const char *file; /* for messages: the file, or "--loss" / "--metrics" */
    const sc_compile_shapes *sh;
    int kv; /* 2 or 3 */
    sc_error *err;
} sc_compile_ctx;

/* "a string", "a number", "a list", ... for messages. */
const char *sc_compile_json_type(const json_t *v);

/* A metric identifier ("accuracy", "auc", "MeanSquaredError"), resolved with the shapes (or,
 * when they are unknown, loss_name). what labels it in messages ("metrics[2]"). */
sc_status sc_compile_metric_string(const sc_compile_ctx *c, const char *what, const char *id,
                                   const char *loss_name, sc_metric **out);

/* Entry idx of the list `list` ("metrics", "weighted_metrics"): a string or a serialized
 * metric. */
sc_status sc_compile_metric(const sc_compile_ctx *c, const char *list, size_t idx, const json_t *v,
                            const char *loss_name, sc_metric **out);

/* A loss identifier ("mse", "SparseCategoricalCrossentropy", Keras 3 "ce"). */
sc_status sc_compile_loss_string(const sc_compile_ctx *c, const char *id, sc_loss **out);

/* The compile config's "loss": a string or a serialized loss, or a list or dict holding one;
 * null leaves *out NULL. Several losses are SC_UNIMPLEMENTED. */
sc_status sc_compile_loss(const sc_compile_ctx *c, const json_t *v, sc_loss **out);

/* compile.c helpers shared with compile_multi.c. */
sc_status sc_compile_check_keys(const sc_compile_ctx *c, const json_t *cc);
sc_status sc_compile_push(const sc_compile_ctx *c, sc_compiled *out, size_t *cap, sc_metric *m,
                          int weighted);
/* A model with several outputs (compile_multi.c): shapes[o] per output. */
sc_status sc_compile_multi(const sc_compile_ctx *c, const json_t *cc,
                           const sc_compile_shapes *shapes, const char *const *outputs, size_t n,
                           sc_compiled *out);

#endif
