/* Layers that are the identity at evaluation: the dropout and noise family (Keras applies them
 * only when training=True) and ActivityRegularization (a training-time loss only). InputLayer
 * is here too: it is never called (the graph builder turns it into a model input). */
#include <string.h>

#include "core/error.h"
#include "model/layers/layers.h"

sc_status sc_infer_same_shape(sc_layer *L, sc_node *n, sc_error *err) {
    if (n->num_inputs != 1)
        return sc_error_set(err, SC_INVALID_ARGUMENT, "layer '%s' (%s): expects one input", L->name,
                            L->class_name);
    n->out_shape = n->in_shape[0];
    return SC_OK;
}

sc_status sc_infer_same_shape_features(sc_layer *L, sc_node *n, sc_error *err) {
    sc_status s = sc_infer_same_shape(L, n, err);
    if (s == SC_OK && n->in_shape[0].rank < 1)
        return sc_error_set(err, SC_INVALID_ARGUMENT,
                            "layer '%s' (%s): its input has no axis besides the batch (shape "
                            "(None,)); it works on the last axis of (None, ..., features)",
                            L->name, L->class_name);
    return s;
}

sc_status sc_forward_copy(const sc_layer *L, const sc_node *n, int batch, const float *const *in,
                          float *out, float *scratch, sc_error *err) {
    (void)L;
    (void)scratch;
    (void)err;
    memcpy(out, in[0], (size_t)batch * (size_t)sc_shape_elems(&n->in_shape[0]) * sizeof(float));
    return SC_OK;
}

static sc_status never(sc_layer *L, sc_node *n, sc_error *err) {
    (void)n;
    return sc_error_set(err, SC_INVALID_ARGUMENT, "InputLayer '%s' is called like a layer",
                        L->name);
}

const sc_layer_ops sc_layer_input = {"InputLayer", NULL, never, NULL, sc_forward_copy, NULL};
const sc_layer_ops sc_layer_dropout = {"Dropout",       NULL, sc_infer_same_shape, NULL,
                                       sc_forward_copy, NULL};
const sc_layer_ops sc_layer_spatial_dropout1d = {
    "SpatialDropout1D", NULL, sc_infer_same_shape, NULL, sc_forward_copy, NULL};
const sc_layer_ops sc_layer_spatial_dropout2d = {
    "SpatialDropout2D", NULL, sc_infer_same_shape, NULL, sc_forward_copy, NULL};
const sc_layer_ops sc_layer_spatial_dropout3d = {
    "SpatialDropout3D", NULL, sc_infer_same_shape, NULL, sc_forward_copy, NULL};
const sc_layer_ops sc_layer_gaussian_noise = {"GaussianNoise", NULL, sc_infer_same_shape, NULL,
                                              sc_forward_copy, NULL};
const sc_layer_ops sc_layer_gaussian_dropout = {"GaussianDropout", NULL, sc_infer_same_shape, NULL,
                                                sc_forward_copy,   NULL};
const sc_layer_ops sc_layer_alpha_dropout = {"AlphaDropout",  NULL, sc_infer_same_shape, NULL,
                                             sc_forward_copy, NULL};
const sc_layer_ops sc_layer_activity_regularization = {
    "ActivityRegularization", NULL, sc_infer_same_shape, NULL, sc_forward_copy, NULL};
