/* core/dtype.c — TensorFlow DataType names and element sizes. */
#include "sidecar/dtype.h"

typedef struct {
    const char *name;
    unsigned char size;
} dtype_desc;

/* Indexed by the DataType number. Names are TensorFlow's Python names (tf.float32.name). */
static const dtype_desc k_dtypes[] = {
    [SC_DT_INVALID] = {"invalid", 0},
    [SC_DT_FLOAT] = {"float32", 4},
    [SC_DT_DOUBLE] = {"float64", 8},
    [SC_DT_INT32] = {"int32", 4},
    [SC_DT_UINT8] = {"uint8", 1},
    [SC_DT_INT16] = {"int16", 2},
    [SC_DT_INT8] = {"int8", 1},
    [SC_DT_STRING] = {"string", 0},
    [SC_DT_COMPLEX64] = {"complex64", 8},
    [SC_DT_INT64] = {"int64", 8},
    [SC_DT_BOOL] = {"bool", 1},
    [SC_DT_QINT8] = {"qint8", 1},
    [SC_DT_QUINT8] = {"quint8", 1},
    [SC_DT_QINT32] = {"qint32", 4},
    [SC_DT_BFLOAT16] = {"bfloat16", 2},
    [SC_DT_QINT16] = {"qint16", 2},
    [SC_DT_QUINT16] = {"quint16", 2},
    [SC_DT_UINT16] = {"uint16", 2},
    [SC_DT_COMPLEX128] = {"complex128", 16},
    [SC_DT_HALF] = {"float16", 2},
    [SC_DT_RESOURCE] = {"resource", 0},
    [SC_DT_VARIANT] = {"variant", 0},
    [SC_DT_UINT32] = {"uint32", 4},
    [SC_DT_UINT64] = {"uint64", 8},
    [SC_DT_FLOAT8_E5M2] = {"float8_e5m2", 1},
    [SC_DT_FLOAT8_E4M3FN] = {"float8_e4m3fn", 1},
    [SC_DT_FLOAT8_E4M3FNUZ] = {"float8_e4m3fnuz", 1},
    [SC_DT_FLOAT8_E4M3B11FNUZ] = {"float8_e4m3b11fnuz", 1},
    [SC_DT_FLOAT8_E5M2FNUZ] = {"float8_e5m2fnuz", 1},
    [SC_DT_INT4] = {"int4", 0}, /* storage UNCONFIRMED (FORMATS App. B): never decoded */
    [SC_DT_UINT4] = {"uint4", 0},
};

const char *sc_dtype_name(sc_dtype dt) {
    if ((unsigned)dt < sizeof k_dtypes / sizeof k_dtypes[0]) return k_dtypes[dt].name;
    return "unknown";
}

size_t sc_dtype_size(sc_dtype dt) {
    if ((unsigned)dt < sizeof k_dtypes / sizeof k_dtypes[0]) return k_dtypes[dt].size;
    return 0;
}
