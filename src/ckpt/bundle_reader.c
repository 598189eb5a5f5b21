/* ckpt/bundle_reader.c — opening a TensorBundle (.index) and reading its tensors with CRC
 * verification (FORMATS §1.3-1.6). */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ckpt/bundle_internal.h"
#include "ckpt/sstable.h"
#include "core/crc32c.h"
#include "core/error.h"
#include "core/fileio.h"
#include "core/pb.h"
#include "sidecar/checkpoint.h"

/* Shards beyond this are rejected as implausible rather than allocated for. */
#define SC_BUNDLE_MAX_SHARDS (1 << 20)
/* TensorFlow's TensorShape limit. */
#define SC_BUNDLE_MAX_RANK 254
/* Keys are quoted in messages up to this many bytes. */
#define KEY_SHOWN 200

struct sc_bundle {
    char *prefix;
    char *index_path;
    int32_t num_shards;
    sc_tensor_info *tensors; /* sorted by key (the SSTable guarantees it) */
    size_t num_tensors;
    uint8_t *store;  /* keys (NUL-terminated) and shapes */
    atomic_int *fds; /* per shard, -1 until first read; opened lazily, kept for the bundle's life */
    size_t num_fds;
};

/* Offsets into the store while it may still move. */
typedef struct entry_offs {
    size_t key;
    size_t shape;
} entry_offs;

typedef struct open_ctx {
    sc_bundle *b;
    size_t seen; /* SSTable entries visited, header included */
    sc_pb_buf store;
    entry_offs *offs;
    size_t cap;
} open_ctx;

static int pb_varint(sc_pb_reader *r, int wire, uint64_t *v) {
    return wire == SC_PB_VARINT ? sc_pb_read_varint64(r, v) : -1;
}

/* int32 fields: a negative value arrives as a 10-byte two's-complement varint. */
static int pb_int32(sc_pb_reader *r, int wire, int32_t *v) {
    uint64_t u;
    if (pb_varint(r, wire, &u) != 0) return -1;
    int64_t s = (int64_t)u;
    if (s < INT32_MIN || s > INT32_MAX) return -1;
    *v = (int32_t)s;
    return 0;
}

static sc_status parse_header(const char *path, const uint8_t *v, size_t n, int32_t *num_shards,
                              sc_error *err) {
    sc_pb_reader r = sc_pb_reader_init(v, n);
    int32_t shards = 0, endianness = 0, producer = 0, min_consumer = 0, bad = 0;
    uint32_t field;
    int wire, rc;
    while ((rc = sc_pb_next(&r, &field, &wire)) == 1) {
        if (field == 1)
            rc = pb_int32(&r, wire, &shards);
        else if (field == 2)
            rc = pb_int32(&r, wire, &endianness);
        else if (field == 3 && wire == SC_PB_LEN) {
            sc_pb_reader vr;
            rc = sc_pb_read_sub(&r, &vr);
            uint32_t vf;
            int vw, vrc;
            while (rc == 0 && (vrc = sc_pb_next(&vr, &vf, &vw)) != 0) {
                int32_t x;
                if (vrc < 0)
                    rc = -1;
                else if (vf == 1)
                    rc = pb_int32(&vr, vw, &producer);
                else if (vf == 2)
                    rc = pb_int32(&vr, vw, &min_consumer);
                else if (vf == 3 && vw == SC_PB_LEN) { /* packed bad_consumers */
                    sc_pb_reader pr;
                    rc = sc_pb_read_sub(&vr, &pr);
                    while (rc == 0 && !sc_pb_done(&pr))
                        if ((rc = pb_int32(&pr, SC_PB_VARINT, &x)) == 0 && x == 1) bad = 1;
                } else if (vf == 3) {
                    if ((rc = pb_int32(&vr, vw, &x)) == 0 && x == 1) bad = 1;
                } else
                    rc = sc_pb_skip(&vr, vw);
            }
        } else
            rc = sc_pb_skip(&r, wire);
        if (rc != 0) break;
    }
    if (rc != 0)
        return sc_error_set(err, SC_DATA_LOSS, "%s: malformed BundleHeaderProto (%zu bytes)", path,
                            n);
    if (endianness == 1)
        return sc_error_set(err, SC_UNIMPLEMENTED,
                            "%s: bundle header says BIG endian; only LITTLE is supported", path);
    if (endianness != 0)
        return sc_error_set(err, SC_DATA_LOSS, "%s: bundle header: unknown endianness %" PRId32,
                            path, endianness);
    /* TensorFlow's rule, with its current bundle version 1 and minimum producer 0. */
    if (producer < 0 || min_consumer > 1 || bad)
        return sc_error_set(err, SC_UNIMPLEMENTED,
                            "%s: bundle version not supported (producer %" PRId32
                            ", min_consumer %" PRId32 "%s; this reader is version 1)",
                            path, producer, min_consumer, bad ? ", 1 is a bad consumer" : "");
    if (shards < 0 || shards > SC_BUNDLE_MAX_SHARDS)
        return sc_error_set(err, SC_DATA_LOSS,
                            "%s: bundle header: num_shards %" PRId32 " (expected 0 .. %d)", path,
                            shards, SC_BUNDLE_MAX_SHARDS);
    *num_shards = shards;
    return SC_OK;
}

