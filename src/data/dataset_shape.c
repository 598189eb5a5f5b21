/* data/dataset_shape.c — per-example shapes of the dataset: resolving the model's shapes (with
 * unknown ranks and dims) against what the data holds, and the names used by default. */
#include <stdio.h>
#include <string.h>

#include "core/error.h"
#include "data/dataset_internal.h"

const char *sc_data_format_name(sc_data_format f) {
    switch (f) {
    case SC_DATA_FORMAT_AUTO: return "auto";
    case SC_DATA_FORMAT_NPZ: return "npz";
    case SC_DATA_FORMAT_NPY: return "npy";
    case SC_DATA_FORMAT_CSV: return "csv";
    case SC_DATA_FORMAT_TFRECORD: return "tfrecord";
    case SC_DATA_FORMAT_ARRAYS: return "arrays";
    }
    return "unknown";
}

static const char *dims_str(const int64_t *dims, int rank, char *buf, size_t cap) {
    size_t len = 0;
    if (cap == 0) return buf;
    buf[0] = '\0';
    if (rank < 0) {
        snprintf(buf, cap, "(unknown)");
        return buf;
    }
    len += (size_t)snprintf(buf, cap, "(");
    for (int i = 0; i < rank && len < cap; i++) {
        if (dims[i] < 0)
            len += (size_t)snprintf(buf + len, cap - len, "%sNone", i ? ", " : "");
        else
            len +=
                (size_t)snprintf(buf + len, cap - len, "%s%lld", i ? ", " : "", (long long)dims[i]);
    }
    /* Python's one-tuple spelling, so messages read like numpy's shapes. */
    if (len < cap) len += (size_t)snprintf(buf + len, cap - len, rank == 1 ? ",)" : ")");
    return buf;
}

const char *sc_dataset_shape_str(const sc_dataset_shape *s, char *buf, size_t cap) {
    return dims_str(s->dims, s->rank, buf, cap);
}

const char *sc_ds_input_name(const sc_ds_spec *spec, size_t i) {
    const char *n = spec->p.inputs[i].name;
    return n ? n : "x";
}

const char *sc_ds_input_feature(const sc_ds_spec *spec, size_t i) {
    const char *f = spec->p.inputs[i].feature;
    return f ? f : sc_ds_input_name(spec, i);
}

const char *sc_ds_label_name(const sc_ds_spec *spec, size_t o) {
    const char *l = spec->p.outputs[o].label;
    return l ? l : "y";
}

int sc_ds_shape_elems(const sc_dataset_shape *s, size_t *elems) {
    size_t n = 1;
    for (int i = 0; i < s->rank; i++) {
        if (s->dims[i] < 0) return -1;
        if (__builtin_mul_overflow(n, (uint64_t)s->dims[i], &n)) return -1;
    }
    *elems = n;
    return 0;
}

/* " (array 'x')" from "array 'x'"; "" without a source. */
static void from_str(const char *src, char *buf, size_t cap) {
    if (src)
        snprintf(buf, cap, " (%s)", src);
    else
        buf[0] = '\0';
}

static sc_status too_big(const char *file, const char *what, const char *name, sc_error *err) {
    return sc_error_set(err, SC_INVALID_ARGUMENT, "%s: %s '%s': shape too large", file, what, name);
}

sc_status sc_ds_resolve_shape(sc_dataset_shape *want, const int64_t *dims, int rank, int exact,
                              const char *file, const char *what, const char *name, const char *src,
                              size_t *elems, sc_error *err) {
    char a[128], b[128], from[160];
    from_str(src, from, sizeof from);
    if (rank < 0 || rank > SC_DATASET_MAX_RANK)
        return sc_error_set(err, SC_UNIMPLEMENTED, "%s: %s '%s': rank %d per example (at most %d)",
                            file, what, name, rank, SC_DATASET_MAX_RANK);
    sc_dataset_shape data = {.rank = rank};
    memcpy(data.dims, dims, (size_t)rank * sizeof *dims);
    size_t have;
    if (sc_ds_shape_elems(&data, &have) != 0) return too_big(file, what, name, err);
    if (want->rank < 0) {
        *want = data;
        *elems = have;
        return SC_OK;
    }
    int ok;
    if (exact) {
        ok = want->rank == rank;
        for (int i = 0; ok && i < rank; i++) ok = want->dims[i] < 0 || want->dims[i] == dims[i];
        if (ok) *want = data;
    } else {
        /* Labels: unknown dims are only resolvable when the ranks agree. */
        ok = 1;
        for (int i = 0; i < want->rank; i++)
            if (want->dims[i] < 0) ok = want->rank == rank;
        if (ok && want->rank == rank) {
            for (int i = 0; i < rank; i++)
                if (want->dims[i] < 0) want->dims[i] = dims[i];
        }
        size_t need;
        if (ok && sc_ds_shape_elems(want, &need) != 0) return too_big(file, what, name, err);
        ok = ok && need == have;
    }
    if (!ok)
        return sc_error_set(err, SC_INVALID_ARGUMENT,
                            "%s: %s '%s'%s takes examples of shape %s, the data has %s", file, what,
                            name, from, sc_dataset_shape_str(want, b, sizeof b),
                            dims_str(dims, rank, a, sizeof a));
    *elems = have;
    return SC_OK;
}

sc_status sc_ds_resolve_count(sc_dataset_shape *want, uint64_t count, const char *file,
                              const char *what, const char *name, const char *src, size_t *elems,
                              sc_error *err) {
    char b[128], from[160];
    from_str(src, from, sizeof from);
    if (count > (uint64_t)INT64_MAX) return too_big(file, what, name, err);
    if (want->rank < 0) {
        want->rank = 1;
        want->dims[0] = (int64_t)count;
        *elems = (size_t)count;
        return SC_OK;
    }
    int unknown = -1;
    uint64_t known = 1;
    for (int i = 0; i < want->rank; i++) {
        if (want->dims[i] >= 0) {
            if (__builtin_mul_overflow(known, (uint64_t)want->dims[i], &known))
                return too_big(file, what, name, err);
        } else if (unknown >= 0) {
            return sc_error_set(err, SC_INVALID_ARGUMENT,
                                "%s: %s '%s'%s: shape %s has more than one unknown dim; a flat "
                                "list of %llu values cannot resolve it",
                                file, what, name, from, sc_dataset_shape_str(want, b, sizeof b),
                                (unsigned long long)count);
        } else {
            unknown = i;
        }
    }
    if (unknown >= 0) {
        if (known == 0 || count % known != 0)
            return sc_error_set(err, SC_INVALID_ARGUMENT,
                                "%s: %s '%s'%s: %llu values do not fit the shape %s", file, what,
                                name, from, (unsigned long long)count,
                                sc_dataset_shape_str(want, b, sizeof b));
        want->dims[unknown] = (int64_t)(count / known);
        known = count;
    }
    if (known != count)
        return sc_error_set(err, SC_INVALID_ARGUMENT,
                            "%s: %s '%s'%s takes examples of shape %s (%llu values), the data "
                            "has %llu values per example",
                            file, what, name, from, sc_dataset_shape_str(want, b, sizeof b),
                            (unsigned long long)known, (unsigned long long)count);
    *elems = (size_t)count;
    return SC_OK;
}
