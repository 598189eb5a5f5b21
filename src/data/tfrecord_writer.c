/* data/tfrecord_writer.c — TFRecord writer (plain, ZLIB, GZIP) following TensorFlow's
 * ZlibOutputBuffer settings (FORMATS §4.2): level Z_DEFAULT_COMPRESSION, memLevel 9, default
 * strategy, 256 KiB buffers, Z_FINISH at close. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "core/error.h"
#include "core/fileio.h"
#include "core/record.h"
#include "sidecar/data.h"

#define WRITE_BUFFER (256 * 1024)

struct sc_tfrecord_writer {
    char *path;
    int fd;
    sc_compression comp;
    z_stream zs;
    int zs_ready;
    uint8_t *buf; /* plain: pending bytes; compressed: deflate output */
    size_t len;
    int closed;
};

static sc_status flush_buf(sc_tfrecord_writer *w, sc_error *err) {
    sc_status s = sc_write_full(w->fd, w->path, w->buf, w->len, err);
    w->len = 0;
    return s;
}

static sc_status zfail(sc_tfrecord_writer *w, int ret, sc_error *err) {
    return sc_error_set(err, ret == Z_MEM_ERROR ? SC_NO_MEMORY : SC_IO,
                        "%s: deflate failed (%d): %s", w->path, ret,
                        w->zs.msg ? w->zs.msg : "internal error");
}

/* Deflates data (then finishes the stream when finish is set), writing out full buffers. */
static sc_status deflate_some(sc_tfrecord_writer *w, const uint8_t *data, size_t n, int finish,
                              sc_error *err) {
    for (;;) {
        if (w->zs.avail_in == 0) {
            if (n > 0) {
                uInt chunk = n > (size_t)1 << 30 ? (uInt)1 << 30 : (uInt)n;
                w->zs.next_in = (Bytef *)(uintptr_t)data; /* zlib never writes through it */
                w->zs.avail_in = chunk;
                data += chunk;
                n -= chunk;
            } else if (!finish) {
                return SC_OK;
            }
        }
        w->zs.next_out = w->buf + w->len;
        w->zs.avail_out = (uInt)(WRITE_BUFFER - w->len);
        int ret = deflate(&w->zs, finish && n == 0 ? Z_FINISH : Z_NO_FLUSH);
        if (ret == Z_STREAM_ERROR) return zfail(w, ret, err);
        w->len = WRITE_BUFFER - w->zs.avail_out;
        if (w->len == WRITE_BUFFER) {
            sc_status s = flush_buf(w, err);
            if (s != SC_OK) return s;
        }
        if (ret == Z_STREAM_END) return SC_OK;
    }
}

static sc_status put(sc_tfrecord_writer *w, const void *data, size_t n, sc_error *err) {
    if (w->comp != SC_COMPRESSION_NONE) return deflate_some(w, data, n, 0, err);
    if (n >= WRITE_BUFFER) {
        sc_status s = flush_buf(w, err);
        return s != SC_OK ? s : sc_write_full(w->fd, w->path, data, n, err);
    }
    if (n > WRITE_BUFFER - w->len) {
        sc_status s = flush_buf(w, err);
        if (s != SC_OK) return s;
    }
    memcpy(w->buf + w->len, data, n);
    w->len += n;
    return SC_OK;
}

sc_status sc_tfrecord_writer_create(const char *path, sc_compression compression,
                                    sc_tfrecord_writer **out, sc_error *err) {
    *out = NULL;
    if (compression != SC_COMPRESSION_NONE && compression != SC_COMPRESSION_ZLIB
        && compression != SC_COMPRESSION_GZIP)
        return sc_error_set(err, SC_INVALID_ARGUMENT,
                            "%s: writer compression must be none, zlib or gzip, not %s", path,
                            sc_compression_name(compression));
    sc_status s = SC_NO_MEMORY;
    sc_tfrecord_writer *w = calloc(1, sizeof *w);
    if (!w) return sc_error_set(err, SC_NO_MEMORY, "%s: out of memory", path);
    w->fd = -1;
    w->comp = compression;
    w->path = strdup(path);
    w->buf = malloc(WRITE_BUFFER);
    if (!w->path || !w->buf) {
        sc_error_set(err, s, "%s: out of memory", path);
        goto fail;
    }
    if (compression != SC_COMPRESSION_NONE) {
        int bits = compression == SC_COMPRESSION_GZIP ? 15 + 16 : 15;
        int ret =
            deflateInit2(&w->zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, bits, 9, Z_DEFAULT_STRATEGY);
        if (ret != Z_OK) {
            s = zfail(w, ret, err);
            goto fail;
        }
        w->zs_ready = 1;
    }
    w->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (w->fd < 0) {
        s = sc_error_set(err, SC_IO, "%s: cannot create: %s", path, strerror(errno));
        goto fail;
    }
    *out = w;
    return SC_OK;
fail:
    sc_tfrecord_writer_free(w);
    return s;
}

sc_status sc_tfrecord_writer_write(sc_tfrecord_writer *w, const void *payload, size_t len,
                                   sc_error *err) {
    if (w->closed) return sc_error_set(err, SC_INVALID_ARGUMENT, "%s: write after close", w->path);
    uint8_t header[SC_RECORD_HEADER_SIZE], footer[SC_RECORD_FOOTER_SIZE];
    sc_record_frame(header, footer, payload, len);
    sc_status s = put(w, header, sizeof header, err);
    if (s == SC_OK && len) s = put(w, payload, len, err);
    if (s == SC_OK) s = put(w, footer, sizeof footer, err);
    return s;
}

sc_status sc_tfrecord_writer_close(sc_tfrecord_writer *w, sc_error *err) {
    if (w->closed) return sc_error_set(err, SC_INVALID_ARGUMENT, "%s: closed twice", w->path);
    w->closed = 1;
    sc_status s = SC_OK;
    if (w->comp != SC_COMPRESSION_NONE) s = deflate_some(w, NULL, 0, 1, err);
    if (s == SC_OK) s = flush_buf(w, err);
    if (close(w->fd) != 0 && s == SC_OK)
        s = sc_error_set(err, SC_IO, "%s: close failed: %s", w->path, strerror(errno));
    w->fd = -1;
    return s;
}

void sc_tfrecord_writer_free(sc_tfrecord_writer *w) {
    if (!w) return;
    if (w->zs_ready) deflateEnd(&w->zs);
    if (w->fd >= 0) close(w->fd);
    free(w->path);
    free(w->buf);
    free(w);
}
