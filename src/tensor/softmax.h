/* tensor/softmax.h — row softmax for attention scores. Internal.
 *
 * exp(x - max) / sum over each row, with a vectorized exp (Cephes' single-precision polynomial,
 * within 2 ulp of expf; exactly 0 below -87.3, where expf is 0 or subnormal). Attention
 * computes this over B * heads * T * S scores, where libm's scalar expf dominated the layer.
 */
#ifndef SC_TENSOR_SOFTMAX_H
#define SC_TENSOR_SOFTMAX_H

#include <stddef.h>

/* Each of rows rows of cols floats (row stride ld) in place. */
void sc_softmax_rows_f32(float *x, size_t rows, size_t cols, size_t ld);

#endif
