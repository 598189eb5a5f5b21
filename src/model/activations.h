/* model/activations.h — every activation Keras names, applied in place. Internal. */
#ifndef SC_MODEL_ACTIVATIONS_H
#define SC_MODEL_ACTIVATIONS_H

#include <stddef.h>

typedef enum sc_activation {
    SC_ACT_LINEAR = 0,
    SC_ACT_RELU,
    SC_ACT_RELU6,
    SC_ACT_SIGMOID,
    SC_ACT_HARD_SIGMOID_K2, /* Keras 2: clip(0.2x + 0.5, 0, 1) */
    SC_ACT_HARD_SIGMOID_K3, /* Keras 3: relu6(x + 3) / 6 */
    SC_ACT_HARD_SILU,       /* Keras 3 hard_silu / hard_swish: x * hard_sigmoid_k3(x) */
    SC_ACT_TANH,
    SC_ACT_SOFTMAX, /* over the last axis */
    SC_ACT_LOG_SOFTMAX,
    SC_ACT_SOFTPLUS,
    SC_ACT_SOFTSIGN,
    SC_ACT_ELU,
    SC_ACT_SELU,
    SC_ACT_GELU,        /* exact: x/2 (1 + erf(x / sqrt 2)) */
    SC_ACT_GELU_APPROX, /* tanh approximation */
    SC_ACT_SWISH,       /* = silu: x sigmoid(x) */
    SC_ACT_EXPONENTIAL,
    SC_ACT_LEAKY_RELU, /* negative slope 0.2 (Keras 3 activation default) */
    SC_ACT_MISH,
    SC_ACT_COUNT
} sc_activation;

/* Resolves a Keras activation name; keras3 selects the Keras 3 meaning of hard_sigmoid.
 * Returns -1 for an unknown name. */
int sc_activation_from_name(const char *name, int keras3, sc_activation *out);
const char *sc_activation_name(sc_activation a);

/* x[0 .. rows*last) in place; last is the size of the last axis (softmax normalises over it). */
void sc_activation_apply(sc_activation a, float *x, size_t rows, size_t last);

#endif
