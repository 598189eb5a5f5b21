/* sidecar/tensor.h — element conversion to float32, the engine's one compute type.
 *
 * Weights may be stored as float16, bfloat16 or float64 (mixed-precision training, other
 * frameworks); the forward pass runs in float32, as Keras evaluates a float32 model. These
 * conversions are exact where float32 can represent the value and round to nearest-even
 * otherwise (float64 -> float32), like a C cast or numpy's astype(float32).
 */
#ifndef SIDECAR_TENSOR_H
#define SIDECAR_TENSOR_H

#include <stddef.h>
#include <stdint.h>

#include "sidecar/dtype.h"
#include "sidecar/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* IEEE binary16 bit pattern -> float32 (subnormals, infinities and NaN kept). */
float sc_half_to_float(uint16_t h);
/* bfloat16 bit pattern (the upper 16 bits of a float32) -> float32. */
float sc_bfloat16_to_float(uint16_t b);

/* 1 if sc_convert_to_float32 accepts the dtype: float32/64, float16, bfloat16, int8/16/32/64,
 * uint8/16/32/64, bool. */
int sc_dtype_converts_to_float32(sc_dtype dt);

/* Converts n little-endian elements of type src (as a checkpoint stores them) to float32.
 * in and out must not overlap unless src is float32. Other dtypes: SC_UNIMPLEMENTED naming the
 * dtype. Integers beyond 2^24 round to the nearest float32, as numpy does. */
sc_status sc_convert_to_float32(sc_dtype src, const void *in, size_t n, float *out, sc_error *err);

#ifdef __cplusplus
}
#endif
#endif
