/* data/npy_rows.c — one shard's rows of a .npy, for a group of evaluators (dataset.h,
 * num_shards): rank r of N keeps only global batches r, r + N, ..., so each rank holds about
 * 1/N of the data in memory instead of the whole array. The header is read and checked as for a
 * whole load; the other ranks' rows are seeked over (a file, a stored .npz member) or inflated
 * and dropped (a deflated member), and reading stops after this shard's last row. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"
#include "core/fileio.h"
#include "data/npy.h"

static uint64_t sc_le(const uint8_t *p, int n) {
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--) v = v << 8 | p[i];
    return v;
}

static int keeps(const sc_npy_rows *sel, uint64_t g) {
    if (sel->steps && g >= sel->steps) return 0;
    return sel->shards <= 1 || g % sel->shards == sel->shard;
}

uint64_t sc_npy_rows_kept(const sc_npy_rows *sel, uint64_t total) {
    uint64_t b = sel->batch ? sel->batch : 1, n = sel->shards > 1 ? sel->shards : 1;
    uint64_t r = sel->shards > 1 ? sel->shard : 0;
    uint64_t batches = total / b + (total % b != 0);
    if (sel->steps && batches > sel->steps) batches = sel->steps;
    if (batches <= r) return 0;
    uint64_t own = (batches - 1 - r) / n + 1, kept = own * b; /* every batch full ... */
    if ((batches - 1) % n == r && batches * b > total)
        kept -= batches * b - total; /* but the last */
    return kept;
}

sc_status sc_npy_read_rows(sc_npy_stream *in, const sc_npy_rows *sel, const char *file,
                           const char *array, const char *source, sc_array **out, uint64_t *total,
                           sc_error *err) {
    *out = NULL;
    *total = 0;
    uint8_t pre[12];
    size_t pn = in->size < sizeof pre ? (size_t)in->size : sizeof pre;
    sc_status s = in->read(in->ctx, pre, pn, err);
    if (s != SC_OK) return s;
    sc_array_info info;
    size_t off;
    /* The prefix tells the header's length; when it does not fit, parsing the prefix alone
     * names the fault (no magic, a version, a truncated header). */
    size_t start = pn > 6 && pre[6] >= 2 ? 12 : 10;
    uint64_t hlen = pn < start ? 0 : start == 10 ? sc_le(pre + 8, 2) : sc_le(pre + 8, 4);
    if (pn < start || hlen > in->size - start) {
        s = sc_npy_parse_header(pre, pn, file, array, &info, &off, err);
        return s != SC_OK ? s
                          : sc_error_set(err, SC_DATA_LOSS, "%s: array '%s': truncated NPY header",
                                         file, array);
    }
    uint8_t *hdr = malloc(start + hlen);
    if (!hdr) return sc_error_set(err, SC_NO_MEMORY, "%s: out of memory", source);
    memcpy(hdr, pre, pn);
    if (start + hlen > pn) s = in->read(in->ctx, hdr + pn, start + hlen - pn, err);
    if (s == SC_OK) s = sc_npy_parse_header(hdr, start + hlen, file, array, &info, &off, err);
    free(hdr);
    if (s != SC_OK) return s;
    if (in->size - off != info.nbytes)
        return sc_error_set(err, SC_DATA_LOSS,
                            "%s: array '%s': %s: %llu data bytes after the header, the shape and "
                            "dtype need %zu",
                            file, array,
                            in->size - off < info.nbytes ? "truncated" : "size mismatch",
                            (unsigned long long)(in->size - off), info.nbytes);
    uint64_t rows = info.rank ? (uint64_t)info.shape[0] : 1;
    size_t row_bytes = info.rank && rows ? info.nbytes / rows : info.nbytes;
    uint64_t kept = info.rank ? sc_npy_rows_kept(sel, rows) : 1;
    /* kept <= rows, so kept * row_bytes <= nbytes fits. */
    uint8_t *data = malloc(kept * row_bytes + 1);
    if (!data)
        return sc_error_set(err, SC_NO_MEMORY, "%s: out of memory for %llu rows", source,
                            (unsigned long long)kept);
    uint64_t b = sel->batch ? sel->batch : 1, got = 0, pending = 0; /* bytes to skip */
    for (uint64_t g = 0; s == SC_OK && got < kept && (info.rank == 0 || g * b < rows); g++) {
        uint64_t n = info.rank == 0 ? 1 : rows - g * b < b ? rows - g * b : b;
        if (info.rank && !keeps(sel, g)) {
            pending += n * row_bytes;
            continue;
        }
        if (pending) s = in->skip(in->ctx, pending, err);
        pending = 0;
        if (s == SC_OK) s = in->read(in->ctx, data + got * row_bytes, (size_t)(n * row_bytes), err);
        got += n;
    }
    if (s == SC_OK && got != kept) /* cannot happen: sc_npy_rows_kept counts what keeps keeps */
        s = sc_error_set(err, SC_DATA_LOSS, "%s: array '%s': %llu of %llu rows read", file, array,
                         (unsigned long long)got, (unsigned long long)kept);
    if (s != SC_OK) {
        free(data);
        return s;
    }
    if (info.rank) {
        info.shape[0] = (int64_t)kept;
        info.num_elements = info.num_elements / (rows ? rows : 1) * kept;
        info.nbytes = (size_t)(kept * row_bytes);
    }
    *total = rows;
    return sc_array_from_data(data, &info, source, out, err);
}

/* ---- a .npy file ---- */

typedef struct file_in {
    int fd;
    const char *path;
    uint64_t off;
} file_in;

static sc_status file_read(void *ctx, void *buf, size_t n, sc_error *err) {
    file_in *f = ctx;
    sc_status s = sc_pread_full(f->fd, f->path, buf, n, f->off, err);
    f->off += n;
    return s;
}

static sc_status file_skip(void *ctx, uint64_t n, sc_error *err) {
    (void)err;
    ((file_in *)ctx)->off += n;
    return SC_OK;
}

sc_status sc_npy_load_rows(const char *path, const sc_npy_rows *sel, sc_array **out,
                           uint64_t *total, sc_error *err) {
    *out = NULL;
    file_in f = {open(path, O_RDONLY | O_CLOEXEC), path, 0};
    struct stat st;
    if (f.fd < 0 || fstat(f.fd, &st) != 0) {
        int e = errno;
        if (f.fd >= 0) close(f.fd);
        return sc_error_set(err, e == ENOENT ? SC_NOT_FOUND : SC_IO, "%s: %s", path, strerror(e));
    }
    char name[256];
    sc_npy_stem(path, name, sizeof name);
    sc_npy_stream in = {&f, file_read, file_skip, (uint64_t)st.st_size};
    sc_status s = sc_npy_read_rows(&in, sel, path, name, path, out, total, err);
    close(f.fd);
    return s;
}
