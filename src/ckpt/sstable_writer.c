/* ckpt/sstable_writer.c — building an SSTable in memory the way TensorFlow's TableBuilder does
 * (FORMATS §1.2), so that the same entries give byte-identical files. */
#include "ckpt/sstable.h"

#include <snappy-c.h>
#include <stdlib.h>
#include <string.h>

#include "core/crc32c.h"
#include "core/error.h"
#include "core/pb.h"

typedef struct blk_builder {
    sc_pb_buf buf;
    uint32_t *restarts;
    size_t num_restarts;
    size_t restarts_cap;
    int counter;
    int interval;
    sc_pb_buf last_key;
    int failed;
} blk_builder;

struct sc_sst_writer {
    size_t block_size;
    int compression;
    sc_pb_buf out; /* the file */
    blk_builder data;
    blk_builder index;
    sc_pb_buf last_key;
    uint64_t num_entries;
    int pending_index; /* a data block was written; its index entry waits for the next key */
    uint64_t pending_off, pending_size;
    uint8_t *compressed;
    size_t compressed_cap;
    int finished;
};

static void blk_reset(blk_builder *b) {
    b->buf.len = 0;
    b->num_restarts = 1; /* restarts[0] = 0 */
    b->counter = 0;
    b->last_key.len = 0;
}

static int blk_init(blk_builder *b, int interval) {
    memset(b, 0, sizeof *b);
    b->interval = interval;
    b->restarts = calloc(16, sizeof *b->restarts);
    if (!b->restarts) return -1;
    b->restarts_cap = 16;
    blk_reset(b);
    return 0;
}

static void blk_free(blk_builder *b) {
    sc_pb_buf_free(&b->buf);
    sc_pb_buf_free(&b->last_key);
    free(b->restarts);
}

static size_t blk_estimate(const blk_builder *b) { return b->buf.len + b->num_restarts * 4 + 4; }

static void blk_add(blk_builder *b, const uint8_t *key, size_t klen, const uint8_t *val,
                    size_t vlen) {
    size_t shared = 0;
    if (b->counter < b->interval) {
        size_t m = b->last_key.len < klen ? b->last_key.len : klen;
        while (shared < m && b->last_key.data[shared] == key[shared]) shared++;
    } else {
        if (b->num_restarts == b->restarts_cap) {
            uint32_t *r = realloc(b->restarts, 2 * b->restarts_cap * sizeof *r);
            if (!r) {
                b->failed = 1;
                return;
            }
            b->restarts = r;
            b->restarts_cap *= 2;
        }
        b->restarts[b->num_restarts++] = (uint32_t)b->buf.len;
        b->counter = 0;
    }
    sc_pb_put_varint(&b->buf, shared);
    sc_pb_put_varint(&b->buf, klen - shared);
    sc_pb_put_varint(&b->buf, vlen);
    sc_pb_put_bytes(&b->buf, key + shared, klen - shared);
    sc_pb_put_bytes(&b->buf, val, vlen);
    b->last_key.len = 0;
    sc_pb_put_bytes(&b->last_key, key, klen);
    b->counter++;
    /* Restart offsets are 32-bit: a block past 4 GiB cannot be encoded. */
    if (b->buf.failed || b->last_key.failed || b->buf.len > UINT32_MAX) b->failed = 1;
}

/* Appends the restart array to the block, writes it with its trailer and resets the builder. */
static int write_block(sc_sst_writer *w, blk_builder *b, uint64_t *off, uint64_t *size) {
    for (size_t i = 0; i < b->num_restarts; i++) sc_pb_put_fixed32(&b->buf, b->restarts[i]);
    sc_pb_put_fixed32(&b->buf, (uint32_t)b->num_restarts);
    if (b->failed || b->buf.failed) return -1;
    const uint8_t *contents = b->buf.data;
    size_t n = b->buf.len;
    uint8_t type = SC_SST_NO_COMPRESSION;
    if (w->compression == SC_SST_SNAPPY) {
        size_t cap = snappy_max_compressed_length(n);
        if (cap > w->compressed_cap) {
            uint8_t *c = realloc(w->compressed, cap);
            if (!c) return -1;
            w->compressed = c;
            w->compressed_cap = cap;
        }
        size_t clen = cap;
        /* As TF: keep the compressed form only when it saves at least 12.5%. */
        if (snappy_compress((const char *)contents, n, (char *)w->compressed, &clen) == SNAPPY_OK
            && clen < n - n / 8) {
            contents = w->compressed;
            n = clen;
            type = SC_SST_SNAPPY;
        }
    }
    *off = w->out.len;
    *size = n;
    uint32_t crc = sc_crc32c_extend(sc_crc32c(contents, n), &type, 1);
    sc_pb_put_bytes(&w->out, contents, n);
    sc_pb_put_bytes(&w->out, &type, 1);
    sc_pb_put_fixed32(&w->out, sc_crc32c_mask(crc));
    blk_reset(b);
    return w->out.failed ? -1 : 0;
}

static int flush(sc_sst_writer *w) {
    if (w->data.buf.len == 0) return 0;
    if (write_block(w, &w->data, &w->pending_off, &w->pending_size) != 0) return -1;
    w->pending_index = 1;
    return 0;
}

static size_t encode_varint(uint8_t *p, uint64_t v) {
    size_t n = 0;
    for (; v >= 0x80; v >>= 7) p[n++] = (uint8_t)(v | 0x80);
    p[n++] = (uint8_t)v;
    return n;
}

static void add_index_entry(sc_sst_writer *w, const uint8_t *sep, size_t sep_len) {
    uint8_t handle[20];
    size_t hlen = encode_varint(handle, w->pending_off);
    hlen += encode_varint(handle + hlen, w->pending_size);
    blk_add(&w->index, sep, sep_len, handle, hlen);
    w->pending_index = 0;
}

