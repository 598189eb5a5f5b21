/* ckpt/keras_h5.c — HDF5 weights reader (FORMATS §7.1, §7.4): lists every dataset of the file
 * with libhdf5, maps its type to an sc_dtype, and reads it as little-endian bytes. */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ckpt/h5_guard.h"
#include "ckpt/keras_h5.h"
#include "core/error.h"

typedef struct {
    sc_tensor_info info; /* first: sc_h5weights_read converts back from the public pointer */
    int64_t *shape;
    sc_h5_rd rd;
} h5_tensor;

typedef struct {
    char *path; /* "" for the root */
    char *name; /* its `name` attribute, read on first request */
    int loaded;
} h5_group;

struct sc_h5weights {
    char *path;
    hid_t file;
    void *image; /* owned file image (open_memory), freed after the file is closed */
    h5_tensor *t;
    size_t n, cap;
    h5_group *g;
    size_t ng, gcap;
};

void sc_h5weights_free(sc_h5weights *h) {
    if (!h) return;
    for (size_t i = 0; i < h->n; i++) {
        free((char *)h->t[i].info.key);
        free(h->t[i].shape);
    }
    for (size_t i = 0; i < h->ng; i++) {
        free(h->g[i].path);
        free(h->g[i].name);
    }
    free(h->t);
    free(h->g);
    if (h->file >= 0) {
        sc_h5_quiet();
        H5Fclose(h->file);
        H5Eclear2(H5E_DEFAULT);
    }
    free(h->image); /* only now: HDF5 read from it until H5Fclose */
    free(h->path);
    free(h);
}

static sc_status grow(void **arr, size_t *cap, size_t n, size_t elem) {
    if (n < *cap) return SC_OK;
    size_t nc = *cap ? *cap * 2 : 16;
    if (nc > SIZE_MAX / elem) return SC_NO_MEMORY;
    void *p = realloc(*arr, nc * elem);
    if (!p) return SC_NO_MEMORY;
    *arr = p;
    *cap = nc;
    return SC_OK;
}

