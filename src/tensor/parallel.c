/* Independent work items on the engine's OpenMP pool (tensor/parallel.h). */
#include "tensor/parallel.h"

#include <omp.h>

#include "tensor/engine.h"

void sc_parallel_for(int n, void (*fn)(void *ctx, int i), void *ctx) {
    if (n <= 0) return;
    sc_engine_apply_threads();
    int threads = sc_engine_threads();
    if (threads > n) threads = n;
    if (threads <= 1) {
        for (int i = 0; i < n; i++) fn(ctx, i);
        return;
    }
#pragma omp parallel for num_threads(threads) schedule(dynamic)
    for (int i = 0; i < n; i++) fn(ctx, i);
}
