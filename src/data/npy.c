/* data/npy.c — NumPy .npy files, format 1.0 / 2.0 / 3.0:
 *
 *   "\x93NUMPY" | major | minor | header length (u16 LE for 1.x, u32 LE for 2.x/3.x) |
 *   header: a Python dict literal {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
 *   padded with spaces and ending in '\n' | data, C order
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/fileio.h"
#include "data/npy.h"

struct sc_array {
    char *source;
    uint8_t *buf; /* owns the bytes; data points into it */
    const uint8_t *data;
    size_t row_bytes;
    sc_array_info info;
};

typedef struct dtype_desc {
    sc_dtype dtype;
    char kind;
    size_t size;
} dtype_desc;

static const dtype_desc DTYPES[] = {
    {SC_DT_HALF, 'f', 2},   {SC_DT_FLOAT, 'f', 4},  {SC_DT_DOUBLE, 'f', 8}, {SC_DT_INT8, 'i', 1},
    {SC_DT_INT16, 'i', 2},  {SC_DT_INT32, 'i', 4},  {SC_DT_INT64, 'i', 8},  {SC_DT_UINT8, 'u', 1},
    {SC_DT_UINT16, 'u', 2}, {SC_DT_UINT32, 'u', 4}, {SC_DT_UINT64, 'u', 8}, {SC_DT_BOOL, 'b', 1},
};

static const dtype_desc *find_dtype(sc_dtype dt) {
    for (size_t i = 0; i < sizeof DTYPES / sizeof DTYPES[0]; i++)
        if (DTYPES[i].dtype == dt) return &DTYPES[i];
    return NULL;
}

sc_status sc_npy_make_info(sc_dtype dtype, int rank, const int64_t *shape, const char *what,
                           sc_array_info *info, sc_error *err) {
    const dtype_desc *d = find_dtype(dtype);
    if (!d)
        return sc_error_set(err, SC_UNIMPLEMENTED, "%s: dtype %s cannot be stored in an NPY array",
                            what, sc_dtype_name(dtype));
    if (rank < 0 || rank > SC_ARRAY_MAX_RANK)
        return sc_error_set(err, SC_INVALID_ARGUMENT, "%s: rank %d outside 0..%d", what, rank,
                            SC_ARRAY_MAX_RANK);
    memset(info, 0, sizeof *info);
    info->dtype = dtype;
    info->rank = rank;
    info->elem_size = d->size;
    uint64_t n = 1;
    int overflow = 0;
    for (int i = 0; i < rank; i++) {
        if (shape[i] < 0)
            return sc_error_set(err, SC_INVALID_ARGUMENT, "%s: dimension %d is negative (%lld)",
                                what, i, (long long)shape[i]);
        info->shape[i] = shape[i];
        if (shape[i] != 0 && n > UINT64_MAX / (uint64_t)shape[i])
            overflow = 1;
        else
            n *= (uint64_t)shape[i];
    }
    /* A zero dimension makes the array empty however large the others are. */
    for (int i = 0; i < rank; i++)
        if (shape[i] == 0) overflow = 0, n = 0;
    if (overflow || n > SIZE_MAX / d->size)
        return sc_error_set(err, SC_INVALID_ARGUMENT, "%s: shape is too large for memory", what);
    info->num_elements = n;
    info->nbytes = (size_t)n * d->size;
    return SC_OK;
}

/* ---- header parsing: a cursor over the dict literal ---- */

typedef struct cursor {
    const char *p, *end;
} cursor;

static void skip_ws(cursor *c) {
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
        c->p++;
}

static int eat(cursor *c, char ch) {
    skip_ws(c);
    if (c->p < c->end && *c->p == ch) {
        c->p++;
        return 1;
    }
    return 0;
}

/* A quoted Python string without escapes, copied into out (NUL-terminated). */
static int read_str(cursor *c, char *out, size_t cap) {
    skip_ws(c);
    if (c->p >= c->end || (*c->p != '\'' && *c->p != '"')) return -1;
    char q = *c->p++;
    size_t n = 0;
    while (c->p < c->end && *c->p != q) {
        if (*c->p == '\\' || n + 1 >= cap) return -1;
        out[n++] = *c->p++;
    }
    if (c->p >= c->end) return -1;
    c->p++;
    out[n] = '\0';
    return 0;
}

static int read_word(cursor *c, const char *w) {
    skip_ws(c);
    size_t n = strlen(w);
    if ((size_t)(c->end - c->p) < n || memcmp(c->p, w, n) != 0) return 0;
    c->p += n;
    return 1;
}