static sc_status add_dataset(sc_h5weights *h, hid_t ds, const char *key, sc_error *err) {
    sc_status st = SC_OK;
    hid_t ft = -1, sp = -1, dcpl = -1;
    char *bf = NULL;
    if (grow((void **)&h->t, &h->cap, h->n, sizeof *h->t) != SC_OK)
        return sc_error_set(err, SC_NO_MEMORY, "%s: out of memory listing datasets", h->path);
    h5_tensor *t = &h->t[h->n];
    memset(t, 0, sizeof *t);
    if ((ft = H5Dget_type(ds)) < 0 || (sp = H5Dget_space(ds)) < 0
        || (dcpl = H5Dget_create_plist(ds)) < 0) {
        st = sc_h5_error(err, SC_DATA_LOSS, "%s: dataset '/%s': cannot read its type or shape",
                         h->path, key);
        goto done;
    }
    /* Variable-length strings live in HDF5's global heap, whose reader in libhdf5 1.10 trusts
     * the file (bit-flip runs crash or hang inside H5HG_read): read attributes only when needed,
     * here only for the 2-byte types that may hold bfloat16. */
    H5T_class_t cls = H5Tget_class(ft);
    if ((cls == H5T_OPAQUE || cls == H5T_INTEGER) && H5Tget_size(ft) == 2
        && (st = sc_h5_read_str_attr(ds, h->path, key, "dtype", &bf, err)) != SC_OK)
        goto done;
    sc_h5_classify(ft, bf && strcmp(bf, "bfloat16") == 0, &t->info.dtype, &t->rd);
    H5S_class_t sc = H5Sget_simple_extent_type(sp);
    int rank = sc == H5S_SIMPLE ? H5Sget_simple_extent_ndims(sp) : 0;
    hsize_t dims[H5S_MAX_RANK];
    if (sc == H5S_NO_CLASS || rank < 0 || rank > H5S_MAX_RANK
        || (rank > 0 && H5Sget_simple_extent_dims(sp, dims, NULL) != rank)) {
        st =
            sc_h5_error(err, SC_DATA_LOSS, "%s: dataset '/%s': unreadable dataspace", h->path, key);
        goto done;
    }
    if ((t->info.key = strdup(key)) == NULL
        || (t->shape = calloc(rank ? (size_t)rank : 1, sizeof *t->shape)) == NULL) {
        st = sc_error_set(err, SC_NO_MEMORY, "%s: out of memory listing datasets", h->path);
        goto done;
    }
    uint64_t n = sc == H5S_NULL ? 0 : 1;
    for (int i = 0; i < rank; i++) {
        if (dims[i] > (hsize_t)INT64_MAX || (dims[i] && n > (uint64_t)INT64_MAX / dims[i])) {
            st = sc_error_set(err, SC_DATA_LOSS,
                              "%s: dataset '/%s': dimension %d (%llu) makes "
                              "the element count overflow",
                              h->path, key, i, (unsigned long long)dims[i]);
            goto done;
        }
        t->shape[i] = (int64_t)dims[i];
        n *= dims[i];
    }
    size_t esize = t->rd == SC_H5_RD_NONE ? 0 : H5Tget_size(ft);
    if (esize && n > SIZE_MAX / esize) {
        st = sc_error_set(err, SC_DATA_LOSS,
                          "%s: dataset '/%s': %llu elements of %zu bytes "
                          "exceed the address space",
                          h->path, key, (unsigned long long)n, esize);
        goto done;
    }
    t->info.key_len = strlen(key);
    t->info.rank = rank;
    t->info.shape = t->shape;
    t->info.num_elements = (int64_t)n;
    t->info.size = n * esize;
    /* h5py writes contiguous datasets: check their extent against the file before anyone
     * allocates t->size bytes on the strength of a forged dataspace. 0 = never written (reads
     * as the fill value). */
    if (esize && H5Pget_layout(dcpl) == H5D_CONTIGUOUS) {
        hsize_t stored = H5Dget_storage_size(ds), fsize = 0;
        haddr_t off = H5Dget_offset(ds);
        if (stored && stored != t->info.size) {
            st = sc_error_set(err, SC_DATA_LOSS,
                              "%s: dataset '/%s': %llu bytes stored, expected "
                              "%llu for %llu elements of %zu bytes",
                              h->path, key, (unsigned long long)stored,
                              (unsigned long long)t->info.size, (unsigned long long)n, esize);
            goto done;
        }
        if (stored && off != HADDR_UNDEF && H5Fget_filesize(h->file, &fsize) >= 0
            && (off > fsize || stored > fsize - off)) {
            st = sc_error_set(err, SC_DATA_LOSS,
                              "%s: dataset '/%s': data at byte %llu + %llu "
                              "runs past the end of the file (%llu bytes)",
                              h->path, key, (unsigned long long)off, (unsigned long long)stored,
                              (unsigned long long)fsize);
            goto done;
        }
    }
    h->n++;
done:
    if (st != SC_OK) {
        free((char *)t->info.key);
        free(t->shape);
    }
    free(bf);
    if (dcpl >= 0) H5Pclose(dcpl);
    if (sp >= 0) H5Sclose(sp);
    if (ft >= 0) H5Tclose(ft);
    return st;
}

static sc_status add_group(sc_h5weights *h, const char *path, sc_error *err) {
    char *p = strdup(path);
    if (!p || grow((void **)&h->g, &h->gcap, h->ng, sizeof *h->g) != SC_OK) {
        free(p);
        return sc_error_set(err, SC_NO_MEMORY, "%s: out of memory listing groups", h->path);
    }
    h->g[h->ng++] = (h5_group){p, NULL, 0};
    return SC_OK;
}

typedef struct {
    sc_h5weights *h;
    sc_error *err;
    sc_status st;
} visit_ctx;

static herr_t visit(hid_t root, const char *name, const H5L_info_t *info, void *data) {
    visit_ctx *c = data;
    if (info->type != H5L_TYPE_HARD) return 0; /* soft/external links may point anywhere */
    hid_t o = H5Oopen(root, name, H5P_DEFAULT);
    if (o < 0) {
        c->st =
            sc_h5_error(c->err, SC_DATA_LOSS, "%s: object '/%s': cannot open", c->h->path, name);
        return -1;
    }
    H5I_type_t type = H5Iget_type(o);
    if (type == H5I_DATASET)
        c->st = add_dataset(c->h, o, name, c->err);
    else if (type == H5I_GROUP)
        c->st = add_group(c->h, name, c->err);
    H5Oclose(o);
    return c->st == SC_OK ? 0 : -1;
}

