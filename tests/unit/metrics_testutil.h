/* Helpers shared by the metric and loss tests (header-only: each test is one executable). */
#ifndef SC_TESTS_METRICS_TESTUTIL_H
#define SC_TESTS_METRICS_TESTUTIL_H

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "sidecar/metrics.h"

/* A batch view with its own dims storage. */
typedef struct tbatch {
    int64_t yd[3], pd[3];
    sc_metric_batch b;
} tbatch;

/* yr/pr: per-sample ranks (0..2); dims a, b fill yd/pd in order. */
static inline void tb_init(tbatch *t, size_t n, const float *y, int yr, int64_t y0, int64_t y1,
                           const float *p, int pr, int64_t p0, int64_t p1, const float *w) {
    t->yd[0] = y0;
    t->yd[1] = y1;
    t->pd[0] = p0;
    t->pd[1] = p1;
    t->b = (sc_metric_batch){.batch = n,
                             .y_true = y,
                             .true_rank = yr,
                             .true_dims = t->yd,
                             .y_pred = p,
                             .pred_rank = pr,
                             .pred_dims = t->pd,
                             .sample_weight = w};
}

/* xorshift64*: deterministic across platforms. */
static inline uint64_t rng_next(uint64_t *s) {
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ull;
}
static inline float rng_unit(uint64_t *s) { /* [0, 1) with 24 random bits */
    return (float)(rng_next(s) >> 40) / 16777216.0f;
}
static inline int rng_int(uint64_t *s, int n) { return (int)(rng_next(s) % (uint64_t)n); }

static inline int near_rel(double a, double b, double tol) {
    if (isnan(a) || isnan(b)) return 0;
    return fabs(a - b) <= tol * fmax(1.0, fabs(b));
}

#define assert_near(a, b, tol)                                                                     \
    do {                                                                                           \
        double a_ = (a), b_ = (b);                                                                 \
        if (!near_rel(a_, b_, (tol))) fail_msg("%s = %.9g, expected %.9g", #a, a_, b_);            \
    } while (0)

#endif
