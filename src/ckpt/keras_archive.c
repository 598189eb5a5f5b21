/* ckpt/keras_archive.c — the Keras 3 `.keras` zip (FORMATS §7.2): config.json, metadata.json
 * and model.weights.h5, located through the central directory with libzip. Members are read
 * whole (libzip checks each member's CRC as it reaches its end); the weights are handed to the
 * HDF5 reader as a file image without a further copy. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zip.h>

#include "ckpt/keras_h5.h"
#include "core/error.h"

#define MAX_JSON_MEMBER (256u << 20) /* config.json of a large model is a few MB */

struct sc_keras_archive {
    char *path;
    char *config;
    size_t config_len;
    char *metadata;
    sc_h5weights *weights;
};

void sc_keras_archive_free(sc_keras_archive *ar) {
    if (!ar) return;
    sc_h5weights_free(ar->weights);
    free(ar->metadata);
    free(ar->config);
    free(ar->path);
    free(ar);
}

static sc_status zip_open_status(int code) {
    switch (code) {
    case ZIP_ER_NOENT: return SC_NOT_FOUND;
    case ZIP_ER_OPEN:
    case ZIP_ER_READ:
    case ZIP_ER_SEEK: return SC_IO;
    case ZIP_ER_MEMORY: return SC_NO_MEMORY;
    default: return SC_DATA_LOSS; /* NOZIP, INCONS, CRC, ... */
    }
}

/* Reads member `name` whole into a malloc'd, NUL-terminated buffer. *data stays NULL (and the
 * call succeeds) when the archive has no such member. */
static sc_status read_member(zip_t *za, const char *path, const char *name, uint64_t max,
                             char **data, size_t *len, sc_error *err) {
    *data = NULL;
    *len = 0;
    zip_int64_t idx = zip_name_locate(za, name, 0);
    if (idx < 0) return SC_OK;
    zip_stat_t zs;
    zip_stat_init(&zs);
    if (zip_stat_index(za, (zip_uint64_t)idx, 0, &zs) != 0 || !(zs.valid & ZIP_STAT_SIZE))
        return sc_error_set(err, SC_DATA_LOSS,
                            "%s: member '%s': no size in the central "
                            "directory: %s",
                            path, name, zip_strerror(za));
    if (zs.size > max || zs.size >= SIZE_MAX)
        return sc_error_set(err, SC_DATA_LOSS,
                            "%s: member '%s': %llu bytes, at most %llu "
                            "expected",
                            path, name, (unsigned long long)zs.size, (unsigned long long)max);
    size_t n = (size_t)zs.size;
    char *buf = malloc(n + 1);
    if (!buf)
        return sc_error_set(err, SC_NO_MEMORY, "%s: member '%s': out of memory (%zu bytes)", path,
                            name, n);
    zip_file_t *zf = zip_fopen_index(za, (zip_uint64_t)idx, 0);
    if (!zf) {
        int zc = zip_error_code_zip(zip_get_error(za));
        int unsupported =
            zc == ZIP_ER_COMPNOTSUPP || zc == ZIP_ER_ENCRNOTSUPP || zc == ZIP_ER_NOPASSWD;
        sc_status st =
            sc_error_set(err, unsupported ? SC_UNIMPLEMENTED : SC_DATA_LOSS,
                         "%s: member '%s': cannot open: %s", path, name, zip_strerror(za));
        free(buf);
        return st;
    }
    size_t got = 0;
    while (got < n) {
        zip_int64_t r = zip_fread(zf, buf + got, n - got);
        if (r <= 0) break;
        got += (size_t)r;
    }
    /* One more read to reach the end of the member, where libzip verifies the CRC. */
    char extra;
    zip_int64_t tail = got == n ? zip_fread(zf, &extra, 1) : -1;
    if (got != n || tail != 0) {
        const char *why = tail > 0 ? "longer than its stored size" : zip_file_strerror(zf);
        sc_status st = sc_error_set(err, SC_DATA_LOSS,
                                    "%s: member '%s': read %zu of %zu bytes: "
                                    "%s",
                                    path, name, got, n, why);
        zip_fclose(zf);
        free(buf);
        return st;
    }
    zip_fclose(zf);
    buf[n] = '\0';
    *data = buf;
    *len = n;
    return SC_OK;
}

