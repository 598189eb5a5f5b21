/* model/dnnl_plan.h — the nodes of a runner that run as oneDNN primitives. Internal.
 *
 * Dense (inner product), Conv1D/Conv2D, DepthwiseConv2D, SeparableConv2D (direct or Winograd
 * convolutions, weights in oneDNN's blocked layouts) and pooling run as primitives, with a
 * BatchNormalization and a relu/relu6 right after folded in; every other node keeps its
 * layer's forward.
 * Per node, primitives are created on first use for a (batch, input shape) and kept: two slots,
 * the runner's full batch and the last other shape (an epoch's short last batch, or a new
 * sequence length), so steady state creates nothing. Weights are reordered once per model
 * weights generation (model_internal.h) into buffers kept across checkpoints. One scratchpad
 * (oneDNN's user scratchpad mode) is shared by all primitives of the runner.
 */
#ifndef SC_MODEL_DNNL_PLAN_H
#define SC_MODEL_DNNL_PLAN_H

#include "model/model_internal.h"

typedef struct sc_dnnl_plan sc_dnnl_plan;

sc_status sc_dnnl_plan_create(const sc_model *m, sc_dnnl_plan **out, sc_error *err);
void sc_dnnl_plan_free(sc_dnnl_plan *p);

/* Runs node i on oneDNN: *handled = 1, and *act_done says whether the layer's activation was
 * applied as a post-op. *handled = 0: not an engine node (or oneDNN has no kernel for it), the
 * caller runs the layer's forward. Fails only when oneDNN fails to execute or allocate. */
sc_status sc_dnnl_plan_run(sc_dnnl_plan *p, size_t i, int batch, const float *in, float *out,
                           int *handled, int *act_done, sc_error *err);

/* Node i is a BatchNormalization or activation layer whose work the primitive of an earlier
 * node does: the runner gives its output tensor the memory of its input and skips it. */
int sc_dnnl_plan_absorbed(const sc_dnnl_plan *p, size_t i);

/* Call before / after a forward pass: times the cold work (creation, reorders) of that pass. */
void sc_dnnl_plan_begin(sc_dnnl_plan *p);
void sc_dnnl_plan_end(sc_dnnl_plan *p);
void sc_dnnl_plan_stats(const sc_dnnl_plan *p, sc_runner_stats *out);

#endif
