/* data/npz.c — .npz archives: a zip of NAME.npy members, stored (np.savez) or deflated
 * (np.savez_compressed), read and written with libzip. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zip.h>

#include "core/error.h"
#include "core/mem.h"
#include "data/npy.h"

/* Deflate cannot expand data by more than about 1032:1; a member claiming more is lying. */
#define MAX_DEFLATE_RATIO 1032u

struct sc_npz {
    char *path;
    zip_t *za;
    uint64_t file_size;
    size_t n;
    char **names;        /* without ".npy" */
    zip_uint64_t *index; /* member index of each name */
};

static sc_status zip_open_error(const char *path, int code, sc_error *err) {
    zip_error_t ze;
    zip_error_init_with_code(&ze, code);
    sc_status st = code == ZIP_ER_NOENT    ? SC_NOT_FOUND
                   : code == ZIP_ER_MEMORY ? SC_NO_MEMORY
                   : code == ZIP_ER_OPEN || code == ZIP_ER_READ || code == ZIP_ER_SEEK
                       ? SC_IO
                       : SC_DATA_LOSS;
    sc_status s = sc_error_set(err, st, "%s: cannot open as an .npz (zip) archive: %s", path,
                               zip_error_strerror(&ze));
    zip_error_fini(&ze);
    return s;
}

sc_status sc_npz_open(const char *path, sc_npz **out, sc_error *err) {
    *out = NULL;
    sc_status s = SC_NO_MEMORY;
    sc_npz *z = calloc(1, sizeof *z);
    if (!z || !(z->path = strdup(path))) {
        free(z);
        return sc_error_set(err, SC_NO_MEMORY, "%s: out of memory", path);
    }
    struct stat st;
    int code = 0;
    if (stat(path, &st) == 0) z->file_size = (uint64_t)st.st_size;
    z->za = zip_open(path, ZIP_RDONLY | ZIP_CHECKCONS, &code);
    if (!z->za) {
        s = zip_open_error(path, code, err);
        goto fail;
    }
    zip_int64_t count = zip_get_num_entries(z->za, 0);
    if (count < 0) count = 0;
    z->names = calloc((size_t)count + 1, sizeof *z->names);
    z->index = calloc((size_t)count + 1, sizeof *z->index);
    if (!z->names || !z->index) goto oom;
    for (zip_int64_t i = 0; i < count; i++) {
        const char *name = zip_get_name(z->za, (zip_uint64_t)i, ZIP_FL_ENC_RAW);
        size_t len = name ? strlen(name) : 0;
        if (len <= 4 || strcmp(name + len - 4, ".npy") != 0) continue; /* not an array */
        if (!(z->names[z->n] = strndup(name, len - 4))) goto oom;
        z->index[z->n++] = (zip_uint64_t)i;
    }
    *out = z;
    return SC_OK;
oom:
    s = sc_error_set(err, SC_NO_MEMORY, "%s: out of memory listing members", path);
fail:
    sc_npz_free(z);
    return s;
}

void sc_npz_free(sc_npz *z) {
    if (!z) return;
    if (z->za) zip_discard(z->za);
    for (size_t i = 0; z->names && i < z->n; i++) free(z->names[i]);
    free(z->names);
    free(z->index);
    free(z->path);
    free(z);
}

size_t sc_npz_num_arrays(const sc_npz *z) { return z->n; }
const char *sc_npz_array_name(const sc_npz *z, size_t i) { return i < z->n ? z->names[i] : NULL; }

static sc_status not_found(const sc_npz *z, const char *name, sc_error *err) {
    char list[320] = "";
    size_t used = 0;
    for (size_t i = 0; i < z->n && used + 6 < sizeof list; i++) {
        int w = snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "", z->names[i]);
        if (w < 0 || (size_t)w >= sizeof list - used) {
            strcpy(list + sizeof list - 5, "...");
            break;
        }
        used += (size_t)w;
    }
    return sc_error_set(err, SC_NOT_FOUND, "%s: no array '%s' (arrays present: %s)", z->path, name,
                        z->n ? list : "none");
}

/* Finds member `name` and checks what the archive says of it before anything is allocated on
 * its word: *zi its index, *zs its stat. */
