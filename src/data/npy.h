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

#endif
