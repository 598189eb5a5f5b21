/* ckpt/sstable_reader.c — walking every entry of an SSTable held in memory (FORMATS §1.2). */
#include "ckpt/sstable.h"

#include <inttypes.h>
#include <snappy-c.h>
#include <stdlib.h>
#include <string.h>

#include "core/crc32c.h"
#include "core/error.h"
#include "core/pb.h"

typedef struct sst_buf {
    uint8_t *data;
    size_t len;
    size_t cap;
} sst_buf;

/* Where a block lives, for messages and for walking its entries. */
typedef struct sst_block {
    const char *what; /* "index" or "data" */
    size_t num;       /* data block number (0 for the index) */
    uint64_t offset;  /* file offset of the block */
    const uint8_t *p; /* entries still to decode */
    const uint8_t *begin;
    const uint8_t *end; /* start of the restart array */
} sst_block;

typedef struct sst_walk {
    const char *name;
    const uint8_t *file;
    size_t blocks_end; /* blocks lie in [0, blocks_end): the footer follows */
    sc_error *err;
} sst_walk;

static uint32_t le32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static int buf_reserve(sst_buf *b, size_t n) {
    if (n <= b->cap) return 0;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < n) cap = cap > SIZE_MAX / 2 ? n : cap * 2;
    uint8_t *d = realloc(b->data, cap);
    if (!d) return -1;
    b->data = d;
    b->cap = cap;
    return 0;
}

static sc_status block_error(const sst_walk *w, const sst_block *blk, const char *what_wrong,
                             size_t at) {
    return sc_error_set(w->err, SC_DATA_LOSS,
                        "%s: %s block %zu (file offset %" PRIu64 "): %s at block offset %zu",
                        w->name, blk->what, blk->num, blk->offset, what_wrong, at);
}

/* Checks the handle against the file, verifies the trailer CRC and, for Snappy blocks,
 * decompresses into scratch. On success blk describes the block's entries. */
static sc_status load_block(const sst_walk *w, const char *what, size_t num, uint64_t off,
                            uint64_t size, sst_buf *scratch, int *snappy, sst_block *blk) {
    if (off > w->blocks_end || size > w->blocks_end - off
        || w->blocks_end - off - size < SC_SST_TRAILER_SIZE)
        return sc_error_set(w->err, SC_DATA_LOSS,
                            "%s: %s block %zu: handle (offset %" PRIu64 ", size %" PRIu64
                            ") + %d-byte trailer is outside the file's %zu bytes of blocks",
                            w->name, what, num, off, size, SC_SST_TRAILER_SIZE, w->blocks_end);
    const uint8_t *contents = w->file + off;
    const uint8_t *trailer = contents + size;
    uint32_t crc = sc_crc32c_extend(sc_crc32c(contents, (size_t)size), trailer, 1);
    uint32_t stored = sc_crc32c_unmask(le32(trailer + 1));
    if (crc != stored)
        return sc_error_set(w->err, SC_DATA_LOSS,
                            "%s: %s block %zu (file offset %" PRIu64 ", %" PRIu64
                            " bytes): block checksum mismatch (stored %08x, computed %08x)",
                            w->name, what, num, off, size, stored, crc);
    size_t n = (size_t)size;
    *snappy = 0;
    if (trailer[0] == SC_SST_SNAPPY) {
        size_t ulen = 0;
        if (snappy_uncompressed_length((const char *)contents, n, &ulen) != SNAPPY_OK)
            return sc_error_set(w->err, SC_DATA_LOSS,
                                "%s: %s block %zu (file offset %" PRIu64
                                "): malformed Snappy length header",
                                w->name, what, num, off);
        /* A Snappy element of 3 bytes expands to at most 64: anything beyond that is a lie. */
        if (ulen / 32 > n)
            return sc_error_set(w->err, SC_DATA_LOSS,
                                "%s: %s block %zu (file offset %" PRIu64
                                "): Snappy block claims %zu bytes from %zu compressed bytes",
                                w->name, what, num, off, ulen, n);
        if (buf_reserve(scratch, ulen ? ulen : 1) != 0)
            return sc_error_set(w->err, SC_NO_MEMORY, "%s: %s block %zu: %zu bytes for Snappy",
                                w->name, what, num, ulen);
        size_t got = ulen;
        if (snappy_uncompress((const char *)contents, n, (char *)scratch->data, &got) != SNAPPY_OK
            || got != ulen)
            return sc_error_set(w->err, SC_DATA_LOSS,
                                "%s: %s block %zu (file offset %" PRIu64 "): corrupt Snappy data",
                                w->name, what, num, off);
        contents = scratch->data;
        n = ulen;
        *snappy = 1;
    } else if (trailer[0] != SC_SST_NO_COMPRESSION) {
        return sc_error_set(w->err, SC_DATA_LOSS,
                            "%s: %s block %zu (file offset %" PRIu64
                            "): unknown compression type %u (expected 0 or 1)",
                            w->name, what, num, off, trailer[0]);
    }
    blk->what = what;
    blk->num = num;
    blk->offset = off;
    blk->begin = contents;
    if (n < 4) return block_error(w, blk, "block shorter than its restart count", 0);
    uint32_t num_restarts = le32(contents + n - 4);
    if (num_restarts == 0 || num_restarts > (n - 4) / 4)
        return sc_error_set(w->err, SC_DATA_LOSS,
                            "%s: %s block %zu (file offset %" PRIu64 "): %" PRIu32
                            " restarts do not fit a %zu-byte block",
                            w->name, what, num, off, num_restarts, n);
    blk->p = contents;
    blk->end = contents + (n - 4 - 4 * (size_t)num_restarts);
    return SC_OK;
}

