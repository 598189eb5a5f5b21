/* summary/reservoir.c — TensorBoard's reservoir of scalar points (reservoir.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "summary/reservoir.h"

static uint64_t next_rand(uint64_t *x) { /* splitmix64 */
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

void sc_reservoir_init(sc_reservoir *r, size_t max, uint64_t seed) {
    memset(r, 0, sizeof *r);
    r->max = max == 1 ? 2 : max; /* room for the pinned first point and the newest */
    r->rng = seed;
    r->sorted = 1;
}

void sc_reservoir_free(sc_reservoir *r) {
    free(r->pts);
    free(r->seq);
    memset(r, 0, sizeof *r);
}

static void track(sc_reservoir *r, const sc_scalar_point *p) {
    r->last = *p;
    if (!isfinite(p->value)) return;
    if (!r->has_finite || p->value < r->min.value) r->min = *p;
    if (!r->has_finite || p->value > r->max_pt.value) r->max_pt = *p;
    r->has_finite = 1;
}

int sc_reservoir_add(sc_reservoir *r, const sc_scalar_point *p) {
    if (r->max == 0 || r->n < r->max) {
        if (r->n == r->cap) {
            size_t cap = r->cap ? r->cap * 2 : 64;
            if (r->max && cap > r->max) cap = r->max;
            sc_scalar_point *np = realloc(r->pts, cap * sizeof *np);
            if (!np) return -1;
            r->pts = np;
            uint64_t *ns = realloc(r->seq, cap * sizeof *ns);
            if (!ns) return -1;
            r->seq = ns;
            r->cap = cap;
        }
        r->pts[r->n] = *p;
        r->seq[r->n] = r->next_seq;
        r->newest = r->n++;
    } else {
        /* Slots 1 .. max-1 hold a reservoir over the points after the first (slot 0). */
        uint64_t k = r->seen; /* points after the first offered before this one, plus one */
        uint64_t pick = (uint64_t)(((unsigned __int128)next_rand(&r->rng) * k) >> 64);
        size_t slot = pick < r->max - 1 ? (size_t)pick + 1 : r->newest;
        if (slot == 0) slot = r->newest; /* never the pinned first point */
        r->pts[slot] = *p;
        r->seq[slot] = r->next_seq;
        r->newest = slot;
        r->sorted = 0;
    }
    r->next_seq++;
    r->seen++;
    track(r, p);
    return 0;
}

static int cmp_seq(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

void sc_reservoir_sort(sc_reservoir *r) {
    if (r->sorted) return;
    /* Sort (seq, index) pairs, then permute: points are 24 bytes, pairs 16. */
    uint64_t(*pairs)[2] = malloc(r->n * sizeof *pairs);
    sc_scalar_point *tmp = malloc(r->n * sizeof *tmp);
    if (pairs && tmp) {
        for (size_t i = 0; i < r->n; i++) {
            pairs[i][0] = r->seq[i];
            pairs[i][1] = i;
        }
        qsort(pairs, r->n, sizeof *pairs, cmp_seq);
        for (size_t i = 0; i < r->n; i++) tmp[i] = r->pts[pairs[i][1]];
        for (size_t i = 0; i < r->n; i++) r->seq[i] = pairs[i][0];
        memcpy(r->pts, tmp, r->n * sizeof *tmp);
        r->newest = r->n ? r->n - 1 : 0;
        r->sorted = 1;
    }
    free(pairs);
    free(tmp);
}

size_t sc_reservoir_purge(sc_reservoir *r, int64_t step) {
    sc_reservoir_sort(r); /* the earliest kept point becomes the pinned first one */
    size_t k = 0, before = r->n;
    for (size_t i = 0; i < r->n; i++)
        if (r->pts[i].step < step) {
            r->pts[k] = r->pts[i];
            r->seq[k++] = r->seq[i];
        }
    if (k == before) return 0;
    r->n = k;
    r->newest = k ? k - 1 : 0;
    /* TensorBoard scales its count of points seen by the fraction kept. */
    r->seen = (uint64_t)llround((double)r->seen * ((double)k / (double)before));
    r->has_finite = 0;
    memset(&r->last, 0, sizeof r->last);
    for (size_t i = 0; i < k; i++) track(r, &r->pts[i]);
    return before - k;
}