static int cmp_tensor(const void *a, const void *b) {
    return strcmp(((const h5_tensor *)a)->info.key, ((const h5_tensor *)b)->info.key);
}

static int cmp_group(const void *a, const void *b) {
    return strcmp(((const h5_group *)a)->path, ((const h5_group *)b)->path);
}

/* Lists the open file's datasets and named groups into h. */
static sc_status list_file(sc_h5weights *h, sc_error *err) {
    hid_t root = H5Gopen2(h->file, "/", H5P_DEFAULT);
    if (root < 0) return sc_h5_error(err, SC_DATA_LOSS, "%s: cannot open the root group", h->path);
    visit_ctx c = {h, err, SC_OK};
    sc_status st = add_group(h, "", err);
    if (st == SC_OK && H5Lvisit(root, H5_INDEX_NAME, H5_ITER_INC, visit, &c) < 0)
        st = c.st != SC_OK ? c.st
                           : sc_h5_error(err, SC_DATA_LOSS, "%s: cannot walk the groups", h->path);
    H5Gclose(root);
    H5Eclear2(H5E_DEFAULT);
    if (st != SC_OK) return st;
    if (h->n) qsort(h->t, h->n, sizeof *h->t, cmp_tensor);
    if (h->ng) qsort(h->g, h->ng, sizeof *h->g, cmp_group);
    return SC_OK;
}

/* Refuses the bytes libhdf5 would never finish reading (h5_guard.h). */
static sc_status heap_loop_error(const char *name, uint64_t at, sc_error *err) {
    return sc_error_set(err, SC_DATA_LOSS,
                        "%s: corrupt HDF5 file: the free list of the local heap at byte %llu loops "
                        "back on itself (libhdf5 would read it forever)",
                        name, (unsigned long long)at);
}

/* The same on a file. One that cannot be read here is left to libhdf5, which names the
 * problem. */
static sc_status guard_file(const char *path, sc_error *err) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return SC_OK;
    struct stat sb;
    uint64_t at;
    int loops =
        fstat(fd, &sb) == 0 && sb.st_size > 0 && sc_h5_heap_loops_fd(fd, (uint64_t)sb.st_size, &at);
    close(fd);
    return loops ? heap_loop_error(path, at, err) : SC_OK;
}

static sc_h5weights *new_handle(const char *path) {
    sc_h5weights *h = calloc(1, sizeof *h);
    if (!h) return NULL;
    h->file = -1;
    if (!(h->path = strdup(path))) {
        free(h);
        return NULL;
    }
    return h;
}

sc_status sc_h5weights_open(const char *path, sc_h5weights **out, sc_error *err) {
    *out = NULL;
    sc_h5_quiet();
    struct stat sb;
    if (stat(path, &sb) != 0)
        return sc_error_set(err, errno == ENOENT ? SC_NOT_FOUND : SC_IO, "%s: cannot open: %s",
                            path, strerror(errno));
    if (S_ISDIR(sb.st_mode))
        return sc_error_set(err, SC_INVALID_ARGUMENT,
                            "%s: is a directory, expected an HDF5 "
                            "file",
                            path);
    sc_status st = guard_file(path, err);
    if (st != SC_OK) return st;
    sc_h5weights *h = new_handle(path);
    if (!h) return sc_error_set(err, SC_NO_MEMORY, "%s: out of memory", path);
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    if (fapl < 0 || H5Pset_fclose_degree(fapl, H5F_CLOSE_STRONG) < 0) {
        st = sc_h5_error(err, SC_NO_MEMORY, "%s: cannot set up HDF5", path);
        goto fail;
    }
    if ((h->file = H5Fopen(path, H5F_ACC_RDONLY, fapl)) < 0) {
        st = sc_h5_error_is_lock()
                 ? sc_h5_error(err, SC_UNAVAILABLE, "%s: locked by a writer, retry later", path)
                 : sc_h5_error(err, SC_DATA_LOSS, "%s: not a readable HDF5 file", path);
        goto fail;
    }
    if ((st = list_file(h, err)) != SC_OK) goto fail;
    H5Pclose(fapl);
    *out = h;
    return SC_OK;
fail:
    if (fapl >= 0) H5Pclose(fapl);
    sc_h5weights_free(h);
    return st;
}

