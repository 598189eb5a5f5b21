/* ckpt/keras_h5_write.c — writes a weights file the way h5py does for Keras 3 (FORMATS §7.1):
 * superblock v0, contiguous uncompressed little-endian datasets, vlen UTF-8 string attributes.
 * For tests and tools: the reader must work on files it did not write itself, so this writer
 * copies h5py's choices (bool as an int8 enum, float16 as a 2-byte IEEE layout). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ckpt/keras_h5.h"
#include "core/error.h"

/* The HDF5 file type for dt (caller closes), or -1 for dtypes this writer does not store. */
static hid_t file_type(sc_dtype dt) {
    hid_t t = -1;
    signed char no = 0, yes = 1;
    switch (dt) {
    case SC_DT_FLOAT: return H5Tcopy(H5T_IEEE_F32LE);
    case SC_DT_DOUBLE: return H5Tcopy(H5T_IEEE_F64LE);
    case SC_DT_INT8: return H5Tcopy(H5T_STD_I8LE);
    case SC_DT_INT16: return H5Tcopy(H5T_STD_I16LE);
    case SC_DT_INT32: return H5Tcopy(H5T_STD_I32LE);
    case SC_DT_INT64: return H5Tcopy(H5T_STD_I64LE);
    case SC_DT_UINT8: return H5Tcopy(H5T_STD_U8LE);
    case SC_DT_UINT16: return H5Tcopy(H5T_STD_U16LE);
    case SC_DT_UINT32: return H5Tcopy(H5T_STD_U32LE);
    case SC_DT_UINT64: return H5Tcopy(H5T_STD_U64LE);
    case SC_DT_HALF: /* HDF5 1.10 predefines no binary16; h5py builds it the same way */
        t = H5Tcopy(H5T_IEEE_F32LE);
        if (t >= 0
            && (H5Tset_fields(t, 15, 10, 5, 0, 10) < 0 || H5Tset_size(t, 2) < 0
                || H5Tset_ebias(t, 15) < 0)) {
            H5Tclose(t);
            return -1;
        }
        return t;
    case SC_DT_BOOL:
        t = H5Tenum_create(H5T_STD_I8LE);
        if (t >= 0
            && (H5Tenum_insert(t, "FALSE", &no) < 0 || H5Tenum_insert(t, "TRUE", &yes) < 0)) {
            H5Tclose(t);
            return -1;
        }
        return t;
    case SC_DT_BFLOAT16:
        t = H5Tcreate(H5T_OPAQUE, 2);
        if (t >= 0 && H5Tset_tag(t, "bfloat16") < 0) {
            H5Tclose(t);
            return -1;
        }
        return t;
    default: return -1;
    }
}

