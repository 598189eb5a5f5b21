/* ckpt/bundle_writer.c — writing a TensorBundle the way TensorFlow's BundleWriter does
 * (FORMATS §1.3, §1.4, §1.7): payloads appended to temporary data files as tensors are added,
 * then data files renamed into place, then the .index (also temporary + rename). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ckpt/bundle_internal.h"
#include "ckpt/sstable.h"
#include "core/crc32c.h"
#include "core/error.h"
#include "core/fileio.h"
#include "core/pb.h"
#include "sidecar/checkpoint.h"

#define MAX_SHARDS (1 << 20) /* what the reader accepts */
#define MAX_RANK   254

typedef struct wentry {
    char *key;
    size_t key_len;
    sc_dtype dtype;
    int rank;
    int64_t *shape;
    int shard;
    uint64_t offset, size;
    uint32_t masked_crc;
} wentry;

typedef struct wshard {
    char *tmp_path;
    char *path;
    int fd;
    uint64_t size;
    int renamed;
} wshard;

struct sc_bundle_writer {
    char *prefix;
    sc_bundle_writer_params params;
    wshard *shards;
    wentry *entries;
    size_t num_entries, cap;
    size_t *slots; /* open-addressing set of entry index + 1 (0 = empty), for duplicate keys */
    size_t num_slots;
    char *index_tmp, *index_path;
    int failed;   /* a data file is in an unknown state: refuse to go on */
    int finished; /* everything is in place */
};

sc_bundle_writer_params sc_bundle_writer_default_params(void) {
    sc_bundle_writer_params p = {1, SC_SST_DEFAULT_BLOCK_SIZE};
    return p;
}

static uint64_t hash_key(const char *k, size_t n) {
    uint64_t h = UINT64_C(14695981039346656037);
    for (size_t i = 0; i < n; i++) h = (h ^ (uint8_t)k[i]) * UINT64_C(1099511628211);
    return h;
}

/* Returns the slot holding key, or the empty slot where it would go. */
static size_t *find_slot(sc_bundle_writer *w, const char *key, size_t n) {
    size_t mask = w->num_slots - 1, i = (size_t)hash_key(key, n) & mask;
    for (;; i = (i + 1) & mask) {
        size_t e = w->slots[i];
        if (!e) return &w->slots[i];
        const wentry *x = &w->entries[e - 1];
        if (x->key_len == n && memcmp(x->key, key, n) == 0) return &w->slots[i];
    }
}

static int grow_slots(sc_bundle_writer *w) {
    size_t n = w->num_slots ? 2 * w->num_slots : 64;
    size_t *old = w->slots, old_n = w->num_slots;
    w->slots = calloc(n, sizeof *w->slots);
    if (!w->slots) {
        w->slots = old;
        return -1;
    }
    w->num_slots = n;
    for (size_t i = 0; i < old_n; i++)
        if (old[i]) {
            const wentry *x = &w->entries[old[i] - 1];
            *find_slot(w, x->key, x->key_len) = old[i];
        }
    free(old);
    return 0;
}