static sc_status find_member(sc_npz *z, const char *name, zip_uint64_t *zi, zip_stat_t *zs_out,
                             sc_error *err) {
    size_t i = 0;
    while (i < z->n && strcmp(z->names[i], name) != 0) i++;
    if (i == z->n) return not_found(z, name, err);
    zip_stat_t zs;
    if (zip_stat_index(z->za, z->index[i], 0, &zs) != 0 || !(zs.valid & ZIP_STAT_SIZE)
        || !(zs.valid & ZIP_STAT_COMP_SIZE))
        return sc_error_set(err, SC_DATA_LOSS, "%s: array '%s': cannot stat member: %s", z->path,
                            name, zip_strerror(z->za));
    if (!(zs.valid & ZIP_STAT_COMP_METHOD)
        || (zs.comp_method != ZIP_CM_STORE && zs.comp_method != ZIP_CM_DEFLATE))
        return sc_error_set(err, SC_UNIMPLEMENTED,
                            "%s: array '%s': zip compression method %d (expected stored or "
                            "deflated, as NumPy writes)",
                            z->path, name, (int)zs.comp_method);
    uint64_t limit = zs.comp_method == ZIP_CM_STORE ? zs.comp_size
                     : zs.comp_size > UINT64_MAX / MAX_DEFLATE_RATIO
                         ? UINT64_MAX
                         : zs.comp_size * MAX_DEFLATE_RATIO + 64;
    if (zs.comp_size > z->file_size || zs.size > limit || zs.size > SIZE_MAX - 1)
        return sc_error_set(err, SC_DATA_LOSS,
                            "%s: array '%s': member claims %llu bytes from %llu compressed bytes "
                            "in a %llu-byte archive",
                            z->path, name, (unsigned long long)zs.size,
                            (unsigned long long)zs.comp_size, (unsigned long long)z->file_size);
    *zi = z->index[i];
    *zs_out = zs;
    return SC_OK;
}

sc_status sc_npz_load(sc_npz *z, const char *name, sc_array **out, sc_error *err) {
    *out = NULL;
    zip_uint64_t zi;
    zip_stat_t zs;
    sc_status s = find_member(z, name, &zi, &zs, err);
    if (s != SC_OK) return s;
    size_t len = (size_t)zs.size;
    uint8_t *buf = sc_mem_alloc_large(len + 1);
    zip_file_t *f = NULL;
    if (!buf)
        return sc_error_set(err, SC_NO_MEMORY, "%s: array '%s': out of memory for %zu bytes",
                            z->path, name, len);
    f = zip_fopen_index(z->za, zi, 0);
    if (!f) {
        s = sc_error_set(err, SC_DATA_LOSS, "%s: array '%s': cannot open member: %s", z->path, name,
                         zip_strerror(z->za));
        goto fail;
    }
    size_t got = 0;
    for (;;) { /* read to EOF: libzip checks the member CRC when it reaches the end */
        zip_int64_t r = zip_fread(f, buf + got, len + 1 - got);
        if (r < 0) {
            s = sc_error_set(err, SC_DATA_LOSS, "%s: array '%s': %s", z->path, name,
                             zip_file_strerror(f));
            goto fail;
        }
        if (r == 0) break;
        got += (size_t)r;
        if (got > len) break;
    }
    if (got != len) {
        s = sc_error_set(err, SC_DATA_LOSS,
                         "%s: array '%s': member holds %s bytes than its recorded size %zu",
                         z->path, name, got > len ? "more" : "fewer", len);
        goto fail;
    }
    zip_fclose(f);
    char source[512];
    snprintf(source, sizeof source, "%s:%s", z->path, name);
    return sc_array_from_npy(buf, len, z->path, name, source, out, err);
fail:
    if (f) zip_fclose(f);
    free(buf);
    return s;
}

/* ---- one shard's rows of a member (npy_rows.c) ---- */

typedef struct member_in {
    zip_file_t *f;
    const sc_npz *z;
    const char *name;
    int stored; /* seekable: libzip seeks in stored members only */
} member_in;

static sc_status member_read(void *ctx, void *buf, size_t n, sc_error *err) {
    member_in *m = ctx;
    for (size_t got = 0; got < n;) {
        zip_int64_t r = zip_fread(m->f, (uint8_t *)buf + got, n - got);
        if (r <= 0)
            return sc_error_set(err, SC_DATA_LOSS, "%s: array '%s': %s", m->z->path, m->name,
                                r < 0 ? zip_file_strerror(m->f) : "member ends early");
        got += (size_t)r;
    }
    return SC_OK;
}

static sc_status member_skip(void *ctx, uint64_t n, sc_error *err) {
    member_in *m = ctx;
    if (m->stored) {
        if (n > INT64_MAX || zip_fseek(m->f, (zip_int64_t)n, SEEK_CUR) != 0)
            return sc_error_set(err, SC_DATA_LOSS, "%s: array '%s': cannot seek: %s", m->z->path,
                                m->name, zip_file_strerror(m->f));
        return SC_OK;
    }
    uint8_t drop[1 << 16]; /* deflated: inflate and drop */
    for (sc_status s; n > 0; n -= n < sizeof drop ? n : sizeof drop)
        if ((s = member_read(m, drop, n < sizeof drop ? (size_t)n : sizeof drop, err)) != SC_OK)
            return s;
    return SC_OK;
}

