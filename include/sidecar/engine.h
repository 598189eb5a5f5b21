/* sidecar/engine.h — the compute engine behind the forward pass (oneDNN, CPU).
 *
 * One engine per process: oneDNN's CPU engine with its OpenMP thread pool, which also runs
 * every float32 matrix product (there is no second BLAS pool). Dense and convolution layers
 * run as oneDNN primitives created once per (runner, batch shape) and reused; their weights are
 * reordered into oneDNN's preferred layout once per bound checkpoint.
 *
 * Threads: 0 (the default) leaves oneDNN's OpenMP default, i.e. OMP_NUM_THREADS when set,
 * else one thread per online CPU. The setting applies to every later forward pass of the
 * calling process. OpenMP workers sleep (futex) after a short spin once a batch is done, so
 * the process is idle between checkpoints (README "Compute engine" has the measurement).
 */
#ifndef SIDECAR_ENGINE_H
#define SIDECAR_ENGINE_H

#include <stddef.h>

/* n >= 1: use n threads; 0: the default described above. Negative values are treated as 0. */
void sc_engine_set_threads(int n);
/* Threads the next forward pass will use. */
int sc_engine_threads(void);
/* Winograd F(4x4, 3x3) for 3x3 stride-1 Conv2Ds between two blocked edges (on by default;
 * read when a runner creates its primitives, i.e. on its first pass). Its rounding differs from the direct convolution's by a
 * few float32 ulps of the layer's sums (README "Compute engine" has the measured error). */
void sc_engine_set_winograd(int on);
int sc_engine_winograd(void);
/* Folding a BatchNormalization (and a relu/relu6 layer) into the Dense/convolution before it
 * (on by default; read when a runner is created). Off: every layer runs on its own, as
 * written (for comparisons of the folded weights' rounding). */
void sc_engine_set_fold(int on);
int sc_engine_fold(void);
/* oneDNN for the layers (on by default; read when a runner is created). Off: every layer
 * runs its own C forward, the reference the engine is tested against. */
void sc_engine_set_layers(int on);
int sc_engine_layers(void);
/* "oneDNN 2.6.3 (cpu omp), ISA avx512_core, 2 threads" into buf; returns buf. */
const char *sc_engine_describe(char *buf, size_t cap);

#endif
