/* report/downsample.h — TensorBoard-style reservoir downsampling of a series. Internal.
 *
 * TensorBoard keeps at most N points per scalar series (1000 by default) with a reservoir
 * sample that always keeps the newest point. The report does the same and also keeps the
 * first point, so a chart always spans the whole run: of n > k points it keeps index 0, index
 * n-1 and a uniform random sample of k-2 of the others (Algorithm R), returned in ascending
 * order. The generator is seeded, so the same input always gives the same page.
 */
#ifndef SC_REPORT_DOWNSAMPLE_H
#define SC_REPORT_DOWNSAMPLE_H

#include <stddef.h>
#include <stdint.h>

/* Writes the kept indices (ascending) into idx, which has room for min(n, k); returns their
 * count. k < 2 is taken as 2 (first and last) when n >= 2. */
size_t sc_downsample(size_t n, size_t k, uint64_t seed, size_t *idx);

#endif