static int read_shape(cursor *c, int64_t *shape, int *rank) {
    *rank = 0;
    if (!eat(c, '(')) return -1;
    for (;;) {
        if (eat(c, ')')) return 0;
        skip_ws(c);
        if (c->p >= c->end || *c->p < '0' || *c->p > '9') return -1;
        int64_t v = 0;
        while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
            int digit = *c->p++ - '0';
            if (v > (INT64_MAX - digit) / 10) return -1;
            v = v * 10 + digit;
        }
        if (c->p < c->end && *c->p == 'L') c->p++; /* Python 2 longs */
        if (*rank >= SC_ARRAY_MAX_RANK) return -2;
        shape[(*rank)++] = v;
        if (eat(c, ',')) continue;
        if (eat(c, ')')) return 0;
        return -1;
    }
}

static sc_status parse_descr(const char *descr, const char *file, const char *array,
                             sc_dtype *dtype, sc_error *err) {
    char order = descr[0], kind = descr[0] ? descr[1] : 0;
    char *end;
    long size = kind ? strtol(descr + 2, &end, 10) : 0;
    const dtype_desc *d = NULL;
    if (kind && descr[2] >= '0' && descr[2] <= '9' && *end == '\0')
        for (size_t i = 0; i < sizeof DTYPES / sizeof DTYPES[0]; i++)
            if (DTYPES[i].kind == kind && (long)DTYPES[i].size == size) d = &DTYPES[i];
    if (!d || (order != '<' && order != '|' && order != '>' && order != '='))
        return sc_error_set(err, SC_UNIMPLEMENTED,
                            "%s: array '%s': dtype '%s' is not supported (expected one of <f2 <f4 "
                            "<f8 <i1..<i8 <u1..<u8 |b1)",
                            file, array, descr);
    if (order == '>' && d->size > 1)
        return sc_error_set(err, SC_UNIMPLEMENTED,
                            "%s: array '%s': big-endian dtype '%s' is not supported", file, array,
                            descr);
    *dtype = d->dtype;
    return SC_OK;
}

static uint32_t get_le(const uint8_t *p, int n) {
    uint32_t v = 0;
    for (int i = n - 1; i >= 0; i--) v = v << 8 | p[i];
    return v;
}

sc_status sc_npy_parse_header(const uint8_t *buf, size_t n, const char *file, const char *array,
                              sc_array_info *info, size_t *data_off, sc_error *err) {
    if (n < 10 || memcmp(buf, "\x93NUMPY", 6) != 0)
        return sc_error_set(err, SC_DATA_LOSS, "%s: array '%s': %s", file, array,
                            n < 10 ? "truncated NPY header (shorter than 10 bytes)"
                                   : "not an NPY file (no \\x93NUMPY magic)");
    int major = buf[6], minor = buf[7];
    if (major < 1 || major > 3)
        return sc_error_set(err, SC_UNIMPLEMENTED, "%s: array '%s': NPY format version %d.%d", file,
                            array, major, minor);
    size_t start = major == 1 ? 10 : 12;
    if (n < start)
        return sc_error_set(err, SC_DATA_LOSS, "%s: array '%s': truncated NPY header", file, array);
    size_t hlen = get_le(buf + 8, major == 1 ? 2 : 4);
    if (hlen > n - start)
        return sc_error_set(err, SC_DATA_LOSS,
                            "%s: array '%s': truncated NPY header (needs %zu bytes, file has %zu)",
                            file, array, start + hlen, n);
    cursor c = {(const char *)buf + start, (const char *)buf + start + hlen};
    char key[32], descr[64];
    int64_t shape[SC_ARRAY_MAX_RANK];
    int rank = 0, fortran = 0, seen = 0;
    const char *bad = NULL;
    if (!eat(&c, '{')) bad = "header does not start with '{'";
    while (!bad && !eat(&c, '}')) {
        if (read_str(&c, key, sizeof key) != 0 || !eat(&c, ':')) {
            bad = "expected a quoted key and ':'";
        } else if (strcmp(key, "descr") == 0) {
            skip_ws(&c);
            if (c.p < c.end && *c.p == '[')
                return sc_error_set(err, SC_UNIMPLEMENTED,
                                    "%s: array '%s': structured dtypes are not supported", file,
                                    array);
            if (read_str(&c, descr, sizeof descr) != 0) bad = "bad 'descr' value";
            seen |= 1;
        } else if (strcmp(key, "fortran_order") == 0) {
            if (read_word(&c, "True"))
                fortran = 1;
            else if (read_word(&c, "False"))
                fortran = 0;
            else
                bad = "'fortran_order' is neither True nor False";
            seen |= 2;
        } else if (strcmp(key, "shape") == 0) {
            int r = read_shape(&c, shape, &rank);
            if (r == -2)
                return sc_error_set(err, SC_UNIMPLEMENTED, "%s: array '%s': rank above %d", file,
                                    array, SC_ARRAY_MAX_RANK);
            if (r != 0) bad = "bad 'shape' tuple";
            seen |= 4;
        } else {
            bad = "unexpected key";
        }
        if (!bad && !eat(&c, ',') && !(skip_ws(&c), c.p < c.end && *c.p == '}'))
            bad = "expected ',' or '}'";
    }
    if (!bad && seen != 7) bad = "'descr', 'fortran_order' or 'shape' missing";
    if (bad)
        return sc_error_set(err, SC_DATA_LOSS, "%s: array '%s': malformed NPY header: %s", file,
                            array, bad);
    sc_dtype dt = SC_DT_INVALID;
    sc_status s = parse_descr(descr, file, array, &dt, err);
    if (s != SC_OK) return s;
    if (fortran && rank > 1)
        return sc_error_set(err, SC_UNIMPLEMENTED,
                            "%s: array '%s': Fortran-order (column-major) arrays are not supported",
                            file, array);
    /* The parser admits no negative dimension, so the only failure left is a size overflow. */
    if (sc_npy_make_info(dt, rank, shape, file, info, NULL) != SC_OK)
        return sc_error_set(err, SC_DATA_LOSS,
                            "%s: array '%s': malformed NPY header: the shape's byte size "
                            "overflows",
                            file, array);
    *data_off = start + hlen;
    return SC_OK;
}

