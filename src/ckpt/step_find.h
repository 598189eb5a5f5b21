/* ckpt/step_find.h — the training step and the model's place, found through the object graph
 * (FORMATS §3.7). Internal to sc_ckpt. */
#ifndef SC_CKPT_STEP_FIND_H
#define SC_CKPT_STEP_FIND_H

#include "sidecar/checkpoint.h"
#include "sidecar/object_graph.h"

/* Reads an int64 or int32 scalar (CRC verified); anything else is SC_INVALID_ARGUMENT. */
sc_status sc_ckpt_read_int_scalar(sc_bundle *b, const sc_tensor_info *t, int64_t *v, sc_error *err);

/* The caller's step key (p->step_key): fills info (SC_STEP_GIVEN_KEY) or fails naming it. */
sc_status sc_step_given(sc_bundle *b, const sc_object_graph *g, const char *key, sc_ckpt_info *info,
                        sc_error *err);

/* Ranks every optimizer of the graph (see sc_ckpt_describe_ex) and fills info->step, step_source,
 * step_key and step_reason from the best; leaves info untouched when the graph holds none. */
sc_status sc_step_from_graph(sc_bundle *b, const sc_object_graph *g, const sc_step_params *p,
                             sc_ckpt_info *info, sc_error *err);

/* The node whose children are a Keras layer list (layer_with_weights-K / layer-K, Keras 3
 * _operations / _functional): the root or the shallowest such node; writes its path. */
void sc_model_path_guess(const sc_object_graph *g, sc_ckpt_info *info);

#endif
