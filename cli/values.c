/* cli/values.c — printing the first values of a tensor read by sc_bundle_read.
 *
 * The payload is little-endian row-major (checkpoint.h), so elements are assembled byte by byte
 * rather than cast: no alignment assumption on the buffer and no host-endianness assumption. */
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* Bytes of a string element shown before it is cut ("..." and its length follow). */
#define HUMAN_STRING_SHOW 40
#define JSON_STRING_SHOW  64

static sc_status fail(sc_error *err, sc_status st, const char *fmt, ...) {
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
        err->status = st;
    }
    return st;
}

static uint64_t load_le(const uint8_t *p, size_t n) {
    uint64_t v = 0;
    for (size_t i = n; i-- > 0;) v = (v << 8) | p[i];
    return v;
}

static float bits_to_float(uint32_t bits) {
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

static double bits_to_double(uint64_t bits) {
    double d;
    memcpy(&d, &bits, sizeof d);
    return d;
}

/* IEEE binary16 to float; every half value is exactly representable as a float. */
static float half_to_float(uint16_t h) {
    unsigned exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
    float v;
    if (exp == 0)
        v = ldexpf((float)mant, -24);
    else if (exp == 31)
        v = mant ? NAN : INFINITY;
    else
        v = ldexpf((float)(mant | 0x400), (int)exp - 25);
    return (h & 0x8000) ? -v : v;
}

/* JSON has no NaN or infinities: they are written as the strings JavaScript would print. */
static void put_real(FILE *f, cli_format fmt, double v, int precision) {
    if (isnan(v))
        fputs(fmt == CLI_JSON ? "\"NaN\"" : "nan", f);
    else if (isinf(v))
        fputs(fmt == CLI_JSON ? (v > 0 ? "\"Infinity\"" : "\"-Infinity\"")
                              : (v > 0 ? "inf" : "-inf"),
              f);
    else
        fprintf(f, "%.*g", precision, v);
}

static void put_complex(FILE *f, cli_format fmt, double re, double im, int precision) {
    fputs(fmt == CLI_JSON ? "[" : "(", f);
    put_real(f, fmt, re, precision);
    fputs(",", f);
    put_real(f, fmt, im, precision);
    fputs(fmt == CLI_JSON ? "]" : ")", f);
}

static void put_string(FILE *f, cli_format fmt, sc_bytes s) {
    size_t show = fmt == CLI_JSON ? JSON_STRING_SHOW : HUMAN_STRING_SHOW;
    size_t n = s.size < show ? s.size : show;
    fputc('"', f);
    if (fmt == CLI_JSON)
        cli_json_bytes(f, s.data, n);
    else
        cli_text_bytes(f, s.data, n, 1);
    fputc('"', f);
    if (fmt == CLI_HUMAN && n < s.size) fprintf(f, "...(%zu bytes)", s.size);
}

/* One element of a fixed-size numeric type at p. */
static void put_element(FILE *f, cli_format fmt, sc_dtype dt, const uint8_t *p) {
    switch (dt) {
    case SC_DT_FLOAT: put_real(f, fmt, bits_to_float((uint32_t)load_le(p, 4)), 9); break;
    case SC_DT_HALF: put_real(f, fmt, half_to_float((uint16_t)load_le(p, 2)), 9); break;
    case SC_DT_BFLOAT16: put_real(f, fmt, bits_to_float((uint32_t)load_le(p, 2) << 16), 9); break;
    case SC_DT_DOUBLE: put_real(f, fmt, bits_to_double(load_le(p, 8)), 17); break;
    case SC_DT_COMPLEX64:
        put_complex(f, fmt, bits_to_float((uint32_t)load_le(p, 4)),
                    bits_to_float((uint32_t)load_le(p + 4, 4)), 9);
        break;
    case SC_DT_COMPLEX128:
        put_complex(f, fmt, bits_to_double(load_le(p, 8)), bits_to_double(load_le(p + 8, 8)), 17);
        break;
    case SC_DT_INT8:
    case SC_DT_QINT8: fprintf(f, "%d", (int)(int8_t)p[0]); break;
    case SC_DT_INT16:
    case SC_DT_QINT16: fprintf(f, "%d", (int)(int16_t)(uint16_t)load_le(p, 2)); break;
    case SC_DT_INT32:
    case SC_DT_QINT32: fprintf(f, "%" PRId32, (int32_t)(uint32_t)load_le(p, 4)); break;
    case SC_DT_INT64: fprintf(f, "%" PRId64, (int64_t)load_le(p, 8)); break;
    case SC_DT_UINT8:
    case SC_DT_QUINT8: fprintf(f, "%u", (unsigned)p[0]); break;
    case SC_DT_UINT16:
    case SC_DT_QUINT16: fprintf(f, "%u", (unsigned)load_le(p, 2)); break;
    case SC_DT_UINT32: fprintf(f, "%" PRIu32, (uint32_t)load_le(p, 4)); break;
    case SC_DT_UINT64: fprintf(f, "%" PRIu64, load_le(p, 8)); break;
    case SC_DT_BOOL: fputs(p[0] ? "true" : "false", f); break;
    default: fputs("null", f); break; /* unreachable: cli_values_not_decoded() filters */
    }
}

const char *cli_values_not_decoded(const sc_tensor_info *t) {
    if (t->num_slices > 0) return "partitioned tensor";
    switch (t->dtype) {
    case SC_DT_FLOAT:
    case SC_DT_DOUBLE:
    case SC_DT_HALF:
    case SC_DT_BFLOAT16:
    case SC_DT_COMPLEX64:
    case SC_DT_COMPLEX128:
    case SC_DT_INT8:
    case SC_DT_INT16:
    case SC_DT_INT32:
    case SC_DT_INT64:
    case SC_DT_UINT8:
    case SC_DT_UINT16:
    case SC_DT_UINT32:
    case SC_DT_UINT64:
    case SC_DT_QINT8:
    case SC_DT_QINT16:
    case SC_DT_QINT32:
    case SC_DT_QUINT8:
    case SC_DT_QUINT16:
    case SC_DT_BOOL:
    case SC_DT_STRING: return NULL;
    default: return sc_dtype_name(t->dtype);
    }
}

sc_status cli_write_values(FILE *f, cli_format fmt, const sc_tensor_info *t, const void *buf,
                           size_t size, uint64_t max_values, sc_error *err) {
    sc_status st = SC_OK;
    sc_bytes *items = NULL;
    uint64_t total = t->num_elements > 0 ? (uint64_t)t->num_elements : 0;
    uint64_t shown = total < max_values ? total : max_values;
    size_t esize = sc_dtype_size(t->dtype);

    if (t->dtype == SC_DT_STRING) {
        /* Every element takes at least one byte (its length varint): a larger count is a lie. */
        if (total > size) {
            st = fail(err, SC_DATA_LOSS, "tensor '%s': %" PRIu64 " strings cannot fit in %zu bytes",
                      t->key, total, size);
            goto done;
        }
        items = malloc((total ? total : 1) * sizeof *items);
        if (!items) {
            st = fail(err, SC_NO_MEMORY, "tensor '%s': no memory for %" PRIu64 " strings", t->key,
                      total);
            goto done;
        }
        st = sc_bundle_decode_strings(t, buf, size, items, err);
        if (st != SC_OK) goto done;
    } else if (esize == 0 || size / esize < shown) {
        st = fail(err, SC_DATA_LOSS, "tensor '%s': %zu bytes hold fewer than %" PRIu64 " %s values",
                  t->key, size, shown, sc_dtype_name(t->dtype));
        goto done;
    }

    int bare = fmt == CLI_HUMAN && t->rank == 0 && total == 1;
    if (!bare) fputc('[', f);
    for (uint64_t i = 0; i < shown; i++) {
        if (i) fputs(fmt == CLI_JSON ? "," : ", ", f);
        if (items)
            put_string(f, fmt, items[i]);
        else
            put_element(f, fmt, t->dtype, (const uint8_t *)buf + i * esize);
    }
    if (fmt == CLI_HUMAN && shown < total)
        fprintf(f, "%s... %" PRIu64 " more", shown ? ", " : "", total - shown);
    if (!bare) fputc(']', f);
done:
    free(items);
    return st;
}