sc_status sc_bundle_writer_create(const char *prefix, const sc_bundle_writer_params *params,
                                  sc_bundle_writer **out, sc_error *err) {
    *out = NULL;
    sc_bundle_writer_params p = params ? *params : sc_bundle_writer_default_params();
    if (p.num_shards < 1 || p.num_shards > MAX_SHARDS)
        return sc_error_set(err, SC_INVALID_ARGUMENT, "%s: num_shards %d (expected 1 .. %d)",
                            prefix, p.num_shards, MAX_SHARDS);
    if (p.block_size == 0) p.block_size = SC_SST_DEFAULT_BLOCK_SIZE;
    sc_status s = SC_OK;
    char suffix[32];
    snprintf(suffix, sizeof suffix, ".tempstate%ld", (long)getpid());
    sc_bundle_writer *w = calloc(1, sizeof *w);
    if (!w) return sc_error_set(err, SC_NO_MEMORY, "%s: out of memory", prefix);
    w->params = p;
    size_t plen = strlen(prefix);
    w->prefix = strdup(prefix);
    w->shards = calloc((size_t)p.num_shards, sizeof *w->shards);
    w->index_path = malloc(plen + sizeof ".index");
    w->index_tmp = malloc(plen + sizeof ".index" + strlen(suffix));
    if (!w->prefix || !w->shards || !w->index_path || !w->index_tmp || grow_slots(w) != 0) {
        s = sc_error_set(err, SC_NO_MEMORY, "%s: out of memory", prefix);
        goto fail;
    }
    sprintf(w->index_path, "%s.index", prefix);
    sprintf(w->index_tmp, "%s.index%s", prefix, suffix);
    for (int i = 0; i < p.num_shards; i++) w->shards[i].fd = -1;
    for (int i = 0; i < p.num_shards; i++) {
        wshard *sh = &w->shards[i];
        sh->path = sc_bundle_shard_path(prefix, i, p.num_shards, "");
        sh->tmp_path = sc_bundle_shard_path(prefix, i, p.num_shards, suffix);
        if (!sh->path || !sh->tmp_path) {
            s = sc_error_set(err, SC_NO_MEMORY, "%s: out of memory", prefix);
            goto fail;
        }
        sh->fd = open(sh->tmp_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (sh->fd < 0) {
            s = sc_error_set(err, SC_IO, "%s: cannot create data file: %s", sh->tmp_path,
                             strerror(errno));
            goto fail;
        }
    }
    *out = w;
    return SC_OK;
fail:
    sc_bundle_writer_free(w);
    return s;
}

/* Checks what every tensor needs; the element count goes to *elems. */
static sc_status check_tensor(sc_bundle_writer *w, const char *key, int rank, const int64_t *shape,
                              int shard, int64_t *elems, sc_error *err) {
    if (w->finished || w->failed)
        return sc_error_set(err, SC_INVALID_ARGUMENT, "%s: tensor '%s': writer is %s", w->prefix,
                            key, w->finished ? "finished" : "failed after an I/O error");
    if (key[0] == '\0')
        return sc_error_set(err, SC_INVALID_ARGUMENT,
                            "%s: the empty key is reserved for the bundle header", w->prefix);
    if (shard < 0 || shard >= w->params.num_shards)
        return sc_error_set(err, SC_INVALID_ARGUMENT,
                            "%s: tensor '%s': shard %d (expected 0 .. %d)", w->prefix, key, shard,
                            w->params.num_shards - 1);
    if (rank < 0 || rank > MAX_RANK || (rank > 0 && !shape))
        return sc_error_set(err, SC_INVALID_ARGUMENT, "%s: tensor '%s': rank %d (expected 0 .. %d)",
                            w->prefix, key, rank, MAX_RANK);
    int64_t n = 1;
    for (int i = 0; i < rank; i++)
        if (shape[i] < 0 || __builtin_mul_overflow(n, shape[i], &n))
            return sc_error_set(err, SC_INVALID_ARGUMENT,
                                "%s: tensor '%s': dimension %d is %" PRId64
                                " (negative, or the element count overflows)",
                                w->prefix, key, i, shape[i]);
    if (*find_slot(w, key, strlen(key)))
        return sc_error_set(err, SC_INVALID_ARGUMENT, "%s: tensor '%s' was already added",
                            w->prefix, key);
    *elems = n;
    return SC_OK;
}

/* Appends the payload (given as up to three pieces) to the shard and records the entry. */
static sc_status add_entry(sc_bundle_writer *w, const char *key, sc_dtype dtype, int rank,
                           const int64_t *shape, const void *data, size_t size, int shard,
                           uint32_t crc, sc_error *err) {
    wshard *sh = &w->shards[shard];
    if (w->num_entries == w->cap) {
        size_t cap = w->cap ? 2 * w->cap : 64;
        wentry *e = realloc(w->entries, cap * sizeof *e);
        if (!e) return sc_error_set(err, SC_NO_MEMORY, "%s: out of memory", w->prefix);
        w->entries = e;
        w->cap = cap;
    }
    if (2 * (w->num_entries + 1) > w->num_slots && grow_slots(w) != 0)
        return sc_error_set(err, SC_NO_MEMORY, "%s: out of memory", w->prefix);
    wentry *e = &w->entries[w->num_entries];
    memset(e, 0, sizeof *e);
    e->key_len = strlen(key);
    e->key = strdup(key);
    e->shape = malloc((size_t)(rank ? rank : 1) * sizeof *e->shape);
    if (!e->key || !e->shape) {
        free(e->key);
        free(e->shape);
        return sc_error_set(err, SC_NO_MEMORY, "%s: out of memory", w->prefix);
    }
    if (rank) memcpy(e->shape, shape, (size_t)rank * sizeof *shape);
    sc_status s = sc_write_full(sh->fd, sh->tmp_path, data, size, err);
    if (s != SC_OK) {
        w->failed = 1; /* part of the payload may be in the file: offsets are now unknown */
        free(e->key);
        free(e->shape);
        return sc_error_prefix(err, s, "tensor '%s'", key);
    }
    e->dtype = dtype;
    e->rank = rank;
    e->shard = shard;
    e->offset = sh->size;
    e->size = size;
    e->masked_crc = sc_crc32c_mask(crc);
    sh->size += size;
    *find_slot(w, key, e->key_len) = ++w->num_entries;
    return SC_OK;
}

sc_status sc_bundle_writer_add(sc_bundle_writer *w, const char *key, sc_dtype dtype, int rank,
                               const int64_t *shape, const void *data, size_t size, int shard,
                               sc_error *err) {
    int64_t n = 0;
    sc_status s = check_tensor(w, key, rank, shape, shard, &n, err);
    if (s != SC_OK) return s;
    size_t esize = sc_dtype_size(dtype);
    uint64_t expect;
    if (esize == 0)
        return sc_error_set(err, SC_INVALID_ARGUMENT,
                            "%s: tensor '%s': dtype %s has no fixed element size (strings go "
                            "through sc_bundle_writer_add_strings)",
                            w->prefix, key, sc_dtype_name(dtype));
    if (__builtin_mul_overflow((uint64_t)n, (uint64_t)esize, &expect) || expect != size)
        return sc_error_set(err, SC_INVALID_ARGUMENT,
                            "%s: tensor '%s': %zu bytes given, expected %" PRId64
                            " elements x %zu bytes",
                            w->prefix, key, size, n, esize);
    uint32_t crc = sc_crc32c(size ? data : "", size);
    return add_entry(w, key, dtype, rank, shape, size ? data : "", size, shard, crc, err);
}

sc_status sc_bundle_writer_add_strings(sc_bundle_writer *w, const char *key, int rank,
                                       const int64_t *shape, const sc_bytes *items, int shard,
                                       sc_error *err) {
    int64_t n = 0;
    sc_status s = check_tensor(w, key, rank, shape, shard, &n, err);
    if (s != SC_OK) return s;
    /* Layout (FORMATS §1.4): varint lengths, masked length checksum, the bytes. */
    size_t total = 4;
    uint32_t crc = 0;
    for (int64_t i = 0; i < n; i++) {
        size_t vlen = 1;
        for (uint64_t x = items[i].size; x >= 0x80; x >>= 7) vlen++;
        if (__builtin_add_overflow(total, vlen, &total)
            || __builtin_add_overflow(total, items[i].size, &total))
            return sc_error_set(err, SC_INVALID_ARGUMENT, "%s: tensor '%s': strings too large",
                                w->prefix, key);
        crc = sc_bundle_crc_len(crc, items[i].size);
    }
    sc_pb_buf buf = {0};
    for (int64_t i = 0; i < n; i++) sc_pb_put_varint(&buf, items[i].size);
    uint32_t masked_len_crc = sc_crc32c_mask(crc);
    sc_pb_put_fixed32(&buf, masked_len_crc);
    crc = sc_crc32c_extend(crc, buf.data ? buf.data + buf.len - 4 : (const uint8_t *)"", 4);
    for (int64_t i = 0; i < n; i++) {
        sc_pb_put_bytes(&buf, items[i].data, items[i].size);
        crc = sc_crc32c_extend(crc, items[i].size ? items[i].data : (const uint8_t *)"",
                               items[i].size);
    }
    if (buf.failed || buf.len != total) {
        sc_pb_buf_free(&buf);
        return sc_error_set(err, SC_NO_MEMORY, "%s: tensor '%s': out of memory (%zu bytes)",
                            w->prefix, key, total);
    }
    s = add_entry(w, key, SC_DT_STRING, rank, shape, buf.data, buf.len, shard, crc, err);
    sc_pb_buf_free(&buf);
    return s;
}

static int cmp_entries(const void *a, const void *b) {
    const wentry *x = a, *y = b;
    size_t m = x->key_len < y->key_len ? x->key_len : y->key_len;
    int c = memcmp(x->key, y->key, m);
    if (c) return c;
    return x->key_len < y->key_len ? -1 : x->key_len > y->key_len;
}

/* BundleEntryProto with proto3 defaults omitted; the shape is always written. */
static void encode_entry(sc_pb_buf *b, const wentry *e) {
    if (e->dtype) sc_pb_put_uint(b, 1, (uint64_t)e->dtype);
    size_t shape = sc_pb_begin_sub(b, 2);
    for (int i = 0; i < e->rank; i++) {
        size_t dim = sc_pb_begin_sub(b, 2);
        if (e->shape[i]) sc_pb_put_int(b, 1, e->shape[i]);
        sc_pb_end_sub(b, dim);
    }
    sc_pb_end_sub(b, shape);
    if (e->shard) sc_pb_put_uint(b, 3, (uint64_t)e->shard);
    if (e->offset) sc_pb_put_uint(b, 4, e->offset);
    if (e->size) sc_pb_put_uint(b, 5, e->size);
    if (e->masked_crc) {
        sc_pb_put_key(b, 6, SC_PB_I32);
        sc_pb_put_fixed32(b, e->masked_crc);
    }
}

static sc_status sync_close_rename(int *fd, const char *tmp, const char *path, sc_error *err) {
    int rc = fsync(*fd);
    int e = errno;
    if (close(*fd) != 0 && rc == 0) {
        rc = -1;
        e = errno;
    }
    *fd = -1;
    if (rc != 0) return sc_error_set(err, SC_IO, "%s: fsync/close failed: %s", tmp, strerror(e));
    if (rename(tmp, path) != 0)
        return sc_error_set(err, SC_IO, "%s: rename to %s failed: %s", tmp, path, strerror(errno));
    return SC_OK;
}

static sc_status write_index(sc_bundle_writer *w, const uint8_t *data, size_t len, sc_error *err) {
    int fd = open(w->index_tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return sc_error_set(err, SC_IO, "%s: cannot create: %s", w->index_tmp, strerror(errno));
    sc_status s = sc_write_full(fd, w->index_tmp, data, len, err);
    if (s != SC_OK) {
        close(fd);
        return s;
    }
    return sync_close_rename(&fd, w->index_tmp, w->index_path, err);
}

sc_status sc_bundle_writer_finish(sc_bundle_writer *w, sc_error *err) {
    if (w->finished || w->failed)
        return sc_error_set(err, SC_INVALID_ARGUMENT, "%s: writer is %s", w->prefix,
                            w->finished ? "already finished" : "failed after an I/O error");
    sc_sst_writer *t = NULL;
    sc_pb_buf v = {0};
    sc_status s;
    w->failed = 1; /* until everything is in place */
    for (int i = 0; i < w->params.num_shards; i++) {
        wshard *sh = &w->shards[i];
        if ((s = sync_close_rename(&sh->fd, sh->tmp_path, sh->path, err)) != SC_OK) goto fail;
        sh->renamed = 1;
    }
    if (w->num_entries) qsort(w->entries, w->num_entries, sizeof *w->entries, cmp_entries);
    if ((s = sc_sst_writer_create(w->params.block_size, SC_SST_NO_COMPRESSION, &t, err)) != SC_OK)
        goto fail;
    sc_pb_put_uint(&v, 1, (uint64_t)w->params.num_shards);
    size_t version = sc_pb_begin_sub(&v, 3);
    sc_pb_put_uint(&v, 1, 1); /* producer */
    sc_pb_end_sub(&v, version);
    if (v.failed) goto oom;
    if ((s = sc_sst_writer_add(t, "", 0, v.data, v.len, err)) != SC_OK) goto fail;
    for (size_t i = 0; i < w->num_entries; i++) {
        v.len = 0;
        encode_entry(&v, &w->entries[i]);
        if (v.failed) goto oom;
        s = sc_sst_writer_add(t, w->entries[i].key, w->entries[i].key_len, v.data, v.len, err);
        if (s != SC_OK) goto fail;
    }
    const uint8_t *table;
    size_t table_len;
    if ((s = sc_sst_writer_finish(t, &table, &table_len, err)) != SC_OK) goto fail;
    if ((s = write_index(w, table, table_len, err)) != SC_OK) goto fail;
    /* Make the renames durable; some filesystems refuse fsync on a directory, which is fine. */
    const char *slash = strrchr(w->prefix, '/');
    char *dir = slash ? strndup(w->prefix, (size_t)(slash - w->prefix) + 1) : strdup(".");
    int dfd = dir ? open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
    if (dfd >= 0) {
        (void)fsync(dfd);
        close(dfd);
    }
    free(dir);
    w->failed = 0;
    w->finished = 1;
    s = SC_OK;
    goto done;
oom:
    s = sc_error_set(err, SC_NO_MEMORY, "%s: out of memory writing the index", w->prefix);
fail:
    s = sc_error_prefix(err, s, "%s: finishing the bundle", w->prefix);
done:
    sc_pb_buf_free(&v);
    sc_sst_writer_free(t);
    return s;
}

void sc_bundle_writer_free(sc_bundle_writer *w) {
    if (!w) return;
    for (int i = 0; w->shards && i < w->params.num_shards; i++) {
        wshard *sh = &w->shards[i];
        if (sh->fd >= 0) close(sh->fd);
        /* Unfinished: remove what we wrote. Renamed data files without their index are
         * orphans no reader can use. */
        if (!w->finished && sh->tmp_path) unlink(sh->renamed ? sh->path : sh->tmp_path);
        free(sh->tmp_path);
        free(sh->path);
    }
    if (!w->finished && w->index_tmp) unlink(w->index_tmp);
    for (size_t i = 0; i < w->num_entries; i++) {
        free(w->entries[i].key);
        free(w->entries[i].shape);
    }
    free(w->entries);
    free(w->slots);
    free(w->shards);
    free(w->index_tmp);
    free(w->index_path);
    free(w->prefix);
    free(w);
}
