/* data/tfrecord_reader.c — streaming TFRecord reader (FORMATS §4): plain, ZLIB and GZIP.
 *
 * Bytes flow file -> `in` (raw chunk) [-> inflate -> `out`] -> the record parser, which copies
 * each record (payload + footer) into `rec`, a buffer reused from record to record. Plain files
 * bypass the chunk buffer for payloads larger than it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "core/error.h"
#include "core/record.h"
#include "sidecar/data.h"

#define MIN_BUFFER 4096

struct sc_tfrecord_reader {
    char *path;
    int fd;
    sc_compression comp; /* resolved: NONE, ZLIB or GZIP */
    int window_bits;
    sc_tfrecord_params params;
    uint64_t file_size; /* refreshed when a length check fails, for files that grow */

    uint8_t *in; /* raw file bytes; for plain files the parser reads in[in_pos..in_len) */
    size_t in_cap, in_pos, in_len;
    uint64_t file_off; /* file offset just past the bytes read so far */
    int file_eof;

    z_stream zs; /* compressed files: inflated bytes land in out[out_pos..out_len) */
    int zs_ready;
    int in_member; /* inside a zlib/gzip member (input seen since the last stream end) */
    uint8_t *out;
    size_t out_cap, out_pos, out_len;

    uint64_t consumed; /* bytes of the record stream handed to the parser */
    uint64_t offset;   /* stream offset of the next record */
    uint64_t index;    /* records returned */
    int at_end;
    sc_status failed; /* sticky after an error until rewind */

    uint8_t *rec;
    size_t rec_cap;
};

const char *sc_compression_name(sc_compression c) {
    switch (c) {
    case SC_COMPRESSION_NONE: return "none";
    case SC_COMPRESSION_ZLIB: return "zlib";
    case SC_COMPRESSION_GZIP: return "gzip";
    case SC_COMPRESSION_AUTO: return "auto";
    }
    return "unknown";
}

sc_tfrecord_params sc_tfrecord_default_params(void) {
    sc_tfrecord_params p = {SC_COMPRESSION_AUTO, 1, (uint64_t)1 << 30, 256 * 1024};
    return p;
}

static sc_status read_some(sc_tfrecord_reader *r, uint8_t *buf, size_t cap, size_t *got,
                           sc_error *err) {
    for (;;) {
        ssize_t n = pread(r->fd, buf, cap, (off_t)r->file_off);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0)
            return sc_error_set(err, SC_IO, "%s: read at byte %llu failed: %s", r->path,
                                (unsigned long long)r->file_off, strerror(errno));
        *got = (size_t)n;
        r->file_off += (uint64_t)n;
        if (n == 0) r->file_eof = 1;
        return SC_OK;
    }
}

static sc_status zerror(sc_tfrecord_reader *r, int ret, sc_error *err) {
    if (ret == Z_MEM_ERROR)
        return sc_error_set(err, SC_NO_MEMORY, "%s: out of memory inflating", r->path);
    return sc_error_set(err, SC_DATA_LOSS, "%s: corrupt %s stream near compressed byte %llu: %s",
                        r->path, sc_compression_name(r->comp),
                        (unsigned long long)(r->file_off - r->zs.avail_in),
                        r->zs.msg ? r->zs.msg : "invalid data");
}

/* Makes out[out_pos..out_len) non-empty, or leaves it empty at the clean end of the stream. */
static sc_status inflate_fill(sc_tfrecord_reader *r, sc_error *err) {
    r->out_pos = r->out_len = 0;
    while (r->out_len == 0) {
        if (r->zs.avail_in == 0) {
            size_t got = 0;
            if (!r->file_eof) {
                sc_status s = read_some(r, r->in, r->in_cap, &got, err);
                if (s != SC_OK) return s;
            }
            if (got == 0) {
                if (!r->in_member) return SC_OK;
                return sc_error_set(err, SC_DATA_LOSS,
                                    "%s: %s stream truncated (file ends at byte %llu inside a "
                                    "compressed member)",
                                    r->path, sc_compression_name(r->comp),
                                    (unsigned long long)r->file_off);
            }
            r->zs.next_in = r->in;
            r->zs.avail_in = (uInt)got;
        }
        r->in_member = 1;
        r->zs.next_out = r->out;
        r->zs.avail_out = (uInt)r->out_cap;
        int ret = inflate(&r->zs, Z_NO_FLUSH);
        r->out_len = r->out_cap - r->zs.avail_out;
        if (ret == Z_STREAM_END) {
            /* Another member may follow (concatenated .gz files). */
            r->in_member = 0;
            if (inflateReset(&r->zs) != Z_OK) return zerror(r, Z_STREAM_ERROR, err);
        } else if (ret == Z_BUF_ERROR) {
            if (r->zs.avail_in != 0) return zerror(r, ret, err); /* cannot happen: out had room */
        } else if (ret != Z_OK) {
            return zerror(r, ret, err);
        }
    }
    return SC_OK;
}

