/* tensor/parallel.h — independent work items on the engine's OpenMP pool. Internal.
 *
 * For layers whose work splits into many small independent products (attention: one pair of
 * GEMMs per example and head), running the items side by side on single-threaded GEMMs beats
 * threading each small GEMM. sc_gemm_f32 called from inside an item runs on the calling thread
 * only (oneDNN's sgemm does not nest parallel regions).
 */
#ifndef SC_TENSOR_PARALLEL_H
#define SC_TENSOR_PARALLEL_H

/* Calls fn(ctx, i) for i in [0, n), handed out one at a time to the engine's threads
 * (sc_engine_threads: a thread the OS holds back does not hold the others back), in no
 * particular order; returns when all are done. fn must not allocate or fail. */
void sc_parallel_for(int n, void (*fn)(void *ctx, int i), void *ctx);

#endif
