/* model/activations.c — Keras activations in float32, matching Keras' formulas (numerically
 * stable forms where Keras/TF use them: softplus, softmax, sigmoid). */
#include <math.h>
#include <string.h>

#include "core/nanmath.h"
#include "model/activations.h"

static const struct {
    const char *name;
    sc_activation act;
} k_names[] = {
    {"linear", SC_ACT_LINEAR},
    {"relu", SC_ACT_RELU},
    {"relu6", SC_ACT_RELU6},
    {"sigmoid", SC_ACT_SIGMOID},
    {"tanh", SC_ACT_TANH},
    {"softmax", SC_ACT_SOFTMAX},
    {"log_softmax", SC_ACT_LOG_SOFTMAX},
    {"softplus", SC_ACT_SOFTPLUS},
    {"softsign", SC_ACT_SOFTSIGN},
    {"elu", SC_ACT_ELU},
    {"selu", SC_ACT_SELU},
    {"gelu", SC_ACT_GELU},
    {"swish", SC_ACT_SWISH},
    {"silu", SC_ACT_SWISH},
    {"exponential", SC_ACT_EXPONENTIAL},
    {"leaky_relu", SC_ACT_LEAKY_RELU},
    {"mish", SC_ACT_MISH},
    {"hard_silu", SC_ACT_HARD_SILU},
    {"hard_swish", SC_ACT_HARD_SILU},
};

int sc_activation_from_name(const char *name, int keras3, sc_activation *out) {
    if (!name) return -1;
    if (strcmp(name, "hard_sigmoid") == 0) {
        *out = keras3 ? SC_ACT_HARD_SIGMOID_K3 : SC_ACT_HARD_SIGMOID_K2;
        return 0;
    }
    if (strcmp(name, "gelu_approximate") == 0) { /* our name for gelu(approximate=True) */
        *out = SC_ACT_GELU_APPROX;
        return 0;
    }
    for (size_t i = 0; i < sizeof k_names / sizeof k_names[0]; i++)
        if (strcmp(name, k_names[i].name) == 0) {
            *out = k_names[i].act;
            return 0;
        }
    return -1;
}

const char *sc_activation_name(sc_activation a) {
    switch (a) {
    case SC_ACT_HARD_SIGMOID_K2:
    case SC_ACT_HARD_SIGMOID_K3: return "hard_sigmoid";
    case SC_ACT_GELU_APPROX: return "gelu_approximate";
    default: break;
    }
    for (size_t i = 0; i < sizeof k_names / sizeof k_names[0]; i++)
        if (k_names[i].act == a) return k_names[i].name;
    return "unknown";
}

static inline float sigmoidf(float x) {
    /* Stable on both sides: never exp of a large positive number. */
    if (x >= 0) return 1.0f / (1.0f + expf(-x));
    float e = expf(x);
    return e / (1.0f + e);
}

static inline float softplusf(float x) {
    /* log(1 + e^x) = max(x, 0) + log1p(e^-|x|) */
    return fmaxf(x, 0.0f) + log1pf(expf(-fabsf(x)));
}

static void softmax_rows(float *x, size_t rows, size_t last, int log_form) {
    for (size_t r = 0; r < rows; r++) {
        float *v = x + r * last;
        float m = -INFINITY;
        for (size_t i = 0; i < last; i++) m = sc_maxf(m, v[i]);
        float s = 0.0f;
        for (size_t i = 0; i < last; i++) s += expf(v[i] - m);
        if (log_form) {
            float ls = logf(s);
            for (size_t i = 0; i < last; i++) v[i] = v[i] - m - ls;
        } else {
            for (size_t i = 0; i < last; i++) v[i] = expf(v[i] - m) / s;
        }
    }
}

void sc_activation_apply(sc_activation a, float *x, size_t rows, size_t last) {
    size_t n = rows * last;
    const float selu_alpha = 1.67326324f, selu_scale = 1.05070098f;
    switch (a) {
    case SC_ACT_LINEAR: return;
    case SC_ACT_RELU:
        for (size_t i = 0; i < n; i++) x[i] = sc_maxf(x[i], 0.0f);
        return;
    case SC_ACT_RELU6:
        for (size_t i = 0; i < n; i++) x[i] = sc_clampf(x[i], 0.0f, 6.0f);
        return;
    case SC_ACT_SIGMOID:
        for (size_t i = 0; i < n; i++) x[i] = sigmoidf(x[i]);
        return;
    case SC_ACT_HARD_SIGMOID_K2:
        for (size_t i = 0; i < n; i++) x[i] = sc_clampf(0.2f * x[i] + 0.5f, 0.0f, 1.0f);
        return;
    case SC_ACT_HARD_SIGMOID_K3:
        for (size_t i = 0; i < n; i++) x[i] = sc_clampf(x[i] + 3.0f, 0.0f, 6.0f) / 6.0f;
        return;
    case SC_ACT_HARD_SILU:
        for (size_t i = 0; i < n; i++) x[i] *= sc_clampf(x[i] + 3.0f, 0.0f, 6.0f) / 6.0f;
        return;
    case SC_ACT_TANH:
        for (size_t i = 0; i < n; i++) x[i] = tanhf(x[i]);
        return;
    case SC_ACT_SOFTMAX: softmax_rows(x, rows, last, 0); return;
    case SC_ACT_LOG_SOFTMAX: softmax_rows(x, rows, last, 1); return;
    case SC_ACT_SOFTPLUS:
        for (size_t i = 0; i < n; i++) x[i] = softplusf(x[i]);
        return;
    case SC_ACT_SOFTSIGN:
        for (size_t i = 0; i < n; i++) x[i] = x[i] / (1.0f + fabsf(x[i]));
        return;
    case SC_ACT_ELU:
        for (size_t i = 0; i < n; i++) x[i] = x[i] > 0 ? x[i] : expm1f(x[i]);
        return;
    case SC_ACT_SELU:
        for (size_t i = 0; i < n; i++)
            x[i] = selu_scale * (x[i] > 0 ? x[i] : selu_alpha * expm1f(x[i]));
        return;
    case SC_ACT_GELU:
        for (size_t i = 0; i < n; i++) x[i] = 0.5f * x[i] * (1.0f + erff(x[i] * 0.70710678f));
        return;
    case SC_ACT_GELU_APPROX:
        for (size_t i = 0; i < n; i++) {
            float v = x[i];
            x[i] = 0.5f * v * (1.0f + tanhf(0.7978845608f * (v + 0.044715f * v * v * v)));
        }
        return;
    case SC_ACT_SWISH:
        for (size_t i = 0; i < n; i++) x[i] *= sigmoidf(x[i]);
        return;
    case SC_ACT_EXPONENTIAL:
        for (size_t i = 0; i < n; i++) x[i] = expf(x[i]);
        return;
    case SC_ACT_LEAKY_RELU:
        for (size_t i = 0; i < n; i++) x[i] = x[i] > 0 ? x[i] : 0.2f * x[i];
        return;
    case SC_ACT_MISH:
        for (size_t i = 0; i < n; i++) x[i] *= tanhf(softplusf(x[i]));
        return;
    case SC_ACT_COUNT: return;
    }
}