static const char *descr_of(sc_dtype dt) {
    switch (dt) {
    case SC_DT_HALF: return "<f2";
    case SC_DT_FLOAT: return "<f4";
    case SC_DT_DOUBLE: return "<f8";
    case SC_DT_INT8: return "|i1";
    case SC_DT_INT16: return "<i2";
    case SC_DT_INT32: return "<i4";
    case SC_DT_INT64: return "<i8";
    case SC_DT_UINT8: return "|u1";
    case SC_DT_UINT16: return "<u2";
    case SC_DT_UINT32: return "<u4";
    case SC_DT_UINT64: return "<u8";
    case SC_DT_BOOL: return "|b1";
    default: return NULL;
    }
}

sc_status sc_npy_encode(const sc_array_info *info, const void *data, int version, const char *what,
                        uint8_t **out, size_t *out_len, sc_error *err) {
    *out = NULL;
    *out_len = 0;
    if (version < 1 || version > 3)
        return sc_error_set(err, SC_INVALID_ARGUMENT, "%s: NPY version %d (expected 1, 2 or 3)",
                            what, version);
    char dict[64 + SC_ARRAY_MAX_RANK * 22];
    int n = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (",
                     descr_of(info->dtype));
    for (int i = 0; i < info->rank; i++)
        n += snprintf(dict + n, sizeof dict - (size_t)n, i ? ", %lld" : "%lld",
                      (long long)info->shape[i]);
    n += snprintf(dict + n, sizeof dict - (size_t)n, "%s), }", info->rank == 1 ? "," : "");
    size_t prefix = version == 1 ? 10 : 12;
    size_t total = (prefix + (size_t)n + 1 + 63) / 64 * 64; /* as NumPy: data 64-byte aligned */
    size_t hlen = total - prefix;
    if (info->nbytes > SIZE_MAX - total)
        return sc_error_set(err, SC_INVALID_ARGUMENT, "%s: array too large", what);
    uint8_t *buf = malloc(total + info->nbytes);
    if (!buf) return sc_error_set(err, SC_NO_MEMORY, "%s: out of memory encoding NPY", what);
    memcpy(buf, "\x93NUMPY", 6);
    buf[6] = (uint8_t)version;
    buf[7] = 0;
    for (size_t i = 0; i < prefix - 8; i++) buf[8 + i] = (uint8_t)(hlen >> (8 * i));
    memcpy(buf + prefix, dict, (size_t)n);
    memset(buf + prefix + n, ' ', hlen - (size_t)n - 1);
    buf[total - 1] = '\n';
    if (info->nbytes) memcpy(buf + total, data, info->nbytes);
    *out = buf;
    *out_len = total + info->nbytes;
    return SC_OK;
}

static void set_info(sc_array *a, const sc_array_info *info) {
    a->info = *info;
    a->row_bytes = info->elem_size;
    for (int i = 1; i < info->rank; i++) a->row_bytes *= (size_t)info->shape[i];
    if (info->rank == 0) a->row_bytes = info->nbytes;
}

