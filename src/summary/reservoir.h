/* summary/reservoir.h — one tag's points as TensorBoard keeps them. Internal.
 *
 * With max == 0 every point is kept. Otherwise this is TensorBoard's reservoir (its
 * EventAccumulator's size guidance, 1000 for scalars): once full, the k-th point offered
 * replaces a uniformly chosen kept point with probability max/k, and otherwise replaces the
 * newest kept point (always_keep_last), so the newest point is always there. We also pin the
 * first point, so the kept points span the whole series. Replacement is in place (TensorBoard
 * pops and appends, which costs a memmove per replacement); points carry their arrival number
 * and sc_reservoir_sort() restores arrival order. The generator is seeded: same input, same
 * points.
 *
 * The newest point and the lowest/highest finite values are tracked over every point offered;
 * after a purge they are recomputed from the kept points (exact when nothing was sampled).
 */
#ifndef SC_SUMMARY_RESERVOIR_H
#define SC_SUMMARY_RESERVOIR_H

#include <stddef.h>
#include <stdint.h>

#include "sidecar/events.h"

typedef struct sc_reservoir {
    size_t max; /* 0: keep all */
    sc_scalar_point *pts;
    uint64_t *seq; /* arrival number of pts[i] */
    size_t n, cap;
    size_t newest; /* index of the newest kept point */
    int sorted;    /* pts in arrival order */
    uint64_t seen; /* points offered (TensorBoard's estimate after a purge) */
    uint64_t next_seq;
    uint64_t rng;
    sc_scalar_point last; /* newest point offered */
    int has_finite;
    sc_scalar_point min, max_pt;
} sc_reservoir;

void sc_reservoir_init(sc_reservoir *r, size_t max, uint64_t seed);
void sc_reservoir_free(sc_reservoir *r);
/* Returns 0, or -1 when out of memory (the point is then lost, nothing else). */
int sc_reservoir_add(sc_reservoir *r, const sc_scalar_point *p);
/* Drops the kept points with step >= step; returns how many were dropped. */
size_t sc_reservoir_purge(sc_reservoir *r, int64_t step);
void sc_reservoir_sort(sc_reservoir *r);

#endif
