/* ckpt/keras_h5_util.c — libhdf5 plumbing shared by the weights reader, writer and archive:
 * error stacks turned into messages, string attributes, and HDF5 types mapped to sc_dtype. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ckpt/keras_h5.h"
#include "core/error.h"

#define MAX_ATTR_STRING 65536u
#define DETAIL_MAX      256 /* HDF5's own diagnosis appended to our messages */

void sc_h5_quiet(void) { H5Eset_auto2(H5E_DEFAULT, NULL, NULL); }

static herr_t walk_first(unsigned n, const H5E_error2_t *e, void *data) {
    char *out = data;
    if (n != 0) return 0; /* walking upward: entry 0 is the most specific */
    if (e->desc && *e->desc) {
        snprintf(out, DETAIL_MAX, "%s", e->desc);
    } else {
        char msg[200];
        if (H5Eget_msg(e->min_num, NULL, msg, sizeof msg) > 0) snprintf(out, DETAIL_MAX, "%s", msg);
    }
    return 0;
}

static herr_t walk_lock(unsigned n, const H5E_error2_t *e, void *data) {
    (void)n;
    if (e->min_num == H5E_CANTLOCKFILE) *(int *)data = 1;
    return 0;
}

int sc_h5_error_is_lock(void) {
    int locked = 0;
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, walk_lock, &locked);
    return locked;
}

sc_status sc_h5_error(sc_error *err, sc_status status, const char *fmt, ...) {
    char detail[DETAIL_MAX] = "";
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, walk_first, detail);
    H5Eclear2(H5E_DEFAULT);
    if (!err) return status;
    char head[SC_ERROR_MESSAGE_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(head, sizeof head, fmt, ap);
    va_end(ap);
    if (*detail) return sc_error_set(err, status, "%s: %s", head, detail);
    return sc_error_set(err, status, "%s", head);
}

static sc_status read_str_attr(hid_t obj, const char *file, const char *obj_path, const char *attr,
                               size_t max, char **out, sc_error *err);

sc_status sc_h5_read_str_attr(hid_t obj, const char *file, const char *obj_path, const char *attr,
                              char **out, sc_error *err) {
    return read_str_attr(obj, file, obj_path, attr, MAX_ATTR_STRING, out, err);
}

/* Model configs of large models run to megabytes (a whole Functional graph in JSON). */
sc_status sc_h5_read_config_attr(hid_t obj, const char *file, const char *obj_path,
                                 const char *attr, char **out, sc_error *err) {
    return read_str_attr(obj, file, obj_path, attr, (size_t)64 << 20, out, err);
}

static sc_status read_str_attr(hid_t obj, const char *file, const char *obj_path, const char *attr,
                               size_t max, char **out, sc_error *err) {
    *out = NULL;
    sc_status st = SC_OK;
    hid_t a = -1, ft = -1, sp = -1, mt = -1;
    htri_t ex = H5Aexists(obj, attr);
    if (ex < 0)
        return sc_h5_error(err, SC_DATA_LOSS, "%s: object '/%s': cannot look up attribute '%s'",
                           file, obj_path, attr);
    if (ex == 0) return SC_OK;
    if ((a = H5Aopen(obj, attr, H5P_DEFAULT)) < 0 || (ft = H5Aget_type(a)) < 0
        || (sp = H5Aget_space(a)) < 0) {
        st = sc_h5_error(err, SC_DATA_LOSS, "%s: object '/%s': cannot open attribute '%s'", file,
                         obj_path, attr);
        goto done;
    }
    if (H5Tget_class(ft) != H5T_STRING || H5Sget_simple_extent_npoints(sp) != 1) goto done;
    htri_t vl = H5Tis_variable_str(ft);
    if (vl > 0) {
        char *s = NULL;
        if ((mt = H5Tcopy(H5T_C_S1)) < 0 || H5Tset_size(mt, H5T_VARIABLE) < 0
            || H5Tset_cset(mt, H5Tget_cset(ft)) < 0 || H5Aread(a, mt, &s) < 0) {
            st = sc_h5_error(err, SC_DATA_LOSS, "%s: object '/%s': cannot read attribute '%s'",
                             file, obj_path, attr);
            goto done;
        }
        if (s) {
            *out = strndup(s, max);
            H5free_memory(s);
            if (!*out) st = sc_error_set(err, SC_NO_MEMORY, "%s: out of memory", file);
        }
    } else if (vl < 0) {
        st = sc_h5_error(err, SC_DATA_LOSS,
                         "%s: object '/%s': attribute '%s': unreadable "
                         "string type",
                         file, obj_path, attr);
    } else {
        size_t n = H5Tget_size(ft);
        if (n == 0 || n > max) {
            st = sc_error_set(err, SC_DATA_LOSS,
                              "%s: object '/%s': attribute '%s' is a %zu-byte "
                              "string, expected 1..%zu",
                              file, obj_path, attr, n, max);
            goto done;
        }
        char *s = calloc(1, n + 1);
        if (!s) {
            st = sc_error_set(err, SC_NO_MEMORY, "%s: out of memory", file);
            goto done;
        }
        if (H5Aread(a, ft, s) < 0) { /* fixed strings have no byte order: read as stored */
            free(s);
            st = sc_h5_error(err, SC_DATA_LOSS, "%s: object '/%s': cannot read attribute '%s'",
                             file, obj_path, attr);
            goto done;
        }
        *out = s; /* NUL- or space-padded; NUL padding ends the C string */
    }
done:
    if (mt >= 0) H5Tclose(mt);
    if (sp >= 0) H5Sclose(sp);
    if (ft >= 0) H5Tclose(ft);
    if (a >= 0) H5Aclose(a);
    return st;
}

