/* model/layers/engine_info.h — what the oneDNN plan (model/dnnl_plan.c) needs to know about a
 * layer it runs as a primitive or folds into one. Internal. Each returns 0 for a layer of
 * another class. */
#ifndef SC_MODEL_ENGINE_INFO_H
#define SC_MODEL_ENGINE_INFO_H

#include "model/layers/conv_geom.h"

/* Conv1D/Conv2D: its geometry (Conv1D as a 2-D convolution of height 1) and 1. */
int sc_conv_engine_geometry(const sc_layer *L, sc_conv_geom *g);
/* DepthwiseConv2D/SeparableConv2D: geometry of the depthwise part, depth multiplier, and
 * whether a pointwise kernel follows. */
int sc_dw_engine_info(const sc_layer *L, sc_conv_geom *g, int64_t *dm, int *separable);
/* Max/Average Pooling1D/2D and the global poolings (one window over the input of node n). */
int sc_pool_engine_info(const sc_layer *L, const sc_node *n, sc_conv_geom *g, int *is_max,
                        int *global);
/* BatchNormalization: its inference parameters (gamma/beta NULL when absent). */
int sc_bn_engine_params(const sc_layer *L, const float **gamma, const float **beta,
                        const float **mean, const float **var, float *eps);
/* Activation('relu'|'relu6') or a plain ReLU layer: that activation. */
int sc_relu_engine_act(const sc_layer *L, sc_activation *act);

#endif