/* Decodes the next entry of blk into key (which holds the previous key, whose first `shared`
 * bytes the new key reuses) and checks that the new key sorts after the previous one. */
static sc_status next_entry(const sst_walk *w, sst_block *blk, sst_buf *key, int have_prev,
                            const uint8_t **value, size_t *value_len) {
    size_t at = (size_t)(blk->p - blk->begin);
    sc_pb_reader r = sc_pb_reader_init(blk->p, (size_t)(blk->end - blk->p));
    uint32_t shared, non_shared, vlen;
    if (sc_pb_read_varint32(&r, &shared) != 0 || sc_pb_read_varint32(&r, &non_shared) != 0
        || sc_pb_read_varint32(&r, &vlen) != 0)
        return block_error(w, blk, "malformed entry header", at);
    if (shared > key->len || (blk->p == blk->begin && shared != 0))
        return block_error(w, blk, "entry shares more key bytes than the previous key has", at);
    size_t avail = (size_t)(r.end - r.p);
    if (non_shared > avail || vlen > avail - non_shared)
        return block_error(w, blk, "entry key+value run past the entries", at);
    const uint8_t *delta = r.p;
    if (have_prev) {
        size_t rest = key->len - shared;
        size_t m = rest < non_shared ? rest : non_shared;
        int c = m ? memcmp(delta, key->data + shared, m) : 0;
        if (c < 0 || (c == 0 && non_shared <= rest))
            return block_error(w, blk, "key does not sort after the previous key", at);
    }
    if (buf_reserve(key, (size_t)shared + non_shared) != 0)
        return sc_error_set(w->err, SC_NO_MEMORY, "%s: key of %zu bytes", w->name,
                            (size_t)shared + non_shared);
    if (non_shared) memcpy(key->data + shared, delta, non_shared);
    key->len = (size_t)shared + non_shared;
    *value = delta + non_shared;
    *value_len = vlen;
    blk->p = delta + non_shared + vlen;
    return SC_OK;
}

sc_status sc_sst_foreach(const char *name, const uint8_t *data, size_t len, sc_sst_visit_fn visit,
                         void *ctx, sc_sst_stats *stats, sc_error *err) {
    sst_buf index_scratch = {0}, data_scratch = {0}, index_key = {0}, key = {0};
    sc_sst_stats st = {0};
    sst_walk w = {name, data, 0, err};
    sc_status s = SC_OK;
    if (len < SC_SST_FOOTER_SIZE) {
        s = sc_error_set(err, SC_DATA_LOSS,
                         "%s: not an SSTable: %zu bytes, shorter than the %d-byte footer", name,
                         len, SC_SST_FOOTER_SIZE);
        goto fail;
    }
    const uint8_t *footer = data + len - SC_SST_FOOTER_SIZE;
    uint64_t magic = (uint64_t)le32(footer + 40) | (uint64_t)le32(footer + 44) << 32;
    if (magic != SC_SST_MAGIC) {
        s = sc_error_set(err, SC_DATA_LOSS,
                         "%s: not an SSTable: footer magic %016" PRIx64 " (expected %016" PRIx64
                         ")",
                         name, magic, SC_SST_MAGIC);
        goto fail;
    }
    w.blocks_end = len - SC_SST_FOOTER_SIZE;
    sc_pb_reader fr = sc_pb_reader_init(footer, 40);
    uint64_t meta_off, meta_size, index_off, index_size;
    if (sc_pb_read_varint64(&fr, &meta_off) != 0 || sc_pb_read_varint64(&fr, &meta_size) != 0
        || sc_pb_read_varint64(&fr, &index_off) != 0
        || sc_pb_read_varint64(&fr, &index_size) != 0) {
        s = sc_error_set(err, SC_DATA_LOSS, "%s: malformed block handles in the footer", name);
        goto fail;
    }
    sst_block index;
    int snappy;
    s = load_block(&w, "index", 0, index_off, index_size, &index_scratch, &snappy, &index);
    if (s != SC_OK) goto fail;
    while (index.p < index.end) {
        const uint8_t *hv;
        size_t hlen;
        s = next_entry(&w, &index, &index_key, st.num_data_blocks > 0, &hv, &hlen);
        if (s != SC_OK) goto fail;
        sc_pb_reader hr = sc_pb_reader_init(hv, hlen);
        uint64_t off, size;
        if (sc_pb_read_varint64(&hr, &off) != 0 || sc_pb_read_varint64(&hr, &size) != 0
            || !sc_pb_done(&hr)) {
            s = sc_error_set(err, SC_DATA_LOSS,
                             "%s: index entry %zu: malformed data block handle (%zu bytes)", name,
                             st.num_data_blocks, hlen);
            goto fail;
        }
        sst_block blk;
        s = load_block(&w, "data", st.num_data_blocks, off, size, &data_scratch, &snappy, &blk);
        if (s != SC_OK) goto fail;
        st.num_data_blocks++;
        st.num_snappy_blocks += (size_t)snappy;
        while (blk.p < blk.end) {
            const uint8_t *v;
            size_t vlen;
            s = next_entry(&w, &blk, &key, st.num_entries > 0, &v, &vlen);
            if (s != SC_OK) goto fail;
            st.num_entries++;
            s = visit(ctx, key.len ? key.data : (const uint8_t *)"", key.len, v, vlen, err);
            if (s != SC_OK) goto fail;
        }
    }
fail:
    if (stats) *stats = st;
    free(index_scratch.data);
    free(data_scratch.data);
    free(index_key.data);
    free(key.data);
    return s;
}
