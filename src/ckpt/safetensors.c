/* ckpt/safetensors.c — safetensors reader (FORMATS §8). */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"
#include "core/fileio.h"
#include "sidecar/safetensors.h"

#define MAX_HEADER 100000000u

typedef struct {
    sc_tensor_info info;
    int64_t shape[8];
    char dtype[12];
} st_tensor;

struct sc_safetensors {
    char *path;
    int fd;
    st_tensor *t;
    size_t n;
    json_t *metadata;
    uint64_t data_start;
};

static const struct {
    const char *name;
    sc_dtype dt;
    unsigned bits;
} k_types[] = {
    {"BOOL", SC_DT_BOOL, 8},
    {"U8", SC_DT_UINT8, 8},
    {"I8", SC_DT_INT8, 8},
    {"I16", SC_DT_INT16, 16},
    {"U16", SC_DT_UINT16, 16},
    {"F16", SC_DT_HALF, 16},
    {"BF16", SC_DT_BFLOAT16, 16},
    {"I32", SC_DT_INT32, 32},
    {"U32", SC_DT_UINT32, 32},
    {"F32", SC_DT_FLOAT, 32},
    {"I64", SC_DT_INT64, 64},
    {"U64", SC_DT_UINT64, 64},
    {"F64", SC_DT_DOUBLE, 64},
    {"C64", SC_DT_COMPLEX64, 64},
    {"F8_E5M2", SC_DT_FLOAT8_E5M2, 8},
    {"F8_E4M3", SC_DT_FLOAT8_E4M3FN, 8},
    {"F8_E4M3FNUZ", SC_DT_FLOAT8_E4M3FNUZ, 8},
    {"F8_E5M2FNUZ", SC_DT_FLOAT8_E5M2FNUZ, 8},
    {"F8_E8M0", SC_DT_INVALID, 8},
    {"F4", SC_DT_INVALID, 4},
    {"F6_E2M3", SC_DT_INVALID, 6},
    {"F6_E3M2", SC_DT_INVALID, 6},
};

static int cmp_name(const void *a, const void *b) {
    return strcmp(((const st_tensor *)a)->info.key, ((const st_tensor *)b)->info.key);
}

static int cmp_offset(const void *a, const void *b) {
    const st_tensor *x = *(st_tensor *const *)a, *y = *(st_tensor *const *)b;
    if (x->info.offset != y->info.offset) return x->info.offset < y->info.offset ? -1 : 1;
    /* Zero-sized tensors share offsets; order them first so the contiguity check holds. */
    return (x->info.size > y->info.size) - (x->info.size < y->info.size);
}

void sc_safetensors_free(sc_safetensors *st) {
    if (!st) return;
    for (size_t i = 0; i < st->n; i++) free((char *)st->t[i].info.key);
    free(st->t);
    json_decref(st->metadata);
    if (st->fd >= 0) close(st->fd);
    free(st->path);
    free(st);
}