sc_status sc_npz_load_rows(sc_npz *z, const char *name, const sc_npy_rows *sel, sc_array **out,
                           uint64_t *total, sc_error *err) {
    *out = NULL;
    zip_uint64_t zi;
    zip_stat_t zs;
    sc_status s = find_member(z, name, &zi, &zs, err);
    if (s != SC_OK) return s;
    member_in m = {zip_fopen_index(z->za, zi, 0), z, name, zs.comp_method == ZIP_CM_STORE};
    if (!m.f)
        return sc_error_set(err, SC_DATA_LOSS, "%s: array '%s': cannot open member: %s", z->path,
                            name, zip_strerror(z->za));
    char source[512];
    snprintf(source, sizeof source, "%s:%s", z->path, name);
    sc_npy_stream in = {&m, member_read, member_skip, zs.size};
    s = sc_npy_read_rows(&in, sel, z->path, name, source, out, total, err);
    zip_fclose(m.f);
    return s;
}

/* ---- writer ---- */

struct sc_npz_writer {
    char *path;
    zip_t *za;
    int compressed;
};

sc_status sc_npz_writer_create(const char *path, int compressed, sc_npz_writer **out,
                               sc_error *err) {
    *out = NULL;
    sc_npz_writer *w = calloc(1, sizeof *w);
    if (!w || !(w->path = strdup(path))) {
        free(w);
        return sc_error_set(err, SC_NO_MEMORY, "%s: out of memory", path);
    }
    int code = 0;
    w->compressed = compressed;
    w->za = zip_open(path, ZIP_CREATE | ZIP_TRUNCATE, &code);
    if (!w->za) {
        zip_error_t ze;
        zip_error_init_with_code(&ze, code);
        sc_status s = sc_error_set(err, code == ZIP_ER_MEMORY ? SC_NO_MEMORY : SC_IO,
                                   "%s: cannot create archive: %s", path, zip_error_strerror(&ze));
        zip_error_fini(&ze);
        sc_npz_writer_free(w);
        return s;
    }
    *out = w;
    return SC_OK;
}

sc_status sc_npz_writer_add(sc_npz_writer *w, const char *name, sc_dtype dtype, int rank,
                            const int64_t *shape, const void *data, size_t nbytes, sc_error *err) {
    if (!w->za) return sc_error_set(err, SC_INVALID_ARGUMENT, "%s: add after close", w->path);
    char member[512], what[600];
    if ((size_t)snprintf(member, sizeof member, "%s.npy", name) >= sizeof member)
        return sc_error_set(err, SC_INVALID_ARGUMENT, "%s: array name too long", w->path);
    snprintf(what, sizeof what, "%s: array '%s'", w->path, name);
    if (zip_name_locate(w->za, member, 0) >= 0)
        return sc_error_set(err, SC_INVALID_ARGUMENT, "%s: duplicate array name", what);
    sc_array_info info;
    sc_status s = sc_npy_make_info(dtype, rank, shape, what, &info, err);
    if (s != SC_OK) return s;
    if (nbytes != info.nbytes)
        return sc_error_set(err, SC_INVALID_ARGUMENT,
                            "%s: %zu data bytes given, the shape and dtype need %zu", what, nbytes,
                            info.nbytes);
    uint8_t *buf;
    size_t len;
    s = sc_npy_encode(&info, data, 1, what, &buf, &len, err);
    if (s != SC_OK) return s;
    zip_source_t *src = zip_source_buffer(w->za, buf, len, 1); /* libzip frees buf */
    if (!src) {
        free(buf);
        return sc_error_set(err, SC_NO_MEMORY, "%s: %s", what, zip_strerror(w->za));
    }
    zip_int64_t idx = zip_file_add(w->za, member, src, ZIP_FL_ENC_UTF_8);
    if (idx < 0) {
        zip_source_free(src);
        return sc_error_set(err, SC_IO, "%s: cannot add member: %s", what, zip_strerror(w->za));
    }
    if (zip_set_file_compression(w->za, (zip_uint64_t)idx,
                                 w->compressed ? ZIP_CM_DEFLATE : ZIP_CM_STORE, 0)
        != 0)
        return sc_error_set(err, SC_IO, "%s: cannot set compression: %s", what,
                            zip_strerror(w->za));
    return SC_OK;
}

sc_status sc_npz_writer_close(sc_npz_writer *w, sc_error *err) {
    if (!w->za) return sc_error_set(err, SC_INVALID_ARGUMENT, "%s: closed twice", w->path);
    if (zip_close(w->za) != 0) {
        sc_status s =
            sc_error_set(err, SC_IO, "%s: cannot write archive: %s", w->path, zip_strerror(w->za));
        zip_discard(w->za);
        w->za = NULL;
        return s;
    }
    w->za = NULL;
    return SC_OK;
}

void sc_npz_writer_free(sc_npz_writer *w) {
    if (!w) return;
    if (w->za) zip_discard(w->za);
    free(w->path);
    free(w);
}