static int ieee_float(hid_t ft, size_t size) {
    size_t sp, ep, es, mp, ms;
    if (H5Tget_fields(ft, &sp, &ep, &es, &mp, &ms) < 0) return 0;
    if (H5Tget_offset(ft) != 0 || H5Tget_precision(ft) != size * 8) return 0;
    if (H5Tget_norm(ft) != H5T_NORM_IMPLIED) return 0;
    size_t bias = H5Tget_ebias(ft);
    switch (size) {
    case 2: return sp == 15 && ep == 10 && es == 5 && mp == 0 && ms == 10 && bias == 15;
    case 4: return sp == 31 && ep == 23 && es == 8 && mp == 0 && ms == 23 && bias == 127;
    case 8: return sp == 63 && ep == 52 && es == 11 && mp == 0 && ms == 52 && bias == 1023;
    default: return 0;
    }
}

/* h5py's numpy bool: an enum over a 1-byte integer with exactly the values 0 and 1. */
static int h5py_bool(hid_t ft) {
    if (H5Tget_size(ft) != 1 || H5Tget_nmembers(ft) != 2) return 0;
    int seen = 0;
    for (unsigned i = 0; i < 2; i++) {
        unsigned char v = 0xff;
        if (H5Tget_member_value(ft, i, &v) < 0 || v > 1) return 0;
        seen |= 1 << v;
    }
    return seen == 3;
}

void sc_h5_classify(hid_t ft, int bf16_attr, sc_dtype *dt, sc_h5_rd *rd) {
    static const sc_dtype ints[2][4] = {{SC_DT_UINT8, SC_DT_UINT16, SC_DT_UINT32, SC_DT_UINT64},
                                        {SC_DT_INT8, SC_DT_INT16, SC_DT_INT32, SC_DT_INT64}};
    H5T_class_t cls = H5Tget_class(ft);
    size_t size = H5Tget_size(ft);
    H5T_order_t order = H5Tget_order(ft);
    int ordered = order == H5T_ORDER_LE || order == H5T_ORDER_BE;
    *dt = cls == H5T_STRING ? SC_DT_STRING : SC_DT_INVALID;
    *rd = SC_H5_RD_NONE;
    if (bf16_attr && size == 2 && (cls == H5T_OPAQUE || (cls == H5T_INTEGER && ordered))) {
        *dt = SC_DT_BFLOAT16;
        *rd = cls == H5T_OPAQUE ? SC_H5_RD_RAW : SC_H5_RD_LE;
    } else if (cls == H5T_FLOAT && ordered && ieee_float(ft, size)) {
        *dt = size == 2 ? SC_DT_HALF : size == 4 ? SC_DT_FLOAT : SC_DT_DOUBLE;
        *rd = SC_H5_RD_LE;
    } else if (cls == H5T_INTEGER && ordered && H5Tget_offset(ft) == 0
               && H5Tget_precision(ft) == size * 8) {
        int k = size == 1 ? 0 : size == 2 ? 1 : size == 4 ? 2 : size == 8 ? 3 : -1;
        if (k >= 0) {
            *dt = ints[H5Tget_sign(ft) == H5T_SGN_2][k];
            *rd = SC_H5_RD_LE;
        }
    } else if (cls == H5T_ENUM && h5py_bool(ft)) {
        *dt = SC_DT_BOOL;
        *rd = SC_H5_RD_RAW; /* 1 byte; HDF5 converts enums only to enums */
    }
}
