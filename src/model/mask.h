/* model/mask.h — Keras 2 masks through the graph. Internal.
 *
 * A mask marks which timesteps of a sequence are real: Embedding(mask_zero=True) and Masking
 * make one, and each layer passes it on, combines it or drops it as its Keras 2 compute_mask
 * does (tf_keras base_layer: a layer that does not support masking silently drops it). A mask
 * of a tensor of shape [B, d1, ..., dk, C] has B * d1 * ... * dk entries (1 = keep, 0 = masked).
 * Which tensors carry one is decided once at load (sc_mask_plan); the runner holds the
 * buffers and calls sc_mask_forward / sc_mask_compute per node.
 */
#ifndef SC_MODEL_MASK_H
#define SC_MODEL_MASK_H

#include "model/model_internal.h"

/* Sets tensors[t].has_mask for every tensor. Fails on a mask Keras would reject here
 * (Concatenate of masked sequences along the time axis). */
sc_status sc_mask_plan(sc_model *m, sc_error *err);
/* Entries per example of tensor t's mask. */
size_t sc_mask_len(const sc_model *m, int t);
/* 1 when node n has a masked input and its layer uses the mask in its output values (RNNs skip
 * masked steps, GlobalAveragePooling1D averages the kept ones, Masking zeroes them): then the
 * runner calls sc_mask_forward instead of the plain forward. */
int sc_mask_uses(const sc_model *m, const sc_node *n);
sc_status sc_mask_forward(const sc_node *n, int batch, const float *const *in,
                          const float *const *in_masks, float *out, float *scratch, sc_error *err);
/* The mask of tensor t, an output of node n that has_mask. in_masks[k] is NULL when input k
 * has none. */
void sc_mask_compute(const sc_model *m, const sc_node *n, int t, int batch, const float *const *in,
                     const float *const *in_masks, float *out_mask);

/* Masked forwards of the layers that consume masks (rnn.c, time_distributed.c). */
sc_status sc_rnn_forward_masked(const sc_layer *L, const sc_node *n, int batch,
                                const float *const *in, const float *mask, float *out,
                                float *scratch, sc_error *err);
int sc_rnn_returns_sequences(const sc_layer *L);
/* Outputs of an RNN / Bidirectional call that carry the input's mask (tf_keras compute_mask):
 * the sequence output(s) when returning sequences, never a state. */
int sc_rnn_output_masked(const sc_layer *L, int k);
int sc_embedding_mask_zero(const sc_layer *L);

#endif