/* Copies up to n stream bytes into dst; *got < n only at the end of the stream. */
static sc_status stream_read(sc_tfrecord_reader *r, uint8_t *dst, size_t n, size_t *got,
                             sc_error *err) {
    size_t done = 0;
    while (done < n) {
        uint8_t *win = r->comp == SC_COMPRESSION_NONE ? r->in : r->out;
        size_t *pos = r->comp == SC_COMPRESSION_NONE ? &r->in_pos : &r->out_pos;
        size_t len = r->comp == SC_COMPRESSION_NONE ? r->in_len : r->out_len;
        if (*pos == len) {
            sc_status s = SC_OK;
            if (r->comp != SC_COMPRESSION_NONE) {
                s = inflate_fill(r, err);
                len = r->out_len;
            } else if (n - done >= r->in_cap) {
                /* A large payload: read straight into dst. */
                size_t k = 0;
                s = r->file_eof ? SC_OK : read_some(r, dst + done, n - done, &k, err);
                if (s != SC_OK) return s;
                if (k == 0) break;
                done += k;
                r->consumed += k;
                continue;
            } else {
                r->in_pos = 0;
                r->in_len = 0;
                if (!r->file_eof) s = read_some(r, r->in, r->in_cap, &r->in_len, err);
                len = r->in_len;
            }
            if (s != SC_OK) return s;
            if (*pos == len) break;
        }
        size_t k = len - *pos < n - done ? len - *pos : n - done;
        memcpy(dst + done, win + *pos, k);
        *pos += k;
        done += k;
        r->consumed += k;
    }
    *got = done;
    return SC_OK;
}

static sc_status open_stream(sc_tfrecord_reader *r, sc_error *err) {
    if (r->comp == SC_COMPRESSION_NONE) return SC_OK;
    int ret =
        r->zs_ready ? inflateReset2(&r->zs, r->window_bits) : inflateInit2(&r->zs, r->window_bits);
    if (ret != Z_OK) return zerror(r, ret, err);
    r->zs_ready = 1;
    r->zs.next_in = r->in;
    r->zs.avail_in = (uInt)r->in_len;
    r->in_pos = r->in_len = 0;
    r->in_member = 0;
    return SC_OK;
}

/* Reads the first chunk and settles the compression (AUTO: plain when the first 12 bytes are a
 * record header with a valid CRC; else gzip/zlib by their magic, inflated with windowBits 47). */
static sc_status detect(sc_tfrecord_reader *r, sc_error *err) {
    sc_status s = read_some(r, r->in, r->in_cap, &r->in_len, err);
    if (s != SC_OK) return s;
    const uint8_t *b = r->in;
    size_t n = r->in_len;
    uint64_t len;
    int gzip = n >= 2 && b[0] == 0x1f && b[1] == 0x8b;
    int zlib = n >= 2 && (b[0] & 0x0f) == 8 && (b[0] >> 4) <= 7 && ((b[0] << 8) | b[1]) % 31 == 0;
    if (r->params.compression == SC_COMPRESSION_AUTO) {
        if (n == 0 || (n >= SC_RECORD_HEADER_SIZE && sc_record_parse_header(b, &len) == 0))
            r->comp = SC_COMPRESSION_NONE;
        else if (gzip || zlib) {
            r->comp = gzip ? SC_COMPRESSION_GZIP : SC_COMPRESSION_ZLIB;
            r->window_bits = 15 + 32;
        } else if (n < SC_RECORD_HEADER_SIZE)
            r->comp = SC_COMPRESSION_NONE; /* a cut-off first record: next() says so */
        else
            return sc_error_set(err, SC_DATA_LOSS,
                                "%s: not a TFRecord file: the first 12 bytes are neither a record "
                                "header with a valid CRC nor a zlib/gzip header",
                                r->path);
    } else {
        r->comp = r->params.compression;
        r->window_bits = r->comp == SC_COMPRESSION_GZIP ? 15 + 16 : 15;
    }
    return open_stream(r, err);
}

