/* sidecar/sidecar.h — the whole public API in one include:
 *
 *     #include <sidecar/sidecar.h>
 *     cc app.c $(pkg-config --cflags --libs sidecar)
 *
 * Each header below is the manual for its part (what a function does, who owns what, which
 * statuses it returns). tests/build/check_exports.sh fails when a header is missing here.
 */
#ifndef SIDECAR_SIDECAR_H
#define SIDECAR_SIDECAR_H

#include "sidecar/checkpoint.h"
#include "sidecar/ckpt_ref.h"
#include "sidecar/compile.h"
#include "sidecar/data.h"
#include "sidecar/dataset.h"
#include "sidecar/dtype.h"
#include "sidecar/engine.h"
#include "sidecar/eval.h"
#include "sidecar/events.h"
#include "sidecar/group.h"
#include "sidecar/keras_weights.h"
#include "sidecar/metrics.h"
#include "sidecar/model.h"
#include "sidecar/object_graph.h"
#include "sidecar/report.h"
#include "sidecar/run.h"
#include "sidecar/safetensors.h"
#include "sidecar/status.h"
#include "sidecar/summary.h"
#include "sidecar/tensor.h"
#include "sidecar/watch.h"
#include "sidecar/version.h"

#endif