sc_status sc_keras_archive_open(const char *path, sc_keras_archive **out, sc_error *err) {
    *out = NULL;
    sc_status st = SC_OK;
    int code = 0;
    char *weights = NULL, *wname = NULL;
    size_t wlen = 0, mlen = 0;
    sc_keras_archive *ar = calloc(1, sizeof *ar);
    if (!ar || !(ar->path = strdup(path))) {
        free(ar);
        return sc_error_set(err, SC_NO_MEMORY, "%s: out of memory", path);
    }
    zip_t *za = zip_open(path, ZIP_RDONLY | ZIP_CHECKCONS, &code);
    if (!za) {
        zip_error_t ze;
        zip_error_init_with_code(&ze, code);
        st = sc_error_set(err, zip_open_status(code), "%s: cannot open as a .keras zip: %s", path,
                          zip_error_strerror(&ze));
        zip_error_fini(&ze);
        goto fail;
    }
    if ((st = read_member(za, path, "config.json", MAX_JSON_MEMBER, &ar->config, &ar->config_len,
                          err))
        != SC_OK)
        goto fail;
    if (!ar->config) {
        st = sc_error_set(err, SC_NOT_FOUND,
                          "%s: member 'config.json' not found, expected a "
                          ".keras archive",
                          path);
        goto fail;
    }
    if (strlen(ar->config) != ar->config_len) {
        st = sc_error_set(err, SC_DATA_LOSS,
                          "%s: member 'config.json': NUL byte at %zu, "
                          "expected JSON text",
                          path, strlen(ar->config));
        goto fail;
    }
    if ((st = read_member(za, path, "metadata.json", MAX_JSON_MEMBER, &ar->metadata, &mlen, err))
        != SC_OK)
        goto fail;
    if ((st = read_member(za, path, "model.weights.h5", UINT64_MAX, &weights, &wlen, err)) != SC_OK)
        goto fail;
    if (!weights) {
        int other = zip_name_locate(za, "model.weights.npz", 0) >= 0
                    || zip_name_locate(za, "model.weights.json", 0) >= 0;
        st = sc_error_set(err, other ? SC_UNIMPLEMENTED : SC_NOT_FOUND,
                          other ? "%s: member 'model.weights.h5' not found; the weights are "
                                  "stored as .npz or sharded, which is not supported"
                                : "%s: member 'model.weights.h5' not found",
                          path);
        goto fail;
    }
    size_t nl = strlen(path) + sizeof ":model.weights.h5";
    if (!(wname = malloc(nl))) {
        st = sc_error_set(err, SC_NO_MEMORY, "%s: out of memory", path);
        goto fail;
    }
    snprintf(wname, nl, "%s:model.weights.h5", path);
    st = sc_h5weights_open_owned(weights, wlen, wname, &ar->weights, err);
    weights = NULL; /* owned by the reader now, even on failure */
    if (st != SC_OK) goto fail;
    free(wname);
    zip_discard(za); /* read-only: nothing to write back */
    *out = ar;
    return SC_OK;
fail:
    free(weights);
    free(wname);
    if (za) zip_discard(za);
    sc_keras_archive_free(ar);
    return st;
}

const char *sc_keras_archive_path(const sc_keras_archive *ar) { return ar->path; }

const char *sc_keras_archive_config(const sc_keras_archive *ar, size_t *len) {
    if (len) *len = ar->config_len;
    return ar->config;
}

const char *sc_keras_archive_metadata(const sc_keras_archive *ar) { return ar->metadata; }

sc_h5weights *sc_keras_archive_weights(sc_keras_archive *ar) { return ar->weights; }