sc_status sc_tfrecord_reader_create(const char *path, const sc_tfrecord_params *params,
                                    sc_tfrecord_reader **out, sc_error *err) {
    *out = NULL;
    sc_tfrecord_params p = params ? *params : sc_tfrecord_default_params();
    if (p.compression < SC_COMPRESSION_NONE || p.compression > SC_COMPRESSION_AUTO)
        return sc_error_set(err, SC_INVALID_ARGUMENT, "%s: unknown compression %d", path,
                            (int)p.compression);
    if (p.buffer_size < MIN_BUFFER) p.buffer_size = MIN_BUFFER;
    if (p.buffer_size > (size_t)1 << 30) p.buffer_size = (size_t)1 << 30; /* fits uInt */
    sc_status s = SC_NO_MEMORY;
    sc_tfrecord_reader *r = calloc(1, sizeof *r);
    if (!r) return sc_error_set(err, SC_NO_MEMORY, "%s: out of memory", path);
    r->fd = -1;
    r->params = p;
    r->path = strdup(path);
    r->in_cap = r->out_cap = p.buffer_size;
    r->in = malloc(r->in_cap);
    r->out = p.compression == SC_COMPRESSION_NONE ? NULL : malloc(r->out_cap);
    r->rec_cap = 256; /* never NULL: an empty record still gets a non-NULL view */
    r->rec = malloc(r->rec_cap);
    if (!r->path || !r->in || !r->rec || (p.compression != SC_COMPRESSION_NONE && !r->out)) {
        sc_error_set(err, s, "%s: out of memory for read buffers", path);
        goto fail;
    }
    r->fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (r->fd < 0 || fstat(r->fd, &st) != 0) {
        s = sc_error_set(err, errno == ENOENT ? SC_NOT_FOUND : SC_IO, "%s: cannot open: %s", path,
                         strerror(errno));
        goto fail;
    }
    if (S_ISDIR(st.st_mode)) {
        s = sc_error_set(err, SC_INVALID_ARGUMENT, "%s: is a directory, expected a TFRecord file",
                         path);
        goto fail;
    }
    r->file_size = (uint64_t)st.st_size;
    s = detect(r, err);
    if (s != SC_OK) goto fail;
    *out = r;
    return SC_OK;
fail:
    sc_tfrecord_reader_free(r);
    return s;
}

void sc_tfrecord_reader_free(sc_tfrecord_reader *r) {
    if (!r) return;
    if (r->zs_ready) inflateEnd(&r->zs);
    if (r->fd >= 0) close(r->fd);
    free(r->path);
    free(r->in);
    free(r->out);
    free(r->rec);
    free(r);
}

sc_status sc_tfrecord_reader_rewind(sc_tfrecord_reader *r, sc_error *err) {
    r->file_off = 0;
    r->file_eof = 0;
    r->in_pos = r->in_len = 0;
    r->out_pos = r->out_len = 0;
    r->consumed = r->offset = r->index = 0;
    r->at_end = 0;
    r->failed = SC_OK;
    return open_stream(r, err);
}

static sc_status truncated(sc_tfrecord_reader *r, uint64_t start, uint64_t ends, uint64_t needs,
                           sc_error *err) {
    return sc_error_set(err, SC_DATA_LOSS,
                        "%s: record %llu at byte %llu: truncated record (%s ends at byte %llu, "
                        "record needs %llu)",
                        r->path, (unsigned long long)r->index, (unsigned long long)start,
                        r->comp == SC_COMPRESSION_NONE ? "file" : "inflated stream",
                        (unsigned long long)ends, (unsigned long long)needs);
}

/* Does a record with payload length len whose payload starts at body fit in a file of size? */
static int fits(uint64_t size, uint64_t body, uint64_t len) {
    return size >= body && size - body >= SC_RECORD_FOOTER_SIZE
           && len <= size - body - SC_RECORD_FOOTER_SIZE;
}

