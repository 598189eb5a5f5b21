/* tools/demo_common.h — the demo trainer's dataset and model, header-only because every
 * .c file in tools/ becomes its own executable.
 *
 * Dataset: DEMO_CLASSES Gaussian blobs in DEMO_FEATURES dimensions. Each class centre has
 * coordinates drawn from N(0, DEMO_SPREAD^2) and each sample is its centre plus N(0, 1) noise, so
 * the classes overlap a little: an MLP learns them over a few epochs of plain SGD and accuracy
 * climbs visibly from chance (1/DEMO_CLASSES) instead of jumping to 100% in the first epoch.
 * Everything comes from one seed through splitmix64, so a run is reproducible on any host.
 *
 * Model: Dense(DEMO_HIDDEN, relu) -> Dense(DEMO_CLASSES, softmax), trained on the sparse
 * softmax cross-entropy with minibatch SGD. Weights are row-major [in, out] like Keras' Dense
 * kernel, so they go into a checkpoint as they are.
 */
#ifndef SC_TOOLS_DEMO_COMMON_H
#define SC_TOOLS_DEMO_COMMON_H

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define DEMO_FEATURES 16
#define DEMO_HIDDEN   32
#define DEMO_CLASSES  4
#define DEMO_SPREAD   0.7

/* ---- random numbers ------------------------------------------------------------------------ */

typedef struct demo_rng {
    uint64_t state;
} demo_rng;

/* Distinct streams (centres, train split, eval split, init, shuffling) from one seed. */
static inline demo_rng demo_rng_make(uint64_t seed, uint64_t stream) {
    demo_rng r = {seed ^ (stream * UINT64_C(0xD1B54A32D192ED03))};
    return r;
}