static herr_t write_str_attr(hid_t obj, const char *name, const char *value) {
    hid_t t = H5Tcopy(H5T_C_S1), s = H5Screate(H5S_SCALAR), a = -1;
    herr_t r = -1;
    if (t >= 0 && s >= 0 && H5Tset_size(t, H5T_VARIABLE) >= 0 && H5Tset_cset(t, H5T_CSET_UTF8) >= 0
        && (a = H5Acreate2(obj, name, t, s, H5P_DEFAULT, H5P_DEFAULT)) >= 0)
        r = H5Awrite(a, t, &value);
    if (a >= 0) H5Aclose(a);
    if (s >= 0) H5Sclose(s);
    if (t >= 0) H5Tclose(t);
    return r;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Everything checkable without HDF5, so that a bad call leaves no file behind. */
static sc_status check_entries(const char *path, const sc_h5weights_entry *e, size_t n,
                               sc_error *err) {
    for (size_t i = 0; i < n; i++) {
        const char *k = e[i].key;
        if (!k || !*k || *k == '/' || k[strlen(k) - 1] == '/' || strstr(k, "//"))
            return sc_error_set(err, SC_INVALID_ARGUMENT,
                                "%s: entry %zu: key '%s' is not a "
                                "relative path a/b/c",
                                path, i, k ? k : "(null)");
        size_t esize = sc_dtype_size(e[i].dtype);
        hid_t probe = file_type(e[i].dtype);
        if (probe < 0 || esize == 0)
            return sc_error_set(err, SC_INVALID_ARGUMENT,
                                "%s: tensor '%s': dtype %s cannot be "
                                "written to HDF5",
                                path, k, sc_dtype_name(e[i].dtype));
        H5Tclose(probe);
        if (e[i].rank < 0 || e[i].rank > H5S_MAX_RANK || (e[i].rank && !e[i].shape))
            return sc_error_set(err, SC_INVALID_ARGUMENT,
                                "%s: tensor '%s': rank %d, expected "
                                "0..%d",
                                path, k, e[i].rank, H5S_MAX_RANK);
        size_t count = 1;
        for (int d = 0; d < e[i].rank; d++) {
            int64_t v = e[i].shape[d];
            if (v < 0 || (v && count > SIZE_MAX / esize / (uint64_t)v))
                return sc_error_set(err, SC_INVALID_ARGUMENT,
                                    "%s: tensor '%s': bad dimension "
                                    "%d (%lld)",
                                    path, k, d, (long long)v);
            count *= (size_t)v;
        }
        if (count * esize != e[i].size || (e[i].size && !e[i].data))
            return sc_error_set(err, SC_INVALID_ARGUMENT,
                                "%s: tensor '%s': %zu bytes given, "
                                "shape and dtype need %zu",
                                path, k, e[i].size, count * esize);
    }
    const char **keys = malloc((n ? n : 1) * sizeof *keys);
    if (!keys) return sc_error_set(err, SC_NO_MEMORY, "%s: out of memory", path);
    for (size_t i = 0; i < n; i++) keys[i] = e[i].key;
    qsort(keys, n, sizeof *keys, cmp_str);
    sc_status st = SC_OK;
    for (size_t i = 1; i < n && st == SC_OK; i++)
        if (strcmp(keys[i - 1], keys[i]) == 0)
            st = sc_error_set(err, SC_INVALID_ARGUMENT, "%s: tensor '%s' given twice", path,
                              keys[i]);
    free(keys);
    return st;
}

static sc_status write_group(hid_t file, hid_t lcpl, hid_t gcpl, const char *path,
                             const sc_h5weights_group *g, sc_error *err) {
    hid_t grp;
    if (!*g->path)
        grp = H5Gopen2(file, "/", H5P_DEFAULT);
    else if (H5Lexists(file, g->path, H5P_DEFAULT) > 0)
        grp = H5Gopen2(file, g->path, H5P_DEFAULT);
    else
        grp = H5Gcreate2(file, g->path, lcpl, gcpl, H5P_DEFAULT);
    if (grp < 0) return sc_h5_error(err, SC_IO, "%s: group '/%s': cannot create", path, g->path);
    sc_status st = SC_OK;
    if (g->name && write_str_attr(grp, "name", g->name) < 0)
        st = sc_h5_error(err, SC_IO, "%s: group '/%s': cannot write attribute 'name'", path,
                         g->path);
    if (st == SC_OK && g->attr && g->value && write_str_attr(grp, g->attr, g->value) < 0)
        st = sc_h5_error(err, SC_IO, "%s: group '/%s': cannot write attribute '%s'", path, g->path,
                         g->attr);
    H5Gclose(grp);
    return st;
}

static sc_status write_entry(hid_t file, hid_t lcpl, hid_t dcpl, const char *path,
                             const sc_h5weights_entry *e, sc_error *err) {
    sc_status st = SC_OK;
    hsize_t dims[H5S_MAX_RANK];
    for (int d = 0; d < e->rank; d++) dims[d] = (hsize_t)e->shape[d];
    hid_t ft = file_type(e->dtype), ds = -1;
    hid_t sp = e->rank ? H5Screate_simple(e->rank, dims, NULL) : H5Screate(H5S_SCALAR);
    if (ft < 0 || sp < 0 || (ds = H5Dcreate2(file, e->key, ft, sp, lcpl, dcpl, H5P_DEFAULT)) < 0) {
        st = sc_h5_error(err, SC_IO, "%s: tensor '%s': cannot create the dataset", path, e->key);
        goto done;
    }
    /* The data is already little-endian in the file type's layout: no conversion. */
    if (e->size && H5Dwrite(ds, ft, H5S_ALL, H5S_ALL, H5P_DEFAULT, e->data) < 0) {
        st = sc_h5_error(err, SC_IO, "%s: tensor '%s': write failed", path, e->key);
        goto done;
    }
    if (e->dtype == SC_DT_BFLOAT16 && write_str_attr(ds, "dtype", "bfloat16") < 0)
        st = sc_h5_error(err, SC_IO, "%s: tensor '%s': cannot write attribute 'dtype'", path,
                         e->key);
done:
    if (ds >= 0) H5Dclose(ds);
    if (sp >= 0) H5Sclose(sp);
    if (ft >= 0) H5Tclose(ft);
    return st;
}

static sc_status sync_file(const char *path, sc_error *err) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fsync(fd) != 0) {
        int e = errno;
        if (fd >= 0) close(fd);
        return sc_error_set(err, SC_IO, "%s: fsync failed: %s", path, strerror(e));
    }
    close(fd);
    return SC_OK;
}