static sc_status parse_tensor(sc_safetensors *st, const char *name, json_t *v, st_tensor *t,
                              sc_error *err) {
    const char *p = st->path;
    json_t *dt = json_object_get(v, "dtype"), *shape = json_object_get(v, "shape"),
           *offs = json_object_get(v, "data_offsets");
    if (!json_is_string(dt) || !json_is_array(shape) || !json_is_array(offs)
        || json_array_size(offs) != 2)
        return sc_error_set(err, SC_DATA_LOSS,
                            "%s: tensor '%s': expected dtype, shape and "
                            "data_offsets [begin, end]",
                            p, name);
    unsigned bits = 0;
    for (size_t i = 0; i < sizeof k_types / sizeof k_types[0]; i++)
        if (strcmp(json_string_value(dt), k_types[i].name) == 0) {
            t->info.dtype = k_types[i].dt;
            bits = k_types[i].bits;
        }
    if (!bits)
        return sc_error_set(err, SC_DATA_LOSS, "%s: tensor '%s': unknown dtype '%s'", p, name,
                            json_string_value(dt));
    snprintf(t->dtype, sizeof t->dtype, "%s", json_string_value(dt));
    size_t rank = json_array_size(shape);
    if (rank > 8)
        return sc_error_set(err, SC_UNIMPLEMENTED, "%s: tensor '%s': rank %zu (at most 8)", p, name,
                            rank);
    unsigned __int128 elems = 1;
    for (size_t i = 0; i < rank; i++) {
        json_t *d = json_array_get(shape, i);
        if (!json_is_integer(d) || json_integer_value(d) < 0)
            return sc_error_set(err, SC_DATA_LOSS, "%s: tensor '%s': bad shape", p, name);
        t->shape[i] = json_integer_value(d);
        elems *= (uint64_t)t->shape[i];
        if (elems > ((unsigned __int128)1 << 62))
            return sc_error_set(err, SC_DATA_LOSS, "%s: tensor '%s': shape too large", p, name);
    }
    json_t *b = json_array_get(offs, 0), *e = json_array_get(offs, 1);
    if (!json_is_integer(b) || !json_is_integer(e) || json_integer_value(b) < 0
        || json_integer_value(e) < json_integer_value(b))
        return sc_error_set(err, SC_DATA_LOSS, "%s: tensor '%s': bad data_offsets", p, name);
    uint64_t begin = (uint64_t)json_integer_value(b), end = (uint64_t)json_integer_value(e);
    if ((elems * bits) % 8 != 0 || end - begin != (uint64_t)(elems * bits / 8))
        return sc_error_set(err, SC_DATA_LOSS,
                            "%s: tensor '%s': %llu bytes for shape x %s (expected "
                            "%llu)",
                            p, name, (unsigned long long)(end - begin), t->dtype,
                            (unsigned long long)(elems * bits / 8));
    t->info.key = strdup(name);
    if (!t->info.key) return sc_error_set(err, SC_NO_MEMORY, "out of memory");
    t->info.key_len = strlen(name);
    t->info.rank = (int)rank;
    t->info.num_elements = (int64_t)elems;
    t->info.offset = begin; /* made absolute after the header is known */
    t->info.size = end - begin;
    return SC_OK;
}

