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
    &sc_layer_conv1d,
    &sc_layer_conv2d,
    &sc_layer_depthwise_conv2d,
    &sc_layer_separable_conv2d,
    &sc_layer_max_pooling1d,
    &sc_layer_max_pooling2d,
    &sc_layer_average_pooling1d,
    &sc_layer_average_pooling2d,
    &sc_layer_global_max_pooling1d,
    &sc_layer_global_max_pooling2d,
    &sc_layer_global_average_pooling1d,
    &sc_layer_global_average_pooling2d,
    &sc_layer_batch_normalization,
    &sc_layer_layer_normalization,
    &sc_layer_add,
    &sc_layer_subtract,
    &sc_layer_multiply,
    &sc_layer_average,
    &sc_layer_maximum,
    &sc_layer_minimum,
    &sc_layer_concatenate,
    &sc_layer_embedding,
    &sc_layer_permute,
    &sc_layer_repeat_vector,
    &sc_layer_zero_padding2d,
    &sc_layer_cropping2d,
    &sc_layer_up_sampling2d,
    &sc_layer_rescaling,
    &sc_layer_normalization,
    &sc_layer_prelu,
    &sc_layer_simple_rnn,
    &sc_layer_lstm,
    &sc_layer_gru,
    &sc_layer_bidirectional,
    &sc_layer_time_distributed,
    &sc_layer_masking,
};

const sc_layer_ops *sc_layer_lookup(const char *class_name) {
    for (size_t i = 0; i < sizeof k_layers / sizeof k_layers[0]; i++)
        if (strcmp(k_layers[i]->class_name, class_name) == 0) return k_layers[i];
    return NULL;
}
