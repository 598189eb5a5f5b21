/* data/npy.h — NPY header codec shared by the .npy and .npz readers and writers. Internal. */
#ifndef SC_DATA_NPY_H
#define SC_DATA_NPY_H

#include <stddef.h>
#include <stdint.h>

#include "sidecar/data.h"

/* Parses the NPY header at buf[0..n) (n may exceed the header). On SC_OK, info describes the
 * array and *data_off is where its data starts. file and array name the array in messages.
 * SC_DATA_LOSS for a malformed or cut-off header, SC_UNIMPLEMENTED for valid but unsupported
 * content (big-endian, Fortran order, other dtypes, format versions above 3). Does not look at
 * the data. */
sc_status sc_npy_parse_header(const uint8_t *buf, size_t n, const char *file, const char *array,
                              sc_array_info *info, size_t *data_off, sc_error *err);

/* Fills info for dtype and shape (sizes overflow-checked). SC_UNIMPLEMENTED for other dtypes,
 * SC_INVALID_ARGUMENT for a negative dimension, a rank above SC_ARRAY_MAX_RANK or a size that
 * does not fit in memory. what names the array in messages. */
sc_status sc_npy_make_info(sc_dtype dtype, int rank, const int64_t *shape, const char *what,
                           sc_array_info *info, sc_error *err);

/* Encodes a whole .npy file (header padded to 64 bytes, then data) into *out (malloc'd).
 * version is 1, 2 or 3. */
sc_status sc_npy_encode(const sc_array_info *info, const void *data, int version, const char *what,
                        uint8_t **out, size_t *out_len, sc_error *err);

/* Takes ownership of buf (malloc'd, len bytes, the .npy file) and makes an array of it: checks
 * that the bytes after the header match the shape, aligns the data. buf is freed on failure. */
sc_status sc_array_from_npy(uint8_t *buf, size_t len, const char *file, const char *array,
                            const char *source, sc_array **out, sc_error *err);

/* ---- partial reads: only the rows of one shard's batches (sc_dataset_params.num_shards) ---- */

/* Rows of global batches g (batch rows each, in file order) with g % shards == shard and,
 * when steps > 0, g < steps. shards <= 1 selects every row (steps aside). */
typedef struct sc_npy_rows {
    uint64_t batch, shards, shard, steps;
} sc_npy_rows;

/* Rows of total that sel keeps. */
uint64_t sc_npy_rows_kept(const sc_npy_rows *sel, uint64_t total);

/* A .npy file read front to back: read fills exactly n bytes, skip passes over n bytes (a seek,
 * or reading and dropping what cannot seek). size: bytes in the whole .npy. */
typedef struct sc_npy_stream {
    void *ctx;
    sc_status (*read)(void *ctx, void *buf, size_t n, sc_error *err);
    sc_status (*skip)(void *ctx, uint64_t n, sc_error *err);
    uint64_t size;
} sc_npy_stream;

/* Reads the .npy of `in` keeping only the rows sel selects: the array's shape[0] is the kept
 * rows, *total the rows in the file (the header and sizes are checked as sc_array_from_npy
 * does). Stops reading after the last kept row. A scalar (rank 0) is read whole, *total 1. */
sc_status sc_npy_read_rows(sc_npy_stream *in, const sc_npy_rows *sel, const char *file,
                           const char *array, const char *source, sc_array **out, uint64_t *total,
                           sc_error *err);

/* sc_npy_read_rows of a .npy file (pread and seek). SC_NOT_FOUND when it does not exist. */
sc_status sc_npy_load_rows(const char *path, const sc_npy_rows *sel, sc_array **out,
                           uint64_t *total, sc_error *err);

/* sc_npy_read_rows of the archive member `name`: stored members seek past other rows, deflated
 * ones inflate and drop them. The member's zip CRC is not checked (not every byte is read). */
sc_status sc_npz_load_rows(sc_npz *z, const char *name, const sc_npy_rows *sel, sc_array **out,
                           uint64_t *total, sc_error *err);

/* "dir/name.npy" -> "name", for messages. */
void sc_npy_stem(const char *path, char *out, size_t cap);

/* Makes an array of data (malloc'd, info->nbytes bytes, taken over even on failure). */
sc_status sc_array_from_data(uint8_t *data, const sc_array_info *info, const char *source,
                             sc_array **out, sc_error *err);

#endif
