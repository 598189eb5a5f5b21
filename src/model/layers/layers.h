/* model/layers/layers.h — one sc_layer_ops per Keras layer class. Internal. */
#ifndef SC_MODEL_LAYERS_H
#define SC_MODEL_LAYERS_H

#include <stdlib.h>

#include "model/model_internal.h"

extern const sc_layer_ops sc_layer_input;
extern const sc_layer_ops sc_layer_dense;
extern const sc_layer_ops sc_layer_activation;
extern const sc_layer_ops sc_layer_relu;
extern const sc_layer_ops sc_layer_leaky_relu;
extern const sc_layer_ops sc_layer_elu;
extern const sc_layer_ops sc_layer_softmax;
extern const sc_layer_ops sc_layer_dropout;
extern const sc_layer_ops sc_layer_spatial_dropout1d;
extern const sc_layer_ops sc_layer_spatial_dropout2d;
extern const sc_layer_ops sc_layer_spatial_dropout3d;
extern const sc_layer_ops sc_layer_gaussian_noise;
extern const sc_layer_ops sc_layer_gaussian_dropout;
extern const sc_layer_ops sc_layer_alpha_dropout;
extern const sc_layer_ops sc_layer_activity_regularization;
extern const sc_layer_ops sc_layer_flatten;
extern const sc_layer_ops sc_layer_reshape;

extern const sc_layer_ops sc_layer_conv1d;
extern const sc_layer_ops sc_layer_conv2d;
/* Conv1D/Conv2D apply their activation themselves, chunk by chunk right after each GEMM while
 * the chunk is still in cache; the runner must not apply it again. Never for softmax/sigmoid:
 * the runner keeps their pre-activation values for the logits shortcut. */
int sc_layer_fuses_activation(const sc_layer *L);
extern const sc_layer_ops sc_layer_depthwise_conv2d;
extern const sc_layer_ops sc_layer_separable_conv2d;
extern const sc_layer_ops sc_layer_max_pooling1d;
extern const sc_layer_ops sc_layer_max_pooling2d;
extern const sc_layer_ops sc_layer_average_pooling1d;
extern const sc_layer_ops sc_layer_average_pooling2d;
extern const sc_layer_ops sc_layer_global_max_pooling1d;
extern const sc_layer_ops sc_layer_global_max_pooling2d;
extern const sc_layer_ops sc_layer_global_average_pooling1d;
extern const sc_layer_ops sc_layer_global_average_pooling2d;
extern const sc_layer_ops sc_layer_batch_normalization;
extern const sc_layer_ops sc_layer_layer_normalization;
extern const sc_layer_ops sc_layer_add;
extern const sc_layer_ops sc_layer_subtract;
extern const sc_layer_ops sc_layer_multiply;
extern const sc_layer_ops sc_layer_average;
extern const sc_layer_ops sc_layer_maximum;
extern const sc_layer_ops sc_layer_minimum;
extern const sc_layer_ops sc_layer_concatenate;
extern const sc_layer_ops sc_layer_embedding;
extern const sc_layer_ops sc_layer_permute;
extern const sc_layer_ops sc_layer_repeat_vector;
extern const sc_layer_ops sc_layer_zero_padding2d;
extern const sc_layer_ops sc_layer_cropping2d;
extern const sc_layer_ops sc_layer_up_sampling2d;
extern const sc_layer_ops sc_layer_rescaling;
extern const sc_layer_ops sc_layer_normalization;
extern const sc_layer_ops sc_layer_prelu;
extern const sc_layer_ops sc_layer_simple_rnn;
extern const sc_layer_ops sc_layer_lstm;
extern const sc_layer_ops sc_layer_gru;
extern const sc_layer_ops sc_layer_bidirectional;
extern const sc_layer_ops sc_layer_time_distributed;
extern const sc_layer_ops sc_layer_masking;
extern const sc_layer_ops sc_layer_zero_padding1d;
extern const sc_layer_ops sc_layer_cropping1d;
extern const sc_layer_ops sc_layer_conv1d_transpose;
extern const sc_layer_ops sc_layer_conv2d_transpose;
extern const sc_layer_ops sc_layer_separable_conv1d;
extern const sc_layer_ops sc_layer_attention;
extern const sc_layer_ops sc_layer_additive_attention;
extern const sc_layer_ops sc_layer_einsum_dense;
extern const sc_layer_ops sc_layer_multi_head_attention;
extern const sc_layer_ops sc_layer_position_embedding_nlp;
extern const sc_layer_ops sc_layer_position_embedding_hub;
extern const sc_layer_ops sc_layer_token_position_embedding_nlp;
extern const sc_layer_ops sc_layer_token_position_embedding_hub;
/* keras_nlp TokenAndPositionEmbedding(mask_zero=True): its output carries ids != 0. */
int sc_position_embedding_mask_zero(const sc_layer *L);
/* MultiHeadAttention's forward with the Keras masks of its inputs (masks[i] NULL: none; masks
 * itself NULL: no input has one). */
sc_status sc_mha_forward_masked(const sc_layer *L, const sc_node *n, int batch,
                                const float *const *in, const float *const *masks, float *out,
                                float *scratch);
/* A shape-like option: an int, or a list of at most max ints or nulls (null -> -1); *n = 0 when
 * the option is absent or null. */
sc_status sc_cfg_dims(const sc_layer *L, const json_t *cfg, const char *key, int max, int64_t *out,
                      int *n, sc_error *err);
/* [batch, H, W, C] -> [batch, OH, OW, C], TF resize_bilinear(half_pixel_centers=True). */
void sc_resize_bilinear(const float *x, int batch, int64_t H, int64_t W, int64_t C, int64_t OH,
                        int64_t OW, float *y);

/* Shared by shape-preserving layers: output shape = the single input's shape. */
sc_status sc_infer_same_shape(sc_layer *L, sc_node *n, sc_error *err);
/* The same for layers that work on the last (feature) axis: Masking, the normalizations. An
 * input that is only a batch of scalars, shape (None,), has no such axis besides the batch and
 * is refused naming the layer. */
sc_status sc_infer_same_shape_features(sc_layer *L, sc_node *n, sc_error *err);
/* Shared forward of layers that only change the shape: copies the data. */
sc_status sc_forward_copy(const sc_layer *L, const sc_node *n, int batch, const float *const *in,
                          float *out, float *scratch, sc_error *err);

#endif