#define ENTRY_BAD(what)                                                                            \
    do {                                                                                           \
        s = sc_error_set(err, SC_DATA_LOSS, "%s: tensor '%.*s': %s", path, shown,                  \
                         (const char *)key, what);                                                 \
        goto fail;                                                                                 \
    } while (0)

/* Decodes a BundleEntryProto into t (pointers left NULL) and appends its key and shape to the
 * store. Two passes: the shape field may come in several pieces that proto merging appends. */
static sc_status parse_entry(open_ctx *c, const uint8_t *key, size_t klen, const uint8_t *v,
                             size_t n, sc_tensor_info *t, entry_offs *o, sc_error *err) {
    const char *path = c->b->index_path;
    int shown = klen > KEY_SHOWN ? KEY_SHOWN : (int)klen;
    sc_status s = SC_OK;
    int32_t dtype = 0, shard = 0;
    uint64_t offset = 0, size = 0;
    uint32_t crc = 0, field;
    int wire, rc, rank = 0, slices = 0;
    memset(t, 0, sizeof *t);
    sc_pb_reader r = sc_pb_reader_init(v, n);
    while ((rc = sc_pb_next(&r, &field, &wire)) == 1) {
        if (field == 1)
            rc = pb_int32(&r, wire, &dtype);
        else if (field == 3)
            rc = pb_int32(&r, wire, &shard);
        else if (field == 4)
            rc = pb_varint(&r, wire, &offset);
        else if (field == 5)
            rc = pb_varint(&r, wire, &size);
        else if (field == 6)
            rc = wire == SC_PB_I32 ? sc_pb_read_fixed32(&r, &crc) : -1;
        else if (field == 7 && wire == SC_PB_LEN) {
            rc = sc_pb_skip(&r, wire);
            slices++;
        } else if (field == 2 && wire == SC_PB_LEN) {
            sc_pb_reader sr;
            uint32_t sf;
            int sw, src;
            rc = sc_pb_read_sub(&r, &sr);
            while (rc == 0 && (src = sc_pb_next(&sr, &sf, &sw)) != 0) {
                uint64_t unknown_rank;
                if (src < 0)
                    rc = -1;
                else if (sf == 2 && sw == SC_PB_LEN) {
                    rc = sc_pb_skip(&sr, sw);
                    rank++;
                } else if (sf == 3) {
                    if ((rc = pb_varint(&sr, sw, &unknown_rank)) == 0 && unknown_rank)
                        ENTRY_BAD("shape has unknown rank");
                } else
                    rc = sc_pb_skip(&sr, sw);
            }
        } else
            rc = sc_pb_skip(&r, wire);
        if (rc != 0) break;
    }
    if (rc != 0) ENTRY_BAD("malformed BundleEntryProto");
    if (rank > SC_BUNDLE_MAX_RANK) ENTRY_BAD("shape has more than 254 dimensions");
    if ((int64_t)offset < 0 || (int64_t)size < 0 || offset + size > (uint64_t)INT64_MAX)
        ENTRY_BAD("offset + size is negative or overflows");
    if (slices == 0 && (shard < 0 || shard >= c->b->num_shards)) {
        s = sc_error_set(err, SC_DATA_LOSS,
                         "%s: tensor '%.*s': shard_id %" PRId32 " (header says %" PRId32 " shards)",
                         path, shown, (const char *)key, shard, c->b->num_shards);
        goto fail;
    }
    /* Second pass: the dimensions, appended 8-aligned to the store. The framing was validated
     * by the first pass, so only the dimension values can still be wrong. */
    static const uint8_t zeros[8] = {0};
    sc_pb_put_bytes(&c->store, zeros, (8 - c->store.len % 8) % 8);
    o->shape = c->store.len;
    int64_t elems = 1;
    r = sc_pb_reader_init(v, n);
    while (sc_pb_next(&r, &field, &wire) == 1) {
        if (field != 2 || wire != SC_PB_LEN) {
            (void)sc_pb_skip(&r, wire);
            continue;
        }
        sc_pb_reader sr, dr;
        uint32_t sf, df;
        int sw, dw;
        (void)sc_pb_read_sub(&r, &sr);
        while (sc_pb_next(&sr, &sf, &sw) == 1) {
            if (sf != 2 || sw != SC_PB_LEN) {
                (void)sc_pb_skip(&sr, sw);
                continue;
            }
            (void)sc_pb_read_sub(&sr, &dr);
            uint64_t dim = 0;
            while ((rc = sc_pb_next(&dr, &df, &dw)) == 1) {
                if (df == 1)
                    rc = pb_varint(&dr, dw, &dim);
                else
                    rc = sc_pb_skip(&dr, dw);
                if (rc != 0) break;
            }
            if (rc != 0) ENTRY_BAD("malformed shape dimension");
            int64_t d = (int64_t)dim;
            if (d < 0) ENTRY_BAD("shape has a negative (unknown) dimension");
            if (__builtin_mul_overflow(elems, d, &elems))
                ENTRY_BAD("number of elements overflows int64");
            sc_pb_put_bytes(&c->store, &d, sizeof d);
        }
    }
    o->key = c->store.len;
    sc_pb_put_bytes(&c->store, key, klen);
    sc_pb_put_bytes(&c->store, zeros, 1);
    if (c->store.failed) {
        s = sc_error_set(err, SC_NO_MEMORY, "%s: out of memory decoding entries", path);
        goto fail;
    }
    t->key_len = klen;
    t->dtype = (sc_dtype)dtype;
    t->rank = rank;
    t->num_elements = elems;
    t->shard_id = shard;
    t->offset = offset;
    t->size = size;
    t->masked_crc32c = crc;
    t->num_slices = slices;
fail:
    return s;
}