sc_status sc_safetensors_open(const char *path, sc_safetensors **out, sc_error *err) {
    *out = NULL;
    sc_safetensors *st = calloc(1, sizeof *st);
    if (!st) return sc_error_set(err, SC_NO_MEMORY, "out of memory");
    st->fd = -1;
    st->path = strdup(path);
    char *hdr = NULL;
    st_tensor **order = NULL;
    json_t *root = NULL;
    sc_status s;
    if (!st->path) {
        s = sc_error_set(err, SC_NO_MEMORY, "out of memory");
        goto fail;
    }
    st->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (st->fd < 0) {
        s = sc_error_set(err, errno == ENOENT ? SC_NOT_FOUND : SC_IO, "%s: cannot open: %s", path,
                         strerror(errno));
        goto fail;
    }
    struct stat sb;
    if (fstat(st->fd, &sb) != 0) {
        s = sc_error_set(err, SC_IO, "%s: cannot stat", path);
        goto fail;
    }
    uint64_t fsize = (uint64_t)sb.st_size;
    uint8_t lenb[8];
    if (fsize < 8) {
        s = sc_error_set(err, SC_DATA_LOSS, "%s: %llu bytes, not a safetensors file", path,
                         (unsigned long long)fsize);
        goto fail;
    }
    if ((s = sc_pread_full(st->fd, path, lenb, 8, 0, err))) goto fail;
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--) n = n << 8 | lenb[i];
    if (n > MAX_HEADER || n > fsize - 8) {
        s = sc_error_set(err, SC_DATA_LOSS,
                         "%s: header length %llu does not fit (file is %llu bytes, "
                         "limit %u)",
                         path, (unsigned long long)n, (unsigned long long)fsize, MAX_HEADER);
        goto fail;
    }
    hdr = malloc(n + 1);
    if (!hdr) {
        s = sc_error_set(err, SC_NO_MEMORY, "%s: header of %llu bytes", path,
                         (unsigned long long)n);
        goto fail;
    }
    if ((s = sc_pread_full(st->fd, path, hdr, n, 8, err))) goto fail;
    json_error_t je;
    root = json_loadb(hdr, n, JSON_REJECT_DUPLICATES, &je);
    if (!json_is_object(root)) {
        s = sc_error_set(err, SC_DATA_LOSS, "%s: header is not a JSON object: %s", path, je.text);
        goto fail;
    }
    st->data_start = 8 + n;
    size_t count = json_object_size(root);
    st->t = calloc(count ? count : 1, sizeof *st->t);
    order = calloc(count ? count : 1, sizeof *order);
    if (!st->t || !order) {
        s = sc_error_set(err, SC_NO_MEMORY, "out of memory");
        goto fail;
    }
    const char *name;
    json_t *v;
    json_object_foreach(root, name, v) {
        if (strcmp(name, "__metadata__") == 0) {
            const char *mk;
            json_t *mv;
            if (!json_is_object(v)) {
                s = sc_error_set(err, SC_DATA_LOSS, "%s: __metadata__ is not an object", path);
                goto fail;
            }
            json_object_foreach(v, mk, mv) if (!json_is_string(mv)) {
                s = sc_error_set(err, SC_DATA_LOSS, "%s: __metadata__ '%s' is not a string", path,
                                 mk);
                goto fail;
            }
            st->metadata = json_incref(v);
            continue;
        }
        if ((s = parse_tensor(st, name, v, &st->t[st->n], err))) goto fail;
        st->n++;
    }
    /* Contiguous from 0, in offset order, ending exactly at the end of the file. */
    for (size_t i = 0; i < st->n; i++) order[i] = &st->t[i];
    qsort(order, st->n, sizeof *order, cmp_offset);
    uint64_t at = 0;
    for (size_t i = 0; i < st->n; i++) {
        if (order[i]->info.offset != at) {
            s = sc_error_set(err, SC_DATA_LOSS,
                             "%s: tensor '%s' starts at %llu, expected %llu (gap "
                             "or overlap)",
                             path, order[i]->info.key, (unsigned long long)order[i]->info.offset,
                             (unsigned long long)at);
            goto fail;
        }
        at += order[i]->info.size;
    }
    if (st->data_start + at != fsize) {
        s = sc_error_set(err, fsize < st->data_start + at ? SC_UNAVAILABLE : SC_DATA_LOSS,
                         "%s: tensors end at byte %llu but the file has %llu bytes", path,
                         (unsigned long long)(st->data_start + at), (unsigned long long)fsize);
        goto fail;
    }
    for (size_t i = 0; i < st->n; i++) {
        st->t[i].info.offset += st->data_start;
        st->t[i].info.shape = st->t[i].shape;
    }
    qsort(st->t, st->n, sizeof *st->t, cmp_name);
    for (size_t i = 0; i < st->n; i++) st->t[i].info.shape = st->t[i].shape; /* moved by qsort */
    free(order);
    free(hdr);
    json_decref(root);
    *out = st;
    return SC_OK;
fail:
    free(order);
    free(hdr);
    json_decref(root);
    sc_safetensors_free(st);
    return s;
}

const char *sc_safetensors_path(const sc_safetensors *st) { return st->path; }
size_t sc_safetensors_num_tensors(const sc_safetensors *st) { return st->n; }
const sc_tensor_info *sc_safetensors_tensor(const sc_safetensors *st, size_t i) {
    return i < st->n ? &st->t[i].info : NULL;
}
const sc_tensor_info *sc_safetensors_find(const sc_safetensors *st, const char *name) {
    size_t lo = 0, hi = st->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(st->t[mid].info.key, name);
        if (c == 0) return &st->t[mid].info;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}
const char *sc_safetensors_dtype_str(const sc_safetensors *st, const sc_tensor_info *t) {
    (void)st;
    return ((const st_tensor *)t)->dtype;
}
const char *sc_safetensors_metadata(const sc_safetensors *st, const char *key) {
    json_t *v = st->metadata ? json_object_get(st->metadata, key) : NULL;
    return v ? json_string_value(v) : NULL;
}

sc_status sc_safetensors_read(sc_safetensors *st, const sc_tensor_info *t, void *buf, size_t cap,
                              sc_error *err) {
    if (cap < t->size)
        return sc_error_set(err, SC_INVALID_ARGUMENT,
                            "%s: tensor '%s': buffer of %zu bytes, needs "
                            "%llu",
                            st->path, t->key, cap, (unsigned long long)t->size);
    sc_status s = sc_pread_full(st->fd, st->path, buf, t->size, t->offset, err);
    if (s) return sc_error_prefix(err, s, "tensor '%s'", t->key);
    return SC_OK;
}