static inline uint64_t demo_rng_next(demo_rng *r) { /* splitmix64 */
    uint64_t z = (r->state += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

/* Uniform in [0, 1). */
static inline double demo_rng_uniform(demo_rng *r) {
    return (double)(demo_rng_next(r) >> 11) * 0x1.0p-53;
}

/* Uniform in [0, n), n > 0 (the modulo bias is far below anything a demo can notice). */
static inline uint64_t demo_rng_below(demo_rng *r, uint64_t n) { return demo_rng_next(r) % n; }

/* Standard normal (Box-Muller; 1 - u keeps the logarithm finite). */
static inline double demo_rng_normal(demo_rng *r) {
    double u = demo_rng_uniform(r), v = demo_rng_uniform(r);
    return sqrt(-2.0 * log(1.0 - u)) * cos(2.0 * 3.14159265358979323846 * v);
}

/* ---- dataset ------------------------------------------------------------------------------- */

enum {
    DEMO_STREAM_CENTRES = 1,
    DEMO_STREAM_TRAIN,
    DEMO_STREAM_EVAL,
    DEMO_STREAM_INIT,
    DEMO_STREAM_SHUFFLE
};

/* Fills x[n][DEMO_FEATURES] and y[n] with samples of the blobs of `seed`, from `stream`. */
static inline void demo_make_blobs(uint64_t seed, uint64_t stream, size_t n, float *x, int64_t *y) {
    double centres[DEMO_CLASSES][DEMO_FEATURES];
    demo_rng rc = demo_rng_make(seed, DEMO_STREAM_CENTRES);
    for (int k = 0; k < DEMO_CLASSES; k++)
        for (int j = 0; j < DEMO_FEATURES; j++) centres[k][j] = DEMO_SPREAD * demo_rng_normal(&rc);
    demo_rng r = demo_rng_make(seed, stream);
    for (size_t i = 0; i < n; i++) {
        int k = (int)demo_rng_below(&r, DEMO_CLASSES);
        y[i] = k;
        for (int j = 0; j < DEMO_FEATURES; j++)
            x[i * DEMO_FEATURES + j] = (float)(centres[k][j] + demo_rng_normal(&r));
    }
}

/* ---- model --------------------------------------------------------------------------------- */

typedef struct demo_mlp {
    /* parameters */
    float w1[DEMO_FEATURES * DEMO_HIDDEN]; /* [DEMO_FEATURES, DEMO_HIDDEN] */
    float b1[DEMO_HIDDEN];
    float w2[DEMO_HIDDEN * DEMO_CLASSES]; /* [DEMO_HIDDEN, DEMO_CLASSES] */
    float b2[DEMO_CLASSES];
    /* gradients of the last batch, same shapes */
    float gw1[DEMO_FEATURES * DEMO_HIDDEN];
    float gb1[DEMO_HIDDEN];
    float gw2[DEMO_HIDDEN * DEMO_CLASSES];
    float gb2[DEMO_CLASSES];
} demo_mlp;

/* Keras' defaults: GlorotUniform kernels (limit sqrt(6 / (fan_in + fan_out))), zero biases. */
static inline void demo_mlp_init(demo_mlp *m, uint64_t seed) {
    demo_rng r = demo_rng_make(seed, DEMO_STREAM_INIT);
    double l1 = sqrt(6.0 / (DEMO_FEATURES + DEMO_HIDDEN));
    double l2 = sqrt(6.0 / (DEMO_HIDDEN + DEMO_CLASSES));
    memset(m, 0, sizeof *m);
    for (size_t i = 0; i < DEMO_FEATURES * DEMO_HIDDEN; i++)
        m->w1[i] = (float)((2.0 * demo_rng_uniform(&r) - 1.0) * l1);
    for (size_t i = 0; i < DEMO_HIDDEN * DEMO_CLASSES; i++)
        m->w2[i] = (float)((2.0 * demo_rng_uniform(&r) - 1.0) * l2);
}

/* One SGD step on the rows idx[0..b) of x/y (b > 0), allocating nothing. Returns the summed
 * cross-entropy of the batch (computed before the update) and adds the correct predictions to
 * *correct. */
static inline double demo_mlp_step(demo_mlp *m, const float *x, const int64_t *y, const size_t *idx,
                                   size_t b, float lr, size_t *correct) {
    double loss = 0.0;
    memset(m->gw1, 0, sizeof m->gw1);
    memset(m->gb1, 0, sizeof m->gb1);
    memset(m->gw2, 0, sizeof m->gw2);
    memset(m->gb2, 0, sizeof m->gb2);

    for (size_t s = 0; s < b; s++) {
        const float *xi = x + idx[s] * DEMO_FEATURES;
        float h[DEMO_HIDDEN], p[DEMO_CLASSES]; /* activations, then p holds dLoss/dlogits */
        int label = (int)y[idx[s]];
        /* forward */
        for (int o = 0; o < DEMO_HIDDEN; o++) h[o] = m->b1[o];
        for (int i = 0; i < DEMO_FEATURES; i++)
            for (int o = 0; o < DEMO_HIDDEN; o++) h[o] += xi[i] * m->w1[i * DEMO_HIDDEN + o];
        for (int o = 0; o < DEMO_HIDDEN; o++) h[o] = h[o] > 0.0f ? h[o] : 0.0f;
        for (int o = 0; o < DEMO_CLASSES; o++) p[o] = m->b2[o];
        for (int i = 0; i < DEMO_HIDDEN; i++)
            for (int o = 0; o < DEMO_CLASSES; o++) p[o] += h[i] * m->w2[i * DEMO_CLASSES + o];
        int best = 0;
        float zmax = p[0];
        for (int o = 1; o < DEMO_CLASSES; o++)
            if (p[o] > zmax) zmax = p[best = o];
        double sum = 0.0;
        for (int o = 0; o < DEMO_CLASSES; o++) sum += exp((double)(p[o] - zmax));
        loss += log(sum) - (double)(p[label] - zmax);
        if (best == label) ++*correct;
        /* dLoss/dlogits of the batch mean: (softmax - onehot) / b */
        for (int o = 0; o < DEMO_CLASSES; o++) {
            double g = exp((double)(p[o] - zmax)) / sum - (o == label ? 1.0 : 0.0);
            p[o] = (float)(g / (double)b);
        }
        /* backward: layer 2, then through the relu into layer 1 */
        for (int o = 0; o < DEMO_CLASSES; o++) m->gb2[o] += p[o];
        for (int i = 0; i < DEMO_HIDDEN; i++) {
            float dh = 0.0f;
            for (int o = 0; o < DEMO_CLASSES; o++) {
                m->gw2[i * DEMO_CLASSES + o] += h[i] * p[o];
                dh += m->w2[i * DEMO_CLASSES + o] * p[o];
            }
            if (h[i] <= 0.0f) continue;
            m->gb1[i] += dh;
            for (int j = 0; j < DEMO_FEATURES; j++) m->gw1[j * DEMO_HIDDEN + i] += xi[j] * dh;
        }
    }
    for (size_t i = 0; i < DEMO_FEATURES * DEMO_HIDDEN; i++) m->w1[i] -= lr * m->gw1[i];
    for (size_t i = 0; i < DEMO_HIDDEN; i++) m->b1[i] -= lr * m->gb1[i];
    for (size_t i = 0; i < DEMO_HIDDEN * DEMO_CLASSES; i++) m->w2[i] -= lr * m->gw2[i];
    for (size_t i = 0; i < DEMO_CLASSES; i++) m->b2[i] -= lr * m->gb2[i];
    return loss;
}

#endif