static sc_status visit_entry(void *ctx, const uint8_t *key, size_t klen, const uint8_t *v,
                             size_t vlen, sc_error *err) {
    open_ctx *c = ctx;
    sc_bundle *b = c->b;
    if (c->seen++ == 0) {
        if (klen != 0)
            return sc_error_set(err, SC_DATA_LOSS,
                                "%s: first key is not the header key \"\" (not a TensorBundle)",
                                b->index_path);
        return parse_header(b->index_path, v, vlen, &b->num_shards, err);
    }
    if (b->num_tensors == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 64;
        sc_tensor_info *t = realloc(b->tensors, cap * sizeof *t);
        if (t) b->tensors = t;
        entry_offs *o = t ? realloc(c->offs, cap * sizeof *o) : NULL;
        if (!o) return sc_error_set(err, SC_NO_MEMORY, "%s: out of memory", b->index_path);
        c->offs = o;
        c->cap = cap;
    }
    sc_status s = parse_entry(c, key, klen, v, vlen, &b->tensors[b->num_tensors],
                              &c->offs[b->num_tensors], err);
    if (s == SC_OK) b->num_tensors++;
    return s;
}

sc_status sc_bundle_open(const char *prefix, sc_bundle **out, sc_error *err) {
    *out = NULL;
    open_ctx c = {0};
    uint8_t *data = NULL;
    size_t len = 0;
    sc_status s;
    sc_bundle *b = calloc(1, sizeof *b);
    size_t plen = strlen(prefix);
    if (!b || !(b->prefix = strdup(prefix)) || !(b->index_path = malloc(plen + 7))) {
        s = sc_error_set(err, SC_NO_MEMORY, "%s: out of memory opening the bundle", prefix);
        goto fail;
    }
    memcpy(b->index_path, prefix, plen);
    memcpy(b->index_path + plen, ".index", 7);
    s = sc_read_file(b->index_path, &data, &len, err);
    if (s != SC_OK) goto fail;
    c.b = b;
    s = sc_sst_foreach(b->index_path, data, len, visit_entry, &c, NULL, err);
    if (s != SC_OK) goto fail;
    if (c.seen == 0) {
        s = sc_error_set(err, SC_DATA_LOSS, "%s: empty table: no bundle header entry",
                         b->index_path);
        goto fail;
    }
    b->store = c.store.data;
    c.store.data = NULL;
    int32_t max_shard = -1;
    for (size_t i = 0; i < b->num_tensors; i++) {
        b->tensors[i].key = (const char *)b->store + c.offs[i].key;
        b->tensors[i].shape = (const int64_t *)(void *)(b->store + c.offs[i].shape);
        if (b->tensors[i].num_slices == 0 && b->tensors[i].shard_id > max_shard)
            max_shard = b->tensors[i].shard_id;
    }
    if (max_shard >= 0) {
        b->fds = malloc((size_t)(max_shard + 1) * sizeof *b->fds);
        if (!b->fds) {
            s = sc_error_set(err, SC_NO_MEMORY, "%s: out of memory", b->index_path);
            goto fail;
        }
        b->num_fds = (size_t)(max_shard + 1);
        for (size_t i = 0; i < b->num_fds; i++) atomic_init(&b->fds[i], -1);
    }
    *out = b;
    b = NULL;
fail:
    free(data);
    free(c.offs);
    sc_pb_buf_free(&c.store);
    sc_bundle_free(b);
    return s;
}