/* File-image callbacks that let HDF5's core driver use our buffer in place instead of copying
 * it twice (into the property list, then into the driver). The file is opened read-only, so
 * the buffer is never written or resized; we free it after H5Fclose. */
typedef struct {
    void *data;
    size_t len;
} image_ud;

static void *img_malloc(size_t size, H5FD_file_image_op_t op, void *ud) {
    (void)op;
    image_ud *u = ud;
    return size <= u->len ? u->data : NULL;
}

static void *img_memcpy(void *dest, const void *src, size_t size, H5FD_file_image_op_t op,
                        void *ud) {
    (void)size, (void)op, (void)ud;
    return dest == src ? dest : NULL; /* every "copy" is of our buffer onto itself */
}

static void *img_realloc(void *ptr, size_t size, H5FD_file_image_op_t op, void *ud) {
    (void)ptr, (void)size, (void)op, (void)ud;
    return NULL;
}

static herr_t img_free(void *ptr, H5FD_file_image_op_t op, void *ud) {
    (void)ptr, (void)op, (void)ud;
    return 0;
}

static void *ud_copy(void *ud) { return ud; }
static herr_t ud_free(void *ud) {
    (void)ud;
    return 0;
}

sc_status sc_h5weights_open_owned(void *data, size_t len, const char *name, sc_h5weights **out,
                                  sc_error *err) {
    /* The core driver identifies files by name: two images open under one name would be taken
     * for the same file. */
    static atomic_ulong counter;
    *out = NULL;
    sc_h5_quiet();
    sc_h5weights *h = new_handle(name);
    if (!h) {
        free(data);
        return sc_error_set(err, SC_NO_MEMORY, "%s: out of memory", name);
    }
    h->image = data;
    sc_status st = SC_OK;
    image_ud ud = {data, len};
    H5FD_file_image_callbacks_t cb = {img_malloc, img_memcpy, img_realloc, img_free,
                                      ud_copy,    ud_free,    &ud};
    char iname[64];
    snprintf(iname, sizeof iname, "sc-h5image-%lu", (unsigned long)atomic_fetch_add(&counter, 1));
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    if (len == 0) {
        st = sc_error_set(err, SC_DATA_LOSS, "%s: empty, expected an HDF5 file", name);
        goto fail;
    }
    uint64_t at;
    if (sc_h5_heap_loops(data, len, &at)) {
        st = heap_loop_error(name, at, err);
        goto fail;
    }
    if (fapl < 0 || H5Pset_fapl_core(fapl, 65536, 0) < 0
        || H5Pset_fclose_degree(fapl, H5F_CLOSE_STRONG) < 0
        || H5Pset_file_image_callbacks(fapl, &cb) < 0 || H5Pset_file_image(fapl, data, len) < 0) {
        st = sc_h5_error(err, SC_NO_MEMORY, "%s: cannot set up an HDF5 file image", name);
        goto fail;
    }
    if ((h->file = H5Fopen(iname, H5F_ACC_RDONLY, fapl)) < 0) {
        st = sc_h5_error(err, SC_DATA_LOSS, "%s: not a readable HDF5 file", name);
        goto fail;
    }
    H5Pclose(fapl); /* ud lives on our stack: no property list may outlive this call */
    fapl = -1;
    if ((st = list_file(h, err)) != SC_OK) goto fail;
    *out = h;
    return SC_OK;
fail:
    if (fapl >= 0) H5Pclose(fapl);
    sc_h5weights_free(h);
    return st;
}

sc_status sc_h5weights_open_memory(const void *data, size_t len, const char *name,
                                   sc_h5weights **out, sc_error *err) {
    *out = NULL;
    void *copy = malloc(len ? len : 1);
    if (!copy) return sc_error_set(err, SC_NO_MEMORY, "%s: out of memory (%zu bytes)", name, len);
    if (len) memcpy(copy, data, len);
    return sc_h5weights_open_owned(copy, len, name, out, err);
}

const char *sc_h5weights_path(const sc_h5weights *h) { return h->path; }
size_t sc_h5weights_num_tensors(const sc_h5weights *h) { return h->n; }

const sc_tensor_info *sc_h5weights_tensor(const sc_h5weights *h, size_t i) {
    return i < h->n ? &h->t[i].info : NULL;
}

