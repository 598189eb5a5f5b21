/* tensor/gemm.h — the engine's one entry point for a plain float32 matrix product.
 *
 * Every layer that needs C = alpha * op(A) @ op(B) + beta * C on row-major float32 matrices calls
 * this, so the backend behind it (oneDNN's dnnl_sgemm on the engine's OpenMP pool, tensor/engine.c)
 * is chosen in one place. Layers with a dedicated engine primitive (Dense, convolutions) may use
 * that instead; recurrent cells and attention products go through here.
 */
#ifndef SC_TENSOR_GEMM_H
#define SC_TENSOR_GEMM_H

/* Row-major: A is [M, K] (or [K, M] when trans_a), B is [K, N] (or [N, K] when trans_b),
 * C is [M, N]; lda/ldb/ldc are the row strides in elements. */
void sc_gemm_f32(int trans_a, int trans_b, int M, int N, int K, float alpha, const float *A,
                 int lda, const float *B, int ldb, float beta, float *C, int ldc);

#endif