static sc_status next_record(sc_tfrecord_reader *r, const uint8_t **payload, size_t *plen,
                             sc_error *err) {
    const char *where = r->comp == SC_COMPRESSION_NONE ? "" : " of the inflated stream";
    uint64_t start = r->consumed;
    uint8_t header[SC_RECORD_HEADER_SIZE];
    size_t got;
    sc_status s = stream_read(r, header, sizeof header, &got, err);
    if (s != SC_OK) return s;
    if (got == 0) {
        r->at_end = 1;
        return SC_OK;
    }
    if (got < sizeof header) return truncated(r, start, start + got, start + sizeof header, err);
    uint64_t len;
    if (sc_record_parse_header(header, &len) != 0)
        return sc_error_set(err, SC_DATA_LOSS,
                            "%s: record %llu at byte %llu%s: length CRC mismatch", r->path,
                            (unsigned long long)r->index, (unsigned long long)start, where);
    uint64_t body = start + SC_RECORD_HEADER_SIZE;
    if (r->comp == SC_COMPRESSION_NONE) {
        /* A valid length still has to fit in what the file holds: no allocation on faith. */
        struct stat st;
        if (!fits(r->file_size, body, len) && fstat(r->fd, &st) == 0)
            r->file_size = (uint64_t)st.st_size;
        if (!fits(r->file_size, body, len)) {
            uint64_t needs = len > UINT64_MAX - body - SC_RECORD_FOOTER_SIZE
                                 ? UINT64_MAX
                                 : body + len + SC_RECORD_FOOTER_SIZE;
            return truncated(r, start, r->file_size, needs, err);
        }
    }
    if (len > r->params.max_record_size || len > SIZE_MAX - SC_RECORD_FOOTER_SIZE)
        return sc_error_set(err, SC_UNIMPLEMENTED,
                            "%s: record %llu at byte %llu%s: length %llu exceeds the maximum "
                            "record size %llu",
                            r->path, (unsigned long long)r->index, (unsigned long long)start, where,
                            (unsigned long long)len, (unsigned long long)r->params.max_record_size);
    size_t need = (size_t)len + SC_RECORD_FOOTER_SIZE;
    if (need > r->rec_cap) {
        size_t cap = r->rec_cap;
        while (cap < need) cap = cap > SIZE_MAX / 2 ? need : cap * 2;
        uint8_t *nb = realloc(r->rec, cap);
        if (!nb)
            return sc_error_set(err, SC_NO_MEMORY, "%s: record %llu: out of memory for %zu bytes",
                                r->path, (unsigned long long)r->index, need);
        r->rec = nb;
        r->rec_cap = cap;
    }
    s = stream_read(r, r->rec, need, &got, err);
    if (s != SC_OK) return s;
    if (got < need) return truncated(r, start, body + got, body + need, err);
    if (r->params.verify_data_crc && sc_record_check_footer(r->rec + len, r->rec, (size_t)len) != 0)
        return sc_error_set(err, SC_DATA_LOSS, "%s: record %llu at byte %llu%s: data CRC mismatch",
                            r->path, (unsigned long long)r->index, (unsigned long long)start,
                            where);
    *payload = r->rec;
    *plen = (size_t)len;
    r->index++;
    r->offset = r->consumed;
    return SC_OK;
}

sc_status sc_tfrecord_reader_next(sc_tfrecord_reader *r, const uint8_t **payload, size_t *len,
                                  sc_error *err) {
    *payload = NULL;
    *len = 0;
    if (r->failed != SC_OK)
        return sc_error_set(err, r->failed,
                            "%s: record %llu: reader stopped at an earlier error (rewind to start "
                            "over)",
                            r->path, (unsigned long long)r->index);
    if (r->at_end) return SC_OK;
    sc_status s = next_record(r, payload, len, err);
    if (s != SC_OK) {
        r->failed = s;
        *payload = NULL;
        *len = 0;
    }
    return s;
}

uint64_t sc_tfrecord_reader_index(const sc_tfrecord_reader *r) { return r->index; }
uint64_t sc_tfrecord_reader_offset(const sc_tfrecord_reader *r) { return r->offset; }
const char *sc_tfrecord_reader_path(const sc_tfrecord_reader *r) { return r->path; }
sc_compression sc_tfrecord_reader_compression(const sc_tfrecord_reader *r) { return r->comp; }
