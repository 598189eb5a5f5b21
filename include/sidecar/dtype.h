/* sidecar/dtype.h — element types, numbered exactly as TensorFlow's DataType enum
 * (tensorflow/core/framework/types.proto), since checkpoints store these numbers. */
#ifndef SIDECAR_DTYPE_H
#define SIDECAR_DTYPE_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum sc_dtype {
    SC_DT_INVALID = 0,
    SC_DT_FLOAT = 1,
    SC_DT_DOUBLE = 2,
    SC_DT_INT32 = 3,
    SC_DT_UINT8 = 4,
    SC_DT_INT16 = 5,
    SC_DT_INT8 = 6,
    SC_DT_STRING = 7,
    SC_DT_COMPLEX64 = 8,
    SC_DT_INT64 = 9,
    SC_DT_BOOL = 10,
    SC_DT_QINT8 = 11,
    SC_DT_QUINT8 = 12,
    SC_DT_QINT32 = 13,
    SC_DT_BFLOAT16 = 14,
    SC_DT_QINT16 = 15,
    SC_DT_QUINT16 = 16,
    SC_DT_UINT16 = 17,
    SC_DT_COMPLEX128 = 18,
    SC_DT_HALF = 19,
    SC_DT_RESOURCE = 20,
    SC_DT_VARIANT = 21,
    SC_DT_UINT32 = 22,
    SC_DT_UINT64 = 23,
    SC_DT_FLOAT8_E5M2 = 24,
    SC_DT_FLOAT8_E4M3FN = 25,
    SC_DT_FLOAT8_E4M3FNUZ = 26,
    SC_DT_FLOAT8_E4M3B11FNUZ = 27,
    SC_DT_FLOAT8_E5M2FNUZ = 28,
    SC_DT_INT4 = 29,
    SC_DT_UINT4 = 30
} sc_dtype;

/* TensorFlow's Python name: "float32", "float64", "int64", "bfloat16", "float16", "string",
 * "variant", ... ; "invalid" for 0 and "dtype_<n>" style names are never returned: unknown
 * numbers give "unknown". */
const char *sc_dtype_name(sc_dtype dt);

/* Bytes per element for fixed-size types; 0 for string, variant, resource, int4/uint4 and
 * unknown numbers (their storage is not a plain array). */
size_t sc_dtype_size(sc_dtype dt);

#ifdef __cplusplus
}
#endif
#endif
