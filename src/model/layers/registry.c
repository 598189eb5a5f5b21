/* The layer registry: Keras class_name -> ops. Adding a layer = one file + one line here. */
#include <string.h>

#include "model/layers/layers.h"

static const sc_layer_ops *const k_layers[] = {
    &sc_layer_input,
    &sc_layer_dense,
    &sc_layer_activation,
    &sc_layer_relu,
    &sc_layer_leaky_relu,
    &sc_layer_elu,
    &sc_layer_softmax,
    &sc_layer_dropout,
    &sc_layer_spatial_dropout1d,
    &sc_layer_spatial_dropout2d,
    &sc_layer_spatial_dropout3d,
    &sc_layer_gaussian_noise,
    &sc_layer_gaussian_dropout,
    &sc_layer_alpha_dropout,
    &sc_layer_activity_regularization,
    &sc_layer_flatten,
    &sc_layer_reshape,
};

const sc_layer_ops *sc_layer_lookup(const char *class_name) {
    for (size_t i = 0; i < sizeof k_layers / sizeof k_layers[0]; i++)
        if (strcmp(k_layers[i]->class_name, class_name) == 0) return k_layers[i];
    return NULL;
}