sc_status sc_h5weights_write(const char *path, const sc_h5weights_entry *entries, size_t n,
                             const sc_h5weights_group *groups, size_t num_groups, sc_error *err) {
    sc_h5_quiet();
    sc_status st = check_entries(path, entries, n, err);
    if (st != SC_OK) return st;
    char tmp[4096];
    int tl = snprintf(tmp, sizeof tmp, "%s.tmp%ld", path, (long)getpid());
    if (tl < 0 || (size_t)tl >= sizeof tmp)
        return sc_error_set(err, SC_INVALID_ARGUMENT, "%s: path too long", path);
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS), lcpl = H5Pcreate(H5P_LINK_CREATE),
          gcpl = H5Pcreate(H5P_GROUP_CREATE), dcpl = H5Pcreate(H5P_DATASET_CREATE), file = -1;
    /* No object timestamps (h5py's default for datasets): the same input gives the same bytes.
     * Intermediate groups take lcpl's defaults, which also record no times in 1.10. */
    if (fapl < 0 || lcpl < 0 || gcpl < 0 || dcpl < 0
        || H5Pset_fclose_degree(fapl, H5F_CLOSE_STRONG) < 0
        || H5Pset_create_intermediate_group(lcpl, 1) < 0 || H5Pset_obj_track_times(gcpl, 0) < 0
        || H5Pset_obj_track_times(dcpl, 0) < 0) {
        st = sc_h5_error(err, SC_NO_MEMORY, "%s: cannot set up HDF5", path);
        goto fail;
    }
    if ((file = H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, fapl)) < 0) {
        st = sc_h5_error(err, SC_IO, "%s: cannot create", tmp);
        goto fail;
    }
    for (size_t i = 0; i < num_groups && st == SC_OK; i++)
        st = write_group(file, lcpl, gcpl, path, &groups[i], err);
    for (size_t i = 0; i < n && st == SC_OK; i++)
        st = write_entry(file, lcpl, dcpl, path, &entries[i], err);
    if (st != SC_OK) goto fail;
    herr_t closed = H5Fclose(file);
    file = -1;
    if (closed < 0) {
        st = sc_h5_error(err, SC_IO, "%s: cannot finish the file", tmp);
        goto fail;
    }
    if ((st = sync_file(tmp, err)) != SC_OK) goto fail;
    if (rename(tmp, path) != 0) {
        st = sc_error_set(err, SC_IO, "%s: cannot rename %s into place: %s", path, tmp,
                          strerror(errno));
        goto fail;
    }
    H5Pclose(dcpl);
    H5Pclose(gcpl);
    H5Pclose(lcpl);
    H5Pclose(fapl);
    return SC_OK;
fail:
    if (file >= 0) H5Fclose(file);
    if (dcpl >= 0) H5Pclose(dcpl);
    if (gcpl >= 0) H5Pclose(gcpl);
    if (lcpl >= 0) H5Pclose(lcpl);
    if (fapl >= 0) H5Pclose(fapl);
    unlink(tmp);
    H5Eclear2(H5E_DEFAULT);
    return st;
}
