/* The float32 GEMM behind tensor/gemm.h. */
#include "tensor/gemm.h"

#include "tensor/engine.h"

/* oneDNN's sgemm is row-major like ours and runs on the same OpenMP pool as the primitives:
 * one pool, no OpenBLAS pthreads competing for the 2 cores (issue 10). */
void sc_gemm_f32(int trans_a, int trans_b, int M, int N, int K, float alpha, const float *A,
                 int lda, const float *B, int ldb, float beta, float *C, int ldc) {
    if (M <= 0 || N <= 0) return;
    sc_engine_apply_threads();
    dnnl_sgemm(trans_a ? 'T' : 'N', trans_b ? 'T' : 'N', M, N, K, alpha, A, lda, B, ldb, beta, C,
               ldc);
}