const sc_tensor_info *sc_h5weights_find(const sc_h5weights *h, const char *key) {
    if (!h->n) return NULL;
    h5_tensor probe = {.info.key = key};
    const h5_tensor *t = bsearch(&probe, h->t, h->n, sizeof *h->t, cmp_tensor);
    return t ? &t->info : NULL;
}

/* Groups are opened only by the hard-link paths listed at open, never by a caller's path
 * (which could cross a soft or external link). */
static const char *find_group_name(sc_h5weights *h, const char *path) {
    if (!h->ng) return NULL;
    h5_group probe = {(char *)path, NULL, 0};
    h5_group *g = bsearch(&probe, h->g, h->ng, sizeof *h->g, cmp_group);
    if (!g) return NULL;
    if (!g->loaded) {
        g->loaded = 1;
        sc_h5_quiet();
        hid_t o = H5Oopen(h->file, *path ? path : "/", H5P_DEFAULT);
        if (o >= 0) {
            if (sc_h5_read_str_attr(o, h->path, path, "name", &g->name, NULL) != SC_OK)
                g->name = NULL;
            H5Oclose(o);
        }
        H5Eclear2(H5E_DEFAULT);
    }
    return g->name;
}

hid_t sc_h5weights_file(const sc_h5weights *h) { return h->file; }

const char *sc_h5weights_group_name(sc_h5weights *h, const char *path) {
    const char *name = find_group_name(h, path);
    if (name) return name;
    size_t n = strlen(path) + sizeof "/vars";
    char *vars = malloc(n);
    if (!vars) return NULL;
    snprintf(vars, n, "%s%svars", path, *path ? "/" : "");
    name = find_group_name(h, vars);
    free(vars);
    return name;
}

sc_status sc_h5weights_read(sc_h5weights *h, const sc_tensor_info *t, void *buf, size_t cap,
                            sc_error *err) {
    const h5_tensor *ht = (const h5_tensor *)t;
    assert(ht >= h->t && ht < h->t + h->n); /* t must come from this handle */
    if (ht->rd == SC_H5_RD_NONE)
        return sc_error_set(err, SC_UNIMPLEMENTED,
                            "%s: dataset '/%s': HDF5 type is not a "
                            "numeric tensor type (dtype %s)",
                            h->path, t->key, sc_dtype_name(t->dtype));
    if (cap < t->size)
        return sc_error_set(err, SC_INVALID_ARGUMENT,
                            "%s: dataset '/%s': buffer of %zu bytes, "
                            "need %llu",
                            h->path, t->key, cap, (unsigned long long)t->size);
    if (t->num_elements == 0) return SC_OK;
    sc_h5_quiet();
    sc_status st = SC_OK;
    hid_t ds = -1, sp = -1, ft = -1, mt = -1;
    if ((ds = H5Dopen2(h->file, t->key, H5P_DEFAULT)) < 0 || (sp = H5Dget_space(ds)) < 0
        || (ft = H5Dget_type(ds)) < 0) {
        st = sc_h5_error(err, SC_DATA_LOSS, "%s: dataset '/%s': cannot open", h->path, t->key);
        goto done;
    }
    if (H5Sget_simple_extent_npoints(sp) != t->num_elements
        || H5Tget_size(ft) * (uint64_t)t->num_elements != t->size) {
        st = sc_error_set(err, SC_DATA_LOSS,
                          "%s: dataset '/%s': type or shape changed since the "
                          "file was opened",
                          h->path, t->key);
        goto done;
    }
    if ((mt = H5Tcopy(ft)) < 0 || (ht->rd == SC_H5_RD_LE && H5Tset_order(mt, H5T_ORDER_LE) < 0)) {
        st = sc_h5_error(err, SC_DATA_LOSS, "%s: dataset '/%s': cannot set up the memory type",
                         h->path, t->key);
        goto done;
    }
    if (H5Dread(ds, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0)
        st = sc_h5_error(err, SC_DATA_LOSS, "%s: dataset '/%s': read failed", h->path, t->key);
done:
    if (mt >= 0) H5Tclose(mt);
    if (ft >= 0) H5Tclose(ft);
    if (sp >= 0) H5Sclose(sp);
    if (ds >= 0) H5Dclose(ds);
    H5Eclear2(H5E_DEFAULT);
    return st;
}
