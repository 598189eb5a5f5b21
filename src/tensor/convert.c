/* tensor/convert.c — stored element types -> float32. */
#include <string.h>

#include "core/error.h"
#include "sidecar/tensor.h"

float sc_half_to_float(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t exp = (h >> 10) & 0x1f;
    uint32_t mant = h & 0x3ff;
    uint32_t bits;
    if (exp == 0x1f) {
        bits = sign | 0x7f800000u | (mant << 13); /* inf or NaN (payload kept) */
    } else if (exp != 0) {
        bits = sign | ((exp + 112) << 23) | (mant << 13); /* rebias 15 -> 127 */
    } else if (mant == 0) {
        bits = sign; /* signed zero */
    } else {
        /* Subnormal half: normalise the mantissa into a float32 normal number. */
        int e = -1;
        do {
            e++;
            mant <<= 1;
        } while (!(mant & 0x400));
        bits = sign | ((uint32_t)(112 - e) << 23) | ((mant & 0x3ff) << 13);
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

float sc_bfloat16_to_float(uint16_t b) {
    uint32_t bits = (uint32_t)b << 16;
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

int sc_dtype_converts_to_float32(sc_dtype dt) {
    switch (dt) {
    case SC_DT_FLOAT:
    case SC_DT_DOUBLE:
    case SC_DT_HALF:
    case SC_DT_BFLOAT16:
    case SC_DT_INT8:
    case SC_DT_INT16:
    case SC_DT_INT32:
    case SC_DT_INT64:
    case SC_DT_UINT8:
    case SC_DT_UINT16:
    case SC_DT_UINT32:
    case SC_DT_UINT64:
    case SC_DT_BOOL: return 1;
    default: return 0;
    }
}

/* memcpy loads keep every input alignment legal (data read from files is byte-aligned). */
#define CONVERT(T)                                                                                 \
    do {                                                                                           \
        const uint8_t *p = in;                                                                     \
        for (size_t i = 0; i < n; i++) {                                                           \
            T v;                                                                                   \
            memcpy(&v, p + i * sizeof(T), sizeof(T));                                              \
            out[i] = (float)v;                                                                     \
        }                                                                                          \
    } while (0)

sc_status sc_convert_to_float32(sc_dtype src, const void *in, size_t n, float *out, sc_error *err) {
    const uint8_t *p = in;
    switch (src) {
    case SC_DT_FLOAT:
        if ((const void *)out != in) memmove(out, in, n * sizeof(float));
        return SC_OK;
    case SC_DT_DOUBLE: CONVERT(double); return SC_OK;
    case SC_DT_INT8: CONVERT(int8_t); return SC_OK;
    case SC_DT_INT16: CONVERT(int16_t); return SC_OK;
    case SC_DT_INT32: CONVERT(int32_t); return SC_OK;
    case SC_DT_INT64: CONVERT(int64_t); return SC_OK;
    case SC_DT_UINT8: CONVERT(uint8_t); return SC_OK;
    case SC_DT_UINT16: CONVERT(uint16_t); return SC_OK;
    case SC_DT_UINT32: CONVERT(uint32_t); return SC_OK;
    case SC_DT_UINT64: CONVERT(uint64_t); return SC_OK;
    case SC_DT_BOOL:
        for (size_t i = 0; i < n; i++) out[i] = p[i] ? 1.0f : 0.0f;
        return SC_OK;
    case SC_DT_HALF:
    case SC_DT_BFLOAT16:
        for (size_t i = 0; i < n; i++) {
            uint16_t h = (uint16_t)(p[2 * i] | p[2 * i + 1] << 8);
            out[i] = src == SC_DT_HALF ? sc_half_to_float(h) : sc_bfloat16_to_float(h);
        }
        return SC_OK;
    default:
        return sc_error_set(err, SC_UNIMPLEMENTED, "cannot convert %s elements to float32",
                            sc_dtype_name(src));
    }
}
