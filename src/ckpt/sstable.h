/* ckpt/sstable.h — the LevelDB table format TensorFlow uses for bundle indexes (FORMATS §1.2).
 * Internal.
 *
 * Reading walks every entry of a table held in memory (an .index is small and is read with one
 * read). Every block CRC is verified and every varint, handle and length is checked against the
 * bytes available; a malformed table is SC_DATA_LOSS naming the file and the block.
 *
 * Writing follows TensorFlow's TableBuilder exactly (restart interval 16 in data blocks, 1 in the
 * index block, empty metaindex, shortest separators between blocks, short successor after the
 * last), so the same entries give the same bytes as TensorFlow.
 */
#ifndef SC_CKPT_SSTABLE_H
#define SC_CKPT_SSTABLE_H

#include <stddef.h>
#include <stdint.h>

#include "sidecar/status.h"

#define SC_SST_FOOTER_SIZE        48
#define SC_SST_TRAILER_SIZE       5
#define SC_SST_MAGIC              UINT64_C(0xdb4775248b80fb57)
#define SC_SST_DEFAULT_BLOCK_SIZE 262144

enum { SC_SST_NO_COMPRESSION = 0, SC_SST_SNAPPY = 1 };

/* Called for every entry in key order. key and value are valid only during the call. A status
 * other than SC_OK stops the walk and is returned by sc_sst_foreach (the callback fills err). */
typedef sc_status (*sc_sst_visit_fn)(void *ctx, const uint8_t *key, size_t key_len,
                                     const uint8_t *value, size_t value_len, sc_error *err);

typedef struct sc_sst_stats {
    size_t num_entries;
    size_t num_data_blocks;
    size_t num_snappy_blocks; /* data blocks stored with compression type 1 */
} sc_sst_stats;

/* Walks every entry of the table data[0..len). name (the file's path) is used in messages.
 * Verifies the footer magic, every block trailer CRC, the block structure and that keys strictly
 * increase. stats may be NULL. */
sc_status sc_sst_foreach(const char *name, const uint8_t *data, size_t len, sc_sst_visit_fn visit,
                         void *ctx, sc_sst_stats *stats, sc_error *err);

/* Builds a table in memory. */
typedef struct sc_sst_writer sc_sst_writer;

/* block_size 0 means SC_SST_DEFAULT_BLOCK_SIZE; compression is SC_SST_NO_COMPRESSION (what TF's
 * checkpoint writers use) or SC_SST_SNAPPY (kept only when it saves 12.5%, as TF does). */
sc_status sc_sst_writer_create(size_t block_size, int compression, sc_sst_writer **out,
                               sc_error *err);
void sc_sst_writer_free(sc_sst_writer *w); /* NULL is fine */
/* Keys must strictly increase (bytewise): otherwise SC_INVALID_ARGUMENT. */
sc_status sc_sst_writer_add(sc_sst_writer *w, const void *key, size_t key_len, const void *value,
                            size_t value_len, sc_error *err);
/* Finishes the table; *data (owned by the writer, valid until free) holds the file's bytes. */
sc_status sc_sst_writer_finish(sc_sst_writer *w, const uint8_t **data, size_t *len, sc_error *err);

#endif