sc_status sc_array_from_npy(uint8_t *buf, size_t len, const char *file, const char *array,
                            const char *source, sc_array **out, sc_error *err) {
    *out = NULL;
    sc_array_info info;
    size_t off;
    sc_array *a = NULL;
    sc_status s = sc_npy_parse_header(buf, len, file, array, &info, &off, err);
    if (s != SC_OK) goto fail;
    if (len - off != info.nbytes) {
        s = sc_error_set(err, SC_DATA_LOSS,
                         "%s: array '%s': %s: %zu data bytes after the header, the shape and "
                         "dtype need %zu",
                         file, array, len - off < info.nbytes ? "truncated" : "size mismatch",
                         len - off, info.nbytes);
        goto fail;
    }
    a = calloc(1, sizeof *a);
    if (!a || !(a->source = strdup(source))) {
        s = sc_error_set(err, SC_NO_MEMORY, "%s: out of memory", source);
        goto fail;
    }
    if ((uintptr_t)(buf + off) % info.elem_size != 0) { /* only an oddly padded header */
        memmove(buf, buf + off, info.nbytes);
        off = 0;
    }
    a->buf = buf;
    a->data = buf + off;
    set_info(a, &info);
    *out = a;
    return SC_OK;
fail:
    if (a) free(a->source);
    free(a);
    free(buf);
    return s;
}

sc_status sc_array_from_data(uint8_t *data, const sc_array_info *info, const char *source,
                             sc_array **out, sc_error *err) {
    *out = NULL;
    sc_array *a = calloc(1, sizeof *a);
    if (!a || !(a->source = strdup(source))) {
        free(a);
        free(data);
        return sc_error_set(err, SC_NO_MEMORY, "%s: out of memory", source);
    }
    a->buf = data; /* malloc aligns for every dtype */
    a->data = data;
    set_info(a, info);
    *out = a;
    return SC_OK;
}

/* "dir/name.npy" -> "name" for messages. */
void sc_npy_stem(const char *path, char *out, size_t cap) {
    const char *b = strrchr(path, '/');
    b = b ? b + 1 : path;
    size_t n = strlen(b);
    if (n > 4 && strcmp(b + n - 4, ".npy") == 0) n -= 4;
    snprintf(out, cap, "%.*s", (int)n, b);
}

sc_status sc_npy_load(const char *path, sc_array **out, sc_error *err) {
    *out = NULL;
    uint8_t *buf;
    size_t len;
    sc_status s = sc_read_file(path, &buf, &len, err);
    if (s != SC_OK) return s;
    char name[256];
    sc_npy_stem(path, name, sizeof name);
    return sc_array_from_npy(buf, len, path, name, path, out, err);
}

void sc_array_free(sc_array *a) {
    if (!a) return;
    free(a->buf);
    free(a->source);
    free(a);
}

const sc_array_info *sc_array_get_info(const sc_array *a) { return &a->info; }
const void *sc_array_data(const sc_array *a) { return a->data; }
const char *sc_array_source(const sc_array *a) { return a->source; }

uint64_t sc_array_num_rows(const sc_array *a) {
    return a->info.rank == 0 ? 1 : (uint64_t)a->info.shape[0];
}

sc_status sc_array_row(const sc_array *a, uint64_t i, const void **row, size_t *row_bytes,
                       sc_error *err) {
    if (i >= sc_array_num_rows(a))
        return sc_error_set(err, SC_INVALID_ARGUMENT, "%s: row %llu out of range (%llu rows)",
                            a->source, (unsigned long long)i,
                            (unsigned long long)sc_array_num_rows(a));
    *row = a->data + i * a->row_bytes;
    *row_bytes = a->row_bytes;
    return SC_OK;
}

sc_npy_write_params sc_npy_write_default_params(void) {
    sc_npy_write_params p = {1};
    return p;
}

sc_status sc_npy_save(const char *path, sc_dtype dtype, int rank, const int64_t *shape,
                      const void *data, size_t nbytes, const sc_npy_write_params *params,
                      sc_error *err) {
    sc_npy_write_params p = params ? *params : sc_npy_write_default_params();
    sc_array_info info;
    sc_status s = sc_npy_make_info(dtype, rank, shape, path, &info, err);
    if (s != SC_OK) return s;
    if (nbytes != info.nbytes)
        return sc_error_set(err, SC_INVALID_ARGUMENT,
                            "%s: %zu data bytes given, the shape and dtype need %zu", path, nbytes,
                            info.nbytes);
    uint8_t *buf;
    size_t len;
    s = sc_npy_encode(&info, data, p.version, path, &buf, &len, err);
    if (s != SC_OK) return s;
    s = sc_write_file_atomic(path, buf, len, err);
    free(buf);
    return s;
}