void sc_bundle_free(sc_bundle *b) {
    if (!b) return;
    for (size_t i = 0; i < b->num_fds; i++) {
        int fd = atomic_load(&b->fds[i]);
        if (fd >= 0) close(fd);
    }
    free(b->fds);
    free(b->tensors);
    free(b->store);
    free(b->index_path);
    free(b->prefix);
    free(b);
}

const char *sc_bundle_prefix(const sc_bundle *b) { return b->prefix; }
int32_t sc_bundle_num_shards(const sc_bundle *b) { return b->num_shards; }
size_t sc_bundle_num_tensors(const sc_bundle *b) { return b->num_tensors; }

const sc_tensor_info *sc_bundle_tensor(const sc_bundle *b, size_t i) {
    return i < b->num_tensors ? &b->tensors[i] : NULL;
}

const sc_tensor_info *sc_bundle_find(const sc_bundle *b, const char *key) {
    size_t klen = strlen(key), lo = 0, hi = b->num_tensors;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const sc_tensor_info *t = &b->tensors[mid];
        size_t m = t->key_len < klen ? t->key_len : klen;
        int c = memcmp(t->key, key, m);
        if (c == 0) c = t->key_len < klen ? -1 : t->key_len > klen ? 1 : 0;
        if (c == 0) return t;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* ---- reading tensor bytes ---------------------------------------------------------------- */

static sc_status shard_fd(sc_bundle *b, const sc_tensor_info *t, const char *path, int *fd,
                          sc_error *err) {
    atomic_int *slot = &b->fds[t->shard_id];
    int cur = atomic_load(slot);
    if (cur < 0) {
        int nfd = open(path, O_RDONLY | O_CLOEXEC);
        if (nfd < 0) {
            int e = errno;
            return sc_error_set(err, e == ENOENT ? SC_UNAVAILABLE : SC_IO,
                                "%s: cannot open data shard for tensor '%.*s': %s", path,
                                t->key_len > KEY_SHOWN ? KEY_SHOWN : (int)t->key_len, t->key,
                                strerror(e));
        }
        (void)posix_fadvise(nfd, 0, 0, POSIX_FADV_SEQUENTIAL);
        /* Another thread may have opened it meanwhile: keep theirs. */
        if (atomic_compare_exchange_strong(slot, &cur, nfd))
            cur = nfd;
        else
            close(nfd);
    }
    *fd = cur;
    return SC_OK;
}

/* Walks a DT_STRING payload: n varint lengths, a 4-byte masked length checksum, the bytes.
 * Fills items when not NULL and returns the CRC over the lengths and the offset
 * where the checksum sits. The layout must account for every byte: TF's writer produces exactly
 * that, and trailing bytes would be covered by no checksum (TF only checks size loosely). */
static sc_status string_layout(const sc_tensor_info *t, const char *file, const uint8_t *raw,
                               size_t n, sc_bytes *items, uint32_t *len_crc, size_t *cks_at,
                               sc_error *err) {
    int shown = t->key_len > KEY_SHOWN ? KEY_SHOWN : (int)t->key_len;
    sc_pb_reader r = sc_pb_reader_init(raw, n);
    uint32_t crc = 0;
    uint64_t total = 0;
    for (int64_t i = 0; i < t->num_elements; i++) {
        uint64_t len;
        if (sc_pb_read_varint64(&r, &len) != 0)
            return sc_error_set(err, SC_DATA_LOSS,
                                "%s: tensor '%.*s': string %" PRId64
                                ": length is malformed or past the %zu stored bytes",
                                file, shown, t->key, i, n);
        if (len > n || total + len > n)
            return sc_error_set(err, SC_DATA_LOSS,
                                "%s: tensor '%.*s': string %" PRId64 ": length %" PRIu64
                                " does not fit the %zu stored bytes",
                                file, shown, t->key, i, len, n);
        total += len;
        crc = sc_bundle_crc_len(crc, len);
        if (items) items[i].size = (size_t)len;
    }
    size_t at = (size_t)(r.p - raw);
    if (n - at < 4 || n - at - 4 != total)
        return sc_error_set(err, SC_DATA_LOSS,
                            "%s: tensor '%.*s': %zu stored bytes, expected %zu of lengths + 4 of "
                            "checksum + %" PRIu64 " of strings",
                            file, shown, t->key, n, at, total);
    if (items) {
        const uint8_t *p = raw + at + 4;
        for (int64_t i = 0; i < t->num_elements; i++) {
            items[i].data = p;
            p += items[i].size;
        }
    }
    *len_crc = crc;
    *cks_at = at;
    return SC_OK;
}

static uint32_t load_le32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

sc_status sc_bundle_read(sc_bundle *b, const sc_tensor_info *t, void *buf, size_t cap,
                         sc_error *err) {
    assert(t >= b->tensors && t < b->tensors + b->num_tensors);
    int shown = t->key_len > KEY_SHOWN ? KEY_SHOWN : (int)t->key_len;
    if (t->num_slices > 0)
        return sc_error_set(err, SC_UNIMPLEMENTED,
                            "%s: tensor '%.*s' is partitioned into %d slices; sliced tensors are "
                            "not supported",
                            b->index_path, shown, t->key, t->num_slices);
    if (t->size > cap)
        return sc_error_set(err, SC_INVALID_ARGUMENT,
                            "tensor '%.*s': buffer of %zu bytes, the tensor has %" PRIu64, shown,
                            t->key, cap, t->size);
    size_t esize = sc_dtype_size(t->dtype);
    uint64_t expect;
    if (esize
        && (__builtin_mul_overflow((uint64_t)t->num_elements, (uint64_t)esize, &expect)
            || expect != t->size))
        return sc_error_set(err, SC_DATA_LOSS,
                            "%s: tensor '%.*s': %" PRIu64 " bytes stored, expected %" PRId64
                            " elements x %zu bytes",
                            b->index_path, shown, t->key, t->size, t->num_elements, esize);
    char *path = sc_bundle_shard_path(b->prefix, t->shard_id, b->num_shards, "");
    if (!path) return sc_error_set(err, SC_NO_MEMORY, "%s: out of memory", b->prefix);
    int fd = -1;
    sc_status s = shard_fd(b, t, path, &fd, err);
    if (s != SC_OK) goto done;
    struct stat st;
    if (fstat(fd, &st) != 0) {
        s = sc_error_set(err, SC_IO, "%s: stat failed: %s", path, strerror(errno));
        goto done;
    }
    if ((uint64_t)st.st_size < t->offset + t->size) {
        s = sc_error_set(err, SC_UNAVAILABLE,
                         "%s: tensor '%.*s' needs bytes [%" PRIu64 ", %" PRIu64
                         ") but the file has %" PRIu64 " (still being written, or cut short)",
                         path, shown, t->key, t->offset, t->offset + t->size, (uint64_t)st.st_size);
        goto done;
    }
    /* Read and CRC chunk by chunk so each chunk is checksummed while still in cache. */
    uint8_t *dst = buf;
    uint32_t crc = 0;
    int is_string = t->dtype == SC_DT_STRING;
    for (uint64_t done = 0; done < t->size;) {
        size_t n =
            t->size - done < SC_BUNDLE_READ_CHUNK ? (size_t)(t->size - done) : SC_BUNDLE_READ_CHUNK;
        s = sc_pread_full(fd, path, dst + done, n, t->offset + done, err);
        if (s != SC_OK) goto done;
        if (!is_string) crc = sc_crc32c_extend(crc, dst + done, n);
        done += n;
    }
    if (is_string) {
        /* The lengths enter the CRC as fixed-width integers, then the checksum, then bytes. */
        uint32_t len_crc;
        size_t at;
        s = string_layout(t, path, dst, (size_t)t->size, NULL, &len_crc, &at, err);
        if (s != SC_OK) goto done;
        uint32_t stored = load_le32(dst + at);
        if (sc_crc32c_unmask(stored) != len_crc) {
            s = sc_error_set(err, SC_DATA_LOSS,
                             "%s: tensor '%.*s': string length checksum mismatch (stored %08x, "
                             "computed %08x)",
                             path, shown, t->key, stored, sc_crc32c_mask(len_crc));
            goto done;
        }
        crc = sc_crc32c_extend(len_crc, dst + at, 4);
        crc = sc_crc32c_extend(crc, dst + at + 4, (size_t)t->size - at - 4);
    }
    if (sc_crc32c_mask(crc) != t->masked_crc32c)
        s = sc_error_set(err, SC_DATA_LOSS,
                         "%s: tensor '%.*s': CRC mismatch (stored %08x, computed %08x, masked)",
                         path, shown, t->key, t->masked_crc32c, sc_crc32c_mask(crc));
done:
    free(path);
    return s;
}

sc_status sc_bundle_decode_strings(const sc_tensor_info *t, const void *raw, size_t raw_size,
                                   sc_bytes *items, sc_error *err) {
    int shown = t->key_len > KEY_SHOWN ? KEY_SHOWN : (int)t->key_len;
    if (t->dtype != SC_DT_STRING)
        return sc_error_set(err, SC_INVALID_ARGUMENT, "tensor '%.*s' is %s, not string", shown,
                            t->key, sc_dtype_name(t->dtype));
    uint32_t len_crc;
    size_t at;
    return string_layout(t, "string tensor", raw ? raw : (const void *)"", raw_size, items,
                         &len_crc, &at, err);
}