sc_status sc_sst_writer_create(size_t block_size, int compression, sc_sst_writer **out,
                               sc_error *err) {
    *out = NULL;
    if (compression != SC_SST_NO_COMPRESSION && compression != SC_SST_SNAPPY)
        return sc_error_set(err, SC_INVALID_ARGUMENT,
                            "sstable writer: compression %d (expected 0 = none or 1 = Snappy)",
                            compression);
    sc_sst_writer *w = calloc(1, sizeof *w);
    if (!w) return sc_error_set(err, SC_NO_MEMORY, "sstable writer: out of memory");
    w->block_size = block_size ? block_size : SC_SST_DEFAULT_BLOCK_SIZE;
    w->compression = compression;
    if (blk_init(&w->data, 16) != 0 || blk_init(&w->index, 1) != 0) {
        sc_sst_writer_free(w);
        return sc_error_set(err, SC_NO_MEMORY, "sstable writer: out of memory");
    }
    *out = w;
    return SC_OK;
}

void sc_sst_writer_free(sc_sst_writer *w) {
    if (!w) return;
    blk_free(&w->data);
    blk_free(&w->index);
    sc_pb_buf_free(&w->out);
    sc_pb_buf_free(&w->last_key);
    free(w->compressed);
    free(w);
}

static int key_after_last(const sc_sst_writer *w, const uint8_t *key, size_t klen) {
    size_t m = klen < w->last_key.len ? klen : w->last_key.len;
    int c = m ? memcmp(key, w->last_key.data, m) : 0;
    return c > 0 || (c == 0 && klen > w->last_key.len);
}

sc_status sc_sst_writer_add(sc_sst_writer *w, const void *key, size_t key_len, const void *value,
                            size_t value_len, sc_error *err) {
    const uint8_t *k = key ? key : (const uint8_t *)"", *v = value ? value : (const uint8_t *)"";
    if (w->finished)
        return sc_error_set(err, SC_INVALID_ARGUMENT, "sstable writer: add after finish");
    if (w->num_entries > 0 && !key_after_last(w, k, key_len))
        return sc_error_set(err, SC_INVALID_ARGUMENT,
                            "sstable writer: key of %zu bytes does not sort after the previous "
                            "key (keys must strictly increase)",
                            key_len);
    /* TF: an entry of at least two blocks' worth starts a block of its own. */
    if (w->num_entries > 0 && key_len + value_len >= 2 * w->block_size && flush(w) != 0) goto oom;
    if (w->pending_index) {
        /* Shortest separator in [last_key, key): bump the first differing byte when that
         * still sorts below key, and cut after it. */
        sc_pb_buf *lk = &w->last_key;
        size_t m = lk->len < key_len ? lk->len : key_len, d = 0;
        while (d < m && lk->data[d] == k[d]) d++;
        if (d < m && lk->data[d] < 0xff && lk->data[d] + 1 < k[d]) {
            lk->data[d]++;
            lk->len = d + 1;
        }
        add_index_entry(w, lk->len ? lk->data : (const uint8_t *)"", lk->len);
        if (w->index.failed) goto oom;
    }
    w->last_key.len = 0;
    sc_pb_put_bytes(&w->last_key, k, key_len);
    w->num_entries++;
    blk_add(&w->data, k, key_len, v, value_len);
    if (w->data.failed || w->last_key.failed) goto oom;
    if (blk_estimate(&w->data) >= w->block_size && flush(w) != 0) goto oom;
    return SC_OK;
oom:
    w->finished = 1; /* the table is now incomplete: refuse further use */
    return sc_error_set(err, SC_NO_MEMORY, "sstable writer: out of memory (or a block over 4 GiB)");
}

sc_status sc_sst_writer_finish(sc_sst_writer *w, const uint8_t **data, size_t *len, sc_error *err) {
    *data = NULL;
    *len = 0;
    if (w->finished)
        return sc_error_set(err, SC_INVALID_ARGUMENT, "sstable writer: already finished");
    w->finished = 1;
    uint64_t meta_off, meta_size, index_off, index_size;
    blk_builder meta;
    if (blk_init(&meta, 16) != 0) goto oom;
    int rc = flush(w) != 0 || write_block(w, &meta, &meta_off, &meta_size) != 0;
    blk_free(&meta);
    if (rc) goto oom;
    if (w->pending_index) {
        /* Short successor of the last key: bump its first byte that is not 0xff, cut after. */
        sc_pb_buf *lk = &w->last_key;
        for (size_t i = 0; i < lk->len; i++) {
            if (lk->data[i] != 0xff) {
                lk->data[i]++;
                lk->len = i + 1;
                break;
            }
        }
        add_index_entry(w, lk->len ? lk->data : (const uint8_t *)"", lk->len);
    }
    if (write_block(w, &w->index, &index_off, &index_size) != 0) goto oom;
    size_t footer_start = w->out.len;
    sc_pb_put_varint(&w->out, meta_off);
    sc_pb_put_varint(&w->out, meta_size);
    sc_pb_put_varint(&w->out, index_off);
    sc_pb_put_varint(&w->out, index_size);
    static const uint8_t zeros[40] = {0};
    sc_pb_put_bytes(&w->out, zeros, 40 - (w->out.len - footer_start));
    sc_pb_put_fixed32(&w->out, (uint32_t)(SC_SST_MAGIC & 0xffffffffu));
    sc_pb_put_fixed32(&w->out, (uint32_t)(SC_SST_MAGIC >> 32));
    if (w->out.failed) goto oom;
    *data = w->out.data;
    *len = w->out.len;
    return SC_OK;
oom:
    return sc_error_set(err, SC_NO_MEMORY, "sstable writer: out of memory (or a block over 4 GiB)");
}
